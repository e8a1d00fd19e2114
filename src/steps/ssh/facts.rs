//! What the SSH step reads of the host besides sshd_config (which is the host's own fact):
//! how sshd is started (`ssh.service`, `ssh.socket` with its ports, SysV), the ports SELinux
//! labels `ssh_port_t`, the target's OpenSSH release and algorithm sets (`baseline::detect`:
//! `sshd -V`, `ssh -Q` on the live system), and the SSH client of the admin's own
//! connection (from sshd's log; found when first asked: the journal can be large).
//!
//! Found by the probe (`system::System::ssh`) through the host's `Runner`, so the planner and
//! the wizard run no command of their own and a machine profile answers these too.

use super::baseline::{self, Target};
use super::{SshService, socket_ports, ssh_service};
use crate::host::{Host, Lazy};

#[derive(Debug, Clone)]
pub struct Facts {
    /// How sshd is (re)started on the live system; None for another root.
    pub service: Option<SshService>,
    /// The ports a socket unit with its own `ListenStream=` (Debian 12's ssh.socket)
    /// listens on now.
    pub socket_ports: Vec<u16>,
    /// Ports SELinux labels `ssh_port_t` (asked only where SELinux enforces).
    pub selinux_ssh_ports: Vec<u16>,
    /// The target's OpenSSH release and what it supports.
    pub target: Target,
    /// The version string of the admin's SSH client (SSH_CONNECTION's address and port,
    /// found in sshd's log).
    pub admin_client: Lazy<Option<String>>,
}

impl Facts {
    /// Is `port` labelled `ssh_port_t` already (22 always is)?
    pub fn selinux_labelled(&self, port: u16) -> bool {
        port == 22 || self.selinux_ssh_ports.contains(&port)
    }
}

/// The SSH step's facts of `host`.
pub fn detect(host: &Host) -> Facts {
    let service = ssh_service(host);
    let socket_ports = match &service {
        Some(SshService::Socket {
            socket,
            generated: false,
            ..
        }) => socket_ports(&*host.runner, socket),
        _ => Vec::new(),
    };
    let selinux_ssh_ports = if host.selinux_enforcing {
        selinux_ssh_ports(host)
    } else {
        Vec::new()
    };
    let admin_client = {
        let h = host.clone();
        Lazy::new(move || baseline::admin_client_version(&h))
    };
    Facts {
        service,
        socket_ports,
        selinux_ssh_ports,
        target: baseline::detect(host),
        admin_client,
    }
}

/// `semanage port -l -C`: the local ssh_port_t ports.
fn selinux_ssh_ports(host: &Host) -> Vec<u16> {
    host.runner
        .run(&crate::exec::argv(&["semanage", "port", "-l", "-C"]), None)
        .map(|o| {
            o.stdout
                .lines()
                .filter(|l| l.starts_with("ssh_port_t"))
                .flat_map(|l| {
                    l.split_whitespace()
                        .skip(2)
                        .filter_map(|p| p.trim_end_matches(',').parse().ok())
                        .collect::<Vec<u16>>()
                })
                .collect()
        })
        .unwrap_or_default()
}
