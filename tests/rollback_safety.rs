//! The transaction under real damage: SIGKILL at random moments of a full apply (to the whole
//! process group, or to apply alone so that its children are orphaned), a file that cannot
//! be restored (immutable), a truncated journal, and edits others make during the window.
//! Every run is compared by path, mode, owner and content.

mod common;

use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use rand::{RngExt, SeedableRng};

const PW: &str = "Tundra mosaic 8! lantern quill";

fn answers(port: u16) -> String {
    format!(
        "[user]\nname = \"trixuser\"\npassword = \"{PW}\"\ngroups = [\"wheel\"]\n[ssh]\nport = {port}\n"
    )
}

fn pending(root: &Path) -> bool {
    root.join(STATE).join("pending").exists()
}

fn wait_settled(root: &Path, within: Duration) {
    let start = Instant::now();
    while pending(root) && start.elapsed() < within {
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Temp files of ours anywhere under `dir` (history excluded: it is the record).
fn temp_files(dir: &Path) -> Vec<String> {
    tree(dir, &["var/lib/pbx-harden/history"])
        .keys()
        .filter(|k| k.contains(".pbx-harden-") && k.ends_with(".tmp"))
        .cloned()
        .collect()
}

/// Processes (other than the watchdog) whose command line names `root`: children of apply.
fn strays(root: &Path) -> Vec<String> {
    let needle = root.display().to_string();
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        if e.file_name().to_string_lossy().parse::<u32>().is_err() {
            continue;
        }
        let Ok(c) = std::fs::read(e.path().join("cmdline")) else {
            continue;
        };
        let c = String::from_utf8_lossy(&c).replace('\0', " ");
        if c.contains(&needle) && !c.contains(" watchdog ") {
            out.push(c);
        }
    }
    out
}

/// One kill point: killed during apply, apply alone killed, first rollback killed, failure.
type Point = (bool, bool, bool, Option<String>);

#[test]
fn sigkill_at_random_moments_of_a_full_apply_is_recovered() {
    let full = pbx_harden::demo::EXAMPLE_ANSWERS;
    let seed: u64 = std::env::var("PBX_HARDEN_KILL_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(pbx_harden::apply::journal::now);
    let points: usize = std::env::var("PBX_HARDEN_KILL_POINTS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(100);
    eprintln!("kill test: seed {seed} (PBX_HARDEN_KILL_SEED), {points} points");
    let w = tempfile::tempdir().unwrap();
    let a = write_answers(w.path(), full);

    let start_apply = |root: &Path| {
        let mut c = Command::new(bin());
        c.arg("--root")
            .arg(root)
            .args(["apply", "--answers", a.to_str().unwrap()])
            .env("SSH_CONNECTION", "")
            .env("SSH_CLIENT", "")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0);
        c.spawn().unwrap()
    };
    // How long a whole apply takes here (the faster of two): the kills fall in that span
    // (and a little after).
    let mut span = u64::MAX;
    for _ in 0..2 {
        let t = demo_root();
        let s = Instant::now();
        assert!(start_apply(t.path()).wait().unwrap().success());
        span = span.min(s.elapsed().as_micros() as u64);
        assert!(pbx(t.path(), &["rollback"], &[]).status.success());
        wait_settled(t.path(), Duration::from_secs(10));
    }
    eprintln!("a full apply takes {} ms", span / 1000);

    // One point: (killed during apply, apply alone, first rollback killed, failure).
    let one = |i: usize| -> Point {
        // Each point has its own generator, so a seed replays the same points whatever
        // the threads do.
        let mut rng = rand::rngs::StdRng::seed_from_u64(
            seed ^ (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15),
        );
        let (mut leader_only, mut killed_rollback) = (false, false);
        let t = demo_root();
        let before = tree(t.path(), &[STATE]);
        let delay = rng.random_range(0..span * 11 / 10);
        let whole_group = rng.random_bool(0.5);
        let mut child = start_apply(t.path());
        let pid = child.id() as i32;
        std::thread::sleep(Duration::from_micros(delay));
        let finished = matches!(child.try_wait(), Ok(Some(_)));
        if whole_group {
            let _ = nix::sys::signal::killpg(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGKILL,
            );
        } else {
            // apply alone: its children must die with it (parent-death signal) or be
            // killed by the rollback (process group).
            leader_only = true;
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
        let _ = child.wait();
        // Sometimes the first recovery is killed too, half-way.
        if rng.random_bool(0.25) {
            killed_rollback = true;
            let mut c = Command::new(bin())
                .arg("--root")
                .arg(t.path())
                .arg("rollback")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap();
            std::thread::sleep(Duration::from_micros(rng.random_range(0..150_000)));
            let _ = c.kill();
            let _ = c.wait();
        }
        // Recovery as an admin would do it (the watchdog may be at it too).
        let r = pbx(t.path(), &["rollback"], &[]);
        let rt = text(&r);
        let mut bad = Vec::new();
        if !(r.status.success() || rt.contains("no change is pending")) {
            bad.push(format!("rollback: {rt}"));
        }
        wait_settled(t.path(), Duration::from_secs(15));
        if pending(t.path()) {
            bad.push("still pending".into());
        }
        let after = tree(t.path(), &[STATE]);
        let diff = tree_diff(&before, &after);
        if !diff.is_empty() {
            bad.push(format!("differs: {diff:?}"));
        }
        let tmp = temp_files(t.path());
        if !tmp.is_empty() {
            bad.push(format!("temp files left: {tmp:?}"));
        }
        let passwd = std::fs::read_to_string(t.path().join("etc/passwd")).unwrap();
        if passwd.contains("trixuser") {
            bad.push("stray account".into());
        }
        let s = strays(t.path());
        if !s.is_empty() {
            bad.push(format!("processes of apply still running: {s:?}"));
        }
        let failure = (!bad.is_empty()).then(|| {
            format!(
                "point {i} (after {} ms, {}): {}",
                delay / 1000,
                if whole_group { "group" } else { "apply only" },
                bad.join("; ")
            )
        });
        (!finished, leader_only, killed_rollback, failure)
    };
    // Two workers (the points are independent).
    let results: Vec<Point> = std::thread::scope(|sc| {
        let hs: Vec<_> = (0..2)
            .map(|w| {
                let one = &one;
                sc.spawn(move || (w..points).step_by(2).map(one).collect::<Vec<_>>())
            })
            .collect();
        hs.into_iter().flat_map(|h| h.join().unwrap()).collect()
    });
    let count = |f: fn(&Point) -> bool| results.iter().filter(|r| f(r)).count();
    let mid_apply = count(|r| r.0);
    let leader_only = count(|r| r.1);
    let killed_rollbacks = count(|r| r.2);
    let failures: Vec<String> = results.iter().filter_map(|r| r.3.clone()).collect();
    let held = points - failures.len();
    eprintln!(
        "kill test: seed {seed}: {points} kill points tried ({mid_apply} during apply, \
         {leader_only} to apply alone, {killed_rollbacks} with the first rollback killed too), \
         {held} held"
    );
    assert!(failures.is_empty(), "seed {seed}:\n{}", failures.join("\n"));
    assert!(
        mid_apply * 2 >= points,
        "most kills must land during the apply ({mid_apply} of {points})"
    );
}

/// Make `p` unrestorable: `chattr +i` where the filesystem supports it, else a non-empty
/// directory in its place. Returns the way used.
fn make_unrestorable(p: &Path) -> &'static str {
    let probe = p.with_file_name(".chattr-probe");
    std::fs::write(&probe, "x").unwrap();
    // PBX_HARDEN_TEST_NO_CHATTR=1 tries the fallback where chattr works.
    let chattr = std::env::var_os("PBX_HARDEN_TEST_NO_CHATTR").is_none()
        && Command::new("chattr")
            .arg("+i")
            .arg(&probe)
            .status()
            .is_ok_and(|s| s.success());
    if chattr {
        let _ = Command::new("chattr").arg("-i").arg(&probe).status();
    }
    std::fs::remove_file(&probe).unwrap();
    if chattr {
        assert!(
            Command::new("chattr")
                .arg("+i")
                .arg(p)
                .status()
                .unwrap()
                .success()
        );
        "chattr"
    } else {
        eprintln!(
            "chattr +i is not supported on this filesystem (or PBX_HARDEN_TEST_NO_CHATTR is \
             set): a non-empty directory stands in for the unrestorable file"
        );
        std::fs::rename(p, p.with_extension("moved")).unwrap();
        std::fs::create_dir(p).unwrap();
        std::fs::write(p.join("x"), "x").unwrap();
        "directory"
    }
}

fn make_restorable(p: &Path, how: &str) {
    if how == "chattr" {
        assert!(
            Command::new("chattr")
                .arg("-i")
                .arg(p)
                .status()
                .unwrap()
                .success()
        );
    } else {
        std::fs::remove_dir_all(p).unwrap();
        std::fs::rename(p.with_extension("moved"), p).unwrap();
    }
}

#[test]
fn an_unrestorable_file_keeps_the_way_in_until_it_can_be_restored() {
    if !require_root() {
        return;
    }
    let t = demo_root();
    let before = tree(t.path(), &[STATE]);
    let w = tempfile::tempdir().unwrap();
    let a = write_answers(w.path(), &answers(22022));
    let o = apply(t.path(), &a, Some("10m"));
    assert!(o.status.success(), "{}", text(&o));
    let sshd = t.path().join("etc/ssh/sshd_config");
    let how = make_unrestorable(&sshd);
    eprintln!("unrestorable by: {how}");
    // A reboot: the watchdog is gone; the boot safeguard runs its rollback.
    let j = std::fs::read_to_string(t.path().join(STATE).join("pending/journal.json")).unwrap();
    let wd: i32 = j
        .split("\"watchdog\": \"pid ")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .and_then(|p| p.parse().ok())
        .unwrap();
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(wd),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    // The SysV safeguard (the demo is a CentOS 5 box): an init script of its own.
    let safeguard = [
        "etc/rc.d/init.d/pbx-harden-rollback",
        "etc/init.d/pbx-harden-rollback",
    ]
    .iter()
    .map(|p| t.path().join(p))
    .find(|p| p.exists())
    .expect("the boot safeguard's init script");
    let script = std::fs::read_to_string(&safeguard).unwrap();
    assert!(
        script.contains("rollback --no-restart --reason boot"),
        "{script}"
    );
    let r = Command::new(t.path().join("var/lib/pbx-harden/bin/pbx-harden"))
        .arg("--root")
        .arg(t.path())
        .args(["rollback", "--reason", "boot"])
        .output()
        .unwrap();
    let out = text(&r);
    // Make it writable again whatever happens below, or the temp dir cannot be removed.
    let guard = scopeguard(&sshd, how);
    assert_eq!(r.status.code(), Some(3), "{out}");
    assert!(out.contains("rollback INCOMPLETE"), "{out}");
    assert!(out.contains("NOT RESTORED: /etc/ssh/sshd_config"), "{out}");
    if how == "chattr" {
        assert!(out.contains("lsattr") && out.contains("chattr -i"), "{out}");
    }
    // Everything else that could be restored was, but not the accounts: the user that
    // AllowUsers names stays while sshd_config is not back.
    let passwd = std::fs::read_to_string(t.path().join("etc/passwd")).unwrap();
    assert!(passwd.contains("trixuser:"), "{passwd}");
    assert!(out.contains("accounts"), "{out}");
    assert!(
        safeguard.exists(),
        "the boot safeguard stays until the rollback completes"
    );
    let st = pbx(t.path(), &["status"], &[]);
    let st_out = text(&st);
    assert_eq!(st.status.code(), Some(3), "{st_out}");
    assert!(st_out.contains("ROLLBACK INCOMPLETE"), "{st_out}");
    assert!(st_out.contains("/etc/ssh/sshd_config"), "{st_out}");
    assert!(st_out.contains("what to do"), "{st_out}");
    assert!(!out.contains(PW) && !st_out.contains(PW));
    // Neither confirm nor a new apply goes ahead meanwhile.
    let c = pbx(t.path(), &["confirm"], &[]);
    assert!(
        !c.status.success() && text(&c).contains("not complete"),
        "{}",
        text(&c)
    );
    let o = apply(t.path(), &a, None);
    assert!(!o.status.success(), "{}", text(&o));

    assert!(
        out.contains("retries the rollback until it completes"),
        "a new watchdog retries: {out}"
    );
    // Writable again: the watchdog's retry completes it without anyone's help.
    drop(guard);
    wait_settled(t.path(), Duration::from_secs(40));
    assert!(!pending(t.path()), "the watchdog completed the rollback");
    assert_eq!(
        tree_diff(&before, &tree(t.path(), &[STATE])),
        Vec::<String>::new()
    );
    assert_eq!(before, tree(t.path(), &[STATE]));
    let log = std::fs::read_to_string(t.path().join(STATE).join("watchdog.log")).unwrap();
    assert!(log.contains("rolled back"), "{log}");
    let st = pbx(t.path(), &["status"], &[]);
    assert_eq!(st.status.code(), Some(0), "{}", text(&st));
}

struct Restorable<'a>(&'a Path, &'static str, bool);

impl Drop for Restorable<'_> {
    fn drop(&mut self) {
        if !self.2 {
            self.2 = true;
            make_restorable(self.0, self.1);
        }
    }
}

fn scopeguard<'a>(p: &'a Path, how: &'static str) -> Restorable<'a> {
    Restorable(p, how, false)
}

#[test]
fn a_damaged_journal_still_restores_every_byte() {
    let t = demo_root();
    let before = tree(t.path(), &[STATE]);
    let w = tempfile::tempdir().unwrap();
    let a = write_answers(w.path(), pbx_harden::demo::EXAMPLE_ANSWERS);
    let o = apply(t.path(), &a, Some("10m"));
    assert!(o.status.success(), "{}", text(&o));
    let jp = t.path().join(STATE).join("pending/journal.json");
    let full = std::fs::read(&jp).unwrap();
    std::fs::write(&jp, &full[..full.len() / 2]).unwrap();
    let st = pbx(t.path(), &["status"], &[]);
    let s = text(&st);
    assert_eq!(st.status.code(), Some(3), "{s}");
    assert!(
        s.contains("JOURNAL DAMAGED") && s.contains("pbx-harden rollback"),
        "{s}"
    );
    let r = pbx(t.path(), &["rollback"], &[]);
    assert!(r.status.success(), "{}", text(&r));
    assert!(text(&r).contains("the journal was damaged"), "{}", text(&r));
    assert_eq!(
        tree_diff(&before, &tree(t.path(), &[STATE])),
        Vec::<String>::new()
    );
    assert_eq!(before, tree(t.path(), &[STATE]));
    // The first change's watchdog may still be in its backoff sleep: it must not be the one
    // that finds the next change's damaged journals (the count below is per watchdog).
    let first = String::from_utf8_lossy(&full).into_owned();
    if let Some(pid) = first
        .split("\"watchdog\": \"pid ")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .and_then(|p| p.parse::<i32>().ok())
    {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid),
            nix::sys::signal::Signal::SIGKILL,
        );
    }

    // A flipped byte (valid JSON, wrong checksum) is noticed too; every copy damaged gives
    // a way forward instead of a loop.
    let o = apply(t.path(), &a, Some("10m"));
    assert!(o.status.success(), "{}", text(&o));
    let pend = t.path().join(STATE).join("pending");
    let j = std::fs::read_to_string(pend.join("journal.json")).unwrap();
    std::fs::write(
        pend.join("journal.json"),
        j.replacen("\"timeout_secs\": 600", "\"timeout_secs\": 601", 1),
    )
    .unwrap();
    let st = text(&pbx(t.path(), &["status"], &[]));
    assert!(st.contains("checksum"), "{st}");
    for f in ["journal.json", "journal.prev.json", "journal.first.json"] {
        std::fs::write(pend.join(f), "{").unwrap();
    }
    let st = pbx(t.path(), &["status"], &[]);
    let s = text(&st);
    assert_eq!(st.status.code(), Some(1), "{s}");
    assert!(
        s.contains("restore them by hand") && s.contains("mv "),
        "{s}"
    );
    // The watchdog logs that once and backs off.
    std::thread::sleep(Duration::from_secs(4));
    let log = std::fs::read_to_string(t.path().join(STATE).join("watchdog.log")).unwrap();
    assert_eq!(log.matches("and so are its copies").count(), 1, "{log}");
    // Clean up: kill this transaction's watchdog.
    let pid = j
        .split("\"watchdog\": \"pid ")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .and_then(|p| p.parse::<i32>().ok())
        .unwrap();
    let _ = nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid),
        nix::sys::signal::Signal::SIGKILL,
    );
}

