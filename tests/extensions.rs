//! Extension secrets: every corpus file parses; the known weak secrets are found; rotation
//! changes only secret values; the report is root-only; FreePBX's files are left alone;
//! no new secret reaches the plan output, the journal or apply's output.

mod common;

use std::collections::BTreeSet;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use common::*;
use pbx_harden::answers::Answers;
use pbx_harden::config::ini::{IniFile, IniLine};
use pbx_harden::root::Root;
use pbx_harden::steps::asterisk::{self as extensions, Channel, Problem, Reason, Role, Scan};
use pbx_harden::system::{Env, System};

fn scan_dir(dir: &Path) -> Scan {
    extensions::scan(&Root::open(dir).unwrap())
}

fn plan_for(dir: &Path, answers: &str) -> (System, pbx_harden::plan::Plan) {
    let sys = System::detect(&Root::open(dir).unwrap(), &Env::fixed()).unwrap();
    let a = Answers::parse(answers, "test").unwrap();
    let mut rng = <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(7);
    let p = pbx_harden::plan::build(&sys, &a, &mut rng);
    (sys, p)
}

/// The name Asterisk would know a corpus file by: `freepbx15_sip_additional.conf` ->
/// `sip_additional.conf`, `asterisk-1.8_iax.conf.sample` -> `iax.conf`.
fn asterisk_name(file: &str) -> String {
    let base = file.strip_suffix(".sample").unwrap_or(file);
    match base.split_once('_') {
        Some((pre, rest)) if pre.contains(|c: char| c.is_ascii_digit() || c == '-') => {
            rest.to_string()
        }
        _ => base.to_string(),
    }
}

fn root_with(files: &[(&str, &[u8])]) -> tempfile::TempDir {
    let t = tempfile::Builder::new()
        .prefix("pbx-harden-ext-")
        .tempdir()
        .unwrap();
    std::fs::create_dir_all(t.path().join("etc/asterisk")).unwrap();
    for (name, bytes) in files {
        let p = t.path().join("etc/asterisk").join(name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, bytes).unwrap();
    }
    t
}

fn kind(p: &Problem) -> &'static str {
    match p {
        Problem::Weak { .. } => "weak",
        Problem::NoSecret => "no-secret",
        Problem::OpenIax { .. } => "open-iax",
    }
}

#[test]
fn every_corpus_file_parses_and_the_known_weak_secrets_are_found() {
    let Some(dir) = corpus("asterisk") else {
        return;
    };
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().into_string().unwrap())
        .collect();
    names.sort();
    let mut found = BTreeSet::new();
    let mut generated = BTreeSet::new();
    for n in &names {
        let bytes = std::fs::read(dir.join(n)).unwrap();
        // Parsed without loss: the editor gives back every byte.
        let ini = IniFile::parse(&bytes);
        assert_eq!(ini.to_bytes(), bytes, "{n} round-trips");
        let t = root_with(&[(&asterisk_name(n), &bytes)]);
        let s = scan_dir(t.path());
        assert!(s.errors.is_empty(), "{n}: {:?}", s.errors);
        for f in &s.files {
            if f.generated.is_some() {
                generated.insert(n.clone());
            }
        }
        for (p, pr) in s.problems() {
            found.insert(format!("{n} {} {}", p.name, kind(pr)));
            if n.starts_with("freepbx15_sip") {
                let Problem::Weak { reasons } = pr else {
                    panic!("{pr:?}")
                };
                if p.name != "109" {
                    assert!(
                        reasons.contains(&Reason::SameAsName("extension".into())),
                        "{n} {}: lab secret = extension: {reasons:?}",
                        p.name
                    );
                }
            }
        }
    }
    let expected: BTreeSet<String> = [
        "asterisk-1.8_iax.conf.sample guest open-iax",
        "asterisk-1.8_iax.conf.sample demo weak",
        "freepbx15_pjsip.auth.conf 110-auth weak",
        "freepbx15_sip_additional.conf 101 weak",
        "freepbx15_sip_additional.conf 102 weak",
        "freepbx15_sip_additional.conf 103 weak",
        "freepbx15_sip_additional.conf 108 weak",
        "freepbx15_sip_additional.conf 109 weak",
        "freepbx15_sip_additional.conf 111 weak",
        "freepbx2.11_sip_additional.conf 201 weak",
        "freepbx2.11_sip_additional.conf 202 weak",
        "freepbx2.11_sip_additional.conf 444 weak",
        "freepbx2.4-trixbox-era_sip_additional.conf 200 no-secret",
        "freepbx2.4-trixbox-era_sip_additional.conf 030000000 weak",
        "freepbx2.4-trixbox-era_sip_additional.conf 2talk weak",
        "freepbx2.8-elastix-era_sip_additional.conf 1900 weak",
        "freepbx2.8-elastix-era_sip_additional.conf 6001 weak",
        "freepbx2.8-elastix-era_sip_additional.conf 6002 weak",
        "freepbx2.8-elastix-era_sip_additional.conf 6003 weak",
        "freepbx2.8-elastix-era_sip_additional.conf 9000 weak",
        "iax.conf.sample guest open-iax",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    assert_eq!(found, expected);
    eprintln!("corpus: {} files, {} findings", names.len(), found.len());
    // Every FreePBX-written file is recognised as FreePBX's, except the trixbox-era
    // sip.conf, which is the admin's (and has no peers).
    for n in names.iter().filter(|n| n.starts_with("freepbx")) {
        assert_eq!(
            generated.contains(n),
            !n.ends_with("_sip.conf"),
            "{n}: generated?"
        );
    }
}

