//! The journal of a pending change, under `/var/lib/pbx-harden/` of the target:
//!
//! ```text
//! lock                     flock(2) held by apply, confirm and rollback
//! watchdog.lock            flock(2) held by the watchdog that retries a rollback
//! pending/journal.json     what was changed and how to undo it (with a sha256 checksum)
//! pending/journal.prev.json  the journal before its last rewrite
//! pending/journal.first.json the journal as committed (never rewritten)
//! pending/files/N          byte copies of every file before the change (0600)
//! pending/files/N.after    account files as apply left them (for entry-by-entry rollback)
//! conflicts/TXID/PATH      versions of files others edited during the window, kept until
//!                          the admin removes them (never rotated away)
//! history/TXID-STATE/      finished transactions (kept for reference, last 10)
//! state.json               users created by pbx-harden (for reconfiguration)
//! bin/pbx-harden           the binary the watchdog and the boot safeguard run
//! ```
//!
//! `pending/` appears by an atomic rename once every backup is on disk: it either holds a
//! complete record or does not exist. Every rewrite of journal.json is atomic and keeps the
//! previous version; a journal whose checksum or syntax is wrong is replaced by the newest
//! intact copy (the file list and backups never change after the commit, so any copy
//! restores every byte). No secret is stored in journal.json; the backups of
//! /etc/shadow are as readable as /etc/shadow itself (root only).

use std::fs::{self, File, OpenOptions};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::fsops::{self, Meta};
use crate::error::{Error, IoContext, Result};
use crate::root::Root;

pub use crate::host::state::STATE_DIR;
pub const JOURNAL_VERSION: u32 = 1;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TxState {
    /// Files are being changed; `pid` is the apply process.
    Applying,
    /// Everything is applied; waiting for confirm until `deadline`.
    Armed,
    /// A rollback ran but could not restore everything (`rollback` says what and why);
    /// the watchdog and the boot safeguard retry it until it completes.
    RollbackIncomplete,
}

/// Something a rollback could not do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failure {
    /// The target path (or the command) concerned.
    pub path: String,
    pub error: String,
    /// What the admin can do about it.
    pub hint: String,
}

/// Progress of a rollback that has not completed yet.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RollbackState {
    pub reason: String,
    pub attempts: u32,
    pub first_attempt: u64,
    pub last_attempt: u64,
    pub failures: Vec<Failure>,
    /// The undo commands have run (they run once, after the files are back).
    #[serde(default)]
    pub undo_done: bool,
    /// Conflict copies kept so far (under conflicts/TXID/).
    #[serde(default)]
    pub conflicts: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Before {
    /// The path did not exist: rollback removes whatever is there.
    Absent,
    File {
        backup: String,
        meta: Meta,
    },
    Symlink {
        target: String,
    },
    /// A directory that existed: left alone.
    Dir,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    pub path: String,
    pub before: Before,
    /// sha256 of what apply wrote, to notice edits made after apply.
    #[serde(default)]
    pub written: Option<String>,
    /// Account files: name of the copy (in files/) of the file as apply left it, so that
    /// rollback can tell entries apply made from entries others made afterwards.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<String>,
}

