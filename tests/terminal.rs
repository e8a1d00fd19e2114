//! The wizard in a real pty: it restores the terminal on SIGTERM and SIGHUP, ends cleanly
//! when its input ends (no busy loop), uses no alternate screen and plain ASCII on a VT100,
//! treats a 0x0 window as 80x24, and redraws on Ctrl-L.
#![cfg(feature = "tui")] // the wizard is the default cargo feature `tui`

mod common;

use std::io::{Read, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use common::*;
use nix::sys::termios::{LocalFlags, tcgetattr};

struct Session {
    child: Child,
    master: std::fs::File,
    slave: OwnedFd,
    _root: tempfile::TempDir,
    out: Vec<u8>,
}

fn start(term: &str, rows: u16, cols: u16) -> Session {
    let root = demo_root();
    let mut cmd = Command::new(bin());
    cmd.args(["--root", root.path().to_str().unwrap()])
        .env("TERM", term)
        .env("SSH_CONNECTION", "")
        .env("SSH_CLIENT", "")
        .env("LANG", "C.UTF-8")
        .env_remove("LC_ALL")
        .env_remove("NO_COLOR")
        .env_remove("COLUMNS")
        .env_remove("LINES");
    let (child, master, slave) = spawn_in_pty(cmd, rows, cols);
    let mut s = Session {
        child,
        master,
        slave,
        _root: root,
        out: Vec::new(),
    };
    s.read_until("Enter next", Duration::from_secs(20));
    s
}

impl Session {
    fn read_until(&mut self, needle: &str, within: Duration) -> bool {
        let start = Instant::now();
        while start.elapsed() < within {
            let mut buf = [0u8; 8192];
            match self.master.read(&mut buf) {
                Ok(0) => return false,
                Ok(n) => self.out.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    std::thread::sleep(Duration::from_millis(20))
                }
                Err(_) => return false,
            }
            if String::from_utf8_lossy(&self.out).contains(needle) {
                return true;
            }
        }
        false
    }

    fn exited_within(&mut self, d: Duration) -> Option<std::process::ExitStatus> {
        let start = Instant::now();
        while start.elapsed() < d {
            let mut buf = [0u8; 8192];
            if let Ok(n) = self.master.read(&mut buf) {
                self.out.extend_from_slice(&buf[..n]);
            }
            if let Ok(Some(st)) = self.child.try_wait() {
                return Some(st);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        None
    }

    fn canonical(&self) -> bool {
        tcgetattr(self.slave.as_fd())
            .unwrap()
            .local_flags
            .contains(LocalFlags::ICANON)
    }
}

#[test]
fn sigterm_and_sighup_restore_the_terminal() {
    for sig in [
        nix::sys::signal::Signal::SIGTERM,
        nix::sys::signal::Signal::SIGHUP,
    ] {
        let mut s = start("xterm-256color", 24, 80);
        assert!(!s.canonical(), "raw mode while the wizard runs");
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(s.child.id() as i32), sig).unwrap();
        let st = s.exited_within(Duration::from_secs(10));
        assert!(st.is_some(), "{sig}: the wizard ended");
        assert!(
            s.canonical(),
            "{sig}: the terminal is back in canonical mode"
        );
        let out = String::from_utf8_lossy(&s.out);
        assert!(
            out.contains("\x1b[?1049l"),
            "{sig}: the alternate screen is left"
        );
        assert!(
            out.contains("\x1b[?25h"),
            "{sig}: the cursor is shown again"
        );
        assert!(
            out.contains(&format!("the wizard ended: {sig}")),
            "{sig}: {out}"
        );
    }
}

#[test]
fn end_of_input_ends_the_wizard() {
    let mut s = start("vt100", 24, 80);
    // The terminal goes away (a pulled cable, a dead SSH session): the master closes.
    let child = s.child.id();
    drop(std::mem::replace(
        &mut s.master,
        tempfile::tempfile().unwrap(),
    ));
    let start = Instant::now();
    let mut done = false;
    while start.elapsed() < Duration::from_secs(10) {
        if let Ok(Some(_)) = s.child.try_wait() {
            done = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    if !done {
        let _ = s.child.kill();
    }
    assert!(
        done,
        "pid {child} kept running after its terminal went away"
    );
}

#[test]
fn vt100_gets_ascii_and_no_alternate_screen() {
    let mut s = start("vt100", 24, 80);
    s.master.write_all(b"\x03y").unwrap();
    assert!(s.exited_within(Duration::from_secs(10)).is_some());
    assert!(
        !s.out.windows(8).any(|w| w == b"\x1b[?1049h"),
        "no alternate screen"
    );
    let text_without_escapes: Vec<u8> = s.out.iter().copied().filter(|b| *b != 0x1b).collect();
    assert!(text_without_escapes.is_ascii(), "ASCII only");
    assert!(s.canonical());
}

#[test]
fn a_0x0_window_is_80x24_and_ctrl_l_redraws() {
    let mut s = start("xterm-256color", 0, 0);
    let out = String::from_utf8_lossy(&s.out).to_string();
    assert!(out.contains("\x1b[?1049h"), "full look on xterm");
    assert!(out.contains("Welcome"), "{out}");
    // The key bar is on the last of 24 rows.
    assert!(
        out.contains("\x1b[24H") || out.contains("B\r Enter next"),
        "{out:?}"
    );
    s.out.clear();
    s.master.write_all(b"\x0c").unwrap();
    assert!(
        s.read_until("Welcome", Duration::from_secs(5)),
        "Ctrl-L redraws everything"
    );
    assert!(String::from_utf8_lossy(&s.out).contains("\x1b[2J"));
    s.master.write_all(b"\x03y").unwrap();
    assert!(s.exited_within(Duration::from_secs(10)).is_some());
}
