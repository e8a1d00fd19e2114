//! The screen trait and the registry: what every screen answers (enter, keys, view, the
//! answers it writes on leaving, its check before moving on, its live checks after a pause,
//! the focused field for F1), and `Screens::get`/`get_mut`, the one place that maps a
//! `ScreenId` to its screen. `Screens` asks the registry instead of matching per method;
//! each impl below forwards to the screen's own methods in its file, with the defaults for
//! what a screen does not have.

use ratatui::Frame;
use ratatui::layout::Rect;

use super::{
    ScreenId, Screens, apply, asterisk, confirm, done, extensions, firewall, hosts, password,
    protection, review, services, ssh, user, welcome,
};
use crate::tui::app::{Ctx, Effect, Nav};
use crate::tui::keys::Key;

pub trait Screen {
    /// Is this screen part of the walk on this system (e.g. no APF: no APF screens)?
    fn applies(&self, _ctx: &Ctx) -> bool {
        true
    }
    /// Entering: refresh what depends on other screens; slow work as effects.
    fn enter(&mut self, _ctx: &mut Ctx) -> Vec<Effect> {
        Vec::new()
    }
    /// Leaving (either way): write this screen's part of the answers.
    fn store(&self, _ctx: &mut Ctx) {}
    /// Typed into since the last pause?
    fn dirty(&self) -> bool {
        false
    }
    /// Typing paused: the live checks catch up.
    fn settle(&mut self, _ctx: &mut Ctx) -> Nav {
        Nav::Stay
    }
    /// May the wizard move on? The message says what to fix.
    fn check(&self, _ctx: &Ctx) -> Result<(), String> {
        Ok(())
    }
    fn key(&mut self, k: Key, ctx: &mut Ctx) -> Nav;
    fn view(&self, f: &mut Frame, area: Rect, ctx: &Ctx);
    /// The focused field's name, for its help (F1).
    fn field(&self, _ctx: &Ctx) -> Option<&'static str> {
        None
    }
    /// The key line.
    fn keys(&self, ctx: &Ctx) -> String;
}

impl Screens {
    /// The registry: the screen behind an id.
    pub fn get(&self, s: ScreenId) -> &dyn Screen {
        match s {
            ScreenId::Welcome => &self.welcome,
            ScreenId::Services => &self.services,
            ScreenId::Extensions => &self.extensions,
            ScreenId::Asterisk => &self.asterisk,
            ScreenId::Ports => &self.ports,
            ScreenId::Hosts => &self.hosts,
            ScreenId::Protection => &self.protection,
            ScreenId::User => &self.user,
            ScreenId::Password => &self.password,
            ScreenId::Ssh => &self.ssh,
            ScreenId::Review => &self.review,
            ScreenId::Apply => &self.apply,
            ScreenId::Confirm => &self.confirm,
            ScreenId::Done => &self.done,
        }
    }

    pub fn get_mut(&mut self, s: ScreenId) -> &mut dyn Screen {
        match s {
            ScreenId::Welcome => &mut self.welcome,
            ScreenId::Services => &mut self.services,
            ScreenId::Extensions => &mut self.extensions,
            ScreenId::Asterisk => &mut self.asterisk,
            ScreenId::Ports => &mut self.ports,
            ScreenId::Hosts => &mut self.hosts,
            ScreenId::Protection => &mut self.protection,
            ScreenId::User => &mut self.user,
            ScreenId::Password => &mut self.password,
            ScreenId::Ssh => &mut self.ssh,
            ScreenId::Review => &mut self.review,
            ScreenId::Apply => &mut self.apply,
            ScreenId::Confirm => &mut self.confirm,
            ScreenId::Done => &mut self.done,
        }
    }
}

impl Screen for welcome::State {
    fn key(&mut self, k: Key, _ctx: &mut Ctx) -> Nav {
        welcome::key(k)
    }
    fn view(&self, f: &mut Frame, area: Rect, ctx: &Ctx) {
        welcome::view(f, area, ctx)
    }
    fn keys(&self, _ctx: &Ctx) -> String {
        "Enter next   ^C quit".into()
    }
}

