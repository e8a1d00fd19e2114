//! SSH: the new port and its conflict checks, PermitRootLogin, AllowUsers, and the checks
//! that the login user can still get in. The baseline and modern crypto are in
//! `ssh_baseline`, applied to the same edited configuration. How sshd is restarted:
//! `ssh`/`sshd` units, `service NAME restart` on SysV, or `ssh.socket` in both flavours (a
//! generator that follows sshd_config, or the unit's own `ListenStream=` overridden by a
//! drop-in), listener stopped first so open logins stay.

pub mod answers;
pub mod audit;
use rand::{Rng, RngExt};

pub mod baseline;
pub mod check;
pub mod facts;

use crate::config::sshd::SshdConfig;
use crate::host::{Host, Init};
use crate::model::{Action, Builder, CheckStatus, SshOutcome, SshService};
pub use answers::Answers;

/// PBX ports worth a warning: SIP, SIP-TLS, IAX2, AMI.
pub const PBX_PORTS: &[(u16, &str)] = &[
    (5060, "SIP"),
    (5061, "SIP over TLS"),
    (4569, "IAX2"),
    (5038, "the Asterisk Manager Interface"),
];

/// How a port fares as the new SSH port: refusals (`true`) and warnings (`false`).
/// The same function drives `plan` and the wizard's live check.
pub fn port_problems(sys: &Host, port: i64) -> Vec<(bool, String)> {
    let mut out = Vec::new();
    if !(1..=65535).contains(&port) {
        out.push((true, format!("{port} is not a TCP port: use 1-65535")));
        return out;
    }
    let p = port as u16;
    let current = sys.current_ssh_ports();
    if let Some(l) = sys.tcp_listener(p)
        && !current.contains(&p)
    {
        out.push((
            true,
            format!("{p} is in use by {}", sys.describe_listener(l)),
        ));
    }
    let rtp = sys.rtp;
    if sys.pbx.asterisk && (rtp.start..=rtp.end).contains(&p) {
        out.push((
            true,
            format!(
                "{p} is inside Asterisk's RTP range {}-{} ({}): calls would take it",
                rtp.start,
                rtp.end,
                if rtp.from_config {
                    "rtp.conf"
                } else {
                    "Asterisk's default; no rtp.conf"
                }
            ),
        ));
    }
    if let Some((lo, hi)) = sys.ephemeral
        && (lo..=hi).contains(&p)
    {
        out.push((
            true,
            format!(
                "{p} is inside the ephemeral range {lo}-{hi} (ip_local_port_range): an outgoing \
                 connection can hold it and sshd would fail to start"
            ),
        ));
    }
    if let Some((_, what)) = PBX_PORTS.iter().find(|(n, _)| *n == p) {
        out.push((
            true,
            format!("{p} is the port of {what}: the PBX needs it; choose another for SSH"),
        ));
    } else if let Some(name) = sys.port_names.get(&p) {
        out.push((false, format!("{p} is \"{name}\" in /etc/services")));
    }
    if p == 22 {
        out.push((
            false,
            "22 is where every scanner knocks first; the seed moves SSH to another port".into(),
        ));
    } else if p == 2222 {
        out.push((
            false,
            "2222 is the second port every SSH scanner tries".into(),
        ));
    } else if p < 1024 {
        out.push((
            false,
            format!("{p} is below 1024, where port scans look first"),
        ));
    }
    out
}

