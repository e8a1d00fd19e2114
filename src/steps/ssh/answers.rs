//! `[ssh]`: the SSH step's section of the answers file. The step also reads `[user]` (the
//! login user must still get in; AllowUsers defaults to it).

use serde::{Deserialize, Serialize};

pub use crate::steps::user::answers::UserAnswers;

#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SshAnswers {
    /// Kept wide so that 0 or 70000 get a message in words rather than a type error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permit_root_login: Option<bool>,
    /// Default: `[user.name]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_users: Option<Vec<String>>,
    /// Leave unset to keep what sshd_config says (it is checked against the login user).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_authentication: Option<bool>,
    /// The hardening baseline (MaxAuthTries, LoginGraceTime, ClientAlive*, forwarding,
    /// LogLevel VERBOSE, MaxStartups...), each value only where the target's sshd accepts it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline: Option<bool>,
    /// Modern KEX, ciphers, MACs and host-key algorithms; ECDSA and DSA host keys dropped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub modern_crypto: Option<bool>,
    /// Replace an RSA host key shorter than 3072 bits (or any RSA key below 4096 when
    /// modern_crypto is on) with a new 4096-bit one; the old one is restored by rollback.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub regenerate_rsa_host_key: Option<bool>,
}

/// What the SSH step reads of the answers.
#[derive(Debug, Clone, Default)]
pub struct Answers {
    pub ssh: Option<SshAnswers>,
    pub user: Option<UserAnswers>,
}

impl Answers {
    /// The user names sshd will allow: `ssh.allow_users`, or the login user.
    pub fn allow_users(&self) -> Vec<String> {
        match (&self.ssh, &self.user) {
            (
                Some(SshAnswers {
                    allow_users: Some(list),
                    ..
                }),
                _,
            ) => list.clone(),
            (_, Some(u)) => vec![u.name.clone()],
            _ => Vec::new(),
        }
    }
}
