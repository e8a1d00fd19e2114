//! The firewall part on the bundled demo system (a trixbox-like box with APF 9.6 and BFD),
//! through the real binary: a headless apply followed by rollback restores every byte;
//! confirm turns DEVEL_MODE off; status shows the firewall part; a second run changes
//! nothing; the generated conf.apf and conf.bfd are read back by bash.

mod common;
mod fwcommon;

use common::{STATE, demo_root, run, text, tree, tree_diff, write_answers};
use fwcommon::*;
use pbx_harden::plan::CheckStatus;

fn demo_answers() -> &'static str {
    pbx_harden::demo::EXAMPLE_ANSWERS
}

#[test]
fn apply_then_rollback_restores_every_byte() {
    let t = demo_root();
    let dir = t.path().to_str().unwrap().to_string();
    let before = tree(t.path(), &[STATE]);
    let answers = tempfile::tempdir().unwrap();
    let a = write_answers(answers.path(), demo_answers());
    let o = run(&["--root", &dir, "apply", "--answers", a.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    let applied = tree(t.path(), &[STATE]);
    let d = tree_diff(&before, &applied);
    for f in [
        "etc/apf/conf.apf",
        "etc/apf/allow_hosts.rules",
        "etc/apf/deny_hosts.rules",
        "etc/apf/internals/functions.apf",
        "usr/local/bfd/conf.bfd",
    ] {
        assert!(d.contains(&format!("~ {f}")), "{f} not changed: {d:?}");
    }
    let conf = std::fs::read_to_string(t.path().join("etc/apf/conf.apf")).unwrap();
    assert!(
        conf.contains("\nDEVEL_MODE=\"1\"\n"),
        "DEVEL_MODE stays on until confirm"
    );
    let st = run(&["--root", &dir, "status"]);
    let s = text(&st);
    assert!(
        s.contains("firewall:   APF 9.6-4: inbound TCP 22022,80,443,5060"),
        "{s}"
    );
    assert!(
        s.contains("DEVEL_MODE=1 and the old SSH port 22 stays open until confirm"),
        "{s}"
    );
    assert!(
        conf.contains("\nIG_TCP_CPORTS=\"22022,80,443,5060,22\""),
        "{conf}"
    );
    assert!(s.contains("firewall:   BFD 1.4: TRIG=5"), "{s}");

    let o = run(&["--root", &dir, "rollback"]);
    assert!(o.status.success(), "{}", text(&o));
    let after = tree(t.path(), &[STATE]);
    // The demo root has no /var/lib: apply creates it for its own state directory.
    let d: Vec<String> = tree_diff(&before, &after)
        .into_iter()
        .filter(|p| p != "+ var/lib")
        .collect();
    assert_eq!(d, Vec::<String>::new());
}

#[test]
fn confirm_turns_devel_mode_off_and_a_second_run_changes_nothing() {
    let t = demo_root();
    let dir = t.path().to_str().unwrap().to_string();
    let answers = tempfile::tempdir().unwrap();
    let a = write_answers(answers.path(), demo_answers());
    let o = run(&["--root", &dir, "apply", "--answers", a.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    let o = run(&["--root", &dir, "confirm", "--here"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains("/etc/apf/conf.apf: DEVEL_MODE=\"0\""),
        "{}",
        text(&o)
    );
    let conf = t.path().join("etc/apf/conf.apf");
    let keys: Vec<String> = [
        "DEVEL_MODE",
        "IG_TCP_CPORTS",
        "IG_UDP_CPORTS",
        "HELPER_SSH_PORT",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let v = source(&conf, &keys, &[]);
    assert_eq!(v["DEVEL_MODE"], "0");
    assert_eq!(v["IG_TCP_CPORTS"], "22022,80,443,5060");
    assert_eq!(v["IG_UDP_CPORTS"], "5060,10000_20000,69");
    assert_eq!(v["HELPER_SSH_PORT"], "22022");
    let o = run(&["--root", &dir, "plan", "--answers", a.to_str().unwrap()]);
    assert!(text(&o).contains("No changes"), "{}", text(&o));
}

#[test]
fn the_demo_plan_is_read_back_by_bash() {
    let t = demo_root();
    let (_s, p) = plan_for(t.path(), demo_answers());
    assert!(p.is_valid(), "{:#?}", errors(&p));
    for file in ["/etc/apf/conf.apf", "/usr/local/bfd/conf.bfd"] {
        let line = settings_line(&p, file);
        let keys = settings_keys(&line);
        let env = [("HOSTNAME", "pbx1")];
        assert_eq!(
            source_bytes(&after(&p, file), &keys, &env),
            eval_settings(&line, &env),
            "{file}"
        );
        let before = std::fs::read(t.path().join(file.trim_start_matches('/'))).unwrap();
        for (n, b, a) in changed_lines(&before, &after(&p, file)) {
            let k: Vec<String> = keys_on(&b).into_iter().chain(keys_on(&a)).collect();
            assert!(
                !k.is_empty() && k.iter().all(|k| keys.contains(k)),
                "{file} line {n}:\n-{b}+{a}"
            );
        }
    }
    // The seed's UDP TOS change: one UDP twin after each TCP TOS rule, nothing else.
    let f = "/etc/apf/internals/functions.apf";
    let before = std::fs::read(t.path().join(f.trim_start_matches('/'))).unwrap();
    let changed = changed_lines(&before, &after(&p, f));
    assert_eq!(changed.len(), 2, "{changed:?}");
    for (_, b, a) in changed {
        assert!(
            b.is_empty() && a.contains("-p udp") && a.contains("--set-tos"),
            "{a}"
        );
    }
    // With the admin of Env::fixed(): trusted, and in BFD's ignore.hosts.
    assert!(
        String::from_utf8(after(&p, "/etc/apf/allow_hosts.rules"))
            .unwrap()
            .contains("\n203.0.113.10\n")
    );
    assert_eq!(
        after(&p, "/usr/local/bfd/ignore.hosts"),
        b"127.0.0.1\n203.0.113.10\n"
    );
    assert!(matches!(check(&p, "not blocked"), CheckStatus::Pass(_)));
}

#[test]
fn ports_are_validated_strictly_with_the_answers_key() {
    let t = demo_root();
    for (list, key, says) in [
        (
            "tcp_ports = [\"abc\"]",
            "firewall.tcp_ports",
            "\"abc\" is not a port",
        ),
        (
            "tcp_ports = [70000]",
            "firewall.tcp_ports",
            "70000 is not a port: use 1-65535",
        ),
        ("tcp_ports = [0]", "firewall.tcp_ports", "0 is not a port"),
        (
            "udp_ports = [\"20000-10000\"]",
            "firewall.udp_ports",
            "the low port comes first",
        ),
        (
            "udp_ports = [\"10000_20000\"]",
            "firewall.udp_ports",
            "\"low-high\"",
        ),
        (
            "tcp_ports = [80, 80]",
            "firewall.tcp_ports",
            "80 is listed twice",
        ),
        (
            "udp_ports = [\"10000-20000\", 15000]",
            "firewall.udp_ports",
            "15000 overlaps",
        ),
        (
            "tcp_ports = [5038]",
            "firewall.tcp_ports",
            "Asterisk Manager Interface",
        ),
        ("udp_ports = [4569]", "firewall.udp_ports", "IAX2"),
        ("tcp_ports = [-1]", "firewall.tcp_ports", "-1 is not a port"),
    ] {
        let (_s, p) = plan_for(
            t.path(),
            &format!("[firewall]\nbackend = \"apf\"\n{list}\n"),
        );
        let e = errors(&p).join("\n");
        assert!(e.contains(&format!("{key}: ")), "{list}: {e}");
        assert!(e.contains(says), "{list}: {e}");
    }
    // Warnings: RTP not open, TFTP without saying so, 5061 without TLS, 22 after a move.
    let (_s, p) = plan_for(
        t.path(),
        "[ssh]\nport = 22022\npermit_root_login = true\n[firewall]\nbackend = \"apf\"\ntcp_ports = [22, 5061]\nudp_ports = [5060, 69]\n",
    );
    assert!(p.is_valid(), "{:#?}", errors(&p));
    let w: Vec<String> = p.problems.iter().map(|x| x.to_string()).collect();
    let w = w.join("\n");
    for says in [
        "RTP range 10000-20000",
        "69 (TFTP)",
        "5061 is SIP over TLS",
        "22 is left out",
    ] {
        assert!(w.contains(says), "{says}: {w}");
    }
    let conf = after(&p, "/etc/apf/conf.apf");
    let v = source_bytes(&conf, &["IG_TCP_CPORTS".to_string()], &[]);
    // The old SSH port until confirm, and the plan says so.
    assert_eq!(v["IG_TCP_CPORTS"], "22022,5061,22");
    assert!(w.contains("closes when the change is confirmed"), "{w}");
    let why = &p
        .changes
        .iter()
        .find(|c| c.path == "/etc/apf/conf.apf")
        .unwrap()
        .why;
    assert!(
        why.iter()
            .any(|w| w == "the old SSH port 22 stays in IG_TCP_CPORTS until confirm"),
        "{why:?}"
    );
}

#[test]
fn interfaces_backend_and_feeds_are_checked() {
    let t = demo_root();
    let (_s, p) = plan_for(
        t.path(),
        "[firewall]\nbackend = \"apf\"\n[apf]\nuntrusted_iface = \"eth9\"\n",
    );
    let e = errors(&p).join("\n");
    assert!(
        e.contains("apf.untrusted_iface: \"eth9\" is not an interface of this system (eth0)"),
        "{e}"
    );
    let (_s, p) = plan_for(
        t.path(),
        "[firewall]\nbackend = \"apf\"\n[apf]\ntrusted_ifaces = [\"eth0\"]\n",
    );
    assert!(
        errors(&p)
            .join("\n")
            .contains("untrusted (Internet) interface")
    );
    let (_s, p) = plan_for(t.path(), "[firewall]\nbackend = \"ipfw\"\n");
    assert!(
        errors(&p)
            .join("\n")
            .contains("firewall.backend: \"ipfw\" is not a backend")
    );
    let (_s, p) = plan_for(t.path(), "[firewall]\nbackend = \"fail2ban\"\n");
    assert!(
        errors(&p)
            .join("\n")
            .contains("fail2ban is not installed here")
    );
    // An interface in conf.apf that does not exist: APF would abort after flushing.
    let conf = t.path().join("etc/apf/conf.apf");
    let c = std::fs::read_to_string(&conf)
        .unwrap()
        .replace("IFACE_IN=\"eth0\"", "IFACE_IN=\"venet0\"");
    std::fs::write(&conf, c).unwrap();
    let (_s, p) = plan_for(t.path(), "[ssh]\nport = 22022\npermit_root_login = true\n");
    assert!(
        matches!(check(&p, "interfaces exist"), CheckStatus::Fail(m) if m.contains("IFACE_IN=venet0")),
        "{:?}",
        check(&p, "interfaces exist")
    );
    // APF 9.x without wget aborts after flushing when a block list is on.
    let t = demo_root();
    std::fs::remove_file(t.path().join("usr/bin/wget")).unwrap();
    let (_s, p) = plan_for(
        t.path(),
        "[firewall]\nbackend = \"apf\"\n[apf]\ndshield = true\n",
    );
    assert!(
        errors(&p).join("\n").contains("install wget first"),
        "{:#?}",
        errors(&p)
    );
}

#[test]
fn egress_filtering_keeps_replies_to_the_admin() {
    let t = demo_root();
    let (_s, p) = plan_for(
        t.path(),
        "[firewall]\nbackend = \"apf\"\n[apf]\negress_filtering = true\n",
    );
    assert!(
        matches!(check(&p, "egress filter"), CheckStatus::Pass(_)),
        "{:?}",
        check(&p, "egress")
    );
    // A client port below 1024: APF's egress filter would drop the replies.
    let mut env = pbx_harden::system::Env::fixed();
    env.ssh_connection = Some("203.0.113.10 1022 192.0.2.5 22".into());
    let (_s, p) = plan_with_env(
        t.path(),
        "[firewall]\nbackend = \"apf\"\n[apf]\negress_filtering = true\n",
        &env,
    );
    assert!(matches!(check(&p, "egress filter"), CheckStatus::Fail(_)));
    assert!(!p.is_valid());
    let (_s, p) = plan_with_env(
        t.path(),
        "[firewall]\nbackend = \"apf\"\ntrust_admin = true\n[apf]\negress_filtering = true\n",
        &env,
    );
    assert!(p.is_valid(), "{:#?}", errors(&p));
    assert!(matches!(check(&p, "egress filter"), CheckStatus::Pass(_)));
}

#[test]
fn backend_none_still_opens_the_moved_ssh_port_in_apf() {
    let t = demo_root();
    let (_s, p) = plan_for(
        t.path(),
        "[ssh]\nport = 22022\npermit_root_login = true\n[firewall]\nbackend = \"none\"\n",
    );
    assert!(p.is_valid(), "{:#?}", errors(&p));
    let v = source_bytes(
        &after(&p, "/etc/apf/conf.apf"),
        &["IG_TCP_CPORTS".to_string(), "HELPER_SSH_PORT".to_string()],
        &[],
    );
    assert_eq!(v["IG_TCP_CPORTS"], "22022,22");
    assert_eq!(v["HELPER_SSH_PORT"], "22022");
    // Without APF and without a backend: the check says it could not look.
    let t = root_with(From::Absent, From::Absent);
    let (_s, p) = plan_for(t.path(), "[ssh]\nport = 22022\npermit_root_login = true\n");
    assert!(matches!(
        check(&p, "open in the firewall"),
        CheckStatus::Skipped(_)
    ));
}

#[test]
fn the_same_ports_in_another_order_change_nothing() {
    let t = demo_root();
    let conf = t.path().join("etc/apf/conf.apf");
    let c = std::fs::read_to_string(&conf)
        .unwrap()
        .replace("IG_TCP_CPORTS=\"22\"", "IG_TCP_CPORTS=\"443 80,22\"");
    std::fs::write(&conf, c).unwrap();
    let (_s, p) = plan_for(
        t.path(),
        "[firewall]\nbackend = \"apf\"\ntcp_ports = [80, 443]\n",
    );
    assert!(p.is_valid(), "{:#?}", errors(&p));
    assert!(change(&p, "/etc/apf/conf.apf").is_none(), "{:?}", p.changes);
}
