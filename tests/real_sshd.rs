//! End to end with a real sshd: apply to a copy of the demo system, start `sshd -D` of the
//! result on 127.0.0.1 (in a private mount namespace where the copy's passwd/shadow/group and
//! /home stand in for the host's), and log in with ssh + sshpass: the new user gets in on the
//! new port; root and other users are refused. Then rollback restores every file and removes
//! the user.

mod common;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use rand::SeedableRng;

const PW: &str = "Tundra mosaic 8! lantern quill";
const ROOT_PW: &str = "Root-only Sesame 42 granite";
const BOB_PW: &str = "Bobs own Passphrase 77 river";

/// The tests here run one at a time: each picks a free port and starts an sshd on it, and two
/// at once could pick the same one and log in to each other's sshd.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn free_port() -> u16 {
    // Inside the demo's allowed range (below its RTP 10000-20000 and ephemeral 32768-61000).
    for p in (22022..22100).chain(23000..23100) {
        if std::net::TcpListener::bind(("127.0.0.1", p)).is_ok() {
            return p;
        }
    }
    panic!("no free port")
}

fn set_password(root: &Path, user: &str, pw: &str) {
    let mut rng = rand::rngs::StdRng::seed_from_u64(9);
    let hash =
        pbx_harden::secrets::crypt_sha512(&pbx_harden::secrets::Secret::new(pw), &mut rng).unwrap();
    let p = root.join("etc/shadow");
    let text = std::fs::read_to_string(&p).unwrap();
    let out: Vec<String> = text
        .lines()
        .map(|l| {
            let mut f: Vec<&str> = l.split(':').collect();
            if f[0] == user {
                f[1] = &hash;
            }
            f.join(":")
        })
        .collect();
    std::fs::write(&p, out.join("\n") + "\n").unwrap();
}

fn add_user(root: &Path, name: &str, uid: u32) {
    let append = |f: &str, line: String| {
        let p = root.join(f);
        let mut t = std::fs::read_to_string(&p).unwrap();
        t.push_str(&line);
        std::fs::write(&p, t).unwrap();
    };
    append(
        "etc/passwd",
        format!("{name}:x:{uid}:{uid}::/home/{name}:/bin/bash\n"),
    );
    append("etc/group", format!("{name}:x:{uid}:\n"));
    append("etc/gshadow", format!("{name}:!::\n"));
    append("etc/shadow", format!("{name}:!:19000:0:99999:7:::\n"));
}

struct Sshd(Child);