/// Problems with an AllowUsers list: refusals (`true`) and warnings. `login` is the user
/// the plan creates or reuses, who must be in it.
pub fn allow_problems(sys: &Host, allow: &[String], login: Option<&str>) -> Vec<(bool, String)> {
    let mut out = Vec::new();
    if allow.is_empty() {
        out.push((
            true,
            "an empty AllowUsers would let any account with a password log in; list the login user"
                .to_string(),
        ));
    }
    for a in allow {
        let name = a.split('@').next().unwrap_or("");
        if name == "root" {
            out.push((
                true,
                "root does not belong in AllowUsers: log in as the login user, then su or sudo \
                 to root"
                    .to_string(),
            ));
        } else if !super::user::valid_name(name) {
            out.push((
                true,
                format!("\"{a}\" is not a user name (or user@host pattern)"),
            ));
        } else if sys.users.get(name).is_none() && login != Some(name) {
            out.push((false, format!("there is no user \"{name}\" on this system")));
        }
    }
    if let Some(u) = login
        && !allow.iter().any(|a| a.split('@').next() == Some(u))
    {
        out.push((
            true,
            format!(
                "it must include the login user {u}, or the account you create could not log in"
            ),
        ));
    }
    out
}

/// A free high port for SSH: not listened on, outside RTP and ephemeral ranges, not named
/// in /etc/services, not a PBX port.
pub fn suggest_port<R: Rng + ?Sized>(sys: &Host, rng: &mut R) -> u16 {
    // Prefer a five-digit port below the usual ephemeral range.
    for _ in 0..2000 {
        let p: u16 = rng.random_range(10000..=32767);
        if port_problems(sys, i64::from(p)).is_empty() {
            return p;
        }
    }
    for _ in 0..2000 {
        let p: u16 = rng.random_range(1025..=32767);
        if port_problems(sys, i64::from(p)).is_empty() {
            return p;
        }
    }
    (1025..=65535)
        .find(|p| port_problems(sys, i64::from(*p)).is_empty())
        .unwrap_or(22022)
}

/// How sshd is started on a live system.
pub fn ssh_service(sys: &Host) -> Option<SshService> {
    if !sys.root.is_live() {
        return None;
    }
    let unit_exists = |u: &str| {
        [
            "/etc/systemd/system",
            "/lib/systemd/system",
            "/usr/lib/systemd/system",
        ]
        .iter()
        .any(|d| sys.root.exists(&format!("{d}/{u}")))
    };
    match sys.init {
        Init::Systemd => {
            let socket_active = sys
                .runner
                .run(
                    &crate::exec::argv(&["systemctl", "is-active", "--quiet", "ssh.socket"]),
                    None,
                )
                .map(|o| o.ok())
                .unwrap_or(false);
            if socket_active {
                let service = if unit_exists("sshd.service") && !unit_exists("ssh.service") {
                    "sshd.service"
                } else {
                    "ssh.service"
                };
                let service_active = sys
                    .runner
                    .run(
                        &crate::exec::argv(&["systemctl", "is-active", "--quiet", service]),
                        None,
                    )
                    .map(|o| o.ok())
                    .unwrap_or(false);
                Some(SshService::Socket {
                    socket: "ssh.socket".into(),
                    service: service.into(),
                    generated: socket_generated(sys),
                    service_active,
                })
            } else if unit_exists("sshd.service") {
                Some(SshService::Systemd("sshd.service".into()))
            } else {
                Some(SshService::Systemd("ssh.service".into()))
            }
        }
        _ => {
            if sys.root.exists("/etc/init.d/sshd") || sys.root.exists("/etc/rc.d/init.d/sshd") {
                Some(SshService::SysV("sshd".into()))
            } else {
                Some(SshService::SysV("ssh".into()))
            }
        }
    }
}

/// Does a generator derive ssh.socket's address from sshd_config (Ubuntu >= 22.10)?
pub fn socket_generated(sys: &Host) -> bool {
    [
        "/etc/systemd/system-generators",
        "/usr/local/lib/systemd/system-generators",
        "/usr/lib/systemd/system-generators",
        "/lib/systemd/system-generators",
    ]
    .iter()
    .any(|d| sys.root.exists(&format!("{d}/sshd-socket-generator")))
}

/// The drop-in that makes a socket with its own `ListenStream=` (Debian 12) listen on the
/// new port: the empty assignment resets the unit's list.
pub const SOCKET_DROPIN: &str = "/etc/systemd/system/ssh.socket.d/pbx-harden-port.conf";

