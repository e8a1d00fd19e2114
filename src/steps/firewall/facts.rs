//! The firewall side of the target as facts: APF (version, trust-file format, conf.apf's
//! values), BFD, fail2ban, the firewall managers in charge (`managers`), the network
//! interfaces and local addresses, the host name, and what Asterisk listens on and logs to
//! (`asterisk`). Read from files under the root; the firewall step (`crate::steps::firewall`)
//! plans from them.

pub use super::managers;
pub use crate::steps::asterisk::ports as asterisk;

use std::net::IpAddr;

use crate::config::trust::TrustFormat;
use crate::host::Lazy;
use crate::root::Root;
pub use asterisk::AsteriskPorts;

pub const APF_CONF: &str = "/etc/apf/conf.apf";
pub const APF_VERSION: &str = "/etc/apf/VERSION";
pub const BFD_CONF: &str = "/usr/local/bfd/conf.bfd";
pub const BFD_IGNORE: &str = "/usr/local/bfd/ignore.hosts";
pub const BFD_CRON: &str = "/etc/cron.d/bfd";
pub const FAIL2BAN_DIR: &str = "/etc/fail2ban";
pub const JAIL_LOCAL: &str = "/etc/fail2ban/jail.local";

/// APF as installed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApfInfo {
    /// `version:` of /etc/apf/VERSION (`9.7-2`), when the file is there.
    pub version: Option<String>,
    /// The trust-file format of that version (from the configuration's variables when the
    /// VERSION file is missing).
    pub format: TrustFormat,
    /// INSTALL_PATH of conf.apf (where `apf` and the trust files are).
    pub install_path: String,
    /// `INSTALL_PATH/apf` exists.
    pub binary: bool,
    /// conf.apf's effective top-level values (the wizard starts from them).
    pub vars: std::collections::BTreeMap<String, String>,
    /// Lines the seed's UDP TOS change would add to internals/functions.apf (0: not needed);
    /// counted on first use (the Protection screen, its plan).
    pub udp_tos_patch_lines: Lazy<usize>,
}

/// BFD as installed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BfdInfo {
    /// From the header of conf.bfd (`1.5-2`, `2.0.1`).
    pub version: Option<String>,
    /// 1 for the 1.x line (no CIDR in ignore.hosts), 2 for 2.x.
    pub major: u32,
    /// conf.bfd's effective top-level values (the wizard starts from them).
    pub vars: std::collections::BTreeMap<String, String>,
}

/// fail2ban as installed (its configuration directory).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fail2banInfo {
    pub jail_local: bool,
    pub jail_conf: bool,
}

/// What is installed on the target.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FirewallInfo {
    pub apf: Option<ApfInfo>,
    pub bfd: Option<BfdInfo>,
    pub fail2ban: Option<Fail2banInfo>,
    /// Network interfaces (without `lo`); empty when they could not be found.
    pub interfaces: Vec<String>,
    /// Addresses of this host (loopback always counts as local too).
    pub local_addrs: Vec<IpAddr>,
    /// What Asterisk listens on, and its log file for fail2ban: read on first use (the
    /// wizard's Welcome does not show it; its job thread reads it after the first frame).
    pub asterisk: Lazy<AsteriskPorts>,
    /// A `wget` under the root (APF downloads its block lists with it).
    pub wget: bool,
    /// The target's host name (this system's, or the one an offline disk names).
    pub hostname: String,
    /// The firewall managers in charge, in order of precedence, each with its evidence.
    pub managers: Vec<managers::Found>,
}

impl FirewallInfo {
    /// The backend used when the answers do not name one: what is installed.
    /// What `firewall.backend = "auto"` picks: the default backend, or where neither APF
    /// nor FreePBX is in charge, the manager in charge (firewalld, ufw; nftables only when
    /// the answers have a `[firewall]` section to fill its lists from).
    pub fn auto_backend(&self, firewall_answers: bool) -> Backend {
        let first = self.managers.first().map(|m| m.manager);
        match self.default_backend() {
            Backend::Fail2ban | Backend::None => match first {
                Some(managers::Manager::Nftables) if firewall_answers => Backend::Nftables,
                Some(managers::Manager::Firewalld) => Backend::Firewalld,
                Some(managers::Manager::Ufw) => Backend::Ufw,
                _ => self.default_backend(),
            },
            other => other,
        }
    }

