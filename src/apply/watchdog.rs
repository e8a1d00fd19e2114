//! The rollback timer, outside the wizard's process and terminal.
//!
//! - A watchdog process in its own session (setsid, SIGHUP ignored, no terminal; on a live
//!   systemd host it runs as a transient system unit through systemd-run, so logging out
//!   cannot kill it). It polls the journal once a second: it rolls back at the deadline, or
//!   at once if the apply process died half-way.
//! - A boot safeguard that rolls back an unconfirmed change after a reboot, before sshd
//!   starts and without any service the plan could disable: a oneshot systemd unit ordered
//!   before sshd; on SysV an init script of its own, run from an `/etc/inittab` `sysinit`
//!   entry right after rcS (Debian's startpar ignores rc links it has no `.depend` entry
//!   for) or, without a sysinit entry (upstart), linked as S00 in runlevels 2-5.
//!
//! Both run the copy of the binary in `/var/lib/pbx-harden/bin/`, so they do not depend on
//! where pbx-harden was started from.
//!
//! An incomplete rollback is retried with backoff (1 s doubling to 60 s) by the watchdog
//! until it completes; a rollback that ends incomplete elsewhere (the boot safeguard, the
//! admin's `rollback`, a failed apply) starts a watchdog for that unless one is retrying
//! already (it holds `watchdog.lock`). Errors are logged once each, not every second.

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use super::journal::{self, STATE_DIR, TxState};
use crate::error::{Error, IoContext, Result};
use crate::host::{Host, Init};
use crate::root::Root;

pub const UNIT_PATH: &str = "/etc/systemd/system/pbx-harden-rollback.service";
pub const UNIT_LINK: &str =
    "/etc/systemd/system/multi-user.target.wants/pbx-harden-rollback.service";
/// Written by earlier versions on SysV (cron may be disabled by the change itself): still
/// removed by confirm.
pub const CRON_PATH: &str = "/etc/cron.d/pbx-harden-rollback";
pub const SYSV_NAME: &str = "pbx-harden-rollback";
pub const INITTAB: &str = "/etc/inittab";
/// The inittab id of the safeguard's line (at most 4 characters).
pub const INITTAB_ID: &str = "pbxh";
pub const BOOT_LOG: &str = "/var/lib/pbx-harden/boot.log";
pub const BIN_PATH: &str = "/var/lib/pbx-harden/bin/pbx-harden";

/// The files the boot safeguard consists of, for this target.
pub fn safeguard_paths(sys: &Host) -> Vec<String> {
    match sys.init {
        Init::Systemd => vec![UNIT_PATH.into(), UNIT_LINK.into()],
        _ => {
            let (base, initd) = crate::steps::services::rc_layout(&sys.root);
            let mut v = vec![format!("{initd}/{SYSV_NAME}")];
            if inittab_insert_at(&sys.root).is_some() {
                v.push(INITTAB.into());
            } else {
                v.extend(sysv_links(base));
            }
            v
        }
    }
}

fn sysv_links(base: &str) -> Vec<String> {
    (2..=5)
        .map(|n| format!("{base}/rc{n}.d/S00{SYSV_NAME}"))
        .collect()
}

/// Where the safeguard's line goes in /etc/inittab: after the last `sysinit` entry (rcS, or
/// rc.sysinit), so it runs once the filesystems are mounted read-write and before the
/// runlevel's scripts. `None` without such an entry.
fn inittab_insert_at(root: &Root) -> Option<(Vec<u8>, usize)> {
    let bytes = root.read(INITTAB).ok().flatten()?;
    let mut at = None;
    let mut pos = 0;
    for line in bytes.split_inclusive(|b| *b == b'\n') {
        pos += line.len();
        let t = String::from_utf8_lossy(line);
        let f: Vec<&str> = t.trim_end().splitn(4, ':').collect();
        if !t.trim_start().starts_with('#') && f.len() == 4 && f[2] == "sysinit" {
            at = Some(pos);
        }
    }
    at.map(|a| (bytes, a))
}

fn inittab_line(initd: &str) -> String {
    format!("{INITTAB_ID}::sysinit:{initd}/{SYSV_NAME} start\n")
}

/// /etc/inittab without the safeguard's line (confirm).
pub fn inittab_without_safeguard(bytes: &[u8]) -> Option<Vec<u8>> {
    let prefix = format!("{INITTAB_ID}::sysinit:");
    let mut out = Vec::with_capacity(bytes.len());
    let mut found = false;
    for line in bytes.split_inclusive(|b| *b == b'\n') {
        if line.starts_with(prefix.as_bytes()) && String::from_utf8_lossy(line).contains(SYSV_NAME)
        {
            found = true;
        } else {
            out.extend_from_slice(line);
        }
    }
    found.then_some(out)
}

