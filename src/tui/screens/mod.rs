//! One file per screen: its state, its update and its view.

pub mod apply;
pub mod asterisk;
pub mod confirm;
pub mod done;
pub mod extensions;
pub mod firewall;
pub mod help;
pub mod hosts;
pub mod password;
pub mod protection;
pub mod registry;
pub mod review;
pub mod services;
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
    Services,
    User,
    Password,
    Ssh,
    Extensions,
    Asterisk,
    Ports,
    Hosts,
    Protection,
    Review,
    Apply,
    Confirm,
    Done,
}

impl ScreenId {
    pub const ALL: &'static [ScreenId] = &[
        ScreenId::Welcome,
        ScreenId::Services,
        ScreenId::User,
        ScreenId::Password,
        ScreenId::Ssh,
        ScreenId::Extensions,
        ScreenId::Asterisk,
        ScreenId::Ports,
        ScreenId::Hosts,
        ScreenId::Protection,
        ScreenId::Review,
        ScreenId::Apply,
        ScreenId::Confirm,
        ScreenId::Done,
    ];

    pub fn title(self) -> &'static str {
        match self {
            ScreenId::Welcome => "Welcome",
            ScreenId::Services => "Services",
            ScreenId::Extensions => "Extensions",
            ScreenId::Asterisk => "Asterisk",
            ScreenId::Ports => "Firewall ports",
            ScreenId::Hosts => "Trusted and blocked hosts",
            ScreenId::Protection => "Brute-force protection",
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
    pub services: services::State,
    pub extensions: extensions::State,
    pub asterisk: asterisk::State,
    pub ports: firewall::State,
    pub hosts: hosts::State,
    pub protection: protection::State,
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
            services: services::State::new(ctx, prefill),
            extensions: extensions::State::new(ctx, prefill),
            asterisk: asterisk::State::new(ctx, prefill),
            ports: firewall::State::new(ctx, prefill),
            hosts: hosts::State::new(ctx, prefill),
            protection: protection::State::new(ctx, prefill),
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
            // the password belongs to the user the User screen creates
            ScreenId::Password => self.user.wants_user(),
            _ => self.get(s).applies(ctx),
        }
    }

    /// Entering a screen: refresh what depends on other screens.
    pub fn enter(&mut self, s: ScreenId, ctx: &mut Ctx) -> Vec<Effect> {
        self.get_mut(s).enter(ctx)
    }

    /// Leaving a screen (either way): write its part of the answers.
    pub fn leave(&mut self, s: ScreenId, ctx: &mut Ctx) {
        self.get(s).store(ctx)
    }

    /// Any field typed into since the last pause?
    pub fn dirty(&self, s: ScreenId) -> bool {
        self.get(s).dirty()
    }

    /// Typing paused: let the live checks catch up (and the password be scored).
    pub fn settle(&mut self, s: ScreenId, ctx: &mut Ctx) -> Nav {
        self.get_mut(s).settle(ctx)
    }

    /// May the wizard move on from this screen? The message says what to fix.
    pub fn check(&self, s: ScreenId, ctx: &Ctx) -> Result<(), String> {
        self.get(s).check(ctx)
    }

    pub fn key(&mut self, s: ScreenId, k: Key, ctx: &mut Ctx) -> Nav {
        self.get_mut(s).key(k, ctx)
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
            Event::Scanned => {
                // a scan is in: the Services screen builds its list if it waited for it
                if s == ScreenId::Services {
                    self.services.enter(ctx);
                }
                Nav::Stay
            }
            Event::Doors(_) => Nav::Stay,
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
            Event::Audited(lines) => {
                self.done.findings = Some(lines);
                Nav::Stay
            }
            Event::Key(_) | Event::Tick { .. } | Event::Settle => {
                let _ = s;
                Nav::Stay
            }
        }
    }

    pub fn view(&self, s: ScreenId, f: &mut Frame, area: Rect, ctx: &Ctx) {
        self.get(s).view(f, area, ctx)
    }

    /// The focused field's name, for its help (F1).
    pub fn field(&self, s: ScreenId, ctx: &Ctx) -> Option<&'static str> {
        self.get(s).field(ctx)
    }

    pub fn keys(&self, s: ScreenId, ctx: &Ctx) -> String {
        self.get(s).keys(ctx)
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

/// Word-wrap `text` to `width` columns (long words are cut). Columns as the terminal
/// shows them (`tui::width`: CJK and emoji two, combining marks none).
pub fn wrap(text: &str, width: usize) -> Vec<String> {
    use crate::tui::width::{split_at_width, width as cols};
    let width = width.max(10);
    let mut out = Vec::new();
    let mut cur = String::new();
    for word in text.split(' ') {
        let mut word = word;
        while cols(word) > width {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            let (head, rest) = split_at_width(word, width);
            out.push(head.to_string());
            word = rest;
        }
        let need = if cur.is_empty() {
            cols(word)
        } else {
            cols(&cur) + 1 + cols(word)
        };
        if need > width && !cur.is_empty() {
            out.push(std::mem::take(&mut cur));
        }
        if !cur.is_empty() {
            cur.push(' ');
        }
        cur.push_str(word);
    }
    if !cur.is_empty() || out.is_empty() {
        out.push(cur);
    }
    out
}

/// Styled, wrapped lines, every one indented by `indent` spaces.
pub fn wrapped_indent<'a>(
    text: &str,
    width: u16,
    indent: usize,
    style: ratatui::style::Style,
) -> Vec<ratatui::text::Line<'a>> {
    let pad = " ".repeat(indent);
    wrap(text.trim_start(), (width as usize).saturating_sub(indent))
        .into_iter()
        .map(|l| ratatui::text::Line::from(ratatui::text::Span::styled(format!("{pad}{l}"), style)))
        .collect()
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

    #[test]
    fn wraps_by_columns_not_characters() {
        use crate::tui::width::width;
        // six CJK characters are twelve columns: two lines of ten at most
        let w = super::wrap("电话号码 分机号", 10);
        assert_eq!(w, vec!["电话号码", "分机号"]);
        let w = super::wrap("电话号码分机号码", 10);
        assert_eq!(w, vec!["电话号码分", "机号码"]);
        assert!(w.iter().all(|l| width(l) <= 10));
        // combining marks take no column and stay with their letter
        let w = super::wrap("cafe\u{301} cafe\u{301} cafe\u{301}", 10);
        assert_eq!(w, vec!["cafe\u{301} cafe\u{301}", "cafe\u{301}"]);
        let w = super::wrap("👍👍👍👍👍👍", 10);
        assert_eq!(w, vec!["👍👍👍👍👍", "👍"]);
    }
}
