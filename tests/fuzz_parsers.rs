//! Property tests and a bounded fuzz run (stable Rust, proptest) of every config editor
//! and the key parser.
//!
//! - every editor in src/config (sshd, ini, jail, shellvars, text, trust): arbitrary input
//!   round-trips byte for byte and never panics; edits with arbitrary values never panic
//!   and leave a file that round-trips again;
//! - the key parser never panics and drains its input (nothing left after `flush`);
//! - a plan diff never shows the value of a secret-valued key, old or new or context.
//!
//! Cases per property: `PBX_HARDEN_FUZZ_CASES` (default 256); `.ci/run` runs this file once
//! more with a large count, the bounded fuzz run.

use proptest::prelude::*;

use pbx_harden::config::ini::IniFile;
use pbx_harden::config::jail::JailFile;
use pbx_harden::config::shellvars::ShellVars;
use pbx_harden::config::sshd::SshdConfig;
use pbx_harden::config::text::Text;
use pbx_harden::config::trust::{TrustFile, TrustFormat};
#[cfg(feature = "tui")]
use pbx_harden::tui::keys::KeyParser;

fn cases() -> u32 {
    std::env::var("PBX_HARDEN_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(256)
}

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: cases(),
        // Shrinking is for a failure; keep it short so a failing CI run stays bounded.
        max_shrink_iters: 2000,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// Config-like text: the tokens the editors look for, separators of every kind, line ends
/// of every kind (LF, CRLF, CR alone, none at the end), odd bytes.
fn configish() -> impl Strategy<Value = Vec<u8>> {
    let token = prop_oneof![
        Just(b"Port".to_vec()),
        Just(b"Match".to_vec()),
        Just(b"Include".to_vec()),
        Just(b"AllowUsers".to_vec()),
        Just(b"PermitRootLogin".to_vec()),
        Just(b"[general]".to_vec()),
        Just(b"[sshd]".to_vec()),
        Just(b"[DEFAULT]".to_vec()),
        Just(b"#include".to_vec()),
        Just(b"secret".to_vec()),
        Just(b"enabled".to_vec()),
        Just(b"IG_TCP_CPORTS".to_vec()),
        Just(b"d=22:s=1.2.3.4".to_vec()),
        Just(b"# added 1.2.3.4 with comment:".to_vec()),
        Just(b"192.168.0.0/24".to_vec()),
        Just(b"=".to_vec()),
        Just(b"=>".to_vec()),
        Just(b"\"".to_vec()),
        Just(b"'".to_vec()),
        Just(b"\\".to_vec()),
        Just(b"$(x)".to_vec()),
        Just(b";".to_vec()),
        Just(b"/*".to_vec()),
        Just(b"*/".to_vec()),
        Just(b" ".to_vec()),
        Just(b"\t".to_vec()),
        Just(b"\n".to_vec()),
        Just(b"\r\n".to_vec()),
        Just(b"\r".to_vec()),
        Just(b"(+)".to_vec()),
        Just(b"(!)".to_vec()),
        "[a-zA-Z0-9_.,:-]{1,8}".prop_map(|s| s.into_bytes()),
        proptest::collection::vec(any::<u8>(), 1..4),
    ];
    prop_oneof![
        proptest::collection::vec(token, 0..60).prop_map(|v| v.concat()),
        proptest::collection::vec(any::<u8>(), 0..300),
    ]
}

fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z0-9 ._,:/-]{0,12}",
        any::<String>().prop_map(|s| s.chars().take(16).collect()),
    ]
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn text_round_trips(b in configish()) {
        prop_assert_eq!(Text::parse(&b).to_bytes(), b);
    }

    #[test]
    fn ini_round_trips_and_edits(b in configish(), line in 0usize..80, v in value()) {
        let mut f = IniFile::parse(&b);
        prop_assert_eq!(f.to_bytes(), b.clone());
        let _ = f.section_headers();
        if line < f.parsed.len()
            && matches!(f.parsed[line], pbx_harden::config::ini::IniLine::Entry { .. })
        {
            f.set_value(line, &v);
            let out = f.to_bytes();
            prop_assert_eq!(IniFile::parse(&out).to_bytes(), out);
        }
    }

    #[test]
    fn jail_round_trips_and_edits(b in configish(), key in "[a-z]{1,8}", v in value()) {
        let mut f = JailFile::parse(&b);
        prop_assert_eq!(f.to_bytes(), b.clone());
        f.set("sshd", &key, &v);
        let out = f.to_bytes();
        prop_assert_eq!(JailFile::parse(&out).to_bytes(), out);
    }

    #[test]
    fn shellvars_round_trip_and_edits(b in configish(), key in "[A-Z_]{1,8}", v in value()) {
        let mut f = ShellVars::parse(&b);
        prop_assert_eq!(f.to_bytes(), b.clone());
        f.set(&key, &v);
        f.set("IG_TCP_CPORTS", &v);
        f.insert_missing(&key, &v);
        let out = f.to_bytes();
        prop_assert_eq!(ShellVars::parse(&out).to_bytes(), out);
    }

    #[test]
    fn sshd_round_trips_and_edits(b in configish(), port in 1u16.., users in proptest::collection::vec("[a-z]{1,6}", 1..3)) {
        let mut c = SshdConfig::from_memory(&[("/etc/ssh/sshd_config", &b)]);
        prop_assert_eq!(c.files[0].bytes(), b.clone());
        let _ = c.occurrences();
        let _ = c.listen_ports();
        c.set_port(port);
        c.set_first("PermitRootLogin", &["no".to_string()]);
        c.set_only("AllowUsers", &users);
        let out = c.files[0].bytes();
        let again = SshdConfig::from_memory(&[("/etc/ssh/sshd_config", &out)]);
        prop_assert_eq!(again.files[0].bytes(), out);
    }

    #[test]
    fn trust_round_trips_and_edits(b in configish(), fmt in 0u8..3, entry in "[0-9.]{1,15}") {
        let fmt = [TrustFormat::Apf9, TrustFormat::Apf17, TrustFormat::Apf2][fmt as usize];
        let mut f = TrustFile::parse(&b, fmt);
        prop_assert_eq!(f.to_bytes(), b.clone());
        let _ = f.entries();
        f.remove(&entry);
        let out = f.to_bytes();
        prop_assert_eq!(TrustFile::parse(&out, fmt).to_bytes(), out);
    }

    #[cfg(feature = "tui")]
    #[test]
    fn the_key_parser_never_panics_and_drains(chunks in proptest::collection::vec(
        prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..12),
            Just(b"\x1b[".to_vec()),
            Just(b"\x1bO".to_vec()),
            Just(b"\x1b[1;5".to_vec()),
            Just(b"\xe2\x82".to_vec()),
        ], 0..20)) {
        let mut p = KeyParser::default();
        let mut keys = 0usize;
        let total: usize = chunks.iter().map(Vec::len).sum();
        for c in &chunks {
            p.push(c);
            while p.next_key().is_some() {
                keys += 1;
            }
        }
        keys += p.flush().len();
        prop_assert!(!p.pending(), "input left after flush");
        prop_assert!(keys <= total, "more keys than bytes");
    }

    #[test]
    fn diffs_never_show_a_secret(
        lines in proptest::collection::vec((0u8..4, "[A-Za-z0-9]{10}"), 1..30),
        change_at in proptest::collection::vec(any::<bool>(), 30),
        key in prop_oneof![Just("secret"), Just("md5secret"), Just("password"), Just("md5_cred")],
        sep in prop_oneof![Just("="), Just(" = "), Just("=>"), Just("\t=\t")],
    ) {
        let mut before = String::new();
        let mut after = String::new();
        let mut secrets = Vec::new();
        for (i, (kind, v)) in lines.iter().enumerate() {
            let old = format!("S{v}");
            let new = format!("N{v}");
            let line = |val: &str| match kind {
                0 => format!("{key}{sep}{val}\n"),
                1 => format!("[{}]\n", &v[..3]),
                2 => "type=friend\n".to_string(),
                _ => format!(";{key}={val}\n"),
            };
            before.push_str(&line(&old));
            after.push_str(&line(if change_at[i] { &new } else { &old }));
            if *kind == 0 || *kind == 3 {
                secrets.push(old);
                secrets.push(new);
            }
        }
        let c = pbx_harden::plan::FileChange {
            path: "/etc/asterisk/sip_custom.conf".into(),
            before: Some(before.into_bytes()),
            after: Some(after.into_bytes()),
            mode: 0o640,
            why: Vec::new(),
            masked: Vec::new(),
        };
        let d = pbx_harden::plan::diff_labeled(&c, "sip_custom.conf");
        for s in &secrets {
            prop_assert!(!d.contains(s.as_str()), "{} shown in\n{}", s, d);
        }
    }
}
