//! fail2ban where APF/BFD are absent: every generated jail.local is checked with the real
//! `fail2ban-client -t`, `fail2ban-client -d` shows the new SSH port in the [sshd] jail, the
//! [asterisk] jail reads the file logger.conf writes, and a headless apply followed by
//! rollback restores every byte. The test roots get the host's own fail2ban configuration
//! (installed by .ci/run), never a copy of the corpus.

mod common;
mod fwcommon;

use std::path::Path;
use std::process::Command;

use common::{STATE, require, run, text, tree, tree_diff, write_answers};
use fwcommon::*;
use pbx_harden::plan::CheckStatus;

const JAIL: &str = "/etc/fail2ban/jail.local";
const LOGGER: &str = "/etc/asterisk/logger.conf";

/// The demo system without APF/BFD, with this host's fail2ban configuration and the log
/// files sshd (CentOS: /var/log/secure) and Asterisk (logger.conf: messages) write.
fn f2b_root() -> Option<tempfile::TempDir> {
    require("fail2ban-client")?;
    let t = root_with(From::Absent, From::Absent);
    let st = Command::new("cp")
        .args(["-a", "/etc/fail2ban"])
        .arg(t.path().join("etc/fail2ban"))
        .status()
        .unwrap();
    assert!(st.success());
    let _ = std::fs::remove_file(t.path().join("etc/fail2ban/jail.local"));
    for log in ["var/log/secure", "var/log/asterisk/messages"] {
        let p = t.path().join(log);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, "").unwrap();
    }
    Some(t)
}

/// Run the real fail2ban-client on `jail_local` against the root's fail2ban configuration,
/// independently of pbx-harden: log paths point into the root. Returns the `-d` dump.
fn real_check(root: &Path, jail_local: &[u8]) -> String {
    let conf = tempfile::tempdir().unwrap();
    let st = Command::new("cp")
        .args(["-a"])
        .arg(root.join("etc/fail2ban/."))
        .arg(conf.path())
        .status()
        .unwrap();
    assert!(st.success());
    // Every line of a logpath (continuation lines too) points into the root.
    let j: String = String::from_utf8(jail_local.to_vec())
        .unwrap()
        .split_inclusive('\n')
        .map(|l| match l.find("/var/log/") {
            Some(i) if l.starts_with("logpath") || l[..i].trim().is_empty() => {
                format!("{}{}{}", &l[..i], root.display(), &l[i..])
            }
            _ => l.to_string(),
        })
        .collect();
    std::fs::write(conf.path().join("jail.local"), j).unwrap();
    let t = Command::new("fail2ban-client")
        .arg("-c")
        .arg(conf.path())
        .arg("-t")
        .output()
        .unwrap();
    assert!(
        t.status.success(),
        "fail2ban-client -t: {}{}",
        String::from_utf8_lossy(&t.stdout),
        String::from_utf8_lossy(&t.stderr)
    );
    let d = Command::new("fail2ban-client")
        .arg("-c")
        .arg(conf.path())
        .arg("-d")
        .output()
        .unwrap();
    assert!(d.status.success());
    String::from_utf8(d.stdout).unwrap()
}

fn sshd_port(dump: &str) -> String {
    pbx_harden::firewall::fail2ban::sshd_ports(dump).expect("the [sshd] jail has a port")
}

const ANSWERS: &str = r#"
[ssh]
port = 22022
# The demo box has no other login account: without root, nobody could log in.
permit_root_login = true

[firewall]
backend = "fail2ban"
trust_admin = true
trusted = [{ host = "198.51.100.0/24", comment = "office" }, { host = "pbx2.example.com" }]

[fail2ban]
maxretry = 5
bantime = "1h"
"#;

