//! sshd_config editing over real files: the project's own fixtures always, and the corpus of
//! real distribution files named by PBX_HARDEN_CORPUS. For every file: an unchanged round
//! trip is byte-identical; moving the port, PermitRootLogin no and AllowUsers change only
//! those lines; the host's `sshd -t` accepts the result and `sshd -T` shows the chosen values.

mod common;

use std::path::{Path, PathBuf};

use common::*;
use pbx_harden::config::sshd::{SshdConfig, parse_directive};
use pbx_harden::root::Root;
use pbx_harden::steps::ssh::check::{Outcome, validate};
use pbx_harden::system::{Env, System};

/// (main file, drop-ins) found in a folder: `X.sshd_config` and `X.sshd_config.d_NAME.conf`.
fn cases(dir: &Path) -> Vec<(PathBuf, Vec<(String, PathBuf)>)> {
    let mut names: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    names.sort();
    let mut out = Vec::new();
    for main in names
        .iter()
        .filter(|p| p.to_string_lossy().ends_with(".sshd_config"))
    {
        let stem = main.file_name().unwrap().to_string_lossy().to_string();
        let dropins = names
            .iter()
            .filter_map(|p| {
                let n = p.file_name()?.to_string_lossy().to_string();
                let rest = n.strip_prefix(&format!("{stem}.d_"))?;
                Some((rest.to_string(), p.clone()))
            })
            .collect();
        out.push((main.clone(), dropins));
    }
    out
}

fn root_with(main: &Path, dropins: &[(String, PathBuf)]) -> tempfile::TempDir {
    let t = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(t.path().join("etc/ssh/sshd_config.d")).unwrap();
    std::fs::copy(main, t.path().join("etc/ssh/sshd_config")).unwrap();
    for (name, p) in dropins {
        std::fs::copy(p, t.path().join("etc/ssh/sshd_config.d").join(name)).unwrap();
    }
    t
}

const EDIT_KEYWORDS: &[&str] = &["port", "listenaddress", "permitrootlogin", "allowusers"];

fn check_file(main: &Path, dropins: &[(String, PathBuf)]) {
    let name = main.file_name().unwrap().to_string_lossy().to_string();
    let t = root_with(main, dropins);
    let root = Root::open(t.path()).unwrap();
    let cfg = SshdConfig::load(&root).unwrap();
    assert_eq!(
        cfg.files.len(),
        1 + dropins.len(),
        "{name}: includes resolved inside the root"
    );

    // 1. unchanged round trip is byte-identical
    for f in &cfg.files {
        assert_eq!(f.bytes(), f.original, "{name}: {} round trip", f.path);
    }
    let mut same = cfg.clone();
    let ports = same.ports();
    same.set_port(ports[0]);
    if ports.len() == 1 {
        assert!(
            !same.files.iter().any(|f| f.changed()),
            "{name}: setting the same port"
        );
    }

    // 2. the edit changes only the lines it must
    let mut edited = cfg.clone();
    edited.set_port(22022);
    edited.set_first("PermitRootLogin", &["no".into()]);
    edited.set_only("AllowUsers", &["trixuser".into()]);
    assert_eq!(edited.listen_ports(), vec![22022], "{name}");
    assert_eq!(edited.value_or("permitrootlogin", ""), "no", "{name}");
    assert_eq!(edited.list("allowusers"), vec!["trixuser"], "{name}");
    for f in &edited.files {
        let old = String::from_utf8_lossy(&f.original).to_string();
        let new = String::from_utf8_lossy(&f.bytes()).to_string();
        let d = similar::TextDiff::from_lines(&old, &new);
        for change in d.iter_all_changes() {
            if change.tag() == similar::ChangeTag::Equal {
                continue;
            }
            let line = change.value().trim_end_matches('\n');
            let kw = parse_directive(line).map(|d| d.keyword).unwrap_or_default();
            // The line before a line appended at the end gains the newline it lacked.
            let is_last_without_newline =
                change.tag() == similar::ChangeTag::Delete && !change.value().ends_with('\n');
            assert!(
                EDIT_KEYWORDS.contains(&kw.as_str()) || is_last_without_newline,
                "{name}: {}: unexpected change {:?} {line:?}",
                f.path,
                change.tag()
            );
        }
    }

    // 3. the host's sshd accepts it and shows the chosen values
    if require("sshd").is_none() || !require_root() {
        return;
    }
    let sys = System::detect(&root, &Env::fixed()).unwrap();
    let before = validate(&sys, &cfg);
    let after = validate(&sys, &edited);
    match (&before, &after) {
        (Outcome::Accepted(_), Outcome::Accepted(m)) => {
            assert_eq!(m["port"], vec!["22022"], "{name}");
            assert_eq!(m["permitrootlogin"], vec!["no"], "{name}");
            assert_eq!(m["allowusers"], vec!["trixuser"], "{name}");
            if let Some(l) = m.get("listenaddress") {
                assert!(l.iter().all(|a| a.ends_with(":22022")), "{name}: {l:?}");
            }
        }
        // This host's OpenSSH rejects the file as it is (e.g. an algorithm removed since):
        // the edit must not add a new error.
        (Outcome::Rejected(a), Outcome::Rejected(b)) => {
            assert_eq!(a, b, "{name}: the edit changed sshd's verdict");
            eprintln!("{name}: this host's sshd rejects the unchanged file too: {a}");
        }
        other => panic!("{name}: {other:?}"),
    }
}

