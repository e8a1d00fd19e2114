//! APF: conf.apf edited in place (interfaces, SET_TRIM, the inbound port lists,
//! HELPER_SSH_PORT, egress filtering, block-list feeds, TOS), the trust files written the way
//! the installed version's `apf -a` / `apf -d` write them, the seed's UDP TOS patch as a
//! separate edit, and DEVEL_MODE tied to pbx-harden's confirm:
//!
//! - apply writes `DEVEL_MODE="1"` and restarts APF (live system only, before sshd restarts),
//!   after saving the running rules with `iptables-save`; when SSH moves, IG_TCP_CPORTS has
//!   the new port and keeps the old one for the window;
//! - confirm takes the old SSH port out of IG_TCP_CPORTS (a list edit in place: entries
//!   added meanwhile stay), writes `DEVEL_MODE="0"` and restarts APF;
//! - rollback restores conf.apf and the trust files byte for byte, then loads the saved rules
//!   back with `iptables-restore`. (APF's own DEVEL_MODE cron only *flushes* the firewall
//!   every five minutes, leaving the box open; rollback brings back the old rules instead.)

use crate::config::shellvars::ShellVars;
use crate::config::trust::{self, Entry, Host, Kind, TrustFile, TrustFormat};
use crate::exec::argv;
use crate::host::state::STATE_DIR;
use crate::model::actions::CommandAction;
use crate::model::{Action, Builder, CheckStatus, ConfirmStep};
use crate::steps::firewall::answers::{Answers, ApfAnswers};
use crate::steps::firewall::ports::{self, PortRange};
use crate::steps::firewall::{
    APF_CONF, ApfInfo, Ctx, FirewallInfo, HostItem, Spec, blocks_ssh, hosts_line,
};

const WHY: &str = "APF firewall";

/// Where apply saves the running rules for rollback (inside the pending transaction).
pub const SNAPSHOT_V4: &str = "/var/lib/pbx-harden/pending/iptables.rules";
pub const SNAPSHOT_V6: &str = "/var/lib/pbx-harden/pending/ip6tables.rules";

/// Save the running rules of one family (`iptables` / `ip6tables`). Fixed script; the file
/// name is an argument, never part of the script.
pub fn save_argv(tool: &str, file: &str) -> Vec<String> {
    argv(&["sh", "-c", "\"$2-save\" > \"$1\"", "sh", file, tool])
}

/// Load saved rules back: tables that did not exist before (APF adds `mangle` for TOS) are
/// flushed, then `iptables-restore` replaces the rest. Nothing happens when no snapshot was
/// taken (apply failed earlier).
pub fn restore_argv(tool: &str, file: &str) -> Vec<String> {
    argv(&[
        "sh",
        "-c",
        "[ -s \"$1\" ] || exit 0; \
         for t in $(\"$2-save\" | sed -n 's/^\\*//p'); do \
         grep -qx \"\\*$t\" \"$1\" || { \"$2\" -t \"$t\" -F; \"$2\" -t \"$t\" -X; }; \
         done; \
         \"$2-restore\" < \"$1\"",
        "sh",
        file,
        tool,
    ])
}

/// Files `apf -r` writes besides the rules: the DEVEL_MODE cron (9.x appends to /etc/crontab),
/// the refresh cron, fast-load state, and the deny files it trims (SET_TRIM).
pub fn generated_files(install: &str) -> Vec<String> {
    let mut v: Vec<String> = [
        "/etc/crontab",
        "/etc/crontab.bk",
        "/etc/cron.d/apf_develmode",
        "/etc/cron.d/refresh.apf",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    for f in [
        "internals/.apf.restore",
        "internals/.last.full",
        "internals/.md5.cores",
        "internals/.md5.cores.new",
        "internals/.last.vars",
        "internals/.last.vars.new",
        "internals/.localaddrs",
        "internals/.localaddrs6",
        "deny_hosts.rules",
        "glob_deny.rules",
    ] {
        v.push(format!("{install}/{f}"));
    }
    v
}

/// A value as bash reads it back from `KEY="value"` (the summary line is valid shell).
pub use crate::config::shell::double_quote as shell_quote_value;

/// The `KEY="value" …` summary of what a plan sets in a shell-variable file: valid shell,
/// so a test can let bash read it and compare with the file bash sources.
pub fn settings_line(file: &str, set: &[(String, String)]) -> String {
    let mut keys: Vec<&str> = Vec::new();
    for (k, _) in set {
        keys.retain(|x| x != k);
        keys.push(k);
    }
    let parts: Vec<String> = keys
        .into_iter()
        .filter_map(|k| {
            let (_, v) = set.iter().rev().find(|(kk, _)| kk == k)?;
            Some(format!("{k}={v}"))
        })
        .collect();
    format!("{file} sets {}", parts.join(" "))
}

/// Edits to one shell-variable file, remembering what was set (as shell words).
pub struct VarEdit {
    pub vars: ShellVars,
    pub set: Vec<(String, String)>,
}

impl VarEdit {
    pub fn new(bytes: &[u8]) -> VarEdit {
        VarEdit {
            vars: ShellVars::parse(bytes),
            set: Vec::new(),
        }
    }

    pub fn get(&self, key: &str) -> Option<String> {
        self.vars.get(key).map(str::to_string)
    }

    pub fn has(&self, key: &str) -> bool {
        self.vars.has(key)
    }

    /// Set a literal value (inserted before `. $CNFINT` when the file lacks the key).
    pub fn set(&mut self, key: &str, value: &str) {
        if self.vars.has(key) {
            self.vars.set(key, value);
        } else {
            self.vars.insert_missing(key, value);
        }
        self.set.push((key.to_string(), shell_quote_value(value)));
    }

    /// Set shell text that bash expands when it sources the file (`$ATTACK_HOST`).
    pub fn set_raw(&mut self, key: &str, raw: &str) {
        if self.vars.set_raw(key, raw) || self.vars.get(key) == Some(raw) {
            self.set.push((key.to_string(), format!("\"{raw}\"")));
        }
    }

    pub fn settings_line(&self, file: &str) -> String {
        settings_line(file, &self.set)
    }
}

fn valid_iface(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 15
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.:@".contains(c))
}

/// Set a port list, unless the file already opens exactly these ports (in any order or
/// spelling), so that a second run changes nothing.
fn set_ports(conf: &mut VarEdit, key: &str, list: &[PortRange]) {
    let cur = conf.get(key).unwrap_or_default();
    let tokens = ports::apf_tokens(&cur);
    let mut have: Vec<PortRange> = tokens
        .iter()
        .filter_map(|t| ports::apf_token_range(t))
        .collect();
    let mut want = list.to_vec();
    have.sort();
    want.sort();
    if have.len() == tokens.len() && have == want {
        conf.set.push((key.to_string(), shell_quote_value(&cur)));
    } else {
        conf.set(key, &ports::apf_list(list));
    }
}

fn human(value: &str) -> String {
    ports::apf_tokens(value)
        .iter()
        .map(|t| t.replace('_', "-"))
        .collect::<Vec<_>>()
        .join(",")
}

fn bool01(b: bool) -> &'static str {
    if b { "1" } else { "0" }
}

