//! The wizard, screen by screen, at 80x24 in both looks (insta snapshots in snapshots/), and
//! flows driven by keys. Time, randomness and the system are fixed, so every frame is
//! deterministic. No secret appears in any snapshot.
#![cfg(feature = "tui")] // the wizard is the default cargo feature `tui`

mod common;

use std::sync::Mutex;

use common::*;
use pbx_harden::answers::Answers;
use pbx_harden::root::Root;
use pbx_harden::system::{Env, System};
use pbx_harden::tui::app::{App, Event};
use pbx_harden::tui::keys::Key;
use pbx_harden::tui::run::{Job, perform};
use pbx_harden::tui::screens::ScreenId;
use pbx_harden::tui::theme::Theme;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

const PW: &str = "Tundra mosaic 8! lantern quill";
const NOW: u64 = 1_800_000_000;

struct W {
    app: App,
    root: tempfile::TempDir,
    /// Every frame rendered, to check that no secret ever shows.
    frames: Vec<String>,
}

fn wizard(basic: bool, setup: impl FnOnce(&std::path::Path)) -> W {
    let root = demo_root();
    setup(root.path());
    let r = Root::open(root.path()).unwrap();
    // the real programs, or the demo's machine profile without root or sshd
    let sys = detect(&r);
    let app = App::new(sys, None, Theme::new(basic, false), 42, NOW);
    let mut w = W {
        app,
        root,
        frames: Vec::new(),
    };
    // what the event loop runs on the job thread after the first frame
    let start = w.app.start();
    w.run_effects(start);
    w
}

impl W {
    /// The Hosts screen lists each of `want` (host, comment, blocked); all it lists.
    fn assert_hosts(&self, want: &[(&str, &str, bool)], what: &str) -> Vec<(String, String, bool)> {
        let hosts: Vec<(String, String, bool)> = self
            .app
            .screens
            .hosts
            .entries
            .iter()
            .map(|e| (e.host.clone(), e.comment.clone(), e.blocked))
            .collect();
        for want in want {
            assert!(
                hosts
                    .iter()
                    .any(|(h, c, b)| h == want.0 && c == want.1 && *b == want.2),
                "{what}: {want:?} in {hosts:?}"
            );
        }
        hosts
    }

