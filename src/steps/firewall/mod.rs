//! Firewall and brute-force protection, behind one `Backend`: APF + BFD where installed,
//! pbx-harden's own nftables table, firewalld's permanent zones, ufw's user rules, FreePBX's Firewall module
//! (advice only), fail2ban.
//!
//! - `detect` (in `crate::steps::firewall::facts`, re-exported here) reads what is installed under the root (APF, its version and trust-file
//!   format; BFD; fail2ban), which firewall managers are in charge (`managers`: FreePBX's
//!   module, APF, firewalld, ufw, nftables, each with its evidence), the network interfaces
//!   and local addresses, and what Asterisk listens on and logs to.
//! - `plan` chooses the backend (`firewall.backend`, "auto" by default), refuses to add a
//!   manager next to another, and turns `[firewall]`, `[apf]`, `[bfd]` and `[fail2ban]` into
//!   file edits, commands and lockout checks, in the same transaction as the SSH changes (it
//!   runs after them and takes the SSH step's `SshOutcome`: the new port, moved or not). When sshd moves and APF is installed,
//!   the new port is opened in APF even without a `[firewall]` section: the admin must never
//!   be locked out.

pub mod answers;
pub mod apf;
pub mod audit;
pub mod facts;
pub mod firewalld;
pub mod managers;
pub mod nftables;
pub mod ports;
pub mod ufw;

// BFD and fail2ban are the brute-force step's (`crate::steps::bruteforce`); the firewall
// step calls them with its `Ctx` and `Spec`, since fail2ban can be the firewall itself.
use crate::steps::bruteforce::{bfd, fail2ban};

use std::net::IpAddr;

use crate::config::sshd::DEFAULT_PORT;
use crate::config::trust::{self, Entry, Flow, Host, Stamp, TrustFormat};
use crate::host::Proto;
use crate::model::{Builder, CheckStatus, SshOutcome};
pub use answers::Answers;
use answers::HostEntry;
// What is installed (APF, BFD, fail2ban, the managers, Asterisk's ports) is a fact, read
// by `crate::steps::firewall::facts`; these paths stay.
pub use facts::*;
use ports::{Exposure, PortRange};

/// Facts the firewall parts share: the SSH ports after the plan, the admin, local addresses.
#[derive(Debug, Clone)]
pub struct Ctx {
    /// The ports sshd listens on after the plan (the new one after a move).
    pub ssh_ports: Vec<u16>,
    /// The ports it listens on now.
    pub old_ssh_ports: Vec<u16>,
    pub moved: bool,
    /// The admin's own address and client port (SSH_CONNECTION / SSH_CLIENT).
    pub admin: Option<IpAddr>,
    pub admin_client_port: Option<u16>,
    pub local: Vec<IpAddr>,
    pub stamp: Stamp,
    /// What is installed: the firewall step's facts.
    pub fw: FirewallInfo,
}

impl Ctx {
    pub fn new(b: &Builder<'_>, fw: &FirewallInfo, ssh: &SshOutcome) -> Ctx {
        let sys = b.sys;
        let old = sys.current_ssh_ports();
        let ssh_ports = match ssh.port {
            Some(p) if ssh.moved => vec![p],
            _ if old.is_empty() => vec![ssh.port.unwrap_or(DEFAULT_PORT)],
            _ => old.clone(),
        };
        let mut local = fw.local_addrs.clone();
        if let Some(s) = sys.admin.as_ref().and_then(|a| a.server) {
            local.push(s);
        }
        let client_port = sys
            .env
            .ssh_connection
            .as_deref()
            .or(sys.env.ssh_client.as_deref())
            .and_then(|c| c.split_whitespace().nth(1))
            .and_then(|p| p.parse().ok());
        Ctx {
            moved: ssh.moved,
            ssh_ports,
            old_ssh_ports: old,
            admin: sys.admin.as_ref().map(|a| a.client),
            admin_client_port: client_port,
            local,
            stamp: Stamp::at(sys.env.epoch()),
            fw: fw.clone(),
        }
    }

