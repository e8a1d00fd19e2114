//! `[asterisk]`: the manager interface bound to 127.0.0.1 and weak AMI secrets replaced where
//! the admin owns manager.conf; chan_sip guests refused; PJSIP's anonymous endpoint refused.
//! The audit finds each before and none after apply + confirm; only the named lines change.

mod common;

use std::path::Path;

use common::*;

const ANSWERS: &str = "[asterisk]\nami_localhost = true\nsip_guests = false\n";

fn audit_ids(root: &Path) -> Vec<String> {
    let o = pbx(root, &["audit", "--format", "json"], &[]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn the_demo_s_doors_are_closed_and_the_audit_agrees() {
    let t = demo_root();
    let before = audit_ids(t.path());
    for id in ["ami.public", "ami.weak_secret", "sip.guests"] {
        assert!(before.iter().any(|i| i == id), "{id} before: {before:?}");
    }
    let w = tempfile::tempdir().unwrap();
    let a = write_answers(w.path(), ANSWERS);
    let o = pbx(t.path(), &["plan", "--answers", a.to_str().unwrap()], &[]);
    let out = text(&o);
    assert!(o.status.success(), "{out}");
    assert!(out.contains("+bindaddr = 127.0.0.1"), "{out}");
    assert!(
        !out.contains("amp111"),
        "the old AMI secret is never shown:\n{out}"
    );
    let o = pbx(t.path(), &["apply", "--answers", a.to_str().unwrap()], &[]);
    assert!(o.status.success(), "{}", text(&o));
    let o = pbx(t.path(), &["confirm", "--here"], &[]);
    assert!(o.status.success(), "{}", text(&o));
    let after = audit_ids(t.path());
    for id in ["ami.public", "ami.weak_secret", "sip.guests"] {
        assert!(!after.iter().any(|i| i == id), "{id} after: {after:?}");
    }
    // the new AMI secret is in the root-only report, and only there
    let report = std::fs::read_dir(t.path().join("root"))
        .unwrap()
        .flatten()
        .find(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with("pbx-harden-ami-")
        })
        .expect("the AMI report");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        report.metadata().unwrap().permissions().mode() & 0o777,
        0o600
    );
    let csv = std::fs::read_to_string(report.path()).unwrap();
    let secret = csv
        .lines()
        .nth(1)
        .unwrap()
        .split(',')
        .nth(1)
        .unwrap()
        .to_string();
    assert_eq!(secret.len(), 32);
    let mgr = std::fs::read_to_string(t.path().join("etc/asterisk/manager.conf")).unwrap();
    assert!(mgr.contains(&format!("secret = {secret}")));
    // again: nothing to do
    let o = pbx(t.path(), &["plan", "--answers", a.to_str().unwrap()], &[]);
    assert!(text(&o).contains("No changes"), "{}", text(&o));
}

/// A root with the corpus' stock manager.conf (AMI switched on) and sip.conf.
fn corpus_root() -> Option<tempfile::TempDir> {
    let dir = corpus("asterisk")?;
    let t = tempfile::tempdir().unwrap();
    let ast = t.path().join("etc/asterisk");
    std::fs::create_dir_all(&ast).unwrap();
    let mgr = std::fs::read_to_string(dir.join("manager.conf.sample"))
        .unwrap()
        .replacen("enabled = no", "enabled = yes", 1);
    std::fs::write(ast.join("manager.conf"), mgr).unwrap();
    std::fs::copy(dir.join("sip.conf.sample"), ast.join("sip.conf")).unwrap();
    std::fs::copy(dir.join("pjsip.conf.sample"), ast.join("pjsip.conf")).unwrap();
    Some(t)
}

fn changed_lines(before: &str, after: &str) -> Vec<String> {
    similar::TextDiff::from_lines(before, after)
        .iter_all_changes()
        .filter(|c| c.tag() != similar::ChangeTag::Equal)
        .map(|c| format!("{}{}", c.tag(), c.value().trim_end()))
        .collect()
}

#[test]
fn on_the_stock_files_only_the_named_lines_change() {
    let Some(t) = corpus_root() else { return };
    let ast = t.path().join("etc/asterisk");
    let mgr0 = std::fs::read_to_string(ast.join("manager.conf")).unwrap();
    let sip0 = std::fs::read_to_string(ast.join("sip.conf")).unwrap();
    let before = audit_ids(t.path());
    assert!(before.iter().any(|i| i == "ami.public") && before.iter().any(|i| i == "sip.guests"));
    let w = tempfile::tempdir().unwrap();
    let a = write_answers(w.path(), ANSWERS);
    let o = pbx(t.path(), &["apply", "--answers", a.to_str().unwrap()], &[]);
    assert!(o.status.success(), "{}", text(&o));
    let mgr1 = std::fs::read_to_string(ast.join("manager.conf")).unwrap();
    let sip1 = std::fs::read_to_string(ast.join("sip.conf")).unwrap();
    assert_eq!(
        changed_lines(&mgr0, &mgr1),
        vec!["-bindaddr = 0.0.0.0", "+bindaddr = 127.0.0.1"]
    );
    assert_eq!(
        changed_lines(&sip0, &sip1),
        vec!["+allowguest = no", "+alwaysauthreject = yes"]
    );
    let after = audit_ids(t.path());
    assert!(
        !after.iter().any(|i| i == "ami.public" || i == "sip.guests"),
        "{after:?}"
    );
}

#[test]
fn freepbx_keeps_its_ami_password_and_an_anonymous_endpoint_is_refused() {
    let Some(t) = corpus_root() else { return };
    std::fs::write(t.path().join("etc/amportal.conf"), "AMPMGRPASS=amp111\n").unwrap();
    let ast = t.path().join("etc/asterisk");
    let mgr = std::fs::read_to_string(ast.join("manager.conf"))
        .unwrap()
        .replace(
            "[general]",
            "[general]\n\n[admin]\nsecret = amp111\n\n[general](+)",
        );
    std::fs::write(ast.join("manager.conf"), mgr).unwrap();
    std::fs::write(
        ast.join("pjsip.endpoint_custom.conf"),
        "[anonymous]\ntype = endpoint\ncontext = from-external\n",
    )
    .unwrap();
    let w = tempfile::tempdir().unwrap();
    let a = write_answers(w.path(), ANSWERS);
    let o = pbx(t.path(), &["plan", "--answers", a.to_str().unwrap()], &[]);
    let out = text(&o);
    assert_eq!(o.status.code(), Some(2), "{out}");
    assert!(
        out.contains("defines the PJSIP endpoint \"anonymous\", which accepts calls from anyone"),
        "{out}"
    );
    assert!(out.contains("FreePBX keeps (AMPMGRPASS)"), "{out}");
    assert!(
        !out.contains("-secret"),
        "FreePBX's AMI secret is not edited:\n{out}"
    );
    assert!(audit_ids(t.path()).iter().any(|i| i == "pjsip.anonymous"));
}