pub fn socket_dropin_text(port: u16) -> String {
    format!(
        "# Written by pbx-harden: sshd listens on port {port} (ssh.socket's own ListenStream= is\n\
         # reset). sshd_config says the same Port; remove both together.\n\
         [Socket]\n\
         ListenStream=\n\
         ListenStream={port}\n"
    )
}

/// The ports a live socket unit listens on (`systemctl show -p Listen`).
pub fn socket_ports(run: &dyn crate::exec::Runner, unit: &str) -> Vec<u16> {
    run.run(
        &crate::exec::argv(&["systemctl", "show", "-p", "Listen", "--value", unit]),
        None,
    )
    .map(|o| parse_listen(&o.stdout))
    .unwrap_or_default()
}

/// `[::]:22 (Stream) 0.0.0.0:2222 (Stream)` -> [22, 2222] (stream sockets only).
pub fn parse_listen(s: &str) -> Vec<u16> {
    let mut out = Vec::new();
    let w: Vec<&str> = s.split_whitespace().collect();
    for pair in w.chunks(2) {
        if pair.get(1) != Some(&"(Stream)") {
            continue;
        }
        if let Some(p) = pair[0].rsplit(':').next().and_then(|p| p.parse().ok())
            && !out.contains(&p)
        {
            out.push(p);
        }
    }
    out
}

fn yes_no(b: bool) -> String {
    if b { "yes".into() } else { "no".into() }
}

/// The SSH step; its outcome (the port after the plan, moved or not) is what the firewall
/// step opens.
/// The SSH step: `facts` (how sshd runs, SELinux's labels, the OpenSSH release) and the
/// `[ssh]`/`[user]` answers; it hands on the port, moved or not.
pub fn plan(b: &mut Builder<'_>, facts: &facts::Facts, answers: &Answers) -> SshOutcome {
    plan_sshd(b, facts, answers);
    SshOutcome {
        port: b.summary.ssh_port,
        moved: b.summary.ssh_port_changed,
    }
}

