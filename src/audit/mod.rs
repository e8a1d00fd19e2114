//! The read-only audit: one finding per problem, each with a severity, the file and line,
//! why it matters (from the seed) and the answers key that fixes it.
//!
//! It works on the facts `System::detect` gathered, plus a few small reads (manager.conf,
//! conf.apf, conf.bfd, fail2ban's jail files, the pending journal) and, on the live system,
//! where SSH really listens (`systemctl show ssh.socket`, `sshd -T`). It never writes: no
//! lock is taken, no state directory is created. The JSON form is stable (see
//! `FORMAT`/`VERSION` and the README); new fields may be added, none renamed or removed
//! within a version.

mod ssh_baseline;

use serde::Serialize;

use crate::config::ini::IniFile;
use crate::config::jail::JailFile;
use crate::config::shellvars::ShellVars;
use crate::root::Root;
use crate::steps::asterisk::{self, Problem, Reason};
use crate::system::System;

pub const FORMAT: &str = "pbx-harden-audit";
pub const VERSION: u32 = 1;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    High,
    Medium,
    Low,
}

impl Severity {
    pub fn label(self) -> &'static str {
        match self {
            Severity::High => "HIGH",
            Severity::Medium => "MEDIUM",
            Severity::Low => "LOW",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// Stable identifier of the check (`ssh.root_login`, `secret.weak`, ...).
    pub id: String,
    pub severity: Severity,
    /// What it is about when a check finds several (`SIP friend 100`, `portmap`).
    pub subject: Option<String>,
    pub title: String,
    /// Target path and 1-based line, when the problem sits in a file.
    pub file: Option<String>,
    pub line: Option<usize>,
    /// Why it matters.
    pub why: String,
    /// The answers key that fixes it, when pbx-harden can.
    pub answers_key: Option<String>,
    /// What to do.
    pub fix: String,
    /// Rule codes of a weak secret (`same_as_name`, `all_digits`, `too_short`,
    /// `common_password`, `dictionary_word`, `low_score`); empty otherwise.
    pub reasons: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub total: usize,
    pub high: usize,
    pub medium: usize,
    pub low: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    pub format: &'static str,
    pub version: u32,
    /// The audited root (`/` for this system).
    pub root: String,
    pub os: String,
    pub pbx: Option<String>,
    pub summary: Counts,
    pub findings: Vec<Finding>,
    /// What could not be checked, and why.
    pub not_checked: Vec<String>,
}

impl Report {
    pub fn is_clean(&self) -> bool {
        self.findings.is_empty()
    }

    pub fn to_json(&self) -> crate::Result<String> {
        let mut s = serde_json::to_string_pretty(self)
            .map_err(|e| crate::Error::invalid(format!("the audit report: {e}")))?;
        s.push('\n');
        Ok(s)
    }

    pub fn to_text(&self) -> String {
        let mut o = format!(
            "pbx-harden audit of {} ({}{})\n",
            self.root,
            self.os,
            self.pbx
                .as_ref()
                .map(|p| format!(", {p}"))
                .unwrap_or_default()
        );
        for f in &self.findings {
            o.push('\n');
            let at = match (&f.file, f.line) {
                (Some(file), Some(l)) => format!("  {file}:{l}"),
                (Some(file), None) => format!("  {file}"),
                _ => String::new(),
            };
            o.push_str(&format!("{:<7} {}{at}\n", f.severity.label(), f.id));
            o.push_str(&format!("        {}\n", f.title));
            o.push_str(&format!("        why: {}\n", f.why));
            o.push_str(&format!("        fix: {}\n", f.fix));
        }
        for n in &self.not_checked {
            o.push_str(&format!("\nnot checked: {n}\n"));
        }
        let c = &self.summary;
        if c.total == 0 {
            o.push_str("\nNo findings.\n");
        } else {
            o.push_str(&format!(
                "\n{} finding{}: {} high, {} medium, {} low.\n",
                c.total,
                if c.total == 1 { "" } else { "s" },
                c.high,
                c.medium,
                c.low
            ));
        }
        o
    }
}

struct Audit<'a> {
    sys: &'a System,
    findings: Vec<Finding>,
    not_checked: Vec<String>,
}