pub fn sysv_script_text() -> String {
    format!(
        "#!/bin/sh\n\
         ### BEGIN INIT INFO\n\
         # Provides:          {SYSV_NAME}\n\
         # Required-Start:    $local_fs\n\
         # Required-Stop:\n\
         # X-Start-Before:    ssh sshd\n\
         # Default-Start:     2 3 4 5\n\
         # Default-Stop:\n\
         # Short-Description: pbx-harden: roll back an unconfirmed change after a reboot\n\
         ### END INIT INFO\n\
         # chkconfig: 2345 00 99\n\
         # Written by pbx-harden apply; removed by confirm and rollback. It runs from\n\
         # /etc/inittab (sysinit, after rcS) or as S00 of each runlevel, before sshd, and\n\
         # needs no other service (cron may be one the change disabled).\n\
         case \"$1\" in start|'') ;; *) exit 0 ;; esac\n\
         [ -f {STATE_DIR}/pending/journal.json ] || exit 0\n\
         echo \"$(date -u +%Y-%m-%dT%H:%M:%SZ) boot rollback, pid $$ started at tick $(cut -d' ' -f22 /proc/$$/stat 2>/dev/null)\" >> {BOOT_LOG}\n\
         {BIN_PATH} rollback --no-restart --reason boot >> {BOOT_LOG} 2>&1\n\
         exit 0\n"
    )
}

pub fn unit_text() -> String {
    format!(
        "# Written by pbx-harden apply; removed by confirm and rollback.\n\
         [Unit]\n\
         Description=pbx-harden: roll back an unconfirmed change after a reboot\n\
         DefaultDependencies=no\n\
         After=local-fs.target\n\
         Before=network-pre.target ssh.service sshd.service ssh.socket apf.service fail2ban.service \
         nftables.service firewalld.service ufw.service\n\
         ConditionPathExists={STATE_DIR}/pending/journal.json\n\
         \n\
         [Service]\n\
         Type=oneshot\n\
         ExecStart={BIN_PATH} rollback --no-restart --reason boot\n\
         \n\
         [Install]\n\
         WantedBy=multi-user.target\n"
    )
}

/// Write the boot safeguard files (their absence was snapshotted, so rollback removes them).
pub fn write_safeguard(sys: &Host) -> Result<()> {
    let root = &sys.root;
    match sys.init {
        Init::Systemd => {
            let unit = root.host_nofollow(UNIT_PATH);
            super::fsops::create_parents(&unit).at(&unit)?;
            super::fsops::write_atomic(
                &unit,
                unit_text().as_bytes(),
                &super::fsops::Meta::new_file(0o644),
            )
            .at(&unit)?;
            let link = root.host_nofollow(UNIT_LINK);
            super::fsops::create_parents(&link).at(&link)?;
            let _ = std::fs::remove_file(&link);
            std::os::unix::fs::symlink(UNIT_PATH, &link).at(&link)?;
        }
        _ => {
            let (base, initd) = crate::steps::services::rc_layout(root);
            let script = root.host_nofollow(&format!("{initd}/{SYSV_NAME}"));
            super::fsops::create_parents(&script).at(&script)?;
            super::fsops::write_atomic(
                &script,
                sysv_script_text().as_bytes(),
                &super::fsops::Meta::new_file(0o755),
            )
            .at(&script)?;
            if let Some((bytes, at)) = inittab_insert_at(root) {
                let mut new = bytes[..at].to_vec();
                if !new.ends_with(b"\n") {
                    new.push(b'\n');
                }
                new.extend_from_slice(inittab_line(initd).as_bytes());
                new.extend_from_slice(&bytes[at..]);
                let host = root.host(INITTAB);
                let meta = super::fsops::meta_of(&host).at(&host)?;
                super::fsops::write_atomic(&host, &new, &meta).at(&host)?;
            } else {
                for l in sysv_links(base) {
                    let link = root.host_nofollow(&l);
                    if link.parent().is_some_and(|d| d.is_dir()) {
                        let _ = std::fs::remove_file(&link);
                        std::os::unix::fs::symlink(format!("../init.d/{SYSV_NAME}"), &link)
                            .at(&link)?;
                    }
                }
            }
        }
    }
    Ok(())
}

/// Put a copy of the running binary where the safeguard and the watchdog find it
/// (a hard link when the filesystem allows).
pub fn install_binary(root: &Root) -> Result<PathBuf> {
    let exe = std::env::current_exe().map_err(|e| Error::io("/proc/self/exe", e))?;
    let dest = root.host(BIN_PATH);
    if same_file(&exe, &dest) {
        return Ok(dest);
    }
    super::fsops::create_parents(&dest).at(&dest)?;
    let tmp = dest.with_extension("new");
    let _ = std::fs::remove_file(&tmp);
    if std::fs::hard_link(&exe, &tmp).is_err() {
        std::fs::copy(&exe, &tmp).at(&tmp)?;
    }
    std::fs::rename(&tmp, &dest).at(&dest)?;
    Ok(dest)
}

