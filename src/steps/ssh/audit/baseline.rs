//! Audit findings for the SSH hardening baseline and weak algorithms (`ssh.baseline`,
//! `ssh.modern_crypto`): one finding per baseline item the sshd misses and per weak algorithm
//! it offers, each with its reason, and host keys that auditors fail (ECDSA, DSA, RSA below
//! 3072 bits).
//!
//! Values come from the configuration (file and line) or, when a keyword is not set, from the
//! default of the target's OpenSSH release (`crate::steps::ssh::baseline::detect`). Algorithm lists
//! that are not set are judged by `sshd -T` when the host's sshd is the target's release (the
//! live system, or a copy of the same release), else by the release's defaults from the table.

use crate::config::sshd::SshdConfig;
use crate::model::audit::{Audit, Severity};
use crate::steps::ssh::baseline::{self as base, Kind, Target, Version};
use crate::steps::ssh::check::{Outcome, validate};

/// Where a finding sits: path and 1-based line.
type At = Option<(String, Option<usize>)>;

const FIX_BASELINE: &str = "[ssh] baseline = true (each value only where this sshd accepts it)";
const FIX_CRYPTO: &str =
    "[ssh] modern_crypto = true (the wizard lists the old clients it cuts off)";

/// Seconds of an sshd time value: `120`, `2m`, `1m30s`.
fn seconds(v: &str) -> Option<u64> {
    if let Ok(n) = v.parse() {
        return Some(n);
    }
    let mut total = 0u64;
    let mut num = String::new();
    for c in v.chars() {
        if c.is_ascii_digit() {
            num.push(c);
            continue;
        }
        let n: u64 = num.parse().ok()?;
        num.clear();
        total += n * match c.to_ascii_lowercase() {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86400,
            'w' => 604800,
            _ => return None,
        };
    }
    if !num.is_empty() {
        total += num.parse::<u64>().ok()?;
    }
    Some(total)
}

/// The defaults a release uses when the keyword is not set.
fn default_of(keyword: &str, v: Version) -> Option<&'static str> {
    Some(match keyword {
        "maxauthtries" => "6",
        "logingracetime" => "120",
        "clientaliveinterval" => "0",
        "clientalivecountmax" => "3",
        "x11forwarding" => "no",
        "allowagentforwarding" if v >= Version(5, 2) => "yes",
        "loglevel" => "INFO",
        "maxstartups" => "10:30:100",
        "persourcemaxstartups" if v >= Version(8, 5) => "none",
        "allowtcpforwarding" => "yes",
        _ => return None,
    })
}

/// Why the value misses the baseline, or None when it meets it.
fn misses(keyword: &str, value: &str) -> Option<String> {
    let lv = value.to_ascii_lowercase();
    match keyword {
        "maxauthtries" => lv
            .parse::<u32>()
            .ok()
            .filter(|n| *n > 3)
            .map(|n| format!("MaxAuthTries is {n}: {n} password guesses per connection")),
        "logingracetime" => match seconds(&lv) {
            Some(0) => {
                Some("LoginGraceTime 0: an unauthenticated connection is never dropped".into())
            }
            Some(s) if s > 60 => Some(format!(
                "LoginGraceTime is {s} s: an unauthenticated connection may hold a slot that long"
            )),
            _ => None,
        },
        "clientaliveinterval" => match seconds(&lv) {
            Some(0) => Some("ClientAliveInterval is 0: a dead session is never noticed".into()),
            Some(s) if s > 300 => Some(format!("ClientAliveInterval is {s} s (baseline: 300)")),
            _ => None,
        },
        "clientalivecountmax" => lv
            .parse::<u32>()
            .ok()
            .filter(|n| *n > 3)
            .map(|n| format!("ClientAliveCountMax is {n} (baseline: 2-3)")),
        "x11forwarding" => (lv == "yes").then(|| "X11Forwarding yes".to_string()),
        "allowagentforwarding" => (lv == "yes").then(|| "AllowAgentForwarding yes".to_string()),
        "loglevel" => (!matches!(
            lv.as_str(),
            "verbose" | "debug" | "debug1" | "debug2" | "debug3"
        ))
        .then(|| format!("LogLevel {value}: key fingerprints of logins are not logged")),
        "maxstartups" => {
            let f: Vec<u32> = lv.split(':').filter_map(|x| x.parse().ok()).collect();
            let (start, full) = match f.as_slice() {
                [n] => (*n, *n),
                [a, _, c] => (*a, *c),
                _ => return None,
            };
            (start > 10 || full > 60).then(|| {
                format!("MaxStartups {value}: up to {full} unauthenticated connections (baseline 10:30:60)")
            })
        }
        "persourcemaxstartups" => (lv == "none").then(|| {
            "PerSourceMaxStartups is not set: one address can take every unauthenticated slot"
                .to_string()
        }),
        "allowtcpforwarding" => (lv == "yes" || lv == "all").then(|| {
            "AllowTcpForwarding yes: remote forwarding too (local is enough for ssh -L to AMI)"
                .to_string()
        }),
        _ => None,
    }
}