impl Audit<'_> {
    #[allow(clippy::too_many_arguments)]
    fn add(
        &mut self,
        id: &str,
        severity: Severity,
        subject: Option<String>,
        title: String,
        at: Option<(String, Option<usize>)>,
        why: &str,
        answers_key: Option<&str>,
        fix: String,
    ) {
        let (file, line) = match at {
            Some((f, l)) => (Some(f), l),
            None => (None, None),
        };
        self.findings.push(Finding {
            id: id.into(),
            severity,
            subject,
            title,
            file,
            line,
            why: why.into(),
            answers_key: answers_key.map(str::to_string),
            fix,
            reasons: Vec::new(),
        });
    }

    fn root(&self) -> &Root {
        &self.sys.root
    }
}

const WHY_ROOT: &str = "the seed: \"The root user should be denied access and only the user we \
     created should be allowed to get in\"; root's password is the first one guessing tools try";
const WHY_PORT: &str = "the seed: \"it's recommended that the Port setting from the standard 22 is \
     changed\"; every SSH scanner knocks on 22 first";
const WHY_ALLOW: &str = "the seed: \"Only allowing one account access to the system over SSH is a \
     great way to lock out most brute force attacks\"";
const WHY_SECRET: &str = "the seed: \"several scripts that are available look for exactly this \
     setup when trying to attack Asterisk-based systems\"; svcrack tries secret = extension first";
const WHY_NO_SECRET: &str = "anyone who knows the extension number can register as it and make \
     calls on your account";
const WHY_OPEN_IAX: &str = "anyone on the Internet can place calls into that context without a \
     password; the seed keeps IAX closed to all but known hosts";
const WHY_AMI: &str = "the Asterisk Manager Interface (5038) controls the whole PBX (it can \
     originate calls); it must never be reachable from outside";
const WHY_SIP_GUESTS: &str = "chan_sip lets unknown callers in (allowguest defaults to yes) and, \
     without alwaysauthreject, tells a scanner which extension numbers exist";
const WHY_PJSIP_ANON: &str = "an endpoint named anonymous answers calls from anyone who is not \
     another endpoint: toll fraud dials out through it";
const WHY_AMI_SECRET: &str = "an AMI login can originate calls and read every configuration; \
     FreePBX's default AMI password is in every attack script";
const WHY_APF: &str = "the seed: \"Never have your trixbox system exposed completely on the open \
     Internet\"; APF is its firewall";
const WHY_DEVEL: &str = "with DEVEL_MODE=\"1\" APF flushes its rules every 5 minutes, leaving the \
     box open; the seed sets it to 0 once SSH is proven";
const WHY_TRIG: &str = "the seed: \"I recommend not setting this above 5 to reduce the number of \
     attempts that are allowed\"";
const WHY_BRUTE: &str = "the seed: \"it is now recommended that you set up tools to capture \
     illegitimate login requests and block those IP addresses\"";
const WHY_SERVICE: &str = "the seed: \"disable any services that are running that could be \
     potential security vulnerabilities\"";
const WHY_PENDING: &str = "an unconfirmed change rolls itself back at its deadline; until then \
     the box runs a configuration nobody has proven";

/// Run every check. Reads only.
/// Only the findings `[asterisk]` fixes (the manager interface, SIP guests, PJSIP's anonymous
/// endpoint): a few small files, cheap enough for the wizard to ask on a key press.
pub fn asterisk_doors(sys: &System) -> Vec<Finding> {
    let mut a = Audit {
        sys,
        findings: Vec::new(),
        not_checked: Vec::new(),
    };
    ami(&mut a);
    sip_guests(&mut a);
    a.findings
}

pub fn audit(sys: &System) -> Report {
    let mut a = Audit {
        sys,
        findings: Vec::new(),
        not_checked: Vec::new(),
    };
    pending(&mut a);
    ssh(&mut a);
    firewall(&mut a);
    ami(&mut a);
    sip_guests(&mut a);
    secrets(&mut a);
    services(&mut a);
    let mut c = Counts::default();
    for f in &a.findings {
        c.total += 1;
        match f.severity {
            Severity::High => c.high += 1,
            Severity::Medium => c.medium += 1,
            Severity::Low => c.low += 1,
        }
    }
    Report {
        format: FORMAT,
        version: VERSION,
        root: sys.root.dir().display().to_string(),
        os: sys.os.pretty.clone(),
        pbx: sys.pbx.distro.clone(),
        summary: c,
        findings: a.findings,
        not_checked: a.not_checked,
    }
}