    fn run_effects(&mut self, effects: Vec<pbx_harden::tui::app::Effect>) {
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

    /// A key, then the pause a person leaves before looking (live checks settle).
    fn key(&mut self, k: Key) -> &mut Self {
        let effects = self.app.update(Event::Key(k));
        self.run_effects(effects);
        let effects = self.app.update(Event::Settle);
        self.run_effects(effects);
        self
    }

    /// Welcome, services, user "trixuser", a typed password: on to the SSH screen.
    fn walk_to_ssh_screen(&mut self) -> &mut Self {
        self.key(Key::Enter)
            .key(Key::Enter)
            .type_str("trixuser")
            .key(Key::Enter);
        self.keys(&[Key::Down, Key::Char(' '), Key::Tab])
            .type_str(PW)
            .key(Key::Tab)
            .type_str(PW)
            .key(Key::Enter);
        assert_eq!(self.app.current, ScreenId::Ssh);
        self
    }

    /// On the password screen: show the generated passphrase, hide it, tick "stored".
    fn store_generated(&mut self) -> &mut Self {
        assert_eq!(self.app.current, ScreenId::Password);
        self.keys(&[Key::Ctrl('t'), Key::Ctrl('t'), Key::Up, Key::Char(' ')])
    }

    /// A key without the pause (fast typing).
    fn quick(&mut self, k: Key) -> &mut Self {
        let effects = self.app.update(Event::Key(k));
        self.run_effects(effects);
        self
    }

    fn keys(&mut self, ks: &[Key]) -> &mut Self {
        for k in ks {
            self.key(*k);
        }
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
        let cur = match t.get_cursor_position() {
            Ok(p) if !t.hidden_cursor() => format!("cursor at column {}, row {}", p.x, p.y),
            _ => "cursor hidden".into(),
        };
        s.push_str(&cur);
        let s = s.replace(&self.root.path().display().to_string(), "<ROOT>");
        self.frames.push(s.clone());
        s
    }

    fn snap(&mut self, name: &str) {
        let s = self.screen();
        insta::with_settings!({snapshot_path => "../snapshots", prepend_module_to_snapshot => false, omit_expression => true}, {
            insta::assert_snapshot!(name, s);
        });
    }

    /// Plan again as the user running the test (`Env::fixed()` says root), as the wizard
    /// does for a normal user on a copy.
    fn as_this_user(&mut self) {
        self.app.ctx.sys.host.env.euid = nix::unistd::geteuid().as_raw();
        self.run_effects(vec![pbx_harden::tui::app::Effect::BuildPlan]);
    }

    fn no_secret_shown(&self) {
        let generated = self.app.screens.password.generated.expose().to_string();
        for f in &self.frames {
            assert!(!f.contains(PW), "the typed password was shown:\n{f}");
            assert!(
                generated.is_empty() || !f.contains(&generated),
                "the generated password was shown:\n{f}"
            );
        }
    }
}

trait HiddenCursor {
    fn hidden_cursor(&self) -> bool;
}

impl HiddenCursor for Terminal<TestBackend> {
    fn hidden_cursor(&self) -> bool {
        !self.backend().cursor_visible()
    }
}

/// Apply runs useradd, chpasswd and sshd for real: only as root with sshd (CI has both;
/// locally the rest of the test is skipped without, with this reason).
fn real_parts() -> bool {
    if real_programs() {
        return true;
    }
    eprintln!("apply needs root and sshd: the rest of this test is skipped (it runs in CI)");
    false
}

fn all_screens(basic: bool) {
    let m = if basic { "basic" } else { "full" };
    let mut w = wizard(basic, |_| {});
    w.snap(&format!("{m}-01-welcome"));
    w.key(Key::Enter);
    assert_eq!(w.app.current, ScreenId::Services);
    w.snap(&format!("{m}-02-services"));
    w.keys(&[Key::Down, Key::Char(' ')]);
    w.snap(&format!("{m}-03-services-toggled"));
    w.key(Key::Char(' ')).key(Key::Enter);
    assert_eq!(w.app.current, ScreenId::User);
    w.snap(&format!("{m}-04-user-empty"));
    w.type_str("Trix User");
    w.snap(&format!("{m}-05-user-bad-name"));
    w.key(Key::Enter);
    w.snap(&format!("{m}-06-user-refused-on-enter"));
    w.key(Key::Ctrl('u')).type_str("trixuser");
    w.snap(&format!("{m}-07-user-ok"));
    w.key(Key::Enter);
    w.snap(&format!("{m}-08-password-generated"));
    w.keys(&[Key::Down, Key::Char(' '), Key::Tab])
        .type_str("password1");
    w.snap(&format!("{m}-09-password-weak"));
    w.key(Key::Ctrl('u'))
        .type_str(PW)
        .key(Key::Tab)
        .type_str("Tundra mosaic");
    w.snap(&format!("{m}-10-password-mismatch"));
    w.key(Key::Ctrl('u')).type_str(PW);
    w.snap(&format!("{m}-11-password-ok"));
    w.key(Key::Enter);
    w.snap(&format!("{m}-12-ssh-suggested"));
    w.key(Key::Ctrl('u')).type_str("80");
    w.snap(&format!("{m}-13-ssh-port-in-use"));
    w.key(Key::Ctrl('u')).type_str("12000");
    w.snap(&format!("{m}-14-ssh-port-in-rtp"));
    w.key(Key::Ctrl('u')).type_str("22022").key(Key::Enter);
    assert_eq!(w.app.current, ScreenId::Extensions);
    w.snap(&format!("{m}-15-extensions"));
    w.key(Key::Enter);
    assert_eq!(w.app.current, ScreenId::Asterisk);
    w.snap(&format!("{m}-15b-asterisk"));
    w.key(Key::Enter);
    assert_eq!(w.app.current, ScreenId::Ports);
    w.snap(&format!("{m}-16-ports"));
    w.key(Key::Enter);
    assert_eq!(w.app.current, ScreenId::Hosts);
    // the entries of the trust files, with their comments (BFD's ban of the demo)
    w.snap(&format!("{m}-16b-hosts"));
    // Block a network that holds the admin's own address: refused where it is entered.
    w.key(Key::Tab).type_str("203.0.113.0/24");
    w.keys(&[Key::Tab, Key::Char(' '), Key::Tab])
        .type_str("office")
        .key(Key::Enter);
    w.snap(&format!("{m}-17-hosts-blocks-admin"));
    w.key(Key::Enter);
    assert_eq!(w.app.current, ScreenId::Hosts, "refused");
    assert!(w.app.screens.hosts.select("203.0.113.0/24"));
    w.key(Key::Delete).key(Key::Tab);
    w.type_str("198.51.100.0/24")
        .key(Key::Tab)
        .key(Key::Tab)
        .type_str("SIP scanner")
        .key(Key::Enter);
    w.snap(&format!("{m}-17b-hosts-added"));
    w.key(Key::Enter);
    assert_eq!(w.app.current, ScreenId::Protection);
    w.snap(&format!("{m}-18-protection"));
    w.app.screens.protection.email.set_text("not an address");
    w.key(Key::Enter);
    w.snap(&format!("{m}-19-protection-bad-email"));
    w.app
        .screens
        .protection
        .email
        .set_text("pbx-admin@example.com");
    w.key(Key::Enter);
    assert_eq!(w.app.current, ScreenId::Review);
    w.snap(&format!("{m}-20-review"));
    w.key(Key::PageDown);
    w.snap(&format!("{m}-21-review-page-2"));
    // SSH moves: confirm takes the old port out of APF's list before DEVEL_MODE and the restart.
    let review = review_text(&w);
    assert!(
        review.contains(
            "On confirm\n /etc/apf/conf.apf: 22 out of IG_TCP_CPORTS\n \
             /etc/apf/conf.apf: DEVEL_MODE=\"0\"\n /etc/apf/apf -r"
        ),
        "{review}"
    );
    if !real_programs() {
        // A normal user without sshd: the plan pbx-harden makes for a normal user on a copy
        // (the account files written directly: useradd --root needs root), from the demo's
        // profile, is applied; the Confirm and Done screens are the same.
        w.as_this_user();
    }
    w.key(Key::Enter);
    assert_eq!(
        w.app.current,
        ScreenId::Confirm,
        "{:?}",
        w.app.screens.apply.failed
    );
    // The countdown against a fixed clock: 4:59 left.
    let deadline = w.app.ctx.applied.as_ref().unwrap().deadline;
    w.app.update(Event::Tick {
        now: deadline - 299,
    });
    w.snap(&format!("{m}-22-confirm"));
    w.key(Key::Char('c'));
    w.snap(&format!("{m}-23-confirm-asking"));
    // While confirm runs on the job thread, the once-a-second look at the pending change
    // must not take its end for a confirm from elsewhere, and keys wait.
    w.app.screens.confirm.busy = Some('c');
    w.app.update(Event::Pending(None, Some("confirmed".into())));
    assert_eq!(w.app.current, ScreenId::Confirm);
    assert!(w.screen().contains("confirming..."), "{}", w.screen());
    w.app.screens.confirm.busy = None;
    w.key(Key::Char('y'));
    assert_eq!(w.app.current, ScreenId::Done);
    w.snap(&format!("{m}-24-done"));
    w.no_secret_shown();
    if basic {
        for f in &w.frames {
            assert!(f.is_ascii(), "the basic look is ASCII only:\n{f}");
        }
    }
}

#[test]
fn every_screen_full() {
    all_screens(false);
}

#[test]
fn every_screen_basic() {
    all_screens(true);
}

#[test]
fn error_states() {
    for basic in [false, true] {
        let m = if basic { "basic" } else { "full" };
        // A lockout check fails: password logins are off and the new user has no key.
        let mut w = wizard(basic, |root| {
            let p = root.join("etc/ssh/sshd_config");
            let t = std::fs::read_to_string(&p)
                .unwrap()
                .replace("PasswordAuthentication yes", "PasswordAuthentication no");
            std::fs::write(p, t).unwrap();
        });
        w.key(Key::Enter).key(Key::Enter).type_str("trixuser");
        // the user screen starts from sshd (password logins off) and refuses: no key
        w.key(Key::Enter);
        assert_eq!(w.app.current, ScreenId::User);
        w.snap(&format!("{m}-06b-user-no-key-refused"));
        let s = w.screen();
        assert!(
            s.contains("Password logins off: the user has no SSH key"),
            "{s}"
        );
        // The review's own lockout check (an answers file can get there): as if the user
        // screen had let it pass.
        w.app.screens.user.no_password = false;
        w.key(Key::Enter); // user
        w.app
            .ctx
            .answers
            .ssh
            .as_mut()
            .unwrap()
            .password_authentication = None;
        w.store_generated();
        for _ in 0..7 {
            if w.app.current == ScreenId::Review {
                break;
            }
            w.key(Key::Enter); // password, ssh, extensions, asterisk, ports, protection
        }
        assert_eq!(w.app.current, ScreenId::Review);
        w.snap(&format!("{m}-20-review-lockout-refused"));
        w.key(Key::Enter);
        assert_eq!(
            w.app.current,
            ScreenId::Review,
            "a refused plan is not applied"
        );
        w.snap(&format!("{m}-21-review-enter-refused"));

        // Apply failed (and was rolled back): what the admin sees.
        w.app.current = ScreenId::Apply;
        w.app.screens.apply.steps = vec![
            "backed up 21 path(s)".into(),
            "wrote /etc/ssh/sshd_config".into(),
        ];
        w.app.update(Event::Applied(Err(
            "useradd --root <ROOT> -m trixuser failed: exit 12: cannot create directory /home/trixuser\neverything was rolled back: rolled back 1795 (apply failed): 3 file(s) restored, 2 removed".into(),
        )));
        w.snap(&format!("{m}-22-apply-failed"));
        w.no_secret_shown();
    }
}

#[test]
fn the_wizard_writes_the_answers_headless_mode_reads() {
    let mut w = wizard(false, |_| {});
    w.walk_to_ssh_screen();
    w.key(Key::Ctrl('u')).type_str("22022").key(Key::Enter);
    w.key(Key::Enter)
        .key(Key::Enter)
        .key(Key::Enter)
        .key(Key::Enter)
        .key(Key::Enter); // extensions, asterisk, ports, hosts, protection
    assert_eq!(w.app.current, ScreenId::Review);
    let fixture = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/wizard-answers.toml"
    ))
    .unwrap();
    let want = Answers::parse(&fixture, "wizard-answers.toml").unwrap();
    assert_eq!(w.app.ctx.answers, want);

    // Its plan is headless `plan` on that file.
    let sys = &w.app.ctx.sys;
    let wizard_plan = w.app.ctx.plan.clone().unwrap();
    let headless = pbx_harden::plan::build(sys, &want, &mut rand::rng());
    assert_eq!(
        pbx_harden::plan::render(&wizard_plan, sys),
        pbx_harden::plan::render(&headless, sys)
    );
    // The CLI in the same situation (the admin's SSH connection, the same clock).
    let o = std::process::Command::new(bin())
        .args([
            "--root",
            w.root.path().to_str().unwrap(),
            "plan",
            "--answers",
        ])
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/wizard-answers.toml"
        ))
        .env("SSH_CONNECTION", Env::fixed().ssh_connection.unwrap())
        .env("SOURCE_DATE_EPOCH", Env::fixed().clock.unwrap().to_string())
        .env(profile_env().0, profile_env().1)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let cli = String::from_utf8_lossy(&o.stdout).to_string();
    for c in &wizard_plan.changes {
        assert!(
            cli.contains(&pbx_harden::plan::diff(c, &wizard_plan.root)),
            "{cli}"
        );
    }
}

#[test]
fn back_and_forward_keep_what_was_entered() {
    let mut w = wizard(false, |_| {});
    w.walk_to_ssh_screen();
    w.key(Key::Ctrl('u')).type_str("22022");
    w.key(Key::Esc).key(Key::Esc);
    assert_eq!(w.app.current, ScreenId::User);
    assert_eq!(w.app.screens.user.name.text(), "trixuser");
    w.key(Key::Enter).key(Key::Enter);
    assert_eq!(w.app.current, ScreenId::Ssh);
    assert_eq!(w.app.screens.ssh.port.text(), "22022");
    assert_eq!(w.app.screens.password.pw.text(), PW);
}

#[test]
fn prefilled_from_an_answers_file() {
    let root = demo_root();
    let r = Root::open(root.path()).unwrap();
    // the real programs, or the demo's machine profile without root or sshd
    let sys = detect(&r);
    let a = Answers::parse(
        &format!("[user]\nname = \"pbxadmin\"\npassword = \"{PW}\"\n[ssh]\nport = 23023\n"),
        "x",
    )
    .unwrap();
    let app = App::new(sys, Some(a), Theme::new(false, false), 1, NOW);
    assert_eq!(app.screens.user.name.text(), "pbxadmin");
    assert_eq!(app.screens.ssh.port.text(), "23023");
    assert_eq!(app.screens.password.pw.text(), PW);
}

#[test]
fn quitting_asks_first_and_changes_nothing() {
    let mut w = wizard(false, |_| {});
    let before = tree(w.root.path(), &[]);
    w.key(Key::Enter)
        .key(Key::Enter)
        .type_str("trixuser")
        .key(Key::Ctrl('c'));
    w.snap("full-30-quit-prompt");
    w.key(Key::Char('n'));
    assert!(!w.app.quit);
    w.key(Key::Ctrl('c')).key(Key::Char('y'));
    assert!(w.app.quit);
    assert_eq!(
        tree_diff(&before, &tree(w.root.path(), &[])),
        Vec::<String>::new()
    );
}

