//! APF and BFD (or fail2ban where they are absent): the seed's settings, pre-filled with the
//! seed's recommendations on a first run and with what is configured on a second.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::lines;
use crate::answers::{Answers, ApfAnswers, BfdAnswers, Fail2banAnswers};
use crate::steps::bruteforce::{bfd, fail2ban};
use crate::tui::app::{Ctx, Nav};
use crate::tui::field::TextField;
use crate::tui::keys::Key;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum F {
    Iface,
    TrustedIfaces,
    Trim,
    Egress,
    Dshield,
    Tos,
    TosPatch,
    Trig,
    Alerts,
    Email,
    Subject,
    MaxRetry,
    BanTime,
    TrustAdmin,
}

pub struct State {
    pub iface: usize,
    pub trusted_ifaces: TextField,
    pub trim0: bool,
    pub egress: bool,
    pub dshield: bool,
    pub tos: bool,
    pub tos_patch: bool,
    pub trig: TextField,
    pub alerts: bool,
    pub email: TextField,
    pub subject: TextField,
    /// EMAIL_SUBJECT as conf.bfd has it: left alone unless the admin edits it.
    subject_was: String,
    pub maxretry: TextField,
    pub bantime: TextField,
    pub trust_admin: bool,
    focus: usize,
}

fn yes(v: Option<&String>) -> bool {
    v.is_some_and(|v| v.trim() == "1")
}

impl State {
    pub fn new(ctx: &mut Ctx, prefill: Option<&Answers>) -> State {
        let fw = &ctx.sys.firewall;
        let apf = fw.apf.as_ref();
        let var = |k: &str| apf.and_then(|a| a.vars.get(k));
        let bvar = |k: &str| fw.bfd.as_ref().and_then(|b| b.vars.get(k)).cloned();
        let pa = prefill.and_then(|a| a.apf.as_ref());
        let pb = prefill.and_then(|a| a.bfd.as_ref());
        let pf = prefill.and_then(|a| a.fail2ban.as_ref());
        // First run: the seed's recommendations. Reconfiguration: what is there now.
        let first = ctx.first_run;
        let current_iface = var("IFACE_UNTRUSTED")
            .or(var("IFACE_IN"))
            .cloned()
            .unwrap_or_default();
        let want_iface = pa
            .and_then(|a| a.untrusted_iface.clone())
            .unwrap_or(current_iface);
        let iface = fw
            .interfaces
            .iter()
            .position(|i| *i == want_iface)
            .unwrap_or(0);
        let dshield_now = yes(var("USE_DS")) || yes(var("DLIST_DSHIELD"));
        let trig_now = bvar("TRIG").unwrap_or_else(|| "15".into());
        let email_now = bvar("EMAIL_ADDRESS").unwrap_or_else(|| "root".into());
        let subject_now = bvar("EMAIL_SUBJECT").unwrap_or_default();
        State {
            iface,
            trusted_ifaces: TextField::new(
                &pa.and_then(|a| a.trusted_ifaces.clone())
                    .map(|v| v.join(" "))
                    .unwrap_or_else(|| {
                        var("IFACE_TRUSTED")
                            .cloned()
                            .unwrap_or_default()
                            .replace(',', " ")
                    }),
            ),
            trim0: pa
                .and_then(|a| a.set_trim)
                .map_or(first || var("SET_TRIM").is_some_and(|v| v == "0"), |v| {
                    v == 0
                }),
            egress: pa
                .and_then(|a| a.egress_filtering)
                .unwrap_or(yes(var("EGF"))),
            dshield: pa.and_then(|a| a.dshield).unwrap_or(first || dshield_now),
            tos: pa.and_then(|a| a.tos).unwrap_or(
                first
                    || crate::steps::firewall::apf::tos_marked(
                        &ctx.sys,
                        &ctx.sys.firewall,
                        var("TOS_16"),
                    ),
            ),
            tos_patch: pa.and_then(|a| a.tos_udp_patch).unwrap_or(true),
            trig: TextField::new(
                &pb.and_then(|b| b.trig)
                    .map(|t| t.to_string())
                    .unwrap_or_else(|| if first { "5".into() } else { trig_now }),
            ),
            alerts: pb
                .and_then(|b| b.email_alerts)
                .unwrap_or(first || yes(bvar("EMAIL_ALERTS").as_ref())),
            email: TextField::new(
                &pb.and_then(|b| b.email_address.clone())
                    .unwrap_or(email_now),
            ),
            subject_was: subject_now.clone(),
            subject: TextField::new(&pb.and_then(|b| b.email_subject.clone()).unwrap_or_else(
                || {
                    // BFD's own `$HOSTNAME` stays: bash expands it on the box that sends
                    if subject_now.is_empty() {
                        format!("Brute force on {}", ctx.sys.firewall.hostname)
                    } else {
                        subject_now
                    }
                },
            )),
            maxretry: TextField::new(&pf.and_then(|f| f.maxretry).unwrap_or(5).to_string()),
            bantime: TextField::new(
                &pf.and_then(|f| f.bantime.clone())
                    .unwrap_or_else(|| "1h".into()),
            ),
            trust_admin: prefill
                .and_then(|a| a.firewall.as_ref())
                .and_then(|f| f.trust_admin)
                .unwrap_or(ctx.sys.admin.is_some()),
            focus: 0,
        }
    }

