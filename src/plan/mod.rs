//! Answers + system facts -> a validated plan: file edits, commands and lockout checks.
//!
//! The plan is data. `plan` prints it, `apply` executes exactly it, the wizard's review
//! screen shows it. Every rule lives here (or in the helpers it calls), once.

pub mod actions;
pub mod keys;
pub mod ssh;
pub mod ssh_baseline;
pub mod sshd_check;
pub mod user;

use std::collections::BTreeMap;
use std::time::Duration;

use rand::Rng;

use crate::answers::{self, Answers};
pub use crate::apply::journal::ConfirmStep;
use crate::problems::{Level, Problem};
use crate::root::Root;
use crate::secrets::Secret;
use crate::system::System;
pub use actions::{Action, SshService};

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
    pub fn touched_paths(&self, sys: &System) -> Vec<String> {
        let mut out: Vec<String> = self.changes.iter().map(|c| c.path.clone()).collect();
        for a in &self.actions {
            out.extend(a.touches(sys));
        }
        for c in &self.on_confirm {
            if let ConfirmStep::SetShellVar { path, .. } = c {
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
    pub sys: &'a System,
    files: BTreeMap<String, FileChange>,
    order: Vec<String>,
    pub actions: Vec<Action>,
    pub checks: Vec<Check>,
    pub problems: Vec<Problem>,
    pub summary: Summary,
    /// Work for `confirm` (APF's DEVEL_MODE back to 0, ...).
    pub on_confirm: Vec<ConfirmStep>,
}

impl<'a> Builder<'a> {
    pub fn new(sys: &'a System) -> Builder<'a> {
        Builder {
            sys,
            files: BTreeMap::new(),
            order: Vec::new(),
            actions: Vec::new(),
            checks: Vec::new(),
            problems: Vec::new(),
            summary: Summary::default(),
            on_confirm: Vec::new(),
        }
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
        }
    }
}

/// Build the plan for `answers` on `sys`. Never fails: problems are in the plan.
pub fn build<R: Rng + ?Sized>(sys: &System, answers: &Answers, rng: &mut R) -> Plan {
    let mut b = Builder::new(sys);
    b.summary.address = sys.address_for_admin();
    b.summary.firewall_managers = sys
        .firewall
        .managers
        .iter()
        .map(|m| m.to_string())
        .collect();
    b.summary.confirm_timeout = answers::DEFAULT_CONFIRM_TIMEOUT;
    if let Some(t) = &answers.apply.confirm_timeout {
        match answers::parse_timeout(t) {
            Ok(d) if d.as_secs() == 0 => b.error(
                "apply.confirm_timeout",
                "0 would roll back at once; give the time you need to log in again, e.g. \"5m\"",
            ),
            Ok(d) if d > Duration::from_secs(24 * 3600) => b.error(
                "apply.confirm_timeout",
                "more than 24 hours; a lockout would last that long",
            ),
            Ok(d) => {
                if d < Duration::from_secs(60) {
                    b.warn(
                        "apply.confirm_timeout",
                        format!(
                            "{} is short: a new login on a slow link may not make it in time",
                            humantime::format_duration(d)
                        ),
                    );
                }
                b.summary.confirm_timeout = d;
            }
            Err(e) => b.error("apply.confirm_timeout", e),
        }
    }
    crate::services::plan(&mut b, answers);
    user::plan(&mut b, answers, rng);
    ssh::plan(&mut b, answers);
    crate::extensions::plan(&mut b, answers, rng);
    crate::extensions::doors::plan(&mut b, answers, rng);
    crate::firewall::plan(&mut b, answers);
    b.finish()
}

/// A unified diff of one change, secrets masked, with host paths in the headers.
pub fn diff(change: &FileChange, root: &Root) -> String {
    diff_labeled(change, &root.display(&change.path))
}

/// A unified diff of one change, secrets masked, headed by `shown`. Binary-safe (lossy text).
///
/// The diff is computed on the real text (a rotated secret shows as a changed line), then
/// every `-`, `+` and context line is masked by key (`crate::redact::LineMasker`: secret
/// keys, shadow password fields, secret CSV columns), by crypt-hash shape and by the known
/// secrets of the change: linear in the size of the diff.
pub fn diff_labeled(change: &FileChange, shown: &str) -> String {
    let text = |b: &Option<Vec<u8>>| -> String {
        b.as_ref()
            .map(|b| String::from_utf8_lossy(b).into_owned())
            .unwrap_or_default()
    };
    let old = text(&change.before);
    let new = text(&change.after);
    let shown = shown.to_string();
    let (a, b) = match (&change.before, &change.after) {
        (None, _) => ("/dev/null".to_string(), shown),
        (_, None) => (shown, "/dev/null".to_string()),
        _ => (shown.clone(), shown),
    };
    let first = |t: &str| t.split(['\n', '\r']).next().unwrap_or("").to_string();
    let masker_old = crate::redact::LineMasker::new(&change.path, &first(&old));
    let masker_new = crate::redact::LineMasker::new(&change.path, &first(&new));
    let known: Vec<&str> = change.masked.iter().map(|m| m.expose()).collect();
    let known = crate::redact::ValueMasker::new(&known);
    let d = similar::TextDiff::from_lines(&old, &new);
    let raw = d
        .unified_diff()
        .context_radius(3)
        .header(&a, &b)
        .to_string();
    let mut out = String::with_capacity(raw.len());
    for (i, line) in raw.split_inclusive('\n').enumerate() {
        let (body, end) = match line.strip_suffix('\n') {
            Some(b) => (b, "\n"),
            None => (line, ""),
        };
        if i < 2 || body.starts_with("@@") || body.starts_with('\\') || body.is_empty() {
            out.push_str(body);
        } else {
            let (tag, rest) = body.split_at(1);
            let m = if tag == "-" { &masker_old } else { &masker_new };
            let masked = known.mask(&crate::redact::scrub_hashes(&m.mask(rest)));
            out.push_str(tag);
            out.push_str(&masked);
        }
        out.push_str(end);
    }
    if !out.ends_with('\n') {
        out.push('\n');
    }
    out
}

/// The plan as text, for `pbx-harden plan` and the review screen.
pub fn render(plan: &Plan, sys: &System) -> String {
    let mut o = String::new();
    let target = if plan.root.is_live() {
        "this system (/)".to_string()
    } else {
        plan.root.dir().display().to_string()
    };
    o.push_str(&format!(
        "pbx-harden plan for {target} ({})\n",
        sys.os.pretty
    ));
    let managers = &plan.summary.firewall_managers;
    if managers.is_empty() {
        o.push_str(
            "Firewall managers: none active (firewall.backend = \"nftables\" sets one up)\n",
        );
    } else {
        o.push_str("Firewall managers, in charge first:\n");
        for m in managers {
            o.push_str(&format!("  {m}\n"));
        }
    }
    let errors: Vec<&Problem> = plan.problems.iter().filter(|p| p.is_error()).collect();
    let warnings: Vec<&Problem> = plan.problems.iter().filter(|p| !p.is_error()).collect();
    if !errors.is_empty() {
        o.push_str("\nProblems (the plan is refused until they are fixed):\n");
        for p in errors {
            o.push_str(&format!("  {p}\n"));
        }
    }
    if !warnings.is_empty() {
        o.push_str("\nWarnings:\n");
        for p in warnings {
            o.push_str(&format!("  {p}\n"));
        }
    }
    if plan.is_empty() && plan.is_valid() {
        o.push_str("\nNo changes: the system already matches the answers.\n");
    }
    if !plan.changes.is_empty() {
        o.push_str("\nFiles:\n");
        for c in &plan.changes {
            o.push_str(&format!(
                "# {} ({})\n",
                plan.root.display(&c.path),
                c.why.join("; ")
            ));
            o.push_str(&diff(c, &plan.root));
        }
    }
    if !plan.actions.is_empty() {
        o.push_str("\nCommands, in order:\n");
        for a in &plan.actions {
            for line in a.describe(&plan.root) {
                o.push_str(&format!("  {line}\n"));
            }
        }
    }
    if !plan.root.is_live() {
        o.push_str("\nServices are not restarted: --root is not /.\n");
    }
    if !plan.on_confirm.is_empty() {
        o.push_str("\nOn confirm:\n");
        for c in &plan.on_confirm {
            match c {
                ConfirmStep::SetShellVar { path, key, value } => {
                    o.push_str(&format!("  set {key}=\"{value}\" in {path}\n"))
                }
                ConfirmStep::Run { argv } => o.push_str(&format!(
                    "  {}{}\n",
                    argv.join(" "),
                    if plan.root.is_live() {
                        ""
                    } else {
                        "   (live system only)"
                    }
                )),
            }
        }
    }
    if !plan.checks.is_empty() {
        o.push_str("\nLockout checks:\n");
        for c in &plan.checks {
            let (tag, detail) = match &c.status {
                CheckStatus::Pass(d) => ("ok  ", d),
                CheckStatus::Warn(d) => ("warn", d),
                CheckStatus::Fail(d) => ("FAIL", d),
                CheckStatus::Skipped(d) => ("skip", d),
            };
            if detail.is_empty() {
                o.push_str(&format!("  [{tag}] {}\n", c.name));
            } else {
                o.push_str(&format!("  [{tag}] {}: {detail}\n", c.name));
            }
        }
    }
    if !plan.is_empty() {
        o.push_str(&format!(
            "\nRollback: apply arms a {} timer; everything is reverted unless `pbx-harden confirm`\n\
             runs from a new login{}.\n",
            humantime::format_duration(plan.summary.confirm_timeout),
            match (&plan.summary.login_user, plan.summary.ssh_port) {
                (Some(u), Some(p)) => format!(": ssh -p {p} {u}@{}", plan.summary.address),
                (None, Some(p)) => format!(" on port {p}"),
                _ => String::new(),
            }
        ));
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(path: &str, before: &str, after: &str, masked: &[&str]) -> FileChange {
        FileChange {
            path: path.into(),
            before: Some(before.as_bytes().to_vec()),
            after: Some(after.as_bytes().to_vec()),
            mode: 0o640,
            why: Vec::new(),
            masked: masked.iter().map(|s| Secret::new(*s)).collect(),
        }
    }

    #[test]
    fn diffs_mask_old_new_and_context_secrets_by_key() {
        let before = "[100]\ntype=friend\nsecret=oldweak1\n[200]\nsecret = Strong-Unrelated-77\nhost=dynamic\n";
        let after = "[100]\ntype=friend\nsecret=NewStrong-Secret-9\n[200]\nsecret = Strong-Unrelated-77\nhost=dynamic\n";
        let d = diff_labeled(
            &change("/etc/asterisk/sip.conf", before, after, &[]),
            "sip.conf",
        );
        for s in ["oldweak1", "NewStrong-Secret-9", "Strong-Unrelated-77"] {
            assert!(!d.contains(s), "{d}");
        }
        // The rotated line still shows as changed.
        assert!(
            d.contains("-secret=********") && d.contains("+secret=********"),
            "{d}"
        );
        assert!(d.contains(" secret = ********"), "{d}");
    }

    #[test]
    fn shadow_context_lines_hide_every_hash() {
        let before =
            "root:$6$abcdefgh$ABCDEFGHIJKLMNOPQRSTUV:19000:0:99999:7:::\nbin:*:19000::::::\n";
        let after = format!("{before}bob:$6$saltsalt$HASHHASHHASHHASHHASH:19001:0:99999:7:::\n");
        let d = diff_labeled(&change("/etc/shadow", before, &after, &[]), "shadow");
        assert!(
            !d.contains("ABCDEFGHIJKLMNOP") && !d.contains("HASHHASH"),
            "{d}"
        );
        assert!(d.contains("+bob:********:19001"), "{d}");
        assert!(d.contains(" bin:*:19000"), "{d}");
    }

    #[test]
    fn known_values_are_masked_on_any_line() {
        let d = diff_labeled(
            &change(
                "/root/notes.txt",
                "a\n",
                "a\nthe value is Zq-99-unique here\n",
                &["Zq-99-unique"],
            ),
            "notes",
        );
        assert!(!d.contains("Zq-99-unique"), "{d}");
    }
}
