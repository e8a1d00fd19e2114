//! One file per screen: its state, its update and its view.

pub mod apply;
pub mod confirm;
pub mod done;
pub mod password;
pub mod review;
pub mod ssh;
pub mod user;
pub mod welcome;

use ratatui::Frame;
use ratatui::layout::Rect;

use super::app::{Ctx, Effect, Event, Nav};
use super::keys::Key;
use crate::answers::Answers;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ScreenId {
    Welcome,
    User,
    Password,
    Ssh,
    Review,
    Apply,
    Confirm,
    Done,
}

impl ScreenId {
    pub const ALL: &'static [ScreenId] = &[
        ScreenId::Welcome,
        ScreenId::User,
        ScreenId::Password,
        ScreenId::Ssh,
        ScreenId::Review,
        ScreenId::Apply,
        ScreenId::Confirm,
        ScreenId::Done,
    ];

    pub fn title(self) -> &'static str {
        match self {
            ScreenId::Welcome => "Welcome",
            ScreenId::User => "Login user",
            ScreenId::Password => "Password",
            ScreenId::Ssh => "SSH",
            ScreenId::Review => "Review",
            ScreenId::Apply => "Apply",
            ScreenId::Confirm => "Confirm",
            ScreenId::Done => "Done",
        }
    }

    /// Once applied, there is no way back through the screens.
    pub fn can_go_back(self) -> bool {
        !matches!(
            self,
            ScreenId::Apply | ScreenId::Confirm | ScreenId::Done | ScreenId::Welcome
        )
    }
}

pub struct Screens {
    pub welcome: welcome::State,
    pub user: user::State,
    pub password: password::State,
    pub ssh: ssh::State,
    pub review: review::State,
    pub apply: apply::State,
    pub confirm: confirm::State,
    pub done: done::State,
}

impl Screens {
    pub fn new(ctx: &mut Ctx, prefill: Option<&Answers>) -> Screens {
        Screens {
            welcome: welcome::State,
            user: user::State::new(ctx, prefill),
            password: password::State::new(ctx, prefill),
            ssh: ssh::State::new(ctx, prefill),
            review: review::State::default(),
            apply: apply::State::default(),
            confirm: confirm::State::default(),
            done: done::State::new(ctx),
        }
    }

    pub fn applies(&self, s: ScreenId, ctx: &Ctx) -> bool {
        match s {
            ScreenId::Password => self.user.wants_user(),
            _ => {
                let _ = ctx;
                true
            }
        }
    }

    /// Entering a screen: refresh what depends on other screens.
    pub fn enter(&mut self, s: ScreenId, ctx: &mut Ctx) -> Vec<Effect> {
        match s {
            ScreenId::Password => self.password.enter(ctx),
            ScreenId::Ssh => {
                self.ssh.enter(ctx);
                Vec::new()
            }
            ScreenId::Review => self.review.enter(ctx),
            ScreenId::Apply => self.apply.enter(ctx),
            ScreenId::Confirm => {
                self.confirm.enter(ctx);
                Vec::new()
            }
            _ => Vec::new(),
        }
    }

    /// Leaving a screen (either way): write its part of the answers.
    pub fn leave(&mut self, s: ScreenId, ctx: &mut Ctx) {
        match s {
            ScreenId::User => self.user.store(ctx),
            ScreenId::Password => self.password.store(ctx),
            ScreenId::Ssh => self.ssh.store(ctx),
            _ => {}
        }
    }

    /// Any field typed into since the last pause?
    pub fn dirty(&self, s: ScreenId) -> bool {
        match s {
            ScreenId::User => self.user.name.is_dirty(),
            ScreenId::Password => self.password.pw.is_dirty() || self.password.again.is_dirty(),
            ScreenId::Ssh => self.ssh.port.is_dirty() || self.ssh.allow.is_dirty(),
            _ => false,
        }
    }

    /// Typing paused: let the live checks catch up (and the password be scored).
    pub fn settle(&mut self, s: ScreenId, _ctx: &mut Ctx) -> Nav {
        match s {
            ScreenId::User => {
                self.user.name.settle();
                Nav::Stay
            }
            ScreenId::Password => self.password.settle(),
            ScreenId::Ssh => {
                self.ssh.port.settle();
                self.ssh.allow.settle();
                Nav::Stay
            }
            _ => Nav::Stay,
        }
    }

    /// May the wizard move on from this screen? The message says what to fix.
    pub fn check(&self, s: ScreenId, ctx: &Ctx) -> Result<(), String> {
        match s {
            ScreenId::User => self.user.check(ctx),
            ScreenId::Password => self.password.check(ctx),
            ScreenId::Ssh => self.ssh.check(ctx),
            ScreenId::Review => self.review.check(ctx),
            _ => Ok(()),
        }
    }

    pub fn key(&mut self, s: ScreenId, k: Key, ctx: &mut Ctx) -> Nav {
        match s {
            ScreenId::Welcome => welcome::key(k),
            ScreenId::User => self.user.key(k, ctx),
            ScreenId::Password => self.password.key(k, ctx),
            ScreenId::Ssh => self.ssh.key(k, ctx),
            ScreenId::Review => self.review.key(k, ctx),
            ScreenId::Apply => self.apply.key(k, ctx),
            ScreenId::Confirm => self.confirm.key(k, ctx),
            ScreenId::Done => self.done.key(k, ctx),
        }
    }