#[test]
fn a_new_jail_local_passes_fail2ban_client_and_bans_on_the_new_port() {
    let Some(t) = f2b_root() else { return };
    let (_s, p) = plan_for(t.path(), ANSWERS);
    assert!(p.is_valid(), "{:#?}", errors(&p));
    let j = after(&p, JAIL);
    let text = String::from_utf8(j.clone()).unwrap();
    assert!(
        text.starts_with(pbx_harden::firewall::fail2ban::HEADER),
        "{text}"
    );
    for line in [
        "[DEFAULT]\nignoreip = 127.0.0.1/8 ::1 198.51.100.0/24 pbx2.example.com 203.0.113.10\n",
        "[sshd]\nenabled = true\nport = 22022\nlogpath = /var/log/secure\nmaxretry = 5\nbantime = 1h\n",
        "[asterisk]\nenabled = true\nbackend = auto\nlogpath = /var/log/asterisk/security\n          /var/log/asterisk/messages\nmaxretry = 5\nbantime = 1h\n",
    ] {
        assert!(text.contains(line), "{line}\nin:\n{text}");
    }
    // logger.conf gets a security channel after its last [logfiles] entry; nothing else moves.
    let before = std::fs::read_to_string(t.path().join("etc/asterisk/logger.conf")).unwrap();
    assert_eq!(
        String::from_utf8(after(&p, LOGGER)).unwrap(),
        before.replace("debug,verbose\n", "debug,verbose\nsecurity => security\n")
    );
    assert!(matches!(
        check(&p, "fail2ban-client -t"),
        CheckStatus::Pass(_)
    ));
    assert!(matches!(
        check(&p, "watches port 22022"),
        CheckStatus::Pass(_)
    ));
    let dump = real_check(t.path(), &j);
    assert_eq!(sshd_port(&dump), "22022");
    assert!(dump.contains("['set', 'sshd', 'maxretry', 5]"), "{dump}");
    assert!(
        dump.contains("['set', 'asterisk', 'bantime', '1h']"),
        "{dump}"
    );
    assert!(dump.contains("'203.0.113.10'"), "ignoreip: {dump}");
    assert!(change(&p, "/etc/fail2ban/jail.conf").is_none());
}

#[test]
fn an_existing_jail_local_is_edited_in_place() {
    let Some(t) = f2b_root() else { return };
    let mine = "# my own settings\n[DEFAULT]\nbantime = 30m   \n\n[sshd]\nenabled = false\nmode = aggressive\nport = ssh\n\n[recidive]\nenabled = true\n";
    std::fs::write(t.path().join("etc/fail2ban/jail.local"), mine).unwrap();
    std::fs::write(t.path().join("var/log/fail2ban.log"), "").unwrap();
    let (_s, p) = plan_for(
        t.path(),
        "[ssh]\nport = 22022\npermit_root_login = true\n[firewall]\nbackend = \"fail2ban\"\n",
    );
    assert!(p.is_valid(), "{:#?}", errors(&p));
    let j = after(&p, JAIL);
    let text = String::from_utf8(j.clone()).unwrap();
    assert!(
        text.starts_with("# my own settings\n[DEFAULT]\nbantime = 30m   \n\n[sshd]\nenabled = true\nmode = aggressive\nport = 22022\nlogpath = /var/log/secure\n\n[recidive]\nenabled = true\n"),
        "{text}"
    );
    // Only the two values go; every other line of the admin's file stays.
    let removed: Vec<String> = changed_lines(mine.as_bytes(), &j)
        .into_iter()
        .map(|(_, b, _)| b)
        .filter(|b| !b.is_empty())
        .collect();
    assert_eq!(removed, vec!["enabled = false\n", "port = ssh\n"]);
    assert!(change(&p, "/etc/fail2ban/jail.conf").is_none());
    let dump = real_check(t.path(), &j);
    assert_eq!(sshd_port(&dump), "22022");
    assert!(
        dump.contains("['add', 'recidive'"),
        "the admin's jail stays"
    );
}

