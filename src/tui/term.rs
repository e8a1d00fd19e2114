//! The terminal: raw mode, window size, signals and input, with nix and signal-hook.
//!
//! - End of input or an I/O error on the terminal is an event (`Ev::Eof`), never a busy loop.
//! - A 0x0 window (serial consoles) counts as 80x24.
//! - SIGWINCH redraws; SIGTERM and SIGHUP end the wizard cleanly; the terminal is restored
//!   on every exit path, panics included (a scroll region the backend kept set too).

use std::io::{self, Read};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::termios::{self, SetArg, Termios};
use ratatui::layout::Size;

use super::keys::{Key, KeyParser};

/// How the screen should look on this terminal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mode {
    /// ASCII borders and symbols, no colour, no alternate screen.
    pub basic: bool,
    /// No attributes at all (TERM=dumb).
    pub dumb: bool,
}

/// Decide the mode from TERM, the locale, NO_COLOR and --ascii.
pub fn detect_mode(
    term: Option<&str>,
    locale: &[Option<String>],
    no_color: bool,
    ascii_flag: bool,
) -> Mode {
    let term = term.unwrap_or("dumb");
    let utf8 = locale
        .iter()
        .flatten()
        .find(|v| !v.is_empty())
        .is_some_and(|v| {
            let l = v.to_ascii_lowercase();
            l.contains("utf-8") || l.contains("utf8")
        });
    let legacy = matches!(
        term,
        "vt100" | "vt102" | "vt220" | "vt52" | "vt320" | "dumb" | "ansi"
    ) || term.starts_with("vt");
    Mode {
        basic: ascii_flag || no_color || legacy || !utf8,
        dumb: term == "dumb",
    }
}

