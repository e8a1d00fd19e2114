//! System services as facts: the inventory (systemd and SysV, offline too) and the bundled
//! lists of services a PBX keeps, never touches or does not need. Disabling them is the
//! services step (`crate::steps::services`).
//!
//! Inventory:
//! - systemd: `systemctl [--root=DIR] list-unit-files` (works offline); whether a unit runs
//!   (`systemctl list-units`) only on the live system. Without a systemctl on the host, the
//!   unit directories and `*.wants/` links are read directly.
//! - SysV: the `S`/`K` links of `etc/rc.d/rc?.d` (Red Hat) or `etc/rc?.d` (Debian): that is
//!   what `chkconfig --list` reads, and it works on an offline disk too. A service is enabled
//!   when it has an `S` link in runlevel 2, 3, 4 or 5, or in `rcS.d` (Debian starts some
//!   services there: rpcbind).

use crate::exec::{Real, Runner, argv};
use crate::host::Init;
use crate::root::Root;

pub use super::lists::{Entry, Lists, lists};

/// Where the inventory came from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Source {
    /// `systemctl list-unit-files`.
    Systemctl,
    /// systemd unit directories read directly (no systemctl on this host).
    UnitFiles,
    /// SysV `rc?.d` links.
    RcLinks,
    /// Neither systemd nor SysV was recognised.
    #[default]
    None,
}

/// One `S`/`K` link of a SysV service.
/// The `runlevel` of a link in `rcS.d` (Debian's boot-time scripts).
pub const RUNLEVEL_S: u8 = b'S';

/// Every rc directory of a layout: `rc0.d`..`rc6.d`, then `rcS.d`.
pub(crate) fn rc_dirs(base: &str) -> Vec<(u8, String)> {
    let mut v: Vec<(u8, String)> = (0..=6u8).map(|n| (n, format!("{base}/rc{n}.d"))).collect();
    v.push((RUNLEVEL_S, format!("{base}/rcS.d")));
    v
}

/// Does this link start the service at boot (runlevels 2-5, or rcS.d)?
pub(crate) fn starts_at_boot(l: &RcLink) -> bool {
    l.start && ((2..=5).contains(&l.runlevel) || l.runlevel == RUNLEVEL_S)
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RcLink {
    /// 0-6, or `RUNLEVEL_S` for `rcS.d`.
    pub runlevel: u8,
    /// `S13portmap`
    pub file: String,
    /// Target path of the link.
    pub path: String,
    pub start: bool,
    pub priority: u8,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    Systemd {
        /// `avahi-daemon.service`
        unit: String,
        /// `list-unit-files` state: enabled, disabled, static, masked, alias, indirect, ...
        state: String,
    },
    SysV {
        /// Target path of the init script.
        script: String,
        links: Vec<RcLink>,
        /// Stop priority of the script's `# chkconfig: LEVELS START STOP` header.
        stop_priority: Option<u8>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Service {
    /// The name the admin writes: `portmap`, `avahi-daemon`, `cups.socket` (`.service` dropped).
    pub name: String,
    pub kind: Kind,
    /// Started at boot.
    pub enabled: bool,
    /// Running now: known on the live systemd system only.
    pub active: Option<bool>,
    /// A path that shows the boot state (an `S` link, a `.wants` link), for the audit.
    pub evidence: Option<String>,
}

impl Service {
    pub fn unit(&self) -> Option<&str> {
        match &self.kind {
            Kind::Systemd { unit, .. } => Some(unit),
            Kind::SysV { .. } => None,
        }
    }
}

/// The services of the target and their boot/run state.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Inventory {
    pub source: Source,
    pub services: Vec<Service>,
    /// Why the inventory may be incomplete.
    pub notes: Vec<String>,
    /// The units (services, sockets, paths) that run now, on the live system with systemd
    /// (`systemctl list-units`); an `Also=` unit without a unit file of its own is looked
    /// up here.
    pub active_units: Option<std::collections::BTreeSet<String>>,
}

impl Inventory {
    /// A service by the name the admin writes (`cups`, `cups.service`, `cups.socket`).
    pub fn find(&self, name: &str) -> Option<&Service> {
        let n = normalize(name);
        self.services.iter().find(|s| s.name == n)
    }

    /// Enabled (or running) services on the suggested-disable list, with the list entry.
    pub fn unneeded(&self) -> Vec<(&Service, &'static Entry)> {
        let l = lists();
        self.services
            .iter()
            .filter(|s| s.enabled || s.active == Some(true))
            .filter_map(|s| l.suggested(&s.name).map(|e| (s, e)))
            .collect()
    }
}

/// `foo.service` -> `foo`; other unit types keep their suffix.
pub fn normalize(name: &str) -> String {
    name.trim()
        .strip_suffix(".service")
        .unwrap_or(name.trim())
        .to_string()
}

/// A service or unit name as answers may write it.
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 255
        && !name.starts_with(['-', '.'])
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "@._:+-".contains(c))
}

