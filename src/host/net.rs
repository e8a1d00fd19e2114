//! Network facts: listening sockets, the ephemeral range, /etc/services, interfaces, the
//! admin's own connection, and the SSH login a process runs in (through its sshd ancestor).

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use serde::Serialize;

use crate::root::Root;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Proto {
    Tcp,
    Udp,
}

impl std::fmt::Display for Proto {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Proto::Tcp => "tcp",
            Proto::Udp => "udp",
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Listener {
    pub proto: Proto,
    pub addr: IpAddr,
    pub port: u16,
    pub inode: u64,
    /// The program, when it could be found (live system, or the demo's fake /proc).
    pub program: Option<String>,
}

impl Listener {
    pub fn describe(&self) -> String {
        let who = self.program.as_deref().unwrap_or("a program");
        let addr = match self.addr {
            IpAddr::V6(a) => format!("[{a}]"),
            IpAddr::V4(a) => a.to_string(),
        };
        format!("{who} ({} {addr}:{})", self.proto, self.port)
    }

    pub fn is_loopback(&self) -> bool {
        self.addr.is_loopback()
    }
}

fn parse_hex_v4(s: &str) -> Option<Ipv4Addr> {
    let n = u32::from_str_radix(s, 16).ok()?;
    Some(Ipv4Addr::from(n.to_le_bytes()))
}

fn parse_hex_v6(s: &str) -> Option<Ipv6Addr> {
    if s.len() != 32 {
        return None;
    }
    let mut bytes = [0u8; 16];
    for w in 0..4 {
        let word = u32::from_str_radix(&s[w * 8..w * 8 + 8], 16).ok()?;
        bytes[w * 4..w * 4 + 4].copy_from_slice(&word.to_le_bytes());
    }
    Some(Ipv6Addr::from(bytes))
}

/// Parse /proc/net/{tcp,tcp6,udp,udp6}: listening TCP sockets (state 0A) and bound UDP
/// sockets (state 07 with no remote peer).
pub fn parse_proc_net(text: &str, proto: Proto) -> Vec<Listener> {
    let mut out = Vec::new();
    for line in text.lines().skip(1) {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() < 10 {
            continue;
        }
        let want = match proto {
            Proto::Tcp => "0A",
            Proto::Udp => "07",
        };
        if f[3] != want {
            continue;
        }
        if proto == Proto::Udp && !f[2].ends_with(":0000") {
            continue;
        }
        let Some((a, p)) = f[1].split_once(':') else {
            continue;
        };
        let Ok(port) = u16::from_str_radix(p, 16) else {
            continue;
        };
        let addr = if a.len() == 8 {
            parse_hex_v4(a).map(IpAddr::V4)
        } else {
            parse_hex_v6(a).map(IpAddr::V6)
        };
        let Some(addr) = addr else { continue };
        out.push(Listener {
            proto,
            addr,
            port,
            inode: f[9].parse().unwrap_or(0),
            program: None,
        });
    }
    out
}

/// Every listening socket of the target (its /proc/net; empty for an offline disk).
pub fn listeners(root: &Root) -> Vec<Listener> {
    let mut out = Vec::new();
    for (file, proto) in [
        ("/proc/net/tcp", Proto::Tcp),
        ("/proc/net/tcp6", Proto::Tcp),
        ("/proc/net/udp", Proto::Udp),
        ("/proc/net/udp6", Proto::Udp),
    ] {
        if let Ok(Some(t)) = root.read_text(file) {
            out.extend(parse_proc_net(&t, proto));
        }
    }
    out.sort_by_key(|l| (l.port, l.proto));
    out.dedup_by(|a, b| a.port == b.port && a.proto == b.proto && a.addr == b.addr);
    out
}

/// Which process owns each socket inode (/proc/PID/fd/* -> socket:[INODE]). Walks every
/// process, so it is asked for only when a conflict needs a name.
pub fn programs(root: &Root) -> BTreeMap<u64, String> {
    let mut by_inode: BTreeMap<u64, String> = BTreeMap::new();
    let Ok(pids) = root.list_dir("/proc") else {
        return by_inode;
    };
    for pid in pids
        .iter()
        .filter(|p| p.chars().all(|c| c.is_ascii_digit()))
    {
        let fd_dir = format!("/proc/{pid}/fd");
        let Ok(fds) = root.list_dir(&fd_dir) else {
            continue;
        };
        let mut comm: Option<String> = None;
        for fd in fds {
            let Ok(link) = std::fs::read_link(root.host_nofollow(&format!("{fd_dir}/{fd}"))) else {
                continue;
            };
            let l = link.to_string_lossy();
            if let Some(ino) = l.strip_prefix("socket:[").and_then(|s| s.strip_suffix(']'))
                && let Ok(ino) = ino.parse::<u64>()
            {
                let name = comm.get_or_insert_with(|| {
                    root.read_text(&format!("/proc/{pid}/comm"))
                        .ok()
                        .flatten()
                        .map(|s| s.trim().to_string())
                        .unwrap_or_else(|| format!("pid {pid}"))
                });
                by_inode.insert(ino, name.clone());
            }
        }
    }
    by_inode
}

/// net.ipv4.ip_local_port_range of the target, when known.
pub fn ephemeral_range(root: &Root) -> Option<(u16, u16)> {
    let t = root
        .read_text("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()??;
    let mut it = t.split_whitespace().filter_map(|s| s.parse::<u16>().ok());
    Some((it.next()?, it.next()?))
}

/// Port -> service names for TCP from /etc/services.
pub fn services(root: &Root) -> BTreeMap<u16, String> {
    let mut out = BTreeMap::new();
    let Ok(Some(t)) = root.read_text("/etc/services") else {
        return out;
    };
    for line in t.lines() {
        let body = line.split('#').next().unwrap_or("");
        let mut f = body.split_whitespace();
        let (Some(name), Some(pp)) = (f.next(), f.next()) else {
            continue;
        };
        if let Some(port) = pp.strip_suffix("/tcp").and_then(|p| p.parse::<u16>().ok()) {
            out.entry(port).or_insert_with(|| name.to_string());
        }
    }
    out
}

/// Network interfaces of the target, without `lo`: /sys/class/net (live or captured), else
/// the network scripts of an offline disk (Red Hat ifcfg-*, Debian /etc/network/interfaces).
pub fn interfaces(root: &Root) -> Vec<String> {
    let mut names: Vec<String> = root
        .list_dir("/sys/class/net")
        .unwrap_or_default()
        .into_iter()
        .filter(|n| !n.starts_with('.'))
        .collect();
    if names.is_empty() {
        // An offline disk: interfaces named by the network scripts (Red Hat) or
        // /etc/network/interfaces (Debian).
        for f in root
            .list_dir("/etc/sysconfig/network-scripts")
            .unwrap_or_default()
        {
            if let Some(n) = f.strip_prefix("ifcfg-") {
                names.push(n.to_string());
            }
        }
        if let Ok(Some(t)) = root.read_text("/etc/network/interfaces") {
            for l in t.lines() {
                let mut w = l.split_whitespace();
                if w.next() == Some("iface")
                    && let Some(n) = w.next()
                {
                    names.push(n.to_string());
                }
            }
        }
    }
    names.retain(|n| n != "lo" && !n.is_empty());
    names.sort();
    names.dedup();
    names
}

/// The admin's own SSH connection, from SSH_CONNECTION (`client cport server sport`) or
/// SSH_CLIENT (`client cport sport`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AdminConnection {
    pub client: IpAddr,
    pub server: Option<IpAddr>,
    pub server_port: Option<u16>,
}

pub fn admin_connection(
    ssh_connection: Option<&str>,
    ssh_client: Option<&str>,
) -> Option<AdminConnection> {
    if let Some(c) = ssh_connection {
        let f: Vec<&str> = c.split_whitespace().collect();
        if f.len() == 4
            && let Ok(client) = f[0].parse()
        {
            return Some(AdminConnection {
                client,
                server: f[2].parse().ok(),
                server_port: f[3].parse().ok(),
            });
        }
    }
    if let Some(c) = ssh_client {
        let f: Vec<&str> = c.split_whitespace().collect();
        if f.len() == 3
            && let Ok(client) = f[0].parse()
        {
            return Some(AdminConnection {
                client,
                server: None,
                server_port: f[2].parse().ok(),
            });
        }
    }
    None
}

/// The SSH login this process runs in, found through its own ancestry (not the environment,
/// and not just any connection): the nearest `sshd` ancestor, the local port of the TCP
/// connection it holds, and the user it runs as (OpenSSH's per-login process runs as the
/// user who logged in; as root for root).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionLogin {
    pub pid: u32,
    pub port: u16,
    pub uid: u32,
}