    /// The SSH ports a move leaves (open at runtime until confirm on every backend).
    pub fn ports_left(&self) -> Vec<u16> {
        self.old_ssh_ports
            .iter()
            .copied()
            .filter(|o| self.moved && !self.ssh_ports.contains(o))
            .collect()
    }

    pub fn ssh_port(&self) -> u16 {
        self.ssh_ports.first().copied().unwrap_or(DEFAULT_PORT)
    }

    pub fn is_local(&self, ip: IpAddr) -> bool {
        ip.is_loopback()
            || ip.is_unspecified()
            || self
                .local
                .iter()
                .any(|l| Host::Ip(*l).covers(ip) == Some(true))
    }

    /// The admin's address, when it is a remote one.
    pub fn remote_admin(&self) -> Option<IpAddr> {
        self.admin.filter(|a| !self.is_local(*a))
    }
}

/// One validated host of `firewall.trusted` / `blocked` (or the admin's own address).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostItem {
    /// The text written into the trust file.
    pub text: String,
    pub comment: Option<String>,
    pub entry: Entry,
}

/// The backend-independent part of the answers, validated.
#[derive(Debug, Clone, Default)]
pub struct Spec {
    /// The inbound TCP ports (SSH first), when the answers list them.
    pub tcp: Option<Vec<PortRange>>,
    pub udp: Option<Vec<PortRange>>,
    pub trusted: Vec<HostItem>,
    pub blocked: Vec<HostItem>,
    pub remove: Vec<String>,
    /// The admin's address is trusted (allow_hosts, ignore.hosts, ignoreip).
    pub trust_admin: Option<IpAddr>,
}

fn backend(b: &mut Builder<'_>, fw: &FirewallInfo, answers: &Answers) -> Option<Backend> {
    let name = answers
        .firewall
        .as_ref()
        .and_then(|f| f.backend.as_deref())
        .unwrap_or("auto");
    match name {
        // firewalld or ufw in charge: the new SSH port is opened there, even without
        // [firewall].
        "auto" => Some(fw.auto_backend(answers.firewall.is_some())),
        "apf" => {
            if fw.apf.is_none() {
                b.error(
                    "firewall.backend",
                    format!(
                        "\"apf\": APF is not installed here (no {APF_CONF}); install APF and BFD \
                         first, or use \"nftables\" or \"fail2ban\""
                    ),
                );
                return None;
            }
            Some(Backend::Apf)
        }
        "nftables" => Some(Backend::Nftables),
        "freepbx" => {
            if !fw
                .managers
                .iter()
                .any(|m| m.manager == managers::Manager::Freepbx)
            {
                b.error(
                    "firewall.backend",
                    format!(
                        "\"freepbx\": FreePBX's Firewall module is not installed here (no {})",
                        managers::FREEPBX_MODULE
                    ),
                );
                return None;
            }
            Some(Backend::Freepbx)
        }
        "firewalld" => Some(Backend::Firewalld),
        "ufw" => Some(Backend::Ufw),
        "fail2ban" => {
            if fw.fail2ban.is_none() {
                b.error(
                    "firewall.backend",
                    format!(
                        "\"fail2ban\": fail2ban is not installed here (no {FAIL2BAN_DIR}); \
                         install it first"
                    ),
                );
                return None;
            }
            Some(Backend::Fail2ban)
        }
        "none" => Some(Backend::None),
        other => {
            b.error(
                "firewall.backend",
                format!(
                    "\"{other}\" is not a backend: use \"auto\", \"apf\", \"nftables\", \
                     \"firewalld\", \"ufw\", \"freepbx\", \"fail2ban\" or \"none\""
                ),
            );
            None
        }
    }
}