pub fn detect(root: &Root, init: Init) -> Inventory {
    detect_with(root, init, &Real)
}

/// `detect` with its commands (`systemctl list-unit-files`, `list-units`) sent to `run`.
pub fn detect_with(root: &Root, init: Init, run: &dyn Runner) -> Inventory {
    match init {
        Init::Systemd => systemd_inventory(root, run),
        Init::SysV => sysv_inventory(root),
        Init::Unknown => Inventory {
            notes: vec!["neither systemd nor SysV init scripts were found".into()],
            ..Default::default()
        },
    }
}

// ----- systemd -----

const UNIT_DIRS: &[&str] = &[
    "/etc/systemd/system",
    "/run/systemd/system",
    "/usr/lib/systemd/system",
    "/lib/systemd/system",
];

const UNIT_SUFFIXES: &[&str] = &[".service", ".socket", ".path"];

pub(crate) fn systemctl_args(root: &Root) -> Vec<String> {
    let mut v = argv(&["systemctl"]);
    if !root.is_live() {
        v.push(format!("--root={}", root.dir().display()));
    }
    v
}

fn systemd_inventory(root: &Root, run: &dyn Runner) -> Inventory {
    let mut inv = Inventory {
        source: Source::Systemctl,
        ..Default::default()
    };
    let mut units: Vec<(String, String)> = Vec::new();
    let listed = crate::host::find_program("systemctl").and_then(|_| {
        let mut a = systemctl_args(root);
        a.extend(argv(&[
            "list-unit-files",
            "--type=service,socket,path",
            "--no-legend",
            "--no-pager",
        ]));
        run.run(&a, None).ok().filter(|o| o.ok())
    });
    match listed {
        Some(out) => {
            for line in out.stdout.lines() {
                let mut f = line.split_whitespace();
                if let (Some(u), Some(st)) = (f.next(), f.next())
                    && UNIT_SUFFIXES.iter().any(|s| u.ends_with(s))
                {
                    units.push((u.to_string(), st.to_string()));
                }
            }
        }
        None => {
            inv.source = Source::UnitFiles;
            inv.notes.push(
                "systemctl could not list the unit files; the unit directories were read instead"
                    .into(),
            );
            units = scan_unit_files(root);
        }
    }
    let active = if root.is_live() {
        live_active_units(run)
    } else {
        None
    };
    for (unit, state) in units {
        if unit.contains("@.") || state == "alias" {
            continue; // templates are enabled per instance; an alias is another unit's name
        }
        let enabled = matches!(state.as_str(), "enabled" | "enabled-runtime" | "linked");
        let evidence = if enabled {
            wants_links(root, &unit).into_iter().next()
        } else {
            None
        };
        inv.services.push(Service {
            name: normalize(&unit),
            active: active.as_ref().map(|a| a.contains(&unit)),
            kind: Kind::Systemd { unit, state },
            enabled,
            evidence,
        });
    }
    inv.active_units = active;
    inv
}

