//! Services: inventory of a SysV root (the demo) and of an offline systemd root (real
//! systemctl), disabling through apply, and rollback restoring every link byte for byte.

mod common;

use std::os::unix::fs::symlink;
use std::path::Path;

use common::*;
use pbx_harden::answers::Answers;
use pbx_harden::root::Root;
use pbx_harden::steps::services::{Kind, Source};
use pbx_harden::system::{Env, Init, System};

fn detect(dir: &Path) -> System {
    System::detect(&Root::open(dir).unwrap(), &Env::fixed()).unwrap()
}

fn plan_for(dir: &Path, answers: &str) -> pbx_harden::plan::Plan {
    let sys = detect(dir);
    let a = Answers::parse(answers, "test").unwrap();
    let mut rng = <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(1);
    pbx_harden::plan::build(&sys, &a, &mut rng)
}

fn errors(p: &pbx_harden::plan::Plan) -> Vec<String> {
    p.problems
        .iter()
        .filter(|p| p.is_error())
        .map(|p| p.to_string())
        .collect()
}

#[test]
fn sysv_inventory_of_the_demo_root() {
    let t = demo_root();
    let sys = detect(t.path());
    assert_eq!(sys.init, Init::SysV);
    let inv = sys.services.force();
    assert_eq!(inv.source, Source::RcLinks);
    assert_eq!(inv.services.len(), 27, "{:#?}", inv.services);
    let portmap = inv.find("portmap").unwrap();
    assert!(portmap.enabled);
    assert_eq!(
        portmap.evidence.as_deref(),
        Some("/etc/rc.d/rc3.d/S13portmap")
    );
    match &portmap.kind {
        Kind::SysV {
            script,
            links,
            stop_priority,
        } => {
            assert_eq!(script, "/etc/rc.d/init.d/portmap");
            assert_eq!(*stop_priority, Some(87));
            let on: Vec<u8> = links
                .iter()
                .filter(|l| l.start)
                .map(|l| l.runlevel)
                .collect();
            assert_eq!(on, vec![3, 4, 5]);
            assert_eq!(links.len(), 7);
        }
        k => panic!("{k:?}"),
    }
    for off in ["vsftpd", "avahi-daemon", "asterisk", "iptables"] {
        assert!(!inv.find(off).unwrap().enabled, "{off}");
    }
    for on in ["sshd", "crond", "lvm2-monitor", "zaptel", "xinetd"] {
        assert!(inv.find(on).unwrap().enabled, "{on}");
    }
    let unneeded: Vec<&str> = inv
        .unneeded()
        .iter()
        .map(|(s, _)| s.name.as_str())
        .collect();
    assert_eq!(
        unneeded,
        vec![
            "netfs",
            "nfslock",
            "portmap",
            "restorecond",
            "rpcgssd",
            "rpcidmapd"
        ]
    );
}

/// A small offline systemd root: unit files in /usr/lib/systemd/system, wants links and an
/// alias in /etc/systemd/system, one masked unit.
fn systemd_root() -> tempfile::TempDir {
    let t = tempfile::Builder::new()
        .prefix("pbx-harden-systemd-")
        .tempdir()
        .unwrap();
    let r = t.path();
    let lib = r.join("usr/lib/systemd/system");
    let etc = r.join("etc/systemd/system");
    for d in [
        lib.clone(),
        etc.join("multi-user.target.wants"),
        etc.join("sockets.target.wants"),
        r.join("usr/lib/systemd"),
        r.join("var/lib"),
    ] {
        std::fs::create_dir_all(d).unwrap();
    }
    std::fs::write(r.join("usr/lib/systemd/systemd"), "").unwrap();
    let unit = |name: &str, body: &str| std::fs::write(lib.join(name), body).unwrap();
    unit(
        "avahi-daemon.service",
        "[Unit]\nDescription=Avahi mDNS/DNS-SD Stack\n\n[Service]\nExecStart=/usr/sbin/avahi-daemon -s\n\n\
         [Install]\nWantedBy=multi-user.target\nAlso=avahi-daemon.socket\nAlias=dbus-org.freedesktop.Avahi.service\n",
    );
    unit(
        "avahi-daemon.socket",
        "[Socket]\nListenStream=/run/avahi-daemon/socket\n\n[Install]\nWantedBy=sockets.target\n",
    );
    unit(
        "cups.service",
        "[Service]\nExecStart=/usr/sbin/cupsd -l\n\n[Install]\nWantedBy=multi-user.target\nAlso=cups.socket\n",
    );
    unit(
        "cups.socket",
        "[Socket]\nListenStream=/run/cups/cups.sock\n\n[Install]\nWantedBy=sockets.target\n",
    );
    unit(
        "ssh.service",
        "[Service]\nExecStart=/usr/sbin/sshd -D\n\n[Install]\nWantedBy=multi-user.target\nAlias=sshd.service\n",
    );
    unit(
        "odd.service",
        "[Service]\nExecStart=/bin/true\n\n[Install]\nWantedBy=multi-user.target\nAlso=ssh.service\n",
    );
    unit(
        "rpcbind.service",
        "[Service]\nExecStart=/sbin/rpcbind -w\n\n[Install]\nWantedBy=multi-user.target\n",
    );
    unit(
        "chrony.service",
        "[Service]\nExecStart=/usr/sbin/chronyd\n\n[Install]\nWantedBy=multi-user.target\n",
    );
    unit(
        "ModemManager.service",
        "[Service]\nExecStart=/usr/sbin/ModemManager\n\n[Install]\nWantedBy=multi-user.target\n",
    );
    let wants = |dir: &str, u: &str| {
        symlink(
            format!("/usr/lib/systemd/system/{u}"),
            etc.join(dir).join(u),
        )
        .unwrap()
    };
    wants("multi-user.target.wants", "avahi-daemon.service");
    wants("sockets.target.wants", "avahi-daemon.socket");
    wants("multi-user.target.wants", "cups.service");
    wants("sockets.target.wants", "cups.socket");
    wants("multi-user.target.wants", "ssh.service");
    wants("multi-user.target.wants", "chrony.service");
    symlink(
        "/usr/lib/systemd/system/avahi-daemon.service",
        etc.join("dbus-org.freedesktop.Avahi.service"),
    )
    .unwrap();
    symlink(
        "/usr/lib/systemd/system/ssh.service",
        etc.join("sshd.service"),
    )
    .unwrap();
    symlink("/dev/null", etc.join("ModemManager.service")).unwrap();
    t
}

