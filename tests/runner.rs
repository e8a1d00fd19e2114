//! The probe's and the plan's commands go through `System::runner` (`exec::Runner`): a
//! stand-in sees each of them, and what it answers is what the facts and the plan go by (the
//! first step towards machine profiles: plans and snapshots without the real programs).

mod common;

use std::sync::{Arc, Mutex};

use pbx_harden::answers::Answers;
use pbx_harden::error::{Error, Result};
use pbx_harden::exec::{Output, Runner};
use pbx_harden::plan;
use pbx_harden::root::Root;
use pbx_harden::secrets::Secret;
use pbx_harden::system::{Env, System};
use rand::SeedableRng;

/// Records every command and answers it with `answer`.
struct Stand {
    seen: Mutex<Vec<Vec<String>>>,
    answer: fn(&[String]) -> Result<Output>,
}

impl std::fmt::Debug for Stand {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Stand")
    }
}

impl Runner for Stand {
    fn run(&self, argv: &[String], _stdin: Option<&Secret>) -> Result<Output> {
        self.seen.lock().unwrap().push(argv.to_vec());
        (self.answer)(argv)
    }
}

fn plan_with(dir: &std::path::Path, answers: &str, stand: &Arc<Stand>) -> plan::Plan {
    let root = Root::open(dir).unwrap();
    let sys = System::detect_with(&root, &Env::fixed(), stand.clone()).unwrap();
    let a = Answers::parse(answers, "answers.toml").unwrap();
    plan::build(&sys, &a, &mut rand::rngs::StdRng::seed_from_u64(7))
}

fn put(dir: &std::path::Path, path: &str, body: &str) {
    let p = dir.join(path.trim_start_matches('/'));
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, body).unwrap();
}

fn stand(answer: fn(&[String]) -> Result<Output>) -> Arc<Stand> {
    Arc::new(Stand {
        seen: Mutex::new(Vec::new()),
        answer,
    })
}

fn out(status: i32, stdout: &str, stderr: &str) -> Result<Output> {
    Ok(Output {
        status,
        stdout: stdout.into(),
        stderr: stderr.into(),
    })
}

#[test]
fn the_service_inventory_and_the_plan_go_by_the_runner() {
    if common::require("systemctl").is_none() {
        return; // (pbx-harden asks systemctl only where the host has one)
    }
    // The demo system as a systemd machine with no unit files at all: what the inventory
    // knows comes from the stand-in's `systemctl list-unit-files`.
    let t = common::demo_root();
    put(t.path(), "/usr/lib/systemd/systemd", "");
    let s = stand(
        |argv| match argv.iter().position(|a| a == "list-unit-files") {
            Some(_) => out(
                0,
                "cups.service enabled enabled\nsshd.service enabled enabled\n",
                "",
            ),
            None => out(1, "", "refused by the stand-in"),
        },
    );
    let p = plan_with(t.path(), "[services]\ndisable = [\"cups\"]\n", &s);
    let seen = s.seen.lock().unwrap().clone();
    assert!(
        seen.iter()
            .any(|a| a[0] == "systemctl" && a.contains(&"list-unit-files".to_string())),
        "{seen:?}"
    );
    assert!(p.is_valid(), "{:?}", p.problems);
    let shown = p
        .actions
        .iter()
        .flat_map(|a| a.describe(&p.root))
        .collect::<Vec<_>>()
        .join("\n");
    assert!(shown.contains("disable cups.service"), "{shown}");
}

#[test]
fn fail2ban_client_is_asked_through_the_runner() {
    if common::require("fail2ban-client").is_none() {
        return;
    }
    let t = common::demo_root();
    put(
        t.path(),
        "/etc/fail2ban/jail.conf",
        "[DEFAULT]\nbantime = 600\n",
    );
    let root = Root::open(t.path()).unwrap();
    let s = stand(|argv| match argv.iter().any(|a| a == "-t") {
        true => out(
            255,
            "",
            "ERROR  Failed during configuration: the stand-in says no\n",
        ),
        false => out(0, "", ""),
    });
    let sys = System::detect_with(&root, &Env::fixed(), s.clone()).unwrap();
    let r = pbx_harden::steps::bruteforce::fail2ban::validate(&sys, b"[sshd]\nenabled = true\n");
    assert!(
        matches!(&r, Some(Err(m)) if m.contains("the stand-in says no")),
        "{r:?}"
    );
    let seen = s.seen.lock().unwrap();
    assert!(
        seen.iter().any(|a| a[0].ends_with("fail2ban-client")),
        "{seen:?}"
    );
}

