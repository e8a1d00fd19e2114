//! fail2ban, where APF/BFD are not installed: a `jail.local` (jail.conf is never edited)
//! that enables `[sshd]` on the SSH port sshd will listen on (reading the journal,
//! `backend = systemd`, where there is no auth log file), and `[asterisk]` reading one log
//! file logger.conf really writes: its SECURITY channel (added to logger.conf's [logfiles]
//! when there is none, and Asterisk's logger reloaded), or the file with notices until
//! Asterisk has written the security log (both would count each failure twice). Bans go
//! through the firewall in charge (`banaction`: nftables, firewalld's rich rules, ufw, or
//! iptables). It is checked with the real `fail2ban-client -t`, and `fail2ban-client -d`
//! must show the new SSH port in the `[sshd]` jail's action.

use std::path::{Path, PathBuf};

use crate::config::ini::{IniFile, IniLine};
use crate::config::jail::JailFile;
use crate::config::trust::Entry;
use crate::exec::argv;
use crate::host::{Family, Host, Init};
use crate::model::actions::CommandAction;
use crate::model::{Action, Builder, CheckStatus};
use crate::root::Root;
use crate::steps::firewall::answers::{Answers, Fail2banAnswers};
use crate::steps::firewall::{
    Backend, Ctx, FAIL2BAN_DIR, FirewallInfo, JAIL_LOCAL, Spec, managers::Manager,
};

const WHY: &str = "fail2ban jails";

pub const HEADER: &str = "\
# jail.local: local settings on top of jail.conf (jail.conf is never edited).
# Written by pbx-harden; rolled back with the rest of its change until you confirm it.
";

/// fail2ban's time syntax: seconds (`600`, `-1` = forever) or `10m`, `1h`, `1d 12h`, `1w`.
pub fn check_time(t: &str) -> Result<(), String> {
    let t = t.trim();
    if t == "-1" || (!t.is_empty() && t.chars().all(|c| c.is_ascii_digit())) {
        return Ok(());
    }
    let mut rest = t;
    let mut parts = 0;
    while !rest.is_empty() {
        rest = rest.trim_start();
        let digits = rest.chars().take_while(|c| c.is_ascii_digit()).count();
        if digits == 0 {
            return Err(format!(
                "\"{t}\" is not a time: write e.g. \"10m\", \"1h\", \"1d\", or seconds (-1: forever)"
            ));
        }
        rest = &rest[digits..];
        let unit = ["mo", "s", "m", "h", "d", "w", "y"]
            .into_iter()
            .find(|u| rest.starts_with(u));
        let Some(u) = unit else {
            return Err(format!(
                "\"{t}\" is not a time: units are s, m, h, d, w, mo, y (e.g. \"1h\")"
            ));
        };
        rest = &rest[u.len()..];
        parts += 1;
    }
    if parts == 0 {
        return Err(format!("\"{t}\" is not a time"));
    }
    Ok(())
}

/// The SSH log of the target: /var/log/secure (RedHat), /var/log/auth.log (Debian); None
/// when neither exists (systemd journal only).
fn ssh_log(b: &Builder<'_>) -> Option<String> {
    let sys = b.sys;
    let order: &[&str] = match sys.os.family {
        Family::Debian => &["/var/log/auth.log", "/var/log/secure"],
        _ => &["/var/log/secure", "/var/log/auth.log"],
    };
    order
        .iter()
        .find(|p| sys.root.exists(p))
        .map(|p| p.to_string())
}

/// `full`: the answers ask for fail2ban (jails enabled, log paths, limits, ignoreip).
/// Otherwise only sshd moved: the `[sshd]` jail's port follows, nothing else changes, and
/// fail2ban is restarted only if it runs.
/// maxretry: 1-100.
pub fn check_maxretry(m: i64) -> Result<(), String> {
    if (1..=100).contains(&m) {
        Ok(())
    } else {
        Err(format!("{m}: give the failures before a ban, e.g. 5"))
    }
}

/// Asterisk's logger configuration, edited when it has no security channel.
pub const LOGGER_CONF: &str = "/etc/asterisk/logger.conf";