impl Screen for services::State {
    fn applies(&self, ctx: &Ctx) -> bool {
        services::State::applies(self, ctx)
    }
    fn enter(&mut self, ctx: &mut Ctx) -> Vec<Effect> {
        // systemctl's inventory never holds up a key or a draw: the job thread finds it
        // (it may already have, after the first frame).
        if ctx.sys.services.is_ready() {
            services::State::enter(self, ctx);
            Vec::new()
        } else {
            vec![Effect::ScanServices]
        }
    }
    fn store(&self, ctx: &mut Ctx) {
        services::State::store(self, ctx)
    }
    fn key(&mut self, k: Key, ctx: &mut Ctx) -> Nav {
        services::State::key(self, k, ctx)
    }
    fn view(&self, f: &mut Frame, area: Rect, ctx: &Ctx) {
        services::State::view(self, f, area, ctx)
    }
    fn keys(&self, _ctx: &Ctx) -> String {
        services::State::keys(self)
    }
}

impl Screen for extensions::State {
    fn applies(&self, ctx: &Ctx) -> bool {
        extensions::State::applies(self, ctx)
    }
    fn enter(&mut self, ctx: &mut Ctx) -> Vec<Effect> {
        // The scan (zxcvbn over the secrets) never holds up a key or a draw: it runs on a
        // thread (it may already have, after the first frame).
        if ctx.sys.extensions.is_ready() {
            Vec::new()
        } else {
            vec![Effect::ScanExtensions]
        }
    }
    fn store(&self, ctx: &mut Ctx) {
        extensions::State::store(self, ctx)
    }
    fn key(&mut self, k: Key, ctx: &mut Ctx) -> Nav {
        extensions::State::key(self, k, ctx)
    }
    fn view(&self, f: &mut Frame, area: Rect, ctx: &Ctx) {
        extensions::State::view(self, f, area, ctx)
    }
    fn keys(&self, _ctx: &Ctx) -> String {
        extensions::State::keys(self)
    }
}

impl Screen for asterisk::State {
    fn applies(&self, ctx: &Ctx) -> bool {
        asterisk::State::applies(self, ctx)
    }
    fn store(&self, ctx: &mut Ctx) {
        asterisk::State::store(self, ctx)
    }
    fn key(&mut self, k: Key, ctx: &mut Ctx) -> Nav {
        asterisk::State::key(self, k, ctx)
    }
    fn view(&self, f: &mut Frame, area: Rect, ctx: &Ctx) {
        asterisk::State::view(self, f, area, ctx)
    }
    fn keys(&self, _ctx: &Ctx) -> String {
        asterisk::State::keys(self)
    }
}

impl Screen for firewall::State {
    fn applies(&self, ctx: &Ctx) -> bool {
        firewall::State::applies(self, ctx)
    }
    fn enter(&mut self, ctx: &mut Ctx) -> Vec<Effect> {
        firewall::State::enter(self, ctx);
        Vec::new()
    }
    fn store(&self, ctx: &mut Ctx) {
        firewall::State::store(self, ctx)
    }
    fn dirty(&self) -> bool {
        firewall::State::dirty(self)
    }
    fn settle(&mut self, ctx: &mut Ctx) -> Nav {
        firewall::State::settle(self, ctx);
        Nav::Stay
    }
    fn check(&self, ctx: &Ctx) -> Result<(), String> {
        firewall::State::check(self, ctx)
    }
    fn key(&mut self, k: Key, ctx: &mut Ctx) -> Nav {
        firewall::State::key(self, k, ctx)
    }
    fn view(&self, f: &mut Frame, area: Rect, ctx: &Ctx) {
        firewall::State::view(self, f, area, ctx)
    }
    fn field(&self, ctx: &Ctx) -> Option<&'static str> {
        firewall::State::field(self, ctx)
    }
    fn keys(&self, _ctx: &Ctx) -> String {
        firewall::State::keys(self)
    }
}

