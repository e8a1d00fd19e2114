//! The event loop: terminal events in, `App::update`, effects carried out (threads for the
//! slow ones), `App::view` drawn through the frugal backend.

use std::io::Write;
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
    let out = tty.output.try_clone().map_err(|e| Error::io("/dev/tty", e))?;
    let backend = FrugalBackend::new(out, caps, tty.size());
    let mut terminal = ratatui::Terminal::new(backend).map_err(|e| Error::io("/dev/tty", e))?;
    terminal.clear().map_err(|e| Error::io("/dev/tty", e))?;
    let mut app = App::new(sys.clone(), opts.prefill, Theme::new(mode.basic, mode.dumb), rand::random(), now());
    if let Some(r) = recovered {
        app.status = Some((r.headline(), false));
    }

    let (ev_tx, ev_rx) = mpsc::channel::<Event>();
    // The password scorer: zxcvbn can take most of a second on a hostile 100-character
    // input, so it never runs on the input path. It skips to the newest request.
    let (score_tx, score_rx) = mpsc::channel::<(u64, crate::secrets::Secret, String)>();
    {
        let ev_tx = ev_tx.clone();
        let waker = tty.waker.try_clone().map_err(|e| Error::io("socketpair", e))?;
        std::thread::spawn(move || {
            while let Ok(mut job) = score_rx.recv() {
                while let Ok(newer) = score_rx.try_recv() {
                    job = newer;
                }
                let (generation, pw, user) = job;
                let strength = crate::secrets::assess(pw.expose(), &user);
                if ev_tx.send(Event::Scored { generation, strength }).is_err() {
                    break;
                }
                wake(&waker);
            }
        });
    }

    let mut exit_note: Option<String> = None;
    loop {
        if let Err(e) = terminal.draw(|f| app.view(f)) {
            exit_note = Some(format!("the terminal went away ({e})"));
            break;
        }
        let timeout = if app.current == ScreenId::Confirm {
            Duration::from_secs(1)
        } else {
            Duration::from_secs(30)
        };
        let mut effects = Vec::new();
        match tty.next(timeout) {
            Ev::Key(k) => effects.extend(app.update(Event::Key(k))),
            Ev::Resize(size) => {
                terminal.backend_mut().set_size(size);
                let _ = terminal.autoresize();
                let _ = terminal.clear();
            }
            Ev::Wake => {
                for ev in ev_rx.try_iter() {
                    effects.extend(app.update(ev));
                }
            }
            Ev::Tick => effects.extend(app.update(Event::Tick { now: now() })),
            Ev::Gone(why) => {
                exit_note = Some(format!("the wizard ended: {why}"));
                break;
            }
        }
        for e in effects {
            match e {
                Effect::Score {
                    generation,
                    password,
                    user,
                } => {
                    let _ = score_tx.send((generation, password, user));
                }
                Effect::BuildPlan => {
                    let (sys, answers, tx) = (sys.clone(), app.ctx.answers.clone(), ev_tx.clone());
                    let waker = tty.waker.try_clone().map_err(|e| Error::io("socketpair", e))?;
                    std::thread::spawn(move || {
                        let p = plan::build(&sys, &answers, &mut rand::rng());
                        let _ = tx.send(Event::Planned(Box::new(p)));
                        wake(&waker);
                    });
                }
                Effect::Apply => {
                    let Some(p) = app.ctx.plan.clone() else { continue };
                    let (sys, tx) = (sys.clone(), ev_tx.clone());
                    let waker = tty.waker.try_clone().map_err(|e| Error::io("socketpair", e))?;
                    std::thread::spawn(move || {
                        let (ptx, prx) = mpsc::channel::<String>();
                        let fwd_tx = tx.clone();
                        let fwd_waker = waker.try_clone().ok();
                        let fwd = std::thread::spawn(move || {
                            for line in prx {
                                let _ = fwd_tx.send(Event::ApplyProgress(line));
                                if let Some(w) = &fwd_waker {
                                    wake(w);
                                }
                            }
                        });
                        let r = apply::ensure_no_pending(&sys.root).and_then(|_| {
                            apply::apply(
                                &sys,
                                &p,
                                &ApplyOptions {
                                    timeout: None,
                                    progress: Some(ptx),
                                },
                            )
                        });
                        let _ = fwd.join();
                        let _ = tx.send(Event::Applied(r.map_err(|e| e.to_string())));
                        wake(&waker);
                    });
                }
                Effect::ConfirmHere => {
                    let r = apply::confirm(&root, &env, true).map_err(|e| e.to_string());
                    effects_after(&mut app, Event::Confirmed(r));
                }
                Effect::RollbackNow => {
                    let r = apply::rollback(&root, "rolled back from the wizard", true, None).map_err(|e| e.to_string());
                    effects_after(&mut app, Event::RolledBack(r));
                }
                Effect::PollPending => {
                    let ev = match apply::status(&root) {
                        Ok(Status::Pending { journal, .. }) => Event::Pending(Some((journal.txid.clone(), journal.deadline)), None),
                        _ => {
                            let how = app.ctx.applied.as_ref().and_then(|a| outcome(&root, &a.txid));
                            Event::Pending(None, how)
                        }
                    };
                    effects_after(&mut app, ev);
                }
                Effect::SaveAnswers(path) => {
                    let text = format!(
                        "# pbx-harden answers saved by the wizard (no passwords: add one, or generate = true)\n{}",
                        app.ctx.answers.to_toml_without_secrets()
                    );
                    let r = write_private(&path, &text).map(|_| path.clone());
                    effects_after(&mut app, Event::Saved(r));
                }
                Effect::Redraw => {
                    terminal.backend_mut().invalidate();
                    let _ = terminal.clear();
                }
                Effect::Quit => app.quit = true,
            }
        }
        if app.quit {
            break;
        }
    }
    drop(terminal);
    drop(tty);
    if let Some(n) = exit_note {
        eprintln!("pbx-harden: {n}");
    }
    if let Ok(Status::Pending { journal, seconds_left, .. }) = apply::status(&root) {
        let port = journal.summary.ssh_port.unwrap_or(22);
        let user = journal.summary.login_user.clone().unwrap_or_else(|| "USER".into());
        eprintln!(
            "A change is pending: it rolls back in {}s unless confirmed.\n  ssh -p {port} {user}@{}   then   pbx-harden{} confirm",
            seconds_left.max(0),
            journal.summary.address,
            if root.is_live() { String::new() } else { format!(" --root {}", root.dir().display()) }
        );
    }
    Ok(0)
}

/// Effects that complete at once feed their result straight back.
fn effects_after(app: &mut App, ev: Event) {
    let _ = app.update(ev);
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
    f.write_all(text.as_bytes()).map_err(|e| format!("{path}: {e}"))
}
