//! Asterisk's own doors (`[asterisk]`, beyond the seed): the manager interface (AMI) and calls
//! from unknown SIP callers. The audit finds them (`ami.public`, `ami.weak_secret`,
//! `sip.guests`, `pjsip.anonymous`); this planner closes them where the admin owns the files
//! and says what to change in FreePBX where FreePBX does.
//!
//! - `ami_localhost = true`: `bindaddr = 127.0.0.1` in `[general]` of manager.conf (remote
//!   tools reach it through `ssh -L 5038:127.0.0.1:5038`); a weak AMI secret is replaced by a
//!   random one on plain Asterisk (the new ones go to a root-only report, for the tools that
//!   log in to AMI), never on FreePBX, which keeps it as AMPMGRPASS.
//! - `sip_guests = false`: chan_sip `allowguest = no` and `alwaysauthreject = yes` in
//!   `[general]` of sip.conf, or in sip_general_custom.conf on FreePBX (which #includes it
//!   last in `[general]`); a PJSIP endpoint named `anonymous` is refused with what to do.
//!
//! Asterisk reloads the manager and chan_sip after apply when it runs on the live system.

use rand::{Rng, RngExt};

use crate::config::ini::IniFile;
use crate::model::Builder;
use crate::secrets::Secret;
use crate::steps::asterisk::answers::Answers;

pub const MANAGER_CONF: &str = "/etc/asterisk/manager.conf";
pub const SIP_CONF: &str = "/etc/asterisk/sip.conf";
pub const SIP_GENERAL_CUSTOM: &str = "/etc/asterisk/sip_general_custom.conf";

/// Is this box's Asterisk configuration FreePBX's (which keeps AMI's password itself)?
pub fn freepbx(b: &Builder<'_>) -> bool {
    b.sys.root.exists("/etc/freepbx.conf") || b.sys.root.exists("/etc/amportal.conf")
}

/// Why FreePBX owns `path`, if it does (its "Do NOT edit" banner or its file names).
fn generated(path: &str, bytes: &[u8]) -> Option<String> {
    let head: String = String::from_utf8_lossy(&bytes[..bytes.len().min(2048)]).into_owned();
    super::generated_reason(path, &head)
}

pub fn is_loopback(addr: &str) -> bool {
    addr.parse::<std::net::IpAddr>()
        .is_ok_and(|ip| ip.is_loopback())
        || addr.eq_ignore_ascii_case("localhost")
}

pub fn plan<R: Rng + ?Sized>(b: &mut Builder<'_>, answers: &Answers, rng: &mut R) {
    let Some(a) = &answers.asterisk else {
        return;
    };
    let mut reload: Vec<&'static str> = Vec::new();
    if a.ami_localhost == Some(true) && ami(b, rng) {
        reload.push("manager reload");
    }
    if a.sip_guests == Some(false) && sip_guests(b) {
        reload.push("sip reload");
    }
    super::reload_asterisk(b, "asterisk", &reload, "the new settings");
}