#[test]
fn live_checks_wait_for_a_pause_in_typing() {
    let mut w = wizard(false, |_| {});
    w.key(Key::Enter).key(Key::Enter);
    for c in "Trix".chars() {
        w.quick(Key::Char(c));
    }
    assert!(w.app.needs_settle());
    let fast = w.screen();
    assert!(
        fast.contains("Name: Trix"),
        "the echo is immediate:\n{fast}"
    );
    assert!(
        !fast.contains("not a valid login name"),
        "no check while typing:\n{fast}"
    );
    w.app.update(Event::Settle);
    assert!(!w.app.needs_settle());
    assert!(w.screen().contains("\"Trix\" is not a valid login name"));
}

/// On a modern sshd the SSH screen lists every baseline item and the old clients modern
/// crypto cuts off; both toggles reach the answers.
#[test]
fn the_ssh_screen_on_a_modern_sshd() {
    let mut w = wizard(false, |r| {
        std::fs::create_dir_all(r.join("var/lib/dpkg")).unwrap();
        std::fs::write(
            r.join("var/lib/dpkg/status"),
            "Package: openssh-server\nStatus: install ok installed\nVersion: 1:9.2p1-2+deb12u10\n",
        )
        .unwrap();
        // A 3072-bit RSA host key, as Debian makes it (only the public half is read).
        use base64::Engine;
        let field = |b: &[u8]| {
            let mut v = (b.len() as u32).to_be_bytes().to_vec();
            v.extend_from_slice(b);
            v
        };
        let mut n = vec![0u8, 0xC5];
        n.extend(std::iter::repeat_n(0x3b, 383));
        let mut blob = field(b"ssh-rsa");
        blob.extend(field(&[1, 0, 1]));
        blob.extend(field(&n));
        let line = format!(
            "ssh-rsa {} root@pbx1\n",
            base64::engine::general_purpose::STANDARD.encode(blob)
        );
        std::fs::write(r.join("etc/ssh/ssh_host_rsa_key.pub"), line).unwrap();
    });
    w.walk_to_ssh_screen();
    w.snap("full-12-ssh-modern-sshd");
    let s = w.screen();
    for item in [
        "MaxAuthTries 3",
        "PerSourceMaxStartups 3",
        "AllowTcpForwarding",
        "PuTTY < 0.68",
    ] {
        assert!(s.contains(item), "{item}:\n{s}");
    }
    assert!(
        s.contains("[ ] new 4096-bit RSA host key (ssh_host_rsa_key has 3072 bits)"),
        "{s}"
    );
    // Tab to the baseline toggle (port, root, allow, baseline), turn it off; modern stays
    // on; two more Tabs to the RSA key, turn it on.
    w.keys(&[Key::Tab, Key::Tab, Key::Tab, Key::Char(' ')]);
    w.keys(&[Key::Tab, Key::Tab, Key::Char(' ')]);
    w.key(Key::Enter);
    let ssh = w.app.ctx.answers.ssh.clone().unwrap();
    assert_eq!(ssh.baseline, Some(false));
    assert_eq!(ssh.modern_crypto, Some(true));
    assert_eq!(ssh.regenerate_rsa_host_key, Some(true));
}

#[test]
fn nothing_typed_is_cut_or_dropped_silently() {
    let mut w = wizard(false, |_| {});
    w.key(Key::Enter).key(Key::Enter);
    assert_eq!(w.app.current, ScreenId::User);
    let long = "a".repeat(40);
    w.type_str(&long);
    let s = w.screen();
    assert!(s.contains(&long), "the whole name stays in the field:\n{s}");
    w.key(Key::Enter);
    assert_eq!(
        w.app.current,
        ScreenId::User,
        "a 40-character name is refused"
    );
    w.key(Key::Ctrl('u')).type_str("trixuser").key(Key::Enter);
    w.keys(&[Key::Down, Key::Char(' '), Key::Tab])
        .type_str(PW)
        .key(Key::Tab)
        .type_str(PW)
        .key(Key::Enter);
    assert_eq!(w.app.current, ScreenId::Ssh);
    for typed in ["1234567", "-1", "22O22"] {
        w.key(Key::Ctrl('u')).type_str(typed);
        let s = w.screen();
        assert!(
            s.contains(&format!("Port \"{typed}\": give a number from 1 to 65535")),
            "{typed}:\n{s}"
        );
        w.key(Key::Enter);
        assert_eq!(w.app.current, ScreenId::Ssh, "{typed} is refused");
    }
    // a paste with a line break types the text and does not press Enter
    w.key(Key::Ctrl('u'))
        .type_str("22022")
        .key(Key::PastedBreak)
        .key(Key::Alt('x'));
    assert_eq!(w.app.current, ScreenId::Ssh);
    assert!(w.screen().contains("22022"));
}

#[test]
fn a_generated_passphrase_cannot_be_passed_unseen_or_unstored() {
    let mut w = wizard(false, |_| {});
    w.key(Key::Enter)
        .key(Key::Enter)
        .type_str("trixuser")
        .key(Key::Enter);
    assert_eq!(w.app.current, ScreenId::Password);
    w.key(Key::Enter);
    assert_eq!(w.app.current, ScreenId::Password, "never shown: refused");
    assert!(w.screen().contains("Show the passphrase (^T)"));
    w.key(Key::Ctrl('t')).key(Key::Ctrl('t')).key(Key::Enter);
    assert_eq!(
        w.app.current,
        ScreenId::Password,
        "shown, not ticked: refused"
    );
    assert!(w.screen().contains("I have stored it"));
    w.keys(&[Key::Up, Key::Char(' ')]);
    // another passphrase: seen and stored again
    w.key(Key::Ctrl('r')).key(Key::Enter);
    assert_eq!(
        w.app.current,
        ScreenId::Password,
        "a new one must be shown again"
    );
    w.key(Key::Ctrl('t'))
        .key(Key::Ctrl('t'))
        .key(Key::Char(' '))
        .key(Key::Enter);
    assert_eq!(w.app.current, ScreenId::Ssh);
    w.no_secret_shown();
}

#[test]
fn a_small_terminal_is_told_so() {
    let mut w = wizard(false, |_| {});
    let mut t = Terminal::new(TestBackend::new(60, 20)).unwrap();
    t.draw(|f| w.app.view(f)).unwrap();
    let buf = t.backend().buffer().clone();
    let text: String = (0..20u16)
        .map(|y| (0..60u16).map(|x| buf[(x, y)].symbol()).collect::<String>() + "\n")
        .collect();
    assert!(text.contains("Terminal too small (60x20)"), "{text}");
    // at 80x24 there is no such notice
    assert!(!w.screen().contains("Terminal too small"));
}

