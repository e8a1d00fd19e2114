//! Every validation rule: the bad input and the message it gets (library and CLI).

mod common;

use common::*;
use pbx_harden::answers::Answers;
use pbx_harden::plan::{self, CheckStatus, Plan};
use pbx_harden::root::Root;
use pbx_harden::system::{Env, System};
use rand::SeedableRng;

const GOOD_PW: &str = "Tundra mosaic 8! lantern quill";

fn plan_for(root: &Root, toml: &str) -> Plan {
    // the real programs, or the demo's machine profile without root or sshd
    let sys = detect(root);
    let a = Answers::parse(toml, "test.toml").unwrap();
    plan::build(&sys, &a, &mut rand::rngs::StdRng::seed_from_u64(1))
}

fn errors(p: &Plan) -> Vec<String> {
    p.refusals().iter().map(|p| p.to_string()).collect()
}

fn warnings(p: &Plan) -> Vec<String> {
    p.problems
        .iter()
        .filter(|p| !p.is_error())
        .map(|p| p.to_string())
        .collect()
}

fn answers(name: &str, pw: &str, port: &str) -> String {
    format!("[user]\nname = \"{name}\"\npassword = \"{pw}\"\n[ssh]\nport = {port}\n")
}

fn assert_has(list: &[String], needle: &str) {
    assert!(
        list.iter().any(|e| e.contains(needle)),
        "no {needle:?} in {list:#?}"
    );
}

#[test]
fn a_good_plan_is_valid() {
    let t = demo_root();
    let root = Root::open(t.path()).unwrap();
    let p = plan_for(&root, &answers("trixuser", GOOD_PW, "22022"));
    assert!(p.is_valid(), "{:#?}", p.refusals());
    assert!(!p.changes.is_empty());
}

#[test]
fn user_name_rules() {
    let t = demo_root();
    let root = Root::open(t.path()).unwrap();
    for (name, msg) in [
        ("root", "root cannot be the login user"),
        ("Trix User", "is not a valid login name"),
        ("9lives", "is not a valid login name"),
        ("asterisk", "is a system account"),
        ("", "give a login name"),
        (&"a".repeat(33), "is not a valid login name"),
    ] {
        let p = plan_for(&root, &answers(name, GOOD_PW, "22022"));
        assert!(!p.is_valid(), "{name}");
        assert_has(
            &errors(&p),
            &format!("user.name: {msg}").replace("user.name: ", ""),
        );
        assert_has(&errors(&p), "user.name");
    }
    let p = plan_for(&root, &answers("admin", GOOD_PW, "22022"));
    assert_has(&warnings(&p), "one of the first names guessing tools try");
}

#[test]
fn an_existing_user_needs_reuse() {
    let t = demo_root();
    let mut passwd = std::fs::read_to_string(t.path().join("etc/passwd")).unwrap();
    passwd.push_str("bob:x:500:500::/home/bob:/bin/bash\n");
    std::fs::write(t.path().join("etc/passwd"), passwd).unwrap();
    let root = Root::open(t.path()).unwrap();
    let p = plan_for(&root, &answers("bob", GOOD_PW, "22022"));
    assert_has(&errors(&p), "bob already exists; set user.reuse = true");
    let p = plan_for(
        &root,
        &format!(
            "[user]\nname = \"bob\"\nreuse = true\npassword = \"{GOOD_PW}\"\n[ssh]\nport = 22022\n"
        ),
    );
    assert!(p.is_valid(), "{:#?}", p.refusals());
}

