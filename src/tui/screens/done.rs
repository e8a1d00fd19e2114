//! Done: the outcome, and an offer to save the answers (without secrets) for the next server.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::lines;
use crate::tui::app::{Ctx, Effect, Nav};
use crate::tui::field::TextField;
use crate::tui::keys::Key;

pub struct State {
    pub outcome: Option<(bool, String)>,
    pub path: TextField,
    pub saved: Option<Result<String, String>>,
}

impl State {
    pub fn new(ctx: &mut Ctx) -> State {
        State {
            outcome: None,
            path: TextField::new(&ctx.save_path),
            saved: None,
        }
    }

    pub fn saved(&mut self, r: Result<String, String>) {
        self.saved = Some(r);
    }

    pub fn key(&mut self, k: Key, _ctx: &mut Ctx) -> Nav {
        match k {
            Key::Enter => Nav::Do(Effect::SaveAnswers(self.path.text())),
            Key::Esc => Nav::Do(Effect::Quit),
            k => {
                self.path.input(k);
                Nav::Stay
            }
        }
    }

    pub fn keys(&self) -> String {
        "Enter save the answers   Esc quit".into()
    }

    pub fn view(&self, f: &mut Frame, area: Rect, ctx: &Ctx) {
        let t = &ctx.theme;
        let mut out = Vec::new();
        match &self.outcome {
            Some((true, m)) => out.push(Line::from(Span::styled(m.clone(), t.ok()))),
            Some((false, m)) => out.push(Line::from(Span::styled(m.clone(), t.warn()))),
            None => out.push(Line::from("Finished.")),
        }
        out.push(Line::from(""));
        if let (Some((true, _)), Some(a)) = (&self.outcome, &ctx.applied) {
            if let Some(u) = &a.summary.login_user {
                out.push(Line::from(format!("Login user:  {u}")));
            }
            if let Some(p) = a.summary.ssh_port {
                out.push(Line::from(format!("SSH port:    {p}")));
            }
            // The technical per-file lines and the (now past) DEVEL_MODE window are left out.
            for fw in a
                .summary
                .firewall
                .iter()
                .filter(|l| !l.starts_with('/') && !l.contains("DEVEL_MODE"))
            {
                out.extend(super::wrapped_indent(
                    &format!("Firewall:    {fw}"),
                    area.width,
                    0,
                    t.dim(),
                ));
            }
            out.push(Line::from(format!(
                "Files:       {}",
                a.summary.files.len()
            )));
            out.push(Line::from(""));
        }
        out.push(Line::from(
            "Save these answers for the next server (passwords are left out):",
        ));
        let field_row = out.len();
        out.push(Line::from(""));
        match &self.saved {
            Some(Ok(p)) => out.push(Line::from(Span::styled(
                format!("saved {p}: pbx-harden apply --answers {p} on the next box"),
                t.ok(),
            ))),
            Some(Err(e)) => out.push(Line::from(Span::styled(e.clone(), t.error()))),
            None => {}
        }
        f.render_widget(Paragraph::new(lines(out)), area);
        self.path.render(
            f,
            Rect {
                x: area.x,
                y: area.y + field_row as u16,
                width: area.width,
                height: 1,
            },
            true,
        );
    }
}