/// The review's lines, for flow tests.
fn review_text(w: &W) -> String {
    w.app
        .screens
        .review
        .lines
        .iter()
        .map(|(l, _)| l.as_str())
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn a_second_run_on_a_hardened_box_changes_nothing() {
    if !real_parts() {
        return;
    }
    for prefill in [false, true] {
        second_run(prefill);
    }
}

const ED_KEY: &str =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGJ0aGVyZS1pcy1ub3QtYS1yZWFsLWtleS1oZXJl admin@laptop";

/// The example answers, with a key and password logins off, one suggested service kept on
/// (netfs) and the Asterisk settings: what the first run applies.
fn hardened_answers() -> String {
    let a = pbx_harden::demo::EXAMPLE_ANSWERS
        .replace("\"netfs\", ", "")
        .replace(
            "groups = [\"wheel\"]",
            &format!("authorized_keys = [\"{ED_KEY}\"]\ngroups = [\"wheel\"]"),
        )
        .replace(
            "permit_root_login = false\n",
            "permit_root_login = false\npassword_authentication = false\n",
        );
    assert!(a.contains("password_authentication") && a.contains("authorized_keys"));
    format!("{a}\n[asterisk]\nami_localhost = true\nsip_guests = false\n")
}

fn second_run(prefill: bool) {
    // Harden the demo with the example answers, headless, and confirm.
    // (from the same SSH session the wizard then runs in: Env::fixed)
    let mut w = wizard(false, |root| harden_headless(root, &hardened_answers()));
    if prefill {
        // the same answers file pre-fills every screen (--answers)
        let r = Root::open(w.root.path()).unwrap();
        let sys = System::detect(&r, &Env::fixed()).unwrap();
        let a = Answers::parse(&hardened_answers(), "answers.toml").unwrap();
        w.app = App::new(sys, Some(a), Theme::new(false, false), 42, NOW);
        let start = w.app.start();
        w.run_effects(start);
    }
    // The user screen starts from the key that is there and password logins off.
    let u = &w.app.screens.user;
    assert_eq!(u.valid_keys().len(), 1, "prefilled: {prefill}");
    assert!(u.no_password, "prefilled: {prefill}");
    // The hosts screen from the trust files, with their comments.
    w.assert_hosts(
        &[
            ("pbx2.example.com", "IAX trunk to the branch office", false),
            ("198.51.100.0/24", "SIP scanner", true),
            ("203.0.113.77", "{bfd.sshd}", true),
        ],
        &format!("prefilled: {prefill}"),
    );
    // Enter on every screen (Welcome .. Protection) reaches a review with no change.
    for _ in 0..14 {
        if w.app.current == ScreenId::Review {
            break;
        }
        let before = w.app.current;
        w.key(Key::Enter);
        if w.app.current == before {
            panic!("Enter refused on {before:?}:\n{}", w.screen());
        }
    }
    assert_eq!(w.app.current, ScreenId::Review);
    let review = review_text(&w);
    assert!(
        review.contains("No changes: the system already matches these answers."),
        "prefilled: {prefill}\n{review}"
    );
    // netfs, kept on in the first run, is not offered for turning off again
    assert!(
        w.app
            .screens
            .services
            .items
            .iter()
            .any(|i| i.name.starts_with("netfs") && !i.disable),
        "{:?}",
        w.app.screens.services.items
    );
    // the saved answers keep the hosts' comments and the key (prefilled from the file)
    if prefill {
        let saved = w.app.ctx.answers.to_toml_without_secrets().unwrap();
        assert!(saved.contains("IAX trunk to the branch office"), "{saved}");
        assert!(saved.contains("SIP scanner"), "{saved}");
        assert!(saved.contains("admin@laptop"), "{saved}");
    }
}

#[test]
fn ctrl_u_clears_the_error_with_the_field() {
    let mut w = wizard(false, |_| {});
    w.walk_to_ssh_screen();
    w.key(Key::Ctrl('u')).type_str("22022").key(Key::Enter);
    while w.app.current != ScreenId::Ports {
        w.key(Key::Enter);
    }
    w.key(Key::Enter);
    assert_eq!(w.app.current, ScreenId::Hosts);
    // the host field: an invalid entry is refused
    w.app.screens.hosts.focus_host();
    w.type_str("not_a_host!");
    w.key(Key::Enter);
    let s = w.screen();
    assert!(s.contains("Host: "), "{s}");
    w.key(Key::Enter);
    assert_eq!(w.app.current, ScreenId::Hosts, "an invalid host is refused");
    // Ctrl-U clears it, and with it the error: Enter goes on
    w.quick(Key::Ctrl('u'));
    w.quick(Key::Enter);
    let at = w.app.current;
    assert_ne!(at, ScreenId::Hosts, "{}", w.screen());
    // trusted, then the same host blocked: one entry, moved (never both)
    w.key(Key::Esc);
    assert_eq!(w.app.current, ScreenId::Hosts);
    w.app.screens.hosts.focus_host();
    w.type_str("192.0.2.99").key(Key::Enter);
    w.app.screens.hosts.focus_host();
    w.type_str("192.0.2.99")
        .keys(&[Key::Tab, Key::Char(' ')])
        .key(Key::Enter);
    let e: Vec<_> = w
        .app
        .screens
        .hosts
        .entries
        .iter()
        .filter(|e| e.host == "192.0.2.99")
        .collect();
    assert!(e.len() == 1 && e[0].blocked, "{e:?}");
}

#[test]
fn f1_shows_the_help_of_the_focused_field_and_any_key_closes_it() {
    let mut w = wizard(false, |_| {});
    w.key(Key::Enter).key(Key::Enter);
    assert_eq!(w.app.current, ScreenId::User);
    w.key(Key::F(1));
    w.snap("full-40-help-user-name");
    let s = w.screen();
    assert!(s.contains("Name: lowercase letters"), "{s}");
    assert!(s.contains("any key closes the help"), "{s}");
    w.key(Key::Char('x'));
    let s = w.screen();
    assert!(
        !s.contains("Name: lowercase letters") && s.contains("F1 help"),
        "{s}"
    );
    assert!(!s.contains("x\n"), "the closing key types nothing");
}

/// The user screen's key field focused, on a fresh demo.
fn at_the_key_field(w: &mut W) {
    w.key(Key::Enter).key(Key::Enter).type_str("pbxadmin");
    assert_eq!(w.app.current, ScreenId::User);
    w.app.screens.user.focus_key_field(&w.app.ctx);
}

/// A bracketed paste: characters, and a line break as `PastedBreak`.
fn paste(w: &mut W, text: &str) {
    for c in text.chars() {
        w.quick(if c == '\n' {
            Key::PastedBreak
        } else {
            Key::Char(c)
        });
    }
    let effects = w.app.update(Event::Settle);
    w.run_effects(effects);
}

const PRIVATE: &str = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\nQyNTUxOQAAACBiY2RlZmdoaWprbG1ub3BxcnN0dXZ3eHl6MDEyMzQ1Njc4OQAAAJg=\n-----END OPENSSH PRIVATE KEY-----\n";

#[test]
fn ssh_keys_are_pasted_checked_and_refused_in_words() {
    let mut w = wizard(false, |_| {});
    at_the_key_field(&mut w);
    // one paste: a good key, a broken one, a private key, a line with options
    paste(
        &mut w,
        &format!("{ED_KEY}\nssh-ed25519 notbase64!! x\n{PRIVATE}from=\"192.0.2.1\" {ED_KEY}\n"),
    );
    w.snap("full-07b-user-keys-pasted");
    let s = w.screen();
    assert!(s.contains("ssh-ed25519 admin@laptop SHA256:"), "{s}");
    assert!(s.contains("admin@laptop"), "{s}");
    assert!(
        s.contains("key 2: the ssh-ed25519 key is not valid base64"),
        "{s}"
    );
    assert!(s.contains("key 3: a private key: not kept"), "{s}");
    assert!(s.contains("key 4: options (from=, command=)"), "{s}");
    // Enter is refused, naming the key
    w.key(Key::Enter);
    assert_eq!(w.app.current, ScreenId::User);
    let s = w.screen();
    assert!(
        s.contains("SSH key 2: the ssh-ed25519 key is not valid"),
        "{s}"
    );
    // nothing of the private key is kept or shown, in any frame
    for f in &w.frames {
        assert!(
            !f.contains("b3BlbnNzaC1rZXkt") && !f.contains("QyNTUxOQAAACBi"),
            "{f}"
        );
    }
    assert!(
        !format!("{:?}", w.app.screens.user.keys).contains("b3BlbnNzaC1rZXkt"),
        "the private key is not kept"
    );
    // Del takes the bad ones out of the list (Tab back to the list: its last line)
    for _ in 0..3 {
        w.key(Key::BackTab);
        w.key(Key::Delete);
        w.app.screens.user.focus_key_field(&w.app.ctx);
    }
    assert_eq!(
        w.app.screens.user.keys.len(),
        1,
        "{:?}",
        w.app.screens.user.keys
    );
    // a key left typed in the field is not dropped: Enter elsewhere is refused
    w.type_str("ssh-ed25519 AAAA");
    w.key(Key::Tab);
    w.key(Key::Enter);
    assert_eq!(w.app.current, ScreenId::User);
    assert!(
        w.screen()
            .contains("SSH key: Enter in the key field adds it")
    );
    w.app.screens.user.focus_key_field(&w.app.ctx);
    w.key(Key::Ctrl('u'));
    // a 1024-bit RSA key, pasted with a typed Enter
    w.type_str("ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAAAgQDFxcXFxcXFxcXFxcXFxcXFxcXFxcXFxcXFxcXFxcXFxcXFxcXFxcXFxcXFxcXFxcXFxcXFxcXFxcXFxcXFxcXFxcXFxcXFxcXFxcXFxcXFxcXFxcXFxcXFxcXFxcXFxcXFxcXFxcXFxcXFxcXFxcXFxcXFxcXFxcXFxcXFxcXFxcXF old")
        .key(Key::Enter);
    assert!(
        w.screen()
            .contains("the ssh-rsa key has 1024 bits: 2048 at least")
    );
    w.key(Key::BackTab).key(Key::Delete);
    // the same key twice is said, not added
    w.app.screens.user.focus_key_field(&w.app.ctx);
    paste(&mut w, &format!("{ED_KEY}\n"));
    assert!(w.screen().contains("is in the list already"));
    assert_eq!(w.app.screens.user.valid_keys().len(), 1);
    // password logins off: allowed with the key
    w.key(Key::BackTab); // from the key field: up to the list
    w.key(Key::Tab).key(Key::Tab); // the key field, then password logins
    w.key(Key::Char(' '));
    assert!(w.app.screens.user.no_password, "{}", w.screen());
    w.snap("full-07c-user-key-password-off");
    w.key(Key::Enter);
    let at = w.app.current;
    assert_eq!(at, ScreenId::Password, "{}", w.screen());
    let u = w.app.ctx.answers.user.clone().unwrap();
    assert_eq!(u.authorized_keys, vec![ED_KEY.to_string()]);
    assert_eq!(
        w.app
            .ctx
            .answers
            .ssh
            .as_ref()
            .unwrap()
            .password_authentication,
        Some(false)
    );
    // back, the key out: password logins off is refused on this screen
    w.key(Key::Esc);
    w.key(Key::Up).key(Key::Up); // no_password -> key field -> list
    w.key(Key::Delete);
    w.key(Key::Enter);
    assert_eq!(w.app.current, ScreenId::User);
    assert!(
        w.screen()
            .contains("Password logins off: the user has no SSH key")
    );
    w.no_secret_shown();
}

#[test]
fn the_key_of_this_login_is_offered_when_it_can_be_known() {
    // sshd's log names the key; root's authorized_keys has it (with options)
    let mut w = wizard(false, |root| {
        std::fs::create_dir_all(root.join("var/log")).unwrap();
        std::fs::create_dir_all(root.join("root/.ssh")).unwrap();
        std::fs::write(
            root.join("root/.ssh/authorized_keys"),
            format!("from=\"203.0.113.0/24\",no-pty {ED_KEY}\n"),
        )
        .unwrap();
        let k = pbx_harden::steps::user::keys::check(ED_KEY).unwrap();
        let fp = pbx_harden::steps::user::keys::fingerprint(&k);
        std::fs::write(
            root.join("var/log/secure"),
            format!(
                "Dec  2 04:00:01 pbx1 sshd[99]: Accepted password for root from 203.0.113.10 port 40000 ssh2\n\
                 Dec  2 04:10:01 pbx1 sshd[100]: Accepted publickey for root from 203.0.113.10 port 50022 ssh2: ED25519 {fp}\n"
            ),
        )
        .unwrap();
    });
    w.key(Key::Enter).key(Key::Enter).type_str("pbxadmin");
    w.snap("full-07d-user-login-key");
    let s = w.screen();
    assert!(
        s.contains("[ ] the key of this login: ssh-ed25519 admin@laptop"),
        "{s}"
    );
    // Tab to it (name, group, key field, this), Space adds it
    w.keys(&[Key::Tab, Key::Tab, Key::Tab, Key::Char(' ')]);
    assert_eq!(w.app.screens.user.valid_keys().len(), 1, "{}", w.screen());
    assert!(w.screen().contains("[x] the key of this login"));

    // a password login: said briefly
    let mut w = wizard(false, |root| {
        std::fs::create_dir_all(root.join("var/log")).unwrap();
        std::fs::write(
            root.join("var/log/secure"),
            "Dec  2 04:10:01 pbx1 sshd[100]: Accepted password for root from 203.0.113.10 port 50022 ssh2\n",
        )
        .unwrap();
    });
    w.key(Key::Enter).key(Key::Enter);
    assert!(
        w.screen()
            .contains("Key of this login unknown: this session did not log in with a key")
    );

    // ExposeAuthInfo: the SSH_USER_AUTH file names it
    let dir = tempfile::tempdir().unwrap();
    let auth = dir.path().join("sshauth");
    std::fs::write(&auth, format!("publickey {ED_KEY}\n")).unwrap();
    let root = demo_root();
    let r = Root::open(root.path()).unwrap();
    let env = Env {
        ssh_user_auth: Some(auth.display().to_string()),
        ..Env::fixed()
    };
    let sys = System::detect(&r, &env).unwrap();
    let k = pbx_harden::steps::user::keys::login_key(&sys).unwrap();
    assert_eq!(k.line, ED_KEY);
    // not over SSH: nothing to say
    let env = Env {
        ssh_connection: None,
        ..Env::fixed()
    };
    let sys = System::detect(&r, &env).unwrap();
    assert_eq!(pbx_harden::steps::user::keys::login_key(&sys), Err(None));
}

#[test]
fn trust_entries_are_edited_and_removed_with_their_comments() {
    // BFD's bans fill deny_hosts.rules: the list scrolls, nothing is cut
    let mut w = wizard(false, |root| {
        let p = root.join("etc/apf/deny_hosts.rules");
        let mut t = std::fs::read_to_string(&p).unwrap();
        for i in 1..=40 {
            t.push_str(&format!(
                "# added 198.18.0.{i} on 02/11/09 03:12:40 with comment: {{bfd.asterisk}}       \n198.18.0.{i}\n"
            ));
        }
        std::fs::write(p, t).unwrap();
    });
    w.walk_to_ssh_screen();
    w.key(Key::Ctrl('u')).type_str("22022").key(Key::Enter);
    while w.app.current != ScreenId::Hosts {
        w.key(Key::Enter);
    }
    assert_eq!(w.app.screens.hosts.entries.len(), 41);
    w.snap("full-17c-hosts-many");
    assert!(
        w.screen()
            .contains("of 41; Up/Down/PgUp/PgDn/Home/End scroll)")
    );
    w.key(Key::End);
    let s = w.screen();
    assert!(s.contains("198.18.0.40") && s.contains("of 41"), "{s}");
    // edit the comment of BFD's first ban, take the last one out
    assert!(w.app.screens.hosts.select("203.0.113.77"));
    w.key(Key::Char('e'));
    w.key(Key::Ctrl('u')).type_str("scanner, static");
    w.snap("full-17d-hosts-editing");
    w.key(Key::Enter);
    assert!(w.app.screens.hosts.select("198.18.0.40"));
    w.key(Key::Delete);
    let s = w.screen();
    assert!(s.contains("198.18.0.40 taken out"), "{s}");
    // taken out and given back (blocked, no comment): it is the file's entry again
    assert!(w.app.screens.hosts.select("198.18.0.39"));
    w.key(Key::Delete);
    w.app.screens.hosts.focus_host();
    w.type_str("198.18.0.39").key(Key::Tab).key(Key::Char(' '));
    w.key(Key::Enter);
    let e = w
        .app
        .screens
        .hosts
        .entries
        .iter()
        .find(|e| e.host == "198.18.0.39");
    assert!(
        e.is_some_and(|e| e.blocked && e.comment == "{bfd.asterisk}" && e.file.is_some()),
        "{e:?}"
    );
    assert!(s.contains("scanner, static (edited)"), "{s}");
    w.key(Key::Enter);
    assert_eq!(w.app.current, ScreenId::Protection);
    let fw = w.app.ctx.answers.firewall.clone().unwrap();
    assert_eq!(fw.remove, vec!["198.18.0.40".to_string()]);
    assert_eq!(fw.blocked.len(), 1, "only what changed: {:?}", fw.blocked);
    assert_eq!(fw.blocked[0].comment.as_deref(), Some("scanner, static"));
    while w.app.current != ScreenId::Review {
        w.key(Key::Enter);
    }
    // the review: the comment line edited in place, the entry and its comment gone
    let review = review_text(&w);
    assert!(
        review.contains("+# added 203.0.113.77 on 02/11/09 03:12:40 with comment: scanner, static"),
        "{review}"
    );
    assert!(review.contains("-198.18.0.40"), "{review}");
    assert!(!review.contains("-198.18.0.39"), "{review}");
    // the saved answers keep the comment
    let saved = w.app.ctx.answers.to_toml_without_secrets().unwrap();
    assert!(saved.contains("scanner, static"), "{saved}");
    w.no_secret_shown();
}

#[test]
fn the_hosts_screen_refuses_in_its_own_words() {
    let mut w = wizard(false, |_| {});
    // straight to the hosts screen (the screens before it are tested above)
    w.app.current = ScreenId::Hosts;
    let effects = w.app.screens.enter(ScreenId::Hosts, &mut w.app.ctx);
    w.run_effects(effects);
    w.app.screens.hosts.focus_host();
    // a host typed but not added: Enter adds it; Tab away and Enter is refused
    w.type_str("192.0.2.50").key(Key::Tab);
    w.key(Key::Tab).key(Key::Tab); // kind, comment, (list)
    w.app.screens.hosts.focus_host();
    w.key(Key::Ctrl('u'));
    // a comment without a host
    w.key(Key::Tab).key(Key::Tab).type_str("lonely");
    w.key(Key::Enter);
    assert_eq!(w.app.current, ScreenId::Hosts);
    assert!(
        w.screen()
            .contains("Comment: give the host it belongs to, or clear it with ^U"),
        "{}",
        w.screen()
    );
    w.key(Key::Ctrl('u'));
    // an invalid host stays in the field, said
    w.app.screens.hosts.focus_host();
    w.type_str("not_a_host! 192.0.2.51").key(Key::Enter);
    let s = w.screen();
    assert!(s.contains("Host: "), "{s}");
    assert_eq!(w.app.screens.hosts.host.text(), "not_a_host!");
    assert!(
        w.app
            .screens
            .hosts
            .entries
            .iter()
            .any(|e| e.host == "192.0.2.51")
    );
    // from the list (kind, comment, list), Enter means "next": refused
    w.key(Key::Tab).key(Key::Tab).key(Key::Tab).key(Key::Enter);
    assert_eq!(w.app.current, ScreenId::Hosts);
    assert!(
        w.screen()
            .contains("Host: Enter adds the entry (^U clears the field)")
    );
    // a comment of more than 200 characters
    w.app.screens.hosts.focus_host();
    w.key(Key::Ctrl('u')).type_str("192.0.2.52");
    w.key(Key::Tab).key(Key::Tab).type_str(&"x".repeat(201));
    w.key(Key::Enter);
    assert!(
        w.screen()
            .contains("Comment: a comment is limited to 200 characters"),
        "{}",
        w.screen()
    );
    assert!(
        !w.app
            .screens
            .hosts
            .entries
            .iter()
            .any(|e| e.host == "192.0.2.52")
    );
    // text typed on trusted/blocked does not vanish unsaid, and its space is a switch
    w.key(Key::Ctrl('u'));
    w.app.screens.hosts.focus_host();
    w.key(Key::Ctrl('u')).type_str("192.0.2.53").key(Key::Tab);
    w.type_str("o");
    assert!(
        w.screen()
            .contains("trusted/blocked: Space switches (t, b); Tab goes on to the comment"),
        "{}",
        w.screen()
    );
    w.type_str("b");
    assert!(
        w.screen().contains("( ) trusted (*) blocked"),
        "{}",
        w.screen()
    );
    w.type_str("t");
    assert!(
        w.screen().contains("(*) trusted ( ) blocked"),
        "{}",
        w.screen()
    );
    // a key already in authorized_keys stays (said), on the user screen
    let mut w = wizard(false, |root| {
        std::fs::create_dir_all(root.join("root/.ssh")).unwrap();
        std::fs::write(
            root.join("root/.ssh/authorized_keys"),
            format!("{ED_KEY}\n"),
        )
        .unwrap();
    });
    w.key(Key::Enter).key(Key::Enter).type_str("root");
    w.key(Key::Tab); // the list of root's keys is loaded when the name is settled
    assert!(
        w.screen().contains("admin@laptop (there now)"),
        "{}",
        w.screen()
    );
    w.app.screens.user.focus_key_field(&w.app.ctx);
    w.key(Key::BackTab).key(Key::Delete);
    assert!(
        w.screen()
            .contains("a key already in authorized_keys stays")
    );
    assert_eq!(w.app.screens.user.valid_keys().len(), 1);
}

#[test]
fn the_quit_prompt_tells_the_truth_during_and_after_apply() {
    let mut w = wizard(false, |_| {});
    w.key(Key::Ctrl('c'));
    assert!(
        w.screen().contains("Nothing has been changed"),
        "{}",
        w.screen()
    );
    w.key(Key::Char('n'));
    // apply half-way (the job thread has not answered yet)
    w.app.current = ScreenId::Apply;
    w.app.screens.apply.running = true;
    w.key(Key::Ctrl('c'));
    let s = w.screen();
    assert!(
        s.contains("Apply is running: leaving stops it half-way; the timer undoes it."),
        "{s}"
    );
    assert!(!s.contains("Nothing has been changed"), "{s}");
    w.key(Key::Char('n'));
    // a failed apply, rolled back
    w.app.screens.apply.running = false;
    w.app.screens.apply.failed = Some("sshd -t refused the configuration".into());
    w.key(Key::Ctrl('c'));
    let s = w.screen();
    assert!(s.contains("The failed apply was rolled back."), "{s}");
    assert!(!s.contains("Nothing has been changed"), "{s}");
}

#[test]
fn the_asterisk_screen_waits_for_its_findings_from_the_job_thread() {
    // Before the doors' audit is in, the screen says it is checking and Enter waits; the
    // findings never come from a field access on the UI thread.
    let root = demo_root();
    let r = Root::open(root.path()).unwrap();
    let sys = detect(&r);
    let mut w = W {
        app: App::new(sys, None, Theme::new(false, false), 42, NOW),
        root,
        frames: Vec::new(),
    };
    assert!(!w.app.screens.asterisk.is_ready());
    w.app.current = ScreenId::Asterisk;
    assert!(
        w.screen().contains("Checking what Asterisk leaves open..."),
        "{}",
        w.screen()
    );
    w.app.update(Event::Key(Key::Enter));
    assert_eq!(w.app.current, ScreenId::Asterisk);
    let start = w.app.start();
    w.run_effects(start);
    assert!(w.app.screens.asterisk.is_ready());
    assert!(
        w.screen()
            .contains("manager interface (AMI) on 127.0.0.1 only"),
        "{}",
        w.screen()
    );
}

/// A file under the root (parents made).
fn put(root: &std::path::Path, path: &str, body: &str) {
    let p = root.join(path.trim_start_matches('/'));
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, body).unwrap();
}

