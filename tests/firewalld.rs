//! The firewalld backend: the default zone's file edited line by line (every other line
//! byte for byte), trusted and blocked hosts as sources of the trusted and drop zones, the
//! ssh service gone after a move, the admin's address let in by a rich rule; each result
//! judged by the real `firewall-offline-cmd --check-config` (a mount namespace over a copy of
//! /etc/firewalld); a headless apply and rollback leave the root byte for byte as it was.

mod common;
mod fwcommon;

use std::os::unix::fs::symlink;
use std::path::Path;

use common::{in_ci, is_root, require, require_root, run, text, tree, tree_diff, write_answers};
use fwcommon::*;
use pbx_harden::plan::CheckStatus;

const PUBLIC: &str = "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<zone>\n  <short>Public</short>\n  <description>For use in public areas. You do not trust the other computers on networks to not harm your computer. Only selected incoming connections are accepted.</description>\n  <service name=\"ssh\"/>\n  <service name=\"dhcpv6-client\"/>\n  <service name=\"cockpit\"/>\n  <forward/>\n</zone>\n";

fn put(dir: &Path, path: &str, body: &str) {
    let p = dir.join(path.trim_start_matches('/'));
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, body).unwrap();
}

/// The demo system without APF/BFD, laid out as Rocky 9 leaves firewalld: enabled, the stock
/// zones under /usr/lib (this host's, when firewalld is installed), public.xml already
/// changed once (so it is under /etc).
fn rocky_root() -> tempfile::TempDir {
    let t = root_with(From::Absent, From::Absent);
    let d = t.path();
    put(
        d,
        "/etc/firewalld/firewalld.conf",
        "# firewalld config file\n\nDefaultZone=public\nFirewallBackend=nftables\n",
    );
    put(d, "/etc/firewalld/zones/public.xml", PUBLIC);
    for z in ["trusted", "drop", "public", "block"] {
        let stock = Path::new("/usr/lib/firewalld/zones").join(format!("{z}.xml"));
        let body = std::fs::read_to_string(&stock).unwrap_or_else(|_| {
            format!("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<zone target=\"ACCEPT\">\n  <short>{z}</short>\n  <forward/>\n</zone>\n")
        });
        put(d, &format!("/usr/lib/firewalld/zones/{z}.xml"), &body);
    }
    put(
        d,
        "/usr/lib/systemd/system/firewalld.service",
        "[Install]\nWantedBy=multi-user.target\n",
    );
    let w = d.join("etc/systemd/system/multi-user.target.wants");
    std::fs::create_dir_all(&w).unwrap();
    symlink(
        "/usr/lib/systemd/system/firewalld.service",
        w.join("firewalld.service"),
    )
    .unwrap();
    t
}

const ANSWERS: &str = r#"
[ssh]
port = 22022
permit_root_login = true

[firewall]
tcp_ports = [80, 443, 5060]
udp_ports = [5060, "10000-20000"]
trust_admin = true
trusted = [{ host = "198.51.100.0/24", comment = "office" }, { host = "udp:in:d=4569:s=192.0.2.20" }]
blocked = [{ host = "192.0.2.66" }]
"#;

fn real_check_passed(p: &pbx_harden::plan::Plan) {
    match check(p, "firewall-offline-cmd accepts") {
        CheckStatus::Pass(_) => {}
        other => assert!(
            !in_ci() && (require("firewall-offline-cmd").is_none() || !is_root()),
            "{other:?}"
        ),
    }
}