/// Trust entries loaded from a file, parsed as APF applies them (tokens APF would not
/// understand are skipped).
fn parsed_entries(f: &TrustFile) -> Vec<(String, Entry)> {
    f.entries()
        .into_iter()
        .filter_map(|t| trust::loaded_entry(&t).map(|e| (t, e)))
        .collect()
}

pub fn plan(
    b: &mut Builder<'_>,
    answers: &Answers,
    ctx: &Ctx,
    spec: &Spec,
    info: &ApfInfo,
    full: bool,
) {
    let sys = b.sys;
    let a: ApfAnswers = if full {
        answers.apf.clone().unwrap_or_default()
    } else {
        ApfAnswers::default()
    };
    let before = match b.current(APF_CONF) {
        Ok(Some(bytes)) => bytes,
        Ok(None) => return,
        Err(e) => {
            b.error("apf", format!("cannot read {APF_CONF}: {e}"));
            return;
        }
    };
    let mut conf = VarEdit::new(&before);
    let fmt = info.format;
    let install = info.install_path.clone();
    let version = info
        .version
        .clone()
        .unwrap_or_else(|| "(no VERSION file)".into());

    let fw = &ctx.fw;
    let iface_keys = interfaces(b, fw, &a, &mut conf, fmt);
    let window = inbound_ports(b, ctx, spec, &mut conf);
    egress(b, fw, answers, &a, &mut conf, full);
    feeds(b, fw, &a, &mut conf, fmt);
    tos(b, fw, &a, &mut conf);
    let functions = format!("{install}/internals/functions.apf");
    let functions_after = tos_udp_patch_file(b, &a, &functions, &version, full);
    let TrustEdit {
        allow_path,
        deny_path,
        allow,
        deny,
        trusted,
        allow_after,
        deny_after,
        allow_changed,
        deny_changed,
    } = trust_files(b, ctx, spec, &conf, &install, fmt);

    // DEVEL_MODE: on while the change waits for confirm.
    let conf_changed = conf.vars.to_bytes() != before;
    let anything = conf_changed || allow_changed || deny_changed || functions_after.is_some();
    if !anything {
        if conf.get("DEVEL_MODE").as_deref() == Some("1") {
            b.warn(
                "apf",
                "DEVEL_MODE is 1: APF's cron flushes (opens) the firewall every 5 minutes; a \
                 firewall change through pbx-harden turns it off at confirm",
            );
        }
    } else {
        if b.has_errors_for("firewall") || b.has_errors_for("apf") {
            return;
        }
        conf.set("DEVEL_MODE", "1");
        b.write(APF_CONF, Some(conf.vars.to_bytes()), 0o600, WHY);
        if !window.is_empty() {
            b.write(
                APF_CONF,
                Some(conf.vars.to_bytes()),
                0o600,
                &format!(
                    "the old SSH port {} stays in IG_TCP_CPORTS until confirm",
                    join_ports(&window)
                ),
            );
        }
        if allow_changed {
            b.write(
                &allow_path,
                Some(allow_after.clone()),
                0o600,
                "APF trusted hosts",
            );
        }
        if deny_changed {
            b.write(
                &deny_path,
                Some(deny_after.clone()),
                0o600,
                "APF blocked hosts",
            );
        }
        if let Some(f) = &functions_after {
            b.write(
                &functions,
                Some(f.clone()),
                0o640,
                "the seed's UDP TOS change to APF's functions",
            );
        }
        let apf_bin = format!("{install}/apf");
        for o in &window {
            b.on_confirm.push(ConfirmStep::RemoveFromShellList {
                path: APF_CONF.into(),
                key: "IG_TCP_CPORTS".into(),
                item: o.to_string(),
            });
        }
        b.on_confirm.push(ConfirmStep::SetShellVar {
            path: APF_CONF.into(),
            key: "DEVEL_MODE".into(),
            value: "0".into(),
        });
        b.on_confirm.push(ConfirmStep::Run {
            argv: argv(&[&apf_bin, "-r"]),
        });
        if sys.root.is_live() {
            live_actions(b, &ctx.fw, &conf, &install, &apf_bin);
        }
        summary(b, &conf, &version, ctx, &trusted, spec, full, &window);
    }

    checks(
        b,
        &conf,
        ctx,
        &allow,
        &deny,
        &install,
        fmt,
        anything,
        &iface_keys,
    );
}