/// Defaults a release offers when a list is not set (from the table; approximate).
fn default_list(kind: Kind, v: Version) -> Vec<&'static str> {
    base::known_set(kind, v)
        .into_iter()
        .filter(|a| {
            let off_67 = a.ends_with("-cbc")
                || a.starts_with("arcfour")
                || a.contains("cbc@")
                || a.starts_with("hmac-md5")
                || a.starts_with("hmac-ripemd")
                || a.ends_with("-96")
                || a.contains("-96-");
            let off_70 = *a == "ssh-dss" || *a == "diffie-hellman-group1-sha1";
            let off_88 = *a == "ssh-rsa";
            !(v >= Version(6, 7) && off_67
                || v >= Version(7, 0) && off_70
                || v >= Version(8, 8) && off_88)
        })
        .collect()
}

pub(super) fn audit(a: &mut Audit<'_>, cfg: &SshdConfig) {
    let sys = a.sys;
    let t = base::detect(sys);
    let v = t.version();
    let at = |o: &crate::config::sshd::Occurrence| {
        Some((cfg.files[o.file].path.clone(), Some(o.line + 1)))
    };
    let main = cfg
        .files
        .first()
        .map(|f| f.path.clone())
        .unwrap_or_default();

    // Baseline items.
    let keys = base::BASELINE.iter().map(|(k, _, why)| (*k, *why)).chain([(
        "AllowTcpForwarding",
        "remote forwarding lets a logged-in user open ports on the PBX for others",
    )]);
    for (k, why) in keys {
        let kl = k.to_ascii_lowercase();
        let (value, where_) = match cfg.first(&kl) {
            Some(o) => (o.args.first().cloned().unwrap_or_default(), at(&o)),
            None => match default_of(&kl, v) {
                Some(d) => (d.to_string(), Some((main.clone(), None))),
                None => continue,
            },
        };
        if kl == "allowtcpforwarding" && v < Version(6, 7) {
            continue; // yes or no only: `local` is not there to ask for
        }
        if let Some(title) = misses(&kl, &value) {
            let title = if cfg.first(&kl).is_none() {
                format!("{title} (OpenSSH {v}'s default)")
            } else {
                title
            };
            a.add(
                "ssh.baseline",
                Severity::Low,
                Some(k.to_string()),
                title,
                where_,
                why,
                Some("ssh.baseline"),
                FIX_BASELINE.into(),
            );
        }
    }

    // Algorithms.
    let effective = effective_lists(sys, cfg, &t);
    for kind in Kind::ALL {
        let (list, where_, source) = match cfg.first(kind.keyword()) {
            Some(o) => (
                o.args.first().cloned().unwrap_or_default(),
                at(&o),
                String::new(),
            ),
            None => match &effective {
                Some(m) => match m.get(&kind.keyword().to_ascii_lowercase()) {
                    Some(l) => (
                        l.join(","),
                        Some((main.clone(), None)),
                        " (the default of this sshd)".to_string(),
                    ),
                    None => continue,
                },
                None => (
                    default_list(kind, v).join(","),
                    Some((main.clone(), None)),
                    format!(" (OpenSSH {v}'s default)"),
                ),
            },
        };
        for alg in list.split(',').filter(|x| !x.is_empty()) {
            let alg = alg.trim_start_matches(['+', '-', '^']);
            if let Some(why) = base::weak_reason(kind, alg) {
                a.add(
                    "ssh.weak_algorithm",
                    Severity::Medium,
                    Some(alg.to_string()),
                    format!("sshd offers the {} {alg}{source}", kind.label()),
                    where_.clone(),
                    why,
                    Some("ssh.modern_crypto"),
                    if base::modern_for(&t, kind).is_empty() {
                        format!(
                            "OpenSSH {v} cannot be given a modern {} list: upgrade OpenSSH",
                            kind.label()
                        )
                    } else {
                        FIX_CRYPTO.into()
                    },
                );
            }
        }
    }

    // Host keys.
    let declared: Vec<(String, At)> = {
        let d: Vec<_> = cfg
            .all("hostkey")
            .into_iter()
            .filter_map(|o| o.args.first().cloned().map(|k| (k, at(&o))))
            .collect();
        if d.is_empty() {
            [
                "/etc/ssh/ssh_host_rsa_key",
                "/etc/ssh/ssh_host_dsa_key",
                "/etc/ssh/ssh_host_ecdsa_key",
                "/etc/ssh/ssh_host_ed25519_key",
            ]
            .iter()
            .map(|k| (k.to_string(), None))
            .collect()
        } else {
            d
        }
    };
    for (key, where_) in declared {
        let Some(line) = sys.root.read_text(&format!("{key}.pub")).ok().flatten() else {
            continue;
        };
        let ty = line.split_whitespace().next().unwrap_or("").to_string();
        let why = if ty.starts_with("ecdsa-") {
            Some((
                "an ECDSA host key (NIST P-curve): ssh-audit fails it",
                Severity::Low,
            ))
        } else if ty == "ssh-dss" {
            Some((
                "a DSA host key: 1024 bits, disabled since OpenSSH 7.0",
                Severity::Medium,
            ))
        } else if ty == "ssh-rsa" {
            base::rsa_bits(&line)
                .filter(|b| *b < 3072)
                .map(|_| ("an RSA host key below 3072 bits", Severity::Medium))
        } else {
            None
        };
        if let Some((why, sev)) = why {
            let bits = base::rsa_bits(&line)
                .map(|b| format!(", {b} bits"))
                .unwrap_or_default();
            a.add(
                "ssh.host_key",
                sev,
                Some(key.clone()),
                format!("sshd loads {key} ({ty}{bits})"),
                where_.or(Some((format!("{key}.pub"), None))),
                why,
                Some("ssh.modern_crypto"),
                "[ssh] modern_crypto = true drops ECDSA and DSA host keys; \
                 regenerate_rsa_host_key = true makes a 4096-bit RSA key"
                    .into(),
            );
        }
    }
}

