//! Which firewall manager is in charge, with its evidence, on small roots built the way
//! Rocky 9 (firewalld), FreePBX 17 on Debian 12 (FreePBX's Firewall module), Ubuntu 24.04
//! (ufw) and SNG7 (FreePBX's module, firewalld installed) leave them on disk; what `plan`
//! says and refuses on each.

mod common;
mod fwcommon;

use std::os::unix::fs::symlink;
use std::path::Path;

use fwcommon::*;
use pbx_harden::plan::CheckStatus;
use pbx_harden::steps::firewall::Backend;
use pbx_harden::steps::firewall::managers::Manager;

fn put(dir: &Path, path: &str, body: &str) {
    let p = dir.join(path.trim_start_matches('/'));
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, body).unwrap();
}

fn link(dir: &Path, path: &str, target: &str) {
    let p = dir.join(path.trim_start_matches('/'));
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    symlink(target, p).unwrap();
}

/// The demo system without APF and BFD: the base every distribution below is laid over.
fn base(os_release: &str) -> tempfile::TempDir {
    let t = root_with(From::Absent, From::Absent);
    put(t.path(), "/etc/os-release", os_release);
    t
}

const FIREWALLD_UNIT: &str = "[Unit]\nDescription=firewalld - dynamic firewall daemon\nBefore=network-pre.target\n\n[Service]\nType=dbus\nBusName=org.fedoraproject.FirewallD1\nExecStart=/usr/sbin/firewalld --nofork --nopid\n\n[Install]\nWantedBy=multi-user.target\nAlias=dbus-org.fedoraproject.FirewallD1.service\n";

fn firewalld_files(dir: &Path, enabled: bool) {
    put(
        dir,
        "/usr/lib/systemd/system/firewalld.service",
        FIREWALLD_UNIT,
    );
    put(
        dir,
        "/etc/firewalld/firewalld.conf",
        "DefaultZone=public\nFirewallBackend=nftables\n",
    );
    put(
        dir,
        "/etc/firewalld/zones/public.xml",
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<zone>\n  <short>Public</short>\n  <service name=\"ssh\"/>\n</zone>\n",
    );
    if enabled {
        link(
            dir,
            "/etc/systemd/system/multi-user.target.wants/firewalld.service",
            "/usr/lib/systemd/system/firewalld.service",
        );
        link(
            dir,
            "/etc/systemd/system/dbus-org.fedoraproject.FirewallD1.service",
            "/usr/lib/systemd/system/firewalld.service",
        );
    }
}

fn rocky9() -> tempfile::TempDir {
    let t = base(
        "NAME=\"Rocky Linux\"\nVERSION_ID=\"9.4\"\nID=\"rocky\"\nID_LIKE=\"rhel centos fedora\"\nPRETTY_NAME=\"Rocky Linux 9.4 (Blue Onyx)\"\n",
    );
    firewalld_files(t.path(), true);
    // nftables is installed (firewalld's backend) but its service is not enabled.
    put(
        t.path(),
        "/etc/sysconfig/nftables.conf",
        "# include \"/etc/nftables/main.nft\"\n",
    );
    put(
        t.path(),
        "/usr/lib/systemd/system/nftables.service",
        "[Service]\nExecStart=/sbin/nft -f /etc/sysconfig/nftables.conf\n[Install]\nWantedBy=multi-user.target\n",
    );
    put(t.path(), "/usr/sbin/nft", "");
    t
}

fn freepbx_module(dir: &Path) {
    put(
        dir,
        "/var/www/html/admin/modules/firewall/module.xml",
        "<module>\n\t<rawname>firewall</rawname>\n\t<name>System Firewall</name>\n\t<version>17.0.1.44</version>\n</module>\n",
    );
    put(
        dir,
        "/etc/freepbx.conf",
        "<?php\n$amp_conf['AMPDBUSER'] = 'freepbxuser';\n",
    );
}

fn freepbx17_debian12() -> tempfile::TempDir {
    let t = base(
        "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\nVERSION_ID=\"12\"\nID=debian\n",
    );
    freepbx_module(t.path());
    // Debian's nftables package, service not enabled (the module drives iptables-nft).
    put(
        t.path(),
        "/etc/nftables.conf",
        "#!/usr/sbin/nft -f\n\nflush ruleset\n",
    );
    put(
        t.path(),
        "/lib/systemd/system/nftables.service",
        "[Service]\nExecStart=/usr/sbin/nft -f /etc/nftables.conf\n[Install]\nWantedBy=sysinit.target\n",
    );
    put(t.path(), "/usr/sbin/nft", "");
    t
}

