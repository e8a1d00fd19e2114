//! Apply a plan as one transaction, and confirm or roll it back.
//!
//! apply: lock -> back up every path the plan touches -> journal (commit point) -> binary
//! copy + boot safeguard -> watchdog -> file writes -> commands -> SSH banner check -> armed.
//! A failure at any step rolls back at once; a crash at any step is rolled back by the
//! watchdog (within a second), by the boot safeguard, or by the next pbx-harden run.
//!
//! Rollback never stops at the first failure. It first kills what is left of a dead apply's
//! process group, removes stale temp files, then restores in an order that keeps a way in:
//! every other file (sshd, firewall, ...) first; the account files (entry by entry: entries
//! others added or changed during the window are kept) and home directories only when
//! every sshd/firewall file is back; the undo commands then; the boot safeguard last.
//! Whatever it could not restore is recorded (state `rollback_incomplete`, with the reason
//! and a hint) and retried with backoff by the watchdog, and at boot, until it completes.
//! A file someone else edited during the window is restored and their version kept under
//! conflicts/TXID/ until the admin removes it.

pub mod fsops;
pub mod journal;
pub mod state;
pub mod watchdog;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use journal::{Before, ConfirmStep, Failure, Journal, RollbackState, Snapshot, TxState, TxSummary};

use crate::error::{Error, IoContext, Result};
use crate::host::Host;
use crate::model::{Action, Plan};
use crate::root::Root;

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
    v.push("accounts".into());
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

#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct RollbackReport {
    pub txid: String,
    pub reason: String,
    /// When it was rolled back (seconds since the epoch).
    #[serde(default)]
    pub at: u64,
    /// Undo commands that ran (services started again, restarts), or were queued at boot.
    #[serde(default)]
    pub undone: Vec<String>,
    pub restored: Vec<String>,
    pub removed: Vec<String>,
    /// Changes others made during the window, one line each: files restored with the other
    /// version kept (and where), account entries kept.
    pub conflicts: Vec<String>,
    pub undo_errors: Vec<String>,
    /// What could not be restored (yet): the rollback is incomplete when not empty.
    pub failed: Vec<Failure>,
    /// True when everything is back and the change is archived.
    pub complete: bool,
    /// Processes of the dead apply that were killed first.
    pub killed: usize,
    /// Set when journal.json was damaged and a copy was used.
    pub journal_damage: Option<String>,
}

impl RollbackReport {
    pub fn headline(&self) -> String {
        let what = if self.complete {
            "rolled back"
        } else {
            "rollback INCOMPLETE for"
        };
        format!(
            "{what} {} ({}): {} file(s) restored, {} removed{}{}",
            self.txid,
            self.reason,
            self.restored.len(),
            self.removed.len(),
            if self.undo_errors.is_empty() {
                String::new()
            } else {
                format!("; {} undo command(s) failed", self.undo_errors.len())
            },
            if self.failed.is_empty() {
                String::new()
            } else {
                format!("; {} item(s) could not be restored yet", self.failed.len())
            }
        )
    }

