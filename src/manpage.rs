//! The man page pbx-harden(8), generated from the command definitions (clap_mangen for the
//! title, synopsis, description and global options; each command's options from the same
//! definitions) plus the sections no definition holds: the answers file, exit status, files
//! and the safety model. `packaging/build` writes it into the packages.

use clap::CommandFactory;

use crate::args::Cli;
use crate::error::{Error, Result};

/// Escape text for roff: backslashes, hyphens (so they stay ASCII hyphens), and a leading
/// `.` or `'` that roff would take for a request.
fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for (i, line) in s.split('\n').enumerate() {
        if i > 0 {
            o.push('\n');
        }
        if line.starts_with('.') || line.starts_with('\'') {
            o.push_str("\\&");
        }
        for c in line.chars() {
            match c {
                '\\' => o.push_str("\\e"),
                '-' => o.push_str("\\-"),
                _ => o.push(c),
            }
        }
    }
    o
}

fn arg_line(a: &clap::Arg) -> String {
    let mut names = Vec::new();
    if let Some(s) = a.get_short() {
        names.push(format!("\\fB\\-{s}\\fR"));
    }
    if let Some(l) = a.get_long() {
        names.push(format!("\\fB\\-\\-{}\\fR", esc(l)));
    }
    let takes_value = a.get_num_args().map(|n| n.takes_values()).unwrap_or(false)
        && !matches!(
            a.get_action(),
            clap::ArgAction::SetTrue | clap::ArgAction::SetFalse | clap::ArgAction::Count
        );
    let value = a
        .get_value_names()
        .and_then(|v| v.first())
        .map(|v| v.to_string())
        .unwrap_or_else(|| a.get_id().as_str().to_uppercase());
    if names.is_empty() {
        format!("\\fI{}\\fR", esc(&value))
    } else if takes_value {
        format!("{} \\fI{}\\fR", names.join(", "), esc(&value))
    } else {
        names.join(", ")
    }
}

fn command_section(out: &mut String, prefix: &str, cmd: &clap::Command) {
    if cmd.is_hide_set() {
        return;
    }
    let name = format!("{prefix} {}", cmd.get_name());
    let subs: Vec<_> = cmd.get_subcommands().filter(|c| !c.is_hide_set()).collect();
    out.push_str(&format!(".SS \"{}\"\n", esc(&name)));
    if let Some(about) = cmd.get_long_about().or(cmd.get_about()) {
        out.push_str(&format!("{}\n", esc(&about.to_string())));
    }
    for a in cmd.get_arguments() {
        if a.is_hide_set() || a.get_id() == "help" || a.get_id() == "version" {
            continue;
        }
        out.push_str(&format!(".TP\n{}\n", arg_line(a)));
        if let Some(h) = a.get_long_help().or(a.get_help()) {
            out.push_str(&format!("{}\n", esc(&h.to_string())));
        }
        let pv: Vec<String> = a
            .get_possible_values()
            .iter()
            .filter(|v| !v.is_hide_set())
            .map(|v| v.get_name().to_string())
            .collect();
        if !pv.is_empty() {
            out.push_str(&format!("One of: {}.\n", esc(&pv.join(", "))));
        }
    }
    if let Some(after) = cmd.get_after_help() {
        out.push_str(&format!(".PP\n.nf\n{}\n.fi\n", esc(&after.to_string())));
    }
    for s in subs {
        command_section(out, &name, s);
    }
}

const EXTRA: &str = r#".SH "THE ANSWERS FILE"
TOML; the same file drives the wizard (\fB\-\-answers\fR pre\-fills it), \fBplan\fR,
\fBapply\fR and a fleet. Every section is optional: a missing section leaves that part of the
system alone. An unknown key is an error that names it. A plaintext password is never
printed, logged or stored: it is hashed (SHA\-512 crypt) in memory and fed to
\fBchpasswd \-e\fR on standard input.
.PP
.nf
[user]
name = "admin"             # never root
generate = true            # or password = "...", or password_hash = "$6$..."
groups = ["wheel"]

[ssh]
port = 22022
permit_root_login = false
allow_users = ["admin"]

[services]
disable = ["portmap", "vsftpd"]

[extensions]
rotate_weak = true         # weak SIP/IAX secrets in files the admin owns

[firewall]
backend = "apf"            # or "fail2ban", "none"
tcp_ports = [80, 443, 5060]
udp_ports = [5060, "10000\-20000"]
trusted = [{ host = "203.0.113.10", comment = "office" }]