/// Work done by `confirm` (a type of the plan's model).
pub use crate::model::ConfirmStep;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TxSummary {
    pub login_user: Option<String>,
    pub created_user: Option<String>,
    pub ssh_port: Option<u16>,
    pub ssh_port_changed: bool,
    pub address: String,
    /// Files the change writes (for `status`).
    pub files: Vec<String>,
    /// One line per firewall fact worth showing in `status`.
    #[serde(default)]
    pub firewall: Vec<String>,
    /// The login user becomes root with sudo (sudo is installed and sudoers grants it to the
    /// user or one of their groups); otherwise with `su -`.
    #[serde(default)]
    pub sudo: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Journal {
    pub version: u32,
    pub txid: String,
    pub state: TxState,
    pub pid: u32,
    /// Start time of `pid` (clock ticks since boot), so a recycled pid is not taken for it.
    pub pid_start: u64,
    pub started: u64,
    pub deadline: u64,
    pub timeout_secs: u64,
    /// True when the target was the live system (commands and restarts ran).
    pub live: bool,
    pub snapshots: Vec<Snapshot>,
    /// Commands run after the files are restored, in order.
    pub undo: Vec<Vec<String>>,
    #[serde(default)]
    pub confirm: Vec<ConfirmStep>,
    pub summary: TxSummary,
    #[serde(default)]
    pub watchdog: Option<String>,
    /// apply's process group (it leads it): what is left of it is killed before a restore.
    #[serde(default)]
    pub pgid: Option<i32>,
    /// Set once a rollback has run and not completed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollback: Option<RollbackState>,
    /// sha256 of the journal serialized without this field.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checksum: Option<String>,
}

impl Journal {
    fn digest(&self) -> std::result::Result<String, String> {
        let mut c = self.clone();
        c.checksum = None;
        let bytes = serde_json::to_vec_pretty(&c).map_err(|e| e.to_string())?;
        Ok(fsops::sha256(&bytes))
    }

    /// The journal as written to disk, with its checksum.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        let fail = |e: String| Error::invalid(format!("the journal of {}: {e}", self.txid));
        let mut c = self.clone();
        c.checksum = Some(self.digest().map_err(fail)?);
        serde_json::to_vec_pretty(&c).map_err(|e| fail(e.to_string()))
    }

    fn from_bytes(b: &[u8]) -> std::result::Result<Journal, String> {
        let j: Journal = serde_json::from_slice(b).map_err(|e| e.to_string())?;
        match &j.checksum {
            Some(c) if *c != j.digest()? => Err("its checksum does not match".into()),
            _ => Ok(j),
        }
    }
}

pub use crate::host::state::now;

pub struct Paths {
    pub state: PathBuf,
    pub pending: PathBuf,
    pub history: PathBuf,
    pub lock: PathBuf,
}

impl Paths {
    pub fn of(root: &Root) -> Paths {
        let state = root.host(STATE_DIR);
        Paths {
            pending: state.join("pending"),
            history: state.join("history"),
            lock: state.join("lock"),
            state,
        }
    }

    pub fn journal(&self) -> PathBuf {
        self.pending.join("journal.json")
    }

    /// The journal and its copies, newest first.
    pub fn journal_copies(&self) -> [PathBuf; 3] {
        [
            self.journal(),
            self.pending.join("journal.prev.json"),
            self.pending.join("journal.first.json"),
        ]
    }

    /// Where the versions others made during the window of `txid` are kept.
    pub fn conflicts(&self, txid: &str) -> PathBuf {
        self.state.join("conflicts").join(txid)
    }
}

/// Create the state directory (0700) and its parents.
pub fn ensure_state_dir(root: &Root) -> Result<Paths> {
    let p = Paths::of(root);
    if let Some(parent) = p.state.parent() {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o755)
            .create(parent)
            .at(parent)?;
    }
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&p.state)
        .at(&p.state)?;
    Ok(p)
}

/// An exclusive lock on the state directory, held until dropped.
pub struct Lock {
    _f: nix::fcntl::Flock<File>,
}

pub fn lock(root: &Root) -> Result<Lock> {
    let p = ensure_state_dir(root)?;
    let f = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .mode(0o600)
        .open(&p.lock)
        .at(&p.lock)?;
    let f = nix::fcntl::Flock::lock(f, nix::fcntl::FlockArg::LockExclusive)
        .map_err(|(_, e)| Error::io(&p.lock, std::io::Error::from(e)))?;
    Ok(Lock { _f: f })
}

/// The pending journal, if any (from an intact copy when journal.json is damaged).
pub fn load(root: &Root) -> Result<Option<Journal>> {
    Ok(load_noting_damage(root)?.map(|(j, _)| j))
}