/// `security => security` added to logger.conf's `[logfiles]`, after its last entry or
/// include (a `[logfiles]` section is added at the end when there is none); every other
/// byte stays.
pub fn enable_security_channel(logger_conf: &[u8]) -> Vec<u8> {
    const LINE: &str = "security => security";
    let mut f = IniFile::parse(logger_conf);
    let mut at = None;
    let mut current: Option<String> = None;
    for (i, p) in f.parsed.iter().enumerate() {
        match p {
            IniLine::Section { name, .. } => {
                current = Some(name.to_ascii_lowercase());
                if current.as_deref() == Some("logfiles") {
                    at = Some(i + 1);
                }
            }
            IniLine::Entry { .. } | IniLine::Include { .. }
                if current.as_deref() == Some("logfiles") =>
            {
                at = Some(i + 1)
            }
            _ => {}
        }
    }
    match at {
        Some(i) => f.text.insert(i, LINE),
        None => {
            if f.text
                .lines
                .last()
                .is_some_and(|l| !l.text.trim().is_empty())
            {
                let n = f.text.len();
                f.text.insert(n, "");
            }
            let n = f.text.len();
            f.text.insert(n, "[logfiles]");
            f.text.insert(n + 1, LINE);
        }
    }
    f.to_bytes()
}

/// A program installed under the root (its usual directories).
fn installed(root: &Root, name: &str) -> bool {
    ["/usr/sbin", "/sbin", "/usr/bin", "/bin"]
        .iter()
        .any(|d| root.exists(&format!("{d}/{name}")))
}

/// fail2ban's `banaction` and `banaction_allports` for the firewall in charge: the backend
/// pbx-harden writes, else the manager detected, else iptables where it is installed and
/// nftables where only nft is (Debian 12 has no iptables by default). None: leave
/// jail.conf's choice (APF: its own chains).
pub fn banaction(
    sys: &Host,
    fw: &FirewallInfo,
    backend: Backend,
) -> Option<(&'static str, &'static str)> {
    const NFT: (&str, &str) = ("nftables-multiport", "nftables-allports");
    const FWD: (&str, &str) = (
        "firewallcmd-rich-rules[actiontype=<multiport>]",
        "firewallcmd-rich-rules[actiontype=<allports>]",
    );
    match backend {
        Backend::Nftables => return Some(NFT),
        Backend::Firewalld => return Some(FWD),
        Backend::Ufw => return Some(("ufw", "ufw")),
        Backend::Apf | Backend::Freepbx => return None,
        Backend::Fail2ban | Backend::None => {}
    }
    match fw.managers.first().map(|m| m.manager) {
        Some(Manager::Nftables) => Some(NFT),
        Some(Manager::Firewalld) => Some(FWD),
        Some(Manager::Ufw) => Some(("ufw", "ufw")),
        Some(Manager::Apf | Manager::Freepbx) => None,
        None if installed(&sys.root, "iptables") => {
            Some(("iptables-multiport", "iptables-allports"))
        }
        None if installed(&sys.root, "nft") => Some(NFT),
        None => None,
    }
}

/// fail2ban reads the journal through python3-systemd: is it installed under the root?
fn python_systemd(root: &Root) -> bool {
    root.exists("/usr/lib/python3/dist-packages/systemd/journal.py")
        || [
            "/usr/lib64/python3*/site-packages/systemd/journal.py",
            "/usr/lib/python3*/site-packages/systemd/journal.py",
            "/usr/lib/python3*/dist-packages/systemd/journal.py",
        ]
        .iter()
        .any(|g| !root.glob(g).is_empty())
}

/// OpenSSH 9.8 and later log failed logins as `sshd-session`, which the sshd filter of
/// fail2ban before 1.1 does not read (neither in files nor in the journal). True when the
/// root has that sshd and its filter.d/sshd.conf does not know the name.
fn sshd_session_unread(root: &Root) -> bool {
    let session = [
        "/usr/lib/openssh/sshd-session",
        "/usr/libexec/openssh/sshd-session",
        "/usr/libexec/sshd-session",
        "/usr/sbin/sshd-session",
    ]
    .iter()
    .any(|p| root.exists(p));
    session
        && root
            .read_text(&format!("{FAIL2BAN_DIR}/filter.d/sshd.conf"))
            .ok()
            .flatten()
            .is_some_and(|f| !f.contains("sshd-session"))
}

