//! The ufw backend: /etc/ufw/user.rules and user6.rules edited rule block by rule block the
//! way `ufw allow|deny|limit|insert` writes them (every rule the admin added stays byte for
//! byte), on a root laid out as Ubuntu 24.04 leaves ufw (enabled, rules written by ufw 0.36);
//! each result judged by ufw itself (`ufw show added` on a scratch root must list every
//! tuple back) and `iptables-restore --test`; a headless apply and rollback leave the root
//! byte for byte as it was.

mod common;
mod fwcommon;

use std::os::unix::fs::symlink;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{in_ci, is_root, require, require_root, run, text, tree, tree_diff, write_answers};
use fwcommon::*;
use pbx_harden::plan::{Action, CheckStatus};

fn put(dir: &Path, path: &str, body: &str) {
    let p = dir.join(path.trim_start_matches('/'));
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, body).unwrap();
}

/// A user rules file as ufw 0.36.2 writes it, around `rules`.
fn rules_file(v6: bool, rules: &str) -> String {
    let c = if v6 { "ufw6" } else { "ufw" };
    let mut s = String::from("*filter\n");
    for n in [
        "user-input",
        "user-output",
        "user-forward",
        "before-logging-input",
        "before-logging-output",
        "before-logging-forward",
        "user-logging-input",
        "user-logging-output",
        "user-logging-forward",
        "after-logging-input",
        "after-logging-output",
        "after-logging-forward",
        "logging-deny",
        "logging-allow",
        "user-limit",
        "user-limit-accept",
    ] {
        s.push_str(&format!(":{c}-{n} - [0:0]\n"));
    }
    s.push_str("### RULES ###\n");
    s.push_str(rules);
    s.push_str(&format!(
        "\n### END RULES ###\n\n### LOGGING ###\n-A {c}-after-logging-input -j LOG --log-prefix \"[UFW BLOCK] \" -m limit --limit 3/min --limit-burst 10\n-A {c}-after-logging-forward -j LOG --log-prefix \"[UFW BLOCK] \" -m limit --limit 3/min --limit-burst 10\n-I {c}-logging-deny -m conntrack --ctstate INVALID -j RETURN -m limit --limit 3/min --limit-burst 10\n-A {c}-logging-deny -j LOG --log-prefix \"[UFW BLOCK] \" -m limit --limit 3/min --limit-burst 10\n-A {c}-logging-allow -j LOG --log-prefix \"[UFW ALLOW] \" -m limit --limit 3/min --limit-burst 10\n### END LOGGING ###\n\n### RATE LIMITING ###\n-A {c}-user-limit -m limit --limit 3/minute -j LOG --log-prefix \"[UFW LIMIT BLOCK] \"\n-A {c}-user-limit -j REJECT\n-A {c}-user-limit-accept -j ACCEPT\n### END RATE LIMITING ###\nCOMMIT\n"
    ));
    s
}

// What `ufw allow 22/tcp`, `ufw allow from 192.0.2.5 to any port 8080 proto tcp comment
// monitor` and `ufw allow 80/tcp` wrote.
const RULES4: &str = "\n### tuple ### allow tcp 22 0.0.0.0/0 any 0.0.0.0/0 in\n-A ufw-user-input -p tcp --dport 22 -j ACCEPT\n\n### tuple ### allow tcp 8080 0.0.0.0/0 any 192.0.2.5 in comment=6d6f6e69746f72\n-A ufw-user-input -p tcp --dport 8080 -s 192.0.2.5 -j ACCEPT\n\n### tuple ### allow tcp 80 0.0.0.0/0 any 0.0.0.0/0 in\n-A ufw-user-input -p tcp --dport 80 -j ACCEPT\n";
const RULES6: &str = "\n### tuple ### allow tcp 22 ::/0 any ::/0 in\n-A ufw6-user-input -p tcp --dport 22 -j ACCEPT\n\n### tuple ### allow tcp 80 ::/0 any ::/0 in\n-A ufw6-user-input -p tcp --dport 80 -j ACCEPT\n";