/// `systemctl list-units`: the units that run now (live system only).
fn live_active_units(run: &dyn Runner) -> Option<std::collections::BTreeSet<String>> {
    let out = run
        .run(
            &argv(&[
                "systemctl",
                "list-units",
                "--type=service,socket,path",
                "--all",
                "--no-legend",
                "--no-pager",
                "--plain",
            ]),
            None,
        )
        .ok()
        .filter(|o| o.ok())?;
    let mut set = std::collections::BTreeSet::new();
    for line in out.stdout.lines() {
        let f: Vec<&str> = line
            .split_whitespace()
            .filter(|w| *w != "●" && *w != "*")
            .collect();
        if f.len() >= 3 && matches!(f[2], "active" | "activating" | "reloading") {
            set.insert(f[0].to_string());
        }
    }
    Some(set)
}

/// Unit files and their state, read from the unit directories (no systemctl).
fn scan_unit_files(root: &Root) -> Vec<(String, String)> {
    let mut seen = std::collections::BTreeMap::new();
    for d in UNIT_DIRS {
        for name in root.list_dir(d).unwrap_or_default() {
            if !UNIT_SUFFIXES.iter().any(|s| name.ends_with(s)) || seen.contains_key(&name) {
                continue;
            }
            let p = format!("{d}/{name}");
            let masked = std::fs::read_link(root.host_nofollow(&p))
                .is_ok_and(|t| t == std::path::Path::new("/dev/null"));
            let state = if masked {
                "masked"
            } else if !wants_links(root, &name).is_empty() {
                "enabled"
            } else {
                "disabled"
            };
            seen.insert(name, state.to_string());
        }
    }
    seen.into_iter().collect()
}

/// Symlinks under /etc/systemd/system that enable `unit` or alias it: `*.wants/UNIT`,
/// `*.requires/UNIT`, and links whose target is the unit. These are what `systemctl
/// disable` removes.
pub fn wants_links(root: &Root, unit: &str) -> Vec<String> {
    let base = "/etc/systemd/system";
    let ours = |path: &str, name: &str, in_dir: bool| -> bool {
        match std::fs::read_link(root.host_nofollow(path)) {
            Ok(t) if t == std::path::Path::new("/dev/null") => false,
            // `multi-user.target.wants/UNIT`
            Ok(_) if name == unit => in_dir,
            // an alias: `dbus-org.freedesktop.Avahi.service -> .../avahi-daemon.service`
            Ok(t) => t.file_name().is_some_and(|f| f == unit),
            Err(_) => false,
        }
    };
    let mut out = Vec::new();
    for name in root.list_dir(base).unwrap_or_default() {
        let p = format!("{base}/{name}");
        let is_dir = std::fs::symlink_metadata(root.host_nofollow(&p)).is_ok_and(|m| m.is_dir());
        if is_dir {
            for inner in root.list_dir(&p).unwrap_or_default() {
                let ip = format!("{p}/{inner}");
                if ours(&ip, &inner, true) {
                    out.push(ip);
                }
            }
        } else if ours(&p, &name, false) {
            out.push(p);
        }
    }
    out
}

/// The unit file of `unit` (first in the systemd search order).
fn unit_file(root: &Root, unit: &str) -> Option<String> {
    UNIT_DIRS
        .iter()
        .map(|d| format!("{d}/{unit}"))
        .find(|p| root.host(p).is_file())
}

/// `Also=` units of `unit`'s [Install] section (`systemctl disable` disables them too).
pub fn also_units(root: &Root, unit: &str) -> Vec<String> {
    let Some(path) = unit_file(root, unit) else {
        return Vec::new();
    };
    let Ok(Some(text)) = root.read_text(&path) else {
        return Vec::new();
    };
    let mut in_install = false;
    let mut out = Vec::new();
    for line in text.lines() {
        let t = line.trim();
        if t.starts_with('[') {
            in_install = t.eq_ignore_ascii_case("[install]");
        } else if in_install
            && let Some((k, v)) = t.split_once('=')
            && k.trim() == "Also"
        {
            out.extend(v.split_whitespace().map(str::to_string));
        }
    }
    out
}

// ----- SysV -----