pub fn mode_from_env(ascii_flag: bool) -> Mode {
    let locale = [
        std::env::var("LC_ALL").ok(),
        std::env::var("LC_CTYPE").ok(),
        std::env::var("LANG").ok(),
    ];
    detect_mode(
        std::env::var("TERM").ok().as_deref(),
        &locale,
        std::env::var_os("NO_COLOR").is_some(),
        ascii_flag,
    )
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ev {
    Key(Key),
    Resize(Size),
    /// Another thread has news (a score, a plan, apply progress).
    Wake,
    /// Time passed without input (for countdowns).
    Tick,
    /// The terminal is gone (EOF, EIO) or a SIGTERM/SIGHUP arrived.
    Gone(&'static str),
}

struct Restore {
    fd: RawFd,
    saved: Termios,
    alt: bool,
}

static RESTORE: Mutex<Option<Restore>> = Mutex::new(None);

/// Put the terminal back as it was. Safe to call more than once, from a panic hook too.
pub fn restore_terminal() {
    let Ok(mut g) = RESTORE.lock() else { return };
    if let Some(r) = g.take() {
        // SAFETY: the descriptor stays open for the life of the process (stdin/stdout/tty).
        let fd = unsafe { BorrowedFd::borrow_raw(r.fd) };
        // A scroll region the backend kept set: reset it where the cursor is (DECSTBM
        // homes the cursor; DECSC/DECRC keep it where the shell continues).
        let mut seq = String::from(if super::backend::region_set() {
            "\x1b7\x1b[r\x1b8"
        } else {
            ""
        });
        seq.push_str("\x1b[m\x1b[?25h");
        if r.alt {
            seq.push_str("\x1b[?2004l\x1b[?1049l");
        } else {
            seq.push_str("\r\n");
        }
        let _ = nix::unistd::write(fd, seq.as_bytes());
        let _ = termios::tcsetattr(fd, SetArg::TCSAFLUSH, &r.saved);
    }
}

pub struct Tty {
    input: std::fs::File,
    pub output: std::fs::File,
    parser: KeyParser,
    wake_rx: UnixStream,
    pub waker: UnixStream,
    sig_rx: UnixStream,
    winch: Arc<AtomicBool>,
    term: Arc<AtomicBool>,
    hup: Arc<AtomicBool>,
    esc_deadline: Option<Instant>,
    queue: std::collections::VecDeque<Key>,
}

fn dup_file(fd: BorrowedFd<'_>) -> io::Result<std::fs::File> {
    let owned: OwnedFd = fd.try_clone_to_owned()?;
    Ok(std::fs::File::from(owned))
}

impl Tty {
    /// Open the controlling terminal (stdin/stdout when they are one, else /dev/tty) in raw
    /// mode; `restore_terminal` leaves the alternate screen unless `mode.basic` (the event
    /// loop enters it with its first frame, see `enter_sequence`).
    pub fn open(mode: Mode) -> io::Result<Tty> {
        let stdin_tty = nix::unistd::isatty(io::stdin().as_fd()).unwrap_or(false);
        let stdout_tty = nix::unistd::isatty(io::stdout().as_fd()).unwrap_or(false);
        let (input, output) = if stdin_tty && stdout_tty {
            (
                dup_file(io::stdin().as_fd())?,
                dup_file(io::stdout().as_fd())?,
            )
        } else {
            let t = std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .open("/dev/tty")
                .map_err(|e| {
                    io::Error::new(
                        e.kind(),
                        "the wizard needs a terminal (no tty); use plan/apply --answers instead",
                    )
                })?;
            (t.try_clone()?, t)
        };
        let saved = termios::tcgetattr(input.as_fd()).map_err(io::Error::from)?;
        let mut raw = saved.clone();
        termios::cfmakeraw(&mut raw);
        termios::tcsetattr(input.as_fd(), SetArg::TCSAFLUSH, &raw).map_err(io::Error::from)?;
        *RESTORE.lock().map_err(|_| io::Error::other("poisoned"))? = Some(Restore {
            fd: output.as_raw_fd(),
            saved,
            alt: !mode.basic,
        });
        let prev = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            restore_terminal();
            prev(info);
        }));

        let (wake_rx, waker) = UnixStream::pair()?;
        wake_rx.set_nonblocking(true)?;
        waker.set_nonblocking(true)?;
        let (sig_rx, sig_tx) = UnixStream::pair()?;
        sig_rx.set_nonblocking(true)?;
        let winch = Arc::new(AtomicBool::new(false));
        let term = Arc::new(AtomicBool::new(false));
        let hup = Arc::new(AtomicBool::new(false));
        use signal_hook::consts::{SIGHUP, SIGTERM, SIGWINCH};
        signal_hook::flag::register(SIGWINCH, winch.clone())?;
        signal_hook::flag::register(SIGTERM, term.clone())?;
        signal_hook::flag::register(SIGHUP, hup.clone())?;
        for s in [SIGWINCH, SIGTERM, SIGHUP] {
            signal_hook::low_level::pipe::register(s, sig_tx.try_clone()?)?;
        }
        let tty = Tty {
            input,
            output,
            parser: KeyParser::default(),
            wake_rx,
            waker,
            sig_rx,
            winch,
            term,
            hup,
            esc_deadline: None,
            queue: Default::default(),
        };
        Ok(tty)
    }

    /// What switches the terminal to the wizard's mode (the alternate screen and
    /// bracketed paste, so that a pasted newline is text; nothing in basic mode). The
    /// event loop sends it with the first frame: one write.
    pub fn enter_sequence(mode: Mode) -> &'static [u8] {
        if mode.basic {
            b""
        } else {
            b"\x1b[?1049h\x1b[?2004h"
        }
    }

    /// The window size; 0x0 (serial consoles) and errors count as 80x24.
    pub fn size(&self) -> Size {
        window_size(self.output.as_raw_fd())
    }

    /// The next event if one is already waiting (never blocks; a lone Esc waits for the
    /// next wait): what the event loop handles before it draws again.
    pub fn ready(&mut self) -> Option<Ev> {
        let waiting = !self.queue.is_empty() || self.parser.pending() || {
            let mut fds = [
                PollFd::new(self.input.as_fd(), PollFlags::POLLIN),
                PollFd::new(self.wake_rx.as_fd(), PollFlags::POLLIN),
                PollFd::new(self.sig_rx.as_fd(), PollFlags::POLLIN),
            ];
            matches!(poll(&mut fds, PollTimeout::ZERO), Ok(n) if n > 0)
        };
        if !waiting {
            return None;
        }
        match self.next(Duration::from_millis(1)) {
            Ev::Tick => None,
            e => Some(e),
        }
    }

    /// Wait for the next event, at most `timeout`.
    pub fn next(&mut self, timeout: Duration) -> Ev {
        let start = Instant::now();
        loop {
            if let Some(k) = self.queue.pop_front() {
                return Ev::Key(k);
            }
            if let Some(ev) = self.signal_event() {
                return ev;
            }
            if let Some(k) = self.parser.next_key() {
                self.esc_deadline = None;
                return Ev::Key(k);
            }
            let now = Instant::now();
            if self.parser.pending() {
                let d = *self
                    .esc_deadline
                    .get_or_insert(now + Duration::from_millis(80));
                if now >= d {
                    self.esc_deadline = None;
                    self.queue.extend(self.parser.flush());
                    continue;
                }
            }
            let left = timeout.saturating_sub(start.elapsed());
            let wait = match self.esc_deadline {
                Some(d) => left.min(d.saturating_duration_since(now)),
                None => left,
            };
            if wait.is_zero() && !self.parser.pending() {
                return Ev::Tick;
            }
            let ms = u16::try_from(wait.as_millis()).unwrap_or(u16::MAX);
            let mut fds = [
                PollFd::new(self.input.as_fd(), PollFlags::POLLIN),
                PollFd::new(self.wake_rx.as_fd(), PollFlags::POLLIN),
                PollFd::new(self.sig_rx.as_fd(), PollFlags::POLLIN),
            ];
            match poll(&mut fds, PollTimeout::from(ms)) {
                Ok(0) => continue,
                Ok(_) => {}
                Err(nix::errno::Errno::EINTR) => continue,
                Err(_) => return Ev::Gone("poll failed"),
            }
            let [tty_fd, wake_fd, sig_fd] = fds;
            let (sig, woke) = (
                sig_fd.any().unwrap_or(false),
                wake_fd.any().unwrap_or(false),
            );
            let rev = tty_fd.revents().unwrap_or(PollFlags::empty());
            if sig {
                drain(&mut self.sig_rx);
            }
            if woke {
                drain(&mut self.wake_rx);
                return Ev::Wake;
            }
            if rev.contains(PollFlags::POLLIN) {
                let mut buf = [0u8; 256];
                match self.input.read(&mut buf) {
                    Ok(0) => return Ev::Gone("end of input"),
                    Ok(n) => self.parser.push(&buf[..n]),
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(_) => return Ev::Gone("the terminal went away"),
                }
            } else if rev.intersects(PollFlags::POLLHUP | PollFlags::POLLERR | PollFlags::POLLNVAL)
            {
                return Ev::Gone("the terminal hung up");
            }
        }
    }

    fn signal_event(&mut self) -> Option<Ev> {
        if self.term.swap(false, Ordering::SeqCst) {
            return Some(Ev::Gone("SIGTERM"));
        }
        if self.hup.swap(false, Ordering::SeqCst) {
            return Some(Ev::Gone("SIGHUP"));
        }
        if self.winch.swap(false, Ordering::SeqCst) {
            return Some(Ev::Resize(self.size()));
        }
        None
    }
}

