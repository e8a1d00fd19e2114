//! The event loop: terminal events in, `App::update`, effects carried out (threads for the
//! slow ones), `App::view` drawn through the frugal backend.

use std::io::Write;

use ratatui::backend::Backend as _;
use std::sync::mpsc;
use std::time::Duration;

use super::app::{App, Effect, Event};
use super::backend::{Caps, FrugalBackend};
use super::screens::ScreenId;
use super::term::{Ev, Tty, mode_from_env};
use super::theme::Theme;
use crate::answers::Answers;
use crate::apply::{self, ApplyOptions, Status};
use crate::error::{Error, Result};
use crate::plan;
use crate::root::Root;
use crate::system::{Env, System};

pub struct WizardOptions {
    pub root: Root,
    pub prefill: Option<Answers>,
    pub ascii: bool,
}

fn now() -> u64 {
    apply::journal::now()
}

fn wake(w: &std::os::unix::net::UnixStream) {
    let _ = (&*w).write(&[1]);
}

/// How a transaction that is no longer pending ended: "confirmed" or "rolled-back".
fn outcome(root: &Root, txid: &str) -> Option<String> {
    let dir = apply::journal::Paths::of(root).history;
    for e in std::fs::read_dir(dir).ok()?.flatten() {
        let n = e.file_name().to_string_lossy().into_owned();
        if let Some(rest) = n.strip_prefix(&format!("{txid}-")) {
            return Some(rest.to_string());
        }
    }
    None
}

