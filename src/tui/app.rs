//! The wizard's state, `update` (events in, effects out, no I/O) and `view` (no I/O).
//!
//! The model every screen edits is an `Answers` value — the same contract headless mode
//! reads — so the wizard adds no rule of its own: it calls the core's validators live and
//! `plan::build` for the review.

use std::time::Duration;

use rand::SeedableRng;
use rand::rngs::StdRng;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::keys::Key;
use super::screens::{self, ScreenId};
use super::theme::Theme;
use crate::answers::Answers;
use crate::apply::{ApplyReport, ConfirmReport, RollbackReport};
use crate::plan::Plan;
use crate::secrets::{Secret, Strength};
use crate::system::System;

/// Work the event loop does for the app (I/O, threads), reported back as `Event`s.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// Score a password off the input path; the newest generation wins.
    Score {
        generation: u64,
        password: Secret,
        user: String,
    },
    BuildPlan,
    Apply,
    /// Confirm from this session (the admin chose to, at the console).
    ConfirmHere,
    RollbackNow,
    /// Look at the pending change (once a second on the confirm screen).
    PollPending,
    SaveAnswers(String),
    /// Scan the extension secrets off the input path (the Extensions screen shows that it
    /// is checking until the scan is in).
    ScanExtensions,
    /// The audit of Asterisk's own doors (AMI, SIP guests) for the Asterisk screen, off the
    /// input path (it wakes zxcvbn).
    ScanDoors,
    /// The services inventory (systemctl), for the Services screen, off the input path.
    ScanServices,
    /// What the audit still finds, for the Done screen.
    Audit,
    Redraw,
    Quit,
}

/// What happened outside the app.
#[derive(Debug)]
pub enum Event {
    Key(Key),
    Tick {
        now: u64,
    },
    /// Typing paused (no key for a quarter second): live checks catch up.
    Settle,
    Scored {
        generation: u64,
        strength: Strength,
    },
    Planned(Box<Plan>),
    ApplyProgress(String),
    Applied(Result<ApplyReport, String>),
    Confirmed(Result<ConfirmReport, String>),
    RolledBack(Result<RollbackReport, String>),
    /// The pending change as `status` sees it: (txid, deadline), or None when it is gone
    /// (with how it ended, when known).
    Pending(Option<(String, u64)>, Option<String>),
    Saved(Result<String, String>),
    /// The extension scan is in.
    Scanned,
    /// What the audit found of Asterisk's own doors.
    Doors(Vec<crate::audit::Finding>),
    /// The audit's findings after the change: (severity, title) lines.
    Audited(Vec<String>),
}

/// Shared by all screens.
pub struct Ctx {
    pub sys: System,
    /// The firewall backend the screens speak and the answers go to, and whether the answers
    /// must name it (`screens::firewall::backend`): found once, never while drawing.
    pub fw_backend: (crate::steps::firewall::facts::Backend, bool),
    pub theme: Theme,
    /// The model: what the answers file would say.
    pub answers: Answers,
    pub rng: StdRng,
    pub now: u64,
    /// The latest plan (review), built by the event loop.
    pub plan: Option<Plan>,
    pub applied: Option<ApplyReport>,
    /// Where `Done` offers to save the answers.
    pub save_path: String,
    /// Was this a fresh system (no earlier pbx-harden change)?
    pub first_run: bool,
    /// The login password is the generated passphrase the admin stored (the review and
    /// the confirm screens remind of it).
    pub generated_password: bool,
}

/// What a screen's update asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Nav {
    Stay,
    Next,
    Back,
    Go(ScreenId),
    Do(Effect),
}

pub struct App {
    /// F1 shows the help of the screen and its focused field; any key closes it.
    pub help: bool,
    pub ctx: Ctx,
    pub screens: screens::Screens,
    pub current: ScreenId,
    /// The status line: a message for the admin (errors in words).
    pub status: Option<(String, bool)>,
    pub quit_prompt: bool,
    pub quit: bool,
}

/// The frame's rows: the title (2), the screen's body (the rest), the status line and the
/// key line (1 each) at the bottom. Plain arithmetic: solving constraints for four fixed
/// rows was a third of the first draw.
fn frame_rows(area: Rect) -> [Rect; 4] {
    let row = |y: u16, height: u16| Rect { y, height, ..area };
    let bottom = area.bottom();
    let title_h = area.height.min(2);
    let keys_h = area.height.saturating_sub(title_h).min(1);
    let status_h = area.height.saturating_sub(title_h + keys_h).min(1);
    let body_h = area.height - title_h - keys_h - status_h;
    [
        row(area.y, title_h),
        row(area.y + title_h, body_h),
        row(bottom - keys_h - status_h, status_h),
        row(bottom - keys_h, keys_h),
    ]
}

