//! Services: what starts at boot, with the seed's keep/disable advice; Space toggles.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::lines;
use crate::answers::{Answers, ServicesAnswers};
use crate::steps::services::lists;
use crate::tui::app::{Ctx, Nav};
use crate::tui::keys::Key;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// On the suggested-disable list.
    Suggested,
    /// Neither list: the admin decides.
    Other,
    /// On the keep-list (disabling it needs the override, which ticking it sets).
    Kept,
    /// The SSH daemon: never.
    Never,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    pub name: String,
    pub class: Class,
    pub reason: String,
    pub disable: bool,
    pub running: Option<bool>,
}

#[derive(Default)]
pub struct State {
    /// Built on first entry: the inventory may run systemctl, which the first frame does not
    /// wait for.
    pub items: Vec<Item>,
    built: bool,
    prefill: Option<crate::answers::ServicesAnswers>,
    pub focus: usize,
    scroll: std::cell::Cell<usize>,
}

impl State {
    pub fn new(_ctx: &mut Ctx, prefill: Option<&Answers>) -> State {
        State {
            prefill: prefill.and_then(|a| a.services.clone()),
            ..State::default()
        }
    }

    pub fn enter(&mut self, ctx: &mut Ctx) {
        if self.built {
            return;
        }
        // The inventory (systemctl) comes from the job thread (Effect::ScanServices); until
        // it is in, the screen says it is checking and this runs again on Event::Scanned.
        let Some(inventory) = ctx.sys.services.get() else {
            return;
        };
        self.built = true;
        let l = lists();
        let pre = self.prefill.as_ref();
        let mut items: Vec<Item> = inventory
            .services
            .iter()
            .filter(|s| s.enabled || s.active == Some(true))
            .map(|s| {
                let (class, reason) = if let Some(e) = l.never(&s.name) {
                    (Class::Never, e.reason.clone())
                } else if let Some(e) = l.kept(&s.name) {
                    (Class::Kept, e.reason.clone())
                } else if let Some(e) = l.suggested(&s.name) {
                    (Class::Suggested, e.reason.clone())
                } else {
                    (Class::Other, "not on either list: your call".to_string())
                };
                let disable = match pre {
                    Some(p) => p
                        .disable
                        .iter()
                        .any(|d| crate::steps::services::normalize(d) == s.name),
                    // A box pbx-harden changed before starts from what it has: what still
                    // runs was kept on purpose (a first run starts from the advice).
                    None => class == Class::Suggested && ctx.first_run,
                };
                Item {
                    name: s.name.clone(),
                    class,
                    reason,
                    disable,
                    running: s.active,
                }
            })
            .collect();
        items.sort_by_key(|i| (i.class as u8, i.name.clone()));
        self.items = items;
    }

    /// Until the inventory is in, the screen is counted as one of the steps.
    pub fn applies(&self, ctx: &Ctx) -> bool {
        if self.built {
            !self.items.is_empty()
        } else if let Some(inventory) = ctx.sys.services.get() {
            inventory
                .services
                .iter()
                .any(|s| s.enabled || s.active == Some(true))
        } else {
            true
        }
    }

    pub fn key(&mut self, k: Key, _ctx: &mut Ctx) -> Nav {
        let n = self.items.len().max(1);
        match k {
            Key::Enter => return Nav::Next,
            Key::Esc => return Nav::Back,
            Key::Down | Key::Tab | Key::Char('j') => self.focus = (self.focus + 1) % n,
            Key::Up | Key::BackTab | Key::Char('k') => self.focus = (self.focus + n - 1) % n,
            Key::Char(' ') => {
                if let Some(i) = self.items.get_mut(self.focus)
                    && i.class != Class::Never
                {
                    i.disable = !i.disable;
                }
            }
            _ => {}
        }
        Nav::Stay
    }

    pub fn store(&self, ctx: &mut Ctx) {
        if !self.built {
            return;
        }
        let disable: Vec<String> = self
            .items
            .iter()
            .filter(|i| i.disable)
            .map(|i| i.name.clone())
            .collect();
        let override_keep_list: Vec<String> = self
            .items
            .iter()
            .filter(|i| i.disable && i.class == Class::Kept)
            .map(|i| i.name.clone())
            .collect();
        ctx.answers.services = if disable.is_empty() {
            None
        } else {
            Some(ServicesAnswers {
                disable,
                override_keep_list,
            })
        };
    }

    pub fn keys(&self) -> String {
        "Enter next   Esc back   Up/Down move   Space toggle   ^C quit".into()
    }

    pub fn view(&self, f: &mut Frame, area: Rect, ctx: &Ctx) {
        let t = &ctx.theme;
        if !self.built {
            let out = vec![Line::from("Checking which services start at boot...")];
            f.render_widget(Paragraph::new(lines(out)), area);
            return;
        }
        let mut out = vec![
            Line::from("Services started at boot. Ticked ones are disabled and stopped; the"),
            Line::from("seed keeps what trixbox needs and turns off the rest."),
            Line::from(""),
        ];
        // The list scrolls to keep the focus visible; 4 rows stay for the reason.
        let room = (area.height as usize).saturating_sub(out.len() + 4).max(3);
        let mut top = self.scroll.get();
        if self.focus < top {
            top = self.focus;
        } else if self.focus >= top + room {
            top = self.focus + 1 - room;
        }
        self.scroll.set(top);
        for (i, it) in self.items.iter().enumerate().skip(top).take(room) {
            let tag = match (it.class, it.disable) {
                (Class::Never, _) => "the way in: never disabled",
                (Class::Kept, true) => "KEEP-LIST: disabled anyway",
                (Class::Kept, false) => "keep (needed)",
                (Class::Suggested, _) => "suggested to disable",
                (Class::Other, _) => "",
            };
            let run = match it.running {
                Some(true) => " running",
                _ => "",
            };
            let text = format!("{} {:<22} {tag}{run}", t.check(it.disable), it.name);
            let style = if i == self.focus {
                t.focus()
            } else {
                Default::default()
            };
            out.push(Line::from(Span::styled(text, style)));
        }
        if self.items.len() > room {
            out.push(Line::from(format!(
                "({} of {}; Up/Down for more)",
                room.min(self.items.len()),
                self.items.len()
            )));
        }
        out.push(Line::from(""));
        if let Some(it) = self.items.get(self.focus) {
            out.extend(super::wrapped(
                &format!("{}: {}", it.name, it.reason),
                area.width,
                t.dim(),
            ));
        }
        f.render_widget(Paragraph::new(lines(out)), area);
    }
}
