//! Helpers of the firewall tests: plans on a test root, and bash reading back what APF and
//! BFD read (they `source` their configuration files).
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use pbx_harden::answers::Answers;
use pbx_harden::plan::{self, CheckStatus, FileChange, Plan};
use pbx_harden::root::Root;
use pbx_harden::system::{Env, System};

/// Plan `answers` on the root at `dir`, as the admin of `Env::fixed()` (203.0.113.10).
pub fn plan_for(dir: &Path, answers: &str) -> (System, Plan) {
    plan_with_env(dir, answers, &Env::fixed())
}

pub fn plan_with_env(dir: &Path, answers: &str, env: &Env) -> (System, Plan) {
    let root = Root::open(dir).unwrap();
    let a = Answers::parse(answers, "test answers").unwrap();
    let sys = System::detect(&root, env).unwrap();
    let p = plan::build(&sys, &a, &mut rand::rng());
    (sys, p)
}

pub fn change<'a>(p: &'a Plan, path: &str) -> Option<&'a FileChange> {
    p.changes.iter().find(|c| c.path == path)
}

pub fn after(p: &Plan, path: &str) -> Vec<u8> {
    change(p, path)
        .and_then(|c| c.after.clone())
        .unwrap_or_else(|| panic!("the plan does not write {path}:\n{}", problems(p)))
}

pub fn problems(p: &Plan) -> String {
    let mut s: Vec<String> = p.problems.iter().map(|x| x.to_string()).collect();
    for c in &p.checks {
        s.push(format!("check {}: {:?}", c.name, c.status));
    }
    s.join("\n")
}

pub fn errors(p: &Plan) -> Vec<String> {
    p.refusals().iter().map(|x| x.to_string()).collect()
}

pub fn check<'a>(p: &'a Plan, name_part: &str) -> &'a CheckStatus {
    &p.checks
        .iter()
        .find(|c| c.name.contains(name_part))
        .unwrap_or_else(|| panic!("no check \"{name_part}\":\n{}", problems(p)))
        .status
}

/// The `FILE sets K="v" …` line of the plan's firewall summary.
pub fn settings_line(p: &Plan, file: &str) -> String {
    let prefix = format!("{file} sets ");
    p.summary
        .firewall
        .iter()
        .find_map(|l| l.strip_prefix(&prefix).map(str::to_string))
        .unwrap_or_else(|| panic!("no settings line for {file}: {:?}", p.summary.firewall))
}