/// The `[sshd]` filter that also reads `sshd-session` lines (`sshd_session_unread`).
pub fn sshd_session_filter(journal: bool) -> String {
    if journal {
        "sshd[_daemon=\"sshd(?:-session)?\", journalmatch=\"_SYSTEMD_UNIT=sshd.service + \
         _COMM=sshd + _COMM=sshd-session\"]"
            .into()
    } else {
        "sshd[_daemon=\"sshd(?:-session)?\"]".into()
    }
}

pub fn plan(
    b: &mut Builder<'_>,
    answers: &Answers,
    ctx: &Ctx,
    spec: &Spec,
    full: bool,
    backend: Backend,
) {
    let sys = b.sys;
    let a: Fail2banAnswers = answers.fail2ban.clone().unwrap_or_default();
    if let Some(m) = a.maxretry
        && let Err(e) = check_maxretry(m)
    {
        b.error("fail2ban.maxretry", e);
    }
    if let Some(t) = &a.bantime
        && let Err(e) = check_time(t)
    {
        b.error("fail2ban.bantime", e);
    }
    // Next to a filtering backend (nftables, firewalld, ufw) the backend takes the blocked
    // hosts, `remove` and APF-style entries; only fail2ban alone has nowhere to put them
    // (these refused every blocked host of an answers file with a [fail2ban] section).
    let alone = backend == Backend::Fail2ban;
    if alone && !spec.blocked.is_empty() {
        b.error(
            "firewall.blocked",
            "fail2ban keeps no list of blocked hosts (it bans what it sees failing); block \
             hosts with APF, or drop the list",
        );
    }
    if alone && !spec.remove.is_empty() {
        b.error(
            "firewall.remove",
            "there are no APF trust files to remove entries from with fail2ban",
        );
    }
    let mut ignore: Vec<String> = Vec::new();
    for t in &spec.trusted {
        match &t.entry {
            Entry::Plain(_) => ignore.push(t.text.clone()),
            // The backend lets it through; fail2ban's ignoreip has no port form.
            Entry::Advanced(_) if !alone => {}
            Entry::Advanced(_) => b.error(
                "firewall.trusted",
                format!(
                    "{}: fail2ban's ignoreip takes addresses, networks and names; advanced \
                     entries are APF's",
                    t.text
                ),
            ),
        }
    }
    if let Some(admin) = spec.trust_admin
        && !ignore.contains(&admin.to_string())
    {
        ignore.push(admin.to_string());
    }
    let ast = ctx.fw.asterisk.force();
    // The file the [asterisk] jail reads: the security channel (added when there is none), or
    // the file with notices (below); it must exist when fail2ban starts.
    let mut ast_logs: Vec<String> = Vec::new();
    let mut new_security: Option<String> = None;
    if full && ast.present {
        match (&ast.security_log, &ast.security_log_new) {
            (Some(s), _) => ast_logs.push(s.clone()),
            (None, Some(n)) => {
                new_security = Some(n.clone());
                ast_logs.push(n.clone());
            }
            (None, None) => {}
        }
        if let Some(l) = &ast.log
            && !ast_logs.contains(l)
        {
            ast_logs.push(l.clone());
        }
        if ast_logs.is_empty()
            && let Some(p) = &ast.log_problem
        {
            b.error(
                "fail2ban",
                format!("the [asterisk] jail needs a log file with Asterisk's notices: {p}"),
            );
        }
    }
    // The security log a running Asterisk creates at the logger reload, before fail2ban
    // restarts: the test copy gets an empty file in its place.
    let planned: Vec<String> = new_security
        .iter()
        .filter(|_| sys.root.is_live() && crate::steps::asterisk::asterisk_running(&sys.root))
        .cloned()
        .collect();
    // One file, never both: each failed login is in the security log as an event and in the
    // notices as one or two NOTICE lines, and the jail's filter matches all of them, so reading
    // both counted one failure two or three times (seen live on Ubuntu 24.04's Asterisk 20: a
    // failed AMI login is three failures, maxretry = 3 banned at the first). The security log
    // when it exists or the logger reload creates it now; else the notices (a rerun once
    // Asterisk wrote the security log moves the jail to it).
    if let Some(sec) = ast.security_log.as_ref().or(new_security.as_ref()) {
        if sys.root.exists(sec) || planned.contains(sec) {
            ast_logs.retain(|l| l == sec);
        } else if ast_logs.len() > 1 {
            ast_logs.retain(|l| l != sec);
        }
    }
    // fail2ban refuses a jail none of whose files exist: leave it off until one does.
    if !ast_logs.is_empty()
        && !ast_logs
            .iter()
            .any(|l| sys.root.exists(l) || planned.contains(l))
    {
        b.warn(
            "fail2ban",
            format!(
                "the [asterisk] jail is left off: none of the files it would read exists yet \
                 ({}); Asterisk creates them when it runs: run pbx-harden again then",
                ast_logs.join(", ")
            ),
        );
        ast_logs.clear();
    }
    if b.has_errors_for("fail2ban") || b.has_errors_for("firewall") {
        return;
    }

    let before = b.current(JAIL_LOCAL).ok().flatten();
    let mut j = JailFile::parse(before.as_deref().unwrap_or(HEADER.as_bytes()));
    if !ignore.is_empty() {
        let mut list: Vec<String> = match j.get("DEFAULT", "ignoreip") {
            Some(v) => v
                .split([' ', ','])
                .filter(|x| !x.is_empty())
                .map(str::to_string)
                .collect(),
            None => vec!["127.0.0.1/8".into(), "::1".into()],
        };
        for h in ignore {
            if !list.contains(&h) {
                list.push(h);
            }
        }
        j.set("DEFAULT", "ignoreip", &list.join(" "));
    }
    let ports = ctx
        .ssh_ports
        .iter()
        .map(u16::to_string)
        .collect::<Vec<_>>()
        .join(",");
    let mut jails = vec![format!("[sshd] port {ports}")];
    if full {
        // [DEFAULT] first in a new file.
        match (
            banaction(sys, &ctx.fw, backend),
            j.get("DEFAULT", "banaction"),
        ) {
            // The admin's own choice in jail.local stays; said when it is another firewall's.
            (Some((multi, _)), Some(mine)) if mine != multi => {
                let family = |a: &str| a.split(['-', '[']).next().unwrap_or("").to_string();
                if family(&mine) != family(multi) {
                    b.warn(
                        "fail2ban",
                        format!(
                            "jail.local bans with banaction = {mine} (kept); the firewall in \
                             charge here bans with {multi}"
                        ),
                    );
                }
            }
            (Some((multi, all)), _) => {
                j.set("DEFAULT", "banaction", multi);
                j.set("DEFAULT", "banaction_allports", all);
                jails.push(format!(
                    "bans with {}",
                    multi.split('[').next().unwrap_or(multi)
                ));
            }
            (None, _) => {}
        }
        j.set("sshd", "enabled", "true");
    }
    j.set("sshd", "port", &ports);
    if full {
        match ssh_log(b) {
            Some(l) => {
                j.set("sshd", "logpath", &l);
            }
            None if sys.init == Init::Systemd => {
                j.set("sshd", "backend", "systemd");
                jails[0].push_str(" (journal)");
                if !python_systemd(&sys.root) {
                    b.warn(
                        "fail2ban",
                        "there is no auth log file, so the [sshd] jail reads the journal, which \
                         fail2ban does through python3-systemd: install it (apt-get install \
                         python3-systemd), or the [sshd] jail does not start",
                    );
                }
            }
            None => {
                let l = if sys.os.family == Family::Debian {
                    "/var/log/auth.log"
                } else {
                    "/var/log/secure"
                };
                b.warn(
                    "fail2ban",
                    format!("{l} does not exist yet: fail2ban starts the [sshd] jail once it does"),
                );
                j.set("sshd", "logpath", l);
            }
        }
    }
    if full && j.get("sshd", "filter").is_none() && sshd_session_unread(&sys.root) {
        let journal = j.get("sshd", "backend").as_deref() == Some("systemd");
        j.set("sshd", "filter", &sshd_session_filter(journal));
        b.warn(
            "fail2ban",
            "this OpenSSH logs failed logins as sshd-session, which this fail2ban's sshd \
             filter does not read (fail2ban 1.1 does): the [sshd] jail's filter is given that \
             name",
        );
    }
    if !ast_logs.is_empty() {
        j.set("asterisk", "enabled", "true");
        // Files, whatever [DEFAULT] says (Debian 13 reads the journal by default).
        j.set("asterisk", "backend", "auto");
        j.set_lines("asterisk", "logpath", &ast_logs);
        jails.push(format!("[asterisk] {}", ast_logs.join(" + ")));
    }
    if let Some(n) = &new_security {
        let before = b.current(LOGGER_CONF).ok().flatten().unwrap_or_default();
        b.write(
            LOGGER_CONF,
            Some(enable_security_channel(&before)),
            0o644,
            "Asterisk's security log for fail2ban",
        );
        b.summary.firewall.push(format!(
            "Asterisk: security => security in logger.conf [logfiles] ({n})"
        ));
        if sys.root.is_live() {
            crate::steps::asterisk::reload_asterisk(
                b,
                "fail2ban",
                &["logger reload"],
                "the security channel of logger.conf (the [asterisk] jail reads it from the \
                 next fail2ban restart after that)",
            );
        } else {
            b.warn(
                "fail2ban",
                format!(
                    "Asterisk writes {n} once it reloads its logger (asterisk -rx 'logger \
                     reload') or starts; the [asterisk] jail reads it from the next fail2ban \
                     restart after that"
                ),
            );
        }
    }
    for (section, on) in [("sshd", full), ("asterisk", !ast_logs.is_empty())] {
        if !on {
            continue;
        }
        if let Some(m) = a.maxretry {
            j.set(section, "maxretry", &m.to_string());
        }
        if let Some(t) = &a.bantime {
            j.set(section, "bantime", t.trim());
        }
    }
    let after = j.to_bytes();
    let changed = before.as_deref() != Some(&after[..]);
    if changed {
        b.write(JAIL_LOCAL, Some(after.clone()), 0o644, WHY);
        b.summary.firewall.push(format!(
            "fail2ban: {}{}{}",
            jails.join(", "),
            a.maxretry
                .map(|m| format!("; maxretry {m}"))
                .unwrap_or_default(),
            a.bantime
                .as_ref()
                .map(|t| format!("; bantime {t}"))
                .unwrap_or_default()
        ));
        if let Some(ig) = j.get("DEFAULT", "ignoreip") {
            b.summary
                .firewall
                .push(format!("fail2ban never bans: {ig}"));
        }
        if sys.root.is_live() {
            live_actions(b, full);
        }
    }

    // The real fail2ban reads it, in the verify pass.
    let port = ctx.ssh_port();
    let (jail_after, jail_before) = (after.clone(), before.clone());
    b.verify("fail2ban-client -t / -d", move |b| {
        verify(b, &jail_after, jail_before.as_deref(), &planned, full, port)
    });
    let admin_ignored = spec.trust_admin.is_some()
        || ctx.remote_admin().is_none_or(|ad| {
            j.get("DEFAULT", "ignoreip").is_some_and(|ig| {
                ig.split([' ', ','])
                    .filter_map(|x| crate::config::trust::parse_host(x).ok())
                    .any(|h| h.covers(ad) == Some(true))
            })
        });
    if full
        && !admin_ignored
        && let Some(ad) = ctx.remote_admin()
    {
        b.check(
            "fail2ban can not ban you",
            CheckStatus::Warn(format!(
                "a few mistyped passwords from {ad} would ban you; set firewall.trust_admin = true"
            )),
        );
    }
}

