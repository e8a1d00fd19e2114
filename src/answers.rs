//! The answers file: the one contract between the wizard, headless mode and fleets.
//!
//! Every section is optional; a missing section means "leave that part alone". Values are
//! checked in `plan`, not here, so that every problem is reported at once and in words.

use std::time::Duration;

use serde::{Deserialize, Serialize};

pub use crate::error::toml_error;
use crate::error::{Error, Result};
pub use crate::steps::asterisk::answers::{AsteriskAnswers, ExtensionsAnswers};
pub use crate::steps::bruteforce::answers::{BfdAnswers, Fail2banAnswers};
pub use crate::steps::firewall::answers::{ApfAnswers, FirewallAnswers, HostEntry, PortEntry};
pub use crate::steps::services::answers::ServicesAnswers;
pub use crate::steps::ssh::answers::SshAnswers;
pub use crate::steps::user::answers::UserAnswers;
use crate::steps::{asterisk, firewall, services, ssh, user};

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
        self.for_ssh().allow_users()
    }

    // Each step's part of the answers: the sections it owns (and reads).
    pub fn for_services(&self) -> services::Answers {
        services::Answers {
            services: self.services.clone(),
        }
    }

    pub fn for_user(&self) -> user::Answers {
        user::Answers {
            user: self.user.clone(),
        }
    }

    pub fn for_ssh(&self) -> ssh::Answers {
        ssh::Answers {
            ssh: self.ssh.clone(),
            user: self.user.clone(),
        }
    }

    pub fn for_asterisk(&self) -> asterisk::Answers {
        asterisk::Answers {
            extensions: self.extensions.clone(),
            asterisk: self.asterisk.clone(),
        }
    }

    pub fn for_firewall(&self) -> firewall::Answers {
        firewall::Answers {
            firewall: self.firewall.clone(),
            apf: self.apf.clone(),
            bfd: self.bfd.clone(),
            fail2ban: self.fail2ban.clone(),
        }
    }
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
