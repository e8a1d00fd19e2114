//! ufw: /etc/ufw/user.rules and user6.rules edited the way `ufw allow|deny|limit|insert`
//! writes them, rule block by rule block (every block and line pbx-harden does not change
//! stays byte for byte):
//!
//! - each rule is a `### tuple ### ACTION PROTO DPORT DST SPORT SRC in[ comment=HEX]` line
//!   followed by its iptables lines, a blank line before it, inside `### RULES ###` …
//!   `### END RULES ###` (ufw lists and deletes rules by these tuples);
//! - blocked hosts (`deny`), trusted hosts and the admin's own address (`allow`) go at the top
//!   of the rules, as `ufw insert 1` would put them, so they come before any port rule; the
//!   answers' ports are appended as `ufw allow PORT/PROTO` does; SIP ports as `ufw limit`
//!   (ufw's own limit: a source opening a 6th connection within 30 s is rejected; coarse, and
//!   trusted hosts pass before it). Port rules open to everyone that the answers leave out go,
//!   the old SSH port after a move too;
//! - a host already there with another comment gets the new one in its tuple line, in place;
//!   `firewall.remove` takes a host's `allow`/`deny` rules out.
//!
//! `previous_ports` / `previous_hosts` read back what the rules hold now (ports open to
//! everyone; `ufw allow|deny from HOST` rules with their comments): the wizard's Ports and
//! Hosts screens start from them, so a rerun changes nothing.
//!
//! Loopback and established/related traffic are ufw's before.rules, which stay untouched.
//! The result is judged by ufw itself (`ufw show added` on a scratch root lists every tuple
//! back) and by `iptables-restore --test` / `ip6tables-restore --test`.
//!
//! On the live system apply runs `ufw reload` before sshd moves (when ufw is active), then
//! opens the old SSH port in ufw's runtime chains only (`ufw-after-input`, which ufw's own
//! rule commands leave alone), until confirm reloads again; rollback restores the files and
//! reloads.

use std::net::IpAddr;

use crate::config::trust::{Entry, Flow, Host};
use crate::exec::argv;
use crate::model::actions::CommandAction;
use crate::model::{Action, Builder, CheckStatus, ConfirmStep};
use crate::steps::firewall::ports::{PortRange, human_list};
use crate::steps::firewall::{Ctx, HostItem, Spec, hosts_line};

pub const USER_RULES: &str = "/etc/ufw/user.rules";
pub const USER6_RULES: &str = "/etc/ufw/user6.rules";
const WHY: &str = "ufw (its user rules)";

/// One rule as ufw's tuple says it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// "allow", "deny", "limit".
    pub action: &'static str,
    /// "tcp", "udp" or "any".
    pub proto: &'static str,
    pub port: Option<PortRange>,
    /// The source address or network; None: anywhere.
    pub src: Option<String>,
    pub comment: Option<String>,
}

fn port_text(r: &PortRange) -> String {
    if r.lo == r.hi {
        r.lo.to_string()
    } else {
        format!("{}:{}", r.lo, r.hi)
    }
}

fn hex(s: &str) -> String {
    s.bytes().map(|b| format!("{b:02x}")).collect()
}

impl Rule {
    /// The `### tuple ###` line, as ufw writes it (without the line ending).
    pub fn tuple(&self, v6: bool) -> String {
        let any = if v6 { "::/0" } else { "0.0.0.0/0" };
        let mut t = format!(
            "### tuple ### {} {} {} {any} any {} in",
            self.action,
            self.proto,
            self.port.as_ref().map_or("any".into(), port_text),
            self.src.as_deref().unwrap_or(any)
        );
        if let Some(c) = &self.comment {
            t.push_str(&format!(" comment={}", hex(c)));
        }
        t
    }

    /// The iptables lines under the tuple, as ufw writes them.
    pub fn lines(&self, v6: bool) -> Vec<String> {
        let chain = if v6 { "ufw6-user" } else { "ufw-user" };
        let mut m = format!("-A {chain}-input");
        if self.proto != "any" {
            m.push_str(&format!(" -p {}", self.proto));
        }
        if let Some(r) = &self.port {
            if r.lo == r.hi {
                m.push_str(&format!(" --dport {}", r.lo));
            } else {
                m.push_str(&format!(" -m multiport --dports {}:{}", r.lo, r.hi));
            }
        }
        if let Some(s) = &self.src {
            m.push_str(&format!(" -s {s}"));
        }
        match self.action {
            "limit" => vec![
                format!("{m} -m conntrack --ctstate NEW -m recent --set"),
                format!(
                    "{m} -m conntrack --ctstate NEW -m recent --update --seconds 30 --hitcount 6 \
                     -j {chain}-limit"
                ),
                format!("{m} -j {chain}-limit-accept"),
            ],
            "deny" => vec![format!("{m} -j DROP")],
            _ => vec![format!("{m} -j ACCEPT")],
        }
    }
}

/// The fields of a tuple line: action, proto, dport, dst, sport, src, direction.
/// A trailing `comment=HEX` is left out.
fn tuple_fields(line: &str) -> Option<Vec<&str>> {
    let rest = line.trim().strip_prefix("### tuple ###")?;
    let mut t: Vec<&str> = rest.split_whitespace().collect();
    if t.last().is_some_and(|l| l.starts_with("comment=")) {
        t.pop();
    }
    Some(t)
}

/// The comment of a tuple line (`comment=HEX`, the UTF-8 bytes in hex, as ufw writes it).
fn tuple_comment(line: &str) -> Option<String> {
    let h = line
        .trim()
        .strip_prefix("### tuple ###")?
        .split_whitespace()
        .last()?
        .strip_prefix("comment=")?;
    if h.len() % 2 != 0 {
        return None;
    }
    let bytes: Option<Vec<u8>> = (0..h.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(h.get(i..i + 2)?, 16).ok())
        .collect();
    Some(String::from_utf8_lossy(&bytes?).into_owned()).filter(|c| !c.trim().is_empty())
}

/// A plain host rule (`ufw allow|deny from HOST`, on any interface, every port and
/// protocol): (host, blocked).
fn host_of(t: &[&str], v6: bool) -> Option<(String, bool)> {
    let any = if v6 { "::/0" } else { "0.0.0.0/0" };
    if t.len() != 7 || t[1] != "any" || t[2] != "any" || t[3] != any || t[4] != "any" {
        return None;
    }
    if t[6] != "in" || t[5] == any {
        return None;
    }
    let blocked = match t[0] {
        "allow" => false,
        "deny" => true,
        _ => return None,
    };
    Some((t[5].to_string(), blocked))
}

