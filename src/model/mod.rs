//! What a plan is, as data: the file changes, the commands (`actions`), the lockout checks,
//! the summary and the work left for `confirm`, and the `Builder` every step planner adds to.
//!
//! This sits below the steps (services, user, ssh, extensions, firewall, brute-force) and
//! above the facts (`system`); `plan::build`, above the steps, runs them in order.

pub mod actions;
pub mod audit;

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::host::Host;
use crate::problems::{Level, Problem};
use crate::root::Root;
use crate::secrets::Secret;
pub use actions::{Action, SshService};

/// What the SSH step hands to the steps after it (the firewall opens these ports): the SSH
/// port after the plan (None: sshd's configuration was not read or not asked about) and
/// whether it moves.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SshOutcome {
    pub port: Option<u16>,
    pub moved: bool,
}

/// Work done by `confirm` (e.g. APF's DEVEL_MODE back to 0, then a restart); the journal
/// keeps it until then.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum ConfirmStep {
    SetShellVar {
        path: String,
        key: String,
        value: String,
    },
    /// Take `item` out of the list in `key` (APF's IG_TCP_CPORTS: the old SSH port, kept
    /// open until confirm), editing the file in place: whatever else the list holds by then,
    /// including entries added during the window, stays.
    RemoveFromShellList {
        path: String,
        key: String,
        item: String,
    },
    Run {
        argv: Vec<String>,
    },
}

/// One file the plan writes (or creates, or removes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileChange {
    /// Target path.
    pub path: String,
    /// None: the file does not exist yet.
    pub before: Option<Vec<u8>>,
    /// None: the file is removed.
    pub after: Option<Vec<u8>>,
    /// Mode for a created file (an existing file keeps its own).
    pub mode: u32,
    /// Why, for the review.
    pub why: Vec<String>,
    /// Strings masked in every display of this change (secrets written into the file).
    pub masked: Vec<Secret>,
}

impl FileChange {
    pub fn is_noop(&self) -> bool {
        self.before == self.after
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckStatus {
    Pass(String),
    /// Not a lockout, but worth fixing.
    Warn(String),
    Fail(String),
    /// Could not be run here (says why); never counted as a pass.
    Skipped(String),
}

/// A lockout invariant, checked before apply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    pub name: String,
    pub status: CheckStatus,
}

impl Check {
    pub fn failed(&self) -> bool {
        matches!(self.status, CheckStatus::Fail(_))
    }
}

/// What the admin needs to know to confirm.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    pub login_user: Option<String>,
    /// The SSH port after apply (also when unchanged).
    pub ssh_port: Option<u16>,
    pub ssh_port_changed: bool,
    pub confirm_timeout: Duration,
    /// A generated passphrase, shown once after apply.
    pub generated_password: Option<Secret>,
    /// Where the admin reaches the box.
    pub address: String,
    /// One line per firewall fact, for `status` (ports opened, hosts trusted, DEVEL_MODE).
    pub firewall: Vec<String>,
    /// The firewall managers in charge of the target, first first, each with its evidence.
    pub firewall_managers: Vec<String>,
}

/// A judgement by a real tool (`sshd -t/-T`, `nft -c`, `firewall-offline-cmd`,
/// `fail2ban-client -t`, ufw), planned by a step and run by the verify pass
/// (`crate::verify`), never while planning: the plan is drafted from facts and answers
/// alone, then verified. It adds its checks where the step asked for it, so the plan's
/// checks read in the steps' order.
pub trait Verification: std::fmt::Debug + Send + Sync {
    fn run(&self, b: &mut Builder<'_>);
}

/// A verification made of a name (for `Debug`) and the closure that runs it; the closure
/// owns what it judges (the files as the plan writes them), so it needs no builder state
/// but the host's (`b.sys`) and the plan's summary.
pub struct Verify<F>(pub &'static str, pub F);

impl<F> std::fmt::Debug for Verify<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "verify: {}", self.0)
    }
}

impl<F: Fn(&mut Builder<'_>) + Send + Sync> Verification for Verify<F> {
    fn run(&self, b: &mut Builder<'_>) {
        (self.1)(b)
    }
}

/// A verification not yet run, and the index in `checks` where its checks go.
pub type PendingVerification = (usize, std::sync::Arc<dyn Verification>);

#[derive(Debug, Clone)]
pub struct Plan {
    pub root: Root,
    pub changes: Vec<FileChange>,
    pub actions: Vec<Action>,
    /// Done by `confirm` (e.g. APF's DEVEL_MODE back to 0, then a restart).
    pub on_confirm: Vec<ConfirmStep>,
    pub checks: Vec<Check>,
    pub problems: Vec<Problem>,
    pub summary: Summary,
    /// The real tools' checks still to run (`crate::verify::run`); empty once verified.
    pub unverified: Vec<PendingVerification>,
}

impl Plan {
    /// True when apply may run: no error and no failed lockout check.
    pub fn is_valid(&self) -> bool {
        !self.problems.iter().any(Problem::is_error) && !self.checks.iter().any(Check::failed)
    }