/// Lines of `before` and `after` differ only inside the value of secret keys.
fn only_secret_values_changed(before: &[u8], after: &[u8], keys: &[&str]) -> usize {
    let b = IniFile::parse(before);
    let a = IniFile::parse(after);
    assert_eq!(b.text.lines.len(), a.text.lines.len());
    let mut changed = 0;
    for (i, (lb, la)) in b.text.lines.iter().zip(&a.text.lines).enumerate() {
        assert_eq!(lb.eol, la.eol, "line {i}: line ending kept");
        if lb.text == la.text {
            continue;
        }
        changed += 1;
        match (&b.parsed[i], &a.parsed[i]) {
            (
                IniLine::Entry {
                    key,
                    value_range: rb,
                    ..
                },
                IniLine::Entry {
                    key: ka,
                    value_range: ra,
                    ..
                },
            ) => {
                assert!(keys.contains(&key.as_str()) && key == ka, "line {i}: {key}");
                assert_eq!(lb.text[..rb.start], la.text[..ra.start], "line {i}");
                assert_eq!(lb.text[rb.end..], la.text[ra.end..], "line {i}");
            }
            other => panic!("line {i} changed but is not an entry: {other:?}"),
        }
    }
    changed
}

#[test]
fn rotation_changes_only_secret_values_in_real_files() {
    let Some(dir) = corpus("asterisk") else {
        return;
    };
    let read = |n: &str| std::fs::read(dir.join(n)).unwrap();
    let strip_banner = |b: Vec<u8>| -> Vec<u8> {
        let s = String::from_utf8(b).unwrap();
        let body: Vec<&str> = s
            .split_inclusive('\n')
            .skip_while(|l| l.starts_with(';'))
            .collect();
        body.concat().into_bytes()
    };
    // The FreePBX 15 extensions, as if the admin kept them in sip_custom.conf.
    let custom = strip_banner(read("freepbx15_sip_additional.conf"));
    // trixbox-era sip.conf: no final newline; one more peer at its end.
    let mut sip = read("freepbx2.4-trixbox-era_sip.conf");
    assert_ne!(sip.last(), Some(&b'\n'));
    sip.extend_from_slice(b"\n\n[300]\ntype=friend\nhost=dynamic\nsecret = 300 ; lab");
    // The Vietnamese FreePBX 14 endpoints in a plain pjsip.conf, with their auth sections.
    let mut pjsip = strip_banner(read("freepbx14-utf8_pjsip.endpoint.conf"));
    for ext in ["30", "31", "100"] {
        pjsip.extend_from_slice(
            format!(
                "\n[{ext}-auth]\ntype=auth\nauth_type=userpass\npassword={ext}\nusername={ext}\n"
            )
            .as_bytes(),
        );
    }
    let generated = read("freepbx2.8-elastix-era_sip_additional.conf");
    let t = root_with(&[
        ("sip.conf", &sip),
        ("sip_custom.conf", &custom),
        ("sip_additional.conf", &generated),
        ("pjsip.conf", &pjsip),
    ]);
    let (_, p) = plan_for(t.path(), "[extensions]\nrotate_weak = true\n");
    assert!(p.is_valid(), "{:?}", p.problems);
    let changed: Vec<&str> = p.changes.iter().map(|c| c.path.as_str()).collect();
    assert!(
        !changed.contains(&"/etc/asterisk/sip_additional.conf"),
        "FreePBX's file is never edited: {changed:?}"
    );
    for c in &p.changes {
        let before = c.before.as_deref();
        let after = c.after.as_deref().unwrap();
        match c.path.as_str() {
            "/etc/asterisk/sip_custom.conf" => {
                assert_eq!(
                    only_secret_values_changed(before.unwrap(), after, &["secret"]),
                    6
                )
            }
            "/etc/asterisk/sip.conf" => {
                assert_eq!(
                    only_secret_values_changed(before.unwrap(), after, &["secret"]),
                    1
                );
                assert_ne!(after.last(), Some(&b'\n'), "still no final newline");
                assert!(
                    String::from_utf8_lossy(after).ends_with(" ; lab"),
                    "the comment stays"
                );
            }
            "/etc/asterisk/pjsip.conf" => {
                assert_eq!(
                    only_secret_values_changed(before.unwrap(), after, &["password"]),
                    3
                );
                assert!(
                    String::from_utf8(after.to_vec())
                        .unwrap()
                        .contains("callerid=Sơn <31>")
                );
            }
            p if p.starts_with("/root/pbx-harden-secrets-") => {
                assert!(before.is_none());
                assert_eq!(c.mode, 0o600);
                let csv = String::from_utf8(after.to_vec()).unwrap();
                assert_eq!(
                    csv.lines().count(),
                    1 + 6 + 1 + 3,
                    "{}",
                    csv.lines().next().unwrap()
                );
            }
            other => panic!("unexpected change {other}"),
        }
    }
    // The generated file's weak secrets are reported with what to do in FreePBX.
    let notes: Vec<&str> = p
        .problems
        .iter()
        .filter(|x| x.message.contains("sip_additional.conf"))
        .map(|x| x.message.as_str())
        .collect();
    assert_eq!(notes.len(), 5, "{notes:?}");
    assert!(notes.iter().all(|n| n.contains("FreePBX web interface")));
}