/// A user rules file as lines (each with its own line ending), edited block by block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RulesFile {
    lines: Vec<String>,
    v6: bool,
}

impl RulesFile {
    pub fn parse(bytes: &[u8], v6: bool) -> RulesFile {
        let text = String::from_utf8_lossy(bytes);
        RulesFile {
            lines: text.split_inclusive('\n').map(str::to_string).collect(),
            v6,
        }
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        self.lines.concat().into_bytes()
    }

    pub fn tuples(&self) -> Vec<String> {
        self.lines
            .iter()
            .filter(|l| l.starts_with("### tuple ###"))
            .map(|l| l.trim_end().to_string())
            .collect()
    }

    /// The line of the rule `r`, whatever its comment.
    fn find(&self, r: &Rule) -> Option<usize> {
        let t = r.tuple(self.v6);
        let want = tuple_fields(&t);
        self.lines
            .iter()
            .position(|l| tuple_fields(l).is_some() && tuple_fields(l) == want)
    }

    fn has(&self, r: &Rule) -> bool {
        self.find(r).is_some()
    }

    /// The rule is there: its comment becomes `r`'s, in place (no comment in `r` keeps the
    /// one there). True when the file changed.
    fn set_comment(&mut self, r: &Rule) -> bool {
        let (Some(i), Some(_)) = (self.find(r), &r.comment) else {
            return false;
        };
        let t = r.tuple(self.v6);
        if self.lines[i].trim_end() == t {
            return false;
        }
        let eol = &self.lines[i][self.lines[i].trim_end().len()..];
        self.lines[i] = format!("{t}{eol}");
        true
    }

    /// The plain host rules (`ufw allow|deny from HOST`): (host, blocked, comment).
    pub fn hosts(&self) -> Vec<(String, bool, Option<String>)> {
        self.lines
            .iter()
            .filter_map(|l| {
                let (h, b) = host_of(&tuple_fields(l)?, self.v6)?;
                Some((h, b, tuple_comment(l)))
            })
            .collect()
    }

    fn block(&self, r: &Rule) -> Vec<String> {
        let mut out = vec!["\n".to_string(), format!("{}\n", r.tuple(self.v6))];
        out.extend(r.lines(self.v6).into_iter().map(|l| format!("{l}\n")));
        out
    }

    fn header(&self) -> Option<usize> {
        self.lines
            .iter()
            .position(|l| l.trim_end() == "### RULES ###")
    }

    /// ufw's package template (a user rules file ufw never wrote: ufw installed but never
    /// enabled nor told a rule, e.g. `backend = "ufw"` chosen before `ufw enable`; `ufw
    /// enable` itself rewrites the files) has `### RULES ###` but no `### END RULES ###`, and in
    /// user.rules the `ufw-user-limit` lines right under it. Before the first rule goes in,
    /// the end marker goes right after the header, as ufw writes an empty rule list; rules
    /// then keep their order (appended after the inserted ones, not all at the header) and
    /// the template's own lines stay out of the first rule's block.
    fn ensure_end(&mut self) {
        let Some(h) = self.header() else { return };
        if self
            .lines
            .iter()
            .any(|l| l.trim_end() == "### END RULES ###")
        {
            return;
        }
        self.lines.splice(
            h + 1..h + 1,
            ["\n".to_string(), "### END RULES ###\n".to_string()],
        );
    }

    /// `ufw insert 1`: right after `### RULES ###`, before every rule (after those this
    /// plan inserted before: `at` counts them).
    fn insert_top(&mut self, r: &Rule, at: &mut usize) -> bool {
        if self.has(r) {
            return self.set_comment(r);
        }
        self.ensure_end();
        let Some(h) = self.header() else {
            return false;
        };
        let block = self.block(r);
        let n = block.len();
        let pos = h + 1 + *at;
        self.lines.splice(pos..pos, block);
        *at += n;
        true
    }

    /// `ufw allow`: after the last rule (before the blank line ahead of `### END RULES ###`,
    /// which ufw's never-written template gets first: `ensure_end`).
    fn append(&mut self, r: &Rule) -> bool {
        if self.has(r) {
            return false;
        }
        self.ensure_end();
        let Some(h) = self.header() else {
            return false;
        };
        let pos = match self
            .lines
            .iter()
            .position(|l| l.trim_end() == "### END RULES ###")
        {
            Some(e) if e > h + 1 && self.lines[e - 1].trim().is_empty() => e - 1,
            Some(e) => e,
            None => h + 1,
        };
        let block = self.block(r);
        self.lines.splice(pos..pos, block);
        true
    }

    /// Remove each rule block whose tuple `f` says so (its lines and the blank line before
    /// it); returns the tuples removed.
    fn remove_where(&mut self, f: impl Fn(&[&str]) -> bool) -> Vec<String> {
        let mut out = Vec::new();
        let mut i = 0;
        while i < self.lines.len() {
            let hit = tuple_fields(&self.lines[i]).is_some_and(|t| f(&t));
            if !hit {
                i += 1;
                continue;
            }
            out.push(self.lines[i].trim_end().to_string());
            let mut end = i + 1;
            while end < self.lines.len() && self.lines[end].starts_with("-A ") {
                end += 1;
            }
            let start = if i > 0 && self.lines[i - 1].trim().is_empty() {
                i - 1
            } else {
                i
            };
            self.lines.drain(start..end);
            i = start;
        }
        out
    }

    /// Ports open to everyone: (range, proto) of `allow`/`limit` tuples from anywhere.
    pub fn open_ports(&self) -> Vec<(PortRange, String)> {
        self.lines
            .iter()
            .filter_map(|l| {
                let t = tuple_fields(l)?;
                open_port(&t, self.v6)
            })
            .collect()
    }
}

/// The trusted and blocked hosts ufw holds: the plain host rules of user.rules and
/// user6.rules with their comments, (host, blocked, comment), in file order. What the
/// wizard's Hosts screen starts from.
pub fn previous_hosts(root: &crate::root::Root) -> Vec<(String, bool, Option<String>)> {
    let mut out: Vec<(String, bool, Option<String>)> = Vec::new();
    for (path, v6) in [(USER_RULES, false), (USER6_RULES, true)] {
        if let Ok(Some(b)) = root.read(path) {
            for h in RulesFile::parse(&b, v6).hosts() {
                if !out.iter().any(|(x, _, _)| *x == h.0) {
                    out.push(h);
                }
            }
        }
    }
    out
}

