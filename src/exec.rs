//! Running programs: argv only (no shell), secrets only on stdin, output captured.
//!
//! The probe and the plan send their commands through a [`Runner`] (`System::runner`: the
//! real programs, or a stand-in in tests); `apply` and rollback run theirs directly.
//!
//! Every command runs with limits ([`Limits`]): a timeout (the command is killed and the
//! error names it) and an address-space cap (RLIMIT_AS), so a check such as `sshd -t` on a
//! hostile file can neither hang nor eat the machine's memory. Programs that may start a
//! long-lived daemon that inherits our limits (`service`, init scripts, `apf`,
//! `fail2ban-client`, ...) get the timeout but no memory cap.
//!
//! Every child gets a parent-death signal (SIGKILL when the thread that started it dies),
//! and stays in our process group: apply makes itself a group leader
//! ([`own_process_group`]) and records the group in the journal, so that rollback can
//! kill whatever is left of a dead apply ([`kill_orphaned_group`]) before it restores.
//! The one exception are the programs that start daemons: they run in a session of their
//! own (the parent-death signal still stops them), so that a daemon they leave running
//! (Asterisk's `safe_asterisk &` does not detach itself) is not killed with the group.

use std::io::{Read, Write};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::error::{Error, Result};
use crate::secrets::Secret;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Output {
    pub status: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    pub fn ok(&self) -> bool {
        self.status == 0
    }
}

/// Limits every command runs under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Killed (SIGKILL) after this long.
    pub timeout: Duration,
    /// RLIMIT_AS in bytes; `None` for no cap.
    pub memory: Option<u64>,
    /// Run in a new session (programs that start daemons), out of our process group.
    pub own_session: bool,
}

/// Five minutes: a restart of APF with long deny lists takes a while; nothing takes longer.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(300);
/// 2 GiB of address space: far above what sshd -t, useradd or systemctl need.
pub const DEFAULT_MEMORY: u64 = 2 << 30;
/// At most this much of each output stream is kept (the rest is read and dropped).
const MAX_CAPTURE: usize = 4 << 20;

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            timeout: DEFAULT_TIMEOUT,
            memory: Some(DEFAULT_MEMORY),
            own_session: false,
        }
    }
}

impl Limits {
    /// The limits for `prog`: no memory cap for programs that may start a daemon (it would
    /// inherit the cap and fail later under load).
    pub fn for_program(prog: &str) -> Limits {
        let name = std::path::Path::new(prog)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let starts_daemons = matches!(
            name.as_str(),
            "service" | "apf" | "bfd" | "fail2ban-client" | "asterisk" | "amportal" | "fwconsole"
        ) || prog.contains("/init.d/");
        Limits {
            memory: if starts_daemons {
                None
            } else {
                Some(DEFAULT_MEMORY)
            },
            own_session: starts_daemons,
            ..Limits::default()
        }
    }
}

/// Make this process the leader of its own process group, so that every command it runs
/// is in a group that rollback can kill as a whole. Returns the group id, or `None` when
/// that is not possible without taking the terminal away from the admin (we are in the
/// terminal's foreground group but not its leader): then the parent-death signal alone
/// stops the children.
pub fn own_process_group() -> Option<i32> {
    use nix::unistd::{Pid, getpgrp, getpid, setpgid, tcgetpgrp};
    let me = getpid();
    if getpgrp() == me {
        return Some(me.as_raw());
    }
    for fd in [0, 1, 2] {
        // SAFETY: borrowing a standard descriptor for the duration of the call.
        let bfd = unsafe { std::os::fd::BorrowedFd::borrow_raw(fd) };
        if tcgetpgrp(bfd).is_ok_and(|g| g == getpgrp()) {
            return None;
        }
    }
    setpgid(Pid::from_raw(0), Pid::from_raw(0)).ok()?;
    Some(me.as_raw())
}

/// Process group and state (field 5 and 3 of /proc/PID/stat) of every process.
fn groups() -> Vec<(i32, i32, char)> {
    let mut out = Vec::new();
    let Ok(d) = std::fs::read_dir("/proc") else {
        return out;
    };
    for e in d.flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let Ok(s) = std::fs::read_to_string(e.path().join("stat")) else {
            continue;
        };
        let Some(close) = s.rfind(')') else { continue };
        let f: Vec<&str> = s[close + 1..].split_whitespace().collect();
        if let (Some(st), Some(pg)) = (f.first(), f.get(2).and_then(|g| g.parse().ok())) {
            out.push((pid, pg, st.chars().next().unwrap_or('?')));
        }
    }
    out
}