#[test]
fn without_a_move_the_jail_watches_the_current_port() {
    let Some(t) = f2b_root() else { return };
    let (_s, p) = plan_for(t.path(), "[firewall]\nbackend = \"fail2ban\"\n");
    assert!(p.is_valid(), "{:#?}", errors(&p));
    let dump = real_check(t.path(), &after(&p, JAIL));
    assert_eq!(sshd_port(&dump), "22");
    // Not trusted: a warning says the admin could ban themselves.
    assert!(matches!(check(&p, "can not ban you"), CheckStatus::Warn(_)));
}

#[test]
fn a_broken_jail_of_the_admin_is_caught_by_fail2ban_client() {
    let Some(t) = f2b_root() else { return };
    std::fs::write(
        t.path().join("etc/fail2ban/jail.local"),
        "[pbx]\nenabled = true\nfilter = asterisk\nlogpath = /var/log/nope\n",
    )
    .unwrap();
    let (_s, p) = plan_for(t.path(), "[firewall]\nbackend = \"fail2ban\"\n");
    assert!(
        matches!(check(&p, "fail2ban-client -t"), CheckStatus::Fail(m) if m.contains("pbx")),
        "{:?}",
        check(&p, "fail2ban-client -t")
    );
    assert!(!p.is_valid());
}

#[test]
fn an_asterisk_jail_without_any_log_file_is_left_off() {
    // No log file exists yet (Asterisk never ran): the jail stays off, with a warning;
    // the security channel is still added.
    let Some(t) = f2b_root() else { return };
    std::fs::remove_file(t.path().join("var/log/asterisk/messages")).unwrap();
    let (_s, p) = plan_for(t.path(), "[firewall]\nbackend = \"fail2ban\"\n");
    assert!(p.is_valid(), "{:#?}", errors(&p));
    let text = String::from_utf8(after(&p, JAIL)).unwrap();
    assert!(!text.contains("[asterisk]"), "{text}");
    assert!(
        problems(&p).contains("the [asterisk] jail is left off"),
        "{}",
        problems(&p)
    );
    real_check(t.path(), &after(&p, JAIL));
    assert!(change(&p, LOGGER).is_some());
    // A logger.conf without any file channel: the security one is the jail's only file.
    let t = f2b_root().unwrap();
    std::fs::write(
        t.path().join("etc/asterisk/logger.conf"),
        "[logfiles]\nconsole => notice,warning,error\n",
    )
    .unwrap();
    let (_s, p) = plan_for(t.path(), "[firewall]\nbackend = \"fail2ban\"\n");
    assert!(p.is_valid(), "{:#?}", errors(&p));
    assert_eq!(
        String::from_utf8(after(&p, LOGGER)).unwrap(),
        "[logfiles]\nconsole => notice,warning,error\nsecurity => security\n"
    );
    // Once Asterisk wrote it, the jail reads it.
    std::fs::write(t.path().join("etc/asterisk/logger.conf"), after(&p, LOGGER)).unwrap();
    std::fs::write(t.path().join("var/log/asterisk/security"), "").unwrap();
    let (_s, p) = plan_for(t.path(), "[firewall]\nbackend = \"fail2ban\"\n");
    assert!(p.is_valid(), "{:#?}", errors(&p));
    assert!(change(&p, LOGGER).is_none(), "logger.conf is left alone");
    let j = after(&p, JAIL);
    assert!(String::from_utf8(j.clone()).unwrap().contains(
        "[asterisk]\nenabled = true\nbackend = auto\nlogpath = /var/log/asterisk/security\n"
    ),);
    let dump = real_check(t.path(), &j);
    assert!(dump.contains("['add', 'asterisk', 'auto']"), "{dump}");
}

