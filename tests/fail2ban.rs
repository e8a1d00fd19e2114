//! fail2ban where APF/BFD are absent: every generated jail.local is checked with the real
//! `fail2ban-client -t`, `fail2ban-client -d` shows the new SSH port in the [sshd] jail and
//! the banaction of the firewall in charge, the [asterisk] jail reads the files logger.conf
//! writes (its security channel added when missing), each jail's filter finds the hosts in
//! sample lines of the log it reads with the real `fail2ban-regex` (syslog and journal sshd
//! lines, Asterisk security and PJSIP notice lines), and a headless apply followed by
//! rollback restores every byte. The test roots get the host's own fail2ban configuration
//! (installed by .ci/run), never a copy of the corpus.

mod common;
mod fwcommon;

use std::path::Path;
use std::process::Command;

use common::{STATE, require, require_root, run, text, tree, tree_diff, write_answers};
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

/// A copy of the root's fail2ban configuration with `jail_local`, its log paths (every line
/// of a logpath) pointing into the root.
fn conf_copy(root: &Path, jail_local: &[u8]) -> tempfile::TempDir {
    let conf = tempfile::tempdir().unwrap();
    let st = Command::new("cp")
        .args(["-a"])
        .arg(root.join("etc/fail2ban/."))
        .arg(conf.path())
        .status()
        .unwrap();
    assert!(st.success());
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
    conf
}

/// Run the real fail2ban-client on `jail_local` against the root's fail2ban configuration,
/// independently of pbx-harden: log paths point into the root. Returns the `-d` dump.
fn real_check(root: &Path, jail_local: &[u8]) -> String {
    let conf = conf_copy(root, jail_local);
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
    pbx_harden::steps::bruteforce::fail2ban::sshd_ports(dump).expect("the [sshd] jail has a port")
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
        text.starts_with(pbx_harden::steps::bruteforce::fail2ban::HEADER),
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
    // fail2ban reads the journal through python3-systemd: said when it is missing.
    assert!(problems(&p).contains("python3-systemd"), "{}", problems(&p));
    let py = t.path().join("usr/lib/python3/dist-packages/systemd");
    std::fs::create_dir_all(&py).unwrap();
    std::fs::write(py.join("journal.py"), "").unwrap();
    let (_s, p) = plan_for(t.path(), ANSWERS);
    assert!(
        !problems(&p).contains("python3-systemd"),
        "{}",
        problems(&p)
    );
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
            pbx_harden::steps::bruteforce::fail2ban::HEADER
        )
    );
    assert!(!matches!(
        check(&p, "fail2ban-client -t"),
        CheckStatus::Fail(_)
    ));
}

