//! Booted Debian 12 test boxes (systemd or SysV init under systemd-nspawn) for tests that need a
//! real init system: `TestBox::start` boots a throw-away copy of a cached image through the
//! `tests/boxes/box` script (which documents the recipe), runs commands inside, logs in over SSH
//! with sshpass and reboots it; dropping it powers it off and removes the copy.
//!
//! Use it from a test crate with `mod boxes;` (next to `mod common;`).
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    Systemd,
    SysV,
    /// systemd with firewalld enabled (an image of its own, built only when a test asks).
    Firewalld,
    /// systemd with ufw enabled and 22/tcp allowed (ufw.service loads the rules at boot); like
    /// the firewalld one, with fail2ban installed (an image of its own, built only on demand).
    Ufw,
}

impl Flavor {
    pub fn as_str(self) -> &'static str {
        match self {
            Flavor::Systemd => "systemd",
            Flavor::SysV => "sysv",
            Flavor::Firewalld => "firewalld",
            Flavor::Ufw => "ufw",
        }
    }
}

/// The account every image has: a sudoer that logs in with a password on port 22, as the admin
/// of a box pbx-harden has not touched yet would.
pub const ADMIN: &str = "boxadmin";
pub const ADMIN_PW: &str = "Boxadmin-pw-7 quartz";

pub struct TestBox {
    pub name: String,
    pub flavor: Flavor,
    started: Instant,
}

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/boxes/box")
}

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// Everything a box needs on the host. Missing: `Err(reason)`.
pub fn missing_parts() -> Result<(), String> {
    if !nix::unistd::geteuid().is_root() {
        return Err("booted test boxes need root".into());
    }
    for t in ["debootstrap", "systemd-nspawn", "nsenter", "sshpass"] {
        if pbx_harden::system::find_program(t).is_none() {
            return Err(format!("{t} is not installed"));
        }
    }
    Ok(())
}

fn text(o: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}--- stderr\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn boxcmd(args: &[&str]) -> Output {
    Command::new(script())
        .args(args)
        .output()
        .expect("run tests/boxes/box")
}

/// Build (or reuse) the cached image; returns how long it took.
pub fn image(flavor: Flavor) -> Duration {
    let t = Instant::now();
    let o = boxcmd(&["image", flavor.as_str()]);
    assert!(o.status.success(), "box image: {}", text(&o));
    t.elapsed()
}

impl TestBox {
    /// Boot a box named `name` (unique per test). `None`: the host lacks a part and this is
    /// not CI (the reason is printed); in CI a missing part is a failure.
    pub fn start(name: &str, flavor: Flavor) -> Option<TestBox> {
        Self::start_with(name, flavor, "passive", None)
    }

    /// A box in the network namespace `netns` (a path such as /run/netns/NAME, made and
    /// wired by the caller) instead of a private one: several boxes reachable from the host.
    pub fn start_in_netns(name: &str, flavor: Flavor, netns: &Path) -> Option<TestBox> {
        Self::start_with(name, flavor, "passive", Some(netns))
    }

    /// A box whose console is a terminal the test types at (`type_at_console`) and reads
    /// (`console_log`), for first-boot programs that run before the login prompt.
    pub fn start_interactive(name: &str, flavor: Flavor) -> Option<TestBox> {
        Self::start_with(name, flavor, "interactive", None)
    }

    fn start_with(
        name: &str,
        flavor: Flavor,
        console: &str,
        netns: Option<&Path>,
    ) -> Option<TestBox> {
        if let Err(why) = missing_parts() {
            assert!(!in_ci(), "{why}: CI must run the booted-box tests");
            eprintln!("{why}: booted-box test skipped (it fails in CI)");
            return None;
        }
        let built = image(flavor);
        let t = Instant::now();
        let mut c = Command::new(script());
        c.args(["start", name, flavor.as_str()])
            .env("PBX_BOX_CONSOLE", console);
        if let Some(n) = netns {
            c.env("PBX_BOX_NETNS", n);
        }
        let o = c.output().expect("run tests/boxes/box");
        assert!(o.status.success(), "box start {name}: {}", text(&o));
        eprintln!(
            "[box {name}] image ready in {:.1}s, booted in {:.1}s",
            built.as_secs_f64(),
            t.elapsed().as_secs_f64()
        );
        let b = TestBox {
            name: name.into(),
            flavor,
            started: Instant::now(),
        };
        b.install_binary();
        Some(b)
    }

    /// The box's `/` on the host.
    pub fn root(&self) -> PathBuf {
        let o = boxcmd(&["root", &self.name]);
        PathBuf::from(String::from_utf8_lossy(&o.stdout).trim())
    }

    /// Copy the pbx-harden under test to /usr/local/sbin/pbx-harden inside.
    pub fn install_binary(&self) {
        let dest = self.root().join("usr/local/sbin/pbx-harden");
        std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
        let tmp = dest.with_extension("new");
        std::fs::copy(env!("CARGO_BIN_EXE_pbx-harden"), &tmp).unwrap();
        std::fs::rename(&tmp, &dest).unwrap();
    }