#[test]
fn own_fixtures() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/sshd");
    let cs = cases(&dir);
    assert!(cs.len() >= 3);
    for (main, dropins) in cs {
        check_file(&main, &dropins);
    }
}

#[test]
fn real_distribution_files() {
    let Some(dir) = corpus("sshd") else { return };
    let cs = cases(&dir);
    assert!(cs.len() >= 9, "{} sshd_config files", cs.len());
    for (main, dropins) in cs {
        check_file(&main, &dropins);
    }
}

#[test]
fn drop_in_wins_and_is_edited_where_it_is() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/sshd");
    let t = root_with(
        &dir.join("dropin.sshd_config"),
        &[(
            "10-local.conf".into(),
            dir.join("dropin.sshd_config.d_10-local.conf"),
        )],
    );
    let root = Root::open(t.path()).unwrap();
    let mut cfg = SshdConfig::load(&root).unwrap();
    assert_eq!(cfg.value_or("permitrootlogin", ""), "yes");
    cfg.set_port(22022);
    cfg.set_first("PermitRootLogin", &["no".into()]);
    let drop = String::from_utf8(cfg.files[1].bytes()).unwrap();
    assert_eq!(
        drop,
        "# a drop-in that an earlier admin left: it wins over the main file\nPort 22022\nPermitRootLogin no\n"
    );
    assert!(
        !cfg.files[0].changed(),
        "the main file's commented defaults stay as they are"
    );
}

#[test]
fn odd_spacing_keeps_every_other_byte() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/sshd");
    let t = root_with(&dir.join("match-odd-spacing.sshd_config"), &[]);
    let root = Root::open(t.path()).unwrap();
    let mut cfg = SshdConfig::load(&root).unwrap();
    cfg.set_port(22022);
    cfg.set_first("PermitRootLogin", &["no".into()]);
    cfg.set_only("AllowUsers", &["trixuser".into()]);
    let out = String::from_utf8(cfg.files[0].bytes()).unwrap();
    assert!(out.starts_with("# Odd spacing, = signs, lower-case keywords, Match blocks, no final newline.\nport=22022\n\tListenAddress\t0.0.0.0:22022\nlistenaddress [::]:22022\npermitrootlogin\tno   # the old default\nAllowUsers  trixuser\npasswordauthentication=yes\n"), "{out}");
    assert!(
        out.ends_with("ForceCommand /usr/local/bin/backup-only"),
        "no final newline kept"
    );
    // the Match block's own PermitRootLogin is left alone (and the plan warns about it)
    assert!(out.contains("\tPermitRootLogin prohibit-password\n"));
}
