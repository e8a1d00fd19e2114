//! Trusted and blocked hosts: the entries of APF's allow_hosts.rules and deny_hosts.rules
//! as they are, with their comments (a list that scrolls), editable and removable, and new
//! entries with a comment. With nftables, firewalld and ufw the list starts from what the
//! backend holds: the hosts in the nftables table's header, the sources of firewalld's
//! trusted and drop zones (a comment on the line above each), ufw's `allow|deny from HOST`
//! rules (their comments); with FreePBX's module new entries only, as advice. Every entry is
//! checked by the plan's own rules (`firewall::check`).
//!
//! What the answers get: entries added or changed here, or named by the answers file, in
//! `trusted` / `blocked` (with their comments); entries taken out, in `remove`. Entries of
//! the files left as they are stay out of the answers (a second run changes nothing, and the
//! saved answers do not copy every BFD ban to the next server). nftables is the exception:
//! its table is rewritten from the answers, so there every entry goes into them.

use std::cell::Cell;

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::lines;
use crate::answers::{Answers, FirewallAnswers, HostEntry};
use crate::config::trust::{self, TrustFile};
use crate::problems::Problem;
use crate::tui::app::{Ctx, Nav};
use crate::tui::field::TextField;
use crate::tui::keys::Key;

/// The answers keys this screen sets (its problems are shown here, not on Ports).
pub const KEYS: &[&str] = &["firewall.trusted", "firewall.blocked", "firewall.remove"];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub host: String,
    pub comment: String,
    pub blocked: bool,
    /// As the files have it now: (blocked, comment); None for a new entry.
    pub file: Option<(bool, String)>,
    /// Named by the answers file (it stays in the saved answers).
    pub from_answers: bool,
}

