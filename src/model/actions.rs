//! Commands a plan runs, as data: what they look like in the review, what they touch (so the
//! transaction can back it up first) and what undoes them.

use crate::exec::argv;
use crate::host::Host;
use crate::root::Root;
use crate::secrets::Secret;

/// Files shadow-utils locks with `FILE.lock` (via `FILE.PID`) and replaces via `FILE+`:
/// backed up before an account command, their stale locks removed by rollback.
pub const SHADOW_UTILS_FILES: [&str; 6] = [
    "/etc/passwd",
    "/etc/shadow",
    "/etc/group",
    "/etc/gshadow",
    "/etc/subuid",
    "/etc/subgid",
];

/// How sshd is (re)started on this system.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SshService {
    /// `ssh.socket` owns the port. `generated`: its address follows sshd_config through a
    /// generator (Ubuntu >= 22.10); otherwise it has its own `ListenStream=` (Debian 12), which
    /// the plan overrides with a drop-in. `service_active`: the service was running when the
    /// plan was made (it is started again after the socket, and by the rollback).
    Socket {
        socket: String,
        service: String,
        generated: bool,
        service_active: bool,
    },
    Systemd(String),
    SysV(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    CreateUser {
        name: String,
        shell: String,
        groups: Vec<String>,
    },
    AddToGroups {
        name: String,
        groups: Vec<String>,
    },
    /// `chpasswd -e`, `name:hash` on stdin.
    SetPassword {
        name: String,
        hash: Secret,
    },
    /// SELinux enforcing: let sshd bind the new port.
    SelinuxSshPort {
        port: u16,
    },
    RestartSsh(SshService),
    /// Any other command, with what it touches and how to undo it. Firewall, services and
    /// Asterisk parts of the plan use this rather than adding variants.
    Command(CommandAction),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandAction {
    pub argv: Vec<String>,
    /// Commands that undo it after the files are restored (run in order).
    pub undo: Vec<Vec<String>>,
    /// Target paths it modifies (backed up before apply, restored by rollback).
    pub touches: Vec<String>,
    /// False for restarts and reloads that change nothing by themselves.
    pub changes_state: bool,
}

/// A command line with an optional secret for stdin.
pub struct Cmd {
    pub argv: Vec<String>,
    pub stdin: Option<Secret>,
}

fn root_args(root: &Root) -> Vec<String> {
    if root.is_live() {
        Vec::new()
    } else {
        vec!["--root".into(), root.dir().display().to_string()]
    }
}

impl Action {
    /// False for actions that only (re)start something.
    pub fn changes_state(&self) -> bool {
        match self {
            Action::RestartSsh(_) => false,
            Action::Command(c) => c.changes_state,
            _ => true,
        }
    }

    pub fn commands(&self, root: &Root) -> Vec<Cmd> {
        let plain = |v: Vec<String>| Cmd {
            argv: v,
            stdin: None,
        };
        match self {
            Action::CreateUser {
                name,
                shell,
                groups,
            } => {
                let mut v = argv(&["useradd"]);
                v.extend(root_args(root));
                v.extend(argv(&["-m", "-s", shell, "-c", "pbx-harden login user"]));
                if !groups.is_empty() {
                    v.push("-G".into());
                    v.push(groups.join(","));
                }
                v.push(name.clone());
                vec![plain(v)]
            }
            Action::AddToGroups { name, groups } => {
                let mut v = argv(&["usermod"]);
                v.extend(root_args(root));
                v.extend(argv(&["-a", "-G", &groups.join(","), name]));
                vec![plain(v)]
            }
            Action::SetPassword { name, hash } => {
                let mut v = argv(&["chpasswd"]);
                v.extend(root_args(root));
                v.push("-e".into());
                vec![Cmd {
                    argv: v,
                    stdin: Some(Secret::new(format!("{name}:{}", hash.expose()))),
                }]
            }
            Action::SelinuxSshPort { port } => vec![plain(argv(&[
                "semanage",
                "port",
                "-a",
                "-t",
                "ssh_port_t",
                "-p",
                "tcp",
                &port.to_string(),
            ]))],
            Action::RestartSsh(s) => restart_ssh(s).into_iter().map(plain).collect(),
            Action::Command(c) => vec![plain(c.argv.clone())],
        }
    }

    /// The command lines as the review shows them (secrets replaced by a description).
    pub fn describe(&self, root: &Root) -> Vec<String> {
        self.commands(root)
            .into_iter()
            .map(|c| {
                let line = c
                    .argv
                    .iter()
                    .map(|a| shell_quote(a))
                    .collect::<Vec<_>>()
                    .join(" ");
                match (self, &c.stdin) {
                    (Action::SetPassword { name, .. }, Some(_)) => {
                        format!("{line}   (stdin: {name}:<SHA-512 crypt hash>)")
                    }
                    _ => line,
                }
            })
            .collect()
    }

    /// Commands that undo this action after the files are restored.
    pub fn undo(&self) -> Vec<Vec<String>> {
        match self {
            Action::SelinuxSshPort { port } => vec![argv(&[
                "semanage",
                "port",
                "-d",
                "-t",
                "ssh_port_t",
                "-p",
                "tcp",
                &port.to_string(),
            ])],
            // Restart again with the restored configuration.
            Action::RestartSsh(s) => restart_ssh(s),
            Action::Command(c) => c.undo.clone(),
            // Users and passwords live in files that the rollback restores byte for byte.
            Action::CreateUser { .. } | Action::AddToGroups { .. } | Action::SetPassword { .. } => {
                Vec::new()
            }
        }
    }

    /// Target paths this action's commands modify.
    pub fn touches(&self, sys: &Host) -> Vec<String> {
        let account_files = || {
            let mut v: Vec<String> = SHADOW_UTILS_FILES
                .iter()
                .flat_map(|f| [f.to_string(), format!("{f}-")])
                .collect();
            v.push("/etc/.pwd.lock".into());
            for log in ["/var/log/lastlog", "/var/log/faillog"] {
                // Sparse files indexed by uid; backed up when small enough to copy.
                let small = sys
                    .root
                    .host(log)
                    .metadata()
                    .map(|m| m.len() <= 4 << 20)
                    .unwrap_or(true);
                if small {
                    v.push(log.to_string());
                }
            }
            v
        };
        match self {
            Action::CreateUser { name, .. } => {
                let mut v = account_files();
                v.push(format!("/home/{name}"));
                v.push(format!("/var/mail/{name}"));
                v.push(format!("/var/spool/mail/{name}"));
                v
            }
            Action::AddToGroups { .. } | Action::SetPassword { .. } => account_files(),
            Action::SelinuxSshPort { .. } | Action::RestartSsh(_) => Vec::new(),
            Action::Command(c) => c.touches.clone(),
        }
    }
}

pub fn restart_ssh(s: &SshService) -> Vec<Vec<String>> {
    match s {
        // `restart ssh.socket` is refused while ssh.service runs; stopping the service first
        // ends only its listener (KillMode=process), so open logins stay.
        SshService::Socket {
            socket,
            service,
            service_active,
            ..
        } => {
            let mut v = vec![
                argv(&["systemctl", "daemon-reload"]),
                argv(&["systemctl", "stop", service]),
                argv(&["systemctl", "restart", socket]),
            ];
            if *service_active {
                v.push(argv(&["systemctl", "start", service]));
            }
            v
        }
        SshService::Systemd(unit) => vec![argv(&["systemctl", "restart", unit])],
        SshService::SysV(name) => vec![argv(&["service", name, "restart"])],
    }
}

/// One word of a shown command (the one quoting function is `config::shell::quote`).
pub use crate::config::shell::quote as shell_quote;