/// The real `fail2ban-regex` on `lines` with `filter` (a filter of the root's filter.d, with
/// options as a jail's `filter =` gives them): the addresses it finds, in order. `journal`: the lines carry no date, as fail2ban's
/// systemd backend hands them over (`HOST IDENT[PID]: MESSAGE`, the time apart).
fn regex_hosts(root: &Path, filter: &str, lines: &[&str], journal: bool) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("sample.log");
    std::fs::write(&log, lines.join("\n") + "\n").unwrap();
    let mut c = Command::new("fail2ban-regex");
    c.arg("-c").arg(root.join("etc/fail2ban"));
    c.args(["-o", "ip"]);
    if journal {
        c.args(["-d", "{NONE}"]);
    }
    let o = c.arg(&log).arg(filter).output().unwrap();
    assert!(
        o.status.success(),
        "fail2ban-regex {filter}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

/// Failures of sshd as they reach fail2ban, and a login that must not count.
const SSHD_LINES: [&str; 3] = [
    "sshd[1234]: Failed password for invalid user admin from 203.0.113.9 port 50022 ssh2",
    "sshd[1235]: Invalid user oracle from 198.51.100.23 port 41234",
    "sshd[1236]: Accepted publickey for root from 192.0.2.50 port 50000 ssh2: ED25519 SHA256:x",
];

#[test]
fn each_jail_reads_lines_its_filter_matches_with_the_real_fail2ban_regex() {
    let Some(t) = f2b_root() else { return };
    let Some(_) = require("fail2ban-regex") else {
        return;
    };
    let (_s, p) = plan_for(t.path(), ANSWERS);
    assert!(p.is_valid(), "{:#?}", errors(&p));
    let j = pbx_harden::config::jail::JailFile::parse(&after(&p, JAIL));
    // pbx-harden's jails use fail2ban's own filters.
    for jail in ["sshd", "asterisk"] {
        assert_eq!(j.get(jail, "filter"), None, "{jail}");
    }
    // [sshd] reading /var/log/secure (or auth.log): syslog lines.
    let syslog: Vec<String> = SSHD_LINES
        .iter()
        .map(|l| format!("Dec  2 05:00:00 pbx {l}"))
        .collect();
    let syslog: Vec<&str> = syslog.iter().map(String::as_str).collect();
    assert_eq!(
        regex_hosts(t.path(), "sshd", &syslog, false),
        ["203.0.113.9", "198.51.100.23"]
    );
    // [asterisk]: the security log (Asterisk's default date and FreePBX's %F %T), and the
    // PJSIP notice of the messages file.
    let ast = [
        r#"[2026-12-02 05:00:00] SECURITY[1234] res_security_log.c: SecurityEvent="InvalidAccountID",EventTV="2026-12-02T05:00:00.123456+0000",Severity="Error",Service="SIP",EventVersion="1",AccountID="100",SessionID="0x7f3a1c004b30",LocalAddress="IPV4/UDP/192.0.2.1/5060",RemoteAddress="IPV4/UDP/203.0.113.9/5060""#,
        r#"[Dec  2 05:00:01] SECURITY[1234] res_security_log.c: SecurityEvent="ChallengeResponseFailed",EventTV="2026-12-02T05:00:01.000000+0000",Severity="Error",Service="PJSIP",EventVersion="1",AccountID="101",SessionID="5a7c-11",LocalAddress="IPV4/UDP/192.0.2.1/5060",RemoteAddress="IPV4/UDP/198.51.100.23/5062",Challenge="1a2b3c",ReceivedChallenge="1a2b3c",ReceivedHash="0123456789abcdef""#,
        r#"[2026-12-02 05:00:02] SECURITY[1234] res_security_log.c: SecurityEvent="InvalidPassword",EventTV="2026-12-02T05:00:02.000000+0000",Severity="Error",Service="PJSIP",EventVersion="2",AccountID="102",SessionID="5a7c-12",LocalAddress="IPV6/UDP/2001:db8::1/5060",RemoteAddress="IPV6/UDP/2001:db8:9::7/5060",Challenge="",ReceivedChallenge="",ReceivedHash="""#,
        r#"[2026-12-02 05:00:03] SECURITY[1234] res_security_log.c: SecurityEvent="SuccessfulAuth",EventTV="2026-12-02T05:00:03.000000+0000",Severity="Informational",Service="PJSIP",EventVersion="1",AccountID="103",SessionID="5a7c-13",LocalAddress="IPV4/UDP/192.0.2.1/5060",RemoteAddress="IPV4/UDP/192.0.2.50/5060",UsingPassword="1""#,
        "[2026-12-02 05:00:04] NOTICE[2345] res_pjsip/pjsip_distributor.c: Request 'REGISTER' from '<sip:100@192.0.2.1>' failed for '203.0.113.77:5060' (callid: 1234abcd) - No matching endpoint found",
    ];
    assert_eq!(
        regex_hosts(t.path(), "asterisk", &ast, false),
        [
            "203.0.113.9",
            "198.51.100.23",
            "2001:db8:9::7",
            "203.0.113.77"
        ]
    );

    // Debian 12 without auth.log: [sshd] reads the journal, whose entries reach the filter
    // without a date; its journalmatch takes sshd's entries.
    std::fs::remove_file(t.path().join("etc/redhat-release")).unwrap();
    std::fs::write(t.path().join("etc/debian_version"), "12.0\n").unwrap();
    std::fs::remove_file(t.path().join("var/log/secure")).unwrap();
    std::fs::create_dir_all(t.path().join("lib/systemd")).unwrap();
    std::fs::write(t.path().join("lib/systemd/systemd"), "").unwrap();
    let (_s, p) = plan_for(t.path(), ANSWERS);
    let j = pbx_harden::config::jail::JailFile::parse(&after(&p, JAIL));
    assert_eq!(j.get("sshd", "backend").as_deref(), Some("systemd"));
    let journal: Vec<String> = SSHD_LINES.iter().map(|l| format!("pbx {l}")).collect();
    let journal: Vec<&str> = journal.iter().map(String::as_str).collect();
    assert_eq!(
        regex_hosts(t.path(), "sshd", &journal, true),
        ["203.0.113.9", "198.51.100.23"]
    );
    let filter = std::fs::read_to_string(t.path().join("etc/fail2ban/filter.d/sshd.conf")).unwrap();
    assert!(filter.contains("_COMM=sshd"), "journalmatch: {filter}");
    assert_eq!(j.get("sshd", "filter"), None);

    // OpenSSH 9.8+ logs as sshd-session. A fail2ban whose sshd filter does not know that
    // name (before 1.1) gets a [sshd] filter that does, in files and in the journal.
    let lib = t.path().join("usr/lib/openssh");
    std::fs::create_dir_all(&lib).unwrap();
    std::fs::write(lib.join("sshd-session"), "").unwrap();
    let session: Vec<String> = SSHD_LINES
        .iter()
        .map(|l| format!("pbx {}", l.replace("sshd[", "sshd-session[")))
        .collect();
    let session: Vec<&str> = session.iter().map(String::as_str).collect();
    let (_s, p) = plan_for(t.path(), ANSWERS);
    let jl = after(&p, JAIL);
    let j = pbx_harden::config::jail::JailFile::parse(&jl);
    assert_eq!(
        j.get("sshd", "filter").is_some(),
        !filter.contains("sshd-session"),
        "{}",
        String::from_utf8_lossy(&jl)
    );
    match j.get("sshd", "filter") {
        Some(f) => {
            assert!(problems(&p).contains("sshd-session"), "{}", problems(&p));
            assert_eq!(
                regex_hosts(t.path(), &f, &session, true),
                ["203.0.113.9", "198.51.100.23"]
            );
            let dump = real_check(t.path(), &jl);
            assert!(dump.contains("'+', '_COMM=sshd-session']"), "{dump}");
        }
        // This host's fail2ban reads sshd-session already (1.1 and later).
        None => assert_eq!(
            regex_hosts(t.path(), "sshd", &session, true),
            ["203.0.113.9", "198.51.100.23"]
        ),
    }
    // In a log file (rsyslog), the same lines with a date.
    std::fs::write(t.path().join("var/log/auth.log"), "").unwrap();
    let (_s, p) = plan_for(t.path(), ANSWERS);
    let j = pbx_harden::config::jail::JailFile::parse(&after(&p, JAIL));
    let dated: Vec<String> = session
        .iter()
        .map(|l| format!("Dec  2 05:00:00 {l}"))
        .collect();
    let dated: Vec<&str> = dated.iter().map(String::as_str).collect();
    let f = j.get("sshd", "filter").unwrap_or_else(|| "sshd".into());
    assert_eq!(
        regex_hosts(t.path(), &f, &dated, false),
        ["203.0.113.9", "198.51.100.23"]
    );
}

#[test]
fn bans_go_through_the_firewall_in_charge() {
    let Some(t) = f2b_root() else { return };
    let ban = |t: &Path| {
        let (_s, p) = plan_for(t, ANSWERS);
        assert!(p.is_valid(), "{:#?}", errors(&p));
        let j = after(&p, JAIL);
        let dump = real_check(t, &j);
        let jf = pbx_harden::config::jail::JailFile::parse(&j);
        (jf.get("DEFAULT", "banaction"), dump)
    };
    // No manager, only nft installed (Debian 12 has no iptables by default).
    let sbin = t.path().join("usr/sbin");
    std::fs::create_dir_all(&sbin).unwrap();
    std::fs::write(sbin.join("nft"), "").unwrap();
    let (a, dump) = ban(t.path());
    assert_eq!(a.as_deref(), Some("nftables-multiport"));
    assert!(
        dump.contains("['set', 'sshd', 'addaction', 'nftables-multiport']"),
        "{dump}"
    );
    // With iptables too: iptables-multiport, as fail2ban's default.
    std::fs::write(sbin.join("iptables"), "").unwrap();
    assert_eq!(ban(t.path()).0.as_deref(), Some("iptables-multiport"));
    // ufw in charge: its own action.
    std::fs::create_dir_all(t.path().join("etc/ufw")).unwrap();
    std::fs::write(t.path().join("etc/ufw/ufw.conf"), "ENABLED=yes\n").unwrap();
    let (a, dump) = ban(t.path());
    assert_eq!(a.as_deref(), Some("ufw"));
    assert!(
        dump.contains("['set', 'sshd', 'addaction', 'ufw']"),
        "{dump}"
    );
    // firewalld in charge: rich rules, as Fedora's own fail2ban-firewalld does.
    std::fs::remove_file(t.path().join("etc/ufw/ufw.conf")).unwrap();
    let wants = t.path().join("etc/systemd/system/multi-user.target.wants");
    std::fs::create_dir_all(&wants).unwrap();
    std::fs::write(wants.join("firewalld.service"), "").unwrap();
    let (a, dump) = ban(t.path());
    assert_eq!(
        a.as_deref(),
        Some("firewallcmd-rich-rules[actiontype=<multiport>]")
    );
    assert!(
        dump.contains("['set', 'sshd', 'addaction', 'firewallcmd-rich-rules']"),
        "{dump}"
    );
    // The admin's own banaction in jail.local stays, with a word when it is another
    // firewall's; the same family stays silently.
    for (mine, warned) in [
        ("iptables-ipset-proto6", true),
        ("firewallcmd-ipset", false),
    ] {
        std::fs::write(
            t.path().join("etc/fail2ban/jail.local"),
            format!("[DEFAULT]\nbanaction = {mine}\n"),
        )
        .unwrap();
        let (_s, p) = plan_for(t.path(), ANSWERS);
        let j = pbx_harden::config::jail::JailFile::parse(&after(&p, JAIL));
        assert_eq!(j.get("DEFAULT", "banaction").as_deref(), Some(mine));
        assert_eq!(
            problems(&p).contains("bans with banaction"),
            warned,
            "{}",
            problems(&p)
        );
    }
}

/// The real fail2ban-server, in a network namespace of its own, with the jail.local
/// pbx-harden writes on a box where only nft is installed: failures in the sshd and Asterisk
/// logs end as bans in nftables (fail2ban's `inet f2b-table`) on the jails' ports, a trusted
/// host is never banned, and stopping fail2ban leaves the ruleset empty again.
#[test]
fn a_real_fail2ban_bans_through_nftables() {
    let Some(t) = f2b_root() else { return };
    if !require_root() || require("nft").is_none() || require("unshare").is_none() {
        return;
    }
    let sbin = t.path().join("usr/sbin");
    std::fs::create_dir_all(&sbin).unwrap();
    std::fs::write(sbin.join("nft"), "").unwrap();
    let (_s, p) = plan_for(t.path(), ANSWERS);
    assert!(p.is_valid(), "{:#?}", errors(&p));
    let j = after(&p, JAIL);
    assert!(String::from_utf8_lossy(&j).contains("banaction = nftables-multiport\n"));
    let conf = conf_copy(t.path(), &j);
    let run_dir = tempfile::tempdir().unwrap();
    let rd = run_dir.path().display();
    std::fs::write(
        conf.path().join("fail2ban.local"),
        format!(
            "[Definition]\nlogtarget = {rd}/f2b.log\nsocket = {rd}/f2b.sock\npidfile = \
             {rd}/f2b.pid\ndbfile = :memory:\n"
        ),
    )
    .unwrap();
    let secure = t.path().join("var/log/secure");
    let messages = t.path().join("var/log/asterisk/messages");
    let c = conf.path().display();
    // maxretry = 5 in the answers: six failures from each attacker, written after start.
    let script = format!(
        r#"set -e
trap 'fail2ban-client -c {c} stop >/dev/null 2>&1 || true' EXIT
fail2ban-client -c {c} -x start >/dev/null 2>&1
for i in 1 2 3 4 5 6; do
  echo "$(date '+%b %e %H:%M:%S') pbx sshd[1234]: Failed password for root from 203.0.113.9 port 5002$i ssh2" >> {secure}
  echo "$(date '+%b %e %H:%M:%S') pbx sshd[1235]: Failed password for root from 198.51.100.23 port 5003$i ssh2" >> {secure}
  echo "[$(date '+%F %T')] SECURITY[1234] res_security_log.c: SecurityEvent=\"InvalidPassword\",EventTV=\"$(date -Iseconds)\",Severity=\"Error\",Service=\"PJSIP\",EventVersion=\"2\",AccountID=\"100\",SessionID=\"x$i\",LocalAddress=\"IPV4/UDP/192.0.2.1/5060\",RemoteAddress=\"IPV4/UDP/203.0.113.77/5060\",Challenge=\"\",ReceivedChallenge=\"\",ReceivedHash=\"\"" >> {messages}
done
for i in $(seq 1 40); do
  if nft list ruleset 2>/dev/null | grep -q 203.0.113.77 && nft list ruleset | grep -q 203.0.113.9; then break; fi
  sleep 0.25
done
nft list ruleset
fail2ban-client -c {c} stop >/dev/null 2>&1
echo '--- after stop'
nft list ruleset
"#,
        secure = secure.display(),
        messages = messages.display(),
    );
    let o = Command::new("unshare")
        .args(["-n", "bash", "-c", &script])
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout).to_string();
    let log = std::fs::read_to_string(run_dir.path().join("f2b.log")).unwrap_or_default();
    assert!(
        o.status.success(),
        "{out}{}\n{log}",
        String::from_utf8_lossy(&o.stderr)
    );
    let (during, after_stop) = out.split_once("--- after stop").unwrap();
    for want in [
        "table inet f2b-table",
        "elements = { 203.0.113.9 }",
        "tcp dport 22022 ip saddr @addr-set-sshd",
        "elements = { 203.0.113.77 }",
    ] {
        assert!(during.contains(want), "{want}:\n{during}\n{log}");
    }
    // The office network is trusted (ignoreip): its failures ban nothing.
    assert!(!during.contains("198.51.100.23"), "{during}");
    assert!(log.contains("Ignore 198.51.100.23"), "{log}");
    // The Asterisk jail bans its ports (jail.conf: 5060,5061 over tcp and udp).
    assert!(
        during.contains("dport { 5060, 5061 } ip saddr @addr-set-asterisk"),
        "{during}"
    );
    assert_eq!(after_stop.trim(), "", "fail2ban's table goes at stop");
}