/// Run the wizard. Returns the exit status.
pub fn run(opts: WizardOptions) -> Result<i32> {
    let root = opts.root;
    let env = Env::from_process();
    if root.is_live() && env.euid != 0 {
        return Err(Error::invalid(
            "the wizard changes this system and needs root (sudo pbx-harden); \
             `pbx-harden --demo` shows it on a copy of a demo system",
        ));
    }
    let recovered = apply::recover(&root)?;
    let sys = System::detect(&root, &env)?;
    let mode = mode_from_env(opts.ascii);
    let mut tty = Tty::open(mode).map_err(|e| Error::invalid(e.to_string()))?;
    let caps = Caps {
        utf8: !mode.basic,
        color: !mode.basic,
        attrs: !mode.dumb,
    };
    let out = tty
        .output
        .try_clone()
        .map_err(|e| Error::io("/dev/tty", e))?;
    let backend = FrugalBackend::new(out, caps, tty.size());
    let mut terminal = ratatui::Terminal::new(backend).map_err(|e| Error::io("/dev/tty", e))?;
    terminal.backend_mut().write_raw(Tty::enter_sequence(mode));
    terminal.clear().map_err(|e| Error::io("/dev/tty", e))?;
    // The slow facts found after the first frame, on the job thread: handles shared with
    // the app's System (cloning the System itself copies every fact).
    let (ssh, services, extensions, asterisk) = (
        sys.ssh.clone(),
        sys.services.clone(),
        sys.extensions.clone(),
        sys.firewall.asterisk.clone(),
    );
    let mut app = App::new(
        sys,
        opts.prefill,
        Theme::new(mode.basic, mode.dumb),
        rand::random(),
        now(),
    );
    if let Some(r) = recovered {
        app.status = Some((r.headline(), false));
    }

    let (ev_tx, ev_rx) = mpsc::channel::<Event>();
    // The password scorer: zxcvbn can take most of a second on a hostile 100-character
    // input, so it never runs on the input path. It skips to the newest request.
    // Started after the first frame (requests sent before wait in the channel).
    let (score_tx, score_rx) = mpsc::channel::<Effect>();
    let mut score_rx = Some(score_rx);

    let mut exit_note: Option<String> = None;
    let mut warmed = false;
    loop {
        // The clock for every frame (the countdown), not only for ticks: a tick comes only
        // after 30 s without a key, so Confirm's first frame showed more time than the
        // timeout itself (5:39 for 5m, found by hand).
        app.ctx.now = now();
        if let Err(e) = terminal.draw(|f| {
            app.view(f);
        }) {
            exit_note = Some(format!("the terminal went away ({e})"));
            break;
        }
        if let Some(score_rx) = score_rx.take() {
            let ev_tx = ev_tx.clone();
            let waker = tty
                .waker
                .try_clone()
                .map_err(|e| Error::io("socketpair", e))?;
            std::thread::spawn(move || {
                while let Ok(mut job) = score_rx.recv() {
                    while let Ok(newer) = score_rx.try_recv() {
                        job = newer;
                    }
                    for ev in perform(&job, &Job::default(), &|_| {}) {
                        if ev_tx.send(ev).is_err() {
                            return;
                        }
                    }
                    wake(&waker);
                }
            });
        }
        if !warmed {
            // After the first frame: the slow facts (systemctl's inventory, zxcvbn over every
            // extension secret) on a thread, shared with the app through the System.
            warmed = true;
            let (ssh, services, extensions, asterisk, waker) = (
                ssh.clone(),
                services.clone(),
                extensions.clone(),
                asterisk.clone(),
                tty.waker
                    .try_clone()
                    .map_err(|e| Error::io("socketpair", e))?,
            );
            // ... and what the screens ask for at the start (the Asterisk doors' audit), as
            // events through the channel like any job's.
            let (job, tx) = (Job::of(&app, &root, &env), ev_tx.clone());
            let start = app.start();
            std::thread::spawn(move || {
                for e in &start {
                    for ev in perform(e, &job, &|_| {}) {
                        let _ = tx.send(ev);
                    }
                }
                wake(&waker);
                let _ = ssh.force();
                let _ = asterisk.force();
                let _ = services.force();
                let _ = extensions.force();
                wake(&waker);
            });
        }
        let settle = app.needs_settle();
        let timeout = if settle {
            Duration::from_millis(250)
        } else if app.current == ScreenId::Confirm {
            Duration::from_secs(1)
        } else {
            Duration::from_secs(30)
        };
        // Everything that is already waiting (keys typed ahead, a burst of apply progress
        // that queued while a write to a slow line blocked) is handled before the next
        // draw: one frame for the lot, never a backlog of stale ones.
        let mut effects = Vec::new();
        let mut ev = Some(tty.next(timeout));
        let mut burst = 0;
        while let Some(e) = ev.take() {
            match e {
                Ev::Key(k) => effects.extend(app.update(Event::Key(k))),
                Ev::Resize(size) => {
                    if terminal.backend().size().ok() != Some(size) {
                        terminal.backend_mut().set_size(size);
                        // one clear: autoresize clears when the size changed
                        let _ = terminal.autoresize();
                    }
                }
                Ev::Wake => {
                    for ev in ev_rx.try_iter() {
                        effects.extend(app.update(ev));
                    }
                }
                Ev::Tick if settle => effects.extend(app.update(Event::Settle)),
                Ev::Tick => effects.extend(app.update(Event::Tick { now: now() })),
                Ev::Gone(why) => {
                    exit_note = Some(format!("the wizard ended: {why}"));
                    break;
                }
            }
            burst += 1;
            if burst < 64 && !app.quit {
                ev = tty.ready();
            }
        }
        if exit_note.is_some() {
            break;
        }
        // Effects of effects (an event that moves to the Done screen asks for the audit) are
        // carried out too, in order.
        let mut queue: std::collections::VecDeque<Effect> = effects.into();
        while let Some(e) = queue.pop_front() {
            match e {
                Effect::Score { .. } => {
                    let _ = score_tx.send(e);
                }
                Effect::Redraw => {
                    terminal.backend_mut().invalidate();
                    let _ = terminal.clear();
                }
                Effect::Quit => app.quit = true,
                // Slow work (plan with sshd -t, apply, the extension scan, the audit, confirm
                // with its firewall restart, rollback) runs on a thread, so keys and the
                // countdown stay live; its events come back through the channel.
                Effect::BuildPlan
                | Effect::Apply
                | Effect::ScanExtensions
                | Effect::ScanDoors
                | Effect::ScanServices
                | Effect::Audit
                | Effect::ConfirmHere
                | Effect::RollbackNow => {
                    let job = Job::of(&app, &root, &env);
                    let tx = ev_tx.clone();
                    let waker = tty
                        .waker
                        .try_clone()
                        .map_err(|e| Error::io("socketpair", e))?;
                    std::thread::spawn(move || {
                        let send = |ev: Event| {
                            let _ = tx.send(ev);
                            wake(&waker);
                        };
                        for ev in perform(&e, &job, &send) {
                            send(ev);
                        }
                    });
                }
                other => {
                    let job = Job::of(&app, &root, &env);
                    for ev in perform(&other, &job, &|_| {}) {
                        queue.extend(app.update(ev));
                    }
                }
            }
        }
        if app.quit {
            break;
        }
    }
    let failed = app.screens.apply.failed.is_some() && app.ctx.applied.is_none();
    drop(terminal);
    drop(tty);
    // The terminal may be gone: a failed write must not become a panic.
    let mut err = std::io::stderr();
    if let Some(n) = exit_note {
        let _ = writeln!(err, "pbx-harden: {n}");
    }
    if let Ok(Status::Pending {
        journal,
        seconds_left,
        ..
    }) = apply::status(&root)
    {
        let port = journal.summary.ssh_port.unwrap_or(22);
        let user = journal
            .summary
            .login_user
            .clone()
            .unwrap_or_else(|| "USER".into());
        let _ = writeln!(
            err,
            "A change is pending: it rolls back in {}s unless confirmed.\n  ssh -p {port} {user}@{}   then   pbx-harden{} confirm",
            seconds_left.max(0),
            journal.summary.address,
            if root.is_live() {
                String::new()
            } else {
                format!(" --root {}", root.dir().display())
            }
        );
    }
    // A failed apply (rolled back) is a failure for whoever started the wizard.
    Ok(if failed { 1 } else { 0 })
}

/// What an effect needs from the app, copied so it can run on another thread.
#[derive(Clone, Default)]
pub struct Job {
    pub sys: Option<System>,
    pub env: Option<Env>,
    pub answers: Answers,
    pub plan: Option<crate::plan::Plan>,
    pub txid: Option<String>,
}