#[test]
fn password_rules() {
    let t = demo_root();
    let root = Root::open(t.path()).unwrap();
    for (pw, msg) in [
        ("short1!A", "it is shorter than 12 characters"),
        ("password", "dictionary word"),
        ("trixbox", "dictionary word"),
        ("P@ssw0rd", "dictionary word"),
        ("trixuser-Secret-99!", "contains the user name"),
        ("aaaaaaaaaaaaaaaaaa", "zxcvbn rates it"),
        ("", "the password is empty"),
    ] {
        let p = plan_for(&root, &answers("trixuser", pw, "22022"));
        assert_has(&errors(&p), "user.password: ");
        assert_has(&errors(&p), msg);
    }
    let p = plan_for(&root, "[user]\nname = \"trixuser\"\n[ssh]\nport = 22022\n");
    assert_has(&errors(&p), "trixuser needs a password");
    let p = plan_for(
        &root,
        &format!("[user]\nname = \"trixuser\"\ngenerate = true\npassword = \"{GOOD_PW}\"\n"),
    );
    assert_has(&errors(&p), "give only one of");
    let p = plan_for(
        &root,
        "[user]\nname = \"trixuser\"\npassword_hash = \"$1$abc$def\"\n",
    );
    assert_has(&errors(&p), "user.password_hash: use a SHA-512");
    let p = plan_for(
        &root,
        "[user]\nname = \"trixuser\"\npassword_hash = \"!locked\"\n",
    );
    assert_has(&errors(&p), "locked");
}

#[test]
fn ssh_port_rules() {
    let t = demo_root();
    let root = Root::open(t.path()).unwrap();
    // The demo system's fake /proc: httpd on 80, mysqld on 127.0.0.1:3306, asterisk on 5038;
    // rtp.conf 10000-20000; ip_local_port_range 32768-61000.
    let refused = [
        ("0", "0 is not a TCP port: use 1-65535"),
        ("70000", "70000 is not a TCP port"),
        ("-1", "-1 is not a TCP port"),
        ("80", "80 is in use by httpd (tcp 0.0.0.0:80)"),
        ("3306", "3306 is in use by mysqld (tcp 127.0.0.1:3306)"),
        ("5038", "5038 is in use by asterisk"),
        (
            "12000",
            "inside Asterisk's RTP range 10000-20000 (rtp.conf)",
        ),
        ("40000", "inside the ephemeral range 32768-61000"),
        ("5060", "5060 is the port of SIP: the PBX needs it"),
        ("5061", "5061 is the port of SIP over TLS"),
        ("4569", "4569 is the port of IAX2"),
    ];
    for (port, msg) in refused {
        let p = plan_for(&root, &answers("trixuser", GOOD_PW, port));
        assert_has(&errors(&p), &format!("ssh.port: {port}"));
        assert_has(&errors(&p), msg);
    }
    let warned = [
        ("8080", "8080 is \"http-alt\" in /etc/services"),
        ("2222", "2222 is the second port every SSH scanner tries"),
        ("22", "22 is where every scanner knocks first"),
        ("999", "999 is below 1024"),
    ];
    for (port, msg) in warned {
        let p = plan_for(&root, &answers("trixuser", GOOD_PW, port));
        assert_has(&warnings(&p), &format!("ssh.port: {msg}"));
    }
    // the current sshd port is not "in use by another program"
    let p = plan_for(&root, &answers("trixuser", GOOD_PW, "22"));
    assert!(p.is_valid(), "{:#?}", p.refusals());
}

#[test]
fn a_suggested_port_passes_every_rule() {
    let t = demo_root();
    let root = Root::open(t.path()).unwrap();
    let sys = System::detect(&root, &Env::fixed()).unwrap();
    let mut rng = rand::rngs::StdRng::seed_from_u64(3);
    for _ in 0..20 {
        let p = pbx_harden::steps::ssh::suggest_port(&sys, &mut rng);
        assert!(
            pbx_harden::steps::ssh::port_problems(&sys, i64::from(p)).is_empty(),
            "{p}"
        );
    }
}

#[test]
fn allow_users_must_let_the_login_user_in() {
    let t = demo_root();
    let root = Root::open(t.path()).unwrap();
    let p = plan_for(
        &root,
        &format!(
            "[user]\nname = \"trixuser\"\npassword = \"{GOOD_PW}\"\n[ssh]\nallow_users = [\"someone\"]\n"
        ),
    );
    assert_has(
        &errors(&p),
        "ssh.allow_users: it must include the login user trixuser",
    );
    let p = plan_for(&root, "[ssh]\nallow_users = []\n");
    assert_has(&errors(&p), "an empty AllowUsers");
    let p = plan_for(&root, "[ssh]\nallow_users = [\"Bad Name\"]\n");
    assert_has(&errors(&p), "\"Bad Name\" is not a user name");
}

