//! Apply a plan as one transaction, and confirm or roll it back.
//!
//! apply: lock -> back up every path the plan touches -> journal (commit point) -> binary
//! copy + boot safeguard -> watchdog -> file writes -> commands -> SSH banner check -> armed.
//! A failure at any step rolls back at once; a crash at any step is rolled back by the
//! watchdog (within a second), by the boot safeguard, or by the next pbx-harden run.

pub mod fsops;
pub mod journal;
pub mod state;
pub mod watchdog;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use journal::{Before, ConfirmStep, Journal, Snapshot, TxState, TxSummary};

use crate::error::{Error, IoContext, Result};
use crate::plan::{Action, Plan};
use crate::root::Root;
use crate::system::System;

/// Test hook: `PBX_HARDEN_CRASH_AT=<step>` aborts the process at that step, exactly like a
/// `kill -9` (no destructors, no cleanup). `crash_points` lists the steps of a plan.
pub fn crash_point(step: &str) {
    static AT: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    if AT
        .get_or_init(|| std::env::var("PBX_HARDEN_CRASH_AT").ok())
        .as_deref()
        == Some(step)
    {
        std::process::abort();
    }
}

/// Every crash point apply passes for `plan`, in order: `write:N` and `action:N` come after
/// the N-th file write and action (0-based).
pub fn crash_points(plan: &Plan) -> Vec<String> {
    let mut v: Vec<String> = ["journaled", "safeguard", "watchdog"]
        .map(String::from)
        .to_vec();
    v.extend((0..plan.changes.len()).map(|i| format!("write:{i}")));
    v.extend((0..plan.actions.len()).map(|i| format!("action:{i}")));
    v.push("armed".into());
    v
}

#[derive(Debug, Clone, Default)]
pub struct ApplyOptions {
    /// Overrides the plan's confirm timeout.
    pub timeout: Option<Duration>,
    /// Progress lines (the wizard shows them step by step).
    pub progress: Option<std::sync::mpsc::Sender<String>>,
}

#[derive(Debug, Clone)]
pub struct ApplyReport {
    pub txid: String,
    pub deadline: u64,
    pub summary: TxSummary,
    pub steps: Vec<String>,
    /// Set when apply found an interrupted change and rolled it back first.
    pub recovered: Option<RollbackReport>,
    /// True when there was nothing to change (no timer armed).
    pub nothing_to_do: bool,
}

#[derive(Debug, Clone, Default)]
pub struct RollbackReport {
    pub txid: String,
    pub reason: String,
    pub restored: Vec<String>,
    pub removed: Vec<String>,
    /// Files changed by someone else after apply: their content at rollback is kept here.
    pub conflicts: Vec<String>,
    pub undo_errors: Vec<String>,
}

impl RollbackReport {
    pub fn headline(&self) -> String {
        format!(
            "rolled back {} ({}): {} file(s) restored, {} removed{}",
            self.txid,
            self.reason,
            self.restored.len(),
            self.removed.len(),
            if self.undo_errors.is_empty() {
                String::new()
            } else {
                format!("; {} undo command(s) failed", self.undo_errors.len())
            }
        )
    }
}

fn progress(opts: &ApplyOptions, steps: &mut Vec<String>, msg: String) {
    if let Some(tx) = &opts.progress {
        let _ = tx.send(msg.clone());
    }
    steps.push(msg);
}