impl Entry {
    fn changed(&self) -> bool {
        self.file.as_ref() != Some(&(self.blocked, self.comment.clone()))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Focus {
    List,
    Host,
    Kind,
    Comment,
}

pub struct State {
    pub entries: Vec<Entry>,
    /// Entries of the files taken out (exact text).
    pub removed: Vec<String>,
    pub host: TextField,
    pub comment: TextField,
    /// The kind of the entry being added: blocked (else trusted).
    pub blocked: bool,
    /// The entry being edited, as it was (Esc puts it back; Enter replaces it).
    editing: Option<Entry>,
    focus: usize,
    sel: usize,
    scroll: Cell<usize>,
    /// The plan's verdict on the entries.
    pub problems: Vec<Problem>,
    /// A word about the last action.
    pub note: Option<(String, bool)>,
    /// The last key put the focus somewhere on purpose.
    refocused: bool,
    /// The files' entries as read when the wizard started: (host, blocked, comment).
    in_files: Vec<(String, bool, String)>,
    /// Every entry goes into the answers (nftables rewrites its table from them).
    whole: bool,
}

fn read_file(ctx: &Ctx, name: &str) -> Vec<(String, Option<String>)> {
    use crate::steps::firewall::facts::Backend;
    use crate::steps::firewall::{firewalld, nftables, ufw};
    let blocked = name == "deny_hosts.rules";
    let root = &ctx.sys.root;
    let of_backend = match ctx.fw_backend.0 {
        // nftables: the hosts of the table's last run, from its header
        Backend::Nftables => Some(match root.read(nftables::NFT_FILE) {
            Ok(Some(bytes)) => nftables::previous_hosts(&String::from_utf8_lossy(&bytes)),
            _ => Vec::new(),
        }),
        // firewalld: the sources of the trusted and drop zones
        Backend::Firewalld => Some(firewalld::previous_hosts(root)),
        // ufw: its plain host rules (`ufw allow|deny from HOST`)
        Backend::Ufw => Some(ufw::previous_hosts(root)),
        _ => None,
    };
    if let Some(list) = of_backend {
        return list
            .into_iter()
            .filter(|(_, b, _)| *b == blocked)
            .map(|(h, _, c)| (h, c))
            .collect();
    }
    let Some(apf) = &ctx.sys.firewall.apf else {
        return Vec::new();
    };
    let path = format!("{}/{name}", apf.install_path.trim_end_matches('/'));
    match ctx.sys.root.read(&path) {
        Ok(Some(bytes)) => TrustFile::parse(&bytes, apf.format).listed(),
        _ => Vec::new(),
    }
}

/// The backend rewrites its whole host list from the answers (nftables' own table): every
/// entry on the screen goes into the answers, not only the changed ones.
fn rewrites_all(ctx: &Ctx) -> bool {
    ctx.fw_backend.0 == crate::steps::firewall::facts::Backend::Nftables
}

impl State {
    pub fn new(ctx: &mut Ctx, prefill: Option<&Answers>) -> State {
        let admin = ctx.sys.admin.as_ref().map(|a| a.client.to_string());
        let mut entries: Vec<Entry> = Vec::new();
        let mut in_files = Vec::new();
        for (name, blocked) in [("allow_hosts.rules", false), ("deny_hosts.rules", true)] {
            for (host, comment) in read_file(ctx, name) {
                let comment = comment.unwrap_or_default();
                in_files.push((host.clone(), blocked, comment.clone()));
                // the admin's own address is "trust my address" on the Ports screen
                if !blocked && Some(&host) == admin.as_ref() {
                    continue;
                }
                if entries.iter().any(|e| e.host == host) {
                    continue;
                }
                entries.push(Entry {
                    host,
                    file: Some((blocked, comment.clone())),
                    comment,
                    blocked,
                    from_answers: false,
                });
            }
        }
        let mut removed = Vec::new();
        if let Some(fw) = prefill.and_then(|a| a.firewall.as_ref()) {
            for (list, blocked) in [(&fw.trusted, false), (&fw.blocked, true)] {
                for h in list {
                    let comment = h.comment.clone().unwrap_or_default();
                    match entries.iter_mut().find(|e| e.host == h.host) {
                        Some(e) => {
                            e.blocked = blocked;
                            if !comment.trim().is_empty() {
                                e.comment = comment;
                            }
                            e.from_answers = true;
                        }
                        None => entries.push(Entry {
                            host: h.host.clone(),
                            comment,
                            blocked,
                            file: None,
                            from_answers: true,
                        }),
                    }
                }
            }
            // kept even when the files do not have it (the review says so): never dropped
            for r in &fw.remove {
                if let Some(i) = entries
                    .iter()
                    .position(|e| e.host == *r && e.file.is_some())
                {
                    entries.remove(i);
                }
                if !removed.contains(r) {
                    removed.push(r.clone());
                }
            }
        }
        State {
            entries,
            removed,
            host: TextField::new(""),
            comment: TextField::new(""),
            blocked: false,
            editing: None,
            focus: 0,
            sel: 0,
            scroll: Cell::new(0),
            problems: Vec::new(),
            note: None,
            refocused: false,
            in_files,
            whole: rewrites_all(ctx),
        }
    }

    /// Wherever pbx-harden writes the rules (the answers are the same for every backend).
    pub fn applies(&self, ctx: &Ctx) -> bool {
        use crate::steps::firewall::facts::Backend;
        matches!(
            ctx.fw_backend.0,
            Backend::Apf | Backend::Nftables | Backend::Firewalld | Backend::Ufw | Backend::Freepbx
        )
    }

    fn focusables(&self) -> Vec<Focus> {
        let mut v = Vec::new();
        if !self.entries.is_empty() {
            v.push(Focus::List);
        }
        v.extend([Focus::Host, Focus::Kind, Focus::Comment]);
        v
    }

    fn focused(&self) -> Option<Focus> {
        self.focusables().get(self.focus).copied()
    }

    fn focus_on(&mut self, f: Focus) {
        if let Some(i) = self.focusables().iter().position(|x| *x == f) {
            self.focus = i;
            self.refocused = true;
        }
    }

    /// The focused field, for its help.
    pub fn field(&self) -> Option<&'static str> {
        Some(match self.focused()? {
            Focus::List => "list",
            Focus::Host => "host",
            Focus::Kind => "kind",
            Focus::Comment => "comment",
        })
    }

    /// Put the focus on the host field (tests).
    pub fn focus_host(&mut self) {
        self.focus_on(Focus::Host);
    }

    /// Select the entry `host` in the list (tests).
    pub fn select(&mut self, host: &str) -> bool {
        match self.entries.iter().position(|e| e.host == host) {
            Some(i) => {
                self.sel = i;
                self.focus_on(Focus::List);
                true
            }
            None => false,
        }
    }

    /// Trusted, blocked and removed as the answers say them.
    pub fn host_answers(&self) -> (Vec<HostEntry>, Vec<HostEntry>, Vec<String>) {
        let (mut t, mut b) = (Vec::new(), Vec::new());
        // an edit not finished counts as the entry it was
        for e in self.entries.iter().chain(self.editing.iter()) {
            if !(self.whole || e.changed() || e.from_answers) {
                continue;
            }
            let h = HostEntry {
                host: e.host.clone(),
                comment: Some(e.comment.trim().to_string()).filter(|c| !c.is_empty()),
            };
            if e.blocked { &mut b } else { &mut t }.push(h);
        }
        // nftables rewrites its list: an entry taken out is simply not written
        let removed = if self.whole {
            Vec::new()
        } else {
            self.removed.clone()
        };
        (t, b, removed)
    }

    fn apply_to(&self, fw: &mut FirewallAnswers) {
        let (t, b, r) = self.host_answers();
        fw.trusted = t;
        fw.blocked = b;
        fw.remove = r;
    }

    pub fn enter(&mut self, ctx: &mut Ctx) {
        self.recheck(ctx);
    }

    fn recheck(&mut self, ctx: &Ctx) {
        let mut a = ctx.answers.clone();
        let fw = a.firewall.get_or_insert_with(FirewallAnswers::default);
        self.apply_to(fw);
        let port = a
            .ssh
            .as_ref()
            .and_then(|s| s.port)
            .and_then(|p| u16::try_from(p).ok())
            .or_else(|| ctx.sys.current_ssh_ports().first().copied())
            .unwrap_or(22);
        let moved = !ctx.sys.current_ssh_ports().contains(&port);
        self.problems = crate::steps::firewall::check(
            &ctx.sys,
            &ctx.sys.firewall,
            &a.for_firewall(),
            port,
            moved,
        )
        .into_iter()
        .filter(|p| KEYS.contains(&p.key.as_str()))
        .collect();
    }

    /// Add what the host and comment fields say (several hosts: one entry each).
    fn add(&mut self, ctx: &Ctx) {
        let text = self.host.text();
        let comment = self.comment.text().trim().to_string();
        if let Err(e) = trust::check_comment(&comment) {
            self.note = Some((format!("Comment: {e}"), true));
            return;
        }
        let fmt = ctx
            .sys
            .firewall
            .apf
            .as_ref()
            .map_or(trust::TrustFormat::Apf9, |a| a.format);
        let was_editing = self.editing.is_some();
        let mut bad = Vec::new();
        let mut msg = None;
        for h in text.split_whitespace() {
            if let Err(e) = trust::parse_entry(h, fmt) {
                msg.get_or_insert(format!("Host: {e}"));
                bad.push(h.to_string());
                continue;
            }
            let was = self.editing.take_if(|e| e.host == h).or_else(|| {
                let i = self.entries.iter().position(|e| e.host == h)?;
                Some(self.entries.remove(i))
            });
            // an entry taken out before comes back as the file's
            let file = was.as_ref().and_then(|w| w.file.clone()).or_else(|| {
                let i = self.removed.iter().position(|r| r == h)?;
                self.removed.remove(i);
                self.in_files
                    .iter()
                    .find(|(x, _, _)| x == h)
                    .map(|(_, b, c)| (*b, c.clone()))
            });
            // an empty comment keeps the one the file has (APF's own lines are edited, not
            // emptied)
            let comment = match (&file, comment.is_empty()) {
                (Some((_, c)), true) => c.clone(),
                _ => comment.clone(),
            };
            self.entries.push(Entry {
                host: h.to_string(),
                comment,
                blocked: self.blocked,
                file,
                from_answers: was.is_some_and(|w| w.from_answers),
            });
            self.sel = self.entries.len() - 1;
        }
        self.host.set_text(&bad.join(" "));
        if bad.is_empty() {
            self.comment.set_text("");
            let edited = self.editing.is_some() || was_editing;
            if let Some(e) = self.editing.take() {
                // the edited entry was renamed: the old one goes
                if e.file.is_some() {
                    self.removed.push(e.host);
                }
            }
            if edited {
                // an edit done: new entries start as trusted again
                self.blocked = false;
            }
        }
        self.note = msg.map(|m| (m, true));
        self.recheck(ctx);
    }

    /// The selected entry into the fields, out of the list until Enter adds it back.
    fn edit(&mut self, ctx: &Ctx) {
        self.put_back();
        if self.sel >= self.entries.len() {
            return;
        }
        let e = self.entries.remove(self.sel);
        self.host.set_text(&e.host);
        self.comment.set_text(&e.comment);
        self.blocked = e.blocked;
        self.editing = Some(e);
        self.sel = self.sel.min(self.entries.len().saturating_sub(1));
        self.focus_on(Focus::Comment);
        self.recheck(ctx);
    }

    /// An edit left unfinished: the entry goes back as it was.
    fn put_back(&mut self) {
        if let Some(e) = self.editing.take() {
            self.entries.push(e);
        }
    }

    fn remove(&mut self, ctx: &Ctx) {
        if self.sel >= self.entries.len() {
            return;
        }
        let e = self.entries.remove(self.sel);
        if e.file.is_some() {
            self.removed.push(e.host.clone());
        }
        self.note = Some((format!("{} taken out", e.host), false));
        self.sel = self.sel.min(self.entries.len().saturating_sub(1));
        if self.entries.is_empty() {
            self.focus_on(Focus::Host);
        }
        self.recheck(ctx);
    }

    pub fn dirty(&self) -> bool {
        self.host.is_dirty() || self.comment.is_dirty()
    }

    pub fn settle(&mut self) {
        self.host.settle();
        self.comment.settle();
    }

    pub fn key(&mut self, k: Key, ctx: &mut Ctx) -> Nav {
        let before = self.focused();
        self.refocused = false;
        let nav = self.key_inner(k, ctx);
        // the list comes and goes: the focus stays on its field unless the key moved it
        let moved = matches!(k, Key::Tab | Key::BackTab | Key::Up | Key::Down) || self.refocused;
        if !moved
            && let Some(f) = before
            && let Some(i) = self.focusables().iter().position(|x| *x == f)
        {
            self.focus = i;
        }
        nav
    }

    fn key_inner(&mut self, k: Key, ctx: &mut Ctx) -> Nav {
        self.note = None;
        let focused = self.focused();
        let n = self.focusables().len();
        match (focused, k) {
            (Some(Focus::Host | Focus::Comment | Focus::Kind), Key::Enter)
                if !self.host.text().trim().is_empty() =>
            {
                self.settle();
                self.add(ctx);
                if self.host.text().is_empty() {
                    self.focus_on(Focus::Host);
                }
                return Nav::Stay;
            }
            (_, Key::Enter) => {
                self.settle();
                return Nav::Next;
            }
            (_, Key::Esc) => {
                if self.editing.is_some() {
                    self.put_back();
                    self.host.set_text("");
                    self.comment.set_text("");
                    self.recheck(ctx);
                    return Nav::Stay;
                }
                return Nav::Back;
            }
            (Some(Focus::List), Key::Up) if self.sel > 0 => {
                self.sel -= 1;
                return Nav::Stay;
            }
            (Some(Focus::List), Key::Down) if self.sel + 1 < self.entries.len() => {
                self.sel += 1;
                return Nav::Stay;
            }
            (Some(Focus::List), Key::PageDown) => {
                self.sel = (self.sel + 5).min(self.entries.len().saturating_sub(1));
                return Nav::Stay;
            }
            (Some(Focus::List), Key::Home) => {
                self.sel = 0;
                return Nav::Stay;
            }
            (Some(Focus::List), Key::End) => {
                self.sel = self.entries.len().saturating_sub(1);
                return Nav::Stay;
            }
            (Some(Focus::List), Key::PageUp) => {
                self.sel = self.sel.saturating_sub(5);
                return Nav::Stay;
            }
            (Some(Focus::List), Key::Delete | Key::Backspace) => {
                self.remove(ctx);
                return Nav::Stay;
            }
            (Some(Focus::List), Key::Char('e') | Key::Char(' ')) => {
                self.edit(ctx);
                return Nav::Stay;
            }
            (_, Key::Tab | Key::BackTab | Key::Up | Key::Down) => {
                self.settle();
                self.focus = super::cycle(self.focus.min(n - 1), n, k);
                return Nav::Stay;
            }
            _ => {}
        }
        match focused {
            Some(Focus::Host) => {
                // a pasted list, one host a line: the line break separates hosts
                let k = if k == Key::PastedBreak {
                    Key::Char(' ')
                } else {
                    k
                };
                self.host.input(k);
            }
            Some(Focus::Comment) => {
                // a comment is one line: a pasted line break becomes a space (said in help)
                let k = if k == Key::PastedBreak {
                    Key::Char(' ')
                } else {
                    k
                };
                self.comment.input(k);
            }
            Some(Focus::Kind) => match k {
                Key::Char(' ') => self.blocked = !self.blocked,
                Key::Char('t') => self.blocked = false,
                Key::Char('b') => self.blocked = true,
                // Text typed here would vanish (found by hand: a comment typed after one Tab
                // was lost and its space made the entry "blocked"): say where it goes.
                Key::Char(_) | Key::PastedBreak => {
                    self.note = Some((
                        "trusted/blocked: Space switches (t, b); Tab goes on to the comment".into(),
                        true,
                    ))
                }
                _ => {}
            },
            _ => {}
        }
        Nav::Stay
    }

    pub fn check(&self, _ctx: &Ctx) -> Result<(), String> {
        if self.editing.is_some() || !self.host.text().trim().is_empty() {
            return Err("Host: Enter adds the entry (^U clears the field)".into());
        }
        if !self.comment.text().trim().is_empty() {
            return Err("Comment: give the host it belongs to, or clear it with ^U".into());
        }
        match self.problems.iter().find(|p| p.is_error()) {
            Some(p) => Err(crate::tui::words::problem(&p.key, &p.message)),
            None => Ok(()),
        }
    }

    pub fn store(&self, ctx: &mut Ctx) {
        let fw = ctx
            .answers
            .firewall
            .get_or_insert_with(FirewallAnswers::default);
        self.apply_to(fw);
    }

    pub fn keys(&self) -> String {
        match self.focused() {
            Some(Focus::List) => {
                "Enter next  Esc back  Tab field  e edit  Del remove  ^C quit".into()
            }
            _ => "Enter add/next  Esc back  Tab field  Space toggle  ^C quit".into(),
        }
    }

    pub fn view(&self, f: &mut Frame, area: Rect, ctx: &Ctx) {
        /// Where the backend keeps the hosts (the second line of the screen).
        fn where_written(ctx: &Ctx) -> String {
            use crate::steps::firewall::facts::Backend;
            match ctx.fw_backend.0 {
                Backend::Nftables => format!(
                    "reach none. In nftables (table inet {}), with comments:",
                    crate::steps::firewall::nftables::TABLE
                ),
                Backend::Firewalld => {
                    "reach none. In firewalld's zones trusted and drop, with comments:".into()
                }
                Backend::Freepbx => {
                    "reach none. For FreePBX (the Review says what to set there):".into()
                }
                Backend::Ufw => "reach none. In ufw's user rules, with comments:".into(),
                _ => "reach none. allow_hosts.rules and deny_hosts.rules, with comments:".into(),
            }
        }
        let t = &ctx.theme;
        let focused = self.focused();
        let w = area.width as usize;
        let mut out = vec![
            Line::from("Trusted hosts reach every port and are never banned; blocked hosts"),
            Line::from(where_written(ctx)),
        ];
        // the error lines below the fields need room: the list takes what is left
        let mut msgs: Vec<Line> = Vec::new();
        if let Some((m, err)) = &self.note {
            msgs.extend(super::wrapped(
                m,
                area.width,
                if *err { t.error() } else { t.ok() },
            ));
        }
        let mut sorted: Vec<&Problem> = self.problems.iter().collect();
        sorted.sort_by_key(|p| !p.is_error());
        for p in &sorted {
            msgs.extend(super::wrapped(
                &crate::tui::words::problem(&p.key, &p.message),
                area.width,
                if p.is_error() { t.error() } else { t.warn() },
            ));
        }
        let below = 4; // blank, host, comment, hint
        let total = area.height as usize;
        let msg_room = msgs.len().min(total.saturating_sub(out.len() + below + 2));
        let room = total.saturating_sub(out.len() + below + msg_room).max(1);
        let n = self.entries.len();
        let shown = if n > room {
            room.saturating_sub(1).max(1)
        } else {
            room
        };
        let mut top = self.scroll.get().min(n.saturating_sub(1));
        if self.sel < top {
            top = self.sel;
        }
        if self.sel >= top + shown {
            top = self.sel + 1 - shown;
        }
        self.scroll.set(top);
        if n == 0 {
            out.push(Line::from(Span::styled("  none", t.dim())));
        }
        for (i, e) in self.entries.iter().enumerate().skip(top).take(shown) {
            let sel = focused == Some(Focus::List) && i == self.sel;
            let mark = if e.file.is_none() {
                "new"
            } else if e.changed() {
                "edited"
            } else {
                ""
            };
            let text = format!(
                "  {:<8} {:<24} {}{}",
                if e.blocked { "blocked" } else { "trusted" },
                e.host,
                e.comment,
                if mark.is_empty() {
                    String::new()
                } else {
                    format!(" ({mark})")
                }
            );
            // the whole entry is kept; e edits it in full
            let text = crate::tui::width::cut(&text, w);
            out.push(Line::from(Span::styled(
                text,
                if sel { t.focus() } else { Default::default() },
            )));
        }
        if n > shown {
            out.push(Line::from(Span::styled(
                format!(
                    "  ({}-{} of {n}; Up/Down/PgUp/PgDn/Home/End scroll)",
                    top + 1,
                    (top + shown).min(n)
                ),
                t.dim(),
            )));
        }
        if !self.removed.is_empty() {
            // said, never silent (it shares the count line's room only when there is room)
            if out.len() + below + msg_room < total {
                out.push(Line::from(Span::styled(
                    super::wrap(
                        &format!("  taken out: {}", self.removed.join(" ")),
                        w.max(10),
                    )
                    .remove(0),
                    t.warn(),
                )));
            }
        }
        out.push(Line::from(""));
        let host_row = out.len();
        out.push(Line::from(Span::raw(format!(
            "{:<42}{}",
            if self.editing.is_some() {
                "Edit:"
            } else {
                "Add:"
            },
            ""
        ))));
        out.push(Line::from("Comment:"));
        out.push(Line::from(Span::styled(
            if self.editing.is_some() {
                "Enter keeps the change; Esc puts the entry back as it was"
            } else {
                "Enter adds it (several: spaces between); in the list e edits, Del removes"
            },
            t.dim(),
        )));
        out.extend(msgs.into_iter().take(msg_room));
        if sorted.len() + usize::from(self.note.is_some()) > 0 && msg_room == 0 {
            out.push(Line::from(Span::styled(
                format!("({} problems: Enter shows the first)", sorted.len()),
                t.error(),
            )));
        }
        f.render_widget(Paragraph::new(lines(out)), area);
        let at = |row: usize, x: u16, width: u16| Rect {
            x: area.x + x,
            y: area.y + row as u16,
            width,
            height: 1,
        };
        self.host
            .render(f, at(host_row, 6, 35), focused == Some(Focus::Host));
        let kind = format!(
            "{} trusted {} blocked",
            t.radio(!self.blocked),
            t.radio(self.blocked)
        );
        f.render_widget(
            Paragraph::new(Span::styled(
                kind,
                if focused == Some(Focus::Kind) {
                    t.focus()
                } else {
                    Default::default()
                },
            )),
            at(host_row, 42, area.width.saturating_sub(42)),
        );
        self.comment.render(
            f,
            at(host_row + 1, 9, area.width.saturating_sub(9)),
            focused == Some(Focus::Comment),
        );
    }
}
