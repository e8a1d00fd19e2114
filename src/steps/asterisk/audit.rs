//! The Asterisk step's audit rules: the manager interface (`ami`), SIP guests and PJSIP's
//! anonymous endpoint (`sip_guests`), weak, missing and open SIP/IAX secrets (`secrets`).

use crate::config::ini::IniFile;
use crate::model::audit::{Audit, Finding, Severity};
use crate::steps::asterisk::{self, Problem, Reason, Scan};

const WHY_SECRET: &str = "the seed: \"several scripts that are available look for exactly this \
     setup when trying to attack Asterisk-based systems\"; svcrack tries secret = extension first";
const WHY_NO_SECRET: &str = "anyone who knows the extension number can register as it and make \
     calls on your account";
const WHY_OPEN_IAX: &str = "anyone on the Internet can place calls into that context without a \
     password; the seed keeps IAX closed to all but known hosts";
const WHY_AMI: &str = "the Asterisk Manager Interface (5038) controls the whole PBX (it can \
     originate calls); it must never be reachable from outside";
const WHY_SIP_GUESTS: &str = "chan_sip lets unknown callers in (allowguest defaults to yes) and, \
     without alwaysauthreject, tells a scanner which extension numbers exist";
const WHY_PJSIP_ANON: &str = "an endpoint named anonymous answers calls from anyone who is not \
     another endpoint: toll fraud dials out through it";
const WHY_AMI_SECRET: &str = "an AMI login can originate calls and read every configuration; \
     FreePBX's default AMI password is in every attack script";

fn is_loopback(addr: &str) -> bool {
    addr.parse::<std::net::IpAddr>()
        .is_ok_and(|ip| ip.is_loopback())
        || addr.eq_ignore_ascii_case("localhost")
}

pub fn ami(a: &mut Audit<'_>) {
    let path = "/etc/asterisk/manager.conf";
    let Ok(Some(b)) = a.root().read(path) else {
        return;
    };
    let ini = IniFile::parse(&b);
    let enabled = ini.get("general", "enabled").is_some_and(|(v, _)| {
        matches!(v.to_ascii_lowercase().as_str(), "yes" | "true" | "1" | "on")
    });
    if !enabled {
        return;
    }
    let (bind, bind_line) = ini
        .get("general", "bindaddr")
        .map(|(v, l)| (v.to_string(), Some(l + 1)))
        .unwrap_or_else(|| {
            (
                "0.0.0.0".into(),
                ini.get("general", "enabled").map(|(_, l)| l + 1),
            )
        });
    let port = ini
        .get("general", "port")
        .map(|(v, _)| v.to_string())
        .unwrap_or_else(|| "5038".into());
    if !is_loopback(&bind) {
        let everywhere = matches!(bind.as_str(), "0.0.0.0" | "::" | "[::]");
        let private = bind
            .parse::<std::net::Ipv4Addr>()
            .is_ok_and(|ip| ip.is_private());
        let (sev, where_) = if everywhere {
            (Severity::High, "every address".to_string())
        } else if private {
            (Severity::Medium, format!("the LAN address {bind}"))
        } else {
            (Severity::High, format!("the public address {bind}"))
        };
        a.add(
            "ami.public",
            sev,
            None,
            format!("the Asterisk Manager Interface listens on {where_}, port {port}"),
            Some((path.into(), bind_line)),
            WHY_AMI,
            Some("asterisk.ami_localhost"),
            format!(
                "[asterisk] ami_localhost = true (bindaddr = 127.0.0.1 in [general] of {path}); \
                 keep {port} closed in the firewall"
            ),
        );
    }
    let freepbx = a.root().exists("/etc/freepbx.conf") || a.root().exists("/etc/amportal.conf");
    for (s, k, v, line) in ini.entries() {
        let Some(user) = s else { continue };
        if user.eq_ignore_ascii_case("general") || !k.eq_ignore_ascii_case("secret") {
            continue;
        }
        let reasons = asterisk::weak::assess(v, &[("user name", user)]);
        if reasons.is_empty() {
            continue;
        }
        let mut f = Finding {
            id: "ami.weak_secret".into(),
            severity: Severity::Medium,
            subject: Some(format!("AMI user {user}")),
            title: format!(
                "AMI user {user} has a weak secret: {}",
                asterisk::weak::describe(&reasons)
            ),
            file: Some(path.into()),
            line: Some(line + 1),
            why: WHY_AMI_SECRET.into(),
            answers_key: (!freepbx).then(|| "asterisk.ami_localhost".to_string()),
            fix: if freepbx {
                "set a long random secret in FreePBX (AMPMGRPASS: Settings -> Advanced \
                 Settings, or /etc/amportal.conf on older releases), then restart FreePBX"
                    .into()
            } else {
                "[asterisk] ami_localhost = true (a random secret, written to a root-only \
                 report for the tools that log in to AMI)"
                    .into()
            },
            reasons: reasons.iter().map(|r| r.code().to_string()).collect(),
        };
        if reasons.iter().any(|r| matches!(r, Reason::CommonPassword)) {
            f.severity = Severity::High;
        }
        a.findings.push(f);
    }
}