fn snapshot(root: &Root, path: &str, dir: &std::path::Path, n: usize) -> Result<Snapshot> {
    let host = root.host_nofollow(path);
    let before = match std::fs::symlink_metadata(&host) {
        Err(e)
            if e.kind() == std::io::ErrorKind::NotFound
                || e.raw_os_error() == Some(nix::libc::ENOTDIR) =>
        {
            Before::Absent
        }
        Err(e) => return Err(Error::io(host, e)),
        Ok(md) if md.file_type().is_symlink() => Before::Symlink {
            target: std::fs::read_link(&host).at(&host)?.display().to_string(),
        },
        Ok(md) if md.is_dir() => Before::Dir,
        Ok(_) => {
            let bytes = std::fs::read(&host).at(&host)?;
            let backup = format!("{n}");
            let bp = dir.join(&backup);
            let mut f = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&bp)
                .at(&bp)?;
            use std::os::unix::fs::PermissionsExt;
            f.set_permissions(std::fs::Permissions::from_mode(0o600))
                .at(&bp)?;
            f.write_all(&bytes).at(&bp)?;
            f.sync_all().at(&bp)?;
            Before::File {
                backup,
                meta: fsops::meta_of(&host).at(&host)?,
            }
        }
    };
    Ok(Snapshot {
        path: path.to_string(),
        before,
        written: None,
    })
}

fn txid() -> String {
    let secs = journal::now();
    format!("{secs}-{}", std::process::id())
}

/// Roll back an interrupted transaction (apply died, or an armed one is overdue and its
/// watchdog is gone). Returns what was done.
pub fn recover(root: &Root) -> Result<Option<RollbackReport>> {
    let Some(j) = journal::load(root)? else {
        return Ok(None);
    };
    let interrupted = j.state == TxState::Applying && !journal::alive(j.pid, j.pid_start);
    let overdue = j.state == TxState::Armed && journal::now() > j.deadline + 2;
    if interrupted {
        return rollback(root, "an earlier apply was interrupted", true, None).map(Some);
    }
    if overdue {
        return rollback(
            root,
            "the confirm timer ran out (no watchdog was running)",
            true,
            None,
        )
        .map(Some);
    }
    Ok(None)
}

/// Refuse to start a new change while one waits for confirmation.
pub fn ensure_no_pending(root: &Root) -> Result<()> {
    match journal::load(root)? {
        Some(j) => Err(Error::Journal(format!(
            "a change ({}) is waiting for confirmation ({}s left): run `pbx-harden confirm` \
             or `pbx-harden rollback` first",
            j.txid,
            j.deadline.saturating_sub(journal::now())
        ))),
        None => Ok(()),
    }
}

