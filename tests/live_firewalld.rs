//! The firewalld backend against a running firewalld, on a booted Debian 12 box
//! (tests/boxes/, flavour `firewalld`: systemd with the firewalld package, enabled and
//! running, default zone public with its stock `ssh` service) in a network namespace joined
//! to the host by a veth pair, so the host connects *through* firewalld as a remote admin
//! would: after `pbx-harden apply` moves SSH, the new port is open and the old one passes at
//! runtime only (open in the runtime configuration, not in the zone file) until confirm; a
//! login on the new port works and confirms; confirm closes the old port. `pbx-harden
//! rollback` gives back every file under /etc/firewalld byte for byte (a zone file
//! firewall-cmd wrote, edited in place), and firewalld's runtime state
//! (`firewall-cmd --list-all-zones`) as it was; so does a reboot inside the window (the boot
//! safeguard runs before firewalld loads the zone). The real fail2ban, with the jail.local
//! pbx-harden writes (`banaction = firewallcmd-rich-rules`), bans an attacker that fails SSH
//! logins from outside: a rich rule for its address, its logins no longer get through, and
//! the ban outlives confirm; a trusted host that fails as often is never banned.

mod boxes;
mod common;

use std::time::{Duration, Instant};

use boxes::{Flavor, Net, TestBox};

const USER: &str = "pbxadmin";
const PW: &str = "Tundra mosaic 8! lantern quill";
const PORT: u16 = 2824;

fn answers(timeout: &str) -> String {
    answers_with(timeout, "")
}

fn answers_with(timeout: &str, extra: &str) -> String {
    format!(
        "[user]\nname = \"{USER}\"\npassword = \"{PW}\"\ngroups = [\"sudo\"]\n\
         [ssh]\nport = {PORT}\n\
         [firewall]\nbackend = \"firewalld\"\ntcp_ports = [80]\nudp_ports = [5060]\n{extra}\
         [apply]\nconfirm_timeout = \"{timeout}\"\n"
    )
}

/// The box's namespace, joined to the host by a veth pair (`boxes::Net`).
fn net_up(i: u8) -> Net {
    Net::up("fwd", 233, i, "filtered")
}

/// A booted firewalld box, firewalld running (waited for: it starts after the boot target
/// may already count as reached).
fn start(name: &str, net: &Net) -> Option<TestBox> {
    let b = TestBox::start_in_netns(name, Flavor::Firewalld, &net.path())?;
    let mut state = String::new();
    for _ in 0..60 {
        state = String::from_utf8_lossy(&b.sh("firewall-cmd --state 2>&1").stdout)
            .trim()
            .to_string();
        if state == "running" {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(500));
    }
    assert_eq!(
        state,
        "running",
        "firewalld does not run in the box:\n{}",
        b.sh_ok("systemctl status firewalld --no-pager 2>&1 || true; journalctl -u firewalld --no-pager 2>&1 | tail -30")
    );
    Some(b)
}

/// Every file under /etc/firewalld with its hash, and the runtime configuration.
fn state(b: &TestBox) -> (String, String) {
    (
        b.sh_ok("cd /etc/firewalld && find . -type f -print0 | sort -z | xargs -0 sha256sum"),
        b.sh_ok("firewall-cmd --list-all-zones"),
    )
}