    pub fn event(&mut self, s: ScreenId, ev: Event, ctx: &mut Ctx) -> Nav {
        match ev {
            Event::Scored {
                generation,
                strength,
            } => {
                self.password.scored(generation, strength);
                Nav::Stay
            }
            Event::Planned(plan) => {
                ctx.plan = Some(*plan);
                self.review.planned(ctx);
                Nav::Stay
            }
            Event::ApplyProgress(line) => {
                self.apply.progress(line);
                Nav::Stay
            }
            Event::Applied(r) => self.apply.applied(r, ctx),
            Event::Confirmed(r) => {
                let nav = self.confirm.confirmed(r, ctx);
                if let Nav::Go(ScreenId::Done) = nav {
                    self.done.outcome = self.confirm.outcome.clone();
                }
                nav
            }
            Event::RolledBack(r) => {
                let nav = self.confirm.rolled_back(r, ctx);
                if let Nav::Go(ScreenId::Done) = nav {
                    self.done.outcome = self.confirm.outcome.clone();
                }
                nav
            }
            Event::Pending(p, how) => {
                let nav = self.confirm.pending(p, how, ctx);
                if let Nav::Go(ScreenId::Done) = nav {
                    self.done.outcome = self.confirm.outcome.clone();
                }
                nav
            }
            Event::Saved(r) => {
                self.done.saved(r);
                Nav::Stay
            }
            Event::Key(_) | Event::Tick { .. } | Event::Settle => {
                let _ = s;
                Nav::Stay
            }
        }
    }

    pub fn view(&self, s: ScreenId, f: &mut Frame, area: Rect, ctx: &Ctx) {
        match s {
            ScreenId::Welcome => welcome::view(f, area, ctx),
            ScreenId::User => self.user.view(f, area, ctx),
            ScreenId::Password => self.password.view(f, area, ctx),
            ScreenId::Ssh => self.ssh.view(f, area, ctx),
            ScreenId::Review => self.review.view(f, area, ctx),
            ScreenId::Apply => self.apply.view(f, area, ctx),
            ScreenId::Confirm => self.confirm.view(f, area, ctx),
            ScreenId::Done => self.done.view(f, area, ctx),
        }
    }

    pub fn keys(&self, s: ScreenId, ctx: &Ctx) -> String {
        match s {
            ScreenId::Welcome => "Enter next   ^C quit".into(),
            ScreenId::User => self.user.keys(),
            ScreenId::Password => self.password.keys(),
            ScreenId::Ssh => self.ssh.keys(),
            ScreenId::Review => self.review.keys(ctx),
            ScreenId::Apply => self.apply.keys(),
            ScreenId::Confirm => self.confirm.keys(),
            ScreenId::Done => self.done.keys(),
        }
    }
}

/// Lines of text for a paragraph, one per item.
pub fn lines<'a>(
    items: impl IntoIterator<Item = ratatui::text::Line<'a>>,
) -> ratatui::text::Text<'a> {
    ratatui::text::Text::from(items.into_iter().collect::<Vec<_>>())
}

/// Next/previous focus among `n` items.
pub fn cycle(focus: usize, n: usize, k: Key) -> usize {
    match k {
        Key::Tab | Key::Down => (focus + 1) % n.max(1),
        Key::BackTab | Key::Up => (focus + n.max(1) - 1) % n.max(1),
        _ => focus,
    }
}

/// Word-wrap `text` to `width` columns (long words are cut).
pub fn wrap(text: &str, width: usize) -> Vec<String> {
    let width = width.max(10);
    let mut out = Vec::new();
    let mut cur = String::new();
    for word in text.split(' ') {
        let mut word = word.to_string();
        while word.chars().count() > width {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            let head: String = word.chars().take(width).collect();
            word = word.chars().skip(width).collect();
            out.push(head);
        }
        let need = if cur.is_empty() {
            word.chars().count()
        } else {
            cur.chars().count() + 1 + word.chars().count()
        };
        if need > width && !cur.is_empty() {
            out.push(std::mem::take(&mut cur));
        }
        if !cur.is_empty() {
            cur.push(' ');
        }
        cur.push_str(&word);
    }
    if !cur.is_empty() || out.is_empty() {
        out.push(cur);
    }
    out
}

/// Styled, wrapped message lines.
pub fn wrapped<'a>(
    text: &str,
    width: u16,
    style: ratatui::style::Style,
) -> Vec<ratatui::text::Line<'a>> {
    wrap(text, width as usize)
        .into_iter()
        .map(|l| ratatui::text::Line::from(ratatui::text::Span::styled(l, style)))
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn wraps_words() {
        assert_eq!(super::wrap("aaa bbb ccc", 7), vec!["aaa bbb", "ccc"]);
        assert_eq!(super::wrap("", 7), vec![""]);
        assert_eq!(
            super::wrap("abcdefghijklmnop", 10),
            vec!["abcdefghij", "klmnop"]
        );
    }
}