impl Screen for hosts::State {
    fn applies(&self, ctx: &Ctx) -> bool {
        hosts::State::applies(self, ctx)
    }
    fn enter(&mut self, ctx: &mut Ctx) -> Vec<Effect> {
        hosts::State::enter(self, ctx);
        Vec::new()
    }
    fn store(&self, ctx: &mut Ctx) {
        hosts::State::store(self, ctx)
    }
    fn dirty(&self) -> bool {
        hosts::State::dirty(self)
    }
    fn settle(&mut self, _ctx: &mut Ctx) -> Nav {
        hosts::State::settle(self);
        Nav::Stay
    }
    fn check(&self, ctx: &Ctx) -> Result<(), String> {
        hosts::State::check(self, ctx)
    }
    fn key(&mut self, k: Key, ctx: &mut Ctx) -> Nav {
        hosts::State::key(self, k, ctx)
    }
    fn view(&self, f: &mut Frame, area: Rect, ctx: &Ctx) {
        hosts::State::view(self, f, area, ctx)
    }
    fn field(&self, _ctx: &Ctx) -> Option<&'static str> {
        hosts::State::field(self)
    }
    fn keys(&self, _ctx: &Ctx) -> String {
        hosts::State::keys(self)
    }
}

impl Screen for protection::State {
    fn applies(&self, ctx: &Ctx) -> bool {
        protection::State::applies(self, ctx)
    }
    fn enter(&mut self, ctx: &mut Ctx) -> Vec<Effect> {
        // The lines the seed's UDP TOS change would add: read here (one small file), never
        // while drawing.
        if let Some(a) = &ctx.sys.firewall.apf {
            a.udp_tos_patch_lines.force();
        }
        Vec::new()
    }
    fn store(&self, ctx: &mut Ctx) {
        protection::State::store(self, ctx)
    }
    fn dirty(&self) -> bool {
        protection::State::dirty(self)
    }
    fn settle(&mut self, _ctx: &mut Ctx) -> Nav {
        protection::State::settle(self);
        Nav::Stay
    }
    fn check(&self, ctx: &Ctx) -> Result<(), String> {
        protection::State::check(self, ctx)
    }
    fn key(&mut self, k: Key, ctx: &mut Ctx) -> Nav {
        protection::State::key(self, k, ctx)
    }
    fn view(&self, f: &mut Frame, area: Rect, ctx: &Ctx) {
        protection::State::view(self, f, area, ctx)
    }
    fn keys(&self, _ctx: &Ctx) -> String {
        protection::State::keys(self)
    }
}

impl Screen for user::State {
    fn store(&self, ctx: &mut Ctx) {
        user::State::store(self, ctx)
    }
    fn dirty(&self) -> bool {
        self.name.is_dirty() || self.key_field.is_dirty()
    }
    fn settle(&mut self, _ctx: &mut Ctx) -> Nav {
        self.name.settle();
        self.key_field.settle();
        Nav::Stay
    }
    fn check(&self, ctx: &Ctx) -> Result<(), String> {
        user::State::check(self, ctx)
    }
    fn key(&mut self, k: Key, ctx: &mut Ctx) -> Nav {
        user::State::key(self, k, ctx)
    }
    fn view(&self, f: &mut Frame, area: Rect, ctx: &Ctx) {
        user::State::view(self, f, area, ctx)
    }
    fn field(&self, ctx: &Ctx) -> Option<&'static str> {
        Some(user::State::field(self, ctx))
    }
    fn keys(&self, _ctx: &Ctx) -> String {
        user::State::keys(self)
    }
}