#[test]
fn firewalld_move_confirm() {
    let t = Instant::now();
    if common::require("python3").is_none() {
        return;
    }
    let net = net_up(1);
    let Some(b) = start("pbx-live-fwd1", &net) else {
        return;
    };
    assert_eq!(net.probe(22), "open", "firewalld's stock ssh service");
    assert_eq!(net.probe(3306), "filtered", "firewalld rejects the rest");
    b.write("/root/answers.toml", &answers("10m"));
    let a = b.sh_ok("pbx-harden apply --answers /root/answers.toml 2>&1");
    assert!(a.contains("firewall-cmd"), "{a}");
    let zone = b.sh_ok("cat /etc/firewalld/zones/public.xml");
    assert!(
        zone.contains(&format!("<port port=\"{PORT}\" protocol=\"tcp\"/>")),
        "{zone}"
    );
    assert!(!zone.contains("port=\"22\""), "{zone}");
    // Through firewalld, from outside.
    assert_eq!(net.probe(PORT), "open", "the new SSH port is open");
    assert_eq!(
        net.probe(22),
        "refused",
        "the old port passes (runtime only) until confirm"
    );
    let runtime = b.sh_ok("firewall-cmd --zone=public --list-ports");
    assert!(runtime.contains("22/tcp"), "{runtime}");
    let permanent = b.sh_ok("firewall-cmd --permanent --zone=public --list-ports");
    assert!(!permanent.contains("22/tcp"), "{permanent}");
    assert_eq!(net.probe(80), "refused", "a listed port passes");
    assert_eq!(net.probe(3306), "filtered", "a port not listed is rejected");
    // Confirm from a new login on the new port, through firewalld.
    b.write("/var/tmp/pbx-box-sudo", &format!("{PW}\n"));
    b.sh_ok("chmod 644 /var/tmp/pbx-box-sudo");
    let o = net.ssh(
        USER,
        PW,
        PORT,
        "sudo -S -p '' pbx-harden confirm < /var/tmp/pbx-box-sudo",
    );
    assert!(o.status.success(), "{}", common::text(&o));
    assert_eq!(net.probe(22), "filtered", "the old port closes at confirm");
    assert_eq!(net.probe(PORT), "open");
    let runtime = b.sh_ok("firewall-cmd --zone=public --list-ports");
    assert!(!runtime.contains("22/tcp"), "{runtime}");
    eprintln!(
        "[live] firewalld: move, confirm: {:.1} s",
        t.elapsed().as_secs_f64()
    );
}

#[test]
fn firewalld_rollback_and_a_reboot_in_the_window_give_back_files_and_runtime() {
    let t = Instant::now();
    if common::require("python3").is_none() {
        return;
    }
    let net = net_up(2);
    let Some(b) = start("pbx-live-fwd2", &net) else {
        return;
    };
    // A zone file of firewalld's own making (edited in place, not created, by the apply).
    b.sh_ok("firewall-cmd --permanent --zone=public --add-service=http && firewall-cmd --reload");
    assert!(
        b.sh("test -f /etc/firewalld/zones/public.xml")
            .status
            .success()
    );
    let before = state(&b);
    b.write("/root/answers.toml", &answers("10m"));
    b.sh_ok("pbx-harden apply --answers /root/answers.toml 2>&1");
    assert_eq!(net.probe(PORT), "open");
    assert_ne!(state(&b), before);
    let o = b.sh("pbx-harden rollback 2>&1");
    assert!(o.status.success(), "{}", common::text(&o));
    let after = state(&b);
    assert_eq!(after.0, before.0, "/etc/firewalld byte for byte");
    assert_eq!(after.1, before.1, "firewalld's runtime state as it was");
    assert_eq!(net.probe(22), "open");
    assert_eq!(net.probe(PORT), "filtered");
    // Again, and a reboot inside the window: the boot safeguard rolls back before firewalld
    // could load the new zone.
    b.sh_ok("pbx-harden apply --answers /root/answers.toml 2>&1");
    assert_eq!(net.probe(PORT), "open");
    b.reboot();
    b.wait_for(
        "sshd on 22 through firewalld after the reboot",
        Duration::from_secs(30),
        || net.probe(22) == "open",
    );
    b.wait_for(
        "firewalld running after the reboot",
        Duration::from_secs(30),
        || String::from_utf8_lossy(&b.sh("firewall-cmd --state 2>&1").stdout).trim() == "running",
    );
    let after = state(&b);
    assert_eq!(
        after.0, before.0,
        "/etc/firewalld byte for byte after the boot"
    );
    assert_eq!(
        after.1, before.1,
        "firewalld's runtime state after the boot"
    );
    assert_eq!(net.probe(PORT), "filtered");
    let s = b.sh_ok("pbx-harden status 2>&1");
    assert!(s.contains("rolled back") && s.contains("boot"), "{s}");
    eprintln!(
        "[live] firewalld: rollback, reboot in the window: {:.1} s",
        t.elapsed().as_secs_f64()
    );
}

