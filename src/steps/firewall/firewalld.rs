//! firewalld: the permanent configuration, edited the way `firewall-offline-cmd` would
//! change it but line by line (every line pbx-harden does not change stays byte for byte):
//!
//! - the default zone (`DefaultZone` of firewalld.conf; its file under /etc/firewalld/zones,
//!   started from firewalld's own copy in /usr/lib/firewalld/zones when there is none yet):
//!   `<port>` elements for the SSH port and the answers' ports (ports the answers leave out
//!   go, when they list ports), the `ssh` service (22) removed after a move, a rich rule that
//!   lets the admin's own address reach the SSH port, rich rules for APF-style advanced
//!   entries;
//! - trusted hosts as `<source>`s of the `trusted` zone, blocked hosts of the `drop` zone,
//!   each host's comment as an XML comment on the line above its source (firewalld has no
//!   comment field there; its parser skips comments; `firewall-cmd --permanent` drops them
//!   when it rewrites a zone); `firewall.remove` takes a source out with its comment.
//!
//! `previous_ports` / `previous_hosts` read back what the zones hold now: the wizard's Ports
//! and Hosts screens start from them, so a rerun changes nothing.
//!
//! firewalld's rich-rule `limit` counts all sources together, so the per-source SIP rate
//! limit of the nftables backend is not offered here. The result is judged by the real
//! `firewall-offline-cmd --check-config` in a mount namespace over a copy of /etc/firewalld.
//!
//! On the live system apply runs `firewall-cmd --reload` before sshd moves (when firewalld
//! runs), then opens the old SSH port in the runtime configuration only, until confirm
//! removes it from there (no reload: that would drop fail2ban's runtime bans); rollback
//! restores the files and reloads.

use crate::config::trust::{Advanced, Entry, Flow, Host};
use crate::exec::argv;
use crate::model::actions::CommandAction;
use crate::model::{Action, Builder, CheckStatus, ConfirmStep};
use crate::steps::firewall::answers::Answers;
use crate::steps::firewall::ports::{PortRange, human_list};
use crate::steps::firewall::{Ctx, HostItem, Spec, hosts_line};

pub const CONF: &str = "/etc/firewalld/firewalld.conf";
pub const ZONES: &str = "/etc/firewalld/zones";
pub const STOCK_ZONES: &str = "/usr/lib/firewalld/zones";
const WHY: &str = "firewalld (permanent configuration)";

/// A zone file as lines (each with its own line ending), edited in place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Zone {
    lines: Vec<String>,
}

/// The attributes of a one-line element such as `<port port="22" protocol="tcp"/>`.
/// A hand-written `<source address="x"></source>` (an empty element) counts the same.
fn element(line: &str) -> Option<(String, Vec<(String, String)>)> {
    let t = line.trim();
    let body = match t.strip_suffix("/>") {
        Some(b) => b.strip_prefix('<')?,
        None => {
            let (open, close) = t.strip_prefix('<')?.split_once('>')?;
            let tag = open.split_whitespace().next()?;
            (close == format!("</{tag}>")).then_some(open)?
        }
    };
    let mut parts = body.splitn(2, char::is_whitespace);
    let tag = parts.next()?.to_string();
    let mut attrs = Vec::new();
    let mut rest = parts.next().unwrap_or("").trim();
    while let Some((k, v)) = rest.split_once('=') {
        let v = v.trim_start();
        let q = v.chars().next()?;
        if q != '"' && q != '\'' {
            return None;
        }
        let end = v[1..].find(q)? + 1;
        attrs.push((k.trim().to_string(), v[1..end].to_string()));
        rest = v[end + 1..].trim();
    }
    Some((tag, attrs))
}

fn attr<'a>(attrs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    attrs
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

/// The text of an XML comment line `<!-- text -->` (where pbx-harden keeps a host's
/// comment: on the line above its `<source>`).
fn comment_line(line: &str) -> Option<String> {
    let c = line.trim().strip_prefix("<!--")?.strip_suffix("-->")?;
    (!c.contains("--")).then(|| c.trim().to_string())
}

/// Can `c` go into an XML comment? (It may not hold `--`.)
pub fn comment_ok(c: &str) -> bool {
    !c.contains("--")
}

impl Zone {
    pub fn parse(bytes: &[u8]) -> Zone {
        let text = String::from_utf8_lossy(bytes);
        Zone {
            lines: text.split_inclusive('\n').map(str::to_string).collect(),
        }
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        self.lines.concat().into_bytes()
    }

    /// Is `l` a line of the zone's own (outside rich rules)?
    fn has_line(&self, l: &str) -> bool {
        let inner = self.in_rules();
        self.lines
            .iter()
            .enumerate()
            .any(|(i, x)| !inner[i] && x.trim() == l)
    }

    /// Which lines belong to a rich rule written over several lines (as firewalld writes
    /// them): their `<source>` and `<port>` are the rule's, not the zone's.
    fn in_rules(&self) -> Vec<bool> {
        let mut v = vec![false; self.lines.len()];
        for (a, b, _) in self.rules() {
            for x in &mut v[a..=b] {
                *x = true;
            }
        }
        v
    }

    /// The zone's own one-line elements (never those inside a rich rule): (line, tag,
    /// attributes).
    #[allow(clippy::type_complexity)]
    fn elements(&self) -> Vec<(usize, String, Vec<(String, String)>)> {
        let inner = self.in_rules();
        self.lines
            .iter()
            .enumerate()
            .filter(|(i, _)| !inner[*i])
            .filter_map(|(i, l)| element(l).map(|(t, a)| (i, t, a)))
            .collect()
    }

