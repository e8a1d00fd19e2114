//! Confirm: the countdown, the exact login line for a new session and `pbx-harden confirm`;
//! keys to confirm here or roll back now. Leaving the wizard does not stop the timer.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::{ScreenId, lines};
use crate::apply::{ConfirmReport, RollbackReport};
use crate::tui::app::{Ctx, Effect, Nav, fmt_countdown};
use crate::tui::keys::Key;

#[derive(Default)]
pub struct State {
    /// Asked "confirm from this session?" and waiting for y/n.
    pub asking: Option<char>,
    pub outcome: Option<(bool, String)>,
    pub error: Option<String>,
    pub show_password: bool,
    /// Confirm ('c') or rollback ('r') running on the job thread (confirm restarts the
    /// firewall): keys wait, and the once-a-second look at the pending change does not
    /// take its end for something done outside the wizard.
    pub busy: Option<char>,
}

impl State {
    pub fn enter(&mut self, _ctx: &mut Ctx) {
        self.asking = None;
        self.error = None;
        self.busy = None;
    }

    pub fn confirmed(&mut self, r: Result<ConfirmReport, String>, _ctx: &mut Ctx) -> Nav {
        self.busy = None;
        match r {
            Ok(rep) => {
                let _ = rep;
                self.outcome = Some((true, "Confirmed here: the change is final.".to_string()));
                Nav::Go(ScreenId::Done)
            }
            Err(e) => {
                self.error = Some(e);
                Nav::Stay
            }
        }
    }

    pub fn rolled_back(&mut self, r: Result<RollbackReport, String>, _ctx: &mut Ctx) -> Nav {
        self.busy = None;
        match r {
            Ok(rep) => {
                self.outcome = Some((
                    false,
                    format!(
                        "Rolled back: {} file(s) restored, {} removed.",
                        rep.restored.len(),
                        rep.removed.len()
                    ),
                ));
                Nav::Go(ScreenId::Done)
            }
            Err(e) => {
                self.error = Some(e);
                Nav::Stay
            }
        }
    }

    /// What `status` sees, once a second: the change confirmed from the new login (or rolled
    /// back by the timer) ends this screen.
    pub fn pending(&mut self, p: Option<(String, u64)>, how: Option<String>, ctx: &mut Ctx) -> Nav {
        if self.busy.is_some() {
            return Nav::Stay;
        }
        match (p, &ctx.applied) {
            (None, Some(a)) => {
                let confirmed = how.as_deref() == Some("confirmed");
                self.outcome = Some((
                    confirmed,
                    if confirmed {
                        "Confirmed outside the wizard (pbx-harden confirm): the change is final."
                            .to_string()
                    } else {
                        let _ = a;
                        "The timer ran out: everything was rolled back.".to_string()
                    },
                ));
                Nav::Go(ScreenId::Done)
            }
            _ => Nav::Stay,
        }
    }

    pub fn key(&mut self, k: Key, _ctx: &mut Ctx) -> Nav {
        if self.busy.is_some() {
            return Nav::Stay;
        }
        if let Some(q) = self.asking.take() {
            if matches!(k, Key::Char('y') | Key::Char('Y')) {
                self.busy = Some(q);
                self.error = None;
                return Nav::Do(if q == 'c' {
                    Effect::ConfirmHere
                } else {
                    Effect::RollbackNow
                });
            }
            return Nav::Stay;
        }
        match k {
            Key::Char('c') => self.asking = Some('c'),
            Key::Char('r') => self.asking = Some('r'),
            Key::Char('q') => return Nav::Do(Effect::Quit),
            Key::Ctrl('t') => self.show_password = !self.show_password,
            _ => {}
        }
        Nav::Stay
    }

    pub fn keys(&self) -> String {
        match self.busy {
            Some('c') => return "confirming... (the firewall may restart)".into(),
            Some(_) => return "rolling back...".into(),
            None => {}
        }
        match self.asking {
            Some(_) => "y yes   any other key: no".into(),
            None => "c confirm here   r roll back now   q leave (the timer keeps running)".into(),
        }
    }

    pub fn view(&self, f: &mut Frame, area: Rect, ctx: &Ctx) {
        let t = &ctx.theme;
        let Some(a) = &ctx.applied else { return };
        let left = a.deadline.saturating_sub(ctx.now);
        let port = a
            .summary
            .ssh_port
            .unwrap_or(crate::config::sshd::DEFAULT_PORT);
        let user = a
            .summary
            .login_user
            .clone()
            .unwrap_or_else(|| "USER".into());
        let mut out = vec![
            Line::from(vec![
                Span::raw("Everything rolls back in "),
                Span::styled(fmt_countdown(left), t.heading()),
                Span::raw(" unless you confirm."),
            ]),
            Line::from(""),
        ];
        if ctx.sys.root.is_live() {
            out.push(Line::from("1. Keep this session open."));
            out.push(Line::from("2. From a NEW terminal, log in the new way:"));
            out.push(Line::from(Span::styled(
                format!("     ssh -p {port} {user}@{}", a.summary.address),
                t.heading(),
            )));
            // sudo when the box grants it to the user (the plan's group), else su -.
            if a.summary.sudo {
                out.push(Line::from("3. There, run:"));
                out.push(Line::from(Span::styled(
                    "     sudo pbx-harden confirm",
                    t.heading(),
                )));
            } else {
                out.push(Line::from("3. There, become root (su -) and run:"));
                out.push(Line::from(Span::styled(
                    "     pbx-harden confirm",
                    t.heading(),
                )));
            }
            out.push(Line::from(""));
            out.push(Line::from(
                "If the new login fails, do nothing: the old setup comes back by",
            ));
            out.push(Line::from(
                "itself, even if this terminal dies or the machine reboots.",
            ));
        } else {
            out.push(Line::from(format!(
                "The target is {} (not this system),",
                ctx.sys.root.dir().display()
            )));
            out.push(Line::from(
                "so there is no new login to test: confirm here with c, or run",
            ));
            out.push(Line::from(Span::styled(
                format!(
                    "     pbx-harden --root {} confirm",
                    ctx.sys.root.dir().display()
                ),
                t.heading(),
            )));
        }
        if let Some(pw) = ctx.answers.user.as_ref().and_then(|u| u.password.as_ref()) {
            out.push(Line::from(""));
            out.push(Line::from(if self.show_password {
                format!("Password of {user}: {}", pw.expose())
            } else {
                format!(
                    "Password of {user}: {} (^T shows it)",
                    "*".repeat(pw.char_count().min(40))
                )
            }));
        }
        if let Some(q) = self.asking {
            out.push(Line::from(""));
            out.push(Line::from(Span::styled(
                if q == 'c' {
                    "Confirm without testing a new login? The seed's advice is to test first. (y/n)"
                } else {
                    "Roll everything back now? (y/n)"
                },
                t.error(),
            )));
        }
        if let Some(e) = &self.error {
            out.push(Line::from(""));
            for l in e.lines() {
                out.push(Line::from(Span::styled(l.to_string(), t.error())));
            }
        }
        f.render_widget(Paragraph::new(lines(out)), area);
    }
}