fn plan_sshd(b: &mut Builder<'_>, facts: &facts::Facts, answers: &Answers) {
    let Some(s) = &answers.ssh else {
        return;
    };
    let sys = b.sys;
    let before = match sys.sshd() {
        Ok(c) => c.clone(),
        Err(e) => {
            b.error("ssh", format!("cannot read sshd_config: {e}"));
            return;
        }
    };
    let mut cfg = before.clone();

    if let Some(port) = s.port {
        let mut bad = false;
        for (is_error, msg) in port_problems(sys, port) {
            if is_error {
                bad = true;
                b.error("ssh.port", msg);
            } else {
                b.warn("ssh.port", msg);
            }
        }
        if !bad {
            let p = port as u16;
            let was = before.listen_ports();
            cfg.set_port(p);
            b.summary.ssh_port = Some(p);
            b.summary.ssh_port_changed = was != vec![p];
        }
    } else {
        b.summary.ssh_port = before.listen_ports().first().copied();
    }

    let root_login = s.permit_root_login.unwrap_or(false);
    cfg.set_first("PermitRootLogin", &[yes_no(root_login)]);
    if root_login {
        b.warn(
            "ssh.permit_root_login",
            "root may log in over SSH; the seed's advice is a separate login user and su",
        );
    }
    for o in cfg.in_match("permitrootlogin") {
        if o.args
            .first()
            .is_some_and(|v| !v.eq_ignore_ascii_case("no"))
            && !root_login
        {
            b.warn(
                "ssh.permit_root_login",
                format!(
                    "{} line {}: a Match block sets PermitRootLogin {} for the connections it matches",
                    cfg.files[o.file].path,
                    o.line + 1,
                    o.args.join(" ")
                ),
            );
        }
    }

    let allow = answers.allow_users();
    if s.allow_users.is_some() || answers.user.is_some() {
        let login = answers.user.as_ref().map(|u| u.name.as_str());
        let mut ok = true;
        for (is_error, msg) in allow_problems(sys, &allow, login) {
            if is_error {
                ok = false;
                b.error("ssh.allow_users", msg);
            } else {
                b.warn("ssh.allow_users", msg);
            }
        }
        if ok {
            cfg.set_only("AllowUsers", &allow);
        }
    }
    if let Some(pa) = s.password_authentication {
        cfg.set_first("PasswordAuthentication", &[yes_no(pa)]);
    }
    for kw in ["allowusers", "denyusers"] {
        for o in cfg.in_match(kw) {
            b.warn(
                "ssh.allow_users",
                format!(
                    "{} line {}: a Match block sets {} for the connections it matches",
                    cfg.files[o.file].path,
                    o.line + 1,
                    o.args.join(" ")
                ),
            );
        }
    }

    // True when it replaces a host key or edits the moduli: sshd is restarted for those too.
    let baseline_restart = baseline::plan(b, facts, answers, &mut cfg);

    if b.has_errors_for("ssh") {
        return;
    }
    let changed: Vec<(String, Vec<u8>)> = cfg
        .changed_files()
        .into_iter()
        .map(|(p, _, after)| (p.to_string(), after))
        .collect();
    for (path, after) in &changed {
        b.write(path, Some(after.clone()), 0o600, "SSH settings");
    }

    let before_checks = b.checks.len();
    login_checks(b, answers, &cfg);
    // Always proved, with or without [user]; shown when it is the only proof (no [user]) or
    // when it finds what the login user's own checks missed.
    let user_checks_pass = !b.checks[before_checks..].iter().any(|c| c.failed());
    let way_in = way_in(b, answers, &cfg);
    if answers.user.is_none() || (user_checks_pass && matches!(way_in, CheckStatus::Fail(_))) {
        b.check("someone can still log in over SSH", way_in);
    }
    // sshd -t / -T on the result, in the verify pass; the login user's password stays here.
    let (after, seen) = (cfg.clone(), check::without_secrets(answers));
    b.verify("sshd -t / -T", move |b| {
        check::check(b, &before, &after, &seen)
    });

    if (!changed.is_empty() || baseline_restart)
        && let Some(svc) = facts.service.clone()
    {
        if let SshService::Socket {
            generated: false, ..
        } = &svc
            && let Some(p) = b.summary.ssh_port
        {
            let now = facts.socket_ports.clone();
            let ours = sys.root.exists(SOCKET_DROPIN);
            if now != vec![p] || ours {
                b.write(
                    SOCKET_DROPIN,
                    Some(socket_dropin_text(p).into_bytes()),
                    0o644,
                    "ssh.socket listens on the SSH port (it has its own ListenStream=)",
                );
            }
            if now != vec![p] {
                b.summary.ssh_port_changed = true;
            }
        }
        if let Some(p) = b.summary.ssh_port
            && b.summary.ssh_port_changed
            && sys.selinux_enforcing
            && !facts.selinux_labelled(p)
        {
            b.actions.push(Action::SelinuxSshPort { port: p });
        }
        b.actions.push(Action::RestartSsh(svc));
    }
}

