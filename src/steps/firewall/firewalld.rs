//! firewalld: the permanent configuration, edited the way `firewall-offline-cmd` would
//! change it but line by line (every line pbx-harden does not change stays byte for byte):
//!
//! - the default zone (`DefaultZone` of firewalld.conf; its file under /etc/firewalld/zones,
//!   started from firewalld's own copy in /usr/lib/firewalld/zones when there is none yet):
//!   `<port>` elements for the SSH port and the answers' ports (ports the answers leave out
//!   go, when they list ports), the `ssh` service (22) removed after a move, a rich rule that
//!   lets the admin's own address reach the SSH port, rich rules for APF-style advanced
//!   entries;
//! - trusted hosts as `<source>`s of the `trusted` zone, blocked hosts of the `drop` zone.
//!
//! firewalld's rich-rule `limit` counts all sources together, so the per-source SIP rate
//! limit of the nftables backend is not offered here. The result is judged by the real
//! `firewall-offline-cmd --check-config` in a mount namespace over a copy of /etc/firewalld.
//!
//! On the live system apply runs `firewall-cmd --reload` before sshd moves (when firewalld
//! runs), then opens the old SSH port in the runtime configuration only, until confirm
//! reloads again; rollback restores the files and reloads.

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
fn element(line: &str) -> Option<(String, Vec<(String, String)>)> {
    let t = line.trim();
    let body = t.strip_prefix('<')?.strip_suffix("/>")?;
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

    fn has_line(&self, l: &str) -> bool {
        self.lines.iter().any(|x| x.trim() == l)
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

    /// Remove every one-line element for which `f` is true; returns what was removed.
    fn remove_where(&mut self, f: impl Fn(&str, &[(String, String)]) -> bool) -> Vec<String> {
        let mut out = Vec::new();
        self.lines.retain(|l| match element(l) {
            Some((tag, attrs)) if f(&tag, &attrs) => {
                out.push(l.trim().to_string());
                false
            }
            _ => true,
        });
        out
    }

    /// The `<port>` elements: (port range, protocol).
    pub fn ports(&self) -> Vec<(PortRange, String)> {
        self.lines
            .iter()
            .filter_map(|l| {
                let (tag, attrs) = element(l)?;
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

    pub fn services(&self) -> Vec<String> {
        self.lines
            .iter()
            .filter_map(|l| {
                let (tag, attrs) = element(l)?;
                (tag == "service")
                    .then(|| attr(&attrs, "name").map(str::to_string))
                    .flatten()
            })
            .collect()
    }

    pub fn sources(&self) -> Vec<String> {
        self.lines
            .iter()
            .filter_map(|l| {
                let (tag, attrs) = element(l)?;
                (tag == "source")
                    .then(|| attr(&attrs, "address").map(str::to_string))
                    .flatten()
            })
            .collect()
    }

    pub fn text(&self) -> String {
        self.lines.concat()
    }
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
/// until confirm reloads.
pub fn live_steps(zone: &str, window: &[u16]) -> (Vec<Action>, Vec<ConfirmStep>) {
    let mut actions = vec![cmd(
        if_running("--reload"),
        vec![if_running("--reload")],
        true,
    )];
    let mut confirm = Vec::new();
    if !window.is_empty() {
        let ports: Vec<String> = window
            .iter()
            .map(|p| format!("--add-port={p}/tcp"))
            .collect();
        actions.push(cmd(
            if_running(&format!("--zone={zone} {}", ports.join(" "))),
            Vec::new(),
            true,
        ));
        confirm.push(ConfirmStep::Run {
            argv: if_running("--reload"),
        });
    }
    (actions, confirm)
}

fn refuse_names(b: &mut Builder<'_>, key: &str, items: &[HostItem]) -> Vec<HostItem> {
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
        } else {
            out.push(i.clone());
        }
    }
    out
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
    for r in &tcp {
        zone.add(&port_line(r, "tcp"));
    }
    for r in &udp {
        zone.add(&port_line(r, "udp"));
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
                zone.add(&r);
            }
        }
    }
    for t in &trusted_items {
        if let Entry::Advanced(a) = &t.entry {
            for r in advanced_rules(a, "accept") {
                zone.add(&r);
            }
        }
    }
    for x in &blocked_items {
        if let Entry::Advanced(a) = &x.entry {
            for r in advanced_rules(a, "drop") {
                zone.add(&r);
            }
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
    let mut trusted_plain: Vec<String> = trusted_items
        .iter()
        .filter(|t| matches!(t.entry, Entry::Plain(_)))
        .filter_map(|t| addr(t.entry.host()))
        .collect();
    if let Some(a) = spec.trust_admin {
        let s = a.to_string();
        if !trusted_plain.contains(&s)
            && !trusted_items.iter().any(|t| {
                matches!(t.entry, Entry::Plain(_)) && t.entry.host().covers(a) == Some(true)
            })
        {
            trusted_plain.push(s);
        }
    }
    let blocked_plain: Vec<String> = blocked_items
        .iter()
        .filter(|t| matches!(t.entry, Entry::Plain(_)))
        .filter_map(|t| addr(t.entry.host()))
        .collect();
    let mut changes: Vec<(String, Vec<u8>, Vec<u8>)> = Vec::new();
    let after = zone.to_bytes();
    if after != setup.zone_before {
        changes.push((setup.zone_file.clone(), setup.zone_before.clone(), after));
    }
    // A source belongs to one zone: each list goes into its zone and out of the other.
    if !trusted_plain.is_empty() || !blocked_plain.is_empty() {
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
            z.remove_where(|tag, attrs| {
                tag == "source"
                    && attr(attrs, "address").is_some_and(|a| other.iter().any(|o| o == a))
            });
            for s in mine.iter() {
                z.add(&format!("<source address=\"{s}\"/>"));
            }
            let a = z.to_bytes();
            if a != before {
                changes.push((path, before, a));
            }
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
            let dropped = blocked_plain.iter().any(|s| {
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

    #[test]
    fn live_steps_reload_before_sshd_and_keep_the_old_port_until_confirm() {
        let (a, c) = live_steps("public", &[22]);
        assert_eq!(a.len(), 2);
        let Action::Command(r) = &a[0] else { panic!() };
        assert!(r.argv[2].ends_with("firewall-cmd --reload"));
        assert_eq!(r.undo.len(), 1);
        let Action::Command(w) = &a[1] else { panic!() };
        assert!(w.argv[2].ends_with("firewall-cmd --zone=public --add-port=22/tcp"));
        assert_eq!(c.len(), 1);
    }
}
