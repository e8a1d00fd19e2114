//! Machine profiles: what the programs of one machine answered to the probe's and the
//! plan's commands (argv -> exit status, stdout, stderr; `sshd -t`/`-T` per flattened
//! configuration; which programs are installed), in a TOML file under assets/profiles/.
//!
//! [`ProfileRunner`] replays a profile as the [`Runner`] of a `System`, so the plan and the
//! wizard run without root and without the real programs; a command the profile has no
//! record of is refused with an error naming its argv, never guessed. [`Recorder`] runs the
//! real programs and adds what they answered to a profile file (`tools/record-profile`);
//! secrets never reach it (stdin is not recorded, sshd's complaints are scrubbed).
//!
//! Hidden switches, read by `System::detect` for a target other than `/` (`--root`,
//! `--demo`): `PBX_HARDEN_PROFILE=FILE` plans from a profile, `PBX_HARDEN_RECORD_PROFILE=FILE`
//! records one. The temporary directory of a check (`/tmp/pbx-harden-sshd-PID-N`,
//! `/tmp/pbx-harden-check-PID-N-NANOS`) is kept as `{tmp}` in a profile, the target root
//! (`systemctl --root=DIR`) as `{root}`. A profile that says `config_digests = true` keeps
//! each sshd configuration as its SHA-256 only (`config_sha256`): the profiles of
//! tests/machines are recorded on roots built from the fixture corpus, which is never copied
//! into the repository.
//!
//! A command given a firewall check's directory (`nft -c -f {tmp}/pbx-harden.nft`, ufw,
//! firewall-offline-cmd) is kept with the SHA-256 of the files in it (`files_sha256`): its
//! answer is replayed for those rules only.
//!
//! Profiles: the demo trixbox (assets/demo), and roots shaped like Debian 12 + FreePBX 17,
//! Rocky 9 with firewalld and SNG7 (tests/machines), all recorded with `tools/record-profile`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::exec::{Output, Runner};
use crate::secrets::Secret;

/// The demo trixbox's profile (recorded with `tools/record-profile`).
pub const DEMO: &str = include_str!("../assets/profiles/demo-trixbox.toml");

/// The environment variable that plans from a profile (`--root`/`--demo` only).
pub const PROFILE_ENV: &str = "PBX_HARDEN_PROFILE";
/// The environment variable that records a profile.
pub const RECORD_ENV: &str = "PBX_HARDEN_RECORD_PROFILE";

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Profile {
    /// What machine this is and how the profile was made (recorded or hand-built).
    #[serde(default)]
    pub about: String,
    /// Program name -> where it is installed; a name listed in `missing` is not.
    #[serde(default)]
    pub programs: BTreeMap<String, String>,
    #[serde(default)]
    pub missing: Vec<String>,
    #[serde(default, rename = "command")]
    pub commands: Vec<Record>,
    /// `sshd -t` / `-T` answers, per flattened configuration.
    #[serde(default, rename = "sshd")]
    pub sshd: Vec<SshdRecord>,
    /// sshd configurations are recorded as their SHA-256 only (see the module header).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub config_digests: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    pub argv: Vec<String>,
    /// For a command given a firewall check's temporary directory (nft -c, ufw,
    /// firewall-offline-cmd): the SHA-256 of the files in it when it ran, so that the answer
    /// is replayed only for the same rules.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub files_sha256: Option<String>,
    pub status: i32,
    #[serde(default)]
    pub stdout: String,
    #[serde(default)]
    pub stderr: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SshdRecord {
    /// `-t` or `-T`.
    pub mode: String,
    /// The flattened configuration sshd was given (empty when only its digest is kept).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub config: String,
    /// Its SHA-256, hex (profiles with `config_digests = true`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_sha256: Option<String>,
    pub status: i32,
    #[serde(default)]
    pub stdout: String,
    #[serde(default)]
    pub stderr: String,
}

impl Profile {
    pub fn parse(text: &str, name: &str) -> Result<Profile> {
        toml::from_str(text).map_err(|e| Error::invalid(format!("{name}: {e}")))
    }

    pub fn load(path: &Path) -> Result<Profile> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::invalid(format!("{}: {e}", path.display())))?;
        Profile::parse(&text, &path.display().to_string())
    }

    pub fn to_toml(&self) -> Result<String> {
        toml::to_string(self).map_err(|e| Error::invalid(format!("profile: {e}")))
    }

    /// The demo trixbox's profile.
    pub fn demo() -> Result<Profile> {
        Profile::parse(DEMO, "assets/profiles/demo-trixbox.toml")
    }
}

