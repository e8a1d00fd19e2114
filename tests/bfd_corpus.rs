//! Every BFD release of the corpus ($PBX_HARDEN_CORPUS/bfd/*/): files round-trip byte for
//! byte; a plan changes only the assignments it says; bash sourcing the new conf.bfd reads
//! what the plan says; ignore.hosts gets single addresses (and refuses networks, which BFD
//! 1.5 can not match); BAN_COMMAND follows the installed APF; the cron entry is there.

mod common;
mod fwcommon;

use fwcommon::*;
use pbx_harden::config::shellvars::ShellVars;
use pbx_harden::config::text::Text;

const ANSWERS: &str = r#"
[firewall]
backend = "apf"
trust_admin = true

[bfd]
trig = 5
email_alerts = true
email_address = "pbx-admin@example.com"
email_subject = "Brute force on \"pbx1\" ($HOSTNAME stays as written)"
ignore_hosts = ["198.51.100.20"]
"#;

#[test]
fn every_bfd_file_round_trips() {
    let Some(corpus) = common::corpus("bfd") else {
        return;
    };
    for dir in versions(&corpus) {
        for f in std::fs::read_dir(&dir).unwrap().flatten() {
            let bytes = std::fs::read(f.path()).unwrap();
            let out = if f.file_name() == "conf.bfd" {
                ShellVars::parse(&bytes).to_bytes()
            } else {
                Text::parse(&bytes).to_bytes()
            };
            assert_eq!(out, bytes, "{}", f.path().display());
        }
    }
}

#[test]
fn plan_on_every_bfd_version_is_read_back_by_bash() {
    let Some(corpus) = common::corpus("bfd") else {
        return;
    };
    for dir in versions(&corpus) {
        let v = dir.file_name().unwrap().to_string_lossy().into_owned();
        let t = root_with(From::Demo, From::Dir(&dir));
        let (_s, p) = plan_for(t.path(), ANSWERS);
        assert!(p.is_valid(), "{v}: {:#?}", errors(&p));
        let before = std::fs::read(dir.join("conf.bfd")).unwrap();
        let conf = after(&p, "/usr/local/bfd/conf.bfd");
        let line = settings_line(&p, "/usr/local/bfd/conf.bfd");
        let keys = settings_keys(&line);
        assert_eq!(
            keys,
            ["TRIG", "EMAIL_ALERTS", "EMAIL_ADDRESS", "EMAIL_SUBJECT"],
            "{v}"
        );
        for (n, b, a) in changed_lines(&before, &conf) {
            let k: Vec<String> = keys_on(&b).into_iter().chain(keys_on(&a)).collect();
            assert!(
                !k.is_empty() && k.iter().all(|k| keys.contains(k)),
                "{v}: line {n}:\n-{b}+{a}"
            );
        }
        let env = [("HOSTNAME", "pbx1")];
        let read = source_bytes(&conf, &keys, &env);
        assert_eq!(read, eval_settings(&line, &env), "{v}");
        assert_eq!(read["TRIG"], "5");
        assert_eq!(read["EMAIL_ALERTS"], "1");
        assert_eq!(read["EMAIL_ADDRESS"], "pbx-admin@example.com");
        assert_eq!(
            read["EMAIL_SUBJECT"],
            "Brute force on \"pbx1\" ($HOSTNAME stays as written)"
        );
        // BAN_COMMAND already calls the installed APF: untouched, and bash expands it as before.
        let ban = vec!["BAN_COMMAND".to_string()];
        let env = [("ATTACK_HOST", "192.0.2.66"), ("MOD", "sshd")];
        assert_eq!(
            source_bytes(&conf, &ban, &env)["BAN_COMMAND"],
            "/etc/apf/apf -d 192.0.2.66 {bfd.sshd}",
            "{v}"
        );

        // ignore.hosts: the shipped lines, then one address per line.
        let ig = String::from_utf8(after(&p, "/usr/local/bfd/ignore.hosts")).unwrap();
        let shipped = std::fs::read_to_string(dir.join("ignore.hosts")).unwrap_or_default();
        assert_eq!(ig, format!("{shipped}198.51.100.20\n203.0.113.10\n"), "{v}");
        // The shipped cron entry is kept as it is.
        assert!(change(&p, "/etc/cron.d/bfd").is_none(), "{v}");
    }
}

