//! Firewall ports: the PBX port catalog as a checklist, custom ports and the admin's own
//! address offered as trusted (trusted and blocked hosts are the next screen, `hosts`);
//! every entry checked as typed, by the plan's own rules (`firewall::check`). The screen
//! names the backend the answers go to (`backend`): APF, nftables (also where no manager
//! is active and nftables is installed: offered, and then named in the answers) or
//! firewalld, and what it writes; with FreePBX's Firewall module it is an advisory screen
//! (what to set in FreePBX) without a port list.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::lines;
use crate::answers::{Answers, FirewallAnswers, PortEntry};
use crate::problems::Problem;
use crate::steps::firewall::facts::Backend;
use crate::steps::firewall::ports::{self, CatalogEntry, Exposure, PortRange};
use crate::steps::firewall::{firewalld, nftables};
use crate::system::{Proto, System};
use crate::tui::app::{Ctx, Nav};
use crate::tui::field::TextField;
use crate::tui::keys::Key;

pub struct Item {
    pub entry: CatalogEntry,
    pub on: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Focus {
    Item(usize),
    Tcp,
    Udp,
    TrustAdmin,
}

pub struct State {
    /// The prefilled `[firewall]` until the screen is first entered: it is built then (its
    /// catalog needs Asterisk's ports, which the first frame does not).
    pending: Option<Option<FirewallAnswers>>,
    /// The first line (who opens the ports, and where), found once: never while drawing.
    heading: String,
    pub items: Vec<Item>,
    pub tcp: TextField,
    pub udp: TextField,
    pub trust_admin: bool,
    focus: usize,
    /// The plan's verdict on what is entered (as of the last pause in typing).
    pub problems: Vec<Problem>,
    ssh_port: u16,
}

fn join(list: &[PortEntry]) -> String {
    list.iter()
        .map(|e| match e {
            PortEntry::Number(n) => n.to_string(),
            PortEntry::Text(t) => t.clone(),
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn entries(text: &str) -> Vec<PortEntry> {
    text.split([' ', ','])
        .filter(|t| !t.is_empty())
        .map(|t| match t.parse::<i64>() {
            Ok(n) => PortEntry::Number(n),
            Err(_) => PortEntry::Text(t.to_string()),
        })
        .collect()
}

fn entry_of(r: PortRange) -> PortEntry {
    if r.lo == r.hi {
        PortEntry::Number(i64::from(r.lo))
    } else {
        PortEntry::Text(format!("{}-{}", r.lo, r.hi))
    }
}

/// The backend the wizard's firewall answers go to, and whether the answers must name it:
/// what `firewall.backend = "auto"` picks with a `[firewall]` section, or nftables where
/// no manager is active and nftables is installed (the plan's offer, taken).
pub fn backend(sys: &System) -> (Backend, bool) {
    let fw = &sys.firewall;
    match fw.auto_backend(true) {
        Backend::Fail2ban | Backend::None
            if fw.managers.is_empty() && nftables::setup(&sys.root).is_ok() =>
        {
            (Backend::Nftables, true)
        }
        other => (other, false),
    }
}

/// The first line of the Ports screen: who opens the ports, and where.
pub fn heading(sys: &System, backend: Backend) -> String {
    match backend {
        Backend::Nftables => format!(
            "nftables: pbx-harden's own table inet {} (in {}) opens only these ports:",
            nftables::TABLE,
            nftables::NFT_FILE
        ),
        Backend::Firewalld => {
            let zone = firewalld::default_zone(&sys.root);
            format!(
                "firewalld: the zone {zone} (permanent, in {}/{zone}.xml) opens only these ports:",
                firewalld::ZONES
            )
        }
        Backend::Ufw => format!(
            "ufw: its user rules ({}) open only these ports:",
            crate::steps::firewall::ufw::USER_RULES
        ),
        _ => "APF opens only these ports (plus what trusted hosts reach):".into(),
    }
}

impl State {
    /// The screen before it is first entered (`build` then fills it).
    pub fn new(_ctx: &mut Ctx, prefill: Option<&Answers>) -> State {
        State {
            pending: Some(prefill.and_then(|a| a.firewall.clone())),
            heading: String::new(),
            items: Vec::new(),
            tcp: TextField::new(""),
            udp: TextField::new(""),
            trust_admin: false,
            focus: 0,
            problems: Vec::new(),
            ssh_port: 22,
        }
    }

    fn build(ctx: &Ctx, pre: Option<&FirewallAnswers>) -> State {
        let sys = &ctx.sys;
        let ssh_port = sys.current_ssh_ports().first().copied().unwrap_or(22);
        let catalog = ports::catalog(sys.firewall.asterisk.force(), sys.rtp, ssh_port);
        // What the backend opens now (reconfiguration starts from it), as ranges: APF's
        // lists, pbx-harden's nftables table, firewalld's default zone, ufw's user rules.
        let now = |key: &str| -> Vec<PortRange> {
            sys.firewall
                .apf
                .as_ref()
                .and_then(|a| a.vars.get(key))
                .map(|v| {
                    ports::apf_tokens(v)
                        .iter()
                        .filter_map(|t| ports::apf_token_range(t))
                        .collect()
                })
                .unwrap_or_default()
        };
        let split = |l: Vec<(PortRange, String)>| -> (Vec<PortRange>, Vec<PortRange>) {
            let of = |p: &str| l.iter().filter(|x| x.1 == p).map(|x| x.0).collect();
            (of("tcp"), of("udp"))
        };
        // (tcp, udp, fresh): fresh when it is known that no run chose these ports yet
        let (now_tcp, now_udp, known_fresh) = match ctx.fw_backend.0 {
            // our own table: the lists its last run wrote into the file's header (no file:
            // no run yet)
            Backend::Nftables => match sys.root.read(nftables::NFT_FILE) {
                Ok(Some(b)) => {
                    let (t, u) = nftables::previous_lists(&String::from_utf8_lossy(&b));
                    (t.unwrap_or_default(), u.unwrap_or_default(), Some(false))
                }
                _ => (Vec::new(), Vec::new(), Some(true)),
            },
            // the default zone's ports (a run always writes the SSH port as one: none, no
            // run yet; a stock zone opens ssh as a service)
            Backend::Firewalld => {
                let (t, u) = split(firewalld::previous_ports(&sys.root));
                let fresh = t.is_empty() && u.is_empty();
                (t, u, Some(fresh))
            }
            // the ports ufw's user rules open to everyone
            Backend::Ufw => {
                let (t, u) = split(crate::steps::firewall::ufw::previous_ports(&sys.root));
                (t, u, None)
            }
            _ => (now("IG_TCP_CPORTS"), now("IG_UDP_CPORTS"), None),
        };
        // A fresh APF (or ufw) opens SSH only: then the catalog's defaults are the starting
        // point. (A run that chose SSH alone looks the same there.)
        let fresh = known_fresh.unwrap_or_else(|| {
            now_tcp
                .iter()
                .all(|r| sys.current_ssh_ports().iter().any(|p| r.contains(*p)))
                && now_udp.is_empty()
        });
        let mut items: Vec<Item> = Vec::new();
        let mut custom_tcp: Vec<PortRange> = Vec::new();
        let mut custom_udp: Vec<PortRange> = Vec::new();
        let pre_lists = pre.map(|f| {
            let parse = |l: &Option<Vec<PortEntry>>| -> Vec<PortRange> {
                l.as_ref()
                    .map(|l| ports::parse_list_partial(l).0)
                    .unwrap_or_default()
            };
            (parse(&f.tcp_ports), parse(&f.udp_ports))
        });
        let (have_tcp, have_udp) = match (&pre_lists, fresh) {
            (Some((t, u)), _) => (t.clone(), u.clone()),
            (None, false) => (now_tcp.clone(), now_udp.clone()),
            (None, true) => (Vec::new(), Vec::new()),
        };
        for c in catalog {
            let list = if c.proto == Proto::Tcp {
                &have_tcp
            } else {
                &have_udp
            };
            let on = match (c.exposure, &pre_lists, fresh) {
                (Exposure::Refused | Exposure::TrustedOnly, _, _) => false,
                _ if c.service == "SSH" => true,
                (Exposure::WhenAsked, Some(_), _) => pre.and_then(|f| f.tftp) == Some(true),
                (_, None, true) => c.exposure == Exposure::Open,
                _ => list.iter().any(|r| r.covers(&c.ports)),
            };
            items.push(Item { entry: c, on });
        }
        for (list, out, proto) in [
            (&have_tcp, &mut custom_tcp, Proto::Tcp),
            (&have_udp, &mut custom_udp, Proto::Udp),
        ] {
            for r in list {
                let known = items.iter().any(|i| {
                    i.entry.proto == proto && (i.entry.ports == *r || r.covers(&i.entry.ports))
                });
                let old_ssh = proto == Proto::Tcp
                    && sys
                        .current_ssh_ports()
                        .iter()
                        .any(|p| r.lo == *p && r.hi == *p);
                if !known && !old_ssh {
                    out.push(*r);
                }
            }
        }
        State {
            pending: None,
            heading: heading(&ctx.sys, ctx.fw_backend.0),
            items,
            tcp: TextField::new(&join(
                &custom_tcp.iter().map(|r| entry_of(*r)).collect::<Vec<_>>(),
            )),
            udp: TextField::new(&join(
                &custom_udp.iter().map(|r| entry_of(*r)).collect::<Vec<_>>(),
            )),
            trust_admin: pre
                .and_then(|f| f.trust_admin)
                .unwrap_or(sys.admin.is_some()),
            focus: 0,
            problems: Vec::new(),
            ssh_port,
        }
    }

    /// The focused field, for its help.
    pub fn field(&self, ctx: &Ctx) -> Option<&'static str> {
        Some(match self.focusables(ctx).get(self.focus)? {
            Focus::Item(_) => return None,
            Focus::Tcp => "tcp",
            Focus::Udp => "udp",
            Focus::TrustAdmin => "admin",
        })
    }

    pub fn applies(&self, ctx: &Ctx) -> bool {
        matches!(
            ctx.fw_backend.0,
            Backend::Apf | Backend::Nftables | Backend::Firewalld | Backend::Ufw | Backend::Freepbx
        )
    }

    /// FreePBX's module is in charge: advice, no port list.
    fn advisory(ctx: &Ctx) -> bool {
        ctx.fw_backend.0 == Backend::Freepbx
    }

    fn focusables(&self, ctx: &Ctx) -> Vec<Focus> {
        if Self::advisory(ctx) {
            return if ctx.sys.admin.is_some() {
                vec![Focus::TrustAdmin]
            } else {
                Vec::new()
            };
        }
        let mut v: Vec<Focus> = self
            .items
            .iter()
            .enumerate()
            .filter(|(_, i)| {
                matches!(i.entry.exposure, Exposure::Open | Exposure::WhenAsked)
                    && i.entry.service != "SSH"
            })
            .map(|(n, _)| Focus::Item(n))
            .collect();
        v.extend([Focus::Tcp, Focus::Udp]);
        if ctx.sys.admin.is_some() {
            v.push(Focus::TrustAdmin);
        }
        v
    }

    /// Built on first entry; then the SSH port chosen on the SSH screen.
    pub fn enter(&mut self, ctx: &mut Ctx) {
        if let Some(pre) = self.pending.take() {
            *self = State::build(ctx, pre.as_ref());
        }
        let port = ctx
            .answers
            .ssh
            .as_ref()
            .and_then(|s| s.port)
            .and_then(|p| u16::try_from(p).ok())
            .unwrap_or(self.ssh_port);
        self.ssh_port = port;
        for i in &mut self.items {
            if i.entry.service == "SSH" {
                i.entry.ports = PortRange::one(port);
            }
        }
        self.recheck(ctx);
    }

    /// The ports part of the answers; the hosts (set on the next screen) are kept.
    pub fn answers(&self, ctx: &Ctx) -> FirewallAnswers {
        let list = |proto: Proto, custom: &TextField| -> Vec<PortEntry> {
            let mut v: Vec<PortEntry> = self
                .items
                .iter()
                .filter(|i| i.on && i.entry.proto == proto && i.entry.exposure == Exposure::Open)
                .map(|i| entry_of(i.entry.ports))
                .collect();
            v.extend(entries(&custom.text()));
            v
        };
        let hosts = ctx.answers.firewall.clone().unwrap_or_default();
        let (chosen, named) = ctx.fw_backend;
        if chosen == Backend::Freepbx {
            // no rules of ours: the plan says what to set in FreePBX
            return FirewallAnswers {
                trust_admin: Some(self.trust_admin),
                ..hosts
            };
        }
        let tftp = self
            .items
            .iter()
            .any(|i| i.on && i.entry.exposure == Exposure::WhenAsked);
        FirewallAnswers {
            backend: named.then(|| "nftables".to_string()),
            tcp_ports: Some(list(Proto::Tcp, &self.tcp)),
            udp_ports: Some(list(Proto::Udp, &self.udp)),
            trusted: hosts.trusted,
            blocked: hosts.blocked,
            tftp: tftp.then_some(true),
            trust_admin: Some(self.trust_admin),
            remove: hosts.remove,
        }
    }

    /// Run the plan's firewall checks on what is entered.
    fn recheck(&mut self, ctx: &Ctx) {
        let mut a = ctx.answers.clone();
        a.firewall = Some(self.answers(ctx));
        let moved = !ctx.sys.current_ssh_ports().contains(&self.ssh_port);
        // the hosts' problems are shown where they are entered (the next screen)
        self.problems = crate::steps::firewall::check(
            &ctx.sys,
            &ctx.sys.firewall,
            &a.for_firewall(),
            self.ssh_port,
            moved,
        )
        .into_iter()
        .filter(|p| !super::hosts::KEYS.contains(&p.key.as_str()))
        .collect();
    }

    pub fn settle(&mut self, ctx: &mut Ctx) {
        let changed = [&mut self.tcp, &mut self.udp]
            .into_iter()
            .fold(false, |acc, f| f.settle() | acc);
        if changed {
            self.recheck(ctx);
        }
    }

    pub fn dirty(&self) -> bool {
        self.tcp.is_dirty() || self.udp.is_dirty()
    }

    pub fn key(&mut self, k: Key, ctx: &mut Ctx) -> Nav {
        let f = self.focusables(ctx);
        match k {
            Key::Enter => {
                self.settle(ctx);
                return Nav::Next;
            }
            Key::Esc => return Nav::Back,
            Key::Tab | Key::BackTab | Key::Up | Key::Down => {
                self.settle(ctx);
                self.focus = super::cycle(self.focus, f.len(), k);
                return Nav::Stay;
            }
            _ => {}
        }
        match f.get(self.focus) {
            Some(Focus::Item(n)) if k == Key::Char(' ') => {
                self.items[*n].on = !self.items[*n].on;
                self.recheck(ctx);
            }
            Some(Focus::TrustAdmin) if k == Key::Char(' ') => {
                self.trust_admin = !self.trust_admin;
                self.recheck(ctx);
            }
            Some(Focus::Tcp) => {
                self.tcp.input(k);
            }
            Some(Focus::Udp) => {
                self.udp.input(k);
            }
            _ => {}
        }
        Nav::Stay
    }

    pub fn check(&self, _ctx: &Ctx) -> Result<(), String> {
        match self.problems.iter().find(|p| p.is_error()) {
            Some(p) => Err(crate::tui::words::problem(&p.key, &p.message)),
            None => Ok(()),
        }
    }

    pub fn store(&self, ctx: &mut Ctx) {
        ctx.answers.firewall = Some(self.answers(ctx));
    }

    pub fn keys(&self) -> String {
        "Enter next  Esc back  Tab field  Space toggle  ^C quit".into()
    }

    pub fn view(&self, f: &mut Frame, area: Rect, ctx: &Ctx) {
        let t = &ctx.theme;
        let focusables = self.focusables(ctx);
        let focused = focusables.get(self.focus).copied();
        if Self::advisory(ctx) {
            return self.view_advice(f, area, ctx, focused);
        }
        let mut out = super::wrapped(&self.heading, area.width, Default::default());
        if ctx.fw_backend.1 {
            out.push(Line::from(Span::styled(
                "(no firewall manager is active; nftables is installed, so it is offered)",
                t.warn(),
            )));
        }
        for (n, i) in self.items.iter().enumerate() {
            let e = &i.entry;
            let mark = match e.exposure {
                Exposure::Refused => " - ",
                Exposure::TrustedOnly => " - ",
                _ => t.check(i.on),
            };
            let note = match e.exposure {
                Exposure::Refused => "never: it controls the whole PBX".to_string(),
                Exposure::TrustedOnly => "only for trusted hosts (as the seed does)".to_string(),
                Exposure::WhenAsked if e.service == "TFTP" => "phone provisioning only".to_string(),
                _ => e.note.clone(),
            };
            let text = format!(
                "{mark} {:<8}{:<16}{note}",
                e.service,
                format!("{}/{}", e.ports, e.proto)
            );
            let text: String = text.chars().take(area.width as usize).collect();
            let style = if focused == Some(Focus::Item(n)) {
                t.focus()
            } else {
                Default::default()
            };
            out.push(Line::from(Span::styled(text, style)));
        }
        let row_ports = out.len();
        out.push(Line::from("Other TCP:                       UDP:"));
        let mut row_admin = None;
        if let Some(a) = &ctx.sys.admin {
            row_admin = Some(out.len());
            out.push(Line::from(Span::styled(
                format!(
                    "{} trust my address {} (never blocked, never banned)",
                    t.check(self.trust_admin),
                    a.client
                ),
                if focused == Some(Focus::TrustAdmin) {
                    t.focus()
                } else {
                    Default::default()
                },
            )));
        }
        out.push(Line::from("Trusted and blocked hosts: on the next screen"));
        out.push(Line::from(""));
        let room = (area.height as usize).saturating_sub(out.len());
        let mut msgs: Vec<Line> = Vec::new();
        let mut sorted: Vec<&Problem> = self.problems.iter().collect();
        sorted.sort_by_key(|p| !p.is_error());
        for p in sorted {
            msgs.extend(super::wrapped(
                &crate::tui::words::problem(&p.key, &p.message),
                area.width,
                if p.is_error() { t.error() } else { t.warn() },
            ));
        }
        if msgs.len() > room && room > 0 {
            // never cut silently: what does not fit is counted (errors come first)
            let left = self.problems.len();
            out.extend(msgs.into_iter().take(room - 1));
            out.push(Line::from(Span::styled(
                format!("({left} problems in all: fix the first, the rest follow)"),
                t.error(),
            )));
        } else {
            out.extend(msgs);
        }
        let _ = row_admin;
        f.render_widget(Paragraph::new(lines(out)), area);
        let at = |row: usize, x: u16, width: u16| Rect {
            x: area.x + x,
            y: area.y + row as u16,
            width,
            height: 1,
        };
        self.tcp
            .render(f, at(row_ports, 11, 20), focused == Some(Focus::Tcp));
        self.udp.render(
            f,
            at(row_ports, 38, area.width.saturating_sub(38)),
            focused == Some(Focus::Udp),
        );
    }

    /// FreePBX's Firewall module is in charge: what to set there, nothing written.
    fn view_advice(&self, f: &mut Frame, area: Rect, ctx: &Ctx, focused: Option<Focus>) {
        let t = &ctx.theme;
        let mut out = vec![
            Line::from("FreePBX's Firewall module is in charge here: pbx-harden writes no"),
            Line::from("firewall rules next to it. Set these in FreePBX before you confirm:"),
            Line::from(""),
            Line::from(format!(
                "  Connectivity > Firewall > Services: SSH on port {}/tcp",
                self.ssh_port
            )),
            Line::from("  (zone Trusted or Local, or Internet if you log in from anywhere)"),
            Line::from("  Connectivity > Firewall > Networks: the hosts of the next screen as"),
            Line::from("  Trusted or Blocked (the Review lists them)"),
            Line::from(""),
        ];
        if let Some(a) = &ctx.sys.admin {
            out.push(Line::from(Span::styled(
                format!(
                    "{} trust my address {} (never banned; set it Trusted in FreePBX)",
                    t.check(self.trust_admin),
                    a.client
                ),
                if focused == Some(Focus::TrustAdmin) {
                    t.focus()
                } else {
                    Default::default()
                },
            )));
        }
        for p in &self.problems {
            out.extend(super::wrapped(
                &crate::tui::words::problem(&p.key, &p.message),
                area.width,
                if p.is_error() { t.error() } else { t.warn() },
            ));
        }
        f.render_widget(Paragraph::new(lines(out)), area);
    }
}