impl Job {
    pub fn of(app: &App, root: &Root, env: &Env) -> Job {
        let _ = root;
        Job {
            sys: Some(app.ctx.sys.clone()),
            env: Some(env.clone()),
            answers: app.ctx.answers.clone(),
            plan: app.ctx.plan.clone(),
            txid: app.ctx.applied.as_ref().map(|a| a.txid.clone()),
        }
    }
}

/// Carry out one effect, blocking; returns the events to feed back. `progress` receives
/// events while it runs (apply's steps). The event loop runs the slow ones on a thread;
/// tests call this directly.
pub fn perform(e: &Effect, job: &Job, progress: &(dyn Fn(Event) + Sync)) -> Vec<Event> {
    let sys = job.sys.as_ref();
    match e {
        Effect::Score {
            generation,
            password,
            user,
        } => vec![Event::Scored {
            generation: *generation,
            strength: crate::secrets::assess(password.expose(), user),
        }],
        Effect::BuildPlan => {
            let Some(sys) = sys else { return Vec::new() };
            vec![Event::Planned(Box::new(plan::build(
                sys,
                &job.answers,
                &mut rand::rng(),
            )))]
        }
        Effect::Apply => {
            let (Some(sys), Some(p)) = (sys, &job.plan) else {
                return Vec::new();
            };
            let (ptx, prx) = mpsc::channel::<String>();
            let r = std::thread::scope(|s| {
                let fwd = s.spawn(move || {
                    for line in prx {
                        progress(Event::ApplyProgress(line));
                    }
                });
                let r = apply::ensure_no_pending(&sys.root).and_then(|_| {
                    apply::apply(
                        sys,
                        p,
                        &ApplyOptions {
                            timeout: None,
                            progress: Some(ptx),
                        },
                    )
                });
                let _ = fwd.join();
                r
            });
            vec![Event::Applied(r.map_err(|e| e.to_string()))]
        }
        Effect::ConfirmHere => {
            let (Some(sys), Some(env)) = (sys, &job.env) else {
                return Vec::new();
            };
            vec![Event::Confirmed(
                apply::confirm(&sys.root, env, true).map_err(|e| e.to_string()),
            )]
        }
        Effect::RollbackNow => {
            let Some(sys) = sys else { return Vec::new() };
            vec![Event::RolledBack(
                apply::rollback(&sys.root, "rolled back from the wizard", true, None)
                    .map_err(|e| e.to_string())
                    .and_then(|r| {
                        if r.complete {
                            Ok(r)
                        } else {
                            apply::watchdog::ensure_retry(&sys.root, &r.txid);
                            Err(format!("{}\n{}", r.headline(), r.details().join("\n")))
                        }
                    }),
            )]
        }
        Effect::PollPending => {
            let Some(sys) = sys else { return Vec::new() };
            vec![match apply::status(&sys.root) {
                Ok(Status::Pending { journal, .. }) => {
                    Event::Pending(Some((journal.txid.clone(), journal.deadline)), None)
                }
                _ => Event::Pending(
                    None,
                    job.txid.as_deref().and_then(|t| outcome(&sys.root, t)),
                ),
            }]
        }
        Effect::SaveAnswers(path) => {
            vec![Event::Saved(job.answers.to_toml_without_secrets().and_then(|toml| {
                let text = format!(
                    "# pbx-harden answers saved by the wizard (no passwords: add one, or generate = true)\n{toml}"
                );
                write_private(path, &text).map(|_| path.clone())
            }))]
        }
        Effect::ScanServices => {
            let Some(sys) = sys else { return Vec::new() };
            let _ = sys.services.force();
            vec![Event::Scanned]
        }
        Effect::ScanDoors => {
            let Some(sys) = sys else { return Vec::new() };
            vec![Event::Doors(crate::audit::asterisk_doors(sys))]
        }
        Effect::ScanExtensions => {
            let Some(sys) = sys else { return Vec::new() };
            let _ = sys.extensions.force();
            vec![Event::Scanned]
        }
        Effect::Audit => {
            let (Some(sys), Some(env)) = (sys, &job.env) else {
                return Vec::new();
            };
            let lines = System::detect_with(&sys.root, env, sys.runner.clone())
                .map(|now| {
                    let mut findings = crate::audit::audit(&now).findings;
                    // The worst first: the screen shows as many as fit.
                    findings.sort_by_key(|f| f.severity);
                    findings
                        .iter()
                        .map(|f| {
                            let what = f
                                .subject
                                .as_deref()
                                .filter(|s| !f.title.contains(s))
                                .map_or(String::new(), |s| format!(" ({s})"));
                            format!("{:<6} {}{what}", f.severity.label(), f.title)
                        })
                        .collect()
                })
                .unwrap_or_else(|e| vec![format!("the audit could not run: {e}")]);
            vec![Event::Audited(lines)]
        }
        Effect::Redraw | Effect::Quit => Vec::new(),
    }
}

fn write_private(path: &str, text: &str) -> std::result::Result<(), String> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| format!("{path}: {e}"))?;
    f.write_all(text.as_bytes())
        .map_err(|e| format!("{path}: {e}"))
}
