//! The host's own facts, read once under `--root`: what every step needs (the root, the
//! process's `Env`, the OS and init system, accounts, listeners, interfaces, the sshd
//! configuration, the `Runner` for commands, pbx-harden's own `state`).
//!
//! This is the bottom of the probe: the steps' own facts (the service inventory, the
//! extension scan, the firewall's) are found by each step from a `Host`, and `system::System`
//! (above the steps) holds them all. Facts that depend on the process (SSH_CONNECTION, the
//! effective uid) come in through `Env`, so tests and snapshots can fix them.

pub mod net;
pub mod state;
pub mod users;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use crate::config::ini::IniFile;
use crate::config::sshd::SshdConfig;
use crate::error::Result;
use crate::exec::Runner;
use crate::root::Root;
pub use net::{AdminConnection, Listener, Proto};
pub use users::{Group, User, Users};

/// Facts about the running process that the plan depends on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Env {
    pub ssh_connection: Option<String>,
    pub ssh_client: Option<String>,
    /// SSH_USER_AUTH: the file where sshd's `ExposeAuthInfo yes` lists how this session
    /// logged in (`publickey ssh-ed25519 AAAA…`); the wizard offers that key.
    pub ssh_user_auth: Option<String>,
    pub euid: u32,
    pub hostname: String,
    /// A fixed clock (seconds since 1970) for what the plan writes with a date in it
    /// (trust-file comments, report names); `SOURCE_DATE_EPOCH` sets it from outside.
    pub clock: Option<i64>,
}

impl Env {
    pub fn from_process() -> Env {
        // sudo and `su -` drop SSH_CONNECTION; the login shell above still has it. A variable
        // that is set (even empty: "no SSH connection") stops the search.
        let (mut ssh_connection, mut ssh_client, mut ssh_user_auth) = (
            std::env::var("SSH_CONNECTION").ok(),
            std::env::var("SSH_CLIENT").ok(),
            std::env::var("SSH_USER_AUTH").ok(),
        );
        if ssh_connection.is_none() && ssh_client.is_none() {
            (ssh_connection, ssh_client, ssh_user_auth) = ancestor_ssh_env();
        }
        Env {
            ssh_connection,
            ssh_client,
            ssh_user_auth,
            euid: nix::unistd::geteuid().as_raw(),
            hostname: nix::unistd::gethostname()
                .ok()
                .and_then(|h| h.into_string().ok())
                .unwrap_or_else(|| "localhost".into()),
            clock: std::env::var("SOURCE_DATE_EPOCH")
                .ok()
                .and_then(|v| v.trim().parse().ok()),
        }
    }

    /// Now, as the plan should write it (the fixed clock when there is one).
    pub fn epoch(&self) -> i64 {
        self.clock.unwrap_or_else(|| state::now() as i64)
    }

    /// A fixed environment for tests and snapshots.
    pub fn fixed() -> Env {
        Env {
            ssh_connection: Some("203.0.113.10 50022 192.0.2.5 22".into()),
            ssh_client: None,
            ssh_user_auth: None,
            euid: 0,
            hostname: "pbx1".into(),
            clock: Some(1_800_000_000),
        }
    }
}

/// SSH_CONNECTION, SSH_CLIENT (and SSH_USER_AUTH) from the nearest ancestor process that has
/// either of the first two (readable as root through /proc/PID/environ), at most 12
/// generations up.
fn ancestor_ssh_env() -> (Option<String>, Option<String>, Option<String>) {
    let mut pid = std::os::unix::process::parent_id();
    for _ in 0..12 {
        if pid <= 1 {
            break;
        }
        if let Ok(env) = std::fs::read(format!("/proc/{pid}/environ")) {
            let get = |key: &str| {
                env.split(|b| *b == 0).find_map(|kv| {
                    kv.strip_prefix(format!("{key}=").as_bytes())
                        .map(|v| String::from_utf8_lossy(v).into_owned())
                })
            };
            let (c, s) = (get("SSH_CONNECTION"), get("SSH_CLIENT"));
            if c.is_some() || s.is_some() {
                return (c, s, get("SSH_USER_AUTH"));
            }
        }
        let Some(ppid) = std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .ok()
            .and_then(|st| {
                st.rfind(')')
                    .and_then(|i| st[i + 2..].split_whitespace().nth(1)?.parse().ok())
            })
        else {
            break;
        };
        pid = ppid;
    }
    (None, None, None)
}

/// A slow fact found when first asked for and then shared by every clone of the `System`
/// (the wizard draws its first frame without waiting for zxcvbn or systemctl, and warms
/// these up on a thread meanwhile). Finding it is always explicit: `force()` (the plan, the
/// audit, the job thread); a screen asks `get()`, which never finds it, so no field access
/// can run systemctl or zxcvbn on the UI thread.
#[derive(Clone)]
pub struct Lazy<T> {
    cell: std::sync::Arc<std::sync::OnceLock<T>>,
    init: std::sync::Arc<dyn Fn() -> T + Send + Sync>,
}

