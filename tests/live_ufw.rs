//! The ufw backend against a running ufw, on a booted Debian 12 box (tests/boxes/, flavour
//! `ufw`: systemd with ufw enabled, 22/tcp allowed, ufw.service loading the rules at boot,
//! fail2ban installed) in a network namespace joined to the host by a veth pair, so the host
//! connects *through* ufw as a remote admin would:
//!
//! - after `pbx-harden apply` moves SSH, the new port is open and the old one passes (in
//!   ufw's runtime chains only, not in user.rules) until confirm, even when a ufw rule is
//!   added in the window (fail2ban's ban, `ufw insert`, reloads ufw's user chains); a login on
//!   the new port works and confirms; confirm closes the old port; after a reboot ufw loads
//!   the new rules at boot;
//! - `pbx-harden rollback`, and a reboot inside the window (the boot safeguard runs before
//!   ufw.service), give back every file under /etc/ufw byte for byte and the live ruleset
//!   (`iptables-save`, `ufw status verbose`) as it was;
//! - the real fail2ban, with the jail.local pbx-harden writes (`banaction = ufw`), bans an
//!   attacker that fails SSH logins from outside: its address is in `ufw status` and its
//!   logins no longer get through, while a trusted host that fails as often is never banned;
//! - a fail2ban that dies right after its restart makes apply fail and roll everything back.

mod boxes;
mod common;

use std::time::{Duration, Instant};

use boxes::{Flavor, Net, TestBox};

const USER: &str = "pbxadmin";
const PW: &str = "Tundra mosaic 8! lantern quill";
const PORT: u16 = 2825;

fn answers(timeout: &str, extra: &str) -> String {
    format!(
        "[user]\nname = \"{USER}\"\npassword = \"{PW}\"\ngroups = [\"sudo\"]\n\
         [ssh]\nport = {PORT}\n\
         [firewall]\nbackend = \"ufw\"\ntcp_ports = [80]\nudp_ports = [5060]\n{extra}\
         [apply]\nconfirm_timeout = \"{timeout}\"\n"
    )
}

/// The box's namespace, joined to the host by a veth pair (`boxes::Net`). ufw drops what it
/// does not allow.
fn net_up(i: u8) -> Net {
    Net::up("ufw", 234, i, "dropped")
}

/// A booted ufw box, ufw active (its rules loaded at boot by ufw.service).
fn start(name: &str, net: &Net) -> Option<TestBox> {
    let b = TestBox::start_in_netns(name, Flavor::Ufw, &net.path())?;
    let s = b.sh_ok("ufw status 2>&1 || true");
    assert!(
        s.starts_with("Status: active"),
        "ufw is not active in the box:\n{s}\n{}",
        b.sh_ok("systemctl status ufw --no-pager 2>&1 || true")
    );
    Some(b)
}

/// Every file under /etc/ufw with its hash, the live ruleset (`iptables-save` and
/// `ip6tables-save` without their dated comments and counters) and `ufw status verbose`.
fn state(b: &TestBox) -> (String, String, String) {
    (
        b.sh_ok("cd /etc/ufw && find . -type f -print0 | sort -z | xargs -0 sha256sum"),
        b.sh_ok(
            "{ iptables-save; ip6tables-save; } | grep -v '^#' | sed -E 's/\\[[0-9]+:[0-9]+\\]/[0:0]/'",
        ),
        b.sh_ok("ufw status verbose"),
    )
}

fn confirm_over_ssh(b: &TestBox, net: &Net, src: Option<&str>) {
    b.write("/var/tmp/pbx-box-sudo", &format!("{PW}\n"));
    b.sh_ok("chmod 644 /var/tmp/pbx-box-sudo");
    let o = net.ssh_from(
        src,
        USER,
        PW,
        PORT,
        "sudo -S -p '' pbx-harden confirm < /var/tmp/pbx-box-sudo",
    );
    assert!(o.status.success(), "{}", common::text(&o));
}

