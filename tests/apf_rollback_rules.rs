//! The commands apply and rollback run around an APF restart on the live system, run for
//! real with iptables inside a private network namespace (`unshare -n`): the rules saved
//! before the restart come back exactly, including a table APF added (mangle, for TOS).
//! APF's own DEVEL_MODE would only have flushed them (everything open).

mod common;

use std::process::Command;

use pbx_harden::plan::actions::shell_quote;
use pbx_harden::steps::firewall::apf::{restore_argv, save_argv};

fn line(argv: &[String]) -> String {
    argv.iter()
        .map(|a| shell_quote(a))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Normalized `iptables-save`: no comments, no counters, no table without rules.
const DUMP: &str = r#"iptables-save | grep -v '^#' | sed 's/ \[[0-9]*:[0-9]*\]$//' | awk '
  /^\*/ { t = $0; body = ""; rules = 0; next }
  /^COMMIT/ { if (rules || body ~ /(DROP|REJECT)/) printf "%s\n%sCOMMIT\n", t, body; next }
  { body = body $0 "\n"; if ($0 ~ /^-A/) rules = 1 }'"#;

#[test]
fn saved_rules_come_back_after_an_apf_restart() {
    if common::require("iptables-save").is_none() || !common::require_root() {
        return;
    }
    if !Command::new("unshare")
        .args(["-n", "true"])
        .status()
        .is_ok_and(|s| s.success())
    {
        // A container without CAP_SYS_ADMIN: no private network namespace to play in.
        eprintln!("unshare -n is not permitted here: this test is skipped");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let snap = dir.path().join("iptables.rules").display().to_string();
    let script = format!(
        r#"set -e
# The rules before apply (an admin's own, SSH on 22).
iptables -A INPUT -p tcp --dport 22 -j ACCEPT
iptables -A INPUT -s 198.51.100.7 -j DROP
iptables -P INPUT DROP
{dump} > {before}
# apply: save, then "APF restarts" with new rules and a mangle table.
{save}
iptables -F; iptables -N TALLOW; iptables -A INPUT -j TALLOW
iptables -A INPUT -p tcp --dport 22022 -j ACCEPT; iptables -P INPUT ACCEPT
iptables -t mangle -A PREROUTING -p udp --sport 5060 -j TOS --set-tos 16
# rollback: the undo command
{restore}
{dump} > {after}
# A rollback after a failed apply that never saved anything changes nothing.
{restore_missing}
{dump} > {after2}
"#,
        dump = DUMP,
        before = dir.path().join("before").display(),
        after = dir.path().join("after").display(),
        after2 = dir.path().join("after2").display(),
        save = line(&save_argv("iptables", &snap)),
        restore = line(&restore_argv("iptables", &snap)),
        restore_missing = line(&restore_argv(
            "iptables",
            &dir.path().join("missing").display().to_string()
        )),
    );
    let o = Command::new("unshare")
        .args(["-n", "bash", "-c", &script])
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    let before = std::fs::read_to_string(dir.path().join("before")).unwrap();
    let after = std::fs::read_to_string(dir.path().join("after")).unwrap();
    assert!(
        before.contains("-A INPUT -s 198.51.100.7/32 -j DROP"),
        "{before}"
    );
    assert!(before.contains(":INPUT DROP"), "{before}");
    assert_eq!(after, before, "before:\n{before}");
    assert_eq!(
        std::fs::read_to_string(dir.path().join("after2")).unwrap(),
        before
    );
}
