//! The audit's findings and the collector the steps' audit rules add to (each step's
//! `audit.rs`); `crate::audit` runs the rules in order and makes the report.

use serde::Serialize;

use crate::config::shellvars::ShellVars;
use crate::host::Host;
use crate::root::Root;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    High,
    Medium,
    Low,
}

impl Severity {
    pub fn label(self) -> &'static str {
        match self {
            Severity::High => "HIGH",
            Severity::Medium => "MEDIUM",
            Severity::Low => "LOW",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// Stable identifier of the check (`ssh.root_login`, `secret.weak`, ...).
    pub id: String,
    pub severity: Severity,
    /// What it is about when a check finds several (`SIP friend 100`, `portmap`).
    pub subject: Option<String>,
    pub title: String,
    /// Target path and 1-based line, when the problem sits in a file.
    pub file: Option<String>,
    pub line: Option<usize>,
    /// Why it matters.
    pub why: String,
    /// The answers key that fixes it, when pbx-harden can.
    pub answers_key: Option<String>,
    /// What to do.
    pub fix: String,
    /// Rule codes of a weak secret (`same_as_name`, `all_digits`, `too_short`,
    /// `common_password`, `dictionary_word`, `low_score`); empty otherwise.
    pub reasons: Vec<String>,
}

/// Findings as the rules add them, and what could not be checked.
pub struct Audit<'a> {
    pub sys: &'a Host,
    pub findings: Vec<Finding>,
    pub not_checked: Vec<String>,
}

impl<'a> Audit<'a> {
    pub fn new(sys: &'a Host) -> Audit<'a> {
        Audit {
            sys,
            findings: Vec::new(),
            not_checked: Vec::new(),
        }
    }

    #[allow(clippy::too_many_arguments)]
    pub fn add(
        &mut self,
        id: &str,
        severity: Severity,
        subject: Option<String>,
        title: String,
        at: Option<(String, Option<usize>)>,
        why: &str,
        answers_key: Option<&str>,
        fix: String,
    ) {
        let (file, line) = match at {
            Some((f, l)) => (Some(f), l),
            None => (None, None),
        };
        self.findings.push(Finding {
            id: id.into(),
            severity,
            subject,
            title,
            file,
            line,
            why: why.into(),
            answers_key: answers_key.map(str::to_string),
            fix,
            reasons: Vec::new(),
        });
    }

    pub fn root(&self) -> &Root {
        &self.sys.root
    }
}

/// A shell-variable file (conf.apf, conf.bfd) under the root, when it is there.
pub fn read_vars(root: &Root, path: &str) -> Option<ShellVars> {
    root.read(path).ok().flatten().map(|b| ShellVars::parse(&b))
}

/// The 1-based line of the last assignment of `key`.
pub fn var_line(v: &ShellVars, key: &str) -> Option<usize> {
    v.vars
        .iter()
        .rev()
        .find(|x| x.key == key)
        .map(|x| x.line + 1)
}
