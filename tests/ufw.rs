//! The ufw backend: /etc/ufw/user.rules and user6.rules edited rule block by rule block the
//! way `ufw allow|deny|limit|insert` writes them (every rule the admin added stays byte for
//! byte), on a root laid out as Ubuntu 24.04 leaves ufw (enabled, rules written by ufw 0.36);
//! each result judged by ufw itself (`ufw show added` on a scratch root must list every
//! tuple back) and `iptables-restore --test`; a headless apply and rollback leave the root
//! byte for byte as it was.

mod common;
mod fwcommon;

use std::os::unix::fs::symlink;
use std::path::Path;

use common::{in_ci, is_root, require, require_root, run, text, tree, tree_diff, write_answers};
use fwcommon::*;
use pbx_harden::plan::CheckStatus;

fn put(dir: &Path, path: &str, body: &str) {
    let p = dir.join(path.trim_start_matches('/'));
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, body).unwrap();
}

/// A user rules file as ufw 0.36.2 writes it, around `rules`.
fn rules_file(v6: bool, rules: &str) -> String {
    let c = if v6 { "ufw6" } else { "ufw" };
    let mut s = String::from("*filter\n");
    for n in [
        "user-input",
        "user-output",
        "user-forward",
        "before-logging-input",
        "before-logging-output",
        "before-logging-forward",
        "user-logging-input",
        "user-logging-output",
        "user-logging-forward",
        "after-logging-input",
        "after-logging-output",
        "after-logging-forward",
        "logging-deny",
        "logging-allow",
        "user-limit",
        "user-limit-accept",
    ] {
        s.push_str(&format!(":{c}-{n} - [0:0]\n"));
    }
    s.push_str("### RULES ###\n");
    s.push_str(rules);
    s.push_str(&format!(
        "\n### END RULES ###\n\n### LOGGING ###\n-A {c}-after-logging-input -j LOG --log-prefix \"[UFW BLOCK] \" -m limit --limit 3/min --limit-burst 10\n-A {c}-after-logging-forward -j LOG --log-prefix \"[UFW BLOCK] \" -m limit --limit 3/min --limit-burst 10\n-I {c}-logging-deny -m conntrack --ctstate INVALID -j RETURN -m limit --limit 3/min --limit-burst 10\n-A {c}-logging-deny -j LOG --log-prefix \"[UFW BLOCK] \" -m limit --limit 3/min --limit-burst 10\n-A {c}-logging-allow -j LOG --log-prefix \"[UFW ALLOW] \" -m limit --limit 3/min --limit-burst 10\n### END LOGGING ###\n\n### RATE LIMITING ###\n-A {c}-user-limit -m limit --limit 3/minute -j LOG --log-prefix \"[UFW LIMIT BLOCK] \"\n-A {c}-user-limit -j REJECT\n-A {c}-user-limit-accept -j ACCEPT\n### END RATE LIMITING ###\nCOMMIT\n"
    ));
    s
}

// What `ufw allow 22/tcp`, `ufw allow from 192.0.2.5 to any port 8080 proto tcp comment
// monitor` and `ufw allow 80/tcp` wrote.
const RULES4: &str = "\n### tuple ### allow tcp 22 0.0.0.0/0 any 0.0.0.0/0 in\n-A ufw-user-input -p tcp --dport 22 -j ACCEPT\n\n### tuple ### allow tcp 8080 0.0.0.0/0 any 192.0.2.5 in comment=6d6f6e69746f72\n-A ufw-user-input -p tcp --dport 8080 -s 192.0.2.5 -j ACCEPT\n\n### tuple ### allow tcp 80 0.0.0.0/0 any 0.0.0.0/0 in\n-A ufw-user-input -p tcp --dport 80 -j ACCEPT\n";
const RULES6: &str = "\n### tuple ### allow tcp 22 ::/0 any ::/0 in\n-A ufw6-user-input -p tcp --dport 22 -j ACCEPT\n\n### tuple ### allow tcp 80 ::/0 any ::/0 in\n-A ufw6-user-input -p tcp --dport 80 -j ACCEPT\n";

const MONITOR: &str = "\n### tuple ### allow tcp 8080 0.0.0.0/0 any 192.0.2.5 in comment=6d6f6e69746f72\n-A ufw-user-input -p tcp --dport 8080 -s 192.0.2.5 -j ACCEPT\n";

