//! BFD (Brute Force Detection): conf.bfd edited in place (TRIG, EMAIL_ALERTS, EMAIL_ADDRESS,
//! EMAIL_SUBJECT, a BAN_COMMAND that calls the installed APF), ignore.hosts with single
//! addresses (BFD 1.5 matches it with `grep -w`, so a CIDR never matches), and the cron entry
//! that runs it every three minutes.

use std::net::IpAddr;

use crate::config::text::Text;
use crate::config::trust::{Host, parse_host};
use crate::model::{Builder, CheckStatus};
use crate::steps::firewall::answers::{Answers, BfdAnswers};
use crate::steps::firewall::apf::VarEdit;
use crate::steps::firewall::{BFD_CONF, BFD_CRON, BFD_IGNORE, FirewallInfo, Spec};

const WHY: &str = "BFD brute-force detection";
pub const CRON_LINE: &str = "*/3 * * * * root /usr/local/sbin/bfd -q";

/// An e-mail address (`user@example.com`) or a local user (`root`); BFD takes a comma list.
pub fn check_email(list: &str) -> Result<(), String> {
    if list.trim().is_empty() {
        return Err("empty; give an address like pbx-admin@example.com".into());
    }
    for a in list.split(',') {
        let a = a.trim();
        match a.split_once('@') {
            Some((local, domain)) => {
                if local.is_empty()
                    || !local
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || "._%+-".contains(c))
                    || local.starts_with('.')
                    || local.ends_with('.')
                {
                    return Err(format!("\"{a}\" is not an e-mail address"));
                }
                match parse_host(domain) {
                    Ok(Host::Fqdn(_)) => {}
                    _ => {
                        return Err(format!(
                            "\"{a}\": \"{domain}\" is not a mail domain (e.g. example.com)"
                        ));
                    }
                }
            }
            None => {
                let user_ok = a
                    .chars()
                    .next()
                    .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
                    && a.chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "_-".contains(c))
                    && a.len() <= 32;
                if !user_ok {
                    return Err(format!(
                        "\"{a}\" is neither an e-mail address nor a local user name"
                    ));
                }
            }
        }
    }
    Ok(())
}

fn bool01(b: bool) -> &'static str {
    if b { "1" } else { "0" }
}

/// TRIG: refused (`true`) outside 1-1000, a warning above the seed's 5.
pub fn trig_problem(t: i64) -> Option<(bool, String)> {
    if !(1..=1000).contains(&t) {
        Some((
            true,
            format!("{t}: give the number of failed logins before a ban, e.g. 5"),
        ))
    } else if t > 5 {
        Some((
            false,
            format!("{t}: the seed advises not above 5 failures before a ban"),
        ))
    } else {
        None
    }
}

/// EMAIL_SUBJECT: one line of text.
pub fn check_subject(subj: &str) -> Result<(), String> {
    if subj.trim().is_empty() || subj.chars().any(char::is_control) || subj.len() > 200 {
        Err("give one line of text (at most 200 characters)".into())
    } else {
        Ok(())
    }
}