    pub fn applies(&self, ctx: &Ctx) -> bool {
        let fw = &ctx.sys.firewall;
        fw.apf.is_some() || fw.bfd.is_some() || fw.fail2ban.is_some()
    }

    fn items(&self, ctx: &Ctx) -> Vec<F> {
        let fw = &ctx.sys.firewall;
        let mut v = Vec::new();
        if let Some(a) = &fw.apf {
            if fw.interfaces.len() > 1 {
                v.push(F::Iface);
            }
            v.extend([F::TrustedIfaces, F::Trim, F::Egress, F::Dshield, F::Tos]);
            if *a.udp_tos_patch_lines.force() > 0 {
                v.push(F::TosPatch);
            }
        }
        if fw.bfd.is_some() {
            v.extend([F::Trig, F::Alerts, F::Email, F::Subject]);
        }
        if fw.apf.is_none() && fw.fail2ban.is_some() {
            v.extend([F::MaxRetry, F::BanTime]);
            if ctx.sys.admin.is_some() {
                v.push(F::TrustAdmin);
            }
        }
        v
    }

    fn fields(&mut self) -> [&mut TextField; 6] {
        [
            &mut self.trusted_ifaces,
            &mut self.trig,
            &mut self.email,
            &mut self.subject,
            &mut self.maxretry,
            &mut self.bantime,
        ]
    }

    pub fn dirty(&self) -> bool {
        [
            &self.trusted_ifaces,
            &self.trig,
            &self.email,
            &self.subject,
            &self.maxretry,
            &self.bantime,
        ]
        .iter()
        .any(|f| f.is_dirty())
    }

    pub fn settle(&mut self) {
        for f in self.fields() {
            f.settle();
        }
    }

    pub fn key(&mut self, k: Key, ctx: &mut Ctx) -> Nav {
        let items = self.items(ctx);
        match k {
            Key::Enter => {
                self.settle();
                return Nav::Next;
            }
            Key::Esc => return Nav::Back,
            Key::Tab | Key::BackTab | Key::Up | Key::Down => {
                self.settle();
                self.focus = super::cycle(self.focus, items.len(), k);
                return Nav::Stay;
            }
            _ => {}
        }
        let space = k == Key::Char(' ');
        match items.get(self.focus) {
            Some(F::Iface) if space => {
                self.iface = (self.iface + 1) % ctx.sys.firewall.interfaces.len().max(1)
            }
            Some(F::Trim) if space => self.trim0 = !self.trim0,
            Some(F::Egress) if space => self.egress = !self.egress,
            Some(F::Dshield) if space => self.dshield = !self.dshield,
            Some(F::Tos) if space => self.tos = !self.tos,
            Some(F::TosPatch) if space => self.tos_patch = !self.tos_patch,
            Some(F::Alerts) if space => self.alerts = !self.alerts,
            Some(F::TrustAdmin) if space => self.trust_admin = !self.trust_admin,
            Some(F::TrustedIfaces) => {
                self.trusted_ifaces.input(k);
            }
            Some(F::Trig) => {
                self.trig.input(k);
            }
            Some(F::Email) => {
                self.email.input(k);
            }
            Some(F::Subject) => {
                self.subject.input(k);
            }
            Some(F::MaxRetry) => {
                self.maxretry.input(k);
            }
            Some(F::BanTime) => {
                self.bantime.input(k);
            }
            _ => {}
        }
        Nav::Stay
    }

