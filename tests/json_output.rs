//! `plan --format json` and `apply --format json` (what the Ansible role of deploy/ansible
//! reads): the shape, idempotence (a second run says `"changed": false`), refusals with their
//! answers keys, and no secret anywhere in the output — a generated password goes only to the
//! 0600 `--password-file`.

mod common;

use std::os::unix::fs::PermissionsExt;

use common::*;
use serde_json::Value;

const PW: &str = "Tundra mosaic 8! lantern quill";

fn json(o: &std::process::Output) -> Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {}", text(o)))
}

fn answers(user: &str) -> String {
    format!(
        "[user]\nname = \"trixuser\"\n{user}\ngroups = [\"wheel\"]\n[ssh]\nport = 22022\n\
         [apply]\nconfirm_timeout = \"10m\"\n"
    )
}

#[test]
fn plan_and_apply_json_shape_and_idempotence() {
    let t = demo_root();
    // Its own directory: the root's parent is the shared /tmp, where another run of this test
    // (another checkout on the machine) wrote its answers at the same moment.
    let dir = tempfile::tempdir().unwrap();
    let a = write_answers(dir.path(), &answers(&format!("password = \"{PW}\"")));
    let root = t.path();
    let p = pbx(
        root,
        &["plan", "--answers", a.to_str().unwrap(), "--format", "json"],
        &[],
    );
    assert_eq!(p.status.code(), Some(0), "{}", text(&p));
    let v = json(&p);
    assert_eq!(v["version"], 1);
    assert_eq!(v["command"], "plan");
    assert_eq!(v["valid"], true);
    assert_eq!(v["changed"], true);
    assert_eq!(v["ssh_port"], 22022);
    assert_eq!(v["ssh_port_changed"], true);
    assert_eq!(v["login_user"], "trixuser");
    assert!(v["errors"].as_array().unwrap().is_empty());
    let files = v["files"].as_array().unwrap();
    assert!(
        files.iter().any(|f| f["path"] == "/etc/ssh/sshd_config"
            && f["diff"].as_str().unwrap().contains("+Port 22022")),
        "{v:#}"
    );
    for c in v["checks"].as_array().unwrap() {
        assert!(c["name"].is_string() && c["detail"].is_string());
        assert!(["pass", "warn", "fail", "skipped"].contains(&c["status"].as_str().unwrap()));
    }
    assert!(!String::from_utf8_lossy(&p.stdout).contains(PW));
    // APF keeps the old SSH port until confirm, which takes it out of the list first.
    assert_eq!(
        v["on_confirm"],
        serde_json::json!([
            "take 22 out of IG_TCP_CPORTS in /etc/apf/conf.apf",
            "set DEVEL_MODE=\"0\" in /etc/apf/conf.apf",
            "/etc/apf/apf -r"
        ]),
        "{v:#}"
    );

    let o = pbx(
        root,
        &[
            "apply",
            "--answers",
            a.to_str().unwrap(),
            "--format",
            "json",
        ],
        &[],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let v = json(&o);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(!out.contains(PW) && !out.contains("$6$"), "{out}");
    assert_eq!(v["command"], "apply");
    assert_eq!(v["changed"], true);
    assert!(v["txid"].is_string());
    assert!(v["deadline"].as_u64().unwrap() > 0);
    assert!(
        v["confirm_command"]
            .as_str()
            .unwrap()
            .ends_with(&format!("--root {} confirm", root.display())),
        "{v:#}"
    );
    assert!(
        v["files"]
            .as_array()
            .unwrap()
            .contains(&Value::from("/etc/ssh/sshd_config"))
    );
    // useradd and chpasswd as root; a normal user's apply on a copy writes the account
    // files directly and runs nothing
    assert_eq!(
        !v["commands"].as_array().unwrap().is_empty(),
        is_root(),
        "{v:#}"
    );

    // A pending change: a second apply is an error, in JSON too.
    let o = pbx(
        root,
        &[
            "apply",
            "--answers",
            a.to_str().unwrap(),
            "--format",
            "json",
        ],
        &[],
    );
    assert_ne!(o.status.code(), Some(0));
    let e = json(&o);
    assert_eq!(e["changed"], false);
    assert!(!e["errors"].as_array().unwrap().is_empty());

    let c = pbx(root, &["confirm"], &[]);
    assert!(c.status.success(), "{}", text(&c));
    for cmd in ["plan", "apply"] {
        let o = pbx(
            root,
            &[cmd, "--answers", a.to_str().unwrap(), "--format", "json"],
            &[],
        );
        assert_eq!(o.status.code(), Some(0), "{}", text(&o));
        let v = json(&o);
        assert_eq!(v["changed"], false, "second {cmd}: {v:#}");
    }
    let v = json(&pbx(
        root,
        &[
            "apply",
            "--answers",
            a.to_str().unwrap(),
            "--format",
            "json",
        ],
        &[],
    ));
    assert!(v["txid"].is_null() && v["confirm_command"].is_null());
}

#[test]
fn refusals_name_their_keys_and_nothing_changes() {
    let t = demo_root();
    let dir = tempfile::tempdir().unwrap();
    let a = write_answers(
        dir.path(),
        "[user]\nname = \"root\"\npassword = \"x\"\n[ssh]\nport = 70000\n",
    );
    let before = tree(t.path(), &[]);
    for cmd in ["plan", "apply"] {
        let o = pbx(
            t.path(),
            &[cmd, "--answers", a.to_str().unwrap(), "--format", "json"],
            &[],
        );
        assert_eq!(o.status.code(), Some(2), "{}", text(&o));
        let v = json(&o);
        assert_eq!(v["changed"], false);
        let keys: Vec<&str> = v["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["key"].as_str().unwrap())
            .collect();
        assert!(keys.contains(&"user.name"), "{cmd}: {v:#}");
        assert!(keys.contains(&"ssh.port"), "{cmd}: {v:#}");
    }
    assert_eq!(
        tree_diff(&before, &tree(t.path(), &[])),
        Vec::<String>::new()
    );
    // An answers file that does not parse: an error object too, naming the key.
    std::fs::write(&a, "[user]\nnmae = \"x\"\n").unwrap();
    let o = pbx(
        t.path(),
        &["plan", "--answers", a.to_str().unwrap(), "--format", "json"],
        &[],
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let v = json(&o);
    assert!(v["errors"][0]["message"].as_str().unwrap().contains("nmae"));
}

#[test]
fn a_generated_password_goes_only_to_the_password_file() {
    let t = demo_root();
    let dir = tempfile::tempdir().unwrap();
    let a = write_answers(dir.path(), &answers("generate = true"));
    let a = a.to_str().unwrap();
    // Without --password-file, JSON refuses before changing anything.
    let before = tree(t.path(), &[]);
    let o = pbx(
        t.path(),
        &["apply", "--answers", a, "--format", "json"],
        &[],
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        json(&o)["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("--password-file")
    );
    assert_eq!(
        tree_diff(&before, &tree(t.path(), &[])),
        Vec::<String>::new()
    );

    let pwf = dir.path().join("pw");
    let o = pbx(
        t.path(),
        &[
            "apply",
            "--answers",
            a,
            "--format",
            "json",
            "--password-file",
            pwf.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let v = json(&o);
    assert_eq!(v["password_file"], pwf.to_str().unwrap());
    let pw = std::fs::read_to_string(&pwf).unwrap();
    let pw = pw.trim_end();
    assert!(pw.len() >= 20, "{pw:?}");
    assert_eq!(
        std::fs::metadata(&pwf).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert!(!String::from_utf8_lossy(&o.stdout).contains(pw));
    assert!(!String::from_utf8_lossy(&o.stderr).contains(pw));
}