#[test]
fn password_logins_off_without_a_key_is_a_lockout() {
    let t = demo_root();
    let root = Root::open(t.path()).unwrap();
    let p = plan_for(
        &root,
        &format!(
            "[user]\nname = \"trixuser\"\npassword = \"{GOOD_PW}\"\n[ssh]\nport = 22022\npassword_authentication = false\n"
        ),
    );
    assert!(!p.is_valid());
    assert_has(
        &errors(&p),
        "PasswordAuthentication is no and trixuser has no SSH key",
    );
}

#[test]
fn deny_and_group_rules_are_checked() {
    let t = demo_root();
    let cfg = t.path().join("etc/ssh/sshd_config");
    let mut text = std::fs::read_to_string(&cfg).unwrap();
    text.push_str("DenyUsers trix*\n");
    std::fs::write(&cfg, &text).unwrap();
    let root = Root::open(t.path()).unwrap();
    let p = plan_for(&root, &answers("trixuser", GOOD_PW, "22022"));
    assert_has(&errors(&p), "DenyUsers trix* matches trixuser");

    let t = demo_root();
    let cfg = t.path().join("etc/ssh/sshd_config");
    let mut text = std::fs::read_to_string(&cfg).unwrap();
    text.push_str("AllowGroups admins\n");
    std::fs::write(&cfg, &text).unwrap();
    let root = Root::open(t.path()).unwrap();
    let p = plan_for(&root, &answers("trixuser", GOOD_PW, "22022"));
    assert_has(
        &errors(&p),
        "AllowGroups admins does not match any group of trixuser",
    );
}

#[test]
fn confirm_timeout_rules() {
    let t = demo_root();
    let root = Root::open(t.path()).unwrap();
    let p = plan_for(&root, "[apply]\nconfirm_timeout = \"soon\"\n");
    assert_has(
        &errors(&p),
        "apply.confirm_timeout: \"soon\" is not a duration",
    );
    let p = plan_for(&root, "[apply]\nconfirm_timeout = \"0s\"\n");
    assert_has(&errors(&p), "0 would roll back at once");
    let p = plan_for(&root, "[apply]\nconfirm_timeout = \"3d\"\n");
    assert_has(&errors(&p), "more than 24 hours");
    let p = plan_for(&root, "[apply]\nconfirm_timeout = \"10s\"\n");
    assert_has(&warnings(&p), "is short");
}

#[test]
fn checks_name_what_they_verified() {
    let t = demo_root();
    let root = Root::open(t.path()).unwrap();
    let p = plan_for(&root, &answers("trixuser", GOOD_PW, "22022"));
    let names: Vec<&str> = p.checks.iter().map(|c| c.name.as_str()).collect();
    for want in [
        "the login user trixuser exists with a password",
        "sshd lets trixuser in",
        "trixuser can authenticate",
        "sshd -t accepts the new configuration",
    ] {
        assert!(names.contains(&want), "{names:?}");
    }
    {
        let c = p
            .checks
            .iter()
            .find(|c| c.name == "sshd -T shows the chosen values")
            .unwrap();
        assert!(
            matches!(&c.status, CheckStatus::Pass(d) if d.contains("port 22022") && d.contains("permitrootlogin no") && d.contains("allowusers trixuser")),
            "{c:?}"
        );
    }
}

// ----- the CLI: every bad input is an error with a non-zero exit, never a panic -----

fn assert_clean_failure(o: &std::process::Output, code: i32, needle: &str) {
    let t = text(o);
    assert_eq!(o.status.code(), Some(code), "{t}");
    assert!(t.contains(needle), "no {needle:?} in {t}");
    assert!(!t.contains("panicked"), "{t}");
}