fn link(root: &std::path::Path, path: &str, target: &str) {
    let p = root.join(path.trim_start_matches('/'));
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::os::unix::fs::symlink(target, p).unwrap();
}

/// The demo without APF and BFD, laid out as tests/firewall_detect.rs lays out the
/// distributions: Debian 12's nftables (enabled, or installed only), or Rocky 9's firewalld.
fn without_apf(root: &std::path::Path, fw: &str) {
    std::fs::remove_dir_all(root.join("etc/apf")).unwrap();
    std::fs::remove_dir_all(root.join("usr/local/bfd")).unwrap();
    std::fs::remove_file(root.join("etc/cron.d/bfd")).unwrap();
    match fw {
        "nftables" | "nftables-offered" => {
            put(
                root,
                "/etc/nftables.conf",
                "#!/usr/sbin/nft -f\n\nflush ruleset\n",
            );
            put(
                root,
                "/lib/systemd/system/nftables.service",
                "[Service]\nExecStart=/usr/sbin/nft -f /etc/nftables.conf\n[Install]\nWantedBy=sysinit.target\n",
            );
            put(root, "/usr/sbin/nft", "");
            if fw == "nftables" {
                link(
                    root,
                    "/etc/systemd/system/sysinit.target.wants/nftables.service",
                    "/lib/systemd/system/nftables.service",
                );
            }
        }
        "firewalld" => {
            put(
                root,
                "/usr/lib/systemd/system/firewalld.service",
                "[Service]\nExecStart=/usr/sbin/firewalld --nofork --nopid\n[Install]\nWantedBy=multi-user.target\n",
            );
            put(
                root,
                "/etc/firewalld/firewalld.conf",
                "DefaultZone=public\nFirewallBackend=nftables\n",
            );
            put(
                root,
                "/etc/firewalld/zones/public.xml",
                "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<zone>\n  <short>Public</short>\n  <service name=\"ssh\"/>\n</zone>\n",
            );
            // firewalld's stock zones the trusted and blocked hosts go to
            put(
                root,
                "/usr/lib/firewalld/zones/trusted.xml",
                "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<zone target=\"ACCEPT\">\n  <short>Trusted</short>\n</zone>\n",
            );
            put(
                root,
                "/usr/lib/firewalld/zones/drop.xml",
                "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<zone target=\"DROP\">\n  <short>Drop</short>\n</zone>\n",
            );
            link(
                root,
                "/etc/systemd/system/multi-user.target.wants/firewalld.service",
                "/usr/lib/systemd/system/firewalld.service",
            );
        }
        "ufw" => {
            // as Ubuntu 24.04 leaves it: enabled, the rules ufw wrote (SSH on 22)
            let head = |v6: bool| {
                let p = if v6 { "ufw6" } else { "ufw" };
                format!(
                    "*filter\n:{p}-user-input - [0:0]\n:{p}-user-output - [0:0]\n:{p}-user-forward - [0:0]\n\n### RULES ###\n\n### tuple ### allow tcp 22 {any} any {any} in\n-A {p}-user-input -p tcp --dport 22 -j ACCEPT\n\n### END RULES ###\nCOMMIT\n",
                    any = if v6 { "::/0" } else { "0.0.0.0/0" }
                )
            };
            put(root, "/etc/ufw/ufw.conf", "ENABLED=yes\nLOGLEVEL=low\n");
            put(root, "/etc/ufw/user.rules", &head(false));
            put(root, "/etc/ufw/user6.rules", &head(true));
            put(
                root,
                "/etc/default/ufw",
                "IPV6=yes\nDEFAULT_INPUT_POLICY=\"DROP\"\nDEFAULT_OUTPUT_POLICY=\"ACCEPT\"\nDEFAULT_FORWARD_POLICY=\"DROP\"\nDEFAULT_APPLICATION_POLICY=\"SKIP\"\nMANAGE_BUILTINS=no\n",
            );
            put(
                root,
                "/usr/lib/systemd/system/ufw.service",
                "[Service]\nExecStart=/lib/ufw/ufw-init start quiet\n[Install]\nWantedBy=multi-user.target\n",
            );
            link(
                root,
                "/etc/systemd/system/multi-user.target.wants/ufw.service",
                "/usr/lib/systemd/system/ufw.service",
            );
        }
        "freepbx" => put(
            root,
            "/var/www/html/admin/modules/firewall/module.xml",
            "<module>\n\t<rawname>firewall</rawname>\n\t<version>17.0.1.44</version>\n</module>\n",
        ),
        other => panic!("no such layout {other}"),
    }
}

