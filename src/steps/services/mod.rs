//! Disabling the services a PBX does not need (`[services] disable`); the inventory and the
//! lists are facts, in `crate::steps::services::facts` (re-exported here).
//!
//! - systemd: `systemctl disable --now UNIT` (offline: `systemctl --root=DIR disable UNIT`);
//!   every symlink it may remove (wants links, aliases, `Also=` units) is backed up first.
//! - SysV: each `S` link of runlevels 2-5 and S is renamed to the `K` link `chkconfig off` leaves
//!   (`mv`, so the result is exactly known and rollback restores it link for link), then
//!   `service NAME stop` on the live system.
//!
//! Rollback restores every link byte for byte; on the live system it then starts again
//! exactly the units that were running before (and `systemctl daemon-reload`s first).

pub mod answers;
pub mod audit;
use crate::exec::argv;
use crate::host::Lazy;
use crate::model::Builder;
use crate::model::actions::{Action, CommandAction};
pub use answers::Answers;
pub mod facts;
pub mod lists;

pub use facts::*;

/// `inventory` is found here (`force`) only when there is something to disable.
pub fn plan(b: &mut Builder<'_>, inventory: &Lazy<Inventory>, answers: &Answers) {
    let Some(s) = &answers.services else {
        return;
    };
    let l = lists();
    if let Some(e) = &l.broken {
        b.error("services", e.clone());
        return;
    }
    let key = "services.disable";
    let okey = "services.override_keep_list";
    for o in &s.override_keep_list {
        let n = normalize(o);
        if let Some(e) = l.never(&n) {
            b.error(okey, format!("{o}: never disabled: {}", e.reason));
        } else if l.kept(&n).is_none() {
            b.warn(
                okey,
                format!("{o} is not on the keep-list; no override is needed"),
            );
        } else if !s.disable.iter().any(|d| normalize(d) == n) {
            b.warn(
                okey,
                format!("{o} is not in services.disable, so nothing is overridden"),
            );
        }
    }
    let mut done: Vec<String> = Vec::new();
    for raw in &s.disable {
        let name = normalize(raw);
        if !valid_name(&name) {
            b.error(
                key,
                format!(
                    "\"{raw}\" is not a service name (letters, digits and @._:+- only, e.g. \"portmap\" or \"cups.socket\")"
                ),
            );
            continue;
        }
        if done.contains(&name) {
            continue;
        }
        done.push(name.clone());
        if let Some(e) = l.never(&name) {
            b.error(key, format!("{raw}: never disabled: {}", e.reason));
            continue;
        }
        // The boot safeguard and the rollback timer need nothing else (no cron, no atd);
        // only themselves.
        if name.starts_with("pbx-harden") {
            b.error(
                key,
                format!("{raw}: never disabled: it rolls back an unconfirmed change"),
            );
            continue;
        }
        if let Some(e) = l.kept(&name)
            && !s.override_keep_list.iter().any(|o| normalize(o) == name)
        {
            b.error(
                key,
                format!(
                    "{raw} is on the keep-list ({}); to disable it anyway, also list it in \
                     services.override_keep_list",
                    e.reason
                ),
            );
            continue;
        }
        if inventory.force().source == Source::None {
            b.error(
                key,
                "this system has neither systemd nor SysV init scripts that pbx-harden recognises; \
                 services cannot be disabled here",
            );
            return;
        }
        let Some(svc) = inventory.force().find(&name).cloned() else {
            if l.suggested(&name).is_some() {
                b.warn(key, format!("{raw} is not installed here; nothing to do"));
            } else {
                b.error(
                    key,
                    format!(
                        "there is no service \"{raw}\" on this system (`pbx-harden audit` lists \
                         the ones worth disabling)"
                    ),
                );
            }
            continue;
        };
        match &svc.kind {
            Kind::Systemd { unit, state } => {
                // `systemctl disable` also disables the units of `Also=`: the same rules.
                let also = also_units(&b.sys.root, unit);
                if let Some((a, why)) = also.iter().find_map(|a| {
                    let n = normalize(a);
                    l.never(&n).map(|e| (a, e.reason.clone())).or_else(|| {
                        l.kept(&n)
                            .filter(|_| !s.override_keep_list.iter().any(|o| normalize(o) == n))
                            .map(|e| (a, e.reason.clone()))
                    })
                }) {
                    b.error(
                        key,
                        format!("{raw}: disabling {unit} would also disable {a} (Also=): {why}"),
                    );
                    continue;
                }
                plan_systemd(b, inventory.force(), &svc, unit, state)
            }
            Kind::SysV { .. } => plan_sysv(b, &svc),
        }
    }
}

