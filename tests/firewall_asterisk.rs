//! The port catalog on real Asterisk and FreePBX configuration files of the corpus
//! ($PBX_HARDEN_CORPUS/asterisk), and fail2ban's own jail files through the jail.local
//! editor ($PBX_HARDEN_CORPUS/fail2ban).

mod common;
mod fwcommon;

use std::path::Path;

use fwcommon::*;
use pbx_harden::config::jail::JailFile;
use pbx_harden::root::Root;
use pbx_harden::steps::asterisk::ports as asterisk;

fn root_with_asterisk(files: &[(&Path, &str)]) -> tempfile::TempDir {
    let t = root_with(From::Demo, From::Demo);
    let ast = t.path().join("etc/asterisk");
    std::fs::remove_dir_all(&ast).unwrap();
    std::fs::create_dir_all(&ast).unwrap();
    for (src, name) in files {
        std::fs::copy(src, ast.join(name)).unwrap();
    }
    t
}

#[test]
fn asterisk_samples() {
    let Some(c) = common::corpus("asterisk") else {
        return;
    };
    for sip in ["sip.conf.sample", "asterisk-1.8_sip.conf.sample"] {
        let iax = if sip.starts_with("asterisk-1.8") {
            "asterisk-1.8_iax.conf.sample"
        } else {
            "iax.conf.sample"
        };
        let t = root_with_asterisk(&[
            (&c.join(sip), "sip.conf"),
            (&c.join(iax), "iax.conf"),
            (&c.join("manager.conf.sample"), "manager.conf"),
            (&c.join("rtp.conf.sample"), "rtp.conf"),
        ]);
        let root = Root::open(t.path()).unwrap();
        let a = asterisk::detect(&root, "pbx1");
        assert_eq!(a.sip_udp, vec![5060], "{sip}");
        assert!(a.sip_tcp.is_empty(), "{sip}: tcpenable=no");
        assert!(a.sip_tls.is_empty(), "{sip}");
        assert_eq!(a.iax, Some(4569), "{sip}");
        assert_eq!(a.ami, Some((5038, false)), "{sip}");
        let rtp = pbx_harden::system::rtp_range(&root);
        assert_eq!((rtp.start, rtp.end, rtp.from_config), (10000, 20000, true));
        // The catalog then says: SIP 5060, RTP 10000-20000, IAX only trusted, AMI refused.
        let (_s, p) = plan_for(
            t.path(),
            "[firewall]\nbackend = \"apf\"\ntcp_ports = [5060]\nudp_ports = [5060, \"10000-20000\"]\n",
        );
        assert!(p.is_valid(), "{sip}: {:#?}", errors(&p));
        assert!(
            !p.problems.iter().any(|x| x.key.ends_with("_ports")),
            "{sip}: {:?}",
            p.problems
        );
    }
}

#[test]
fn freepbx_pjsip_transport_on_its_own_port() {
    let Some(c) = common::corpus("asterisk") else {
        return;
    };
    let t = root_with_asterisk(&[
        (&c.join("pjsip.conf.sample"), "pjsip.conf"),
        (
            &c.join("freepbx15_pjsip.transports.conf"),
            "pjsip.transports.conf",
        ),
        (&c.join("freepbx2.4-trixbox-era_sip.conf"), "sip.conf"),
    ]);
    // FreePBX's pjsip.conf includes its transports file.
    let pj = t.path().join("etc/asterisk/pjsip.conf");
    let mut b = std::fs::read(&pj).unwrap();
    b.extend_from_slice(b"\n#include pjsip.transports.conf\n");
    std::fs::write(&pj, b).unwrap();
    let root = Root::open(t.path()).unwrap();
    let a = asterisk::detect(&root, "pbx1");
    assert_eq!(a.sip_udp, vec![5060, 5260]);
    let (_s, p) = plan_for(
        t.path(),
        "[firewall]\nbackend = \"apf\"\nudp_ports = [5060, \"10000-20000\"]\n",
    );
    let w: Vec<String> = p.problems.iter().map(|x| x.to_string()).collect();
    assert!(
        w.iter().any(|x| x.contains("SIP (5260/udp) is not open")),
        "{w:#?}"
    );
}

#[test]
fn fail2ban_files_round_trip_through_the_jail_editor() {
    let Some(c) = common::corpus("fail2ban") else {
        return;
    };
    for f in std::fs::read_dir(&c).unwrap().flatten() {
        let b = std::fs::read(f.path()).unwrap();
        assert_eq!(JailFile::parse(&b).to_bytes(), b, "{}", f.path().display());
    }
    let jail = JailFile::parse(&std::fs::read(c.join("jail.conf")).unwrap());
    assert_eq!(jail.get("sshd", "port").as_deref(), Some("ssh"));
    assert_eq!(
        jail.get("asterisk", "logpath").as_deref(),
        Some("/var/log/asterisk/messages")
    );
    assert_eq!(jail.get("asterisk", "maxretry").as_deref(), Some("10"));
    // Setting the port in a copy of the real jail.conf changes exactly that line.
    let mut j = jail.clone();
    assert!(j.set("sshd", "port", "22022"));
    let changed = changed_lines(&jail.to_bytes(), &j.to_bytes());
    assert_eq!(changed.len(), 2, "{changed:?}");
    assert!(
        changed.iter().any(|(_, _, a)| a == "port    = 22022\n"),
        "{changed:?}"
    );
}
