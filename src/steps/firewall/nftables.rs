//! nftables: pbx-harden's own table `inet pbx_harden` in its own file
//! (`/etc/nftables.d/pbx-harden.nft`), included from the distribution's nftables
//! configuration (`/etc/nftables.conf`, or `/etc/sysconfig/nftables.conf` on Red Hat) by one
//! added `include` line (every other byte of that file stays), and the nftables service
//! enabled so that it loads at boot.
//!
//! The file replaces the table as one transaction (`table …` / `delete table …` / the
//! table), so loading it again, alone or through the distribution's file after its
//! `flush ruleset`, always gives exactly this table. Its input chain drops by default and
//! accepts, in order: loopback, established/related, the admin's own address on the SSH
//! port(s), trusted hosts (everything), then drops blocked hosts, then ICMP, a per-source
//! rate limit on the SIP ports (trusted hosts never reach it), and the open TCP/UDP ports.
//! Names are refused: nft resolves them once, when it loads, and a boot without DNS would
//! leave the table out.
//!
//! - apply (live system) saves the table as it runs now (`nft list table`, empty when
//!   absent) into the pending transaction, loads the file (`nft -f`) *before* sshd moves,
//!   and keeps the old SSH port open until confirm (`nft add element … tcp_open`);
//! - confirm loads the file again (`nft -f`): the old port closes;
//! - rollback restores the files byte for byte (the include line and our file go, the
//!   service's boot link too), then deletes the table and loads the saved one back, if
//!   there was one: `nft list ruleset` is what it was.

use std::net::IpAddr;

use crate::config::trust::{Advanced, Entry, Flow, Host};
use crate::exec::argv;
use crate::host::state::STATE_DIR;
use crate::model::actions::CommandAction;
use crate::model::{Action, Builder, CheckStatus, ConfirmStep};
use crate::steps::firewall::answers::Answers;
use crate::steps::firewall::ports::{PortRange, human_list};
use crate::steps::firewall::{Ctx, HostItem, Spec, hosts_line};

/// Our file, included from the distribution's configuration.
pub const NFT_FILE: &str = "/etc/nftables.d/pbx-harden.nft";
/// The distribution's configuration the nftables service loads (Debian/Ubuntu, Red Hat).
pub const CONFS: [&str; 2] = ["/etc/nftables.conf", "/etc/sysconfig/nftables.conf"];
pub const TABLE: &str = "pbx_harden";
/// The table as it ran before apply (empty: there was none).
pub const SNAPSHOT: &str = "/var/lib/pbx-harden/pending/nft-table.before";
/// Per-source packets a second on the SIP ports before packets are dropped (trusted exempt).
pub const SIP_RATE: u32 = 50;
/// The burst a source may send at once (phones re-registering after a restart).
pub const SIP_BURST: u32 = 200;
/// Unit files of the nftables service, by distribution.
const UNITS: [&str; 3] = [
    "/lib/systemd/system/nftables.service",
    "/usr/lib/systemd/system/nftables.service",
    "/etc/systemd/system/nftables.service",
];
const WHY: &str = "nftables firewall (pbx-harden's own table)";

/// The `include` line added to the distribution's configuration.
pub fn include_line() -> String {
    format!("include \"{NFT_FILE}\"")
}

/// What the table says, backend-independent and validated.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ruleset {
    pub tcp: Vec<PortRange>,
    pub udp: Vec<PortRange>,
    pub ssh_ports: Vec<u16>,
    /// The admin's address: always passes to the SSH port(s).
    pub admin: Option<IpAddr>,
    pub trusted: Vec<HostItem>,
    pub blocked: Vec<HostItem>,
    /// SIP ports rate-limited per source (udp, tcp), when open.
    pub sip_udp: Vec<u16>,
    pub sip_tcp: Vec<u16>,
}

/// An address or network as nft writes it (host bits cleared).
fn nft_host(h: &Host) -> Option<String> {
    match h {
        Host::Ip(ip) => Some(ip.to_string()),
        Host::Net(ip, len) => Some(match ip {
            IpAddr::V4(v4) => {
                let bits = u32::from(*v4);
                let mask = if *len == 0 {
                    0
                } else {
                    u32::MAX << (32 - *len)
                };
                format!("{}/{len}", std::net::Ipv4Addr::from(bits & mask))
            }
            IpAddr::V6(v6) => {
                let bits = u128::from(*v6);
                let mask = if *len == 0 {
                    0
                } else {
                    u128::MAX << (128 - *len)
                };
                format!("{}/{len}", std::net::Ipv6Addr::from(bits & mask))
            }
        }),
        Host::Fqdn(_) => None,
    }
}

fn family(h: &Host) -> &'static str {
    if h.is_v6() { "ip6" } else { "ip" }
}

