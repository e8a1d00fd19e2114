//! First boot: offer the wizard on the console before the login prompt, once.
//!
//! `firstboot enable` installs a oneshot systemd unit ordered before every getty (or, on SysV,
//! an init script that runs last in runlevels 2-5, before init starts the gettys of inittab).
//! At boot the unit runs `pbx-harden firstboot run`, which asks on every console named on the
//! kernel command line (`console=tty1 console=ttyS0,9600`; the container's /dev/console when
//! none of them exists) whether to start the wizard or skip it. The first console where Enter
//! is pressed gets the wizard (TERM=linux on a virtual terminal, vt100 on a serial line, at the
//! line's speed); the others say where it runs. When the wizard ends, or on a skip, a marker
//! in /var/lib/pbx-harden keeps it from running again and the login prompts follow. A power cut
//! before that leaves no marker: the wizard is offered again at the next boot.

use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};

use crate::apply::fsops;
use crate::args::FirstbootAction;
use crate::error::{Error, IoContext, Result};
use crate::root::Root;
use crate::system::Init;

pub const UNIT_PATH: &str = "/etc/systemd/system/pbx-harden-firstboot.service";
pub const UNIT_LINK: &str =
    "/etc/systemd/system/multi-user.target.wants/pbx-harden-firstboot.service";
pub const DONE_PATH: &str = "/var/lib/pbx-harden/firstboot.done";
pub const PACKAGED_BIN: &str = "/usr/sbin/pbx-harden";

/// The gettys the unit is ordered before (`Before=` on a unit that is not there is harmless).
const GETTYS: &str = "getty@tty1.service serial-getty@ttyS0.service serial-getty@ttyS1.service \
                      serial-getty@ttyAMA0.service serial-getty@hvc0.service console-getty.service \
                      container-getty@0.service";

pub fn unit_text(bin: &str) -> String {
    format!(
        "# pbx-harden's first boot: `pbx-harden firstboot enable` turns it on, `disable` off.\n\
         [Unit]\n\
         Description=pbx-harden: offer the hardening wizard on the console, once\n\
         Documentation=man:pbx-harden(8)\n\
         After=systemd-user-sessions.service plymouth-quit-wait.service network.target\n\
         Before=getty.target {GETTYS}\n\
         ConditionPathExists=!{DONE_PATH}\n\
         \n\
         [Service]\n\
         Type=oneshot\n\
         ExecStart={bin} firstboot run\n\
         StandardInput=null\n\
         StandardOutput=journal\n\
         TimeoutStartSec=infinity\n\
         \n\
         [Install]\n\
         WantedBy=multi-user.target\n"
    )
}

pub fn sysv_script(bin: &str) -> String {
    format!(
        "#!/bin/sh\n\
         # Written by `pbx-harden firstboot enable`; `pbx-harden firstboot disable` removes it.\n\
         ### BEGIN INIT INFO\n\
         # Provides:          pbx-harden-firstboot\n\
         # Required-Start:    $all\n\
         # Required-Stop:\n\
         # Default-Start:     2 3 4 5\n\
         # Default-Stop:\n\
         # Short-Description: pbx-harden: offer the hardening wizard on the console, once\n\
         ### END INIT INFO\n\
         case \"$1\" in\n\
         \x20 start|\"\")\n\
         \x20   [ -e {DONE_PATH} ] && exit 0\n\
         \x20   {bin} firstboot run\n\
         \x20   ;;\n\
         esac\n\
         exit 0\n"
    )
}

/// Where the SysV pieces go: (init script, rc directory of runlevel N with `{}` for N).
fn sysv_layout(root: &Root) -> (String, String) {
    if root.exists("/etc/rc.d/init.d") {
        (
            "/etc/rc.d/init.d/pbx-harden-firstboot".into(),
            "/etc/rc.d/rc{}.d".into(),
        )
    } else {
        (
            "/etc/init.d/pbx-harden-firstboot".into(),
            "/etc/rc{}.d".into(),
        )
    }
}

