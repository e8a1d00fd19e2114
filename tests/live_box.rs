//! pbx-harden on booted Debian 12 boxes (tests/boxes/): systemd with ssh.service and
//! ssh.socket, and SysV init. Each test boots its own throw-away box, applies a change with
//! the real binary as root at the box's console (or from an SSH login), and checks what an
//! admin would see: the new login works, root is refused, confirm from the new login, the
//! timer's revert, a killed session, a reboot inside the window, `status` after each rollback.
//! Every test prints how long it took ("[live] NAME: N s").

mod boxes;

use std::time::{Duration, Instant};

use boxes::{ADMIN, ADMIN_PW, Flavor, TestBox};

const USER: &str = "pbxadmin";
const PW: &str = "Tundra mosaic 8! lantern quill";
const PORT: u16 = 2822;

fn answers(extra: &str, timeout: &str) -> String {
    format!(
        "[user]\nname = \"{USER}\"\npassword = \"{PW}\"\ngroups = [\"sudo\"]\n\
         [ssh]\nport = {PORT}\n{extra}[apply]\nconfirm_timeout = \"{timeout}\"\n"
    )
}

fn timed(name: &str, t: Instant) {
    eprintln!("[live] {name}: {:.1} s", t.elapsed().as_secs_f64());
}

/// Apply `answers` at the console of `b`; returns its output (panics unless it exits 0).
fn apply(b: &TestBox, answers: &str) -> String {
    b.write("/root/answers.toml", answers);
    b.sh_ok("pbx-harden apply --answers /root/answers.toml 2>&1")
}