/// chan_sip's guests (sip.conf's [general] and what it #includes there: FreePBX's
/// sip_general_*.conf), and PJSIP's anonymous endpoint.
pub fn sip_guests(a: &mut Audit<'_>) {
    let dir = "/etc/asterisk";
    let root = a.root().clone();
    let read = |p: &str| root.read(p).ok().flatten();
    if let Some(sip) = read("/etc/asterisk/sip.conf") {
        // The last value in [general] wins; #include lines inside [general] count there.
        let mut allowguest: Option<String> = None;
        let mut reject: Option<String> = None;
        let mut in_general = false;
        let text = String::from_utf8_lossy(&sip).into_owned();
        for line in text.lines() {
            let t = line.trim();
            if let Some(name) = t.strip_prefix('[') {
                in_general = name
                    .split(']')
                    .next()
                    .is_some_and(|n| n.eq_ignore_ascii_case("general"));
                continue;
            }
            if !in_general {
                continue;
            }
            let included = t
                .strip_prefix("#include")
                .map(|f| f.trim().trim_matches('"').to_string());
            let body = match included {
                Some(f) => {
                    let p = if f.starts_with('/') {
                        f
                    } else {
                        format!("{dir}/{f}")
                    };
                    read(&p)
                        .map(|b| String::from_utf8_lossy(&b).into_owned())
                        .unwrap_or_default()
                }
                None => line.to_string(),
            };
            for l in body.lines() {
                let l = l.split(';').next().unwrap_or("");
                if let Some((k, v)) = l.split_once('=') {
                    let (k, v) = (
                        k.trim().trim_end_matches('>'),
                        v.trim().trim_start_matches('>'),
                    );
                    if k.eq_ignore_ascii_case("allowguest") {
                        allowguest = Some(v.to_ascii_lowercase());
                    } else if k.eq_ignore_ascii_case("alwaysauthreject") {
                        reject = Some(v.to_ascii_lowercase());
                    }
                }
            }
        }
        let no = |v: &Option<String>| {
            v.as_deref()
                .is_some_and(|v| matches!(v, "no" | "false" | "0" | "off"))
        };
        let yes = |v: &Option<String>| {
            v.as_deref()
                .is_some_and(|v| matches!(v, "yes" | "true" | "1" | "on"))
        };
        if !no(&allowguest) || !yes(&reject) {
            a.add(
                "sip.guests",
                if no(&allowguest) {
                    Severity::Low
                } else {
                    Severity::Medium
                },
                None,
                if no(&allowguest) {
                    "chan_sip tells scanners which extensions exist (alwaysauthreject is off)"
                        .into()
                } else {
                    "chan_sip accepts calls from unknown callers (allowguest is not no)".into()
                },
                Some(("/etc/asterisk/sip.conf".into(), None)),
                WHY_SIP_GUESTS,
                Some("asterisk.sip_guests"),
                "[asterisk] sip_guests = false (allowguest = no, alwaysauthreject = yes)".into(),
            );
        }
    }
    for n in root.list_dir(dir).unwrap_or_default() {
        if !(n.starts_with("pjsip") && n.ends_with(".conf")) {
            continue;
        }
        let p = format!("{dir}/{n}");
        let Some(b) = read(&p) else { continue };
        let ini = IniFile::parse(&b);
        let anon = ini.entries().into_iter().find(|(s, k, v, _)| {
            s.is_some_and(|s| s.eq_ignore_ascii_case("anonymous"))
                && k.eq_ignore_ascii_case("type")
                && v.eq_ignore_ascii_case("endpoint")
        });
        if let Some((_, _, _, line)) = anon {
            a.add(
                "pjsip.anonymous",
                Severity::High,
                None,
                "the PJSIP endpoint anonymous accepts calls from anyone".into(),
                Some((p.clone(), Some(line + 1))),
                WHY_PJSIP_ANON,
                Some("asterisk.sip_guests"),
                "remove the anonymous endpoint (FreePBX: Settings -> Asterisk SIP Settings -> \
                 Allow Anonymous Inbound SIP Calls = No)"
                    .into(),
            );
        }
    }
}

