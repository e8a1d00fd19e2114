//! The answers file: the one contract between the wizard, headless mode and fleets.
//!
//! Every section is optional; a missing section means "leave that part alone". Values are
//! checked in `plan`, not here, so that every problem is reported at once and in words.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::secrets::Secret;

pub const DEFAULT_CONFIRM_TIMEOUT: Duration = Duration::from_secs(300);

#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Answers {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<UserAnswers>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ssh: Option<SshAnswers>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub services: Option<ServicesAnswers>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extensions: Option<ExtensionsAnswers>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub asterisk: Option<AsteriskAnswers>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub firewall: Option<FirewallAnswers>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub apf: Option<ApfAnswers>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bfd: Option<BfdAnswers>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fail2ban: Option<Fail2banAnswers>,
    #[serde(default, skip_serializing_if = "ApplyAnswers::is_default")]
    pub apply: ApplyAnswers,
}

/// `[services]`: services to disable (issue: services, secrets, audit).
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ServicesAnswers {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub disable: Vec<String>,
    /// Services on the keep-list that `disable` may disable anyway (each must be in both).
    /// The SSH daemon cannot be overridden.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub override_keep_list: Vec<String>,
}

/// `[extensions]`: SIP/IAX secrets.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ExtensionsAnswers {
    #[serde(default, skip_serializing_if = "is_false")]
    pub rotate_weak: bool,
}

/// `[asterisk]`: Asterisk's own doors (beyond the seed): the manager interface and guest calls.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AsteriskAnswers {
    /// Bind the manager interface (AMI) to 127.0.0.1 and replace weak AMI secrets where the
    /// admin owns manager.conf (on FreePBX: say what to change in FreePBX).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ami_localhost: Option<bool>,
    /// false: chan_sip `allowguest=no` and `alwaysauthreject=yes`, and no PJSIP `anonymous`
    /// endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sip_guests: Option<bool>,
}

/// A port or a `low-high` range, as the answers file writes it: `5060` or `"10000-20000"`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(untagged)]
pub enum PortEntry {
    Number(i64),
    Text(String),
}

/// A host for the trust files: `{ host = "203.0.113.10", comment = "office" }`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct HostEntry {
    pub host: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

/// `[firewall]`
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FirewallAnswers {
    /// "auto" (default: the manager in charge) | "apf" | "nftables" | "firewalld" | "freepbx" |
    /// "fail2ban" | "none".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backend: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tcp_ports: Option<Vec<PortEntry>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub udp_ports: Option<Vec<PortEntry>>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub trusted: Vec<HostEntry>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub blocked: Vec<HostEntry>,
    /// Open TFTP (69/udp) for phone provisioning; it is never opened otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tftp: Option<bool>,
    /// Trust the admin's own address (SSH_CONNECTION): allow_hosts.rules, BFD's ignore.hosts,
    /// fail2ban's ignoreip.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trust_admin: Option<bool>,
    /// Entries to take out of allow_hosts.rules / deny_hosts.rules (exactly; `apf -u`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub remove: Vec<String>,
}

/// `[apf]`
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ApfAnswers {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub untrusted_iface: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trusted_ifaces: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub set_trim: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub egress_filtering: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dshield: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tos: Option<bool>,
    /// The seed's change to internals/functions.apf so that TOS marks UDP too (APF < 9.7).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tos_udp_patch: Option<bool>,
    /// Spamhaus DROP list (DLIST_SPAMHAUS; USE_DROP before 9.6-5).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spamhaus: Option<bool>,
    /// Outbound ports allowed when egress filtering is on (EG_TCP_CPORTS / EG_UDP_CPORTS).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub egress_tcp_ports: Option<Vec<PortEntry>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub egress_udp_ports: Option<Vec<PortEntry>>,
}

/// `[bfd]`
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct BfdAnswers {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trig: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email_alerts: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email_address: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email_subject: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ignore_hosts: Option<Vec<String>>,
}

/// `[fail2ban]`
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Fail2banAnswers {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maxretry: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bantime: Option<String>,
}

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
    #[serde(default, skip_serializing_if = "is_false")]
    pub generate: bool,
    /// Use an account that already exists instead of refusing it.
    #[serde(default, skip_serializing_if = "is_false")]
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

#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ApplyAnswers {
    /// How long to wait for `confirm` before everything is rolled back, e.g. "5m".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confirm_timeout: Option<String>,
}

impl ApplyAnswers {
    fn is_default(&self) -> bool {
        *self == ApplyAnswers::default()
    }
}

fn is_false(b: &bool) -> bool {
    !*b
}

impl Answers {
    /// Parse answers text. `origin` names the file in messages.
    pub fn parse(text: &str, origin: &str) -> Result<Answers> {
        toml::from_str(text).map_err(|e| Error::Answers {
            path: origin.to_string(),
            message: toml_error(text, &e),
        })
    }

    pub fn load(path: &std::path::Path) -> Result<Answers> {
        let text = std::fs::read(path).map_err(|e| Error::Answers {
            path: path.display().to_string(),
            message: e.to_string(),
        })?;
        let text = String::from_utf8(text).map_err(|_| Error::Answers {
            path: path.display().to_string(),
            message: "not UTF-8 text".into(),
        })?;
        Answers::parse(&text, &path.display().to_string())
    }