    /// Problems of the entered values (the plan's own field rules), settled text.
    fn problems(&self, ctx: &Ctx) -> Vec<(bool, String)> {
        let fw = &ctx.sys.firewall;
        let mut out = Vec::new();
        if fw.bfd.is_some() {
            match self.trig.settled().parse::<i64>() {
                Ok(t) => out.extend(bfd::trig_problem(t).map(|(e, m)| (e, format!("TRIG {m}")))),
                Err(_) => out.push((true, "TRIG: give a number, e.g. 5".into())),
            }
            if self.alerts {
                if let Err(e) = bfd::check_email(self.email.settled()) {
                    out.push((true, format!("e-mail: {e}")));
                }
                if let Err(e) = bfd::check_subject(self.subject.settled()) {
                    out.push((true, format!("subject: {e}")));
                }
            }
        }
        if fw.apf.is_none() && fw.fail2ban.is_some() {
            match self.maxretry.settled().parse::<i64>() {
                Ok(m) => {
                    if let Err(e) = fail2ban::check_maxretry(m) {
                        out.push((true, format!("maxretry {e}")));
                    }
                }
                Err(_) => out.push((true, "maxretry: give a number, e.g. 5".into())),
            }
            if let Err(e) = fail2ban::check_time(self.bantime.settled()) {
                out.push((true, format!("ban time: {e}")));
            }
        }
        out
    }

    pub fn check(&self, ctx: &Ctx) -> Result<(), String> {
        match self.problems(ctx).into_iter().find(|(e, _)| *e) {
            Some((_, m)) => Err(m),
            None => Ok(()),
        }
    }

    pub fn store(&self, ctx: &mut Ctx) {
        let fw = ctx.sys.firewall.clone();
        if let Some(a) = &fw.apf {
            ctx.answers.apf = Some(ApfAnswers {
                untrusted_iface: fw.interfaces.get(self.iface).cloned(),
                trusted_ifaces: {
                    let v: Vec<String> = self
                        .trusted_ifaces
                        .text()
                        .split_whitespace()
                        .map(str::to_string)
                        .collect();
                    let now = a
                        .vars
                        .get("IFACE_TRUSTED")
                        .map(|s| s.replace(',', " "))
                        .unwrap_or_default();
                    (v.join(" ") != now.split_whitespace().collect::<Vec<_>>().join(" "))
                        .then_some(v)
                },
                set_trim: self.trim0.then_some(0),
                egress_filtering: Some(self.egress),
                dshield: Some(self.dshield),
                tos: Some(self.tos),
                tos_udp_patch: (*a.udp_tos_patch_lines.force() > 0 && self.tos)
                    .then_some(self.tos_patch),
                ..ctx.answers.apf.clone().unwrap_or_default()
            });
        }
        if fw.bfd.is_some() {
            ctx.answers.bfd = Some(BfdAnswers {
                trig: self.trig.text().parse().ok(),
                email_alerts: Some(self.alerts),
                email_address: self.alerts.then(|| self.email.text()),
                email_subject: (self.alerts && self.subject.text() != self.subject_was)
                    .then(|| self.subject.text()),
                ignore_hosts: ctx
                    .answers
                    .bfd
                    .as_ref()
                    .and_then(|b| b.ignore_hosts.clone()),
            });
        }
        if fw.apf.is_none() && fw.fail2ban.is_some() {
            ctx.answers.fail2ban = Some(Fail2banAnswers {
                maxretry: self.maxretry.text().parse().ok(),
                bantime: Some(self.bantime.text()),
            });
            let mut f = ctx.answers.firewall.clone().unwrap_or_default();
            f.trust_admin = Some(self.trust_admin);
            ctx.answers.firewall = Some(f);
        }
    }

    pub fn keys(&self) -> String {
        "Enter next  Esc back  Tab field  Space toggle  ^C quit".into()
    }