    pub fn default_backend(&self) -> Backend {
        if self.managers.first().map(|m| m.manager) == Some(managers::Manager::Freepbx) {
            Backend::Freepbx
        } else if self.apf.is_some() {
            Backend::Apf
        } else if self.fail2ban.is_some() {
            Backend::Fail2ban
        } else {
            Backend::None
        }
    }
}

/// What writes the firewall: one of these per plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Apf,
    /// pbx-harden's own table `inet pbx_harden`, loaded by the nftables service.
    Nftables,
    /// firewalld's permanent configuration (the default zone, the trusted and drop zones).
    Firewalld,
    /// ufw's user rules (/etc/ufw/user.rules, user6.rules).
    Ufw,
    /// FreePBX's Firewall module is in charge: no rules are written, the plan says what to
    /// set in FreePBX.
    Freepbx,
    Fail2ban,
    None,
}

impl Backend {
    /// The manager this backend is (None for fail2ban and none: they open no port).
    pub fn manager(self) -> Option<managers::Manager> {
        match self {
            Backend::Apf => Some(managers::Manager::Apf),
            Backend::Nftables => Some(managers::Manager::Nftables),
            Backend::Firewalld => Some(managers::Manager::Firewalld),
            Backend::Ufw => Some(managers::Manager::Ufw),
            Backend::Freepbx => Some(managers::Manager::Freepbx),
            Backend::Fail2ban | Backend::None => None,
        }
    }
}

/// What is installed under `root`; `interfaces` are the host's (`crate::host::net::interfaces`,
/// listed once for both).
pub fn detect(root: &Root, interfaces: Vec<String>) -> FirewallInfo {
    let hostname = hostname(root);
    FirewallInfo {
        apf: detect_apf(root),
        bfd: detect_bfd(root),
        fail2ban: root.exists(FAIL2BAN_DIR).then(|| Fail2banInfo {
            jail_local: root.exists(JAIL_LOCAL),
            jail_conf: root.exists("/etc/fail2ban/jail.conf"),
        }),
        interfaces,
        local_addrs: local_addrs(root),
        asterisk: {
            let (root, hostname) = (root.clone(), hostname.clone());
            Lazy::new(move || asterisk::detect(&root, &hostname))
        },
        wget: ["/usr/bin/wget", "/bin/wget", "/usr/local/bin/wget"]
            .iter()
            .any(|p| root.exists(p)),
        hostname,
        managers: managers::detect(root),
    }
}

fn detect_apf(root: &Root) -> Option<ApfInfo> {
    let conf = root.read(APF_CONF).ok().flatten()?;
    let vars = crate::config::shellvars::ShellVars::parse(&conf);
    let version = root.read_text(APF_VERSION).ok().flatten().and_then(|t| {
        t.lines()
            .find_map(|l| {
                l.trim()
                    .strip_prefix("version:")
                    .map(|v| v.trim().to_string())
            })
            .filter(|v| !v.is_empty())
    });
    let format = version
        .as_deref()
        .and_then(TrustFormat::from_version)
        .unwrap_or(if vars.has("IFACE_UNTRUSTED") {
            if vars.has("IG_TCP_CLIMIT") || vars.has("USE_IPSET") {
                TrustFormat::Apf2
            } else {
                TrustFormat::Apf17
            }
        } else {
            TrustFormat::Apf9
        });
    let install_path = vars
        .get("INSTALL_PATH")
        .filter(|p| p.starts_with('/') && !p.contains('$'))
        .unwrap_or("/etc/apf")
        .trim_end_matches('/')
        .to_string();
    let binary = root.exists(&format!("{install_path}/apf"));
    let udp_tos_patch_lines = {
        let (root, functions) = (
            root.clone(),
            format!("{install_path}/internals/functions.apf"),
        );
        Lazy::new(move || {
            root.read(&functions)
                .ok()
                .flatten()
                .map_or(0, |f| udp_tos_patch(&f).1)
        })
    };
    Some(ApfInfo {
        version,
        format,
        install_path,
        binary,
        vars: vars
            .vars
            .iter()
            .map(|a| (a.key.clone(), a.value.clone()))
            .collect(),
        udp_tos_patch_lines,
    })
}