    /// Every line worth showing: the headline, then what was kept and what failed.
    pub fn details(&self) -> Vec<String> {
        let mut v = Vec::new();
        if let Some(d) = &self.journal_damage {
            v.push(format!("note: the journal was damaged: {d}"));
        }
        if self.killed > 0 {
            v.push(format!(
                "killed {} leftover process(es) of the interrupted apply first",
                self.killed
            ));
        }
        for c in &self.conflicts {
            v.push(format!("note: {c}"));
        }
        for e in &self.undo_errors {
            v.push(format!("undo failed: {e}"));
        }
        for f in &self.failed {
            v.push(format!("NOT RESTORED: {}: {}", f.path, f.error));
            v.push(format!("  what to do: {}", f.hint));
        }
        v
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
        // A FIFO or device where a file is expected: never opened (reading could block or
        // never end).
        Ok(md) if !md.is_file() => {
            return Err(Error::invalid(format!(
                "{}: not a regular file (a FIFO, socket or device); refused",
                root.display(path)
            )));
        }
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
            // Synced with the journal, all at once, before the commit.
            fsops::start_writeback(&f);
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
        after: None,
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
    if j.state == TxState::RollbackIncomplete {
        return rollback(root, "retrying an incomplete rollback", true, None).map(Some);
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
pub fn apply(sys: &Host, plan: &Plan, opts: &ApplyOptions) -> Result<ApplyReport> {
    let root = &sys.root;
    if !plan.is_valid() {
        return Err(Error::Refused(plan.refusals()));
    }
    if root.is_live() && sys.env.euid != 0 {
        return Err(Error::invalid("apply on this system needs root"));
    }
    let mut steps = Vec::new();
    // Every command below runs in our process group, which rollback can kill as a whole.
    let pgid = crate::exec::own_process_group();
    let lock = journal::lock(root)?;
    let recovered = match journal::load(root)? {
        Some(j)
            if (j.state == TxState::Applying && !journal::alive(j.pid, j.pid_start))
                || j.state == TxState::RollbackIncomplete =>
        {
            drop(lock);
            let why = if j.state == TxState::RollbackIncomplete {
                "retrying an incomplete rollback"
            } else {
                "an earlier apply was interrupted"
            };
            let r = rollback(root, why, true, None)?;
            progress(opts, &mut steps, format!("recovered: {}", r.headline()));
            if !r.complete {
                return Err(Error::Journal(format!(
                    "{}
{}
Nothing new is applied until that rollback completes.",
                    r.headline(),
                    r.details().join("\n")
                )));
            }
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
    // The lock and temp files of shadow-utils (useradd, chpasswd) next to an account
    // file: a killed command leaves them behind, and a stale lock blocks the next useradd.
    let extra: Vec<String> = touched
        .iter()
        .filter(|p| SHADOW_UTILS_FILES.contains(&p.as_str()))
        .flat_map(|p| [format!("{p}.lock"), format!("{p}+")])
        .collect();
    touched.extend(extra);
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
    // The real file behind each written path (a file written through a link's path).
    let reals: Vec<Option<String>> = plan
        .changes
        .iter()
        .map(|c| root.resolve_final(&c.path).ok().map(|r| r.real))
        .collect();
    let mut snapshots = Vec::new();
    for (n, p) in touched.iter().enumerate() {
        // Temp files an earlier, killed run left behind.
        fsops::remove_stale_temps(&root.host_nofollow(p));
        let mut s = snapshot(root, p, &files_dir, n)?;
        // What apply writes is known now: recorded before the write, so that after a
        // crash a file holds either its old bytes or exactly these.
        s.written = plan
            .changes
            .iter()
            .zip(&reals)
            .find(|(c, real)| c.path == *p || real.as_deref() == Some(p.as_str()))
            .and_then(|(c, _)| c.after.as_ref())
            .map(|b| fsops::sha256(b));
        snapshots.push(s);
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
            // The port sshd listens on after the change, also when the plan left SSH alone.
            ssh_port: plan.summary.ssh_port.or_else(|| {
                sys.sshd()
                    .ok()
                    .and_then(|c| c.listen_ports().first().copied())
            }),
            ssh_port_changed: plan.summary.ssh_port_changed,
            address: plan.summary.address.clone(),
            files: plan.changes.iter().map(|c| c.path.clone()).collect(),
            firewall: plan.summary.firewall.clone(),
            sudo: plan
                .summary
                .login_user
                .as_deref()
                .is_some_and(|u| sudo_grants(sys, plan, u)),
        },
        watchdog: None,
        pgid,
        rollback: None,
        checksum: None,
    };
    let jbytes = j.to_bytes()?;
    // The staging directory becomes the journal with one rename: the files in it need no
    // rename of their own. Every backup, both journal copies and both directories are
    // synced together, then committed.
    let mut durable: Vec<std::path::PathBuf> = j
        .snapshots
        .iter()
        .filter_map(|s| match &s.before {
            Before::File { backup, .. } => Some(files_dir.join(backup)),
            _ => None,
        })
        .collect();
    for name in ["journal.first.json", "journal.json"] {
        use std::os::unix::fs::OpenOptionsExt;
        let jp = staging.join(name);
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&jp)
            .and_then(|mut f| f.write_all(&jbytes))
            .at(&jp)?;
        durable.push(jp);
    }
    durable.push(files_dir.clone());
    durable.push(staging.clone());
    let durable: Vec<&std::path::Path> = durable.iter().map(|p| p.as_path()).collect();
    fsops::sync_paths(&durable).map_err(|(p, e)| Error::io(p, e))?;
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

        // Every new version is written next to its file and synced (all together) before
        // the first is renamed into place; the directories are synced together after the
        // last. Each file holds its old bytes or exactly its new ones, whenever it stops.
        let mut staged = Vec::new();
        for c in &plan.changes {
            let host = root.host(&c.path);
            staged.push(match &c.after {
                Some(bytes) => {
                    let meta = if host.exists() {
                        fsops::meta_of(&host).at(&host)?
                    } else {
                        fsops::create_parents(&host).at(&host)?;
                        fsops::Meta::new_file(c.mode)
                    };
                    Some(fsops::stage(&host, bytes, &meta).at(&host)?)
                }
                None => None,
            });
        }
        let pairs: Vec<_> = staged
            .iter()
            .flatten()
            .map(fsops::Staged::for_sync)
            .collect();
        fsops::sync_many(&pairs).map_err(|(p, e)| Error::io(p, e))?;
        drop(pairs);
        let mut dirs = Vec::new();
        for (i, (c, st)) in plan.changes.iter().zip(staged).enumerate() {
            let host = root.host(&c.path);
            match st {
                Some(st) => st.commit().at(&host)?,
                None => fsops::remove_any(&host).at(&host)?,
            }
            if let Some(d) = host.parent() {
                dirs.push(d.to_path_buf());
            }
            crash_point(&format!("write:{i}"));
            progress(opts, &mut steps, format!("wrote {}", c.path));
        }
        dirs.sort();
        dirs.dedup();
        let dirs: Vec<&std::path::Path> = dirs.iter().map(|d| d.as_path()).collect();
        fsops::sync_paths(&dirs).map_err(|(p, e)| Error::io(p, e))?;
        for (i, a) in plan.actions.iter().enumerate() {
            for (cmd, shown) in a.shown_commands(root) {
                progress(opts, &mut steps, format!("running {shown}"));
                // A rename or removal of an rc.d link, as the review shows it, is done here
                // rather than by a process of its own (15 `mv`s on the demo).
                match fsops::builtin(&cmd.argv) {
                    Some(()) => {}
                    None => {
                        crate::exec::run_ok(&cmd.argv, cmd.stdin.as_ref())?;
                    }
                }
            }
            crash_point(&format!("action:{i}"));
        }
        // The account files as apply left them: rollback undoes only these entries. The
        // copies are new files that only the journal saved next names: written, synced
        // together with their directory, then named in the journal.
        let files = paths.pending.join("files");
        let mut copies = Vec::new();
        for (n, s) in j.snapshots.iter_mut().enumerate() {
            if !ACCOUNT_FILES.contains(&s.path.as_str()) {
                continue;
            }
            let host = root.host(&s.path);
            if let Ok(bytes) = std::fs::read(&host) {
                use std::os::unix::fs::OpenOptionsExt;
                let name = format!("{n}.after");
                let p = files.join(&name);
                std::fs::OpenOptions::new()
                    .write(true)
                    .create(true)
                    .truncate(true)
                    .mode(0o600)
                    .open(&p)
                    .and_then(|mut f| f.write_all(&bytes))
                    .at(&p)?;
                copies.push(p);
                s.after = Some(name);
            }
        }
        if !copies.is_empty() {
            copies.push(files);
            let copies: Vec<&std::path::Path> = copies.iter().map(|p| p.as_path()).collect();
            fsops::sync_paths(&copies).map_err(|(p, e)| Error::io(p, e))?;
        }
        journal::save(root, &j)?;
        crash_point("accounts");
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
                Ok(r) if r.complete => {
                    format!("{e}\neverything was rolled back: {}", r.headline())
                }
                Ok(r) => {
                    watchdog::ensure_retry(root, &id);
                    format!(
                        "{e}\n{}\n{}\nThe watchdog retries the rollback until it completes; \
                         `pbx-harden status` shows what is left.",
                        r.headline(),
                        r.details().join("\n")
                    )
                }
                Err(e2) => format!("{e}\nand the rollback failed too: {e2}"),
            }))
        }
    }
}