impl Drop for Sshd {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// sshd of the copy, in a mount namespace where the copy's account files are the host's.
fn start_sshd(root: &Path, port: u16, extra: &str) -> Sshd {
    let r = root.display();
    let script = format!(
        "set -e\n\
         mount --make-rprivate /\n\
         for f in passwd shadow group gshadow; do mount --bind {r}/etc/$f /etc/$f; done\n\
         mount --bind {r}/home /home\n\
         mount -t tmpfs tmpfs /run && mkdir -p /run/sshd\n\
         exec /usr/sbin/sshd -D -e -f {r}/etc/ssh/sshd_config -o ListenAddress=127.0.0.1 \
           -o PidFile=none -o HostKey=/etc/ssh/ssh_host_ed25519_key -o UsePAM=yes {extra}"
    );
    let mut child = Command::new("unshare")
        .args(["--mount", "--", "/bin/sh", "-c", &script])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(10) {
        if pbx_harden::apply::wait_for_banner(port, Duration::from_millis(300)).is_ok() {
            return Sshd(child);
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("sshd did not start on port {port}");
}

/// Log in with a password; returns (success, output).
fn ssh_login(port: u16, user: &str, pw: &str) -> (bool, String) {
    let o = Command::new("sshpass")
        .args(["-e", "ssh", "-p", &port.to_string()])
        .args([
            "-o",
            "StrictHostKeyChecking=no",
            "-o",
            "UserKnownHostsFile=/dev/null",
            "-o",
            "PreferredAuthentications=password,keyboard-interactive",
            "-o",
            "PubkeyAuthentication=no",
            "-o",
            "NumberOfPasswordPrompts=1",
            "-o",
            "ConnectTimeout=5",
            "-o",
            "LogLevel=ERROR",
        ])
        .arg(format!("{user}@127.0.0.1"))
        .arg("echo logged-in-as-$(id -un)")
        .env("SSHPASS", pw)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let out = text(&o);
    (
        o.status.success() && out.contains(&format!("logged-in-as-{user}")),
        out,
    )
}

#[test]
fn the_new_user_gets_in_on_the_new_port_and_nobody_else() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    if !require_root()
        || require("sshd").is_none()
        || require("ssh").is_none()
        || require("sshpass").is_none()
        || require("unshare").is_none()
    {
        return;
    }
    let t = demo_root();
    // Known passwords for root and a second user, so a refusal is sshd's doing.
    set_password(t.path(), "root", ROOT_PW);
    add_user(t.path(), "bob", 501);
    set_password(t.path(), "bob", BOB_PW);
    std::fs::create_dir_all(t.path().join("home/bob")).unwrap();
    let before = tree(t.path(), &[STATE]);
    let port = free_port();

    // Before: with root logins allowed on the command line, root and bob do get in, so the
    // refusals below are the configuration's doing.
    {
        let _sshd = start_sshd(t.path(), port, &format!("-p {port} -o PermitRootLogin=yes"));
        let (ok, out) = ssh_login(port, "root", ROOT_PW);
        assert!(
            ok,
            "precondition: root logs in on the old configuration: {out}"
        );
        let (ok, out) = ssh_login(port, "bob", BOB_PW);
        assert!(
            ok,
            "precondition: bob logs in on the old configuration: {out}"
        );
    }

    let w = tempfile::tempdir().unwrap();
    let a = write_answers(
        w.path(),
        &format!(
            "[user]\nname = \"trixuser\"\npassword = \"{PW}\"\n[ssh]\nport = {port}\npermit_root_login = false\n"
        ),
    );
    let o = apply(t.path(), &a, None);
    assert!(o.status.success(), "{}", text(&o));

    {
        let _sshd = start_sshd(t.path(), port, "");
        let (ok, out) = ssh_login(port, "trixuser", PW);
        assert!(ok, "trixuser must get in on port {port}: {out}");
        let (ok, out) = ssh_login(port, "trixuser", "wrong password 1234 xyz");
        assert!(!ok, "a wrong password must fail: {out}");
        let (ok, out) = ssh_login(port, "root", ROOT_PW);
        assert!(!ok, "root must be refused (PermitRootLogin no): {out}");
        let (ok, out) = ssh_login(port, "bob", BOB_PW);
        assert!(!ok, "bob must be refused (AllowUsers): {out}");
    }

    let o = run(&["--root", t.path().to_str().unwrap(), "rollback"]);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(
        tree_diff(&before, &tree(t.path(), &[STATE])),
        Vec::<String>::new()
    );
    let passwd = std::fs::read_to_string(t.path().join("etc/passwd")).unwrap();
    assert!(!passwd.contains("trixuser"), "the user is removed");
    assert!(!t.path().join("home/trixuser").exists(), "and its home");
}

/// `user.authorized_keys` with password logins off: the key gets in, a password does not; the
/// key file is the user's, 0600 in a 0700 .ssh; rollback takes it away with the user.
#[test]
fn a_key_gets_in_with_password_logins_off() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    if !require_root()
        || require("sshd").is_none()
        || require("ssh").is_none()
        || require("ssh-keygen").is_none()
        || require("sshpass").is_none()
        || require("unshare").is_none()
    {
        return;
    }
    let t = demo_root();
    let before = tree(t.path(), &[STATE]);
    let port = free_port();
    let w = tempfile::tempdir().unwrap();
    let key = w.path().join("id_ed25519");
    let o = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", "admin@laptop", "-f"])
        .arg(&key)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let public = std::fs::read_to_string(key.with_extension("pub")).unwrap();
    // Refused without a key, accepted with one.
    let answers = |keys: &str| {
        format!(
            "[user]\nname = \"trixuser\"\npassword = \"{PW}\"\n{keys}[ssh]\nport = {port}\n\
             permit_root_login = false\npassword_authentication = false\n"
        )
    };
    let a = write_answers(w.path(), &answers(""));
    let o = pbx(t.path(), &["plan", "--answers", a.to_str().unwrap()], &[]);
    assert_eq!(
        o.status.code(),
        Some(2),
        "no key, no password: refused\n{}",
        text(&o)
    );
    let a = write_answers(
        w.path(),
        &answers(&format!("authorized_keys = [\"{}\"]\n", public.trim())),
    );
    let o = apply(t.path(), &a, None);
    assert!(o.status.success(), "{}", text(&o));
    {
        use std::os::unix::fs::MetadataExt;
        let ssh = t.path().join("home/trixuser/.ssh");
        let ak = ssh.join("authorized_keys");
        let (d, f) = (
            std::fs::metadata(&ssh).unwrap(),
            std::fs::metadata(&ak).unwrap(),
        );
        assert_eq!((d.mode() & 0o777, f.mode() & 0o777), (0o700, 0o600));
        let home = std::fs::metadata(t.path().join("home/trixuser")).unwrap();
        assert_eq!((f.uid(), d.uid()), (home.uid(), home.uid()));
        assert_ne!(f.uid(), 0, "owned by the user, not root");
        assert_eq!(std::fs::read_to_string(&ak).unwrap(), public);
    }
    {
        let _sshd = start_sshd(t.path(), port, "");
        let o = Command::new("ssh")
            .args(["-p", &port.to_string(), "-i"])
            .arg(&key)
            .args([
                "-o",
                "IdentitiesOnly=yes",
                "-o",
                "PasswordAuthentication=no",
                "-o",
                "StrictHostKeyChecking=no",
                "-o",
                "UserKnownHostsFile=/dev/null",
                "-o",
                "BatchMode=yes",
                "-o",
                "LogLevel=ERROR",
                "trixuser@127.0.0.1",
                "echo logged-in-as-$(id -un)",
            ])
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let out = text(&o);
        assert!(
            out.contains("logged-in-as-trixuser"),
            "the key must get in: {out}"
        );
        let (ok, out) = ssh_login(port, "trixuser", PW);
        assert!(
            !ok,
            "the password must not (PasswordAuthentication no): {out}"
        );
    }
    let o = run(&["--root", t.path().to_str().unwrap(), "rollback"]);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(
        tree_diff(&before, &tree(t.path(), &[STATE])),
        Vec::<String>::new()
    );
}