/// The firewall screens speak the backend in charge: its name and what it writes on the
/// Ports screen, the hosts (same answers) where it writes rules, no APF/BFD items, FreePBX's
/// module as advice; the Review shows the nft file or the zone file.
fn firewall_screens(basic: bool, fw: &str) {
    let m = if basic { "basic" } else { "full" };
    let mut w = wizard(basic, |r| without_apf(r, fw));
    w.walk_to_ssh_screen();
    w.key(Key::Ctrl('u')).type_str("22022").key(Key::Enter);
    while w.app.current != ScreenId::Ports {
        assert_ne!(w.app.current, ScreenId::Review, "no Ports screen with {fw}");
        w.key(Key::Enter);
    }
    w.snap(&format!("{m}-fw-{fw}-16-ports"));
    let s = w.screen();
    if fw == "freepbx" {
        assert!(s.contains("FreePBX's Firewall module is in charge"), "{s}");
        assert!(s.contains("SSH on port 22022/tcp"), "{s}");
    } else {
        assert!(
            s.contains(&format!("{}:", &fw[..fw.find('-').unwrap_or(fw.len())])),
            "{s}"
        );
    }
    w.key(Key::Enter);
    assert_eq!(w.app.current, ScreenId::Hosts);
    // a trusted host, as on APF
    w.type_str("198.51.100.9")
        .key(Key::Tab)
        .key(Key::Tab)
        .type_str("office")
        .key(Key::Enter);
    w.snap(&format!("{m}-fw-{fw}-17-hosts"));
    w.key(Key::Enter);
    // nothing of APF's or BFD's is offered
    while w.app.current != ScreenId::Review {
        let s = w.screen();
        assert!(!s.contains("APF") && !s.contains("BFD"), "{s}");
        w.key(Key::Enter);
    }
    let review = review_text(&w);
    let written = match fw {
        "nftables" | "nftables-offered" => Some("/etc/nftables.d/pbx-harden.nft"),
        "firewalld" => Some("/etc/firewalld/zones/public.xml"),
        "ufw" => Some("/etc/ufw/user.rules"),
        _ => None,
    };
    if let Some(path) = written {
        assert!(review.contains(path), "{review}");
        assert!(review.contains("198.51.100.9"), "{review}");
        assert!(!review.contains("allow_hosts.rules"), "{review}");
    } else {
        assert!(review.contains("FreePBX"), "{review}");
        assert!(
            review.contains("198.51.100.9, 203.0.113.10 as Trusted"),
            "{review}"
        );
    }
    if fw == "nftables-offered" {
        let saved = w.app.ctx.answers.to_toml_without_secrets().unwrap();
        assert!(saved.contains("backend = \"nftables\""), "{saved}");
    }
    w.no_secret_shown();
}