    /// Insert `l` before `</zone>` (indented as firewalld writes), unless it is there.
    fn add(&mut self, l: &str) -> bool {
        if self.has_line(l) {
            return false;
        }
        let at = self
            .lines
            .iter()
            .rposition(|x| x.trim() == "</zone>")
            .unwrap_or(self.lines.len());
        let eol = if self.lines.iter().any(|x| x.ends_with("\r\n")) {
            "\r\n"
        } else {
            "\n"
        };
        self.lines.insert(at, format!("  {l}{eol}"));
        true
    }

    /// The rich rules, each as (first line, last line, the rule on one line): pbx-harden
    /// writes a rule on one line, firewalld (`firewall-cmd --permanent`,
    /// `firewall-offline-cmd`) rewrites it with one element per line; both are the same rule.
    fn rules(&self) -> Vec<(usize, usize, String)> {
        let mut out = Vec::new();
        let mut i = 0;
        while i < self.lines.len() {
            if !self.lines[i].trim_start().starts_with("<rule") {
                i += 1;
                continue;
            }
            let start = i;
            let mut one = String::new();
            while i < self.lines.len() {
                one.push_str(self.lines[i].trim());
                i += 1;
                if one.ends_with("</rule>") {
                    break;
                }
            }
            out.push((start, i - 1, one));
        }
        out
    }

    /// Add a rich rule (on one line) unless the zone has it, in whatever layout.
    fn add_rule(&mut self, rule: &str) -> bool {
        if self.rules().iter().any(|(_, _, r)| r == rule) {
            return false;
        }
        self.add(rule)
    }

    /// Remove a rich rule, in whatever layout; true when it was there.
    fn remove_rule(&mut self, rule: &str) -> bool {
        let spans: Vec<(usize, usize)> = self
            .rules()
            .into_iter()
            .filter(|(_, _, r)| r == rule)
            .map(|(a, b, _)| (a, b))
            .collect();
        for (a, b) in spans.iter().rev() {
            self.lines.drain(*a..=*b);
        }
        !spans.is_empty()
    }

    /// Remove every one-line element of the zone's own for which `f` is true; returns what
    /// was removed.
    fn remove_where(&mut self, f: impl Fn(&str, &[(String, String)]) -> bool) -> Vec<String> {
        let hits: Vec<usize> = self
            .elements()
            .into_iter()
            .filter(|(_, tag, attrs)| f(tag, attrs))
            .map(|(i, _, _)| i)
            .collect();
        let out = hits
            .iter()
            .map(|i| self.lines[*i].trim().to_string())
            .collect();
        for i in hits.into_iter().rev() {
            self.lines.remove(i);
        }
        out
    }

    /// The zone's `<port>` elements: (port range, protocol).
    pub fn ports(&self) -> Vec<(PortRange, String)> {
        self.elements()
            .into_iter()
            .filter_map(|(_, tag, attrs)| {
                if tag != "port" {
                    return None;
                }
                let p = attr(&attrs, "port")?;
                let proto = attr(&attrs, "protocol")?.to_string();
                let r = match p.split_once('-') {
                    Some((a, b)) => PortRange {
                        lo: a.parse().ok()?,
                        hi: b.parse().ok()?,
                    },
                    None => PortRange::one(p.parse().ok()?),
                };
                Some((r, proto))
            })
            .collect()
    }

    /// The values of `key` of the zone's own `tag` elements.
    fn values(&self, tag: &str, key: &str) -> Vec<(usize, String)> {
        self.elements()
            .into_iter()
            .filter(|(_, t, _)| t == tag)
            .filter_map(|(i, _, attrs)| attr(&attrs, key).map(|v| (i, v.to_string())))
            .collect()
    }

    pub fn services(&self) -> Vec<String> {
        self.values("service", "name")
            .into_iter()
            .map(|(_, v)| v)
            .collect()
    }

    pub fn sources(&self) -> Vec<String> {
        self.values("source", "address")
            .into_iter()
            .map(|(_, v)| v)
            .collect()
    }

    pub fn text(&self) -> String {
        self.lines.concat()
    }