fn detect_bfd(root: &Root) -> Option<BfdInfo> {
    let conf = root.read_text(BFD_CONF).ok().flatten()?;
    // "# BFD 1.5-2 <bfd@rfxn.com>" or "# Brute Force Detection 2.0.1 <bfd@rfxn.com>"
    let version = conf.lines().take(10).find_map(|l| {
        let l = l.trim_start_matches('#').trim();
        let rest = l
            .strip_prefix("BFD ")
            .or_else(|| l.strip_prefix("Brute Force Detection "))?;
        let v = rest.split_whitespace().next()?;
        v.chars()
            .next()
            .is_some_and(|c| c.is_ascii_digit())
            .then(|| v.to_string())
    });
    let major = version
        .as_deref()
        .and_then(|v| v.split('.').next())
        .and_then(|m| m.parse().ok())
        .unwrap_or(if conf.contains("TRIG_WINDOW") { 2 } else { 1 });
    let vars = crate::config::shellvars::ShellVars::parse(conf.as_bytes())
        .vars
        .into_iter()
        .map(|a| (a.key, a.value))
        .collect();
    Some(BfdInfo {
        version,
        major,
        vars,
    })
}

fn hostname(root: &Root) -> String {
    if root.is_live() {
        return nix::unistd::gethostname()
            .ok()
            .and_then(|h| h.into_string().ok())
            .unwrap_or_else(|| "localhost".into());
    }
    if let Ok(Some(h)) = root.read_text("/etc/hostname")
        && let Some(l) = h.lines().next().map(str::trim).filter(|l| !l.is_empty())
    {
        return l.to_string();
    }
    if let Ok(Some(n)) = root.read_text("/etc/sysconfig/network") {
        for l in n.lines() {
            if let Some(v) = l.trim().strip_prefix("HOSTNAME=") {
                return v.trim().trim_matches('"').to_string();
            }
        }
    }
    "localhost".into()
}

/// Addresses of this host: `ip -o addr` live; the network scripts of an offline disk.
pub fn local_addrs(root: &Root) -> Vec<IpAddr> {
    let mut out: Vec<IpAddr> = Vec::new();
    if root.is_live() {
        // getifaddrs(3): what `ip -o addr` shows, without a process.
        if let Ok(addrs) = nix::ifaddrs::getifaddrs() {
            for a in addrs {
                let Some(sa) = a.address else { continue };
                if let Some(v4) = sa.as_sockaddr_in() {
                    out.push(IpAddr::V4(v4.ip()));
                } else if let Some(v6) = sa.as_sockaddr_in6() {
                    out.push(IpAddr::V6(v6.ip()));
                }
            }
        }
    } else {
        for f in root
            .list_dir("/etc/sysconfig/network-scripts")
            .unwrap_or_default()
        {
            if !f.starts_with("ifcfg-") {
                continue;
            }
            if let Ok(Some(t)) = root.read_text(&format!("/etc/sysconfig/network-scripts/{f}")) {
                for l in t.lines() {
                    if let Some((k, v)) = l.split_once('=')
                        && k.trim().starts_with("IPADDR")
                        && let Ok(ip) = v.trim().trim_matches(['"', '\'']).parse()
                    {
                        out.push(ip);
                    }
                }
            }
        }
        if let Ok(Some(t)) = root.read_text("/etc/network/interfaces") {
            for l in t.lines() {
                let mut w = l.split_whitespace();
                if w.next() == Some("address")
                    && let Some(a) = w.next()
                    && let Ok(ip) = a.split('/').next().unwrap_or("").parse()
                {
                    out.push(ip);
                }
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

/// Add the UDP twin of each TCP `--set-tos` rule of APF's internals/functions.apf (the seed's
/// TOS change); the new bytes and how many lines were added.
pub fn udp_tos_patch(bytes: &[u8]) -> (Vec<u8>, usize) {
    let mut text = crate::config::text::Text::parse(bytes);
    let mut i = 0;
    let mut added = 0;
    while i < text.len() {
        let line = text.lines[i].text.clone();
        if line.contains("--set-tos")
            && line.contains("-p tcp")
            && !line.trim_start().starts_with('#')
        {
            let twin = line.replacen("-p tcp", "-p udp", 1);
            let next = text.lines.get(i + 1).map(|l| l.text.clone());
            if next.as_deref() != Some(twin.as_str()) {
                text.insert(i + 1, twin);
                added += 1;
                i += 1;
            }
        }
        i += 1;
    }
    (text.to_bytes(), added)
}
