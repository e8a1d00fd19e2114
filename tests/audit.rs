//! The audit: expected findings on the weak demo root (text and JSON snapshots), nothing
//! written, exit codes, and none of the fixed findings after apply + confirm.

mod common;

use std::path::Path;

use common::*;

fn audit(dir: &Path, json: bool) -> (i32, String) {
    let d = dir.to_str().unwrap();
    let o = if json {
        run(&["--root", d, "audit", "--format", "json"])
    } else {
        run(&["--root", d, "audit"])
    };
    let out = String::from_utf8(o.stdout).unwrap();
    (o.status.code().unwrap(), out.replace(d, "[ROOT]"))
}

fn json(dir: &Path) -> serde_json::Value {
    let (_, out) = audit(dir, true);
    serde_json::from_str(&out).unwrap()
}

fn ids(v: &serde_json::Value) -> Vec<String> {
    v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            format!(
                "{} {}",
                f["id"].as_str().unwrap(),
                f["subject"].as_str().unwrap_or("-")
            )
        })
        .collect()
}

#[test]
fn audit_of_the_weak_demo_root() {
    let t = demo_root();
    let before = tree(t.path(), &[]);
    let (code, text) = audit(t.path(), false);
    assert_eq!(code, 1);
    let (code_j, json_out) = audit(t.path(), true);
    assert_eq!(code_j, 1);
    // The audit reads, never writes: not even the state directory appears.
    assert_eq!(
        tree_diff(&before, &tree(t.path(), &[])),
        Vec::<String>::new()
    );

    let v: serde_json::Value = serde_json::from_str(&json_out).unwrap();
    assert_eq!(v["format"], "pbx-harden-audit");
    assert_eq!(v["version"], 1);
    assert_eq!(v["summary"]["total"], 20);
    for secret in [
        "password1",
        "amp111",
        "trunkpass",
        "Rq7!wanderer",
        "Tundra-Mosaic",
    ] {
        assert!(!json_out.contains(secret), "{secret} leaked");
        assert!(!text.contains(secret), "{secret} leaked");
    }
    insta::with_settings!({snapshot_path => "../snapshots", prepend_module_to_snapshot => false}, {
        insta::assert_snapshot!("audit_demo_text", text);
        insta::assert_snapshot!("audit_demo_json", json_out);
    });
}

#[test]
fn exit_codes_and_a_clean_root() {
    let o = run(&["--root", "/nonexistent-pbx-harden-root", "audit"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("no such directory"));
    let o = run(&["audit", "--format", "yaml"]);
    assert_eq!(o.status.code(), Some(2));

    let t = tempfile::tempdir().unwrap();
    let r = t.path();
    for d in ["etc/ssh", "etc/apf", "usr/local/bfd"] {
        std::fs::create_dir_all(r.join(d)).unwrap();
    }
    std::fs::write(
        r.join("etc/ssh/sshd_config"),
        "Port 22022\nPermitRootLogin no\nAllowUsers trixuser\n",
    )
    .unwrap();
    std::fs::write(r.join("etc/apf/conf.apf"), "DEVEL_MODE=\"0\"\n").unwrap();
    std::fs::write(r.join("usr/local/bfd/conf.bfd"), "TRIG=\"5\"\n").unwrap();
    let (code, out) = audit(r, false);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("No findings."), "{out}");
    assert!(out.contains("not checked: services"), "{out}");
    let v = json(r);
    assert_eq!(v["summary"]["total"], 0);
    assert_eq!(v["findings"].as_array().unwrap().len(), 0);
}