    fn eol(&self) -> &'static str {
        if self.lines.iter().any(|x| x.ends_with("\r\n")) {
            "\r\n"
        } else {
            "\n"
        }
    }

    /// The `<source address=…>` elements with the comment on the line above each (an XML
    /// comment, as pbx-harden writes a host's comment), in file order. Sources by `ipset=`
    /// or `mac=` are not hosts and are left out (and left alone).
    pub fn sources_with_comments(&self) -> Vec<(String, Option<String>)> {
        self.values("source", "address")
            .into_iter()
            .map(|(i, a)| {
                let c = i
                    .checked_sub(1)
                    .and_then(|j| comment_line(&self.lines[j]))
                    .filter(|c| !c.is_empty());
                (a, c)
            })
            .collect()
    }

    fn source_at(&self, address: &str) -> Option<usize> {
        self.values("source", "address")
            .into_iter()
            .find(|(_, a)| a == address)
            .map(|(i, _)| i)
    }

    /// A source with its comment: added before `</zone>` (the comment on the line above)
    /// when it is not there; when it is, its comment put in or replaced in place (None
    /// keeps the comment there). True when the file changed.
    fn set_source(&mut self, address: &str, comment: Option<&str>) -> bool {
        let eol = self.eol();
        let comment = comment.map(str::trim).filter(|c| !c.is_empty());
        let Some(i) = self.source_at(address) else {
            let at = self
                .lines
                .iter()
                .rposition(|x| x.trim() == "</zone>")
                .unwrap_or(self.lines.len());
            let mut add = Vec::new();
            if let Some(c) = comment {
                add.push(format!("  <!-- {c} -->{eol}"));
            }
            add.push(format!("  <source address=\"{address}\"/>{eol}"));
            self.lines.splice(at..at, add);
            return true;
        };
        let Some(c) = comment else {
            return false;
        };
        let indent: String = self.lines[i]
            .chars()
            .take_while(|c| c.is_whitespace())
            .collect();
        let line = format!("{indent}<!-- {c} -->{eol}");
        match i
            .checked_sub(1)
            .filter(|j| comment_line(&self.lines[*j]).is_some())
        {
            Some(j) if comment_line(&self.lines[j]).as_deref() == Some(c) => false,
            Some(j) => {
                self.lines[j] = line;
                true
            }
            None => {
                self.lines.insert(i, line);
                true
            }
        }
    }

    /// Remove the sources `f` says (with the comment line above each); returns them.
    fn remove_sources(&mut self, f: impl Fn(&str) -> bool) -> Vec<String> {
        let hits: Vec<(usize, String)> = self
            .values("source", "address")
            .into_iter()
            .filter(|(_, a)| f(a))
            .collect();
        for (i, _) in hits.iter().rev() {
            let start = match i.checked_sub(1) {
                Some(j) if comment_line(&self.lines[j]).is_some() => j,
                _ => *i,
            };
            self.lines.drain(start..=*i);
        }
        hits.into_iter().map(|(_, a)| a).collect()
    }
}

/// The trusted and blocked hosts as firewalld holds them: the sources of the `trusted` and
/// `drop` zones (their files under /etc/firewalld/zones), each with the comment on the line
/// above it: (address, blocked, comment). What the wizard's Hosts screen starts from.
pub fn previous_hosts(root: &crate::root::Root) -> Vec<(String, bool, Option<String>)> {
    let mut out = Vec::new();
    for (zone, blocked) in [("trusted", false), ("drop", true)] {
        let Ok(Some(bytes)) = root.read(&format!("{ZONES}/{zone}.xml")) else {
            continue;
        };
        for (a, c) in Zone::parse(&bytes).sources_with_comments() {
            out.push((a, blocked, c));
        }
    }
    out
}

/// The ports the default zone opens now (its `<port>` elements; services are left alone
/// and not counted): what the wizard's Ports screen starts from.
pub fn previous_ports(root: &crate::root::Root) -> Vec<(PortRange, String)> {
    let zone = default_zone(root);
    [ZONES, STOCK_ZONES]
        .iter()
        .find_map(|d| root.read(&format!("{d}/{zone}.xml")).ok().flatten())
        .map(|b| Zone::parse(&b).ports())
        .unwrap_or_default()
}

fn port_line(r: &PortRange, proto: &str) -> String {
    format!("<port port=\"{r}\" protocol=\"{proto}\"/>")
}

fn addr(h: &Host) -> Option<String> {
    match h {
        Host::Ip(ip) => Some(ip.to_string()),
        Host::Net(ip, len) => Some(format!("{ip}/{len}")),
        Host::Fqdn(_) => None,
    }
}

fn family(h: &Host) -> &'static str {
    if h.is_v6() { "ipv6" } else { "ipv4" }
}

fn rich(h: &Host, ports: Option<(&str, &str)>, verdict: &str) -> Option<String> {
    let a = addr(h)?;
    let p = ports
        .map(|(port, proto)| format!("<port port=\"{port}\" protocol=\"{proto}\"/>"))
        .unwrap_or_default();
    Some(format!(
        "<rule family=\"{}\"><source address=\"{a}\"/>{p}<{verdict}/></rule>",
        family(h)
    ))
}

fn advanced_rules(a: &Advanced, verdict: &str) -> Vec<String> {
    let ports = if a.ports.0 == a.ports.1 {
        a.ports.0.to_string()
    } else {
        format!("{}-{}", a.ports.0, a.ports.1)
    };
    let protos: Vec<&str> = match a.proto.as_deref() {
        Some(p) => vec![p],
        None => vec!["tcp", "udp"],
    };
    protos
        .into_iter()
        .filter_map(|p| rich(&a.host, Some((&ports, p)), verdict))
        .collect()
}

/// Where firewalld keeps what it loads on this root.
#[derive(Debug, Clone)]
pub struct Setup {
    pub zone: String,
    /// The zone file under /etc/firewalld/zones and what it holds now (or firewalld's stock
    /// copy when there is none yet).
    pub zone_file: String,
    pub zone_before: Vec<u8>,
}

fn zone_source(b: &Builder<'_>, name: &str) -> Result<(String, Vec<u8>), String> {
    let path = format!("{ZONES}/{name}.xml");
    if let Ok(Some(z)) = b.current(&path) {
        return Ok((path, z));
    }
    match b.sys.root.read(&format!("{STOCK_ZONES}/{name}.xml")) {
        Ok(Some(z)) => Ok((path, z)),
        _ => Err(format!(
            "zone {name}: neither {path} nor {STOCK_ZONES}/{name}.xml is there"
        )),
    }
}

/// The zone pbx-harden edits: `DefaultZone` of firewalld.conf, `public` when unset.
pub fn default_zone(root: &crate::root::Root) -> String {
    root.read_text(CONF)
        .ok()
        .flatten()
        .and_then(|t| {
            t.lines().find_map(|l| {
                l.trim()
                    .strip_prefix("DefaultZone=")
                    .map(|v| v.trim().to_string())
            })
        })
        .filter(|z| !z.is_empty())
        .unwrap_or_else(|| "public".into())
}

