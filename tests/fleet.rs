//! A fleet through deploy/ansible: three booted Debian 12 boxes (tests/boxes), each in its own
//! network namespace joined to the host's by a veth pair on 10.231.N.0/24, hardened by
//! ansible-core (PyPI, in the venv .ci/run makes) with the pbx_harden role:
//!
//! 1. `--check --diff` shows each plan as a diff and changes nothing;
//! 2. the rollout hardens all three, each confirmed over a new login on its new port; the
//!    login password comes from Ansible Vault and never shows in Ansible's output;
//! 3. a second run changes nothing and says so (the role finds the hosts on their new port);
//! 4. a move to another port: a host where that port is in use is refused at plan, a host
//!    where it is blocked (an iptables DROP in its namespace) is not confirmed and rolls back
//!    by itself (short confirm timeout), and the third goes on; the summary says which is which.
//!
//! Needs root, the booted-box parts and ansible-playbook ($PBX_HARDEN_ANSIBLE, default
//! /opt/pbx-harden-ci/ansible/bin); in CI a missing part is a failure.

mod boxes;
mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use boxes::{Flavor, TestBox};
use common::in_ci;
use serde_json::Value;

const N: usize = 3;
const LOGIN_PW: &str = "Quokka lattice 7# ferry anvil";
const PORT_A: u16 = 31022;
const PORT_B: u16 = 31555;

fn ansible_bin() -> PathBuf {
    std::env::var_os("PBX_HARDEN_ANSIBLE")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/opt/pbx-harden-ci/ansible/bin"))
}

fn sh(script: &str) -> std::process::Output {
    Command::new("bash").args(["-c", script]).output().unwrap()
}

fn sh_ok(script: &str) {
    let o = sh(script);
    assert!(o.status.success(), "{script}\n{}", common::text(&o));
}

/// Namespaces and veth pairs, removed on drop (the boxes go first: they are dropped earlier).
struct Net;

impl Net {
    fn up() -> Net {
        Net::down();
        for i in 1..=N {
            sh_ok(&format!(
                "ip netns add pbxfleet{i} && \
                 ip link add vpbxf{i} type veth peer name eth0 netns pbxfleet{i} && \
                 ip addr add 10.231.{i}.1/24 dev vpbxf{i} && ip link set vpbxf{i} up && \
                 ip -n pbxfleet{i} addr add 10.231.{i}.2/24 dev eth0 && \
                 ip -n pbxfleet{i} link set eth0 up && ip -n pbxfleet{i} link set lo up"
            ));
        }
        Net
    }

    fn down() {
        for i in 1..=N {
            let _ = sh(&format!(
                "ip link del vpbxf{i} 2>/dev/null; ip netns del pbxfleet{i} 2>/dev/null"
            ));
        }
    }
}

impl Drop for Net {
    fn drop(&mut self) {
        Net::down();
    }
}

/// Python 3 in a box (Ansible's modules need it; the image is minbase): the .debs are fetched
/// once into the image cache, then installed with dpkg inside.
fn add_python(b: &TestBox) {
    let cache = std::env::var("PBX_BOX_CACHE")
        .unwrap_or_else(|_| "/var/cache/pbx-harden-tests".into())
        + "/python3-debs";
    let root = b.root();
    let r = root.display();
    sh_ok(&format!(
        "set -e; c={cache}; if [ ! -f $c/.complete ]; then \
           rm -rf $c; mkdir -p $c; \
           chroot {r} apt-get update -qq; \
           chroot {r} apt-get install -y -qq --no-install-recommends --download-only python3 >/dev/null; \
           cp {r}/var/cache/apt/archives/*.deb $c/; rm -rf {r}/var/lib/apt/lists/*; touch $c/.complete; \
         fi; mkdir -p {r}/var/tmp/pydebs; cp $c/*.deb {r}/var/tmp/pydebs/"
    ));
    b.sh_ok(
        // Twice: python3-minimal pre-depends on python3.11-minimal, in the same batch.
        "dpkg -i /var/tmp/pydebs/*.deb >/dev/null 2>&1 || dpkg -i /var/tmp/pydebs/*.deb >/dev/null; \
         rm -rf /var/tmp/pydebs; python3 -c 'import json'",
    );
}

struct Run {
    out: String,
    reports: Vec<Value>,
    secs: f64,
}

struct Ctl {
    dir: tempfile::TempDir,
}