#[test]
fn systemd_inventory_offline() {
    if require("systemctl").is_none() {
        return;
    }
    let t = systemd_root();
    let sys = detect(t.path());
    assert_eq!(sys.init, Init::Systemd);
    let inv = sys.services.force();
    assert_eq!(inv.source, Source::Systemctl, "{:?}", inv.notes);
    let state = |n: &str| match &inv.find(n).unwrap_or_else(|| panic!("{n}")).kind {
        Kind::Systemd { state, .. } => state.clone(),
        k => panic!("{k:?}"),
    };
    assert_eq!(state("avahi-daemon"), "enabled");
    assert_eq!(state("avahi-daemon.socket"), "enabled");
    assert_eq!(state("cups"), "enabled");
    assert_eq!(state("rpcbind"), "disabled");
    assert_eq!(state("ModemManager"), "masked");
    assert!(inv.find("ssh").unwrap().enabled);
    assert!(
        inv.find("dbus-org.freedesktop.Avahi").is_none(),
        "aliases are not services"
    );
    assert!(
        inv.services.iter().all(|s| s.active.is_none()),
        "offline: unknown"
    );
    assert_eq!(
        inv.find("cups").unwrap().evidence.as_deref(),
        Some("/etc/systemd/system/multi-user.target.wants/cups.service")
    );
    let mut unneeded: Vec<&str> = inv
        .unneeded()
        .iter()
        .map(|(s, _)| s.name.as_str())
        .collect();
    unneeded.sort();
    assert_eq!(
        unneeded,
        vec!["avahi-daemon", "avahi-daemon.socket", "cups", "cups.socket"]
    );
}