#[test]
fn demo_scan() {
    let t = demo_root();
    let s = scan_dir(t.path());
    let got: Vec<String> = s
        .problems()
        .map(|(p, pr)| format!("{} {} {:?}", p.describe(), kind(pr), p.role))
        .collect();
    assert_eq!(
        got,
        vec![
            "SIP friend 200 weak Phone",
            "SIP friend 201 weak Phone",
            "SIP friend 100 weak Phone",
            "SIP friend 101 weak Phone",
            "SIP peer provider-trunk weak Trunk",
            "IAX2 user guest open-iax Remote",
            "IAX2 friend branch-office weak Phone",
        ]
    );
    let p200 = s.peers.iter().find(|p| p.name == "200").unwrap();
    assert_eq!(
        p200.secret.as_ref().unwrap().file,
        "/etc/asterisk/sip_custom.conf"
    );
    assert!(!p200.secret.as_ref().unwrap().inherited);
    assert!(
        s.peers
            .iter()
            .any(|p| p.name == "202" && p.problem.is_none())
    );
    assert!(s.is_generated("/etc/asterisk/sip_additional.conf"));
    assert!(s.is_generated("/etc/asterisk/iax_additional.conf"));
    assert!(!s.is_generated("/etc/asterisk/sip_custom.conf"));
}

