//! The brute-force step's audit rules: BFD's trigger, fail2ban's sshd and asterisk jails.

use crate::config::jail::JailFile;
use crate::model::audit::{Audit, Severity, read_vars, var_line};
use crate::steps::services::Inventory;

const BFD_CONFS: &[&str] = &["/usr/local/bfd/conf.bfd", "/etc/bfd/conf.bfd"];
const WHY_TRIG: &str = "the seed: \"I recommend not setting this above 5 to reduce the number of \
     attempts that are allowed\"";
const WHY_BRUTE: &str = "the seed: \"it is now recommended that you set up tools to capture \
     illegitimate login requests and block those IP addresses\"";

/// Brute-force protection: BFD's trigger, an enabled sshd or asterisk jail of fail2ban.
pub fn rules(a: &mut Audit<'_>, inventory: &Inventory) {
    let root = a.root().clone();
    let bfd = BFD_CONFS
        .iter()
        .find_map(|p| read_vars(&root, p).map(|v| (p.to_string(), v)));
    if let Some((path, v)) = &bfd {
        let key = if v.has("TRIG") {
            "TRIG"
        } else {
            "PRESSURE_TRIP"
        };
        if let Some(t) = v.get(key).and_then(|t| t.trim().parse::<i64>().ok())
            && t > 5
        {
            a.add(
                "bfd.trig",
                Severity::Medium,
                None,
                format!("BFD bans an address only after {t} failed logins ({key}=\"{t}\")"),
                Some((path.clone(), var_line(v, key))),
                WHY_TRIG,
                Some("bfd.trig"),
                "[bfd] trig = 5".into(),
            );
        }
    }
    let f2b = fail2ban_jails(a, inventory);
    let protected = bfd.is_some() || f2b.as_ref().is_some_and(|j| !j.is_empty());
    if !protected {
        let title = match &f2b {
            Some(_) => "fail2ban is installed but no sshd or asterisk jail is enabled".to_string(),
            None => "nothing blocks brute-force logins (neither BFD nor fail2ban)".to_string(),
        };
        a.add(
            "bruteforce.none",
            Severity::High,
            None,
            title,
            f2b.as_ref()
                .map(|_| ("/etc/fail2ban/jail.conf".to_string(), None)),
            WHY_BRUTE,
            Some("firewall.backend"),
            "[firewall] backend = \"apf\" (APF + BFD) or \"fail2ban\", once installed".into(),
        );
    }
}

/// fail2ban: is a jail for SSH or Asterisk enabled? `None` when fail2ban is not installed.
fn fail2ban_jails(a: &Audit<'_>, inventory: &Inventory) -> Option<Vec<String>> {
    let root = a.root();
    if !root.exists("/etc/fail2ban/jail.conf") {
        return None;
    }
    let mut files = vec!["/etc/fail2ban/jail.conf".to_string()];
    files.extend(root.glob("/etc/fail2ban/jail.d/*.conf"));
    files.push("/etc/fail2ban/jail.local".into());
    files.extend(root.glob("/etc/fail2ban/jail.d/*.local"));
    let mut default_on = false;
    let mut jails: std::collections::BTreeMap<String, Option<bool>> = Default::default();
    for f in files {
        let Ok(Some(b)) = root.read(&f) else { continue };
        // fail2ban's own syntax (`enabled: true` as well as `enabled = true`), not Asterisk's.
        for (section, key, value) in JailFile::parse(&b).entries() {
            let on = key.eq_ignore_ascii_case("enabled").then(|| {
                let word = value.split_whitespace().next().unwrap_or("");
                matches!(
                    word.to_ascii_lowercase().as_str(),
                    "true" | "yes" | "1" | "on"
                )
            });
            if section.eq_ignore_ascii_case("DEFAULT") || section.eq_ignore_ascii_case("INCLUDES") {
                if let Some(on) = on
                    && section.eq_ignore_ascii_case("DEFAULT")
                {
                    default_on = on;
                }
                continue;
            }
            let e = jails.entry(section).or_insert(None);
            if on.is_some() {
                *e = on;
            }
        }
    }
    let service_off = inventory
        .find("fail2ban")
        .is_some_and(|s| !s.enabled && s.active != Some(true));
    if service_off {
        return Some(Vec::new());
    }
    Some(
        jails
            .into_iter()
            .filter(|(_, on)| on.unwrap_or(default_on))
            .map(|(n, _)| n)
            .filter(|n| {
                let n = n.to_lowercase();
                n.contains("ssh") || n.contains("asterisk")
            })
            .collect(),
    )
}