#[test]
fn cli_bad_inputs() {
    let t = demo_root();
    let dir = t.path().to_str().unwrap();
    let w = tempfile::tempdir().unwrap();

    let a = write_answers(w.path(), "[user\nname=");
    let o = run(&["--root", dir, "plan", "--answers", a.to_str().unwrap()]);
    assert_clean_failure(&o, 2, "answers file");

    let a = write_answers(w.path(), "[ssh]\nprot = 2222\n");
    let o = run(&["--root", dir, "plan", "--answers", a.to_str().unwrap()]);
    assert_clean_failure(&o, 2, "unknown field `prot`");

    let a = write_answers(w.path(), &answers("trixuser", GOOD_PW, "99999"));
    let o = run(&["--root", dir, "plan", "--answers", a.to_str().unwrap()]);
    assert_clean_failure(&o, 2, "99999 is not a TCP port");

    let a = write_answers(w.path(), &answers("Bad Name", GOOD_PW, "22022"));
    let o = run(&["--root", dir, "apply", "--answers", a.to_str().unwrap()]);
    assert_clean_failure(&o, 2, "is not a valid login name");

    let o = run(&[
        "--root",
        dir,
        "plan",
        "--answers",
        "/nonexistent/answers.toml",
    ]);
    assert_clean_failure(&o, 2, "No such file");

    let empty = tempfile::tempdir().unwrap();
    let a = write_answers(w.path(), &answers("trixuser", GOOD_PW, "22022"));
    let o = run(&[
        "--root",
        empty.path().to_str().unwrap(),
        "plan",
        "--answers",
        a.to_str().unwrap(),
    ]);
    assert_clean_failure(&o, 2, "no etc/ directory");

    let o = run(&["--root", "/nonexistent-root", "status"]);
    assert_clean_failure(&o, 2, "no such directory");

    let o = run(&["password", "--words", "1"]);
    assert_clean_failure(&o, 2, "--words 1: use 3 to 12");

    let o = run(&[
        "--root",
        dir,
        "apply",
        "--answers",
        a.to_str().unwrap(),
        "--confirm-timeout",
        "later",
    ]);
    assert_clean_failure(&o, 2, "\"later\" is not a duration");
}

#[test]
fn cli_missing_or_malformed_sshd_config() {
    let t = demo_root();
    let dir = t.path().to_str().unwrap();
    let w = tempfile::tempdir().unwrap();
    let a = write_answers(w.path(), &answers("trixuser", GOOD_PW, "22022"));
    std::fs::remove_file(t.path().join("etc/ssh/sshd_config")).unwrap();
    let o = run(&["--root", dir, "plan", "--answers", a.to_str().unwrap()]);
    assert_clean_failure(&o, 2, "sshd_config does not exist");

    // Unreadable: a directory where the file should be.
    std::fs::create_dir(t.path().join("etc/ssh/sshd_config")).unwrap();
    let o = run(&["--root", dir, "plan", "--answers", a.to_str().unwrap()]);
    assert_clean_failure(&o, 2, "cannot read sshd_config");
    std::fs::remove_dir(t.path().join("etc/ssh/sshd_config")).unwrap();

    // Malformed: sshd itself rejects it, and says where.
    std::fs::write(
        t.path().join("etc/ssh/sshd_config"),
        "Port 22\nNoSuchKeyword yes\n\0\u{1}garbage\n",
    )
    .unwrap();
    {
        let o = pbx(
            t.path(),
            &["plan", "--answers", a.to_str().unwrap()],
            &[profile_env()],
        );
        assert_clean_failure(&o, 2, "Bad configuration option: NoSuchKeyword");
        assert_clean_failure(&o, 2, "sshd rejects the current configuration already");
    }
}

