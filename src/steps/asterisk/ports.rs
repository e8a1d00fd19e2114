//! What Asterisk listens on and where it logs, read from its configuration under the root:
//! `sip.conf` (chan_sip), `pjsip.conf` transports, `iax.conf`, `manager.conf` (AMI) and
//! `logger.conf`. `#include` / `#tryinclude` are followed (relative to /etc/asterisk), so
//! FreePBX's `sip_general_custom.conf` or `pjsip.transports.conf` count.

use crate::config::ini::{IniLine, parse_line};
use crate::root::Root;

pub const CONF_DIR: &str = "/etc/asterisk";

/// Asterisk's listening ports as configured.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AsteriskPorts {
    /// Asterisk's configuration was found at all.
    pub present: bool,
    pub sip_udp: Vec<u16>,
    pub sip_tcp: Vec<u16>,
    /// SIP over TLS, only when configured (`tlsenable=yes`, a pjsip `protocol=tls` transport).
    pub sip_tls: Vec<u16>,
    /// IAX2 (`iax.conf` bindport), when iax.conf exists.
    pub iax: Option<u16>,
    /// The manager interface port and whether it is enabled.
    pub ami: Option<(u16, bool)>,
    /// The log file fail2ban's asterisk filter should read, from logger.conf.
    pub log: Option<String>,
    /// Why no log file could be chosen, when `log` is None.
    pub log_problem: Option<String>,
    /// A file channel of logger.conf with the `security` level (fail2ban's best source: the
    /// SECURITY events of res_security_log, for chan_sip and chan_pjsip alike).
    pub security_log: Option<String>,
    /// Where a `security => security` channel added to logger.conf's [logfiles] would write,
    /// when there is none yet (None when logger.conf is missing or the name is taken).
    pub security_log_new: Option<String>,
}

/// (section, key, value) of a configuration file with its includes expanded.
pub fn read_conf(root: &Root, name: &str) -> Option<Vec<(String, String, String)>> {
    let mut out = Vec::new();
    let mut section = String::new();
    let path = resolve(name);
    let bytes = root.read(&path).ok().flatten()?;
    expand(root, &bytes, &mut section, &mut out, 0);
    Some(out)
}

fn resolve(name: &str) -> String {
    if name.starts_with('/') {
        name.to_string()
    } else {
        format!("{CONF_DIR}/{name}")
    }
}

fn expand(
    root: &Root,
    bytes: &[u8],
    section: &mut String,
    out: &mut Vec<(String, String, String)>,
    depth: usize,
) {
    let text = String::from_utf8_lossy(bytes);
    for line in text.lines() {
        let t = line.trim();
        let inc = t
            .strip_prefix("#tryinclude")
            .or_else(|| t.strip_prefix("#include"));
        if let Some(rest) = inc {
            if depth < 8 {
                let f = rest.trim().trim_matches(['"', '<', '>']);
                let pattern = resolve(f);
                let files = if pattern.contains(['*', '?', '[']) {
                    root.glob(&pattern)
                } else {
                    vec![pattern]
                };
                for f in files {
                    if let Ok(Some(b)) = root.read(&f) {
                        expand(root, &b, section, out, depth + 1);
                    }
                }
            }
            continue;
        }
        match parse_line(line) {
            IniLine::Section { name, .. } => *section = name,
            IniLine::Entry { key, value, .. } => {
                out.push((section.clone(), key.to_ascii_lowercase(), value))
            }
            _ => {}
        }
    }
}

fn yes(v: &str) -> bool {
    matches!(
        v.trim().to_ascii_lowercase().as_str(),
        "yes" | "true" | "y" | "t" | "1" | "on"
    )
}

/// The port of `addr[:port]`, `[v6]:port`, or `None` when it has no port.
fn port_of(bind: &str) -> Option<u16> {
    let b = bind.trim();
    if let Some(rest) = b.strip_prefix('[') {
        return rest.split_once("]:").and_then(|(_, p)| p.parse().ok());
    }
    if b.matches(':').count() == 1 {
        return b.split_once(':').and_then(|(_, p)| p.parse().ok());
    }
    None
}

fn push(v: &mut Vec<u16>, p: u16) {
    if !v.contains(&p) {
        v.push(p);
    }
}