/// `sshd -T` lists when the host's sshd is the target's release.
fn effective_lists(
    sys: &crate::host::Host,
    cfg: &SshdConfig,
    t: &Target,
) -> Option<std::collections::BTreeMap<String, Vec<String>>> {
    let bin = sys.sshd_binary.force().as_ref()?;
    if !sys.root.is_live() {
        let o = sys
            .runner
            .run(
                &crate::exec::argv(&[&bin.display().to_string(), "-V"]),
                None,
            )
            .ok()?;
        let host = base::parse_version(&format!("{}\n{}", o.stdout, o.stderr))?;
        if t.version != Some(host) {
            return None;
        }
    }
    match validate(sys, cfg) {
        Outcome::Accepted(m) => Some(m),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_and_judgements() {
        assert_eq!(seconds("2m"), Some(120));
        assert_eq!(seconds("1m30s"), Some(90));
        assert_eq!(seconds("45"), Some(45));
        assert_eq!(seconds("x"), None);
        assert!(misses("maxauthtries", "6").is_some());
        assert!(misses("maxauthtries", "3").is_none());
        assert!(misses("maxauthtries", "4").is_some());
        assert!(misses("logingracetime", "2m").is_some());
        assert!(misses("logingracetime", "60").is_none());
        assert!(misses("maxstartups", "10:30:100").is_some());
        assert!(misses("maxstartups", "10:30:60").is_none());
        assert!(misses("loglevel", "VERBOSE").is_none());
        assert!(misses("allowtcpforwarding", "local").is_none());
        let d = default_list(Kind::Cipher, Version(9, 2));
        assert!(!d.contains(&"aes128-cbc") && d.contains(&"aes128-ctr"));
        assert!(default_list(Kind::Cipher, Version(4, 3)).contains(&"aes128-cbc"));
    }
}
