//! SSH: the new port with live conflict checks, PermitRootLogin, AllowUsers.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::{cycle, lines};
use crate::answers::{Answers, SshAnswers};
use crate::plan::ssh::{allow_problems, port_problems, suggest_port};
use crate::tui::app::{Ctx, Nav};
use crate::tui::field::TextField;
use crate::tui::keys::Key;

pub struct State {
    pub port: TextField,
    pub no_root: bool,
    pub allow: TextField,
    pub focus: usize,
    pub suggested: u16,
    /// The admin edited AllowUsers; otherwise it follows the login user.
    allow_touched: bool,
}

impl State {
    pub fn new(ctx: &mut Ctx, prefill: Option<&Answers>) -> State {
        let pre = prefill.and_then(|a| a.ssh.as_ref());
        let suggested = suggest_port(&ctx.sys, &mut ctx.rng);
        let current = ctx.sys.current_ssh_ports().first().copied().unwrap_or(22);
        let port = match pre.and_then(|s| s.port) {
            Some(p) => p.to_string(),
            // Reconfiguration starts from what is there; a first run from the suggestion.
            None if current != 22 || !ctx.first_run => current.to_string(),
            None => suggested.to_string(),
        };
        let allow = pre
            .and_then(|s| s.allow_users.clone())
            .or_else(|| {
                let now = ctx.sys.sshd.as_ref().ok()?.list("allowusers");
                (!now.is_empty()).then_some(now)
            })
            .unwrap_or_default();
        State {
            port: TextField::new(&port),
            no_root: !pre.and_then(|s| s.permit_root_login).unwrap_or(false),
            allow_touched: pre.is_some_and(|s| s.allow_users.is_some()) || !allow.is_empty(),
            allow: TextField::new(&allow.join(" ")),
            focus: 0,
            suggested,
        }
    }

    pub fn enter(&mut self, ctx: &mut Ctx) {
        if !self.allow_touched
            && let Some(u) = &ctx.answers.user
        {
            self.allow.set_text(&u.name);
        }
    }

    fn allow_list(&self) -> Vec<String> {
        self.allow
            .text()
            .split_whitespace()
            .map(str::to_string)
            .collect()
    }

    fn port_value(&self) -> i64 {
        self.port.text().parse().unwrap_or(-1)
    }

    pub fn key(&mut self, k: Key, ctx: &mut Ctx) -> Nav {
        match k {
            Key::Esc => return Nav::Back,
            Key::Tab | Key::BackTab | Key::Up | Key::Down => {
                self.port.settle();
                self.allow.settle();
                self.focus = cycle(self.focus, 3, k);
                return Nav::Stay;
            }
            Key::Ctrl('r') => {
                self.port.set_text(&self.suggested.to_string());
                return Nav::Stay;
            }
            Key::Enter => {
                self.port.settle();
                self.allow.settle();
                return Nav::Next;
            }
            _ => {}
        }
        match self.focus {
            0 => {
                self.port.input(k);
            }
            1 if k == Key::Char(' ') => self.no_root = !self.no_root,
            2 if self.allow.input(k) => self.allow_touched = true,
            _ => {}
        }
        let _ = ctx;
        Nav::Stay
    }

    pub fn check(&self, ctx: &Ctx) -> Result<(), String> {
        let text = self.port.text();
        if text.is_empty() {
            return Err("Give the SSH port".into());
        }
        if let Some(m) = port_text_problem(&text) {
            return Err(m);
        }
        if let Some((_, m)) = port_problems(&ctx.sys, self.port_value())
            .into_iter()
            .find(|(e, _)| *e)
        {
            return Err(format!("Port {m}"));
        }
        let login = ctx.answers.user.as_ref().map(|u| u.name.as_str());
        if let Some((_, m)) = allow_problems(&ctx.sys, &self.allow_list(), login)
            .into_iter()
            .find(|(e, _)| *e)
        {
            return Err(format!("Allowed users: {m}"));
        }
        Ok(())
    }