    /// Write a file inside the box (parents created). Not under /run or /tmp: the box mounts
    /// its own tmpfs there.
    pub fn write(&self, path: &str, contents: &str) {
        let p = self.root().join(path.trim_start_matches('/'));
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, contents).unwrap();
    }

    /// Run a bash script inside as root (at the console: no SSH connection).
    pub fn sh(&self, script: &str) -> Output {
        boxcmd(&["sh", &self.name, script])
    }

    /// Run a script inside; panic with its output unless it exits 0. Returns stdout.
    pub fn sh_ok(&self, script: &str) -> String {
        let o = self.sh(script);
        assert!(
            o.status.success(),
            "[box {}] {script}\n{}",
            self.name,
            text(&o)
        );
        String::from_utf8_lossy(&o.stdout).into_owned()
    }

    /// Log in as `user` with `password` on `port` of 127.0.0.1 inside and run `cmd` there.
    /// The password goes through a file (sshpass -f), never argv.
    pub fn ssh(&self, user: &str, password: &str, port: u16, cmd: &str) -> Output {
        let pwfile = format!("/var/tmp/pbx-box-pw-{user}");
        self.write(&pwfile, password);
        let q = shell_quote(cmd);
        self.sh(&format!(
            "chmod 600 {pwfile}; timeout 60 sshpass -f {pwfile} ssh -o StrictHostKeyChecking=no \
             -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -o ConnectTimeout=5 \
             -o PreferredAuthentications=password,keyboard-interactive -o PubkeyAuthentication=no \
             -p {port} {user}@127.0.0.1 {q}"
        ))
    }

    /// Does an SSH banner answer on `port` inside?
    pub fn banner(&self, port: u16) -> bool {
        self.sh(&format!(
            "exec 3<>/dev/tcp/127.0.0.1/{port} && timeout 3 head -c 4 <&3 | grep -q SSH-"
        ))
        .status
        .success()
    }

    /// Wait until `cond` holds (polling every 300 ms) or panic after `within`.
    pub fn wait_for(&self, what: &str, within: Duration, mut cond: impl FnMut() -> bool) {
        let t = Instant::now();
        while !cond() {
            assert!(
                t.elapsed() < within,
                "[box {}] {what}: not within {}s\n{}",
                self.name,
                within.as_secs(),
                self.sh_ok("pbx-harden status 2>&1; ss -ltnp 2>&1 | head -20; tail -20 /var/lib/pbx-harden/watchdog.log 2>/dev/null || true")
            );
            std::thread::sleep(Duration::from_millis(300));
        }
    }

    /// Reboot and wait until the box has booted again.
    pub fn reboot(&self) {
        let o = boxcmd(&["reboot", &self.name]);
        assert!(o.status.success(), "box reboot {}: {}", self.name, text(&o));
    }

    /// Type `text` at the console (an interactive box only).
    pub fn type_at_console(&self, text: &str) {
        use std::io::Write;
        let p = run_dir().join(&self.name).join("console.in");
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .open(&p)
            .unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        f.write_all(text.as_bytes()).unwrap();
    }

    /// Wait until the console shows `needle` after byte `from` of its log; returns the new
    /// end of the log.
    pub fn wait_console(&self, needle: &str, from: usize, within: Duration) -> usize {
        let t = Instant::now();
        loop {
            let log = self.console_log();
            if let Some(i) = log.get(from..).and_then(|l| l.find(needle)) {
                return from + i + needle.len();
            }
            assert!(
                t.elapsed() < within,
                "[box {}] the console did not show {needle:?} within {}s; it shows:\n{}",
                self.name,
                within.as_secs(),
                log.get(from.min(log.len())..).unwrap_or("")
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Ask for a reboot and return at once (for boots that wait at the console).
    pub fn reboot_nowait(&self) {
        let _ = self.sh("systemctl reboot >/dev/null 2>&1 &");
    }

    /// Wait until the box has booted (after `reboot_nowait`).
    pub fn wait_booted(&self) {
        let o = boxcmd(&["wait", &self.name]);
        assert!(o.status.success(), "box wait {}: {}", self.name, text(&o));
    }

    pub fn console_log(&self) -> String {
        let p = run_dir().join(&self.name).join("console.log");
        String::from_utf8_lossy(&std::fs::read(p).unwrap_or_default()).into_owned()
    }

    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }
}

/// Where tests/boxes/box keeps its boxes ($PBX_BOX_RUN, read as the script reads it).
fn run_dir() -> std::path::PathBuf {
    std::env::var_os("PBX_BOX_RUN")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| "/var/tmp/pbx-harden-boxes".into())
}

impl Drop for TestBox {
    fn drop(&mut self) {
        let o = boxcmd(&["stop", &self.name]);
        if !o.status.success() {
            eprintln!("box stop {}: {}", self.name, text(&o));
        }
    }
}

pub use pbx_harden::config::shell::quote as shell_quote;