/// Two managers at once fight over the rules: say which are active, and refuse a backend
/// that would add one more (APF as before: it is only warned about).
fn managers_conflict(b: &mut Builder<'_>, fw: &FirewallInfo, backend: Backend) {
    let found = fw.managers.clone();
    let list = |f: &[managers::Found]| {
        f.iter()
            .map(|m| m.to_string())
            .collect::<Vec<_>>()
            .join("; ")
    };
    let Some(mine) = backend.manager() else {
        return;
    };
    let others: Vec<managers::Found> = found
        .iter()
        .filter(|m| m.manager != mine)
        .cloned()
        .collect();
    if others.is_empty() {
        return;
    }
    if found.len() >= 2 {
        b.warn(
            "firewall.backend",
            format!(
                "{} firewall managers are active: {}; two managers overwrite each other's rules: \
                 keep one",
                found.len(),
                list(&found)
            ),
        );
    }
    if matches!(
        backend,
        Backend::Nftables | Backend::Firewalld | Backend::Ufw
    ) {
        b.error(
            "firewall.backend",
            format!(
                "\"{}\" would add a second firewall manager next to {} (see \"Firewall managers\" \
                 above): turn {} off first, or set firewall.backend = \"{}\"",
                mine.key(),
                others
                    .iter()
                    .map(|m| m.manager.label())
                    .collect::<Vec<_>>()
                    .join(" and "),
                others
                    .iter()
                    .map(|m| m.manager.label())
                    .collect::<Vec<_>>()
                    .join(" and "),
                others[0].manager.key()
            ),
        );
    }
}