/// The manager interface: loopback only, weak secrets replaced. True when manager.conf changes.
fn ami<R: Rng + ?Sized>(b: &mut Builder<'_>, rng: &mut R) -> bool {
    const KEY: &str = "asterisk.ami_localhost";
    let bytes = match b.current(MANAGER_CONF) {
        Ok(Some(x)) => x,
        Ok(None) => {
            b.warn(
                KEY,
                format!("there is no {MANAGER_CONF}: the manager interface is off"),
            );
            return false;
        }
        Err(e) => {
            b.error(KEY, e.to_string());
            return false;
        }
    };
    if let Some(why) = generated(MANAGER_CONF, &bytes) {
        b.error(
            KEY,
            format!(
                "{MANAGER_CONF} is not yours to edit ({why}): set the manager's bind address to \
                 127.0.0.1 in FreePBX (Settings -> Advanced Settings -> Asterisk Manager), or \
                 leave ami_localhost out"
            ),
        );
        return false;
    }
    let mut ini = IniFile::parse(&bytes);
    let enabled = ini.get("general", "enabled").is_some_and(|(v, _)| {
        matches!(v.to_ascii_lowercase().as_str(), "yes" | "true" | "1" | "on")
    });
    if !enabled {
        return false; // the manager interface is off: nothing listens
    }
    let bind = ini
        .get("general", "bindaddr")
        .map(|(v, _)| v.to_string())
        .unwrap_or_else(|| "0.0.0.0".into());
    if !is_loopback(&bind) && !ini.set(Some("general"), "bindaddr", "127.0.0.1") {
        b.error(
            KEY,
            format!("{MANAGER_CONF} has no [general] section to bind the manager in"),
        );
        return false;
    }
    // Weak secrets of AMI users.
    let weak: Vec<(String, usize)> = ini
        .entries()
        .into_iter()
        .filter_map(|(s, k, v, line)| {
            let user = s?;
            (!user.eq_ignore_ascii_case("general")
                && k.eq_ignore_ascii_case("secret")
                && !super::weak::assess(v, &[("user name", user)]).is_empty())
            .then(|| (user.to_string(), line))
        })
        .collect();
    // Every AMI secret of the file stays out of the diff, old ones too.
    let old_secrets: Vec<Secret> = ini
        .entries()
        .into_iter()
        .filter(|(s, k, _, _)| s.is_some() && k.eq_ignore_ascii_case("secret"))
        .map(|(_, _, v, _)| Secret::new(v.to_string()))
        .collect();
    let mut rotated: Vec<(String, Secret)> = Vec::new();
    if !weak.is_empty() {
        let users: Vec<&str> = weak.iter().map(|(u, _)| u.as_str()).collect();
        if freepbx(b) {
            b.warn(
                KEY,
                format!(
                    "AMI user {} has a weak secret that FreePBX keeps (AMPMGRPASS): set a long \
                     random one in FreePBX (Settings -> Advanced Settings -> Asterisk Manager \
                     Password, or AMPMGRPASS in /etc/amportal.conf on older releases), then \
                     fwconsole restart; pbx-harden does not edit it",
                    users.join(", ")
                ),
            );
        } else {
            for (user, line) in &weak {
                let new = random_secret(rng);
                ini.set_value(*line, new.expose());
                rotated.push((user.clone(), new));
            }
        }
    }
    let after = ini.to_bytes();
    if after == bytes {
        return false;
    }
    b.write(
        MANAGER_CONF,
        Some(after),
        0o640,
        "the manager interface on 127.0.0.1 only",
    );
    for s in old_secrets {
        b.mask(MANAGER_CONF, s);
    }
    if !rotated.is_empty() {
        let report = ami_report_path(b);
        let mut text = String::from("ami_user,new_secret\n");
        for (u, s) in &rotated {
            text.push_str(&format!("{u},{}\n", s.expose()));
        }
        b.write(
            &report,
            Some(text.into_bytes()),
            0o600,
            "the new AMI secrets, for the tools that log in to AMI (root only)",
        );
        for (_, s) in &rotated {
            b.mask(MANAGER_CONF, s.clone());
            b.mask(&report, s.clone());
        }
        b.warn(
            KEY,
            format!(
                "tools that log in to AMI as {} need the new secret from {report} (root only)",
                rotated
                    .iter()
                    .map(|(u, _)| u.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        );
    }
    true
}

fn random_secret<R: Rng + ?Sized>(rng: &mut R) -> Secret {
    const ALPHABET: &[u8] = b"abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    Secret::new(
        (0..32)
            .map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())]))
            .collect::<String>(),
    )
}

/// `pbx-harden-ami-YYYY-MM-DD.csv` in root's home, next to the extension secrets' report.
fn ami_report_path(b: &Builder<'_>) -> String {
    super::report_path(b).replace("pbx-harden-secrets-", "pbx-harden-ami-")
}

