//! The nftables backend: pbx-harden's own table in its own file, one `include` line added to
//! the distribution's nftables.conf (every other byte stays), the service enabled; the table
//! judged by the real `nft -c -f`; and loaded for real in new network namespaces joined by
//! a veth pair: the new SSH port gets through, a closed port and a blocked source are
//! dropped, a trusted source reaches everything, the old SSH port passes until confirm, and
//! rollback gives back `nft list ruleset` exactly. Namespaces are removed even on failure.

mod common;
mod fwcommon;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{in_ci, require, require_root, run, text, tree, tree_diff, write_answers};
use fwcommon::*;
use pbx_harden::plan::{Action, CheckStatus};
use pbx_harden::steps::firewall::nftables::{self, NFT_FILE};

const DEBIAN_CONF: &str = "#!/usr/sbin/nft -f\n\nflush ruleset\n\ntable inet filter {\n\tchain input {\n\t\ttype filter hook input priority filter;\n\t}\n\tchain forward {\n\t\ttype filter hook forward priority filter;\n\t}\n\tchain output {\n\t\ttype filter hook output priority filter;\n\t}\n}\n";
const UNIT: &str = "[Unit]\nDescription=nftables\nDocumentation=man:nft(8) http://wiki.nftables.org\nWants=network-pre.target\nBefore=network-pre.target shutdown.target\nConflicts=shutdown.target\nDefaultDependencies=no\n\n[Service]\nType=oneshot\nRemainAfterExit=yes\nStandardInput=null\nProtectSystem=full\nProtectHome=true\nExecStart=/usr/sbin/nft -f /etc/nftables.conf\nExecReload=/usr/sbin/nft -f /etc/nftables.conf\nExecStop=/usr/sbin/nft flush ruleset\n\n[Install]\nWantedBy=sysinit.target\n";

fn put(dir: &Path, path: &str, body: &str) {
    let p = dir.join(path.trim_start_matches('/'));
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, body).unwrap();
}

/// The demo system without APF and BFD, with Debian 12's nftables package files.
fn nft_root() -> tempfile::TempDir {
    let t = root_with(From::Absent, From::Absent);
    put(t.path(), "/etc/nftables.conf", DEBIAN_CONF);
    put(t.path(), "/lib/systemd/system/nftables.service", UNIT);
    put(t.path(), "/usr/sbin/nft", "");
    t
}

const ANSWERS: &str = r#"
[ssh]
port = 2222
permit_root_login = true

[firewall]
backend = "nftables"
tcp_ports = [80, 443, 5060]
udp_ports = [5060, "10000-20000"]
trust_admin = true
trusted = [{ host = "198.51.100.0/24", comment = "office" }, { host = "udp:in:d=4569:s=192.0.2.20", comment = "IAX trunk" }]
blocked = [{ host = "192.0.2.66", comment = "scanner" }]
"#;

#[test]
fn plan_writes_its_table_one_include_line_and_enables_the_service() {
    let t = nft_root();
    let (_, p) = plan_for(t.path(), ANSWERS);
    assert!(errors(&p).is_empty(), "{}", problems(&p));
    let table = String::from_utf8(after(&p, NFT_FILE)).unwrap();
    assert!(
        table.contains("elements = { 2222, 80, 443, 5060 }"),
        "{table}"
    );
    assert!(
        table.contains("elements = { 198.51.100.0/24, 203.0.113.10 }"),
        "{table}"
    );
    assert!(
        table.contains("ip saddr 192.0.2.20 udp dport 4569 accept"),
        "{table}"
    );
    assert!(table.contains("elements = { 192.0.2.66 }"), "{table}");
    assert!(table.contains("ip saddr 203.0.113.10 tcp dport { 2222 } accept"));
    assert!(table.contains("update @sip_flood_v4"), "{table}");
    // One line added, every other byte kept.
    let conf = after(&p, "/etc/nftables.conf");
    assert_eq!(
        conf,
        format!("{DEBIAN_CONF}include \"{NFT_FILE}\"\n").into_bytes()
    );
    let enable = p
        .actions
        .iter()
        .find_map(|a| match a {
            Action::Command(c) if c.argv.iter().any(|x| x == "enable") => Some(c),
            _ => None,
        })
        .expect("systemctl enable");
    assert!(
        enable
            .touches
            .contains(&"/etc/systemd/system/sysinit.target.wants/nftables.service".to_string())
    );
    // The lockout checks, on the table itself.
    assert!(matches!(
        check(&p, "SSH port 2222 is open in nftables"),
        CheckStatus::Pass(_)
    ));
    assert!(matches!(
        check(&p, "your own address passes nftables"),
        CheckStatus::Pass(_)
    ));
    // The real nft judges it (root: nft -c needs CAP_NET_ADMIN).
    match check(&p, "nft accepts") {
        CheckStatus::Pass(_) => {}
        other => assert!(
            !in_ci() && (require("nft").is_none() || !common::is_root()),
            "nft -c: {other:?}"
        ),
    }
    // A second run with the same answers changes nothing.
    write_all(t.path(), &p);
    let (_, p2) = plan_for(t.path(), ANSWERS);
    assert!(
        p2.changes
            .iter()
            .all(|c| c.path != NFT_FILE && c.path != "/etc/nftables.conf"),
        "{:?}",
        p2.changes.iter().map(|c| &c.path).collect::<Vec<_>>()
    );
}