fn ports_text(r: &[PortRange]) -> String {
    r.iter()
        .map(|p| p.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

fn set_block(out: &mut String, name: &str, ty: &str, flags: &str, elems: &[String]) {
    out.push_str(&format!("\tset {name} {{\n\t\ttype {ty}\n"));
    if !flags.is_empty() {
        out.push_str(&format!("\t\tflags {flags}\n"));
    }
    if !elems.is_empty() {
        out.push_str(&format!("\t\telements = {{ {} }}\n", elems.join(", ")));
    }
    out.push_str("\t}\n\n");
}

/// One rule for an advanced (APF-style) entry, in the chain its direction says.
fn advanced_rules(a: &Advanced, verdict: &str) -> Vec<(&'static str, String)> {
    let Some(host) = nft_host(&a.host) else {
        return Vec::new();
    };
    let addr = format!(
        "{} {} {host}",
        family(&a.host),
        match a.host_flow {
            Flow::Source => "saddr",
            Flow::Dest => "daddr",
        }
    );
    let ports = if a.ports.0 == a.ports.1 {
        a.ports.0.to_string()
    } else {
        format!("{}-{}", a.ports.0, a.ports.1)
    };
    let dir = match a.port_flow {
        Flow::Source => "sport",
        Flow::Dest => "dport",
    };
    let l4 = match a.proto.as_deref() {
        Some(p) => format!("{p} {dir} {ports}"),
        None => format!("meta l4proto {{ tcp, udp }} th {dir} {ports}"),
    };
    let rule = format!("{addr} {l4} {verdict}");
    let mut out = Vec::new();
    if a.direction.as_deref() != Some("out") {
        out.push(("input", rule.clone()));
    }
    if a.direction.as_deref() != Some("in") {
        out.push(("output", rule));
    }
    out
}

impl Ruleset {
    /// The file's text: a header that says where it comes from (and what it opens, read back
    /// by the next run when the answers leave a list out), then the table.
    pub fn render(&self) -> String {
        let mut o = String::new();
        o.push_str("#!/usr/sbin/nft -f\n");
        o.push_str(
            "# Written by pbx-harden (firewall.backend = \"nftables\"). Change the answers and \
             run pbx-harden again\n# rather than editing this file: the next run rewrites it.\n",
        );
        o.push_str(&format!("# tcp_ports: {}\n", ports_text(&self.tcp)));
        o.push_str(&format!("# udp_ports: {}\n", ports_text(&self.udp)));
        // The hosts with their comments, read back by the next run (the wizard's Hosts
        // screen starts from them: the table is rewritten from the answers).
        for (kind, items) in [("trusted", &self.trusted), ("blocked", &self.blocked)] {
            for i in items.iter() {
                match i
                    .comment
                    .as_deref()
                    .map(str::trim)
                    .filter(|c| !c.is_empty())
                {
                    Some(c) => o.push_str(&format!("# {kind}: {} {c}\n", i.text)),
                    None => o.push_str(&format!("# {kind}: {}\n", i.text)),
                }
            }
        }
        o.push_str(&format!(
            "# Loading it replaces the table as one transaction.\ntable inet {TABLE}\ndelete table inet {TABLE}\n\n"
        ));
        o.push_str(&format!("table inet {TABLE} {{\n"));
        let plain = |items: &[HostItem], v6: bool| -> Vec<String> {
            items
                .iter()
                .filter_map(|i| match &i.entry {
                    Entry::Plain(h) if h.is_v6() == v6 => nft_host(h),
                    _ => None,
                })
                .collect()
        };
        set_block(&mut o, "tcp_open", "inet_service", "interval", &{
            self.tcp.iter().map(|p| p.to_string()).collect::<Vec<_>>()
        });
        set_block(&mut o, "udp_open", "inet_service", "interval", &{
            self.udp.iter().map(|p| p.to_string()).collect::<Vec<_>>()
        });
        set_block(
            &mut o,
            "trusted_v4",
            "ipv4_addr",
            "interval",
            &plain(&self.trusted, false),
        );
        set_block(
            &mut o,
            "trusted_v6",
            "ipv6_addr",
            "interval",
            &plain(&self.trusted, true),
        );
        set_block(
            &mut o,
            "blocked_v4",
            "ipv4_addr",
            "interval",
            &plain(&self.blocked, false),
        );
        set_block(
            &mut o,
            "blocked_v6",
            "ipv6_addr",
            "interval",
            &plain(&self.blocked, true),
        );
        let sip = !self.sip_udp.is_empty() || !self.sip_tcp.is_empty();
        if sip {
            for (name, ty) in [("sip_flood_v4", "ipv4_addr"), ("sip_flood_v6", "ipv6_addr")] {
                o.push_str(&format!(
                    "\tset {name} {{\n\t\ttype {ty}\n\t\tsize 65535\n\t\tflags dynamic,timeout\n\t\ttimeout 1m\n\t}}\n\n"
                ));
            }
        }
        let mut input: Vec<String> = vec![
            "iif \"lo\" accept".into(),
            "ct state established,related accept".into(),
            "ct state invalid drop".into(),
        ];
        let mut output: Vec<String> = Vec::new();
        let ssh = self
            .ssh_ports
            .iter()
            .map(u16::to_string)
            .collect::<Vec<_>>()
            .join(", ");
        if let Some(a) = self.admin {
            let h = Host::Ip(a);
            input.push(format!(
                "{} saddr {a} tcp dport {{ {ssh} }} accept comment \"the admin's own address\"",
                family(&h)
            ));
        }
        input.push("ip saddr @trusted_v4 accept".into());
        input.push("ip6 saddr @trusted_v6 accept".into());
        for t in &self.trusted {
            if let Entry::Advanced(a) = &t.entry {
                for (chain, r) in advanced_rules(a, "accept") {
                    match chain {
                        "input" => input.push(r),
                        _ => output.push(r),
                    }
                }
            }
        }
        input.push("ip saddr @blocked_v4 drop".into());
        input.push("ip6 saddr @blocked_v6 drop".into());
        for x in &self.blocked {
            if let Entry::Advanced(a) = &x.entry {
                for (chain, r) in advanced_rules(a, "drop") {
                    match chain {
                        "input" => input.push(r),
                        _ => output.push(r),
                    }
                }
            }
        }
        input.push(
            "ip protocol icmp icmp type { echo-request, destination-unreachable, time-exceeded, \
             parameter-problem } accept"
                .into(),
        );
        // By number: a minimal system has no /etc/protocols to resolve "ipv6-icmp" (nft then
        // refuses the whole file).
        input.push("meta l4proto 58 accept comment \"ICMPv6\"".into());
        // The box's own address must survive the window and beyond: a lease answer from a
        // DHCP server does not always match a tracked connection (the DISCOVER went to the
        // broadcast or multicast address), so they pass, as ufw's before.rules and
        // firewalld's dhcpv6-client do.
        input.push("udp sport 67 udp dport 68 accept comment \"DHCP replies\"".into());
        input.push(
            "ip6 saddr fe80::/10 udp sport 547 udp dport 546 accept comment \"DHCPv6 replies\""
                .into(),
        );
        let limit = format!("limit rate over {SIP_RATE}/second burst {SIP_BURST} packets");
        for (proto, list) in [("udp", &self.sip_udp), ("tcp", &self.sip_tcp)] {
            if list.is_empty() {
                continue;
            }
            let p = list
                .iter()
                .map(u16::to_string)
                .collect::<Vec<_>>()
                .join(", ");
            input.push(format!(
                "{proto} dport {{ {p} }} update @sip_flood_v4 {{ ip saddr {limit} }} drop comment \"SIP flood\""
            ));
            input.push(format!(
                "{proto} dport {{ {p} }} update @sip_flood_v6 {{ ip6 saddr {limit} }} drop comment \"SIP flood\""
            ));
        }
        input.push("tcp dport @tcp_open accept".into());
        input.push("udp dport @udp_open accept".into());
        o.push_str("\tchain input {\n\t\ttype filter hook input priority filter; policy drop;\n");
        for r in &input {
            o.push_str(&format!("\t\t{r}\n"));
        }
        o.push_str("\t}\n\n");
        output.insert(0, "ip daddr @blocked_v4 drop".into());
        output.insert(1, "ip6 daddr @blocked_v6 drop".into());
        o.push_str(
            "\tchain output {\n\t\ttype filter hook output priority filter; policy accept;\n",
        );
        for r in &output {
            o.push_str(&format!("\t\t{r}\n"));
        }
        o.push_str("\t}\n}\n");
        o
    }

    /// Does the table let `from` reach `port/proto` (a new connection)? The model of the
    /// input chain the lockout checks use; the network-namespace test proves it for real.
    pub fn passes(&self, from: IpAddr, proto: &str, port: u16) -> bool {
        if from.is_loopback() {
            return true;
        }
        if proto == "tcp" && self.admin == Some(from) && self.ssh_ports.contains(&port) {
            return true;
        }
        let covers = |i: &HostItem| i.entry.host().covers(from) == Some(true);
        let adv_hit = |i: &HostItem| match &i.entry {
            Entry::Advanced(a) => {
                a.host_flow == Flow::Source
                    && a.direction.as_deref() != Some("out")
                    && a.port_flow == Flow::Dest
                    && a.proto.as_deref().is_none_or(|p| p == proto)
                    && a.covers_port(port)
                    && covers(i)
            }
            Entry::Plain(_) => covers(i),
        };
        if self.trusted.iter().any(adv_hit) {
            return true;
        }
        if self.blocked.iter().any(adv_hit) {
            return false;
        }
        let list = if proto == "tcp" { &self.tcp } else { &self.udp };
        list.iter().any(|r| r.contains(port))
    }
}

/// The port lists a previous run wrote into the header of our file.
pub fn previous_lists(file: &str) -> (Option<Vec<PortRange>>, Option<Vec<PortRange>>) {
    let get = |key: &str| {
        file.lines().take(10).find_map(|l| {
            let v = l.strip_prefix(&format!("# {key}: "))?;
            let mut out = Vec::new();
            for t in v.split(',').map(str::trim).filter(|t| !t.is_empty()) {
                let r = match t.split_once('-') {
                    Some((a, b)) => PortRange {
                        lo: a.parse().ok()?,
                        hi: b.parse().ok()?,
                    },
                    None => PortRange::one(t.parse().ok()?),
                };
                out.push(r);
            }
            Some(out)
        })
    };
    (get("tcp_ports"), get("udp_ports"))
}

/// The hosts a previous run wrote into the header of our file: (host, blocked, comment).
pub fn previous_hosts(file: &str) -> Vec<(String, bool, Option<String>)> {
    let mut out = Vec::new();
    for l in file.lines() {
        if !l.starts_with('#') {
            break;
        }
        for (kind, blocked) in [("# trusted: ", false), ("# blocked: ", true)] {
            if let Some(rest) = l.strip_prefix(kind) {
                let (host, comment) = match rest.split_once(' ') {
                    Some((h, c)) => (h, Some(c.trim().to_string()).filter(|c| !c.is_empty())),
                    None => (rest.trim(), None),
                };
                if !host.is_empty() {
                    out.push((host.to_string(), blocked, comment));
                }
            }
        }
    }
    out
}

/// Is our file already included by `conf` (our line, or a glob that matches it)?
pub fn includes_ours(conf: &str) -> bool {
    conf.lines().any(|l| {
        let l = l.trim();
        let Some(rest) = l.strip_prefix("include") else {
            return false;
        };
        let path = rest.trim().trim_matches('"');
        path == NFT_FILE || glob::Pattern::new(path).is_ok_and(|p| p.matches(NFT_FILE))
    })
}

/// The distribution's configuration with our include line appended (every other byte stays;
/// a missing final newline is added first, as an editor would).
pub fn with_include(conf: &[u8]) -> Vec<u8> {
    let mut out = conf.to_vec();
    if !out.is_empty() && !out.ends_with(b"\n") {
        out.push(b'\n');
    }
    out.extend_from_slice(include_line().as_bytes());
    out.push(b'\n');
    out
}

/// The unit's `WantedBy=` targets (where `systemctl enable` puts its link).
fn wanted_by(unit: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut install = false;
    for l in unit.lines() {
        let l = l.trim();
        if l.starts_with('[') {
            install = l == "[Install]";
        } else if install && let Some(v) = l.strip_prefix("WantedBy=") {
            out.extend(v.split_whitespace().map(str::to_string));
        }
    }
    out
}

/// Where nftables is set up on this root: the distribution's configuration and the unit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NftSetup {
    pub conf: String,
    /// `etc/systemd/system/<target>.wants/nftables.service` links `systemctl enable` makes.
    pub enable_links: Vec<String>,
    /// The service is enabled already.
    pub enabled: bool,
}

pub fn setup(root: &crate::root::Root) -> Result<NftSetup, String> {
    let nft = ["/usr/sbin/nft", "/sbin/nft", "/usr/bin/nft"]
        .iter()
        .any(|p| root.exists(p));
    let conf = CONFS.iter().find(|c| root.exists(c));
    let unit = UNITS.iter().find_map(|u| root.read_text(u).ok().flatten());
    let (Some(conf), Some(unit), true) = (conf, unit, nft) else {
        return Err(format!(
            "nftables is not installed here (nft, {} and nftables.service are needed); install \
             the nftables package first",
            CONFS.join(" or ")
        ));
    };
    let targets = wanted_by(&unit);
    let enable_links: Vec<String> = targets
        .iter()
        .map(|t| format!("/etc/systemd/system/{t}.wants/nftables.service"))
        .collect();
    let enabled = !enable_links.is_empty() && enable_links.iter().any(|l| root.exists(l));
    Ok(NftSetup {
        conf: conf.to_string(),
        enable_links,
        enabled,
    })
}

/// Check a ruleset with the real `nft -c -f` (nothing is loaded).
pub fn nft_check(run: &dyn crate::exec::Runner, text: &str) -> CheckStatus {
    let Some(nft) = crate::host::find_program("nft") else {
        return CheckStatus::Skipped("nft is not installed on this host".into());
    };
    let dir = match tempdir() {
        Ok(d) => d,
        Err(e) => return CheckStatus::Skipped(format!("no temporary file: {e}")),
    };
    let f = dir.join("pbx-harden.nft");
    if let Err(e) = std::fs::write(&f, text) {
        let _ = std::fs::remove_dir_all(&dir);
        return CheckStatus::Skipped(format!("no temporary file: {e}"));
    }
    let out = run.run(
        &[
            nft.display().to_string(),
            "-c".into(),
            "-f".into(),
            f.display().to_string(),
        ],
        None,
    );
    let _ = std::fs::remove_dir_all(&dir);
    match out {
        Ok(o) if o.ok() => CheckStatus::Pass("nft -c -f accepts the table".into()),
        Ok(o) if o.stderr.contains("Operation not permitted") => {
            CheckStatus::Skipped("nft -c needs root (CAP_NET_ADMIN) to check a ruleset".into())
        }
        Ok(o) => CheckStatus::Fail(format!(
            "nft -c -f refuses the table: {}",
            o.stderr
                .trim()
                .lines()
                .take(6)
                .collect::<Vec<_>>()
                .join(" | ")
        )),
        Err(e) => CheckStatus::Skipped(format!("nft could not run: {e}")),
    }
}

/// A fresh private directory under the temporary directory (unique per call).
pub(crate) fn tempdir() -> std::io::Result<std::path::PathBuf> {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let d = std::env::temp_dir().join(format!(
        "pbx-harden-check-{}-{}-{nanos}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir(&d)?;
    Ok(d)
}

/// Save the table as it runs now (an empty file when there is none).
pub fn save_argv() -> Vec<String> {
    save_argv_to(SNAPSHOT)
}

/// `save_argv` into another file (the tests keep it out of the host's state directory).
pub fn save_argv_to(file: &str) -> Vec<String> {
    argv(&[
        "sh",
        "-c",
        "nft list table inet \"$2\" > \"$1\" 2>/dev/null || : > \"$1\"",
        "sh",
        file,
        TABLE,
    ])
}

/// Rollback: our table goes; the one saved at apply (if any) is loaded back.
pub fn restore_argv() -> Vec<String> {
    restore_argv_from(SNAPSHOT)
}

pub fn restore_argv_from(file: &str) -> Vec<String> {
    argv(&[
        "sh",
        "-c",
        "nft list table inet \"$2\" >/dev/null 2>&1 && { nft delete table inet \"$2\" || exit 1; }; \
         if [ -s \"$1\" ]; then nft -f \"$1\"; fi",
        "sh",
        file,
        TABLE,
    ])
}

fn cmd(argv: Vec<String>, undo: Vec<Vec<String>>, touches: Vec<String>, state: bool) -> Action {
    Action::Command(CommandAction {
        argv,
        undo,
        touches,
        changes_state: state,
    })
}

/// The live system's commands: save the running table, load the file, and keep the old SSH
/// port(s) open until confirm (the file no longer has them; confirm loads it again).
pub fn live_steps(
    old_ssh_ports: &[u16],
    moved: bool,
    tcp: &[PortRange],
) -> (Vec<Action>, Vec<ConfirmStep>) {
    debug_assert!(SNAPSHOT.starts_with(STATE_DIR));
    let mut actions = vec![
        cmd(save_argv(), Vec::new(), Vec::new(), false),
        cmd(
            argv(&["nft", "-f", NFT_FILE]),
            vec![restore_argv()],
            Vec::new(),
            true,
        ),
    ];
    let window: Vec<String> = old_ssh_ports
        .iter()
        .filter(|o| moved && !tcp.iter().any(|r| r.contains(**o)))
        .map(u16::to_string)
        .collect();
    let mut confirm = Vec::new();
    if !window.is_empty() {
        actions.push(cmd(
            argv(&[
                "nft",
                "add",
                "element",
                "inet",
                TABLE,
                "tcp_open",
                &format!("{{ {} }}", window.join(", ")),
            ]),
            Vec::new(),
            Vec::new(),
            true,
        ));
        confirm.push(ConfirmStep::Run {
            argv: argv(&["nft", "-f", NFT_FILE]),
        });
    }
    (actions, confirm)
}

/// Put firewall commands before sshd's restart: the new port is open when sshd listens on it.
pub fn insert_before_ssh(actions: &mut Vec<Action>, new: Vec<Action>) {
    let at = actions
        .iter()
        .position(|a| matches!(a, Action::RestartSsh(_)))
        .unwrap_or(actions.len());
    for (i, a) in new.into_iter().enumerate() {
        actions.insert(at + i, a);
    }
}

/// Items of a trusted/blocked list nft can express; names are refused.
pub(crate) fn addresses_only(b: &mut Builder<'_>, key: &str, items: &[HostItem]) -> Vec<HostItem> {
    let mut out = Vec::new();
    for i in items {
        if let Host::Fqdn(n) = i.entry.host() {
            b.error(
                key,
                format!(
                    "{}: {n} is a name; the nftables backend takes addresses and networks only \
                     (nft resolves a name once, when it loads, and a boot without DNS would leave \
                     the whole table out)",
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
    let setup = match setup(&sys.root) {
        Ok(s) => s,
        Err(e) => {
            b.error("firewall.backend", format!("\"nftables\": {e}"));
            return;
        }
    };
    let fw = answers.firewall.clone().unwrap_or_default();
    if !fw.remove.is_empty() {
        b.warn(
            "firewall.remove",
            "the nftables backend rewrites its whole table from firewall.trusted and \
             firewall.blocked: an entry left out of them is gone; remove is for APF's trust files",
        );
    }
    let before = b.current(NFT_FILE).ok().flatten();
    let prev = before
        .as_deref()
        .map(|b| previous_lists(&String::from_utf8_lossy(b)))
        .unwrap_or((None, None));
    let mut lists = [spec.tcp.clone(), spec.udp.clone()];
    for (i, (key, prev)) in [
        ("firewall.tcp_ports", prev.0),
        ("firewall.udp_ports", prev.1),
    ]
    .into_iter()
    .enumerate()
    {
        if lists[i].is_none() {
            match prev {
                Some(p) => lists[i] = Some(p),
                None => b.error(
                    key,
                    "the nftables backend opens only the ports it is told: list them (the SSH \
                     port is added; SIP 5060 and the RTP range for a PBX)",
                ),
            }
        }
    }
    let [Some(mut tcp), Some(mut udp)] = lists else {
        return;
    };
    // One order whatever order the answers (or the wizard's checklist) list them in: a rerun
    // with the same ports writes the same bytes. The SSH port(s) go first (below).
    for l in [&mut tcp, &mut udp] {
        l.sort_by_key(|r| (r.lo, r.hi));
        l.dedup();
    }
    tcp.retain(|r| !ctx.ssh_ports.iter().any(|p| *r == PortRange::one(*p)));
    // A list read back from the file still holds the old SSH port after a move.
    super::ssh_first(ctx, &mut tcp);
    let trusted_in = addresses_only(b, "firewall.trusted", &spec.trusted);
    let blocked = addresses_only(b, "firewall.blocked", &spec.blocked);
    let mut trusted = trusted_in;
    if let Some(admin) = spec.trust_admin
        && !trusted.iter().any(|t| {
            matches!(t.entry, Entry::Plain(_)) && t.entry.host().covers(admin) == Some(true)
        })
    {
        trusted.push(HostItem {
            text: admin.to_string(),
            comment: Some("pbx-harden: the admin's own address".into()),
            entry: Entry::Plain(Host::Ip(admin)),
        });
    }
    let ast = ctx.fw.asterisk.force();
    let open_udp = |p: &u16| udp.iter().any(|r| r.contains(*p));
    let open_tcp = |p: &u16| tcp.iter().any(|r| r.contains(*p));
    let rs = Ruleset {
        sip_udp: ast.sip_udp.iter().copied().filter(open_udp).collect(),
        sip_tcp: ast
            .sip_tcp
            .iter()
            .chain(&ast.sip_tls)
            .copied()
            .filter(open_tcp)
            .collect(),
        tcp,
        udp,
        ssh_ports: ctx.ssh_ports.clone(),
        admin: ctx.remote_admin(),
        trusted,
        blocked,
    };
    if b.has_errors_for("firewall") {
        return;
    }
    let text = rs.render();
    let changed = before.as_deref() != Some(text.as_bytes());
    let table = text.clone();
    b.verify("nft -c", move |b| {
        let status = nft_check(&*b.sys.runner, &table);
        b.check("nft accepts pbx-harden's table", status);
    });
    lockout_checks(b, ctx, &rs);
    let conf_before = match b.current(&setup.conf) {
        Ok(Some(c)) => c,
        _ => {
            b.error("firewall.backend", format!("cannot read {}", setup.conf));
            return;
        }
    };
    let conf_text = String::from_utf8_lossy(&conf_before).into_owned();
    other_tables_warning(b, &setup.conf, &conf_text);
    let include_needed = !includes_ours(&conf_text);
    if changed {
        b.write(NFT_FILE, Some(text.into_bytes()), 0o600, WHY);
    }
    if include_needed {
        b.write(
            &setup.conf,
            Some(with_include(&conf_before)),
            0o755,
            "nftables: include pbx-harden's table",
        );
    }
    let mut actions = Vec::new();
    if !setup.enabled {
        let mut a = argv(&["systemctl"]);
        if !sys.root.is_live() {
            a.push(format!("--root={}", sys.root.dir().display()));
        }
        a.extend(argv(&["enable", "nftables.service"]));
        actions.push(cmd(a, Vec::new(), setup.enable_links.clone(), true));
    }
    let anything = changed || include_needed || !setup.enabled;
    if sys.root.is_live() && (changed || ctx.moved) {
        let (live, confirm) = live_steps(&ctx.old_ssh_ports, ctx.moved, &rs.tcp);
        actions.extend(live);
        b.on_confirm.extend(confirm);
    }
    insert_before_ssh(&mut b.actions, actions);
    if anything || ctx.moved {
        let s = &mut b.summary.firewall;
        s.push(format!(
            "nftables (table inet {TABLE} in {NFT_FILE}): inbound TCP {}; UDP {}",
            human_list(&rs.tcp),
            if rs.udp.is_empty() {
                "none".into()
            } else {
                human_list(&rs.udp)
            }
        ));
        if !rs.trusted.is_empty() {
            s.push(format!("nftables trusted: {}", hosts_line(&rs.trusted)));
        }
        if !rs.blocked.is_empty() {
            s.push(format!("nftables blocked: {}", hosts_line(&rs.blocked)));
        }
        if !rs.sip_udp.is_empty() || !rs.sip_tcp.is_empty() {
            s.push(format!(
                "nftables: SIP limited to {SIP_RATE} packets/s per source (burst {SIP_BURST}), \
                 trusted hosts exempt"
            ));
        }
        if ctx.moved {
            s.push(format!(
                "nftables: the old SSH port {} stays open until confirm",
                ctx.old_ssh_ports
                    .iter()
                    .map(u16::to_string)
                    .collect::<Vec<_>>()
                    .join(",")
            ));
        }
    }
}

/// The lockout checks, on the model of the table we write: the SSH port passes from
/// anywhere not blocked, and the admin's own address passes.
fn lockout_checks(b: &mut Builder<'_>, ctx: &Ctx, rs: &Ruleset) {
    let p = ctx.ssh_port();
    let probe = IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 1));
    b.check(
        format!("the SSH port {p} is open in nftables"),
        if rs.tcp.iter().any(|r| r.contains(p)) && rs.passes(probe, "tcp", p) {
            CheckStatus::Pass(format!("tcp dport @tcp_open holds {p}"))
        } else {
            CheckStatus::Fail(format!("the table does not accept tcp {p}"))
        },
    );
    let name = "your own address passes nftables";
    match ctx.remote_admin() {
        None => b.check(
            name,
            CheckStatus::Skipped(
                "no SSH_CONNECTION: not logged in over SSH, so there is no address to check".into(),
            ),
        ),
        Some(a) => {
            let all = ctx.ssh_ports.iter().all(|p| rs.passes(a, "tcp", *p));
            b.check(
                name,
                if all && rs.admin == Some(a) {
                    CheckStatus::Pass(format!(
                        "{a} is accepted on tcp {} before any block",
                        ctx.ssh_ports
                            .iter()
                            .map(u16::to_string)
                            .collect::<Vec<_>>()
                            .join(",")
                    ))
                } else {
                    CheckStatus::Fail(format!("{a} would not reach the SSH port"))
                },
            );
        }
    }
}

/// Other tables of the distribution's file that drop input: every base chain on the hook
/// must accept, so the SSH port must be open there too.
fn other_tables_warning(b: &mut Builder<'_>, conf_path: &str, conf: &str) {
    let drops = conf.lines().any(|l| {
        let l = l.trim();
        !l.starts_with('#') && l.contains("hook input") && l.contains("policy drop")
    });
    if drops {
        b.warn(
            "firewall.backend",
            format!(
                "{conf_path} has an input chain of its own with policy drop: a packet must pass \
                 every table, so open the SSH port and the PBX ports there too (pbx-harden edits \
                 only its own table)"
            ),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::trust::{self, TrustFormat};

    fn item(t: &str) -> HostItem {
        HostItem {
            text: t.into(),
            comment: None,
            entry: trust::parse_entry(t, TrustFormat::Apf2).unwrap(),
        }
    }

    fn rs() -> Ruleset {
        Ruleset {
            tcp: vec![PortRange::one(2222), PortRange::one(80)],
            udp: vec![
                PortRange::one(5060),
                PortRange {
                    lo: 10000,
                    hi: 20000,
                },
            ],
            ssh_ports: vec![2222],
            admin: Some("198.51.100.9".parse().unwrap()),
            trusted: vec![
                item("203.0.113.0/24"),
                item("udp:in:d=4569:s=198.51.100.20"),
            ],
            blocked: vec![item("192.0.2.66"), item("2001:db8::/32")],
            sip_udp: vec![5060],
            sip_tcp: vec![],
        }
    }

    #[test]
    fn render_has_the_table_and_reads_back() {
        let t = rs().render();
        assert!(t.contains("table inet pbx_harden\ndelete table inet pbx_harden\n"));
        // Nothing that needs /etc/protocols or /etc/services (minbase systems lack them).
        assert!(!t.contains("ipv6-icmp"), "{t}");
        // the box keeps its address: DHCP and DHCPv6 answers pass the drop policy
        assert!(t.contains("udp sport 67 udp dport 68 accept"), "{t}");
        assert!(
            t.contains("ip6 saddr fe80::/10 udp sport 547 udp dport 546 accept"),
            "{t}"
        );
        assert!(t.contains("elements = { 2222, 80 }"), "{t}");
        assert!(t.contains("elements = { 5060, 10000-20000 }"), "{t}");
        assert!(
            t.contains("ip saddr 198.51.100.20 udp dport 4569 accept"),
            "{t}"
        );
        assert!(t.contains("elements = { 2001:db8::/32 }"), "{t}");
        assert!(
            t.contains("ip saddr 198.51.100.9 tcp dport { 2222 } accept"),
            "{t}"
        );
        // the hosts and their comments come back for the next run
        let hosts = previous_hosts(&t);
        for i in rs().trusted.iter() {
            assert!(
                hosts
                    .iter()
                    .any(|(h, b, c)| *h == i.text && !b && *c == i.comment),
                "{i:?} in {hosts:?}"
            );
        }
        for i in rs().blocked.iter() {
            assert!(
                hosts.iter().any(|(h, b, _)| *h == i.text && *b),
                "{i:?} in {hosts:?}"
            );
        }
        let (tcp, udp) = previous_lists(&t);
        assert_eq!(tcp.unwrap(), rs().tcp);
        assert_eq!(udp.unwrap(), rs().udp);
    }

    #[test]
    fn the_model_passes_what_it_should() {
        let r = rs();
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert!(r.passes(ip("192.0.2.1"), "tcp", 2222));
        assert!(!r.passes(ip("192.0.2.1"), "tcp", 22));
        assert!(!r.passes(ip("192.0.2.66"), "tcp", 2222));
        assert!(r.passes(ip("203.0.113.7"), "tcp", 3306));
        assert!(r.passes(ip("198.51.100.20"), "udp", 4569));
        assert!(!r.passes(ip("198.51.100.21"), "udp", 4569));
        assert!(r.passes(ip("198.51.100.9"), "tcp", 2222));
    }

    #[test]
    fn include_is_one_line_and_globs_count() {
        let conf = b"#!/usr/sbin/nft -f\n\nflush ruleset\n\ntable inet filter {\n}";
        let out = with_include(conf);
        assert!(out.starts_with(conf));
        assert_eq!(
            &out[conf.len()..],
            b"\ninclude \"/etc/nftables.d/pbx-harden.nft\"\n"
        );
        assert!(includes_ours(&String::from_utf8_lossy(&out)));
        assert!(includes_ours("include \"/etc/nftables.d/*.nft\"\n"));
        assert!(!includes_ours("# include \"/etc/nftables.d/*.nft\"\n"));
    }

    #[test]
    fn networks_lose_host_bits() {
        assert_eq!(
            nft_host(&Host::Net("203.0.113.77".parse().unwrap(), 24)).unwrap(),
            "203.0.113.0/24"
        );
        assert_eq!(
            nft_host(&Host::Net("2001:db8::1".parse().unwrap(), 32)).unwrap(),
            "2001:db8::/32"
        );
    }

    #[test]
    fn live_steps_open_the_new_port_before_sshd_and_the_old_until_confirm() {
        let (steps, confirm) = live_steps(&[22], true, &[PortRange::one(2222)]);
        let mut actions = vec![
            Action::RestartSsh(crate::model::SshService::Systemd("ssh".into())),
            Action::Command(CommandAction {
                argv: argv(&["true"]),
                undo: Vec::new(),
                touches: Vec::new(),
                changes_state: false,
            }),
        ];
        insert_before_ssh(&mut actions, steps);
        let argvs: Vec<String> = actions
            .iter()
            .map(|a| match a {
                Action::Command(c) => c.argv.join(" "),
                Action::RestartSsh(_) => "restart ssh".into(),
                _ => String::new(),
            })
            .collect();
        assert!(argvs[0].starts_with("sh -c nft list table"), "{argvs:?}");
        assert_eq!(argvs[1], "nft -f /etc/nftables.d/pbx-harden.nft");
        assert_eq!(argvs[2], "nft add element inet pbx_harden tcp_open { 22 }");
        assert_eq!(argvs[3], "restart ssh");
        let Action::Command(load) = &actions[1] else {
            panic!()
        };
        assert_eq!(load.undo, vec![restore_argv()]);
        assert_eq!(
            confirm,
            vec![ConfirmStep::Run {
                argv: argv(&["nft", "-f", NFT_FILE])
            }]
        );
        // No move, or the old port stays listed: no window, nothing on confirm.
        let (steps, confirm) = live_steps(&[22], true, &[PortRange::one(22)]);
        assert_eq!(steps.len(), 2);
        assert!(confirm.is_empty());
    }

    #[test]
    fn wanted_by_reads_install() {
        let u = "[Unit]\nDescription=nftables\n[Service]\nType=oneshot\n[Install]\nWantedBy=sysinit.target\n";
        assert_eq!(wanted_by(u), vec!["sysinit.target"]);
    }
}