const MONITOR: &str = "\n### tuple ### allow tcp 8080 0.0.0.0/0 any 192.0.2.5 in comment=6d6f6e69746f72\n-A ufw-user-input -p tcp --dport 8080 -s 192.0.2.5 -j ACCEPT\n";

/// The demo system without APF/BFD, laid out as Ubuntu 24.04 leaves ufw: enabled, rules
/// written by ufw.
fn ubuntu_root() -> tempfile::TempDir {
    let t = root_with(From::Absent, From::Absent);
    let d = t.path();
    put(
        d,
        "/etc/ufw/ufw.conf",
        "# /etc/ufw/ufw.conf\n#\n\nENABLED=yes\n\nLOGLEVEL=low\n",
    );
    put(d, "/etc/ufw/user.rules", &rules_file(false, RULES4));
    put(d, "/etc/ufw/user6.rules", &rules_file(true, RULES6));
    put(
        d,
        "/etc/default/ufw",
        "IPV6=yes\nDEFAULT_INPUT_POLICY=\"DROP\"\nDEFAULT_OUTPUT_POLICY=\"ACCEPT\"\nDEFAULT_FORWARD_POLICY=\"DROP\"\nDEFAULT_APPLICATION_POLICY=\"SKIP\"\nMANAGE_BUILTINS=no\nIPT_SYSCTL=/etc/ufw/sysctl.conf\nIPT_MODULES=\"\"\n",
    );
    put(
        d,
        "/usr/lib/systemd/system/ufw.service",
        "[Service]\nExecStart=/lib/ufw/ufw-init start quiet\n[Install]\nWantedBy=multi-user.target\n",
    );
    let w = d.join("etc/systemd/system/multi-user.target.wants");
    std::fs::create_dir_all(&w).unwrap();
    symlink("/usr/lib/systemd/system/ufw.service", w.join("ufw.service")).unwrap();
    t
}

const ANSWERS: &str = r#"
[ssh]
port = 22022
permit_root_login = true

[firewall]
tcp_ports = [80, 443]
udp_ports = [5060, "10000-20000"]
trust_admin = true
trusted = [{ host = "198.51.100.0/24", comment = "office" }, { host = "udp:in:d=4569:s=192.0.2.20" }, { host = "2001:db8::/32" }]
blocked = [{ host = "192.0.2.66" }]
"#;

fn real_check_passed(p: &pbx_harden::plan::Plan) {
    match check(p, "ufw lists the rules back") {
        CheckStatus::Pass(_) => {}
        other => assert!(
            !in_ci() && (require("ufw").is_none() || !is_root()),
            "{other:?}"
        ),
    }
}

fn s(p: &pbx_harden::plan::Plan, path: &str) -> String {
    String::from_utf8(after(p, path)).unwrap()
}