#[test]
fn systemd_disable_and_rollback_restore_every_link() {
    if require("systemctl").is_none() {
        return;
    }
    let t = systemd_root();
    let dir = t.path().to_str().unwrap();
    let before = tree(t.path(), &[STATE]);
    let p = plan_for(
        t.path(),
        "[services]\ndisable = [\"avahi-daemon\", \"cups.service\", \"rpcbind\"]\n",
    );
    assert!(p.is_valid(), "{:?}", p.problems);
    let shown = pbx_harden::plan::render(&p, &detect(t.path()));
    assert!(shown.contains("disable avahi-daemon.service"), "{shown}");
    assert!(!shown.contains("rpcbind"), "already disabled: {shown}");
    let odd = plan_for(t.path(), "[services]\ndisable = [\"odd\"]\n");
    assert!(
        errors(&odd)[0].contains("would also disable ssh.service"),
        "{:?}",
        odd.problems
    );

    let a = write_answers(
        t.path().parent().unwrap(),
        "[services]\ndisable = [\"avahi-daemon\", \"cups.service\", \"rpcbind\"]\n",
    );
    let o = run(&["--root", dir, "apply", "--answers", a.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    let after = detect(t.path());
    for n in ["avahi-daemon", "avahi-daemon.socket", "cups", "cups.socket"] {
        assert!(
            !after.services.force().find(n).unwrap().enabled,
            "{n} disabled"
        );
    }
    assert!(after.services.force().find("ssh").unwrap().enabled);
    assert!(after.services.force().find("chrony").unwrap().enabled);
    assert!(
        !t.path()
            .join("etc/systemd/system/dbus-org.freedesktop.Avahi.service")
            .exists()
    );

    let o = run(&["--root", dir, "rollback"]);
    assert!(o.status.success(), "{}", text(&o));
    let restored = tree(t.path(), &[STATE]);
    assert_eq!(tree_diff(&before, &restored), Vec::<String>::new());
    assert_eq!(before, restored);
}

#[test]
fn sysv_disable_and_rollback_restore_every_link() {
    let t = demo_root();
    let dir = t.path().to_str().unwrap();
    let before = tree(t.path(), &[STATE]);
    let answers = "[services]\ndisable = [\"portmap\", \"netfs\", \"nfslock\", \"vsftpd\"]\n";
    let p = plan_for(t.path(), answers);
    assert!(p.is_valid(), "{:?}", p.problems);
    let shown = pbx_harden::plan::render(&p, &detect(t.path()));
    assert!(
        shown.contains(&format!(
            "mv {dir}/etc/rc.d/rc3.d/S13portmap {dir}/etc/rc.d/rc3.d/K87portmap"
        )),
        "{shown}"
    );
    assert!(!shown.contains("vsftpd"), "already off: {shown}");
    assert!(!shown.contains("service portmap stop"), "offline: {shown}");

    let a = write_answers(t.path().parent().unwrap(), answers);
    let o = run(&["--root", dir, "apply", "--answers", a.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    let mid = tree(t.path(), &[STATE]);
    let changed = tree_diff(&before, &mid);
    assert!(
        changed.contains(&"- etc/rc.d/rc3.d/S13portmap".to_string()),
        "{changed:?}"
    );
    assert!(
        changed.contains(&"+ etc/rc.d/rc3.d/K87portmap".to_string()),
        "{changed:?}"
    );
    assert!(
        changed.contains(&"+ etc/rc.d/rc5.d/K75netfs".to_string()),
        "{changed:?}"
    );
    assert!(
        !changed
            .iter()
            .any(|c| c.contains("rc2.d") && c.contains("portmap")),
        "{changed:?}"
    );
    let after = detect(t.path());
    for n in ["portmap", "netfs", "nfslock", "vsftpd"] {
        assert!(!after.services.force().find(n).unwrap().enabled, "{n}");
    }
    assert_eq!(after.services.force().unneeded().len(), 3);

    let o = run(&["--root", dir, "rollback"]);
    assert!(o.status.success(), "{}", text(&o));
    let restored = tree(t.path(), &[STATE]);
    assert_eq!(tree_diff(&before, &restored), Vec::<String>::new());
    assert_eq!(before, restored);
}

#[test]
fn the_keep_list_and_ssh_are_refused() {
    let t = demo_root();
    let p = plan_for(t.path(), "[services]\ndisable = [\"sshd\"]\n");
    let e = errors(&p);
    assert!(e[0].contains("never disabled"), "{e:?}");
    let p = plan_for(
        t.path(),
        "[services]\ndisable = [\"sshd\"]\noverride_keep_list = [\"sshd\"]\n",
    );
    assert_eq!(errors(&p).len(), 2, "{:?}", errors(&p));

    let p = plan_for(t.path(), "[services]\ndisable = [\"xinetd\"]\n");
    let e = errors(&p);
    assert!(e[0].contains("keep-list") && e[0].contains("TFTP"), "{e:?}");
    assert!(p.actions.is_empty());
    let p = plan_for(
        t.path(),
        "[services]\ndisable = [\"xinetd\"]\noverride_keep_list = [\"xinetd\"]\n",
    );
    assert!(p.is_valid(), "{:?}", p.problems);
    assert_eq!(p.actions.len(), 3, "runlevels 3, 4, 5");

    let p = plan_for(t.path(), "[services]\ndisable = [\"portmapp\"]\n");
    assert!(
        errors(&p)[0].contains("no service \"portmapp\""),
        "{:?}",
        p.problems
    );
    let p = plan_for(t.path(), "[services]\ndisable = [\"../init.d/x\"]\n");
    assert!(
        errors(&p)[0].contains("not a service name"),
        "{:?}",
        p.problems
    );
    let p = plan_for(t.path(), "[services]\ndisable = [\"ircd\"]\n");
    assert!(p.is_valid());
    assert!(
        p.problems[0].message.contains("not installed"),
        "{:?}",
        p.problems
    );
    let p = plan_for(
        t.path(),
        "[services]\ndisable = [\"portmap\"]\noverride_keep_list = [\"portmap\"]\n",
    );
    assert!(p.is_valid());
    assert!(
        p.problems[0].message.contains("no override is needed"),
        "{:?}",
        p.problems
    );
    assert!(Answers::parse("[services]\ndisabled = []\n", "x").is_err());
}