/// The demo system without APF/BFD, laid out as Ubuntu 24.04 leaves ufw: enabled, rules
/// written by ufw.
fn ubuntu_root() -> tempfile::TempDir {
    let t = root_with(From::Absent, From::Absent);
    let d = t.path();
    put(
        d,
        "/etc/ufw/ufw.conf",
        "# /etc/ufw/ufw.conf\n#\n\nENABLED=yes\n\nLOGLEVEL=low\n",
    );
    put(d, "/etc/ufw/user.rules", &rules_file(false, RULES4));
    put(d, "/etc/ufw/user6.rules", &rules_file(true, RULES6));
    put(
        d,
        "/etc/default/ufw",
        "IPV6=yes\nDEFAULT_INPUT_POLICY=\"DROP\"\nDEFAULT_OUTPUT_POLICY=\"ACCEPT\"\nDEFAULT_FORWARD_POLICY=\"DROP\"\nDEFAULT_APPLICATION_POLICY=\"SKIP\"\nMANAGE_BUILTINS=no\nIPT_SYSCTL=/etc/ufw/sysctl.conf\nIPT_MODULES=\"\"\n",
    );
    put(
        d,
        "/usr/lib/systemd/system/ufw.service",
        "[Service]\nExecStart=/lib/ufw/ufw-init start quiet\n[Install]\nWantedBy=multi-user.target\n",
    );
    let w = d.join("etc/systemd/system/multi-user.target.wants");
    std::fs::create_dir_all(&w).unwrap();
    symlink("/usr/lib/systemd/system/ufw.service", w.join("ufw.service")).unwrap();
    t
}

const ANSWERS: &str = r#"
[ssh]
port = 22022
permit_root_login = true

[firewall]
tcp_ports = [80, 443]
udp_ports = [5060, "10000-20000"]
trust_admin = true
trusted = [{ host = "198.51.100.0/24", comment = "office" }, { host = "udp:in:d=4569:s=192.0.2.20" }, { host = "2001:db8::/32" }]
blocked = [{ host = "192.0.2.66" }]
"#;

fn real_check_passed(p: &pbx_harden::plan::Plan) {
    match check(p, "ufw lists the rules back") {
        CheckStatus::Pass(_) => {}
        other => assert!(
            !in_ci() && (require("ufw").is_none() || !is_root()),
            "{other:?}"
        ),
    }
}

fn s(p: &pbx_harden::plan::Plan, path: &str) -> String {
    String::from_utf8(after(p, path)).unwrap()
}

#[test]
fn auto_opens_the_new_port_in_ufw_and_edits_in_place() {
    let t = ubuntu_root();
    let (_, p) = plan_for(t.path(), ANSWERS);
    assert!(errors(&p).is_empty(), "{}", problems(&p));
    let u4 = s(&p, "/etc/ufw/user.rules");
    // The admin's rule stays byte for byte; 22 goes after the move; 80 stays where it was.
    assert!(u4.contains(MONITOR), "{u4}");
    assert!(!u4.contains("allow tcp 22 0.0.0.0/0"), "{u4}");
    assert!(u4.contains("### tuple ### allow tcp 80 0.0.0.0/0 any 0.0.0.0/0 in\n-A ufw-user-input -p tcp --dport 80 -j ACCEPT\n"));
    // Blocked first, then trusted, then the admin, at the top as `ufw insert 1` puts them.
    let top = "### RULES ###\n\n### tuple ### deny any any 0.0.0.0/0 any 192.0.2.66 in\n-A ufw-user-input -s 192.0.2.66 -j DROP\n\n### tuple ### allow any any 0.0.0.0/0 any 198.51.100.0/24 in comment=6f6666696365\n-A ufw-user-input -s 198.51.100.0/24 -j ACCEPT\n\n### tuple ### allow udp 4569 0.0.0.0/0 any 192.0.2.20 in\n-A ufw-user-input -p udp --dport 4569 -s 192.0.2.20 -j ACCEPT\n";
    assert!(u4.contains(top), "{u4}");
    for l in [
        "### tuple ### allow tcp 22022 0.0.0.0/0 any 203.0.113.10 in",
        "### tuple ### allow tcp 22022 0.0.0.0/0 any 0.0.0.0/0 in",
        "### tuple ### allow tcp 443 0.0.0.0/0 any 0.0.0.0/0 in",
        "### tuple ### limit udp 5060 0.0.0.0/0 any 0.0.0.0/0 in",
        "-A ufw-user-input -p udp --dport 5060 -m conntrack --ctstate NEW -m recent --update --seconds 30 --hitcount 6 -j ufw-user-limit",
        "### tuple ### allow udp 10000:20000 0.0.0.0/0 any 0.0.0.0/0 in",
        "-A ufw-user-input -p udp -m multiport --dports 10000:20000 -j ACCEPT",
    ] {
        assert!(u4.lines().any(|x| x == l), "{l} in\n{u4}");
    }
    assert!(u4.ends_with("### END RULES ###\n\n### LOGGING ###\n-A ufw-after-logging-input -j LOG --log-prefix \"[UFW BLOCK] \" -m limit --limit 3/min --limit-burst 10\n-A ufw-after-logging-forward -j LOG --log-prefix \"[UFW BLOCK] \" -m limit --limit 3/min --limit-burst 10\n-I ufw-logging-deny -m conntrack --ctstate INVALID -j RETURN -m limit --limit 3/min --limit-burst 10\n-A ufw-logging-deny -j LOG --log-prefix \"[UFW BLOCK] \" -m limit --limit 3/min --limit-burst 10\n-A ufw-logging-allow -j LOG --log-prefix \"[UFW ALLOW] \" -m limit --limit 3/min --limit-burst 10\n### END LOGGING ###\n\n### RATE LIMITING ###\n-A ufw-user-limit -m limit --limit 3/minute -j LOG --log-prefix \"[UFW LIMIT BLOCK] \"\n-A ufw-user-limit -j REJECT\n-A ufw-user-limit-accept -j ACCEPT\n### END RATE LIMITING ###\nCOMMIT\n"));
    let u6 = s(&p, "/etc/ufw/user6.rules");
    assert!(u6.contains("### tuple ### allow any any ::/0 any 2001:db8::/32 in\n-A ufw6-user-input -s 2001:db8::/32 -j ACCEPT\n"), "{u6}");
    assert!(
        u6.contains("### tuple ### limit udp 5060 ::/0 any ::/0 in"),
        "{u6}"
    );
    assert!(!u6.contains("allow tcp 22 ::/0"), "{u6}");
    assert!(matches!(
        check(&p, "SSH port 22022 is open in ufw"),
        CheckStatus::Pass(_)
    ));
    assert!(matches!(
        check(&p, "your own address passes ufw"),
        CheckStatus::Pass(_)
    ));
    assert!(
        problems(&p).contains("SIP 5060/udp as `ufw limit`")
            || p.summary.firewall.iter().any(|l| l.contains("ufw limit"))
    );
    real_check_passed(&p);
    // A second run changes nothing.
    write_all(t.path(), &p);
    let (_, p2) = plan_for(t.path(), ANSWERS);
    assert!(errors(&p2).is_empty(), "{}", problems(&p2));
    assert!(
        p2.changes.iter().all(|c| !c.path.starts_with("/etc/ufw")),
        "{:?}",
        p2.changes.iter().map(|c| &c.path).collect::<Vec<_>>()
    );
}

