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
            ScreenId::Password => self.user.wants_user(),
            ScreenId::Services => self.services.applies(ctx),
            ScreenId::Extensions => self.extensions.applies(ctx),
            ScreenId::Asterisk => self.asterisk.applies(ctx),
            ScreenId::Ports => self.ports.applies(ctx),
            ScreenId::Hosts => self.hosts.applies(ctx),
            ScreenId::Protection => self.protection.applies(ctx),
            _ => true,
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
            ScreenId::Ports => {
                self.ports.enter(ctx);
                Vec::new()
            }
            ScreenId::Hosts => {
                self.hosts.enter(ctx);
                Vec::new()
            }
            ScreenId::Services => {
                self.services.enter(ctx);
                Vec::new()
            }
            ScreenId::Extensions => {
                // The scan (zxcvbn over the secrets) never holds up a key or a draw: it
                // runs on a thread (it may already have, after the first frame).
                if ctx.sys.extensions.is_ready() {
                    Vec::new()
                } else {
                    vec![Effect::ScanExtensions]
                }
            }
            ScreenId::Review => self.review.enter(ctx),
            ScreenId::Apply => self.apply.enter(ctx),
            ScreenId::Confirm => {
                self.confirm.enter(ctx);
                Vec::new()
            }
            ScreenId::Done => self.done.enter(ctx),
            _ => Vec::new(),
        }
    }

    /// Leaving a screen (either way): write its part of the answers.
    pub fn leave(&mut self, s: ScreenId, ctx: &mut Ctx) {
        match s {
            ScreenId::User => self.user.store(ctx),
            ScreenId::Password => self.password.store(ctx),
            ScreenId::Ssh => self.ssh.store(ctx),
            ScreenId::Services => self.services.store(ctx),
            ScreenId::Extensions => self.extensions.store(ctx),
            ScreenId::Asterisk => self.asterisk.store(ctx),
            ScreenId::Ports => self.ports.store(ctx),
            ScreenId::Hosts => self.hosts.store(ctx),
            ScreenId::Protection => self.protection.store(ctx),
            _ => {}
        }
    }

    /// Any field typed into since the last pause?
    pub fn dirty(&self, s: ScreenId) -> bool {
        match s {
            ScreenId::User => self.user.name.is_dirty() || self.user.key_field.is_dirty(),
            ScreenId::Password => self.password.pw.is_dirty() || self.password.again.is_dirty(),
            ScreenId::Ssh => self.ssh.port.is_dirty() || self.ssh.allow.is_dirty(),
            ScreenId::Ports => self.ports.dirty(),
            ScreenId::Hosts => self.hosts.dirty(),
            ScreenId::Protection => self.protection.dirty(),
            _ => false,
        }
    }

    /// Typing paused: let the live checks catch up (and the password be scored).
    pub fn settle(&mut self, s: ScreenId, ctx: &mut Ctx) -> Nav {
        match s {
            ScreenId::Ports => {
                self.ports.settle(ctx);
                Nav::Stay
            }
            ScreenId::Protection => {
                self.protection.settle();
                Nav::Stay
            }
            ScreenId::Hosts => {
                self.hosts.settle();
                Nav::Stay
            }
            ScreenId::User => {
                self.user.name.settle();
                self.user.key_field.settle();
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
            ScreenId::Ports => self.ports.check(ctx),
            ScreenId::Hosts => self.hosts.check(ctx),
            ScreenId::Protection => self.protection.check(ctx),
            _ => Ok(()),
        }
    }

    pub fn key(&mut self, s: ScreenId, k: Key, ctx: &mut Ctx) -> Nav {
        match s {
            ScreenId::Welcome => welcome::key(k),
            ScreenId::Services => self.services.key(k, ctx),
            ScreenId::Extensions => self.extensions.key(k, ctx),
            ScreenId::Asterisk => self.asterisk.key(k, ctx),
            ScreenId::Ports => self.ports.key(k, ctx),
            ScreenId::Hosts => self.hosts.key(k, ctx),
            ScreenId::Protection => self.protection.key(k, ctx),
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
            Event::Scanned | Event::Doors(_) => Nav::Stay,
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
        match s {
            ScreenId::Welcome => welcome::view(f, area, ctx),
            ScreenId::Services => self.services.view(f, area, ctx),
            ScreenId::Extensions => self.extensions.view(f, area, ctx),
            ScreenId::Asterisk => self.asterisk.view(f, area, ctx),
            ScreenId::Ports => self.ports.view(f, area, ctx),
            ScreenId::Hosts => self.hosts.view(f, area, ctx),
            ScreenId::Protection => self.protection.view(f, area, ctx),
            ScreenId::User => self.user.view(f, area, ctx),
            ScreenId::Password => self.password.view(f, area, ctx),
            ScreenId::Ssh => self.ssh.view(f, area, ctx),
            ScreenId::Review => self.review.view(f, area, ctx),
            ScreenId::Apply => self.apply.view(f, area, ctx),
            ScreenId::Confirm => self.confirm.view(f, area, ctx),
            ScreenId::Done => self.done.view(f, area, ctx),
        }
    }

    /// The focused field's name, for its help (F1).
    pub fn field(&self, s: ScreenId, ctx: &Ctx) -> Option<&'static str> {
        match s {
            ScreenId::User => Some(self.user.field(ctx)),
            ScreenId::Ssh => Some(self.ssh.field()),
            ScreenId::Ports => self.ports.field(ctx),
            ScreenId::Hosts => self.hosts.field(),
            _ => None,
        }
    }

    pub fn keys(&self, s: ScreenId, ctx: &Ctx) -> String {
        match s {
            ScreenId::Welcome => "Enter next   ^C quit".into(),
            ScreenId::Services => self.services.keys(),
            ScreenId::Extensions => self.extensions.keys(),
            ScreenId::Asterisk => self.asterisk.keys(),
            ScreenId::Ports => self.ports.keys(),
            ScreenId::Hosts => self.hosts.keys(),
            ScreenId::Protection => self.protection.keys(),
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
