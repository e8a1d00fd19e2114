//! The transaction: a crash at every step is restored byte for byte (content, mode, owner);
//! a failing step rolls back at once; reconfiguration is idempotent; no secret is stored.

mod common;

use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::time::{Duration, Instant};

use common::*;

const PW: &str = "Tundra mosaic 8! lantern quill";

fn answers(port: u16) -> String {
    format!(
        "[user]\nname = \"trixuser\"\npassword = \"{PW}\"\ngroups = [\"wheel\"]\n[ssh]\nport = {port}\n[apply]\nconfirm_timeout = \"10m\"\n"
    )
}

fn pending(root: &Path) -> bool {
    root.join(STATE).join("pending/journal.json").exists()
}

/// Wait until no change is pending (the watchdog may be rolling back).
fn wait_settled(root: &Path, within: Duration) {
    let start = Instant::now();
    while pending(root) && start.elapsed() < within {
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn a_crash_at_every_step_is_restored_byte_for_byte() {
    // The full example answers: services, user, SSH, secrets, APF, BFD.
    let full = pbx_harden::demo::EXAMPLE_ANSWERS;
    let points = {
        let t = demo_root();
        let root = pbx_harden::root::Root::open(t.path()).unwrap();
        // The environment the CLI below runs in: no SSH connection, this process's uid.
        let env = pbx_harden::system::Env {
            ssh_connection: None,
            ssh_client: None,
            euid: nix::unistd::geteuid().as_raw(),
            ..pbx_harden::system::Env::fixed()
        };
        let sys = pbx_harden::system::System::detect(&root, &env).unwrap();
        let a = pbx_harden::answers::Answers::parse(full, "answers").unwrap();
        let plan = pbx_harden::plan::build(&sys, &a, &mut rand::rng());
        assert!(plan.is_valid(), "{:?}", plan.refusals());
        pbx_harden::apply::crash_points(&plan)
    };
    assert!(points.len() > 20, "{points:?}");
    for point in &points {
        let point = point.as_str();
        let t = demo_root();
        let before = tree(t.path(), &[STATE]);
        let w = tempfile::tempdir().unwrap();
        let a = write_answers(w.path(), full);
        let o = pbx(
            t.path(),
            &["apply", "--answers", a.to_str().unwrap()],
            &[("PBX_HARDEN_CRASH_AT", point)],
        );
        let crashed = o.status.signal() == Some(6);
        assert!(
            crashed,
            "{point}: the crash point was not reached: {}",
            text(&o)
        );
        assert!(
            pending(t.path()),
            "{point}: a journal must exist after the crash"
        );
        // Either the watchdog notices the dead apply and rolls back, or (before it was
        // started) the next run does. Run rollback like an admin would; whoever comes
        // second finds nothing pending.
        if crashed {
            let st = pbx(t.path(), &["status"], &[]);
            let early = point == "journaled" || point == "safeguard";
            if early {
                assert!(text(&st).contains("INTERRUPTED"), "{point}: {}", text(&st));
            }
        }
        let r = pbx(t.path(), &["rollback"], &[]);
        let rt = text(&r);
        assert!(
            r.status.success() || rt.contains("no change is pending"),
            "{point}: {rt}"
        );
        wait_settled(t.path(), Duration::from_secs(10));
        assert!(!pending(t.path()), "{point}");
        let after = tree(t.path(), &[STATE]);
        assert_eq!(tree_diff(&before, &after), Vec::<String>::new(), "{point}");
        assert_eq!(before, after, "{point}: every byte, mode and owner");
    }
}

#[test]
fn the_next_apply_recovers_an_interrupted_one() {
    let t = demo_root();
    let w = tempfile::tempdir().unwrap();
    let a = write_answers(w.path(), &answers(22022));
    let o = pbx(
        t.path(),
        &["apply", "--answers", a.to_str().unwrap()],
        &[("PBX_HARDEN_CRASH_AT", "journaled")],
    );
    assert_eq!(o.status.signal(), Some(6));
    let o = pbx(t.path(), &["apply", "--answers", a.to_str().unwrap()], &[]);
    let out = text(&o);
    assert!(o.status.success(), "{out}");
    assert!(
        out.contains("rolled back") && out.contains("interrupted"),
        "{out}"
    );
    assert!(out.contains("Applied to"), "{out}");
    assert!(pending(t.path()));
    let r = pbx(t.path(), &["rollback"], &[]);
    assert!(r.status.success(), "{}", text(&r));
}

#[test]
fn a_failing_command_rolls_back_at_once() {
    if !require_root() {
        return;
    }
    let t = demo_root();
    // useradd -m fails when /home is a file; the sshd_config write before it must be undone.
    std::fs::remove_dir_all(t.path().join("home")).unwrap();
    std::fs::write(t.path().join("home"), "not a directory").unwrap();
    let before_home = tree(t.path(), &[STATE]);
    let w = tempfile::tempdir().unwrap();
    let a = write_answers(w.path(), &answers(22022));
    let o = pbx(t.path(), &["apply", "--answers", a.to_str().unwrap()], &[]);
    let out = text(&o);
    assert!(!o.status.success(), "{out}");
    assert!(out.contains("everything was rolled back"), "{out}");
    assert!(!pending(t.path()));
    assert_eq!(
        tree_diff(&before_home, &tree(t.path(), &[STATE])),
        Vec::<String>::new()
    );
}

#[test]
fn reconfiguration_is_idempotent_and_minimal() {
    let t = demo_root();
    let w = tempfile::tempdir().unwrap();
    let a = write_answers(w.path(), &answers(22022));
    let o = pbx(t.path(), &["apply", "--answers", a.to_str().unwrap()], &[]);
    assert!(o.status.success(), "{}", text(&o));
    let o = pbx(t.path(), &["confirm"], &[]);
    assert!(o.status.success(), "{}", text(&o));

    // Same answers: nothing to do.
    let o = pbx(t.path(), &["plan", "--answers", a.to_str().unwrap()], &[]);
    let out = text(&o);
    assert!(o.status.success(), "{out}");
    assert!(
        out.contains("No changes: the system already matches the answers."),
        "{out}"
    );
    assert!(!out.contains("useradd"), "{out}");
    let o = pbx(t.path(), &["apply", "--answers", a.to_str().unwrap()], &[]);
    assert!(text(&o).contains("Nothing to change"), "{}", text(&o));
    assert!(!pending(t.path()));

    // A second port move replaces the first; the user is not created twice.
    let a2 = write_answers(w.path(), &answers(23023));
    let o = pbx(t.path(), &["plan", "--answers", a2.to_str().unwrap()], &[]);
    let out = text(&o);
    assert!(o.status.success(), "{out}");
    assert!(out.contains("-Port 22022\n+Port 23023\n"), "{out}");
    assert!(
        !out.contains("useradd") && !out.contains("chpasswd"),
        "{out}"
    );
    // Only the lines that follow the port change: Port in sshd_config; in conf.apf the open
    // port (the old one too until confirm), APF's SSH helper and DEVEL_MODE for the window.
    let added: Vec<&str> = out
        .lines()
        .filter(|l| l.starts_with('+') && !l.starts_with("+++"))
        .collect();
    assert_eq!(
        added,
        vec![
            "+Port 23023",
            "+DEVEL_MODE=\"1\"",
            "+HELPER_SSH_PORT=\"23023\"",
            "+IG_TCP_CPORTS=\"23023,22022\""
        ],
        "{out}"
    );
    assert!(
        out.contains(
            "On confirm:\n  take 22022 out of IG_TCP_CPORTS in /etc/apf/conf.apf\n  \
             set DEVEL_MODE=\"0\" in /etc/apf/conf.apf\n  /etc/apf/apf -r"
        ),
        "{out}"
    );
    assert!(
        out.contains("the old SSH port 22022 stays in IG_TCP_CPORTS until confirm"),
        "{out}"
    );
    // Apply and confirm: the old port leaves the list, nothing else changes.
    let o = pbx(t.path(), &["apply", "--answers", a2.to_str().unwrap()], &[]);
    assert!(o.status.success(), "{}", text(&o));
    let conf = t.path().join("etc/apf/conf.apf");
    let window = std::fs::read_to_string(&conf).unwrap();
    assert!(
        window.contains("\nIG_TCP_CPORTS=\"23023,22022\""),
        "{window}"
    );
    let o = pbx(t.path(), &["confirm"], &[]);
    assert!(o.status.success(), "{}", text(&o));
    let confirmed = std::fs::read_to_string(&conf).unwrap();
    assert_eq!(
        confirmed,
        window
            .replace(
                "\nIG_TCP_CPORTS=\"23023,22022\"",
                "\nIG_TCP_CPORTS=\"23023\""
            )
            .replace("\nDEVEL_MODE=\"1\"", "\nDEVEL_MODE=\"0\"")
    );
}

#[test]
fn no_secret_is_stored_or_printed() {
    let t = demo_root();
    let w = tempfile::tempdir().unwrap();
    let a = write_answers(w.path(), &answers(22022));
    let o = pbx(t.path(), &["apply", "--answers", a.to_str().unwrap()], &[]);
    let out = text(&o);
    assert!(o.status.success(), "{out}");
    assert!(!out.contains(PW), "{out}");
    let hash = std::fs::read_to_string(t.path().join("etc/shadow"))
        .unwrap()
        .lines()
        .find(|l| l.starts_with("trixuser:"))
        .map(|l| l.split(':').nth(1).unwrap().to_string())
        .unwrap();
    assert!(hash.starts_with("$6$"));
    assert_eq!(
        pbx_harden::secrets::verify_crypt(PW, &hash),
        Some(true),
        "the hash is of the password"
    );
    let journal =
        std::fs::read_to_string(t.path().join(STATE).join("pending/journal.json")).unwrap();
    assert!(
        !journal.contains(PW) && !journal.contains(&hash),
        "journal holds no secret"
    );
    let st = pbx(t.path(), &["status"], &[]);
    assert!(!text(&st).contains(&hash));
    // The generated-password path shows the password once, in apply's output only.
    let t2 = demo_root();
    let a = write_answers(
        w.path(),
        "[user]\nname = \"trixuser\"\ngenerate = true\n[ssh]\nport = 22022\n",
    );
    let o = pbx(t2.path(), &["plan", "--answers", a.to_str().unwrap()], &[]);
    assert!(
        !text(&o).contains("shown this once"),
        "plan does not show a password"
    );
    let o = pbx(t2.path(), &["apply", "--answers", a.to_str().unwrap()], &[]);
    let out = text(&o);
    assert!(out.contains("shown this once"), "{out}");
    let shown = out
        .split("write it down):\n\n    ")
        .nth(1)
        .unwrap()
        .lines()
        .next()
        .unwrap();
    let journal =
        std::fs::read_to_string(t2.path().join(STATE).join("pending/journal.json")).unwrap();
    assert!(!journal.contains(shown));
    let log =
        std::fs::read_to_string(t2.path().join(STATE).join("watchdog.log")).unwrap_or_default();
    assert!(!log.contains(shown));
}

#[test]
fn a_pending_change_blocks_a_second_apply() {
    let t = demo_root();
    let w = tempfile::tempdir().unwrap();
    let a = write_answers(w.path(), &answers(22022));
    assert!(
        pbx(t.path(), &["apply", "--answers", a.to_str().unwrap()], &[])
            .status
            .success()
    );
    let o = pbx(t.path(), &["apply", "--answers", a.to_str().unwrap()], &[]);
    assert!(!o.status.success());
    assert!(
        text(&o).contains("is waiting for confirmation"),
        "{}",
        text(&o)
    );
    assert!(pbx(t.path(), &["rollback"], &[]).status.success());
    let o = pbx(t.path(), &["rollback"], &[]);
    assert!(text(&o).contains("no change is pending"), "{}", text(&o));
    let o = pbx(t.path(), &["confirm"], &[]);
    assert!(text(&o).contains("nothing to confirm"), "{}", text(&o));
}

#[test]
fn apply_then_rollback_restores_every_byte() {
    let t = demo_root();
    let before = tree(t.path(), &[STATE]);
    let w = tempfile::tempdir().unwrap();
    let a = write_answers(w.path(), &answers(22022));
    let o = pbx(t.path(), &["apply", "--answers", a.to_str().unwrap()], &[]);
    assert!(o.status.success(), "{}", text(&o));
    let during = tree(t.path(), &[STATE]);
    let changed = tree_diff(&before, &during);
    assert!(
        changed.contains(&"~ etc/ssh/sshd_config".to_string()),
        "{changed:?}"
    );
    assert!(changed.contains(&"~ etc/passwd".to_string()), "{changed:?}");
    let safeguard = if t.path().join("lib/systemd/systemd").exists() {
        "etc/systemd"
    } else {
        "+ etc/rc.d/init.d/pbx-harden-rollback"
    };
    assert!(
        changed.iter().any(|c| c.contains(safeguard)),
        "boot safeguard: {changed:?}"
    );
    let o = pbx(t.path(), &["rollback"], &[]);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(
        tree_diff(&before, &tree(t.path(), &[STATE])),
        Vec::<String>::new()
    );
    assert_eq!(before, tree(t.path(), &[STATE]));
}