fn pending(a: &mut Audit<'_>) {
    let path = format!("{}/pending/journal.json", crate::apply::journal::STATE_DIR);
    match crate::apply::journal::load(a.root()) {
        Ok(None) => {}
        Ok(Some(j)) => {
            let left = j.deadline as i64 - crate::apply::journal::now() as i64;
            a.add(
                "change.pending",
                Severity::High,
                Some(j.txid.clone()),
                if left > 0 {
                    format!(
                        "Change {} is waiting for confirmation; it rolls back in {} s",
                        j.txid, left
                    )
                } else {
                    format!(
                        "Change {} was never confirmed and is overdue for rollback",
                        j.txid
                    )
                },
                Some((path, None)),
                WHY_PENDING,
                None,
                "log in again the new way and run `pbx-harden confirm`, or `pbx-harden rollback`"
                    .into(),
            );
        }
        Err(e) => a.add(
            "change.pending",
            Severity::High,
            None,
            format!("A pending change cannot be read: {e}"),
            Some((path, None)),
            WHY_PENDING,
            None,
            "`pbx-harden rollback` restores the backed-up files".into(),
        ),
    }
}

/// OpenSSH before 7.0 (CentOS 5 and 6, trixbox) let root log in with a password by default.
fn old_openssh(sys: &System) -> bool {
    let p = sys.os.pretty.to_lowercase();
    sys.pbx.distro.as_deref() == Some("trixbox")
        || ["release 5", "release 6"].iter().any(|r| p.contains(r))
}

fn ssh(a: &mut Audit<'_>) {
    let cfg = match a.sys.sshd() {
        Ok(c) => c.clone(),
        Err(e) => {
            a.not_checked.push(format!("SSH: {e}"));
            return;
        }
    };
    let at = |o: &crate::config::sshd::Occurrence| {
        Some((cfg.files[o.file].path.clone(), Some(o.line + 1)))
    };
    let main = cfg
        .files
        .first()
        .map(|f| f.path.clone())
        .unwrap_or_else(|| "/etc/ssh/sshd_config".into());
    let fix_root =
        "[ssh] permit_root_login = false (log in as the login user, then su)".to_string();
    match cfg.first("permitrootlogin") {
        Some(o) => {
            let v = o
                .args
                .first()
                .map(|s| s.to_ascii_lowercase())
                .unwrap_or_default();
            if v == "yes" {
                a.add(
                    "ssh.root_login",
                    Severity::High,
                    None,
                    "root may log in over SSH with a password (PermitRootLogin yes)".into(),
                    at(&o),
                    WHY_ROOT,
                    Some("ssh.permit_root_login"),
                    fix_root,
                );
            } else if v != "no" {
                a.add(
                    "ssh.root_login",
                    Severity::Low,
                    None,
                    format!("root may log in over SSH with a key (PermitRootLogin {v})"),
                    at(&o),
                    WHY_ROOT,
                    Some("ssh.permit_root_login"),
                    fix_root,
                );
            }
        }
        None => {
            let (sev, how) = if old_openssh(a.sys) {
                (
                    Severity::High,
                    "with a password (the default of this OpenSSH)",
                )
            } else {
                (
                    Severity::Medium,
                    "(PermitRootLogin is not set: with a password before OpenSSH 7.0, with a key since)",
                )
            };
            a.add(
                "ssh.root_login",
                sev,
                None,
                format!("root may log in over SSH {how}"),
                Some((main.clone(), None)),
                WHY_ROOT,
                Some("ssh.permit_root_login"),
                fix_root,
            );
        }
    }
    let (ports, source) = effective_ssh_ports(a.sys, &cfg);
    if ports.contains(&22) {
        let at22 = match source {
            PortSource::Config => cfg
                .first("port")
                .map(|o| at(&o))
                .unwrap_or(Some((main.clone(), None))),
            PortSource::Socket => Some(("ssh.socket (ListenStream=22)".to_string(), None)),
            PortSource::SshdT => Some(("sshd -T (the configuration sshd runs with)".into(), None)),
        };
        a.add(
            "ssh.port_22",
            Severity::Medium,
            None,
            "SSH listens on port 22".into(),
            at22,
            WHY_PORT,
            Some("ssh.port"),
            "[ssh] port = a free high port (pbx-harden checks it against RTP and the ephemeral range)".into(),
        );
    }
    let passwords = cfg.value_or("passwordauthentication", "yes") != "no";
    if passwords && cfg.list("allowusers").is_empty() && cfg.list("allowgroups").is_empty() {
        let at_pw = cfg
            .first("passwordauthentication")
            .map(|o| at(&o))
            .unwrap_or(Some((main, None)));
        a.add(
            "ssh.no_allow_users",
            Severity::Medium,
            None,
            "every account with a password may log in over SSH (password logins, no AllowUsers)"
                .into(),
            at_pw,
            WHY_ALLOW,
            Some("ssh.allow_users"),
            "[ssh] allow_users = [\"your-login-user\"] (with a [user] section creating it)".into(),
        );
    }
    ssh_baseline::audit(a, &cfg);
}