/// Apply `plan` on `sys`. The plan must be valid.
pub fn apply(sys: &System, plan: &Plan, opts: &ApplyOptions) -> Result<ApplyReport> {
    let root = &sys.root;
    if !plan.is_valid() {
        return Err(Error::Refused(plan.refusals()));
    }
    if root.is_live() && sys.env.euid != 0 {
        return Err(Error::invalid("apply on this system needs root"));
    }
    let mut steps = Vec::new();
    let lock = journal::lock(root)?;
    let recovered = match journal::load(root)? {
        Some(j) if j.state == TxState::Applying && !journal::alive(j.pid, j.pid_start) => {
            drop(lock);
            let r = rollback(root, "an earlier apply was interrupted", true, None)?;
            progress(opts, &mut steps, format!("recovered: {}", r.headline()));
            Some(r)
        }
        Some(j) => {
            return Err(Error::Journal(format!(
                "a change ({}) is waiting for confirmation ({}s left): run `pbx-harden confirm` \
                 or `pbx-harden rollback` first",
                j.txid,
                j.deadline.saturating_sub(journal::now())
            )));
        }
        None => {
            drop(lock);
            None
        }
    };
    let _lock = journal::lock(root)?;
    if plan.is_empty() {
        return Ok(ApplyReport {
            txid: String::new(),
            deadline: 0,
            summary: TxSummary::default(),
            steps: vec!["nothing to change: the system already matches the answers".into()],
            recovered,
            nothing_to_do: true,
        });
    }
    let timeout = opts.timeout.unwrap_or(plan.summary.confirm_timeout);
    let paths = journal::ensure_state_dir(root)?;
    let id = txid();

    // 1. Back up everything, then commit the journal with one rename.
    let staging = paths.state.join("pending.new");
    let _ = fsops::remove_any(&staging);
    let files_dir = staging.join("files");
    {
        use std::os::unix::fs::DirBuilderExt;
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&files_dir)
            .at(&files_dir)?;
    }
    let mut touched = plan.touched_paths(sys);
    touched.extend(watchdog::safeguard_paths(sys));
    // Parent directories that do not exist yet are created on the way (by apply or by a
    // command) and removed by rollback: snapshot them as absent, before their children.
    let mut with_parents = Vec::new();
    for t in &touched {
        let mut parents = Vec::new();
        let mut p = std::path::Path::new(t).parent();
        while let Some(d) = p {
            let ds = d.display().to_string();
            if ds == "/" || std::fs::symlink_metadata(root.host(&ds)).is_ok() {
                break;
            }
            parents.push(ds);
            p = d.parent();
        }
        parents.reverse();
        with_parents.extend(parents);
        // A path reached through links: back up every link on the way and the real file
        // behind them (rollback restores the file first, then the links).
        let r = root.resolve_final(t)?;
        with_parents.extend(r.links.iter().filter(|l| *l != t).cloned());
        with_parents.push(t.clone());
        // Only a regular file (or nothing yet) behind the links: never a device such as the
        // /dev/null of a masked unit.
        if r.real != *t && matches!(r.kind, None | Some(crate::root::Kind::File)) {
            with_parents.push(r.real);
        }
    }
    let mut touched = with_parents;
    let mut seen = std::collections::BTreeSet::new();
    touched.retain(|p| seen.insert(p.clone()));
    let mut snapshots = Vec::new();
    for (n, p) in touched.iter().enumerate() {
        snapshots.push(snapshot(root, p, &files_dir, n)?);
    }
    let mut undo = Vec::new();
    for a in &plan.actions {
        undo.extend(a.undo());
    }
    let created_user = plan.actions.iter().find_map(|a| match a {
        Action::CreateUser { name, .. } => Some(name.clone()),
        _ => None,
    });
    let pid = std::process::id();
    let mut j = Journal {
        version: journal::JOURNAL_VERSION,
        txid: id.clone(),
        state: TxState::Applying,
        pid,
        pid_start: journal::process_start(pid).unwrap_or(0),
        started: journal::now(),
        deadline: journal::now() + timeout.as_secs(),
        timeout_secs: timeout.as_secs(),
        live: root.is_live(),
        snapshots,
        undo,
        confirm: plan.on_confirm.clone(),
        summary: TxSummary {
            login_user: plan.summary.login_user.clone(),
            created_user: created_user.clone().or_else(|| {
                // A user written directly into the account files (no root on a copy).
                plan.summary.login_user.clone().filter(|u| {
                    sys.users.get(u).is_none()
                        && plan.changes.iter().any(|c| c.path == "/etc/passwd")
                })
            }),
            ssh_port: plan.summary.ssh_port,
            ssh_port_changed: plan.summary.ssh_port_changed,
            address: plan.summary.address.clone(),
            files: plan.changes.iter().map(|c| c.path.clone()).collect(),
            firewall: plan.summary.firewall.clone(),
        },
        watchdog: None,
    };
    let jbytes = serde_json::to_vec_pretty(&j).expect("journal serializes");
    let jp = staging.join("journal.json");
    fsops::write_atomic(&jp, &jbytes, &fsops::Meta::new_file(0o600)).at(&jp)?;
    fsops::fsync_dir(&staging).at(&staging)?;
    std::fs::rename(&staging, &paths.pending).at(&paths.pending)?;
    fsops::fsync_dir(&paths.state).at(&paths.state)?;
    crash_point("journaled");
    progress(
        opts,
        &mut steps,
        format!("backed up {} path(s)", touched.len()),
    );

    // From here on, any error rolls back.
    let result = (|| -> Result<()> {
        let bin = watchdog::install_binary(root)?;
        watchdog::write_safeguard(sys)?;
        crash_point("safeguard");
        progress(opts, &mut steps, "boot safeguard written".into());
        let w = watchdog::spawn(root, &bin, &id)?;
        j.watchdog = Some(w.clone());
        journal::save(root, &j)?;
        crash_point("watchdog");
        progress(opts, &mut steps, format!("rollback timer started ({w})"));

        for (i, c) in plan.changes.iter().enumerate() {
            let host = root.host(&c.path);
            match &c.after {
                Some(bytes) => {
                    let meta = if host.exists() {
                        fsops::meta_of(&host).at(&host)?
                    } else {
                        fsops::create_parents(&host).at(&host)?;
                        fsops::Meta::new_file(c.mode)
                    };
                    fsops::write_atomic(&host, bytes, &meta).at(&host)?;
                    if let Some(s) = j.snapshots.iter_mut().find(|s| s.path == c.path) {
                        s.written = Some(fsops::sha256(bytes));
                    }
                }
                None => fsops::remove_any(&host).at(&host)?,
            }
            crash_point(&format!("write:{i}"));
            progress(opts, &mut steps, format!("wrote {}", c.path));
        }
        journal::save(root, &j)?;
        for (i, a) in plan.actions.iter().enumerate() {
            for cmd in a.commands(root) {
                let shown = a.describe(root).join(" && ");
                progress(opts, &mut steps, format!("running {shown}"));
                crate::exec::run_ok(&cmd.argv, cmd.stdin.as_ref())?;
            }
            crash_point(&format!("action:{i}"));
        }
        if root.is_live()
            && plan.summary.ssh_port_changed
            && let Some(port) = plan.summary.ssh_port
        {
            progress(
                opts,
                &mut steps,
                format!("waiting for an SSH banner on port {port}"),
            );
            wait_for_banner(port, Duration::from_secs(15))?;
            progress(opts, &mut steps, format!("sshd answers on port {port}"));
        }
        j.state = TxState::Armed;
        j.deadline = journal::now() + timeout.as_secs();
        journal::save(root, &j)?;
        crash_point("armed");
        Ok(())
    })();

    match result {
        Ok(()) => {
            progress(
                opts,
                &mut steps,
                format!(
                    "applied; rolling back in {} unless confirmed",
                    humantime::format_duration(timeout)
                ),
            );
            Ok(ApplyReport {
                txid: id,
                deadline: j.deadline,
                summary: j.summary.clone(),
                steps,
                recovered,
                nothing_to_do: false,
            })
        }
        Err(e) => {
            drop(_lock);
            let rb = rollback(root, &format!("apply failed: {e}"), true, Some(&id));
            Err(Error::Journal(match rb {
                Ok(r) => format!("{e}\neverything was rolled back: {}", r.headline()),
                Err(e2) => format!("{e}\nand the rollback failed too: {e2}"),
            }))
        }
    }
}