/// Weak, missing and open SIP/IAX secrets of the extension scan.
pub fn secrets(a: &mut Audit<'_>, scan: &Scan) {
    for e in &scan.errors {
        a.not_checked.push(format!("Asterisk: {e}"));
    }
    let mut out = Vec::new();
    for (p, problem) in scan.problems() {
        let generated = scan.is_generated(p.secret.as_ref().map_or(&p.file, |s| &s.file));
        let at = match &p.secret {
            Some(s) => (s.file.clone(), Some(s.line + 1)),
            None => (p.file.clone(), Some(p.line + 1)),
        };
        let f = match problem {
            Problem::Weak { reasons } => {
                let first_tried = reasons.iter().any(|r| {
                    matches!(
                        r,
                        Reason::SameAsName(_) | Reason::AllDigits | Reason::CommonPassword
                    )
                });
                let manual = asterisk::manual_fix(scan, p);
                Finding {
                    id: "secret.weak".into(),
                    severity: if first_tried {
                        Severity::High
                    } else {
                        Severity::Medium
                    },
                    subject: Some(p.describe()),
                    title: format!(
                        "{} has a weak secret: {}",
                        p.describe(),
                        asterisk::weak::describe(reasons)
                    ),
                    file: Some(at.0),
                    line: at.1,
                    why: WHY_SECRET.into(),
                    answers_key: manual.is_none().then(|| "extensions.rotate_weak".into()),
                    fix: manual.unwrap_or_else(|| {
                        "[extensions] rotate_weak = true (new secrets go to a root-only report \
                         for re-provisioning the phones)"
                            .into()
                    }),
                    reasons: reasons.iter().map(|r| r.code().to_string()).collect(),
                }
            }
            Problem::NoSecret => Finding {
                id: "secret.none".into(),
                severity: Severity::High,
                subject: Some(p.describe()),
                title: format!("{} accepts registrations without a secret", p.describe()),
                file: Some(at.0),
                line: at.1,
                why: WHY_NO_SECRET.into(),
                answers_key: None,
                fix: if generated {
                    format!(
                        "set a secret for extension {} in the FreePBX web interface, then Apply \
                         Config",
                        p.extension
                    )
                } else {
                    format!(
                        "give [{}] a long random secret (PJSIP: an auth= section) in {}",
                        p.name, p.file
                    )
                },
                reasons: Vec::new(),
            },
            Problem::OpenIax { context } => Finding {
                id: "iax.open_user".into(),
                severity: Severity::High,
                subject: Some(p.describe()),
                title: format!(
                    "{} takes IAX calls with no secret from any address{}",
                    p.describe(),
                    context
                        .as_ref()
                        .map(|c| format!(" (into context {c})"))
                        .unwrap_or_default()
                ),
                file: Some(at.0),
                line: at.1,
                why: WHY_OPEN_IAX.into(),
                answers_key: None,
                fix: format!(
                    "remove [{}] from {}, or add deny=0.0.0.0/0.0.0.0 and a permit= for each \
                     server that may call",
                    p.name, p.file
                ),
                reasons: Vec::new(),
            },
        };
        out.push(f);
    }
    a.findings.extend(out);
}