fn plan_systemd(b: &mut Builder<'_>, inv: &Inventory, svc: &Service, unit: &str, state: &str) {
    let root = &b.sys.root;
    if state == "masked" {
        return; // cannot start at all
    }
    let running = svc.active == Some(true);
    if !svc.enabled && !running {
        return;
    }
    let mut units = vec![unit.to_string()];
    for a in also_units(root, unit) {
        if !units.contains(&a) {
            units.push(a);
        }
    }
    let mut touches: Vec<String> = Vec::new();
    for u in &units {
        touches.extend(wants_links(root, u));
    }
    // A SysV script behind the unit (systemd-sysv-install runs update-rc.d/chkconfig).
    touches.extend(sysv_touches(b, &svc.name));
    let mut seen = std::collections::BTreeSet::new();
    touches.retain(|t| seen.insert(t.clone()));
    if root.is_live() {
        let mut undo = vec![argv(&["systemctl", "daemon-reload"])];
        for u in &units {
            // The inventory knows what runs: the services, and every socket and path unit.
            let was_active = match inv
                .services
                .iter()
                .find(|s| s.unit() == Some(u.as_str()))
                .and_then(|s| s.active)
            {
                Some(a) => a,
                None => inv.active_units.as_ref().is_some_and(|a| a.contains(u)),
            };
            if was_active {
                undo.push(argv(&["systemctl", "start", u]));
            }
        }
        // Every unit is named: `disable --now` stops only the units it is given, so the
        // `Also=` sockets and paths would go on listening (rpcbind.socket on 111).
        let mut cmd = argv(&["systemctl", "disable", "--now"]);
        cmd.extend(units.iter().cloned());
        b.actions.push(Action::Command(CommandAction {
            argv: cmd,
            undo,
            touches,
            changes_state: true,
        }));
    } else if svc.enabled {
        let mut a = systemctl_args(root);
        a.extend(argv(&["disable", unit]));
        b.actions.push(Action::Command(CommandAction {
            argv: a,
            undo: Vec::new(),
            touches,
            changes_state: true,
        }));
    }
}

/// The rc links `chkconfig NAME off` would leave: (old S link, new K link or None to remove).
fn sysv_renames(svc: &Service) -> Vec<(String, Option<String>)> {
    let Kind::SysV {
        links,
        stop_priority,
        ..
    } = &svc.kind
    else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for l in links.iter().filter(|l| starts_at_boot(l)) {
        let kill = stop_priority.unwrap_or((100 - l.priority.min(99)).min(99));
        let k_file = format!("K{kill:02}{}", svc.name);
        let dir = l.path.rsplit_once('/').map(|(d, _)| d).unwrap_or("");
        let exists = links
            .iter()
            .any(|o| o.runlevel == l.runlevel && !o.start && o.file == k_file);
        let new = (!exists).then(|| format!("{dir}/{k_file}"));
        out.push((l.path.clone(), new));
    }
    out
}

/// The rc links of a SysV script of this name, old and new (for a unit that wraps one).
fn sysv_touches(b: &Builder<'_>, name: &str) -> Vec<String> {
    let (base, initd) = rc_layout(&b.sys.root);
    if !b.sys.root.exists(&format!("{initd}/{name}")) {
        return Vec::new();
    }
    let mut out = Vec::new();
    for (_, dir) in rc_dirs(base) {
        for file in b.sys.root.list_dir(&dir).unwrap_or_default() {
            let Some((start, prio, nm)) = parse_rc_name(&file) else {
                continue;
            };
            if nm != name {
                continue;
            }
            out.push(format!("{dir}/{file}"));
            if start {
                // The K links `update-rc.d NAME disable` / `chkconfig NAME off` may create
                // (absent now: rollback removes them if they appear).
                for k in [prio, 100 - prio.min(99), 1] {
                    out.push(format!("{dir}/K{:02}{name}", k.min(99)));
                }
            }
        }
    }
    out
}

fn plan_sysv(b: &mut Builder<'_>, svc: &Service) {
    let root = b.sys.root.clone();
    let running = root.is_live() && sysv_running(&*b.sys.runner, &svc.name);
    for (old, new) in sysv_renames(svc) {
        let host_old = root.host_nofollow(&old).display().to_string();
        let (cmd, touches) = match new {
            Some(new) => (
                vec![
                    "mv".to_string(),
                    host_old,
                    root.host_nofollow(&new).display().to_string(),
                ],
                vec![old.clone(), new],
            ),
            None => (vec!["rm".to_string(), host_old], vec![old.clone()]),
        };
        b.actions.push(Action::Command(CommandAction {
            argv: cmd,
            undo: Vec::new(),
            touches,
            changes_state: true,
        }));
    }
    if running {
        b.actions.push(Action::Command(CommandAction {
            argv: argv(&["service", &svc.name, "stop"]),
            undo: vec![argv(&["service", &svc.name, "start"])],
            touches: Vec::new(),
            changes_state: true,
        }));
    }
}