fn service_argv(sys: &Host, verb: &str) -> Vec<String> {
    if sys.init == Init::Systemd {
        argv(&["systemctl", verb, "fail2ban"])
    } else {
        argv(&["service", "fail2ban", verb])
    }
}

/// The restart, then up to 10 s for the new server to answer `fail2ban-client ping`: a
/// restart that systemd reports as done can still die a moment later (a jail whose log is
/// missing; Ubuntu 24.04's first fail2ban under Python 3.12: "No module named 'asynchat'"),
/// and apply must not say the jails run when they do not. Failing here rolls the change back.
fn restart_and_ping(sys: &Host) -> Vec<String> {
    let restart = service_argv(sys, "restart")
        .iter()
        .map(|a| crate::config::shell::quote(a))
        .collect::<Vec<_>>()
        .join(" ");
    argv(&[
        "sh",
        "-c",
        &format!(
            "{restart} || exit 1; n=0; until fail2ban-client ping >/dev/null 2>&1; do \
             n=$((n+1)); if [ $n -ge 40 ]; then echo 'fail2ban does not answer after its \
             restart (fail2ban-client ping); its log or journalctl -u fail2ban says why' >&2; \
             exit 1; fi; sleep 0.25; done"
        ),
    ])
}

/// Restart fail2ban with the new jail.local (and wait until it answers); rollback restarts it
/// again with the old one, or stops it if it was not running. After a bare SSH move, a
/// stopped fail2ban stays stopped.
fn live_actions(b: &mut Builder<'_>, full: bool) {
    let sys = b.sys;
    let active = sys
        .runner
        .run(&service_argv(sys, "status"), None)
        .map(|o| o.ok())
        .unwrap_or(false);
    if !active && !full {
        return;
    }
    b.actions.push(Action::Command(CommandAction {
        argv: restart_and_ping(sys),
        undo: vec![service_argv(sys, if active { "restart" } else { "stop" })],
        touches: Vec::new(),
        changes_state: true,
    }));
}