pub fn detect(root: &Root, hostname: &str) -> AsteriskPorts {
    let mut a = AsteriskPorts {
        present: root.exists(CONF_DIR),
        ..Default::default()
    };
    if !a.present {
        return a;
    }
    if let Some(sip) = read_conf(root, "sip.conf") {
        let general = |k: &str| {
            sip.iter()
                .rev()
                .find(|(s, key, _)| s.eq_ignore_ascii_case("general") && key == k)
                .map(|(_, _, v)| v.clone())
        };
        let bindport = general("bindport")
            .and_then(|v| v.parse().ok())
            .unwrap_or(5060);
        let udp = general("udpbindaddr")
            .and_then(|v| port_of(&v))
            .unwrap_or(bindport);
        push(&mut a.sip_udp, udp);
        if general("tcpenable").is_some_and(|v| yes(&v)) {
            let p = general("tcpbindaddr")
                .and_then(|v| port_of(&v))
                .unwrap_or(5060);
            push(&mut a.sip_tcp, p);
        }
        if general("tlsenable").is_some_and(|v| yes(&v)) {
            let p = general("tlsbindaddr")
                .and_then(|v| port_of(&v))
                .unwrap_or(5061);
            push(&mut a.sip_tls, p);
        }
    }
    if let Some(pj) = read_conf(root, "pjsip.conf") {
        let mut sections: Vec<String> = Vec::new();
        for (s, _, _) in &pj {
            if !sections.contains(s) {
                sections.push(s.clone());
            }
        }
        for s in sections {
            let get = |k: &str| {
                pj.iter()
                    .rev()
                    .find(|(sec, key, _)| *sec == s && key == k)
                    .map(|(_, _, v)| v.to_ascii_lowercase())
            };
            if get("type").as_deref() != Some("transport") {
                continue;
            }
            let proto = get("protocol").unwrap_or_else(|| "udp".into());
            let bind = get("bind").unwrap_or_default();
            match proto.as_str() {
                "udp" => push(&mut a.sip_udp, port_of(&bind).unwrap_or(5060)),
                "tcp" => push(&mut a.sip_tcp, port_of(&bind).unwrap_or(5060)),
                "tls" => push(&mut a.sip_tls, port_of(&bind).unwrap_or(5061)),
                _ => {}
            }
        }
    }
    if a.sip_udp.is_empty() {
        a.sip_udp.push(5060);
    }
    if let Some(iax) = read_conf(root, "iax.conf") {
        let port = iax
            .iter()
            .rev()
            .find(|(s, k, _)| s.eq_ignore_ascii_case("general") && k == "bindport")
            .and_then(|(_, _, v)| v.parse().ok())
            .unwrap_or(4569);
        a.iax = Some(port);
    }
    if let Some(m) = read_conf(root, "manager.conf") {
        let get = |k: &str| {
            m.iter()
                .rev()
                .find(|(s, key, _)| s.eq_ignore_ascii_case("general") && key == k)
                .map(|(_, _, v)| v.clone())
        };
        let port = get("port").and_then(|v| v.parse().ok()).unwrap_or(5038);
        a.ami = Some((port, get("enabled").is_some_and(|v| yes(&v))));
    }
    let logger = Logger::read(root, hostname);
    match logger.log_file() {
        Ok(p) => a.log = Some(p),
        Err(e) => a.log_problem = Some(e),
    }
    if let Some(f) = logger.log_files() {
        a.security_log = f
            .iter()
            .find(|(_, name, _, security)| *security && name != "console")
            .map(|(p, ..)| p.clone());
        if a.security_log.is_none() && !f.iter().any(|(_, name, ..)| name == "security") {
            a.security_log_new = Some(logger.channel_path("security"));
        }
    }
    a
}

/// logger.conf (with its includes) and what places its files: `astlogdir` of asterisk.conf
/// (default /var/log/asterisk), `appendhostname`. Each file read once.
struct Logger {
    conf: Option<Vec<(String, String, String)>>,
    logdir: String,
    append_host: Option<String>,
}

impl Logger {
    fn read(root: &Root, hostname: &str) -> Logger {
        let conf = read_conf(root, "logger.conf");
        let logdir = read_conf(root, "asterisk.conf")
            .and_then(|a| {
                a.into_iter()
                    .find(|(s, k, _)| s.eq_ignore_ascii_case("directories") && k == "astlogdir")
                    .map(|(_, _, v)| v)
            })
            .unwrap_or_else(|| "/var/log/asterisk".into());
        let append_host = conf
            .as_ref()
            .is_some_and(|c| {
                c.iter().any(|(s, k, v)| {
                    s.eq_ignore_ascii_case("general") && k == "appendhostname" && yes(v)
                })
            })
            .then(|| hostname.to_string());
        Logger {
            conf,
            logdir,
            append_host,
        }
    }

