//! Asterisk's own doors (beyond the seed): the manager interface bound to 127.0.0.1 with
//! strong secrets, and no calls from unknown SIP callers. Each choice is shown with what the
//! audit found and why; the screen is skipped when the audit finds none of them. The
//! findings come from the job thread (`Effect::ScanDoors`, asked for by `App::start` after
//! the first frame: the check of the AMI secrets wakes zxcvbn), never from a field access
//! on the UI thread; until they are in, the screen says it is checking.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::lines;
use crate::answers::{Answers, AsteriskAnswers};
use crate::audit::Finding;
use crate::tui::app::{Ctx, Nav};
use crate::tui::keys::Key;

pub struct State {
    /// The audit's findings for these doors, as of the system's facts (None: not in yet).
    findings: Option<Vec<Finding>>,
    /// The admin's (or the answers') choice; until there is one, the findings decide.
    ami: Option<bool>,
    guests: Option<bool>,
    focus: usize,
}

fn is_ami(f: &Finding) -> bool {
    f.id.starts_with("ami.")
}

impl State {
    pub fn new(_ctx: &mut Ctx, prefill: Option<&Answers>) -> State {
        let pre = prefill.and_then(|a| a.asterisk.as_ref());
        State {
            findings: None,
            ami: pre.and_then(|a| a.ami_localhost),
            guests: pre.and_then(|a| a.sip_guests).map(|allowed| !allowed),
            focus: 0,
        }
    }

    /// What the job thread found (`Event::Doors`).
    pub fn found(&mut self, findings: Vec<Finding>) {
        self.findings = Some(findings);
    }

    /// Are the findings in?
    pub fn is_ready(&self) -> bool {
        self.findings.is_some()
    }

    pub fn findings(&self, _ctx: &Ctx) -> &[Finding] {
        self.findings.as_deref().unwrap_or(&[])
    }

    pub fn ami(&self, ctx: &Ctx) -> bool {
        self.ami
            .unwrap_or_else(|| self.findings(ctx).iter().any(is_ami))
    }

    pub fn guests(&self, ctx: &Ctx) -> bool {
        self.guests
            .unwrap_or_else(|| self.findings(ctx).iter().any(|f| !is_ami(f)))
    }

    /// Shown when the audit finds an open door (or the answers name one). Until the findings
    /// are in, an Asterisk box counts the screen.
    pub fn applies(&self, ctx: &Ctx) -> bool {
        match &self.findings {
            Some(f) => !f.is_empty(),
            None => ctx.sys.pbx.asterisk,
        }
    }

    fn items(&self, ctx: &Ctx) -> Vec<bool> {
        // true: the AMI toggle; false: the guests toggle (each only when it has findings)
        let mut v = Vec::new();
        if self.findings(ctx).iter().any(is_ami) {
            v.push(true);
        }
        if self.findings(ctx).iter().any(|f| !is_ami(f)) {
            v.push(false);
        }
        v
    }

    pub fn key(&mut self, k: Key, ctx: &mut Ctx) -> Nav {
        let items = self.items(ctx);
        if !self.is_ready() && k == Key::Enter {
            // the choices are not on the screen yet: Enter waits for them
            return Nav::Stay;
        }
        match k {
            Key::Enter => Nav::Next,
            Key::Esc => Nav::Back,
            Key::Tab | Key::BackTab | Key::Up | Key::Down => {
                self.focus = super::cycle(self.focus, items.len(), k);
                Nav::Stay
            }
            Key::Char(' ') => {
                match items.get(self.focus) {
                    Some(true) => self.ami = Some(!self.ami(ctx)),
                    Some(false) => self.guests = Some(!self.guests(ctx)),
                    None => {}
                }
                Nav::Stay
            }
            _ => Nav::Stay,
        }
    }

    pub fn store(&self, ctx: &mut Ctx) {
        let items = self.items(ctx);
        let a = AsteriskAnswers {
            ami_localhost: (items.contains(&true) && self.ami(ctx)).then_some(true),
            sip_guests: (items.contains(&false) && self.guests(ctx)).then_some(false),
        };
        ctx.answers.asterisk = (a != AsteriskAnswers::default()).then_some(a);
    }

    pub fn keys(&self) -> String {
        "Enter next  Esc back  Tab move  Space toggle  ^C quit".into()
    }

    pub fn view(&self, f: &mut Frame, area: Rect, ctx: &Ctx) {
        let t = &ctx.theme;
        if !self.is_ready() {
            let out = vec![Line::from("Checking what Asterisk leaves open...")];
            f.render_widget(Paragraph::new(lines(out)), area);
            return;
        }
        let mut out = vec![
            Line::from("Beyond the seed: doors Asterisk itself leaves open. The audit found:"),
            Line::from(""),
        ];
        for (i, is_ami_item) in self.items(ctx).into_iter().enumerate() {
            let (on, label) = if is_ami_item {
                (
                    self.ami(ctx),
                    "manager interface (AMI) on 127.0.0.1 only, weak AMI secrets replaced",
                )
            } else {
                (
                    self.guests(ctx),
                    "no calls from unknown SIP callers (guests)",
                )
            };
            out.push(Line::from(Span::styled(
                format!("{} {label}", t.check(on)),
                if self.focus == i {
                    t.focus()
                } else {
                    Default::default()
                },
            )));
            for f in self
                .findings(ctx)
                .iter()
                .filter(|f| is_ami(f) == is_ami_item)
            {
                out.extend(super::wrapped_indent(
                    &format!("{} {}", f.severity.label(), f.title),
                    area.width,
                    4,
                    if on { t.dim() } else { t.warn() },
                ));
                if let Some(first) = f.fix.split("; ").next()
                    && !f.fix.starts_with('[')
                {
                    out.extend(super::wrapped_indent(first, area.width, 6, t.dim()));
                }
            }
            out.push(Line::from(""));
        }
        let why = if self.items(ctx).first() == Some(&true) {
            "AMI controls the whole PBX: reach it through ssh -L 5038:127.0.0.1:5038."
        } else {
            "Guest calls are how toll fraud starts."
        };
        out.extend(super::wrapped(why, area.width, Default::default()));
        f.render_widget(Paragraph::new(lines(out)), area);
    }
}
