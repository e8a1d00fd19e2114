//! Every APF release of the corpus ($PBX_HARDEN_CORPUS/apf/*/): every file round-trips byte
//! for byte; a plan changes only the assignment lines it says it sets; bash sourcing the
//! new conf.apf reads exactly the values the plan says; the trust files get the entries in
//! that version's `apf -a` / `apf -d` format.

mod common;
mod fwcommon;

use std::collections::BTreeMap;
use std::path::Path;

use fwcommon::*;
use pbx_harden::config::shellvars::ShellVars;
use pbx_harden::config::text::Text;
use pbx_harden::config::trust::{TrustFile, TrustFormat};
use pbx_harden::plan::{CheckStatus, ConfirmStep};

const FULL: &str = r#"
[ssh]
port = 22022
# The demo box has no other login account: without root, nobody could log in.
permit_root_login = true

[firewall]
backend = "apf"
tcp_ports = [80, 443, 5060]
udp_ports = [5060, "10000-20000"]
trusted = [{ host = "198.51.100.20", comment = "office" }, { host = "pbx2.example.com" }]
blocked = [{ host = "198.51.100.128/25", comment = "scanner" }]
trust_admin = true

[apf]
untrusted_iface = "eth0"
trusted_ifaces = ["eth1"]
set_trim = 0
egress_filtering = true
egress_tcp_ports = [25, 80, 443]
egress_udp_ports = [53, 123, 5060, "10000-20000"]
dshield = true
spamhaus = true
tos = true
"#;

/// What confirm does to the files (its commands aside), done by hand on a root.
fn confirm_files(root: &Path, p: &pbx_harden::plan::Plan) {
    for step in &p.on_confirm {
        let path = match step {
            ConfirmStep::SetShellVar { path, .. }
            | ConfirmStep::RemoveFromShellList { path, .. } => path,
            ConfirmStep::Run { .. } => continue,
        };
        let host = root.join(path.trim_start_matches('/'));
        let mut vars = ShellVars::parse(&std::fs::read(&host).unwrap());
        let changed = match step {
            ConfirmStep::SetShellVar { key, value, .. } => vars.set(key, value),
            ConfirmStep::RemoveFromShellList { key, item, .. } => vars.remove_list_item(key, item),
            ConfirmStep::Run { .. } => false,
        };
        if changed {
            std::fs::write(&host, vars.to_bytes()).unwrap();
        }
    }
}

fn format_of(dir: &Path) -> TrustFormat {
    let v = std::fs::read_to_string(dir.join("VERSION")).unwrap();
    TrustFormat::from_version(v.trim().trim_start_matches("version:")).unwrap()
}

fn all_keys(bytes: &[u8]) -> Vec<String> {
    let mut k: Vec<String> = ShellVars::parse(bytes)
        .vars
        .into_iter()
        .map(|a| a.key)
        .collect();
    k.sort();
    k.dedup();
    k
}

#[test]
fn every_apf_file_round_trips() {
    let Some(corpus) = common::corpus("apf") else {
        return;
    };
    for dir in versions(&corpus) {
        let fmt = format_of(&dir);
        for f in std::fs::read_dir(&dir).unwrap().flatten() {
            let bytes = std::fs::read(f.path()).unwrap();
            let name = f.file_name().to_string_lossy().into_owned();
            let out = if name == "conf.apf" {
                ShellVars::parse(&bytes).to_bytes()
            } else if name.ends_with(".rules") {
                TrustFile::parse(&bytes, fmt).to_bytes()
            } else {
                Text::parse(&bytes).to_bytes()
            };
            assert_eq!(out, bytes, "{}", f.path().display());
        }
    }
}