#[test]
fn the_demo_plan_asks_the_runner_for_nothing() {
    // The demo is an offline SysV disk: nothing for systemctl, fail2ban-client, semanage;
    // only the throw-away host key for `sshd -t` (the demo has none), which the stand-in
    // refuses, so the sshd check is skipped (`Runner::sshd` is the next test's).
    let t = common::demo_root();
    let s = stand(|argv| {
        Err(Error::Command {
            command: argv.join(" "),
            message: "not run (stand-in)".into(),
        })
    });
    let p = plan_with(t.path(), pbx_harden::demo::EXAMPLE_ANSWERS, &s);
    assert!(!p.changes.is_empty());
    let seen = s.seen.lock().unwrap();
    assert!(
        seen.iter()
            .all(|a| a[0].ends_with("ssh-keygen") && a.contains(&"ed25519".to_string())),
        "{seen:?}"
    );
}

/// `sshd -t` / `-T` answered by a stand-in: what it says is what the plan's checks go by.
#[derive(Debug)]
struct SshdStand(Mutex<Vec<Vec<String>>>);

impl Runner for SshdStand {
    fn run(&self, argv: &[String], _stdin: Option<&Secret>) -> Result<Output> {
        self.0.lock().unwrap().push(argv.to_vec());
        out(0, "", "")
    }
    fn find_program(&self, name: &str) -> Option<std::path::PathBuf> {
        Some(std::path::PathBuf::from("/nowhere/bin").join(name))
    }
    fn sshd(&self, argv: &[String], _euid: u32) -> std::result::Result<Output, String> {
        self.0.lock().unwrap().push(argv.to_vec());
        assert_eq!(argv[0], "/nowhere/bin/sshd");
        let flat = std::fs::read_to_string(&argv[3]).unwrap();
        assert!(flat.contains("throwaway_host_key"), "{flat}");
        Ok(Output {
            status: 1,
            stdout: String::new(),
            stderr: format!("{}: line 1: the stand-in says no\n", argv[3]),
        })
    }
}

#[test]
fn sshd_and_ssh_keygen_are_asked_through_the_runner() {
    let t = common::demo_root();
    let root = Root::open(t.path()).unwrap();
    let s = Arc::new(SshdStand(Mutex::new(Vec::new())));
    let sys = System::detect_with(&root, &Env::fixed(), s.clone()).unwrap();
    let a = Answers::parse(pbx_harden::demo::EXAMPLE_ANSWERS, "answers.toml").unwrap();
    let p = plan::build(&sys, &a, &mut rand::rngs::StdRng::seed_from_u64(7));
    let check = p
        .checks
        .iter()
        .find(|c| c.name == "sshd -t accepts the new configuration")
        .expect("the sshd check");
    let shown = format!("{:?}", check.status);
    assert!(
        shown.contains("sshd_config (flattened): line 1: the stand-in says no"),
        "{shown}"
    );
    let seen = s.0.lock().unwrap();
    assert!(
        seen.iter().any(|a| a[0] == "/nowhere/bin/ssh-keygen"),
        "{seen:?}"
    );
    assert!(seen.iter().any(|a| a[1] == "-t"), "{seen:?}");
}

const DEMO_PROFILE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/assets/profiles/demo-trixbox.toml"
);

/// The hidden `PBX_HARDEN_PROFILE`: `plan --root` from the demo's machine profile, as any
/// user, with or without sshd; sshd's verdicts are the recorded ones.
#[test]
fn the_cli_plans_the_demo_from_its_profile() {
    let t = common::demo_root();
    let o = common::pbx(
        t.path(),
        &[
            "plan",
            "--answers",
            concat!(env!("CARGO_MANIFEST_DIR"), "/assets/demo/answers.toml"),
        ],
        &[("PBX_HARDEN_PROFILE", DEMO_PROFILE)],
    );
    let text = common::text(&o);
    assert!(o.status.success(), "{text}");
    assert!(text.contains("sshd -T shows the chosen values"), "{text}");
    assert!(!text.contains("has no record"), "{text}");
}

/// A command the profile has no record of is refused, and the refusal names it.
#[test]
fn a_profile_refuses_what_it_has_not_recorded() {
    let t = common::demo_root();
    let w = tempfile::tempdir().unwrap();
    let p = w.path().join("bare.toml");
    std::fs::write(
        &p,
        "about = \"sshd and ssh-keygen installed, nothing recorded\"\n\
         [programs]\nsshd = \"/usr/sbin/sshd\"\nssh-keygen = \"/usr/bin/ssh-keygen\"\n",
    )
    .unwrap();
    let o = common::pbx(
        t.path(),
        &[
            "plan",
            "--answers",
            concat!(env!("CARGO_MANIFEST_DIR"), "/assets/demo/answers.toml"),
        ],
        &[("PBX_HARDEN_PROFILE", p.to_str().unwrap())],
    );
    let text = common::text(&o);
    assert!(
        text.contains("bare.toml has no record of `/usr/bin/ssh-keygen -q -t ed25519"),
        "{text}"
    );
}