#[test]
fn firewall_screens_nftables() {
    firewall_screens(false, "nftables");
    firewall_screens(true, "nftables");
}

#[test]
fn firewall_screens_nftables_offered() {
    firewall_screens(false, "nftables-offered");
    firewall_screens(true, "nftables-offered");
}

#[test]
fn firewall_screens_firewalld() {
    firewall_screens(false, "firewalld");
    firewall_screens(true, "firewalld");
}

#[test]
fn firewall_screens_ufw() {
    firewall_screens(false, "ufw");
    firewall_screens(true, "ufw");
}

#[test]
fn firewall_screens_freepbx() {
    firewall_screens(false, "freepbx");
    firewall_screens(true, "freepbx");
}

#[test]
fn the_services_screen_waits_for_systemctl_on_the_job_thread() {
    // Entering the screen before the inventory is in asks for it as an effect (the job
    // thread runs it); the view says it is checking, never runs systemctl itself.
    let root = demo_root();
    let r = Root::open(root.path()).unwrap();
    let sys = detect(&r);
    let mut w = W {
        app: App::new(sys, None, Theme::new(false, false), 42, NOW),
        root,
        frames: Vec::new(),
    };
    assert!(!w.app.ctx.sys.services.is_ready());
    w.app.current = ScreenId::Services;
    let effects = w.app.screens.enter(ScreenId::Services, &mut w.app.ctx);
    assert!(!w.app.ctx.sys.services.is_ready(), "entering ran systemctl");
    assert!(
        w.screen()
            .contains("Checking which services start at boot..."),
        "{}",
        w.screen()
    );
    assert!(!effects.is_empty());
    w.run_effects(effects);
    assert!(w.app.ctx.sys.services.is_ready());
    assert!(w.screen().contains("portmap"), "{}", w.screen());
}

/// The hardened answers with `backend` in place of APF and BFD (names are refused there).
fn hardened_fw_answers(backend: &str) -> String {
    let a = hardened_answers();
    let start = a.find("[firewall]").unwrap();
    let end = a.find("[apply]").unwrap();
    format!(
        "{}[firewall]\nbackend = \"{backend}\"\ntcp_ports = [80, 443, 5060]\nudp_ports = [5060, \"10000-20000\"]\ntftp = true\ntrust_admin = true\ntrusted = [{{ host = \"198.51.100.9\", comment = \"office VPN\" }}, {{ host = \"2001:db8:1::/48\", comment = \"branch (IPv6)\" }}]\nblocked = [{{ host = \"192.0.2.66\", comment = \"SIP scanner\" }}]\n\n{}",
        &a[..start],
        &a[end..]
    )
}

/// Harden a root laid out for `fw` headless with `answers`, and confirm (the answers file
/// has a name of its own: tests run at once).
fn harden_headless(root: &std::path::Path, answers: &str) {
    let a = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(a.path(), answers).unwrap();
    let ssh = [("SSH_CONNECTION", "203.0.113.10 50022 192.0.2.5 22")];
    let o = pbx(
        root,
        &["apply", "--answers", a.path().to_str().unwrap()],
        &ssh,
    );
    assert!(o.status.success(), "{}", text(&o));
    let o = pbx(root, &["confirm", "--here"], &[]);
    assert!(o.status.success(), "{}", text(&o));
}

/// The wizard on a root laid out for `fw`, hardened headless with `hardened_fw_answers` and
/// confirmed. As a normal user (from the demo's profile, no sshd) the apply on the copy
/// installs no key (it could not give the user its ownership) and leaves password logins on.
fn hardened_with(fw: &str) -> Option<W> {
    let real = real_programs();
    let w = wizard(false, |root| {
        without_apf(root, fw);
        let a = hardened_fw_answers(fw);
        let a = if real {
            a
        } else {
            // a normal user's apply on a copy installs no key (it could not own it)
            a.replace(&format!("authorized_keys = [\"{ED_KEY}\"]\n"), "")
                .replace("password_authentication = false\n", "")
        };
        harden_headless(root, &a);
    });
    if !real {
        return Some(w);
    }
    if w.app.screens.user.valid_keys().is_empty() {
        assert!(!in_ci(), "CI runs as root");
        return None;
    }
    Some(w)
}

/// A second run on a root hardened headless with `fw` (and confirmed): the wizard starts
/// its Ports and Hosts screens from what the backend's files say (ports, hosts with their
/// comments), and Enter on every screen reaches a review without a change to `files`.
fn second_run_on(fw: &str, files: &[&str]) {
    // as a normal user the first run installs no key, so the second starts elsewhere
    if !real_parts() {
        return;
    }
    let Some(mut w) = hardened_with(fw) else {
        return;
    };
    // Headless: the same answers again change nothing in the firewall.
    let again = {
        let r = Root::open(w.root.path()).unwrap();
        let sys = System::detect(&r, &Env::fixed()).unwrap();
        let a = Answers::parse(&hardened_fw_answers(fw), "answers.toml").unwrap();
        pbx_harden::plan::build(&sys, &a, &mut rand::rng())
    };
    assert!(again.refusals().is_empty(), "{fw}: {:?}", again.refusals());
    let changed: Vec<&str> = again.changes.iter().map(|c| c.path.as_str()).collect();
    assert!(
        !changed
            .iter()
            .any(|c| files.iter().any(|f| c.starts_with(f))),
        "{fw}: the same answers again change {changed:?}"
    );
    // the wizard as it is, and with the same answers pre-filling every screen (--answers)
    for prefill in [false, true] {
        if prefill {
            let r = Root::open(w.root.path()).unwrap();
            let sys = System::detect(&r, &Env::fixed()).unwrap();
            let a = Answers::parse(&hardened_fw_answers(fw), "answers.toml").unwrap();
            w.app = App::new(sys, Some(a), Theme::new(false, false), 42, NOW);
            let start = w.app.start();
            w.run_effects(start);
        }
        walk_to_an_unchanged_review(&mut w, fw, files);
    }
}