enum PortSource {
    Config,
    Socket,
    SshdT,
}

/// The ports SSH really listens on: on the live system an active `ssh.socket`'s
/// `ListenStream` (it owns the port whatever sshd_config says), else `sshd -T` when sshd is
/// installed (includes, Match-free defaults), else sshd_config with its includes as read.
fn effective_ssh_ports(
    sys: &System,
    cfg: &crate::config::sshd::SshdConfig,
) -> (Vec<u16>, PortSource) {
    if sys.root.is_live() {
        if sys.init == crate::system::Init::Systemd
            && sys
                .runner
                .run(
                    &crate::exec::argv(&["systemctl", "is-active", "--quiet", "ssh.socket"]),
                    None,
                )
                .is_ok_and(|o| o.ok())
        {
            let p = crate::steps::ssh::socket_ports(&*sys.runner, "ssh.socket");
            if !p.is_empty() {
                return (p, PortSource::Socket);
            }
        }
        if let Some(sshd) = crate::host::find_program("sshd")
            && let Ok(o) = sys
                .runner
                .run(&[sshd.display().to_string(), "-T".into()], None)
            && o.ok()
        {
            let p: Vec<u16> = o
                .stdout
                .lines()
                .filter_map(|l| l.strip_prefix("port ")?.trim().parse().ok())
                .collect();
            if !p.is_empty() {
                return (p, PortSource::SshdT);
            }
        }
    }
    (cfg.listen_ports(), PortSource::Config)
}

fn read_vars(root: &Root, path: &str) -> Option<ShellVars> {
    root.read(path).ok().flatten().map(|b| ShellVars::parse(&b))
}

fn var_line(v: &ShellVars, key: &str) -> Option<usize> {
    v.vars
        .iter()
        .rev()
        .find(|x| x.key == key)
        .map(|x| x.line + 1)
}

const APF_CONF: &str = "/etc/apf/conf.apf";
const BFD_CONFS: &[&str] = &["/usr/local/bfd/conf.bfd", "/etc/bfd/conf.bfd"];

