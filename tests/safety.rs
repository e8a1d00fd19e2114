//! Hostile and unlucky inputs (issue 9): configs reached through symlinks (relative,
//! absolute inside the root, escaping it, long chains), FIFOs, devices and oversized files,
//! Include loops, lockouts without `[user]`, and secrets that must never be shown. Every
//! test searches its outputs and files for its secrets (`common::LeakCheck`).

mod common;

use std::os::unix::fs::symlink;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;

const PW: &str = "Glacier pickle 41 orbit!";
const ROOT_HASH: &str = "$6$demoDEMOdemo$0hYJbtEkitmfOC3DVW6rUn7EL0rG3JE8YL3STd4OJkpgTWnpLw7uIhPQTMew415nDqUm0Dbrz9iszGP6UbHej0";
/// Old SIP/IAX/AMI secrets of the demo box that are long enough to search for.
const OLD_SECRETS: &[&str] = &[
    "Rq7!wanderer-Opal-ledger-92",
    "trunkpass",
    "amp111",
    "password1",
    "Tundra-Mosaic 8! lantern-Quill",
];

fn answers(port: u16) -> String {
    format!(
        "[user]\nname = \"trixuser\"\npassword = \"{PW}\"\ngroups = [\"wheel\"]\n[ssh]\nport = {port}\n[apply]\nconfirm_timeout = \"10m\"\n"
    )
}

fn secrets() -> Vec<&'static str> {
    let mut v = vec![PW, ROOT_HASH];
    v.extend(OLD_SECRETS);
    v
}

