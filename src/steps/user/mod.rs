//! The login user: name rules, password rules, useradd + chpasswd.

pub mod answers;
use rand::Rng;

pub mod keys;

use crate::host::Host;
use crate::model::{Action, Builder, CheckStatus};
use crate::secrets::{self, Secret};
pub use answers::Answers;

/// Names guessing tools try first (sshd brute-force dictionaries), for a warning.
const GUESSED_NAMES: &[&str] = &[
    "admin",
    "administrator",
    "adm",
    "user",
    "test",
    "testuser",
    "guest",
    "pbx",
    "asterisk",
    "trixbox",
    "freepbx",
    "issabel",
    "elastix",
    "support",
    "info",
    "oracle",
    "ubuntu",
    "centos",
    "debian",
    "operator",
    "sysadmin",
    "postgres",
    "mysql",
    "ftp",
    "ftpuser",
    "www",
    "webmaster",
    "backup",
    "tech",
    "voip",
    "sip",
    "manager",
    "sales",
    "office",
    "demo",
    "temp",
    "service",
    "server",
    "default",
    "pi",
    "git",
    "nagios",
    "user1",
    "admin1",
];

/// Problems with a login name; shared by the plan and the wizard's live validation.
pub fn name_problems(sys: &Host, name: &str, reuse: bool) -> Vec<(bool, String)> {
    let mut out = Vec::new();
    if name.is_empty() {
        out.push((true, "give a login name".to_string()));
        return out;
    }
    if name == "root" {
        out.push((
            true,
            "root cannot be the login user: log in as another user, then su to root".into(),
        ));
        return out;
    }
    if !valid_name(name) {
        out.push((
            true,
            format!(
                "\"{name}\" is not a valid login name: use lowercase letters, digits, _ and -, \
                 start with a letter or _, at most 32 characters"
            ),
        ));
        return out;
    }
    if name == "trixuser" {
        out.push((
            false,
            "\"trixuser\" is the example name of the article everyone has read; pick one only \
             you know"
                .to_string(),
        ));
    }
    if GUESSED_NAMES.contains(&name) {
        out.push((
            false,
            format!(
                "\"{name}\" is one of the first names guessing tools try; pick one only you know"
            ),
        ));
    }
    if let Some(u) = sys.users.get(name) {
        let managed = sys.managed_users.iter().any(|m| m == name);
        let min = uid_min(sys);
        if !u.can_login() {
            out.push((
                true,
                format!(
                    "{name} is a system account (shell {}) and cannot log in",
                    u.shell
                ),
            ));
        } else if u.uid < min && !managed {
            out.push((
                true,
                format!(
                    "{name} is a system account (uid {}, below UID_MIN {min} of \
                     /etc/login.defs): services run as it; choose a login name of your own",
                    u.uid
                ),
            ));
        } else if !(reuse || managed) {
            out.push((
                true,
                format!(
                    "{name} already exists; set user.reuse = true to make it the login user, \
                     or choose another name"
                ),
            ));
        }
    }
    out
}

/// The first uid of a person's account: `UID_MIN` of the target's /etc/login.defs, else
/// 1000 (shadow-utils' default; CentOS 5-6 set 500 there).
pub fn uid_min(sys: &Host) -> u32 {
    sys.root
        .read_text("/etc/login.defs")
        .ok()
        .flatten()
        .and_then(|t| {
            t.lines().find_map(|l| {
                let mut f = l.split_whitespace();
                (f.next() == Some("UID_MIN")).then(|| f.next()?.parse().ok())?
            })
        })
        .unwrap_or(1000)
}

/// An existing account that may become the login user (with `reuse`): not root, not a
/// system account, able to log in.
pub fn reusable(sys: &Host, name: &str) -> bool {
    name != "root"
        && sys
            .users
            .get(name)
            .is_some_and(|u| u.can_login() && u.uid >= uid_min(sys))
}

/// `^[a-z_][a-z0-9_-]{0,31}$`
pub fn valid_name(name: &str) -> bool {
    let b = name.as_bytes();
    !b.is_empty()
        && b.len() <= 32
        && (b[0].is_ascii_lowercase() || b[0] == b'_')
        && b[1..]
            .iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'_' || *c == b'-')
}

