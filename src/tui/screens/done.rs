//! Done: the outcome and what follows from it (the new SIP/IAX secrets' report, the services
//! turned off, what the audit still finds), and an offer to save the answers (without
//! secrets) for the next server.

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
    /// What the audit finds now (None while it runs).
    pub findings: Option<Vec<String>>,
}

impl State {
    pub fn new(ctx: &mut Ctx) -> State {
        State {
            outcome: None,
            path: TextField::new(&ctx.save_path),
            saved: None,
            findings: None,
        }
    }

    pub fn enter(&mut self, _ctx: &mut Ctx) -> Vec<Effect> {
        self.findings = None;
        vec![Effect::Audit]
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
        out.push(Line::from(""));
        let w = area.width;
        if let (Some((true, _)), Some(a)) = (&self.outcome, &ctx.applied) {
            if let Some(u) = &a.summary.login_user {
                out.extend(hang("Login user:", u, w, Default::default()));
            }
            if let Some(p) = a.summary.ssh_port {
                out.extend(hang("SSH port:", &p.to_string(), w, Default::default()));
            }
            // The technical per-file lines and the (now past) DEVEL_MODE window are left out.
            for fw in a
                .summary
                .firewall
                .iter()
                .filter(|l| !l.starts_with('/') && !l.contains("DEVEL_MODE"))
            {
                out.extend(hang("Firewall:", fw, w, t.dim()));
            }
            if let Some(off) = ctx.answers.services.as_ref().map(|s| &s.disable)
                && !off.is_empty()
            {
                out.extend(hang("Turned off:", &off.join(", "), w, Default::default()));
            }
            if let Some(csv) = ctx.plan.as_ref().and_then(|p| {
                p.changes
                    .iter()
                    .find(|c| c.path.ends_with(".csv") && c.path.contains("pbx-harden-secrets"))
            }) {
                out.extend(hang(
                    "New secrets:",
                    &format!(
                        "{} (root only): give each phone listed there its new secret; \
                         until then it cannot register",
                        csv.path
                    ),
                    w,
                    t.warn(),
                ));
            }
            out.push(Line::from(""));
        }
        match &self.findings {
            None => out.push(Line::from(Span::styled(
                "Still open: (the audit is looking)",
                t.dim(),
            ))),
            Some(found) if found.is_empty() => out.push(Line::from(Span::styled(
                "Still open: nothing; the audit finds no problem",
                t.ok(),
            ))),
            Some(found) => {
                out.push(Line::from(format!(
                    "Still open: {} found by the audit (pbx-harden audit tells why and how)",
                    found.len()
                )));
                // as many as fit, then how many more
                let room = usize::from(area.height).saturating_sub(out.len());
                let mut shown = 0;
                for l in found {
                    let lines = super::wrapped_indent(&format!("  {l}"), w, 2, Default::default());
                    let more = found.len() - shown - 1;
                    if out.len() + lines.len() + usize::from(more > 0) > usize::from(area.height) {
                        break;
                    }
                    out.extend(lines);
                    shown += 1;
                }
                if shown == 0 && room > 0 {
                    // none fits whole: how many of each kind (never a cut line)
                    let count = |sev: &str| found.iter().filter(|l| l.starts_with(sev)).count();
                    out.push(Line::from(format!(
                        "  {} high, {} medium, {} low: pbx-harden audit lists them",
                        count("HIGH"),
                        count("MEDIUM"),
                        count("LOW")
                    )));
                } else if shown < found.len() && room > 0 {
                    out.push(Line::from(format!("  and {} more", found.len() - shown)));
                }
            }
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

/// `Label:` and text with a hanging indent, wrapped to `width`.
fn hang<'a>(label: &str, text: &str, width: u16, style: ratatui::style::Style) -> Vec<Line<'a>> {
    const COL: usize = 13;
    super::wrap(text, usize::from(width).saturating_sub(COL))
        .into_iter()
        .enumerate()
        .map(|(i, l)| {
            let head = if i == 0 { label } else { "" };
            Line::from(Span::styled(format!("{head:<COL$}{l}"), style))
        })
        .collect()
}
