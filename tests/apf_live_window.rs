//! The real APF (vendored 9.7-2, /work/shared/vendor) started on the conf.apf pbx-harden writes
//! when SSH moves from 22 to 22022, in a private network namespace (`unshare -n`, a veth named
//! eth0), as the vendor README describes: after apply both ports are accepted (the old one
//! until confirm); after confirm only the new one, and what confirm changed in conf.apf is
//! exactly the old port out of IG_TCP_CPORTS and DEVEL_MODE back to 0.
//!
//! The vendored tree is `$PBX_HARDEN_VENDOR`, else `vendor` next to `$PBX_HARDEN_CORPUS`.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

fn vendor_apf() -> Option<PathBuf> {
    let base = match std::env::var("PBX_HARDEN_VENDOR") {
        Ok(v) => PathBuf::from(v),
        Err(_) => Path::new(&std::env::var("PBX_HARDEN_CORPUS").ok()?)
            .parent()?
            .join("vendor"),
    };
    let d = base.join("apf/9.7-2/files");
    d.join("apf").exists().then_some(d)
}

fn pbx(root: &Path, args: &[&str]) -> String {
    let o = Command::new(env!("CARGO_BIN_EXE_pbx-harden"))
        .arg("--root")
        .arg(root)
        .args(args)
        .output()
        .unwrap();
    let out = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(o.status.success(), "{args:?}: {out}");
    out
}

/// Start APF from a copy of the root's /etc/apf (paths rewritten, no downloads, no cron) in a
/// new network namespace; the INPUT rules it loaded.
fn apf_rules(root: &Path, work: &Path, label: &str) -> String {
    let a = work.join(label);
    let ok = Command::new("cp")
        .arg("-a")
        .arg(root.join("etc/apf"))
        .arg(&a)
        .status()
        .unwrap();
    assert!(ok.success());
    let a = a.display().to_string();
    let script = format!(
        r#"set -e
A={a}
grep -rl /etc/apf "$A" | xargs sed -i "s#/etc/apf#$A#g"
sed -i -e 's/^SET_MONOKERN=.*/SET_MONOKERN="1"/' -e 's/^\(DLIST_[A-Z_]*\)=.*/\1="0"/' \
  -e 's/^USE_RGT=.*/USE_RGT="0"/' -e 's/^DEVEL_MODE=.*/DEVEL_MODE="0"/' "$A/conf.apf"
ip link set lo up
ip link add eth0 type veth peer name eth0p
ip addr add 192.0.2.1/24 dev eth0
ip link set eth0 up; ip link set eth0p up
"$A/apf" -s >/dev/null 2>&1
iptables -S INPUT
"$A/apf" -f >/dev/null 2>&1 || true
"#
    );
    let o = Command::new("unshare")
        .args(["-n", "bash", "-c", &script])
        .output()
        .unwrap();
    // APF links its refresh cron into /etc/cron.d, pointing into the copy.
    if let Ok(t) = std::fs::read_link("/etc/cron.d/refresh.apf")
        && t.starts_with(&a)
    {
        let _ = std::fs::remove_file("/etc/cron.d/refresh.apf");
    }
    assert!(
        o.status.success(),
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn accepts(rules: &str, port: u16) -> bool {
    rules
        .lines()
        .any(|l| l == format!("-A INPUT -p tcp -m tcp --dport {port} -j ACCEPT"))
}

#[test]
fn the_old_ssh_port_stays_open_in_the_real_apf_until_confirm() {
    if common::require("iptables").is_none() || !common::require_root() {
        return;
    }
    let Some(vendor) = vendor_apf() else {
        assert!(!common::in_ci(), "the vendored APF is required in CI");
        eprintln!("the vendored APF is not found: this test is skipped");
        return;
    };
    if !Command::new("unshare")
        .args(["-n", "true"])
        .status()
        .is_ok_and(|s| s.success())
    {
        eprintln!("unshare -n is not permitted here: this test is skipped");
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let root = work.path().join("root");
    let o = Command::new(env!("CARGO_BIN_EXE_pbx-harden"))
        .args(["demo", "--extract"])
        .arg(&root)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    std::fs::remove_dir_all(root.join("etc/apf")).unwrap();
    let ok = Command::new("cp")
        .arg("-a")
        .arg(&vendor)
        .arg(root.join("etc/apf"))
        .status()
        .unwrap();
    assert!(ok.success());
    let answers = work.path().join("a.toml");
    std::fs::write(&answers, "[ssh]\nport = 22022\npermit_root_login = true\n").unwrap();

    pbx(&root, &["apply", "--answers", answers.to_str().unwrap()]);
    let conf = root.join("etc/apf/conf.apf");
    let window = std::fs::read_to_string(&conf).unwrap();
    let rules = apf_rules(&root, work.path(), "window");
    assert!(
        accepts(&rules, 22022) && accepts(&rules, 22),
        "both ports during the window:\n{rules}"
    );

    let out = pbx(&root, &["confirm"]);
    assert!(out.contains("22 out of IG_TCP_CPORTS"), "{out}");
    let confirmed = std::fs::read_to_string(&conf).unwrap();
    assert_eq!(
        confirmed,
        window
            .replace("\nIG_TCP_CPORTS=\"22022,22\"", "\nIG_TCP_CPORTS=\"22022\"")
            .replace("\nDEVEL_MODE=\"1\"", "\nDEVEL_MODE=\"0\"")
    );
    let rules = apf_rules(&root, work.path(), "confirmed");
    assert!(
        accepts(&rules, 22022) && !accepts(&rules, 22),
        "only the new port after confirm:\n{rules}"
    );
}