/// IFACE_UNTRUSTED (or 9.x's IFACE_IN/IFACE_OUT), IFACE_TRUSTED and SET_TRIM; the keys that
/// name the untrusted interface.
fn interfaces(
    b: &mut Builder<'_>,
    fw: &FirewallInfo,
    a: &ApfAnswers,
    conf: &mut VarEdit,
    fmt: TrustFormat,
) -> Vec<&'static str> {
    let iface_keys: Vec<&str> = if conf.has("IFACE_UNTRUSTED") {
        vec!["IFACE_UNTRUSTED"]
    } else if conf.has("IFACE_IN") || fmt == TrustFormat::Apf9 {
        vec!["IFACE_IN", "IFACE_OUT"]
    } else {
        vec!["IFACE_UNTRUSTED"]
    };
    let known = &fw.interfaces;
    let list_known = || {
        if known.is_empty() {
            "none found".to_string()
        } else {
            known.join(", ")
        }
    };
    if let Some(u) = &a.untrusted_iface {
        if !valid_iface(u) {
            b.error(
                "apf.untrusted_iface",
                format!("\"{u}\" is not an interface name"),
            );
        } else if !known.is_empty() && !known.contains(u) {
            b.error(
                "apf.untrusted_iface",
                format!(
                    "\"{u}\" is not an interface of this system ({}): APF would abort after \
                     flushing its rules, leaving the box open",
                    list_known()
                ),
            );
        } else {
            for k in &iface_keys {
                conf.set(k, u);
            }
        }
    }
    if let Some(list) = &a.trusted_ifaces {
        let mut ok = true;
        for t in list {
            if !valid_iface(t) {
                b.error(
                    "apf.trusted_ifaces",
                    format!("\"{t}\" is not an interface name"),
                );
                ok = false;
            } else if !known.is_empty() && !known.contains(t) {
                b.error(
                    "apf.trusted_ifaces",
                    format!(
                        "\"{t}\" is not an interface of this system ({})",
                        list_known()
                    ),
                );
                ok = false;
            } else if iface_keys
                .iter()
                .any(|k| conf.get(k).as_deref() == Some(t.as_str()))
            {
                b.error(
                    "apf.trusted_ifaces",
                    format!(
                        "\"{t}\" is the untrusted (Internet) interface: trusting it would open \
                         everything"
                    ),
                );
                ok = false;
            }
        }
        if ok {
            if !list.is_empty() {
                b.warn(
                    "apf.trusted_ifaces",
                    format!(
                        "all traffic on {} bypasses the firewall; trust only an internal network",
                        list.join(", ")
                    ),
                );
            }
            // Space separated: 9.x checks the routes of `$IFACE_TRUSTED` without `tr ','`.
            conf.set("IFACE_TRUSTED", &list.join(" "));
        }
    }
    if let Some(t) = a.set_trim {
        if !(0..=1_000_000).contains(&t) {
            b.error(
                "apf.set_trim",
                format!("{t}: use 0 (no limit, as the seed advises) or a number of lines"),
            );
        } else {
            if t > 0 && fw.bfd.is_some() {
                b.warn(
                    "apf.set_trim",
                    format!(
                        "{t}: with BFD banning addresses, the oldest bans are cut once there are \
                         {t}; the seed sets 0 (no limit)"
                    ),
                );
            }
            conf.set("SET_TRIM", &t.to_string());
        }
    }
    iface_keys
}

/// IG_TCP_CPORTS (the new SSH port added; after a move the old one stays until confirm),
/// IG_UDP_CPORTS, HELPER_SSH_PORT. Returns the old SSH ports kept in IG_TCP_CPORTS for the
/// window: confirm takes them out of the list.
fn inbound_ports(b: &mut Builder<'_>, ctx: &Ctx, spec: &Spec, conf: &mut VarEdit) -> Vec<u16> {
    let cur_tcp = conf.get("IG_TCP_CPORTS").unwrap_or_default();
    let closing = ctx.ports_left();
    let mut window = Vec::new();
    match &spec.tcp {
        Some(list) => {
            // The answers' list, plus the old SSH port until confirm (sshd listens there
            // until it restarts, and the admin's session runs through it).
            let mut list = list.clone();
            for o in &closing {
                if !list.iter().any(|r| r.contains(*o)) {
                    list.push(PortRange::one(*o));
                    window.push(*o);
                }
            }
            set_ports(conf, "IG_TCP_CPORTS", &list);
        }
        None => {
            let bad = ports::apf_bad_tokens(&cur_tcp);
            if !bad.is_empty() {
                b.warn(
                    "firewall.tcp_ports",
                    format!(
                        "{APF_CONF} IG_TCP_CPORTS has {}: APF hands it to iptables, which rejects \
                         it; list the ports in firewall.tcp_ports to rewrite the list",
                        bad.join(", ")
                    ),
                );
            }
            let mut tokens = ports::apf_tokens(&cur_tcp);
            // The new port goes where the old one is (it stays after it until confirm).
            let at = tokens
                .iter()
                .position(|t| closing.iter().any(|o| *t == o.to_string()));
            for o in &closing {
                if tokens.iter().any(|t| *t == o.to_string()) {
                    window.push(*o);
                }
            }
            let mut changed = false;
            for p in ctx.ssh_ports.iter().rev() {
                if !ports::apf_list_opens(&tokens.join(","), *p) {
                    tokens.insert(at.unwrap_or(0).min(tokens.len()), p.to_string());
                    changed = true;
                }
            }
            if changed {
                conf.set("IG_TCP_CPORTS", &tokens.join(","));
            }
        }
    }
    if let Some(list) = &spec.udp {
        set_ports(conf, "IG_UDP_CPORTS", list);
    }
    conf.set("HELPER_SSH_PORT", &ctx.ssh_port().to_string());
    window
}

