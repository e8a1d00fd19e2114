//! The nftables backend on a booted Debian 12 box (tests/boxes/, systemd, the nftables
//! package installed and its service off, as Debian ships it) in a network namespace joined
//! to the host by a veth pair, so that the host connects *through* the table as a remote
//! admin would: the new SSH port is open when sshd moves, the old one stays open (refused,
//! not dropped) until confirm and is dropped after it, a port not listed is dropped; the
//! table loads at boot after confirm; `pbx-harden rollback` and a reboot inside the window
//! give back `nft list ruleset` and nftables.conf exactly, and the service's boot state.

mod boxes;
mod common;

use std::time::{Duration, Instant};

use boxes::{Flavor, Net, TestBox};

const USER: &str = "pbxadmin";
const PW: &str = "Tundra mosaic 8! lantern quill";
const PORT: u16 = 2823;

fn answers(timeout: &str) -> String {
    format!(
        "[user]\nname = \"{USER}\"\npassword = \"{PW}\"\ngroups = [\"sudo\"]\n\
         [ssh]\nport = {PORT}\n\
         [firewall]\nbackend = \"nftables\"\ntcp_ports = [80]\nudp_ports = [5060]\n\
         [apply]\nconfirm_timeout = \"{timeout}\"\n"
    )
}

/// The box's namespace, joined to the host by a veth pair (`boxes::Net`).
fn net_up(i: u8) -> Net {
    Net::up("nft", 232, i, "dropped")
}

fn start(name: &str, net: &Net) -> Option<TestBox> {
    let b = TestBox::start_in_netns(name, Flavor::Systemd, &net.path())?;
    b.sh_ok("command -v nft && test -f /etc/nftables.conf");
    Some(b)
}

fn state(b: &TestBox) -> (String, String, String) {
    (
        b.sh_ok("nft list ruleset"),
        b.sh_ok("sha256sum /etc/nftables.conf"),
        String::from_utf8_lossy(&b.sh("systemctl is-enabled nftables.service").stdout).into_owned(),
    )
}

#[test]
fn nftables_move_confirm_and_boot() {
    let t = Instant::now();
    if common::require("python3").is_none() {
        return;
    }
    let net = net_up(1);
    let Some(b) = start("pbx-live-nft1", &net) else {
        return;
    };
    b.sh_ok("systemctl is-enabled nftables.service || true");
    assert_eq!(net.probe(22), "open", "no firewall yet");
    assert_eq!(net.probe(3306), "refused");
    b.write("/root/answers.toml", &answers("10m"));
    let a = b.sh_ok("pbx-harden apply --answers /root/answers.toml 2>&1");
    assert!(a.contains("nft -f /etc/nftables.d/pbx-harden.nft"), "{a}");
    let ruleset = b.sh_ok("nft list table inet pbx_harden");
    assert!(ruleset.contains(&format!("{PORT}")), "{ruleset}");
    // Through the table, from outside.
    assert_eq!(net.probe(PORT), "open", "the new SSH port is open");
    assert_eq!(
        net.probe(22),
        "refused",
        "the old port passes until confirm"
    );
    assert_eq!(net.probe(80), "refused", "a listed port passes");
    assert_eq!(net.probe(3306), "dropped", "a port not listed is dropped");
    // Confirm from a new login on the new port, through the table.
    b.write("/var/tmp/pbx-box-sudo", &format!("{PW}\n"));
    b.sh_ok("chmod 644 /var/tmp/pbx-box-sudo");
    let o = net.ssh(
        USER,
        PW,
        PORT,
        "sudo -S -p '' pbx-harden confirm < /var/tmp/pbx-box-sudo",
    );
    assert!(o.status.success(), "{}", common::text(&o));
    assert_eq!(net.probe(22), "dropped", "the old port closes at confirm");
    assert_eq!(net.probe(PORT), "open");
    assert_eq!(
        b.sh_ok("systemctl is-enabled nftables.service").trim(),
        "enabled"
    );
    // The table loads at boot, through the distribution's service.
    b.reboot();
    b.wait_for(
        "the new SSH port after the reboot",
        Duration::from_secs(30),
        || net.probe(PORT) == "open",
    );
    assert_eq!(net.probe(22), "dropped");
    assert_eq!(net.probe(3306), "dropped");
    let conf = b.sh_ok("cat /etc/nftables.conf");
    assert!(
        conf.ends_with("include \"/etc/nftables.d/pbx-harden.nft\"\n"),
        "{conf}"
    );
    eprintln!(
        "[live] nftables: move, confirm, boot: {:.1} s",
        t.elapsed().as_secs_f64()
    );
}

#[test]
fn nftables_rollback_and_a_reboot_in_the_window_give_everything_back() {
    let t = Instant::now();
    if common::require("python3").is_none() {
        return;
    }
    let net = net_up(2);
    let Some(b) = start("pbx-live-nft2", &net) else {
        return;
    };
    // Something of the admin's own in the running ruleset, to see it kept exactly.
    b.sh_ok("nft add table ip mine && nft add chain ip mine watch '{ type filter hook input priority 10; policy accept; }' && nft add rule ip mine watch tcp dport 9999 counter");
    let before = state(&b);
    b.write("/root/answers.toml", &answers("10m"));
    b.sh_ok("pbx-harden apply --answers /root/answers.toml 2>&1");
    assert_eq!(net.probe(3306), "dropped");
    assert_ne!(state(&b), before);
    let o = b.sh("pbx-harden rollback 2>&1");
    assert!(o.status.success(), "{}", common::text(&o));
    assert_eq!(
        state(&b),
        before,
        "ruleset, nftables.conf and the service as they were"
    );
    assert!(!b.sh("test -e /etc/nftables.d").status.success());
    assert_eq!(net.probe(22), "open");
    assert_eq!(net.probe(3306), "refused");
    // Again, and a reboot inside the window: the boot safeguard rolls back before
    // nftables.service could load the new files.
    b.sh_ok("pbx-harden apply --answers /root/answers.toml 2>&1");
    assert_eq!(net.probe(3306), "dropped");
    b.reboot();
    b.wait_for(
        "sshd on 22 after the reboot",
        Duration::from_secs(30),
        || net.probe(22) == "open",
    );
    let (ruleset, conf, enabled) = state(&b);
    assert!(!ruleset.contains("pbx_harden"), "{ruleset}");
    assert_eq!((conf, enabled), (before.1.clone(), before.2.clone()));
    assert_eq!(net.probe(3306), "refused");
    let s = b.sh_ok("pbx-harden status 2>&1");
    assert!(s.contains("rolled back") && s.contains("boot"), "{s}");
    eprintln!(
        "[live] nftables: rollback, reboot in the window: {:.1} s",
        t.elapsed().as_secs_f64()
    );
}