#[test]
fn fail2ban_answers_are_validated() {
    let Some(t) = f2b_root() else { return };
    let (_s, p) = plan_for(
        t.path(),
        "[firewall]\nbackend = \"fail2ban\"\nblocked = [{ host = \"198.51.100.7\" }]\ntrusted = [{ host = \"tcp:in:d=22:s=198.51.100.8\" }]\n[fail2ban]\nmaxretry = 0\nbantime = \"soon\"\n",
    );
    let e = errors(&p).join("\n");
    for says in [
        "fail2ban.maxretry: 0",
        "fail2ban.bantime: \"soon\" is not a time",
        "firewall.blocked: fail2ban keeps no list",
        "advanced entries are APF's",
    ] {
        assert!(e.contains(says), "{says}: {e}");
    }
}

#[test]
fn apply_then_rollback_restores_every_byte() {
    let Some(t) = f2b_root() else { return };
    let dir = t.path().to_str().unwrap().to_string();
    let before = tree(t.path(), &[STATE]);
    let answers = tempfile::tempdir().unwrap();
    let a = write_answers(answers.path(), ANSWERS);
    let o = run(&["--root", &dir, "apply", "--answers", a.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    let applied = tree(t.path(), &[STATE]);
    assert!(
        tree_diff(&before, &applied).contains(&"+ etc/fail2ban/jail.local".to_string()),
        "{:?}",
        tree_diff(&before, &applied)
    );
    let st = text(&run(&["--root", &dir, "status"]));
    assert!(
        st.contains("firewall:   fail2ban: [sshd] port 22022"),
        "{st}"
    );
    let o = run(&["--root", &dir, "rollback"]);
    assert!(o.status.success(), "{}", text(&o));
    let after = tree(t.path(), &[STATE]);
    let d: Vec<String> = tree_diff(&before, &after)
        .into_iter()
        .filter(|p| p != "+ var/lib")
        .collect();
    assert_eq!(d, Vec::<String>::new());
}

#[test]
fn a_debian_box_without_auth_log_reads_the_journal() {
    let Some(t) = f2b_root() else { return };
    std::fs::remove_file(t.path().join("etc/redhat-release")).unwrap();
    std::fs::write(t.path().join("etc/debian_version"), "12.0\n").unwrap();
    std::fs::remove_file(t.path().join("var/log/secure")).unwrap();
    std::fs::create_dir_all(t.path().join("lib/systemd")).unwrap();
    std::fs::write(t.path().join("lib/systemd/systemd"), "").unwrap();
    let (_s, p) = plan_for(t.path(), ANSWERS);
    assert!(p.is_valid(), "{:#?}", errors(&p));
    let j = after(&p, JAIL);
    let text = String::from_utf8(j.clone()).unwrap();
    assert!(
        text.contains("[sshd]\nenabled = true\nport = 22022\nbackend = systemd\n"),
        "{text}"
    );
    assert_eq!(sshd_port(&real_check(t.path(), &j)), "22022");
    // With /var/log/auth.log (rsyslog), that file.
    std::fs::write(t.path().join("var/log/auth.log"), "").unwrap();
    let (_s, p) = plan_for(t.path(), ANSWERS);
    let j = after(&p, JAIL);
    assert!(
        String::from_utf8(j.clone())
            .unwrap()
            .contains("logpath = /var/log/auth.log\n")
    );
    assert_eq!(sshd_port(&real_check(t.path(), &j)), "22022");
}

#[test]
fn a_bare_ssh_move_only_moves_the_sshd_jail() {
    let Some(t) = f2b_root() else { return };
    let (_s, p) = plan_for(t.path(), "[ssh]\nport = 22022\npermit_root_login = true\n");
    assert!(p.is_valid(), "{:#?}", errors(&p));
    let text = String::from_utf8(after(&p, JAIL)).unwrap();
    assert_eq!(
        text,
        format!(
            "{}\n[sshd]\nport = 22022\n",
            pbx_harden::firewall::fail2ban::HEADER
        )
    );
    assert!(!matches!(
        check(&p, "fail2ban-client -t"),
        CheckStatus::Fail(_)
    ));
}