pub fn plan<R: Rng + ?Sized>(b: &mut Builder<'_>, answers: &Answers, rng: &mut R) {
    let Some(u) = &answers.user else {
        return;
    };
    let sys = b.sys;
    let mut fatal = false;
    for (is_error, msg) in name_problems(sys, &u.name, u.reuse) {
        if is_error {
            fatal = true;
            b.error("user.name", msg);
        } else {
            b.warn("user.name", msg);
        }
    }
    if !sys.root.is_live() && sys.env.euid != 0 {
        // useradd --root needs chroot(2): without root, write the account files directly.
    } else if sys.root.is_live() && sys.env.euid != 0 {
        b.error(
            "user",
            "creating a user on this system needs root; run pbx-harden as root",
        );
        fatal = true;
    }
    for g in &u.groups {
        if sys.users.group(g).is_none() {
            b.error(
                "user.groups",
                format!("there is no group \"{g}\" on this system"),
            );
            fatal = true;
        }
    }
    let home_mode = match u.home_mode.as_deref() {
        None | Some("0700") | Some("700") => 0o700,
        Some("0750") | Some("750") => 0o750,
        Some(other) => {
            b.error(
                "user.home_mode",
                format!("\"{other}\" is not a home directory mode pbx-harden sets: use \"0700\" or \"0750\""),
            );
            return;
        }
    };
    let sources = usize::from(u.password.is_some())
        + usize::from(u.password_hash.is_some())
        + usize::from(u.generate);
    if sources > 1 {
        b.error(
            "user.password",
            "give only one of user.password, user.password_hash or user.generate",
        );
        return;
    }
    if fatal {
        return;
    }
    b.summary.login_user = Some(u.name.clone());
    let existing = sys.users.get(&u.name).cloned();

    // Decide the password hash, if the password changes.
    let mut new_hash: Option<Secret> = None;
    if let Some(pw) = &u.password {
        let s = secrets::assess(pw.expose(), &u.name);
        if !s.acceptable() {
            for p in s.problems {
                b.error("user.password", p);
            }
            return;
        }
        let same = existing
            .as_ref()
            .and_then(|e| e.hash.as_deref())
            .and_then(|h| secrets::verify_crypt(pw.expose(), h))
            .unwrap_or(false);
        if !same {
            match secrets::crypt_sha512(pw, rng) {
                Ok(h) => new_hash = Some(Secret::new(h)),
                Err(e) => {
                    b.error("user.password", e);
                    return;
                }
            }
        }
    } else if let Some(h) = &u.password_hash {
        if let Err(e) = secrets::check_crypt_hash(h) {
            b.error("user.password_hash", e);
            return;
        }
        if existing.as_ref().and_then(|e| e.hash.as_deref()) != Some(h.as_str()) {
            new_hash = Some(Secret::new(h.clone()));
        }
    } else if u.generate && !existing.as_ref().is_some_and(|e| e.has_password()) {
        let pw = secrets::generate_passphrase(secrets::DEFAULT_WORDS, rng);
        match secrets::crypt_sha512(&pw, rng) {
            Ok(h) => new_hash = Some(Secret::new(h)),
            Err(e) => {
                b.error("user.generate", e);
                return;
            }
        }
        b.summary.generated_password = Some(pw);
    } else if !existing.as_ref().is_some_and(|e| e.has_password()) {
        b.error(
            "user.password",
            format!(
                "{} needs a password: give user.password, user.password_hash or generate = true",
                u.name
            ),
        );
        return;
    }

    let shell = ["/bin/bash", "/bin/sh"]
        .into_iter()
        .find(|s| sys.root.exists(s))
        .unwrap_or("/bin/sh")
        .to_string();
    let use_files = !sys.root.is_live() && sys.env.euid != 0;
    let keys = match keys::checked(b, &u.authorized_keys) {
        Some(k) => k,
        None => return,
    };
    if !keys.is_empty() && use_files {
        b.error(
            "user.authorized_keys",
            "keys are installed with the user's ownership: run pbx-harden as root",
        );
        return;
    }
    let home = existing
        .as_ref()
        .map(|e| e.home.clone())
        .filter(|h| h.starts_with('/'))
        .unwrap_or_else(|| format!("/home/{}", u.name));
    match &existing {
        None => {
            let Some(hash) = new_hash.clone() else {
                b.error(
                    "user.password",
                    format!("{}: a new user needs a password", u.name),
                );
                return;
            };
            if use_files {
                files::create_user(b, &u.name, &shell, &u.groups, &hash);
            } else {
                b.actions.push(Action::CreateUser {
                    name: u.name.clone(),
                    shell,
                    groups: u.groups.clone(),
                });
                b.actions.push(home_mode_action(sys, &u.name, home_mode));
                b.actions.push(Action::SetPassword {
                    name: u.name.clone(),
                    hash,
                });
            }
        }
        Some(e) => {
            let have = sys.users.groups_of(&e.name);
            let missing: Vec<String> = u
                .groups
                .iter()
                .filter(|g| !have.contains(g))
                .cloned()
                .collect();
            if use_files {
                if !missing.is_empty() {
                    files::add_to_groups(b, &u.name, &missing);
                }
                if let Some(h) = &new_hash {
                    files::set_password(b, &u.name, h);
                }
            } else {
                if !missing.is_empty() {
                    b.actions.push(Action::AddToGroups {
                        name: u.name.clone(),
                        groups: missing,
                    });
                }
                if let Some(h) = &new_hash {
                    b.actions.push(Action::SetPassword {
                        name: u.name.clone(),
                        hash: h.clone(),
                    });
                }
            }
        }
    }

    if !keys.is_empty() {
        let akf = crate::config::sshd::SshdConfig::load(&sys.root)
            .ok()
            .and_then(|c| c.first("authorizedkeysfile").map(|o| o.args.clone()));
        let file = keys::path(akf.as_deref(), &u.name, &home);
        keys::install(b, &keys, &home, &file);
    }
    b.check(
        format!("the login user {} exists with a password", u.name),
        CheckStatus::Pass(match (&existing, &new_hash) {
            (None, _) => "created by this plan".into(),
            (Some(_), Some(_)) => "existing account, password set by this plan".into(),
            (Some(_), None) => "existing account with a password".into(),
        }),
    );
    // After PermitRootLogin no, the admin reaches root with su (root password) or sudo.
    let root_pw = sys.users.get("root").is_some_and(|r| r.has_password());
    let mut groups = u.groups.clone();
    groups.extend(sys.users.groups_of(&u.name));
    let admin_group = groups
        .iter()
        .any(|g| matches!(g.as_str(), "wheel" | "sudo" | "admin"));
    b.check(
        format!("{} can become root", u.name),
        if root_pw {
            CheckStatus::Pass("with su and the root password".into())
        } else if admin_group {
            CheckStatus::Pass("through sudo (admin group)".into())
        } else {
            CheckStatus::Warn(
                "root has no password and the user is in no sudo/wheel group: add \
                 user.groups = [\"sudo\"] (Debian) or [\"wheel\"] (Red Hat)"
                    .into(),
            )
        },
    );
}

