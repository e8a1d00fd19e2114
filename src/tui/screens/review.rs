//! Review: the lockout checks with their result, every file change as a diff (scrollable),
//! the commands. Nothing is written before this screen is accepted.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::plan::{self, CheckStatus, ConfirmStep};
use crate::tui::app::{Ctx, Effect, Nav};
use crate::tui::keys::Key;
use crate::tui::theme::Theme;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Plain,
    Heading,
    Error,
    Warn,
    Ok,
    Added,
    Removed,
}

#[derive(Default)]
pub struct State {
    pub lines: Vec<(String, Kind)>,
    pub scroll: usize,
    pub building: bool,
    /// Height of the last view, for paging.
    page: std::cell::Cell<usize>,
    /// Rows of the last view (after wrapping), for the end of scrolling.
    total: std::cell::Cell<usize>,
}

fn style(t: &Theme, k: Kind) -> Style {
    match k {
        Kind::Plain => Style::new(),
        Kind::Heading => t.heading(),
        Kind::Error => t.error(),
        Kind::Warn => t.warn(),
        Kind::Ok => t.ok(),
        Kind::Added => t.added(),
        Kind::Removed => t.removed(),
    }
}

impl State {
    pub fn enter(&mut self, ctx: &mut Ctx) -> Vec<Effect> {
        self.building = true;
        self.scroll = 0;
        ctx.plan = None;
        self.lines = vec![(
            "Checking the plan (sshd -t, sshd -T)...".into(),
            Kind::Plain,
        )];
        vec![Effect::BuildPlan]
    }

    /// The plan arrived: lay it out.
    pub fn planned(&mut self, ctx: &Ctx) {
        self.building = false;
        let Some(p) = &ctx.plan else { return };
        let mut v: Vec<(String, Kind)> = Vec::new();
        let refusals = p.refusals();
        if !refusals.is_empty() {
            v.push((
                "The plan is refused; Esc to go back and fix:".into(),
                Kind::Error,
            ));
            for r in &refusals {
                v.push((
                    format!(" {}", crate::tui::words::problem(&r.key, &r.message)),
                    Kind::Error,
                ));
            }
            v.push((String::new(), Kind::Plain));
        } else if p.is_empty() {
            v.push((
                "No changes: the system already matches these answers.".into(),
                Kind::Ok,
            ));
            v.push((String::new(), Kind::Plain));
        } else {
            v.push((
                format!(
                    "Enter applies this; it rolls back after {} unless you confirm",
                    humantime::format_duration(p.summary.confirm_timeout)
                ),
                Kind::Heading,
            ));
            v.push((
                "from a new login. Up/Down/PgUp/PgDn scroll.".into(),
                Kind::Heading,
            ));
            v.push((String::new(), Kind::Plain));
            if ctx.generated_password
                && let Some(u) = &p.summary.login_user
            {
                v.push((
                    format!(
                        "Reminder: {u} logs in with the generated passphrase you stored; it is \
                         not shown again once you apply."
                    ),
                    Kind::Warn,
                ));
                v.push((String::new(), Kind::Plain));
            }
        }
        if !p.checks.is_empty() {
            v.push(("Lockout checks".into(), Kind::Heading));
            for c in &p.checks {
                let (tag, d, k) = match &c.status {
                    CheckStatus::Pass(d) => ("ok  ", d, Kind::Ok),
                    CheckStatus::Warn(d) => ("warn", d, Kind::Warn),
                    CheckStatus::Fail(d) => ("FAIL", d, Kind::Error),
                    CheckStatus::Skipped(d) => ("skip", d, Kind::Warn),
                };
                v.push((format!(" [{tag}] {}", c.name), k));
                if !d.is_empty() {
                    v.push((format!("        {d}"), k));
                }
            }
            v.push((String::new(), Kind::Plain));
        }
        let warnings: Vec<_> = p.problems.iter().filter(|x| !x.is_error()).collect();
        if !warnings.is_empty() {
            v.push(("Warnings".into(), Kind::Heading));
            for w in warnings {
                v.push((
                    format!(" {}", crate::tui::words::problem(&w.key, &w.message)),
                    Kind::Warn,
                ));
            }
            v.push((String::new(), Kind::Plain));
        }
        for c in &p.changes {
            v.push((format!("{} ({})", c.path, c.why.join("; ")), Kind::Heading));
            for l in plan::diff_labeled(c, &c.path).lines().skip(2) {
                let k = if l.starts_with('+') {
                    Kind::Added
                } else if l.starts_with('-') {
                    Kind::Removed
                } else {
                    Kind::Plain
                };
                v.push((l.replace('\t', "    "), k));
            }
            v.push((String::new(), Kind::Plain));
        }
        if !p.actions.is_empty() {
            v.push(("Commands, in order".into(), Kind::Heading));
            for a in &p.actions {
                for line in a.describe(&p.root) {
                    v.push((format!(" {line}"), Kind::Plain));
                }
            }
            v.push((String::new(), Kind::Plain));
        }
        if !p.root.is_live() {
            v.push((
                "Services are not restarted: the target is not this system.".into(),
                Kind::Plain,
            ));
        }
        if !p.on_confirm.is_empty() {
            v.push(("On confirm".into(), Kind::Heading));
            for c in &p.on_confirm {
                match c {
                    ConfirmStep::SetShellVar { path, key, value } => {
                        v.push((format!(" {path}: {key}=\"{value}\""), Kind::Plain))
                    }
                    ConfirmStep::RemoveFromShellList { path, key, item } => {
                        v.push((format!(" {path}: {item} out of {key}"), Kind::Plain))
                    }
                    ConfirmStep::Run { argv } => {
                        v.push((format!(" {}", argv.join(" ")), Kind::Plain))
                    }
                }
            }
        }
        self.lines = v;
    }