#[test]
fn templates_includes_and_pjsip_references() {
    let t = root_with(&[
        (
            "sip.conf",
            b"[general]\n#include sip.d/*.conf\n[phones](!)\ntype=friend\nhost=dynamic\nsecret=1234\n\
              [300](phones)\n[301](phones)\nsecret=Vx9-correct-Horse-staple\n\
              ;--\n[hidden]\ntype=friend\nhost=dynamic\nsecret=1\n--;\n[302]\ntype=friend\nhost=dynamic\n\
              [302](+)\nsecret=302\n",
        ),
        (
            "sip.d/a.conf",
            b"[303]\ntype=friend\nhost=dynamic\nmd5secret=0123456789abcdef0123456789abcdef\n",
        ),
        (
            "pjsip.conf",
            b"[400]\ntype=endpoint\nauth=400-auth\naors=400\n[400]\ntype=aor\nmax_contacts=1\n\
              [400-auth]\ntype=auth\npassword=400\nusername=400\n\
              [401]\ntype=endpoint\naors=401\n[401]\ntype=aor\nmax_contacts=1\n\
              [trunk]\ntype=endpoint\noutbound_auth=trunk-auth\n\
              [trunk-auth]\ntype=auth\nusername=acct\npassword=acct\n\
              [402-auth]\ntype=auth\nauth_type=md5\nmd5_cred=0123456789abcdef0123456789abcdef\n",
        ),
        (
            "pjsip_wizard.conf",
            b"[500]\ntype=wizard\naccepts_registrations=yes\naccepts_auth=yes\ninbound_auth/password=500\n\
              [501]\ntype=wizard\naccepts_registrations=yes\n",
        ),
        (
            "iax.conf",
            b"[general]\n[guest]\ntype=user\ndeny=0.0.0.0/0.0.0.0\npermit=192.0.2.1/255.255.255.255\n\
              [keyed]\ntype=user\nauth=rsa\ninkeys=office\n[office]\ntype=user\nsecret=office\n\
              [fpbx]\ntype=user\ncontext=from-trunk\ndeny=0.0.0.0/0.0.0.0\npermit=0.0.0.0/0.0.0.0\n",
        ),
    ]);
    let s = scan_dir(t.path());
    let got: Vec<String> = s
        .problems()
        .map(|(p, pr)| format!("{:?} {} {} {:?}", p.channel, p.name, kind(pr), p.role))
        .collect();
    assert_eq!(
        got,
        vec![
            "Sip 300 weak Phone",
            "Sip 302 weak Phone",
            "Iax office weak Remote",
            "Iax fpbx open-iax Remote",
            "Pjsip 400-auth weak Phone",
            "Pjsip 401 no-secret Phone",
            "Pjsip trunk-auth weak Trunk",
            "Pjsip 500 weak Phone",
            "Pjsip 501 no-secret Phone",
        ]
    );
    let p300 = s.peers.iter().find(|p| p.name == "300").unwrap();
    let sec = p300.secret.as_ref().unwrap();
    assert!(sec.inherited && sec.section == "phones");
    assert!(
        extensions::manual_fix(&s, p300)
            .unwrap()
            .contains("template [phones]")
    );
    assert!(s.peers.iter().any(|p| p.name == "303" && p.opaque_secret));
    assert!(
        s.peers
            .iter()
            .any(|p| p.name == "402-auth" && p.opaque_secret)
    );
    let auth = s.peers.iter().find(|p| p.name == "400-auth").unwrap();
    assert_eq!(auth.extension, "400");
    assert_eq!(auth.channel, Channel::Pjsip);
    assert!(
        !s.peers.iter().any(|p| p.name == "hidden"),
        "in a block comment"
    );
    assert_eq!(
        s.peers
            .iter()
            .find(|p| p.name == "trunk-auth")
            .unwrap()
            .role,
        Role::Trunk
    );

    // rotate_weak: 302, 400-auth, 500 rotate; 300 (template), trunk, office are reported.
    let (_, p) = plan_for(t.path(), "[extensions]\nrotate_weak = true\n");
    assert!(p.is_valid(), "{:?}", p.problems);
    let csv = p
        .changes
        .iter()
        .find(|c| c.path.contains("pbx-harden-secrets-"))
        .unwrap();
    let csv = String::from_utf8(csv.after.clone().unwrap()).unwrap();
    let rotated: Vec<&str> = csv
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(2).unwrap())
        .collect();
    assert_eq!(rotated, vec!["302", "400-auth", "500"]);
    let warned = |what: &str| p.problems.iter().any(|x| x.message.contains(what));
    assert!(warned("template [phones]"));
    assert!(warned("the provider"));
    assert!(warned("both ends"));
}

