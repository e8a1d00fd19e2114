//! Roots shaped the way some machines leave their files on disk, built on the demo system
//! (without APF and BFD): Rocky 9 with firewalld, FreePBX 17 on Debian 12 (FreePBX's Firewall
//! module), Ubuntu 24.04 (ufw) and SNG7 (FreePBX's module, firewalld installed). The bare
//! roots are what tests/firewall_detect.rs reads; [`Machine`] lays the real configuration
//! files of the fixture corpus over them (sshd_config, FreePBX's Asterisk files; read from
//! `$PBX_HARDEN_CORPUS` at test time, never copied into the repository) for the machine
//! profiles of assets/profiles (tests/profiles.rs, `tools/record-profile`).
#![allow(dead_code)]

use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};

use crate::fwcommon::{From, copy_fixture, root_with};

pub fn put(dir: &Path, path: &str, body: &str) {
    let p = dir.join(path.trim_start_matches('/'));
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, body).unwrap();
}

pub fn link(dir: &Path, path: &str, target: &str) {
    let p = dir.join(path.trim_start_matches('/'));
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    symlink(target, p).unwrap();
}

/// The demo system without APF and BFD: the base every distribution below is laid over.
pub fn base(os_release: &str) -> tempfile::TempDir {
    let t = root_with(From::Absent, From::Absent);
    put(t.path(), "/etc/os-release", os_release);
    t
}

pub const FIREWALLD_UNIT: &str = "[Unit]\nDescription=firewalld - dynamic firewall daemon\nBefore=network-pre.target\n\n[Service]\nType=dbus\nBusName=org.fedoraproject.FirewallD1\nExecStart=/usr/sbin/firewalld --nofork --nopid\n\n[Install]\nWantedBy=multi-user.target\nAlias=dbus-org.fedoraproject.FirewallD1.service\n";