/// The new home directory gets `mode` whatever login.defs says (Debian's has no HOME_MODE
/// and useradd makes it 0755), and an empty `.ssh` 0700 owned by the user.
fn home_mode_action(sys: &crate::host::Host, name: &str, mode: u32) -> Action {
    let home = format!("/home/{name}");
    let host = sys.root.host(&home).display().to_string();
    Action::Command(crate::model::actions::CommandAction {
        argv: crate::exec::argv(&[
            "sh",
            "-c",
            "chmod \"$2\" \"$1\" && install -d -m 0700 -o \"$(stat -c %u \"$1\")\" \
             -g \"$(stat -c %g \"$1\")\" \"$1/.ssh\"",
            "sh",
            &host,
            &format!("{mode:04o}"),
        ]),
        undo: Vec::new(),
        // Created by useradd in the same plan: rollback removes the whole directory.
        touches: vec![home],
        changes_state: true,
    })
}

/// Account files written directly, as useradd would, when not running as root on a copy.
mod files {
    use crate::model::Builder;
    use crate::secrets::Secret;

    fn text(b: &Builder<'_>, path: &str) -> String {
        b.current(path)
            .ok()
            .flatten()
            .map(|v| String::from_utf8_lossy(&v).into_owned())
            .unwrap_or_default()
    }

    fn append(b: &mut Builder<'_>, path: &str, line: &str, mode: u32) {
        let mut t = text(b, path);
        if !t.is_empty() && !t.ends_with('\n') {
            t.push('\n');
        }
        t.push_str(line);
        t.push('\n');
        b.write(path, Some(t.into_bytes()), mode, "login user");
    }

    fn login_defs(b: &Builder<'_>, key: &str) -> Option<String> {
        text(b, "/etc/login.defs").lines().find_map(|l| {
            let mut f = l.split_whitespace();
            (f.next() == Some(key))
                .then(|| f.next().map(str::to_string))
                .flatten()
        })
    }