/// Never on this system: a profile is for --root and --demo.
#[test]
fn a_profile_is_refused_for_this_system() {
    let o = std::process::Command::new(common::bin())
        .args(["plan", "--answers"])
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/assets/demo/answers.toml"
        ))
        .env("PBX_HARDEN_PROFILE", DEMO_PROFILE)
        .output()
        .unwrap();
    let text = common::text(&o);
    assert!(!o.status.success(), "{text}");
    assert!(text.contains("never this system"), "{text}");
}

/// The demo's profile stands for the real programs only while it says what they say: where
/// they are here (root with sshd, and always in CI), the demo plans from the profile and
/// from the real programs must print the same (re-record with tools/record-profile if not).
#[test]
fn the_demo_profile_answers_as_the_real_programs_do() {
    if !common::real_programs() {
        eprintln!("no root or no sshd: nothing to compare the profile with (it runs in CI)");
        return;
    }
    let profile = pbx_harden::profile::Profile::demo().unwrap();
    let recorded = profile
        .commands
        .iter()
        .find(|r| r.argv.get(1).map(String::as_str) == Some("-V"))
        .map(|r| r.stderr.trim().to_string())
        .unwrap_or_default();
    let here = std::process::Command::new(common::require("sshd").unwrap())
        .arg("-V")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stderr).trim().to_string())
        .unwrap_or_default();
    if recorded != here {
        eprintln!(
            "the profile was recorded with {recorded:?}, this host has {here:?}: not compared"
        );
        return;
    }
    for answers in [
        pbx_harden::demo::EXAMPLE_ANSWERS.to_string(),
        std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/wizard-answers.toml"
        ))
        .unwrap(),
    ] {
        let t = common::demo_root();
        let root = Root::open(t.path()).unwrap();
        let a = Answers::parse(&answers, "answers.toml").unwrap();
        let render = |sys: &System| {
            let p = plan::build(sys, &a, &mut rand::rngs::StdRng::seed_from_u64(7));
            plan::render(&p, sys)
        };
        let real = System::detect_with(&root, &Env::fixed(), Arc::new(pbx_harden::exec::Real));
        let replayed = System::detect_with(&root, &Env::fixed(), common::demo_profile());
        let real = render(&real.unwrap());
        assert!(real.contains("sshd -T shows the chosen values"), "{real}");
        assert_eq!(real, render(&replayed.unwrap()));
    }
}

/// Probe, plan, verify: once the facts are found, `plan::draft` runs no command at all (sshd -t/-T waits in
/// `Plan::unverified`), `verify::run` runs it and puts its checks where the SSH step asked,
/// so the verified draft is the plan `plan::build` makes.
#[test]
fn the_draft_runs_no_tool_and_verify_adds_the_checks_in_place() {
    let t = common::demo_root();
    let root = Root::open(t.path()).unwrap();
    let s = Arc::new(SshdStand(Mutex::new(Vec::new())));
    let sys = System::detect_with(&root, &Env::fixed(), s.clone()).unwrap();
    let a = Answers::parse(pbx_harden::demo::EXAMPLE_ANSWERS, "answers.toml").unwrap();
    let rng = || rand::rngs::StdRng::seed_from_u64(7);
    let sshd_runs = |s: &SshdStand| s.0.lock().unwrap().iter().filter(|a| a[1] == "-t").count();

    // The probe: every fact found (the slow ones are found when first asked for).
    let _ = (
        sys.ssh.force(),
        sys.services.force(),
        sys.extensions.force(),
    );
    s.0.lock().unwrap().clear();
    let mut draft = plan::draft(&sys, &a, &mut rng());
    assert_eq!(
        *s.0.lock().unwrap(),
        Vec::<Vec<String>>::new(),
        "the draft ran commands"
    );
    assert_eq!(sshd_runs(&s), 0, "the draft ran sshd");
    assert!(!draft.unverified.is_empty());
    assert!(
        !draft.checks.iter().any(|c| c.name.starts_with("sshd -")),
        "{:?}",
        draft.checks
    );
    pbx_harden::verify::run(&sys, &mut draft);
    assert!(sshd_runs(&s) > 0);
    assert!(draft.unverified.is_empty());

    let built = plan::build(&sys, &a, &mut rng());
    let names = |p: &plan::Plan| p.checks.iter().map(|c| c.name.clone()).collect::<Vec<_>>();
    assert_eq!(names(&draft), names(&built));
    assert_eq!(
        plan::render(&draft, &sys),
        plan::render(&built, &sys),
        "the verified draft and the built plan differ"
    );
}
