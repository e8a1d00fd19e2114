//! `[user]`: the login user's section of the answers file.

use serde::{Deserialize, Serialize};

use crate::secrets::Secret;

#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct UserAnswers {
    pub name: String,
    /// Plaintext; hashed in memory, never written anywhere.
    #[serde(default, skip_serializing)]
    pub password: Option<Secret>,
    /// A ready crypt hash (`$6$…`), e.g. for fleets.
    #[serde(default, skip_serializing)]
    pub password_hash: Option<String>,
    /// Generate a passphrase; it is shown once.
    #[serde(default, skip_serializing_if = "crate::steps::is_false")]
    pub generate: bool,
    /// Use an account that already exists instead of refusing it.
    #[serde(default, skip_serializing_if = "crate::steps::is_false")]
    pub reuse: bool,
    /// Supplementary groups (e.g. "wheel" or "sudo" so the user can become root).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<String>,
    /// Mode of a home directory the plan creates: "0700" (default) or "0750".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub home_mode: Option<String>,
    /// Public keys (`ssh-ed25519 AAAA… comment`) added to the user's authorized_keys.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub authorized_keys: Vec<String>,
}

/// What the user step reads of the answers.
#[derive(Debug, Clone, Default)]
pub struct Answers {
    pub user: Option<UserAnswers>,
}