/// A network namespace for a box, joined to the host by a veth pair on 10.SUBNET.I.0/24
/// (the host .1, the box's eth0 .2); removed on drop. For tests that reach a box through its
/// firewall from outside (`TestBox::start_in_netns`).
pub struct Net {
    pub ns: String,
    pub host_if: String,
    pub addr: String,
    /// What `probe` says when nothing answers (the test's word for it).
    silent: &'static str,
}

fn bash(script: &str) -> Output {
    Command::new("bash").arg("-c").arg(script).output().unwrap()
}

impl Net {
    /// `prefix` names the namespace (`pbx{prefix}PIDxI`) and its host side (`v{prefix}PIDxI`).
    pub fn up(prefix: &str, subnet: u8, i: u8, silent: &'static str) -> Net {
        let id = std::process::id() % 10000;
        let n = Net {
            ns: format!("pbx{prefix}{id}x{i}"),
            host_if: format!("v{prefix}{id}x{i}"),
            addr: format!("10.{subnet}.{i}.2"),
            silent,
        };
        let o = bash(&format!(
            "ip netns add {ns} && ip link add {h} type veth peer name eth0 netns {ns} && \
             ip addr add 10.{subnet}.{i}.1/24 dev {h} && ip link set {h} up && \
             ip -n {ns} addr add {a}/24 dev eth0 && ip -n {ns} link set eth0 up && \
             ip -n {ns} link set lo up",
            ns = n.ns,
            h = n.host_if,
            a = n.addr
        ));
        assert!(
            o.status.success(),
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
        n
    }

    pub fn path(&self) -> PathBuf {
        format!("/run/netns/{}", self.ns).into()
    }

    /// A second address of the host on the link, 10.SUBNET.I.`host` (another outside host:
    /// `probe_from`, `ssh_from` bind to it). Gone with the veth pair.
    pub fn add_host(&self, host: u8) -> String {
        let a = self.addr.rsplit_once('.').unwrap().0.to_string() + &format!(".{host}");
        let o = bash(&format!("ip addr add {a}/24 dev {}", self.host_if));
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        a
    }

    /// From the host: "open" (something answered), "refused" (let through to a closed port:
    /// a TCP reset) or the `silent` word (rejected with ICMP, or no answer within 2 s).
    pub fn probe(&self, port: u16) -> String {
        self.probe_from(None, port)
    }

    /// `probe` from the host's address `src` (`add_host`); None: the first one.
    pub fn probe_from(&self, src: Option<&str>, port: u16) -> String {
        let bind = src.map_or(String::new(), |a| format!("s.bind(('{a}',0))\n"));
        let prog = format!(
            "import socket\ns=socket.socket(); s.settimeout(2)\n{bind}\
             try:\n    s.connect(('{}',{port})); print('open')\n\
             except ConnectionRefusedError: print('refused')\n\
             except Exception: print('{}')\n",
            self.addr, self.silent
        );
        let o = Command::new("python3")
            .arg("-c")
            .arg(&prog)
            .output()
            .unwrap();
        String::from_utf8_lossy(&o.stdout).trim().to_string()
    }

    /// `cmd` as `user` over SSH from the host, through the box's firewall.
    pub fn ssh(&self, user: &str, pw: &str, port: u16, cmd: &str) -> Output {
        self.ssh_from(None, user, pw, port, cmd)
    }

    /// `ssh` from the host's address `src` (`add_host`); None: the first one.
    pub fn ssh_from(
        &self,
        src: Option<&str>,
        user: &str,
        pw: &str,
        port: u16,
        cmd: &str,
    ) -> Output {
        let f = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(f.path(), pw).unwrap();
        let mut c = Command::new("sshpass");
        c.arg("-f").arg(f.path()).args([
            "ssh",
            "-o",
            "StrictHostKeyChecking=no",
            "-o",
            "UserKnownHostsFile=/dev/null",
            "-o",
            "LogLevel=ERROR",
            "-o",
            "ConnectTimeout=5",
            "-o",
            "PubkeyAuthentication=no",
        ]);
        if let Some(a) = src {
            c.args(["-b", a]);
        }
        c.args([
            "-p",
            &port.to_string(),
            &format!("{user}@{}", self.addr),
            cmd,
        ])
        .output()
        .unwrap()
    }

    /// `n` failed SSH logins as `user` from `src` (one failure each: sshpass gives up at the
    /// second password prompt), for fail2ban to count.
    pub fn fail_logins(&self, src: Option<&str>, user: &str, port: u16, n: usize) {
        for _ in 0..n {
            let o = self.ssh_from(src, user, "not the password", port, "true");
            assert!(
                !o.status.success(),
                "{}{}",
                String::from_utf8_lossy(&o.stdout),
                String::from_utf8_lossy(&o.stderr)
            );
        }
    }
}

impl Drop for Net {
    fn drop(&mut self) {
        let _ = bash(&format!(
            "ip link del {} 2>/dev/null; ip netns del {} 2>/dev/null",
            self.host_if, self.ns
        ));
    }
}