#[test]
fn auto_opens_the_new_port_in_ufw_and_edits_in_place() {
    let t = ubuntu_root();
    let (_, p) = plan_for(t.path(), ANSWERS);
    assert!(errors(&p).is_empty(), "{}", problems(&p));
    let u4 = s(&p, "/etc/ufw/user.rules");
    // The admin's rule stays byte for byte; 22 goes after the move; 80 stays where it was.
    assert!(u4.contains(MONITOR), "{u4}");
    assert!(!u4.contains("allow tcp 22 0.0.0.0/0"), "{u4}");
    assert!(u4.contains("### tuple ### allow tcp 80 0.0.0.0/0 any 0.0.0.0/0 in\n-A ufw-user-input -p tcp --dport 80 -j ACCEPT\n"));
    // Blocked first, then trusted, then the admin, at the top as `ufw insert 1` puts them.
    let top = "### RULES ###\n\n### tuple ### deny any any 0.0.0.0/0 any 192.0.2.66 in\n-A ufw-user-input -s 192.0.2.66 -j DROP\n\n### tuple ### allow any any 0.0.0.0/0 any 198.51.100.0/24 in comment=6f6666696365\n-A ufw-user-input -s 198.51.100.0/24 -j ACCEPT\n\n### tuple ### allow udp 4569 0.0.0.0/0 any 192.0.2.20 in\n-A ufw-user-input -p udp --dport 4569 -s 192.0.2.20 -j ACCEPT\n";
    assert!(u4.contains(top), "{u4}");
    for l in [
        "### tuple ### allow tcp 22022 0.0.0.0/0 any 203.0.113.10 in",
        "### tuple ### allow tcp 22022 0.0.0.0/0 any 0.0.0.0/0 in",
        "### tuple ### allow tcp 443 0.0.0.0/0 any 0.0.0.0/0 in",
        "### tuple ### limit udp 5060 0.0.0.0/0 any 0.0.0.0/0 in",
        "-A ufw-user-input -p udp --dport 5060 -m conntrack --ctstate NEW -m recent --update --seconds 30 --hitcount 6 -j ufw-user-limit",
        "### tuple ### allow udp 10000:20000 0.0.0.0/0 any 0.0.0.0/0 in",
        "-A ufw-user-input -p udp -m multiport --dports 10000:20000 -j ACCEPT",
    ] {
        assert!(u4.lines().any(|x| x == l), "{l} in\n{u4}");
    }
    assert!(u4.ends_with("### END RULES ###\n\n### LOGGING ###\n-A ufw-after-logging-input -j LOG --log-prefix \"[UFW BLOCK] \" -m limit --limit 3/min --limit-burst 10\n-A ufw-after-logging-forward -j LOG --log-prefix \"[UFW BLOCK] \" -m limit --limit 3/min --limit-burst 10\n-I ufw-logging-deny -m conntrack --ctstate INVALID -j RETURN -m limit --limit 3/min --limit-burst 10\n-A ufw-logging-deny -j LOG --log-prefix \"[UFW BLOCK] \" -m limit --limit 3/min --limit-burst 10\n-A ufw-logging-allow -j LOG --log-prefix \"[UFW ALLOW] \" -m limit --limit 3/min --limit-burst 10\n### END LOGGING ###\n\n### RATE LIMITING ###\n-A ufw-user-limit -m limit --limit 3/minute -j LOG --log-prefix \"[UFW LIMIT BLOCK] \"\n-A ufw-user-limit -j REJECT\n-A ufw-user-limit-accept -j ACCEPT\n### END RATE LIMITING ###\nCOMMIT\n"));
    let u6 = s(&p, "/etc/ufw/user6.rules");
    assert!(u6.contains("### tuple ### allow any any ::/0 any 2001:db8::/32 in\n-A ufw6-user-input -s 2001:db8::/32 -j ACCEPT\n"), "{u6}");
    assert!(
        u6.contains("### tuple ### limit udp 5060 ::/0 any ::/0 in"),
        "{u6}"
    );
    assert!(!u6.contains("allow tcp 22 ::/0"), "{u6}");
    assert!(matches!(
        check(&p, "SSH port 22022 is open in ufw"),
        CheckStatus::Pass(_)
    ));
    assert!(matches!(
        check(&p, "your own address passes ufw"),
        CheckStatus::Pass(_)
    ));
    assert!(
        problems(&p).contains("SIP 5060/udp as `ufw limit`")
            || p.summary.firewall.iter().any(|l| l.contains("ufw limit"))
    );
    real_check_passed(&p);
    // A second run changes nothing.
    write_all(t.path(), &p);
    let (_, p2) = plan_for(t.path(), ANSWERS);
    assert!(errors(&p2).is_empty(), "{}", problems(&p2));
    assert!(
        p2.changes.iter().all(|c| !c.path.starts_with("/etc/ufw")),
        "{:?}",
        p2.changes.iter().map(|c| &c.path).collect::<Vec<_>>()
    );
    // Moving a host from trusted to blocked takes its allow rule out.
    let (_, p3) = plan_for(
        t.path(),
        &ANSWERS
            .replace("{ host = \"198.51.100.0/24\", comment = \"office\" }, ", "")
            .replace(
                "[{ host = \"192.0.2.66\" }]",
                "[{ host = \"192.0.2.66\" }, { host = \"198.51.100.0/24\" }]",
            ),
    );
    assert!(errors(&p3).is_empty(), "{}", problems(&p3));
    let u4 = s(&p3, "/etc/ufw/user.rules");
    assert!(
        !u4.contains("allow any any 0.0.0.0/0 any 198.51.100.0/24"),
        "{u4}"
    );
    assert!(u4.contains("### tuple ### deny any any 0.0.0.0/0 any 198.51.100.0/24 in\n-A ufw-user-input -s 198.51.100.0/24 -j DROP\n"), "{u4}");
    real_check_passed(&p3);
}