    pub fn view(&self, f: &mut Frame, area: Rect, ctx: &Ctx) {
        let t = &ctx.theme;
        let fw = &ctx.sys.firewall;
        let items = self.items(ctx);
        let focused = items.get(self.focus).copied();
        let st = |x: F| {
            if focused == Some(x) {
                t.focus()
            } else {
                Default::default()
            }
        };
        let mut out: Vec<Line> = Vec::new();
        let mut rows: Vec<(F, usize, u16)> = Vec::new(); // text fields: (which, row, column)
        if let Some(a) = &fw.apf {
            out.push(Line::from(Span::styled(
                format!("APF {}", a.version.as_deref().unwrap_or("")),
                t.heading(),
            )));
            if items.contains(&F::Iface) {
                out.push(Line::from(Span::styled(
                    format!(
                        "Internet side (untrusted): {}   (Space: {})",
                        fw.interfaces.get(self.iface).cloned().unwrap_or_default(),
                        fw.interfaces.join(" ")
                    ),
                    st(F::Iface),
                )));
            } else if let Some(i) = fw.interfaces.first() {
                out.push(Line::from(format!("Internet side (untrusted): {i}")));
            }
            rows.push((F::TrustedIfaces, out.len(), 20));
            out.push(Line::from("Trusted interfaces:"));
            let checks = [
                (
                    F::Trim,
                    self.trim0,
                    "SET_TRIM 0: never purge the deny list (BFD fills it)",
                ),
                (
                    F::Egress,
                    self.egress,
                    "egress filtering (EGF): the seed leaves it off",
                ),
                (
                    F::Dshield,
                    self.dshield,
                    "DShield block list of attacking hosts",
                ),
                (
                    F::Tos,
                    self.tos,
                    "TOS marks for SIP, IAX and RTP (voice first)",
                ),
            ];
            for (which, on, label) in checks {
                out.push(Line::from(Span::styled(
                    format!("{} {label}", t.check(on)),
                    st(which),
                )));
            }
            if items.contains(&F::TosPatch) {
                out.push(Line::from(Span::styled(
                    format!(
                        "{} the seed's UDP TOS change to functions.apf ({} lines)",
                        t.check(self.tos_patch),
                        a.udp_tos_patch_lines.force()
                    ),
                    st(F::TosPatch),
                )));
            }
            out.push(Line::from(""));
        }
        if let Some(b) = &fw.bfd {
            out.push(Line::from(Span::styled(
                format!(
                    "BFD {} (runs from cron every 3 minutes)",
                    b.version.as_deref().unwrap_or("")
                ),
                t.heading(),
            )));
            rows.push((F::Trig, out.len(), 36));
            out.push(Line::from("Ban after this many failed logins:"));
            out.push(Line::from(Span::styled(
                format!("{} e-mail an alert at every ban", t.check(self.alerts)),
                st(F::Alerts),
            )));
            rows.push((F::Email, out.len(), 12));
            out.push(Line::from("  Send to:"));
            rows.push((F::Subject, out.len(), 12));
            out.push(Line::from("  Subject:"));
            out.push(Line::from(""));
        }
        if fw.apf.is_none() && fw.fail2ban.is_some() {
            out.push(Line::from(Span::styled(
                "fail2ban (no APF here): [sshd] on the new port, [asterisk] on its log",
                t.heading(),
            )));
            rows.push((F::MaxRetry, out.len(), 24));
            out.push(Line::from("Ban after failures:"));
            rows.push((F::BanTime, out.len(), 24));
            out.push(Line::from("Ban for (10m, 1h, 1d):"));
            if let Some(a) = &ctx.sys.admin {
                out.push(Line::from(Span::styled(
                    format!(
                        "{} never ban my address {}",
                        t.check(self.trust_admin),
                        a.client
                    ),
                    st(F::TrustAdmin),
                )));
            }
            out.push(Line::from(""));
        }
        for (is_err, m) in self.problems(ctx) {
            out.extend(super::wrapped(
                &m,
                area.width,
                if is_err { t.error() } else { t.warn() },
            ));
        }
        f.render_widget(Paragraph::new(lines(out)), area);
        for (which, row, col) in rows {
            let field = match which {
                F::TrustedIfaces => &self.trusted_ifaces,
                F::Trig => &self.trig,
                F::Email => &self.email,
                F::Subject => &self.subject,
                F::MaxRetry => &self.maxretry,
                F::BanTime => &self.bantime,
                _ => continue,
            };
            let r = Rect {
                x: area.x + col,
                y: area.y + row as u16,
                width: area.width.saturating_sub(col),
                height: 1,
            };
            field.render(f, r, focused == Some(which));
        }
    }
}