/// The ports open to everyone in user.rules and user6.rules (either family): what the
/// wizard's Ports screen starts from.
pub fn previous_ports(root: &crate::root::Root) -> Vec<(PortRange, String)> {
    let mut out: Vec<(PortRange, String)> = Vec::new();
    for (path, v6) in [(USER_RULES, false), (USER6_RULES, true)] {
        if let Ok(Some(b)) = root.read(path) {
            for p in RulesFile::parse(&b, v6).open_ports() {
                if !out.contains(&p) {
                    out.push(p);
                }
            }
        }
    }
    out
}

fn parse_range(p: &str) -> Option<PortRange> {
    match p.split_once(':') {
        Some((a, b)) => Some(PortRange {
            lo: a.parse().ok()?,
            hi: b.parse().ok()?,
        }),
        None => p.parse().ok().map(PortRange::one),
    }
}

/// A tuple that opens one port (range) of one protocol to everyone, on any interface:
/// `allow tcp 22 0.0.0.0/0 any 0.0.0.0/0 in`, or an application profile's
/// `allow tcp 22 0.0.0.0/0 any 0.0.0.0/0 OpenSSH - in` (`ufw allow OpenSSH`).
fn open_port(t: &[&str], v6: bool) -> Option<(PortRange, String)> {
    let any = if v6 { "::/0" } else { "0.0.0.0/0" };
    let plain = t.len() == 7 && t[6] == "in";
    let app = t.len() == 9 && t[7] == "-" && t[8] == "in";
    if !(plain || app)
        || !matches!(t[0], "allow" | "limit")
        || !matches!(t[1], "tcp" | "udp")
        || t[3] != any
        || t[4] != "any"
        || t[5] != any
    {
        return None;
    }
    Some((parse_range(t[2])?, t[1].to_string()))
}

fn addr(h: &Host) -> Option<(String, bool)> {
    match h {
        Host::Ip(ip) => Some((ip.to_string(), ip.is_ipv6())),
        Host::Net(ip, len) => Some((format!("{ip}/{len}"), ip.is_ipv6())),
        Host::Fqdn(_) => None,
    }
}

/// The rules of one trusted/blocked item (per family).
fn host_rules(i: &HostItem, action: &'static str) -> Vec<(Rule, bool)> {
    let Some((src, v6)) = addr(i.entry.host()) else {
        return Vec::new();
    };
    match &i.entry {
        Entry::Plain(_) => vec![(
            Rule {
                action,
                proto: "any",
                port: None,
                src: Some(src),
                comment: i.comment.clone(),
            },
            v6,
        )],
        Entry::Advanced(a) => {
            let protos: Vec<&'static str> = match a.proto.as_deref() {
                Some("udp") => vec!["udp"],
                Some(_) => vec!["tcp"],
                None => vec!["tcp", "udp"],
            };
            protos
                .into_iter()
                .map(|p| {
                    (
                        Rule {
                            action,
                            proto: p,
                            port: Some(PortRange {
                                lo: a.ports.0,
                                hi: a.ports.1,
                            }),
                            src: Some(src.clone()),
                            comment: i.comment.clone(),
                        },
                        v6,
                    )
                })
                .collect()
        }
    }
}

pub(crate) fn refuse(b: &mut Builder<'_>, key: &str, items: &[HostItem]) -> Vec<HostItem> {
    let mut out = Vec::new();
    for i in items {
        let out_only = matches!(&i.entry, Entry::Advanced(a) if a.direction.as_deref() == Some("out") || a.host_flow == Flow::Dest || a.port_flow == Flow::Source);
        if let Host::Fqdn(n) = i.entry.host() {
            b.error(
                key,
                format!(
                    "{}: {n} is a name; the ufw backend takes addresses and networks only",
                    i.text
                ),
            );
        } else if out_only {
            b.error(
                key,
                format!(
                    "{}: the ufw backend filters incoming connections by their source and \
                     destination port; outbound or source-port entries are not expressed",
                    i.text
                ),
            );
        } else {
            out.push(i.clone());
        }
    }
    out
}

fn ufw_program() -> Option<std::path::PathBuf> {
    crate::host::find_program("ufw")
}

/// Judge edited user rules with ufw itself and iptables: `ufw show added` on a scratch root
/// (a copy of /etc/ufw with the edits; ufw's `--rootdir`/`--datadir`) must list every tuple
/// back, and `iptables-restore --test` / `ip6tables-restore --test` must accept the files.
pub fn offline_check(sys: &crate::host::Host, files: &[(String, Vec<u8>)]) -> CheckStatus {
    let root = &sys.root;
    let find = crate::host::find_program;
    let Some(ufw) = ufw_program() else {
        return CheckStatus::Skipped("ufw is not installed on this host".into());
    };
    if find("iptables-restore").is_none() || !nix::unistd::geteuid().is_root() {
        return CheckStatus::Skipped("the check needs root and iptables-restore".into());
    }
    let dir = match super::nftables::tempdir() {
        Ok(d) => d,
        Err(e) => return CheckStatus::Skipped(format!("no temporary directory: {e}")),
    };
    let result = (|| -> Result<String, String> {
        let etc = dir.join("etc/ufw");
        // ufw refuses to run without its profiles directory, and reads /etc/default/ufw.
        std::fs::create_dir_all(etc.join("applications.d")).map_err(|e| e.to_string())?;
        std::fs::create_dir_all(dir.join("etc/default")).map_err(|e| e.to_string())?;
        let default = root.host("/etc/default/ufw");
        let default = if default.exists() {
            default
        } else {
            "/etc/default/ufw".into()
        };
        let _ = std::fs::copy(default, dir.join("etc/default/ufw"));
        let src = root.host("/etc/ufw");
        let st = std::process::Command::new("cp")
            .arg("-a")
            .arg(src.join("."))
            .arg(&etc)
            .status()
            .map_err(|e| e.to_string())?;
        if !st.success() {
            return Err("cp -a /etc/ufw failed".into());
        }
        // ufw's own state dir (ufw-init) and share dir, from the host's installation.
        for d in ["/lib/ufw", "/usr/share/ufw"] {
            let to = dir.join(&d[1..]);
            std::fs::create_dir_all(to.parent().unwrap_or(&dir)).map_err(|e| e.to_string())?;
            let _ = std::process::Command::new("cp")
                .arg("-a")
                .arg(d)
                .arg(&to)
                .status();
        }
        // ufw stats its other files too: where the root has none, the package's own copies.
        for f in [
            "before.rules",
            "after.rules",
            "before6.rules",
            "after6.rules",
            "user6.rules",
        ] {
            if !etc.join(f).exists() {
                let _ = std::fs::copy(format!("/usr/share/ufw/iptables/{f}"), etc.join(f));
            }
        }
        if !etc.join("ufw.conf").exists() {
            let _ = std::fs::write(etc.join("ufw.conf"), "ENABLED=no\nLOGLEVEL=low\n");
        }
        // ufw lists a rule that is in both files once.
        let mut tuples = std::collections::BTreeSet::new();
        for (path, bytes) in files {
            let name = path.trim_start_matches("/etc/ufw/");
            std::fs::write(etc.join(name), bytes).map_err(|e| e.to_string())?;
            let prog = if name == "user6.rules" {
                "ip6tables-restore"
            } else {
                "iptables-restore"
            };
            let o = sys
                .runner
                .run(
                    &argv(&[prog, "--test", &etc.join(name).display().to_string()]),
                    None,
                )
                .map_err(|e| format!("{prog}: {e}"))?;
            if !o.ok() {
                return Err(format!(
                    "{prog} --test {path}: {}",
                    format!("{}{}", o.stdout, o.stderr).trim()
                ));
            }
        }
        // Every tuple of both files (changed or not) must come back.
        for name in ["user.rules", "user6.rules"] {
            if let Ok(bytes) = std::fs::read(etc.join(name)) {
                tuples.extend(
                    RulesFile::parse(&bytes, false)
                        .tuples()
                        .into_iter()
                        .map(|t| t.replace("::/0", "0.0.0.0/0")),
                );
            }
        }
        let d = dir.display().to_string();
        let o = sys
            .runner
            .run(
                &argv(&[
                    &ufw.display().to_string(),
                    &format!("--rootdir={d}"),
                    &format!("--datadir={d}"),
                    "show",
                    "added",
                ]),
                None,
            )
            .map_err(|e| format!("ufw: {e}"))?;
        let listed = o.stdout.lines().filter(|l| l.starts_with("ufw ")).count();
        let tuples = tuples.len();
        if !o.ok() || listed != tuples {
            return Err(format!(
                "ufw show added lists {listed} of {tuples} rules: {}",
                format!("{}{}", o.stdout, o.stderr)
                    .trim()
                    .lines()
                    .take(4)
                    .collect::<Vec<_>>()
                    .join(" | ")
            ));
        }
        Ok(format!(
            "ufw show added lists all {tuples} rules back; iptables-restore --test accepts them"
        ))
    })();
    let _ = std::fs::remove_dir_all(&dir);
    match result {
        Ok(m) => CheckStatus::Pass(m),
        Err(e) => CheckStatus::Fail(e),
    }
}