#[test]
fn firewall_and_brute_force_checks() {
    let t = tempfile::tempdir().unwrap();
    let r = t.path();
    for d in ["etc/ssh", "etc/apf", "usr/local/bfd", "etc/fail2ban/jail.d"] {
        std::fs::create_dir_all(r.join(d)).unwrap();
    }
    std::fs::write(
        r.join("etc/ssh/sshd_config"),
        "Port 2222\nPermitRootLogin prohibit-password\nPasswordAuthentication no\n",
    )
    .unwrap();
    // The real files when the corpus is there, small stand-ins otherwise.
    let (apf, bfd) = match corpus("apf") {
        Some(apf_dir) => (
            std::fs::read(apf_dir.join("2.0.2/conf.apf")).unwrap(),
            std::fs::read(corpus("bfd").unwrap().join("1.5-x/conf.bfd")).unwrap(),
        ),
        None => (
            b"# APF\nDEVEL_MODE=\"1\"\n".to_vec(),
            b"# BFD\nTRIG=\"15\"\n".to_vec(),
        ),
    };
    std::fs::write(r.join("etc/apf/conf.apf"), apf).unwrap();
    std::fs::write(r.join("usr/local/bfd/conf.bfd"), &bfd).unwrap();
    let v = json(r);
    assert_eq!(
        ids(&v),
        vec![
            "ssh.root_login -",
            "firewall.apf_devel_mode -",
            "bfd.trig -"
        ]
    );
    assert_eq!(v["findings"][0]["severity"], "low");
    assert_eq!(v["findings"][1]["file"], "/etc/apf/conf.apf");
    assert!(v["findings"][1]["line"].as_u64().is_some());
    assert_eq!(v["findings"][2]["answers_key"], "bfd.trig");

    // No BFD: fail2ban counts only with an sshd or asterisk jail enabled.
    std::fs::remove_file(r.join("usr/local/bfd/conf.bfd")).unwrap();
    std::fs::write(
        r.join("etc/fail2ban/jail.conf"),
        "[DEFAULT]\nenabled = false\n\n[sshd]\nport = ssh\n\n[asterisk]\nport = 5060\n",
    )
    .unwrap();
    let v = json(r);
    assert!(
        ids(&v).contains(&"bruteforce.none -".to_string()),
        "{:?}",
        ids(&v)
    );
    std::fs::write(
        r.join("etc/fail2ban/jail.d/defaults-debian.conf"),
        "[sshd]\nenabled = true\n",
    )
    .unwrap();
    let v = json(r);
    assert!(
        !ids(&v).contains(&"bruteforce.none -".to_string()),
        "{:?}",
        ids(&v)
    );
}

#[test]
fn a_hardened_root_has_none_of_the_findings_it_fixed() {
    if !require_root() {
        return; // useradd --root
    }
    let t = demo_root();
    let dir = t.path().to_str().unwrap();
    let weak = ids(&json(t.path()));
    let answers = write_answers(
        t.path().parent().unwrap(),
        pbx_harden::demo::EXAMPLE_ANSWERS,
    );
    let o = run(&[
        "--root",
        dir,
        "apply",
        "--answers",
        answers.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let pending = ids(&json(t.path()));
    assert!(
        pending[0].starts_with("change.pending "),
        "an unconfirmed change is a finding: {pending:?}"
    );
    let o = run(&["--root", dir, "confirm", "--here"]);
    assert!(o.status.success(), "{}", text(&o));
    let (code, _) = audit(t.path(), false);
    assert_eq!(code, 1, "the FreePBX files, AMI and the firewall remain");
    let after = ids(&json(t.path()));
    let fixed = [
        "ssh.root_login -",
        "ssh.port_22 -",
        "ssh.no_allow_users -",
        "secret.weak SIP friend 200",
        "secret.weak SIP friend 201",
        "service.unneeded netfs",
        "service.unneeded nfslock",
        "service.unneeded portmap",
        "service.unneeded restorecond",
        "service.unneeded rpcgssd",
        "service.unneeded rpcidmapd",
        "firewall.apf_devel_mode -",
        "bfd.trig -",
    ];
    for f in fixed {
        assert!(
            weak.contains(&f.to_string()),
            "{f} was found before: {weak:?}"
        );
        assert!(!after.contains(&f.to_string()), "{f} is fixed: {after:?}");
    }
    let remaining: Vec<&String> = weak
        .iter()
        .filter(|f| !fixed.contains(&f.as_str()))
        .collect();
    assert_eq!(after.iter().collect::<Vec<_>>(), remaining);
}