#[test]
fn auto_opens_the_new_port_in_firewalld_and_edits_in_place() {
    let t = rocky_root();
    let (_, p) = plan_for(t.path(), ANSWERS);
    assert!(errors(&p).is_empty(), "{}", problems(&p));
    let public = String::from_utf8(after(&p, "/etc/firewalld/zones/public.xml")).unwrap();
    // Every line pbx-harden does not change stays; the ssh service goes (22 after the move).
    let kept: Vec<&str> = PUBLIC
        .lines()
        .filter(|l| !l.contains("name=\"ssh\""))
        .collect();
    let mut it = public.lines();
    for k in &kept[..kept.len() - 1] {
        assert_eq!(it.next(), Some(*k), "{public}");
    }
    for l in [
        "  <port port=\"22022\" protocol=\"tcp\"/>",
        "  <port port=\"80\" protocol=\"tcp\"/>",
        "  <port port=\"10000-20000\" protocol=\"udp\"/>",
        "  <rule family=\"ipv4\"><source address=\"203.0.113.10\"/><port port=\"22022\" protocol=\"tcp\"/><accept/></rule>",
        "  <rule family=\"ipv4\"><source address=\"192.0.2.20\"/><port port=\"4569\" protocol=\"udp\"/><accept/></rule>",
    ] {
        assert!(public.lines().any(|x| x == l), "{l} in\n{public}");
    }
    assert!(public.ends_with("</zone>\n"));
    let trusted = String::from_utf8(after(&p, "/etc/firewalld/zones/trusted.xml")).unwrap();
    assert!(
        trusted.contains("<source address=\"198.51.100.0/24\"/>"),
        "{trusted}"
    );
    assert!(
        trusted.contains("<source address=\"203.0.113.10\"/>"),
        "{trusted}"
    );
    let drop = String::from_utf8(after(&p, "/etc/firewalld/zones/drop.xml")).unwrap();
    assert!(drop.contains("<source address=\"192.0.2.66\"/>"), "{drop}");
    assert!(matches!(
        check(&p, "SSH port 22022 is open in firewalld"),
        CheckStatus::Pass(_)
    ));
    assert!(matches!(
        check(&p, "your own address passes firewalld"),
        CheckStatus::Pass(_)
    ));
    assert!(
        problems(&p).contains("dhcpv6-client, cockpit"),
        "{}",
        problems(&p)
    );
    real_check_passed(&p);
    // A second run changes nothing.
    write_all(t.path(), &p);
    let (_, p2) = plan_for(t.path(), ANSWERS);
    assert!(
        p2.changes
            .iter()
            .all(|c| !c.path.starts_with("/etc/firewalld")),
        "{:?}",
        p2.changes.iter().map(|c| &c.path).collect::<Vec<_>>()
    );
    // Moving a host from trusted to blocked takes it out of the trusted zone.
    let (_, p3) = plan_for(
        t.path(),
        &ANSWERS
            .replace("{ host = \"198.51.100.0/24\", comment = \"office\" }, ", "")
            .replace(
                "[{ host = \"192.0.2.66\" }]",
                "[{ host = \"192.0.2.66\" }, { host = \"198.51.100.0/24\" }]",
            ),
    );
    assert!(errors(&p3).is_empty(), "{}", problems(&p3));
    let trusted = String::from_utf8(after(&p3, "/etc/firewalld/zones/trusted.xml")).unwrap();
    assert!(!trusted.contains("198.51.100.0/24"), "{trusted}");
    real_check_passed(&p3);
}

#[test]
fn an_ssh_move_alone_opens_the_port_and_keeps_the_rest() {
    let t = rocky_root();
    let (_, p) = plan_for(t.path(), "[ssh]\nport = 22022\npermit_root_login = true\n");
    assert!(errors(&p).is_empty(), "{}", problems(&p));
    let public = String::from_utf8(after(&p, "/etc/firewalld/zones/public.xml")).unwrap();
    assert_eq!(
        public,
        PUBLIC.replace("  <service name=\"ssh\"/>\n", "").replace(
            "</zone>\n",
            "  <port port=\"22022\" protocol=\"tcp\"/>\n  <rule family=\"ipv4\"><source address=\"203.0.113.10\"/><port port=\"22022\" protocol=\"tcp\"/><accept/></rule>\n</zone>\n"
        )
    );
    assert!(p.changes.iter().all(|c| !c.path.ends_with("trusted.xml")));
    real_check_passed(&p);
}