/// EGF and the egress port lists, with what egress filtering would cut off.
fn egress(
    b: &mut Builder<'_>,
    fw: &FirewallInfo,
    answers: &Answers,
    a: &ApfAnswers,
    conf: &mut VarEdit,
    full: bool,
) {
    if let Some(e) = a.egress_filtering {
        conf.set("EGF", bool01(e));
    }
    for (key, list, var) in [
        ("apf.egress_tcp_ports", &a.egress_tcp_ports, "EG_TCP_CPORTS"),
        ("apf.egress_udp_ports", &a.egress_udp_ports, "EG_UDP_CPORTS"),
    ] {
        if let Some(list) = list {
            match ports::parse_list(list) {
                Ok(r) => set_ports(conf, var, &r),
                Err(errs) => {
                    for e in errs {
                        b.error(key, e);
                    }
                }
            }
        }
    }
    if full && conf.get("EGF").as_deref() == Some("1") {
        let eg_udp = conf.get("EG_UDP_CPORTS").unwrap_or_default();
        let eg_tcp = conf.get("EG_TCP_CPORTS").unwrap_or_default();
        for p in &fw.asterisk.force().sip_udp {
            if !ports::apf_list_opens(&eg_udp, *p) {
                b.warn(
                    "apf.egress_udp_ports",
                    format!(
                        "egress filtering is on and {p}/udp (SIP) is not allowed out: calls to \
                         trunks would fail; RTP to the far end needs its ports too"
                    ),
                );
            }
        }
        if !ports::apf_list_opens(&eg_udp, 53) && !ports::apf_list_opens(&eg_tcp, 53) {
            b.warn(
                "apf.egress_udp_ports",
                "egress filtering is on and DNS (53) is not allowed out",
            );
        }
        let lists_on = [
            "DLIST_PHP",
            "DLIST_SPAMHAUS",
            "DLIST_DSHIELD",
            "DLIST_RESERVED",
            "USE_DS",
            "USE_DROP",
            "USE_RD",
        ]
        .iter()
        .any(|k| conf.get(k).as_deref() == Some("1"));
        if lists_on && !(ports::apf_list_opens(&eg_tcp, 80) && ports::apf_list_opens(&eg_tcp, 443))
        {
            b.warn(
                "apf.egress_tcp_ports",
                "egress filtering is on and 80/443 are not both allowed out: APF could not \
                 download its block lists on refresh",
            );
        }
        if answers.bfd.as_ref().and_then(|x| x.email_alerts) == Some(true)
            && !ports::apf_list_opens(&eg_tcp, 25)
        {
            b.warn(
                "apf.egress_tcp_ports",
                "egress filtering is on and SMTP (25) is not allowed out: BFD's alerts would not \
                 leave the box",
            );
        }
    }
}

/// The block-list feeds: the seed's USE_DS, DLIST_* since 9.6-5.
fn feeds(
    b: &mut Builder<'_>,
    fw: &FirewallInfo,
    a: &ApfAnswers,
    conf: &mut VarEdit,
    fmt: TrustFormat,
) {
    let mut feed_on = false;
    for (name, want, keys) in [
        ("apf.dshield", a.dshield, ["DLIST_DSHIELD", "USE_DS"]),
        ("apf.spamhaus", a.spamhaus, ["DLIST_SPAMHAUS", "USE_DROP"]),
    ] {
        let Some(on) = want else { continue };
        match keys.iter().find(|k| conf.has(k)) {
            Some(k) => {
                conf.set(k, bool01(on));
                feed_on |= on;
            }
            None => b.error(
                name,
                format!(
                    "{APF_CONF} has neither {} nor {}: this APF version has no such block list",
                    keys[0], keys[1]
                ),
            ),
        }
    }
    if feed_on && !fw.wget {
        let msg = "APF downloads its block lists with wget, and there is no wget on this system";
        if fmt == TrustFormat::Apf9 {
            b.error(
                "apf.dshield",
                format!(
                    "{msg}: APF 9.x then aborts its start after flushing the rules, leaving the \
                     box open; install wget first"
                ),
            );
        } else {
            b.warn("apf.dshield", format!("{msg}: the lists stay empty"));
        }
    }
}