/// Kill every process left in the process group `pgid` of a dead apply, and wait until the
/// group is empty. A group is only touched when its leader is gone: Linux never reuses a
/// pid while a group of that id has members, so a live process with pid `pgid` means the
/// old group is empty and the id now belongs to someone else.
pub fn kill_orphaned_group(pgid: i32, within: Duration) -> std::result::Result<usize, String> {
    if pgid <= 1 || pgid == nix::unistd::getpgrp().as_raw() {
        return Ok(0);
    }
    let start = Instant::now();
    let mut killed = 0;
    loop {
        let all = groups();
        if all.iter().any(|(pid, _, st)| *pid == pgid && *st != 'Z') {
            return Ok(killed);
        }
        let members: Vec<i32> = all
            .iter()
            .filter(|(_, pg, st)| *pg == pgid && *st != 'Z' && *st != 'X')
            .map(|(p, _, _)| *p)
            .collect();
        if members.is_empty() {
            return Ok(killed);
        }
        if killed == 0 {
            killed = members.len();
        }
        let _ = nix::sys::signal::killpg(
            nix::unistd::Pid::from_raw(pgid),
            nix::sys::signal::Signal::SIGKILL,
        );
        if start.elapsed() > within {
            return Err(format!(
                "{} process(es) of the dead apply (process group {pgid}: pid {}) are still \
                 running after SIGKILL",
                members.len(),
                members
                    .iter()
                    .map(|p| p.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Where the probe's and the plan's commands go (`systemctl is-active`, `semanage`,
/// `ssh -Q`, `fail2ban-client -t`, `nft -c`, …): the real programs ([`Real`]), or a
/// stand-in that answers from a record (tests, machine profiles) or refuses. `apply` runs
/// its commands for real, always.
pub trait Runner: std::fmt::Debug + Send + Sync {
    /// Run `argv` (stdin as in [`run`]); an error when it cannot run at all.
    fn run(&self, argv: &[String], stdin: Option<&Secret>) -> Result<Output>;

    /// Where the program `name` is installed, as far as the probe and the plan go by
    /// (the host's `PATH` unless a stand-in says otherwise).
    fn find_program(&self, name: &str) -> Option<std::path::PathBuf> {
        find_program(name)
    }

    /// `sshd -t` / `sshd -T` on a flattened configuration (`argv` is `SSHD -t|-T -f FILE`;
    /// `euid` says whether a private mount namespace may be made): exit status 0 or 1 and
    /// what sshd printed, or why it could not run (the check is then skipped).
    fn sshd(&self, argv: &[String], euid: u32) -> std::result::Result<Output, String> {
        run_sshd(argv, euid)
    }
}

/// The real programs, under their limits ([`run`]).
#[derive(Debug, Clone, Copy, Default)]
pub struct Real;

impl Runner for Real {
    fn run(&self, argv: &[String], stdin: Option<&Secret>) -> Result<Output> {
        run(argv, stdin)
    }
}

/// Where `name` is installed on this host (`PATH`, then the usual sbin and bin folders).
pub fn find_program(name: &str) -> Option<std::path::PathBuf> {
    let path = std::env::var("PATH").unwrap_or_default();
    let extra = ["/usr/sbin", "/sbin", "/usr/local/sbin", "/usr/bin", "/bin"];
    path.split(':')
        .chain(extra)
        .filter(|d| !d.is_empty())
        .map(|d| std::path::PathBuf::from(d).join(name))
        .find(|p| {
            use std::os::unix::fs::PermissionsExt;
            p.metadata()
                .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
                .unwrap_or(false)
        })
}

/// Run `argv`, feeding `stdin` (a secret never goes on the command line), under the
/// limits for its program.
pub fn run(argv: &[String], stdin: Option<&Secret>) -> Result<Output> {
    let limits = Limits::for_program(argv.first().map(String::as_str).unwrap_or(""));
    run_with(argv, stdin, &limits)
}

fn read_capped(mut r: impl Read) -> Vec<u8> {
    let mut out = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        match r.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                let room = MAX_CAPTURE.saturating_sub(out.len());
                out.extend_from_slice(&buf[..n.min(room)]);
            }
        }
    }
    out
}

/// Wait for `child` to exit, at most `timeout`; `None` when it is still running (still
/// ours to kill and reap). Woken the moment it exits (polling with a sleep cost up to a
/// quarter of each command's time): a thread waits for the exit without reaping it
/// (`WNOWAIT`), and the child is reaped here.
fn wait_timeout(
    child: &mut std::process::Child,
    timeout: Duration,
) -> std::io::Result<Option<std::process::ExitStatus>> {
    let (done_tx, done_rx) = std::sync::mpsc::channel();
    let pid = child.id() as nix::libc::id_t;
    std::thread::spawn(move || {
        // SAFETY: waitid fills the siginfo_t we pass; WNOWAIT leaves the child unreaped.
        let mut info: nix::libc::siginfo_t = unsafe { std::mem::zeroed() };
        loop {
            let r = unsafe {
                nix::libc::waitid(
                    nix::libc::P_PID,
                    pid,
                    &mut info,
                    nix::libc::WEXITED | nix::libc::WNOWAIT,
                )
            };
            if r == 0 || std::io::Error::last_os_error().kind() != std::io::ErrorKind::Interrupted {
                break;
            }
        }
        let _ = done_tx.send(());
    });
    let exited = done_rx.recv_timeout(timeout).is_ok();
    match child.try_wait()? {
        Some(s) => Ok(Some(s)),
        None if !exited => Ok(None),
        // the waiter gave up (it cannot wait for this child): wait here
        None => child.wait().map(Some),
    }
}

/// Run `argv` under `limits`.
pub fn run_with(argv: &[String], stdin: Option<&Secret>, limits: &Limits) -> Result<Output> {
    let (prog, args) = argv
        .split_first()
        .ok_or_else(|| Error::invalid("empty command"))?;
    let command = argv.join(" ");
    let fail = |message: String| Error::Command {
        command: command.clone(),
        message,
    };
    let mut cmd = Command::new(prog);
    cmd.args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .env("LC_ALL", "C");
    let parent = nix::unistd::getpid();
    let memory = limits.memory;
    let own_session = limits.own_session;
    // SAFETY: setsid, prctl, getppid and setrlimit are async-signal-safe; nothing allocates.
    unsafe {
        cmd.pre_exec(move || {
            if own_session && nix::libc::setsid() < 0 {
                return Err(std::io::Error::last_os_error());
            }
            if nix::libc::prctl(
                nix::libc::PR_SET_PDEATHSIG,
                nix::libc::SIGKILL as nix::libc::c_ulong,
            ) != 0
            {
                return Err(std::io::Error::last_os_error());
            }
            // The parent may have died before the signal was armed.
            if nix::libc::getppid() != parent.as_raw() {
                return Err(std::io::Error::other("the parent process is gone"));
            }
            if let Some(m) = memory {
                let lim = nix::libc::rlimit {
                    rlim_cur: m as nix::libc::rlim_t,
                    rlim_max: m as nix::libc::rlim_t,
                };
                if nix::libc::setrlimit(nix::libc::RLIMIT_AS, &lim) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
            }
            Ok(())
        });
    }
    let mut child = cmd.spawn().map_err(|e| {
        fail(if e.kind() == std::io::ErrorKind::NotFound {
            format!("{prog} is not installed")
        } else {
            e.to_string()
        })
    })?;
    let (Some(out_pipe), Some(err_pipe)) = (child.stdout.take(), child.stderr.take()) else {
        let _ = child.kill();
        let _ = child.wait();
        return Err(fail("its output pipes could not be opened".to_string()));
    };
    let (tx, rx) = std::sync::mpsc::channel();
    let tx2 = tx.clone();
    std::thread::spawn(move || {
        let _ = tx.send((1, read_capped(out_pipe)));
    });
    std::thread::spawn(move || {
        let _ = tx2.send((2, read_capped(err_pipe)));
    });
    if let (Some(input), Some(mut pipe)) = (stdin, child.stdin.take()) {
        // A command that exits without reading its input is judged by its exit status.
        let _ = pipe
            .write_all(input.expose().as_bytes())
            .and_then(|_| pipe.write_all(b"\n"));
    }
    let status = match wait_timeout(&mut child, limits.timeout) {
        Ok(Some(s)) => s,
        Ok(None) => {
            let _ = child.kill();
            let _ = child.wait();
            return Err(fail(format!(
                "did not finish within {} and was killed",
                humantime::format_duration(limits.timeout)
            )));
        }
        Err(e) => return Err(fail(e.to_string())),
    };
    // The output ends when the pipes close; a daemon the command left behind may hold
    // them open, so wait only a little for it.
    let (mut stdout, mut stderr) = (Vec::new(), Vec::new());
    let until = Instant::now() + Duration::from_secs(2);
    for _ in 0..2 {
        match rx.recv_timeout(until.saturating_duration_since(Instant::now())) {
            Ok((1, b)) => stdout = b,
            Ok((_, b)) => stderr = b,
            Err(_) => break,
        }
    }
    if let Some(sig) = status.signal() {
        let hint = match limits.memory {
            Some(m) if matches!(sig, 6 | 7 | 9 | 11) => {
                format!(" (it may have hit the memory limit of {} MiB)", m >> 20)
            }
            _ => String::new(),
        };
        return Err(fail(format!("killed by signal {sig}{hint}")));
    }
    Ok(Output {
        status: status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
    })
}

/// Run and turn a non-zero exit into an error carrying stderr.
pub fn run_ok(argv: &[String], stdin: Option<&Secret>) -> Result<Output> {
    let out = run(argv, stdin)?;
    if out.ok() {
        Ok(out)
    } else {
        let msg = if out.stderr.trim().is_empty() {
            out.stdout.trim().to_string()
        } else {
            out.stderr.trim().to_string()
        };
        Err(Error::Command {
            command: argv.join(" "),
            message: format!("exit {}: {msg}", out.status),
        })
    }
}

pub fn argv(parts: &[&str]) -> Vec<String> {
    parts.iter().map(|s| s.to_string()).collect()
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

/// Run sshd (`argv`: `sshd -t -f FILE` or `-T`) under the limits above, killed if
/// pbx-harden dies; if it complains about a missing privilege-separation directory under
/// /run, retry inside a private mount namespace where it exists (root only). The real
/// path of [`Runner::sshd`].
pub fn run_sshd(argv: &[String], euid: u32) -> std::result::Result<Output, String> {
    let Some((sshd, args)) = argv.split_first() else {
        return Err("empty command".into());
    };
    let sshd = std::path::Path::new(sshd);
    let go = |isolated: Option<String>| -> std::result::Result<(bool, String, String), String> {
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
        let status = match wait_timeout(&mut child, SSHD_TIMEOUT) {
            Ok(Some(st)) => st,
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "sshd {} did not finish within {} s and was stopped",
                    args.first().map(String::as_str).unwrap_or(""),
                    SSHD_TIMEOUT.as_secs()
                ));
            }
            Err(e) => return Err(format!("{}: {e}", sshd.display())),
        };
        let stdout = out_t.join().unwrap_or_default();
        let stderr = err_t.join().unwrap_or_default();
        Ok((
            status.success(),
            String::from_utf8_lossy(&stdout).into_owned(),
            String::from_utf8_lossy(&stderr).into_owned(),
        ))
    };
    let done = |(ok, stdout, stderr): (bool, String, String)| Output {
        status: if ok { 0 } else { 1 },
        stdout,
        stderr,
    };
    let first = go(None)?;
    if first.0 {
        return Ok(done(first));
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
        return go(Some(dir)).map(done);
    }
    Ok(done(first))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_command_past_its_timeout_is_killed_and_named() {
        let l = Limits {
            timeout: Duration::from_millis(300),
            memory: None,
            own_session: false,
        };
        let t = Instant::now();
        let e = run_with(&argv(&["sleep", "30"]), None, &l).unwrap_err();
        assert!(t.elapsed() < Duration::from_secs(5));
        let m = e.to_string();
        assert!(
            m.contains("sleep 30") && m.contains("did not finish"),
            "{m}"
        );
    }

    #[test]
    fn a_command_over_its_memory_limit_fails_clearly() {
        let l = Limits {
            timeout: Duration::from_secs(30),
            memory: Some(64 << 20),
            own_session: false,
        };
        // head -c allocates nothing much; a shell building a 200 MB string does.
        let r = run_with(
            &argv(&[
                "sh",
                "-c",
                "x=$(head -c 200000000 /dev/zero | tr '\\0' a); echo ${#x}",
            ]),
            None,
            &l,
        );
        match r {
            Ok(o) => assert!(!o.ok(), "{o:?}"),
            Err(e) => assert!(e.to_string().contains("sh -c"), "{e}"),
        }
    }

    #[test]
    fn output_and_status_are_kept() {
        let o = run(&argv(&["sh", "-c", "echo out; echo err >&2; exit 3"]), None).unwrap();
        assert_eq!(
            (o.status, o.stdout.as_str(), o.stderr.as_str()),
            (3, "out\n", "err\n")
        );
    }
}