#[test]
fn what_firewalld_cannot_say_is_refused_by_name() {
    let t = rocky_root();
    let (_, p) = plan_for(
        t.path(),
        &ANSWERS.replace("\"192.0.2.66\"", "\"tcp:out:d=25:d=192.0.2.66\""),
    );
    let e = errors(&p).join("\n");
    assert!(
        e.contains("firewall.blocked") && e.contains("outbound"),
        "{e}"
    );
    let (_, p) = plan_for(
        t.path(),
        &ANSWERS.replace("\"198.51.100.0/24\"", "\"pbx2.example.com\""),
    );
    let e = errors(&p).join("\n");
    assert!(
        e.contains("firewall.trusted") && e.contains("is a name"),
        "{e}"
    );
    // A broken port list in the zone is caught by firewalld's own check.
    if require_root() && require("firewall-offline-cmd").is_some() {
        put(
            t.path(),
            "/etc/firewalld/zones/public.xml",
            &PUBLIC.replace(
                "<forward/>",
                "<port port=\"70000\" protocol=\"tcp\"/>\n  <forward/>",
            ),
        );
        let (_, p) = plan_for(t.path(), "[ssh]\nport = 22022\npermit_root_login = true\n");
        assert!(
            matches!(
                check(&p, "firewall-offline-cmd accepts"),
                CheckStatus::Fail(_)
            ),
            "{}",
            problems(&p)
        );
    }
}

#[test]
fn headless_apply_and_rollback_restore_every_byte() {
    if !require_root() {
        return;
    }
    let t = rocky_root();
    let before = tree(t.path(), &[common::STATE]);
    let a = write_answers(t.path(), ANSWERS);
    let o = common::apply(t.path(), &a, Some("10m"));
    assert!(o.status.success(), "{}", text(&o));
    assert!(t.path().join("etc/firewalld/zones/trusted.xml").exists());
    let o = run(&["--root", t.path().to_str().unwrap(), "rollback"]);
    assert!(o.status.success(), "{}", text(&o));
    let mut after = tree(t.path(), &[common::STATE]);
    after.retain(|k, _| !k.ends_with("answers.toml"));
    let mut b = before.clone();
    b.retain(|k, _| !k.ends_with("answers.toml"));
    let d = tree_diff(&b, &after);
    assert!(d.is_empty(), "{d:#?}");
}

/// fail2ban next to firewalld: an SSH move opens the port in firewalld and the [sshd] jail
/// follows it, as it does without a firewall manager.
#[test]
fn fail2ban_still_follows_the_move_next_to_firewalld() {
    if require("fail2ban-client").is_none() {
        return;
    }
    let t = rocky_root();
    let st = std::process::Command::new("cp")
        .args(["-a", "/etc/fail2ban"])
        .arg(t.path().join("etc/fail2ban"))
        .status()
        .unwrap();
    assert!(st.success());
    let _ = std::fs::remove_file(t.path().join("etc/fail2ban/jail.local"));
    put(t.path(), "/var/log/secure", "");
    let (_, p) = plan_for(t.path(), "[ssh]\nport = 22022\npermit_root_login = true\n");
    assert!(errors(&p).is_empty(), "{}", problems(&p));
    assert!(
        p.changes
            .iter()
            .any(|c| c.path == "/etc/firewalld/zones/public.xml")
    );
    let jail = String::from_utf8(after(&p, "/etc/fail2ban/jail.local")).unwrap();
    assert!(jail.contains("port = 22022"), "{jail}");
}