/// Will `user` be able to use sudo after `plan`: sudo is installed and sudoers (with
/// sudoers.d) has an uncommented rule for the user or one of their groups (after the plan)?
pub fn sudo_grants(sys: &Host, plan: &Plan, user: &str) -> bool {
    let root = &sys.root;
    if !["/usr/bin/sudo", "/bin/sudo", "/usr/local/bin/sudo"]
        .iter()
        .any(|p| root.exists(p))
    {
        return false;
    }
    let mut groups = sys.users.groups_of(user);
    for a in &plan.actions {
        if let Action::CreateUser {
            name, groups: g, ..
        }
        | Action::AddToGroups { name, groups: g } = a
            && name == user
        {
            groups.extend(g.iter().cloned());
        }
    }
    let mut text = root
        .read_text("/etc/sudoers")
        .ok()
        .flatten()
        .unwrap_or_default();
    for f in root.list_dir("/etc/sudoers.d").unwrap_or_default() {
        if !f.contains('.') && !f.ends_with('~') {
            text.push('\n');
            text.push_str(
                &root
                    .read_text(&format!("/etc/sudoers.d/{f}"))
                    .ok()
                    .flatten()
                    .unwrap_or_default(),
            );
        }
    }
    text.lines().any(|l| {
        let first = l.split_whitespace().next().unwrap_or("");
        !l.trim_start().starts_with('#')
            && (first == user
                || first
                    .strip_prefix('%')
                    .is_some_and(|g| groups.iter().any(|x| x == g)))
    })
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

/// The account files rolled back entry by entry.
pub const ACCOUNT_FILES: [&str; 4] = ["/etc/passwd", "/etc/shadow", "/etc/group", "/etc/gshadow"];

/// Files shadow-utils locks with `FILE.lock` (via `FILE.PID`) and replaces via `FILE+`.
pub use crate::model::actions::SHADOW_UTILS_FILES;

/// Remove the `FILE.PID` link files a killed shadow-utils command left (they hold the
/// pid, which is no longer running).
fn remove_stale_shadow_locks(root: &Root) {
    for f in SHADOW_UTILS_FILES {
        let host = root.host(f);
        let (Some(dir), Some(name)) = (host.parent(), host.file_name()) else {
            continue;
        };
        let prefix = format!("{}.", name.to_string_lossy());
        let Ok(rd) = std::fs::read_dir(dir) else {
            continue;
        };
        for e in rd.flatten() {
            let n = e.file_name().to_string_lossy().into_owned();
            let Some(pid) = n.strip_prefix(&prefix).and_then(|p| p.parse::<u32>().ok()) else {
                continue;
            };
            // shadow-utils writes the pid with a trailing NUL.
            let content = std::fs::read_to_string(e.path()).unwrap_or_default();
            let content = content.trim_matches(|c: char| c.is_whitespace() || c == '\0');
            let holds_pid = content.is_empty() || content == pid.to_string();
            if holds_pid && !journal::running(pid) {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }
}

/// Paths restored in the account phase: after every file that decides who may log in.
fn is_account_path(p: &str) -> bool {
    // FILE, its backup FILE-, shadow-utils' FILE+ and FILE.lock.
    let base = p
        .strip_suffix('-')
        .or_else(|| p.strip_suffix('+'))
        .or_else(|| p.strip_suffix(".lock"))
        .unwrap_or(p);
    SHADOW_UTILS_FILES.contains(&p)
        || SHADOW_UTILS_FILES.contains(&base)
        || matches!(
            p,
            "/etc/.pwd.lock" | "/var/log/lastlog" | "/var/log/faillog"
        )
        || p.starts_with("/home/")
        || p.starts_with("/var/mail/")
        || p.starts_with("/var/spool/mail/")
}

/// Files that decide whether the admin gets in (sshd, firewall, PAM, sudo): while one of
/// them is not restored, no account is removed and no undo command runs.
fn keeps_a_way_in(p: &str) -> bool {
    [
        "/etc/ssh/",
        "/etc/apf/",
        "/usr/local/bfd/",
        "/etc/fail2ban/",
        "/etc/sysconfig/",
        "/etc/nftables",
        "/etc/iptables",
        "/etc/csf/",
        "/etc/hosts.allow",
        "/etc/hosts.deny",
        "/etc/pam.d/",
        "/etc/security/",
        "/etc/sudoers",
        "/etc/selinux/",
        "/etc/systemd/system/ssh",
        "process group",
    ]
    .iter()
    .any(|x| p.starts_with(x))
}

/// The boot safeguard and the directories created for it: removed last, and only by a
/// rollback that completed.
fn is_safeguard_path(p: &str) -> bool {
    let name = p.rsplit('/').next().unwrap_or(p);
    // systemd's unit, the cron entry of earlier versions, and on SysV the init script, its
    // S00 links and the inittab line that runs it
    [
        watchdog::UNIT_PATH,
        watchdog::UNIT_LINK,
        watchdog::CRON_PATH,
    ]
    .iter()
    .any(|g| *g == p || g.starts_with(&format!("{p}/")))
        || p == watchdog::INITTAB
        || name == watchdog::SYSV_NAME
        || name == format!("S00{}", watchdog::SYSV_NAME)
}

/// What the admin can do about a file that could not be restored.
fn hint_for(host: &std::path::Path, e: &std::io::Error) -> String {
    let h = host.display();
    let then = "then run `pbx-harden rollback` (the watchdog also retries by itself)";
    match e.raw_os_error() {
        Some(nix::libc::EPERM) | Some(nix::libc::EACCES) => format!(
            "the file may be immutable or append-only: check with `lsattr {h}`, make it writable \
             with `chattr -i -a {h}`, {then}"
        ),
        Some(nix::libc::EROFS) => {
            format!("the filesystem holding {h} is read-only: `mount -o remount,rw` it, {then}")
        }
        Some(nix::libc::ENOSPC) | Some(nix::libc::EDQUOT) => {
            format!("the disk is full: free some space, {then}")
        }
        Some(nix::libc::EISDIR) | Some(nix::libc::ENOTEMPTY) | Some(nix::libc::ENOTDIR) => {
            format!("{h} (or a parent) is now of another kind: move it away, {then}")
        }
        _ => format!("fix the cause shown, {then}"),
    }
}

fn failure(path: &str, host: &std::path::Path, e: std::io::Error) -> Failure {
    Failure {
        path: path.to_string(),
        hint: hint_for(host, &e),
        error: e.to_string(),
    }
}

/// Key of an account-file line: the name before the first `:` (the whole line otherwise).
fn entry_key(line: &[u8]) -> &[u8] {
    line.split(|b| *b == b':').next().unwrap_or(line)
}

fn entries(b: &[u8]) -> Vec<&[u8]> {
    b.split_inclusive(|c| *c == b'\n').collect()
}

/// Roll an account file back entry by entry: an entry as apply left it goes back to what
/// it was before (or away, if apply added it); an entry others added or changed after apply
/// is kept as it is now. Returns the new content and the names of the entries kept.
pub fn merge_account_file(before: &[u8], after: &[u8], current: &[u8]) -> (Vec<u8>, Vec<String>) {
    use std::collections::{HashMap, HashSet};
    let map = |b: &'_ [u8]| -> HashMap<Vec<u8>, Vec<u8>> {
        let mut m = HashMap::new();
        for l in entries(b) {
            m.entry(entry_key(l.strip_suffix(b"\n").unwrap_or(l)).to_vec())
                .or_insert_with(|| l.to_vec());
        }
        m
    };
    let (b, a) = (map(before), map(after));
    let norm = |l: &[u8]| l.strip_suffix(b"\n").unwrap_or(l).to_vec();
    let mut out = Vec::new();
    let mut kept = Vec::new();
    let mut seen = HashSet::new();
    for l in entries(current) {
        let k = entry_key(l.strip_suffix(b"\n").unwrap_or(l)).to_vec();
        seen.insert(k.clone());
        match a.get(&k) {
            Some(al) if norm(al) == norm(l) => {
                // As apply left it: back to before, or away.
                if let Some(bl) = b.get(&k) {
                    out.extend_from_slice(bl);
                }
            }
            _ => {
                // Added or changed by someone else after apply: theirs.
                if b.get(&k).map(|bl| norm(bl)) != Some(norm(l)) {
                    kept.push(String::from_utf8_lossy(&k).into_owned());
                }
                out.extend_from_slice(l);
                if !l.ends_with(b"\n") {
                    out.push(b'\n');
                }
            }
        }
    }
    // Entries apply removed (it never does) come back; entries others removed stay away.
    for l in entries(before) {
        let k = entry_key(l.strip_suffix(b"\n").unwrap_or(l)).to_vec();
        if !seen.contains(&k) && !a.contains_key(&k) {
            out.extend_from_slice(l);
        }
    }
    if !current.ends_with(b"\n") && !before.ends_with(b"\n") && out.ends_with(b"\n") {
        out.pop();
    }
    (out, kept)
}

/// Keep `bytes` (someone else's version of `path`) under conflicts/TXID/ before it is
/// overwritten. Returns where it is.
fn keep_conflict(root: &Root, txid: &str, path: &str, bytes: &[u8]) -> std::io::Result<String> {
    use std::os::unix::fs::DirBuilderExt;
    let dir = journal::Paths::of(root).conflicts(txid);
    let dest = dir.join(path.trim_start_matches('/'));
    if let Some(parent) = dest.parent() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(parent)?;
    }
    fsops::write_atomic(&dest, bytes, &fsops::Meta::new_file(0o600))?;
    Ok(dest.display().to_string())
}

/// Restore one snapshot; failures go into `rep.failed`.
fn restore_one(root: &Root, j: &Journal, s: &Snapshot, rep: &mut RollbackReport) {
    let files = journal::Paths::of(root).pending.join("files");
    let host = root.host_nofollow(&s.path);
    let r: std::io::Result<()> = (|| {
        match &s.before {
            Before::Absent => {
                if std::fs::symlink_metadata(&host).is_ok() {
                    fsops::remove_any(&host)?;
                    rep.removed.push(s.path.clone());
                }
            }
            Before::Dir => {}
            Before::Symlink { target } => {
                let cur = std::fs::read_link(&host)
                    .ok()
                    .map(|t| t.display().to_string());
                if cur.as_deref() != Some(target.as_str()) {
                    fsops::remove_any(&host)?;
                    // `systemctl disable` removes a `.wants` directory it emptied.
                    fsops::create_parents(&host)?;
                    std::os::unix::fs::symlink(target, &host)?;
                    rep.restored.push(s.path.clone());
                }
            }
            Before::File { backup, meta } => {
                let bp = files.join(backup);
                let mut bytes = std::fs::read(&bp).map_err(|e| {
                    std::io::Error::new(e.kind(), format!("backup {}: {e}", bp.display()))
                })?;
                let real = root.host(&s.path);
                let cur = std::fs::read(&real).ok();
                let cur_meta = fsops::meta_of(&real).ok();
                if cur.as_deref() == Some(&bytes[..]) && cur_meta.as_ref() == Some(meta) {
                    return Ok(());
                }
                let after = s
                    .after
                    .as_ref()
                    .and_then(|a| std::fs::read(files.join(a)).ok());
                match (&cur, &after) {
                    (Some(c), Some(a)) if c == a => {}
                    (Some(c), Some(a)) if ACCOUNT_FILES.contains(&s.path.as_str()) => {
                        let (merged, kept) = merge_account_file(&bytes, a, c);
                        if !kept.is_empty() {
                            rep.conflicts.push(format!(
                                "{}: entries others added or changed after apply were kept: {}",
                                s.path,
                                kept.join(", ")
                            ));
                        }
                        bytes = merged;
                    }
                    (Some(c), _) if s.written.as_ref().is_some_and(|w| *w != fsops::sha256(c)) => {
                        let kept = keep_conflict(root, &j.txid, &s.path, c)?;
                        rep.conflicts.push(format!(
                            "{} was edited after apply: restored; the edited version is kept in {kept}",
                            s.path
                        ));
                    }
                    _ => {}
                }
                if cur.is_none() {
                    fsops::create_parents(&real)?;
                }
                if cur.as_deref() != Some(&bytes[..]) || cur_meta.as_ref() != Some(meta) {
                    fsops::write_atomic(&real, &bytes, meta)?;
                    rep.restored.push(s.path.clone());
                }
            }
        }
        Ok(())
    })();
    if let Err(e) = r {
        rep.failed.push(failure(&s.path, &host, e));
    }
}

/// Restore the pending transaction. `run_undo` false skips the undo commands (the boot
/// safeguard runs before the services start). `only` limits it to one transaction id.
///
/// Never stops at the first failure: the report lists what could not be restored, and
/// then the journal stays, marked `rollback_incomplete`, for the next attempt.
pub fn rollback(
    root: &Root,
    reason: &str,
    run_undo: bool,
    only: Option<&str>,
) -> Result<RollbackReport> {
    let _lock = journal::lock(root)?;
    // Backups of an apply killed before its journal was committed (nothing was changed).
    let _ = fsops::remove_any(&journal::Paths::of(root).state.join("pending.new"));
    let Some((mut j, damage)) = journal::load_noting_damage(root)? else {
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
    let mut rep = RollbackReport {
        txid: j.txid.clone(),
        reason: reason.to_string(),
        journal_damage: damage,
        at: journal::now(),
        ..Default::default()
    };
    let earlier = j.rollback.clone().unwrap_or_default();

    // 0. Nothing of a dead apply may still be running while its files are restored.
    let apply_dead = j.pid != std::process::id() && !journal::alive(j.pid, j.pid_start);
    if apply_dead && let Some(pg) = j.pgid {
        match crate::exec::kill_orphaned_group(pg, Duration::from_secs(10)) {
            Ok(n) => rep.killed = n,
            Err(e) => rep.failed.push(Failure {
                path: format!("process group {pg}"),
                error: e,
                hint: "a process stuck in the kernel (state D) cannot be killed: \
                       look at it with `ps -o pid,stat,cmd -g GROUP`; the rollback is retried"
                    .replace("GROUP", &pg.to_string()),
            }),
        }
    }
    if rep.failed.is_empty() {
        // 1. Temp files of a killed run.
        for s in &j.snapshots {
            fsops::remove_stale_temps(&root.host_nofollow(&s.path));
        }
        // 2. Everything but the accounts and the safeguard, newest first.
        let order: Vec<&Snapshot> = j.snapshots.iter().rev().collect();
        for s in order
            .iter()
            .filter(|s| !is_account_path(&s.path) && !is_safeguard_path(&s.path))
        {
            restore_one(root, &j, s, &mut rep);
        }
        // 3. Accounts only once nothing that decides the way in is left undone.
        let blocked: Vec<String> = rep
            .failed
            .iter()
            .filter(|f| keeps_a_way_in(&f.path))
            .map(|f| f.path.clone())
            .collect();
        let accounts: Vec<&&Snapshot> = order.iter().filter(|s| is_account_path(&s.path)).collect();
        if blocked.is_empty() {
            remove_stale_shadow_locks(root);
            for s in accounts {
                restore_one(root, &j, s, &mut rep);
            }
        } else if !accounts.is_empty() {
            rep.failed.push(Failure {
                path: "accounts".into(),
                error: format!(
                    "the accounts and home directories are left as apply made them while {} \
                     is not restored (removing the login user now could lock you out)",
                    blocked.join(", ")
                ),
                hint: "they are rolled back as soon as that file is restored".into(),
            });
        }
        // 4. Undo commands (restarts with the restored files), once; at boot, before the
        //    services start, only what can be queued without blocking the boot.
        if blocked.is_empty() && j.live && !earlier.undo_done {
            if run_undo {
                for cmd in &j.undo {
                    match crate::exec::run_ok(cmd, None) {
                        Ok(_) => rep.undone.push(cmd.join(" ")),
                        Err(e) => rep.undo_errors.push(e.to_string()),
                    }
                }
            } else {
                boot_undo(&j.undo, &mut rep);
            }
        }
        // 5. The boot safeguard goes only with the last file.
        if rep.failed.is_empty() {
            for s in order.iter().filter(|s| is_safeguard_path(&s.path)) {
                restore_one(root, &j, s, &mut rep);
            }
        }
    }
    // Conflicts kept by earlier attempts stay in the report.
    for c in earlier.conflicts.iter().rev() {
        if !rep.conflicts.contains(c) {
            rep.conflicts.insert(0, c.clone());
        }
    }
    if rep.failed.is_empty() {
        rep.complete = true;
        // The record `status` shows ("rolled back when, why, what came back"); it moves to
        // history with the journal.
        let rec = journal::Paths::of(root).pending.join(RECORD);
        if let Ok(bytes) = serde_json::to_vec_pretty(&rep) {
            let _ = fsops::write_atomic(&rec, &bytes, &fsops::Meta::new_file(0o600));
        }
        journal::archive(root, &j, "rolled-back")?;
    } else {
        let now = journal::now();
        let undo_done =
            earlier.undo_done || (j.live && !rep.failed.iter().any(|f| keeps_a_way_in(&f.path)));
        j.state = TxState::RollbackIncomplete;
        j.rollback = Some(RollbackState {
            reason: if earlier.reason.is_empty() {
                reason.to_string()
            } else {
                earlier.reason.clone()
            },
            attempts: earlier.attempts + 1,
            first_attempt: if earlier.first_attempt == 0 {
                now
            } else {
                earlier.first_attempt
            },
            last_attempt: now,
            failures: rep.failed.clone(),
            undo_done,
            conflicts: rep.conflicts.clone(),
        });
        journal::save(root, &j)?;
    }
    Ok(rep)
}

/// The rollback record in a history entry.
pub const RECORD: &str = "rollback.json";

/// At boot (the safeguard runs before the services start) the undo commands must not wait
/// for units: on systemd the configuration is re-read (the restored unit files and links) and
/// the services that were running are queued with `--no-block`; restarts are left out, the
/// services start by themselves later in the boot.
fn boot_undo(undo: &[Vec<String>], rep: &mut RollbackReport) {
    if !std::path::Path::new("/run/systemd/system").exists() {
        // SysV: the safeguard runs after rcS, before the runlevel's scripts, which follow
        // the restored links by themselves; services that ran from rcS (or were stopped) are
        // started now. Restarts (sshd) are left to the runlevel.
        for cmd in undo {
            if cmd.first().map(String::as_str) == Some("service")
                && cmd.get(2).map(String::as_str) == Some("start")
            {
                match crate::exec::run_ok(cmd, None) {
                    Ok(_) => rep.undone.push(cmd.join(" ")),
                    Err(e) => rep.undo_errors.push(e.to_string()),
                }
            }
        }
        return;
    }
    let is = |cmd: &Vec<String>, verb: &str| {
        cmd.first().map(String::as_str) == Some("systemctl")
            && cmd.get(1).map(String::as_str) == Some(verb)
    };
    let run = |c: Vec<String>, rep: &mut RollbackReport| match crate::exec::run_ok(&c, None) {
        Ok(_) => rep.undone.push(c.join(" ")),
        Err(e) => rep.undo_errors.push(e.to_string()),
    };
    // The unit files and links are restored: systemd loaded the changed ones at boot.
    if undo
        .iter()
        .any(|c| is(c, "daemon-reload") || is(c, "start"))
    {
        run(crate::exec::argv(&["systemctl", "daemon-reload"]), rep);
    }
    for cmd in undo.iter().filter(|c| is(c, "start")) {
        let mut c = crate::exec::argv(&["systemctl", "start", "--no-block"]);
        c.extend(cmd[2..].iter().cloned());
        run(c, rep);
    }
}

/// The newest finished change, when it was rolled back: its record.
pub fn last_rollback(root: &Root) -> Option<RollbackReport> {
    let h = journal::Paths::of(root).history;
    let newest = std::fs::read_dir(&h)
        .ok()?
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let secs: u64 = name.split('-').next()?.parse().ok()?;
            let mtime = e.metadata().ok()?.modified().ok()?;
            Some((secs, mtime, e.path(), name))
        })
        .max()?;
    if !newest.3.ends_with("-rolled-back") {
        return None;
    }
    let bytes = std::fs::read(newest.2.join(RECORD)).ok()?;
    serde_json::from_slice(&bytes).ok()
}