#[test]
fn full_plan_on_every_apf_version() {
    let Some(corpus) = common::corpus("apf") else {
        return;
    };
    for dir in versions(&corpus) {
        let v = dir.file_name().unwrap().to_string_lossy().into_owned();
        let fmt = format_of(&dir);
        let t = root_with(From::Dir(&dir), From::Absent);
        std::fs::create_dir_all(t.path().join("sys/class/net/eth1")).unwrap();
        let (_sys, p) = plan_for(t.path(), FULL);
        assert!(p.is_valid(), "{v}: {:#?}", errors(&p));

        // Only the lines of the variables the plan says it sets.
        let before = std::fs::read(dir.join("conf.apf")).unwrap();
        let after_conf = after(&p, "/etc/apf/conf.apf");
        let line = settings_line(&p, "/etc/apf/conf.apf");
        let keys = settings_keys(&line);
        for (n, b, a) in changed_lines(&before, &after_conf) {
            let on_line: Vec<String> = keys_on(&b).into_iter().chain(keys_on(&a)).collect();
            assert!(
                !on_line.is_empty() && on_line.iter().all(|k| keys.contains(k)),
                "{v}: line {n} changed but is not a setting of the plan:\n-{b}+{a}"
            );
        }
        // bash reads back what the plan says...
        let said = eval_settings(&line, &[]);
        let read = source_bytes(&after_conf, &keys, &[]);
        assert_eq!(read, said, "{v}");
        // ...and every other variable as it was.
        let others: Vec<String> = all_keys(&before)
            .into_iter()
            .filter(|k| !keys.contains(k))
            .collect();
        assert_eq!(
            source_bytes(&after_conf, &others, &[]),
            source_bytes(&before, &others, &[]),
            "{v}"
        );
        let want: BTreeMap<&str, &str> = [
            // The old SSH port until confirm.
            ("IG_TCP_CPORTS", "22022,80,443,5060,22"),
            ("IG_UDP_CPORTS", "5060,10000_20000"),
            ("HELPER_SSH_PORT", "22022"),
            ("DEVEL_MODE", "1"),
            ("EGF", "1"),
            ("EG_TCP_CPORTS", "25,80,443"),
            ("EG_UDP_CPORTS", "53,123,5060,10000_20000"),
            ("SET_TRIM", "0"),
            ("IFACE_TRUSTED", "eth1"),
            ("DLIST_DSHIELD", "1"),
            ("DLIST_SPAMHAUS", "1"),
        ]
        .into_iter()
        .collect();
        for (k, val) in &want {
            assert_eq!(read.get(*k).map(String::as_str), Some(*val), "{v}: {k}");
        }
        let iface_keys: &[&str] = if fmt == TrustFormat::Apf9 {
            &["IFACE_IN", "IFACE_OUT"]
        } else {
            &["IFACE_UNTRUSTED"]
        };
        for k in iface_keys {
            assert_eq!(read.get(*k).map(String::as_str), Some("eth0"), "{v}: {k}");
        }
        let tos16 = &read["TOS_16"];
        assert!(
            tos16.contains("5060") && tos16.contains("10000_20000"),
            "{v}: {tos16}"
        );

        // Trust files: appended in this version's format, nothing else touched.
        let allow_before = std::fs::read(dir.join("allow_hosts.rules")).unwrap();
        let allow = after(&p, "/etc/apf/allow_hosts.rules");
        assert!(allow.starts_with(&allow_before), "{v}");
        let added = String::from_utf8(allow[allow_before.len()..].to_vec()).unwrap();
        let lines: Vec<&str> = added.lines().collect();
        match fmt {
            TrustFormat::Apf2 => {
                assert!(lines[0].starts_with("# added 198.51.100.20 on "), "{added}");
                assert!(lines[0].contains(" addedtime="), "{added}");
                assert!(lines[0].ends_with(" with comment: office"), "{added}");
                assert_eq!(lines[1], "198.51.100.20");
                assert!(!lines[2].contains("with comment"), "{added}");
                assert_eq!(lines[3], "pbx2.example.com");
                assert_eq!(lines.len(), 6, "{added}");
            }
            TrustFormat::Apf17 => {
                assert!(lines[0].starts_with("# added 198.51.100.20 on "), "{added}");
                assert!(!lines[0].contains("addedtime"), "{added}");
                assert!(lines[0].ends_with(" with comment: office"), "{added}");
                assert_eq!(lines[1], "198.51.100.20");
                assert!(!lines[2].contains("with comment"), "{added}");
                assert_eq!(lines[3], "pbx2.example.com");
                assert_eq!(lines.len(), 6, "{added}");
            }
            TrustFormat::Apf9 => {
                assert!(
                    lines[0].ends_with(" with comment: office       "),
                    "{added:?}"
                );
                assert_eq!(lines[1], "198.51.100.20");
                assert_eq!(lines[2], "");
                assert!(lines[3].ends_with(" with comment:        "), "{added:?}");
                assert_eq!(lines[4], "pbx2.example.com");
                assert_eq!(lines[5], "");
                assert_eq!(lines.len(), 9, "{added:?}");
            }
        }
        assert!(
            added.contains("\n203.0.113.10\n"),
            "{v}: the admin is trusted"
        );
        let deny = TrustFile::parse(&after(&p, "/etc/apf/deny_hosts.rules"), fmt);
        assert_eq!(deny.entries(), vec!["198.51.100.128/25"], "{v}");

        // Lockout checks and the DEVEL_MODE dance.
        for name in [
            "the SSH port 22022 is open",
            "SSH helper follows",
            "not blocked",
        ] {
            assert!(
                matches!(check(&p, name), CheckStatus::Pass(_)),
                "{v}: {name}: {:?}",
                check(&p, name)
            );
        }
        assert!(
            matches!(check(&p, "egress filter"), CheckStatus::Pass(_)),
            "{v}"
        );
        // Confirm: the old port out of the list and DEVEL_MODE off, then the restart.
        assert_eq!(
            p.on_confirm,
            vec![
                ConfirmStep::RemoveFromShellList {
                    path: "/etc/apf/conf.apf".into(),
                    key: "IG_TCP_CPORTS".into(),
                    item: "22".into(),
                },
                ConfirmStep::SetShellVar {
                    path: "/etc/apf/conf.apf".into(),
                    key: "DEVEL_MODE".into(),
                    value: "0".into()
                },
                ConfirmStep::Run {
                    argv: vec!["/etc/apf/apf".into(), "-r".into()]
                },
            ],
            "{v}"
        );
    }
}