fn ubuntu2404() -> tempfile::TempDir {
    let t = base(
        "PRETTY_NAME=\"Ubuntu 24.04.1 LTS\"\nNAME=\"Ubuntu\"\nVERSION_ID=\"24.04\"\nID=ubuntu\nID_LIKE=debian\n",
    );
    put(
        t.path(),
        "/etc/ufw/ufw.conf",
        "# /etc/ufw/ufw.conf\n#\n\n# Set to yes to start on boot. If setting this remotely, be sure to add a rule\n# to allow your ssh connection before starting ufw (eg: 'ufw allow 22/tcp')\nENABLED=yes\n\n# Please use the 'ufw' command to set the loglevel. Eg: 'ufw logging medium'.\n# See 'man ufw' for details.\nLOGLEVEL=low\n",
    );
    put(
        t.path(),
        "/usr/lib/systemd/system/ufw.service",
        "[Service]\nExecStart=/lib/ufw/ufw-init start quiet\n[Install]\nWantedBy=multi-user.target\n",
    );
    // What ufw 0.36 writes after `ufw allow 22/tcp` (the chains cut short).
    put(
        t.path(),
        "/etc/ufw/user.rules",
        "*filter\n:ufw-user-input - [0:0]\n:ufw-user-limit - [0:0]\n:ufw-user-limit-accept - [0:0]\n### RULES ###\n\n### tuple ### allow tcp 22 0.0.0.0/0 any 0.0.0.0/0 in\n-A ufw-user-input -p tcp --dport 22 -j ACCEPT\n\n### END RULES ###\n\n### RATE LIMITING ###\n-A ufw-user-limit -j REJECT\n-A ufw-user-limit-accept -j ACCEPT\n### END RATE LIMITING ###\nCOMMIT\n",
    );
    link(
        t.path(),
        "/etc/systemd/system/multi-user.target.wants/ufw.service",
        "/usr/lib/systemd/system/ufw.service",
    );
    t
}

fn sng7(firewalld_on: bool) -> tempfile::TempDir {
    let t = base(
        "NAME=\"Sangoma Linux\"\nVERSION=\"7 (Core)\"\nID=\"sangoma\"\nID_LIKE=\"rhel fedora\"\nVERSION_ID=\"7\"\nPRETTY_NAME=\"Sangoma Linux 7 (Core)\"\n",
    );
    freepbx_module(t.path());
    firewalld_files(t.path(), firewalld_on);
    t
}

fn managers(dir: &Path) -> Vec<Manager> {
    let (sys, _) = plan_for(dir, "");
    sys.firewall.managers.iter().map(|m| m.manager).collect()
}

const MOVE: &str = "[ssh]\nport = 22022\npermit_root_login = true\n";

#[test]
fn rocky9_firewalld_is_in_charge_and_nftables_is_refused_next_to_it() {
    let t = rocky9();
    let (sys, p) = plan_for(t.path(), MOVE);
    assert_eq!(managers(t.path()), vec![Manager::Firewalld]);
    let m = &sys.firewall.managers[0];
    assert!(
        m.reason
            .contains("/etc/systemd/system/multi-user.target.wants/firewalld.service"),
        "{m}"
    );
    // An SSH move: firewalld is in charge, so the new port is opened there.
    assert!(
        matches!(
            check(&p, "SSH port 22022 is open in firewalld"),
            CheckStatus::Pass(_)
        ),
        "{}",
        problems(&p)
    );
    let shown = pbx_harden::plan::render(&p, &sys);
    assert!(
        shown.contains("Firewall managers, in charge first:\n  firewalld ("),
        "{shown}"
    );
    // nftables next to firewalld: refused, naming the field and firewalld.
    let (_, p) = plan_for(
        t.path(),
        &format!(
            "{MOVE}[firewall]\nbackend = \"nftables\"\ntcp_ports = [80]\nudp_ports = [5060]\n"
        ),
    );
    let e = errors(&p).join("\n");
    assert!(
        e.contains("firewall.backend") && e.contains("firewalld"),
        "{e}"
    );
    assert!(p.changes.iter().all(|c| !c.path.contains("nftables")));
    // Its own name works, and firewalld's files are what it writes.
    let (_, p) = plan_for(
        t.path(),
        &format!("{MOVE}[firewall]\nbackend = \"firewalld\"\n"),
    );
    assert!(errors(&p).is_empty(), "{}", problems(&p));
    assert!(
        p.changes
            .iter()
            .any(|c| c.path == "/etc/firewalld/zones/public.xml")
    );
}