#[test]
fn fail2ban_bans_through_firewalld() {
    let t = Instant::now();
    if common::require("python3").is_none() {
        return;
    }
    let net = net_up(3);
    let Some(b) = start("pbx-live-fwd3", &net) else {
        return;
    };
    let attacker = "10.233.3.1";
    let trusted = net.add_host(3);
    b.write(
        "/root/answers.toml",
        &answers_with(
            "10m",
            &format!(
                "trusted = [{{ host = \"{trusted}\" }}]\n[fail2ban]\nmaxretry = 3\nbantime = \"10m\"\n"
            ),
        ),
    );
    let a = b.sh_ok("pbx-harden apply --answers /root/answers.toml 2>&1");
    let jail = b.sh_ok("cat /etc/fail2ban/jail.local");
    assert!(
        jail.contains("banaction = firewallcmd-rich-rules[actiontype=<multiport>]\n"),
        "{jail}\n{a}"
    );
    assert!(jail.contains(&trusted), "{jail}");
    b.wait_for("fail2ban's sshd jail", Duration::from_secs(30), || {
        b.sh("fail2ban-client status sshd").status.success()
    });
    // The trusted host fails as often as the attacker, first.
    net.fail_logins(Some(&trusted), USER, PORT, 4);
    net.fail_logins(None, USER, PORT, 4);
    let rich = || {
        String::from_utf8_lossy(&b.sh("firewall-cmd --list-rich-rules 2>/dev/null").stdout)
            .into_owned()
    };
    b.wait_for(
        "the attacker banned in firewalld",
        Duration::from_secs(20),
        || rich().contains(attacker),
    );
    let rules = rich();
    assert!(
        rules.contains(&format!(
            "rule family=\"ipv4\" source address=\"{attacker}\" port port=\"{PORT}\" protocol=\"tcp\" reject"
        )),
        "{rules}"
    );
    assert!(!rules.contains(&trusted), "{rules}");
    let f2b = b.sh_ok("fail2ban-client status sshd");
    assert!(f2b.contains(attacker) && !f2b.contains(&trusted), "{f2b}");
    // The attacker's connections no longer get through; the trusted host logs in.
    assert_ne!(net.probe(PORT), "open", "the attacker's connection");
    let o = net.ssh(USER, PW, PORT, "true");
    assert!(!o.status.success(), "the banned attacker logged in");
    assert_eq!(net.probe_from(Some(&trusted), PORT), "open");
    // Confirm (from the trusted host): the ban stays.
    b.write("/var/tmp/pbx-box-sudo", &format!("{PW}\n"));
    b.sh_ok("chmod 644 /var/tmp/pbx-box-sudo");
    let o = net.ssh_from(
        Some(&trusted),
        USER,
        PW,
        PORT,
        "sudo -S -p '' pbx-harden confirm < /var/tmp/pbx-box-sudo",
    );
    assert!(o.status.success(), "{}", common::text(&o));
    assert!(
        rich().contains(attacker),
        "the ban outlives confirm: {}",
        rich()
    );
    assert_ne!(net.probe(PORT), "open", "the ban outlives confirm");
    // A second change (another port) reloads firewalld, which drops runtime rules: the ban
    // must hold through its apply and its rollback.
    b.write(
        "/root/answers2.toml",
        &answers_with(
            "10m",
            &format!(
                "trusted = [{{ host = \"{trusted}\" }}]\n[fail2ban]\nmaxretry = 3\nbantime = \"10m\"\n"
            ),
        )
        .replace("tcp_ports = [80]", "tcp_ports = [80, 443]"),
    );
    // (fail2ban's jails restore their bans a moment after `fail2ban-client reload --restart`
    // returns.)
    b.sh_ok("pbx-harden apply --answers /root/answers2.toml 2>&1");
    b.wait_for(
        "the ban back after a second apply",
        Duration::from_secs(10),
        || rich().contains(attacker),
    );
    assert_ne!(net.probe(PORT), "open", "the ban outlives a second apply");
    b.sh_ok("pbx-harden rollback 2>&1");
    b.wait_for(
        "the ban back after its rollback",
        Duration::from_secs(10),
        || rich().contains(attacker),
    );
    assert_ne!(net.probe(PORT), "open", "the ban outlives a rollback");
    eprintln!(
        "[live] firewalld: fail2ban bans through firewalld: {:.1} s",
        t.elapsed().as_secs_f64()
    );
}
