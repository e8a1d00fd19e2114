//! Apply: progress step by step; on failure, what failed and that everything was rolled back.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

use super::{ScreenId, lines};
use crate::apply::ApplyReport;
use crate::tui::app::{Ctx, Effect, Nav};
use crate::tui::keys::Key;

#[derive(Default)]
pub struct State {
    pub steps: Vec<String>,
    pub failed: Option<String>,
    pub running: bool,
}

impl State {
    pub fn enter(&mut self, _ctx: &mut Ctx) -> Vec<Effect> {
        self.steps.clear();
        self.failed = None;
        self.running = true;
        vec![Effect::Apply]
    }

    pub fn progress(&mut self, line: String) {
        self.steps.push(line);
    }

    pub fn applied(&mut self, r: Result<ApplyReport, String>, ctx: &mut Ctx) -> Nav {
        self.running = false;
        match r {
            Ok(rep) if rep.nothing_to_do => {
                self.failed = Some("Nothing to change: the system already matches.".into());
                Nav::Stay
            }
            Ok(rep) => {
                ctx.applied = Some(rep);
                Nav::Go(ScreenId::Confirm)
            }
            Err(e) => {
                self.failed = Some(e);
                Nav::Stay
            }
        }
    }

    pub fn key(&mut self, k: Key, _ctx: &mut Ctx) -> Nav {
        if self.running {
            return Nav::Stay;
        }
        match k {
            Key::Esc => Nav::Go(ScreenId::Review),
            Key::Char('q') => Nav::Do(Effect::Quit),
            _ => Nav::Stay,
        }
    }

    pub fn keys(&self) -> String {
        if self.running {
            "applying... (the rollback timer is already armed)".into()
        } else {
            "Esc back to the review   q quit".into()
        }
    }

    pub fn view(&self, f: &mut Frame, area: Rect, ctx: &Ctx) {
        let t = &ctx.theme;
        let h = area.height as usize;
        let mut out: Vec<Line> = Vec::new();
        if let Some(e) = &self.failed {
            out.push(Line::from(Span::styled("Apply failed:", t.error())));
            for l in e.lines() {
                out.push(Line::from(Span::styled(l.to_string(), t.error())));
            }
            out.push(Line::from(""));
            out.push(Line::from(
                "Nothing stays changed: every file was restored from its backup.",
            ));
            out.push(Line::from(""));
        }
        let room = h.saturating_sub(out.len());
        let skip = self.steps.len().saturating_sub(room);
        for s in self.steps.iter().skip(skip) {
            out.push(Line::from(format!("{} {s}", t.bullet())));
        }
        f.render_widget(Paragraph::new(lines(out)).wrap(Wrap { trim: false }), area);
    }
}