/// `pbx-harden status` (exit 0: nothing to do or waiting for confirm; 3: something needs the
/// admin, e.g. an interrupted apply the watchdog is about to roll back).
fn status(b: &TestBox) -> String {
    let o = b.sh("pbx-harden status 2>&1");
    let code = o.status.code();
    assert!(
        matches!(code, Some(0) | Some(3)),
        "status exit {code:?}: {}",
        String::from_utf8_lossy(&o.stdout)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// The new user's password where the user can read it, for `sudo -S`.
fn sudo_pw_file(b: &TestBox) {
    b.write("/var/tmp/pbx-box-sudo", &format!("{PW}\n"));
    b.sh_ok("chmod 644 /var/tmp/pbx-box-sudo");
}

fn out(o: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// The main path on ssh.service: move, log in on the new port, root refused, confirm from the
/// new login; the change survives a reboot.
#[test]
fn systemd_ssh_service_move_and_confirm_from_the_new_login() {
    let t = Instant::now();
    let Some(b) = TestBox::start("pbx-live-confirm", Flavor::Systemd) else {
        return;
    };
    assert!(b.banner(22));
    let a = apply(&b, &answers("", "5m"));
    assert!(a.contains(&format!("ssh -p {PORT} {USER}@")), "{a}");
    assert!(b.banner(PORT), "sshd answers on the new port");
    assert!(!b.banner(22), "and no longer on 22");
    let o = b.ssh(USER, PW, PORT, "id -un");
    assert!(o.status.success(), "{}", out(&o));
    assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), USER);
    let o = b.ssh("root", "pbx-box-root", PORT, "true");
    assert!(!o.status.success(), "root is refused on the new port");
    let o = b.ssh(ADMIN, ADMIN_PW, PORT, "true");
    assert!(!o.status.success(), "AllowUsers lets only {USER} in");
    assert!(a.contains("run:   sudo "), "the plan set up sudo: {a}");
    // Confirm at the console without --here is refused, even while the new user has a
    // session open on the new port: it is not this session.
    b.write("/var/tmp/pbx-box-idle", PW);
    b.sh_ok(
        "chmod 600 /var/tmp/pbx-box-idle; (setsid sshpass -f /var/tmp/pbx-box-idle ssh \
         -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -p 2822 pbxadmin@127.0.0.1 \
         'echo up > /tmp/idle; sleep 120' >/dev/null 2>&1 &); \
         for i in $(seq 50); do [ -f /tmp/idle ] && exit 0; sleep 0.2; done; exit 1",
    );
    let o = b.sh("pbx-harden confirm");
    assert!(!o.status.success(), "{}", out(&o));
    assert!(out(&o).contains(&format!("port {PORT}")), "{}", out(&o));
    assert!(out(&o).contains("not an SSH login"), "{}", out(&o));
    assert!(out(&o).contains("sudo pbx-harden confirm"), "{}", out(&o));
    // Nor from the admin's login on the old port (there is none now: sshd moved), nor from
    // another user's: boxadmin cannot log in on the new port at all (AllowUsers).
    sudo_pw_file(&b);
    let o = b.ssh(
        USER,
        PW,
        PORT,
        "sudo -S -p '' pbx-harden confirm < /var/tmp/pbx-box-sudo",
    );
    assert!(o.status.success(), "{}", out(&o));
    assert!(out(&o).contains("Confirmed"), "{}", out(&o));
    assert!(status(&b).contains("No change is pending"));
    b.reboot();
    assert!(b.banner(PORT), "the confirmed change holds after a reboot");
    assert!(!b.banner(22));
    timed("systemd ssh.service: move, login, root refused, confirm", t);
}

/// Nobody confirms: the watchdog rolls back at the deadline; `status` says so.
#[test]
fn systemd_timer_rolls_back_and_status_says_why() {
    let t = Instant::now();
    let Some(b) = TestBox::start("pbx-live-timer", Flavor::Systemd) else {
        return;
    };
    apply(&b, &answers("", "15s"));
    assert!(b.banner(PORT));
    b.wait_for("sshd back on 22", Duration::from_secs(45), || {
        b.banner(22) && !b.banner(PORT)
    });
    let s = status(&b);
    assert!(s.contains("rolled back"), "{s}");
    assert!(s.contains("timer"), "{s}");
    let o = b.ssh(USER, PW, 22, "true");
    assert!(!o.status.success(), "the new user is gone again");
    let o = b.ssh(ADMIN, ADMIN_PW, 22, "true");
    assert!(
        o.status.success(),
        "the admin logs in as before: {}",
        out(&o)
    );
    timed("systemd: timer's revert + status", t);
}

/// The admin applies from an SSH session (sudo) that is then killed: the rollback timer lives
/// on outside the session and rolls back.
#[test]
fn systemd_killed_session_still_rolls_back() {
    let t = Instant::now();
    let Some(b) = TestBox::start("pbx-live-killed", Flavor::Systemd) else {
        return;
    };
    b.write("/home/boxadmin/answers.toml", &answers("", "20s"));
    b.write("/var/tmp/pbx-box-admin-sudo", &format!("{ADMIN_PW}\n"));
    b.sh_ok("chmod 644 /var/tmp/pbx-box-admin-sudo /home/boxadmin/answers.toml");
    // Apply from the admin's session, then keep it open until it is killed.
    let o = b.ssh(
        ADMIN,
        ADMIN_PW,
        22,
        "sudo -S -p '' pbx-harden apply --answers /home/boxadmin/answers.toml \
         < /var/tmp/pbx-box-admin-sudo > /tmp/apply.out 2>&1; echo applied; \
         (setsid sleep 600 >/dev/null 2>&1 &) ; exit 0",
    );
    assert!(o.status.success(), "{}", out(&o));
    assert!(b.banner(PORT), "{}", b.sh_ok("cat /tmp/apply.out"));
    // Every process of the admin's sessions dies (what a dropped connection + logind does).
    b.sh_ok("pkill -KILL -u boxadmin || true");
    b.wait_for("sshd back on 22", Duration::from_secs(60), || {
        b.banner(22) && !b.banner(PORT)
    });
    let s = status(&b);
    assert!(s.contains("rolled back") && s.contains("timer"), "{s}");
    timed("systemd: killed session, timer revert", t);
}

/// A reboot inside the window: the boot safeguard rolls back before sshd starts, the services
/// the change stopped run again, and `status` says what happened.
#[test]
fn systemd_reboot_inside_the_window() {
    let t = Instant::now();
    let Some(b) = TestBox::start("pbx-live-reboot", Flavor::Systemd) else {
        return;
    };
    b.sh_ok("systemctl is-active rpcbind.service rpcbind.socket");
    apply(&b, &answers("[services]\ndisable = [\"rpcbind\"]\n", "10m"));
    assert!(b.banner(PORT));
    let o = b.sh("systemctl is-active rpcbind.service rpcbind.socket");
    assert!(
        !String::from_utf8_lossy(&o.stdout).contains("active\n")
            || String::from_utf8_lossy(&o.stdout)
                .lines()
                .all(|l| l != "active"),
        "rpcbind and its socket are stopped: {}",
        out(&o)
    );
    b.reboot();
    b.wait_for(
        "sshd on 22 after the reboot",
        Duration::from_secs(30),
        || b.banner(22),
    );
    assert!(!b.banner(PORT));
    b.wait_for("rpcbind running again", Duration::from_secs(30), || {
        b.sh("systemctl is-active rpcbind.service rpcbind.socket")
            .status
            .success()
    });
    b.sh_ok("systemctl is-enabled rpcbind.service rpcbind.socket");
    let s = status(&b);
    assert!(s.contains("rolled back") && s.contains("boot"), "{s}");
    assert!(
        s.contains("systemctl start --no-block rpcbind.service"),
        "the boot rollback started what ran: {s}"
    );
    timed("systemd: reboot inside the window", t);
}

/// `systemctl disable --now rpcbind` alone leaves rpcbind.socket listening on 111: every unit
/// of the service goes, and rollback brings back enablement and running state.
#[test]
fn systemd_also_units_are_stopped_and_come_back() {
    let t = Instant::now();
    let Some(b) = TestBox::start("pbx-live-also", Flavor::Systemd) else {
        return;
    };
    b.sh_ok("ss -ltn | grep -q ':111 '");
    b.write(
        "/root/answers.toml",
        "[services]\ndisable = [\"rpcbind\"]\n[apply]\nconfirm_timeout = \"5m\"\n",
    );
    let p = b.sh_ok("pbx-harden plan --answers /root/answers.toml 2>&1");
    assert!(p.contains("rpcbind.socket"), "{p}");
    b.sh_ok("pbx-harden apply --answers /root/answers.toml");
    let o = b.sh("ss -ltn | grep ':111 '");
    assert!(!o.status.success(), "nothing listens on 111: {}", out(&o));
    for u in ["rpcbind.service", "rpcbind.socket"] {
        let o = b.sh(&format!("systemctl is-enabled {u}"));
        assert!(!o.status.success(), "{u} disabled: {}", out(&o));
    }
    b.sh_ok("pbx-harden rollback");
    b.sh_ok("systemctl is-active rpcbind.service rpcbind.socket");
    b.sh_ok("systemctl is-enabled rpcbind.service rpcbind.socket");
    b.sh_ok("ss -ltn | grep -q ':111 '");
    let s = status(&b);
    assert!(s.contains("rolled back"), "{s}");
    timed("systemd: Also= units stopped, restored on rollback", t);
}

/// A closed stdout never panics: every command ends with its documented exit code.
#[test]
fn closed_pipe_is_quiet() {
    let t = Instant::now();
    let Some(b) = TestBox::start("pbx-live-pipe", Flavor::Systemd) else {
        return;
    };
    for (cmd, codes) in [
        ("pbx-harden audit --format json", &[0, 1][..]),
        ("pbx-harden audit", &[0, 1][..]),
        ("pbx-harden status", &[0][..]),
        ("pbx-harden plan --answers /root/answers.toml", &[0][..]),
    ] {
        b.write("/root/answers.toml", &answers("", "5m"));
        let o = b.sh(&format!(
            "set -o pipefail; {cmd} 2>/tmp/err | true; echo \"rc=${{PIPESTATUS[0]}}\"; cat /tmp/err"
        ));
        let s = out(&o);
        assert!(!s.contains("panicked"), "{cmd}: {s}");
        let rc: i32 = s
            .lines()
            .find_map(|l| l.strip_prefix("rc="))
            .and_then(|v| v.parse().ok())
            .unwrap_or(-1);
        assert!(codes.contains(&rc), "{cmd} | true: exit {rc}\n{s}");
    }
    let o = b.sh(
        "set -o pipefail; pbx-harden apply --answers /root/answers.toml 2>/tmp/err | head -1; \
         echo \"rc=${PIPESTATUS[0]}\"; cat /tmp/err",
    );
    let s = out(&o);
    assert!(!s.contains("panicked"), "apply | head: {s}");
    assert!(s.contains("rc=0"), "apply | head: {s}");
    assert!(status(&b).contains("Pending change"), "the apply finished");
    timed("closed stdout: audit/status/plan/apply", t);
}

/// Turn `b` into a box whose sshd is started by ssh.socket (socket activation), with one
/// login on port 22 open so ssh.service is running, as an admin's box would be.
fn socket_activated(b: &TestBox, generator: bool) {
    if generator {
        // Ubuntu >= 22.10 derives ssh.socket's address from sshd_config with a generator; this
        // one does the same for Port lines, from /etc (where systemd also runs generators).
        b.write(
            "/etc/systemd/system-generators/sshd-socket-generator",
            "#!/bin/sh\n# Simulates Ubuntu's sshd-socket-generator (Port lines only).\n\
             ports=$(/usr/sbin/sshd -T 2>/dev/null | awk '$1==\"port\"{print $2}')\n\
             [ -n \"$ports\" ] || exit 0\n\
             mkdir -p \"$1/ssh.socket.d\"\n\
             { echo '[Socket]'; echo 'ListenStream='; for p in $ports; do echo \"ListenStream=$p\"; done; } \
             > \"$1/ssh.socket.d/addresses.conf\"\n",
        );
        b.sh_ok("chmod 755 /etc/systemd/system-generators/sshd-socket-generator");
    }
    b.sh_ok(
        "systemctl disable --now ssh.service >/dev/null 2>&1; systemctl daemon-reload; \
         systemctl enable --now ssh.socket >/dev/null 2>&1; systemctl is-active ssh.socket",
    );
    assert!(b.banner(22));
    b.sh_ok("systemctl is-active ssh.service");
    // A login that stays open across the move.
    b.write("/var/tmp/pbx-box-keep", ADMIN_PW);
    b.sh_ok(
        "chmod 600 /var/tmp/pbx-box-keep; (setsid sshpass -f /var/tmp/pbx-box-keep ssh \
         -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -p 22 boxadmin@127.0.0.1 \
         'echo up > /tmp/kept; sleep 300' >/dev/null 2>&1 &); \
         for i in $(seq 50); do [ -f /tmp/kept ] && exit 0; sleep 0.2; done; exit 1",
    );
}

fn socket_state(b: &TestBox) -> String {
    b.sh("for u in ssh.socket ssh.service; do echo \"$u $(systemctl is-enabled $u) $(systemctl is-active $u)\"; done; systemctl show -p Listen --value ssh.socket")
        .stdout
        .iter()
        .map(|c| *c as char)
        .collect()
}

/// Debian 12's ssh.socket (`ListenStream=22`, no generator): a drop-in moves it, the restart
/// works while logins are open, and rollback brings back the socket and the service exactly.
#[test]
fn systemd_ssh_socket_debian_style() {
    let t = Instant::now();
    let Some(b) = TestBox::start("pbx-live-sock-deb", Flavor::Systemd) else {
        return;
    };
    socket_activated(&b, false);
    let before = socket_state(&b);
    b.write("/root/answers.toml", &answers("", "5m"));
    let p = b.sh_ok("pbx-harden plan --answers /root/answers.toml 2>&1");
    assert!(p.contains("ssh.socket.d/pbx-harden-port.conf"), "{p}");
    assert!(p.contains("systemctl stop ssh.service"), "{p}");
    let a = apply(&b, &answers("", "5m"));
    assert!(b.banner(PORT), "{a}");
    assert!(!b.banner(22));
    b.sh_ok("pgrep -u boxadmin -f 'sleep 300'");
    let o = b.ssh(USER, PW, PORT, "id -un");
    assert!(o.status.success(), "{}", out(&o));
    b.sh_ok("pbx-harden rollback");
    assert!(b.banner(22));
    assert!(!b.banner(PORT));
    assert_eq!(socket_state(&b), before, "socket and service as they were");
    assert!(!b.root().join("etc/systemd/system/ssh.socket.d").exists());
    b.sh_ok("pgrep -u boxadmin -f 'sleep 300'");
    // Again, and this time the machine restarts inside the window.
    apply(&b, &answers("", "5m"));
    assert!(b.banner(PORT));
    b.reboot();
    b.wait_for(
        "ssh.socket on 22 after the reboot",
        Duration::from_secs(30),
        || b.banner(22),
    );
    assert!(!b.banner(PORT));
    let s = status(&b);
    assert!(s.contains("rolled back") && s.contains("boot"), "{s}");
    timed(
        "systemd ssh.socket (Debian, own ListenStream): move, login, rollback, reboot",
        t,
    );
}

/// Ubuntu-style ssh.socket (a generator derives the address from sshd_config): no drop-in,
/// daemon-reload picks up the new port.
#[test]
fn systemd_ssh_socket_generator_style() {
    let t = Instant::now();
    let Some(b) = TestBox::start("pbx-live-sock-gen", Flavor::Systemd) else {
        return;
    };
    socket_activated(&b, true);
    let before = socket_state(&b);
    b.write("/root/answers.toml", &answers("", "5m"));
    let p = b.sh_ok("pbx-harden plan --answers /root/answers.toml 2>&1");
    assert!(!p.contains("pbx-harden-port.conf"), "{p}");
    assert!(p.contains("systemctl daemon-reload"), "{p}");
    apply(&b, &answers("", "5m"));
    assert!(b.banner(PORT));
    assert!(!b.banner(22));
    let o = b.ssh(USER, PW, PORT, "id -un");
    assert!(o.status.success(), "{}", out(&o));
    b.sh_ok("pbx-harden rollback");
    assert!(b.banner(22));
    assert_eq!(socket_state(&b), before);
    timed(
        "systemd ssh.socket (Ubuntu-style generator): move, login, rollback",
        t,
    );
}

/// The start tick (field 22 of /proc/PID/stat) of the oldest process named `name` inside.
fn start_tick(b: &TestBox, name: &str) -> u64 {
    b.sh_ok(&format!("cut -d' ' -f22 /proc/$(pgrep -o -x {name})/stat"))
        .trim()
        .parse()
        .unwrap()
}

/// SysV init: a reboot inside the window of a change that also disables cron. The safeguard
/// (an inittab sysinit entry, no cron) rolls back before sshd starts; cron and rpcbind (an rcS
/// service) run again; `status` has the record.
#[test]
fn sysv_reboot_inside_the_window_with_cron_disabled() {
    let t = Instant::now();
    let Some(b) = TestBox::start("pbx-live-sysv-reboot", Flavor::SysV) else {
        return;
    };
    b.sh_ok("pgrep -x cron && pgrep -x rpcbind && ls /etc/rcS.d/S*rpcbind");
    let a = apply(
        &b,
        &answers(
            "[services]\ndisable = [\"cron\", \"rpcbind\"]\noverride_keep_list = [\"cron\"]\n",
            "10m",
        ),
    );
    assert!(b.banner(PORT), "{a}");
    assert!(!b.banner(22));
    let o = b.sh("pgrep -x cron || pgrep -x rpcbind");
    assert!(!o.status.success(), "cron and rpcbind stopped: {}", out(&o));
    let inittab = b.sh_ok("cat /etc/inittab");
    assert!(
        inittab.contains("pbxh::sysinit:/etc/init.d/pbx-harden-rollback start"),
        "{inittab}"
    );
    assert!(!b.root().join("etc/cron.d/pbx-harden-rollback").exists());
    b.reboot();
    b.wait_for(
        "sshd on 22 after the reboot",
        Duration::from_secs(30),
        || b.banner(22),
    );
    assert!(!b.banner(PORT));
    b.sh_ok("pgrep -x cron && pgrep -x rpcbind && ls /etc/rcS.d/S*rpcbind /etc/rc2.d/S*cron");
    let log = b.sh_ok("cat /var/lib/pbx-harden/boot.log");
    let tick: u64 = log
        .lines()
        .find_map(|l| l.rsplit("at tick ").next()?.trim().parse().ok())
        .unwrap_or_else(|| panic!("boot.log: {log}"));
    let sshd = start_tick(&b, "sshd");
    assert!(
        tick <= sshd,
        "the safeguard ran before sshd ({tick} > {sshd})"
    );
    let s = status(&b);
    assert!(s.contains("rolled back") && s.contains("boot"), "{s}");
    assert!(!b.sh_ok("cat /etc/inittab").contains("pbxh"));
    timed(
        "SysV: reboot inside the window, cron disabled by the change",
        t,
    );
}

/// SysV init: the main path (service ssh restart), confirm from the new login, and a confirmed
/// disable of an rcS service (rpcbind) that holds across a reboot.
#[test]
fn sysv_confirmed_rcs_disable_survives_a_reboot() {
    let t = Instant::now();
    let Some(b) = TestBox::start("pbx-live-sysv-confirm", Flavor::SysV) else {
        return;
    };
    apply(&b, &answers("[services]\ndisable = [\"rpcbind\"]\n", "5m"));
    assert!(b.banner(PORT));
    let o = b.ssh("root", "pbx-box-root", PORT, "true");
    assert!(!o.status.success(), "root is refused on the new port");
    sudo_pw_file(&b);
    let o = b.ssh(
        USER,
        PW,
        PORT,
        "sudo -S -p '' pbx-harden confirm < /var/tmp/pbx-box-sudo",
    );
    assert!(o.status.success(), "{}", out(&o));
    assert!(!b.sh_ok("cat /etc/inittab").contains("pbxh"));
    assert!(!b.root().join("etc/init.d/pbx-harden-rollback").exists());
    b.reboot();
    b.wait_for("sshd on the new port", Duration::from_secs(30), || {
        b.banner(PORT)
    });
    let o = b.sh("pgrep -x rpcbind");
    assert!(!o.status.success(), "rpcbind stays off: {}", out(&o));
    assert!(status(&b).contains("No change is pending"));
    timed(
        "SysV: confirm from the new login, rcS disable across a reboot",
        t,
    );
}

/// `status` after the other kinds of rollback: the apply process died half-way (the watchdog
/// rolls back at once), by hand, and a change past its deadline whose watchdog is gone (the
/// next command rolls it back at once instead of saying "rolling back").
#[test]
fn status_after_each_kind_of_rollback() {
    let t = Instant::now();
    let Some(b) = TestBox::start("pbx-live-status", Flavor::SysV) else {
        return;
    };
    b.write("/root/answers.toml", &answers("", "5m"));
    // apply dies after its first file write (abort(), like a kill -9).
    let o = b.sh("PBX_HARDEN_CRASH_AT=write:0 pbx-harden apply --answers /root/answers.toml");
    assert!(!o.status.success());
    b.wait_for("the watchdog rolls back", Duration::from_secs(20), || {
        b.banner(22) && status(&b).contains("rolled back")
    });
    let s = status(&b);
    assert!(s.contains("apply process died"), "{s}");
    // By hand.
    apply(&b, &answers("", "5m"));
    b.sh_ok("pbx-harden rollback");
    let s = status(&b);
    assert!(s.contains("by hand"), "{s}");
    assert!(b.banner(22));
    // Overdue with no watchdog (killed, as a reboot without the safeguard would leave it).
    apply(&b, &answers("", "6s"));
    b.sh_ok(
        "kill -9 $(sed -n 's/.*\"watchdog\": \"pid \\([0-9]*\\)\".*/\\1/p' \
         /var/lib/pbx-harden/pending/journal.json)",
    );
    std::thread::sleep(Duration::from_secs(10));
    assert!(b.banner(PORT), "nothing rolled back yet");
    let s = status(&b);
    assert!(
        s.contains("rolled back") && s.contains("no watchdog"),
        "{s}"
    );
    assert!(b.banner(22) && !b.banner(PORT));
    timed(
        "status after apply died / by hand / overdue without watchdog",
        t,
    );
}

/// Audit judges where SSH really listens: ssh.socket's ListenStream=22 although sshd_config
/// (through an Include) says another port.
#[test]
fn audit_judges_the_effective_listening_configuration() {
    let t = Instant::now();
    let Some(b) = TestBox::start("pbx-live-audit", Flavor::Systemd) else {
        return;
    };
    b.write("/etc/ssh/sshd_config.d/port.conf", "Port 2822\n");
    // Plain ssh.service, not restarted yet: sshd -T (the configuration) says 2822.
    let o = b.sh("pbx-harden audit --format json");
    assert!(!out(&o).contains("ssh.port_22"), "{}", out(&o));
    socket_activated(&b, false);
    let o = b.sh("pbx-harden audit --format json");
    let s = out(&o);
    assert_eq!(o.status.code(), Some(1), "{s}");
    assert!(s.contains("ssh.port_22") && s.contains("ssh.socket"), "{s}");
    timed("audit: ssh.socket's ListenStream over sshd_config", t);
}