pub fn plan(b: &mut Builder<'_>, fw: &FirewallInfo, answers: &Answers, spec: &Spec) {
    let sys = b.sys;
    let Some(info) = fw.bfd.clone() else {
        return;
    };
    let a: BfdAnswers = answers.bfd.clone().unwrap_or_default();
    let before = match b.current(BFD_CONF) {
        Ok(Some(x)) => x,
        _ => {
            b.error("bfd", format!("cannot read {BFD_CONF}"));
            return;
        }
    };
    let mut conf = VarEdit::new(&before);
    let version = info
        .version
        .clone()
        .unwrap_or_else(|| "(unknown version)".into());

    if let Some(t) = a.trig {
        match trig_problem(t) {
            Some((true, m)) => b.error("bfd.trig", m),
            other => {
                if let Some((_, m)) = other {
                    b.warn("bfd.trig", m);
                }
                conf.set("TRIG", &t.to_string());
            }
        }
    }
    if let Some(on) = a.email_alerts {
        conf.set("EMAIL_ALERTS", bool01(on));
        if on && a.email_address.is_none() && conf.get("EMAIL_ADDRESS").as_deref() == Some("root") {
            b.warn(
                "bfd.email_address",
                "alerts go to root's local mailbox; give bfd.email_address to read them",
            );
        }
    }
    if let Some(addr) = &a.email_address {
        match check_email(addr) {
            Ok(()) => conf.set("EMAIL_ADDRESS", addr.trim()),
            Err(e) => b.error("bfd.email_address", e),
        }
    }
    if let Some(subj) = &a.email_subject {
        match check_subject(subj) {
            Err(e) => b.error("bfd.email_subject", e),
            Ok(()) => conf.set("EMAIL_SUBJECT", subj),
        }
    }

    // BAN_COMMAND: ban through the APF that is installed.
    if let Some(cmd) = conf.get("BAN_COMMAND") {
        let prog = cmd.split_whitespace().next().unwrap_or("").to_string();
        let calls_apf = prog.rsplit('/').next() == Some("apf");
        match &fw.apf {
            Some(apf) => {
                let want = format!("{}/apf", apf.install_path);
                if calls_apf && prog != want && !sys.root.exists(&prog) {
                    b.warn(
                        "bfd",
                        format!(
                            "BAN_COMMAND calls {prog}, which does not exist; it is set to the \
                             installed APF ({want})"
                        ),
                    );
                    conf.set_raw(
                        "BAN_COMMAND",
                        &format!("{want} -d $ATTACK_HOST {{bfd.$MOD}}"),
                    );
                } else if !calls_apf {
                    b.warn(
                        "bfd",
                        format!(
                            "BAN_COMMAND bans with {prog}, not APF: the bans do not show in \
                             deny_hosts.rules"
                        ),
                    );
                }
            }
            None if calls_apf => b.warn(
                "bfd",
                format!(
                    "BAN_COMMAND bans with APF ({prog}), which is not installed: every ban would \
                     fail; set BAN_COMMAND in {BFD_CONF} for your firewall"
                ),
            ),
            None => {}
        }
    }

    // ignore.hosts: single addresses.
    let mut wanted: Vec<(String, &str)> = Vec::new();
    for h in a.ignore_hosts.iter().flatten() {
        let h = h.trim();
        match parse_host(h) {
            Ok(Host::Ip(ip)) => wanted.push((ip_text(h, ip), "bfd.ignore_hosts")),
            Ok(Host::Net(..)) => b.error(
                "bfd.ignore_hosts",
                if info.major < 2 {
                    format!(
                        "{h}: BFD {version} matches ignore.hosts with grep -w, so a network is \
                         never matched (CIDR is not understood); list single addresses"
                    )
                } else {
                    format!("{h}: ignore.hosts takes one address per line, not networks")
                },
            ),
            Ok(Host::Fqdn(_)) => b.error(
                "bfd.ignore_hosts",
                format!("{h}: ignore.hosts takes addresses, not names"),
            ),
            Err(e) => b.error("bfd.ignore_hosts", e),
        }
    }
    if let Some(admin) = spec.trust_admin {
        wanted.push((admin.to_string(), "firewall.trust_admin"));
    }
    let ig_before = b.current(BFD_IGNORE).ok().flatten();
    let mut ig = Text::parse(ig_before.as_deref().unwrap_or(b""));
    let mut added = Vec::new();
    for (h, _) in &wanted {
        if !ig.lines.iter().any(|l| l.text.trim() == h) {
            let at = ig.len();
            ig.insert(at, h.clone());
            added.push(h.clone());
        }
    }

    // The cron entry (every 3 minutes, as the seed describes).
    let cron_before = b.current(BFD_CRON).ok().flatten();
    let mut cron = Text::parse(cron_before.as_deref().unwrap_or(b""));
    let has_entry = cron.lines.iter().any(|l| {
        let t = l.text.trim();
        !t.starts_with('#') && t.contains("bfd")
    });
    if !has_entry {
        let at = cron.len();
        cron.insert(at, CRON_LINE);
        // cron ignores a last line without a newline.
        if let Some(l) = cron.lines.last_mut() {
            l.eol = crate::config::text::Eol::Lf;
        }
    }
    b.check(
        "BFD runs from cron",
        if has_entry {
            CheckStatus::Pass(format!("{BFD_CRON} is there"))
        } else {
            CheckStatus::Pass(format!("{BFD_CRON} is added: {CRON_LINE}"))
        },
    );

    if b.has_errors_for("bfd") {
        return;
    }
    let conf_after = conf.vars.to_bytes();
    let changed = conf_after != before;
    if changed {
        b.write(BFD_CONF, Some(conf_after), 0o640, WHY);
    }
    if !added.is_empty() {
        b.write(
            BFD_IGNORE,
            Some(ig.to_bytes()),
            0o644,
            "BFD addresses never banned",
        );
    }
    if !has_entry {
        b.write(BFD_CRON, Some(cron.to_bytes()), 0o644, "BFD cron entry");
    }
    if changed || !added.is_empty() || !has_entry {
        let s = &mut b.summary.firewall;
        s.push(format!(
            "BFD {version}: TRIG={}, alerts {}",
            conf.get("TRIG").unwrap_or_default(),
            if conf.get("EMAIL_ALERTS").as_deref() == Some("1") {
                format!("to {}", conf.get("EMAIL_ADDRESS").unwrap_or_default())
            } else {
                "off".into()
            }
        ));
        if !added.is_empty() {
            s.push(format!("BFD never bans: {}", added.join(", ")));
        }
        if changed {
            s.push(conf.settings_line(BFD_CONF));
        }
    }
}

fn ip_text(given: &str, ip: IpAddr) -> String {
    // Keep the spelling the admin gave when it is the canonical one.
    let c = ip.to_string();
    if c == given { c } else { given.to_string() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails() {
        assert!(check_email("pbx-admin@example.com").is_ok());
        assert!(check_email("root").is_ok());
        assert!(check_email("a@example.com, root").is_ok());
        for bad in [
            "",
            "a@b",
            "@example.com",
            "a b@example.com",
            "x@1.2.3.4",
            "Root",
            "a\"@example.com",
            "$(reboot)@example.com",
        ] {
            assert!(check_email(bad).is_err(), "{bad}");
        }
    }
}