/// The `S99` links of runlevels 2-5 and what they point to (relative, as update-rc.d and
/// chkconfig make them).
fn sysv_links(root: &Root) -> Vec<(String, String)> {
    let (_, rc) = sysv_layout(root);
    (2..=5)
        .map(|n| {
            (
                format!(
                    "{}/S99pbx-harden-firstboot",
                    rc.replace("{}", &n.to_string())
                ),
                "../init.d/pbx-harden-firstboot".to_string(),
            )
        })
        .collect()
}

/// The binary the boot runs: the packaged one when the target has it, else (on this system)
/// the running one.
fn boot_binary(root: &Root) -> Result<String> {
    if root.exists(PACKAGED_BIN) {
        return Ok(PACKAGED_BIN.into());
    }
    if root.is_live() {
        let exe = std::env::current_exe().map_err(|e| Error::invalid(e.to_string()))?;
        return Ok(exe.display().to_string());
    }
    Err(Error::invalid(format!(
        "{}: pbx-harden is not installed there; install the package or copy the static binary \
         to that path first",
        root.display(PACKAGED_BIN)
    )))
}

fn write_file(root: &Root, path: &str, text: &str, mode: u32) -> Result<()> {
    let h = root.host_nofollow(path);
    fsops::create_parents(&h).at(&h)?;
    fsops::write_atomic(&h, text.as_bytes(), &fsops::Meta::new_file(mode)).at(&h)
}

fn link(root: &Root, path: &str, target: &str) -> Result<()> {
    let h = root.host_nofollow(path);
    fsops::create_parents(&h).at(&h)?;
    match std::fs::symlink_metadata(&h) {
        Ok(md) if md.file_type().is_symlink() => {
            std::fs::remove_file(&h).at(&h)?;
        }
        Ok(_) => {
            return Err(Error::invalid(format!(
                "{}: exists and is not a link; move it away first",
                root.display(path)
            )));
        }
        Err(_) => {}
    }
    std::os::unix::fs::symlink(target, &h).at(&h)
}

fn remove(root: &Root, path: &str) -> Result<bool> {
    let h = root.host_nofollow(path);
    match std::fs::remove_file(&h) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(Error::io(h, e)),
    }
}

/// Install the unit (or init script); also clears the marker so it runs at the next boot.
pub fn enable(root: &Root) -> Result<Vec<String>> {
    let bin = boot_binary(root)?;
    let mut written = Vec::new();
    match crate::system::init_system(root) {
        Init::Systemd => {
            write_file(root, UNIT_PATH, &unit_text(&bin), 0o644)?;
            link(root, UNIT_LINK, UNIT_PATH)?;
            written.extend([UNIT_PATH.to_string(), UNIT_LINK.to_string()]);
        }
        Init::SysV => {
            let (script, _) = sysv_layout(root);
            write_file(root, &script, &sysv_script(&bin), 0o755)?;
            written.push(script);
            for (l, t) in sysv_links(root) {
                let dir = l.rsplit_once('/').map(|x| x.0).unwrap_or("/");
                if root.exists(dir) {
                    link(root, &l, &t)?;
                    written.push(l);
                }
            }
        }
        Init::Unknown => {
            return Err(Error::invalid(format!(
                "{}: neither systemd nor SysV init found; nothing to install the first boot into",
                root.dir().display()
            )));
        }
    }
    remove(root, DONE_PATH)?;
    Ok(written)
}

pub fn disable(root: &Root) -> Result<Vec<String>> {
    let mut removed = Vec::new();
    let (script, _) = sysv_layout(root);
    let mut paths = vec![UNIT_LINK.to_string(), UNIT_PATH.to_string()];
    paths.extend(sysv_links(root).into_iter().map(|(l, _)| l));
    paths.push(script);
    for p in paths {
        if remove(root, &p)? {
            removed.push(p);
        }
    }
    Ok(removed)
}

pub fn status(root: &Root) -> String {
    let (script, _) = sysv_layout(root);
    let installed = root.exists(UNIT_PATH) || root.exists(&script);
    let done = root.exists(DONE_PATH);
    match (installed, done) {
        (false, _) => "The first-boot wizard is not enabled.\n".into(),
        (true, false) => {
            "The first-boot wizard is enabled: it is offered on the console at the next boot.\n"
                .into()
        }
        (true, true) => format!(
            "The first-boot wizard is enabled and has run ({} exists); \
             `pbx-harden firstboot enable` offers it again.\n",
            DONE_PATH
        ),
    }
}