/// Does something answer with an SSH banner on `port` (localhost)?
pub fn wait_for_banner(port: u16, within: Duration) -> Result<()> {
    let start = Instant::now();
    let mut last = String::new();
    while start.elapsed() < within {
        for addr in [
            SocketAddr::from(([127, 0, 0, 1], port)),
            SocketAddr::from((std::net::Ipv6Addr::LOCALHOST, port)),
        ] {
            match TcpStream::connect_timeout(&addr, Duration::from_secs(2)) {
                Ok(mut s) => {
                    let _ = s.set_read_timeout(Some(Duration::from_secs(3)));
                    let mut buf = [0u8; 64];
                    match s.read(&mut buf) {
                        Ok(n) if buf[..n].starts_with(b"SSH-") => return Ok(()),
                        Ok(n) => {
                            last = format!(
                                "port {port} answered without an SSH banner: {:?}",
                                String::from_utf8_lossy(&buf[..n])
                            )
                        }
                        Err(e) => last = e.to_string(),
                    }
                }
                Err(e) => last = e.to_string(),
            }
        }
        std::thread::sleep(Duration::from_millis(300));
    }
    Err(Error::Command {
        command: format!("SSH banner check on port {port}"),
        message: format!("no SSH banner within {}s ({last})", within.as_secs()),
    })
}