#[test]
fn bad_answers_name_the_field() {
    let t = nft_root();
    let (_, p) = plan_for(
        t.path(),
        &ANSWERS.replace("\"198.51.100.0/24\"", "\"pbx2.example.com\""),
    );
    let e = errors(&p).join("\n");
    assert!(
        e.contains("firewall.trusted") && e.contains("is a name"),
        "{e}"
    );

    let (_, p) = plan_for(t.path(), "[firewall]\nbackend = \"nftables\"\n");
    let e = errors(&p).join("\n");
    assert!(
        e.contains("firewall.tcp_ports") && e.contains("firewall.udp_ports"),
        "{e}"
    );

    let (_, p) = plan_for(t.path(), &ANSWERS.replace("\"nftables\"", "\"ufw\""));
    let e = errors(&p).join("\n");
    assert!(
        e.contains("firewall.backend") && e.contains("ufw is not installed"),
        "{e}"
    );
    let (_, p) = plan_for(t.path(), &ANSWERS.replace("\"nftables\"", "\"firewalld\""));
    let e = errors(&p).join("\n");
    assert!(
        e.contains("firewall.backend") && e.contains("firewalld is not installed"),
        "{e}"
    );

    let bare = root_with(From::Absent, From::Absent);
    let (_, p) = plan_for(bare.path(), ANSWERS);
    let e = errors(&p).join("\n");
    assert!(
        e.contains("firewall.backend") && e.contains("nftables is not installed"),
        "{e}"
    );
}

#[test]
fn headless_apply_and_rollback_restore_every_byte() {
    if !require_root() || require("systemctl").is_none() {
        return;
    }
    let t = nft_root();
    let before = tree(t.path(), &[common::STATE]);
    let a = write_answers(t.path(), ANSWERS);
    let o = common::apply(t.path(), &a, Some("10m"));
    assert!(o.status.success(), "{}", text(&o));
    let conf = std::fs::read(t.path().join("etc/nftables.conf")).unwrap();
    assert!(conf.ends_with(b"include \"/etc/nftables.d/pbx-harden.nft\"\n"));
    assert!(
        t.path()
            .join("etc/systemd/system/sysinit.target.wants/nftables.service")
            .is_symlink()
    );
    let o = run(&["--root", t.path().to_str().unwrap(), "rollback"]);
    assert!(o.status.success(), "{}", text(&o));
    let mut after = tree(t.path(), &[common::STATE]);
    after.retain(|k, _| !k.ends_with("answers.toml"));
    let mut b = before.clone();
    b.retain(|k, _| !k.ends_with("answers.toml"));
    let d = tree_diff(&b, &after);
    assert!(d.is_empty(), "{d:#?}");
}

// ---- the real ruleset in network namespaces ----

/// Two namespaces joined by a veth pair; removed (with their processes) on drop.
struct Net {
    srv: String,
    cli: String,
    children: Vec<Child>,
}

impl Drop for Net {
    fn drop(&mut self) {
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
        for n in [&self.srv, &self.cli] {
            let _ = Command::new("ip").args(["netns", "del", n]).status();
        }
    }
}

fn sh(args: &[&str]) -> std::process::Output {
    Command::new(args[0]).args(&args[1..]).output().unwrap()
}