#[test]
fn networks_in_ignore_hosts_are_refused_with_the_reason() {
    let Some(corpus) = common::corpus("bfd") else {
        return;
    };
    for dir in versions(&corpus) {
        let v = dir.file_name().unwrap().to_string_lossy().into_owned();
        let t = root_with(From::Demo, From::Dir(&dir));
        let (_s, p) = plan_for(
            t.path(),
            "[bfd]\nignore_hosts = [\"198.51.100.0/24\", \"pbx2.example.com\", \"1.2.3\"]\n",
        );
        let e = errors(&p).join("\n");
        if v.starts_with('1') {
            assert!(e.contains("grep -w"), "{v}: {e}");
        } else {
            assert!(e.contains("one address per line"), "{v}: {e}");
        }
        assert!(e.contains("bfd.ignore_hosts: pbx2.example.com: ignore.hosts takes addresses"));
        assert!(e.contains("not a complete IPv4 address"), "{e}");
    }
}

#[test]
fn ban_command_follows_the_installed_apf() {
    let Some(corpus) = common::corpus("bfd") else {
        return;
    };
    for dir in versions(&corpus) {
        let v = dir.file_name().unwrap().to_string_lossy().into_owned();
        let t = root_with(From::Demo, From::Dir(&dir));
        let conf_path = t.path().join("usr/local/bfd/conf.bfd");
        let mut vars = ShellVars::parse(&std::fs::read(&conf_path).unwrap());
        assert!(vars.set_raw(
            "BAN_COMMAND",
            "/usr/local/sbin/apf -d $ATTACK_HOST {bfd.$MOD}"
        ));
        std::fs::write(&conf_path, vars.to_bytes()).unwrap();
        let (_s, p) = plan_for(t.path(), "[bfd]\ntrig = 5\n");
        assert!(p.is_valid(), "{v}: {:#?}", errors(&p));
        let conf = after(&p, "/usr/local/bfd/conf.bfd");
        let line = settings_line(&p, "/usr/local/bfd/conf.bfd");
        let env = [("ATTACK_HOST", "192.0.2.66"), ("MOD", "sshd")];
        let keys = settings_keys(&line);
        assert!(keys.contains(&"BAN_COMMAND".to_string()), "{v}: {line}");
        let read = source_bytes(&conf, &keys, &env);
        assert_eq!(read, eval_settings(&line, &env), "{v}");
        assert_eq!(read["BAN_COMMAND"], "/etc/apf/apf -d 192.0.2.66 {bfd.sshd}");
    }
}

#[test]
fn a_missing_cron_entry_is_added_every_three_minutes() {
    let t = root_with(From::Demo, From::Demo);
    std::fs::remove_file(t.path().join("etc/cron.d/bfd")).unwrap();
    let (_s, p) = plan_for(t.path(), "[bfd]\ntrig = 5\n");
    assert!(p.is_valid(), "{:#?}", errors(&p));
    assert_eq!(
        after(&p, "/etc/cron.d/bfd"),
        b"*/3 * * * * root /usr/local/sbin/bfd -q\n"
    );
    assert_eq!(change(&p, "/etc/cron.d/bfd").unwrap().mode, 0o644);
}

#[test]
fn bfd_values_are_validated() {
    let t = root_with(From::Demo, From::Demo);
    let (_s, p) = plan_for(
        t.path(),
        "[bfd]\ntrig = 0\nemail_address = \"admin@localhost\"\nemail_subject = \"two\\nlines\"\n",
    );
    let e = errors(&p).join("\n");
    assert!(e.contains("bfd.trig: 0"), "{e}");
    assert!(e.contains("bfd.email_address"), "{e}");
    assert!(e.contains("bfd.email_subject"), "{e}");
    let (_s, p) = plan_for(t.path(), "[bfd]\ntrig = 15\n");
    assert!(p.is_valid());
    assert!(
        p.problems
            .iter()
            .any(|x| x.key == "bfd.trig" && x.message.contains("not above 5")),
        "{:?}",
        p.problems
    );
    // No BFD installed: [bfd] is an error that says so.
    let t = root_with(From::Demo, From::Absent);
    let (_s, p) = plan_for(t.path(), "[bfd]\ntrig = 5\n");
    assert!(errors(&p).join("\n").contains("BFD is not installed"));
}
