//! SIP/IAX extension secrets: replace the weak ones in files the admin owns (the scan that
//! finds them is a fact, `crate::steps::asterisk::facts`, re-exported here).
//!
//! A weak secret is replaced (with `rotate_weak`) only when it belongs to a phone that
//! registers here, sits in its own section (not a shared template), and its file is the
//! admin's: files FreePBX regenerates are reported with what to change in FreePBX instead.
//! Trunk secrets are the provider's and interoffice secrets have another end: both are
//! reported, never changed.

pub mod answers;
pub mod audit;
pub mod doors;
pub mod facts;
pub mod load;
pub mod ports;
pub mod weak;

use std::collections::{BTreeMap, BTreeSet};

use rand::Rng;

use crate::config::ini::{IniFile, IniLine};
use crate::host::Lazy;
use crate::model::Builder;
use crate::model::actions::{Action, CommandAction};
use crate::root::Root;
use crate::secrets::Secret;
pub use answers::Answers;
pub use facts::*;

// ----- the plan -----

const KEY: &str = "extensions.rotate_weak";

/// Days since 1970-01-01 -> (year, month, day) (proleptic Gregorian).
fn civil(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Where the new secrets go: root's home, `pbx-harden-secrets-YYYY-MM-DD.csv` (a number
/// is added rather than overwriting an earlier report).
pub fn report_path(b: &Builder<'_>) -> String {
    let home = b
        .sys
        .users
        .get("root")
        .map(|u| u.home.clone())
        .filter(|h| h.starts_with('/') && h.len() > 1)
        .unwrap_or_else(|| "/root".into());
    let (y, m, d) = civil(b.sys.env.epoch() / 86_400);
    let base = format!("{home}/pbx-harden-secrets-{y:04}-{m:02}-{d:02}");
    let mut path = format!("{base}.csv");
    let mut n = 2;
    while b.sys.root.exists(&path) {
        path = format!("{base}-{n}.csv");
        n += 1;
    }
    path
}

pub(crate) fn asterisk_running(root: &Root) -> bool {
    [
        "/var/run/asterisk/asterisk.ctl",
        "/run/asterisk/asterisk.ctl",
    ]
    .iter()
    .any(|p| root.exists(p))
}

/// `scan` is found here (`force`) only when the answers have an `[extensions]` section.
pub fn plan<R: Rng + ?Sized>(
    b: &mut Builder<'_>,
    scan: &Lazy<Scan>,
    answers: &Answers,
    rng: &mut R,
) {
    let Some(e) = &answers.extensions else {
        return;
    };
    let scan = scan.force();
    for err in &scan.errors {
        b.warn(KEY, format!("could not read {err}"));
    }
    if !e.rotate_weak {
        return;
    }
    // file -> (line, key, new secret)
    let mut edits: BTreeMap<String, Vec<(usize, String, Secret)>> = BTreeMap::new();
    let mut rows: Vec<String> = Vec::new();
    let mut secrets: Vec<Secret> = Vec::new();
    let mut channels: BTreeSet<Channel> = BTreeSet::new();
    let mut phones: Vec<String> = Vec::new();
    let mut notes: Vec<String> = Vec::new();
    for p in &scan.peers {
        let Some(Problem::Weak { reasons }) = &p.problem else {
            continue;
        };
        let Some(sec) = &p.secret else { continue };
        if let Some(fix) = manual_fix(scan, p) {
            notes.push(format!(
                "{} line {}: {} has a weak secret ({}); {fix}",
                sec.file,
                sec.line + 1,
                p.describe(),
                weak::describe(reasons)
            ));
            continue;
        }
        let new = weak::generate(rng);
        edits
            .entry(sec.file.clone())
            .or_default()
            .push((sec.line, sec.key.clone(), new.clone()));
        rows.push(format!(
            "{},{},{},{},{},{}",
            p.channel.label(),
            csv(&sec.file),
            csv(&p.name),
            csv(&p.extension),
            csv(p.username.as_deref().unwrap_or("")),
            new.expose()
        ));
        secrets.push(new);
        channels.insert(p.channel);
        phones.push(p.describe());
    }
    for n in notes {
        b.warn(KEY, n);
    }
    if edits.is_empty() {
        return;
    }
    for (file, lines) in &edits {
        let bytes = match b.current(file) {
            Ok(Some(bytes)) => bytes,
            Ok(None) => {
                b.error(KEY, format!("{file} disappeared while planning"));
                return;
            }
            Err(err) => {
                b.error(KEY, format!("cannot read {file}: {err}"));
                return;
            }
        };
        let mut ini = IniFile::parse(&bytes);
        for (line, key, _) in lines {
            let ok = matches!(ini.parsed.get(*line), Some(IniLine::Entry { key: k, .. }) if k.eq_ignore_ascii_case(key));
            if !ok {
                b.error(
                    KEY,
                    format!(
                        "{file} line {}: expected {key}= there; not changed",
                        line + 1
                    ),
                );
                return;
            }
        }
        let values: Vec<(usize, &str)> = lines
            .iter()
            .map(|(line, _, new)| (*line, new.expose()))
            .collect();
        ini.set_values(&values);
        b.write(
            file,
            Some(ini.to_bytes()),
            0o640,
            "new secrets for weak extensions",
        );
        for (_, _, new) in lines {
            b.mask(file, new.clone());
        }
    }
    let report = report_path(b);
    let mut csv_text = String::from("channel,file,section,extension,username,new_secret\n");
    for r in &rows {
        csv_text.push_str(r);
        csv_text.push('\n');
    }
    b.write(
        &report,
        Some(csv_text.into_bytes()),
        0o600,
        "the new secrets, for re-provisioning the phones (root only)",
    );
    for s in secrets {
        b.mask(&report, s);
    }
    b.warn(
        KEY,
        format!(
            "{} stop registering until they get their new secret from {report} \
             (readable by root only): {}",
            if phones.len() == 1 {
                "1 phone will".to_string()
            } else {
                format!("{} phones will", phones.len())
            },
            phones.join(", ")
        ),
    );
    let reloads: Vec<&str> = channels
        .iter()
        .flat_map(|ch| ch.reload_commands().iter().copied())
        .collect();
    reload_asterisk(b, KEY, &reloads, "the new secrets");
}

/// Asterisk reloads what changed (`asterisk -rx "sip reload"`, …) after apply, on the live
/// system when it runs; otherwise a warning under `key` that it reads `what` when it starts.
pub(crate) fn reload_asterisk(b: &mut Builder<'_>, key: &str, commands: &[&str], what: &str) {
    if commands.is_empty() || !b.sys.root.is_live() {
        return;
    }
    if !asterisk_running(&b.sys.root) {
        b.warn(
            key,
            format!("Asterisk is not running: it reads {what} when it starts"),
        );
        return;
    }
    let ast = crate::host::find_program("asterisk")
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| "/usr/sbin/asterisk".into());
    for c in commands {
        let argv = vec![ast.clone(), "-rx".to_string(), c.to_string()];
        b.actions.push(Action::Command(CommandAction {
            argv: argv.clone(),
            undo: vec![argv],
            touches: Vec::new(),
            changes_state: false,
        }));
    }
}

/// A CSV field (quoted when it needs to be).
fn csv(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(civil(0), (1970, 1, 1));
        assert_eq!(civil(19_723), (2024, 1, 1));
        assert_eq!(civil(20_513), (2026, 3, 1));
    }
}