/// The temporary directories of the sshd check and of the firewall checks.
const TMP_MARKS: [&str; 2] = ["pbx-harden-sshd-", CHECK_MARK];
/// A firewall check's: what is in it is what the command judges.
const CHECK_MARK: &str = "pbx-harden-check-";

/// A check's temporary directory named in `s` (`/tmp/pbx-harden-sshd-PID-N`).
fn tmp_dir_in(s: &str) -> Option<String> {
    let base = std::env::temp_dir().display().to_string();
    TMP_MARKS.iter().find_map(|mark| {
        let prefix = format!("{}/{mark}", base.trim_end_matches('/'));
        let at = s.find(&prefix)?;
        let rest = &s[at + prefix.len()..];
        let len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '-'))
            .unwrap_or(rest.len());
        Some(s[at..at + prefix.len() + len].to_string())
    })
}

fn tmp_of(argv: &[String]) -> Option<String> {
    argv.iter().find_map(|a| tmp_dir_in(a))
}

/// What a profile keeps in place of this run's temporary directory and target root.
#[derive(Debug, Clone, Default)]
struct Marks {
    tmp: Option<String>,
    root: Option<String>,
}

impl Marks {
    fn of(argv: &[String], root: Option<&str>) -> Marks {
        Marks {
            tmp: tmp_of(argv),
            root: root.map(str::to_string),
        }
    }

    fn norm(&self, s: &str) -> String {
        let mut s = s.to_string();
        if let Some(t) = &self.tmp {
            s = s.replace(t.as_str(), "{tmp}");
        }
        if let Some(r) = &self.root {
            s = s.replace(r.as_str(), "{root}");
        }
        s
    }

    fn denorm(&self, s: &str) -> String {
        let mut s = s.to_string();
        if let Some(r) = &self.root {
            s = s.replace("{root}", r);
        }
        if let Some(t) = &self.tmp {
            s = s.replace("{tmp}", t);
        }
        s
    }
}

/// The target root as a profile names it (`None` for `/`: nothing to stand in for).
fn root_text(root: &Path) -> Option<String> {
    let t = root.display().to_string();
    let t = t.trim_end_matches('/');
    (!t.is_empty()).then(|| t.to_string())
}

