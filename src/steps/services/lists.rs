//! The keep-list, the never-list and the suggested disables, as data (`assets/services.toml`).

use std::sync::OnceLock;

use serde::Deserialize;

const SERVICES_TOML: &str = include_str!("../../../assets/services.toml");

/// One group of names with the reason it is kept or suggested.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    /// Service names; a name may be a glob (`nfs-*`).
    pub names: Vec<String>,
    /// `seed` when the seed article lists it.
    #[serde(default)]
    pub source: Option<String>,
    pub reason: String,
}

impl Entry {
    pub fn matches(&self, name: &str) -> bool {
        let n = super::normalize(name);
        self.names.iter().any(|p| {
            let p = super::normalize(p);
            p == n
                || (p.contains(['*', '?', '['])
                    && glob::Pattern::new(&p).is_ok_and(|g| g.matches(&n)))
        })
    }

    pub fn from_seed(&self) -> bool {
        self.source.as_deref() == Some("seed")
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Lists {
    pub never: Vec<Entry>,
    pub keep: Vec<Entry>,
    pub suggest: Vec<Entry>,
    /// Why the bundled lists could not be read (then all three are empty and
    /// `services::plan` refuses every `[services]` answer).
    #[serde(skip)]
    pub broken: Option<String>,
}

impl Lists {
    pub fn parse(text: &str) -> Result<Lists, String> {
        toml::from_str(text).map_err(|e| crate::error::toml_error(text, &e))
    }

    /// Never disabled, even with an override (the SSH daemon).
    pub fn never(&self, name: &str) -> Option<&Entry> {
        self.never.iter().find(|e| e.matches(name))
    }

    pub fn kept(&self, name: &str) -> Option<&Entry> {
        self.keep.iter().find(|e| e.matches(name))
    }

    /// On the suggested-disable list (and on neither of the others).
    pub fn suggested(&self, name: &str) -> Option<&Entry> {
        if self.never(name).is_some() || self.kept(name).is_some() {
            return None;
        }
        self.suggest.iter().find(|e| e.matches(name))
    }
}

/// The bundled lists (checked by a unit test, so the parse does not fail at run time; if it
/// did, `broken` says why and nothing is disabled).
pub fn lists() -> &'static Lists {
    static L: OnceLock<Lists> = OnceLock::new();
    L.get_or_init(|| {
        Lists::parse(SERVICES_TOML).unwrap_or_else(|e| Lists {
            broken: Some(format!("assets/services.toml (built in): {e}")),
            ..Lists::default()
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundled_lists_parse_and_cover_the_seed() {
        let l = Lists::parse(SERVICES_TOML).unwrap();
        for kept in [
            "anacron",
            "crond",
            "haldaemon",
            "httpd",
            "kudzu",
            "lm_sensors",
            "lvm2-monitor",
            "mDNSResponder",
            "mdmonitor",
            "memcached",
            "messagebus",
            "mysqld",
            "network",
            "ntpd",
            "postfix",
            "syslog",
            "xinetd",
            "zaptel",
            "asterisk",
            "dahdi",
            "freepbx",
            "mariadb",
            "apache2",
            "chronyd",
            "rsyslog",
            "fail2ban",
            "apf",
            "cron",
        ] {
            assert!(l.kept(kept).is_some(), "{kept} must be kept");
            assert!(l.suggested(kept).is_none(), "{kept}");
        }
        for never in ["ssh", "sshd", "ssh.socket", "sshd.service"] {
            assert!(l.never(never).is_some(), "{never}");
        }
        for s in [
            "ircd",
            "netfs",
            "nfslock",
            "openibd",
            "portmap",
            "restorecond",
            "rpcgssd",
            "rpcidmapd",
            "vsftpd",
            "rpcbind",
            "nfs-server",
            "nfs-blkmap",
            "avahi-daemon",
            "cups",
            "telnet.socket",
        ] {
            assert!(l.suggested(s).is_some(), "{s} is suggested");
        }
        let seed_suggest = l.suggest.iter().filter(|e| e.from_seed()).count();
        assert!(seed_suggest >= 7, "{seed_suggest}");
        assert!(l.suggested("postgresql").is_none());
    }
}