fn parent_pid(pid: u32) -> Option<u32> {
    let st = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    st[st.rfind(')')? + 2..]
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

fn real_uid(pid: u32) -> Option<u32> {
    let st = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    st.lines()
        .find_map(|l| l.strip_prefix("Uid:"))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// Local ports of established TCP connections by socket inode (/proc/net/tcp, tcp6).
fn established_ports() -> BTreeMap<u64, u16> {
    let mut out = BTreeMap::new();
    for f in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let Ok(t) = std::fs::read_to_string(f) else {
            continue;
        };
        for line in t.lines().skip(1) {
            let v: Vec<&str> = line.split_whitespace().collect();
            if v.len() > 9 && v[3] == "01" {
                let port = v[1]
                    .rsplit(':')
                    .next()
                    .and_then(|p| u16::from_str_radix(p, 16).ok());
                if let (Some(port), Ok(ino)) = (port, v[9].parse()) {
                    out.insert(ino, port);
                }
            }
        }
    }
    out
}

pub fn session_login() -> Option<SessionLogin> {
    let ports = established_ports();
    let mut pid = std::process::id();
    for _ in 0..24 {
        pid = parent_pid(pid)?;
        if pid <= 1 {
            return None;
        }
        let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
        if !comm.trim().starts_with("sshd") {
            continue;
        }
        let fds = std::fs::read_dir(format!("/proc/{pid}/fd")).ok()?;
        let port = fds.flatten().find_map(|e| {
            let l = std::fs::read_link(e.path()).ok()?;
            let ino: u64 = l
                .to_str()?
                .strip_prefix("socket:[")?
                .strip_suffix(']')?
                .parse()
                .ok()?;
            ports.get(&ino).copied()
        })?;
        return Some(SessionLogin {
            pid,
            port,
            uid: real_uid(pid)?,
        });
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const TCP: &str = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1001 1 0 100 0 0 10 0
   1: 0100007F:13BE 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1002 1 0 100 0 0 10 0
   2: 0100007F:0016 0200007F:C350 01 00000000:00000000 00:00000000 00000000     0        0 1003 1 0 100 0 0 10 0
";

    #[test]
    fn parses_listening_sockets_only() {
        let l = parse_proc_net(TCP, Proto::Tcp);
        assert_eq!(l.len(), 2);
        assert_eq!(l[0].port, 22);
        assert_eq!(l[1].port, 5054);
        assert_eq!(l[1].addr, "127.0.0.1".parse::<IpAddr>().unwrap());
        let v6 = "  sl local rem st a b c d e inode\n   0: 00000000000000000000000000000000:0016 00000000000000000000000000000000:0000 0A 0 0 0 0 0 7 0\n";
        let l = parse_proc_net(v6, Proto::Tcp);
        assert_eq!(l[0].addr, "::".parse::<IpAddr>().unwrap());
    }

    #[test]
    fn admin_from_env() {
        let a = admin_connection(Some("203.0.113.10 50000 192.0.2.5 22"), None).unwrap();
        assert_eq!(a.client.to_string(), "203.0.113.10");
        assert_eq!(a.server_port, Some(22));
        let a = admin_connection(None, Some("2001:db8::1 5000 22")).unwrap();
        assert_eq!(a.client.to_string(), "2001:db8::1");
        assert!(admin_connection(Some("garbage"), None).is_none());
    }
}
