//! Asterisk's own doors (beyond the seed): the manager interface bound to 127.0.0.1 with
//! strong secrets, and no calls from unknown SIP callers. Each choice is shown with what the
//! audit found and why; the screen is skipped when the audit finds none of them.

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
    /// The audit's findings for these doors, as of the system's facts.
    pub findings: Vec<Finding>,
    pub ami: bool,
    pub guests: bool,
    focus: usize,
}

fn is_ami(f: &Finding) -> bool {
    f.id.starts_with("ami.")
}

impl State {
    pub fn new(ctx: &mut Ctx, prefill: Option<&Answers>) -> State {
        let findings = crate::audit::asterisk_doors(&ctx.sys);
        let pre = prefill.and_then(|a| a.asterisk.as_ref());
        let has_ami = findings.iter().any(is_ami);
        let has_guests = findings.iter().any(|f| !is_ami(f));
        State {
            ami: pre.and_then(|a| a.ami_localhost).unwrap_or(has_ami),
            guests: pre
                .and_then(|a| a.sip_guests)
                .map_or(has_guests, |allowed| !allowed),
            findings,
            focus: 0,
        }
    }

    /// Shown when the audit finds an open door (or the answers name one).
    pub fn applies(&self) -> bool {
        !self.findings.is_empty()
    }

    fn items(&self) -> Vec<bool> {
        // true: the AMI toggle; false: the guests toggle (each only when it has findings)
        let mut v = Vec::new();
        if self.findings.iter().any(is_ami) {
            v.push(true);
        }
        if self.findings.iter().any(|f| !is_ami(f)) {
            v.push(false);
        }
        v
    }

    pub fn key(&mut self, k: Key, _ctx: &mut Ctx) -> Nav {
        let items = self.items();
        match k {
            Key::Enter => Nav::Next,
            Key::Esc => Nav::Back,
            Key::Tab | Key::BackTab | Key::Up | Key::Down => {
                self.focus = super::cycle(self.focus, items.len(), k);
                Nav::Stay
            }
            Key::Char(' ') => {
                match items.get(self.focus) {
                    Some(true) => self.ami = !self.ami,
                    Some(false) => self.guests = !self.guests,
                    None => {}
                }
                Nav::Stay
            }
            _ => Nav::Stay,
        }
    }

    pub fn store(&self, ctx: &mut Ctx) {
        let items = self.items();
        let a = AsteriskAnswers {
            ami_localhost: (items.contains(&true) && self.ami).then_some(true),
            sip_guests: (items.contains(&false) && self.guests).then_some(false),
        };
        ctx.answers.asterisk = (a != AsteriskAnswers::default()).then_some(a);
    }

    pub fn keys(&self) -> String {
        "Enter next  Esc back  Tab move  Space toggle  ^C quit".into()
    }

    pub fn view(&self, f: &mut Frame, area: Rect, ctx: &Ctx) {
        let t = &ctx.theme;
        let mut out = vec![
            Line::from("Beyond the seed: doors Asterisk itself leaves open. The audit found:"),
            Line::from(""),
        ];
        for (i, is_ami_item) in self.items().into_iter().enumerate() {
            let (on, label) = if is_ami_item {
                (
                    self.ami,
                    "manager interface (AMI) on 127.0.0.1 only, weak AMI secrets replaced",
                )
            } else {
                (self.guests, "no calls from unknown SIP callers (guests)")
            };
            out.push(Line::from(Span::styled(
                format!("{} {label}", t.check(on)),
                if self.focus == i {
                    t.focus()
                } else {
                    Default::default()
                },
            )));
            for f in self.findings.iter().filter(|f| is_ami(f) == is_ami_item) {
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
        let why = if self.items().first() == Some(&true) {
            "AMI controls the whole PBX: reach it through ssh -L 5038:127.0.0.1:5038."
        } else {
            "Guest calls are how toll fraud starts."
        };
        out.extend(super::wrapped(why, area.width, Default::default()));
        f.render_widget(Paragraph::new(lines(out)), area);
    }
}