#[test]
fn an_ssh_move_alone_opens_the_port_and_keeps_the_rest() {
    let t = ubuntu_root();
    let (_, p) = plan_for(t.path(), "[ssh]\nport = 22022\npermit_root_login = true\n");
    assert!(errors(&p).is_empty(), "{}", problems(&p));
    let u4 = s(&p, "/etc/ufw/user.rules");
    let want = rules_file(
        false,
        &format!(
            "\n### tuple ### allow tcp 22022 0.0.0.0/0 any 203.0.113.10 in\n-A ufw-user-input -p tcp --dport 22022 -s 203.0.113.10 -j ACCEPT\n{}\n### tuple ### allow tcp 22022 0.0.0.0/0 any 0.0.0.0/0 in\n-A ufw-user-input -p tcp --dport 22022 -j ACCEPT\n",
            RULES4.replace(
                "\n### tuple ### allow tcp 22 0.0.0.0/0 any 0.0.0.0/0 in\n-A ufw-user-input -p tcp --dport 22 -j ACCEPT\n",
                ""
            )
        ),
    );
    assert_eq!(u4, want);
    real_check_passed(&p);
}

#[test]
fn what_ufw_cannot_say_is_refused_by_name() {
    let t = ubuntu_root();
    let (_, p) = plan_for(
        t.path(),
        &ANSWERS.replace("\"192.0.2.66\"", "\"tcp:out:d=25:d=192.0.2.66\""),
    );
    let e = errors(&p).join("\n");
    assert!(
        e.contains("firewall.blocked") && e.contains("outbound"),
        "{e}"
    );
    let (_, p) = plan_for(
        t.path(),
        &ANSWERS.replace("\"198.51.100.0/24\"", "\"pbx2.example.com\""),
    );
    let e = errors(&p).join("\n");
    assert!(
        e.contains("firewall.trusted") && e.contains("is a name"),
        "{e}"
    );
    // A tuple ufw can not read is caught by ufw's own listing.
    if require_root() && require("ufw").is_some() {
        put(
            t.path(),
            "/etc/ufw/user.rules",
            &rules_file(
                false,
                &format!(
                    "{RULES4}\n### tuple ### allow tcp 70000 0.0.0.0/0 any 0.0.0.0/0 in\n-A ufw-user-input -p tcp --dport 70000 -j ACCEPT\n"
                ),
            ),
        );
        let (_, p) = plan_for(t.path(), "[ssh]\nport = 22022\npermit_root_login = true\n");
        assert!(
            matches!(check(&p, "ufw lists the rules back"), CheckStatus::Fail(_)),
            "{}",
            problems(&p)
        );
    }
}

#[test]
fn headless_apply_and_rollback_restore_every_byte() {
    if !require_root() {
        return;
    }
    let t = ubuntu_root();
    let before = tree(t.path(), &[common::STATE]);
    let a = write_answers(t.path(), ANSWERS);
    let o = common::apply(t.path(), &a, Some("10m"));
    assert!(o.status.success(), "{}", text(&o));
    let u4 = std::fs::read_to_string(t.path().join("etc/ufw/user.rules")).unwrap();
    assert!(u4.contains("allow tcp 22022"), "{u4}");
    let o = run(&["--root", t.path().to_str().unwrap(), "rollback"]);
    assert!(o.status.success(), "{}", text(&o));
    let mut after = tree(t.path(), &[common::STATE]);
    after.retain(|k, _| !k.ends_with("answers.toml"));
    let mut b = before.clone();
    b.retain(|k, _| !k.ends_with("answers.toml"));
    let d = tree_diff(&b, &after);
    assert!(d.is_empty(), "{d:#?}");
}