impl Ctl {
    fn playbook(&self, inventory: &str, extra: &[&str]) -> Run {
        let d = self.dir.path();
        std::fs::write(d.join("inventory.yml"), inventory).unwrap();
        let _ = std::fs::remove_dir_all(d.join("report"));
        let t = Instant::now();
        let o = Command::new(ansible_bin().join("ansible-playbook"))
            .current_dir(d)
            .env("ANSIBLE_CONFIG", d.join("ansible.cfg"))
            .env("ANSIBLE_FORCE_COLOR", "0")
            .env("ANSIBLE_NOCOLOR", "1")
            .args(["-i", "inventory.yml", "--vault-password-file", "vault-pass"])
            .arg(site())
            .args(extra)
            .output()
            .unwrap();
        let secs = t.elapsed().as_secs_f64();
        let out = format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
        let reports = (1..=N)
            .map(|i| {
                std::fs::read_to_string(d.join(format!("report/fleet{i}.json")))
                    .map(|s| serde_json::from_str(&s).unwrap())
                    .unwrap_or(Value::Null)
            })
            .collect();
        assert!(
            !out.contains(LOGIN_PW),
            "the vault password shows in Ansible's output:\n{out}"
        );
        eprintln!("[fleet] ansible-playbook {extra:?}: {secs:.1}s\n{out}");
        Run { out, reports, secs }
    }
}

impl Ctl {
    /// `ansible-playbook summary.yml` with the last inventory: its output.
    fn summary(&self) -> String {
        let d = self.dir.path();
        let o = Command::new(ansible_bin().join("ansible-playbook"))
            .current_dir(d)
            .env("ANSIBLE_CONFIG", d.join("ansible.cfg"))
            .env("ANSIBLE_NOCOLOR", "1")
            .args(["-i", "inventory.yml", "--vault-password-file", "vault-pass"])
            .arg(site().with_file_name("summary.yml"))
            .output()
            .unwrap();
        let out = String::from_utf8_lossy(&o.stdout).into_owned();
        eprintln!("[fleet] summary.yml:\n{out}");
        assert!(
            o.status.success(),
            "{out}{}",
            String::from_utf8_lossy(&o.stderr)
        );
        out
    }
}

fn site() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/ansible/site.yml")
}

fn outcome(r: &Value) -> &str {
    r["outcome"].as_str().unwrap_or("<no report>")
}

/// `fleetN changed=K` from the PLAY RECAP.
fn recap_changed(out: &str, host: &str) -> Option<u32> {
    out.lines()
        .rfind(|l| l.starts_with(host) && l.contains("changed="))
        .and_then(|l| l.split("changed=").nth(1))
        .and_then(|s| s.split_whitespace().next())
        .and_then(|n| n.parse().ok())
}

/// The pbx-harden under test without its debug info (a fifth of the size to copy).
fn stripped_binary(dir: &Path) -> PathBuf {
    let p = dir.join("pbx-harden");
    std::fs::copy(env!("CARGO_BIN_EXE_pbx-harden"), &p).unwrap();
    sh_ok(&format!("strip {}", p.display()));
    p
}

fn inventory(bin: &Path, hosts: &str, vars: &str) -> String {
    format!(
        "all:\n  children:\n    pbx:\n      vars:\n        ansible_python_interpreter: /usr/bin/python3\n\
         \x20       ansible_become_method: sudo\n\
         \x20       pbx_harden_binary: {bin}\n\
         \x20       pbx_harden_exe: /usr/local/sbin/pbx-harden\n\
         \x20       pbx_harden_report_dir: \"{{{{ playbook_dir_ctl }}}}/report\"\n\
         \x20       pbx_harden_password_dir: \"{{{{ playbook_dir_ctl }}}}/passwords\"\n\
         \x20       pbx_harden_new_port_timeout: 10\n\
         \x20       pbx_harden_user_password: \"{{{{ vault_login_password }}}}\"\n\
         \x20       pbx_harden_answers:\n          user:\n            name: pbxops\n            groups: [sudo]\n\
         \x20         ssh:\n            port: {PORT_A}\n            permit_root_login: false\n\
         {vars}      hosts:\n{hosts}",
        bin = bin.display(),
    )
}

