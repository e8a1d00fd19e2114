//! The rollback timer survives its terminal: apply runs in a session with a real pty as its
//! controlling terminal; the session leader is killed and the terminal closed (SIGHUP to
//! everything on it). The files must come back after the deadline. Confirming inside the
//! window keeps them.

mod common;

use std::io::Read;
use std::os::fd::AsRawFd;
use std::process::Command;
use std::time::{Duration, Instant};

use common::*;

const ANSWERS: &str = "[user]\nname = \"trixuser\"\npassword = \"Tundra mosaic 8! lantern quill\"\n[ssh]\nport = 22022\n";

fn read_until(master: &mut std::fs::File, needle: &str, within: Duration) -> String {
    let start = Instant::now();
    let mut out = Vec::new();
    let fd = master.as_raw_fd();
    // SAFETY: setting O_NONBLOCK on a descriptor we own.
    unsafe {
        let fl = nix::libc::fcntl(fd, nix::libc::F_GETFL);
        nix::libc::fcntl(fd, nix::libc::F_SETFL, fl | nix::libc::O_NONBLOCK);
    }
    while start.elapsed() < within {
        let mut buf = [0u8; 4096];
        match master.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(50))
            }
            Err(_) => break,
        }
        if String::from_utf8_lossy(&out).contains(needle) {
            break;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[test]
fn the_timer_survives_the_terminal_dying() {
    let t = demo_root();
    let before = tree(t.path(), &[STATE]);
    let w = tempfile::tempdir().unwrap();
    let a = write_answers(w.path(), ANSWERS);

    // A shell is the session leader on the pty; it runs apply with a 3-second window and
    // then waits, like an admin's login shell.
    let script = format!(
        "{} --root {} apply --answers {} --confirm-timeout 3s; echo APPLY-DONE; sleep 60",
        bin().display(),
        t.path().display(),
        a.display()
    );
    let mut cmd = Command::new("/bin/sh");
    cmd.env("SSH_CONNECTION", "")
        .env("SSH_CLIENT", "")
        .arg("-c")
        .arg(script);
    let (mut shell, mut master, _slave) = spawn_in_pty(cmd, 24, 80);
    let out = read_until(&mut master, "APPLY-DONE", Duration::from_secs(30));
    assert!(out.contains("APPLY-DONE"), "{out}");
    assert!(
        out.contains("rolled back in 3s") || out.contains("rolled back in 2s"),
        "{out}"
    );
    let changed = tree(t.path(), &[STATE]);
    assert_ne!(before, changed, "apply changed the files");

    // The terminal dies: kill the session leader and close the terminal.
    shell.kill().unwrap();
    let _ = shell.wait();
    drop(master);

    // After the deadline (3 s, polled each second) the watchdog has restored everything.
    let start = Instant::now();
    while t.path().join(STATE).join("pending").exists() && start.elapsed() < Duration::from_secs(20)
    {
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(
        !t.path().join(STATE).join("pending").exists(),
        "the watchdog rolled back"
    );
    assert_eq!(
        tree_diff(&before, &tree(t.path(), &[STATE])),
        Vec::<String>::new()
    );
    let history: Vec<String> = std::fs::read_dir(t.path().join(STATE).join("history"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        history.iter().any(|h| h.ends_with("-rolled-back")),
        "{history:?}"
    );
    let log =
        std::fs::read_to_string(t.path().join(STATE).join("watchdog.log")).unwrap_or_default();
    assert!(log.contains("the confirm timer ran out"), "{log}");
}

#[test]
fn confirm_inside_the_window_keeps_the_change() {
    let t = demo_root();
    let w = tempfile::tempdir().unwrap();
    let a = write_answers(w.path(), ANSWERS);
    let o = apply(t.path(), &a, Some("3s"));
    assert!(o.status.success(), "{}", text(&o));
    let applied = tree(t.path(), &[STATE]);
    let o = run(&["--root", t.path().to_str().unwrap(), "confirm"]);
    assert!(o.status.success(), "{}", text(&o));
    std::thread::sleep(Duration::from_secs(5));
    // Nothing rolled back; the boot safeguard is gone and APF left DEVEL_MODE.
    let mut gone: Vec<String> = (2..=5)
        .map(|n| format!("- etc/rc.d/rc{n}.d/S00pbx-harden-rollback"))
        .collect();
    gone.insert(0, "- etc/rc.d/init.d/pbx-harden-rollback".to_string());
    gone.insert(0, "~ etc/apf/conf.apf".to_string());
    assert_eq!(tree_diff(&applied, &tree(t.path(), &[STATE])), gone);
    let apf = std::fs::read_to_string(t.path().join("etc/apf/conf.apf")).unwrap();
    assert!(apf.contains("\nDEVEL_MODE=\"0\"\n"), "{apf}");
    let o = run(&["--root", t.path().to_str().unwrap(), "status"]);
    assert!(text(&o).contains("No change is pending"), "{}", text(&o));
    // the boot safeguard is gone
    assert!(
        !t.path()
            .join("etc/rc.d/init.d/pbx-harden-rollback")
            .exists()
    );
}

#[test]
fn the_boot_safeguard_rolls_back_after_a_reboot() {
    // A reboot inside the window: the watchdog is gone (killed here), and the safeguard's
    // command runs at boot.
    let t = demo_root();
    let before = tree(t.path(), &[STATE]);
    let w = tempfile::tempdir().unwrap();
    let a = write_answers(w.path(), ANSWERS);
    let o = apply(t.path(), &a, Some("10m"));
    assert!(o.status.success(), "{}", text(&o));
    let journal: serde_json::Value = serde_json::from_slice(
        &std::fs::read(t.path().join(STATE).join("pending/journal.json")).unwrap(),
    )
    .unwrap();
    let w = journal["watchdog"].as_str().unwrap().to_string();
    let pid: i32 = w.strip_prefix("pid ").unwrap().parse().unwrap();
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    // The demo system is SysV without an inittab: the safeguard is an init script of its own,
    // linked first (S00) in runlevels 2-5, running the copied binary; no cron.
    let script =
        std::fs::read_to_string(t.path().join("etc/rc.d/init.d/pbx-harden-rollback")).unwrap();
    assert!(
        script.contains("/var/lib/pbx-harden/bin/pbx-harden rollback --no-restart --reason boot"),
        "{script}"
    );
    for n in 2..=5 {
        let l = t
            .path()
            .join(format!("etc/rc.d/rc{n}.d/S00pbx-harden-rollback"));
        assert_eq!(
            std::fs::read_link(&l).unwrap(),
            std::path::Path::new("../init.d/pbx-harden-rollback")
        );
    }
    assert!(!t.path().join("etc/cron.d/pbx-harden-rollback").exists());
    let copied = t.path().join("var/lib/pbx-harden/bin/pbx-harden");
    assert!(copied.exists());
    // "Boot": run what the init script runs (inside the root).
    let o = Command::new(&copied)
        .args([
            "--root",
            t.path().to_str().unwrap(),
            "rollback",
            "--no-restart",
            "--reason",
            "boot",
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(
        tree_diff(&before, &tree(t.path(), &[STATE])),
        Vec::<String>::new()
    );
}
