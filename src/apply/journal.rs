//! The journal of a pending change, under `/var/lib/pbx-harden/` of the target:
//!
//! ```text
//! lock                     flock(2) held by apply, confirm and rollback
//! pending/journal.json     what was changed and how to undo it
//! pending/files/N          byte copies of every file before the change (0600)
//! history/TXID-STATE/      finished transactions (kept for reference, last 10)
//! state.json               users created by pbx-harden (for reconfiguration)
//! bin/pbx-harden           the binary the watchdog and the boot safeguard run
//! ```
//!
//! `pending/` appears by an atomic rename once every backup is on disk: it either holds a
//! complete record or does not exist. No secret is stored in journal.json; the backups of
//! /etc/shadow are as readable as /etc/shadow itself (root only).

use std::fs::{self, File, OpenOptions};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::fsops::{self, Meta};
use crate::error::{Error, IoContext, Result};
use crate::root::Root;

pub const STATE_DIR: &str = "/var/lib/pbx-harden";
pub const JOURNAL_VERSION: u32 = 1;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TxState {
    /// Files are being changed; `pid` is the apply process.
    Applying,
    /// Everything is applied; waiting for confirm until `deadline`.
    Armed,
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
}

/// Work done by `confirm` (e.g. APF's DEVEL_MODE back to 0, then a restart).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum ConfirmStep {
    SetShellVar {
        path: String,
        key: String,
        value: String,
    },
    Run {
        argv: Vec<String>,
    },
}

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
}

pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

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

/// The pending journal, if any.
pub fn load(root: &Root) -> Result<Option<Journal>> {
    let p = Paths::of(root).journal();
    match fs::read(&p) {
        Ok(b) => serde_json::from_slice(&b)
            .map(Some)
            .map_err(|e| Error::Journal(format!("{}: damaged journal: {e}", p.display()))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io(p, e)),
    }
}

/// Rewrite the pending journal atomically.
pub fn save(root: &Root, j: &Journal) -> Result<()> {
    let p = Paths::of(root).journal();
    let bytes = serde_json::to_vec_pretty(j).expect("journal serializes");
    fsops::write_atomic(&p, &bytes, &Meta::new_file(0o600)).at(&p)
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

/// Is the process that wrote `pid`/`start` still running?
pub fn alive(pid: u32, start: u64) -> bool {
    process_start(pid).is_some_and(|s| s == start)
}
