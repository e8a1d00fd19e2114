//! Which firewall manager is in charge of the target, with the evidence for each: FreePBX's
//! Firewall module, APF, firewalld, ufw, nftables (in that order of precedence). Read from
//! files only (unit links, configuration), so it works on an offline disk and costs no
//! process; on the live system a running unit counts too (systemd's
//! `/run/systemd/units/invocation:UNIT` marker, FreePBX's `voipfirewalld` process).

use crate::root::Root;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Manager {
    Freepbx,
    Apf,
    Firewalld,
    Ufw,
    Nftables,
}

impl Manager {
    /// The `firewall.backend` value that names it.
    pub fn key(self) -> &'static str {
        match self {
            Manager::Freepbx => "freepbx",
            Manager::Apf => "apf",
            Manager::Firewalld => "firewalld",
            Manager::Ufw => "ufw",
            Manager::Nftables => "nftables",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Manager::Freepbx => "FreePBX's Firewall module",
            Manager::Apf => "APF",
            Manager::Firewalld => "firewalld",
            Manager::Ufw => "ufw",
            Manager::Nftables => "nftables",
        }
    }
}

/// A manager found on the target, and why pbx-harden thinks it is in charge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    pub manager: Manager,
    pub reason: String,
}

impl Found {
    /// The reason in a word or two, for the Welcome screen.
    pub fn short(&self) -> &'static str {
        let r = self.reason.as_str();
        if r.contains("running") || r.contains("runs") {
            "running"
        } else if r.contains(" is there") {
            "installed"
        } else if r.contains("ENABLED=yes") {
            "ENABLED=yes"
        } else if r.contains("enabled") || r.contains("starts at boot") {
            "enabled"
        } else {
            "installed"
        }
    }
}

impl std::fmt::Display for Found {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.manager.label(), self.reason)
    }
}

pub const FREEPBX_MODULE: &str = "/var/www/html/admin/modules/firewall/module.xml";
pub const UFW_CONF: &str = "/etc/ufw/ufw.conf";

/// The links that start units at boot, listed once for every unit asked about: systemd's
/// `/etc/systemd/system/*.wants` and `*.requires` (in that order, each sorted) and the SysV
/// run-level directories.
struct BootLinks {
    systemd: Vec<String>,
    sysv: Vec<String>,
}

const RC_DIRS: [&str; 4] = [
    "/etc/rc.d/rc3.d",
    "/etc/rc3.d",
    "/etc/rc.d/rc2.d",
    "/etc/rc2.d",
];

impl BootLinks {
    fn scan(root: &Root) -> BootLinks {
        let dir = "/etc/systemd/system";
        let units = root.list_dir(dir).unwrap_or_default();
        let mut systemd = Vec::new();
        for kind in [".wants", ".requires"] {
            for d in units
                .iter()
                .filter(|d| d.ends_with(kind) && !d.starts_with('.'))
            {
                for n in root.list_dir(&format!("{dir}/{d}")).unwrap_or_default() {
                    systemd.push(format!("{dir}/{d}/{n}"));
                }
            }
        }
        // (`/etc/rc3.d` is a link to `rc.d/rc3.d` on Red Hat systems: listed once, under
        // the name met first)
        let mut sysv = Vec::new();
        let mut listed = Vec::new();
        for d in RC_DIRS {
            let Ok(r) = root.resolve_final(d) else {
                continue;
            };
            if r.kind != Some(crate::root::Kind::Dir) || listed.contains(&r.real) {
                continue;
            }
            for n in root.list_dir(&r.real).unwrap_or_default() {
                sysv.push(format!("{d}/{n}"));
            }
            listed.push(r.real);
        }
        BootLinks { systemd, sysv }
    }
}

/// The last component of a path.
fn leaf(p: &str) -> &str {
    p.rsplit('/').next().unwrap_or(p)
}

/// `S` + two digits + `name`: a SysV start link.
fn sysv_start(link: &str, name: &str) -> bool {
    let b = link.as_bytes();
    b.len() == name.len() + 3
        && b[0] == b'S'
        && b[1].is_ascii_digit()
        && b[2].is_ascii_digit()
        && &link[3..] == name
}

/// Why a unit counts as on: an enabling link (systemd `*.wants`, an alias, SysV `S` links),
/// or running now. None when it is off or masked.
fn unit_on(root: &Root, boot: &BootLinks, name: &str, aliases: &[&str]) -> Option<String> {
    let unit = format!("{name}.service");
    let masked = std::fs::read_link(root.host_nofollow(&format!("/etc/systemd/system/{unit}")))
        .is_ok_and(|t| t == std::path::Path::new("/dev/null"));
    if masked {
        return None;
    }
    if root.is_live() && root.exists(&format!("/run/systemd/units/invocation:{unit}")) {
        return Some(format!("{unit} is running"));
    }
    if let Some(l) = boot
        .systemd
        .iter()
        .find(|l| leaf(l) == unit && root.glob_keeps(l))
    {
        return Some(format!("{unit} is enabled: {l}"));
    }
    for a in aliases {
        let p = format!("/etc/systemd/system/{a}");
        if root.exists(&p) {
            return Some(format!("{unit} is enabled: {p}"));
        }
    }
    boot.sysv
        .iter()
        .find(|l| sysv_start(leaf(l), name) && root.glob_keeps(l))
        .map(|l| format!("{name} starts at boot: {l}"))
}

fn freepbx_running() -> bool {
    let Ok(d) = std::fs::read_dir("/proc") else {
        return false;
    };
    d.flatten().any(|e| {
        e.file_name()
            .to_string_lossy()
            .bytes()
            .all(|c| c.is_ascii_digit())
            && std::fs::read(e.path().join("cmdline"))
                .is_ok_and(|c| c.windows(13).any(|w| w == b"voipfirewalld"))
    })
}

/// The managers in charge of the target, in order of precedence.
pub fn detect(root: &Root) -> Vec<Found> {
    let mut out = Vec::new();
    let boot = BootLinks::scan(root);
    if root.exists(FREEPBX_MODULE) {
        out.push(Found {
            manager: Manager::Freepbx,
            reason: if root.is_live() && freepbx_running() {
                format!("{FREEPBX_MODULE} is there and voipfirewalld runs")
            } else {
                format!(
                    "{FREEPBX_MODULE} is there; whether it is enabled is kept in FreePBX's \
                     database, so it is taken as in charge"
                )
            },
        });
    }
    if root.exists(super::APF_CONF) {
        out.push(Found {
            manager: Manager::Apf,
            reason: format!("{} is there", super::APF_CONF),
        });
    }
    if let Some(r) = unit_on(
        root,
        &boot,
        "firewalld",
        &["dbus-org.fedoraproject.FirewallD1.service"],
    ) {
        out.push(Found {
            manager: Manager::Firewalld,
            reason: r,
        });
    }
    let ufw = root.read_text(UFW_CONF).ok().flatten().is_some_and(|t| {
        t.lines().any(|l| {
            let l = l.trim().replace('"', "");
            l.eq_ignore_ascii_case("ENABLED=yes")
        })
    });
    if ufw {
        out.push(Found {
            manager: Manager::Ufw,
            reason: format!("ENABLED=yes in {UFW_CONF}"),
        });
    }
    if let Some(r) = unit_on(root, &boot, "nftables", &[]) {
        out.push(Found {
            manager: Manager::Nftables,
            reason: r,
        });
    }
    out
}