/// What a command given a firewall check's directory judges: the SHA-256 of every file in it
/// (relative path and bytes, in order; a link by its target).
fn files_digest(m: &Marks) -> Option<String> {
    use sha2::Digest;
    fn walk(dir: &Path, rel: &str, h: &mut sha2::Sha256) {
        let Ok(rd) = std::fs::read_dir(dir) else {
            return;
        };
        let mut names: Vec<_> = rd.flatten().map(|e| e.file_name()).collect();
        names.sort();
        for n in names {
            let p = dir.join(&n);
            let r = format!("{rel}/{}", n.to_string_lossy());
            let Ok(md) = std::fs::symlink_metadata(&p) else {
                continue;
            };
            if md.is_dir() {
                walk(&p, &r, h);
            } else if md.file_type().is_symlink() {
                let t = std::fs::read_link(&p).unwrap_or_default();
                h.update(format!("{r} -> {}\0", t.display()).as_bytes());
            } else {
                h.update(format!("{r}\0").as_bytes());
                h.update(std::fs::read(&p).unwrap_or_default());
                h.update(b"\0");
            }
        }
    }
    let tmp = m.tmp.as_deref().filter(|t| t.contains(CHECK_MARK))?;
    let mut h = sha2::Sha256::new();
    walk(Path::new(tmp), "", &mut h);
    Some(h.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

fn sha256_hex(text: &str) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The `-f FILE` of an sshd argv, read.
fn sshd_config_of(argv: &[String]) -> std::result::Result<String, String> {
    let file = argv
        .iter()
        .position(|a| a == "-f")
        .and_then(|i| argv.get(i + 1))
        .ok_or_else(|| format!("{}: no -f FILE", argv.join(" ")))?;
    std::fs::read_to_string(file).map_err(|e| format!("{file}: {e}"))
}

fn sshd_mode(argv: &[String]) -> String {
    argv.get(1).cloned().unwrap_or_default()
}

/// Replays a [`Profile`]; refuses what it has no record of.
#[derive(Debug, Clone)]
pub struct ProfileRunner {
    profile: Profile,
    name: String,
    root: Option<String>,
}

impl ProfileRunner {
    pub fn new(profile: Profile, name: &str) -> ProfileRunner {
        ProfileRunner {
            profile,
            name: name.to_string(),
            root: None,
        }
    }

    /// The target root that `{root}` stands for in this profile's commands.
    pub fn with_root(mut self, root: &Path) -> ProfileRunner {
        self.root = root_text(root);
        self
    }

    pub fn profile(&self) -> &Profile {
        &self.profile
    }

    fn refuse(&self, argv: &[String]) -> String {
        format!(
            "the machine profile {} has no record of `{}` (record it with tools/record-profile)",
            self.name,
            argv.join(" ")
        )
    }
}

impl Runner for ProfileRunner {
    fn run(&self, argv: &[String], _stdin: Option<&Secret>) -> Result<Output> {
        let m = Marks::of(argv, self.root.as_deref());
        let key: Vec<String> = argv.iter().map(|a| m.norm(a)).collect();
        let files = files_digest(&m);
        let r = self
            .profile
            .commands
            .iter()
            .find(|r| r.argv == key && r.files_sha256 == files)
            .ok_or_else(|| Error::Command {
                command: argv.join(" "),
                message: self.refuse(argv),
            })?;
        Ok(Output {
            status: r.status,
            stdout: m.denorm(&r.stdout),
            stderr: m.denorm(&r.stderr),
        })
    }

    fn find_program(&self, name: &str) -> Option<PathBuf> {
        self.profile.programs.get(name).map(PathBuf::from)
    }

    fn sshd(&self, argv: &[String], _euid: u32) -> std::result::Result<Output, String> {
        let m = Marks::of(argv, self.root.as_deref());
        let config = m.norm(&sshd_config_of(argv)?);
        let digest = sha256_hex(&config);
        let mode = sshd_mode(argv);
        let r = self
            .profile
            .sshd
            .iter()
            .find(|r| {
                r.mode == mode
                    && ((!r.config.is_empty() && r.config == config)
                        || r.config_sha256.as_deref() == Some(digest.as_str()))
            })
            .ok_or_else(|| self.refuse(argv))?;
        Ok(Output {
            status: r.status,
            stdout: m.denorm(&r.stdout),
            stderr: m.denorm(&r.stderr),
        })
    }
}

/// Runs the real programs (`inner`) and adds each answer to the profile file `path`
/// (read, updated and written back, by rename, at every command, so runs add up).
#[derive(Debug)]
pub struct Recorder {
    inner: std::sync::Arc<dyn Runner>,
    path: PathBuf,
    root: Option<String>,
}

/// One update of a profile file at a time in this process (every `System` has its own
/// recorder, and tests run in threads).
static RECORDING: Mutex<()> = Mutex::new(());

impl Recorder {
    pub fn new(inner: std::sync::Arc<dyn Runner>, path: &Path) -> Recorder {
        Recorder {
            inner,
            path: path.to_path_buf(),
            root: None,
        }
    }

    /// The target root, kept as `{root}` in the profile.
    pub fn with_root(mut self, root: &Path) -> Recorder {
        self.root = root_text(root);
        self
    }

    fn update(&self, f: impl FnOnce(&mut Profile)) {
        let _held = RECORDING.lock().unwrap_or_else(|e| e.into_inner());
        let mut p = if self.path.exists() {
            match Profile::load(&self.path) {
                Ok(p) => p,
                Err(e) => {
                    eprintln!("not recorded: {e}");
                    return;
                }
            }
        } else {
            Profile::default()
        };
        f(&mut p);
        // In a stable order, so that a second recording shows only what changed.
        p.commands
            .sort_by(|a, b| (&a.argv, &a.files_sha256).cmp(&(&b.argv, &b.files_sha256)));
        p.sshd.sort_by(|a, b| {
            (&a.config, &a.config_sha256, &a.mode).cmp(&(&b.config, &b.config_sha256, &b.mode))
        });
        p.missing.sort();
        let written = p.to_toml().and_then(|t| {
            let part = self.path.with_extension("toml.part");
            std::fs::write(&part, t)
                .and_then(|_| std::fs::rename(&part, &self.path))
                .map_err(|e| Error::invalid(format!("{}: {e}", self.path.display())))
        });
        if let Err(e) = written {
            eprintln!("not recorded: {e}");
        }
    }
}

impl Runner for Recorder {
    fn run(&self, argv: &[String], stdin: Option<&Secret>) -> Result<Output> {
        let m = Marks::of(argv, self.root.as_deref());
        let files = files_digest(&m);
        let out = self.inner.run(argv, stdin)?;
        let rec = Record {
            argv: argv.iter().map(|a| m.norm(a)).collect(),
            files_sha256: files,
            status: out.status,
            stdout: m.norm(&out.stdout),
            stderr: m.norm(&out.stderr),
        };
        self.update(|p| {
            p.commands
                .retain(|r| !(r.argv == rec.argv && r.files_sha256 == rec.files_sha256));
            p.commands.push(rec);
        });
        Ok(out)
    }

    fn find_program(&self, name: &str) -> Option<PathBuf> {
        let found = self.inner.find_program(name);
        self.update(|p| {
            p.missing.retain(|m| m != name);
            p.programs.remove(name);
            match &found {
                Some(path) => {
                    p.programs
                        .insert(name.to_string(), path.display().to_string());
                }
                None => p.missing.push(name.to_string()),
            }
        });
        found
    }

    fn sshd(&self, argv: &[String], euid: u32) -> std::result::Result<Output, String> {
        let out = self.inner.sshd(argv, euid)?;
        let m = Marks::of(argv, self.root.as_deref());
        let config = m.norm(&sshd_config_of(argv)?);
        // sshd quotes what it cannot parse (`Include /etc/shadow`: a crypt hash): the
        // profile keeps it scrubbed, as the plan shows it.
        let mut rec = SshdRecord {
            mode: sshd_mode(argv),
            config_sha256: Some(sha256_hex(&config)),
            config,
            status: out.status,
            stdout: m.norm(&out.stdout),
            stderr: crate::redact::scrub(&m.norm(&out.stderr)),
        };
        self.update(|p| {
            if p.config_digests {
                rec.config.clear();
            } else {
                rec.config_sha256 = None;
            }
            p.sshd.retain(|r| {
                !(r.mode == rec.mode
                    && r.config == rec.config
                    && r.config_sha256 == rec.config_sha256)
            });
            p.sshd.push(rec);
        });
        Ok(out)
    }
}

/// The runner `System::detect` uses: a profile or a recorder when the hidden environment
/// variables ask for one (a target other than `/` only), else the real programs.
pub fn runner_from_env(root: &crate::root::Root) -> Result<std::sync::Arc<dyn Runner>> {
    let live = root.is_live();
    let real: std::sync::Arc<dyn Runner> = std::sync::Arc::new(crate::exec::Real);
    let var = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty());
    match (var(PROFILE_ENV), var(RECORD_ENV)) {
        (None, None) => Ok(real),
        (Some(_), Some(_)) => Err(Error::invalid(format!(
            "{PROFILE_ENV} and {RECORD_ENV}: one or the other"
        ))),
        _ if live => Err(Error::invalid(format!(
            "{PROFILE_ENV} / {RECORD_ENV} are for --root or --demo, never this system"
        ))),
        (Some(p), None) => {
            let path = PathBuf::from(p);
            let profile = Profile::load(&path)?;
            Ok(std::sync::Arc::new(
                ProfileRunner::new(profile, &path.display().to_string()).with_root(root.dir()),
            ))
        }
        (None, Some(p)) => Ok(std::sync::Arc::new(
            Recorder::new(real, Path::new(&p)).with_root(root.dir()),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unrecorded_command_is_refused_by_name() {
        let r = ProfileRunner::new(Profile::default(), "empty.toml");
        let e = r
            .run(&["systemctl".into(), "is-active".into(), "x".into()], None)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("systemctl is-active x"), "{e}");
        assert!(e.contains("empty.toml has no record"), "{e}");
    }

    #[test]
    fn the_sshd_temporary_directory_is_kept_as_a_placeholder() {
        let tmp = std::env::temp_dir().join("pbx-harden-sshd-123-4");
        let arg = tmp.join("throwaway_host_key").display().to_string();
        let t = tmp_of(std::slice::from_ref(&arg));
        assert_eq!(t.as_deref(), Some(tmp.display().to_string().as_str()));
        let m = Marks::of(std::slice::from_ref(&arg), None);
        assert_eq!(m.norm(&arg), "{tmp}/throwaway_host_key");
        let check = std::env::temp_dir().join("pbx-harden-check-9-0-12345/pbx-harden.nft");
        let arg = check.display().to_string();
        let m = Marks::of(std::slice::from_ref(&arg), None);
        assert_eq!(m.norm(&arg), "{tmp}/pbx-harden.nft");
    }

    #[test]
    fn a_check_is_answered_only_for_the_files_it_was_recorded_with() {
        let dir =
            std::env::temp_dir().join(format!("pbx-harden-check-{}-88-1", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap_or_default();
        let f = dir.join("pbx-harden.nft");
        std::fs::write(&f, "table inet a {}\n").unwrap_or_default();
        let argv: Vec<String> = vec![
            "nft".into(),
            "-c".into(),
            "-f".into(),
            f.display().to_string(),
        ];
        let m = Marks::of(&argv, None);
        let p = Profile {
            commands: vec![Record {
                argv: argv.iter().map(|a| m.norm(a)).collect(),
                files_sha256: files_digest(&m),
                status: 0,
                stdout: String::new(),
                stderr: String::new(),
            }],
            ..Profile::default()
        };
        let r = ProfileRunner::new(p, "checks.toml");
        assert!(r.run(&argv, None).is_ok_and(|o| o.status == 0));
        std::fs::write(&f, "table inet b {}\n").unwrap_or_default();
        let e = r
            .run(&argv, None)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("checks.toml has no record"), "{e}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn the_target_root_is_kept_as_a_placeholder() {
        let m = Marks::of(&[], Some("/tmp/pbx-harden-fw-x1"));
        let a = "--root=/tmp/pbx-harden-fw-x1";
        assert_eq!(m.norm(a), "--root={root}");
        assert_eq!(m.denorm(&m.norm(a)), a);
    }

    #[test]
    fn a_digest_profile_answers_by_the_configurations_sha256() {
        let dir = std::env::temp_dir().join(format!("pbx-harden-sshd-{}-77", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap_or_default();
        let f = dir.join("sshd_config");
        std::fs::write(&f, "Port 22\n").unwrap_or_default();
        let p = Profile {
            sshd: vec![SshdRecord {
                mode: "-t".into(),
                config: String::new(),
                config_sha256: Some(sha256_hex("Port 22\n")),
                status: 0,
                stdout: String::new(),
                stderr: String::new(),
            }],
            config_digests: true,
            ..Profile::default()
        };
        let r = ProfileRunner::new(p, "digests.toml");
        let argv =
            |c: &str| -> Vec<String> { vec!["sshd".into(), "-t".into(), "-f".into(), c.into()] };
        assert!(r.sshd(&argv(&f.display().to_string()), 0).is_ok());
        std::fs::write(&f, "Port 23\n").unwrap_or_default();
        let e = r
            .sshd(&argv(&f.display().to_string()), 0)
            .err()
            .unwrap_or_default();
        assert!(e.contains("digests.toml has no record"), "{e}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn the_demo_profile_parses() {
        assert!(Profile::demo().is_ok_and(|p| p.programs.contains_key("sshd")));
    }
}