/// TOS for SIP, IAX and RTP (TOS_16: minimize delay).
fn tos(b: &mut Builder<'_>, fw: &FirewallInfo, a: &ApfAnswers, conf: &mut VarEdit) {
    let tos_tokens = tos_tokens(b.sys, fw);
    let tos_keys: Vec<&str> = ["TOS_0", "TOS_2", "TOS_4", "TOS_8", "TOS_16"]
        .into_iter()
        .filter(|k| conf.has(k))
        .collect();
    if let Some(on) = a.tos {
        if on && !conf.has("TOS_16") {
            b.error("apf.tos", format!("{APF_CONF} has no TOS_16 list"));
        } else {
            for k in &tos_keys {
                let cur = conf.get(k).unwrap_or_default();
                let mut t = ports::apf_tokens(&cur);
                let before_t = t.clone();
                t.retain(|x| !tos_tokens.contains(x));
                if on && *k == "TOS_16" {
                    t.extend(tos_tokens.iter().cloned());
                }
                if t != before_t {
                    conf.set(k, &t.join(","));
                }
            }
            if on {
                let def = conf.get("TOS_DEF_RANGE").unwrap_or_default();
                let covered = tos_tokens.iter().any(|t| {
                    ports::apf_token_range(t).is_some_and(|r| {
                        ports::apf_tokens(&def)
                            .iter()
                            .filter_map(|d| ports::apf_token_range(d))
                            .any(|d| d.overlaps(&r))
                    })
                });
                if covered {
                    b.warn(
                        "apf.tos",
                        format!(
                            "TOS_DEF_RANGE=\"{def}\" is marked last, with TOS_DEF, and would undo \
                             the marks of SIP/IAX/RTP: it is emptied"
                        ),
                    );
                    conf.set("TOS_DEF_RANGE", "");
                }
            }
        }
    }
}

/// The seed's UDP TOS change to internals/functions.apf: the new bytes when asked for.
fn tos_udp_patch_file(
    b: &mut Builder<'_>,
    a: &ApfAnswers,
    functions: &str,
    version: &str,
    full: bool,
) -> Option<Vec<u8>> {
    let mut functions_after: Option<Vec<u8>> = None;
    if full && (a.tos == Some(true) || a.tos_udp_patch.is_some()) {
        match b.current(functions) {
            Ok(Some(f)) => {
                let (patched, n) = udp_tos_patch(&f);
                if n > 0 {
                    if a.tos_udp_patch == Some(true) {
                        functions_after = Some(patched);
                    } else if a.tos_udp_patch.is_none() {
                        b.warn(
                            "apf.tos_udp_patch",
                            format!(
                                "APF {version} marks TOS for TCP only, and SIP, IAX and RTP are \
                                 UDP: set tos_udp_patch = true for the seed's change to \
                                 {functions} ({n} lines added)"
                            ),
                        );
                    }
                }
            }
            _ if a.tos_udp_patch == Some(true) => b.error(
                "apf.tos_udp_patch",
                format!("there is no {functions} to patch"),
            ),
            _ => {}
        }
    }
    functions_after
}

/// The trust files as the plan leaves them.
struct TrustEdit {
    allow_path: String,
    deny_path: String,
    allow: TrustFile,
    deny: TrustFile,
    trusted: Vec<HostItem>,
    allow_after: Vec<u8>,
    deny_after: Vec<u8>,
    allow_changed: bool,
    deny_changed: bool,
}

/// allow_hosts.rules and deny_hosts.rules: trusted (with the admin's address), blocked and
/// removed hosts, each in one file only.
fn trust_files(
    b: &mut Builder<'_>,
    ctx: &Ctx,
    spec: &Spec,
    conf: &VarEdit,
    install: &str,
    fmt: TrustFormat,
) -> TrustEdit {
    let allow_path = format!("{install}/allow_hosts.rules");
    let deny_path = format!("{install}/deny_hosts.rules");
    let read = |b: &Builder<'_>, p: &str| b.current(p).ok().flatten();
    let allow_before = read(b, &allow_path);
    let deny_before = read(b, &deny_path);
    let mut allow = TrustFile::parse(allow_before.as_deref().unwrap_or(b""), fmt);
    let mut deny = TrustFile::parse(deny_before.as_deref().unwrap_or(b""), fmt);
    let mut trusted: Vec<HostItem> = spec.trusted.clone();
    if let Some(admin) = spec.trust_admin
        && !trusted.iter().any(|t| {
            matches!(t.entry, Entry::Plain(_)) && t.entry.host().covers(admin) == Some(true)
        })
    {
        trusted.push(HostItem {
            text: admin.to_string(),
            comment: Some("pbx-harden: the admin's own address".into()),
            entry: Entry::Plain(Host::Ip(admin)),
        });
    }
    let ipv6_on = conf.get("USE_IPV6").as_deref() == Some("1");
    for item in trusted.iter().chain(&spec.blocked) {
        if item.entry.host().is_v6() && !ipv6_on {
            b.error(
                "firewall.trusted",
                format!(
                    "{}: IPv6 entries need USE_IPV6=\"1\" in {APF_CONF}",
                    item.text
                ),
            );
        }
    }
    for t in &trusted {
        if deny.remove(&t.text) {
            b.warn(
                "firewall.trusted",
                format!(
                    "{} was in deny_hosts.rules; it moves to allow_hosts.rules",
                    t.text
                ),
            );
        }
        if !allow.add(&t.text, t.comment.as_deref(), Kind::Allow, &ctx.stamp)
            && let Some(c) = &t.comment
        {
            // there already: the comment the answers give replaces the file's
            allow.set_comment(&t.text, c, Kind::Allow, &ctx.stamp);
        }
    }
    let expire: i64 = conf
        .get("SET_EXPIRE")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    for x in &spec.blocked {
        if allow.remove(&x.text) {
            b.warn(
                "firewall.blocked",
                format!(
                    "{} was in allow_hosts.rules; it moves to deny_hosts.rules",
                    x.text
                ),
            );
        }
        let added = deny.add(&x.text, x.comment.as_deref(), Kind::Deny, &ctx.stamp);
        if !added && let Some(c) = &x.comment {
            deny.set_comment(&x.text, c, Kind::Deny, &ctx.stamp);
        }
        if added
            && expire > 0
            && !x
                .comment
                .as_deref()
                .is_some_and(|c| c.contains("static") || c.contains("noexpire"))
        {
            b.warn(
                "firewall.blocked",
                format!(
                    "{}: SET_EXPIRE={expire} lifts the ban after {expire}s unless the comment \
                     says \"static\" or \"noexpire\"",
                    x.text
                ),
            );
        }
    }
    for r in &spec.remove {
        let a1 = allow.remove(r);
        let d1 = deny.remove(r);
        if !a1 && !d1 {
            b.warn(
                "firewall.remove",
                format!("{r} is in neither allow_hosts.rules nor deny_hosts.rules"),
            );
        }
    }
    let allow_after = allow.to_bytes();
    let deny_after = deny.to_bytes();
    let allow_changed = allow_after != allow_before.clone().unwrap_or_default();
    let deny_changed = deny_after != deny_before.clone().unwrap_or_default();
    TrustEdit {
        allow_path,
        deny_path,
        allow,
        deny,
        trusted,
        allow_after,
        deny_after,
        allow_changed,
        deny_changed,
    }
}