pub fn setup(b: &Builder<'_>) -> Result<Setup, String> {
    let root = &b.sys.root;
    if !root.exists(CONF) && !root.exists("/usr/lib/firewalld") {
        return Err(format!(
            "firewalld is not installed here (no {CONF}); install it first, or use \"nftables\""
        ));
    }
    let zone = default_zone(root);
    if !zone
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "-_".contains(c))
    {
        return Err(format!("DefaultZone={zone} in {CONF} is not a zone name"));
    }
    let (zone_file, zone_before) = zone_source(b, &zone)?;
    Ok(Setup {
        zone,
        zone_file,
        zone_before,
    })
}

/// Check a changed /etc/firewalld with the real `firewall-offline-cmd --check-config`, in a
/// mount namespace where a temporary copy (with the changes) is bound over /etc/firewalld.
pub fn offline_check(sys: &crate::host::Host, changes: &[(String, Vec<u8>)]) -> CheckStatus {
    let root = &sys.root;
    let find = crate::host::find_program;
    if find("firewall-offline-cmd").is_none() {
        return CheckStatus::Skipped("firewall-offline-cmd is not installed on this host".into());
    }
    if find("unshare").is_none() || !nix::unistd::geteuid().is_root() {
        return CheckStatus::Skipped(
            "the check needs root and unshare (a mount namespace over /etc/firewalld)".into(),
        );
    }
    let dir = match super::nftables::tempdir() {
        Ok(d) => d,
        Err(e) => return CheckStatus::Skipped(format!("no temporary directory: {e}")),
    };
    let copy = || -> std::io::Result<()> {
        std::fs::create_dir_all(dir.join("zones"))?;
        let src = root.host("/etc/firewalld");
        if src.is_dir() {
            let o = std::process::Command::new("cp")
                .arg("-a")
                .arg(src.join("."))
                .arg(&dir)
                .status()?;
            if !o.success() {
                return Err(std::io::Error::other("cp -a failed"));
            }
        }
        for (path, bytes) in changes {
            let rel = path.trim_start_matches("/etc/firewalld/");
            let p = dir.join(rel);
            if let Some(parent) = p.parent() {
                std::fs::create_dir_all(parent)?;
            }
            std::fs::write(p, bytes)?;
        }
        Ok(())
    };
    if let Err(e) = copy() {
        let _ = std::fs::remove_dir_all(&dir);
        return CheckStatus::Skipped(format!("no temporary copy of /etc/firewalld: {e}"));
    }
    let out = sys.runner.run(
        &argv(&[
            "unshare",
            "-m",
            "sh",
            "-c",
            "mount --bind \"$1\" /etc/firewalld && firewall-offline-cmd --check-config",
            "sh",
            &dir.display().to_string(),
        ]),
        None,
    );
    let _ = std::fs::remove_dir_all(&dir);
    match out {
        Ok(o) if o.ok() => {
            CheckStatus::Pass("firewall-offline-cmd --check-config accepts it".into())
        }
        Ok(o) => CheckStatus::Fail(format!(
            "firewall-offline-cmd --check-config: {}",
            format!("{}{}", o.stdout, o.stderr)
                .trim()
                .lines()
                .take(4)
                .collect::<Vec<_>>()
                .join(" | ")
        )),
        Err(e) => CheckStatus::Skipped(format!("firewall-offline-cmd could not run: {e}")),
    }
}

/// Only when firewalld runs: `firewall-cmd ARGS`.
fn if_running(args: &str) -> Vec<String> {
    argv(&[
        "sh",
        "-c",
        &format!("firewall-cmd --state >/dev/null 2>&1 || exit 0; firewall-cmd {args}"),
    ])
}

/// `firewall-cmd --reload` (when firewalld runs), then, when fail2ban runs, `fail2ban-client
/// reload --restart`: the reload drops fail2ban's bans (runtime rich rules) while fail2ban
/// still counts them, and its jails' restart bans them again from its database. Seen live:
/// a second apply that only opened a port lifted every ban.
fn reload_keeping_bans() -> Vec<String> {
    argv(&[
        "sh",
        "-c",
        "firewall-cmd --state >/dev/null 2>&1 || exit 0; firewall-cmd --reload || exit 1; \
         if fail2ban-client ping >/dev/null 2>&1; then fail2ban-client reload --restart \
         >/dev/null || exit 1; fi",
    ])
}

fn cmd(argv: Vec<String>, undo: Vec<Vec<String>>, state: bool) -> Action {
    Action::Command(CommandAction {
        argv,
        undo,
        touches: Vec::new(),
        changes_state: state,
    })
}

/// The live commands: reload the permanent configuration before sshd moves (rollback
/// reloads the restored files), and the old SSH port(s) open in the runtime configuration
/// until confirm takes them out of it again. Confirm does not reload: a reload drops every
/// runtime-only rule, and fail2ban's firewalld actions ban with runtime rich rules (a reload
/// at confirm lifted every ban while fail2ban still counted them as banned). Where apply and
/// rollback must reload, a running fail2ban restarts its jails right after (`reload_keeping_bans`).
pub fn live_steps(zone: &str, window: &[u16]) -> (Vec<Action>, Vec<ConfirmStep>) {
    let mut actions = vec![cmd(
        reload_keeping_bans(),
        vec![reload_keeping_bans()],
        true,
    )];
    let mut confirm = Vec::new();
    if !window.is_empty() {
        let ports = |verb: &str| -> String {
            window
                .iter()
                .map(|p| format!("--{verb}-port={p}/tcp"))
                .collect::<Vec<_>>()
                .join(" ")
        };
        actions.push(cmd(
            if_running(&format!("--zone={zone} {}", ports("add"))),
            Vec::new(),
            true,
        ));
        confirm.push(ConfirmStep::Run {
            argv: if_running(&format!("--zone={zone} {}", ports("remove"))),
        });
    }
    (actions, confirm)
}

