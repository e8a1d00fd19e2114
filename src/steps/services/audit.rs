//! The services step's audit rule: services a PBX does not need that are enabled or running.

use super::Inventory;
use crate::model::audit::{Audit, Finding, Severity};

const WHY_SERVICE: &str = "the seed: \"disable any services that are running that could be \
     potential security vulnerabilities\"";

/// Services the PBX does not need that are enabled or running.
pub fn rules(a: &mut Audit<'_>, inv: &Inventory) {
    for n in &inv.notes {
        a.not_checked.push(format!("services: {n}"));
    }
    let mut out = Vec::new();
    for (s, e) in inv.unneeded() {
        let state = match (s.enabled, s.active) {
            (true, Some(true)) => "enabled and running",
            (true, _) => "enabled at boot",
            (false, _) => "running",
        };
        out.push(Finding {
            id: "service.unneeded".into(),
            severity: Severity::Medium,
            subject: Some(s.name.clone()),
            title: format!("{} is {state}: {}", s.name, e.reason),
            file: s.evidence.clone(),
            line: None,
            why: if e.from_seed() {
                format!("{WHY_SERVICE}; the seed turns {} off", s.name)
            } else {
                WHY_SERVICE.to_string()
            },
            answers_key: Some("services.disable".into()),
            fix: format!("[services] disable = [\"{}\"]", s.name),
            reasons: Vec::new(),
        });
    }
    a.findings.extend(out);
}