    /// The file a logger.conf channel `name` writes: relative to astlogdir, `.HOSTNAME`
    /// with `appendhostname = yes`.
    fn channel_path(&self, name: &str) -> String {
        let mut path = if name.starts_with('/') {
            name.to_string()
        } else {
            format!("{}/{name}", self.logdir.trim_end_matches('/'))
        };
        if let Some(h) = &self.append_host {
            path = format!("{path}.{h}");
        }
        path
    }

    /// Every channel of logger.conf's [logfiles] but syslog ones: (file, channel name, has
    /// notice, has security). None without logger.conf.
    fn log_files(&self) -> Option<Vec<(String, String, bool, bool)>> {
        let conf = self.conf.as_ref()?;
        let mut out = Vec::new();
        for (s, name, levels) in conf {
            if !s.eq_ignore_ascii_case("logfiles") || name.starts_with("syslog") {
                continue;
            }
            let levels = levels.rsplit(']').next().unwrap_or("").to_ascii_lowercase();
            let has = |l: &str| levels.split(',').any(|x| x.trim() == l || x.trim() == "*");
            out.push((
                self.channel_path(name),
                name.clone(),
                has("notice"),
                has("security"),
            ));
        }
        Some(out)
    }

    /// The file of logger.conf that carries the NOTICE / SECURITY lines fail2ban's
    /// asterisk filter matches: one with `security` and `notice` if there is one, else
    /// `notice`, else `security`.
    fn log_file(&self) -> Result<String, String> {
        let Some(conf) = &self.conf else {
            return Err(format!("there is no {CONF_DIR}/logger.conf"));
        };
        let mut best: Option<(u8, &str)> = None;
        for (s, name, levels) in conf {
            if !s.eq_ignore_ascii_case("logfiles") {
                continue;
            }
            if name == "console" || name.starts_with("syslog") {
                continue;
            }
            let levels = levels.rsplit(']').next().unwrap_or("").to_ascii_lowercase();
            let has = |l: &str| levels.split(',').any(|x| x.trim() == l || x.trim() == "*");
            let score = match (has("notice"), has("security")) {
                (true, true) => 3,
                (true, false) => 2,
                (false, true) => 1,
                _ => 0,
            };
            if score > 0 && best.as_ref().is_none_or(|(b, _)| score > *b) {
                best = Some((score, name));
            }
        }
        best.map(|(_, name)| self.channel_path(name))
            .ok_or_else(|| {
                format!(
                    "{CONF_DIR}/logger.conf writes no log file with notice or security messages \
                 (add e.g. \"messages => notice,warning,error\" under [logfiles])"
                )
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::root::test_root as root_with;

    #[test]
    fn chan_sip_with_includes_and_tls() {
        let (_t, r) = root_with(&[
            (
                "/etc/asterisk/sip.conf",
                "[general]\nbindport=5070\n#include sip_general_custom.conf\n[100]\nsecret=x\n",
            ),
            (
                "/etc/asterisk/sip_general_custom.conf",
                "tcpenable=yes\ntlsenable=yes\ntlsbindaddr=0.0.0.0:5071\n",
            ),
            ("/etc/asterisk/iax.conf", "[general]\nbindport=4570\n"),
            ("/etc/asterisk/manager.conf", "[general]\nenabled = yes\n"),
            (
                "/etc/asterisk/logger.conf",
                "[general]\nappendhostname=yes\n[logfiles]\nconsole => notice\nfull => notice,warning\nsecurity => security,notice\n",
            ),
        ]);
        let a = detect(&r, "pbx1");
        assert_eq!(a.sip_udp, vec![5070]);
        assert_eq!(a.sip_tcp, vec![5060]);
        assert_eq!(a.sip_tls, vec![5071]);
        assert_eq!(a.iax, Some(4570));
        assert_eq!(a.ami, Some((5038, true)));
        assert_eq!(a.log.as_deref(), Some("/var/log/asterisk/security.pbx1"));
    }

    #[test]
    fn pjsip_transports() {
        let (_t, r) = root_with(&[
            (
                "/etc/asterisk/pjsip.conf",
                "#include pjsip.transports.conf\n[6001]\ntype=endpoint\n",
            ),
            (
                "/etc/asterisk/pjsip.transports.conf",
                "[udp]\ntype=transport\nprotocol=udp\nbind=0.0.0.0:5260\n[tls]\ntype=transport\nprotocol=tls\nbind=[::]\n",
            ),
            (
                "/etc/asterisk/logger.conf",
                "[logfiles]\nconsole => notice\n",
            ),
        ]);
        let a = detect(&r, "pbx1");
        assert_eq!(a.sip_udp, vec![5260]);
        assert_eq!(a.sip_tls, vec![5061]);
        assert!(a.log.is_none());
        assert!(a.log_problem.unwrap().contains("messages => notice"));
    }
}