/// `(rc base, init.d dir)`: `/etc/rc.d` + `/etc/rc.d/init.d` on Red Hat, `/etc` +
/// `/etc/init.d` on Debian.
pub fn rc_layout(root: &Root) -> (&'static str, &'static str) {
    let redhat = (0..=6).any(|n| {
        std::fs::symlink_metadata(root.host_nofollow(&format!("/etc/rc.d/rc{n}.d")))
            .is_ok_and(|m| m.is_dir())
    });
    if redhat {
        ("/etc/rc.d", "/etc/rc.d/init.d")
    } else {
        ("/etc", "/etc/init.d")
    }
}

pub(crate) fn parse_rc_name(file: &str) -> Option<(bool, u8, &str)> {
    let start = match file.as_bytes().first()? {
        b'S' => true,
        b'K' => false,
        _ => return None,
    };
    let prio = file.get(1..3)?;
    if !prio.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let name = &file[3..];
    if name.is_empty() {
        return None;
    }
    Some((start, prio.parse().ok()?, name))
}

/// `# chkconfig: 345 13 87` -> stop priority 87.
pub fn chkconfig_stop_priority(script: &str) -> Option<u8> {
    for line in script.lines().take(60) {
        let t = line.trim_start_matches('#').trim();
        if let Some(rest) = t.strip_prefix("chkconfig:") {
            let f: Vec<&str> = rest.split_whitespace().collect();
            if f.len() == 3 {
                return f[2].parse().ok().filter(|p: &u8| *p <= 99);
            }
        }
    }
    None
}

fn sysv_inventory(root: &Root) -> Inventory {
    let (base, initd) = rc_layout(root);
    let mut by_name: std::collections::BTreeMap<String, Vec<RcLink>> = Default::default();
    for (n, dir) in rc_dirs(base) {
        for file in root.list_dir(&dir).unwrap_or_default() {
            if let Some((start, priority, name)) = parse_rc_name(&file) {
                by_name.entry(name.to_string()).or_default().push(RcLink {
                    runlevel: n,
                    path: format!("{dir}/{file}"),
                    file,
                    start,
                    priority,
                });
            }
        }
    }
    let mut inv = Inventory {
        source: Source::RcLinks,
        ..Default::default()
    };
    for (name, links) in by_name {
        let script = format!("{initd}/{name}");
        let boot: Vec<&RcLink> = links.iter().filter(|l| starts_at_boot(l)).collect();
        let enabled = !boot.is_empty();
        let evidence = boot
            .iter()
            .find(|l| l.runlevel == 3)
            .or(boot.first())
            .map(|l| l.path.clone());
        let stop_priority = if enabled {
            root.read_text(&script)
                .ok()
                .flatten()
                .and_then(|t| chkconfig_stop_priority(&t))
        } else {
            None
        };
        inv.services.push(Service {
            name,
            kind: Kind::SysV {
                script,
                links,
                stop_priority,
            },
            enabled,
            active: None,
            evidence,
        });
    }
    inv
}

// ----- the plan -----

/// Is this SysV service running (live system only)? `service NAME status` exits 0.
pub(crate) fn sysv_running(run: &dyn Runner, name: &str) -> bool {
    run.run(&argv(&["service", name, "status"]), None)
        .is_ok_and(|o| o.ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rc_names() {
        assert_eq!(parse_rc_name("S13portmap"), Some((true, 13, "portmap")));
        assert_eq!(parse_rc_name("K87portmap"), Some((false, 87, "portmap")));
        assert_eq!(parse_rc_name("README"), None);
        assert_eq!(parse_rc_name("S1"), None);
        assert_eq!(parse_rc_name("Sxxfoo"), None);
    }

    #[test]
    fn chkconfig_header() {
        let s = "#!/bin/sh\n#\n# chkconfig: 345 13 87\n# description: x\n";
        assert_eq!(chkconfig_stop_priority(s), Some(87));
        assert_eq!(chkconfig_stop_priority("# chkconfig: - 60 50\n"), Some(50));
        assert_eq!(chkconfig_stop_priority("#!/bin/sh\n"), None);
    }

    #[test]
    fn names() {
        assert_eq!(normalize("cups.service"), "cups");
        assert_eq!(normalize("cups.socket"), "cups.socket");
        assert!(valid_name("getty@tty1"));
        assert!(!valid_name("../etc"));
        assert!(!valid_name("a b"));
        assert!(!valid_name(""));
    }
}