impl Screen for password::State {
    fn enter(&mut self, ctx: &mut Ctx) -> Vec<Effect> {
        password::State::enter(self, ctx)
    }
    fn store(&self, ctx: &mut Ctx) {
        password::State::store(self, ctx)
    }
    fn dirty(&self) -> bool {
        self.pw.is_dirty() || self.again.is_dirty()
    }
    fn settle(&mut self, _ctx: &mut Ctx) -> Nav {
        password::State::settle(self)
    }
    fn check(&self, ctx: &Ctx) -> Result<(), String> {
        password::State::check(self, ctx)
    }
    fn key(&mut self, k: Key, ctx: &mut Ctx) -> Nav {
        password::State::key(self, k, ctx)
    }
    fn view(&self, f: &mut Frame, area: Rect, ctx: &Ctx) {
        password::State::view(self, f, area, ctx)
    }
    fn keys(&self, _ctx: &Ctx) -> String {
        password::State::keys(self)
    }
}

impl Screen for ssh::State {
    fn enter(&mut self, ctx: &mut Ctx) -> Vec<Effect> {
        ssh::State::enter(self, ctx);
        Vec::new()
    }
    fn store(&self, ctx: &mut Ctx) {
        ssh::State::store(self, ctx)
    }
    fn dirty(&self) -> bool {
        self.port.is_dirty() || self.allow.is_dirty()
    }
    fn settle(&mut self, _ctx: &mut Ctx) -> Nav {
        self.port.settle();
        self.allow.settle();
        Nav::Stay
    }
    fn check(&self, ctx: &Ctx) -> Result<(), String> {
        ssh::State::check(self, ctx)
    }
    fn key(&mut self, k: Key, ctx: &mut Ctx) -> Nav {
        ssh::State::key(self, k, ctx)
    }
    fn view(&self, f: &mut Frame, area: Rect, ctx: &Ctx) {
        ssh::State::view(self, f, area, ctx)
    }
    fn field(&self, _ctx: &Ctx) -> Option<&'static str> {
        Some(ssh::State::field(self))
    }
    fn keys(&self, _ctx: &Ctx) -> String {
        ssh::State::keys(self)
    }
}

impl Screen for review::State {
    fn enter(&mut self, ctx: &mut Ctx) -> Vec<Effect> {
        review::State::enter(self, ctx)
    }
    fn check(&self, ctx: &Ctx) -> Result<(), String> {
        review::State::check(self, ctx)
    }
    fn key(&mut self, k: Key, ctx: &mut Ctx) -> Nav {
        review::State::key(self, k, ctx)
    }
    fn view(&self, f: &mut Frame, area: Rect, ctx: &Ctx) {
        review::State::view(self, f, area, ctx)
    }
    fn keys(&self, ctx: &Ctx) -> String {
        review::State::keys(self, ctx)
    }
}

impl Screen for apply::State {
    fn enter(&mut self, ctx: &mut Ctx) -> Vec<Effect> {
        apply::State::enter(self, ctx)
    }
    fn key(&mut self, k: Key, ctx: &mut Ctx) -> Nav {
        apply::State::key(self, k, ctx)
    }
    fn view(&self, f: &mut Frame, area: Rect, ctx: &Ctx) {
        apply::State::view(self, f, area, ctx)
    }
    fn keys(&self, _ctx: &Ctx) -> String {
        apply::State::keys(self)
    }
}

impl Screen for confirm::State {
    fn enter(&mut self, ctx: &mut Ctx) -> Vec<Effect> {
        confirm::State::enter(self, ctx);
        Vec::new()
    }
    fn key(&mut self, k: Key, ctx: &mut Ctx) -> Nav {
        confirm::State::key(self, k, ctx)
    }
    fn view(&self, f: &mut Frame, area: Rect, ctx: &Ctx) {
        confirm::State::view(self, f, area, ctx)
    }
    fn keys(&self, _ctx: &Ctx) -> String {
        confirm::State::keys(self)
    }
}

impl Screen for done::State {
    fn enter(&mut self, ctx: &mut Ctx) -> Vec<Effect> {
        done::State::enter(self, ctx)
    }
    fn key(&mut self, k: Key, ctx: &mut Ctx) -> Nav {
        done::State::key(self, k, ctx)
    }
    fn view(&self, f: &mut Frame, area: Rect, ctx: &Ctx) {
        done::State::view(self, f, area, ctx)
    }
    fn keys(&self, _ctx: &Ctx) -> String {
        done::State::keys(self)
    }
}