/// Guest calls: chan_sip's allowguest/alwaysauthreject, PJSIP's anonymous endpoint. True when
/// a chan_sip file changes.
fn sip_guests(b: &mut Builder<'_>) -> bool {
    const KEY: &str = "asterisk.sip_guests";
    let mut changed = false;
    // PJSIP: an endpoint named anonymous takes calls from anyone.
    for (file, line) in anonymous_endpoints(b) {
        b.error(
            KEY,
            format!(
                "{file}:{} defines the PJSIP endpoint \"anonymous\", which accepts calls from \
                 anyone: {}",
                line + 1,
                if b.sys.root.exists("/etc/freepbx.conf") {
                    "set Allow Anonymous Inbound SIP Calls to No in FreePBX (Settings -> Asterisk \
                     SIP Settings), apply, and run pbx-harden again"
                } else {
                    "remove that section (and its aor/auth), then run pbx-harden again"
                }
            ),
        );
    }
    let Ok(Some(sip)) = b.current(SIP_CONF) else {
        return changed; // no chan_sip configuration (Asterisk 21 has no chan_sip)
    };
    let sip_ini = IniFile::parse(&sip);
    // FreePBX: sip.conf is FreePBX's; sip_general_custom.conf is the admin's, #included last in
    // [general], so what it says wins.
    let custom = freepbx(b)
        || generated(SIP_CONF, &sip).is_some()
        || String::from_utf8_lossy(&sip).contains("sip_general_custom.conf");
    let (path, section, mut ini, before) = if custom {
        let bytes = b.current(SIP_GENERAL_CUSTOM).ok().flatten();
        if bytes.is_none() && !String::from_utf8_lossy(&sip).contains("sip_general_custom.conf") {
            b.error(
                KEY,
                format!(
                    "{SIP_CONF} belongs to FreePBX and does not #include {SIP_GENERAL_CUSTOM}: \
                     set Allow SIP Guests to No in FreePBX (Settings -> Asterisk SIP Settings)"
                ),
            );
            return changed;
        }
        let before = bytes.unwrap_or_default();
        (SIP_GENERAL_CUSTOM, None, IniFile::parse(&before), before)
    } else {
        (SIP_CONF, Some("general"), sip_ini, sip.clone())
    };
    let ok1 = set_or_say(&mut ini, section, "allowguest", "no");
    let ok2 = set_or_say(&mut ini, section, "alwaysauthreject", "yes");
    if !(ok1 && ok2) {
        b.error(KEY, format!("{path} has no [general] section"));
        return changed;
    }
    let after = ini.to_bytes();
    if after != before {
        b.write(
            path,
            Some(after),
            0o640,
            "no calls from unknown SIP callers, and the same answer for every failed login",
        );
        changed = true;
    }
    changed
}

/// Set a key; false only when the section is missing.
fn set_or_say(ini: &mut IniFile, section: Option<&str>, key: &str, value: &str) -> bool {
    let already = match section {
        Some(s) => ini.get(s, key).map(|(v, _)| v.eq_ignore_ascii_case(value)),
        None => ini
            .entries()
            .into_iter()
            .find(|(s, k, _, _)| s.is_none() && k.eq_ignore_ascii_case(key))
            .map(|(_, _, v, _)| v.eq_ignore_ascii_case(value)),
    };
    already == Some(true) || ini.set(section, key, value)
}

/// PJSIP sections `[anonymous]` of `type = endpoint`, in every pjsip*.conf: (file, line).
pub fn anonymous_endpoints(b: &Builder<'_>) -> Vec<(String, usize)> {
    let mut out = Vec::new();
    let files: Vec<String> = b
        .sys
        .root
        .list_dir("/etc/asterisk")
        .unwrap_or_default()
        .into_iter()
        .filter(|n| n.starts_with("pjsip") && n.ends_with(".conf"))
        .map(|n| format!("/etc/asterisk/{n}"))
        .collect();
    for f in files {
        let Ok(Some(bytes)) = b.current(&f) else {
            continue;
        };
        let ini = IniFile::parse(&bytes);
        for h in ini.section_headers() {
            if !h.name.eq_ignore_ascii_case("anonymous") {
                continue;
            }
            let endpoint = ini.entries().into_iter().any(|(s, k, v, _)| {
                s.is_some_and(|s| s.eq_ignore_ascii_case("anonymous"))
                    && k.eq_ignore_ascii_case("type")
                    && v.eq_ignore_ascii_case("endpoint")
            });
            if endpoint {
                out.push((f.clone(), h.line));
            }
        }
    }
    out
}