#[test]
fn an_ssh_move_alone_opens_the_port_and_keeps_the_rest() {
    let t = ubuntu_root();
    let (_, p) = plan_for(t.path(), "[ssh]\nport = 22022\npermit_root_login = true\n");
    assert!(errors(&p).is_empty(), "{}", problems(&p));
    let u4 = s(&p, "/etc/ufw/user.rules");
    let want = rules_file(
        false,
        &format!(
            "\n### tuple ### allow tcp 22022 0.0.0.0/0 any 203.0.113.10 in\n-A ufw-user-input -p tcp --dport 22022 -s 203.0.113.10 -j ACCEPT\n{}\n### tuple ### allow tcp 22022 0.0.0.0/0 any 0.0.0.0/0 in\n-A ufw-user-input -p tcp --dport 22022 -j ACCEPT\n",
            RULES4.replace(
                "\n### tuple ### allow tcp 22 0.0.0.0/0 any 0.0.0.0/0 in\n-A ufw-user-input -p tcp --dport 22 -j ACCEPT\n",
                ""
            )
        ),
    );
    assert_eq!(u4, want);
    real_check_passed(&p);
}

#[test]
fn what_ufw_cannot_say_is_refused_by_name() {
    let t = ubuntu_root();
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
    // A tuple ufw can not read is caught by ufw's own listing.
    if require_root() && require("ufw").is_some() {
        put(
            t.path(),
            "/etc/ufw/user.rules",
            &rules_file(
                false,
                &format!(
                    "{RULES4}\n### tuple ### allow tcp 70000 0.0.0.0/0 any 0.0.0.0/0 in\n-A ufw-user-input -p tcp --dport 70000 -j ACCEPT\n"
                ),
            ),
        );
        let (_, p) = plan_for(t.path(), "[ssh]\nport = 22022\npermit_root_login = true\n");
        assert!(
            matches!(check(&p, "ufw lists the rules back"), CheckStatus::Fail(_)),
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
    let t = ubuntu_root();
    let before = tree(t.path(), &[common::STATE]);
    let a = write_answers(t.path(), ANSWERS);
    let o = common::apply(t.path(), &a, Some("10m"));
    assert!(o.status.success(), "{}", text(&o));
    let u4 = std::fs::read_to_string(t.path().join("etc/ufw/user.rules")).unwrap();
    assert!(u4.contains("allow tcp 22022"), "{u4}");
    let o = run(&["--root", t.path().to_str().unwrap(), "rollback"]);
    assert!(o.status.success(), "{}", text(&o));
    let mut after = tree(t.path(), &[common::STATE]);
    after.retain(|k, _| !k.ends_with("answers.toml"));
    let mut b = before.clone();
    b.retain(|k, _| !k.ends_with("answers.toml"));
    let d = tree_diff(&b, &after);
    assert!(d.is_empty(), "{d:#?}");
}