impl App {
    /// `rng_seed` and `now` make snapshots deterministic; the wizard passes entropy and the
    /// clock.
    pub fn new(
        sys: System,
        prefill: Option<Answers>,
        theme: Theme,
        rng_seed: u64,
        now: u64,
    ) -> App {
        let first_run = sys.managed_users.is_empty();
        let save_path = if sys.root.is_live() {
            "/root/pbx-harden-answers.toml".to_string()
        } else {
            sys.root
                .dir()
                .join("pbx-harden-answers.toml")
                .display()
                .to_string()
        };
        let fw_backend = screens::firewall::backend(&sys);
        let mut ctx = Ctx {
            sys,
            fw_backend,
            theme,
            answers: prefill.clone().unwrap_or_default(),
            rng: StdRng::seed_from_u64(rng_seed),
            now,
            plan: None,
            applied: None,
            save_path,
            first_run,
            generated_password: false,
        };
        let screens = screens::Screens::new(&mut ctx, prefill.as_ref());
        App {
            help: false,
            ctx,
            screens,
            current: ScreenId::Welcome,
            status: None,
            quit_prompt: false,
            quit: false,
        }
    }

    /// The screens that apply to this system, in order.
    pub fn flow(&self) -> Vec<ScreenId> {
        ScreenId::ALL
            .iter()
            .copied()
            .filter(|s| self.screens.applies(*s, &self.ctx))
            .collect()
    }

    fn step(&self, dir: i32) -> Option<ScreenId> {
        let flow = self.flow();
        if let Some(i) = flow.iter().position(|s| *s == self.current) {
            return flow.get(usize::try_from(i as i32 + dir).ok()?).copied();
        }
        // The screen shown no longer applies (the services inventory came in empty while
        // the Services screen waited for it): the nearest one that does, that way.
        let all = ScreenId::ALL;
        let at = all.iter().position(|s| *s == self.current)?;
        if dir > 0 {
            all[at + 1..].iter().find(|s| flow.contains(s)).copied()
        } else {
            all[..at].iter().rev().find(|s| flow.contains(s)).copied()
        }
    }

    fn go(&mut self, to: ScreenId) -> Vec<Effect> {
        self.screens.leave(self.current, &mut self.ctx);
        self.current = to;
        self.status = None;
        self.screens.enter(to, &mut self.ctx)
    }

    /// The slow facts the screens need, asked for once after the first frame; the event
    /// loop runs them on the job thread (tests run them in place).
    pub fn start(&self) -> Vec<Effect> {
        vec![Effect::ScanDoors]
    }

    /// Handle one event; returns the effects for the event loop.
    pub fn update(&mut self, ev: Event) -> Vec<Effect> {
        match ev {
            Event::Key(k) => self.key(k),
            Event::Settle => {
                let nav = self.screens.settle(self.current, &mut self.ctx);
                self.nav(nav)
            }
            Event::Tick { now } => {
                self.ctx.now = now;
                if self.current == ScreenId::Confirm {
                    vec![Effect::PollPending]
                } else {
                    Vec::new()
                }
            }
            Event::Doors(f) => {
                self.screens.asterisk.found(f);
                Vec::new()
            }
            other => {
                let nav = self.screens.event(self.current, other, &mut self.ctx);
                self.nav(nav)
            }
        }
    }

    fn key(&mut self, k: Key) -> Vec<Effect> {
        if self.quit_prompt {
            self.quit_prompt = false;
            if matches!(k, Key::Char('y') | Key::Char('Y')) {
                self.quit = true;
                return vec![Effect::Quit];
            }
            self.status = None;
            return Vec::new();
        }
        if self.help {
            self.help = false;
            return Vec::new();
        }
        // A message answers the last key; the next key clears it.
        self.status = None;
        match k {
            Key::F(1) => {
                self.help = true;
                return Vec::new();
            }
            Key::Ctrl('c') | Key::Ctrl('q') => {
                self.quit_prompt = true;
                return Vec::new();
            }
            Key::Ctrl('l') => return vec![Effect::Redraw],
            _ => {}
        }
        let nav = self.screens.key(self.current, k, &mut self.ctx);
        self.nav(nav)
    }

    fn nav(&mut self, nav: Nav) -> Vec<Effect> {
        match nav {
            Nav::Stay => Vec::new(),
            Nav::Next => match self.screens.check(self.current, &self.ctx) {
                Err(msg) => {
                    self.status = Some((msg, true));
                    Vec::new()
                }
                Ok(()) => match self.step(1) {
                    Some(s) => self.go(s),
                    None => Vec::new(),
                },
            },
            Nav::Back => match self.step(-1) {
                Some(s) if self.current.can_go_back() => self.go(s),
                _ => Vec::new(),
            },
            Nav::Go(s) => self.go(s),
            Nav::Do(e) => {
                if e == Effect::Quit {
                    self.quit = true;
                }
                vec![e]
            }
        }
    }