#[test]
fn ufw_move_confirm_and_boot() {
    let t = Instant::now();
    if common::require("python3").is_none() {
        return;
    }
    let net = net_up(1);
    let Some(b) = start("pbx-live-ufw1", &net) else {
        return;
    };
    assert_eq!(net.probe(22), "open", "the image allows 22/tcp");
    assert_eq!(net.probe(3306), "dropped", "ufw drops the rest");
    b.write("/root/answers.toml", &answers("10m", ""));
    let a = b.sh_ok("pbx-harden apply --answers /root/answers.toml 2>&1");
    assert!(a.contains("ufw"), "{a}");
    let rules = b.sh_ok("cat /etc/ufw/user.rules");
    assert!(
        rules.contains(&format!(
            "### tuple ### allow tcp {PORT} 0.0.0.0/0 any 0.0.0.0/0 in\n"
        )),
        "{rules}"
    );
    assert!(!rules.contains("--dport 22 "), "{rules}");
    let status = b.sh_ok("ufw status");
    assert!(status.contains(&format!("{PORT}/tcp")), "{status}");
    assert!(status.contains("5060/udp"), "{status}");
    // Through ufw, from outside.
    assert_eq!(net.probe(PORT), "open", "the new SSH port is open");
    assert_eq!(
        net.probe(22),
        "refused",
        "the old port passes (runtime only) until confirm"
    );
    assert_eq!(net.probe(80), "refused", "a listed port passes");
    assert_eq!(net.probe(3306), "dropped", "a port not listed is dropped");
    // A rule added in the window (what fail2ban's ufw action does at a ban) makes ufw reload
    // its user chains: the old port must still pass.
    b.sh_ok("ufw insert 1 deny from 192.0.2.99 >/dev/null");
    assert_eq!(
        net.probe(22),
        "refused",
        "the old port still passes after a ufw rule change in the window"
    );
    b.sh_ok("ufw delete deny from 192.0.2.99 >/dev/null");
    // Confirm from a new login on the new port, through ufw.
    confirm_over_ssh(&b, &net, None);
    assert_eq!(net.probe(22), "dropped", "the old port closes at confirm");
    assert_eq!(net.probe(PORT), "open");
    // ufw.service loads the new rules at boot.
    b.reboot();
    b.wait_for(
        "sshd on the new port through ufw after the reboot",
        Duration::from_secs(30),
        || net.probe(PORT) == "open",
    );
    let status = b.sh_ok("ufw status");
    assert!(
        status.starts_with("Status: active") && status.contains(&format!("{PORT}/tcp")),
        "{status}"
    );
    assert_eq!(net.probe(22), "dropped");
    assert_eq!(net.probe(80), "refused");
    assert_eq!(net.probe(3306), "dropped");
    eprintln!(
        "[live] ufw: move, confirm, boot: {:.1} s",
        t.elapsed().as_secs_f64()
    );
}

#[test]
fn ufw_rollback_and_a_reboot_in_the_window_give_back_files_and_rules() {
    let t = Instant::now();
    if common::require("python3").is_none() {
        return;
    }
    let net = net_up(2);
    let Some(b) = start("pbx-live-ufw2", &net) else {
        return;
    };
    // A rule of the admin's own (with a comment), kept through it all.
    b.sh_ok("ufw allow from 192.0.2.5 to any port 8080 proto tcp comment monitor >/dev/null");
    let before = state(&b);
    b.write("/root/answers.toml", &answers("10m", ""));
    b.sh_ok("pbx-harden apply --answers /root/answers.toml 2>&1");
    assert_eq!(net.probe(PORT), "open");
    assert_ne!(state(&b), before);
    let o = b.sh("pbx-harden rollback 2>&1");
    assert!(o.status.success(), "{}", common::text(&o));
    let after = state(&b);
    assert_eq!(after.0, before.0, "/etc/ufw byte for byte");
    assert_eq!(after.1, before.1, "the live ruleset as it was");
    assert_eq!(after.2, before.2, "ufw status verbose as it was");
    assert_eq!(net.probe(22), "open");
    assert_eq!(net.probe(PORT), "dropped");
    // Again, and a reboot inside the window: the boot safeguard rolls back before ufw.service
    // loads the rules, so ufw loads the old ones and port 22 answers.
    b.sh_ok("pbx-harden apply --answers /root/answers.toml 2>&1");
    assert_eq!(net.probe(PORT), "open");
    b.reboot();
    b.wait_for(
        "sshd on 22 through ufw after the reboot",
        Duration::from_secs(30),
        || net.probe(22) == "open",
    );
    let after = state(&b);
    assert_eq!(after.0, before.0, "/etc/ufw byte for byte after the boot");
    assert_eq!(after.1, before.1, "the ruleset ufw loaded at boot");
    assert_eq!(after.2, before.2, "ufw status verbose after the boot");
    assert_eq!(net.probe(PORT), "dropped");
    let s = b.sh_ok("pbx-harden status 2>&1");
    assert!(s.contains("rolled back") && s.contains("boot"), "{s}");
    eprintln!(
        "[live] ufw: rollback, reboot in the window: {:.1} s",
        t.elapsed().as_secs_f64()
    );
}