#[test]
fn edits_by_others_during_the_window_are_kept() {
    if !require_root() {
        return;
    }
    let t = demo_root();
    let before = tree(t.path(), &[STATE]);
    let w = tempfile::tempdir().unwrap();
    let a = write_answers(w.path(), &answers(22022));
    let o = apply(t.path(), &a, Some("3s"));
    assert!(o.status.success(), "{}", text(&o));
    let etc = t.path().join("etc");
    let edit = |f: &str, g: &dyn Fn(String) -> String| {
        let p = etc.join(f);
        let s = std::fs::read_to_string(&p).unwrap();
        std::fs::write(&p, g(s)).unwrap();
    };
    // Another admin, during the window: a new account, root's password, a line of sshd_config.
    let root_hash =
        "$6$otheradmin$Zm9vYmFyYmF6cXV4Zm9vYmFyYmF6cXV4Zm9vYmFyYmF6cXV4Zm9vYmFyYmF6cXV4";
    edit("passwd", &|s| {
        s + "bob:x:1500:1500:Bob:/home/bob:/bin/bash\n"
    });
    edit("group", &|s| s + "bob:x:1500:\n");
    edit("shadow", &|s| {
        let mut out = String::new();
        for l in s.lines() {
            if let Some(rest) = l.strip_prefix("root:") {
                let tail = rest.split_once(':').map(|x| x.1).unwrap_or("");
                out.push_str(&format!("root:{root_hash}:{tail}\n"));
            } else {
                out.push_str(l);
                out.push('\n');
            }
        }
        out + "bob:!:20000:0:99999:7:::\n"
    });
    edit("ssh/sshd_config", &|s| {
        s.replacen("X11Forwarding", "#X11Forwarding", 1) + "# bob was here\n"
    });
    let edited_sshd = std::fs::read(etc.join("ssh/sshd_config")).unwrap();

    // The watchdog rolls back at the deadline.
    wait_settled(t.path(), Duration::from_secs(20));
    assert!(!pending(t.path()));
    let after = tree(t.path(), &[STATE]);
    let passwd = std::fs::read_to_string(etc.join("passwd")).unwrap();
    let shadow = std::fs::read_to_string(etc.join("shadow")).unwrap();
    let group = std::fs::read_to_string(etc.join("group")).unwrap();
    assert!(!passwd.contains("trixuser"), "{passwd}");
    assert!(
        !shadow.contains("trixuser") && !group.contains("trixuser"),
        "{group}"
    );
    assert!(
        passwd.ends_with("bob:x:1500:1500:Bob:/home/bob:/bin/bash\n"),
        "{passwd}"
    );
    assert!(group.contains("\nbob:x:1500:\n"), "{group}");
    assert!(shadow.contains(&format!("root:{root_hash}:")), "{shadow}");
    assert!(shadow.contains("\nbob:!:"), "{shadow}");
    // sshd_config is the one from before; the other admin's version is kept.
    assert_eq!(
        after.get("etc/ssh/sshd_config"),
        before.get("etc/ssh/sshd_config")
    );
    let conflicts: Vec<_> = pbx_harden::apply::journal::kept_conflicts(
        &pbx_harden::root::Root::open(t.path()).unwrap(),
    );
    assert_eq!(conflicts.len(), 1, "{conflicts:?}");
    assert!(conflicts[0].ends_with("etc/ssh/sshd_config"));
    assert_eq!(std::fs::read(&conflicts[0]).unwrap(), edited_sshd);
    // Everything else is as before.
    let mut diff = tree_diff(&before, &after);
    diff.sort();
    assert_eq!(diff, vec!["~ etc/group", "~ etc/passwd", "~ etc/shadow"]);
    // Reported by the watchdog's log and by status (kept until the admin removes it).
    let log = std::fs::read_to_string(t.path().join(STATE).join("watchdog.log")).unwrap();
    assert!(log.contains("was edited after apply"), "{log}");
    assert!(
        log.contains("entries others added or changed after apply were kept"),
        "{log}"
    );
    assert!(log.contains("root") && log.contains("bob"), "{log}");
    assert!(!log.contains(root_hash), "{log}");
    let st = text(&pbx(t.path(), &["status"], &[]));
    assert!(
        st.contains("kept until you remove them") && st.contains("sshd_config"),
        "{st}"
    );
    // The login user's password is in no output and no file this produced.
    for (what, t) in [("log", &log), ("status", &st)] {
        assert!(!t.contains(PW), "{what}");
    }
    for f in tree(&t.path().join(STATE), &[]).values() {
        if let Node::File { bytes, .. } = f {
            assert!(!String::from_utf8_lossy(bytes).contains(PW));
        }
    }
}

