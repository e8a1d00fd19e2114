//! `sshd -t` and `sshd -T` on the edited configuration, before anything is written.
//!
//! The edited files only exist in memory, so the configuration is flattened (Includes
//! expanded in place, paths resolved inside the root) into a temporary file. For a root
//! other than `/`, host keys come from the root or, when it has none, from a throw-away key.
//! sshd refuses to test without its privilege-separation directory (`/run/sshd` on Debian);
//! when that is missing, the test runs in a private mount namespace with a fresh tmpfs on
//! /run, so nothing on the host is created. sshd runs with a memory cap and a timeout, and
//! what it says is shown scrubbed of crypt hashes and secrets (`Include /etc/shadow`).
//! sshd and ssh-keygen are asked through `System::runner` (`Runner::sshd`, whose real path
//! is `exec::run_sshd`), so a stand-in or a machine profile can answer for them.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::config::sshd::{Directive, SshdConfig};
use crate::host::Host;
use crate::model::{Builder, CheckStatus};
use crate::steps::ssh::answers::{Answers, UserAnswers};

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
fn write_flat(sys: &Host, cfg: &SshdConfig, dir: &Path) -> Result<PathBuf, String> {
    let root = &sys.root;
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
            let keygen = sys
                .runner
                .find_program("ssh-keygen")
                .ok_or("ssh-keygen is not installed on this host")?;
            let argv: Vec<String> = [keygen.display().to_string()]
                .into_iter()
                .chain(["-q", "-t", "ed25519", "-N", "", "-f"].map(String::from))
                .chain([key.display().to_string()])
                .collect();
            let out = sys
                .runner
                .run(&argv, None)
                .map_err(|e| format!("ssh-keygen: {e}"))?;
            if !out.ok() {
                return Err(format!("ssh-keygen: {}", out.stderr.trim()));
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

/// Validate a configuration with the host's sshd.
pub fn validate(sys: &Host, cfg: &SshdConfig) -> Outcome {
    let Some(sshd) = sys.sshd_binary.force() else {
        return Outcome::Skipped("sshd is not installed on this host".into());
    };
    let tmp = match tempdir() {
        Ok(t) => t,
        Err(e) => return Outcome::Skipped(e),
    };
    let result = (|| {
        let flat = write_flat(sys, cfg, &tmp).map_err(|e| (true, e))?;
        let flat_s = flat.display().to_string();
        let sshd_s = sshd.display().to_string();
        let argv = |mode: &str| [sshd_s.clone(), mode.into(), "-f".into(), flat_s.clone()];
        let out = sys
            .runner
            .sshd(&argv("-t"), sys.env.euid)
            .map_err(|e| (true, e))?;
        if !out.ok() {
            return Err((false, clean_stderr(&out.stderr, &flat_s)));
        }
        let out = sys
            .runner
            .sshd(&argv("-T"), sys.env.euid)
            .map_err(|e| (true, e))?;
        if !out.ok() {
            return Err((false, clean_stderr(&out.stderr, &flat_s)));
        }
        let mut map: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for line in out.stdout.lines() {
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

/// What the sshd checks compare with: the `[ssh]` answers and the login user's name, never
/// the password (the plan keeps this until the verify pass).
pub fn without_secrets(a: &Answers) -> Answers {
    Answers {
        ssh: a.ssh.clone(),
        user: a.user.as_ref().map(|u| UserAnswers {
            name: u.name.clone(),
            ..Default::default()
        }),
    }
}

/// Add the sshd -t / -T checks for the edited configuration to the plan (run by the verify
/// pass).
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
            super::baseline::verify(b, answers, after, &map);
        }
    }
}
