//! The machine profiles of assets/profiles beside the demo's: Debian 12 + FreePBX 17, Rocky 9
//! with firewalld and SNG7 (roots of tests/machines over the fixture corpus). Each machine is
//! planned from its profile, and its wizard's Welcome and Ports screens drawn (insta snapshots),
//! as any user, with or without sshd; a command its profile has no answer for fails the test.
//! Where the real programs are (root with sshd, always in CI), the profile must still answer
//! as they do.
//!
//! `PBX_HARDEN_RECORD_PROFILES=DIR` (`tools/record-profile`, as root with sshd) records what the
//! real programs answer into DIR/NAME.toml instead.

mod common;
mod fwcommon;
mod machines;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use machines::{MACHINES, Machine};
use pbx_harden::answers::Answers;
use pbx_harden::exec::Runner;
use pbx_harden::plan::{self, CheckStatus, Plan};
use pbx_harden::profile::{Profile, ProfileRunner, Recorder};
use pbx_harden::root::Root;
use pbx_harden::steps::firewall::managers::Manager;
use pbx_harden::system::{Env, System};
use rand::SeedableRng;

const RECORD_ENV: &str = "PBX_HARDEN_RECORD_PROFILES";

/// What each machine is planned with: a login user, an SSH move with the user allowed.
const ANSWERS: &str = "[user]\nname = \"pbxadmin\"\npassword = \"Tundra mosaic 8! lantern quill\"\n\n[ssh]\nport = 22022\npermit_root_login = false\npassword_authentication = true\nallow_users = [\"pbxadmin\"]\n";