#[derive(Debug, Clone)]
pub struct ConfirmReport {
    pub txid: String,
    pub summary: TxSummary,
    pub steps: Vec<String>,
}

/// Confirm the pending change. On the live system, after an SSH port move, the confirmation
/// must come from the session of a login on the new port, by the user being set up or root
/// (`net::session_login`: the sshd ancestor of this process), unless `here`.
pub fn confirm(root: &Root, _env: &crate::host::Env, here: bool) -> Result<ConfirmReport> {
    let lock = journal::lock(root)?;
    let Some(j) = journal::load(root)? else {
        return Err(Error::Journal(
            "nothing to confirm: no change is pending".into(),
        ));
    };
    if j.state == TxState::RollbackIncomplete {
        return Err(Error::Journal(format!(
            "change {} is being rolled back and the rollback is not complete: there is \
             nothing to confirm; `pbx-harden status` shows what is left",
            j.txid
        )));
    }
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
        // The login this command runs in (through sudo or su: its sshd ancestor), never
        // just any connection on the port (someone else's idle session).
        let login = crate::host::net::session_login();
        let who = j
            .summary
            .login_user
            .clone()
            .unwrap_or_else(|| "USER".into());
        let user_of = |uid: u32| {
            nix::unistd::User::from_uid(nix::unistd::Uid::from_raw(uid))
                .ok()
                .flatten()
                .map(|u| u.name)
        };
        let refusal = match &login {
            None => Some("this session is not an SSH login".to_string()),
            Some(l) if l.port != port => Some(format!("this session came in on port {}", l.port)),
            Some(l) if l.uid != 0 && user_of(l.uid) != j.summary.login_user => Some(format!(
                "this login is {}'s, not {who}'s",
                user_of(l.uid).unwrap_or_else(|| format!("uid {}", l.uid))
            )),
            Some(_) => None,
        };
        if let Some(why) = refusal {
            let become_root = if j.summary.sudo { "sudo " } else { "" };
            return Err(Error::Journal(format!(
                "confirm from a new login on port {port}, so the new way in is proven \
                 ({why}):\n  ssh -p {port} {who}@{}\n  then: {become_root}pbx-harden confirm{}\n\
                 (At the console, `pbx-harden confirm --here` confirms without it.)",
                j.summary.address,
                if j.summary.sudo {
                    ""
                } else {
                    "   (as root: su - first)"
                }
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
            ConfirmStep::RemoveFromShellList { path, key, item } => {
                let host = root.host(path);
                let bytes = std::fs::read(&host).at(&host)?;
                let mut f = crate::config::shellvars::ShellVars::parse(&bytes);
                if f.remove_list_item(key, item) {
                    let meta = fsops::meta_of(&host).at(&host)?;
                    fsops::write_atomic(&host, &f.to_bytes(), &meta).at(&host)?;
                }
                steps.push(format!("{path}: {item} out of {key}"));
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
    for s in &j.snapshots {
        let p = s.path.as_str();
        let ours = [
            watchdog::UNIT_LINK,
            watchdog::UNIT_PATH,
            watchdog::CRON_PATH,
        ]
        .contains(&p)
            || p.rsplit('/')
                .next()
                .is_some_and(|f| f.ends_with(watchdog::SYSV_NAME));
        if ours && s.before == Before::Absent {
            let h = root.host_nofollow(p);
            fsops::remove_any(&h).at(&h)?;
        } else if p == watchdog::INITTAB {
            let h = root.host(p);
            if let Some(new) = std::fs::read(&h)
                .ok()
                .and_then(|b| watchdog::inittab_without_safeguard(&b))
            {
                let meta = fsops::meta_of(&h).at(&h)?;
                fsops::write_atomic(&h, &new, &meta).at(&h)?;
            }
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
        /// journal.json was damaged: what was wrong and which copy is used.
        damage: Option<String>,
    },
}

pub fn status(root: &Root) -> Result<Status> {
    match journal::load_noting_damage(root)? {
        None => Ok(Status::Nothing),
        Some((j, damage)) => {
            let interrupted = j.state == TxState::Applying && !journal::alive(j.pid, j.pid_start);
            Ok(Status::Pending {
                seconds_left: j.deadline as i64 - journal::now() as i64,
                interrupted,
                damage,
                journal: Box::new(j),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{is_account_path, merge_account_file};

    #[test]
    fn account_paths() {
        for p in [
            "/etc/passwd",
            "/etc/shadow-",
            "/etc/gshadow+",
            "/etc/group.lock",
            "/etc/.pwd.lock",
            "/etc/subuid",
            "/home/trixuser",
            "/var/spool/mail/trixuser",
        ] {
            assert!(is_account_path(p), "{p}");
        }
        for p in [
            "/etc/ssh/sshd_config",
            "/etc/passwords.txt",
            "/etc/apf/conf.apf",
        ] {
            assert!(!is_account_path(p), "{p}");
        }
    }

    #[test]
    fn account_files_roll_back_entry_by_entry() {
        let before = b"root:x:0:0::/root:/bin/bash\nwheel:x:10:root\n";
        let after = b"root:x:0:0::/root:/bin/bash\nwheel:x:10:root,trix\ntrix:x:500:500::/home/trix:/bin/bash\n";
        // Unchanged since apply: exactly the old file.
        assert_eq!(merge_account_file(before, after, after).0, before);
        // Someone changed root and added bob: theirs stay, ours go.
        let current = b"root:x:0:0:changed:/root:/bin/bash\nwheel:x:10:root,trix\ntrix:x:500:500::/home/trix:/bin/bash\nbob:x:501:501::/home/bob:/bin/sh\n";
        let (m, kept) = merge_account_file(before, after, current);
        assert_eq!(
            m,
            b"root:x:0:0:changed:/root:/bin/bash\nwheel:x:10:root\nbob:x:501:501::/home/bob:/bin/sh\n"
        );
        assert_eq!(kept, vec!["root", "bob"]);
        // Someone removed an entry apply did not touch: it stays removed.
        let current = b"wheel:x:10:root,trix\ntrix:x:500:500::/home/trix:/bin/bash\n";
        assert_eq!(
            merge_account_file(before, after, current).0,
            b"wheel:x:10:root\n"
        );
    }
}