pub(crate) fn refuse_names(b: &mut Builder<'_>, key: &str, items: &[HostItem]) -> Vec<HostItem> {
    let mut out = Vec::new();
    for i in items {
        let out_only = matches!(&i.entry, Entry::Advanced(a) if a.direction.as_deref() == Some("out") || a.host_flow == Flow::Dest);
        if let Host::Fqdn(n) = i.entry.host() {
            b.error(
                key,
                format!(
                    "{}: {n} is a name; firewalld zones take addresses and networks only",
                    i.text
                ),
            );
        } else if out_only {
            b.error(
                key,
                format!(
                    "{}: firewalld filters incoming connections by their source; outbound or \
                     destination entries are not expressed",
                    i.text
                ),
            );
        } else if i.comment.as_deref().is_some_and(|c| !comment_ok(c)) {
            b.error(
                key,
                format!(
                    "{}: a comment with \"--\" can not be kept in firewalld's zone file (an XML \
                     comment can not hold it)",
                    i.text
                ),
            );
        } else {
            out.push(i.clone());
        }
    }
    out
}

/// `firewall.remove`: an address or network leaves the trusted and drop zones (with its
/// comment), an advanced entry's rich rules leave the default zone.
fn removal(text: &str) -> Option<(Option<String>, Vec<String>)> {
    use crate::config::trust::{TrustFormat, parse_entry};
    match parse_entry(text, TrustFormat::Apf2).ok()? {
        Entry::Plain(h) => Some((addr(&h), Vec::new())),
        Entry::Advanced(a) => {
            let mut rules = advanced_rules(&a, "accept");
            rules.extend(advanced_rules(&a, "drop"));
            Some((None, rules))
        }
    }
}

