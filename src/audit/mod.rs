//! The read-only audit: one finding per problem, each with a severity, the file and line,
//! why it matters (from the seed) and the answers key that fixes it.
//!
//! It works on the facts `System::detect` gathered, plus a few small reads (manager.conf,
//! conf.apf, conf.bfd, fail2ban's jail files, the pending journal) and, on the live system,
//! where SSH really listens (`systemctl show ssh.socket`, `sshd -T`). It never writes: no
//! lock is taken, no state directory is created. The JSON form is stable (see
//! `FORMAT`/`VERSION` and the README); new fields may be added, none renamed or removed
//! within a version.

use serde::Serialize;

pub use crate::model::audit::{Audit, Finding, Severity};
use crate::steps;
use crate::system::System;

pub const FORMAT: &str = "pbx-harden-audit";
pub const VERSION: u32 = 1;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub total: usize,
    pub high: usize,
    pub medium: usize,
    pub low: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    pub format: &'static str,
    pub version: u32,
    /// The audited root (`/` for this system).
    pub root: String,
    pub os: String,
    pub pbx: Option<String>,
    pub summary: Counts,
    pub findings: Vec<Finding>,
    /// What could not be checked, and why.
    pub not_checked: Vec<String>,
}

impl Report {
    pub fn is_clean(&self) -> bool {
        self.findings.is_empty()
    }

    pub fn to_json(&self) -> crate::Result<String> {
        let mut s = serde_json::to_string_pretty(self)
            .map_err(|e| crate::Error::invalid(format!("the audit report: {e}")))?;
        s.push('\n');
        Ok(s)
    }

    pub fn to_text(&self) -> String {
        let mut o = format!(
            "pbx-harden audit of {} ({}{})\n",
            self.root,
            self.os,
            self.pbx
                .as_ref()
                .map(|p| format!(", {p}"))
                .unwrap_or_default()
        );
        for f in &self.findings {
            o.push('\n');
            let at = match (&f.file, f.line) {
                (Some(file), Some(l)) => format!("  {file}:{l}"),
                (Some(file), None) => format!("  {file}"),
                _ => String::new(),
            };
            o.push_str(&format!("{:<7} {}{at}\n", f.severity.label(), f.id));
            o.push_str(&format!("        {}\n", f.title));
            o.push_str(&format!("        why: {}\n", f.why));
            o.push_str(&format!("        fix: {}\n", f.fix));
        }
        for n in &self.not_checked {
            o.push_str(&format!("\nnot checked: {n}\n"));
        }
        let c = &self.summary;
        if c.total == 0 {
            o.push_str("\nNo findings.\n");
        } else {
            o.push_str(&format!(
                "\n{} finding{}: {} high, {} medium, {} low.\n",
                c.total,
                if c.total == 1 { "" } else { "s" },
                c.high,
                c.medium,
                c.low
            ));
        }
        o
    }
}

const WHY_PENDING: &str = "an unconfirmed change rolls itself back at its deadline; until then \
     the box runs a configuration nobody has proven";

/// Run every check. Reads only.
/// Only the findings `[asterisk]` fixes (the manager interface, SIP guests, PJSIP's anonymous
/// endpoint): a few small files, cheap enough for the wizard to ask on a key press.
pub fn asterisk_doors(sys: &System) -> Vec<Finding> {
    let mut a = Audit::new(sys);
    steps::asterisk::audit::ami(&mut a);
    steps::asterisk::audit::sip_guests(&mut a);
    a.findings
}

pub fn audit(sys: &System) -> Report {
    let mut a = Audit::new(sys);
    let inventory = sys.services.force();
    // The steps' rules, in the procedure's order (the report keeps it).
    pending(&mut a);
    steps::ssh::audit::rules(&mut a);
    steps::firewall::audit::rules(&mut a, inventory);
    steps::bruteforce::audit::rules(&mut a, inventory);
    steps::asterisk::audit::ami(&mut a);
    steps::asterisk::audit::sip_guests(&mut a);
    steps::asterisk::audit::secrets(&mut a, sys.extensions.force());
    steps::services::audit::rules(&mut a, inventory);
    let mut c = Counts::default();
    for f in &a.findings {
        c.total += 1;
        match f.severity {
            Severity::High => c.high += 1,
            Severity::Medium => c.medium += 1,
            Severity::Low => c.low += 1,
        }
    }
    Report {
        format: FORMAT,
        version: VERSION,
        root: sys.root.dir().display().to_string(),
        os: sys.os.pretty.clone(),
        pbx: sys.pbx.distro.clone(),
        summary: c,
        findings: a.findings,
        not_checked: a.not_checked,
    }
}

fn pending(a: &mut Audit<'_>) {
    let path = format!("{}/pending/journal.json", crate::apply::journal::STATE_DIR);
    match crate::apply::journal::load(a.root()) {
        Ok(None) => {}
        Ok(Some(j)) => {
            let left = j.deadline as i64 - crate::apply::journal::now() as i64;
            a.add(
                "change.pending",
                Severity::High,
                Some(j.txid.clone()),
                if left > 0 {
                    format!(
                        "Change {} is waiting for confirmation; it rolls back in {} s",
                        j.txid, left
                    )
                } else {
                    format!(
                        "Change {} was never confirmed and is overdue for rollback",
                        j.txid
                    )
                },
                Some((path, None)),
                WHY_PENDING,
                None,
                "log in again the new way and run `pbx-harden confirm`, or `pbx-harden rollback`"
                    .into(),
            );
        }
        Err(e) => a.add(
            "change.pending",
            Severity::High,
            None,
            format!("A pending change cannot be read: {e}"),
            Some((path, None)),
            WHY_PENDING,
            None,
            "`pbx-harden rollback` restores the backed-up files".into(),
        ),
    }
}