    /// True when applying would change nothing.
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty() && self.actions.iter().all(|a| !a.changes_state())
    }

    /// Errors and failed checks, as problems (what `plan` and `apply` refuse with).
    pub fn refusals(&self) -> Vec<Problem> {
        let mut out: Vec<Problem> = self
            .problems
            .iter()
            .filter(|p| p.is_error())
            .cloned()
            .collect();
        for c in &self.checks {
            if let CheckStatus::Fail(m) = &c.status {
                out.push(Problem::error("lockout check", format!("{}: {m}", c.name)));
            }
        }
        out
    }

    /// Every target path apply may modify: file changes, what commands touch, confirm edits.
    pub fn touched_paths(&self, sys: &Host) -> Vec<String> {
        let mut out: Vec<String> = self.changes.iter().map(|c| c.path.clone()).collect();
        for a in &self.actions {
            out.extend(a.touches(sys));
        }
        for c in &self.on_confirm {
            if let ConfirmStep::SetShellVar { path, .. }
            | ConfirmStep::RemoveFromShellList { path, .. } = c
            {
                out.push(path.clone());
            }
        }
        let mut seen = std::collections::BTreeSet::new();
        out.retain(|p| seen.insert(p.clone()));
        out
    }
}

/// Accumulates a plan; parts of the plan (user, ssh, firewall…) add to it in order.
pub struct Builder<'a> {
    pub sys: &'a Host,
    files: BTreeMap<String, FileChange>,
    order: Vec<String>,
    pub actions: Vec<Action>,
    pub checks: Vec<Check>,
    pub problems: Vec<Problem>,
    pub summary: Summary,
    /// Work for `confirm` (APF's DEVEL_MODE back to 0, ...).
    pub on_confirm: Vec<ConfirmStep>,
    unverified: Vec<PendingVerification>,
}

impl<'a> Builder<'a> {
    pub fn new(sys: &'a Host) -> Builder<'a> {
        Builder {
            sys,
            files: BTreeMap::new(),
            order: Vec::new(),
            actions: Vec::new(),
            checks: Vec::new(),
            problems: Vec::new(),
            summary: Summary::default(),
            on_confirm: Vec::new(),
            unverified: Vec::new(),
        }
    }

    /// Ask the verify pass to run a real tool here: its checks go where this is called.
    pub fn verify<F>(&mut self, what: &'static str, run: F)
    where
        F: Fn(&mut Builder<'_>) + Send + Sync + 'static,
    {
        self.unverified
            .push((self.checks.len(), std::sync::Arc::new(Verify(what, run))));
    }

    pub fn error(&mut self, key: &str, msg: impl Into<String>) {
        self.problems.push(Problem::error(key, msg));
    }

    pub fn warn(&mut self, key: &str, msg: impl Into<String>) {
        self.problems.push(Problem::warning(key, msg));
    }

    pub fn check(&mut self, name: impl Into<String>, status: CheckStatus) {
        self.checks.push(Check {
            name: name.into(),
            status,
        });
    }

    pub fn has_errors_for(&self, key_prefix: &str) -> bool {
        self.problems
            .iter()
            .any(|p| p.level == Level::Error && p.key.starts_with(key_prefix))
    }

    /// Current content of a target file as the plan so far leaves it.
    pub fn current(&self, path: &str) -> crate::error::Result<Option<Vec<u8>>> {
        match self.files.get(path) {
            Some(c) => Ok(c.after.clone()),
            None => self.sys.root.read(path),
        }
    }

    /// Record the new content of a file (merging with earlier edits of the same file).
    pub fn write(&mut self, path: &str, after: Option<Vec<u8>>, mode: u32, why: &str) {
        let before = match self.files.get(path) {
            Some(c) => c.before.clone(),
            None => self.sys.root.read(path).ok().flatten(),
        };
        let entry = self
            .files
            .entry(path.to_string())
            .or_insert_with(|| FileChange {
                path: path.to_string(),
                before,
                after: None,
                mode,
                why: Vec::new(),
                masked: Vec::new(),
            });
        entry.after = after;
        if !entry.why.iter().any(|w| w == why) {
            entry.why.push(why.to_string());
        }
        if !self.order.iter().any(|p| p == path) {
            self.order.push(path.to_string());
        }
    }

    pub fn mask(&mut self, path: &str, secret: Secret) {
        if let Some(c) = self.files.get_mut(path) {
            c.masked.push(secret);
        }
    }

    pub fn finish(mut self) -> Plan {
        let changes = self
            .order
            .iter()
            .filter_map(|p| self.files.remove(p))
            .filter(|c| !c.is_noop())
            .collect();
        Plan {
            root: self.sys.root.clone(),
            changes,
            actions: self.actions,
            on_confirm: self.on_confirm,
            checks: self.checks,
            problems: self.problems,
            summary: self.summary,
            unverified: self.unverified,
        }
    }
}