/// Restore the pending transaction. `run_undo` false skips the undo commands (the boot
/// safeguard runs before the services start). `only` limits it to one transaction id.
pub fn rollback(
    root: &Root,
    reason: &str,
    run_undo: bool,
    only: Option<&str>,
) -> Result<RollbackReport> {
    let _lock = journal::lock(root)?;
    let Some(j) = journal::load(root)? else {
        return Err(Error::Journal(
            "nothing to roll back: no change is pending".into(),
        ));
    };
    if let Some(t) = only
        && t != j.txid
    {
        return Err(Error::Journal(format!(
            "the pending change is {}, not {t}",
            j.txid
        )));
    }
    let paths = journal::Paths::of(root);
    let files = paths.pending.join("files");
    let mut rep = RollbackReport {
        txid: j.txid.clone(),
        reason: reason.to_string(),
        ..Default::default()
    };
    let conflict_dir = paths.pending.join("conflicts");
    for s in j.snapshots.iter().rev() {
        let host = root.host_nofollow(&s.path);
        match &s.before {
            Before::Absent => {
                if std::fs::symlink_metadata(&host).is_ok() {
                    fsops::remove_any(&host).at(&host)?;
                    rep.removed.push(s.path.clone());
                }
            }
            Before::Dir => {}
            Before::Symlink { target } => {
                let cur = std::fs::read_link(&host)
                    .ok()
                    .map(|t| t.display().to_string());
                if cur.as_deref() != Some(target.as_str()) {
                    fsops::remove_any(&host).at(&host)?;
                    // `systemctl disable` removes a `.wants` directory it emptied.
                    fsops::create_parents(&host).at(&host)?;
                    std::os::unix::fs::symlink(target, &host).at(&host)?;
                    rep.restored.push(s.path.clone());
                }
            }
            Before::File { backup, meta } => {
                let bytes = std::fs::read(files.join(backup)).at(files.join(backup))?;
                let real = root.host(&s.path);
                let cur = std::fs::read(&real).ok();
                let cur_meta = fsops::meta_of(&real).ok();
                if cur.as_deref() == Some(&bytes[..]) && cur_meta.as_ref() == Some(meta) {
                    continue;
                }
                if let (Some(c), Some(w)) = (&cur, &s.written)
                    && &fsops::sha256(c) != w
                {
                    let _ = std::fs::create_dir_all(&conflict_dir);
                    let _ = std::fs::write(conflict_dir.join(backup), c);
                    rep.conflicts.push(s.path.clone());
                }
                if cur.is_none() {
                    fsops::create_parents(&real).at(&real)?;
                }
                fsops::write_atomic(&real, &bytes, meta).at(&real)?;
                rep.restored.push(s.path.clone());
            }
        }
    }
    if run_undo && j.live {
        for cmd in &j.undo {
            if let Err(e) = crate::exec::run_ok(cmd, None) {
                rep.undo_errors.push(e.to_string());
            }
        }
    }
    journal::archive(root, &j, "rolled-back")?;
    Ok(rep)
}

#[derive(Debug, Clone)]
pub struct ConfirmReport {
    pub txid: String,
    pub summary: TxSummary,
    pub steps: Vec<String>,
}

/// Is there an established connection to `port` on this host (a login on the new port)?
fn login_on_port(port: u16) -> bool {
    for f in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let Ok(t) = std::fs::read_to_string(f) else {
            continue;
        };
        for line in t.lines().skip(1) {
            let v: Vec<&str> = line.split_whitespace().collect();
            if v.len() > 3
                && v[3] == "01"
                && v[1]
                    .rsplit(':')
                    .next()
                    .and_then(|p| u16::from_str_radix(p, 16).ok())
                    == Some(port)
            {
                return true;
            }
        }
    }
    false
}