/// The `port` of the `[sshd]` jail's action in a `fail2ban-client -d` dump.
pub fn sshd_ports(dump: &str) -> Option<String> {
    dump.lines()
        .filter(|l| l.starts_with("['multi-set', 'sshd', 'action'"))
        .find_map(|l| {
            let i = l.find("['port', '")?;
            let rest = &l[i + "['port', '".len()..];
            Some(rest[..rest.find('\'')?].to_string())
        })
}

fn copy_dir(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for e in std::fs::read_dir(from)? {
        let e = e?;
        let src = e.path();
        let dst = to.join(e.file_name());
        let md = std::fs::metadata(&src)?;
        if md.is_dir() {
            copy_dir(&src, &dst)?;
        } else {
            std::fs::copy(&src, &dst)?;
        }
    }
    Ok(())
}

struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// `fail2ban-client -t` on the jail.local the plan writes (a failure the box had before is
/// only a warning when the answers did not ask for fail2ban), and `-d`: the [sshd] jail
/// watches the SSH port.
fn verify(
    b: &mut Builder<'_>,
    after: &[u8],
    before: Option<&[u8]>,
    planned: &[String],
    full: bool,
    port: u16,
) {
    let sys = b.sys;
    let name = "fail2ban-client -t accepts jail.local";
    match validate_with(sys, after, planned) {
        None => {
            b.check(
                name,
                CheckStatus::Skipped("fail2ban-client is not installed on this host".into()),
            );
        }
        Some(Err(e)) => {
            // Refuse what breaks a working fail2ban, or what the answers ask for; a move on
            // a box whose fail2ban already fails only gets a warning.
            let already_broken =
                !full && matches!(validate(sys, before.unwrap_or(b"")), Some(Err(_)));
            b.check(
                name,
                if already_broken {
                    CheckStatus::Warn(format!(
                        "fail2ban's configuration fails already, before this change: {e}"
                    ))
                } else {
                    CheckStatus::Fail(e)
                },
            );
        }
        Some(Ok(dump)) => {
            b.check(name, CheckStatus::Pass(String::new()));
            b.check(
                format!("fail2ban's [sshd] jail watches port {port}"),
                match sshd_ports(&dump) {
                    Some(p) if p.split(',').any(|x| x.trim() == port.to_string()) => {
                        CheckStatus::Pass(format!("fail2ban-client -d: port {p}"))
                    }
                    Some(p) => CheckStatus::Fail(format!("fail2ban-client -d: port {p}")),
                    None if dump.contains("['start', 'sshd']") => {
                        CheckStatus::Pass("its action bans on all ports".into())
                    }
                    None if !full => CheckStatus::Skipped("the [sshd] jail is not enabled".into()),
                    None => CheckStatus::Fail("the [sshd] jail is not started".into()),
                },
            );
        }
    }
}