/// From the start, Enter on every screen: the Hosts screen has what the backend holds (the
/// comments too), and the review changes none of `files`.
fn walk_to_an_unchanged_review(w: &mut W, fw: &str, files: &[&str]) {
    let hosts = w.assert_hosts(
        &[
            ("198.51.100.9", "office VPN", false),
            ("2001:db8:1::/48", "branch (IPv6)", false),
            ("192.0.2.66", "SIP scanner", true),
        ],
        fw,
    );
    // the admin's own address is "trust my address" on the Ports screen, not a host here
    assert!(
        !hosts.iter().any(|(h, _, _)| h == "203.0.113.10"),
        "{fw}: {hosts:?}"
    );
    for _ in 0..14 {
        if w.app.current == ScreenId::Review {
            break;
        }
        let before = w.app.current;
        w.key(Key::Enter);
        if w.app.current == before {
            panic!("{fw}: Enter refused on {before:?}:\n{}", w.screen());
        }
    }
    assert_eq!(w.app.current, ScreenId::Review);
    let review = review_text(w);
    // (a changed file is a heading "PATH (why)" with its diff below)
    for f in files {
        assert!(
            !review.lines().any(|l| l.starts_with(f)),
            "{fw}: {f} would change on a rerun:\n{review}"
        );
    }
}

#[test]
fn a_second_run_on_nftables_starts_from_the_table_and_changes_nothing() {
    second_run_on("nftables", &["/etc/nftables.d/pbx-harden.nft"]);
}

#[test]
fn a_second_run_on_firewalld_starts_from_the_zones_and_changes_nothing() {
    second_run_on(
        "firewalld",
        &["/etc/firewalld/zones/", "/etc/firewalld/firewalld.conf"],
    );
}

#[test]
fn a_second_run_on_ufw_starts_from_the_user_rules_and_changes_nothing() {
    second_run_on("ufw", &["/etc/ufw/user.rules", "/etc/ufw/user6.rules"]);
}

/// On a hardened firewalld or ufw root the Hosts screen lists what the backend holds, with
/// the comments; a comment edited there changes in place, an entry taken out leaves with its
/// comment (firewalld's zone file, ufw's rule), nothing else changes.
#[test]
fn the_hosts_screen_edits_and_takes_out_what_firewalld_and_ufw_hold() {
    for fw in ["firewalld", "ufw"] {
        let Some(mut w) = hardened_with(fw) else {
            return;
        };
        while w.app.current != ScreenId::Hosts {
            w.key(Key::Enter);
        }
        w.snap(&format!("full-fw-{fw}-rerun-17-hosts"));
        assert!(w.app.screens.hosts.select("198.51.100.9"));
        w.key(Key::Char('e'));
        w.key(Key::Ctrl('u')).type_str("office VPN, Lyon");
        w.key(Key::Enter);
        assert!(w.app.screens.hosts.select("192.0.2.66"));
        w.key(Key::Delete);
        w.key(Key::Enter);
        let a = w.app.ctx.answers.firewall.clone().unwrap();
        assert_eq!(a.remove, vec!["192.0.2.66".to_string()], "{fw}");
        assert_eq!(
            a.trusted.len(),
            1,
            "{fw}: only what changed: {:?}",
            a.trusted
        );
        while w.app.current != ScreenId::Review {
            w.key(Key::Enter);
        }
        let review = review_text(&w);
        let want: &[&str] = if fw == "firewalld" {
            &[
                "-  <!-- office VPN -->",
                "+  <!-- office VPN, Lyon -->",
                "-  <!-- SIP scanner -->",
                "-  <source address=\"192.0.2.66\"/>",
            ]
        } else {
            &[
                "-### tuple ### allow any any 0.0.0.0/0 any 198.51.100.9 in comment=6f66666963652056504e",
                "+### tuple ### allow any any 0.0.0.0/0 any 198.51.100.9 in comment=6f66666963652056504e2c204c796f6e",
                "-### tuple ### deny any any 0.0.0.0/0 any 192.0.2.66 in comment=534950207363616e6e6572",
                "--A ufw-user-input -s 192.0.2.66 -j DROP",
            ]
        };
        for l in want {
            assert!(review.lines().any(|x| x == *l), "{fw}: {l} in\n{review}");
        }
        // nothing else of the backend's files changes (but the blank line before a rule)
        let changed: Vec<&str> = review
            .lines()
            .filter(|l| l.starts_with('+') || l.starts_with('-'))
            .filter(|l| !l.starts_with("+++") && !l.starts_with("---") && l.len() > 1)
            .collect();
        assert_eq!(changed.len(), want.len(), "{fw}: {changed:#?}\n{review}");
        w.no_secret_shown();
    }
}

/// What nftables, firewalld or ufw can not hold is refused on the Hosts screen, where it is
/// typed (it was only refused at Review): a name, and with firewalld a comment holding "--".
#[test]
fn the_hosts_screen_refuses_what_the_backend_can_not_hold() {
    for fw in ["nftables", "firewalld", "ufw"] {
        let mut w = wizard(false, |r| without_apf(r, fw));
        w.app.current = ScreenId::Hosts;
        let effects = w.app.screens.enter(ScreenId::Hosts, &mut w.app.ctx);
        w.run_effects(effects);
        w.app.screens.hosts.focus_host();
        w.type_str("pbx2.example.com").key(Key::Enter);
        let errors: Vec<String> = w
            .app
            .screens
            .hosts
            .problems
            .iter()
            .filter(|p| p.is_error())
            .map(|p| p.message.clone())
            .collect();
        assert!(
            errors
                .iter()
                .any(|e| e.contains("pbx2.example.com is a name")),
            "{fw}: {errors:?}"
        );
        w.key(Key::Enter);
        assert_eq!(w.app.current, ScreenId::Hosts, "{fw}");
        assert!(w.screen().contains("is a name"), "{fw}: {}", w.screen());
        if fw == "firewalld" {
            assert!(w.app.screens.hosts.select("pbx2.example.com"));
            w.key(Key::Delete);
            w.app.screens.hosts.focus_host();
            w.type_str("192.0.2.60")
                .key(Key::Tab)
                .key(Key::Tab)
                .type_str("Zabbix -- Bob")
                .key(Key::Enter);
            let errors: Vec<String> = w
                .app
                .screens
                .hosts
                .problems
                .iter()
                .map(|p| p.message.clone())
                .collect();
            assert!(
                errors
                    .iter()
                    .any(|e| e.contains("192.0.2.60: a comment with \"--\"")),
                "{errors:?}"
            );
        }
    }
}

/// A run that chose SSH alone is not taken for a fresh box where pbx-harden's own files tell
/// (nftables: its table's file; firewalld: the SSH port written as a `<port>`): the Ports
/// screen then starts from SSH alone, not from the catalog's defaults (which a rerun would
/// have opened). Without such a file the catalog's defaults are the start, as before.
#[test]
fn ssh_alone_is_not_a_fresh_box() {
    for (fw, chosen) in [
        ("nftables", true),
        ("firewalld", true),
        ("firewalld", false),
    ] {
        let mut w = wizard(false, |root| {
            without_apf(root, fw);
            if !chosen {
                return;
            }
            match fw {
                "nftables" => put(
                    root,
                    "/etc/nftables.d/pbx-harden.nft",
                    "#!/usr/sbin/nft -f\n# Written by pbx-harden (firewall.backend = \"nftables\").\n# tcp_ports: 22\n# udp_ports: \n",
                ),
                _ => put(
                    root,
                    "/etc/firewalld/zones/public.xml",
                    "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<zone>\n  <short>Public</short>\n  <port port=\"22\" protocol=\"tcp\"/>\n</zone>\n",
                ),
            }
        });
        // (the screen is built when it is first entered)
        w.app.screens.enter(ScreenId::Ports, &mut w.app.ctx);
        let on: Vec<&str> = w
            .app
            .screens
            .ports
            .items
            .iter()
            .filter(|i| i.on)
            .map(|i| i.entry.service.as_str())
            .collect();
        if chosen {
            assert_eq!(on, vec!["SSH"], "{fw}");
        } else {
            assert!(on.contains(&"HTTPS") && on.contains(&"RTP"), "{fw}: {on:?}");
        }
    }
}