#[test]
fn fail2ban_bans_through_ufw() {
    let t = Instant::now();
    if common::require("python3").is_none() {
        return;
    }
    let net = net_up(3);
    let Some(b) = start("pbx-live-ufw3", &net) else {
        return;
    };
    let attacker = "10.234.3.1";
    let trusted = net.add_host(3);
    b.write(
        "/root/answers.toml",
        &answers(
            "10m",
            &format!("trusted = [{{ host = \"{trusted}\" }}]\n[fail2ban]\nmaxretry = 3\nbantime = \"10m\"\n"),
        ),
    );
    let a = b.sh_ok("pbx-harden apply --answers /root/answers.toml 2>&1");
    let jail = b.sh_ok("cat /etc/fail2ban/jail.local");
    assert!(jail.contains("banaction = ufw\n"), "{jail}\n{a}");
    assert!(jail.contains(&trusted), "{jail}");
    b.wait_for("fail2ban's sshd jail", Duration::from_secs(30), || {
        b.sh("fail2ban-client status sshd").status.success()
    });
    // The trusted host fails as often as the attacker, first.
    net.fail_logins(Some(&trusted), USER, PORT, 4);
    net.fail_logins(None, USER, PORT, 4);
    b.wait_for(
        "the attacker banned in ufw",
        Duration::from_secs(20),
        || String::from_utf8_lossy(&b.sh("ufw status").stdout).contains(attacker),
    );
    let status = b.sh_ok("ufw status");
    let line = status.lines().find(|l| l.contains(attacker)).unwrap();
    assert!(line.contains("REJECT"), "{status}");
    assert!(
        !status
            .lines()
            .any(|l| l.contains(&trusted) && l.contains("REJECT")),
        "{status}"
    );
    let f2b = b.sh_ok("fail2ban-client status sshd");
    assert!(f2b.contains(attacker) && !f2b.contains(&trusted), "{f2b}");
    // The attacker's connections no longer get through; the trusted host logs in.
    assert_ne!(net.probe(PORT), "open", "the attacker's connection");
    let o = net.ssh(USER, PW, PORT, "true");
    assert!(!o.status.success(), "the banned attacker logged in");
    assert_eq!(net.probe_from(Some(&trusted), PORT), "open");
    let o = net.ssh_from(Some(&trusted), USER, PW, PORT, "true");
    assert!(o.status.success(), "{}", common::text(&o));
    // Confirm (from the trusted host): the ban stays.
    confirm_over_ssh(&b, &net, Some(&trusted));
    assert!(b.sh_ok("ufw status").contains(attacker));
    assert_ne!(net.probe(PORT), "open", "the ban outlives confirm");
    eprintln!(
        "[live] ufw: fail2ban bans through ufw: {:.1} s",
        t.elapsed().as_secs_f64()
    );
}

/// A fail2ban that systemd starts but that dies a moment later (as Ubuntu 24.04's first
/// fail2ban did under Python 3.12: "No module named 'asynchat'"): apply waits for it to
/// answer, says so and rolls everything back, instead of reporting jails that do not run.
#[test]
fn a_fail2ban_that_dies_after_its_restart_rolls_the_change_back() {
    let t = Instant::now();
    if common::require("python3").is_none() {
        return;
    }
    let net = net_up(4);
    let Some(b) = start("pbx-live-ufw4", &net) else {
        return;
    };
    b.sh_ok(
        "mv /usr/bin/fail2ban-server /usr/bin/fail2ban-server.real && \
         printf '#!/bin/sh\\necho \"No module named asynchat\" >&2\\nexit 255\\n' > /usr/bin/fail2ban-server && \
         chmod 755 /usr/bin/fail2ban-server",
    );
    let before = state(&b);
    b.write(
        "/root/answers.toml",
        &answers("10m", "[fail2ban]\nmaxretry = 3\n"),
    );
    let o = b.sh("pbx-harden apply --answers /root/answers.toml 2>&1");
    let out = common::text(&o);
    assert!(!o.status.success(), "{out}");
    assert!(
        out.contains("fail2ban does not answer after its restart") && out.contains("rolled back"),
        "{out}"
    );
    assert_eq!(
        state(&b),
        before,
        "/etc/ufw and the live rules as they were"
    );
    assert!(!b.root().join("etc/fail2ban/jail.local").exists());
    assert_eq!(net.probe(22), "open");
    assert_eq!(net.probe(PORT), "dropped");
    eprintln!(
        "[live] ufw: a fail2ban that dies rolls back: {:.1} s",
        t.elapsed().as_secs_f64()
    );
}