pub fn cli(top: &Option<PathBuf>, action: FirstbootAction) -> Result<i32> {
    let open = |t: &crate::args::Target| -> Result<Root> {
        let dir = t
            .root
            .clone()
            .or_else(|| top.clone())
            .unwrap_or_else(|| PathBuf::from("/"));
        if dir == Path::new("/") {
            Ok(Root::live())
        } else {
            Root::open(&dir)
        }
    };
    match action {
        FirstbootAction::Enable { target } => {
            let root = open(&target)?;
            for p in enable(&root)? {
                outln!("wrote {}", root.display(&p));
            }
            outln!(
                "At the next boot the wizard is offered on the console before the login prompt."
            );
            Ok(0)
        }
        FirstbootAction::Disable { target } => {
            let root = open(&target)?;
            let removed = disable(&root)?;
            if removed.is_empty() {
                outln!("The first-boot wizard was not enabled.");
            }
            for p in removed {
                outln!("removed {}", root.display(&p));
            }
            Ok(0)
        }
        FirstbootAction::Status { target } => {
            let root = open(&target)?;
            out!("{}", status(&root));
            Ok(0)
        }
        FirstbootAction::Run => run(),
    }
}

/// A console named on the kernel command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Console {
    /// Device name under /dev (`tty1`, `ttyS0`, `console`).
    pub name: String,
    /// Line speed for a serial console (`console=ttyS0,9600n8`).
    pub baud: Option<u32>,
}

impl Console {
    pub fn serial(&self) -> bool {
        !self.name.starts_with("tty")
            || self.name.starts_with("ttyS")
            || self.name.starts_with("ttyAMA")
            || self.name.starts_with("ttyUSB")
    }
}

/// The consoles of a kernel command line, in order, without repeats (`tty0` is the first
/// virtual terminal).
pub fn consoles(cmdline: &str) -> Vec<Console> {
    let mut v: Vec<Console> = Vec::new();
    for w in cmdline.split_whitespace() {
        let Some(spec) = w.strip_prefix("console=") else {
            continue;
        };
        let (name, opts) = spec.split_once(',').unwrap_or((spec, ""));
        let name = if name == "tty0" { "tty1" } else { name };
        if name.is_empty() || name.contains('/') {
            continue;
        }
        let digits: String = opts.chars().take_while(|c| c.is_ascii_digit()).collect();
        let c = Console {
            name: name.to_string(),
            baud: digits.parse().ok(),
        };
        if !v.iter().any(|x| x.name == c.name) {
            v.push(c);
        }
    }
    if v.is_empty() {
        v.push(Console {
            name: "tty1".into(),
            baud: None,
        });
    }
    v
}

fn baud_rate(b: u32) -> Option<nix::sys::termios::BaudRate> {
    use nix::sys::termios::BaudRate as B;
    Some(match b {
        1200 => B::B1200,
        2400 => B::B2400,
        4800 => B::B4800,
        9600 => B::B9600,
        19200 => B::B19200,
        38400 => B::B38400,
        57600 => B::B57600,
        115200 => B::B115200,
        _ => return None,
    })
}