/// Only when ufw is active: `SCRIPT`.
fn if_active(script: &str) -> Vec<String> {
    argv(&[
        "sh",
        "-c",
        &format!("ufw status 2>/dev/null | grep -q '^Status: active' || exit 0; {script}"),
    ])
}

fn cmd(argv: Vec<String>, undo: Vec<Vec<String>>) -> Action {
    Action::Command(CommandAction {
        argv,
        undo,
        touches: Vec::new(),
        changes_state: true,
    })
}

/// The live commands: `ufw reload` before sshd moves (rollback reloads the restored files),
/// and the old SSH port(s) open in ufw's runtime chains until confirm reloads.
///
/// The window's rule goes at the top of `ufw-after-input`, not into `ufw-user-input`: every
/// `ufw allow|deny|insert|delete` on an active ufw (fail2ban's ufw action at each ban and
/// unban too) reloads the user chains from user.rules, which would close the old port in
/// the middle of the window. In the after chain it also comes after the user rules, as a
/// `ufw allow 22/tcp` appended to them would: a blocked or banned host stays out.
pub fn live_steps(window: &[u16]) -> (Vec<Action>, Vec<ConfirmStep>) {
    let mut actions = vec![cmd(if_active("ufw reload"), vec![if_active("ufw reload")])];
    let mut confirm = Vec::new();
    if !window.is_empty() {
        let mut s = Vec::new();
        for p in window {
            s.push(format!(
                "iptables -I ufw-after-input -p tcp --dport {p} -j ACCEPT"
            ));
            s.push(format!(
                "{{ ! ip6tables -n -L ufw6-after-input >/dev/null 2>&1 || ip6tables -I ufw6-after-input -p tcp --dport {p} -j ACCEPT; }}"
            ));
        }
        actions.push(cmd(if_active(&s.join(" && ")), Vec::new()));
        confirm.push(ConfirmStep::Run {
            argv: if_active("ufw reload"),
        });
    }
    (actions, confirm)
}