fn record_dir() -> Option<PathBuf> {
    std::env::var_os(RECORD_ENV)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

fn profile_of(m: Machine) -> Profile {
    let path = m.profile_path();
    Profile::load(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The machine's profile, or the real programs recording into one.
fn runner(m: Machine, root: &Path) -> Arc<dyn Runner> {
    match record_dir() {
        Some(dir) => {
            assert!(
                common::is_root() && pbx_harden::system::find_program("sshd").is_some(),
                "{RECORD_ENV}: recording needs root and sshd"
            );
            let file = dir.join(format!("{}.toml", m.name()));
            Arc::new(Recorder::new(Arc::new(pbx_harden::exec::Real), &file).with_root(root))
        }
        // a command it has no answer for fails the test there and then
        None => Arc::new(common::Strict(
            ProfileRunner::new(profile_of(m), m.name()).with_root(root),
        )),
    }
}

fn detect_with(root: &Path, run: Arc<dyn Runner>) -> System {
    let r = Root::open(root).unwrap();
    System::detect_with(&r, &Env::fixed(), run).unwrap()
}

fn build(sys: &System) -> Plan {
    let a = Answers::parse(ANSWERS, "answers.toml").unwrap();
    plan::build(sys, &a, &mut rand::rngs::StdRng::seed_from_u64(7))
}

fn problems(p: &Plan) -> String {
    fwcommon::problems(p)
}

/// Where the plan shows that the profile had no answer (the runner's refusal, as a check
/// that could not run or as a problem): a test from a profile must fail on it, never pass.
fn unanswered(p: &Plan, sys: &System) -> Vec<String> {
    let mut all: Vec<String> = problems(p).lines().map(str::to_string).collect();
    all.extend(plan::render(p, sys).lines().map(str::to_string));
    all.retain(|l| l.contains("has no record of"));
    all
}

fn pass(p: &Plan, name: &str) -> String {
    match fwcommon::check(p, name) {
        CheckStatus::Pass(s) => s.clone(),
        other => panic!("{name}: {other:?}\n{}", problems(p)),
    }
}

fn in_charge(m: Machine) -> Manager {
    match m {
        Machine::Debian12Freepbx17 | Machine::Sng7 => Manager::Freepbx,
        Machine::Rocky9Firewalld => Manager::Firewalld,
    }
}

#[test]
fn each_machine_plans_from_its_profile() {
    for m in MACHINES {
        let Some(t) = m.root() else { return };
        let sys = detect_with(t.path(), runner(m, t.path()));
        let p = build(&sys);
        let missing = unanswered(&p, &sys);
        assert!(
            missing.is_empty(),
            "{}: the profile lacks answers (record them with tools/record-profile):\n{}",
            m.name(),
            missing.join("\n")
        );
        assert_eq!(
            sys.firewall.managers.first().map(|x| x.manager),
            Some(in_charge(m)),
            "{}",
            m.name()
        );
        assert!(p.refusals().is_empty(), "{}: {}", m.name(), problems(&p));
        pass(&p, "sshd -t accepts the new configuration");
        let t_values = pass(&p, "sshd -T shows the chosen values");
        assert!(
            t_values.contains("port 22022") && t_values.contains("allowusers pbxadmin"),
            "{}: {t_values}",
            m.name()
        );
        let shown = plan::render(&p, &sys);
        let os = match m {
            Machine::Debian12Freepbx17 => "Debian GNU/Linux 12 (bookworm)",
            Machine::Rocky9Firewalld => "Rocky Linux 9.4 (Blue Onyx)",
            Machine::Sng7 => "Sangoma Linux 7 (Core)",
        };
        assert_eq!(sys.os.pretty, os, "{}", m.name());
        // the move is carried to the manager in charge
        let fw = match m {
            Machine::Rocky9Firewalld => "/etc/firewalld/zones/public.xml",
            _ => "Connectivity > Firewall > Services: SSH on port 22022",
        };
        assert!(
            shown.contains(fw) || problems(&p).contains(fw),
            "{}: {fw}\n{shown}",
            m.name()
        );
    }
}

/// A profile that lacks an answer makes the plan test fail, naming the command.
#[test]
fn a_profile_without_an_answer_fails_the_plan_test() {
    let m = Machine::Rocky9Firewalld;
    let Some(t) = m.root() else { return };
    let mut profile = profile_of(m);
    assert!(!profile.sshd.is_empty(), "the profile has sshd's answers");
    profile.sshd.clear();
    let run = Arc::new(ProfileRunner::new(profile, "stripped.toml").with_root(t.path()));
    let sys = detect_with(t.path(), run);
    let p = build(&sys);
    let missing = unanswered(&p, &sys).join("\n");
    assert!(
        missing.contains("stripped.toml has no record of") && missing.contains("sshd"),
        "{missing}\n{}",
        problems(&p)
    );
}

/// Each profile says what it is and that this machine's programs answered it.
#[test]
fn each_profile_says_where_its_answers_come_from() {
    for m in MACHINES {
        let p = profile_of(m);
        assert!(
            p.about.contains("Debian 12") && p.about.contains("OpenSSH_"),
            "{}: {}",
            m.name(),
            p.about
        );
        assert!(
            p.config_digests,
            "{}: sshd configurations as digests",
            m.name()
        );
        assert!(
            p.sshd.iter().all(|r| r.config.is_empty()),
            "{}: no corpus file is copied into the profile",
            m.name()
        );
        assert!(p.programs.contains_key("sshd"), "{}", m.name());
    }
}

/// Where the real programs are (root with sshd, always in CI) and sshd is the one the
/// profiles were recorded with, a plan from the profile and one from the real programs print
/// the same (re-record with tools/record-profile if not).
#[test]
fn the_profiles_answer_as_the_real_programs_do() {
    if record_dir().is_some() || !common::real_programs() {
        eprintln!("no root or no sshd: nothing to compare the profiles with (it runs in CI)");
        return;
    }
    let here = std::process::Command::new(common::require("sshd").unwrap())
        .arg("-V")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stderr).trim().to_string())
        .unwrap_or_default();
    for m in MACHINES {
        // tools/record-profile writes the `sshd -V` it recorded with into the about
        let about = profile_of(m).about;
        if !about.contains(&here) {
            eprintln!(
                "{}: not recorded with this host's {here:?}: not compared ({about})",
                m.name()
            );
            continue;
        }
        let Some(t) = m.root() else { return };
        let real = detect_with(t.path(), Arc::new(pbx_harden::exec::Real));
        let replayed = detect_with(t.path(), runner(m, t.path()));
        let (a, b) = (build(&real), build(&replayed));
        // the sshd verdicts and what the plan writes and runs
        for name in [
            "sshd -t accepts the new configuration",
            "sshd -T shows the chosen values",
        ] {
            assert_eq!(
                fwcommon::check(&a, name),
                fwcommon::check(&b, name),
                "{}: {name}",
                m.name()
            );
        }
        let paths = |p: &Plan| -> Vec<(String, Option<Vec<u8>>)> {
            p.changes
                .iter()
                .map(|c| (c.path.clone(), c.after.clone()))
                .collect()
        };
        assert!(paths(&a) == paths(&b), "{}: the changes differ", m.name());
    }
}

#[cfg(feature = "tui")]
mod wizard {
    use super::*;
    use pbx_harden::tui::app::{App, Effect, Event};
    use pbx_harden::tui::keys::Key;
    use pbx_harden::tui::run::{Job, perform};
    use pbx_harden::tui::screens::ScreenId;
    use pbx_harden::tui::theme::Theme;
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;
    use std::sync::Mutex;

    const NOW: u64 = 1_800_000_000;
    const PW: &str = "Tundra mosaic 8! lantern quill";

    struct W {
        app: App,
        root: PathBuf,
    }

    impl W {
        fn run_effects(&mut self, effects: Vec<Effect>) {
            let mut queue = effects;
            while let Some(e) = queue.pop() {
                let job = Job::of(&self.app, &self.app.ctx.sys.root.clone(), &Env::fixed());
                let during = Mutex::new(Vec::new());
                let evs = perform(&e, &job, &|ev| during.lock().unwrap().push(ev));
                for ev in during.into_inner().unwrap().into_iter().chain(evs) {
                    queue.extend(self.app.update(ev));
                }
            }
        }

        fn key(&mut self, k: Key) -> &mut Self {
            let effects = self.app.update(Event::Key(k));
            self.run_effects(effects);
            let effects = self.app.update(Event::Settle);
            self.run_effects(effects);
            self
        }

        fn type_str(&mut self, s: &str) -> &mut Self {
            for c in s.chars() {
                self.key(Key::Char(c));
            }
            self
        }

        fn screen(&mut self) -> String {
            let mut t = Terminal::new(TestBackend::new(80, 24)).unwrap();
            t.draw(|f| self.app.view(f)).unwrap();
            let buf = t.backend().buffer().clone();
            let mut s = String::new();
            for y in 0..24u16 {
                let mut line = String::new();
                for x in 0..80u16 {
                    line.push_str(buf[(x, y)].symbol());
                }
                s.push_str(line.trim_end());
                s.push('\n');
            }
            s.replace(&self.root.display().to_string(), "<ROOT>")
        }

        fn snap(&mut self, name: &str) {
            let s = self.screen();
            insta::with_settings!({snapshot_path => "../snapshots", prepend_module_to_snapshot => false, omit_expression => true}, {
                insta::assert_snapshot!(name, s);
            });
        }
    }

    /// Welcome, and on to the Ports screen (user, password, SSH port 22022), from the
    /// machine's profile; each frame in the snapshots of snapshots/profile-NAME-*.
    #[test]
    fn each_machines_welcome_and_ports_screens() {
        for m in MACHINES {
            let Some(t) = m.root() else { return };
            let sys = detect_with(t.path(), runner(m, t.path()));
            let app = App::new(sys, None, Theme::new(false, false), 42, NOW);
            let mut w = W {
                app,
                root: t.path().to_path_buf(),
            };
            let start = w.app.start();
            w.run_effects(start);
            w.snap(&format!("profile-{}-01-welcome", m.name()));
            // on to the SSH screen, whichever screens apply on this machine
            for _ in 0..8 {
                match w.app.current {
                    ScreenId::Ssh => break,
                    ScreenId::User => {
                        // SNG7's sshd_config (CentOS 7's cloud image) has password logins
                        // off, and the user has no key yet: they stay on
                        w.app.screens.user.no_password = false;
                        w.key(Key::Ctrl('u')).type_str("pbxadmin").key(Key::Enter);
                    }
                    ScreenId::Password => {
                        w.key(Key::Down).key(Key::Char(' ')).key(Key::Tab);
                        w.type_str(PW).key(Key::Tab).type_str(PW).key(Key::Enter);
                    }
                    _ => {
                        w.key(Key::Enter);
                    }
                }
            }
            let now = w.app.current;
            assert_eq!(now, ScreenId::Ssh, "{}\n{}", m.name(), w.screen());
            for _ in 0..5 {
                w.key(Key::Ctrl('u'));
            }
            w.type_str("22022").key(Key::Enter);
            while w.app.current != ScreenId::Ports {
                assert_ne!(
                    w.app.current,
                    ScreenId::Review,
                    "{}: no Ports screen",
                    m.name()
                );
                let before = w.app.current;
                w.key(Key::Enter);
                let now = w.app.current;
                assert_ne!(now, before, "{}: Enter refused:\n{}", m.name(), w.screen());
            }
            w.snap(&format!("profile-{}-16-ports", m.name()));
            let s = w.screen();
            assert!(!s.contains("has no record"), "{}: {s}", m.name());
            assert!(!s.contains(PW), "{s}");
        }
    }
}