    /// TOML without any secret: what the wizard offers to save for the next server.
    pub fn to_toml_without_secrets(&self) -> std::result::Result<String, String> {
        toml::to_string(self).map_err(|e| format!("the answers cannot be written as TOML: {e}"))
    }

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

/// A TOML error as position, key and reason, never the text of the line (it may hold a
/// password; a file with CR-only line ends is a single line) nor the value that was refused.
pub fn toml_error(text: &str, e: &toml::de::Error) -> String {
    let mut out = String::new();
    if let Some(span) = e.span() {
        let at = span.start.min(text.len());
        let at = (0..=at)
            .rev()
            .find(|i| text.is_char_boundary(*i))
            .unwrap_or(0);
        let before = &text[..at];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let column = text[line_start..at].chars().count() + 1;
        out.push_str(&format!("line {line}, column {column}"));
        if let Some(key) = key_at(text, line_start, at) {
            out.push_str(&format!(", key `{key}`"));
        }
        out.push_str(": ");
    }
    out.push_str(&without_values(e.message()));
    out
}

/// The dotted key (`section.key`) whose line holds `at`, when the line is a plain
/// `key = value` with a key of safe characters; the section is the last `[header]` before it.
fn key_at(text: &str, line_start: usize, at: usize) -> Option<String> {
    let line_end = text[line_start..]
        .find(['\n', '\r'])
        .map_or(text.len(), |i| line_start + i);
    let line = &text[line_start..line_end];
    let (k, _) = line.split_once('=')?;
    let k = k.trim();
    let safe = |s: &str| {
        !s.is_empty()
            && s.len() <= 64
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
    };
    if !safe(k) || at < line_start {
        return None;
    }
    let section = text[..line_start]
        .lines()
        .rev()
        .map(str::trim)
        .find(|l| l.starts_with('[') && l.ends_with(']'))
        .map(|l| l.trim_matches(['[', ']']).trim())
        .filter(|s| safe(s));
    Some(match section {
        Some(s) => format!("{s}.{k}"),
        None => k.to_string(),
    })
}

/// serde's "invalid type: string \"hunter2\", expected u16" without the value. Names of
/// fields (`unknown field \`prot\``) are kept: they come from the file's keys.
fn without_values(msg: &str) -> String {
    if !(msg.starts_with("invalid type")
        || msg.starts_with("invalid value")
        || msg.starts_with("invalid length"))
    {
        return msg.to_string();
    }
    let (head, tail) = match msg.find(", expected") {
        Some(i) => msg.split_at(i),
        None => (msg, ""),
    };
    let mut out = String::new();
    let mut quote: Option<char> = None;
    for c in head.chars() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if c == '`' || c == '"' => quote = Some(c),
            None => out.push(c),
        }
    }
    format!("{}{tail}", out.trim_end())
}

/// Parse "5m", "300s", "90" (seconds), "1h 30m".
pub fn parse_timeout(text: &str) -> std::result::Result<Duration, String> {
    let t = text.trim();
    if t.is_empty() {
        return Err("empty duration".into());
    }
    if let Ok(secs) = t.parse::<u64>() {
        return Ok(Duration::from_secs(secs));
    }
    humantime::parse_duration(t)
        .map_err(|_| format!("\"{t}\" is not a duration; write it like \"5m\", \"90s\" or \"1h\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_keys_are_named() {
        let e = Answers::parse("[ssh]\nprot = 2222\n", "a.toml")
            .unwrap_err()
            .to_string();
        assert!(e.contains("prot"), "{e}");
        assert!(e.contains("a.toml"), "{e}");
        let e = Answers::parse("[sssh]\nport = 2222\n", "a.toml")
            .unwrap_err()
            .to_string();
        assert!(e.contains("sssh"), "{e}");
    }

    #[test]
    fn toml_errors_never_show_the_line_or_the_value() {
        let pw = "Secret pw 123";
        for (text, want) in [
            (
                format!("[user]\nname = \"x\"\npassword = \"{pw}\" junk\n"),
                "line 3, column 28, key `user.password`",
            ),
            (
                format!("[user]\rname = \"x\"\rpassword = \"{pw}\"\r"),
                "line 1, column 8",
            ),
            (format!("[user]\npassword = \"{pw}\nname = 1\n"), "line 2"),
            (
                "[user]\nname = \"x\"\npassword = 12345678\n".into(),
                "key `user.password`",
            ),
            (format!("[ssh]\nport = \"{pw}\"\n"), "key `ssh.port`"),
        ] {
            let e = Answers::parse(&text, "a.toml").unwrap_err().to_string();
            assert!(e.contains(want), "{e}");
            assert!(!e.contains(pw) && !e.contains("12345678"), "{e}");
            assert!(!e.contains("Secret") && !e.contains("junk"), "{e}");
        }
    }

    #[test]
    fn malformed_toml_is_an_error_not_a_panic() {
        for bad in ["[user", "user = ", "[user]\nname = 3", "\u{0}"] {
            assert!(Answers::parse(bad, "x").is_err(), "{bad:?}");
        }
    }

    #[test]
    fn secrets_are_not_exported() {
        let a = Answers::parse(
            "[user]\nname = \"trixuser\"\npassword = \"Secret-Words 42 here\"\npassword_hash = \"$6$x$y\"\n",
            "x",
        )
        .unwrap();
        let out = a.to_toml_without_secrets().unwrap();
        assert!(!out.contains("Secret-Words"), "{out}");
        assert!(!out.contains("$6$"), "{out}");
        assert!(out.contains("trixuser"), "{out}");
        assert!(!format!("{a:?}").contains("Secret-Words"));
    }

    #[test]
    fn timeouts() {
        assert_eq!(parse_timeout("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_timeout("90"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_timeout("1h 30m"), Ok(Duration::from_secs(5400)));
        assert!(parse_timeout("soon").unwrap_err().contains("soon"));
    }
}