pub fn plan(b: &mut Builder<'_>, ctx: &Ctx, spec: &Spec) {
    let sys = b.sys;
    let before4 = match b.current(USER_RULES) {
        Ok(Some(x)) => x,
        _ => {
            b.error(
                "firewall.backend",
                format!(
                    "\"ufw\": ufw is not installed here (no {USER_RULES}); install it first, or \
                     use \"nftables\""
                ),
            );
            return;
        }
    };
    let before6 = b.current(USER6_RULES).ok().flatten();
    let mut f4 = RulesFile::parse(&before4, false);
    let mut f6 = before6.as_ref().map(|x| RulesFile::parse(x, true));
    if f4.header().is_none() {
        b.error(
            "firewall.backend",
            format!("\"ufw\": {USER_RULES} has no \"### RULES ###\" line: not ufw's format"),
        );
        return;
    }
    let trusted = refuse(b, "firewall.trusted", &spec.trusted);
    let blocked = refuse(b, "firewall.blocked", &spec.blocked);
    if f6.is_none()
        && trusted
            .iter()
            .chain(&blocked)
            .any(|i| i.entry.host().is_v6())
    {
        b.error(
            "firewall.trusted",
            format!("IPv6 hosts need {USER6_RULES} (IPV6=yes in /etc/default/ufw)"),
        );
    }
    if b.has_errors_for("firewall") {
        return;
    }
    let live = sys.root.is_live();
    let have = f4.open_ports();
    let (tcp, udp) = super::inbound_lists(spec, ctx, &have);
    let old = ctx.ports_left();
    // SIP ports: `limit` (per source), answers' SIP ports only.
    let ast = ctx.fw.asterisk.force();
    let sip = |r: &PortRange, proto: &str| {
        r.lo == r.hi
            && match proto {
                "udp" => ast.sip_udp.contains(&r.lo),
                _ => ast.sip_tcp.contains(&r.lo) || ast.sip_tls.contains(&r.lo),
            }
    };
    let port_rule = |r: &PortRange, proto: &'static str| Rule {
        action: if sip(r, proto) { "limit" } else { "allow" },
        proto,
        port: Some(*r),
        src: None,
        comment: None,
    };
    let wanted: Vec<Rule> = tcp
        .iter()
        .map(|r| port_rule(r, "tcp"))
        .chain(udp.iter().map(|r| port_rule(r, "udp")))
        .collect();
    // Ports open to everyone that are not wanted go; a wanted one stays as it is (an
    // admin's `ufw limit 22/tcp` or `ufw allow OpenSSH` too), except an `allow` where SIP
    // wants `limit`.
    let mut removed = Vec::new();
    for f in std::iter::once(&mut f4).chain(f6.as_mut()) {
        let v6 = f.v6;
        removed.extend(f.remove_where(|t| {
            open_port(t, v6).is_some_and(|(r, proto)| {
                !wanted.iter().any(|w| {
                    w.port == Some(r) && w.proto == proto && (w.action == t[0] || t[0] == "limit")
                })
            })
        }));
    }
    // Entries taken out: a host's plain rules (allow or deny, any comment), an advanced
    // entry's rules.
    for r in &spec.remove {
        let entry = crate::config::trust::parse_entry(r, crate::config::trust::TrustFormat::Apf2);
        let Some(item) = entry.ok().map(|entry| HostItem {
            text: r.clone(),
            comment: None,
            entry,
        }) else {
            b.warn(
                "firewall.remove",
                format!("{r}: not an address, a network or an advanced entry ufw holds"),
            );
            continue;
        };
        let mut n = 0;
        for f in std::iter::once(&mut f4).chain(f6.as_mut()) {
            let v6 = f.v6;
            let rules: Vec<String> = ["allow", "deny"]
                .into_iter()
                .flat_map(|a| host_rules(&item, a))
                .filter(|(_, x)| *x == v6)
                .map(|(rule, _)| rule.tuple(v6))
                .collect();
            let out =
                f.remove_where(|t| rules.iter().any(|x| tuple_fields(x).as_deref() == Some(t)));
            n += out.len();
            removed.extend(out);
        }
        if n == 0 {
            b.warn(
                "firewall.remove",
                format!("{r} is not in ufw's user rules: nothing to take out"),
            );
        }
    }
    // A host moved from one list to the other: its rules of the other list go.
    let srcs = |items: &[HostItem]| -> Vec<String> {
        items
            .iter()
            .filter_map(|i| addr(i.entry.host()).map(|(a, _)| a))
            .collect()
    };
    let (tsrc, bsrc) = (srcs(&trusted), srcs(&blocked));
    for f in std::iter::once(&mut f4).chain(f6.as_mut()) {
        removed.extend(f.remove_where(|t| {
            t.len() == 7
                && t[6] == "in"
                && ((t[0] == "deny" && tsrc.iter().any(|x| x == t[5]))
                    || (t[0] == "allow" && bsrc.iter().any(|x| x == t[5])))
        }));
    }
    // Top: blocked, trusted, the admin (in this order, as `ufw insert` would leave them).
    let mut top: Vec<(Rule, bool)> = Vec::new();
    for x in &blocked {
        top.extend(host_rules(x, "deny"));
    }
    for t in &trusted {
        top.extend(host_rules(t, "allow"));
    }
    if let Some(a) = spec.trust_admin {
        let covered = trusted
            .iter()
            .any(|t| matches!(t.entry, Entry::Plain(_)) && t.entry.host().covers(a) == Some(true));
        if !covered {
            top.push((
                Rule {
                    action: "allow",
                    proto: "any",
                    port: None,
                    src: Some(a.to_string()),
                    comment: Some("pbx-harden: admin".into()),
                },
                a.is_ipv6(),
            ));
        }
    }
    if let Some(a) = ctx.remote_admin() {
        for p in &ctx.ssh_ports {
            top.push((
                Rule {
                    action: "allow",
                    proto: "tcp",
                    port: Some(PortRange::one(*p)),
                    src: Some(a.to_string()),
                    comment: None,
                },
                a.is_ipv6(),
            ));
        }
    }
    let (mut at4, mut at6) = (0, 0);
    for (r, v6) in &top {
        match (v6, f6.as_mut()) {
            (false, _) => {
                f4.insert_top(r, &mut at4);
            }
            (true, Some(f)) => {
                f.insert_top(r, &mut at6);
            }
            (true, None) => {}
        }
    }
    for r in &wanted {
        for f in std::iter::once(&mut f4).chain(f6.as_mut()) {
            let open = f.open_ports();
            if !open
                .iter()
                .any(|(o, proto)| Some(*o) == r.port && proto == r.proto)
            {
                f.append(r);
            }
        }
    }
    let mut changes: Vec<(String, Vec<u8>, Vec<u8>)> = Vec::new();
    let a4 = f4.to_bytes();
    if a4 != before4 {
        changes.push((USER_RULES.into(), before4.clone(), a4));
    }
    if let (Some(f), Some(b6)) = (&f6, &before6) {
        let a6 = f.to_bytes();
        if a6 != *b6 {
            changes.push((USER6_RULES.into(), b6.clone(), a6));
        }
    }
    if !changes.is_empty() {
        let files: Vec<(String, Vec<u8>)> = changes
            .iter()
            .map(|(p, _, a)| (p.clone(), a.clone()))
            .collect();
        b.verify("ufw show added, iptables-restore --test", move |b| {
            let status = offline_check(b.sys, &files);
            b.check(
                "ufw lists the rules back and iptables-restore accepts them",
                status,
            );
        });
    }
    // Lockout checks on the rules as written.
    let p = ctx.ssh_port();
    let open = f4
        .open_ports()
        .iter()
        .any(|(r, proto)| proto == "tcp" && r.contains(p));
    b.check(
        format!("the SSH port {p} is open in ufw"),
        if open {
            CheckStatus::Pass(format!("### tuple ### allow tcp {p} … in {USER_RULES}"))
        } else {
            CheckStatus::Fail(format!("no ufw rule opens tcp {p} to everyone"))
        },
    );
    match ctx.remote_admin() {
        None => b.check(
            "your own address passes ufw",
            CheckStatus::Skipped(
                "no SSH_CONNECTION: not logged in over SSH, so there is no address to check".into(),
            ),
        ),
        Some(a) => b.check(
            "your own address passes ufw",
            admin_passes(&f4, f6.as_ref(), a, p),
        ),
    }
    if b.has_errors_for("firewall") {
        return;
    }
    for (path, _, a) in &changes {
        b.write(path, Some(a.clone()), 0o640, WHY);
    }
    let window: Vec<u16> = if live { old.clone() } else { Vec::new() };
    if live && (!changes.is_empty() || ctx.moved) {
        let (steps, confirm) = live_steps(&window);
        super::nftables::insert_before_ssh(&mut b.actions, steps);
        b.on_confirm.extend(confirm);
    }
    let sipl: Vec<String> = wanted
        .iter()
        .filter(|w| w.action == "limit")
        .filter_map(|w| w.port.map(|r| format!("{}/{}", port_text(&r), w.proto)))
        .collect();
    let s = &mut b.summary.firewall;
    s.push(format!(
        "ufw ({USER_RULES}): inbound TCP {}; UDP {}",
        human_list(&tcp),
        if udp.is_empty() {
            "none".into()
        } else {
            human_list(&udp)
        }
    ));
    if !sipl.is_empty() {
        s.push(format!(
            "ufw: SIP {} as `ufw limit` (a 6th new connection from one source within 30 s is \
             rejected; trusted hosts pass first)",
            sipl.join(", ")
        ));
    }
    if !removed.is_empty() {
        s.push(format!("ufw: removed {}", removed.join("; ")));
    }
    if live && !window.is_empty() {
        s.push(format!(
            "ufw: the old SSH port {} stays open until confirm",
            window
                .iter()
                .map(u16::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    if !trusted.is_empty() {
        s.push(format!("ufw trusted: {}", hosts_line(&trusted)));
    }
    if !blocked.is_empty() {
        s.push(format!("ufw blocked: {}", hosts_line(&blocked)));
    }
}

/// The first rule (in file order) that matches the admin's SSH connection decides.
fn admin_passes(f4: &RulesFile, f6: Option<&RulesFile>, a: IpAddr, p: u16) -> CheckStatus {
    let f = if a.is_ipv6() {
        match f6 {
            Some(f) => f,
            None => return CheckStatus::Pass(format!("{a}: ufw filters no IPv6 here")),
        }
    } else {
        f4
    };
    for l in &f.lines {
        let Some(t) = tuple_fields(l) else { continue };
        if t.len() < 7 || !matches!(t[1], "tcp" | "any") || t[4] != "any" || t[6] != "in" {
            continue;
        }
        let port_ok = t[2] == "any" || parse_range(t[2]).is_some_and(|r| r.contains(p));
        let src_ok = crate::config::trust::parse_host(t[5])
            .is_ok_and(|h| h.covers(a) == Some(true))
            || t[5] == "0.0.0.0/0"
            || t[5] == "::/0";
        if port_ok && src_ok {
            return match t[0] {
                "allow" | "limit" => CheckStatus::Pass(format!("{a}: {}", l.trim_end())),
                _ => CheckStatus::Fail(format!("{a} is dropped by: {}", l.trim_end())),
            };
        }
    }
    CheckStatus::Fail(format!("no ufw rule lets {a} reach tcp {p}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    // What `ufw allow 22022/tcp` then `ufw limit 5060/udp` wrote (ufw 0.36.2, Debian 12).
    const WRITTEN: &str = "*filter\n:ufw-user-input - [0:0]\n### RULES ###\n\n### tuple ### allow tcp 22022 0.0.0.0/0 any 0.0.0.0/0 in\n-A ufw-user-input -p tcp --dport 22022 -j ACCEPT\n\n### tuple ### limit udp 5060 0.0.0.0/0 any 0.0.0.0/0 in\n-A ufw-user-input -p udp --dport 5060 -m conntrack --ctstate NEW -m recent --set\n-A ufw-user-input -p udp --dport 5060 -m conntrack --ctstate NEW -m recent --update --seconds 30 --hitcount 6 -j ufw-user-limit\n-A ufw-user-input -p udp --dport 5060 -j ufw-user-limit-accept\n\n### END RULES ###\n\n### LOGGING ###\nCOMMIT\n";

    #[test]
    fn blocks_are_written_as_ufw_writes_them() {
        let mut f = RulesFile::parse(
            b"*filter\n### RULES ###\n\n### END RULES ###\nCOMMIT\n",
            false,
        );
        f.append(&Rule {
            action: "allow",
            proto: "tcp",
            port: Some(PortRange::one(22022)),
            src: None,
            comment: None,
        });
        f.append(&Rule {
            action: "limit",
            proto: "udp",
            port: Some(PortRange::one(5060)),
            src: None,
            comment: None,
        });
        let want = WRITTEN
            .replace(":ufw-user-input - [0:0]\n", "")
            .replace("\n### LOGGING ###\n", "");
        assert_eq!(String::from_utf8(f.to_bytes()).unwrap(), want);
        let r = Rule {
            action: "allow",
            proto: "tcp",
            port: Some(PortRange { lo: 8000, hi: 8100 }),
            src: Some("10.0.0.0/8".into()),
            comment: Some("office".into()),
        };
        assert_eq!(
            r.tuple(false),
            "### tuple ### allow tcp 8000:8100 0.0.0.0/0 any 10.0.0.0/8 in comment=6f6666696365"
        );
        assert_eq!(
            r.lines(false),
            vec![
                "-A ufw-user-input -p tcp -m multiport --dports 8000:8100 -s 10.0.0.0/8 -j ACCEPT"
            ]
        );
    }

    #[test]
    fn removing_and_inserting_keep_other_blocks() {
        let mut f = RulesFile::parse(WRITTEN.as_bytes(), false);
        let gone = f.remove_where(|t| t[2] == "22022");
        assert_eq!(gone.len(), 1);
        let mut at = 0;
        f.insert_top(
            &Rule {
                action: "deny",
                proto: "any",
                port: None,
                src: Some("198.51.100.0/24".into()),
                comment: None,
            },
            &mut at,
        );
        let want = WRITTEN.replace(
            "### tuple ### allow tcp 22022 0.0.0.0/0 any 0.0.0.0/0 in\n-A ufw-user-input -p tcp --dport 22022 -j ACCEPT\n",
            "### tuple ### deny any any 0.0.0.0/0 any 198.51.100.0/24 in\n-A ufw-user-input -s 198.51.100.0/24 -j DROP\n",
        );
        assert_eq!(String::from_utf8(f.to_bytes()).unwrap(), want);
        assert_eq!(
            f.open_ports(),
            vec![(PortRange::one(5060), "udp".to_string())]
        );
    }

    // /usr/share/ufw/iptables/user.rules of ufw 0.36.2: what /etc/ufw/user.rules holds
    // until ufw writes a rule.
    const TEMPLATE: &str = "*filter\n:ufw-user-input - [0:0]\n:ufw-user-output - [0:0]\n:ufw-user-forward - [0:0]\n:ufw-user-limit - [0:0]\n:ufw-user-limit-accept - [0:0]\n### RULES ###\n-A ufw-user-limit -m limit --limit 3/minute -j LOG --log-prefix \"[UFW LIMIT BLOCK] \"\n-A ufw-user-limit -j REJECT\n-A ufw-user-limit-accept -j ACCEPT\nCOMMIT\n";

    #[test]
    fn the_never_written_template_keeps_the_rule_order_and_its_own_lines() {
        let mut f = RulesFile::parse(TEMPLATE.as_bytes(), false);
        let rule = |action, port: Option<u16>, src: Option<&str>| Rule {
            action,
            proto: if port.is_some() { "tcp" } else { "any" },
            port: port.map(PortRange::one),
            src: src.map(str::to_string),
            comment: None,
        };
        let mut at = 0;
        f.insert_top(&rule("deny", None, Some("192.0.2.66")), &mut at);
        f.append(&rule("allow", Some(2222), None));
        f.append(&rule("allow", Some(80), None));
        let want = TEMPLATE.replace(
            "### RULES ###\n",
            "### RULES ###\n\n### tuple ### deny any any 0.0.0.0/0 any 192.0.2.66 in\n-A ufw-user-input -s 192.0.2.66 -j DROP\n\n### tuple ### allow tcp 2222 0.0.0.0/0 any 0.0.0.0/0 in\n-A ufw-user-input -p tcp --dport 2222 -j ACCEPT\n\n### tuple ### allow tcp 80 0.0.0.0/0 any 0.0.0.0/0 in\n-A ufw-user-input -p tcp --dport 80 -j ACCEPT\n\n### END RULES ###\n",
        );
        // The blocked host comes before the ports (a port rule first would let it in).
        assert_eq!(String::from_utf8(f.to_bytes()).unwrap(), want);
        // Taking a rule out again leaves the template's ufw-user-limit lines alone.
        assert_eq!(f.remove_where(|t| t[2] == "80").len(), 1);
        assert!(
            String::from_utf8(f.to_bytes())
                .unwrap()
                .contains("### END RULES ###\n-A ufw-user-limit -m limit")
        );
        // A second run adds nothing.
        let mut g = RulesFile::parse(&f.to_bytes(), false);
        assert!(!g.append(&rule("allow", Some(2222), None)));
        assert_eq!(g.to_bytes(), f.to_bytes());
    }

    #[test]
    fn rules_with_a_comment_count_as_open_ports() {
        let f = RulesFile::parse(
            b"### RULES ###\n\n### tuple ### allow tcp 80 0.0.0.0/0 any 0.0.0.0/0 in comment=776562\n-A ufw-user-input -p tcp --dport 80 -j ACCEPT\n\n### END RULES ###\n",
            false,
        );
        assert_eq!(
            f.open_ports(),
            vec![(PortRange::one(80), "tcp".to_string())]
        );
    }

    #[test]
    fn application_profile_rules_count_as_open_ports() {
        let f = RulesFile::parse(
            b"### RULES ###\n\n### tuple ### allow tcp 22 0.0.0.0/0 any 0.0.0.0/0 OpenSSH - in\n-A ufw-user-input -p tcp --dport 22 -j ACCEPT -m comment --comment 'dapp_OpenSSH'\n\n### tuple ### allow tcp 80,443 0.0.0.0/0 any 0.0.0.0/0 Apache%20Full - in\n-A ufw-user-input -p tcp -m multiport --dports 80,443 -j ACCEPT -m comment --comment 'dapp_Apache%20Full'\n\n### END RULES ###\n",
            false,
        );
        assert_eq!(
            f.open_ports(),
            vec![(PortRange::one(22), "tcp".to_string())]
        );
    }

    // What ufw 0.36.2 wrote for `ufw allow from 198.51.100.0/24 comment 'office, 2nd
    // floor'`, `ufw deny from 192.0.2.66`, `ufw reject from 192.0.2.77`, `ufw allow in on
    // eth1 from 10.0.0.0/8`, `ufw allow from 192.0.2.5 to any port 8080 proto tcp`, `ufw deny
    // from 2001:db8:bad::/48 comment 'scanner'`, `ufw allow 22/tcp`, `ufw limit 5060/udp`,
    // `ufw allow from 2001:db8:1::/48 to any port 5060 proto udp` (chains left out), and in
    // user6.rules an 8443/tcp open to everyone over IPv6 only.
    const ADMIN4: &str = "*filter\n### RULES ###\n\n### tuple ### allow any any 0.0.0.0/0 any 198.51.100.0/24 in comment=6f66666963652c20326e6420666c6f6f72\n-A ufw-user-input -s 198.51.100.0/24 -j ACCEPT\n\n### tuple ### deny any any 0.0.0.0/0 any 192.0.2.66 in\n-A ufw-user-input -s 192.0.2.66 -j DROP\n\n### tuple ### reject any any 0.0.0.0/0 any 192.0.2.77 in\n-A ufw-user-input -s 192.0.2.77 -j REJECT\n\n### tuple ### allow any any 0.0.0.0/0 any 10.0.0.0/8 in_eth1\n-A ufw-user-input -i eth1 -s 10.0.0.0/8 -j ACCEPT\n\n### tuple ### allow tcp 8080 0.0.0.0/0 any 192.0.2.5 in\n-A ufw-user-input -p tcp --dport 8080 -s 192.0.2.5 -j ACCEPT\n\n### tuple ### allow tcp 22 0.0.0.0/0 any 0.0.0.0/0 in\n-A ufw-user-input -p tcp --dport 22 -j ACCEPT\n\n### tuple ### limit udp 5060 0.0.0.0/0 any 0.0.0.0/0 in\n-A ufw-user-input -p udp --dport 5060 -m conntrack --ctstate NEW -m recent --set\n-A ufw-user-input -p udp --dport 5060 -m conntrack --ctstate NEW -m recent --update --seconds 30 --hitcount 6 -j ufw-user-limit\n-A ufw-user-input -p udp --dport 5060 -j ufw-user-limit-accept\n\n### END RULES ###\nCOMMIT\n";
    const ADMIN6: &str = "*filter\n### RULES ###\n\n### tuple ### deny any any ::/0 any 2001:db8:bad::/48 in comment=7363616e6e6572\n-A ufw6-user-input -s 2001:db8:bad::/48 -j DROP\n\n### tuple ### allow tcp 22 ::/0 any ::/0 in\n-A ufw6-user-input -p tcp --dport 22 -j ACCEPT\n\n### tuple ### limit udp 5060 ::/0 any ::/0 in\n-A ufw6-user-input -p udp --dport 5060 -m conntrack --ctstate NEW -m recent --set\n-A ufw6-user-input -p udp --dport 5060 -m conntrack --ctstate NEW -m recent --update --seconds 30 --hitcount 6 -j ufw6-user-limit\n-A ufw6-user-input -p udp --dport 5060 -j ufw6-user-limit-accept\n\n### tuple ### allow udp 5060 ::/0 any 2001:db8:1::/48 in\n-A ufw6-user-input -p udp --dport 5060 -s 2001:db8:1::/48 -j ACCEPT\n\n### tuple ### allow tcp 8443 ::/0 any ::/0 in\n-A ufw6-user-input -p tcp --dport 8443 -j ACCEPT\n\n### END RULES ###\nCOMMIT\n";

    use crate::root::test_root as root_with;

    #[test]
    fn the_admins_host_rules_read_back_with_their_comments() {
        let (_t, root) = root_with(&[(USER_RULES, ADMIN4), (USER6_RULES, ADMIN6)]);
        // plain `allow|deny from HOST` only: reject, an interface rule and port rules are
        // not hosts (they stay in the files as they are)
        assert_eq!(
            previous_hosts(&root),
            vec![
                (
                    "198.51.100.0/24".to_string(),
                    false,
                    Some("office, 2nd floor".to_string())
                ),
                ("192.0.2.66".to_string(), true, None),
                (
                    "2001:db8:bad::/48".to_string(),
                    true,
                    Some("scanner".to_string())
                ),
            ]
        );
        // the ports open to everyone in either family (8443 is in user6.rules only)
        let ports = previous_ports(&root);
        assert_eq!(
            ports,
            vec![
                (PortRange::one(22), "tcp".to_string()),
                (PortRange::one(5060), "udp".to_string()),
                (PortRange::one(8443), "tcp".to_string()),
            ]
        );
        // no files, nothing: never a panic
        let (_t, empty) = root_with(&[]);
        assert!(previous_hosts(&empty).is_empty() && previous_ports(&empty).is_empty());
    }

    #[test]
    fn comments_decode_and_odd_ones_are_not_guessed() {
        let c = |l: &str| tuple_comment(l);
        assert_eq!(
            c("### tuple ### allow any any 0.0.0.0/0 any 10.0.0.1 in comment=c3a974c3a9"),
            Some("été".to_string())
        );
        assert_eq!(
            c("### tuple ### allow any any 0.0.0.0/0 any 10.0.0.1 in comment=abc"),
            None
        );
        assert_eq!(
            c("### tuple ### allow any any 0.0.0.0/0 any 10.0.0.1 in comment=zz"),
            None
        );
        assert_eq!(
            c("### tuple ### allow any any 0.0.0.0/0 any 10.0.0.1 in"),
            None
        );
    }

    #[test]
    fn a_new_comment_replaces_the_old_one_in_place_never_a_second_rule() {
        let mut f = RulesFile::parse(ADMIN4.as_bytes(), false);
        let mut r = Rule {
            action: "allow",
            proto: "any",
            port: None,
            src: Some("198.51.100.0/24".into()),
            comment: Some("office, 3rd floor".into()),
        };
        let mut at = 0;
        assert!(f.insert_top(&r, &mut at));
        let out = String::from_utf8(f.to_bytes()).unwrap();
        assert_eq!(
            out,
            ADMIN4.replace(
                "comment=6f66666963652c20326e6420666c6f6f72",
                &format!("comment={}", hex("office, 3rd floor"))
            )
        );
        assert_eq!(at, 0);
        // the same again, or no comment: nothing changes
        assert!(!f.insert_top(&r, &mut at));
        r.comment = None;
        assert!(!f.insert_top(&r, &mut at));
        assert_eq!(String::from_utf8(f.to_bytes()).unwrap(), out);
    }

    #[test]
    fn live_steps_reload_before_sshd_and_keep_the_old_port_until_confirm() {
        let (a, c) = live_steps(&[22]);
        assert_eq!(a.len(), 2);
        let Action::Command(r) = &a[0] else { panic!() };
        assert!(r.argv[2].ends_with("ufw reload"));
        assert_eq!(r.undo.len(), 1);
        let Action::Command(w) = &a[1] else { panic!() };
        // Not in ufw-user-input: ufw reloads that chain at every rule change (a fail2ban ban).
        assert!(w.argv[2].contains("iptables -I ufw-after-input -p tcp --dport 22 -j ACCEPT"));
        assert!(!w.argv[2].contains("user-input"));
        assert_eq!(c.len(), 1);
    }

    proptest::proptest! {
        /// Any rules-file-like text: the readers never panic; a host rule inserted with one
        /// comment and then another is there once (no second copy), with the second comment; taking it out
        /// leaves every other line.
        #[test]
        fn host_rules_are_there_once_whatever_their_comments(
            parts in proptest::collection::vec(proptest::sample::select(vec![
                "### RULES ###", "### END RULES ###", "",
                "### tuple ### allow any any 0.0.0.0/0 any 198.51.100.9 in comment=6f6c64",
                "### tuple ### allow any any 0.0.0.0/0 any 198.51.100.9 in",
                "-A ufw-user-input -s 198.51.100.9 -j ACCEPT",
                "### tuple ### deny any any 0.0.0.0/0 any 192.0.2.66 in comment=zz",
                "### tuple ### allow tcp 22 0.0.0.0/0 any 0.0.0.0/0 in comment=",
                "### tuple ### limit udp 5060 0.0.0.0/0 any 0.0.0.0/0 in",
                "### tuple ###", "COMMIT",
            ]), 0..20),
            c1 in "[a-z ,]{1,10}",
            c2 in "[a-z ,]{1,10}",
        ) {
            let text: String = std::iter::once("### RULES ###")
                .chain(parts.iter().copied())
                .map(|p| format!("{p}\n"))
                .collect();
            let mut f = RulesFile::parse(text.as_bytes(), false);
            let _ = (f.hosts(), f.open_ports(), f.tuples());
            let mut r = Rule {
                action: "allow",
                proto: "any",
                port: None,
                src: Some("198.51.100.9".into()),
                comment: Some(c1),
            };
            let fields = r.tuple(false);
            let copies = |f: &RulesFile| {
                f.lines
                    .iter()
                    .filter(|l| tuple_fields(l).is_some() && tuple_fields(l) == tuple_fields(&fields))
                    .count()
            };
            let had = copies(&f);
            let mut at = 0;
            f.insert_top(&r, &mut at);
            r.comment = Some(c2.clone());
            f.insert_top(&r, &mut at);
            proptest::prop_assert_eq!(copies(&f), had.max(1));
            let want = r.tuple(false);
            proptest::prop_assert!(f.lines.iter().any(|l| l.trim_end() == want));
            let gone = f.remove_where(|t| {
                t.len() == 7 && t[0] == "allow" && t[5] == "198.51.100.9" && t[1] == "any"
            });
            proptest::prop_assert!(!gone.is_empty());
            proptest::prop_assert!(!f.hosts().iter().any(|(h, b, _)| h == "198.51.100.9" && !b));
        }
    }
}