/// fail2ban: is a jail for SSH or Asterisk enabled? `None` when fail2ban is not installed.
fn fail2ban_jails(a: &Audit<'_>) -> Option<Vec<String>> {
    let root = a.root();
    if !root.exists("/etc/fail2ban/jail.conf") {
        return None;
    }
    let mut files = vec!["/etc/fail2ban/jail.conf".to_string()];
    files.extend(root.glob("/etc/fail2ban/jail.d/*.conf"));
    files.push("/etc/fail2ban/jail.local".into());
    files.extend(root.glob("/etc/fail2ban/jail.d/*.local"));
    let mut default_on = false;
    let mut jails: std::collections::BTreeMap<String, Option<bool>> = Default::default();
    for f in files {
        let Ok(Some(b)) = root.read(&f) else { continue };
        // fail2ban's own syntax (`enabled: true` as well as `enabled = true`), not Asterisk's.
        for (section, key, value) in JailFile::parse(&b).entries() {
            let on = key.eq_ignore_ascii_case("enabled").then(|| {
                let word = value.split_whitespace().next().unwrap_or("");
                matches!(
                    word.to_ascii_lowercase().as_str(),
                    "true" | "yes" | "1" | "on"
                )
            });
            if section.eq_ignore_ascii_case("DEFAULT") || section.eq_ignore_ascii_case("INCLUDES") {
                if let Some(on) = on
                    && section.eq_ignore_ascii_case("DEFAULT")
                {
                    default_on = on;
                }
                continue;
            }
            let e = jails.entry(section).or_insert(None);
            if on.is_some() {
                *e = on;
            }
        }
    }
    let service_off = a
        .sys
        .services
        .force()
        .find("fail2ban")
        .is_some_and(|s| !s.enabled && s.active != Some(true));
    if service_off {
        return Some(Vec::new());
    }
    Some(
        jails
            .into_iter()
            .filter(|(_, on)| on.unwrap_or(default_on))
            .map(|(n, _)| n)
            .filter(|n| {
                let n = n.to_lowercase();
                n.contains("ssh") || n.contains("asterisk")
            })
            .collect(),
    )
}

fn firewall(a: &mut Audit<'_>) {
    let root = a.root().clone();
    match read_vars(&root, APF_CONF) {
        // Another firewall is in charge: not a finding of APF's.
        None if other_firewall(a).is_some() => {}
        None => a.add(
            "firewall.apf_absent",
            Severity::Medium,
            None,
            "APF is not installed (no /etc/apf/conf.apf)".into(),
            None,
            WHY_APF,
            Some("firewall.backend"),
            "[firewall] backend = \"apf\" with the ports the PBX needs, once APF is installed"
                .into(),
        ),
        Some(v) => {
            if v.get("DEVEL_MODE").is_some_and(|d| d.trim() == "1") {
                a.add(
                    "firewall.apf_devel_mode",
                    Severity::High,
                    None,
                    "APF is left in DEVEL_MODE=\"1\": its rules are flushed every 5 minutes".into(),
                    Some((APF_CONF.into(), var_line(&v, "DEVEL_MODE"))),
                    WHY_DEVEL,
                    Some("firewall"),
                    "apply a [firewall] section: pbx-harden keeps DEVEL_MODE on only until you confirm"
                        .into(),
                );
            }
        }
    }
    let bfd = BFD_CONFS
        .iter()
        .find_map(|p| read_vars(&root, p).map(|v| (p.to_string(), v)));
    if let Some((path, v)) = &bfd {
        let key = if v.has("TRIG") {
            "TRIG"
        } else {
            "PRESSURE_TRIP"
        };
        if let Some(t) = v.get(key).and_then(|t| t.trim().parse::<i64>().ok())
            && t > 5
        {
            a.add(
                "bfd.trig",
                Severity::Medium,
                None,
                format!("BFD bans an address only after {t} failed logins ({key}=\"{t}\")"),
                Some((path.clone(), var_line(v, key))),
                WHY_TRIG,
                Some("bfd.trig"),
                "[bfd] trig = 5".into(),
            );
        }
    }
    let f2b = fail2ban_jails(a);
    let protected = bfd.is_some() || f2b.as_ref().is_some_and(|j| !j.is_empty());
    if !protected {
        let title = match &f2b {
            Some(_) => "fail2ban is installed but no sshd or asterisk jail is enabled".to_string(),
            None => "nothing blocks brute-force logins (neither BFD nor fail2ban)".to_string(),
        };
        a.add(
            "bruteforce.none",
            Severity::High,
            None,
            title,
            f2b.as_ref()
                .map(|_| ("/etc/fail2ban/jail.conf".to_string(), None)),
            WHY_BRUTE,
            Some("firewall.backend"),
            "[firewall] backend = \"apf\" (APF + BFD) or \"fail2ban\", once installed".into(),
        );
    }
}