/// FreePBX's Firewall module is in charge: pbx-harden writes no rules; it says what to set.
fn freepbx_advice(b: &mut Builder<'_>, ctx: &Ctx, spec: &Spec) {
    let p = ctx.ssh_port();
    let mut todo = vec![format!(
        "Connectivity > Firewall > Services: SSH on port {p} (tcp), zone Trusted or Local, or \
         Internet if you log in from anywhere"
    )];
    let mut trusted: Vec<String> = spec.trusted.iter().map(|t| t.text.clone()).collect();
    if let Some(a) = spec.trust_admin.or(ctx.remote_admin()) {
        let t = a.to_string();
        if !trusted.contains(&t) {
            trusted.push(t);
        }
    }
    if !trusted.is_empty() {
        todo.push(format!(
            "Connectivity > Firewall > Networks: {} as Trusted (or at its console: {})",
            trusted.join(", "),
            trusted
                .iter()
                .map(|t| format!("fwconsole firewall trust {t}"))
                .collect::<Vec<_>>()
                .join("; ")
        ));
    }
    if !spec.blocked.is_empty() {
        todo.push(format!(
            "Connectivity > Firewall > Networks: {} as Blocked",
            spec.blocked
                .iter()
                .map(|t| t.text.clone())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    for t in &todo {
        b.warn(
            "firewall.backend",
            format!("FreePBX's Firewall module is in charge; set in FreePBX: {t}"),
        );
        b.summary.firewall.push(format!("FreePBX: set {t}"));
    }
    b.check(
        format!("the SSH port {p} is open in FreePBX's firewall"),
        CheckStatus::Skipped(
            "FreePBX keeps its firewall in its database, which pbx-harden does not read: set it \
             there (see the warnings) before you confirm"
                .into(),
        ),
    );
}

/// Validate the port lists against the catalog: AMI refused, IAX only through trusted
/// hosts, SIP-TLS only when configured, RTP as rtp.conf says; the SSH port always first and
/// the old SSH port gone after a move.
fn port_lists(
    b: &mut Builder<'_>,
    answers: &Answers,
    ctx: &Ctx,
) -> (Option<Vec<PortRange>>, Option<Vec<PortRange>>) {
    let Some(fw) = &answers.firewall else {
        return (None, None);
    };
    let sys = b.sys;
    let ast = ctx.fw.asterisk.force();
    let catalog = ports::catalog(ast, sys.rtp, ctx.ssh_port());
    let lists = [
        (Proto::Tcp, &fw.tcp_ports, "firewall.tcp_ports"),
        (Proto::Udp, &fw.udp_ports, "firewall.udp_ports"),
    ];
    let mut out: [Option<Vec<PortRange>>; 2] = [None, None];
    for (i, (proto, list, key)) in lists.into_iter().enumerate() {
        let Some(list) = list else {
            continue;
        };
        let (mut ranges, errs) = ports::parse_list_partial(list);
        let mut bad = !errs.is_empty();
        for e in errs {
            b.error(key, e);
        }
        // "5038" or "5000-5100 holds 5038": the listed entry that hits a catalog port.
        let what = |r: PortRange, p: PortRange| {
            if r == p {
                r.to_string()
            } else {
                format!("{r} holds {p}")
            }
        };
        for c in catalog.iter().filter(|c| c.proto == proto) {
            let hit = ranges.iter().find(|r| r.overlaps(&c.ports)).copied();
            match (c.exposure, hit) {
                (Exposure::Refused, Some(r)) => {
                    b.error(
                        key,
                        format!(
                            "{}: {} ({}/{}) is never opened: {}",
                            what(r, c.ports),
                            c.service,
                            c.ports,
                            c.proto,
                            c.note
                        ),
                    );
                    bad = true;
                }
                (Exposure::TrustedOnly, Some(r)) => {
                    b.error(
                        key,
                        format!(
                            "{}: {} ({}/{}) is opened only to its peers, as the seed does: list \
                             each peer in firewall.trusted (e.g. {{ host = \"pbx2.example.com\", \
                             comment = \"IAX peer\" }}), or for this port only \
                             \"udp:in:d={}:s=PEER\"",
                            what(r, c.ports),
                            c.service,
                            c.ports,
                            c.proto,
                            c.ports.lo
                        ),
                    );
                    bad = true;
                }
                _ => {}
            }
        }
        if proto == Proto::Tcp {
            for r in &ranges {
                if (r.contains(5061) || r.contains(5062))
                    && ast.sip_tls.is_empty()
                    && r.lo == r.hi
                    && r.lo == 5061
                {
                    b.warn(
                        key,
                        "5061 is SIP over TLS, but Asterisk has no TLS transport configured \
                         (sip.conf tlsenable, or a pjsip transport with protocol=tls); nothing \
                         would answer there",
                    );
                }
            }
            // The SSH port always, first; the old one gone after a move.
            if ctx.moved {
                for old in &ctx.old_ssh_ports {
                    if !ctx.ssh_ports.contains(old)
                        && let Some(pos) = ranges.iter().position(|r| *r == PortRange::one(*old))
                    {
                        ranges.remove(pos);
                        b.warn(
                            key,
                            format!(
                                "{old} is left out: SSH moves to {}; the old port closes when the \
                                 change is confirmed",
                                ctx.ssh_port()
                            ),
                        );
                    }
                }
            }
            for p in ctx.ssh_ports.iter().rev() {
                if !ranges.iter().any(|r| r.contains(*p)) {
                    ranges.insert(0, PortRange::one(*p));
                }
            }
        } else {
            let rtp = PortRange {
                lo: sys.rtp.start,
                hi: sys.rtp.end,
            };
            if !ranges.iter().any(|r| r.covers(&rtp)) {
                b.warn(
                    key,
                    format!(
                        "Asterisk's RTP range {rtp} ({}) is not open: calls would connect \
                         without audio",
                        if sys.rtp.from_config {
                            "rtp.conf"
                        } else {
                            "its default; there is no rtp.conf"
                        }
                    ),
                );
            }
            for p in &ast.sip_udp {
                if ast.present && !ranges.iter().any(|r| r.contains(*p)) {
                    b.warn(
                        key,
                        format!(
                            "SIP ({p}/udp) is not open: phones and trunks could not reach Asterisk"
                        ),
                    );
                }
            }
            if fw.tftp == Some(true) && !ranges.iter().any(|r| r.contains(69)) {
                ranges.push(PortRange::one(69));
            }
        }
        if !bad {
            out[i] = Some(ranges);
        }
    }
    if fw.tftp == Some(true) && fw.udp_ports.is_none() {
        b.warn(
            "firewall.tftp",
            "TFTP is opened only together with firewall.udp_ports (list the UDP ports too)",
        );
    }
    if fw.tftp != Some(true)
        && let Some(u) = &out[1]
        && u.iter().any(|r| r.contains(69))
    {
        b.warn(
            "firewall.udp_ports",
            "69 (TFTP) serves phone configuration files, secrets included, to anyone who asks: \
             open it only while provisioning phones (firewall.tftp = true says you mean it)",
        );
    }
    let [tcp, udp] = out;
    (tcp, udp)
}

/// Validate one `trusted` / `blocked` host list.
fn host_list(
    b: &mut Builder<'_>,
    key: &str,
    list: &[HostEntry],
    fmt: TrustFormat,
    ctx: &Ctx,
    blocking: bool,
) -> Vec<HostItem> {
    let mut out: Vec<HostItem> = Vec::new();
    for h in list {
        let text = h.host.trim().to_string();
        if text != h.host {
            b.warn(key, format!("\"{}\": surrounding spaces removed", h.host));
        }
        if let Some(c) = &h.comment
            && let Err(e) = trust::check_comment(c)
        {
            b.error(key, format!("{text}: {e}"));
            continue;
        }
        let entry = match trust::parse_entry(&text, fmt) {
            Ok(e) => e,
            Err(e) => {
                b.error(key, e);
                continue;
            }
        };
        if out.iter().any(|o| o.text == text) {
            b.error(key, format!("{text} is listed twice"));
            continue;
        }
        if let Entry::Advanced(a) = &entry
            && a.proto.is_none()
            && fmt == TrustFormat::Apf9
        {
            b.warn(
                key,
                format!("{text}: APF 9.x applies an advanced entry without tcp:/udp: to TCP only"),
            );
        }
        let host = entry.host();
        // Local addresses: APF refuses them in the trust system; blocking one cuts the box off.
        let local = ctx.local.iter().copied().chain([
            IpAddr::V4(std::net::Ipv4Addr::LOCALHOST),
            IpAddr::V6(std::net::Ipv6Addr::LOCALHOST),
        ]);
        let mut refused = false;
        for l in local {
            if host.covers(l) == Some(true) {
                b.error(
                    key,
                    if blocking {
                        format!(
                            "{text} covers {l}, an address of this server: blocking it would cut \
                             the server off"
                        )
                    } else {
                        format!(
                            "{text} is {l}, an address of this server: APF refuses local \
                             addresses in the trust system"
                        )
                    },
                );
                refused = true;
                break;
            }
        }
        if refused {
            continue;
        }
        if blocking {
            match (ctx.remote_admin(), host.covers_admin(ctx)) {
                (Some(admin), Some(true)) if blocks_ssh(&entry, &ctx.ssh_ports) => {
                    b.error(
                        key,
                        format!(
                            "{text} {} your own address {admin} (from SSH_CONNECTION): you would \
                             lock yourself out",
                            if matches!(host, Host::Ip(_)) {
                                "is"
                            } else {
                                "contains"
                            }
                        ),
                    );
                    continue;
                }
                (Some(_), None) => b.warn(
                    key,
                    format!(
                        "{text} is a name: pbx-harden can not tell whether it resolves to your own \
                         address; APF resolves it at every start"
                    ),
                ),
                _ => {}
            }
        }
        out.push(HostItem {
            text,
            comment: h.comment.clone().filter(|c| !c.trim().is_empty()),
            entry,
        });
    }
    out
}

trait CoversAdmin {
    fn covers_admin(&self, ctx: &Ctx) -> Option<bool>;
}

impl CoversAdmin for Host {
    fn covers_admin(&self, ctx: &Ctx) -> Option<bool> {
        ctx.admin.and_then(|a| self.covers(a))
    }
}

/// The wizard's live checks: what the plan says about these firewall answers (ports and
/// trusted/blocked hosts) for the SSH port the admin chose. The plan's own validation, on a
/// scratch builder: no second copy of any rule, and no I/O.
pub fn check(
    sys: &crate::host::Host,
    fw: &FirewallInfo,
    answers: &Answers,
    ssh_port: u16,
    moved: bool,
) -> Vec<crate::problems::Problem> {
    let mut b = Builder::new(sys);
    let ssh = SshOutcome {
        port: Some(ssh_port),
        moved,
    };
    let ctx = Ctx::new(&b, fw, &ssh);
    let fmt = fw.apf.as_ref().map_or(TrustFormat::Apf2, |a| a.format);
    let _ = port_lists(&mut b, answers, &ctx);
    if let Some(f) = &answers.firewall {
        let trusted = host_list(&mut b, "firewall.trusted", &f.trusted, fmt, &ctx, false);
        let blocked = host_list(&mut b, "firewall.blocked", &f.blocked, fmt, &ctx, true);
        both_trusted_and_blocked(&mut b, &trusted, &blocked);
        // What the backend in charge can not hold (a name; with firewalld and ufw an
        // outbound entry; a comment firewalld's XML can not keep) is refused where it is
        // typed, not only at Review.
        let mut scratch = Builder::new(sys);
        let refuse = match backend(&mut scratch, fw, answers) {
            Some(Backend::Nftables) => nftables::addresses_only,
            Some(Backend::Firewalld) => firewalld::refuse_names,
            Some(Backend::Ufw) => ufw::refuse,
            _ => return b.problems,
        };
        refuse(&mut b, "firewall.trusted", &trusted);
        refuse(&mut b, "firewall.blocked", &blocked);
    }
    b.problems
}

/// A host in both lists is refused (which one would win depends on APF's rule order).
fn both_trusted_and_blocked(b: &mut Builder<'_>, trusted: &[HostItem], blocked: &[HostItem]) {
    for t in trusted {
        if blocked.iter().any(|x| x.text == t.text) {
            b.error(
                "firewall.blocked",
                format!("{} is both trusted and blocked", t.text),
            );
        }
    }
}

/// Would a deny entry stop the admin's SSH connections?
pub fn blocks_ssh(entry: &Entry, ssh_ports: &[u16]) -> bool {
    match entry {
        Entry::Plain(_) => true,
        Entry::Advanced(a) => {
            let proto_ok = a.proto.as_deref().is_none_or(|p| p == "tcp");
            let inbound = a.direction.as_deref() != Some("out") && a.host_flow == Flow::Source;
            let outbound = a.direction.as_deref() != Some("in") && a.host_flow == Flow::Dest;
            let port_hit = ssh_ports.iter().any(|p| a.covers_port(*p));
            proto_ok
                && port_hit
                && ((inbound && a.port_flow == Flow::Dest)
                    || (outbound && a.port_flow == Flow::Source))
        }
    }
}

fn spec(b: &mut Builder<'_>, answers: &Answers, ctx: &Ctx, fmt: TrustFormat) -> Spec {
    let (tcp, udp) = port_lists(b, answers, ctx);
    let mut s = Spec {
        tcp,
        udp,
        ..Default::default()
    };
    let Some(fw) = &answers.firewall else {
        return s;
    };
    s.trusted = host_list(b, "firewall.trusted", &fw.trusted, fmt, ctx, false);
    s.blocked = host_list(b, "firewall.blocked", &fw.blocked, fmt, ctx, true);
    both_trusted_and_blocked(b, &s.trusted, &s.blocked);
    for r in &fw.remove {
        let r = r.trim();
        // Whatever is in the files may be removed, even entries pbx-harden would not write.
        if r.is_empty() || r.contains(char::is_whitespace) || r.contains('#') {
            b.error(
                "firewall.remove",
                format!("\"{r}\" is not one trust entry (no spaces or \"#\")"),
            );
        } else if s.trusted.iter().chain(&s.blocked).any(|x| x.text == r) {
            b.error(
                "firewall.remove",
                format!("{r} is also in trusted/blocked; say one thing about it"),
            );
        } else {
            s.remove.push(r.to_string());
        }
    }
    match (fw.trust_admin, ctx.admin) {
        (Some(true), Some(a)) if ctx.is_local(a) => b.warn(
            "firewall.trust_admin",
            format!("your connection comes from {a}, an address of this server: nothing to trust"),
        ),
        (Some(true), Some(a)) => {
            if s.blocked
                .iter()
                .any(|x| x.entry.host().covers(a) == Some(true))
            {
                // Reported by host_list already.
            } else {
                s.trust_admin = Some(a);
            }
        }
        (Some(true), None) => b.warn(
            "firewall.trust_admin",
            "no SSH_CONNECTION (you are not logged in over SSH): there is no address to trust",
        ),
        (None, Some(a)) if !ctx.is_local(a) => {
            let covered = s.trusted.iter().any(|t| {
                matches!(t.entry, Entry::Plain(_)) && t.entry.host().covers(a) == Some(true)
            });
            if !covered {
                b.warn(
                    "firewall.trust_admin",
                    format!(
                        "not set: with trust_admin = true your address {a} goes into the trusted \
                         hosts (and BFD's ignore.hosts / fail2ban's ignoreip), so a mistyped \
                         password can not ban you"
                    ),
                );
            }
        }
        _ => {}
    }
    s
}

/// The firewall step, after the SSH step: `ssh` says which port to keep open.
/// The inbound lists a backend writes (nftables, firewalld, ufw): the answers' lists, else
/// `have`, what the backend opens now as (range, "tcp" | "udp"); then `ssh_first`.
pub fn inbound_lists(
    spec: &Spec,
    ctx: &Ctx,
    have: &[(PortRange, String)],
) -> (Vec<PortRange>, Vec<PortRange>) {
    let pick = |given: &Option<Vec<PortRange>>, proto: &str| -> Vec<PortRange> {
        match given {
            Some(l) => l.clone(),
            None => have
                .iter()
                .filter(|(_, p)| p == proto)
                .map(|(r, _)| *r)
                .collect(),
        }
    };
    let mut tcp = pick(&spec.tcp, "tcp");
    ssh_first(ctx, &mut tcp);
    (tcp, pick(&spec.udp, "udp"))
}

/// After a move the old SSH port(s) leave the TCP list (the backends keep them open at
/// runtime until confirm); the SSH port(s) go first unless a range already covers them.
pub fn ssh_first(ctx: &Ctx, tcp: &mut Vec<PortRange>) {
    let left = ctx.ports_left();
    tcp.retain(|r| !left.iter().any(|o| *r == PortRange::one(*o)));
    for p in ctx.ssh_ports.iter().rev() {
        if !tcp.iter().any(|r| r.contains(*p)) {
            tcp.insert(0, PortRange::one(*p));
        }
    }
}

pub fn plan(b: &mut Builder<'_>, fw: &FirewallInfo, answers: &Answers, ssh: &SshOutcome) {
    let sys = b.sys;
    let ctx = Ctx::new(b, fw, ssh);
    let any_answers = answers.firewall.is_some()
        || answers.apf.is_some()
        || answers.bfd.is_some()
        || answers.fail2ban.is_some();
    if !any_answers && !ctx.moved {
        return;
    }
    let Some(backend) = backend(b, fw, answers) else {
        return;
    };
    let fmt = fw
        .apf
        .as_ref()
        .map(|a| a.format)
        .unwrap_or(TrustFormat::Apf2);
    let spec = spec(b, answers, &ctx, fmt);

    if answers.apf.is_some() && backend != Backend::Apf {
        b.warn(
            "apf",
            "the [apf] section is used only with firewall.backend = \"apf\"",
        );
    }
    // nftables and firewalld only filter: fail2ban, where installed, still bans next to them.
    let f2b_alongside = matches!(
        backend,
        Backend::Nftables | Backend::Firewalld | Backend::Ufw
    ) && fw.fail2ban.is_some()
        && (answers.fail2ban.is_some() || ctx.moved);
    if answers.fail2ban.is_some() && backend != Backend::Fail2ban && !f2b_alongside {
        b.warn(
            "fail2ban",
            "the [fail2ban] section is used only with firewall.backend = \"fail2ban\", \
             \"nftables\", \"firewalld\" or \"ufw\"",
        );
    }
    managers_conflict(b, fw, backend);
    match backend {
        Backend::Apf => {
            if let Some(info) = &fw.apf {
                apf::plan(b, answers, &ctx, &spec, info, true);
            }
        }
        Backend::Nftables => {
            if !b.has_errors_for("firewall.backend") {
                nftables::plan(b, answers, &ctx, &spec);
            }
        }
        Backend::Firewalld => {
            if !b.has_errors_for("firewall.backend") {
                firewalld::plan(b, answers, &ctx, &spec);
            }
        }
        Backend::Ufw => {
            if !b.has_errors_for("firewall.backend") {
                ufw::plan(b, &ctx, &spec);
            }
        }
        Backend::Freepbx => freepbx_advice(b, &ctx, &spec),
        Backend::Fail2ban => {
            // Without fail2ban answers (an SSH move only), the [sshd] jail just follows the port.
            let full = answers.firewall.is_some() || answers.fail2ban.is_some();
            fail2ban::plan(b, answers, &ctx, &spec, full, backend);
            if let Some(info) = &fw.apf
                && ctx.moved
            {
                // APF stays installed: its next start must not shut the new port out.
                apf::plan(b, answers, &ctx, &Spec::default(), info, false);
            }
        }
        Backend::None => {
            if let Some(info) = &fw.apf
                && ctx.moved
            {
                apf::plan(b, answers, &ctx, &Spec::default(), info, false);
            }
            if answers.firewall.as_ref().is_some_and(|f| {
                f.tcp_ports.is_some()
                    || f.udp_ports.is_some()
                    || !f.trusted.is_empty()
                    || !f.blocked.is_empty()
            }) {
                b.warn(
                    "firewall.backend",
                    "\"none\": the ports and hosts of [firewall] are not applied",
                );
            }
        }
    }
    if f2b_alongside && !b.has_errors_for("firewall") {
        // Without fail2ban answers (an SSH move only), the [sshd] jail just follows the port.
        fail2ban::plan(b, answers, &ctx, &spec, answers.fail2ban.is_some(), backend);
    }
    if fw.bfd.is_some() {
        if answers.bfd.is_some() || spec.trust_admin.is_some() {
            bfd::plan(b, fw, answers, &spec);
        }
    } else if answers.bfd.is_some() {
        b.error(
            "bfd",
            format!("BFD is not installed here (no {BFD_CONF}); install it, or use fail2ban"),
        );
    } else if backend == Backend::Apf {
        b.warn(
            "bfd",
            "BFD is not installed: nothing bans brute-force logins (SSH, SIP); install BFD, or \
             use fail2ban",
        );
    }
    if backend == Backend::Fail2ban && fw.apf.is_some() {
        b.warn(
            "firewall.backend",
            "APF is installed too: every APF restart flushes the chains fail2ban bans with",
        );
    }
    if matches!(backend, Backend::Fail2ban | Backend::None) && fw.apf.is_none() && ctx.moved {
        let what = match fw.managers.first() {
            Some(m) => format!(
                "{m} is in charge here and pbx-harden does not write its rules: open port {} \
                 there before you confirm",
                ctx.ssh_port()
            ),
            None => "no firewall manager is active (fail2ban only bans, it opens and closes no \
                     port); plain iptables rules are not checked: open the port there before you \
                     confirm"
                .into(),
        };
        b.check(
            format!("the SSH port {} is open in the firewall", ctx.ssh_port()),
            CheckStatus::Skipped(what),
        );
    }
    if matches!(backend, Backend::Fail2ban | Backend::None)
        && fw.managers.is_empty()
        && answers.firewall.as_ref().is_some_and(|f| {
            f.backend.is_none() && (f.tcp_ports.is_some() || f.udp_ports.is_some())
        })
        && nftables::setup(&sys.root).is_ok()
    {
        b.warn(
            "firewall.backend",
            "no firewall manager is active here; nftables is installed: firewall.backend = \
             \"nftables\" opens exactly these ports in a table of pbx-harden's own",
        );
    }
}

/// A summary line of trusted/blocked hosts.
fn hosts_line(items: &[HostItem]) -> String {
    items
        .iter()
        .map(|h| match &h.comment {
            Some(c) => format!("{} ({c})", h.text),
            None => h.text.clone(),
        })
        .collect::<Vec<_>>()
        .join(", ")
}
