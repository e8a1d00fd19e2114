//! The SSH step's audit rules: root login, the port, AllowUsers (`rules`), and the
//! baseline's and weak algorithms' findings (`baseline`).

mod baseline;

use crate::config::sshd::SshdConfig;
use crate::host::Host;
use crate::model::audit::{Audit, Severity};

const WHY_ROOT: &str = "the seed: \"The root user should be denied access and only the user we \
     created should be allowed to get in\"; root's password is the first one guessing tools try";
const WHY_PORT: &str = "the seed: \"it's recommended that the Port setting from the standard 22 is \
     changed\"; every SSH scanner knocks on 22 first";
const WHY_ALLOW: &str = "the seed: \"Only allowing one account access to the system over SSH is a \
     great way to lock out most brute force attacks\"";

/// OpenSSH before 7.0 (CentOS 5 and 6, trixbox) let root log in with a password by default.
fn old_openssh(sys: &Host) -> bool {
    let p = sys.os.pretty.to_lowercase();
    sys.pbx.distro.as_deref() == Some("trixbox")
        || ["release 5", "release 6"].iter().any(|r| p.contains(r))
}

/// Root login, the SSH port, AllowUsers, and the baseline's findings.
pub fn rules(a: &mut Audit<'_>) {
    let cfg = match a.sys.sshd() {
        Ok(c) => c.clone(),
        Err(e) => {
            a.not_checked.push(format!("SSH: {e}"));
            return;
        }
    };
    let at = |o: &crate::config::sshd::Occurrence| {
        Some((cfg.files[o.file].path.clone(), Some(o.line + 1)))
    };
    let main = cfg
        .files
        .first()
        .map(|f| f.path.clone())
        .unwrap_or_else(|| "/etc/ssh/sshd_config".into());
    let fix_root =
        "[ssh] permit_root_login = false (log in as the login user, then su)".to_string();
    match cfg.first("permitrootlogin") {
        Some(o) => {
            let v = o
                .args
                .first()
                .map(|s| s.to_ascii_lowercase())
                .unwrap_or_default();
            if v == "yes" {
                a.add(
                    "ssh.root_login",
                    Severity::High,
                    None,
                    "root may log in over SSH with a password (PermitRootLogin yes)".into(),
                    at(&o),
                    WHY_ROOT,
                    Some("ssh.permit_root_login"),
                    fix_root,
                );
            } else if v != "no" {
                a.add(
                    "ssh.root_login",
                    Severity::Low,
                    None,
                    format!("root may log in over SSH with a key (PermitRootLogin {v})"),
                    at(&o),
                    WHY_ROOT,
                    Some("ssh.permit_root_login"),
                    fix_root,
                );
            }
        }
        None => {
            let (sev, how) = if old_openssh(a.sys) {
                (
                    Severity::High,
                    "with a password (the default of this OpenSSH)",
                )
            } else {
                (
                    Severity::Medium,
                    "(PermitRootLogin is not set: with a password before OpenSSH 7.0, with a key since)",
                )
            };
            a.add(
                "ssh.root_login",
                sev,
                None,
                format!("root may log in over SSH {how}"),
                Some((main.clone(), None)),
                WHY_ROOT,
                Some("ssh.permit_root_login"),
                fix_root,
            );
        }
    }
    let (ports, source) = effective_ssh_ports(a.sys, &cfg);
    if ports.contains(&22) {
        let at22 = match source {
            PortSource::Config => cfg
                .first("port")
                .map(|o| at(&o))
                .unwrap_or(Some((main.clone(), None))),
            PortSource::Socket => Some(("ssh.socket (ListenStream=22)".to_string(), None)),
            PortSource::SshdT => Some(("sshd -T (the configuration sshd runs with)".into(), None)),
        };
        a.add(
            "ssh.port_22",
            Severity::Medium,
            None,
            "SSH listens on port 22".into(),
            at22,
            WHY_PORT,
            Some("ssh.port"),
            "[ssh] port = a free high port (pbx-harden checks it against RTP and the ephemeral range)".into(),
        );
    }
    let passwords = cfg.value_or("passwordauthentication", "yes") != "no";
    if passwords && cfg.list("allowusers").is_empty() && cfg.list("allowgroups").is_empty() {
        let at_pw = cfg
            .first("passwordauthentication")
            .map(|o| at(&o))
            .unwrap_or(Some((main, None)));
        a.add(
            "ssh.no_allow_users",
            Severity::Medium,
            None,
            "every account with a password may log in over SSH (password logins, no AllowUsers)"
                .into(),
            at_pw,
            WHY_ALLOW,
            Some("ssh.allow_users"),
            "[ssh] allow_users = [\"your-login-user\"] (with a [user] section creating it)".into(),
        );
    }
    baseline::audit(a, &cfg);
}

/// Where the ports SSH listens on were read.
enum PortSource {
    Config,
    Socket,
    SshdT,
}

/// The ports SSH really listens on: on the live system an active `ssh.socket`'s
/// `ListenStream` (it owns the port whatever sshd_config says), else `sshd -T` when sshd is
/// installed (includes, Match-free defaults), else sshd_config with its includes as read.
fn effective_ssh_ports(sys: &Host, cfg: &SshdConfig) -> (Vec<u16>, PortSource) {
    if sys.root.is_live() {
        if sys.init == crate::host::Init::Systemd
            && sys
                .runner
                .run(
                    &crate::exec::argv(&["systemctl", "is-active", "--quiet", "ssh.socket"]),
                    None,
                )
                .is_ok_and(|o| o.ok())
        {
            let p = crate::steps::ssh::socket_ports(&*sys.runner, "ssh.socket");
            if !p.is_empty() {
                return (p, PortSource::Socket);
            }
        }
        if let Some(sshd) = crate::host::find_program("sshd")
            && let Ok(o) = sys
                .runner
                .run(&[sshd.display().to_string(), "-T".into()], None)
            && o.ok()
        {
            let p: Vec<u16> = o
                .stdout
                .lines()
                .filter_map(|l| l.strip_prefix("port ")?.trim().parse().ok())
                .collect();
            if !p.is_empty() {
                return (p, PortSource::SshdT);
            }
        }
    }
    (cfg.listen_ports(), PortSource::Config)
}
