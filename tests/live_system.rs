//! The live path (`--root /`), on this machine, inside a private mount namespace whose
//! /etc, /home and /var are overlays (nothing persists): a running sshd is moved to a new
//! port with the real `service ssh restart`, apply waits for its banner, confirm at the console
//! is refused even while a login on the new port exists (it is not this session's) and
//! accepted with --here given twice (no terminal to ask); a second change is
//! rolled back and sshd is back on its old port.

mod common;

use std::process::Command;

use common::*;

const PW: &str = "Tundra mosaic 8! lantern quill";

#[test]
fn live_restart_banner_check_and_confirm_from_a_new_login() {
    if !require_root()
        || require("sshd").is_none()
        || require("sshpass").is_none()
        || require("unshare").is_none()
        || require("service").is_none()
    {
        return;
    }
    if !std::path::Path::new("/etc/init.d/ssh").exists() {
        assert!(!in_ci(), "CI installs openssh-server with its init script");
        return;
    }
    let w = tempfile::tempdir().unwrap();
    let port: u16 = (22100..22200)
        .find(|p| std::net::TcpListener::bind(("127.0.0.1", *p)).is_ok())
        .unwrap();
    let port2 = port + 1;
    let a = write_answers(
        w.path(),
        &format!(
            "[user]\nname = \"pbxtestuser\"\npassword = \"{PW}\"\n[ssh]\nport = {port}\n[apply]\nconfirm_timeout = \"2m\"\n"
        ),
    );
    let a2 = write_answers_named(
        w.path(),
        "a2.toml",
        &format!("[ssh]\nport = {port2}\nallow_users = [\"pbxtestuser\"]\n"),
    );
    let ovl = w.path().join("ovl");
    let script = format!(
        r#"set -u
O={ovl}
for d in etc home var; do mkdir -p $O/$d/up $O/$d/work; done
mount --make-rprivate /
for d in etc home var; do mount -t overlay overlay -o lowerdir=/$d,upperdir=$O/$d/up,workdir=$O/$d/work /$d; done
mount -t tmpfs tmpfs /run
mkdir -p /run/sshd
trap 'start-stop-daemon --stop --quiet --pidfile /run/sshd.pid >/dev/null 2>&1; pkill -f "pbx-harden.*watchdog" >/dev/null 2>&1' EXIT
# The box as it is: sshd running on 22 from the distribution's config.
service ssh start >/dev/null 2>&1 || echo "MARK sshd-start-failed"
BIN={bin}
$BIN apply --answers {a} > $O/apply.out 2>&1; echo "MARK apply-exit=$?"
cat $O/apply.out
$BIN status
$BIN confirm > $O/c1.out 2>&1; echo "MARK confirm-without-login-exit=$?"; cat $O/c1.out
SSHPASS='{pw}' sshpass -e ssh -p {port} -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
  -o PubkeyAuthentication=no -o LogLevel=ERROR pbxtestuser@127.0.0.1 'echo MARK logged-in-as-$(id -un); sleep 4' &
sleep 2
$BIN confirm > $O/c2.out 2>&1; echo "MARK confirm-with-other-login-exit=$?"; cat $O/c2.out
wait
$BIN confirm --here > $O/c3.out 2>&1 </dev/null; echo "MARK confirm-here-once-exit=$?"; cat $O/c3.out
$BIN confirm --here --here > $O/c4.out 2>&1 </dev/null; echo "MARK confirm-here-exit=$?"; cat $O/c4.out
/usr/sbin/sshd -T | grep -E '^(port|permitrootlogin|allowusers) ' | sed 's/^/MARK T /'
# A second change, rolled back: sshd returns to the first port.
$BIN apply --answers {a2} > $O/apply2.out 2>&1; echo "MARK apply2-exit=$?"
$BIN rollback > $O/rb.out 2>&1; echo "MARK rollback-exit=$?"; cat $O/rb.out
sleep 1
(exec 3<>/dev/tcp/127.0.0.1/{port} && head -c 4 <&3 | sed 's/^/MARK banner-after-rollback=/'; echo) 2>/dev/null
"#,
        ovl = ovl.display(),
        bin = bin().display(),
        a = a.display(),
        a2 = a2.display(),
        pw = PW,
    );
    let o = Command::new("unshare")
        .args(["--mount", "--", "/bin/bash", "-c", &script])
        .env("SSH_CONNECTION", "")
        .env("SSH_CLIENT", "")
        .output()
        .unwrap();
    let out = text(&o);
    let has = |m: &str| out.contains(m);
    assert!(!has("MARK sshd-start-failed"), "{out}");
    assert!(has("MARK apply-exit=0"), "{out}");
    assert!(has("running service ssh restart"), "{out}");
    assert!(has(&format!("sshd answers on port {port}")), "{out}");
    assert!(has(&format!("ssh -p {port} pbxtestuser@")), "{out}");
    assert!(has("MARK confirm-without-login-exit=1"), "{out}");
    assert!(
        has(&format!("confirm from a new login on port {port}")),
        "{out}"
    );
    assert!(has("MARK logged-in-as-pbxtestuser"), "{out}");
    // Another session on the new port does not prove anything about this one.
    assert!(has("MARK confirm-with-other-login-exit=1"), "{out}");
    assert!(has("this session is not an SSH login"), "{out}");
    // --here is asked twice: without a terminal, it must be given twice.
    assert!(has("MARK confirm-here-once-exit=2"), "{out}");
    assert!(has("confirm --here --here"), "{out}");
    assert!(has("MARK confirm-here-exit=0"), "{out}");
    assert!(has(&format!("MARK T port {port}\n")), "{out}");
    assert!(has("MARK T permitrootlogin no"), "{out}");
    assert!(has("MARK T allowusers pbxtestuser"), "{out}");
    assert!(has("MARK apply2-exit=0"), "{out}");
    assert!(has("MARK rollback-exit=0"), "{out}");
    assert!(
        has("MARK banner-after-rollback=SSH-"),
        "sshd is back on {port}: {out}"
    );
    // nothing leaked out of the namespace
    assert!(
        !std::fs::read_to_string("/etc/passwd")
            .unwrap()
            .contains("pbxtestuser")
    );
}

fn write_answers_named(dir: &std::path::Path, name: &str, text: &str) -> std::path::PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}
