//! Answers + system facts -> a validated plan: file edits, commands and lockout checks.
//!
//! The plan is data. `plan` prints it, `apply` executes exactly it, the wizard's review
//! screen shows it. Every rule lives here (or in the helpers it calls), once.

use std::time::Duration;

use rand::Rng;

use crate::answers::{self, Answers};
// The plan's data and its Builder live below the step planners, in `model`; these paths stay.
pub use crate::model::actions::{self, Action, SshService};
pub use crate::model::{
    Builder, Check, CheckStatus, ConfirmStep, FileChange, Plan, SshOutcome, Summary,
};
use crate::problems::Problem;
use crate::root::Root;
use crate::steps;
use crate::system::System;

/// Build the plan for `answers` on `sys` and verify it with the real tools: `draft`, then
/// `crate::verify::run`. Never fails: problems are in the plan.
pub fn build<R: Rng + ?Sized>(sys: &System, answers: &Answers, rng: &mut R) -> Plan {
    let mut plan = draft(sys, answers, rng);
    crate::verify::run(sys, &mut plan);
    plan
}

/// The plan from facts and answers alone, its real-tool checks still pending
/// (`Plan::unverified`): the steps in order, each adding file edits, actions and checks.
pub fn draft<R: Rng + ?Sized>(sys: &System, answers: &Answers, rng: &mut R) -> Plan {
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
    // The steps in the procedure's order, each with its facts and its part of the answers;
    // the SSH step's outcome (the port, moved or not) goes to the firewall step.
    steps::services::plan(&mut b, &sys.services, &answers.for_services());
    steps::user::plan(&mut b, &answers.for_user(), rng);
    let ssh = steps::ssh::plan(&mut b, sys.ssh.force(), &answers.for_ssh());
    let asterisk = answers.for_asterisk();
    steps::asterisk::plan(&mut b, &sys.extensions, &asterisk, rng);
    steps::asterisk::doors::plan(&mut b, &asterisk, rng);
    steps::firewall::plan(&mut b, &sys.firewall, &answers.for_firewall(), &ssh);
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
                ConfirmStep::RemoveFromShellList { path, key, item } => {
                    o.push_str(&format!("  take {item} out of {key} in {path}\n"))
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
    use crate::secrets::Secret;

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