#[test]
fn three_pbxs_hardened_confirmed_on_their_new_port_refused_and_rolled_back() {
    if !nix::unistd::geteuid().is_root() || boxes::missing_parts().is_err() {
        assert!(
            !in_ci(),
            "the fleet test needs root and the booted-box parts in CI"
        );
        eprintln!("not root or no booted-box parts: the fleet test is skipped (it runs in CI)");
        return;
    }
    let ap = ansible_bin().join("ansible-playbook");
    if !ap.exists() {
        assert!(!in_ci(), "{} is missing: .ci/run installs it", ap.display());
        eprintln!("{} is missing: the fleet test is skipped", ap.display());
        return;
    }
    let net = Net::up();
    let mut boxes = Vec::new();
    for i in 1..=N {
        let ns = PathBuf::from(format!("/run/netns/pbxfleet{i}"));
        let b = TestBox::start_in_netns(&format!("fleet{i}"), Flavor::Systemd, &ns)
            .expect("booted box");
        add_python(&b);
        boxes.push(b);
    }
    let ctl = Ctl {
        dir: tempfile::tempdir().unwrap(),
    };
    let d = ctl.dir.path();
    std::fs::write(
        d.join("ansible.cfg"),
        format!(
            "[defaults]\nhost_key_checking = False\nroles_path = {roles}\nforks = 5\n\
             timeout = 10\n[ssh_connection]\ncontrol_path_dir = {d}/cp\npipelining = True\n",
            roles = Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("deploy/ansible/roles")
                .display(),
            d = d.display()
        ),
    )
    .unwrap();
    let bin = stripped_binary(d);
    std::fs::write(d.join("vault-pass"), "fleet-test-vault-pass\n").unwrap();
    std::fs::write(
        d.join("vault.yml"),
        format!(
            "vault_admin_password: \"{}\"\nvault_login_password: \"{LOGIN_PW}\"\n",
            boxes::ADMIN_PW
        ),
    )
    .unwrap();
    sh_ok(&format!(
        "cd {} && {}/ansible-vault encrypt --vault-password-file vault-pass vault.yml",
        d.display(),
        ansible_bin().display()
    ));
    assert!(
        std::fs::read_to_string(d.join("vault.yml"))
            .unwrap()
            .starts_with("$ANSIBLE_VAULT;")
    );
    // The encrypted vars: a group_vars file next to the inventory.
    std::fs::create_dir_all(d.join("group_vars/pbx")).unwrap();
    std::fs::rename(d.join("vault.yml"), d.join("group_vars/pbx/vault.yml")).unwrap();
    std::fs::write(
        d.join("group_vars/all.yml"),
        format!("playbook_dir_ctl: {}\n", d.display()),
    )
    .unwrap();

    let admin_hosts: String = (1..=N)
        .map(|i| {
            format!(
                "        fleet{i}:\n          ansible_host: 10.231.{i}.2\n          ansible_user: {}\n\
                 \x20         ansible_password: \"{{{{ vault_admin_password }}}}\"\n\
                 \x20         ansible_become_password: \"{{{{ vault_admin_password }}}}\"\n",
                boxes::ADMIN
            )
        })
        .collect();
    let first = inventory(
        &bin,
        &admin_hosts,
        "        pbx_harden_confirm_timeout: 3m\n",
    );
    // Play keywords (serial, max_fail_percentage) see extra vars, not inventory vars.
    let strict = r#"{"pbx_harden_serial": [1, 2], "pbx_harden_max_fail_percentage": 0}"#;

    // 1. --check --diff: the plans as diffs, nothing changed.
    let c = ctl.playbook(&first, &["--check", "--diff", "-e", strict]);
    for (i, b) in boxes.iter().enumerate() {
        assert_eq!(outcome(&c.reports[i]), "would change", "{}", c.out);
        assert!(
            b.banner(22) && !b.banner(PORT_A),
            "check mode changed fleet{}",
            i + 1
        );
    }
    assert!(c.out.contains(&format!("+Port {PORT_A}")), "{}", c.out);

    // 2. The rollout.
    let r = ctl.playbook(&first, &["-e", strict]);
    for (i, b) in boxes.iter().enumerate() {
        let rep = &r.reports[i];
        assert_eq!(outcome(rep), "hardened", "fleet{}: {rep}\n{}", i + 1, r.out);
        assert_eq!(rep["changed"], true);
        assert_eq!(rep["port"], PORT_A);
        assert_eq!(rep["user"], "pbxops");
        assert!(b.banner(PORT_A) && !b.banner(22));
        let st = b.sh_ok("pbx-harden status");
        assert!(
            !st.contains("Pending"),
            "fleet{} not confirmed: {st}",
            i + 1
        );
        // Confirmed from the new login: the journal's history says how.
        let conf = b.sh_ok("journalctl -q --no-pager -t sshd -g pbxops | tail -3; true");
        eprintln!("[fleet{}] {conf}", i + 1);
    }
    assert!(
        r.out
            .contains("pbx-harden confirm (over the new connection)")
    );
    eprintln!("[fleet] three-host rollout: {:.1}s", r.secs);

    // 3. Again: nothing changes, and the recap says so.
    let again = ctl.playbook(&first, &["-e", strict]);
    for i in 1..=N {
        let rep = &again.reports[i - 1];
        assert_eq!(outcome(rep), "hardened", "{rep}\n{}", again.out);
        assert_eq!(rep["changed"], false, "{rep}");
        assert_eq!(
            recap_changed(&again.out, &format!("fleet{i}")),
            Some(0),
            "{}",
            again.out
        );
    }

    // 4. Another port: in use on fleet1, blocked on fleet2 (short confirm timeout there).
    boxes[0].write(
        "/etc/systemd/system/busy.socket",
        &format!("[Socket]\nListenStream={PORT_B}\nAccept=yes\n"),
    );
    boxes[0].write(
        "/etc/systemd/system/busy@.service",
        "[Service]\nExecStart=/bin/true\n",
    );
    boxes[0].sh_ok("systemctl daemon-reload && systemctl start busy.socket");
    sh_ok(&format!(
        "ip netns exec pbxfleet2 iptables -I INPUT -p tcp --dport {PORT_B} -j DROP"
    ));
    // fleet3 first (the canary batch of one), then the other two together.
    let new_hosts: String = [3, 1, 2]
        .into_iter()
        .map(|i| {
            format!(
                "        fleet{i}:\n          ansible_host: 10.231.{i}.2\n          ansible_port: {PORT_A}\n\
                 \x20         ansible_user: pbxops\n\
                 \x20         ansible_password: \"{{{{ vault_login_password }}}}\"\n\
                 \x20         ansible_become_password: \"{{{{ vault_login_password }}}}\"\n\
                 \x20         pbx_harden_answers_host: {{ssh: {{port: {PORT_B}}}}}\n{}",
                if i == 2 {
                    "          pbx_harden_confirm_timeout: 40s\n"
                } else {
                    ""
                }
            )
        })
        .collect();
    let moved = inventory(&bin, &new_hosts, "        pbx_harden_confirm_timeout: 3m\n");
    let m = ctl.playbook(
        &moved,
        &[
            "-e",
            r#"{"pbx_harden_serial": [1, 2], "pbx_harden_max_fail_percentage": 100}"#,
        ],
    );
    let (r1, r2, r3) = (&m.reports[0], &m.reports[1], &m.reports[2]);
    assert_eq!(outcome(r3), "hardened", "{r3}\n{}", m.out);
    assert_eq!(r3["port"], PORT_B);
    assert!(boxes[2].banner(PORT_B));
    assert_eq!(outcome(r1), "refused", "{r1}\n{}", m.out);
    assert!(r1["detail"].as_str().unwrap().contains("ssh.port"), "{r1}");
    assert!(boxes[0].banner(PORT_A) && !boxes[0].sh_ok("pbx-harden status").contains("Pending"));
    assert_eq!(outcome(r2), "rolled back", "{r2}\n{}", m.out);
    assert!(boxes[1].banner(PORT_A));
    assert!(
        boxes[1]
            .sh_ok("pbx-harden status")
            .contains("was rolled back"),
    );
    // The second batch failed whole, so Ansible ended the playbook before its summary play;
    // summary.yml prints it from the outcome files (as the README says).
    assert!(m.out.contains("failed=1"), "{}", m.out);
    let s = ctl.summary();
    for (h, what) in [
        ("fleet1", "refused"),
        ("fleet2", "rolled back"),
        ("fleet3", "hardened"),
    ] {
        assert!(
            s.lines()
                .any(|l| l.contains(h) && l.contains(what) && l.trim_start().starts_with('"')),
            "summary for {h}: {s}"
        );
    }

    // 5. A bad answers file stops the rollout after its first batch (one host): the others
    //    are not touched.
    let bad = moved.replace(
        &format!("{{ssh: {{port: {PORT_B}}}}}"),
        &format!("{{ssh: {{port: {PORT_B}, allow_users: []}}}}"),
    );
    assert_ne!(bad, moved);
    let b = ctl.playbook(&bad, &["-e", r#"{"pbx_harden_serial": [1, 2]}"#]);
    assert_eq!(outcome(&b.reports[2]), "refused", "{}", b.out);
    assert!(
        b.reports[2]["detail"]
            .as_str()
            .unwrap()
            .contains("ssh.allow_users")
    );
    assert!(
        b.reports[0].is_null() && b.reports[1].is_null(),
        "{}",
        b.out
    );
    drop(boxes);
    drop(net);
}