/// The pending journal and, when journal.json itself was damaged, what was wrong with it
/// and which copy was used instead.
pub fn load_noting_damage(root: &Root) -> Result<Option<(Journal, Option<String>)>> {
    let p = Paths::of(root);
    if !p.pending.exists() {
        return Ok(None);
    }
    let mut damage = Vec::new();
    for c in p.journal_copies() {
        let name = c
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        match fs::read(&c) {
            Ok(b) => match Journal::from_bytes(&b) {
                Ok(j) => {
                    let note = (!damage.is_empty())
                        .then(|| format!("{}; using {name}", damage.join("; ")));
                    return Ok(Some((j, note)));
                }
                Err(e) => damage.push(format!("{name} is damaged ({e})")),
            },
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                damage.push(format!("{name} is missing"))
            }
            Err(e) => return Err(Error::io(c, e)),
        }
    }
    let backups = fs::read_dir(p.pending.join("files"))
        .map(|mut d| d.next().is_some())
        .unwrap_or(false);
    if damage.iter().all(|d| d.ends_with("is missing")) && !backups {
        // A `pending/` without any journal or backup holds nothing to restore.
        return Ok(None);
    }
    Err(Error::Journal(format!(
        "{}: the journal of the pending change is damaged and so are its copies ({}). \
         The byte copies of the files before the change are in {}; restore them by hand, \
         then move the directory away: mv {} {}.damaged",
        p.pending.display(),
        damage.join("; "),
        p.pending.join("files").display(),
        p.pending.display(),
        p.pending.display()
    )))
}

/// Rewrite the pending journal atomically, keeping the previous version.
pub fn save(root: &Root, j: &Journal) -> Result<()> {
    let paths = Paths::of(root);
    let p = paths.journal();
    let prev = paths.pending.join("journal.prev.json");
    // Only an intact journal becomes the previous copy.
    if fs::read(&p)
        .ok()
        .is_some_and(|b| Journal::from_bytes(&b).is_ok())
    {
        let tmp = paths.pending.join(".journal.prev.json.tmp");
        let _ = fs::remove_file(&tmp);
        if fs::hard_link(&p, &tmp).is_ok() {
            fs::rename(&tmp, &prev).at(&prev)?;
        }
    }
    fsops::write_atomic(&p, &j.to_bytes()?, &Meta::new_file(0o600)).at(&p)
}

/// Conflict copies kept from earlier rollbacks (relative to the state directory), until
/// the admin removes them.
pub fn kept_conflicts(root: &Root) -> Vec<PathBuf> {
    let dir = Paths::of(root).state.join("conflicts");
    let mut out = Vec::new();
    fn walk(d: &std::path::Path, out: &mut Vec<PathBuf>) {
        let Ok(rd) = fs::read_dir(d) else { return };
        let mut es: Vec<_> = rd.flatten().map(|e| e.path()).collect();
        es.sort();
        for e in es {
            if e.is_dir() && !e.is_symlink() {
                walk(&e, out);
            } else {
                out.push(e);
            }
        }
    }
    walk(&dir, &mut out);
    out
}

/// Move the pending journal to history as `TXID-outcome`; keep the last 10.
pub fn archive(root: &Root, j: &Journal, outcome: &str) -> Result<()> {
    let p = Paths::of(root);
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&p.history)
        .at(&p.history)?;
    let dest = p.history.join(format!("{}-{outcome}", j.txid));
    let _ = fsops::remove_any(&dest);
    fs::rename(&p.pending, &dest).at(&p.pending)?;
    fsops::fsync_dir(&p.state).at(&p.state)?;
    let mut entries: Vec<PathBuf> = fs::read_dir(&p.history)
        .at(&p.history)?
        .flatten()
        .map(|e| e.path())
        .collect();
    entries.sort();
    while entries.len() > 10 {
        let old = entries.remove(0);
        let _ = fsops::remove_any(&old);
    }
    Ok(())
}

/// Process start time in clock ticks (field 22 of /proc/PID/stat), when the process exists.
pub fn process_start(pid: u32) -> Option<u64> {
    let s = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = &s[s.rfind(')')? + 2..];
    after.split_whitespace().nth(19)?.parse().ok()
}

/// Is `pid` a running process (not a zombie waiting to be reaped)?
pub fn running(pid: u32) -> bool {
    fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            s.rfind(')')
                .map(|i| s[i + 1..].trim_start().starts_with(['Z', 'X']))
        })
        .is_some_and(|zombie| !zombie)
}

/// Is the process that wrote `pid`/`start` still running?
pub fn alive(pid: u32, start: u64) -> bool {
    process_start(pid).is_some_and(|s| s == start)
}