    pub fn key(&mut self, k: Key, ctx: &mut Ctx) -> Nav {
        let page = self.page.get().max(1);
        let max = self.total.get().max(self.lines.len()).saturating_sub(page);
        match k {
            Key::Esc => return Nav::Back,
            Key::Enter if !self.building => return Nav::Next,
            Key::Down | Key::Char('j') => self.scroll = (self.scroll + 1).min(max),
            Key::Up | Key::Char('k') => self.scroll = self.scroll.saturating_sub(1),
            Key::PageDown | Key::Char(' ') => self.scroll = (self.scroll + page).min(max),
            Key::PageUp | Key::Char('b') => self.scroll = self.scroll.saturating_sub(page),
            Key::Home => self.scroll = 0,
            Key::End => self.scroll = max,
            _ => {}
        }
        let _ = ctx;
        Nav::Stay
    }

    /// Apply only a valid, non-empty plan.
    pub fn check(&self, ctx: &Ctx) -> Result<(), String> {
        match &ctx.plan {
            None => Err("The plan is still being checked".into()),
            Some(p) if !p.is_valid() => {
                Err("The plan is refused: Esc, fix what it says, come back".into())
            }
            Some(p) if p.is_empty() => Err("Nothing to apply: the system already matches".into()),
            Some(_) => Ok(()),
        }
    }

    pub fn keys(&self, ctx: &Ctx) -> String {
        match &ctx.plan {
            Some(p) if p.is_valid() && !p.is_empty() => {
                "Enter APPLY  Esc back  Up/Down/PgUp/PgDn scroll  ^C quit".into()
            }
            _ => "Esc back  Up/Down/PgUp/PgDn scroll  ^C quit".into(),
        }
    }

    /// The lines as shown at `width`: long lines continue, indented, on the next rows.
    fn rows(&self, width: u16) -> Vec<(String, Kind)> {
        let w = usize::from(width.max(20));
        let mut out = Vec::new();
        for (s, k) in &self.lines {
            if crate::tui::width::width(s) <= w {
                out.push((s.clone(), *k));
                continue;
            }
            let lead = s.len() - s.trim_start().len();
            let indent = " ".repeat((lead + 4).min(w / 2));
            let mut first = true;
            for piece in super::wrap(s.trim_start(), w - indent.len()) {
                let text = if first {
                    format!("{}{piece}", &s[..lead])
                } else {
                    format!("{indent}{piece}")
                };
                out.push((text, *k));
                first = false;
            }
        }
        out
    }

    pub fn view(&self, f: &mut Frame, area: Rect, ctx: &Ctx) {
        let t = &ctx.theme;
        let h = area.height as usize;
        let rows = self.rows(area.width);
        self.page.set(h);
        self.total.set(rows.len());
        let shown: Vec<Line> = rows
            .into_iter()
            .skip(self.scroll)
            .take(h)
            .map(|(s, k)| Line::from(Span::styled(s, style(t, k))))
            .collect();
        f.render_widget(Paragraph::new(shown), area);
    }
}
