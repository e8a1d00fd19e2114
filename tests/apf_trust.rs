//! APF trust files through the plan, on every APF release of the corpus: add, duplicates,
//! exact removal next to a prefix-sharing entry (which APF's own `apf -u` gets wrong), the
//! comment format of each version, bad hosts refused with their message, and the lockout
//! rules (never block the admin, a network holding the admin, or a local address).

mod common;
mod fwcommon;

use std::process::Command;

use fwcommon::*;
use pbx_harden::config::trust::{TrustFile, TrustFormat};
use pbx_harden::plan::CheckStatus;

const DENY: &str = "/etc/apf/deny_hosts.rules";
const ALLOW: &str = "/etc/apf/allow_hosts.rules";

fn format_of(etc_apf: &std::path::Path) -> TrustFormat {
    let v = std::fs::read_to_string(etc_apf.join("VERSION")).unwrap();
    TrustFormat::from_version(v.trim().trim_start_matches("version:")).unwrap()
}

/// The demo system's APF (9.6) always, and every APF release of the corpus when it is set.
fn each_version(f: impl Fn(&str, From<'_>, TrustFormat)) {
    let demo = root_with(From::Demo, From::Absent);
    f("demo", From::Demo, format_of(&demo.path().join("etc/apf")));
    let Some(corpus) = common::corpus("apf") else {
        return;
    };
    for dir in versions(&corpus) {
        let v = dir.file_name().unwrap().to_string_lossy().into_owned();
        f(&v, From::Dir(&dir), format_of(&dir));
    }
}

fn shipped(t: &tempfile::TempDir, name: &str) -> Vec<u8> {
    std::fs::read(t.path().join("etc/apf").join(name)).unwrap()
}

#[test]
fn exact_removal_keeps_the_prefix_sharing_neighbour() {
    each_version(|v, src, fmt| {
        let t = root_with(src, From::Absent);
        let shipped_deny = shipped(&t, "deny_hosts.rules");
        let (_s, p) = plan_for(
            t.path(),
            r#"[firewall]
backend = "apf"
blocked = [{ host = "198.51.100.77", comment = "neighbour" }, { host = "198.51.100.7", comment = "scanner" }]
"#,
        );
        assert!(p.is_valid(), "{v}: {:#?}", errors(&p));
        write_all(t.path(), &p);
        let with_both = std::fs::read(t.path().join("etc/apf/deny_hosts.rules")).unwrap();
        let mut want = TrustFile::parse(&shipped_deny, fmt).entries();
        want.extend(["198.51.100.77".to_string(), "198.51.100.7".to_string()]);
        assert_eq!(TrustFile::parse(&with_both, fmt).entries(), want, "{v}");
        // 9.x deny: comment + entry, no blank line.
        let text = String::from_utf8(with_both.clone()).unwrap();
        if fmt == TrustFormat::Apf9 {
            assert!(
                text.ends_with("with comment: scanner       \n198.51.100.7\n"),
                "{v}: {text:?}"
            );
        }

        // The same again: nothing to add.
        let (_s, again) = plan_for(
            t.path(),
            "[firewall]\nbackend = \"apf\"\nblocked = [{ host = \"198.51.100.7\" }]\n",
        );
        assert!(change(&again, DENY).is_none(), "{v}: duplicate added");

        // Remove .7: .77 and its comment stay, .7 and its comment go, nothing else moves.
        let (_s, p) = plan_for(
            t.path(),
            "[firewall]\nbackend = \"apf\"\nremove = [\"198.51.100.7\"]\n",
        );
        assert!(p.is_valid(), "{v}: {:#?}", errors(&p));
        let after_rm = String::from_utf8(after(&p, DENY)).unwrap();
        assert!(after_rm.contains("\n198.51.100.77\n"), "{v}");
        assert!(after_rm.contains("# added 198.51.100.77 on "), "{v}");
        assert!(!after_rm.contains("# added 198.51.100.7 on "), "{v}");
        assert!(!after_rm.lines().any(|l| l == "198.51.100.7"), "{v}");
        let removed: Vec<_> = changed_lines(&with_both, after_rm.as_bytes());
        assert_eq!(removed.len(), 2, "{v}: {removed:?}");
        assert!(
            removed.iter().all(|(_, _, a)| a.is_empty()),
            "{v}: only deletions"
        );

        // What APF 1.7.6's own `apf -u` does (sed -i "/$DIP/d"): the neighbour goes too.
        let copy = t.path().join("apf-u-copy");
        std::fs::write(&copy, &with_both).unwrap();
        let st = Command::new("sed")
            .args(["-i", "/198.51.100.7/d"])
            .arg(&copy)
            .status()
            .unwrap();
        assert!(st.success());
        let apf_u = std::fs::read_to_string(&copy).unwrap();
        assert!(!apf_u.contains("198.51.100.77"), "the APF bug this avoids");
    });
}

#[test]
fn allow_entries_in_each_versions_format() {
    each_version(|v, src, fmt| {
        let t = root_with(src, From::Absent);
        let (_s, p) = plan_for(
            t.path(),
            r#"[firewall]
backend = "apf"
trusted = [{ host = "tcp:in:d=4569:s=198.51.100.30", comment = "IAX peer" }, { host = "192.0.2.128/25" }]
"#,
        );
        // 192.0.2.128/25 does not hold the server's own 192.0.2.5: fine.
        assert!(p.is_valid(), "{v}: {:#?}", errors(&p));
        let before = shipped(&t, "allow_hosts.rules");
        let a = after(&p, ALLOW);
        let added = String::from_utf8(a[before.len()..].to_vec()).unwrap();
        let first = added.lines().next().unwrap();
        let date = r"\d\d/\d\d/\d\d \d\d:\d\d:\d\d";
        let re = match fmt {
            TrustFormat::Apf2 => format!(
                "^# added tcp:in:d=4569:s=198.51.100.30 on {date} addedtime=\\d+ with comment: IAX peer$"
            ),
            TrustFormat::Apf17 => {
                format!("^# added tcp:in:d=4569:s=198.51.100.30 on {date} with comment: IAX peer$")
            }
            TrustFormat::Apf9 => format!(
                "^# added tcp:in:d=4569:s=198.51.100.30 on {date} with comment: IAX peer {{7}}$"
            ),
        };
        assert!(matches(&re, first), "{v}: {first:?} !~ {re}");
        assert_eq!(
            TrustFile::parse(&a, fmt).entries(),
            vec!["tcp:in:d=4569:s=198.51.100.30", "192.0.2.128/25"],
            "{v}"
        );
    });
}

/// A tiny regex check through grep -P (no regex crate in the project).
fn matches(re: &str, text: &str) -> bool {
    let mut c = Command::new("grep")
        .args(["-qP", re])
        .stdin(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    c.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
    c.wait().unwrap().success()
}

#[test]
fn bad_hosts_are_refused_with_their_message() {
    each_version(|v, src, fmt| {
        let t = root_with(src, From::Absent);
        let mut cases = vec![
            ("192.0.2.50 # office", "spaces and \"#\""),
            ("192.0.2.53/33", "/33 is not a prefix length"),
            ("1.2.3", "not a complete IPv4 address"),
            ("0/0", "in full, e.g. 0.0.0.0/0"),
            ("192.0.2.7/24", "host bits set"),
            ("tcp:in:d=70000:s=198.51.100.1", "\"70000\" is not a port"),
            ("icmp:in:d=22:s=198.51.100.1", "not a protocol"),
            ("pbx2", "not a fully qualified name"),
            ("999.1.1.1", "\"999\" is not a number 0-255"),
        ];
        if fmt != TrustFormat::Apf2 {
            cases.push(("d=22:s=[2001:db8::1]", "needs APF 2.x"));
        }
        if fmt == TrustFormat::Apf9 {
            cases.push(("2001:db8::1", "no IPv6 support"));
        } else {
            cases.push(("2001:db8::1", "USE_IPV6"));
        }
        for (host, says) in cases {
            let (_s, p) = plan_for(
                t.path(),
                &format!("[firewall]\nbackend = \"apf\"\nblocked = [{{ host = '{host}' }}]\n"),
            );
            let e = errors(&p).join("\n");
            assert!(
                e.contains("firewall.blocked") || e.contains("firewall.trusted"),
                "{v}: {host}: {e}"
            );
            assert!(e.contains(says), "{v}: {host}: {e}");
            assert!(change(&p, DENY).is_none(), "{v}: {host}");
        }
        let (_s, p) = plan_for(
            t.path(),
            "[firewall]\nbackend = \"apf\"\ntrusted = [{ host = \"198.51.100.9\" }, { host = \"198.51.100.9\" }]\n",
        );
        assert!(errors(&p).join("\n").contains("listed twice"), "{v}");
        let (_s, p) = plan_for(
            t.path(),
            "[firewall]\nbackend = \"apf\"\ntrusted = [{ host = \"198.51.100.9\", comment = \"a\\nb\" }]\n",
        );
        assert!(errors(&p).join("\n").contains("one line of text"), "{v}");
    });
}

#[test]
fn the_admin_and_the_server_itself_are_never_blocked() {
    each_version(|v, src, _fmt| {
        let t = root_with(src, From::Absent);
        for (host, says) in [
            ("203.0.113.10", "your own address 203.0.113.10"),
            ("203.0.113.0/24", "contains your own address"),
            ("0.0.0.0/0", "an address of this server"),
            ("192.0.2.5", "an address of this server"),
            ("127.0.0.1", "an address of this server"),
            ("tcp:in:d=22000_23000:s=203.0.113.10", "lock yourself out"),
        ] {
            let (_s, p) = plan_for(
                t.path(),
                &format!(
                    "[ssh]\nport = 22022\npermit_root_login = true\n[firewall]\nbackend = \"apf\"\nblocked = [{{ host = \"{host}\" }}]\n"
                ),
            );
            let e = errors(&p).join("\n");
            assert!(e.contains(says), "{v}: {host}: {e}");
        }
        // Blocking the admin on SIP only does not lock anyone out.
        let (_s, p) = plan_for(
            t.path(),
            "[firewall]\nbackend = \"apf\"\nblocked = [{ host = \"udp:in:d=5060:s=203.0.113.10\" }]\n",
        );
        assert!(p.is_valid(), "{v}: {:#?}", errors(&p));
        // APF refuses local addresses in the trust system.
        let (_s, p) = plan_for(
            t.path(),
            "[firewall]\nbackend = \"apf\"\ntrusted = [{ host = \"192.0.2.5\" }]\n",
        );
        assert!(
            errors(&p)
                .join("\n")
                .contains("APF refuses local addresses"),
            "{v}"
        );
    });
}

#[test]
fn an_existing_ban_of_the_admin_fails_the_check_until_trusted_or_removed() {
    each_version(|v, src, _fmt| {
        let t = root_with(src, From::Absent);
        let deny = t.path().join("etc/apf/deny_hosts.rules");
        let shipped_deny = std::fs::read(&deny).unwrap();
        let mut d = shipped_deny.clone();
        // As someone typed it: host bits set, which iptables masks to 203.0.113.0/24.
        d.extend_from_slice(b"203.0.113.7/24\n");
        std::fs::write(&deny, &d).unwrap();
        let (_s, p) = plan_for(t.path(), "[ssh]\nport = 22022\npermit_root_login = true\n");
        assert!(
            matches!(check(&p, "not blocked"), CheckStatus::Fail(m) if m.contains("203.0.113.7/24")),
            "{v}: {:?}",
            check(&p, "not blocked")
        );
        assert!(
            !p.is_valid(),
            "{v}: a failed lockout check refuses the plan"
        );
        let (_s, p) = plan_for(
            t.path(),
            "[ssh]\nport = 22022\npermit_root_login = true\n[firewall]\ntrust_admin = true\n",
        );
        assert!(p.is_valid(), "{v}: {:#?}", errors(&p));
        assert!(
            matches!(check(&p, "not blocked"), CheckStatus::Pass(_)),
            "{v}"
        );
        let (_s, p) = plan_for(
            t.path(),
            "[ssh]\nport = 22022\npermit_root_login = true\n[firewall]\nremove = [\"203.0.113.7/24\"]\n",
        );
        assert!(p.is_valid(), "{v}: {:#?}", errors(&p));
        assert!(
            !String::from_utf8(after(&p, DENY))
                .unwrap()
                .contains("203.0.113.0/24")
        );
    });
}

#[test]
fn a_trusted_host_moves_out_of_the_deny_file() {
    each_version(|v, src, fmt| {
        let t = root_with(src, From::Absent);
        let deny = t.path().join("etc/apf/deny_hosts.rules");
        let original = std::fs::read(&deny).unwrap();
        let mut d = original.clone();
        d.extend_from_slice(b"# added 198.51.100.9 on 01/01/20 00:00:00\n198.51.100.9\n");
        std::fs::write(&deny, &d).unwrap();
        let (_s, p) = plan_for(
            t.path(),
            "[firewall]\nbackend = \"apf\"\ntrusted = [{ host = \"198.51.100.9\" }]\n",
        );
        assert!(p.is_valid(), "{v}: {:#?}", errors(&p));
        assert_eq!(after(&p, DENY), original, "{v}");
        assert!(TrustFile::parse(&after(&p, ALLOW), fmt).contains("198.51.100.9"));
        assert!(
            p.problems
                .iter()
                .any(|x| x.message.contains("moves to allow_hosts"))
        );
    });
}