    pub fn store(&self, ctx: &mut Ctx) {
        let allow = self.allow_list();
        let login = ctx.answers.user.as_ref().map(|u| u.name.clone());
        ctx.answers.ssh = Some(SshAnswers {
            port: Some(self.port_value()),
            permit_root_login: Some(!self.no_root),
            // Written only when it says more than "the login user".
            allow_users: if login.is_some_and(|l| allow == vec![l]) {
                None
            } else {
                Some(allow)
            },
            password_authentication: ctx
                .answers
                .ssh
                .as_ref()
                .and_then(|s| s.password_authentication),
        });
    }

    pub fn keys(&self) -> String {
        "Enter next  Esc back  Tab field  Space toggle  ^R suggested port  ^C quit".into()
    }

    pub fn view(&self, f: &mut Frame, area: Rect, ctx: &Ctx) {
        let t = &ctx.theme;
        let now: Vec<String> = ctx
            .sys
            .current_ssh_ports()
            .iter()
            .map(|p| p.to_string())
            .collect();
        let mut out = vec![
            Line::from(format!(
                "sshd listens on port {} now. Scanners knock on 22 and 2222 first;",
                now.join(",")
            )),
            Line::from("pick a free high port outside the RTP and ephemeral ranges."),
            Line::from(""),
            Line::from(format!(
                "Port:          (suggested free port: {}, ^R)",
                self.suggested
            )),
        ];
        let text = self.port.settled().to_string();
        if text.is_empty() {
            out.push(Line::from("1-65535"));
        } else if let Some(m) = port_text_problem(&text) {
            out.extend(super::wrapped(&m, area.width, t.error()));
        } else {
            let problems = port_problems(&ctx.sys, text.parse().unwrap_or(-1));
            if problems.is_empty() {
                out.push(Line::from(Span::styled(
                    "free: nothing listens there, no range conflict",
                    t.ok(),
                )));
            }
            for (is_err, m) in problems.iter().take(3) {
                out.extend(super::wrapped(
                    m,
                    area.width,
                    if *is_err { t.error() } else { t.warn() },
                ));
            }
        }
        out.push(Line::from(""));
        out.push(Line::from(Span::styled(
            format!(
                "{} refuse root logins (PermitRootLogin no)",
                t.check(self.no_root)
            ),
            if self.focus == 1 {
                t.focus()
            } else {
                Default::default()
            },
        )));
        if !self.no_root {
            out.push(Line::from(Span::styled(
                "root could log in over SSH: the seed advises against it",
                t.warn(),
            )));
        }
        out.push(Line::from(""));
        let allow_row = out.len();
        out.push(Line::from("Allowed users:"));
        let login = ctx.answers.user.as_ref().map(|u| u.name.as_str());
        for (is_err, m) in allow_problems(&ctx.sys, &self.allow_list(), login)
            .iter()
            .take(2)
        {
            out.extend(super::wrapped(
                m,
                area.width,
                if *is_err { t.error() } else { t.warn() },
            ));
        }
        f.render_widget(Paragraph::new(lines(out)), area);
        self.port.render(
            f,
            Rect {
                x: area.x + 6,
                y: area.y + 3,
                width: 7,
                height: 1,
            },
            self.focus == 0,
        );
        self.allow.render(
            f,
            Rect {
                x: area.x + 15,
                y: area.y + allow_row as u16,
                width: area.width.saturating_sub(15),
                height: 1,
            },
            self.focus == 2,
        );
    }
}

/// What is wrong with the port as typed, before it is a number at all (a sign, letters, too
/// many digits): said, never dropped or cut.
fn port_text_problem(text: &str) -> Option<String> {
    (!text.bytes().all(|b| b.is_ascii_digit()) || text.len() > 5)
        .then(|| format!("Port {text:?}: give a number from 1 to 65535, digits only"))
}