/// Check `jail_local` with the real fail2ban of this host against the target's fail2ban
/// configuration: `fail2ban-client -c COPY -t`, then `-d`. `None` when fail2ban-client is
/// not installed; `Err` with fail2ban's own words when it refuses. With `--root`, log paths
/// in jail.local are looked up inside the root; those in `planned` (files apply creates)
/// are empty files of the test copy.
pub fn validate(sys: &Host, jail_local: &[u8]) -> Option<Result<String, String>> {
    validate_with(sys, jail_local, &[])
}

/// `validate`, with the log files apply creates before fail2ban restarts.
pub fn validate_with(
    sys: &Host,
    jail_local: &[u8],
    planned: &[String],
) -> Option<Result<String, String>> {
    let client = crate::host::find_program("fail2ban-client")?;
    Some(run_validation(
        &*sys.runner,
        &sys.root,
        &client,
        jail_local,
        planned,
    ))
}

fn run_validation(
    run: &dyn crate::exec::Runner,
    root: &Root,
    client: &Path,
    jail_local: &[u8],
    planned: &[String],
) -> Result<String, String> {
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "pbx-harden-f2b-{}-{}",
        std::process::id(),
        N.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
    ));
    let tmp = TempDir(dir.clone());
    copy_dir(&root.host(FAIL2BAN_DIR), &tmp.0)
        .map_err(|e| format!("cannot copy {}: {e}", root.display(FAIL2BAN_DIR)))?;
    let mut j = JailFile::parse(jail_local);
    for s in j.sections() {
        let Some(lines) = j.get_lines(&s, "logpath") else {
            continue;
        };
        let mut moved = Vec::new();
        for (n, lp) in lines.iter().enumerate() {
            if planned.contains(lp) {
                let p = tmp.0.join(format!("planned-{n}.log"));
                std::fs::write(&p, "")
                    .map_err(|e| format!("cannot write a test copy of {lp}: {e}"))?;
                moved.push(p.display().to_string());
            } else if !root.is_live() && lp.starts_with('/') && !lp.contains(char::is_whitespace) {
                moved.push(root.host(lp).display().to_string());
            } else {
                moved.push(lp.clone());
            }
        }
        j.set_lines(&s, "logpath", &moved);
    }
    std::fs::write(tmp.0.join("jail.local"), j.to_bytes())
        .map_err(|e| format!("cannot write a test copy of jail.local: {e}"))?;
    let c = client.display().to_string();
    let d = tmp.0.display().to_string();
    let t = run
        .run(&argv(&[&c, "-c", &d, "-t"]), None)
        .map_err(|e| e.to_string())?;
    if !t.ok() {
        let msg: Vec<&str> = t
            .stderr
            .lines()
            .chain(t.stdout.lines())
            .filter(|l| l.contains("ERROR"))
            .collect();
        return Err(format!(
            "fail2ban-client -t: {}",
            if msg.is_empty() {
                format!("exit {}", t.status)
            } else {
                msg.join("; ")
            }
        ));
    }
    let dump = run
        .run(&argv(&[&c, "-c", &d, "-d"]), None)
        .map_err(|e| e.to_string())?;
    if !dump.ok() {
        return Err(format!("fail2ban-client -d: exit {}", dump.status));
    }
    Ok(dump.stdout)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times() {
        for ok in ["600", "-1", "10m", "1h", "1d 12h", "1w", "2mo"] {
            assert!(check_time(ok).is_ok(), "{ok}");
        }
        for bad in ["", "soon", "1 hour", "h", "1x", "-5"] {
            assert!(check_time(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn dump_port() {
        let d = "['add', 'sshd', 'auto']\n['multi-set', 'sshd', 'action', 'iptables-multiport', [['actionstart', 'x'], ['port', '22022'], ['protocol', 'tcp']]]\n";
        assert_eq!(sshd_ports(d).as_deref(), Some("22022"));
        assert_eq!(sshd_ports("['start', 'sshd']"), None);
    }
}
