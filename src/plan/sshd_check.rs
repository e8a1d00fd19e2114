//! `sshd -t` and `sshd -T` on the edited configuration, before anything is written.
//!
//! The edited files only exist in memory, so the configuration is flattened (Includes
//! expanded in place, paths resolved inside the root) into a temporary file. For a root
//! other than `/`, host keys come from the root or, when it has none, from a throw-away key.
//! sshd refuses to test without its privilege-separation directory (`/run/sshd` on Debian);
//! when that is missing, the test runs in a private mount namespace with a fresh tmpfs on
//! /run, so nothing on the host is created. sshd runs with a memory cap and a timeout, and
//! what it says is shown scrubbed of crypt hashes and secrets (`Include /etc/shadow`).

use std::collections::BTreeMap;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::{Builder, CheckStatus};
use crate::answers::Answers;
use crate::config::sshd::{Directive, SshdConfig};
use crate::root::Root;
use crate::system::System;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// `sshd -T` output: keyword -> values.
    Accepted(BTreeMap<String, Vec<String>>),
    Rejected(String),
    Skipped(String),
}

const DEFAULT_KEYS: &[&str] = &[
    "/etc/ssh/ssh_host_rsa_key",
    "/etc/ssh/ssh_host_ecdsa_key",
    "/etc/ssh/ssh_host_ed25519_key",
];

/// A readable regular file (opened without blocking: a FIFO named as a host key must not
/// hang the plan).
fn readable(p: &Path) -> bool {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(nix::libc::O_NONBLOCK | nix::libc::O_NOCTTY)
        .open(p)
        .and_then(|f| f.metadata())
        .is_ok_and(|m| m.is_file())
}

/// Write the flattened configuration into `dir`; returns its path.
fn write_flat(root: &Root, cfg: &SshdConfig, dir: &Path) -> Result<PathBuf, String> {
    let mut keys: Vec<String> = Vec::new();
    let live = root.is_live();
    let rewrite = |d: &Directive, line: &str| -> Option<String> {
        match d.keyword.as_str() {
            // Keys are collected and written at the top (outside the target they must come
            // from the root); certificates are not needed to check the syntax.
            "hostkey" | "hostcertificate" if !live => None,
            _ => Some(line.to_string()),
        }
    };
    let body = cfg.flatten(&rewrite);
    if !live {
        let mut declared: Vec<String> = cfg
            .occurrences()
            .into_iter()
            .filter(|o| o.keyword == "hostkey")
            .filter_map(|o| o.args.first().cloned())
            .collect();
        if declared.is_empty() {
            declared = DEFAULT_KEYS.iter().map(|s| s.to_string()).collect();
        }
        for k in declared {
            let host = root.host(&k);
            if readable(&host) {
                keys.push(host.display().to_string());
            }
        }
        if keys.is_empty() {
            let key = dir.join("throwaway_host_key");
            let keygen = crate::system::find_program("ssh-keygen")
                .ok_or("ssh-keygen is not installed on this host")?;
            let out = Command::new(keygen)
                .args(["-q", "-t", "ed25519", "-N", "", "-f"])
                .arg(&key)
                .stdin(Stdio::null())
                .output()
                .map_err(|e| format!("ssh-keygen: {e}"))?;
            if !out.status.success() {
                return Err(format!(
                    "ssh-keygen: {}",
                    String::from_utf8_lossy(&out.stderr).trim()
                ));
            }
            keys.push(key.display().to_string());
        }
    }
    let mut text = String::new();
    for k in &keys {
        text.push_str(&format!("HostKey {k}\n"));
    }
    text.push_str(&body);
    let path = dir.join("sshd_config");
    std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(path)
}

fn privsep_missing(stderr: &str) -> Option<String> {
    stderr
        .lines()
        .find_map(|l| l.strip_prefix("Missing privilege separation directory: "))
        .map(|s| s.trim().to_string())
}

/// sshd -t/-T run with at most this much address space (a hostile file must not eat the
/// machine's memory), for at most this long, and keep at most this much of each output.
const SSHD_MEMORY: u64 = 2 << 30;
const SSHD_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);
const SSHD_OUTPUT: u64 = 1 << 20;