fn drain(s: &mut UnixStream) {
    let mut b = [0u8; 64];
    while let Ok(n) = s.read(&mut b) {
        if n == 0 {
            break;
        }
    }
}

impl Drop for Tty {
    fn drop(&mut self) {
        restore_terminal();
    }
}

/// TIOCGWINSZ, with 0x0 and errors as 80x24 (then COLUMNS/LINES if set).
pub fn window_size(fd: RawFd) -> Size {
    let mut ws = nix::libc::winsize {
        ws_row: 0,
        ws_col: 0,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCGWINSZ fills the winsize struct we pass.
    let ok = unsafe { nix::libc::ioctl(fd, nix::libc::TIOCGWINSZ, &mut ws) } == 0;
    let env = |k: &str| {
        std::env::var(k)
            .ok()
            .and_then(|v| v.parse::<u16>().ok())
            .filter(|v| *v > 0)
    };
    let (w, h) = if ok && ws.ws_col > 0 && ws.ws_row > 0 {
        (ws.ws_col, ws.ws_row)
    } else {
        (env("COLUMNS").unwrap_or(80), env("LINES").unwrap_or(24))
    };
    Size::new(w.max(20), h.max(8))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn loc(v: &str) -> Vec<Option<String>> {
        vec![None, None, Some(v.to_string())]
    }

    #[test]
    fn basic_mode_triggers() {
        assert!(!detect_mode(Some("xterm-256color"), &loc("en_US.UTF-8"), false, false).basic);
        assert!(detect_mode(Some("vt100"), &loc("en_US.UTF-8"), false, false).basic);
        assert!(detect_mode(Some("vt220"), &loc("C.UTF-8"), false, false).basic);
        assert!(detect_mode(Some("linux"), &loc("C"), false, false).basic);
        assert!(!detect_mode(Some("linux"), &loc("C.UTF-8"), false, false).basic);
        assert!(detect_mode(Some("xterm"), &loc("POSIX"), false, false).basic);
        assert!(detect_mode(Some("xterm"), &loc("en_US.UTF-8"), true, false).basic);
        assert!(detect_mode(Some("xterm"), &loc("en_US.UTF-8"), false, true).basic);
        let d = detect_mode(Some("dumb"), &loc("en_US.UTF-8"), false, false);
        assert!(d.basic && d.dumb);
        assert!(detect_mode(None, &[None, None, None], false, false).basic);
    }
}