#[test]
fn demo_rotation_apply_report_and_rollback() {
    let t = demo_root();
    let dir = t.path().to_str().unwrap();
    let before = tree(t.path(), &[STATE]);
    let answers = "[extensions]\nrotate_weak = true\n";
    let a = write_answers(t.path().parent().unwrap(), answers);
    // plan output masks every new secret
    let (sys, p) = plan_for(t.path(), answers);
    let shown = pbx_harden::plan::render(&p, &sys);
    let report_change = p
        .changes
        .iter()
        .find(|c| c.path.contains("pbx-harden-secrets-"))
        .unwrap();
    for line in String::from_utf8(report_change.after.clone().unwrap())
        .unwrap()
        .lines()
        .skip(1)
    {
        let s = line.rsplit(',').next().unwrap();
        assert!(!shown.contains(s), "plan shows a new secret");
    }
    assert!(shown.contains("secret=********"), "{shown}");

    let o = run(&["--root", dir, "apply", "--answers", a.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    let mid = tree(t.path(), &[STATE]);
    let changed: Vec<String> = tree_diff(&before, &mid)
        .into_iter()
        .filter(|c| !c.contains("pbx-harden-rollback")) // the boot safeguard, while pending
        .collect();
    assert_eq!(changed.len(), 2, "{changed:?}");
    assert_eq!(changed[0], "~ etc/asterisk/sip_custom.conf");
    let report_rel = changed[1].strip_prefix("+ ").unwrap();
    assert!(
        report_rel.starts_with("root/pbx-harden-secrets-"),
        "{report_rel}"
    );
    let report = t.path().join(report_rel);
    let mode = std::fs::metadata(&report).unwrap().permissions().mode() & 0o7777;
    assert_eq!(mode, 0o600, "the report is root-only");
    let csv = std::fs::read_to_string(&report).unwrap();
    let rows: Vec<&str> = csv.lines().collect();
    assert_eq!(
        rows[0],
        "channel,file,section,extension,username,new_secret"
    );
    assert_eq!(rows.len(), 3);
    let custom = std::fs::read_to_string(t.path().join("etc/asterisk/sip_custom.conf")).unwrap();
    let new: Vec<String> = rows[1..]
        .iter()
        .map(|r| r.rsplit(',').next().unwrap().to_string())
        .collect();
    for (row, s) in rows[1..].iter().zip(&new) {
        assert!(
            row.starts_with("SIP,/etc/asterisk/sip_custom.conf,20"),
            "{row}"
        );
        assert!(custom.contains(&format!("secret={s}")), "written in place");
        assert!(extensions::weak::assess(s, &[("extension", "200")]).is_empty());
    }
    assert!(custom.contains("secret = Tundra-Mosaic 8! lantern-Quill   ; already strong"));
    assert_eq!(
        only_secret_values_changed(
            &std::fs::read(
                Path::new(env!("CARGO_MANIFEST_DIR"))
                    .join("assets/demo/root/etc/asterisk/sip_custom.conf")
            )
            .unwrap(),
            custom.as_bytes(),
            &["secret"]
        ),
        2
    );
    // Never in apply's output, the journal or anything else under the state directory.
    let out = text(&o);
    let mut state_bytes = Vec::new();
    for (path, node) in tree(&t.path().join(STATE), &[]) {
        if let Node::File { bytes, .. } = node
            && !path.starts_with("bin/")
        {
            state_bytes.extend(bytes);
        }
    }
    let state_text = String::from_utf8_lossy(&state_bytes);
    for s in &new {
        assert!(!out.contains(s.as_str()), "apply printed a secret");
        assert!(!state_text.contains(s.as_str()), "a secret in the journal");
    }

    let o = run(&["--root", dir, "rollback"]);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(
        tree_diff(&before, &tree(t.path(), &[STATE])),
        Vec::<String>::new()
    );
}

#[test]
fn an_unreadable_or_odd_config_is_not_a_panic() {
    let t = root_with(&[
        (
            "sip.conf",
            b"#include sip.conf\n#include \"\"\n[\n]x\nsecret\n=\n[a](\nsecret=\n",
        ),
        ("iax.conf", b"\xff\xfe[guest]\ntype=user\n"),
        (
            "pjsip.conf",
            b"[x](missing-template)\ntype=auth\npassword=\n",
        ),
    ]);
    let s = scan_dir(t.path());
    // sip.conf includes itself: reported as a loop, read once.
    assert_eq!(s.errors.len(), 1, "{:?}", s.errors);
    assert!(s.errors[0].contains("#include loop"), "{:?}", s.errors);
    let (_, p) = plan_for(t.path(), "[extensions]\nrotate_weak = true\n");
    assert!(p.is_valid(), "{:?}", p.problems);
}