    fn next_id(b: &Builder<'_>, path: &str, min: u32) -> u32 {
        let used: Vec<u32> = text(b, path)
            .lines()
            .filter_map(|l| l.split(':').nth(2)?.parse().ok())
            .collect();
        let mut id = used
            .iter()
            .copied()
            .filter(|i| *i >= min && *i < 60000)
            .max()
            .map_or(min, |m| m + 1);
        while used.contains(&id) {
            id += 1;
        }
        id
    }

    fn days_since_epoch() -> u64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() / 86400)
            .unwrap_or(0)
    }

    pub fn create_user(
        b: &mut Builder<'_>,
        name: &str,
        shell: &str,
        groups: &[String],
        hash: &Secret,
    ) {
        let uid_min = login_defs(b, "UID_MIN")
            .and_then(|v| v.parse().ok())
            .unwrap_or(1000);
        let uid = next_id(b, "/etc/passwd", uid_min);
        let usergroups =
            login_defs(b, "USERGROUPS_ENAB").is_none_or(|v| v.eq_ignore_ascii_case("yes"));
        let gid = if usergroups {
            let gid = if text(b, "/etc/group")
                .lines()
                .any(|l| l.split(':').nth(2) == Some(&uid.to_string()))
            {
                next_id(b, "/etc/group", uid_min)
            } else {
                uid
            };
            append(b, "/etc/group", &format!("{name}:x:{gid}:"), 0o644);
            if b.sys.root.exists("/etc/gshadow") {
                append(b, "/etc/gshadow", &format!("{name}:!::"), 0o600);
            }
            gid
        } else {
            100
        };
        append(
            b,
            "/etc/passwd",
            &format!("{name}:x:{uid}:{gid}:pbx-harden login user:/home/{name}:{shell}"),
            0o644,
        );
        let line = format!(
            "{name}:{}:{}:0:99999:7:::",
            hash.expose(),
            days_since_epoch()
        );
        append(b, "/etc/shadow", &line, 0o600);
        b.mask("/etc/shadow", hash.clone());
        if !groups.is_empty() {
            add_to_groups(b, name, groups);
        }
        b.warn(
            "user",
            format!(
                "not running as root: {name} is written into the account files of the copy \
                 directly, without a home directory (useradd --root needs root)"
            ),
        );
    }

    pub fn add_to_groups(b: &mut Builder<'_>, name: &str, groups: &[String]) {
        for path in ["/etc/group", "/etc/gshadow"] {
            if !b.sys.root.exists(path) {
                continue;
            }
            let t = text(b, path);
            // group: name:x:gid:members   gshadow: name:pw:admins:members
            let member_field = 3;
            let out: Vec<String> = t
                .lines()
                .map(|l| {
                    let mut f: Vec<String> = l.split(':').map(str::to_string).collect();
                    if f.len() > member_field && groups.iter().any(|g| *g == f[0]) {
                        let m = &mut f[member_field];
                        if !m.split(',').any(|x| x == name) {
                            if !m.is_empty() {
                                m.push(',');
                            }
                            m.push_str(name);
                        }
                    }
                    f.join(":")
                })
                .collect();
            let mut s = out.join("\n");
            if t.ends_with('\n') {
                s.push('\n');
            }
            b.write(path, Some(s.into_bytes()), 0o644, "login user groups");
        }
    }

    pub fn set_password(b: &mut Builder<'_>, name: &str, hash: &Secret) {
        let t = text(b, "/etc/shadow");
        let mut s: String = t
            .lines()
            .map(|l| {
                let mut f: Vec<&str> = l.split(':').collect();
                if f.first() == Some(&name) && f.len() > 1 {
                    f[1] = hash.expose();
                }
                f.join(":")
            })
            .collect::<Vec<_>>()
            .join("\n");
        if t.ends_with('\n') {
            s.push('\n');
        }
        b.write(
            "/etc/shadow",
            Some(s.into_bytes()),
            0o600,
            "login user password",
        );
        b.mask("/etc/shadow", hash.clone());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        for ok in ["trixuser", "_svc", "a", "a-b_c9"] {
            assert!(valid_name(ok), "{ok}");
        }
        for bad in ["", "Trix", "9abc", "a b", "a.b", &"x".repeat(33), "ä"] {
            assert!(!valid_name(bad), "{bad}");
        }
    }
}