[apply]
confirm_timeout = "5m"     # "90s", "5m", "1h"
.fi
.PP
The README shipped in /usr/share/doc/pbx\-harden lists every key with its rules.
.SH "EXIT STATUS"
.TP
.B 0
success; \fBaudit\fR: nothing found
.TP
.B 1
failure (a command failed, a rollback could not restore everything); \fBaudit\fR: findings
.TP
.B 2
bad input or a refused plan: every problem is named by its answers key; \fBaudit\fR: an error
.SH FILES
.TP
.I /var/lib/pbx\-harden/
the journal of each change (backups of every file it touched, the steps, the state), the
history of earlier changes, and the first\-boot marker
.TP
.I /etc/systemd/system/pbx\-harden\-rollback.service
the boot safeguard while a change is pending (systemd; on SysV an init script or a cron
\fB@reboot\fR entry); removed at confirm or rollback
.TP
.I /etc/systemd/system/pbx\-harden\-firstboot.service
the first\-boot wizard, installed by \fBpbx\-harden firstboot enable\fR
(SysV: \fI/etc/init.d/pbx\-harden\-firstboot\fR)
.TP
.I ~root/pbx\-harden\-secrets\-DATE.csv
the new SIP/IAX secrets after a rotation (mode 0600), for re\-provisioning the phones
.SH "SAFETY MODEL"
Nothing is written before the plan has been shown and its lockout checks pass: the login
user exists with a usable password or key, sshd lets them in on the new port
(\fBsshd \-t\fR and \fBsshd \-T\fR on the edited configuration), the firewall opens the port
and does not block the admin's own address. \fBapply\fR backs up every file it touches and
writes a journal before the first change, then arms a watchdog outside the terminal's
session and a boot safeguard. Unless \fBpbx\-harden confirm\fR runs from a new login on the
new SSH port before the deadline, every file comes back byte for byte and the services are
restarted as they were: when the admin's terminal dies, when apply itself is killed, and
after a reboot inside the window. Files others edited during the window are restored and
the other version is kept and reported by \fBstatus\fR.
.SH "SEE ALSO"
\fBsshd_config\fR(5), \fBsshd\fR(8), \fBapf\fR(8), \fBfail2ban\-client\fR(1)
"#;

/// pbx-harden(8) in roff.
pub fn render() -> Result<String> {
    let mut cmd = Cli::command();
    cmd.build();
    let man = clap_mangen::Man::new(cmd.clone())
        .section("8")
        .manual("System Administration");
    let mut buf: Vec<u8> = Vec::new();
    let io = |e: std::io::Error| Error::invalid(format!("man page: {e}"));
    man.render_title(&mut buf).map_err(io)?;
    man.render_name_section(&mut buf).map_err(io)?;
    man.render_synopsis_section(&mut buf).map_err(io)?;
    man.render_description_section(&mut buf).map_err(io)?;
    man.render_options_section(&mut buf).map_err(io)?;
    let mut out = String::from_utf8_lossy(&buf).into_owned();
    out.push_str(".SH COMMANDS\n");
    for sub in cmd.get_subcommands() {
        command_section(&mut out, "pbx-harden", sub);
    }
    out.push_str(EXTRA);
    let mut v: Vec<u8> = Vec::new();
    man.render_version_section(&mut v).map_err(io)?;
    out.push_str(&String::from_utf8_lossy(&v));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_visible_command_and_option_is_in_the_man_page() {
        let page = render().unwrap();
        for c in [
            "plan",
            "apply",
            "confirm",
            "rollback",
            "status",
            "audit",
            "firstboot",
            "completions",
        ] {
            assert!(page.contains(&format!("pbx\\-harden {c}")), "{c}");
        }
        for o in [
            "answers",
            "confirm\\-timeout",
            "reason",
            "format",
            "words",
            "extract",
        ] {
            assert!(page.contains(&format!("\\-\\-{o}")), "{o}");
        }
        assert!(!page.contains("\\-\\-txid"), "internal commands stay out");
        assert!(
            !page.contains("firstboot run"),
            "internal commands stay out"
        );
        assert!(!page.contains("no\\-restart"), "internal flags stay out");
        assert!(page.contains(".SH \"EXIT STATUS\""));
    }

    #[test]
    fn escaping_keeps_roff_requests_out() {
        assert_eq!(esc(".x -y \\"), "\\&.x \\-y \\e");
    }
}