/// The keys of a settings line (`A="1" B="x y"` -> A, B), read by bash itself.
pub fn settings_keys(line: &str) -> Vec<String> {
    let out = Command::new("bash")
        .args([
            "-c",
            "eval \"set -- $1\"; for a; do printf '%s\\n' \"${a%%=*}\"; done",
            "_",
            line,
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{line}");
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

const PRINT: &str = "for k in $KEYS; do printf '%s=%s\\0' \"$k\" \"${!k}\"; done";

fn read_nul(out: std::process::Output) -> BTreeMap<String, String> {
    assert!(
        out.status.success(),
        "bash failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .split('\0')
        .filter(|s| !s.is_empty())
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap();
            (k.to_string(), v.to_string())
        })
        .collect()
}

fn bash(env: &[(&str, &str)], keys: &[String]) -> Command {
    let mut c = Command::new("bash");
    c.env_clear()
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        .env("KEYS", keys.join(" "));
    for (k, v) in env {
        c.env(k, v);
    }
    c
}

/// Source `file` with bash, as APF and BFD do, and print `keys`. `. $CNFINT` (APF's
/// internals) is a no-op here, so nothing of the host is read.
pub fn source(file: &Path, keys: &[String], env: &[(&str, &str)]) -> BTreeMap<String, String> {
    let out = bash(env, keys)
        .args([
            "-c",
            &format!("function .() {{ :; }}; source \"$1\" >/dev/null 2>&1; {PRINT}"),
            "_",
            &file.display().to_string(),
        ])
        .output()
        .unwrap();
    read_nul(out)
}

/// Source bytes (written to a temp file first).
pub fn source_bytes(
    bytes: &[u8],
    keys: &[String],
    env: &[(&str, &str)],
) -> BTreeMap<String, String> {
    let t = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(t.path(), bytes).unwrap();
    source(t.path(), keys, env)
}

/// What the plan says, read by bash from the settings line.
pub fn eval_settings(line: &str, env: &[(&str, &str)]) -> BTreeMap<String, String> {
    let keys = settings_keys(line);
    let out = bash(env, &keys)
        .args(["-c", &format!("eval \"$1\"; {PRINT}"), "_", line])
        .output()
        .unwrap();
    read_nul(out)
}

/// Every line that differs between two versions of a file (same line count assumed when
/// only values changed): (line number, before, after).
pub fn changed_lines(before: &[u8], after: &[u8]) -> Vec<(usize, String, String)> {
    let b = String::from_utf8_lossy(before);
    let a = String::from_utf8_lossy(after);
    let bl: Vec<&str> = b.split_inclusive('\n').collect();
    let al: Vec<&str> = a.split_inclusive('\n').collect();
    let d = similar::TextDiff::from_slices(&bl, &al);
    let mut out = Vec::new();
    for op in d.ops() {
        for ch in d.iter_changes(op) {
            match ch.tag() {
                similar::ChangeTag::Equal => {}
                similar::ChangeTag::Delete => out.push((
                    ch.old_index().unwrap_or(0),
                    ch.value().to_string(),
                    String::new(),
                )),
                similar::ChangeTag::Insert => out.push((
                    ch.new_index().unwrap_or(0),
                    String::new(),
                    ch.value().to_string(),
                )),
            }
        }
    }
    out
}

/// The assignment keys on a line (`TCR_PASS="1"\tTCR_PORTS=…` has two).
pub fn keys_on(line: &str) -> Vec<String> {
    pbx_harden::config::shellvars::parse_assignments(line.trim_end_matches('\n'), 0)
        .into_iter()
        .map(|a| a.key)
        .collect()
}

/// Where a test root's APF or BFD comes from.
#[derive(Clone, Copy)]
pub enum From<'a> {
    /// The demo system's own files.
    Demo,
    /// Not installed.
    Absent,
    /// A fixture folder of the corpus.
    Dir(&'a Path),
}

/// Copy a corpus file into a test root, writable by its owner: the corpus is read-only
/// (`r--r--r--`), and a test run by a normal user edits its copies as root would.
pub fn copy_fixture(src: &Path, dest: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::copy(src, dest).unwrap();
    let mut perm = std::fs::metadata(dest).unwrap().permissions();
    perm.set_mode(perm.mode() | 0o200);
    std::fs::set_permissions(dest, perm).unwrap();
}

/// A demo root whose APF and BFD come from `apf` / `bfd`.
pub fn root_with(apf: From<'_>, bfd: From<'_>) -> tempfile::TempDir {
    let t = tempfile::Builder::new()
        .prefix("pbx-harden-fw-")
        .tempdir()
        .unwrap();
    pbx_harden::demo::materialize(t.path()).unwrap();
    let etc_apf = t.path().join("etc/apf");
    if !matches!(apf, From::Demo) {
        std::fs::remove_dir_all(&etc_apf).unwrap();
    }
    if let From::Dir(src) = apf {
        std::fs::create_dir_all(&etc_apf).unwrap();
        for f in std::fs::read_dir(src).unwrap().flatten() {
            let name = f.file_name().to_string_lossy().into_owned();
            if matches!(name.as_str(), "cron.d.apf" | "icmp.types" | "rab.ports") {
                continue;
            }
            copy_fixture(&f.path(), &etc_apf.join(&name));
        }
    }
    let bfd_dir = t.path().join("usr/local/bfd");
    if !matches!(bfd, From::Demo) {
        std::fs::remove_dir_all(&bfd_dir).unwrap();
        std::fs::remove_file(t.path().join("etc/cron.d/bfd")).unwrap();
    }
    if let From::Dir(src) = bfd {
        std::fs::create_dir_all(&bfd_dir).unwrap();
        for f in std::fs::read_dir(src).unwrap().flatten() {
            let name = f.file_name().to_string_lossy().into_owned();
            let dest = if name == "cron" {
                t.path().join("etc/cron.d/bfd")
            } else {
                bfd_dir.join(&name)
            };
            copy_fixture(&f.path(), &dest);
        }
    }
    t
}

/// Write every change of a plan into the root (what apply does, without the transaction).
pub fn write_all(dir: &Path, p: &Plan) {
    for c in &p.changes {
        let h = dir.join(c.path.trim_start_matches('/'));
        match &c.after {
            Some(b) => {
                std::fs::create_dir_all(h.parent().unwrap()).unwrap();
                std::fs::write(h, b).unwrap();
            }
            None => {
                let _ = std::fs::remove_file(h);
            }
        }
    }
}

/// Subfolders of a corpus folder, sorted.
pub fn versions(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    v.sort();
    assert!(!v.is_empty(), "{} has no version folders", dir.display());
    v
}