/// A trusted zone as an admin left it (sources added with firewall-cmd, one hand-written as
/// an empty element, one with the admin's own comment, an ipset source) and a drop zone with
/// a source pbx-harden wrote with its comment. A run that does not name them keeps every
/// line; a new comment replaces the one above its source in place; `remove` takes a source
/// out with its comment and an advanced entry's rich rules; a comment firewalld's XML can
/// not hold ("--") is refused by name.
#[test]
fn the_admins_sources_are_kept_edited_in_place_and_taken_out_on_request() {
    let t = rocky_root();
    let trusted = "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<zone target=\"ACCEPT\">\n  <short>Trusted</short>\n  <description>All network connections are accepted.</description>\n  <source address=\"10.0.0.0/8\"/>\n  <!-- monitoring, ask Bob -->\n  <source address=\"192.0.2.50\" />\n  <source address=\"2001:db8:1::/48\"></source>\n  <forward/>\n</zone>\n";
    let drop = "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<zone target=\"DROP\">\n  <short>Drop</short>\n  <!-- SIP scanner -->\n  <source address=\"192.0.2.66\"/>\n</zone>\n";
    put(t.path(), "/etc/firewalld/zones/trusted.xml", trusted);
    put(t.path(), "/etc/firewalld/zones/drop.xml", drop);
    let rich = "  <rule family=\"ipv4\"><source address=\"192.0.2.20\"/><port port=\"4569\" protocol=\"udp\"/><accept/></rule>\n";
    put(
        t.path(),
        "/etc/firewalld/zones/public.xml",
        &PUBLIC.replace("</zone>", &format!("{rich}</zone>")),
    );
    let root = pbx_harden::root::Root::open(t.path()).unwrap();
    let hosts = pbx_harden::steps::firewall::firewalld::previous_hosts(&root);
    assert_eq!(hosts.len(), 4, "{hosts:?}");
    assert!(hosts.contains(&(
        "192.0.2.50".into(),
        false,
        Some("monitoring, ask Bob".into())
    )));
    assert!(hosts.contains(&("192.0.2.66".into(), true, Some("SIP scanner".into()))));
    // trust_admin adds the admin's address; nothing of the admin's goes
    let (_, p) = plan_for(t.path(), "[firewall]\ntrust_admin = true\n");
    assert!(errors(&p).is_empty(), "{}", problems(&p));
    assert_eq!(
        String::from_utf8(after(&p, "/etc/firewalld/zones/trusted.xml")).unwrap(),
        trusted.replace("</zone>", "  <source address=\"203.0.113.10\"/>\n</zone>")
    );
    assert!(change(&p, "/etc/firewalld/zones/drop.xml").is_none());
    real_check_passed(&p);
    let (_, p) = plan_for(
        t.path(),
        r#"[firewall]
trusted = [{ host = "192.0.2.50", comment = "monitoring (Zabbix)" }, { host = "10.0.0.0/8" }]
blocked = [{ host = "2001:db8:1::/48", comment = "lost branch" }]
remove = ["192.0.2.66", "udp:in:d=4569:s=192.0.2.20"]
"#,
    );
    assert!(errors(&p).is_empty(), "{}", problems(&p));
    assert_eq!(
        String::from_utf8(after(&p, "/etc/firewalld/zones/trusted.xml")).unwrap(),
        trusted
            .replace("monitoring, ask Bob", "monitoring (Zabbix)")
            .replace("  <source address=\"2001:db8:1::/48\"></source>\n", "")
    );
    assert_eq!(
        String::from_utf8(after(&p, "/etc/firewalld/zones/drop.xml")).unwrap(),
        drop.replace(
            "  <!-- SIP scanner -->\n  <source address=\"192.0.2.66\"/>\n",
            "  <!-- lost branch -->\n  <source address=\"2001:db8:1::/48\"/>\n"
        )
    );
    let public = String::from_utf8(after(&p, "/etc/firewalld/zones/public.xml")).unwrap();
    assert!(!public.contains("192.0.2.20"), "{public}");
    real_check_passed(&p);
    let (_, p) = plan_for(
        t.path(),
        "[firewall]\ntrusted = [{ host = \"192.0.2.50\", comment = \"Zabbix -- Bob\" }]\nremove = [\"192.0.2.99\"]\n",
    );
    let e = errors(&p).join("\n");
    assert!(
        e.contains("firewall.trusted") && e.contains("192.0.2.50: a comment with \"--\""),
        "{e}"
    );
    let (_, p) = plan_for(t.path(), "[firewall]\nremove = [\"192.0.2.99\"]\n");
    assert!(
        problems(&p).contains("192.0.2.99 is not in firewalld's trusted or drop zone"),
        "{}",
        problems(&p)
    );
}