impl<T> Lazy<T> {
    pub fn new(init: impl Fn() -> T + Send + Sync + 'static) -> Lazy<T> {
        Lazy {
            cell: Default::default(),
            init: std::sync::Arc::new(init),
        }
    }

    /// The value, found now if it was not yet.
    pub fn force(&self) -> &T {
        self.cell.get_or_init(|| (self.init)())
    }

    /// Already found?
    pub fn is_ready(&self) -> bool {
        self.cell.get().is_some()
    }

    /// The value if it was found already; never finds it (what a view may ask).
    pub fn get(&self) -> Option<&T> {
        self.cell.get()
    }
}

impl<T: Default + Send + Sync + 'static> Default for Lazy<T> {
    fn default() -> Lazy<T> {
        Lazy::new(T::default)
    }
}

/// Two facts are equal when their values are (found for the comparison).
impl<T: PartialEq> PartialEq for Lazy<T> {
    fn eq(&self, other: &Lazy<T>) -> bool {
        self.force() == other.force()
    }
}

impl<T: Eq> Eq for Lazy<T> {}

impl<T: std::fmt::Debug> std::fmt::Debug for Lazy<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.cell.get() {
            Some(v) => v.fmt(f),
            None => f.write_str("<not yet>"),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    RedHat,
    Debian,
    Other,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OsInfo {
    pub pretty: String,
    pub family: Family,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Init {
    Systemd,
    SysV,
    Unknown,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PbxInfo {
    pub asterisk: bool,
    /// "FreePBX", "trixbox", "Issabel", "Elastix" when recognised.
    pub distro: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RtpRange {
    pub start: u16,
    pub end: u16,
    /// True when read from rtp.conf, false for Asterisk's compiled-in default.
    pub from_config: bool,
}

/// The host's own facts (the steps' facts are in `system::System`, above the steps).
#[derive(Debug, Clone)]
pub struct Host {
    pub root: Root,
    pub env: Env,
    pub os: OsInfo,
    pub pbx: PbxInfo,
    pub init: Init,
    pub users: Users,
    /// Users that an earlier pbx-harden apply created (reconfiguration reuses them).
    pub managed_users: Vec<String>,
    pub listeners: Vec<Listener>,
    /// Socket inode -> program, for naming what holds a port (walks /proc: on first use).
    pub programs: Lazy<BTreeMap<u64, String>>,
    pub ephemeral: Option<(u16, u16)>,
    /// Port -> name from /etc/services (TCP).
    pub port_names: BTreeMap<u16, String>,
    pub rtp: RtpRange,
    pub interfaces: Vec<String>,
    pub admin: Option<AdminConnection>,
    /// The sshd configuration, or why it could not be read.
    pub sshd: std::result::Result<SshdConfig, String>,
    /// The sshd binary of the host, used for `sshd -t` / `-T` (found on first use: only the
    /// SSH step's checks ask).
    pub sshd_binary: Lazy<Option<PathBuf>>,
    pub selinux_enforcing: bool,
    /// Where the probe's and the plan's commands go (the real programs unless a test or a
    /// machine profile says otherwise); `apply` always runs the real ones.
    pub runner: Arc<dyn Runner>,
}

impl Host {
    /// The host's facts at `root`, the probe's and the plan's commands sent to `runner`.
    pub fn detect_with(root: &Root, env: &Env, runner: Arc<dyn Runner>) -> Result<Host> {
        let users = Users::read(root)?;
        let sshd = SshdConfig::load(root).map_err(|e| e.to_string());
        let init = init_system(root);
        Ok(Host {
            root: root.clone(),
            env: env.clone(),
            os: os_info(root),
            pbx: pbx_info(root),
            init,
            managed_users: state::managed_users(root),
            users,
            listeners: net::listeners(root),
            programs: {
                let r = root.clone();
                Lazy::new(move || net::programs(&r))
            },
            ephemeral: net::ephemeral_range(root),
            port_names: net::services(root),
            rtp: rtp_range(root),
            interfaces: net::interfaces(root),
            admin: net::admin_connection(env.ssh_connection.as_deref(), env.ssh_client.as_deref()),
            sshd,
            sshd_binary: {
                let runner = runner.clone();
                Lazy::new(move || runner.find_program("sshd"))
            },
            selinux_enforcing: selinux_enforcing(root),
            runner,
        })
    }

    /// The sshd configuration or a readable error.
    pub fn sshd(&self) -> Result<&SshdConfig> {
        self.sshd
            .as_ref()
            .map_err(|e| crate::error::Error::invalid(e.clone()))
    }

    /// Who listens on a TCP port, if anyone.
    pub fn tcp_listener(&self, port: u16) -> Option<&Listener> {
        self.listeners
            .iter()
            .find(|l| l.proto == Proto::Tcp && l.port == port)
    }

    /// "httpd (tcp 0.0.0.0:80)": a listener with the program that holds it, when known.
    pub fn describe_listener(&self, l: &Listener) -> String {
        let mut l = l.clone();
        if l.program.is_none() {
            l.program = self.programs.force().get(&l.inode).cloned();
        }
        l.describe()
    }

    /// The ports sshd listens on now (from its configuration).
    pub fn current_ssh_ports(&self) -> Vec<u16> {
        self.sshd
            .as_ref()
            .map(|c| c.listen_ports())
            .unwrap_or_else(|_| vec![crate::config::sshd::DEFAULT_PORT])
    }

    /// A host name or address the admin can use in `ssh -p PORT USER@HOST`.
    pub fn address_for_admin(&self) -> String {
        match self.admin.as_ref().and_then(|a| a.server) {
            Some(std::net::IpAddr::V6(a)) => a.to_string(),
            Some(a) => a.to_string(),
            None if self.root.is_live() => self.env.hostname.clone(),
            // Another system (--root): its own host name, never this machine's.
            None => self
                .root
                .read_text("/etc/hostname")
                .ok()
                .flatten()
                .map(|h| h.trim().to_string())
                .filter(|h| !h.is_empty())
                .unwrap_or_else(|| "SERVER".into()),
        }
    }
}

fn os_info(root: &Root) -> OsInfo {
    let mut pretty = String::new();
    let mut family = Family::Other;
    if let Ok(Some(t)) = root.read_text("/etc/os-release") {
        let mut id_like = String::new();
        for line in t.lines() {
            if let Some((k, v)) = line.split_once('=') {
                let v = v.trim().trim_matches('"').to_string();
                match k {
                    "PRETTY_NAME" => pretty = v,
                    "ID" | "ID_LIKE" => {
                        id_like.push(' ');
                        id_like.push_str(&v);
                    }
                    _ => {}
                }
            }
        }
        if id_like.contains("debian") || id_like.contains("ubuntu") {
            family = Family::Debian;
        } else if ["rhel", "fedora", "centos", "rocky", "almalinux"]
            .iter()
            .any(|x| id_like.contains(x))
        {
            family = Family::RedHat;
        }
    }
    if pretty.is_empty()
        && let Ok(Some(t)) = root.read_text("/etc/redhat-release")
    {
        pretty = t.lines().next().unwrap_or("").trim().to_string();
        family = Family::RedHat;
    }
    if family == Family::Other && root.exists("/etc/debian_version") {
        family = Family::Debian;
        if pretty.is_empty() {
            pretty = "Debian".into();
        }
    }
    if pretty.is_empty() {
        pretty = "unknown Linux".into();
    }
    OsInfo { pretty, family }
}

fn pbx_info(root: &Root) -> PbxInfo {
    let asterisk = root.exists("/etc/asterisk");
    let distro =
        if root.exists("/etc/trixbox") || read_contains(root, "/etc/redhat-release", "trixbox") {
            Some("trixbox")
        } else if root.exists("/etc/issabel.conf") {
            Some("Issabel")
        } else if root.exists("/etc/elastix.conf") {
            Some("Elastix")
        } else if root.exists("/etc/freepbx.conf") || root.exists("/etc/amportal.conf") {
            Some("FreePBX")
        } else {
            None
        };
    PbxInfo {
        asterisk,
        distro: distro.map(str::to_string),
    }
}

fn read_contains(root: &Root, path: &str, needle: &str) -> bool {
    root.read_text(path)
        .ok()
        .flatten()
        .is_some_and(|t| t.to_lowercase().contains(needle))
}

/// systemd or SysV: on this system, whether systemd runs; on a target root, whether it has it.
pub fn init_system(root: &Root) -> Init {
    if root.is_live() {
        if std::path::Path::new("/run/systemd/system").exists() {
            return Init::Systemd;
        }
    } else if root.exists("/lib/systemd/systemd") || root.exists("/usr/lib/systemd/systemd") {
        return Init::Systemd;
    }
    if root.exists("/etc/rc.d/init.d") || root.exists("/etc/init.d") || root.exists("/etc/rc.d") {
        Init::SysV
    } else {
        Init::Unknown
    }
}

fn selinux_enforcing(root: &Root) -> bool {
    if root.is_live() {
        return std::fs::read_to_string("/sys/fs/selinux/enforce")
            .map(|s| s.trim() == "1")
            .unwrap_or(false);
    }
    false
}

/// Asterisk's RTP port range: `rtpstart`/`rtpend` of rtp.conf, else 5000-31000.
pub fn rtp_range(root: &Root) -> RtpRange {
    let mut r = RtpRange {
        start: 5000,
        end: 31000,
        from_config: false,
    };
    if let Ok(Some(b)) = root.read("/etc/asterisk/rtp.conf") {
        let ini = IniFile::parse(&b);
        let s = ini
            .get("general", "rtpstart")
            .and_then(|(v, _)| v.parse().ok());
        let e = ini
            .get("general", "rtpend")
            .and_then(|(v, _)| v.parse().ok());
        if let (Some(s), Some(e)) = (s, e) {
            r = RtpRange {
                start: s,
                end: e,
                from_config: true,
            };
        }
    }
    r
}

/// Find a program on the host: PATH first, then the sbin directories a non-login shell
/// often lacks.
pub use crate::exec::find_program;