/// Run the CLI, killing it after `limit` (a hang is a failure, not a stuck test).
fn pbx_within(root: &Path, args: &[&str], limit: Duration) -> std::process::Output {
    let mut c = Command::new(bin());
    c.arg("--root")
        .arg(root)
        .args(args)
        .env("SSH_CONNECTION", "")
        .env("SSH_CLIENT", "")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = c.spawn().unwrap();
    let start = Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            return child.wait_with_output().unwrap();
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let o = child.wait_with_output().unwrap();
            panic!(
                "pbx-harden {args:?} did not finish within {limit:?}: {}",
                text(&o)
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn move_behind_link(root: &Path, rel: &str, real_rel: &str, link_text: &str) {
    let p = root.join(rel);
    std::fs::rename(&p, root.join(real_rel)).unwrap();
    symlink(link_text, &p).unwrap();
}

#[test]
fn a_config_behind_a_link_is_backed_up_and_restored_with_its_link() {
    for (real, link) in [
        ("etc/ssh/sshd_config.real", "sshd_config.real"),
        ("etc/sshd_config.moved", "/etc/sshd_config.moved"),
    ] {
        let t = demo_root();
        move_behind_link(t.path(), "etc/ssh/sshd_config", real, link);
        let before = tree(t.path(), &[STATE]);
        let w = tempfile::tempdir().unwrap();
        let a = write_answers(w.path(), &answers(22022));
        let mut leaks = LeakCheck::new(&secrets());
        leaks.allow(&a);
        let o = apply(t.path(), &a, Some("10m"));
        leaks.process("apply", &o);
        assert!(o.status.success(), "{link}: {}", text(&o));
        // Written through the link: the link stays, the real file has the new port.
        let lp = t.path().join("etc/ssh/sshd_config");
        assert!(
            std::fs::symlink_metadata(&lp)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(std::fs::read_link(&lp).unwrap(), Path::new(link));
        let now = std::fs::read_to_string(t.path().join(real)).unwrap();
        assert!(now.contains("22022"), "{now}");
        // The backup holds the real file's bytes: rollback restores them and the link.
        let r = pbx(t.path(), &["rollback"], &[]);
        leaks.process("rollback", &r);
        assert!(r.status.success(), "{}", text(&r));
        let after = tree(t.path(), &[STATE]);
        assert_eq!(tree_diff(&before, &after), Vec::<String>::new(), "{link}");
        assert_eq!(before, after, "{link}: every byte, mode and owner");
        // The plaintext password is nowhere in the root or the state.
        let mut pw_only = LeakCheck::new(&[PW]);
        pw_only.dir(t.path());
        pw_only.assert_clean();
        leaks.output("the root's shadow", b"").assert_clean();
    }
}

#[test]
fn a_link_out_of_the_root_or_too_long_a_chain_is_refused_by_name() {
    let t = demo_root();
    // Climbs out of the root: refused, even though /etc/passwd of the host exists.
    move_behind_link(
        t.path(),
        "etc/ssh/sshd_config",
        "etc/ssh/unused",
        "../../../../../../../../etc/passwd",
    );
    let w = tempfile::tempdir().unwrap();
    let a = write_answers(w.path(), &answers(22022));
    for args in [
        vec!["plan", "--answers", a.to_str().unwrap()],
        vec!["apply", "--answers", a.to_str().unwrap()],
        vec!["audit"],
    ] {
        let o = pbx_within(t.path(), &args, Duration::from_secs(60));
        let out = text(&o);
        assert!(
            out.contains("points outside the root") && out.contains("etc/ssh/sshd_config"),
            "{args:?}: {out}"
        );
        assert!(!out.contains("root:x:0:0"), "{out}");
        if args[0] != "audit" {
            assert!(!o.status.success(), "{args:?}: {out}");
        }
    }
    assert!(!t.path().join(STATE).join("pending").exists());

    // 41 links in a chain: refused; 40 are followed.
    let t = demo_root();
    let ssh = t.path().join("etc/ssh");
    std::fs::rename(ssh.join("sshd_config"), ssh.join("l0")).unwrap();
    for i in 1..=41 {
        symlink(format!("l{}", i - 1), ssh.join(format!("l{i}"))).unwrap();
    }
    symlink("l41", ssh.join("sshd_config")).unwrap();
    let o = pbx_within(
        t.path(),
        &["plan", "--answers", a.to_str().unwrap()],
        Duration::from_secs(60),
    );
    let out = text(&o);
    assert!(!o.status.success(), "{out}");
    assert!(
        out.contains("more than 40 symbolic links") && out.contains("sshd_config"),
        "{out}"
    );
    std::fs::remove_file(ssh.join("sshd_config")).unwrap();
    symlink("l39", ssh.join("sshd_config")).unwrap();
    let o = pbx_within(
        t.path(),
        &["plan", "--answers", a.to_str().unwrap()],
        Duration::from_secs(60),
    );
    assert!(o.status.success(), "{}", text(&o));
}

#[test]
fn fifos_devices_and_huge_files_are_errors_not_hangs() {
    let w = tempfile::tempdir().unwrap();
    let a = write_answers(w.path(), &answers(22022));
    let plan = ["plan", "--answers", a.to_str().unwrap()];

    // A FIFO as sshd_config: plan and audit finish and name it.
    let t = demo_root();
    let cfg = t.path().join("etc/ssh/sshd_config");
    std::fs::remove_file(&cfg).unwrap();
    nix::unistd::mkfifo(&cfg, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
    for args in [&plan[..], &["audit"][..]] {
        let o = pbx_within(t.path(), args, Duration::from_secs(60));
        let out = text(&o);
        assert!(
            out.contains("FIFO") && out.contains("etc/ssh/sshd_config"),
            "{args:?}: {out}"
        );
    }

    // A FIFO at a path apply only backs up (shadow-utils' backup file): apply refuses it
    // by name before anything changes.
    // It is backed up when useradd runs, that is as root (a normal user's plan for a copy
    // writes the account files directly).
    if require_root() {
        let t = demo_root();
        let before = tree(t.path(), &[STATE]);
        let _ = std::fs::remove_file(t.path().join("etc/passwd-"));
        nix::unistd::mkfifo(
            &t.path().join("etc/passwd-"),
            nix::sys::stat::Mode::from_bits_truncate(0o600),
        )
        .unwrap();
        let o = pbx_within(
            t.path(),
            &["apply", "--answers", a.to_str().unwrap()],
            Duration::from_secs(60),
        );
        let out = text(&o);
        assert!(!o.status.success(), "{out}");
        assert!(
            out.contains("etc/passwd-") && out.contains("not a regular file"),
            "{out}"
        );
        std::fs::remove_file(t.path().join("etc/passwd-")).unwrap();
        let mut expected = before.clone();
        expected.remove("etc/passwd-");
        let mut now = tree(t.path(), &[STATE]);
        now.remove("etc/passwd-");
        assert_eq!(tree_diff(&expected, &now), Vec::<String>::new());
    }

    // A socket as sshd_config.
    let t = demo_root();
    let cfg = t.path().join("etc/ssh/sshd_config");
    std::fs::remove_file(&cfg).unwrap();
    let _sock = std::os::unix::net::UnixListener::bind(&cfg).unwrap();
    let o = pbx_within(t.path(), &plan, Duration::from_secs(60));
    assert!(text(&o).contains("a socket"), "{}", text(&o));

    // 5 MiB sshd_config with CR-only line ends: refused by size, never handed to sshd.
    let t = demo_root();
    let big: Vec<u8> = b"# padding\r".repeat(520_000);
    std::fs::write(t.path().join("etc/ssh/sshd_config"), &big).unwrap();
    let o = pbx_within(t.path(), &plan, Duration::from_secs(60));
    let out = text(&o);
    assert!(!o.status.success(), "{out}");
    assert!(
        out.contains("too large") && out.contains("sshd_config"),
        "{out}"
    );

    // A character device as an Asterisk file (root only: mknod).
    if require_root() {
        let t = demo_root();
        let sip = t.path().join("etc/asterisk/sip_custom.conf");
        std::fs::remove_file(&sip).unwrap();
        nix::sys::stat::mknod(
            &sip,
            nix::sys::stat::SFlag::S_IFCHR,
            nix::sys::stat::Mode::from_bits_truncate(0o640),
            nix::sys::stat::makedev(1, 5), // /dev/zero
        )
        .unwrap();
        let ext = write_answers(w.path(), "[extensions]\nrotate_weak = true\n");
        for args in [
            &["plan", "--answers", ext.to_str().unwrap()][..],
            &["audit"][..],
        ] {
            let o = pbx_within(t.path(), args, Duration::from_secs(60));
            let out = text(&o);
            assert!(
                out.contains("character device") && out.contains("sip_custom.conf"),
                "{args:?}: {out}"
            );
        }
    }
}

#[test]
fn include_loops_finish_at_once_and_are_named() {
    let w = tempfile::tempdir().unwrap();
    let a = write_answers(w.path(), &answers(22022));
    let plan = ["plan", "--answers", a.to_str().unwrap()];

    let t = demo_root();
    let cfg = t.path().join("etc/ssh/sshd_config");
    let mut body = std::fs::read(&cfg).unwrap();
    body.splice(
        0..0,
        b"Include /etc/ssh/sshd_config\nInclude /etc/ssh/sshd_config\n"
            .iter()
            .copied(),
    );
    std::fs::write(&cfg, &body).unwrap();
    let o = pbx_within(t.path(), &plan, Duration::from_secs(30));
    let out = text(&o);
    assert!(!o.status.success(), "{out}");
    assert!(out.contains("Include loop"), "{out}");

    // Twelve files that each include the glob matching all twelve.
    let t = demo_root();
    let d = t.path().join("etc/ssh/sshd_config.d");
    std::fs::create_dir_all(&d).unwrap();
    for i in 0..12 {
        std::fs::write(
            d.join(format!("{i:02}.conf")),
            "Include /etc/ssh/sshd_config.d/*.conf\n",
        )
        .unwrap();
    }
    let cfg = t.path().join("etc/ssh/sshd_config");
    let mut body = b"Include /etc/ssh/sshd_config.d/*.conf\n".to_vec();
    body.extend(std::fs::read(&cfg).unwrap());
    std::fs::write(&cfg, &body).unwrap();
    let o = pbx_within(t.path(), &plan, Duration::from_secs(30));
    assert!(text(&o).contains("Include loop"), "{}", text(&o));

    // Asterisk: a file that includes itself is read once and reported.
    let t = demo_root();
    let sip = t.path().join("etc/asterisk/sip_custom.conf");
    let mut body = b"#include sip_custom.conf\n".to_vec();
    body.extend(std::fs::read(&sip).unwrap());
    std::fs::write(&sip, &body).unwrap();
    let o = pbx_within(t.path(), &["audit"], Duration::from_secs(30));
    assert!(text(&o).contains("#include loop"), "{}", text(&o));
}

#[test]
fn lockout_checks_run_without_a_user_section() {
    let t = demo_root();
    let w = tempfile::tempdir().unwrap();
    // The demo box's only login account is root (mysql has a shell but no password).
    for (body, refused, says) in [
        (
            "[ssh]\nallow_users = [\"root\"]\npermit_root_login = false\n",
            true,
            "root",
        ),
        ("[ssh]\nport = 22022\n", true, "root: PermitRootLogin no"),
        (
            "[ssh]\nallow_users = [\"mysql\"]\npermit_root_login = true\n",
            true,
            "root: not in AllowUsers; mysql: no password and no SSH key",
        ),
        ("[ssh]\nport = 22022\npermit_root_login = true\n", false, ""),
    ] {
        let a = write_answers(w.path(), body);
        let o = pbx_within(
            t.path(),
            &["plan", "--answers", a.to_str().unwrap()],
            Duration::from_secs(60),
        );
        let out = text(&o);
        assert_eq!(!o.status.success(), refused, "{body}: {out}");
        assert!(out.contains(says), "{body}: {out}");
        if says.contains(':') {
            assert!(out.contains("someone can still log in over SSH"), "{out}");
        }
    }
    // A DenyGroups line already in sshd_config counts too.
    let cfg = t.path().join("etc/ssh/sshd_config");
    let mut body = std::fs::read_to_string(&cfg).unwrap();
    body.push_str("DenyGroups root\n");
    std::fs::write(&cfg, body).unwrap();
    let a = write_answers(w.path(), "[ssh]\nport = 22022\npermit_root_login = true\n");
    let o = pbx_within(
        t.path(),
        &["plan", "--answers", a.to_str().unwrap()],
        Duration::from_secs(60),
    );
    assert!(!o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("DenyGroups root"), "{}", text(&o));
}

#[test]
fn secrets_are_never_shown() {
    let w = tempfile::tempdir().unwrap();
    let mut leaks = LeakCheck::new(&secrets());

    // A TOML error on the password line, CR-only line ends: the file never prints itself.
    let t = demo_root();
    for (i, body) in [
        format!("[user]\rname = \"trixuser\"\rpassword = \"{PW}\"\r[ssh]\rport = 22022\r"),
        format!("[user]\nname = \"trixuser\"\npassword = \"{PW}\" trailing\n"),
        format!("[user]\nname = \"trixuser\"\npassword = \"{PW}\n"),
        "[user]\nname = \"trixuser\"\npassword = 41414141414141\n".to_string(),
    ]
    .iter()
    .enumerate()
    {
        let a = write_answers(w.path(), body);
        let o = pbx(t.path(), &["plan", "--answers", a.to_str().unwrap()], &[]);
        let out = text(&o);
        assert!(!o.status.success(), "{out}");
        assert!(out.contains("line "), "{out}");
        assert!(!out.contains("41414141414141"), "{out}");
        leaks.process(&format!("plan with bad TOML {i}"), &o);
    }

    // The full example: rotated SIP secrets, a new account; the diffs mask the old secrets
    // on `-` lines and the root hash on context lines.
    let a = write_answers(
        w.path(),
        &pbx_harden::demo::EXAMPLE_ANSWERS
            .replace("generate = true", &format!("password = \"{PW}\"")),
    );
    let o = pbx(t.path(), &["plan", "--answers", a.to_str().unwrap()], &[]);
    assert!(o.status.success(), "{}", text(&o));
    let out = text(&o);
    assert!(out.contains("secret=********"), "{out}");
    leaks.process("plan of the example", &o);
    for format in ["text", "json"] {
        let o = pbx(t.path(), &["audit", "--format", format], &[]);
        leaks.process(&format!("audit --format {format}"), &o);
    }

    // Include /etc/shadow: sshd -t's complaint quotes the root hash; never shown.
    let cfg = t.path().join("etc/ssh/sshd_config");
    let mut body = b"Include /etc/shadow\n".to_vec();
    body.extend(std::fs::read(&cfg).unwrap());
    std::fs::write(&cfg, &body).unwrap();
    let a = write_answers(w.path(), &answers(22022));
    let o = pbx(t.path(), &["plan", "--answers", a.to_str().unwrap()], &[]);
    leaks.process("plan with Include /etc/shadow", &o);
    if require("sshd").is_some() {
        assert!(!o.status.success(), "{}", text(&o));
    }
    let searched = leaks.assert_clean();
    assert!(searched >= 10);
}