/// A default zone edited by hand: ports written with their attributes the other way round,
/// as an empty element, or with a space before "/>". They count as open (never a second
/// element for the same port), stay byte for byte, and a second run changes nothing.
#[test]
fn hand_written_ports_count_and_stay() {
    let t = rocky_root();
    let hand = PUBLIC.replace(
        "  <forward/>\n",
        "  <forward/>\n  <!-- the web GUI, opened by hand -->\n  <port protocol=\"tcp\" port=\"80\" />\n  <port port=\"5060\" protocol=\"udp\"></port>\n",
    );
    put(t.path(), "/etc/firewalld/zones/public.xml", &hand);
    let answers = "[firewall]\ntcp_ports = [80, 443]\nudp_ports = [5060, \"10000-20000\"]\n";
    let (_, p) = plan_for(t.path(), answers);
    assert!(errors(&p).is_empty(), "{}", problems(&p));
    let public = String::from_utf8(after(&p, "/etc/firewalld/zones/public.xml")).unwrap();
    assert!(
        public.starts_with(&hand[..hand.find("</zone>").unwrap()]),
        "{public}"
    );
    for (port, proto) in [("80", "tcp"), ("5060", "udp")] {
        let n = public
            .lines()
            .filter(|l| l.contains(&format!("\"{port}\"")) && l.contains(proto))
            .count();
        assert_eq!(n, 1, "{port}/{proto} once in\n{public}");
    }
    real_check_passed(&p);
    write_all(t.path(), &p);
    let (_, p2) = plan_for(t.path(), answers);
    assert!(
        change(&p2, "/etc/firewalld/zones/public.xml").is_none(),
        "{}",
        problems(&p2)
    );
}

/// firewalld rewrites a zone file whenever it changes the permanent configuration
/// (`firewall-cmd --permanent`, `firewall-offline-cmd`): one element per line in a rich
/// rule, and the XML comments gone. The rich rules pbx-harden wrote on one line are the same
/// rules in that layout: a second run adds no copy of them; `remove` takes one out whole.
#[test]
fn rich_rules_firewalld_rewrote_count_as_there() {
    let t = rocky_root();
    let (_, p) = plan_for(t.path(), ANSWERS);
    assert!(errors(&p).is_empty(), "{}", problems(&p));
    write_all(t.path(), &p);
    let zone = t.path().join("etc/firewalld/zones/public.xml");
    let ours = std::fs::read_to_string(&zone).unwrap();
    assert!(ours.contains("<accept/></rule>"), "{ours}");
    // firewalld's own rewrite (the real firewall-offline-cmd, in a mount namespace over this
    // root's /etc/firewalld, when it is here and we are root), else the layout firewalld
    // 1.3.3's writes, as it wrote it here
    let real = require_root() && require("firewall-offline-cmd").is_some();
    if real {
        let o = std::process::Command::new("unshare")
            .args(["-m", "sh", "-c"])
            .arg(
                "mount --bind \"$1\" /etc/firewalld && firewall-offline-cmd --zone=public \
                 --add-port=1/tcp && firewall-offline-cmd --zone=public --remove-port=1/tcp",
            )
            .arg("sh")
            .arg(t.path().join("etc/firewalld"))
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", text(&o));
    } else {
        let mut out = String::new();
        for l in ours.lines() {
            match l.trim().strip_prefix("<rule family=\"ipv4\">") {
                Some(inner) => {
                    out.push_str("  <rule family=\"ipv4\">\n");
                    for e in inner.strip_suffix("</rule>").unwrap().split_inclusive("/>") {
                        out.push_str(&format!("    {e}\n"));
                    }
                    out.push_str("  </rule>\n");
                }
                None => out.push_str(&format!("{l}\n")),
            }
        }
        std::fs::write(&zone, out).unwrap();
    }
    let rewritten = std::fs::read_to_string(&zone).unwrap();
    assert!(
        rewritten.contains("  <rule family=\"ipv4\">\n    <source address=\"203.0.113.10\"/>\n"),
        "{rewritten}"
    );
    let (_, p2) = plan_for(t.path(), ANSWERS);
    assert!(errors(&p2).is_empty(), "{}", problems(&p2));
    assert!(
        change(&p2, "/etc/firewalld/zones/public.xml").is_none(),
        "{}",
        String::from_utf8_lossy(&after(&p2, "/etc/firewalld/zones/public.xml"))
    );
    // an advanced entry taken out leaves whole, in firewalld's layout too
    let (_, p3) = plan_for(
        t.path(),
        &ANSWERS.replace(
            ", { host = \"udp:in:d=4569:s=192.0.2.20\" }]",
            "]\nremove = [\"udp:in:d=4569:s=192.0.2.20\"]",
        ),
    );
    assert!(errors(&p3).is_empty(), "{}", problems(&p3));
    let public = String::from_utf8(after(&p3, "/etc/firewalld/zones/public.xml")).unwrap();
    assert_eq!(
        public,
        rewritten.replace(
            "  <rule family=\"ipv4\">\n    <source address=\"192.0.2.20\"/>\n    <port port=\"4569\" protocol=\"udp\"/>\n    <accept/>\n  </rule>\n",
            ""
        )
    );
    real_check_passed(&p3);
}

