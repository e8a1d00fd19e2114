//! Extensions: the weak SIP/IAX secrets found, which ones pbx-harden replaces, and which
//! live in files FreePBX writes (changed in FreePBX instead).

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::lines;
use crate::answers::{Answers, ExtensionsAnswers};
use crate::steps::asterisk::{Problem, manual_fix, weak};
use crate::tui::app::{Ctx, Nav};
use crate::tui::keys::Key;

pub struct State {
    pub rotate: bool,
    pub scroll: usize,
}

/// (peer, what is wrong, what happens: None = pbx-harden replaces it)
fn rows(ctx: &Ctx) -> Vec<(String, String, Option<String>)> {
    // Never the scan itself: the view and the keys ask only once it is in (Event::Scanned).
    let Some(scan) = ctx.sys.extensions.get() else {
        return Vec::new();
    };
    scan.problems()
        .map(|(p, pr)| {
            let what = match pr {
                Problem::Weak { reasons } => weak::describe(reasons),
                Problem::NoSecret => "no secret, yet it takes registrations".into(),
                Problem::OpenIax { .. } => "takes IAX calls from anyone, no secret".into(),
            };
            let fix = match pr {
                Problem::Weak { .. } => manual_fix(scan, p),
                _ => Some(format!(
                    "by hand in {}",
                    p.file.rsplit('/').next().unwrap_or(&p.file)
                )),
            };
            (
                format!(
                    "{} ({}:{})",
                    p.describe(),
                    p.file.rsplit('/').next().unwrap_or(&p.file),
                    p.line + 1
                ),
                what,
                fix,
            )
        })
        .collect()
}

impl State {
    pub fn new(_ctx: &mut Ctx, prefill: Option<&Answers>) -> State {
        State {
            rotate: prefill
                .and_then(|a| a.extensions.as_ref())
                .is_none_or(|e| e.rotate_weak),
            scroll: 0,
        }
    }

    /// Until the scan is in (zxcvbn on every secret), an Asterisk box counts the screen.
    pub fn applies(&self, ctx: &Ctx) -> bool {
        match ctx.sys.extensions.get() {
            Some(scan) => scan.problems().next().is_some(),
            None => ctx.sys.pbx.asterisk,
        }
    }

    fn rotatable(ctx: &Ctx) -> usize {
        rows(ctx).iter().filter(|(_, _, fix)| fix.is_none()).count()
    }

    pub fn key(&mut self, k: Key, ctx: &mut Ctx) -> Nav {
        let ready = ctx.sys.extensions.is_ready();
        match k {
            Key::Enter => Nav::Next,
            Key::Esc => Nav::Back,
            // Still checking: the choice is kept, the plan rotates what turns out weak.
            Key::Char(' ') if !ready => {
                self.rotate = !self.rotate;
                Nav::Stay
            }
            _ if !ready => Nav::Stay,
            _ => self.key_ready(k, ctx),
        }
    }

    fn key_ready(&mut self, k: Key, ctx: &mut Ctx) -> Nav {
        match k {
            Key::Enter => Nav::Next,
            Key::Esc => Nav::Back,
            Key::Char(' ') => {
                if Self::rotatable(ctx) > 0 {
                    self.rotate = !self.rotate;
                }
                Nav::Stay
            }
            Key::Down | Key::Char('j') | Key::PageDown => {
                self.scroll = (self.scroll + 1).min(rows(ctx).len().saturating_sub(1));
                Nav::Stay
            }
            Key::Up | Key::Char('k') | Key::PageUp => {
                self.scroll = self.scroll.saturating_sub(1);
                Nav::Stay
            }
            _ => Nav::Stay,
        }
    }

    pub fn store(&self, ctx: &mut Ctx) {
        let ready = ctx.sys.extensions.is_ready();
        ctx.answers.extensions = Some(ExtensionsAnswers {
            rotate_weak: self.rotate && (!ready || Self::rotatable(ctx) > 0),
        });
    }

    pub fn keys(&self) -> String {
        "Enter next   Esc back   Space toggle   Up/Down scroll   ^C quit".into()
    }

    pub fn view(&self, f: &mut Frame, area: Rect, ctx: &Ctx) {
        let t = &ctx.theme;
        if !ctx.sys.extensions.is_ready() {
            let out = vec![
                Line::from("Checking the SIP/IAX secrets (a moment on a large PBX)..."),
                Line::from(""),
                Line::from(Span::styled(
                    format!(
                        "{} replace weak secrets in files you own",
                        t.check(self.rotate)
                    ),
                    t.focus(),
                )),
            ];
            f.render_widget(Paragraph::new(lines(out)), area);
            return;
        }
        let all = rows(ctx);
        let n_rot = all.iter().filter(|(_, _, fix)| fix.is_none()).count();
        let mut out = vec![
            Line::from(format!(
                "{} peer(s) with weak or missing secrets: scanners try secret = extension first.",
                all.len()
            )),
            Line::from(""),
            Line::from(Span::styled(
                if n_rot > 0 {
                    format!(
                        "{} replace the {n_rot} weak secret(s) in files you own; the new ones go",
                        t.check(self.rotate)
                    )
                } else {
                    "None is in a file pbx-harden may change; see below.".to_string()
                },
                t.focus(),
            )),
        ];
        if n_rot > 0 {
            out.push(Line::from(
                "    to a root-only CSV for re-provisioning the phones",
            ));
        }
        out.push(Line::from(""));
        let room = (area.height as usize).saturating_sub(out.len());
        let mut body: Vec<Line> = Vec::new();
        for (peer, what, fix) in all.iter().skip(self.scroll) {
            body.push(Line::from(Span::styled(peer.clone(), t.heading())));
            body.extend(super::wrapped_indent(what, area.width, 2, t.warn()));
            let action = match fix {
                None if self.rotate => "-> replaced by a generated secret".to_string(),
                None => "-> left as it is (tick the box to replace it)".to_string(),
                Some(x) => format!("-> {x}"),
            };
            body.extend(super::wrapped_indent(&action, area.width, 2, t.dim()));
            if body.len() >= room {
                break;
            }
        }
        out.extend(body.into_iter().take(room));
        f.render_widget(Paragraph::new(lines(out)), area);
    }
}