fn live_actions(
    b: &mut Builder<'_>,
    fw: &FirewallInfo,
    conf: &VarEdit,
    install: &str,
    apf_bin: &str,
) {
    let find = crate::host::find_program;
    let v4 = find("iptables-save").is_some() && find("iptables-restore").is_some();
    let v6 = conf.get("USE_IPV6").as_deref() == Some("1")
        && find("ip6tables-save").is_some()
        && find("ip6tables-restore").is_some();
    b.check(
        "the previous firewall rules can be restored on rollback",
        if v4 {
            CheckStatus::Pass("iptables-save now, iptables-restore on rollback".into())
        } else {
            CheckStatus::Fail(
                "iptables-save / iptables-restore are not installed: the running rules could not \
                 be brought back"
                    .into(),
            )
        },
    );
    if !fw.apf.as_ref().is_some_and(|a| a.binary) {
        b.check(
            "APF can be restarted",
            CheckStatus::Fail(format!("{apf_bin} is missing")),
        );
    }
    // Before sshd's restart: the new port is open when sshd listens on it (the old one
    // stays in the list until confirm).
    crate::steps::firewall::nftables::insert_before_ssh(
        &mut b.actions,
        restart_actions(install, apf_bin, v6),
    );
}

fn join_ports(ports: &[u16]) -> String {
    ports
        .iter()
        .map(u16::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// The commands around an APF restart on the live system: save the running rules into the
/// pending transaction, restart APF; rollback loads the saved rules back.
pub fn restart_actions(install: &str, apf_bin: &str, v6: bool) -> Vec<Action> {
    debug_assert!(SNAPSHOT_V4.starts_with(STATE_DIR));
    let mut out = Vec::new();
    let mut undo = vec![restore_argv("iptables", SNAPSHOT_V4)];
    out.push(Action::Command(CommandAction {
        argv: save_argv("iptables", SNAPSHOT_V4),
        undo: Vec::new(),
        touches: Vec::new(),
        changes_state: false,
    }));
    if v6 {
        out.push(Action::Command(CommandAction {
            argv: save_argv("ip6tables", SNAPSHOT_V6),
            undo: Vec::new(),
            touches: Vec::new(),
            changes_state: false,
        }));
        undo.push(restore_argv("ip6tables", SNAPSHOT_V6));
    }
    out.push(Action::Command(CommandAction {
        argv: argv(&[apf_bin, "-r"]),
        undo,
        touches: generated_files(install),
        changes_state: true,
    }));
    out
}

#[allow(clippy::too_many_arguments)]
fn summary(
    b: &mut Builder<'_>,
    conf: &VarEdit,
    version: &str,
    ctx: &Ctx,
    trusted: &[HostItem],
    spec: &Spec,
    full: bool,
    window: &[u16],
) {
    let s = &mut b.summary.firewall;
    // The inbound ports as they stand after confirm (the old SSH port out).
    let mut confirmed = conf.vars.clone();
    for o in window {
        confirmed.remove_list_item("IG_TCP_CPORTS", &o.to_string());
    }
    s.push(format!(
        "APF {version}: inbound TCP {}; UDP {}",
        human(confirmed.get("IG_TCP_CPORTS").unwrap_or_default()),
        match human(&conf.get("IG_UDP_CPORTS").unwrap_or_default()) {
            u if u.is_empty() => "none".to_string(),
            u => u,
        }
    ));
    if !full {
        s.push(format!(
            "APF: only the SSH port follows the move to {} (firewall.backend is not \"apf\")",
            ctx.ssh_port()
        ));
    }
    if !trusted.is_empty() {
        s.push(format!("APF trusted: {}", hosts_line(trusted)));
    }
    if !spec.blocked.is_empty() {
        s.push(format!("APF blocked: {}", hosts_line(&spec.blocked)));
    }
    if !spec.remove.is_empty() {
        s.push(format!("APF removed: {}", spec.remove.join(", ")));
    }
    s.push(if window.is_empty() {
        "APF DEVEL_MODE=1 until confirm (APF's cron flushes, i.e. opens, the firewall every 5 \
         minutes meanwhile); confirm sets 0 and restarts APF; rollback restores the previous \
         rules"
            .into()
    } else {
        let old = join_ports(window);
        format!(
            "APF DEVEL_MODE=1 and the old SSH port {old} stays open until confirm (APF's cron \
             flushes, i.e. opens, the firewall every 5 minutes meanwhile); confirm takes {old} \
             out of IG_TCP_CPORTS, sets DEVEL_MODE 0 and restarts APF; rollback restores the \
             previous rules"
        )
    });
    s.push(conf.settings_line(APF_CONF));
}

#[allow(clippy::too_many_arguments)]
fn checks(
    b: &mut Builder<'_>,
    conf: &VarEdit,
    ctx: &Ctx,
    allow: &TrustFile,
    deny: &TrustFile,
    install: &str,
    fmt: TrustFormat,
    restarting: bool,
    iface_keys: &[&str],
) {
    let sys = b.sys;
    let tcp = conf.get("IG_TCP_CPORTS").unwrap_or_default();
    let p = ctx.ssh_port();
    let closed: Vec<u16> = ctx
        .ssh_ports
        .iter()
        .copied()
        .filter(|p| !ports::apf_list_opens(&tcp, *p))
        .collect();
    b.check(
        format!("the SSH port {p} is open in APF"),
        if closed.is_empty() {
            CheckStatus::Pass(format!("IG_TCP_CPORTS=\"{tcp}\""))
        } else {
            CheckStatus::Fail(format!(
                "IG_TCP_CPORTS=\"{tcp}\" does not open {}",
                closed
                    .iter()
                    .map(u16::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        },
    );
    let helper = conf.get("HELPER_SSH_PORT").unwrap_or_default();
    b.check(
        format!("APF's SSH helper follows port {p}"),
        if helper == p.to_string() {
            CheckStatus::Pass(format!("HELPER_SSH_PORT=\"{helper}\""))
        } else {
            CheckStatus::Fail(format!("HELPER_SSH_PORT=\"{helper}\""))
        },
    );
    if conf.get("SET_VNET").as_deref() == Some("1") {
        for f in sys.root.glob(&format!("{install}/vnet/*.rules")) {
            if let Ok(Some(t)) = sys.root.read(&f) {
                let v = ShellVars::parse(&t);
                if let Some(list) = v.get("IG_TCP_CPORTS")
                    && !ports::apf_list_opens(list, p)
                {
                    b.warn(
                        "apf",
                        format!(
                            "{f} sets IG_TCP_CPORTS=\"{list}\" for its address without port {p} \
                             (SET_VNET=1): pbx-harden does not edit vnet files"
                        ),
                    );
                }
            }
        }
    }

    // The admin's own address: not denied (unless trusted, which APF checks first).
    let glob = |name: &str| {
        sys.root
            .read(&format!("{install}/{name}"))
            .ok()
            .flatten()
            .map(|b| TrustFile::parse(&b, fmt))
    };
    let name = "your own address is not blocked by APF";
    match ctx.remote_admin() {
        None => b.check(
            name,
            CheckStatus::Skipped(
                "no SSH_CONNECTION: not logged in over SSH, so there is no address to check".into(),
            ),
        ),
        Some(admin) => {
            let mut allows = parsed_entries(allow);
            let mut denies = parsed_entries(deny);
            if let Some(g) = glob("glob_allow.rules") {
                allows.extend(parsed_entries(&g));
            }
            if let Some(g) = glob("glob_deny.rules") {
                denies.extend(parsed_entries(&g));
            }
            let trusted = allows.iter().find(|(_, e)| {
                matches!(e, Entry::Plain(_)) && e.host().covers(admin) == Some(true)
            });
            let denied = denies.iter().find(|(_, e)| {
                e.host().covers(admin) == Some(true) && blocks_ssh(e, &ctx.ssh_ports)
            });
            b.check(
                name,
                match (trusted, denied) {
                    (Some((t, _)), _) => {
                        CheckStatus::Pass(format!("{admin} is trusted (allow_hosts: {t})"))
                    }
                    (None, Some((d, _))) => CheckStatus::Fail(format!(
                        "{d} in the deny rules covers {admin}: add it to firewall.remove, or set \
                         firewall.trust_admin = true"
                    )),
                    (None, None) => CheckStatus::Pass(format!("no deny rule covers {admin}")),
                },
            );
            if conf.get("EGF").as_deref() == Some("1") {
                let name = "replies to you pass APF's egress filter";
                b.check(
                    name,
                    match (trusted, ctx.admin_client_port) {
                        (Some(_), _) => {
                            CheckStatus::Pass(format!("{admin} is trusted in both directions"))
                        }
                        (None, Some(cp)) if cp >= 1024 => CheckStatus::Pass(format!(
                            "APF lets ESTABLISHED replies out to ports 1024-65535; your client \
                             port is {cp}"
                        )),
                        (None, Some(cp)) => CheckStatus::Fail(format!(
                            "your SSH client port {cp} is below 1024: APF's egress filter drops \
                             the replies; set firewall.trust_admin = true"
                        )),
                        (None, None) => CheckStatus::Warn(
                            "your client port is unknown; set firewall.trust_admin = true to be \
                             sure"
                                .into(),
                        ),
                    },
                );
            }
        }
    }

    if restarting {
        let name = "APF's interfaces exist";
        let known = &ctx.fw.interfaces;
        let mut missing = Vec::new();
        let mut used = Vec::new();
        for k in iface_keys.iter().copied().chain(["IFACE_TRUSTED"]) {
            for v in conf
                .get(k)
                .unwrap_or_default()
                .split(|c: char| c == ',' || c.is_whitespace())
                .filter(|v| !v.is_empty())
            {
                used.push(format!("{k}={v}"));
                if !known.iter().any(|i| i == v) {
                    missing.push(format!("{k}={v}"));
                }
            }
        }
        b.check(
            name,
            if known.is_empty() {
                CheckStatus::Skipped("the interfaces of this system could not be listed".into())
            } else if missing.is_empty() {
                CheckStatus::Pass(used.join(", "))
            } else {
                CheckStatus::Fail(format!(
                    "{} not found (this system has {}): APF would abort after flushing its \
                     rules; set apf.untrusted_iface",
                    missing.join(", "),
                    known.join(", ")
                ))
            },
        );
    }
}

/// The seed's change to internals/functions.apf: after every TOS rule for TCP that has no UDP
/// twin, the same rule for UDP. Returns the new file and the number of lines added.
/// The APF port tokens `apf.tos` marks with TOS_16: SIP (UDP and TCP), IAX, the RTP range.
pub fn tos_tokens(sys: &crate::host::Host, fw: &FirewallInfo) -> Vec<String> {
    let ast = fw.asterisk.force();
    let mut tokens: Vec<String> = Vec::new();
    for p in ast.sip_udp.iter().chain(&ast.sip_tcp) {
        let t = p.to_string();
        if !tokens.contains(&t) {
            tokens.push(t);
        }
    }
    if let Some(p) = ast.iax {
        tokens.push(p.to_string());
    }
    tokens.push(
        PortRange {
            lo: sys.rtp.start,
            hi: sys.rtp.end,
        }
        .apf(),
    );
    tokens
}

/// Does conf.apf already mark SIP, IAX and RTP with TOS_16 (a box hardened before)?
pub fn tos_marked(sys: &crate::host::Host, fw: &FirewallInfo, tos16: Option<&String>) -> bool {
    let have = ports::apf_tokens(tos16.map_or("", |s| s.as_str()));
    tos_tokens(sys, fw).iter().all(|t| have.contains(t))
}

/// The seed's UDP twin of each TCP `--set-tos` rule (a fact: `detect` counts the lines).
pub use crate::steps::firewall::facts::udp_tos_patch;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn udp_tos_patch_adds_twins_once() {
        let src = "if [ ! \"$TOS_8\" == \"\" ]; then\n  for i in `echo $TOS_8 | tr ',' ' '`; do\n    $IPT -t mangle -A PREROUTING -p tcp --sport $i -j TOS --set-tos 8\n  done\nfi\n";
        let (out, n) = udp_tos_patch(src.as_bytes());
        assert_eq!(n, 1);
        let out = String::from_utf8(out).unwrap();
        assert!(out.contains("-p tcp --sport $i -j TOS --set-tos 8\n    $IPT -t mangle -A PREROUTING -p udp --sport $i -j TOS --set-tos 8\n"));
        let (again, n2) = udp_tos_patch(out.as_bytes());
        assert_eq!(n2, 0);
        assert_eq!(again, out.as_bytes());
    }

    #[test]
    fn restart_saves_first_and_rollback_restores() {
        let a = restart_actions("/etc/apf", "/etc/apf/apf", true);
        assert_eq!(a.len(), 3);
        let Action::Command(save) = &a[0] else {
            panic!()
        };
        assert_eq!(save.argv[0], "sh");
        assert!(save.argv.contains(&SNAPSHOT_V4.to_string()));
        assert!(!save.changes_state && save.undo.is_empty());
        let Action::Command(restart) = &a[2] else {
            panic!()
        };
        assert_eq!(restart.argv, vec!["/etc/apf/apf", "-r"]);
        assert_eq!(restart.undo.len(), 2);
        assert!(restart.undo[0].contains(&SNAPSHOT_V4.to_string()));
        assert!(restart.undo[1].contains(&"ip6tables".to_string()));
        for f in [
            "/etc/crontab",
            "/etc/cron.d/apf_develmode",
            "/etc/apf/deny_hosts.rules",
        ] {
            assert!(restart.touches.contains(&f.to_string()), "{f}");
        }
        assert!(SNAPSHOT_V4.starts_with(&format!("{STATE_DIR}/pending/")));
    }

    #[test]
    fn settings_line_is_shell() {
        let mut e = VarEdit::new(b"A=\"0\"\nB=\"\"\nC=\"x\"\n");
        e.set("A", "1");
        e.set("B", "a \"b\" $c");
        e.set("A", "2");
        e.set_raw("C", "/etc/apf/apf -d $ATTACK_HOST");
        assert_eq!(
            e.settings_line("/x"),
            "/x sets B=\"a \\\"b\\\" \\$c\" A=\"2\" C=\"/etc/apf/apf -d $ATTACK_HOST\""
        );
    }
}