/// A firewall other than APF that is on: firewalld or nftables enabled or running, ufw
/// with ENABLED=yes.
fn other_firewall(a: &Audit<'_>) -> Option<&'static str> {
    let on = |name: &str| {
        a.sys
            .services
            .force()
            .find(name)
            .is_some_and(|s| s.enabled || s.active == Some(true))
    };
    let ufw = a
        .root()
        .read_text("/etc/ufw/ufw.conf")
        .ok()
        .flatten()
        .is_some_and(|t| {
            t.lines()
                .any(|l| l.trim().eq_ignore_ascii_case("ENABLED=yes"))
        });
    if ufw {
        Some("ufw")
    } else if on("firewalld") {
        Some("firewalld")
    } else if on("nftables") {
        Some("nftables")
    } else {
        None
    }
}

fn is_loopback(addr: &str) -> bool {
    addr.parse::<std::net::IpAddr>()
        .is_ok_and(|ip| ip.is_loopback())
        || addr.eq_ignore_ascii_case("localhost")
}

fn ami(a: &mut Audit<'_>) {
    let path = "/etc/asterisk/manager.conf";
    let Ok(Some(b)) = a.root().read(path) else {
        return;
    };
    let ini = IniFile::parse(&b);
    let enabled = ini.get("general", "enabled").is_some_and(|(v, _)| {
        matches!(v.to_ascii_lowercase().as_str(), "yes" | "true" | "1" | "on")
    });
    if !enabled {
        return;
    }
    let (bind, bind_line) = ini
        .get("general", "bindaddr")
        .map(|(v, l)| (v.to_string(), Some(l + 1)))
        .unwrap_or_else(|| {
            (
                "0.0.0.0".into(),
                ini.get("general", "enabled").map(|(_, l)| l + 1),
            )
        });
    let port = ini
        .get("general", "port")
        .map(|(v, _)| v.to_string())
        .unwrap_or_else(|| "5038".into());
    if !is_loopback(&bind) {
        let everywhere = matches!(bind.as_str(), "0.0.0.0" | "::" | "[::]");
        let private = bind
            .parse::<std::net::Ipv4Addr>()
            .is_ok_and(|ip| ip.is_private());
        let (sev, where_) = if everywhere {
            (Severity::High, "every address".to_string())
        } else if private {
            (Severity::Medium, format!("the LAN address {bind}"))
        } else {
            (Severity::High, format!("the public address {bind}"))
        };
        a.add(
            "ami.public",
            sev,
            None,
            format!("the Asterisk Manager Interface listens on {where_}, port {port}"),
            Some((path.into(), bind_line)),
            WHY_AMI,
            Some("asterisk.ami_localhost"),
            format!(
                "[asterisk] ami_localhost = true (bindaddr = 127.0.0.1 in [general] of {path}); \
                 keep {port} closed in the firewall"
            ),
        );
    }
    let freepbx = a.root().exists("/etc/freepbx.conf") || a.root().exists("/etc/amportal.conf");
    for (s, k, v, line) in ini.entries() {
        let Some(user) = s else { continue };
        if user.eq_ignore_ascii_case("general") || !k.eq_ignore_ascii_case("secret") {
            continue;
        }
        let reasons = asterisk::weak::assess(v, &[("user name", user)]);
        if reasons.is_empty() {
            continue;
        }
        let mut f = Finding {
            id: "ami.weak_secret".into(),
            severity: Severity::Medium,
            subject: Some(format!("AMI user {user}")),
            title: format!(
                "AMI user {user} has a weak secret: {}",
                asterisk::weak::describe(&reasons)
            ),
            file: Some(path.into()),
            line: Some(line + 1),
            why: WHY_AMI_SECRET.into(),
            answers_key: (!freepbx).then(|| "asterisk.ami_localhost".to_string()),
            fix: if freepbx {
                "set a long random secret in FreePBX (AMPMGRPASS: Settings -> Advanced \
                 Settings, or /etc/amportal.conf on older releases), then restart FreePBX"
                    .into()
            } else {
                "[asterisk] ami_localhost = true (a random secret, written to a root-only \
                 report for the tools that log in to AMI)"
                    .into()
            },
            reasons: reasons.iter().map(|r| r.code().to_string()).collect(),
        };
        if reasons.iter().any(|r| matches!(r, Reason::CommonPassword)) {
            f.severity = Severity::High;
        }
        a.findings.push(f);
    }
}

/// chan_sip's guests (sip.conf's [general] and what it #includes there: FreePBX's
/// sip_general_*.conf), and PJSIP's anonymous endpoint.
fn sip_guests(a: &mut Audit<'_>) {
    let dir = "/etc/asterisk";
    let root = a.root().clone();
    let read = |p: &str| root.read(p).ok().flatten();
    if let Some(sip) = read("/etc/asterisk/sip.conf") {
        // The last value in [general] wins; #include lines inside [general] count there.
        let mut allowguest: Option<String> = None;
        let mut reject: Option<String> = None;
        let mut in_general = false;
        let text = String::from_utf8_lossy(&sip).into_owned();
        for line in text.lines() {
            let t = line.trim();
            if let Some(name) = t.strip_prefix('[') {
                in_general = name
                    .split(']')
                    .next()
                    .is_some_and(|n| n.eq_ignore_ascii_case("general"));
                continue;
            }
            if !in_general {
                continue;
            }
            let included = t
                .strip_prefix("#include")
                .map(|f| f.trim().trim_matches('"').to_string());
            let body = match included {
                Some(f) => {
                    let p = if f.starts_with('/') {
                        f
                    } else {
                        format!("{dir}/{f}")
                    };
                    read(&p)
                        .map(|b| String::from_utf8_lossy(&b).into_owned())
                        .unwrap_or_default()
                }
                None => line.to_string(),
            };
            for l in body.lines() {
                let l = l.split(';').next().unwrap_or("");
                if let Some((k, v)) = l.split_once('=') {
                    let (k, v) = (
                        k.trim().trim_end_matches('>'),
                        v.trim().trim_start_matches('>'),
                    );
                    if k.eq_ignore_ascii_case("allowguest") {
                        allowguest = Some(v.to_ascii_lowercase());
                    } else if k.eq_ignore_ascii_case("alwaysauthreject") {
                        reject = Some(v.to_ascii_lowercase());
                    }
                }
            }
        }
        let no = |v: &Option<String>| {
            v.as_deref()
                .is_some_and(|v| matches!(v, "no" | "false" | "0" | "off"))
        };
        let yes = |v: &Option<String>| {
            v.as_deref()
                .is_some_and(|v| matches!(v, "yes" | "true" | "1" | "on"))
        };
        if !no(&allowguest) || !yes(&reject) {
            a.add(
                "sip.guests",
                if no(&allowguest) {
                    Severity::Low
                } else {
                    Severity::Medium
                },
                None,
                if no(&allowguest) {
                    "chan_sip tells scanners which extensions exist (alwaysauthreject is off)"
                        .into()
                } else {
                    "chan_sip accepts calls from unknown callers (allowguest is not no)".into()
                },
                Some(("/etc/asterisk/sip.conf".into(), None)),
                WHY_SIP_GUESTS,
                Some("asterisk.sip_guests"),
                "[asterisk] sip_guests = false (allowguest = no, alwaysauthreject = yes)".into(),
            );
        }
    }
    for n in root.list_dir(dir).unwrap_or_default() {
        if !(n.starts_with("pjsip") && n.ends_with(".conf")) {
            continue;
        }
        let p = format!("{dir}/{n}");
        let Some(b) = read(&p) else { continue };
        let ini = IniFile::parse(&b);
        let anon = ini.entries().into_iter().find(|(s, k, v, _)| {
            s.is_some_and(|s| s.eq_ignore_ascii_case("anonymous"))
                && k.eq_ignore_ascii_case("type")
                && v.eq_ignore_ascii_case("endpoint")
        });
        if let Some((_, _, _, line)) = anon {
            a.add(
                "pjsip.anonymous",
                Severity::High,
                None,
                "the PJSIP endpoint anonymous accepts calls from anyone".into(),
                Some((p.clone(), Some(line + 1))),
                WHY_PJSIP_ANON,
                Some("asterisk.sip_guests"),
                "remove the anonymous endpoint (FreePBX: Settings -> Asterisk SIP Settings -> \
                 Allow Anonymous Inbound SIP Calls = No)"
                    .into(),
            );
        }
    }
}

fn secrets(a: &mut Audit<'_>) {
    let scan = a.sys.extensions.force();
    for e in &scan.errors {
        a.not_checked.push(format!("Asterisk: {e}"));
    }
    let mut out = Vec::new();
    for (p, problem) in scan.problems() {
        let generated = scan.is_generated(p.secret.as_ref().map_or(&p.file, |s| &s.file));
        let at = match &p.secret {
            Some(s) => (s.file.clone(), Some(s.line + 1)),
            None => (p.file.clone(), Some(p.line + 1)),
        };
        let f = match problem {
            Problem::Weak { reasons } => {
                let first_tried = reasons.iter().any(|r| {
                    matches!(
                        r,
                        Reason::SameAsName(_) | Reason::AllDigits | Reason::CommonPassword
                    )
                });
                let manual = asterisk::manual_fix(scan, p);
                Finding {
                    id: "secret.weak".into(),
                    severity: if first_tried {
                        Severity::High
                    } else {
                        Severity::Medium
                    },
                    subject: Some(p.describe()),
                    title: format!(
                        "{} has a weak secret: {}",
                        p.describe(),
                        asterisk::weak::describe(reasons)
                    ),
                    file: Some(at.0),
                    line: at.1,
                    why: WHY_SECRET.into(),
                    answers_key: manual.is_none().then(|| "extensions.rotate_weak".into()),
                    fix: manual.unwrap_or_else(|| {
                        "[extensions] rotate_weak = true (new secrets go to a root-only report \
                         for re-provisioning the phones)"
                            .into()
                    }),
                    reasons: reasons.iter().map(|r| r.code().to_string()).collect(),
                }
            }
            Problem::NoSecret => Finding {
                id: "secret.none".into(),
                severity: Severity::High,
                subject: Some(p.describe()),
                title: format!("{} accepts registrations without a secret", p.describe()),
                file: Some(at.0),
                line: at.1,
                why: WHY_NO_SECRET.into(),
                answers_key: None,
                fix: if generated {
                    format!(
                        "set a secret for extension {} in the FreePBX web interface, then Apply \
                         Config",
                        p.extension
                    )
                } else {
                    format!(
                        "give [{}] a long random secret (PJSIP: an auth= section) in {}",
                        p.name, p.file
                    )
                },
                reasons: Vec::new(),
            },
            Problem::OpenIax { context } => Finding {
                id: "iax.open_user".into(),
                severity: Severity::High,
                subject: Some(p.describe()),
                title: format!(
                    "{} takes IAX calls with no secret from any address{}",
                    p.describe(),
                    context
                        .as_ref()
                        .map(|c| format!(" (into context {c})"))
                        .unwrap_or_default()
                ),
                file: Some(at.0),
                line: at.1,
                why: WHY_OPEN_IAX.into(),
                answers_key: None,
                fix: format!(
                    "remove [{}] from {}, or add deny=0.0.0.0/0.0.0.0 and a permit= for each \
                     server that may call",
                    p.name, p.file
                ),
                reasons: Vec::new(),
            },
        };
        out.push(f);
    }
    a.findings.extend(out);
}

fn services(a: &mut Audit<'_>) {
    let inv = a.sys.services.force();
    for n in &inv.notes {
        a.not_checked.push(format!("services: {n}"));
    }
    let mut out = Vec::new();
    for (s, e) in inv.unneeded() {
        let state = match (s.enabled, s.active) {
            (true, Some(true)) => "enabled and running",
            (true, _) => "enabled at boot",
            (false, _) => "running",
        };
        out.push(Finding {
            id: "service.unneeded".into(),
            severity: Severity::Medium,
            subject: Some(s.name.clone()),
            title: format!("{} is {state}: {}", s.name, e.reason),
            file: s.evidence.clone(),
            line: None,
            why: if e.from_seed() {
                format!("{WHY_SERVICE}; the seed turns {} off", s.name)
            } else {
                WHY_SERVICE.to_string()
            },
            answers_key: Some("services.disable".into()),
            fix: format!("[services] disable = [\"{}\"]", s.name),
            reasons: Vec::new(),
        });
    }
    a.findings.extend(out);
}