/// Run sshd with `args` (under the limits above, killed if pbx-harden dies); if it
/// complains about a missing privilege-separation directory under /run, retry inside a
/// private mount namespace where it exists.
fn run_sshd(sshd: &Path, args: &[&str], euid: u32) -> Result<(bool, String, String), String> {
    let go = |isolated: Option<String>| -> Result<(bool, String, String), String> {
        let mut cmd = Command::new(sshd);
        cmd.args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if let Some(dir) = isolated {
            let dir = std::ffi::CString::new(dir).map_err(|e| e.to_string())?;
            let run = c"/run";
            let tmpfs = c"tmpfs";
            // SAFETY: only async-signal-safe system calls between fork and exec; the
            // strings were allocated before the fork.
            unsafe {
                cmd.pre_exec(move || {
                    use nix::mount::{MsFlags, mount};
                    use nix::sched::{CloneFlags, unshare};
                    unshare(CloneFlags::CLONE_NEWNS).map_err(std::io::Error::from)?;
                    mount(
                        None::<&str>,
                        "/",
                        None::<&str>,
                        MsFlags::MS_REC | MsFlags::MS_PRIVATE,
                        None::<&str>,
                    )
                    .map_err(std::io::Error::from)?;
                    mount(
                        Some(tmpfs),
                        run,
                        Some(tmpfs),
                        MsFlags::empty(),
                        None::<&str>,
                    )
                    .map_err(std::io::Error::from)?;
                    if libc::mkdir(dir.as_ptr(), 0o755) != 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                    Ok(())
                });
            }
        }
        // SAFETY: setrlimit and prctl only, between fork and exec.
        unsafe {
            cmd.pre_exec(|| {
                let cap = libc::rlimit {
                    rlim_cur: SSHD_MEMORY,
                    rlim_max: SSHD_MEMORY,
                };
                libc::setrlimit(libc::RLIMIT_AS, &cap);
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0);
                Ok(())
            });
        }
        let mut child = cmd
            .spawn()
            .map_err(|e| format!("{}: {e}", sshd.display()))?;
        let read = |pipe: Option<Box<dyn std::io::Read + Send>>| {
            std::thread::spawn(move || {
                let mut buf = Vec::new();
                if let Some(p) = pipe {
                    use std::io::Read;
                    let _ = p.take(SSHD_OUTPUT).read_to_end(&mut buf);
                }
                buf
            })
        };
        let out_t = read(child.stdout.take().map(|p| Box::new(p) as _));
        let err_t = read(child.stderr.take().map(|p| Box::new(p) as _));
        let start = std::time::Instant::now();
        let status = loop {
            match child.try_wait() {
                Ok(Some(st)) => break st,
                Ok(None) if start.elapsed() > SSHD_TIMEOUT => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(format!(
                        "sshd {} did not finish within {} s and was stopped",
                        args.first().unwrap_or(&""),
                        SSHD_TIMEOUT.as_secs()
                    ));
                }
                Ok(None) => std::thread::sleep(std::time::Duration::from_millis(20)),
                Err(e) => return Err(format!("{}: {e}", sshd.display())),
            }
        };
        let stdout = out_t.join().unwrap_or_default();
        let stderr = err_t.join().unwrap_or_default();
        Ok((
            status.success(),
            String::from_utf8_lossy(&stdout).into_owned(),
            String::from_utf8_lossy(&stderr).into_owned(),
        ))
    };
    let first = go(None)?;
    if first.0 {
        return Ok(first);
    }
    if let Some(dir) = privsep_missing(&first.2) {
        if !(dir.starts_with("/run/") || dir.starts_with("/var/run/")) {
            return Err(format!("sshd needs {dir}, which is missing"));
        }
        if euid != 0 {
            return Err(format!(
                "sshd -t needs its directory {dir}, which is missing, and only root can provide it"
            ));
        }
        let dir = dir.replacen("/var/run/", "/run/", 1);
        return go(Some(dir));
    }
    Ok(first)
}

/// Validate a configuration with the host's sshd.
pub fn validate(sys: &System, cfg: &SshdConfig) -> Outcome {
    let Some(sshd) = &sys.sshd_binary else {
        return Outcome::Skipped("sshd is not installed on this host".into());
    };
    let tmp = match tempdir() {
        Ok(t) => t,
        Err(e) => return Outcome::Skipped(e),
    };
    let result = (|| {
        let flat = write_flat(&sys.root, cfg, &tmp).map_err(|e| (true, e))?;
        let flat_s = flat.display().to_string();
        let (ok, _, err) =
            run_sshd(sshd, &["-t", "-f", &flat_s], sys.env.euid).map_err(|e| (true, e))?;
        if !ok {
            return Err((false, clean_stderr(&err, &flat_s)));
        }
        let (ok, out, err) =
            run_sshd(sshd, &["-T", "-f", &flat_s], sys.env.euid).map_err(|e| (true, e))?;
        if !ok {
            return Err((false, clean_stderr(&err, &flat_s)));
        }
        let mut map: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for line in out.lines() {
            if let Some((k, v)) = line.split_once(' ') {
                map.entry(k.to_string()).or_default().push(v.to_string());
            }
        }
        Ok(map)
    })();
    let _ = std::fs::remove_dir_all(&tmp);
    match result {
        Ok(m) => Outcome::Accepted(m),
        Err((true, e)) => Outcome::Skipped(e),
        Err((false, e)) => Outcome::Rejected(e),
    }
}

