//! Shared test helpers: the demo root, the fixture corpus, real tools, tree comparisons.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// The fixture corpus folder `sub` of `$PBX_HARDEN_CORPUS`. Unset: `None` (the default run
/// uses the project's own fixtures), but in CI that is a failure. Set but missing or
/// empty: a failure.
pub fn corpus(sub: &str) -> Option<PathBuf> {
    let Ok(base) = std::env::var("PBX_HARDEN_CORPUS") else {
        assert!(!in_ci(), "CI must set PBX_HARDEN_CORPUS");
        eprintln!("PBX_HARDEN_CORPUS is not set: corpus part skipped");
        return None;
    };
    let dir = Path::new(&base).join(sub);
    let n = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("PBX_HARDEN_CORPUS={base}: {}: {e}", dir.display()))
        .count();
    assert!(
        n > 0,
        "PBX_HARDEN_CORPUS={base}: {} is empty",
        dir.display()
    );
    Some(dir)
}

/// A real program the test needs. Missing: skip locally, fail in CI.
pub fn require(tool: &str) -> Option<PathBuf> {
    match pbx_harden::system::find_program(tool) {
        Some(p) => Some(p),
        None => {
            assert!(!in_ci(), "{tool} is required in CI but not installed");
            eprintln!("{tool} not installed: this part is skipped (it fails in CI)");
            None
        }
    }
}

pub fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

/// Tests that need root (useradd --root, a real sshd): skip locally, fail in CI.
pub fn require_root() -> bool {
    if is_root() {
        return true;
    }
    assert!(!in_ci(), "CI runs the tests as root");
    eprintln!("not root: this part is skipped (it runs in CI)");
    false
}

pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_pbx-harden"))
}

/// A fresh copy of the bundled demo system.
pub fn demo_root() -> tempfile::TempDir {
    let t = tempfile::Builder::new()
        .prefix("pbx-harden-test-")
        .tempdir()
        .unwrap();
    pbx_harden::demo::materialize(t.path()).unwrap();
    t
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    File {
        bytes: Vec<u8>,
        mode: u32,
        uid: u32,
        gid: u32,
    },
    Dir {
        mode: u32,
        uid: u32,
        gid: u32,
    },
    Link(PathBuf),
}

/// Every path under `dir` (except `skip` prefixes) with its content, mode and owner.
pub fn tree(dir: &Path, skip: &[&str]) -> BTreeMap<String, Node> {
    let mut out = BTreeMap::new();
    fn walk(base: &Path, d: &Path, skip: &[&str], out: &mut BTreeMap<String, Node>) {
        let mut es: Vec<_> = std::fs::read_dir(d).unwrap().flatten().collect();
        es.sort_by_key(|e| e.file_name());
        for e in es {
            let p = e.path();
            let rel = p.strip_prefix(base).unwrap().display().to_string();
            if skip.iter().any(|s| rel.starts_with(s)) {
                continue;
            }
            let md = std::fs::symlink_metadata(&p).unwrap();
            if md.file_type().is_symlink() {
                out.insert(rel, Node::Link(std::fs::read_link(&p).unwrap()));
            } else if md.is_dir() {
                out.insert(
                    rel.clone(),
                    Node::Dir {
                        mode: md.mode() & 0o7777,
                        uid: md.uid(),
                        gid: md.gid(),
                    },
                );
                walk(base, &p, skip, out);
            } else {
                out.insert(
                    rel,
                    Node::File {
                        bytes: std::fs::read(&p).unwrap(),
                        mode: md.mode() & 0o7777,
                        uid: md.uid(),
                        gid: md.gid(),
                    },
                );
            }
        }
    }
    walk(dir, dir, skip, &mut out);
    out
}

/// Paths whose node differs between two trees (for readable assertion messages).
pub fn tree_diff(a: &BTreeMap<String, Node>, b: &BTreeMap<String, Node>) -> Vec<String> {
    let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .filter(|k| a.get(*k) != b.get(*k))
        .map(|k| match (a.get(k), b.get(k)) {
            (None, _) => format!("+ {k}"),
            (_, None) => format!("- {k}"),
            _ => format!("~ {k}"),
        })
        .collect()
}

/// Our own state lives here; it is not part of the target's configuration.
pub const STATE: &str = "var/lib/pbx-harden";

/// An answers file in `dir` under a name of its own: tests of one binary run at once and
/// often share a `dir` (the parent of their temporary roots, /tmp): one fixed name let one
/// test apply another's answers.
pub fn write_answers(dir: &Path, text: &str) -> PathBuf {
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let p = dir.join(format!("{}-{n}-answers.toml", std::process::id()));
    std::fs::write(&p, text).unwrap();
    p
}