// ---- ufw itself, live, in network namespaces ----

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

fn ok(args: &[&str]) -> String {
    let o = Command::new(args[0]).args(&args[1..]).output().unwrap();
    assert!(
        o.status.success(),
        "{args:?}: {}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

const SRV: &str = "10.78.0.1";
const CLIENT: &str = "10.78.0.2";
const TRUSTED: &str = "10.78.0.3";
const BLOCKED: &str = "10.78.0.4";

impl Net {
    fn new() -> Net {
        let id = std::process::id();
        let net = Net {
            srv: format!("pbxu-srv-{id}"),
            cli: format!("pbxu-cli-{id}"),
            children: Vec::new(),
        };
        ok(&["ip", "netns", "add", &net.srv]);
        ok(&["ip", "netns", "add", &net.cli]);
        let (a, b) = (format!("ua{id}"), format!("ub{id}"));
        ok(&[
            "ip", "link", "add", &a, "netns", &net.srv, "type", "veth", "peer", "name", &b,
            "netns", &net.cli,
        ]);
        ok(&[
            "ip",
            "-n",
            &net.srv,
            "addr",
            "add",
            &format!("{SRV}/24"),
            "dev",
            &a,
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
                &b,
            ]);
        }
        for (n, dev) in [(&net.srv, &a), (&net.cli, &b)] {
            ok(&["ip", "-n", n, "link", "set", dev, "up"]);
            ok(&["ip", "-n", n, "link", "set", "lo", "up"]);
        }
        net
    }

    fn in_srv(&self, argv: &[String]) -> String {
        let mut v: Vec<&str> = vec!["ip", "netns", "exec", &self.srv];
        v.extend(argv.iter().map(String::as_str));
        ok(&v)
    }

    /// TCP listeners in the server namespace (they accept, greet and close).
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
        let t0 = Instant::now();
        while !ports
            .iter()
            .all(|p| self.connect(&self.srv, "127.0.0.1", "127.0.0.1", *p))
        {
            assert!(
                t0.elapsed() < Duration::from_secs(10),
                "listeners did not start"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
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

    /// The filter table as iptables-save prints it, without counters and comments.
    fn rules(&self) -> String {
        self.in_srv(&["iptables-save".to_string(), "-t".into(), "filter".into()])
            .lines()
            .filter(|l| !l.starts_with('#'))
            .map(|l| {
                if l.starts_with(':') {
                    l.split(' ').take(2).collect::<Vec<_>>().join(" ")
                } else {
                    l.to_string()
                }
            })
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// ufw's files on a scratch root (`--rootdir`/`--datadir`): the package's before/after rules
/// and ufw-init, the root's user rules.
fn ufw_scratch(dir: &Path, user4: &[u8], user6: &[u8]) {
    let etc = dir.join("etc/ufw");
    std::fs::create_dir_all(etc.join("applications.d")).unwrap();
    for f in [
        "before.rules",
        "after.rules",
        "before6.rules",
        "after6.rules",
    ] {
        std::fs::copy(format!("/usr/share/ufw/iptables/{f}"), etc.join(f)).unwrap();
    }
    std::fs::write(etc.join("sysctl.conf"), "").unwrap();
    std::fs::write(etc.join("ufw.conf"), "ENABLED=no\nLOGLEVEL=low\n").unwrap();
    std::fs::write(etc.join("user.rules"), user4).unwrap();
    std::fs::write(etc.join("user6.rules"), user6).unwrap();
    put(
        dir,
        "/etc/default/ufw",
        &format!(
            "IPV6=yes\nDEFAULT_INPUT_POLICY=\"DROP\"\nDEFAULT_OUTPUT_POLICY=\"ACCEPT\"\nDEFAULT_FORWARD_POLICY=\"DROP\"\nDEFAULT_APPLICATION_POLICY=\"SKIP\"\nMANAGE_BUILTINS=no\nIPT_SYSCTL={}\nIPT_MODULES=\"\"\n",
            etc.join("sysctl.conf").display()
        ),
    );
    for d in ["lib/ufw", "usr/share/ufw"] {
        std::fs::create_dir_all(dir.join(d).parent().unwrap()).unwrap();
        ok(&["cp", "-a", &format!("/{d}"), dir.join(d).to_str().unwrap()]);
    }
}

#[test]
fn ufw_loads_the_rules_for_real_in_network_namespaces() {
    if !require_root() || require("ufw").is_none() || require("ip").is_none() {
        return;
    }
    require("python3").expect("python3");
    let t = ubuntu_root();
    let answers = format!(
        "[ssh]\nport = 2222\npermit_root_login = true\n\n[firewall]\ntcp_ports = [80]\n\
         udp_ports = [5060]\ntrusted = [{{ host = \"{TRUSTED}\" }}]\nblocked = [{{ host = \"{BLOCKED}\" }}]\n"
    );
    let (_, p) = plan_for(t.path(), &answers);
    assert!(errors(&p).is_empty(), "{}", problems(&p));
    let before4 = std::fs::read(t.path().join("etc/ufw/user.rules")).unwrap();
    let before6 = std::fs::read(t.path().join("etc/ufw/user6.rules")).unwrap();
    let after4 = after(&p, "/etc/ufw/user.rules");
    let after6 = after(&p, "/etc/ufw/user6.rules");

    let d = tempfile::Builder::new()
        .prefix("pbxu")
        .tempdir_in("/var/tmp")
        .unwrap();
    let dir = d.path();
    ufw_scratch(dir, &before4, &before6);
    let ufw = format!("ufw --rootdir={0} --datadir={0}", dir.display());
    let ufw_argv = |args: &str| -> Vec<String> {
        let mut v = vec!["sh".to_string(), "-c".into()];
        v.push(format!("{ufw} {args}"));
        v
    };
    let mut net = Net::new();
    // ufw as the admin left it: enabled, 22 and 80 open.
    net.in_srv(&ufw_argv("--force enable"));
    net.listen(&[22, 2222, 3306]);
    assert!(
        net.reach(CLIENT, 22) && net.reach(BLOCKED, 22),
        "22 open before"
    );
    assert!(!net.reach(CLIENT, 2222), "2222 closed before");
    let rules_before = net.rules();

    // apply: the files, then the plan's own live commands (`ufw` pointed at the scratch root).
    std::fs::write(dir.join("etc/ufw/user.rules"), &after4).unwrap();
    std::fs::write(dir.join("etc/ufw/user6.rules"), &after6).unwrap();
    let swap = |v: &[String]| -> Vec<String> {
        v.iter()
            .map(|a| {
                a.replace("ufw status", &format!("{ufw} status"))
                    .replace("ufw reload", &format!("{ufw} reload"))
            })
            .collect()
    };
    let (steps, confirm) = pbx_harden::steps::firewall::ufw::live_steps(&[22]);
    let mut undo = Vec::new();
    for a in &steps {
        let Action::Command(c) = a else { panic!() };
        net.in_srv(&swap(&c.argv));
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
    // confirm: ufw reloads its files; the old port closes.
    assert_eq!(confirm.len(), 1);
    let pbx_harden::plan::ConfirmStep::Run { argv } = &confirm[0] else {
        panic!()
    };
    net.in_srv(&swap(argv));
    assert!(!net.reach(CLIENT, 22), "the old SSH port closes at confirm");
    assert!(net.reach(CLIENT, 2222));
    assert!(!net.reach(BLOCKED, 2222));
    // rollback: the files byte for byte, then the reload: the same rules as before.
    std::fs::write(dir.join("etc/ufw/user.rules"), &before4).unwrap();
    std::fs::write(dir.join("etc/ufw/user6.rules"), &before6).unwrap();
    assert_eq!(undo.len(), 1);
    for u in &undo {
        net.in_srv(u);
    }
    assert_eq!(net.rules(), rules_before);
    assert!(
        net.reach(CLIENT, 22) && !net.reach(CLIENT, 2222),
        "as before"
    );
    drop(net);
    assert!(!Path::new(&format!("/run/netns/pbxu-srv-{}", std::process::id())).exists());
}

/// `ufw limit 22/tcp` and `ufw allow OpenSSH` (an application profile), as admins write
/// them: without a move both stay byte for byte and no second rule for 22 is added; after a
/// move both go.
#[test]
fn the_admins_limit_and_application_rules_for_ssh() {
    let t = ubuntu_root();
    let ssh4 = "\n### tuple ### limit tcp 22 0.0.0.0/0 any 0.0.0.0/0 in\n-A ufw-user-input -p tcp --dport 22 -m conntrack --ctstate NEW -m recent --set\n-A ufw-user-input -p tcp --dport 22 -m conntrack --ctstate NEW -m recent --update --seconds 30 --hitcount 6 -j ufw-user-limit\n-A ufw-user-input -p tcp --dport 22 -j ufw-user-limit-accept\n\n### tuple ### allow tcp 22 0.0.0.0/0 any 0.0.0.0/0 OpenSSH - in\n-A ufw-user-input -p tcp --dport 22 -j ACCEPT -m comment --comment 'dapp_OpenSSH'\n";
    put(t.path(), "/etc/ufw/user.rules", &rules_file(false, ssh4));
    put(
        t.path(),
        "/etc/ufw/applications.d/openssh-server",
        "[OpenSSH]\ntitle=Secure shell server, an rshd replacement\ndescription=OpenSSH is a free implementation of the Secure Shell protocol.\nports=22/tcp\n",
    );
    let (_, p) = plan_for(t.path(), "[firewall]\ntcp_ports = [80]\n");
    assert!(errors(&p).is_empty(), "{}", problems(&p));
    let u4 = s(&p, "/etc/ufw/user.rules");
    assert!(u4.contains(ssh4), "{u4}");
    assert!(
        !u4.contains("### tuple ### allow tcp 22 0.0.0.0/0 any 0.0.0.0/0 in"),
        "{u4}"
    );
    assert!(
        u4.contains("### tuple ### allow tcp 80 0.0.0.0/0 any 0.0.0.0/0 in"),
        "{u4}"
    );
    real_check_passed(&p);
    let (_, p) = plan_for(t.path(), "[ssh]\nport = 22022\npermit_root_login = true\n");
    assert!(errors(&p).is_empty(), "{}", problems(&p));
    let u4 = s(&p, "/etc/ufw/user.rules");
    assert!(!u4.contains("tcp 22 0.0.0.0/0"), "{u4}");
    assert!(
        u4.contains("### tuple ### allow tcp 22022 0.0.0.0/0 any 0.0.0.0/0 in"),
        "{u4}"
    );
    real_check_passed(&p);
}

// What ufw 0.36.2 wrote for `ufw allow from 198.51.100.0/24 comment 'office, 2nd floor'`,
// `ufw deny from 192.0.2.66`, `ufw reject from 192.0.2.77`, `ufw allow in on eth1 from
// 10.0.0.0/8`, `ufw allow from 192.0.2.5 to any port 8080 proto tcp`, `ufw allow 22/tcp`,
// and in user6.rules `ufw deny from 2001:db8:bad::/48 comment 'scanner'`.
const OFFICE: &str = "\n### tuple ### allow any any 0.0.0.0/0 any 198.51.100.0/24 in comment=6f66666963652c20326e6420666c6f6f72\n-A ufw-user-input -s 198.51.100.0/24 -j ACCEPT\n";
const DENY: &str = "\n### tuple ### deny any any 0.0.0.0/0 any 192.0.2.66 in\n-A ufw-user-input -s 192.0.2.66 -j DROP\n";
const MONITOR8080: &str = "\n### tuple ### allow tcp 8080 0.0.0.0/0 any 192.0.2.5 in\n-A ufw-user-input -p tcp --dport 8080 -s 192.0.2.5 -j ACCEPT\n";
const OTHERS: &str = "\n### tuple ### reject any any 0.0.0.0/0 any 192.0.2.77 in\n-A ufw-user-input -s 192.0.2.77 -j REJECT\n\n### tuple ### allow any any 0.0.0.0/0 any 10.0.0.0/8 in_eth1\n-A ufw-user-input -i eth1 -s 10.0.0.0/8 -j ACCEPT\n";
const SSH22: &str = "\n### tuple ### allow tcp 22 0.0.0.0/0 any 0.0.0.0/0 in\n-A ufw-user-input -p tcp --dport 22 -j ACCEPT\n";
const SCANNER6: &str = "\n### tuple ### deny any any ::/0 any 2001:db8:bad::/48 in comment=7363616e6e6572\n-A ufw6-user-input -s 2001:db8:bad::/48 -j DROP\n\n### tuple ### allow tcp 22 ::/0 any ::/0 in\n-A ufw6-user-input -p tcp --dport 22 -j ACCEPT\n";

/// The admin's own host rules (added with `ufw allow|deny|reject from`): a run that does not
/// name them keeps every one byte for byte; named with a new comment, the comment changes in
/// place (never a second rule); `remove` takes a host's or an advanced entry's rules out;
/// named without a comment, the comment there stays.
#[test]
fn the_admins_host_rules_are_kept_edited_in_place_and_taken_out_on_request() {
    let t = ubuntu_root();
    let rules4 = format!("{OFFICE}{DENY}{OTHERS}{MONITOR8080}{SSH22}");
    put(t.path(), "/etc/ufw/user.rules", &rules_file(false, &rules4));
    put(
        t.path(),
        "/etc/ufw/user6.rules",
        &rules_file(true, SCANNER6),
    );
    // the SSH rule for the admin's own address (SSH_CONNECTION) goes at the top
    let admin = "\n### tuple ### allow tcp 22 0.0.0.0/0 any 203.0.113.10 in\n-A ufw-user-input -p tcp --dport 22 -s 203.0.113.10 -j ACCEPT\n";
    let (_, p) = plan_for(t.path(), "[firewall]\ntcp_ports = [22]\n");
    assert!(errors(&p).is_empty(), "{}", problems(&p));
    assert_eq!(
        s(&p, "/etc/ufw/user.rules"),
        rules_file(false, &format!("{admin}{rules4}"))
    );
    assert!(change(&p, "/etc/ufw/user6.rules").is_none());
    real_check_passed(&p);
    let (_, p) = plan_for(
        t.path(),
        r#"[firewall]
tcp_ports = [22]
trusted = [{ host = "198.51.100.0/24", comment = "office, 3rd floor" }]
blocked = [{ host = "2001:db8:bad::/48" }]
remove = ["192.0.2.66", "tcp:in:d=8080:s=192.0.2.5"]
"#,
    );
    assert!(errors(&p).is_empty(), "{}", problems(&p));
    let third: String = "office, 3rd floor"
        .bytes()
        .map(|b| format!("{b:02x}"))
        .collect();
    let office = OFFICE.replace("6f66666963652c20326e6420666c6f6f72", &third);
    assert_eq!(
        s(&p, "/etc/ufw/user.rules"),
        rules_file(false, &format!("{admin}{office}{OTHERS}{SSH22}"))
    );
    // the scanner's rule is there (its comment stays): user6.rules is not touched
    assert!(change(&p, "/etc/ufw/user6.rules").is_none());
    real_check_passed(&p);
    // taking out what is not there says so
    let (_, p) = plan_for(
        t.path(),
        "[firewall]\ntcp_ports = [22]\nremove = [\"192.0.2.99\"]\n",
    );
    assert!(
        problems(&p).contains("192.0.2.99 is not in ufw's user rules"),
        "{}",
        problems(&p)
    );
}