fn same_file(a: &Path, b: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (a.metadata(), b.metadata()) {
        (Ok(x), Ok(y)) => {
            (x.dev(), x.ino()) == (y.dev(), y.ino())
                || (x.len() == y.len() && std::fs::read(a).ok() == std::fs::read(b).ok())
        }
        _ => false,
    }
}

/// Start the watchdog for `txid`, detached from this process and its terminal.
/// Returns a description (pid or unit) for the journal.
pub fn spawn(root: &Root, bin: &Path, txid: &str) -> Result<String> {
    let root_arg = root.dir().display().to_string();
    if root.is_live()
        && Path::new("/run/systemd/system").exists()
        && let Some(run) = crate::host::find_program("systemd-run")
    {
        // A retry started while the first watchdog's unit still exists needs another name.
        for unit in [
            format!("pbx-harden-watchdog-{txid}"),
            format!("pbx-harden-watchdog-{txid}-retry-{}", journal::now()),
        ] {
            let mut argv: Vec<String> = ["--unit", &unit, "--collect", "--quiet", "--description"]
                .iter()
                .map(|s| s.to_string())
                .collect();
            argv.insert(0, run.display().to_string());
            argv.push("pbx-harden rollback timer".into());
            argv.push("--".into());
            argv.push(bin.display().to_string());
            argv.extend(["--root", &root_arg, "watchdog", "--txid", txid].map(String::from));
            let limits = crate::exec::Limits {
                timeout: Duration::from_secs(30),
                ..crate::exec::Limits::default()
            };
            if crate::exec::run_with(&argv, None, &limits).is_ok_and(|o| o.ok()) {
                return Ok(format!("unit {unit}"));
            }
        }
    }
    let log = root.host(&format!("{STATE_DIR}/watchdog.log"));
    let log_file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log)
        .at(&log)?;
    let mut cmd = Command::new(bin);
    cmd.args(["--root", &root_arg, "watchdog", "--txid", txid])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log_file)
        .current_dir("/");
    // SAFETY: setsid and signal are async-signal-safe; nothing else runs before exec.
    unsafe {
        cmd.pre_exec(|| {
            nix::unistd::setsid().map_err(std::io::Error::from)?;
            nix::sys::signal::signal(
                nix::sys::signal::Signal::SIGHUP,
                nix::sys::signal::SigHandler::SigIgn,
            )
            .map_err(std::io::Error::from)?;
            Ok(())
        });
    }
    let child = cmd.spawn().map_err(|e| Error::io(bin, e))?;
    Ok(format!("pid {}", child.id()))
}

/// Exponential backoff: 1 s doubling to 60 s.
struct Backoff(u32);

impl Backoff {
    fn next(&mut self) -> Duration {
        let d = Duration::from_secs((1u64 << self.0.min(6)).min(60));
        self.0 += 1;
        d
    }
}

fn watchdog_lock(root: &Root) -> Option<nix::fcntl::Flock<std::fs::File>> {
    use std::os::unix::fs::OpenOptionsExt;
    let p = journal::ensure_state_dir(root)
        .ok()?
        .state
        .join("watchdog.lock");
    let f = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .mode(0o600)
        .open(&p)
        .ok()?;
    nix::fcntl::Flock::lock(f, nix::fcntl::FlockArg::LockExclusiveNonblock).ok()
}

/// Make sure a watchdog retries the incomplete rollback of `txid` (start one unless one
/// holds the retry lock). Best effort: the boot safeguard and `rollback` remain.
pub fn ensure_retry(root: &Root, txid: &str) {
    let Some(l) = watchdog_lock(root) else { return };
    drop(l);
    let installed = root.host(BIN_PATH);
    let bin = if installed.exists() {
        installed
    } else {
        match std::env::current_exe() {
            Ok(p) => p,
            Err(_) => return,
        }
    };
    match spawn(root, &bin, txid) {
        Ok(w) => {
            eprintln!("pbx-harden: the watchdog ({w}) retries the rollback until it completes")
        }
        Err(e) => eprintln!("pbx-harden: could not start a watchdog to retry the rollback: {e}"),
    }
}

fn log_rollback(r: &super::RollbackReport) {
    eprintln!("pbx-harden watchdog: {}", r.headline());
    for d in r.details() {
        eprintln!("pbx-harden watchdog:   {d}");
    }
}