pub fn run(args: &[&str]) -> std::process::Output {
    std::process::Command::new(bin())
        .args(args)
        .env("SSH_CONNECTION", "")
        .env("SSH_CLIENT", "")
        .output()
        .unwrap()
}

pub fn text(o: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Start `cmd` as the session leader of a new pty, the pty its controlling terminal (what a
/// terminal emulator does). Returns the child, the master (non-blocking, not inherited, so
/// closing it hangs the terminal up) and the slave.
pub fn spawn_in_pty(
    mut cmd: std::process::Command,
    rows: u16,
    cols: u16,
) -> (std::process::Child, std::fs::File, std::os::fd::OwnedFd) {
    use std::os::unix::process::CommandExt;
    use std::process::Stdio;
    let ws = nix::pty::Winsize {
        ws_row: rows,
        ws_col: cols,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    let pty = nix::pty::openpty(Some(&ws), None).unwrap();
    nix::fcntl::fcntl(
        &pty.master,
        nix::fcntl::FcntlArg::F_SETFD(nix::fcntl::FdFlag::FD_CLOEXEC),
    )
    .unwrap();
    let slave = pty.slave;
    cmd.stdin(Stdio::from(slave.try_clone().unwrap()))
        .stdout(Stdio::from(slave.try_clone().unwrap()))
        .stderr(Stdio::from(slave.try_clone().unwrap()));
    // SAFETY: setsid + TIOCSCTTY between fork and exec, nothing else.
    unsafe {
        cmd.pre_exec(|| {
            nix::unistd::setsid().map_err(std::io::Error::from)?;
            if nix::libc::ioctl(0, nix::libc::TIOCSCTTY, 0) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let child = cmd.spawn().unwrap();
    let master = std::fs::File::from(pty.master);
    // SAFETY: O_NONBLOCK on our own descriptor.
    unsafe {
        let fd = std::os::fd::AsRawFd::as_raw_fd(&master);
        let fl = nix::libc::fcntl(fd, nix::libc::F_GETFL);
        nix::libc::fcntl(fd, nix::libc::F_SETFL, fl | nix::libc::O_NONBLOCK);
    }
    (child, master, slave)
}

/// `pbx-harden --root ROOT ARGS...` without an SSH connection, with extra environment.
pub fn pbx(root: &Path, args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    let mut c = std::process::Command::new(bin());
    c.arg("--root").arg(root).args(args);
    c.env("SSH_CONNECTION", "").env("SSH_CLIENT", "");
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().unwrap()
}

/// `apply --answers FILE [--confirm-timeout T]` on a root.
pub fn apply(root: &Path, answers: &Path, timeout: Option<&str>) -> std::process::Output {
    let mut args = vec!["apply", "--answers", answers.to_str().unwrap()];
    if let Some(t) = timeout {
        args.extend(["--confirm-timeout", t]);
    }
    pbx(root, &args, &[])
}

/// Where a test looks for leaked secrets: outputs (stdout/stderr, messages) and every
/// regular file under some directories (the root, temporary directories, the state).
#[derive(Default)]
pub struct LeakCheck {
    secrets: Vec<String>,
    outputs: Vec<(String, Vec<u8>)>,
    dirs: Vec<PathBuf>,
    allowed: Vec<PathBuf>,
}

impl LeakCheck {
    /// Every password, passphrase, SIP secret and hash the test used.
    pub fn new(secrets: &[&str]) -> LeakCheck {
        LeakCheck {
            secrets: secrets
                .iter()
                .filter(|s| !s.is_empty())
                .map(|s| s.to_string())
                .collect(),
            ..Default::default()
        }
    }

    pub fn output(&mut self, what: &str, bytes: &[u8]) -> &mut Self {
        self.outputs.push((what.to_string(), bytes.to_vec()));
        self
    }

    pub fn process(&mut self, what: &str, o: &std::process::Output) -> &mut Self {
        self.output(&format!("{what} (stdout)"), &o.stdout);
        self.output(&format!("{what} (stderr)"), &o.stderr)
    }

    pub fn dir(&mut self, d: &Path) -> &mut Self {
        self.dirs.push(d.to_path_buf());
        self
    }

    /// A file where a secret belongs (the rotated-secrets report, the answers file).
    pub fn allow(&mut self, p: &Path) -> &mut Self {
        self.allowed.push(p.to_path_buf());
        self
    }

    /// Panics naming each place a secret was found; returns how many places were searched.
    pub fn assert_clean(&self) -> usize {
        let mut found = Vec::new();
        let mut searched = 0;
        let hit = |hay: &[u8], s: &str| hay.windows(s.len()).any(|w| w == s.as_bytes());
        for (what, bytes) in &self.outputs {
            searched += 1;
            for s in &self.secrets {
                if hit(bytes, s) {
                    found.push(format!("{s:?} in {what}"));
                }
            }
        }
        fn files(d: &Path, out: &mut Vec<PathBuf>) {
            let Ok(rd) = std::fs::read_dir(d) else { return };
            for e in rd.flatten() {
                let p = e.path();
                let Ok(md) = std::fs::symlink_metadata(&p) else {
                    continue;
                };
                if md.is_dir() {
                    files(&p, out);
                } else if md.is_file() {
                    out.push(p);
                }
            }
        }
        let mut all = Vec::new();
        for d in &self.dirs {
            files(d, &mut all);
        }
        for f in all {
            if self.allowed.contains(&f) {
                continue;
            }
            let Ok(bytes) = std::fs::read(&f) else {
                continue;
            };
            searched += 1;
            for s in &self.secrets {
                if hit(&bytes, s) {
                    found.push(format!("{s:?} in {}", f.display()));
                }
            }
        }
        assert!(
            found.is_empty(),
            "secrets leaked:\n  {}",
            found.join("\n  ")
        );
        searched
    }
}

/// The demo trixbox's machine profile (recorded from the real sshd by tools/record-profile).
pub const DEMO_PROFILE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/assets/profiles/demo-trixbox.toml"
);

/// Whether the real programs answer the probe and the plan: root with sshd, and always in
/// CI (where their absence fails). Otherwise the demo's machine profile answers
/// ([`detect`], [`profile_env`]), so plans and snapshots run as a normal user without sshd.
pub fn real_programs() -> bool {
    if in_ci() {
        return require_root() && require("sshd").is_some();
    }
    is_root() && pbx_harden::system::find_program("sshd").is_some()
}

pub fn demo_profile() -> std::sync::Arc<pbx_harden::profile::ProfileRunner> {
    let p = pbx_harden::profile::Profile::demo().unwrap();
    std::sync::Arc::new(pbx_harden::profile::ProfileRunner::new(p, DEMO_PROFILE))
}

/// A profile that fails the test (a panic naming the command) where it has no answer: a
/// test from a profile never passes on a refusal the plan turned into a skipped check.
#[derive(Debug)]
pub struct Strict(pub pbx_harden::profile::ProfileRunner);

impl Strict {
    fn fail(&self, e: String) -> String {
        if e.contains("has no record of") {
            panic!("{e}");
        }
        e
    }
}

impl pbx_harden::exec::Runner for Strict {
    fn run(
        &self,
        argv: &[String],
        stdin: Option<&pbx_harden::secrets::Secret>,
    ) -> pbx_harden::error::Result<pbx_harden::exec::Output> {
        self.0.run(argv, stdin).inspect_err(|e| {
            self.fail(e.to_string());
        })
    }

    fn find_program(&self, name: &str) -> Option<PathBuf> {
        self.0.find_program(name)
    }

    fn sshd(&self, argv: &[String], euid: u32) -> Result<pbx_harden::exec::Output, String> {
        self.0.sshd(argv, euid).map_err(|e| self.fail(e))
    }
}

/// The facts of a demo-based root: the real programs or the demo's profile ([`real_programs`];
/// a command it has no answer for fails the test).
pub fn detect(root: &pbx_harden::root::Root) -> pbx_harden::system::System {
    use pbx_harden::system::{Env, System};
    if real_programs() {
        System::detect(root, &Env::fixed()).unwrap()
    } else {
        let p = pbx_harden::profile::Profile::demo().unwrap();
        let r = pbx_harden::profile::ProfileRunner::new(p, DEMO_PROFILE).with_root(root.dir());
        System::detect_with(root, &Env::fixed(), std::sync::Arc::new(Strict(r))).unwrap()
    }
}

/// The environment that makes the CLI plan a demo-based root from the demo's profile when
/// the real programs are not there ([`real_programs`]); empty (ignored) otherwise.
pub fn profile_env() -> (&'static str, &'static str) {
    (
        pbx_harden::profile::PROFILE_ENV,
        if real_programs() { "" } else { DEMO_PROFILE },
    )
}