pub fn firewalld_files(dir: &Path, enabled: bool) {
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

pub fn rocky9() -> tempfile::TempDir {
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

pub fn freepbx_module(dir: &Path) {
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

pub fn freepbx17_debian12() -> tempfile::TempDir {
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

pub fn ubuntu2404() -> tempfile::TempDir {
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

pub fn sng7(firewalld_on: bool) -> tempfile::TempDir {
    let t = base(
        "NAME=\"Sangoma Linux\"\nVERSION=\"7 (Core)\"\nID=\"sangoma\"\nID_LIKE=\"rhel fedora\"\nVERSION_ID=\"7\"\nPRETTY_NAME=\"Sangoma Linux 7 (Core)\"\n",
    );
    freepbx_module(t.path());
    firewalld_files(t.path(), firewalld_on);
    t
}

/// The machines with a recorded profile besides the demo (assets/profiles/NAME.toml).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Machine {
    /// Debian 12 with FreePBX 17 (its Firewall module in charge).
    Debian12Freepbx17,
    /// Rocky 9 with firewalld in charge.
    Rocky9Firewalld,
    /// SNG7 (Sangoma Linux 7, FreePBX 16): FreePBX's module in charge, firewalld installed
    /// but not enabled.
    Sng7,
}

pub const MACHINES: [Machine; 3] = [
    Machine::Debian12Freepbx17,
    Machine::Rocky9Firewalld,
    Machine::Sng7,
];

/// A FreePBX-written pjsip.conf: its parts in their own files.
const FREEPBX_PJSIP: &str = ";--------------------------------------------------------------------------------;\n; Do NOT edit this file as it is auto-generated by FreePBX.                      ;\n;--------------------------------------------------------------------------------;\n\n#include pjsip_custom.conf\n#include pjsip.transports.conf\n#include pjsip.transports_custom_post.conf\n#include pjsip.registration.conf\n#include pjsip.auth.conf\n#include pjsip.aor.conf\n#include pjsip.endpoint.conf\n#include pjsip.identify.conf\n";

impl Machine {
    /// Its profile's file name, without `.toml`.
    pub fn name(self) -> &'static str {
        match self {
            Machine::Debian12Freepbx17 => "debian12-freepbx17",
            Machine::Rocky9Firewalld => "rocky9-firewalld",
            Machine::Sng7 => "sng7",
        }
    }

    pub fn by_name(name: &str) -> Option<Machine> {
        MACHINES.into_iter().find(|m| m.name() == name)
    }

    pub fn profile_path(self) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("assets/profiles")
            .join(format!("{}.toml", self.name()))
    }

    /// The sshd_config of the corpus this machine ships (`sshd/FILE`), and its drop-ins.
    fn sshd_files(self) -> (&'static str, &'static [(&'static str, &'static str)]) {
        match self {
            Machine::Debian12Freepbx17 => ("debian12.sshd_config", &[]),
            Machine::Rocky9Firewalld => (
                "rhel9.sshd_config",
                &[("rhel9.sshd_config.d_50-redhat.conf", "50-redhat.conf")],
            ),
            Machine::Sng7 => ("centos7-cloudimage.sshd_config", &[]),
        }
    }

    /// The root: the bare one of tests/firewall_detect.rs with the corpus's files over it.
    /// `None` without the corpus (skipped outside CI; CI sets `PBX_HARDEN_CORPUS`).
    pub fn root(self) -> Option<tempfile::TempDir> {
        let sshd = crate::common::corpus("sshd")?;
        let asterisk = crate::common::corpus("asterisk")?;
        let t = match self {
            Machine::Debian12Freepbx17 => freepbx17_debian12(),
            Machine::Rocky9Firewalld => rocky9(),
            Machine::Sng7 => sng7(false),
        };
        let d = t.path();
        // Not the trixbox of the demo: systemd, and the release files of this distribution.
        std::fs::remove_dir_all(d.join("etc/trixbox")).ok();
        std::fs::remove_file(d.join("etc/trixbox")).ok();
        std::fs::remove_file(d.join("etc/redhat-release")).ok();
        put(d, "/usr/lib/systemd/systemd", "");
        match self {
            Machine::Debian12Freepbx17 => put(d, "/etc/debian_version", "12.8\n"),
            Machine::Rocky9Firewalld => put(
                d,
                "/etc/redhat-release",
                "Rocky Linux release 9.4 (Blue Onyx)\n",
            ),
            Machine::Sng7 => put(
                d,
                "/etc/redhat-release",
                "Sangoma Linux release 7.8.2003 (Core)\n",
            ),
        }
        let (main, dropins) = self.sshd_files();
        let ssh = d.join("etc/ssh");
        copy_fixture(&sshd.join(main), &ssh.join("sshd_config"));
        std::fs::create_dir_all(ssh.join("sshd_config.d")).unwrap();
        for (from, to) in dropins {
            copy_fixture(&sshd.join(from), &ssh.join("sshd_config.d").join(to));
        }
        // FreePBX writes pjsip's files (and on SNG7, FreePBX 16, chan_sip's too); FreePBX
        // 17 runs Asterisk without chan_sip. Rocky 9 keeps the demo's Asterisk files.
        if self != Machine::Rocky9Firewalld {
            let ast = d.join("etc/asterisk");
            for old in [
                "sip.conf",
                "sip_custom.conf",
                "sip_general_custom.conf",
                "sip_nat.conf",
            ] {
                std::fs::remove_file(ast.join(old)).ok();
            }
            if self == Machine::Debian12Freepbx17 {
                std::fs::remove_file(ast.join("sip_additional.conf")).ok();
            } else {
                copy_fixture(
                    &asterisk.join("freepbx15_sip_additional.conf"),
                    &ast.join("sip_additional.conf"),
                );
            }
            put(d, "/etc/asterisk/pjsip.conf", FREEPBX_PJSIP);
            for part in ["endpoint", "auth", "aor", "transports"] {
                copy_fixture(
                    &asterisk.join(format!("freepbx15_pjsip.{part}.conf")),
                    &ast.join(format!("pjsip.{part}.conf")),
                );
            }
        }
        Some(t)
    }
}