    pub fn view(&self, f: &mut Frame) {
        let area = f.area();
        let [title, body, status, keys] = frame_rows(area);
        let flow = self.flow();
        let n = flow
            .iter()
            .position(|s| *s == self.current)
            .map_or(0, |i| i + 1);
        let t = &self.ctx.theme;
        let title_text = format!(" pbx-harden  {n}/{}  {} ", flow.len(), self.current.title());
        f.render_widget(
            Paragraph::new(Line::from(Span::styled(title_text, t.title()))),
            Rect { height: 1, ..title },
        );
        let body = Rect {
            x: body.x + 1,
            width: body.width.saturating_sub(2),
            ..body
        };
        if self.help {
            let field = self.screens.field(self.current, &self.ctx);
            let text = screens::help::text(self.current, field);
            let mut v = vec![Line::from(Span::styled("Help", t.title()))];
            for para in text.split("\n\n") {
                v.push(Line::from(""));
                v.extend(screens::wrapped(para, body.width, Default::default()));
            }
            f.render_widget(Paragraph::new(v), body);
        } else {
            self.screens.view(self.current, f, body, &self.ctx);
        }
        let (msg, is_err) = if self.quit_prompt {
            (self.quit_question(), true)
        } else if area.width < 80 || area.height < 24 {
            (
                format!(
                    "Terminal too small ({}x{}): 80x24 shows everything; text is cut",
                    area.width, area.height
                ),
                true,
            )
        } else {
            self.status.clone().unwrap_or_default()
        };
        if !msg.is_empty() {
            let style = if is_err { t.error() } else { t.ok() };
            let width = usize::from(status.width.saturating_sub(2));
            let shown = if crate::tui::width::width(&msg) > width {
                let (head, _) = crate::tui::width::split_at_width(&msg, width.saturating_sub(3));
                format!("{head}...")
            } else {
                msg
            };
            f.render_widget(
                Paragraph::new(Span::styled(format!(" {shown}"), style)),
                status,
            );
        }
        let help = if self.quit_prompt {
            " y quit   any other key: stay".to_string()
        } else if self.help {
            " any key closes the help".to_string()
        } else {
            let k = format!(" {}", self.screens.keys(self.current, &self.ctx));
            if crate::tui::width::width(&k) + 9 <= usize::from(keys.width) {
                format!("{k}  F1 help")
            } else {
                k
            }
        };
        f.render_widget(Paragraph::new(help), keys);
    }

    fn quit_question(&self) -> String {
        if self.ctx.applied.is_some() && self.current == ScreenId::Confirm {
            "Leave the wizard? The rollback timer keeps running. (y/n)".into()
        } else if matches!(self.current, ScreenId::Done) {
            "Quit? (y/n)".into()
        } else if self.current == ScreenId::Apply && self.screens.apply.running {
            // Not "nothing has been changed": apply is half-way and the timer is armed.
            "Apply is running: leaving stops it half-way; the timer undoes it. Leave? (y/n)".into()
        } else if self.current == ScreenId::Apply && self.screens.apply.failed.is_some() {
            "Quit the wizard? The failed apply was rolled back. (y/n)".into()
        } else {
            "Quit the wizard? Nothing has been changed. (y/n)".into()
        }
    }

    /// Has a field been typed into since the last pause? The event loop then sends
    /// `Event::Settle` after a quarter second without keys.
    pub fn needs_settle(&self) -> bool {
        self.screens.dirty(self.current)
    }

    /// Seconds left on the pending change, for the countdown.
    pub fn seconds_left(&self) -> Option<u64> {
        self.ctx
            .applied
            .as_ref()
            .map(|a| a.deadline.saturating_sub(self.ctx.now))
    }
}

pub fn fmt_countdown(secs: u64) -> String {
    let d = Duration::from_secs(secs);
    format!("{}:{:02}", d.as_secs() / 60, d.as_secs() % 60)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::layout::{Constraint, Layout};

    #[test]
    fn the_frame_rows_are_the_layout_they_replace() {
        for (x, y) in [(0, 0), (3, 5)] {
            for width in [0, 1, 40, 80, 200] {
                for height in 0..=80 {
                    let area = Rect::new(x, y, width, height);
                    let rows = frame_rows(area);
                    assert_eq!(rows.iter().map(|r| r.height).sum::<u16>(), height);
                    if height >= 5 {
                        let solved: [Rect; 4] = Layout::vertical([
                            Constraint::Length(2),
                            Constraint::Min(1),
                            Constraint::Length(1),
                            Constraint::Length(1),
                        ])
                        .areas(area);
                        assert_eq!(rows, solved, "{area:?}");
                    }
                }
            }
        }
    }
}
