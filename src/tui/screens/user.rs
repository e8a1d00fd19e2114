//! Login user: the name, checked live by the core's rules.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::{cycle, lines};
use crate::answers::Answers;
use crate::plan::user::name_problems;
use crate::tui::app::{Ctx, Nav};
use crate::tui::field::TextField;
use crate::tui::keys::Key;

pub struct State {
    pub name: TextField,
    pub reuse: bool,
    /// The admin group offered (wheel, sudo or admin), and whether it is ticked.
    pub group: Option<(String, bool)>,
    /// 0 = name, 1 = reuse (when shown), then the group.
    pub focus: usize,
    /// The admin may skip the user part (reconfiguration that only moves SSH).
    pub skip: bool,
}

impl State {
    pub fn new(ctx: &mut Ctx, prefill: Option<&Answers>) -> State {
        let sys = &ctx.sys;
        let pre = prefill.and_then(|a| a.user.as_ref());
        let name = pre
            .map(|u| u.name.clone())
            .or_else(|| sys.managed_users.first().cloned())
            .unwrap_or_default();
        let group = ["wheel", "sudo", "admin"]
            .into_iter()
            .find(|g| sys.users.group(g).is_some())
            .map(|g| {
                let on = pre.is_none_or(|u| u.groups.iter().any(|x| x == g));
                (g.to_string(), on)
            });
        State {
            name: TextField::new(&name),
            reuse: pre.is_some_and(|u| u.reuse),
            group,
            focus: 0,
            skip: false,
        }
    }

    pub fn wants_user(&self) -> bool {
        !self.skip
    }

    fn exists(&self, ctx: &Ctx) -> bool {
        let n = self.name.text();
        crate::plan::user::reusable(&ctx.sys, &n) && !ctx.sys.managed_users.contains(&n)
    }

    fn items(&self, ctx: &Ctx) -> usize {
        1 + usize::from(self.exists(ctx)) + usize::from(self.group.is_some())
    }

    /// The focused field, for its help.
    pub fn field(&self, ctx: &Ctx) -> &'static str {
        match self.focus {
            0 => "name",
            1 if self.exists(ctx) => "reuse",
            _ => "group",
        }
    }

    pub fn key(&mut self, k: Key, ctx: &mut Ctx) -> Nav {
        let n = self.items(ctx);
        match k {
            Key::Enter => return Nav::Next,
            Key::Esc => return Nav::Back,
            Key::Tab | Key::BackTab | Key::Up | Key::Down => {
                self.name.settle();
                self.focus = cycle(self.focus, n, k);
                return Nav::Stay;
            }
            _ => {}
        }
        if self.focus == 0 {
            self.name.input(k);
            if self.focus >= self.items(ctx) {
                self.focus = 0;
            }
            return Nav::Stay;
        }
        if k == Key::Char(' ') {
            let reuse_shown = self.exists(ctx);
            if reuse_shown && self.focus == 1 {
                self.reuse = !self.reuse;
            } else if let Some((_, on)) = &mut self.group {
                *on = !*on;
            }
        }
        Nav::Stay
    }

    pub fn check(&self, ctx: &Ctx) -> Result<(), String> {
        match name_problems(&ctx.sys, &self.name.text(), self.reuse)
            .into_iter()
            .find(|(e, _)| *e)
        {
            Some((_, msg)) => Err(crate::tui::words::message(&msg)),
            None => Ok(()),
        }
    }

    pub fn store(&self, ctx: &mut Ctx) {
        let mut u = ctx.answers.user.take().unwrap_or_default();
        u.name = self.name.text();
        u.reuse = self.reuse && self.exists(ctx);
        u.groups = match &self.group {
            Some((g, true)) => vec![g.clone()],
            _ => Vec::new(),
        };
        ctx.answers.user = Some(u);
    }

    pub fn keys(&self) -> String {
        "Enter next   Esc back   Tab field   Space toggle   ^C quit".into()
    }

    pub fn view(&self, f: &mut Frame, area: Rect, ctx: &Ctx) {
        let t = &ctx.theme;
        let mut out = vec![
            Line::from("SSH will only let this user in; root logs in no more. Pick a name"),
            Line::from("only you know: scripts try admin, test, asterisk and trixbox first."),
            Line::from(""),
            Line::from("Name:"),
            Line::from(""),
        ];
        let name = self.name.settled().to_string();
        let problems = name_problems(&ctx.sys, &name, self.reuse);
        if name.is_empty() {
            out.push(Line::from("lowercase letters, digits, - and _"));
        } else if problems.is_empty() {
            out.push(Line::from(Span::styled("ok", t.ok())));
        }
        for (is_err, msg) in &problems {
            if name.is_empty() {
                break;
            }
            out.extend(super::wrapped(
                &crate::tui::words::message(msg),
                area.width,
                if *is_err { t.error() } else { t.warn() },
            ));
        }
        out.push(Line::from(""));
        let mut idx = 1;
        if self.exists(ctx) {
            let sel = self.focus == idx;
            out.push(Line::from(Span::styled(
                format!("{} use the existing account {name}", t.check(self.reuse)),
                if sel { t.focus() } else { Default::default() },
            )));
            idx += 1;
        }
        if let Some((g, on)) = &self.group {
            let sel = self.focus == idx;
            out.push(Line::from(Span::styled(
                format!(
                    "{} add to group {g}, so the user can su/sudo to root",
                    t.check(*on)
                ),
                if sel { t.focus() } else { Default::default() },
            )));
        }
        f.render_widget(Paragraph::new(lines(out)), area);
        let field = Rect {
            x: area.x + 6,
            y: area.y + 3,
            width: area.width.saturating_sub(6).min(33),
            height: 1,
        };
        self.name.render(f, field, self.focus == 0);
    }
}