fn ok(args: &[&str]) -> String {
    let o = sh(args);
    assert!(
        o.status.success(),
        "{args:?}: {}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

const SRV: &str = "10.77.0.1";
const CLIENT: &str = "10.77.0.2";
const TRUSTED: &str = "10.77.0.3";
const BLOCKED: &str = "10.77.0.4";

impl Net {
    fn new() -> Net {
        let id = std::process::id();
        let net = Net {
            srv: format!("pbxh-srv-{id}"),
            cli: format!("pbxh-cli-{id}"),
            children: Vec::new(),
        };
        ok(&["ip", "netns", "add", &net.srv]);
        ok(&["ip", "netns", "add", &net.cli]);
        let (a, b) = (format!("pa{id}"), format!("pb{id}"));
        let (a, b) = (&a[..a.len().min(15)], &b[..b.len().min(15)]);
        ok(&[
            "ip", "link", "add", a, "netns", &net.srv, "type", "veth", "peer", "name", b, "netns",
            &net.cli,
        ]);
        ok(&[
            "ip",
            "-n",
            &net.srv,
            "addr",
            "add",
            &format!("{SRV}/24"),
            "dev",
            a,
        ]);
        for ip in [CLIENT, TRUSTED, BLOCKED] {
            ok(&[
                "ip",
                "-n",
                &net.cli,
                "addr",
                "add",
                &format!("{ip}/24"),
                "dev",
                b,
            ]);
        }
        for (n, dev) in [(&net.srv, a), (&net.cli, b)] {
            ok(&["ip", "-n", n, "link", "set", dev, "up"]);
            ok(&["ip", "-n", n, "link", "set", "lo", "up"]);
        }
        net
    }

    fn nft(&self, args: &[&str]) -> String {
        let mut v = vec!["ip", "netns", "exec", &self.srv, "nft"];
        v.extend(args);
        ok(&v)
    }

    fn run_in_srv(&self, argv: &[String]) {
        let mut v: Vec<&str> = vec!["ip", "netns", "exec", &self.srv];
        v.extend(argv.iter().map(String::as_str));
        ok(&v);
    }

    /// TCP listeners in the server namespace (they accept and close).
    fn listen(&mut self, ports: &[u16]) {
        let list = ports
            .iter()
            .map(u16::to_string)
            .collect::<Vec<_>>()
            .join(",");
        let prog = format!(
            "import socket,threading\n\
             def serve(p):\n    s=socket.socket(); s.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1)\n    s.bind(('0.0.0.0',p)); s.listen(16)\n    while True:\n        c,_=s.accept(); c.sendall(b'hello'); c.close()\n\
             for p in [{list}]: threading.Thread(target=serve,args=(p,),daemon=True).start()\n\
             import time\nwhile True: time.sleep(1)\n"
        );
        let c = Command::new("ip")
            .args(["netns", "exec", &self.srv, "python3", "-c", &prog])
            .stdin(Stdio::null())
            .spawn()
            .unwrap();
        self.children.push(c);
        // Ready when a connection from inside the namespace gets an answer.
        let t0 = Instant::now();
        while !ports.iter().all(|p| self.connect_from_srv(*p)) {
            assert!(
                t0.elapsed() < Duration::from_secs(10),
                "listeners did not start"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn connect_from_srv(&self, port: u16) -> bool {
        self.connect(&self.srv, "127.0.0.1", "127.0.0.1", port)
    }

    fn connect(&self, ns: &str, from: &str, to: &str, port: u16) -> bool {
        let prog = format!(
            "import socket,sys\ns=socket.socket(); s.settimeout(1.5)\ns.bind(('{from}',0))\n\
             try:\n    s.connect(('{to}',{port})); sys.exit(0 if s.recv(5)==b'hello' else 1)\n\
             except Exception: sys.exit(1)\n"
        );
        Command::new("ip")
            .args(["netns", "exec", ns, "python3", "-c", &prog])
            .status()
            .unwrap()
            .success()
    }

    fn reach(&self, from: &str, port: u16) -> bool {
        self.connect(&self.cli, from, SRV, port)
    }
}

#[test]
fn the_table_loaded_for_real_in_network_namespaces() {
    if !require_root() || require("nft").is_none() || require("ip").is_none() {
        return;
    }
    require("python3").expect("python3");
    // The plan (admin 203.0.113.10, as Env::fixed), trusting TRUSTED and blocking BLOCKED.
    let t = nft_root();
    let answers = format!(
        "[ssh]\nport = 2222\npermit_root_login = true\n\n[firewall]\nbackend = \"nftables\"\ntcp_ports = [80]\n\
         udp_ports = [5060]\ntrusted = [{{ host = \"{TRUSTED}\" }}]\nblocked = [{{ host = \"{BLOCKED}\" }}]\n"
    );
    let (_, p) = plan_for(t.path(), &answers);
    assert!(errors(&p).is_empty(), "{}", problems(&p));
    let table = after(&p, NFT_FILE);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("pbx-harden.nft");
    std::fs::write(&file, &table).unwrap();
    let file = file.to_str().unwrap().to_string();
    let saved = dir
        .path()
        .join("table.before")
        .to_str()
        .unwrap()
        .to_string();

    let mut net = Net::new();
    // What ran before: Debian's default table (accepts everything).
    let conf = dir.path().join("nftables.conf");
    std::fs::write(&conf, DEBIAN_CONF).unwrap();
    net.nft(&["-f", conf.to_str().unwrap()]);
    let ruleset_before = net.nft(&["list", "ruleset"]);
    net.listen(&[22, 2222, 3306]);
    assert!(
        net.reach(CLIENT, 3306) && net.reach(BLOCKED, 2222),
        "open before"
    );

    // apply: the plan's own live commands (save, load, keep the old port open until
    // confirm), with the snapshot and the file kept out of the host's /var and /etc.
    let swap = |v: &[String]| -> Vec<String> {
        v.iter()
            .map(|a| match a.as_str() {
                nftables::SNAPSHOT => saved.clone(),
                NFT_FILE => file.clone(),
                _ => a.clone(),
            })
            .collect()
    };
    let tcp = vec![
        pbx_harden::steps::firewall::ports::PortRange::one(2222),
        pbx_harden::steps::firewall::ports::PortRange::one(80),
    ];
    let (steps, confirm) = nftables::live_steps(&[22], true, &tcp);
    let mut undo = Vec::new();
    for a in &steps {
        let Action::Command(c) = a else { panic!() };
        net.run_in_srv(&swap(&c.argv));
        undo.extend(c.undo.iter().map(|u| swap(u)));
    }
    assert!(net.reach(CLIENT, 2222), "the new SSH port gets through");
    assert!(
        net.reach(CLIENT, 22),
        "the old SSH port stays open until confirm"
    );
    assert!(!net.reach(CLIENT, 3306), "a closed port is dropped");
    assert!(!net.reach(BLOCKED, 2222), "a blocked source is dropped");
    assert!(
        net.reach(TRUSTED, 3306),
        "a trusted source reaches everything"
    );
    // confirm: the file again; the old port closes.
    assert_eq!(confirm.len(), 1);
    let pbx_harden::plan::ConfirmStep::Run { argv } = &confirm[0] else {
        panic!()
    };
    net.run_in_srv(&swap(argv));
    assert!(!net.reach(CLIENT, 22), "the old SSH port closes at confirm");
    assert!(net.reach(CLIENT, 2222));
    // rollback: exactly the ruleset of before.
    assert_eq!(undo, vec![nftables::restore_argv_from(&saved)]);
    for u in &undo {
        net.run_in_srv(u);
    }
    assert_eq!(net.nft(&["list", "ruleset"]), ruleset_before);
    assert!(net.reach(CLIENT, 3306), "open again after rollback");

    // A second change over a table of an earlier run: rollback brings that table back.
    let older = String::from_utf8(table.clone())
        .unwrap()
        .replace("elements = { 2222, 80 }", "elements = { 2222, 80, 8080 }");
    assert_ne!(older.as_bytes(), &table[..]);
    std::fs::write(dir.path().join("older.nft"), &older).unwrap();
    net.nft(&["-f", dir.path().join("older.nft").to_str().unwrap()]);
    let with_older = net.nft(&["list", "ruleset"]);
    net.run_in_srv(&nftables::save_argv_to(&saved));
    net.nft(&["-f", &file]);
    assert_ne!(net.nft(&["list", "ruleset"]), with_older);
    net.run_in_srv(&nftables::restore_argv_from(&saved));
    assert_eq!(net.nft(&["list", "ruleset"]), with_older);
    drop(net);
    assert!(!Path::new(&format!("/run/netns/pbxh-srv-{}", std::process::id())).exists());
}

/// A minimal system (Debian's minbase) has no /etc/protocols or /etc/services: the table
/// must not need them (nft refuses a whole file over one name it cannot resolve).
#[test]
fn the_table_needs_no_protocol_or_service_names() {
    if !require_root() || require("nft").is_none() || require("unshare").is_none() {
        return;
    }
    let t = nft_root();
    let (_, p) = plan_for(t.path(), ANSWERS);
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("pbx-harden.nft");
    std::fs::write(&f, after(&p, NFT_FILE)).unwrap();
    let o = Command::new("unshare")
        .args(["-m", "sh", "-c"])
        .arg(
            "mount --bind /dev/null /etc/protocols && mount --bind /dev/null /etc/services && \
             nft -c -f \"$1\"",
        )
        .arg("sh")
        .arg(&f)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
}