/// Confirm the pending change. On the live system the confirmation must come from a login
/// on the new port (SSH_CONNECTION says so, or such a connection is open) unless `here`.
pub fn confirm(root: &Root, env: &crate::system::Env, here: bool) -> Result<ConfirmReport> {
    let lock = journal::lock(root)?;
    let Some(j) = journal::load(root)? else {
        return Err(Error::Journal(
            "nothing to confirm: no change is pending".into(),
        ));
    };
    if j.state == TxState::Applying {
        if journal::alive(j.pid, j.pid_start) {
            return Err(Error::Journal(
                "apply is still running; wait for it to finish".into(),
            ));
        }
        drop(lock);
        let r = rollback(root, "the apply was interrupted", true, None)?;
        return Err(Error::Journal(format!(
            "the apply was interrupted, so there was nothing complete to confirm: {}",
            r.headline()
        )));
    }
    if j.live
        && !here
        && j.summary.ssh_port_changed
        && let Some(port) = j.summary.ssh_port
    {
        let conn = crate::system::net::admin_connection(
            env.ssh_connection.as_deref(),
            env.ssh_client.as_deref(),
        );
        let ok = match conn.and_then(|c| c.server_port) {
            Some(p) => p == port,
            None => login_on_port(port),
        };
        if !ok {
            let who = j
                .summary
                .login_user
                .clone()
                .unwrap_or_else(|| "USER".into());
            return Err(Error::Journal(format!(
                "confirm from a new login on port {port}, so the new way in is proven:\n  \
                 ssh -p {port} {who}@{}\n  then: pbx-harden confirm\n\
                 (At the console, `pbx-harden confirm --here` confirms without it.)",
                j.summary.address
            )));
        }
    }
    let mut steps = Vec::new();
    for step in &j.confirm {
        match step {
            ConfirmStep::SetShellVar { path, key, value } => {
                let host = root.host(path);
                let bytes = std::fs::read(&host).at(&host)?;
                let mut f = crate::config::shellvars::ShellVars::parse(&bytes);
                if f.set(key, value) {
                    let meta = fsops::meta_of(&host).at(&host)?;
                    fsops::write_atomic(&host, &f.to_bytes(), &meta).at(&host)?;
                }
                steps.push(format!("{path}: {key}=\"{value}\""));
            }
            ConfirmStep::Run { argv } => {
                if j.live {
                    crate::exec::run_ok(argv, None)?;
                    steps.push(argv.join(" "));
                }
            }
        }
    }
    // The boot safeguard goes first: once it is gone, nothing can roll back any more.
    for p in [
        watchdog::UNIT_LINK,
        watchdog::UNIT_PATH,
        watchdog::CRON_PATH,
    ] {
        let was_absent = j
            .snapshots
            .iter()
            .any(|s| s.path == p && s.before == Before::Absent);
        if was_absent {
            let h = root.host_nofollow(p);
            fsops::remove_any(&h).at(&h)?;
        }
    }
    if let Some(u) = &j.summary.created_user {
        state::add_managed_user(root, u)?;
    }
    journal::archive(root, &j, "confirmed")?;
    steps.push("boot safeguard removed; the change is final".into());
    Ok(ConfirmReport {
        txid: j.txid.clone(),
        summary: j.summary.clone(),
        steps,
    })
}

/// What `status` reports.
#[derive(Debug, Clone)]
pub enum Status {
    Nothing,
    Pending {
        journal: Box<Journal>,
        seconds_left: i64,
        interrupted: bool,
    },
}

pub fn status(root: &Root) -> Result<Status> {
    match journal::load(root)? {
        None => Ok(Status::Nothing),
        Some(j) => {
            let interrupted = j.state == TxState::Applying && !journal::alive(j.pid, j.pid_start);
            Ok(Status::Pending {
                seconds_left: j.deadline as i64 - journal::now() as i64,
                interrupted,
                journal: Box::new(j),
            })
        }
    }
}
