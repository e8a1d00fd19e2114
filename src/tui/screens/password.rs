//! Password: a generated passphrase (another with one key) or one typed twice, masked by
//! default, with a zxcvbn meter scored off the input path (an `Effect::Score` handled by a
//! worker thread; only the newest result is shown). A generated passphrase is never lost:
//! the admin must have shown it (^T) and ticked "I have stored it" before leaving the screen,
//! and another one (^R) needs both again.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::lines;
use crate::answers::Answers;
use crate::secrets::{self, Secret, Strength};
use crate::tui::app::{Ctx, Effect, Nav};
use crate::tui::field::TextField;
use crate::tui::keys::Key;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Generated,
    Typed,
    Keep,
}

pub struct State {
    pub mode: Mode,
    pub generated: Secret,
    pub pw: TextField,
    pub again: TextField,
    pub show: bool,
    /// Index into `items()`.
    pub focus: usize,
    pub generation: u64,
    pub strength: Option<Strength>,
    user: String,
    /// The generated passphrase has been shown (^T) since it was made.
    pub seen: bool,
    /// The admin ticked "I have stored it" for this passphrase.
    pub stored: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Item {
    Choice(Mode),
    Pw,
    Again,
    Stored,
}

impl State {
    pub fn new(ctx: &mut Ctx, prefill: Option<&Answers>) -> State {
        let pre = prefill.and_then(|a| a.user.as_ref());
        let mut s = State {
            mode: Mode::Generated,
            generated: Secret::default(),
            pw: TextField::new(""),
            again: TextField::new(""),
            show: false,
            focus: 0,
            generation: 0,
            strength: None,
            user: String::new(),
            seen: false,
            stored: false,
        };
        s.pw.set_masked(true);
        s.again.set_masked(true);
        if let Some(p) = pre.and_then(|u| u.password.as_ref()) {
            s.mode = Mode::Typed;
            s.pw.set_text(p.expose());
            s.again.set_text(p.expose());
        }
        let _ = ctx;
        s
    }

    fn can_keep(&self, ctx: &Ctx) -> bool {
        ctx.sys
            .users
            .get(&self.user)
            .is_some_and(|u| u.has_password())
    }

    fn items(&self, ctx: &Ctx) -> Vec<Item> {
        let mut v = vec![Item::Choice(Mode::Generated), Item::Choice(Mode::Typed)];
        if self.can_keep(ctx) {
            v.push(Item::Choice(Mode::Keep));
        }
        if self.mode == Mode::Typed {
            v.push(Item::Pw);
            v.push(Item::Again);
        }
        if self.mode == Mode::Generated {
            v.push(Item::Stored);
        }
        v
    }

    fn candidate(&self) -> Option<Secret> {
        match self.mode {
            Mode::Generated => Some(self.generated.clone()),
            Mode::Typed => Some(Secret::new(self.pw.text())),
            Mode::Keep => None,
        }
    }

    /// Typing paused: score what is there now (debounced, and off the input path).
    pub fn settle(&mut self) -> Nav {
        let a = self.pw.settle();
        let b = self.again.settle();
        if a || b { self.effects() } else { Nav::Stay }
    }

    fn rescore(&mut self) -> Vec<Effect> {
        self.generation += 1;
        match self.candidate() {
            Some(p) if !p.is_empty() => vec![Effect::Score {
                generation: self.generation,
                password: p,
                user: self.user.clone(),
            }],
            _ => {
                self.strength = None;
                Vec::new()
            }
        }
    }

    pub fn enter(&mut self, ctx: &mut Ctx) -> Vec<Effect> {
        let user = ctx
            .answers
            .user
            .as_ref()
            .map(|u| u.name.clone())
            .unwrap_or_default();
        if user != self.user {
            self.user = user;
        }
        if self.generated.is_empty() {
            self.generated = secrets::generate_passphrase(secrets::DEFAULT_WORDS, &mut ctx.rng);
        }
        if self.can_keep(ctx)
            && self.pw.text().is_empty()
            && self.mode == Mode::Generated
            && !ctx.first_run
        {
            self.mode = Mode::Keep;
        }
        if !self.can_keep(ctx) && self.mode == Mode::Keep {
            self.mode = Mode::Generated;
        }
        self.focus = self
            .items(ctx)
            .iter()
            .position(|i| *i == Item::Choice(self.mode))
            .unwrap_or(0);
        self.rescore()
    }

    pub fn scored(&mut self, generation: u64, strength: Strength) {
        if generation == self.generation {
            self.strength = Some(strength);
        }
    }

    pub fn key(&mut self, k: Key, ctx: &mut Ctx) -> Nav {
        let items = self.items(ctx);
        match k {
            Key::Enter => return Nav::Next,
            Key::Esc => return Nav::Back,
            Key::Tab | Key::BackTab | Key::Up | Key::Down => {
                self.focus = super::cycle(self.focus, items.len(), k);
                return self.settle();
            }
            Key::Ctrl('t') => {
                self.show = !self.show;
                self.seen |= self.show;
                self.pw.set_masked(!self.show);
                self.again.set_masked(!self.show);
                return Nav::Stay;
            }
            Key::Ctrl('r') if self.mode == Mode::Generated => {
                self.generated = secrets::generate_passphrase(secrets::DEFAULT_WORDS, &mut ctx.rng);
                self.seen = self.show;
                self.stored = false;
                return self.effects();
            }
            _ => {}
        }
        match items.get(self.focus) {
            Some(Item::Choice(m)) if k == Key::Char(' ') => {
                if self.mode != *m {
                    self.mode = *m;
                    return self.effects();
                }
                Nav::Stay
            }
            Some(Item::Stored) if k == Key::Char(' ') => {
                self.stored = !self.stored;
                Nav::Stay
            }
            Some(Item::Pw) => {
                // Scored when typing pauses (Event::Settle), not on every key.
                self.pw.input(k);
                Nav::Stay
            }
            Some(Item::Again) => {
                self.again.input(k);
                Nav::Stay
            }
            _ => Nav::Stay,
        }
    }