#[test]
fn a_command_of_a_killed_apply_does_not_finish_after_the_rollback() {
    // useradd is slow here (a shim sleeps first); apply alone is killed while it runs.
    if !require_root() {
        return;
    }
    let t = demo_root();
    let before = tree(t.path(), &[STATE]);
    let w = tempfile::tempdir().unwrap();
    let a = write_answers(w.path(), &answers(22022));
    let shim = w.path().join("bin");
    std::fs::create_dir(&shim).unwrap();
    let marker = w.path().join("started");
    let real = pbx_harden::system::find_program("useradd");
    let Some(real) = real else {
        assert!(!in_ci(), "useradd is needed in CI");
        return;
    };
    std::fs::write(
        shim.join("useradd"),
        format!(
            "#!/bin/sh\necho $$ > {m}.tmp && mv {m}.tmp {m}\nsleep 6\nexec {} \"$@\"\n",
            real.display(),
            m = marker.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(
        shim.join("useradd"),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let path = format!("{}:{}", shim.display(), std::env::var("PATH").unwrap());
    let mut child = Command::new(bin())
        .arg("--root")
        .arg(t.path())
        .args(["apply", "--answers", a.to_str().unwrap()])
        .env("SSH_CONNECTION", "")
        .env("SSH_CLIENT", "")
        .env("PATH", &path)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while !marker.exists() && start.elapsed() < Duration::from_secs(30) {
        std::thread::sleep(Duration::from_millis(20));
    }
    let shim_pid: i32 = std::fs::read_to_string(&marker)
        .expect("useradd started")
        .trim()
        .parse()
        .unwrap();
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    let _ = child.wait();
    // The parent-death signal stops the command with apply.
    let start = Instant::now();
    while Path::new(&format!("/proc/{shim_pid}")).exists()
        && !std::fs::read_to_string(format!("/proc/{shim_pid}/stat"))
            .unwrap_or_default()
            .contains(") Z")
        && start.elapsed() < Duration::from_secs(4)
    {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(
        start.elapsed() < Duration::from_secs(4),
        "the command outlived apply"
    );
    let r = pbx(t.path(), &["rollback"], &[]);
    assert!(
        r.status.success() || text(&r).contains("no change is pending"),
        "{}",
        text(&r)
    );
    wait_settled(t.path(), Duration::from_secs(10));
    // Long after useradd would have run: nothing of it.
    std::thread::sleep(Duration::from_secs(8).saturating_sub(start.elapsed()));
    assert_eq!(
        tree_diff(&before, &tree(t.path(), &[STATE])),
        Vec::<String>::new()
    );
    assert!(strays(t.path()).is_empty(), "{:?}", strays(t.path()));
}