/// Can the login user still get in, according to the edited configuration?
fn login_checks(b: &mut Builder<'_>, answers: &Answers, cfg: &SshdConfig) {
    let Some(u) = &answers.user else {
        return;
    };
    let sys = b.sys;
    let name = u.name.as_str();
    let allow = cfg.list("allowusers");
    let deny = cfg.list("denyusers");
    let allow_groups = cfg.list("allowgroups");
    let deny_groups = cfg.list("denygroups");
    let mut groups = sys.users.groups_of(name);
    groups.extend(u.groups.iter().cloned());
    if groups.is_empty() {
        groups.push(name.to_string()); // the user's own group, created with the account
    }
    let user_of = |p: &String| p.split('@').next().unwrap_or("").to_string();
    let matches = |pat: &str, s: &str| glob::Pattern::new(pat).is_ok_and(|m| m.matches(s));
    let status = if !allow.is_empty() && !allow.iter().any(|p| matches(&user_of(p), name)) {
        CheckStatus::Fail(format!("AllowUsers does not list {name}"))
    } else if let Some(d) = deny.iter().find(|p| matches(&user_of(p), name)) {
        CheckStatus::Fail(format!("DenyUsers {d} matches {name}"))
    } else if !allow_groups.is_empty()
        && !groups
            .iter()
            .any(|g| allow_groups.iter().any(|p| matches(p, g)))
    {
        CheckStatus::Fail(format!(
            "AllowGroups {} does not match any group of {name}",
            allow_groups.join(" ")
        ))
    } else if let Some(d) = deny_groups
        .iter()
        .find(|p| groups.iter().any(|g| matches(p, g)))
    {
        CheckStatus::Fail(format!("DenyGroups {d} matches a group of {name}"))
    } else {
        CheckStatus::Pass(format!("AllowUsers {}", allow.join(" ")))
    };
    b.check(format!("sshd lets {name} in"), status);

    let pw = cfg.value_or("passwordauthentication", "yes") != "no";
    let kbd = cfg.value_or(
        "kbdinteractiveauthentication",
        &cfg.value_or("challengeresponseauthentication", "yes"),
    ) != "no"
        && cfg.value_or("usepam", "no") == "yes";
    let home = sys
        .users
        .get(name)
        .map(|x| x.home.clone())
        .unwrap_or_default();
    let planned_keys = answers
        .user
        .as_ref()
        .is_some_and(|u| u.name == name && !u.authorized_keys.is_empty());
    let has_keys = planned_keys
        || !home.is_empty()
            && sys
                .root
                .read(&format!("{home}/.ssh/authorized_keys"))
                .ok()
                .flatten()
                .is_some_and(|k| !k.is_empty());
    b.check(
        format!("{name} can authenticate"),
        if pw {
            CheckStatus::Pass("PasswordAuthentication yes".into())
        } else if kbd {
            CheckStatus::Pass("keyboard-interactive through PAM".into())
        } else if has_keys {
            CheckStatus::Pass("with an SSH key (password logins are off)".into())
        } else {
            CheckStatus::Fail(format!(
                "PasswordAuthentication is no and {name} has no SSH key: set \
                 ssh.password_authentication = true"
            ))
        },
    );
}

/// sshd's pattern matching: `*` any run, `?` one character; nothing else is special.
fn wild(pat: &str, s: &str) -> bool {
    let (p, s): (Vec<char>, Vec<char>) = (pat.chars().collect(), s.chars().collect());
    let (mut pi, mut si) = (0, 0);
    let (mut star, mut mark) = (None, 0);
    while si < s.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == s[si]) {
            pi += 1;
            si += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = si;
            pi += 1;
        } else if let Some(st) = star {
            pi = st + 1;
            mark += 1;
            si = mark;
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == '*' {
        pi += 1;
    }
    pi == p.len()
}

/// Does a `user@host` entry of AllowUsers/DenyUsers match `name` for the admin's address?
/// A host part is matched against the admin's address when it is known (an address range
/// is assumed to match); offline it is assumed to match.
fn user_entry_matches(entry: &str, name: &str, admin: Option<&str>) -> bool {
    let (u, host) = match entry.split_once('@') {
        Some((u, h)) => (u, Some(h)),
        None => (entry, None),
    };
    if !wild(u, name) {
        return false;
    }
    match (host, admin) {
        (Some(h), Some(ip)) => h.contains('/') || wild(h, ip),
        _ => true,
    }
}

/// An account after the plan, as far as sshd's checks go.
struct Account {
    name: String,
    shell_ok: bool,
    has_password: bool,
    has_key: bool,
    groups: Vec<String>,
}