/// A rich rule the admin added with firewall-cmd (firewalld writes it over several lines):
/// its `<port>` and `<source>` are the rule's, not the zone's. The plan took its `<port>`
/// line for a port of the zone and removed it when the answers left that port out, which
/// turned "192.0.2.30 may reach AMI" into "192.0.2.30 may reach everything"; and a port
/// line of a rule that looked like the SSH port's kept the SSH port from being opened.
#[test]
fn the_admins_rich_rules_stay_whole() {
    let t = rocky_root();
    let rules = "  <rule family=\"ipv4\">\n    <source address=\"192.0.2.30\"/>\n    <port port=\"5038\" protocol=\"tcp\"/>\n    <accept/>\n  </rule>\n  <rule family=\"ipv4\">\n    <source address=\"192.0.2.31\"/>\n    <port port=\"22022\" protocol=\"tcp\"/>\n    <log prefix=\"ssh from the NOC\" level=\"info\">\n      <limit value=\"1/m\"/>\n    </log>\n    <accept/>\n  </rule>\n";
    let zone = PUBLIC.replace("  <forward/>\n", &format!("  <forward/>\n{rules}"));
    put(t.path(), "/etc/firewalld/zones/public.xml", &zone);
    let (_, p) = plan_for(t.path(), ANSWERS);
    assert!(errors(&p).is_empty(), "{}", problems(&p));
    let public = String::from_utf8(after(&p, "/etc/firewalld/zones/public.xml")).unwrap();
    assert!(public.contains(rules), "{public}");
    assert!(
        public
            .lines()
            .any(|l| l == "  <port port=\"22022\" protocol=\"tcp\"/>"),
        "{public}"
    );
    // the rules' ports and sources are not the zone's
    let z = pbx_harden::steps::firewall::firewalld::Zone::parse(zone.as_bytes());
    assert!(z.ports().is_empty(), "{:?}", z.ports());
    assert!(z.sources().is_empty(), "{:?}", z.sources());
    real_check_passed(&p);
    // and a second run changes nothing
    write_all(t.path(), &p);
    let (_, p2) = plan_for(t.path(), ANSWERS);
    assert!(
        change(&p2, "/etc/firewalld/zones/public.xml").is_none(),
        "{}",
        problems(&p2)
    );
}