#[test]
fn an_ssh_move_alone_opens_the_new_port_in_every_apf_version() {
    let Some(corpus) = common::corpus("apf") else {
        return;
    };
    for dir in versions(&corpus) {
        let v = dir.file_name().unwrap().to_string_lossy().into_owned();
        let t = root_with(From::Dir(&dir), From::Absent);
        let (_sys, p) = plan_for(t.path(), "[ssh]\nport = 22022\npermit_root_login = true\n");
        assert!(p.is_valid(), "{v}: {:#?}", errors(&p));
        let before = std::fs::read(dir.join("conf.apf")).unwrap();
        let conf = after(&p, "/etc/apf/conf.apf");
        let mut changed: Vec<String> = changed_lines(&before, &conf)
            .into_iter()
            .flat_map(|(_, b, a)| keys_on(&b).into_iter().chain(keys_on(&a)))
            .collect();
        changed.sort();
        changed.dedup();
        // DEVEL_MODE is already "1" in every shipped conf.apf.
        assert_eq!(changed, vec!["HELPER_SSH_PORT", "IG_TCP_CPORTS"], "{v}");
        let keys: Vec<String> = ["IG_TCP_CPORTS", "HELPER_SSH_PORT", "DEVEL_MODE"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let read = source_bytes(&conf, &keys, &[]);
        // The old port stays open until confirm.
        assert_eq!(read["IG_TCP_CPORTS"], "22022,22", "{v}");
        assert_eq!(read["HELPER_SSH_PORT"], "22022", "{v}");
        assert_eq!(read["DEVEL_MODE"], "1", "{v}");
        assert_eq!(
            eval_settings(&settings_line(&p, "/etc/apf/conf.apf"), &[]),
            read,
            "{v}"
        );
        assert!(change(&p, "/etc/apf/allow_hosts.rules").is_none(), "{v}");
        assert!(
            p.summary
                .firewall
                .iter()
                .any(|l| l.contains("old SSH port 22 stays open until confirm")),
            "{v}: {:?}",
            p.summary.firewall
        );

        // Confirm takes out the old port only: an entry another admin added meanwhile stays.
        write_all(t.path(), &p);
        let host = t.path().join("etc/apf/conf.apf");
        let mut vars = ShellVars::parse(&std::fs::read(&host).unwrap());
        assert!(vars.set("IG_TCP_CPORTS", "22022,22,8443"));
        let window = vars.to_bytes();
        std::fs::write(&host, &window).unwrap();
        confirm_files(t.path(), &p);
        let confirmed = std::fs::read(&host).unwrap();
        let read = source_bytes(&confirmed, &keys, &[]);
        assert_eq!(read["IG_TCP_CPORTS"], "22022,8443", "{v}");
        assert_eq!(read["DEVEL_MODE"], "0", "{v}");
        for (n, b, a) in changed_lines(&window, &confirmed) {
            let on_line = keys_on(&b);
            assert!(
                on_line
                    .iter()
                    .all(|k| k == "IG_TCP_CPORTS" || k == "DEVEL_MODE"),
                "{v}: line {n} changed at confirm:\n-{b}+{a}"
            );
        }
    }
}

#[test]
fn nothing_to_do_leaves_every_apf_file_alone_and_a_second_run_changes_nothing() {
    let Some(corpus) = common::corpus("apf") else {
        return;
    };
    for dir in versions(&corpus) {
        let v = dir.file_name().unwrap().to_string_lossy().into_owned();
        let t = root_with(From::Dir(&dir), From::Absent);
        std::fs::create_dir_all(t.path().join("sys/class/net/eth1")).unwrap();
        let (_s, p) = plan_for(t.path(), "[firewall]\nbackend = \"apf\"\n");
        assert!(
            p.changes.iter().all(|c| !c.path.starts_with("/etc/apf")),
            "{v}: {:?}",
            p.changes.iter().map(|c| &c.path).collect::<Vec<_>>()
        );
        // Apply FULL by hand, confirm (the old SSH port out, DEVEL_MODE=0), plan again:
        // nothing left to do.
        let (_s, p) = plan_for(t.path(), FULL);
        assert!(p.is_valid(), "{v}: {:#?}", errors(&p));
        write_all(t.path(), &p);
        confirm_files(t.path(), &p);
        let (_s, again) = plan_for(t.path(), FULL);
        assert!(again.is_valid(), "{v}: {:#?}", errors(&again));
        assert!(
            again.changes.is_empty(),
            "{v}: {:?}",
            again.changes.iter().map(|c| &c.path).collect::<Vec<_>>()
        );
    }
}