fn clean_stderr(err: &str, flat: &str) -> String {
    let lines: Vec<&str> = err
        .lines()
        .filter(|l| !l.trim().is_empty())
        .filter(|l| !l.contains("Deprecated option") && !l.contains("Unsupported option"))
        .collect();
    let msg = if lines.is_empty() {
        err.trim().to_string()
    } else {
        lines.join("; ")
    };
    // `Include /etc/shadow` makes sshd quote the root hash: never shown.
    crate::redact::scrub(&msg.replace(flat, "sshd_config (flattened)"))
}

fn tempdir() -> Result<PathBuf, String> {
    let base = std::env::temp_dir();
    for i in 0..100u32 {
        let p = base.join(format!("pbx-harden-sshd-{}-{i}", std::process::id()));
        // 0700 from the start: the flattened configuration may hold what it includes.
        let made = {
            use std::os::unix::fs::DirBuilderExt;
            std::fs::DirBuilder::new().mode(0o700).create(&p)
        };
        match made {
            Ok(()) => return Ok(p),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(format!("{}: {e}", p.display())),
        }
    }
    Err("no temporary directory".into())
}

/// Add the sshd -t / -T checks for the edited configuration to the plan.
pub fn check(b: &mut Builder<'_>, before: &SshdConfig, after: &SshdConfig, answers: &Answers) {
    let sys = b.sys;
    match validate(sys, after) {
        Outcome::Skipped(why) => {
            b.check(
                "sshd -t accepts the new configuration",
                CheckStatus::Skipped(why),
            );
        }
        Outcome::Rejected(err) => {
            // Is it this plan's doing, or does the host's sshd reject the file as it is?
            let pre = if before != after {
                validate(sys, before)
            } else {
                Outcome::Rejected(err.clone())
            };
            match pre {
                Outcome::Rejected(old) if old == err => b.check(
                    "sshd -t accepts the new configuration",
                    CheckStatus::Fail(format!(
                        "sshd rejects the current configuration already ({err}); fix it first{}",
                        if sys.root.is_live() {
                            String::new()
                        } else {
                            " (with --root, this host's sshd judges the target's file)".to_string()
                        }
                    )),
                ),
                _ => b.check(
                    "sshd -t accepts the new configuration",
                    CheckStatus::Fail(err),
                ),
            }
        }
        Outcome::Accepted(map) => {
            b.check(
                "sshd -t accepts the new configuration",
                CheckStatus::Pass(String::new()),
            );
            let mut wrong = Vec::new();
            let get = |k: &str| map.get(k).cloned().unwrap_or_default();
            if let Some(p) = b.summary.ssh_port {
                let ports = get("port");
                let listen: Vec<String> = get("listenaddress");
                let listen_ok = listen.is_empty()
                    || listen
                        .iter()
                        .all(|l| l.rsplit(':').next() == Some(&p.to_string()));
                if ports != vec![p.to_string()] || !listen_ok {
                    wrong.push(format!(
                        "port {} / listenaddress {} (wanted {p})",
                        ports.join(","),
                        listen.join(",")
                    ));
                }
            }
            if let Some(s) = &answers.ssh {
                let want = if s.permit_root_login.unwrap_or(false) {
                    "yes"
                } else {
                    "no"
                };
                let got = get("permitrootlogin").join(" ");
                if got != want {
                    wrong.push(format!("permitrootlogin {got} (wanted {want})"));
                }
                if let Some(pa) = s.password_authentication {
                    let want = if pa { "yes" } else { "no" };
                    let got = get("passwordauthentication").join(" ");
                    if got != want {
                        wrong.push(format!("passwordauthentication {got} (wanted {want})"));
                    }
                }
            }
            let allow = answers.allow_users();
            if !allow.is_empty() {
                let mut got = get("allowusers");
                got.sort();
                let mut want = allow.clone();
                want.sort();
                want.dedup();
                if got != want {
                    wrong.push(format!(
                        "allowusers {} (wanted {})",
                        got.join(" "),
                        want.join(" ")
                    ));
                }
            }
            b.check(
                "sshd -T shows the chosen values",
                if wrong.is_empty() {
                    let mut d = Vec::new();
                    if let Some(p) = b.summary.ssh_port {
                        d.push(format!("port {p}"));
                    }
                    d.push(format!(
                        "permitrootlogin {}",
                        get("permitrootlogin").join(" ")
                    ));
                    if !allow.is_empty() {
                        d.push(format!("allowusers {}", get("allowusers").join(" ")));
                    }
                    CheckStatus::Pass(d.join(", "))
                } else {
                    CheckStatus::Fail(wrong.join("; "))
                },
            );
            super::ssh_baseline::verify(b, answers, after, &map);
        }
    }
}
