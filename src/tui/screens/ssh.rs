//! SSH: the new port with live conflict checks, PermitRootLogin, AllowUsers, the hardening
//! baseline (each item shown) and modern crypto (with the old clients it would cut off).

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::{cycle, lines};
use crate::answers::{Answers, SshAnswers};
use crate::config::sshd::DEFAULT_PORT;
use crate::steps::ssh::{allow_problems, port_problems, suggest_port};
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
    pub baseline: bool,
    pub modern_crypto: bool,
    /// The admin chose modern crypto on or off (else it follows the admin's client).
    modern_touched: bool,
    /// The answers file said whether to apply the baseline.
    baseline_given: bool,
    /// Replace a short RSA host key (offered with modern crypto when it is below 4096 bits).
    pub regen_rsa: bool,
    /// Found when the screen is first entered: the target's sshd and what modern crypto
    /// would cut off.
    facts: Option<Facts>,
}

struct Facts {
    baseline: Vec<(&'static str, &'static str)>,
    left_out: Vec<String>,
    cut_off: Vec<String>,
    /// The admin's client would be refused (when its version is known).
    admin_cut: bool,
    short_rsa: Option<(String, usize)>,
}

impl State {
    pub fn new(ctx: &mut Ctx, prefill: Option<&Answers>) -> State {
        let pre = prefill.and_then(|a| a.ssh.as_ref());
        let suggested = suggest_port(&ctx.sys, &mut ctx.rng);
        let current = ctx
            .sys
            .current_ssh_ports()
            .first()
            .copied()
            .unwrap_or(DEFAULT_PORT);
        let port = match pre.and_then(|s| s.port) {
            Some(p) => p.to_string(),
            // Reconfiguration starts from what is there; a first run from the suggestion.
            None if current != DEFAULT_PORT || !ctx.first_run => current.to_string(),
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
            baseline: pre.and_then(|s| s.baseline).unwrap_or(true),
            modern_crypto: pre.and_then(|s| s.modern_crypto).unwrap_or(true),
            modern_touched: pre.is_some_and(|s| s.modern_crypto.is_some()),
            baseline_given: pre.is_some_and(|s| s.baseline.is_some()),
            regen_rsa: pre.and_then(|s| s.regenerate_rsa_host_key).unwrap_or(false),
            facts: None,
        }
    }

    pub fn enter(&mut self, ctx: &mut Ctx) {
        if self.facts.is_none() {
            let w = crate::steps::ssh::baseline::wizard_facts(&ctx.sys, ctx.sys.ssh.force());
            self.facts = Some(Facts {
                baseline: w.baseline,
                left_out: w.left_out,
                cut_off: w.cut_off,
                admin_cut: w.admin_cut,
                short_rsa: w.short_rsa,
            });
            // A first run offers both; a box pbx-harden hardened before starts from what
            // it has, like every other screen.
            if !ctx.first_run {
                if !self.baseline_given {
                    self.baseline = w.baseline_met;
                }
                if !self.modern_touched {
                    self.modern_crypto = w.modern_met;
                }
            }
            if w.admin_cut && !self.modern_touched {
                self.modern_crypto = false;
            }
        }
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

    /// The RSA toggle is there with modern crypto on and an RSA host key below 4096 bits.
    fn offers_regen(&self) -> bool {
        self.modern_crypto && self.facts.as_ref().is_some_and(|f| f.short_rsa.is_some())
    }

    fn port_value(&self) -> i64 {
        self.port.text().parse().unwrap_or(-1)
    }

    /// The focused field, for its help.
    pub fn field(&self) -> &'static str {
        ["port", "root", "allow"][self.focus.min(2)]
    }

    pub fn key(&mut self, k: Key, ctx: &mut Ctx) -> Nav {
        match k {
            Key::Esc => return Nav::Back,
            Key::Tab | Key::BackTab | Key::Up | Key::Down => {
                self.port.settle();
                self.allow.settle();
                let fields = if self.offers_regen() { 6 } else { 5 };
                self.focus = cycle(self.focus.min(fields - 1), fields, k);
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
            3 if k == Key::Char(' ') => self.baseline = !self.baseline,
            4 if k == Key::Char(' ') => {
                self.modern_crypto = !self.modern_crypto;
                self.modern_touched = true;
            }
            5 if k == Key::Char(' ') && self.offers_regen() => self.regen_rsa = !self.regen_rsa,
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
            baseline: Some(self.baseline),
            modern_crypto: Some(self.modern_crypto),
            regenerate_rsa_host_key: if self.offers_regen() {
                Some(self.regen_rsa)
            } else {
                ctx.answers
                    .ssh
                    .as_ref()
                    .and_then(|s| s.regenerate_rsa_host_key)
            },
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
        out.push(Line::from(""));
        let focus = |i: usize| {
            if self.focus == i {
                t.focus()
            } else {
                Default::default()
            }
        };
        out.push(Line::from(Span::styled(
            format!("{} hardening baseline", t.check(self.baseline)),
            focus(3),
        )));
        if let Some(fx) = &self.facts {
            let items: Vec<String> = fx
                .baseline
                .iter()
                .map(|(k, v)| format!("{k} {v}"))
                .collect();
            out.extend(super::wrapped(
                &format!("    {}", items.join(", ")),
                area.width,
                Default::default(),
            ));
            if !fx.left_out.is_empty() {
                out.extend(super::wrapped(
                    &format!("    not known to this sshd: {}", fx.left_out.join(", ")),
                    area.width,
                    t.warn(),
                ));
            }
        }
        out.push(Line::from(Span::styled(
            format!(
                "{} modern crypto (KEX, ciphers, MACs, host keys; ECDSA/DSA keys dropped)",
                t.check(self.modern_crypto)
            ),
            focus(4),
        )));
        if let Some(fx) = &self.facts {
            if fx.admin_cut {
                out.extend(super::wrapped(
                    "    your own SSH client would be refused: update it first",
                    area.width,
                    t.error(),
                ));
            }
            if let Some((key, bits)) = &fx.short_rsa
                && self.modern_crypto
            {
                out.push(Line::from(Span::styled(
                    format!(
                        "{} new 4096-bit RSA host key ({} has {bits} bits)",
                        t.check(self.regen_rsa),
                        key.rsplit('/').next().unwrap_or(key)
                    ),
                    focus(5),
                )));
            }
            if self.modern_crypto && !fx.cut_off.is_empty() {
                out.extend(super::wrapped(
                    &format!("    old clients cut off: {}", fx.cut_off.join(", ")),
                    area.width,
                    t.warn(),
                ));
            }
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