#[test]
fn freepbx17_on_debian12_gets_advice_and_no_rules() {
    let t = freepbx17_debian12();
    assert_eq!(managers(t.path()), vec![Manager::Freepbx]);
    let (sys, p) = plan_for(
        t.path(),
        &format!("{MOVE}[firewall]\ntrusted = [{{ host = \"198.51.100.7\" }}]\n"),
    );
    assert_eq!(sys.firewall.default_backend(), Backend::Freepbx);
    assert!(errors(&p).is_empty(), "{}", problems(&p));
    let all = problems(&p);
    assert!(
        all.contains("set in FreePBX: Connectivity > Firewall > Services: SSH on port 22022"),
        "{all}"
    );
    assert!(all.contains("198.51.100.7"), "{all}");
    assert!(
        p.changes
            .iter()
            .all(|c| !c.path.contains("nftables") && !c.path.contains("apf")),
        "no rules of pbx-harden's own"
    );
    assert!(matches!(
        check(&p, "open in FreePBX's firewall"),
        CheckStatus::Skipped(_)
    ));
    // The explicit name works too; nftables next to the module is refused.
    let (_, p) = plan_for(t.path(), "[firewall]\nbackend = \"freepbx\"\n");
    assert!(errors(&p).is_empty(), "{}", problems(&p));
    let (_, p) = plan_for(
        t.path(),
        "[firewall]\nbackend = \"nftables\"\ntcp_ports = [80]\nudp_ports = [5060]\n",
    );
    assert!(errors(&p).join("\n").contains("FreePBX's Firewall module"));
}

#[test]
fn ubuntu2404_ufw_is_in_charge() {
    let t = ubuntu2404();
    assert_eq!(managers(t.path()), vec![Manager::Ufw]);
    let (_, p) = plan_for(t.path(), MOVE);
    // ufw in charge: the move opens the new port in ufw's user rules.
    assert!(errors(&p).is_empty(), "{}", problems(&p));
    assert!(matches!(
        check(&p, "SSH port 22022 is open in ufw"),
        CheckStatus::Pass(_)
    ));
    let (_, p) = plan_for(t.path(), "[firewall]\nbackend = \"ufw\"\n");
    assert!(errors(&p).is_empty(), "{}", problems(&p));
}

#[test]
fn sng7_freepbx_module_first_and_two_managers_refuse_a_third() {
    let t = sng7(false);
    assert_eq!(managers(t.path()), vec![Manager::Freepbx]);
    let t = sng7(true);
    assert_eq!(
        managers(t.path()),
        vec![Manager::Freepbx, Manager::Firewalld]
    );
    let (_, p) = plan_for(t.path(), MOVE);
    let all = problems(&p);
    assert!(all.contains("2 firewall managers are active"), "{all}");
    // A third one (nftables is not set up here at all, but the refusal comes first).
    put(t.path(), "/etc/sysconfig/nftables.conf", "");
    put(
        t.path(),
        "/usr/lib/systemd/system/nftables.service",
        "[Install]\nWantedBy=multi-user.target\n",
    );
    put(t.path(), "/usr/sbin/nft", "");
    let (_, p) = plan_for(
        t.path(),
        "[firewall]\nbackend = \"nftables\"\ntcp_ports = [80]\nudp_ports = [5060]\n",
    );
    let e = errors(&p).join("\n");
    assert!(
        e.contains("FreePBX's Firewall module") && e.contains("firewalld"),
        "{e}"
    );
    assert!(p.changes.is_empty());
}

#[test]
fn nothing_active_offers_nftables() {
    let t = freepbx17_debian12();
    std::fs::remove_dir_all(t.path().join("var/www/html/admin/modules/firewall")).unwrap();
    let (sys, p) = plan_for(
        t.path(),
        "[firewall]\ntcp_ports = [80]\nudp_ports = [5060]\n",
    );
    assert!(sys.firewall.managers.is_empty());
    assert!(
        problems(&p).contains("firewall.backend = \"nftables\" opens exactly these ports"),
        "{}",
        problems(&p)
    );
    assert!(pbx_harden::plan::render(&p, &sys).contains("Firewall managers: none active"));
    // A masked unit is not a manager.
    link(
        t.path(),
        "/etc/systemd/system/nftables.service",
        "/dev/null",
    );
    link(
        t.path(),
        "/etc/systemd/system/sysinit.target.wants/nftables.service",
        "/lib/systemd/system/nftables.service",
    );
    assert!(managers(t.path()).is_empty());
    std::fs::remove_file(t.path().join("etc/systemd/system/nftables.service")).unwrap();
    assert_eq!(managers(t.path()), vec![Manager::Nftables]);
}