/// The watchdog's loop. Returns when the transaction is confirmed, rolled back or replaced.
pub fn run(root: &Root, txid: &str) -> Result<()> {
    // Ignore hangups in case we were started some other way.
    // SAFETY: installing SIG_IGN has no preconditions.
    unsafe {
        let _ = nix::sys::signal::signal(
            nix::sys::signal::Signal::SIGHUP,
            nix::sys::signal::SigHandler::SigIgn,
        );
    }
    let mut backoff = Backoff(0);
    let mut last_error = String::new();
    let mut retry_lock = None;
    let mut last_failures = Vec::new();
    loop {
        let j = match journal::load(root) {
            Ok(Some(j)) if j.txid == txid => j,
            Ok(_) => return Ok(()),
            Err(e) => {
                let m = e.to_string();
                if m != last_error {
                    eprintln!("pbx-harden watchdog: {m}");
                    eprintln!("pbx-harden watchdog: trying again with backoff (up to a minute)");
                    last_error = m;
                }
                std::thread::sleep(backoff.next());
                continue;
            }
        };
        let now = journal::now();
        if j.state == TxState::RollbackIncomplete {
            if retry_lock.is_none() {
                match watchdog_lock(root) {
                    Some(l) => retry_lock = Some(l),
                    // Another watchdog retries it.
                    None => return Ok(()),
                }
            }
            std::thread::sleep(backoff.next());
            match super::rollback(root, "retrying an incomplete rollback", true, Some(txid)) {
                Ok(r) if r.complete => {
                    log_rollback(&r);
                    return Ok(());
                }
                Ok(r) => {
                    // Log only when what is left changes.
                    if r.failed != last_failures {
                        log_rollback(&r);
                        eprintln!("pbx-harden watchdog: retrying with backoff until it completes");
                        last_failures = r.failed.clone();
                    }
                }
                Err(e) => {
                    let m = e.to_string();
                    if m != last_error {
                        eprintln!("pbx-harden watchdog: rollback failed: {m}");
                        last_error = m;
                    }
                }
            }
            continue;
        }
        let apply_died = j.state == TxState::Applying && !journal::alive(j.pid, j.pid_start);
        if apply_died || now >= j.deadline {
            if j.state == TxState::Applying && !apply_died {
                // apply is still working (slow restart): it re-arms the deadline when done.
                std::thread::sleep(Duration::from_secs(1));
                continue;
            }
            let reason = if apply_died {
                "the apply process died before it finished"
            } else {
                "the confirm timer ran out"
            };
            match super::rollback(root, reason, true, Some(txid)) {
                Ok(r) if r.complete => {
                    log_rollback(&r);
                    return Ok(());
                }
                Ok(r) => {
                    log_rollback(&r);
                    eprintln!("pbx-harden watchdog: retrying with backoff until it completes");
                    last_failures = r.failed.clone();
                }
                Err(e) => {
                    let m = e.to_string();
                    if m != last_error {
                        eprintln!("pbx-harden watchdog: rollback failed: {m}");
                        last_error = m;
                    }
                    std::thread::sleep(backoff.next());
                }
            }
            continue;
        }
        let left = j.deadline.saturating_sub(now).clamp(0, 1);
        std::thread::sleep(Duration::from_millis(if left == 0 { 200 } else { 1000 }));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const INITTAB_DEBIAN: &str = "id:2:initdefault:\n\
        si::sysinit:/etc/init.d/rcS\n\
        ~~:S:wait:/sbin/sulogin --force\n\
        l2:2:wait:/etc/init.d/rc 2\n";

    #[test]
    fn the_inittab_line_goes_after_rcs_and_comes_out_byte_for_byte() {
        let t = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(t.path().join("etc")).unwrap();
        std::fs::write(t.path().join("etc/inittab"), INITTAB_DEBIAN).unwrap();
        let root = Root::open(t.path()).unwrap();
        let (bytes, at) = inittab_insert_at(&root).unwrap();
        let mut new = bytes[..at].to_vec();
        new.extend_from_slice(inittab_line("/etc/init.d").as_bytes());
        new.extend_from_slice(&bytes[at..]);
        let text = String::from_utf8(new.clone()).unwrap();
        assert!(
            text.contains(
                "si::sysinit:/etc/init.d/rcS\npbxh::sysinit:/etc/init.d/pbx-harden-rollback start\n~~:S"
            ),
            "{text}"
        );
        assert_eq!(
            inittab_without_safeguard(&new).unwrap(),
            INITTAB_DEBIAN.as_bytes()
        );
        assert_eq!(inittab_without_safeguard(INITTAB_DEBIAN.as_bytes()), None);
        // No sysinit entry (upstart's inittab): no place for it.
        std::fs::write(t.path().join("etc/inittab"), "id:3:initdefault:\n").unwrap();
        assert!(inittab_insert_at(&root).is_none());
        // A commented sysinit line does not count.
        std::fs::write(
            t.path().join("etc/inittab"),
            "#si::sysinit:/etc/rc.d/rc.sysinit\n",
        )
        .unwrap();
        assert!(inittab_insert_at(&root).is_none());
    }
}
