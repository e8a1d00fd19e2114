//! Login user: the name, checked live by the core's rules; the SSH public keys the user logs
//! in with (pasted: a line break separates keys; the key of the admin's current login
//! offered when it can be known), and whether password logins are turned off (only with a
//! key).

use std::cell::Cell;

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::lines;
use crate::answers::{Answers, SshAnswers};
use crate::steps::user::keys::{self, Key as PubKey};
use crate::steps::user::name_problems;
use crate::tui::app::{Ctx, Nav};
use crate::tui::field::TextField;
use crate::tui::keys::Key;

/// One line of the key list: a checked key, or what is wrong with what was pasted (the text
/// itself is never kept nor shown: it may be a private key).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyItem {
    Ok {
        key: PubKey,
        /// Already in the user's authorized_keys: it stays (the file is edited by hand to
        /// take one out).
        existing: bool,
    },
    Bad(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Focus {
    Name,
    Reuse,
    Group,
    KeyList,
    KeyField,
    LoginKey,
    NoPassword,
}

pub struct State {
    pub name: TextField,
    pub reuse: bool,
    /// The admin group offered (wheel, sudo or admin), and whether it is ticked.
    pub group: Option<(String, bool)>,
    /// Index into the focusable items (see `focusables`).
    pub focus: usize,
    /// The admin may skip the user part (reconfiguration that only moves SSH).
    pub skip: bool,
    pub keys: Vec<KeyItem>,
    /// Where a key is typed or pasted; Enter (or a pasted line break) adds it to the list.
    pub key_field: TextField,
    key_sel: usize,
    key_scroll: Cell<usize>,
    /// The key of the admin's current SSH login, or why it is not known (None: not over SSH).
    login_key: Result<PubKey, Option<String>>,
    /// Turn password logins off (PasswordAuthentication no).
    pub no_password: bool,
    /// sshd has password logins off now.
    no_password_now: bool,
    /// The answers file said it.
    no_password_given: bool,
    /// Inside a pasted private key: its lines are dropped until its END line.
    in_private: bool,
    /// The user whose authorized_keys filled the list.
    keys_of: String,
    /// A word about the last key action (duplicate, kept key).
    pub note: Option<String>,
    /// The last key put the focus somewhere on purpose.
    refocused: bool,
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
        let no_password_now = sys
            .sshd
            .as_ref()
            .is_ok_and(|c| c.value_or("passwordauthentication", "yes") == "no");
        let pre_pa = prefill
            .and_then(|a| a.ssh.as_ref())
            .and_then(|s| s.password_authentication);
        let mut s = State {
            name: TextField::new(&name),
            reuse: pre.is_some_and(|u| u.reuse),
            group,
            focus: 0,
            skip: false,
            keys: Vec::new(),
            key_field: TextField::new(""),
            key_sel: 0,
            key_scroll: Cell::new(0),
            login_key: keys::login_key(sys),
            no_password: pre_pa.map_or(no_password_now, |p| !p),
            no_password_now,
            no_password_given: pre_pa.is_some(),
            in_private: false,
            keys_of: String::new(),
            note: None,
            refocused: false,
        };
        s.load_existing(ctx);
        for l in pre.map(|u| u.authorized_keys.clone()).unwrap_or_default() {
            s.commit(&l);
        }
        s.note = None;
        s
    }

    /// The keys already in the named user's authorized_keys start the list.
    fn load_existing(&mut self, ctx: &Ctx) {
        let name = self.name.settled().to_string();
        if name == self.keys_of {
            return;
        }
        self.keys
            .retain(|k| !matches!(k, KeyItem::Ok { existing: true, .. }));
        self.keys_of = name.clone();
        let Some(u) = ctx.sys.users.get(&name) else {
            return;
        };
        let akf = ctx
            .sys
            .sshd
            .as_ref()
            .ok()
            .and_then(|c| c.first("authorizedkeysfile").map(|o| o.args.clone()));
        let file = keys::path(akf.as_deref(), &u.name, &u.home);
        let text = ctx
            .sys
            .root
            .read_text(&file)
            .ok()
            .flatten()
            .unwrap_or_default();
        let found = keys::parse_file(&text);
        // the file's keys first; pasted ones that are already there become "existing"
        self.keys.retain(|k| match k {
            KeyItem::Ok { key, .. } => !found.iter().any(|f| same(f, key)),
            KeyItem::Bad(_) => true,
        });
        let mut all: Vec<KeyItem> = found
            .into_iter()
            .map(|key| KeyItem::Ok {
                key,
                existing: true,
            })
            .collect();
        all.append(&mut self.keys);
        self.keys = all;
        self.key_sel = self.key_sel.min(self.keys.len().saturating_sub(1));
    }

    /// Add what was typed or pasted as one key line (or say what is wrong with it).
    fn commit(&mut self, text: &str) {
        let line = text.trim();
        if line.is_empty() {
            return;
        }
        if self.in_private {
            if line.contains("PRIVATE KEY") && line.contains("END") {
                self.in_private = false;
            }
            return;
        }
        if line.contains("PRIVATE KEY") {
            self.in_private = !line.contains("END");
            self.keys.push(KeyItem::Bad(
                "a private key: not kept. Paste the public key (the .pub file)".into(),
            ));
            return;
        }
        let words: Vec<&str> = line.split_whitespace().collect();
        let first = words.first().copied().unwrap_or("");
        let item = if !keys::is_type(first) {
            KeyItem::Bad(if words.iter().any(|w| keys::is_type(w)) {
                "options (from=, command=) are not taken here: paste the key alone".into()
            } else {
                "not a public key (ssh-ed25519, ssh-rsa, ecdsa-sha2-..., sk-...)".into()
            })
        } else {
            match keys::check(line) {
                Ok(key) => {
                    if self.keys.iter().any(|k| match k {
                        KeyItem::Ok { key: have, .. } => same(have, &key),
                        KeyItem::Bad(_) => false,
                    }) {
                        self.note = Some(format!(
                            "{} is in the list already",
                            keys::fingerprint(&key)
                        ));
                        return;
                    }
                    KeyItem::Ok {
                        key,
                        existing: false,
                    }
                }
                Err(e) => KeyItem::Bad(e),
            }
        };
        self.keys.push(item);
        self.key_sel = self.keys.len() - 1;
    }

    pub fn wants_user(&self) -> bool {
        !self.skip
    }

    fn exists(&self, ctx: &Ctx) -> bool {
        let n = self.name.text();
        crate::steps::user::reusable(&ctx.sys, &n) && !ctx.sys.managed_users.contains(&n)
    }

    fn focusables(&self, ctx: &Ctx) -> Vec<Focus> {
        let mut v = vec![Focus::Name];
        if self.exists(ctx) {
            v.push(Focus::Reuse);
        }
        if self.group.is_some() {
            v.push(Focus::Group);
        }
        if !self.keys.is_empty() {
            v.push(Focus::KeyList);
        }
        v.push(Focus::KeyField);
        if self.login_key.is_ok() {
            v.push(Focus::LoginKey);
        }
        v.push(Focus::NoPassword);
        v
    }

    fn focused(&self, ctx: &Ctx) -> Option<Focus> {
        self.focusables(ctx).get(self.focus).copied()
    }

    /// Put the focus on the key field (for tests and the paste of a key).
    pub fn focus_key_field(&mut self, ctx: &Ctx) {
        if let Some(i) = self
            .focusables(ctx)
            .iter()
            .position(|f| *f == Focus::KeyField)
        {
            self.focus = i;
            self.refocused = true;
        }
    }

    /// The focused field, for its help.
    pub fn field(&self, ctx: &Ctx) -> &'static str {
        match self.focused(ctx) {
            Some(Focus::Name) | None => "name",
            Some(Focus::Reuse) => "reuse",
            Some(Focus::Group) => "group",
            Some(Focus::KeyList) | Some(Focus::KeyField) => "keys",
            Some(Focus::LoginKey) => "login_key",
            Some(Focus::NoPassword) => "no_password",
        }
    }

    /// The checked keys (what the answers get).
    pub fn valid_keys(&self) -> Vec<&PubKey> {
        self.keys
            .iter()
            .filter_map(|k| match k {
                KeyItem::Ok { key, .. } => Some(key),
                KeyItem::Bad(_) => None,
            })
            .collect()
    }

    fn move_focus(&mut self, ctx: &Ctx, k: Key) {
        self.name.settle();
        self.load_existing(ctx);
        let n = self.focusables(ctx).len();
        self.focus = super::cycle(self.focus.min(n - 1), n, k);
    }

    pub fn key(&mut self, k: Key, ctx: &mut Ctx) -> Nav {
        let before = self.focused(ctx);
        self.refocused = false;
        let nav = self.key_inner(k, ctx);
        // items come and go (the list, "use the existing account"): the focus stays on its
        // field unless the key moved it
        let moved = matches!(k, Key::Tab | Key::BackTab | Key::Up | Key::Down) || self.refocused;
        if !moved
            && let Some(f) = before
            && let Some(i) = self.focusables(ctx).iter().position(|x| *x == f)
        {
            self.focus = i;
        }
        nav
    }

    fn key_inner(&mut self, k: Key, ctx: &mut Ctx) -> Nav {
        self.note = None;
        let focused = self.focused(ctx);
        match (focused, k) {
            (Some(Focus::KeyField), Key::Enter | Key::PastedBreak) => {
                let text = self.key_field.text();
                if k == Key::Enter && text.trim().is_empty() {
                    self.in_private = false;
                    return Nav::Next;
                }
                self.commit(&text);
                if k == Key::Enter {
                    self.in_private = false;
                }
                self.key_field.set_text("");
                return Nav::Stay;
            }
            (Some(Focus::KeyList), Key::Up) if self.key_sel > 0 => {
                self.key_sel -= 1;
                return Nav::Stay;
            }
            (Some(Focus::KeyList), Key::Down) if self.key_sel + 1 < self.keys.len() => {
                self.key_sel += 1;
                return Nav::Stay;
            }
            (Some(Focus::KeyList), Key::Delete | Key::Backspace) => {
                match self.keys.get(self.key_sel) {
                    Some(KeyItem::Ok { existing: true, .. }) => {
                        self.note = Some(
                            "a key already in authorized_keys stays: edit that file to take \
                             it out"
                                .into(),
                        );
                    }
                    Some(_) => {
                        self.keys.remove(self.key_sel);
                        self.key_sel = self.key_sel.min(self.keys.len().saturating_sub(1));
                        if self.keys.is_empty() {
                            self.focus_key_field(ctx);
                        }
                    }
                    None => {}
                }
                return Nav::Stay;
            }
            (_, Key::Enter) => {
                self.name.settle();
                self.load_existing(ctx);
                return Nav::Next;
            }
            (_, Key::Esc) => return Nav::Back,
            (_, Key::Tab | Key::BackTab | Key::Up | Key::Down) => {
                self.move_focus(ctx, k);
                return Nav::Stay;
            }
            _ => {}
        }
        match focused {
            Some(Focus::Name) => {
                self.name.input(k);
            }
            Some(Focus::KeyField) => {
                self.key_field.input(k);
            }
            Some(Focus::Reuse) if k == Key::Char(' ') => self.reuse = !self.reuse,
            Some(Focus::Group) if k == Key::Char(' ') => {
                if let Some((_, on)) = &mut self.group {
                    *on = !*on;
                }
            }
            Some(Focus::LoginKey) if k == Key::Char(' ') => {
                if let Ok(key) = &self.login_key {
                    let line = key.line.clone();
                    self.commit(&line);
                }
            }
            Some(Focus::NoPassword) if k == Key::Char(' ') => {
                self.no_password = !self.no_password;
            }
            _ => {}
        }
        Nav::Stay
    }

    pub fn check(&self, ctx: &Ctx) -> Result<(), String> {
        if let Some((_, msg)) = name_problems(&ctx.sys, &self.name.text(), self.reuse)
            .into_iter()
            .find(|(e, _)| *e)
        {
            return Err(crate::tui::words::message(&msg));
        }
        if let Some((n, KeyItem::Bad(e))) = self
            .keys
            .iter()
            .enumerate()
            .find(|(_, k)| matches!(k, KeyItem::Bad(_)))
        {
            return Err(format!("SSH key {}: {e} (Del removes it)", n + 1));
        }
        if !self.key_field.text().trim().is_empty() {
            return Err("SSH key: Enter in the key field adds it (^U clears it)".into());
        }
        if self.no_password && self.valid_keys().is_empty() {
            return Err(
                "Password logins off: the user has no SSH key: paste one, or untick it".into(),
            );
        }
        Ok(())
    }

    pub fn store(&self, ctx: &mut Ctx) {
        let mut u = ctx.answers.user.take().unwrap_or_default();
        u.name = self.name.text();
        u.reuse = self.reuse && self.exists(ctx);
        u.groups = match &self.group {
            Some((g, true)) => vec![g.clone()],
            _ => Vec::new(),
        };
        u.authorized_keys = self.valid_keys().iter().map(|k| k.line.clone()).collect();
        ctx.answers.user = Some(u);
        let pa = (self.no_password_given || self.no_password != self.no_password_now)
            .then_some(!self.no_password);
        let ssh = ctx.answers.ssh.get_or_insert_with(SshAnswers::default);
        ssh.password_authentication = pa;
    }

    pub fn keys(&self) -> String {
        "Enter next  Esc back  Tab field  Space toggle  Del remove key  ^C quit".into()
    }

    pub fn view(&self, f: &mut Frame, area: Rect, ctx: &Ctx) {
        let t = &ctx.theme;
        let focused = self.focused(ctx);
        let style = |on: bool| if on { t.focus() } else { Default::default() };
        let mut out = vec![
            Line::from("SSH will only let this user in; root logs in no more. Pick a name"),
            Line::from("only you know: scripts try admin, test, asterisk and trixbox first."),
            Line::from(""),
            Line::from("Name:"),
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
        if self.exists(ctx) {
            out.push(Line::from(Span::styled(
                format!("{} use the existing account {name}", t.check(self.reuse)),
                style(focused == Some(Focus::Reuse)),
            )));
        }
        if let Some((g, on)) = &self.group {
            out.push(Line::from(Span::styled(
                format!(
                    "{} add to group {g}, so the user can su/sudo to root",
                    t.check(*on)
                ),
                style(focused == Some(Focus::Group)),
            )));
        }
        out.push(Line::from(""));
        let w = area.width as usize;
        out.push(Line::from(format!(
            "SSH keys of {} (paste; a line break separates keys):",
            if name.is_empty() || problems.iter().any(|(e, _)| *e) {
                "the user"
            } else {
                &name
            }
        )));
        // the list, scrolled to keep the selection in view; what is above or below is counted
        let fixed_below = 6;
        let room = (area.height as usize)
            .saturating_sub(out.len() + fixed_below)
            .clamp(1, 6);
        let n = self.keys.len();
        let mut top = self.key_scroll.get().min(n.saturating_sub(1));
        if self.key_sel < top {
            top = self.key_sel;
        }
        let shown = if n > room { room - 1 } else { room };
        if self.key_sel >= top + shown {
            top = self.key_sel + 1 - shown;
        }
        self.key_scroll.set(top);
        if n == 0 {
            out.push(Line::from(Span::styled("  none yet", t.dim())));
        }
        for (i, k) in self.keys.iter().enumerate().skip(top).take(shown) {
            let sel = focused == Some(Focus::KeyList) && i == self.key_sel;
            let (text, st) = match k {
                KeyItem::Ok { key, existing } => (
                    // what a person recognises first; the fingerprint where it fits
                    format!(
                        "  {}",
                        words(&[
                            &key.kind,
                            keys::comment(key),
                            if *existing { "(there now)" } else { "" },
                            &keys::fingerprint(key),
                        ])
                    ),
                    style(sel),
                ),
                KeyItem::Bad(e) => (
                    format!("  key {}: {e}", i + 1),
                    if sel { t.focus() } else { t.error() },
                ),
            };
            out.push(Line::from(Span::styled(cut(&text, w), st)));
        }
        if n > shown {
            out.push(Line::from(Span::styled(
                format!(
                    "  ({}-{} of {n} keys; Up/Down scroll)",
                    top + 1,
                    (top + shown).min(n)
                ),
                t.dim(),
            )));
        }
        let key_row = out.len();
        out.push(Line::from("Key:"));
        match &self.login_key {
            Ok(k) => {
                let have = self.valid_keys().iter().any(|v| same(v, k));
                // type and comment first; the fingerprint where it fits (or when there is
                // no comment to tell the key by)
                let head = words(&[
                    &format!("{} the key of this login:", t.check(have)),
                    &k.kind,
                    keys::comment(k),
                ]);
                let full = words(&[&head, &keys::fingerprint(k)]);
                let fits = crate::tui::width::width(&full) <= w || keys::comment(k).is_empty();
                out.push(Line::from(Span::styled(
                    cut(if fits { &full } else { &head }, w),
                    style(focused == Some(Focus::LoginKey)),
                )));
            }
            Err(Some(why)) => {
                out.extend(super::wrapped(
                    &format!("Key of this login unknown: {why}"),
                    area.width,
                    t.dim(),
                ));
            }
            Err(None) => {}
        }
        out.push(Line::from(Span::styled(
            format!(
                "{} turn password logins off (keys only; PasswordAuthentication no)",
                t.check(self.no_password)
            ),
            style(focused == Some(Focus::NoPassword)),
        )));
        if self.no_password && self.valid_keys().is_empty() {
            out.extend(super::wrapped(
                "no key for this user: password logins must stay on",
                area.width,
                t.error(),
            ));
        }
        if let Some(n) = &self.note {
            out.extend(super::wrapped(n, area.width, t.warn()));
        }
        f.render_widget(Paragraph::new(lines(out)), area);
        self.name.render(
            f,
            Rect {
                x: area.x + 6,
                y: area.y + 3,
                width: area.width.saturating_sub(6).min(33),
                height: 1,
            },
            focused == Some(Focus::Name),
        );
        self.key_field.render(
            f,
            Rect {
                x: area.x + 5,
                y: area.y + key_row as u16,
                width: area.width.saturating_sub(5),
                height: 1,
            },
            focused == Some(Focus::KeyField),
        );
    }
}

/// The non-empty parts, one space between.
fn words(parts: &[&str]) -> String {
    parts
        .iter()
        .filter(|p| !p.is_empty())
        .copied()
        .collect::<Vec<_>>()
        .join(" ")
}

/// The same key (type and base64; comments may differ).
fn same(a: &PubKey, b: &PubKey) -> bool {
    a.kind == b.kind && a.blob == b.blob
}

/// A list line cut to the width with "..." (the whole key is in the answers; the list shows
/// type, fingerprint and comment).
fn cut(s: &str, w: usize) -> String {
    crate::tui::width::cut(s, w)
}
