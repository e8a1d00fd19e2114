//! The firewall step's audit rules: APF installed (unless another firewall is in charge)
//! and out of DEVEL_MODE.

use crate::model::audit::{Audit, Severity, read_vars, var_line};
use crate::steps::services::Inventory;

const APF_CONF: &str = "/etc/apf/conf.apf";
const WHY_APF: &str = "the seed: \"Never have your trixbox system exposed completely on the open \
     Internet\"; APF is its firewall";
const WHY_DEVEL: &str = "with DEVEL_MODE=\"1\" APF flushes its rules every 5 minutes, leaving the \
     box open; the seed sets it to 0 once SSH is proven";

/// APF: installed (unless another firewall is in charge) and out of DEVEL_MODE.
pub fn rules(a: &mut Audit<'_>, inventory: &Inventory) {
    let root = a.root().clone();
    match read_vars(&root, APF_CONF) {
        // Another firewall is in charge: not a finding of APF's.
        None if other_firewall(a, inventory).is_some() => {}
        None => a.add(
            "firewall.apf_absent",
            Severity::Medium,
            None,
            "APF is not installed (no /etc/apf/conf.apf)".into(),
            None,
            WHY_APF,
            Some("firewall.backend"),
            "[firewall] backend = \"apf\" with the ports the PBX needs, once APF is installed"
                .into(),
        ),
        Some(v) => {
            if v.get("DEVEL_MODE").is_some_and(|d| d.trim() == "1") {
                a.add(
                    "firewall.apf_devel_mode",
                    Severity::High,
                    None,
                    "APF is left in DEVEL_MODE=\"1\": its rules are flushed every 5 minutes".into(),
                    Some((APF_CONF.into(), var_line(&v, "DEVEL_MODE"))),
                    WHY_DEVEL,
                    Some("firewall"),
                    "apply a [firewall] section: pbx-harden keeps DEVEL_MODE on only until you confirm"
                        .into(),
                );
            }
        }
    }
}

/// A firewall other than APF that is on: firewalld or nftables enabled or running, ufw
/// with ENABLED=yes.
fn other_firewall(a: &Audit<'_>, inventory: &Inventory) -> Option<&'static str> {
    let on = |name: &str| {
        inventory
            .find(name)
            .is_some_and(|s| s.enabled || s.active == Some(true))
    };
    let ufw = a
        .root()
        .read_text("/etc/ufw/ufw.conf")
        .ok()
        .flatten()
        .is_some_and(|t| {
            t.lines()
                .any(|l| l.trim().eq_ignore_ascii_case("ENABLED=yes"))
        });
    if ufw {
        Some("ufw")
    } else if on("firewalld") {
        Some("firewalld")
    } else if on("nftables") {
        Some("nftables")
    } else {
        None
    }
}