#[test]
fn plan_changes_nothing() {
    let t = demo_root();
    let before = tree(t.path(), &[]);
    let w = tempfile::tempdir().unwrap();
    let a = write_answers(w.path(), &answers("trixuser", GOOD_PW, "22022"));
    let o = run(&[
        "--root",
        t.path().to_str().unwrap(),
        "plan",
        "--answers",
        a.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(
        tree_diff(&before, &tree(t.path(), &[])),
        Vec::<String>::new()
    );
    let out = text(&o);
    assert!(!out.contains(GOOD_PW), "the password was printed");
    assert!(out.contains("+Port 22022"), "{out}");
    // As root the user is made with useradd/chpasswd; as a normal user on a --root target
    // the plan edits passwd/shadow itself (plan/user.rs): the hash is hidden either way.
    if is_root() {
        assert!(out.contains("chpasswd"), "{out}");
        assert!(out.contains("<SHA-512 crypt hash>"), "{out}");
    } else {
        assert!(out.contains("+trixuser:********:"), "{out}");
    }
}

#[test]
fn the_admin_address_is_found_behind_sudo() {
    // sudo drops SSH_CONNECTION; the login shell above pbx-harden still has it.
    let t = demo_root();
    let w = tempfile::tempdir().unwrap();
    let a = write_answers(
        w.path(),
        "[firewall]\nblocked = [{ host = \"198.51.100.0/24\" }]\n",
    );
    let o = std::process::Command::new("/bin/sh")
        .arg("-c")
        .arg(format!(
            "env -u SSH_CONNECTION -u SSH_CLIENT {} --root {} plan --answers {}",
            bin().display(),
            t.path().display(),
            a.display()
        ))
        .env("SSH_CONNECTION", "198.51.100.9 4000 192.0.2.1 22")
        .output()
        .unwrap();
    assert_clean_failure(
        &o,
        2,
        "198.51.100.0/24 contains your own address 198.51.100.9",
    );
}

#[test]
fn home_mode_rules() {
    let t = demo_root();
    let root = Root::open(t.path()).unwrap();
    for bad in ["0755", "777", "rwx", ""] {
        let toml = answers("trixuser", GOOD_PW, "22022").replacen(
            "[ssh]",
            &format!("home_mode = \"{bad}\"\n[ssh]"),
            1,
        );
        let p = plan_for(&root, &toml);
        assert_has(&errors(&p), "user.home_mode");
    }
    for good in ["0700", "0750", "750"] {
        let toml = answers("trixuser", GOOD_PW, "22022").replacen(
            "[ssh]",
            &format!("home_mode = \"{good}\"\n[ssh]"),
            1,
        );
        let p = plan_for(&root, &toml);
        assert!(p.is_valid(), "{good}: {:#?}", p.refusals());
        let mode = if good.ends_with("750") {
            "0750"
        } else {
            "0700"
        };
        assert!(
            p.actions.iter().any(|a| a
                .describe(&root)
                .join(" ")
                .ends_with(&format!("/home/trixuser {mode}"))),
            "{good}: {:?}",
            p.actions
        );
    }
}

#[test]
fn system_accounts_root_and_the_seed_name() {
    let t = demo_root();
    let root = Root::open(t.path()).unwrap();
    // mysql (uid 27, a real shell on the demo box) is a service's account: refused, reuse or not
    for reuse in ["false", "true"] {
        let a = format!(
            "[user]\nname = \"mysql\"\npassword = \"{GOOD_PW}\"\nreuse = {reuse}\n[ssh]\nport = 22022\n"
        );
        let p = plan_for(&root, &a);
        assert_has(
            &errors(&p),
            "user.name: mysql is a system account (uid 27, below UID_MIN",
        );
    }
    let p = plan_for(&root, &answers("trixuser", GOOD_PW, "22022"));
    assert_has(
        &warnings(&p),
        "\"trixuser\" is the example name of the article",
    );
    let p = plan_for(
        &root,
        &format!(
            "[user]\nname = \"pbxop\"\npassword = \"{GOOD_PW}\"\n[ssh]\nport = 22022\n\
             allow_users = [\"pbxop\", \"root\"]\n"
        ),
    );
    assert_has(
        &errors(&p),
        "ssh.allow_users: root does not belong in AllowUsers",
    );
}