pub fn plan(b: &mut Builder<'_>, answers: &Answers, ctx: &Ctx, spec: &Spec) {
    let sys = b.sys;
    let setup = match setup(b) {
        Ok(s) => s,
        Err(e) => {
            b.error("firewall.backend", format!("\"firewalld\": {e}"));
            return;
        }
    };
    let _ = answers;
    if setup.zone == "trusted" || setup.zone == "drop" || setup.zone == "block" {
        b.error(
            "firewall.backend",
            format!(
                "\"firewalld\": the default zone is {}: pbx-harden opens ports in a zone that \
                 filters (public, external, ...); set DefaultZone in {CONF} first",
                setup.zone
            ),
        );
        return;
    }
    let trusted_items = refuse_names(b, "firewall.trusted", &spec.trusted);
    let blocked_items = refuse_names(b, "firewall.blocked", &spec.blocked);
    if b.has_errors_for("firewall") {
        return;
    }
    let live = sys.root.is_live();
    let mut zone = Zone::parse(&setup.zone_before);
    let have = zone.ports();
    // The ports: the answers' lists (complete) or what the zone opens now, with the SSH port.
    let (tcp, udp) = super::inbound_lists(spec, ctx, &have);
    let old = ctx.ports_left();
    let keep = |r: &PortRange, proto: &str| {
        let list = if proto == "tcp" { &tcp } else { &udp };
        list.contains(r)
    };
    let removed = zone.remove_where(|tag, attrs| {
        if tag != "port" {
            return false;
        }
        let proto = attr(attrs, "protocol").unwrap_or("");
        let Some(p) = attr(attrs, "port") else {
            return false;
        };
        let r = match p.split_once('-') {
            Some((a, c)) => a
                .parse()
                .ok()
                .zip(c.parse().ok())
                .map(|(lo, hi)| PortRange { lo, hi }),
            None => p.parse().ok().map(PortRange::one),
        };
        r.is_some_and(|r| (proto == "tcp" || proto == "udp") && !keep(&r, proto))
    });
    // A port already there counts however it is written (attributes the other way round,
    // an empty element): never a second element for it.
    for (list, proto) in [(&tcp, "tcp"), (&udp, "udp")] {
        for r in list {
            if !zone.ports().contains(&(*r, proto.to_string())) {
                zone.add(&port_line(r, proto));
            }
        }
    }
    // After a move the ssh service (22) goes from the file; live, 22 stays open at runtime
    // until confirm.
    let mut ssh_service_removed = false;
    if old.contains(&22) {
        ssh_service_removed = !zone
            .remove_where(|tag, attrs| tag == "service" && attr(attrs, "name") == Some("ssh"))
            .is_empty();
    }
    if let Some(a) = ctx.remote_admin() {
        let ssh: Vec<String> = ctx.ssh_ports.iter().map(u16::to_string).collect();
        for p in &ssh {
            if let Some(r) = rich(&Host::Ip(a), Some((p, "tcp")), "accept") {
                zone.add_rule(&r);
            }
        }
    }
    for t in &trusted_items {
        if let Entry::Advanced(a) = &t.entry {
            for r in advanced_rules(a, "accept") {
                zone.add_rule(&r);
            }
        }
    }
    for x in &blocked_items {
        if let Entry::Advanced(a) = &x.entry {
            for r in advanced_rules(a, "drop") {
                zone.add_rule(&r);
            }
        }
    }
    // Entries taken out: an advanced entry's rich rules here, a host's source below.
    let mut gone: Vec<String> = Vec::new();
    let mut remove_sources: Vec<String> = Vec::new();
    for r in &spec.remove {
        match removal(r) {
            Some((src, rules)) => {
                remove_sources.extend(src);
                for rule in rules {
                    if zone.remove_rule(&rule) && !gone.contains(r) {
                        gone.push(r.clone());
                    }
                }
            }
            None => b.warn(
                "firewall.remove",
                format!("{r}: not an address, a network or an advanced entry firewalld holds"),
            ),
        }
    }
    let others: Vec<String> = zone
        .services()
        .into_iter()
        .filter(|s| s != "ssh" || !old.contains(&22))
        .collect();
    if !others.is_empty() && spec.tcp.is_some() {
        b.warn(
            "firewall.tcp_ports",
            format!(
                "the {} zone also opens the services {} (pbx-harden leaves services alone \
                 but ssh): remove them in firewalld if the PBX does not need them",
                setup.zone,
                others.join(", ")
            ),
        );
    }
    // Trusted and blocked hosts: sources of the trusted and drop zones.
    // (address, comment): the comment goes on the line above the source.
    let plain = |items: &[HostItem]| -> Vec<(String, Option<String>)> {
        items
            .iter()
            .filter(|t| matches!(t.entry, Entry::Plain(_)))
            .filter_map(|t| addr(t.entry.host()).map(|a| (a, t.comment.clone())))
            .collect()
    };
    let mut trusted_plain = plain(&trusted_items);
    if let Some(a) = spec.trust_admin {
        let s = a.to_string();
        if !trusted_plain.iter().any(|(x, _)| *x == s)
            && !trusted_items.iter().any(|t| {
                matches!(t.entry, Entry::Plain(_)) && t.entry.host().covers(a) == Some(true)
            })
        {
            trusted_plain.push((s, None));
        }
    }
    let blocked_plain = plain(&blocked_items);
    let mut changes: Vec<(String, Vec<u8>, Vec<u8>)> = Vec::new();
    let after = zone.to_bytes();
    if after != setup.zone_before {
        changes.push((setup.zone_file.clone(), setup.zone_before.clone(), after));
    }
    // A source belongs to one zone: each list goes into its zone and out of the other;
    // entries taken out leave both.
    if !trusted_plain.is_empty() || !blocked_plain.is_empty() || !remove_sources.is_empty() {
        for (name, mine, other) in [
            ("trusted", &trusted_plain, &blocked_plain),
            ("drop", &blocked_plain, &trusted_plain),
        ] {
            let (path, before) = match zone_source(b, name) {
                Ok(x) => x,
                Err(e) => {
                    b.error("firewall.backend", format!("\"firewalld\": {e}"));
                    return;
                }
            };
            let mut z = Zone::parse(&before);
            let out = z.remove_sources(|a| {
                other.iter().any(|(o, _)| o == a) || remove_sources.iter().any(|r| r == a)
            });
            gone.extend(out.into_iter().filter(|a| remove_sources.contains(a)));
            for (s, c) in mine.iter() {
                z.set_source(s, c.as_deref());
            }
            let a = z.to_bytes();
            if a != before {
                changes.push((path, before, a));
            }
        }
    }
    for r in &spec.remove {
        if !gone.contains(r) && removal(r).is_some() {
            b.warn(
                "firewall.remove",
                format!("{r} is not in firewalld's trusted or drop zone: nothing to take out"),
            );
        }
    }
    let check_changes: Vec<(String, Vec<u8>)> = changes
        .iter()
        .map(|(p, _, a)| (p.clone(), a.clone()))
        .collect();
    if !changes.is_empty() {
        b.verify("firewall-offline-cmd --check-config", move |b| {
            let status = offline_check(b.sys, &check_changes);
            b.check(
                "firewall-offline-cmd accepts the firewalld configuration",
                status,
            );
        });
    }
    // Lockout checks on the zone as written.
    let p = ctx.ssh_port();
    let final_zone = Zone::parse(
        &changes
            .iter()
            .find(|(path, _, _)| *path == setup.zone_file)
            .map(|(_, _, a)| a.clone())
            .unwrap_or_else(|| setup.zone_before.clone()),
    );
    let open = final_zone
        .ports()
        .iter()
        .any(|(r, proto)| proto == "tcp" && r.contains(p))
        || (p == 22 && final_zone.services().iter().any(|s| s == "ssh"));
    b.check(
        format!(
            "the SSH port {p} is open in firewalld's {} zone",
            setup.zone
        ),
        if open {
            CheckStatus::Pass(format!("<port port=\"{p}\" protocol=\"tcp\"/>"))
        } else {
            CheckStatus::Fail(format!("the {} zone does not open tcp {p}", setup.zone))
        },
    );
    match ctx.remote_admin() {
        None => b.check(
            "your own address passes firewalld",
            CheckStatus::Skipped(
                "no SSH_CONNECTION: not logged in over SSH, so there is no address to check".into(),
            ),
        ),
        Some(a) => {
            let dropped = blocked_plain.iter().any(|(s, _)| {
                crate::config::trust::parse_host(s).is_ok_and(|h| h.covers(a) == Some(true))
            });
            b.check(
                "your own address passes firewalld",
                if dropped {
                    CheckStatus::Fail(format!("{a} is a source of the drop zone"))
                } else {
                    CheckStatus::Pass(format!(
                        "{a} is accepted on tcp {p} by a rich rule of the {} zone",
                        setup.zone
                    ))
                },
            );
        }
    }
    if b.has_errors_for("firewall") {
        return;
    }
    for (path, _, a) in &changes {
        b.write(path, Some(a.clone()), 0o644, WHY);
    }
    let window: Vec<u16> = if live { old.clone() } else { Vec::new() };
    if live && (!changes.is_empty() || ctx.moved) {
        let (steps, confirm) = live_steps(&setup.zone, &window);
        super::nftables::insert_before_ssh(&mut b.actions, steps);
        b.on_confirm.extend(confirm);
    }
    let s = &mut b.summary.firewall;
    s.push(format!(
        "firewalld zone {}: inbound TCP {}; UDP {}",
        setup.zone,
        human_list(&tcp),
        if udp.is_empty() {
            "none".into()
        } else {
            human_list(&udp)
        }
    ));
    if !removed.is_empty() {
        s.push(format!("firewalld: removed {}", removed.join(" ")));
    }
    if ssh_service_removed {
        s.push(format!(
            "firewalld: the ssh service (22) leaves the {} zone{}",
            setup.zone,
            if live {
                "; 22 stays open until confirm"
            } else {
                ""
            }
        ));
    }
    if !trusted_items.is_empty() {
        s.push(format!("firewalld trusted: {}", hosts_line(&trusted_items)));
    }
    if !blocked_items.is_empty() {
        s.push(format!("firewalld blocked: {}", hosts_line(&blocked_items)));
    }
    if !gone.is_empty() {
        s.push(format!("firewalld: taken out {}", gone.join(", ")));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn elements_parse_and_edits_keep_other_lines() {
        let src = "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<zone>\n  <short>Public</short>\n  <service name=\"ssh\"/>\n  <port protocol='udp' port=\"10000-20000\"/>\n  <forward/>\n</zone>\n";
        let mut z = Zone::parse(src.as_bytes());
        assert_eq!(
            z.ports(),
            vec![(
                PortRange {
                    lo: 10000,
                    hi: 20000
                },
                "udp".to_string()
            )]
        );
        assert_eq!(z.services(), vec!["ssh"]);
        assert!(z.add("<port port=\"2222\" protocol=\"tcp\"/>"));
        assert!(!z.add("<port port=\"2222\" protocol=\"tcp\"/>"));
        let out = String::from_utf8(z.to_bytes()).unwrap();
        assert_eq!(
            out,
            src.replace(
                "  <forward/>\n</zone>",
                "  <forward/>\n  <port port=\"2222\" protocol=\"tcp\"/>\n</zone>"
            )
        );
    }

    // A trusted zone as an admin left it: firewall-cmd's own sources, one hand-written as an
    // empty element, one with the admin's own comment, an ipset source, a comment that is
    // not about a source, CRLF line endings from an editor on Windows.
    const HAND_TRUSTED: &str = "<?xml version=\"1.0\" encoding=\"utf-8\"?>\r\n<zone target=\"ACCEPT\">\r\n  <short>Trusted</short>\r\n  <!-- our offices -->\r\n  <description>All network connections are accepted.</description>\r\n  <source address=\"10.0.0.0/8\"/>\r\n  <!-- monitoring, ask Bob -->\r\n  <source address=\"192.0.2.5\" />\r\n  <source address=\"2001:db8:1::/48\"></source>\r\n  <source ipset=\"office-v4\"/>\r\n  <forward/>\r\n</zone>\r\n";

    use crate::root::test_root as root_with;

    #[test]
    fn sources_read_back_with_the_comment_above_each() {
        let z = Zone::parse(HAND_TRUSTED.as_bytes());
        assert_eq!(
            z.sources_with_comments(),
            vec![
                ("10.0.0.0/8".to_string(), None),
                (
                    "192.0.2.5".to_string(),
                    Some("monitoring, ask Bob".to_string())
                ),
                ("2001:db8:1::/48".to_string(), None),
            ]
        );
        let drop = "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<zone target=\"DROP\">\n  <short>Drop</short>\n  <!-- SIP scanner -->\n  <source address=\"192.0.2.66\"/>\n</zone>\n";
        let public = "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<zone>\n  <short>Public</short>\n  <service name=\"ssh\"/>\n  <port port=\"80\" protocol=\"tcp\"/>\n  <port port=\"10000-20000\" protocol=\"udp\"></port>\n  <source address=\"203.0.113.0/24\"/>\n</zone>\n";
        let (_t, root) = root_with(&[
            (CONF, "DefaultZone=external\n"),
            ("/etc/firewalld/zones/trusted.xml", HAND_TRUSTED),
            ("/etc/firewalld/zones/drop.xml", drop),
            ("/usr/lib/firewalld/zones/external.xml", public),
        ]);
        // the trusted and drop zones only (a source of the default zone binds it, it is
        // not a trusted host; nor are the block zone's)
        let hosts = previous_hosts(&root);
        assert_eq!(hosts.len(), 4, "{hosts:?}");
        assert_eq!(
            hosts[3],
            (
                "192.0.2.66".to_string(),
                true,
                Some("SIP scanner".to_string())
            )
        );
        // the default zone's ports (its stock copy while there is none under /etc); services
        // are not ports
        assert_eq!(
            previous_ports(&root),
            vec![
                (PortRange::one(80), "tcp".to_string()),
                (
                    PortRange {
                        lo: 10000,
                        hi: 20000
                    },
                    "udp".to_string()
                ),
            ]
        );
        let (_t, empty) = root_with(&[]);
        assert!(previous_hosts(&empty).is_empty() && previous_ports(&empty).is_empty());
    }

    #[test]
    fn a_comment_is_set_in_place_and_leaves_with_its_source() {
        let mut z = Zone::parse(HAND_TRUSTED.as_bytes());
        // the same comment, or none: nothing changes
        assert!(!z.set_source("192.0.2.5", Some("monitoring, ask Bob")));
        assert!(!z.set_source("192.0.2.5", None));
        assert!(!z.set_source("10.0.0.0/8", None));
        assert_eq!(String::from_utf8(z.to_bytes()).unwrap(), HAND_TRUSTED);
        // a new comment replaces the one above, or goes above (the CRLF kept)
        assert!(z.set_source("192.0.2.5", Some("monitoring (Zabbix)")));
        assert!(z.set_source("2001:db8:1::/48", Some("branch")));
        assert!(z.set_source("198.51.100.9", Some("office VPN")));
        let want = HAND_TRUSTED
            .replace("monitoring, ask Bob", "monitoring (Zabbix)")
            .replace(
                "  <source address=\"2001:db8:1::/48\"></source>\r\n",
                "  <!-- branch -->\r\n  <source address=\"2001:db8:1::/48\"></source>\r\n",
            )
            .replace(
                "</zone>",
                "  <!-- office VPN -->\r\n  <source address=\"198.51.100.9\"/>\r\n</zone>",
            );
        assert_eq!(String::from_utf8(z.to_bytes()).unwrap(), want);
        // a source leaves with the comment above it; "our offices" is not a source's
        let gone = z.remove_sources(|a| a == "192.0.2.5" || a == "10.0.0.0/8");
        assert_eq!(gone, vec!["10.0.0.0/8", "192.0.2.5"]);
        let want = want
            .replace("  <source address=\"10.0.0.0/8\"/>\r\n", "")
            .replace(
                "  <!-- monitoring (Zabbix) -->\r\n  <source address=\"192.0.2.5\" />\r\n",
                "",
            );
        assert_eq!(String::from_utf8(z.to_bytes()).unwrap(), want);
        assert!(want.contains("<!-- our offices -->") && want.contains("ipset=\"office-v4\""));
        assert!(!comment_ok("a -- b") && comment_ok("a - b"));
    }

    #[test]
    fn live_steps_reload_before_sshd_and_keep_the_old_port_until_confirm() {
        let (a, c) = live_steps("public", &[22]);
        assert_eq!(a.len(), 2);
        let Action::Command(r) = &a[0] else { panic!() };
        assert!(r.argv[2].contains("firewall-cmd --reload"));
        assert!(
            r.argv[2].ends_with("then fail2ban-client reload --restart >/dev/null || exit 1; fi")
        );
        assert_eq!(r.undo.len(), 1);
        let Action::Command(w) = &a[1] else { panic!() };
        assert!(w.argv[2].ends_with("firewall-cmd --zone=public --add-port=22/tcp"));
        assert_eq!(c.len(), 1);
        // Confirm takes the port out of the runtime configuration, without a reload (which
        // would drop fail2ban's runtime bans).
        let ConfirmStep::Run { argv } = &c[0] else {
            panic!()
        };
        assert!(argv[2].ends_with("firewall-cmd --zone=public --remove-port=22/tcp"));
        assert!(!argv[2].contains("--reload"));
    }

    proptest::proptest! {
        /// Any zone-like text (rules on one line or several, unterminated ones, comments,
        /// hand-written elements, CRLF): the readers and editors never panic, the text
        /// round-trips, a rule's own lines are never the zone's, and after every source is
        /// taken out none is left while every rule stays.
        #[test]
        fn zone_edits_never_panic_and_keep_rules(
            parts in proptest::collection::vec(proptest::sample::select(vec![
                "<zone>", "</zone>", "<rule family=\"ipv4\">", "</rule>", "<accept/>",
                "<rule family=\"ipv4\"><source address=\"192.0.2.1\"/><accept/></rule>",
                "<source address=\"192.0.2.1\"/>", "<source address=\"10.0.0.0/8\" />",
                "<source address=\"2001:db8::/32\"></source>", "<port port=\"22\" protocol=\"tcp\"/>",
                "<port protocol=\"udp\" port=\"5060\"></port>", "<!-- office -->",
                "<!-- a -- b -->", "<!--", "-->", "<service name=\"ssh\"/>", "", "  ", "x",
            ]), 0..24),
            crlf in proptest::bool::ANY,
            comment in "[a-z ,()]{0,12}",
        ) {
            let eol = if crlf { "\r\n" } else { "\n" };
            let text: String = parts.iter().map(|p| format!("  {p}{eol}")).collect();
            let mut z = Zone::parse(text.as_bytes());
            proptest::prop_assert_eq!(z.text(), text.clone());
            let inner = z.in_rules();
            for (i, _, _) in z.elements() {
                proptest::prop_assert!(!inner[i]);
            }
            let _ = (z.ports(), z.services(), z.sources_with_comments());
            z.set_source("198.51.100.9", Some(&comment));
            z.set_source("192.0.2.1", None);
            z.add_rule("<rule family=\"ipv4\"><source address=\"192.0.2.1\"/><accept/></rule>");
            let before: Vec<String> = z.rules().into_iter().map(|(_, _, r)| r).collect();
            z.remove_sources(|_| true);
            proptest::prop_assert!(z.sources().is_empty(), "{:?}", z.text());
            let after: Vec<String> = z.rules().into_iter().map(|(_, _, r)| r).collect();
            proptest::prop_assert_eq!(after, before);
            z.remove_rule("<rule family=\"ipv4\"><source address=\"192.0.2.1\"/><accept/></rule>");
        }
    }
}