/// Open a console for the prompt: line speed set, line-by-line input.
fn open_console(c: &Console) -> Option<OwnedFd> {
    use nix::fcntl::{OFlag, open};
    use nix::sys::stat::Mode;
    use nix::sys::termios;
    let path = format!("/dev/{}", c.name);
    let fd = open(
        path.as_str(),
        OFlag::O_RDWR | OFlag::O_NOCTTY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .ok()?;
    if let Ok(mut t) = termios::tcgetattr(fd.as_fd()) {
        if let Some(b) = c.baud.and_then(baud_rate) {
            let _ = termios::cfsetspeed(&mut t, b);
        }
        t.local_flags |= termios::LocalFlags::ICANON | termios::LocalFlags::ECHO;
        t.input_flags |= termios::InputFlags::ICRNL;
        t.output_flags |= termios::OutputFlags::OPOST | termios::OutputFlags::ONLCR;
        let _ = termios::tcsetattr(fd.as_fd(), termios::SetArg::TCSANOW, &t);
    }
    Some(fd)
}

fn say(fd: &OwnedFd, text: &str) {
    let _ = nix::unistd::write(fd, text.as_bytes());
}

const PROMPT: &str = "\n\
pbx-harden: this PBX has not been hardened yet.\n\
\n\
  Enter   start the hardening wizard on this console\n\
  s       skip it (the login prompt follows; run `pbx-harden` later)\n\
\n\
Choice: ";

fn mark_done(p: &Path, how: &str) -> Result<()> {
    fsops::create_parents(p).at(p)?;
    fsops::write_atomic(
        p,
        format!("{how} at {}\n", crate::apply::journal::now()).as_bytes(),
        &fsops::Meta::new_file(0o644),
    )
    .at(p)
}

/// At boot: ask on every console; run the wizard on the first that says so.
pub fn run() -> Result<i32> {
    if Path::new(DONE_PATH).exists() {
        return Ok(0);
    }
    let cmdline = std::fs::read_to_string("/proc/cmdline").unwrap_or_default();
    let mut open: Vec<(Console, OwnedFd)> = consoles(&cmdline)
        .into_iter()
        .filter_map(|c| open_console(&c).map(|fd| (c, fd)))
        .collect();
    if open.is_empty() {
        // A container, or a box whose named consoles are not there: the system console.
        let c = Console {
            name: "console".into(),
            baud: None,
        };
        if let Some(fd) = open_console(&c) {
            open.push((c, fd));
        }
    }
    let exe = std::env::current_exe().map_err(|e| Error::invalid(e.to_string()))?;
    offer(open, &[exe.into_os_string()], Path::new(DONE_PATH))
}

/// Ask on every console in `open`; run `program` on the first where Enter is pressed, or
/// skip on `s`; then write the marker `done`.
pub fn offer(
    mut open: Vec<(Console, OwnedFd)>,
    program: &[std::ffi::OsString],
    done: &Path,
) -> Result<i32> {
    use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
    if open.is_empty() {
        mark_done(done, "skipped: no console")?;
        return Ok(0);
    }
    for (_, fd) in &open {
        say(fd, PROMPT);
    }
    let chosen = loop {
        let mut fds: Vec<PollFd> = open
            .iter()
            .map(|(_, fd)| PollFd::new(fd.as_fd(), PollFlags::POLLIN))
            .collect();
        match poll(&mut fds, PollTimeout::NONE) {
            Ok(_) => {}
            Err(nix::errno::Errno::EINTR) => continue,
            Err(e) => return Err(Error::invalid(format!("first boot: poll: {e}"))),
        }
        let ready: Vec<usize> = fds
            .iter()
            .enumerate()
            .filter(|(_, f)| f.revents().is_some_and(|r| !r.is_empty()))
            .map(|(i, _)| i)
            .collect();
        drop(fds);
        let mut pick = None;
        let mut gone = Vec::new();
        for i in ready {
            let mut buf = [0u8; 256];
            match nix::unistd::read(open[i].1.as_fd(), &mut buf) {
                Ok(0) | Err(_) => gone.push(i),
                Ok(n) => {
                    let line = String::from_utf8_lossy(&buf[..n])
                        .trim()
                        .to_ascii_lowercase();
                    if line.is_empty() {
                        pick = Some(Ok(i));
                    } else if line.starts_with('s') {
                        pick = Some(Err(i));
                    } else {
                        say(&open[i].1, "Enter starts the wizard, s skips it.\nChoice: ");
                    }
                }
            }
            if pick.is_some() {
                break;
            }
        }
        if let Some(p) = pick {
            break p;
        }
        for i in gone.into_iter().rev() {
            open.remove(i);
        }
        if open.is_empty() {
            return Ok(0);
        }
    };
    let i = match chosen {
        Err(i) => {
            for (_, fd) in &open {
                say(
                    fd,
                    "\nSkipped: the wizard is not offered again (`pbx-harden` runs it).\n",
                );
            }
            mark_done(done, &format!("skipped on {}", open[i].0.name))?;
            return Ok(0);
        }
        Ok(i) => i,
    };
    let (console, _) = &open[i];
    for (j, (_, fd)) in open.iter().enumerate() {
        if j != i {
            say(
                fd,
                &format!(
                    "\nThe wizard runs on {}; the login prompt follows when it ends.\n",
                    console.name
                ),
            );
        }
    }
    let code = run_wizard_on(console, &open[i].1, program)?;
    mark_done(done, &format!("wizard on {} ended ({code})", console.name))?;
    Ok(0)
}

/// The wizard as a child on `fd`'s terminal, as its controlling terminal.
fn run_wizard_on(c: &Console, fd: &OwnedFd, program: &[std::ffi::OsString]) -> Result<i32> {
    use std::os::unix::process::CommandExt;
    use std::process::{Command, Stdio};
    let (exe, args) = program
        .split_first()
        .ok_or_else(|| Error::invalid("first boot: no program"))?;
    let term = if c.serial() { "vt100" } else { "linux" };
    let dup = |fd: &OwnedFd| -> Result<Stdio> {
        let d = fd
            .try_clone()
            .map_err(|e| Error::invalid(format!("first boot: {e}")))?;
        Ok(Stdio::from(d))
    };
    let mut cmd = Command::new(exe);
    cmd.args(args)
        .stdin(dup(fd)?)
        .stdout(dup(fd)?)
        .stderr(dup(fd)?)
        .env("TERM", term)
        .env_remove("NO_COLOR");
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            libc::setsid();
            libc::ioctl(0, libc::TIOCSCTTY as _, 1);
            Ok(())
        });
    }
    let status = cmd
        .status()
        .map_err(|e| Error::invalid(format!("first boot: starting the wizard: {e}")))?;
    Ok(status.code().unwrap_or(-1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn consoles_of_a_kernel_command_line() {
        assert_eq!(
            consoles("ro quiet console=tty0 console=ttyS0,9600n8"),
            vec![
                Console {
                    name: "tty1".into(),
                    baud: None
                },
                Console {
                    name: "ttyS0".into(),
                    baud: Some(9600)
                }
            ]
        );
        assert_eq!(consoles("ro quiet")[0].name, "tty1");
        assert_eq!(
            consoles("console=ttyS1,115200 console=ttyS1,115200").len(),
            1
        );
        assert!(consoles("console=ttyS0")[0].serial());
        assert!(!consoles("console=tty1")[0].serial());
    }

    #[test]
    fn enable_disable_on_a_systemd_root() {
        let d = tempfile::tempdir().unwrap();
        for p in ["etc/systemd/system", "usr/lib/systemd", "usr/sbin"] {
            std::fs::create_dir_all(d.path().join(p)).unwrap();
        }
        std::fs::write(d.path().join("usr/lib/systemd/systemd"), "").unwrap();
        std::fs::write(d.path().join("usr/sbin/pbx-harden"), "").unwrap();
        let root = Root::open(d.path()).unwrap();
        assert!(status(&root).contains("not enabled"));
        let w = enable(&root).unwrap();
        assert_eq!(w, vec![UNIT_PATH.to_string(), UNIT_LINK.to_string()]);
        let unit = std::fs::read_to_string(root.host_nofollow(UNIT_PATH)).unwrap();
        assert!(unit.contains("ExecStart=/usr/sbin/pbx-harden firstboot run"));
        assert!(unit.contains("Before=getty.target getty@tty1.service"));
        assert!(status(&root).contains("is enabled"));
        assert_eq!(disable(&root).unwrap().len(), 2);
        assert!(status(&root).contains("not enabled"));
    }

    #[test]
    fn enable_on_a_sysv_root_links_every_multiuser_runlevel() {
        let d = tempfile::tempdir().unwrap();
        for p in [
            "etc/init.d",
            "etc/rc2.d",
            "etc/rc3.d",
            "etc/rc4.d",
            "etc/rc5.d",
            "usr/sbin",
        ] {
            std::fs::create_dir_all(d.path().join(p)).unwrap();
        }
        std::fs::write(d.path().join("usr/sbin/pbx-harden"), "").unwrap();
        let root = Root::open(d.path()).unwrap();
        let w = enable(&root).unwrap();
        assert_eq!(w.len(), 5, "{w:?}");
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(root.host_nofollow("/etc/init.d/pbx-harden-firstboot"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o755);
        let l =
            std::fs::read_link(root.host_nofollow("/etc/rc3.d/S99pbx-harden-firstboot")).unwrap();
        assert_eq!(l, Path::new("../init.d/pbx-harden-firstboot"));
        assert_eq!(disable(&root).unwrap().len(), 5);
    }

    fn pty() -> (OwnedFd, OwnedFd) {
        let p = nix::pty::openpty(None, None).unwrap();
        (p.master, p.slave)
    }

    fn read_until(master: &OwnedFd, want: &str) -> String {
        let mut got = String::new();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while !got.contains(want) {
            assert!(
                std::time::Instant::now() < deadline,
                "no {want:?} in {got:?}"
            );
            let mut fds = [nix::poll::PollFd::new(
                master.as_fd(),
                nix::poll::PollFlags::POLLIN,
            )];
            if nix::poll::poll(&mut fds, nix::poll::PollTimeout::from(100u16)).unwrap_or(0) > 0 {
                let mut b = [0u8; 4096];
                match nix::unistd::read(master.as_fd(), &mut b) {
                    Ok(n) if n > 0 => got.push_str(&String::from_utf8_lossy(&b[..n])),
                    _ => break,
                }
            }
        }
        got
    }

    fn console(name: &str) -> Console {
        Console {
            name: name.into(),
            baud: None,
        }
    }

    #[test]
    fn enter_on_one_console_runs_the_wizard_there_with_its_own_terminal() {
        let d = tempfile::tempdir().unwrap();
        let done = d.path().join("var/lib/pbx-harden/firstboot.done");
        let (m1, s1) = pty();
        let (m2, s2) = pty();
        let program: Vec<std::ffi::OsString> = ["/bin/sh", "-c", "echo WIZARD TERM=$TERM; tty"]
            .iter()
            .map(Into::into)
            .collect();
        let done2 = done.clone();
        let t = std::thread::spawn(move || {
            offer(
                vec![(console("tty1"), s1), (console("ttyS0"), s2)],
                &program,
                &done2,
            )
        });
        read_until(&m1, "Choice: ");
        read_until(&m2, "Choice: ");
        nix::unistd::write(&m2, b"x\n").unwrap();
        read_until(&m2, "Enter starts the wizard, s skips it.");
        nix::unistd::write(&m2, b"\n").unwrap();
        let got = read_until(&m2, "/dev/pts/");
        assert!(got.contains("WIZARD TERM=vt100"), "{got}");
        assert!(read_until(&m1, "The wizard runs on ttyS0").contains("login prompt follows"));
        assert_eq!(t.join().unwrap().unwrap(), 0);
        let mark = std::fs::read_to_string(&done).unwrap();
        assert!(mark.starts_with("wizard on ttyS0 ended (0)"), "{mark}");
    }

    #[test]
    fn s_skips_and_marks_it_done() {
        let d = tempfile::tempdir().unwrap();
        let done = d.path().join("firstboot.done");
        let (m1, s1) = pty();
        let done2 = done.clone();
        let t = std::thread::spawn(move || {
            offer(vec![(console("tty1"), s1)], &["/bin/false".into()], &done2)
        });
        read_until(&m1, "Choice: ");
        nix::unistd::write(&m1, b"s\n").unwrap();
        assert!(read_until(&m1, "Skipped").contains("not offered again"));
        assert_eq!(t.join().unwrap().unwrap(), 0);
        assert!(
            std::fs::read_to_string(&done)
                .unwrap()
                .starts_with("skipped on tty1")
        );
    }

    #[test]
    fn the_packaged_unit_is_the_one_enable_writes() {
        let shipped = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/packaging/pbx-harden-firstboot.service"
        );
        if std::env::var_os("PBX_HARDEN_BLESS").is_some() {
            std::fs::write(shipped, unit_text(PACKAGED_BIN)).unwrap();
        }
        assert_eq!(
            std::fs::read_to_string(shipped).unwrap(),
            unit_text(PACKAGED_BIN)
        );
    }

    #[test]
    fn enable_refuses_a_root_without_the_binary() {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(d.path().join("etc/init.d")).unwrap();
        let root = Root::open(d.path()).unwrap();
        let e = enable(&root).unwrap_err().to_string();
        assert!(e.contains("/usr/sbin/pbx-harden"), "{e}");
    }
}