    fn effects(&mut self) -> Nav {
        match self.rescore().pop() {
            Some(e) => Nav::Do(e),
            None => Nav::Stay,
        }
    }

    pub fn check(&self, _ctx: &Ctx) -> Result<(), String> {
        match self.mode {
            Mode::Keep => Ok(()),
            Mode::Generated if !self.seen => Err(
                // (the status line holds 78 characters: say it whole)
                "Show the passphrase (^T) and store it: once root is refused it is the way in"
                    .into(),
            ),
            Mode::Generated if !self.stored => Err(
                "Tick \"I have stored it\" (Space) once it is in a password manager or on paper"
                    .into(),
            ),
            Mode::Generated => Ok(()),
            Mode::Typed => {
                let pw = self.pw.text();
                let s = secrets::assess(&pw, &self.user);
                if let Some(p) = s.problems.first() {
                    return Err(format!("The password is refused: {p}"));
                }
                if pw != self.again.text() {
                    return Err("The two entries differ: type the password again below it".into());
                }
                Ok(())
            }
        }
    }

    pub fn store(&self, ctx: &mut Ctx) {
        ctx.generated_password = self.mode == Mode::Generated;
        if let Some(u) = ctx.answers.user.as_mut() {
            u.password = self.candidate();
            u.password_hash = None;
            u.generate = false;
        }
    }

    pub fn keys(&self) -> String {
        match self.mode {
            Mode::Generated => {
                "Enter next  Esc back  Space tick  ^R another  ^T show/hide  ^C quit".into()
            }
            _ => "Enter next  Esc back  Tab field  Space choose  ^T show/hide  ^C quit".into(),
        }
    }

    pub fn view(&self, f: &mut Frame, area: Rect, ctx: &Ctx) {
        let t = &ctx.theme;
        let items = self.items(ctx);
        let who = if self.user.is_empty() {
            "the user"
        } else {
            &self.user
        };
        let mut out = vec![
            Line::from(format!(
                "How {who} logs in. Letters, digits and symbols strung into a"
            )),
            Line::from("sentence; never a dictionary word, never the user name."),
            Line::from(""),
        ];
        let label = |m: Mode| match m {
            Mode::Generated => "a generated passphrase",
            Mode::Typed => "my own password",
            Mode::Keep => "keep the current password",
        };
        for (i, it) in items.iter().enumerate() {
            if let Item::Choice(m) = it {
                let style = if self.focus == i {
                    t.focus()
                } else {
                    Default::default()
                };
                out.push(Line::from(Span::styled(
                    format!("{} {}", t.radio(self.mode == *m), label(*m)),
                    style,
                )));
            }
        }
        out.push(Line::from(""));
        let mut field_rows = (0, 0);
        match self.mode {
            Mode::Generated => {
                let shown = if self.show {
                    self.generated.expose().to_string()
                } else {
                    "*".repeat(self.generated.char_count())
                };
                out.push(Line::from(format!("Passphrase: {shown}")));
                if !self.show {
                    out.push(Line::from("(^T shows it: store it before you go on)"));
                } else {
                    out.push(Line::from(""));
                }
                let i = items.iter().position(|x| *x == Item::Stored);
                out.push(Line::from(Span::styled(
                    format!(
                        "{} I have stored it (password manager or paper)",
                        t.check(self.stored)
                    ),
                    if i == Some(self.focus) {
                        t.focus()
                    } else {
                        Default::default()
                    },
                )));
            }
            Mode::Typed => {
                field_rows = (out.len(), out.len() + 1);
                out.push(Line::from("Password:"));
                out.push(Line::from("Again:"));
            }
            Mode::Keep => {
                out.push(Line::from(format!("{who} keeps the password it has.")));
                out.push(Line::from(""));
            }
        }
        if self.mode != Mode::Keep {
            match &self.strength {
                Some(s) => {
                    let style = if s.acceptable() { t.ok() } else { t.error() };
                    out.push(Line::from(vec![
                        Span::raw("Strength: "),
                        Span::styled(
                            format!("[{}] {} ({}/4)", t.meter(s.score), s.label(), s.score),
                            style,
                        ),
                    ]));
                    for p in s.problems.iter().take(3) {
                        out.extend(super::wrapped(&format!("- {p}"), area.width, t.error()));
                    }
                    if s.problems.is_empty() {
                        out.push(Line::from(format!("- {} to crack offline", s.crack_time)));
                    }
                }
                None => out.push(Line::from("Strength: (type a password)")),
            }
            if self.mode == Mode::Typed
                && !self.again.text().is_empty()
                && self.again.text() != self.pw.text()
            {
                out.push(Line::from(Span::styled(
                    "- the two entries differ",
                    t.error(),
                )));
            }
        }
        f.render_widget(Paragraph::new(lines(out)), area);
        if self.mode == Mode::Typed {
            let w = area.width.saturating_sub(10);
            let focused = items.get(self.focus).copied();
            self.pw.render(
                f,
                Rect {
                    x: area.x + 10,
                    y: area.y + field_rows.0 as u16,
                    width: w,
                    height: 1,
                },
                focused == Some(Item::Pw),
            );
            self.again.render(
                f,
                Rect {
                    x: area.x + 10,
                    y: area.y + field_rows.1 as u16,
                    width: w,
                    height: 1,
                },
                focused == Some(Item::Again),
            );
        }
    }
}
