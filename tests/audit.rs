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
    assert_eq!(v["summary"]["total"], 47);
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

/// An sshd_config that meets the seed's settings, the baseline and modern crypto.
const CLEAN_SSHD: &str = "Port 22022\nPermitRootLogin no\nAllowUsers trixuser\n\
    MaxAuthTries 3\nLoginGraceTime 60\nClientAliveInterval 300\nClientAliveCountMax 2\n\
    X11Forwarding no\nAllowAgentForwarding no\nLogLevel VERBOSE\nMaxStartups 10:30:60\n\
    PerSourceMaxStartups 3\nAllowTcpForwarding local\nKexAlgorithms curve25519-sha256\n\
    Ciphers chacha20-poly1305@openssh.com\nMACs hmac-sha2-256-etm@openssh.com\n\
    HostKeyAlgorithms ssh-ed25519\n";
const OPENSSH_92: &str =
    "Package: openssh-server\nStatus: install ok installed\nVersion: 1:9.2p1-2+deb12u10\n";

/// Only the findings that are not about the SSH baseline or algorithms.
fn seed_ids(v: &serde_json::Value) -> Vec<String> {
    ids(v)
        .into_iter()
        .filter(|i| !i.starts_with("ssh.baseline ") && !i.starts_with("ssh.weak_algorithm "))
        .collect()
}

#[test]
fn baseline_items_weak_algorithms_and_host_keys_with_their_reasons() {
    let t = tempfile::tempdir().unwrap();
    let r = t.path();
    for d in ["etc/ssh", "var/lib/dpkg"] {
        std::fs::create_dir_all(r.join(d)).unwrap();
    }
    std::fs::write(r.join("var/lib/dpkg/status"), OPENSSH_92).unwrap();
    let weak = CLEAN_SSHD
        .replace("MaxAuthTries 3", "MaxAuthTries 6")
        .replace("X11Forwarding no", "X11Forwarding yes")
        .replace(
            "MACs hmac-sha2-256-etm@openssh.com",
            "MACs hmac-sha2-256-etm@openssh.com,hmac-sha1,umac-64@openssh.com",
        )
        .replace("PerSourceMaxStartups 3\n", "");
    std::fs::write(r.join("etc/ssh/sshd_config"), &weak).unwrap();
    let v = json(r);
    let got: Vec<(String, u64)> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["id"].as_str().unwrap().starts_with("ssh."))
        .map(|f| {
            assert!(!f["why"].as_str().unwrap().is_empty(), "{f}");
            (
                format!(
                    "{} {}",
                    f["id"].as_str().unwrap(),
                    f["subject"].as_str().unwrap()
                ),
                f["line"].as_u64().unwrap_or(0),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            ("ssh.baseline MaxAuthTries".to_string(), 4),
            ("ssh.baseline X11Forwarding".to_string(), 8),
            ("ssh.baseline PerSourceMaxStartups".to_string(), 0),
            ("ssh.weak_algorithm hmac-sha1".to_string(), 15),
            ("ssh.weak_algorithm umac-64@openssh.com".to_string(), 15),
        ]
    );
    // An ECDSA host key and a 2048-bit RSA key are findings; Ed25519 is not.
    if require("ssh-keygen").is_some() {
        for (ty, bits) in [("ecdsa", "256"), ("rsa", "2048"), ("ed25519", "256")] {
            let st = std::process::Command::new("ssh-keygen")
                .args(["-q", "-t", ty, "-b", bits, "-N", "", "-f"])
                .arg(r.join(format!("etc/ssh/ssh_host_{ty}_key")))
                .status()
                .unwrap();
            assert!(st.success());
        }
        let v = json(r);
        let keys: Vec<String> = ids(&v)
            .into_iter()
            .filter(|i| i.starts_with("ssh.host_key"))
            .collect();
        assert_eq!(
            keys,
            vec![
                "ssh.host_key /etc/ssh/ssh_host_rsa_key",
                "ssh.host_key /etc/ssh/ssh_host_ecdsa_key"
            ]
        );
    }
}

#[test]
fn another_working_firewall_is_not_apf_absent() {
    let t = tempfile::tempdir().unwrap();
    let r = t.path();
    for d in ["etc/ssh", "etc/ufw"] {
        std::fs::create_dir_all(r.join(d)).unwrap();
    }
    std::fs::write(r.join("etc/ssh/sshd_config"), CLEAN_SSHD).unwrap();
    std::fs::write(r.join("etc/ufw/ufw.conf"), "ENABLED=no\nLOGLEVEL=low\n").unwrap();
    assert!(ids(&json(r)).contains(&"firewall.apf_absent -".to_string()));
    std::fs::write(r.join("etc/ufw/ufw.conf"), "ENABLED=yes\nLOGLEVEL=low\n").unwrap();
    assert!(!ids(&json(r)).contains(&"firewall.apf_absent -".to_string()));
    // firewalld enabled at boot (its systemd link) counts too.
    std::fs::remove_file(r.join("etc/ufw/ufw.conf")).unwrap();
    let wants = r.join("etc/systemd/system/multi-user.target.wants");
    std::fs::create_dir_all(&wants).unwrap();
    std::fs::create_dir_all(r.join("usr/lib/systemd/system")).unwrap();
    std::fs::write(r.join("usr/lib/systemd/systemd"), "").unwrap();
    std::fs::write(
        r.join("usr/lib/systemd/system/firewalld.service"),
        "[Unit]\n",
    )
    .unwrap();
    std::os::unix::fs::symlink(
        "/usr/lib/systemd/system/firewalld.service",
        wants.join("firewalld.service"),
    )
    .unwrap();
    assert!(
        !ids(&json(r)).contains(&"firewall.apf_absent -".to_string()),
        "{:?}",
        ids(&json(r))
    );
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
    std::fs::write(r.join("etc/ssh/sshd_config"), CLEAN_SSHD).unwrap();
    std::fs::create_dir_all(r.join("var/lib/dpkg")).unwrap();
    std::fs::write(r.join("var/lib/dpkg/status"), OPENSSH_92).unwrap();
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
        seed_ids(&v),
        vec![
            "ssh.root_login -",
            "firewall.apf_devel_mode -",
            "bfd.trig -"
        ]
    );
    let find = |id: &str| {
        v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["id"] == id)
            .cloned()
            .unwrap()
    };
    assert_eq!(find("ssh.root_login")["severity"], "low");
    assert_eq!(find("firewall.apf_devel_mode")["file"], "/etc/apf/conf.apf");
    assert!(find("firewall.apf_devel_mode")["line"].as_u64().is_some());
    assert_eq!(find("bfd.trig")["answers_key"], "bfd.trig");

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
    // fail2ban's `key: value` spelling counts too (the Asterisk parser misread it).
    for spelling in ["[sshd]\nenabled = true\n", "[sshd]\nenabled: true\n"] {
        std::fs::write(r.join("etc/fail2ban/jail.d/defaults-debian.conf"), spelling).unwrap();
        let v = json(r);
        assert!(
            !ids(&v).contains(&"bruteforce.none -".to_string()),
            "{spelling:?}: {:?}",
            ids(&v)
        );
    }
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