/// Prove from the resulting sshd configuration and account files that at least one account
/// with a login shell and a password or key passes AllowUsers/DenyUsers/AllowGroups/
/// DenyGroups and PermitRootLogin with an authentication method sshd offers. Runs with or
/// without `[user]`.
fn way_in(b: &Builder<'_>, answers: &Answers, cfg: &SshdConfig) -> CheckStatus {
    let sys = b.sys;
    let text = |p: &str| {
        b.current(p)
            .ok()
            .flatten()
            .map(|x| String::from_utf8_lossy(&x).into_owned())
            .unwrap_or_default()
    };
    let users = crate::host::users::Users::parse(
        &text("/etc/passwd"),
        &text("/etc/shadow"),
        &text("/etc/group"),
    );
    let key_files: Vec<String> = match cfg.first("authorizedkeysfile") {
        Some(o) => o.args.clone(),
        None => vec![
            ".ssh/authorized_keys".into(),
            ".ssh/authorized_keys2".into(),
        ],
    };
    let has_key = |name: &str, home: &str| {
        key_files.iter().any(|f| {
            if f.eq_ignore_ascii_case("none") {
                return false;
            }
            let f = f.replace("%h", home).replace("%u", name).replace("%%", "%");
            let path = if f.starts_with('/') {
                f
            } else {
                format!("{}/{f}", home.trim_end_matches('/'))
            };
            sys.root
                .read(&path)
                .ok()
                .flatten()
                .is_some_and(|k| k.iter().any(|c| !c.is_ascii_whitespace()))
        })
    };
    let mut accounts: Vec<Account> = users
        .users
        .iter()
        .map(|u| Account {
            name: u.name.clone(),
            shell_ok: u.shell.is_empty()
                || !(u.shell.ends_with("nologin")
                    || u.shell.ends_with("/false")
                    || u.shell.ends_with("/sync")
                    || u.shell.ends_with("/halt")
                    || u.shell.ends_with("/shutdown")),
            has_password: u.has_password(),
            has_key: !u.home.is_empty() && has_key(&u.name, &u.home),
            groups: users.groups_of(&u.name),
        })
        .collect();
    if let Some(u) = &answers.user {
        let planned_pw = u.password.is_some() || u.password_hash.is_some() || u.generate;
        match accounts.iter_mut().find(|a| a.name == u.name) {
            Some(a) => {
                a.has_password |= planned_pw;
                a.has_key |= !u.authorized_keys.is_empty();
                a.groups.extend(u.groups.iter().cloned());
            }
            None => {
                let mut groups = u.groups.clone();
                groups.push(u.name.clone());
                accounts.push(Account {
                    name: u.name.clone(),
                    shell_ok: true,
                    has_password: planned_pw,
                    has_key: !u.authorized_keys.is_empty(),
                    groups,
                });
            }
        }
    }

    let admin = sys.admin.as_ref().map(|a| a.client.to_string());
    let allow = cfg.list("allowusers");
    let deny = cfg.list("denyusers");
    let allow_groups = cfg.list("allowgroups");
    let deny_groups = cfg.list("denygroups");
    let on = |kw: &str, default: &str| cfg.value_or(kw, default) != "no";
    let pw_ok = on("passwordauthentication", "yes");
    let kbd_ok = on(
        "kbdinteractiveauthentication",
        &cfg.value_or("challengeresponseauthentication", "yes"),
    ) && cfg.value_or("usepam", "no") == "yes";
    let pub_ok = on("pubkeyauthentication", "yes");
    let root_login = cfg.value_or("permitrootlogin", "prohibit-password");
    let methods: Option<Vec<Vec<String>>> = cfg
        .first("authenticationmethods")
        .filter(|o| !o.args.iter().any(|a| a.eq_ignore_ascii_case("any")))
        .map(|o| {
            o.args
                .iter()
                .map(|l| l.split(',').map(|m| m.to_ascii_lowercase()).collect())
                .collect()
        });

    let mut why_not: Vec<String> = Vec::new();
    for a in &accounts {
        let is_root = a.name == "root";
        let refuse =
            |why: String, why_not: &mut Vec<String>| why_not.push(format!("{}: {why}", a.name));
        if !a.shell_ok {
            continue; // system accounts: not worth listing
        }
        if !a.has_password && !a.has_key {
            refuse("no password and no SSH key".into(), &mut why_not);
            continue;
        }
        if let Some(d) = deny
            .iter()
            .find(|d| user_entry_matches(d, &a.name, admin.as_deref()))
        {
            refuse(format!("DenyUsers {d}"), &mut why_not);
            continue;
        }
        if !allow.is_empty()
            && !allow
                .iter()
                .any(|p| user_entry_matches(p, &a.name, admin.as_deref()))
        {
            refuse("not in AllowUsers".into(), &mut why_not);
            continue;
        }
        if let Some(d) = deny_groups
            .iter()
            .find(|d| a.groups.iter().any(|g| wild(d, g)))
        {
            refuse(format!("DenyGroups {d}"), &mut why_not);
            continue;
        }
        if !allow_groups.is_empty()
            && !a
                .groups
                .iter()
                .any(|g| allow_groups.iter().any(|p| wild(p, g)))
        {
            refuse("in none of AllowGroups".into(), &mut why_not);
            continue;
        }
        // Which credentials root may use.
        let (pw_allowed, key_allowed) = if is_root {
            match root_login.as_str() {
                "yes" => (true, true),
                "prohibit-password" | "without-password" => (false, true),
                _ => (false, false),
            }
        } else {
            (true, true)
        };
        if !pw_allowed && !key_allowed {
            refuse(format!("PermitRootLogin {root_login}"), &mut why_not);
            continue;
        }
        let pw = a.has_password && pw_allowed;
        let key = a.has_key && key_allowed && pub_ok;
        let method = |m: &str| match m {
            "publickey" => key,
            "password" => pw && pw_ok,
            "keyboard-interactive" | "keyboard-interactive:pam" => pw && kbd_ok,
            _ => false,
        };
        let how = match &methods {
            Some(lists) => lists
                .iter()
                .find(|l| l.iter().all(|m| method(m)))
                .map(|l| l.join(",")),
            None => {
                if key {
                    Some("an SSH key".to_string())
                } else if pw && pw_ok {
                    Some("a password".to_string())
                } else if pw && kbd_ok {
                    Some("keyboard-interactive (PAM)".to_string())
                } else {
                    None
                }
            }
        };
        match how {
            Some(h) => return CheckStatus::Pass(format!("{} with {h}", a.name)),
            None => refuse(
                if is_root && !pw_allowed && !a.has_key {
                    format!("PermitRootLogin {root_login} and no SSH key")
                } else {
                    "no authentication method sshd offers fits its credentials".into()
                },
                &mut why_not,
            ),
        }
    }
    let mut shown: Vec<String> = why_not.iter().take(6).cloned().collect();
    if why_not.len() > 6 {
        shown.push(format!("{} more", why_not.len() - 6));
    }
    CheckStatus::Fail(format!(
        "no account with a login shell and a password or key could log in after this change ({})",
        if shown.is_empty() {
            "no account has a login shell".to_string()
        } else {
            shown.join("; ")
        }
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sshd_patterns() {
        assert!(wild("*", "root"));
        assert!(wild("tr?x*", "trixuser"));
        assert!(!wild("bob", "bobby"));
        assert!(wild("[a]", "[a]"));
        assert!(user_entry_matches("bob@10.0.0.*", "bob", Some("10.0.0.7")));
        assert!(!user_entry_matches(
            "bob@10.0.0.*",
            "bob",
            Some("192.168.1.2")
        ));
        assert!(user_entry_matches("bob@10.0.0.*", "bob", None));
    }

    #[test]
    fn socket_listen_ports() {
        assert_eq!(parse_listen("[::]:22 (Stream)"), vec![22]);
        assert_eq!(
            parse_listen("0.0.0.0:2222 (Stream) [::]:2222 (Stream) /run/x (Datagram)"),
            vec![2222]
        );
        assert_eq!(parse_listen(""), Vec::<u16>::new());
        assert!(socket_dropin_text(2822).contains("ListenStream=\nListenStream=2822\n"));
    }
}
