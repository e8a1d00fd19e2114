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
        // The newest steps that fit, wrapped here (a step can take two rows: counting
        // steps as rows let the list run past the bottom, where the newest were cut off).
        // Paths under --root show as on the target, as "wrote /etc/..." does: a command's
        // line is the review's without the root's directory in front of each path.
        let room = h.saturating_sub(out.len());
        let prefix =
            (!ctx.sys.root.is_live()).then(|| format!("{}/", ctx.sys.root.dir().display()));
        let mut rows: Vec<String> = Vec::new();
        for s in self.steps.iter().rev() {
            let s = match &prefix {
                Some(p) => s.replace(p.as_str(), "/"),
                None => s.clone(),
            };
            let mut r = super::wrap(&format!("{} {s}", t.bullet()), area.width as usize);
            if rows.len() + r.len() > room {
                break;
            }
            r.reverse();
            rows.extend(r);
        }
        out.extend(rows.into_iter().rev().map(Line::from));
        f.render_widget(Paragraph::new(lines(out)).wrap(Wrap { trim: false }), area);
    }
}
