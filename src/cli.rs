//! The command line. Every command takes `--root DIR` (the target's `/`).
//!
//! Output goes through `out!`/`outln!`/`errln!`, which never panic: a closed pipe (`audit |
//! true`, `apply | head`) does not stop a command half-way, and it ends with its documented
//! exit code.

use std::path::PathBuf;
use std::time::Duration;

use clap::{CommandFactory, Parser};

use crate::answers::{self, Answers};
use crate::apply::{self, ApplyOptions, Status};
pub use crate::args::{AuditFormat, Cli, Command, FirstbootAction, LONG_VERSION, Target};
use crate::error::{Error, Result};
use crate::plan;
use crate::root::Root;
use crate::secrets;
use crate::system::{Env, System};

/// `pbx-harden audit`: exit 0 when clean, 1 with findings, 2 on any error.
fn audit_cmd(dir: &std::path::Path, format: AuditFormat) -> i32 {
    secrets::warm_zxcvbn();
    let report = open_root(dir)
        .and_then(|root| System::detect(&root, &Env::from_process()))
        .map(|sys| crate::audit::audit(&sys));
    match report {
        Ok(r) => {
            match format {
                AuditFormat::Text => out!("{}", r.to_text()),
                AuditFormat::Json => match r.to_json() {
                    Ok(s) => out!("{s}"),
                    Err(e) => {
                        errln!("pbx-harden: {e}");
                        return 2;
                    }
                },
            }
            if r.is_clean() { 0 } else { 1 }
        }
        Err(e) => {
            let hint = if nix::unistd::geteuid().is_root() {
                ""
            } else {
                " (run the audit as root: it reads /etc/shadow and /etc/asterisk)"
            };
            errln!("pbx-harden: {e}{hint}");
            2
        }
    }
}

/// Run the CLI; returns the exit status.
pub fn main() -> i32 {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            errln!("pbx-harden: {e}");
            e.exit_code()
        }
    }
}

fn open_root(dir: &std::path::Path) -> Result<Root> {
    if dir == std::path::Path::new("/") {
        Ok(Root::live())
    } else {
        Root::open(dir)
    }
}

/// The root a command works on: its own `--root`, or the one given before it, or "/".
fn target_dir(top: &Option<PathBuf>, t: &Target) -> Result<PathBuf> {
    match (top, &t.root) {
        (Some(a), Some(b)) if a != b => Err(Error::invalid(format!(
            "--root is given twice ({} and {}): give it once",
            a.display(),
            b.display()
        ))),
        (_, Some(d)) | (Some(d), None) => Ok(d.clone()),
        (None, None) => Ok(PathBuf::from("/")),
    }
}

fn target_root(top: &Option<PathBuf>, t: &Target) -> Result<Root> {
    open_root(&target_dir(top, t)?)
}

/// The name of a command that works on no target, for the `--root` refusal.
fn targetless(cmd: &Command) -> Option<&'static str> {
    match cmd {
        Command::Password { .. } => Some("password"),
        Command::Demo { .. } => Some("demo"),
        Command::Completions { .. } => Some("completions"),
        Command::Manpage => Some("manpage"),
        Command::Firstboot {
            action: FirstbootAction::Run,
        } => Some("firstboot run"),
        _ => None,
    }
}

pub fn run(cli: Cli) -> Result<i32> {
    let Some(cmd) = cli.command else {
        return wizard(&cli);
    };
    if let (Some(dir), Some(name)) = (&cli.root, targetless(&cmd)) {
        return Err(Error::invalid(format!(
            "--root {}: `{name}` works on no target system; leave --root out",
            dir.display()
        )));
    }
    let top = cli.root.clone();
    match cmd {
        Command::Completions { shell } => {
            let mut out = std::io::stdout();
            clap_complete::generate(shell, &mut Cli::command(), "pbx-harden", &mut out);
            Ok(0)
        }
        Command::Manpage => {
            out!("{}", crate::manpage::render()?);
            Ok(0)
        }
        Command::Firstboot { action } => crate::firstboot::cli(&top, action),
        Command::Password { words } => {
            if !(secrets::MIN_WORDS..=secrets::MAX_WORDS).contains(&words) {
                return Err(Error::invalid(format!(
                    "--words {words}: use {} to {}",
                    secrets::MIN_WORDS,
                    secrets::MAX_WORDS
                )));
            }
            let pw = secrets::generate_passphrase(words, &mut rand::rng());
            let s = secrets::assess(pw.expose(), "");
            outln!("{}", pw.expose());
            errln!(
                "strength: {}/4 ({}); offline crack time at 10k guesses/s: {}",
                s.score,
                s.label(),
                s.crack_time
            );
            Ok(0)
        }
        Command::Demo { extract: Some(dir) } => {
            if dir.exists()
                && std::fs::read_dir(&dir)
                    .map(|mut d| d.next().is_some())
                    .unwrap_or(true)
            {
                return Err(Error::invalid(format!(
                    "--extract {}: give a new or empty directory",
                    dir.display()
                )));
            }
            crate::demo::materialize(&dir)?;
            outln!(
                "The demo system is in {}; try: pbx-harden --root {} (the wizard)",
                dir.display(),
                dir.display()
            );
            Ok(0)
        }
        Command::Demo { extract: None } => demo(),
        Command::Audit { format, target } => Ok(audit_cmd(&target_dir(&top, &target)?, format)),
        Command::Watchdog { txid, target } => {
            let root = target_root(&top, &target)?;
            apply::watchdog::run(&root, &txid)?;
            Ok(0)
        }
        Command::Plan {
            answers,
            format,
            target,
        } => json_errors(format, "plan", || {
            secrets::warm_zxcvbn();
            let root = target_root(&top, &target)?;
            recover_overdue(&root);
            let answers = Answers::load(&answers)?;
            let sys = System::detect(&root, &Env::from_process())?;
            let p = plan::build(&sys, &answers, &mut rand::rng());
            let pending = match apply::status(&root) {
                Ok(Status::Pending { journal, .. }) => Some(journal.txid),
                _ => None,
            };
            if format == AuditFormat::Json {
                outln!("{}", json::plan(&p, pending.as_deref()));
            } else {
                out!("{}", plan::render(&p, &sys));
                if let Some(txid) = pending {
                    outln!("\nNote: change {txid} is still pending (see `pbx-harden status`).");
                }
            }
            if p.is_valid() { Ok(0) } else { Ok(2) }
        }),
        Command::Apply {
            answers,
            format,
            password_file,
            confirm_timeout,
            target,
        } => json_errors(format, "apply", || {
            secrets::warm_zxcvbn();
            let root = target_root(&top, &target)?;
            let answers = Answers::load(&answers)?;
            let timeout = confirm_timeout
                .map(|t| answers::parse_timeout(&t).map_err(Error::invalid))
                .transpose()?;
            if timeout == Some(Duration::ZERO) {
                return Err(Error::invalid(
                    "--confirm-timeout 0 would roll back at once",
                ));
            }
            apply_cmd(&root, &answers, timeout, format, password_file.as_deref())
        }),
        Command::Confirm { here, target } => {
            let root = target_root(&top, &target)?;
            recover_overdue(&root);
            if here > 0 {
                here_asked_twice(&root, here)?;
            }
            let r = apply::confirm(&root, &Env::from_process(), here > 0)?;
            for s in &r.steps {
                outln!("{s}");
            }
            outln!("Confirmed {}.", r.txid);
            Ok(0)
        }
        Command::Rollback {
            no_restart,
            reason,
            target,
        } => {
            let root = target_root(&top, &target)?;
            let r = apply::rollback(&root, &reason, !no_restart, None)?;
            outln!("{}", r.headline());
            for p in &r.restored {
                outln!("  restored {p}");
            }
            for p in &r.removed {
                outln!("  removed  {p}");
            }
            for d in r.details() {
                outln!("  {d}");
            }
            if r.complete {
                Ok(0)
            } else {
                apply::watchdog::ensure_retry(&root, &r.txid);
                outln!(
                    "The rollback is INCOMPLETE: the change stays pending (and the boot safeguard \
                     stays) until it completes. `pbx-harden status` shows what is left."
                );
                Ok(3)
            }
        }
        Command::Status { target } => {
            let root = target_root(&top, &target)?;
            recover_overdue(&root);
            let (text, code) = status_report(&root)?;
            out!("{text}");
            Ok(code)
        }
    }
}

/// With `--format json`, an error is a JSON object on standard output too (exit status as
/// the text error's), so a script reads one shape whatever happened.
fn json_errors(format: AuditFormat, command: &str, f: impl FnOnce() -> Result<i32>) -> Result<i32> {
    match f() {
        Err(e) if format == AuditFormat::Json => {
            outln!("{}", json::error(command, &e));
            Ok(e.exit_code())
        }
        r => r,
    }
}

/// Is the watchdog recorded in the journal still running ("pid N" or "unit NAME")?
fn watchdog_alive(j: &apply::journal::Journal) -> bool {
    match j.watchdog.as_deref() {
        Some(w) if w.starts_with("pid ") => w[4..]
            .trim()
            .parse::<u32>()
            .is_ok_and(|p| std::path::Path::new(&format!("/proc/{p}")).exists()),
        Some(w) if w.starts_with("unit ") => crate::exec::run(
            &crate::exec::argv(&["systemctl", "is-active", "--quiet", w[5..].trim()]),
            None,
        )
        .is_ok_and(|o| o.ok()),
        _ => false,
    }
}

/// `confirm --here` skips the proof that the new way in works: on the live system after a
/// port move it is asked twice (at a terminal: "yes", then the new port typed back; without
/// one: `--here` given twice).
fn here_asked_twice(root: &Root, count: u8) -> Result<()> {
    use std::io::IsTerminal;
    let Ok(Status::Pending { journal: j, .. }) = apply::status(root) else {
        return Ok(());
    };
    let (true, true, Some(port)) = (j.live, j.summary.ssh_port_changed, j.summary.ssh_port) else {
        return Ok(());
    };
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        if count >= 2 {
            return Ok(());
        }
        return Err(Error::invalid(format!(
            "--here keeps sshd on port {port} without a login there to prove it works; without a \
             terminal to ask, give it twice: pbx-harden confirm --here --here"
        )));
    }
    let ask = |q: &str| -> String {
        use std::io::Write as _;
        let mut e = std::io::stderr();
        let _ = write!(e, "{q}");
        let _ = e.flush();
        let mut line = String::new();
        let _ = stdin.read_line(&mut line);
        line.trim().to_string()
    };
    let who = j.summary.login_user.as_deref().unwrap_or("the login user");
    let a = ask(&format!(
        "No login on port {port} proves that {who} can get in. Keep the change anyway? [yes/no] "
    ));
    if a != "yes" {
        return Err(Error::invalid(
            "not confirmed (the rollback timer keeps running)",
        ));
    }
    let b = ask(&format!(
        "Asked twice: type the new SSH port ({port}) to keep the change: "
    ));
    if b != port.to_string() {
        return Err(Error::invalid(
            "not confirmed (the rollback timer keeps running)",
        ));
    }
    Ok(())
}

/// A pending change past its deadline with no watchdog left: roll it back now, whatever
/// command found it (the timer is the promise; nothing else would keep it).
fn recover_overdue(root: &Root) {
    let overdue = matches!(
        apply::status(root),
        Ok(Status::Pending { interrupted: false, seconds_left, ref journal, .. })
            if seconds_left < -2 && journal.state == apply::journal::TxState::Armed
    );
    if !overdue {
        return;
    }
    match apply::recover(root) {
        Ok(Some(r)) => errln!("pbx-harden: {}", r.headline()),
        Ok(None) => {}
        Err(e) => errln!(
            "pbx-harden: a pending change is overdue but could not be rolled back: {e}\n\
             run `pbx-harden rollback` as root"
        ),
    }
}

pub fn status_text(root: &Root) -> Result<String> {
    status_report(root).map(|(t, _)| t)
}

/// `status`: the text and the exit status: 0 when nothing is pending or a change waits for
/// confirmation, 3 when something needs the admin (an interrupted apply, an incomplete
/// rollback, a damaged journal), 1 when the journal cannot be read at all (the message
/// names the next step).
pub fn status_report(root: &Root) -> Result<(String, i32)> {
    let mut code = 0;
    let mut o = match apply::status(root)? {
        Status::Nothing => {
            let mut o = "No change is pending.\n".to_string();
            if let Some(r) = apply::last_rollback(root) {
                o.push_str(&rollback_record_text(&r));
            }
            o
        }
        Status::Pending {
            journal: j,
            seconds_left,
            interrupted,
            damage,
        } => {
            let mut o = format!("Pending change {} ", j.txid);
            if let Some(r) = j
                .rollback
                .as_ref()
                .filter(|_| j.state == apply::journal::TxState::RollbackIncomplete)
            {
                code = 3;
                o.push_str(&format!(
                    "- ROLLBACK INCOMPLETE ({}; {} attempt(s)). Not restored yet:\n",
                    r.reason, r.attempts
                ));
                for f in &r.failures {
                    o.push_str(&format!(
                        "  {}: {}\n    what to do: {}\n",
                        f.path, f.error, f.hint
                    ));
                }
                o.push_str(
                    "  The watchdog retries by itself (with backoff) and the boot safeguard stays \
                     until it completes; `pbx-harden rollback` retries now.\n",
                );
            } else if interrupted {
                code = 3;
                o.push_str("(INTERRUPTED: the apply process died; the next run or `pbx-harden rollback` restores it)\n");
            } else if seconds_left > 0 {
                o.push_str(&format!(
                    "- rolls back in {} unless confirmed\n",
                    humantime::format_duration(Duration::from_secs(seconds_left as u64))
                ));
            } else if j.state == apply::journal::TxState::Armed && !watchdog_alive(&j) {
                o.push_str(
                    "- the timer has run out and no watchdog is running: run `pbx-harden rollback` as root\n",
                );
            } else {
                o.push_str("- the timer has run out; the watchdog is rolling back\n");
            }
            if let Some(d) = damage {
                code = 3;
                o.push_str(&format!(
                    "  JOURNAL DAMAGED: {d}. The backups are intact: `pbx-harden rollback` restores \
                     every file from them (or confirm, if the change works).\n"
                ));
            }
            if let Some(u) = &j.summary.login_user {
                o.push_str(&format!("  login user: {u}\n"));
            }
            if let Some(p) = j.summary.ssh_port {
                o.push_str(&format!(
                    "  SSH port:   {p}{}\n",
                    if j.summary.ssh_port_changed {
                        " (moved)"
                    } else {
                        ""
                    }
                ));
            }
            for f in &j.summary.firewall {
                o.push_str(&format!("  firewall:   {f}\n"));
            }
            o.push_str(&format!("  files:      {}\n", j.summary.files.join(", ")));
            if let Some(w) = &j.watchdog {
                o.push_str(&format!("  timer:      {w}\n"));
            }
            if let Some(r) = &j.rollback {
                for c in &r.conflicts {
                    o.push_str(&format!("  note: {c}\n"));
                }
            }
            o
        }
    };
    let kept = apply::journal::kept_conflicts(root);
    if !kept.is_empty() {
        o.push_str(
            "Versions of files others edited while a change was pending (kept until you remove them):\n",
        );
        for k in kept {
            o.push_str(&format!("  {}\n", k.display()));
        }
    }
    Ok((o, code))
}

/// Why a change was rolled back, in the admin's words.
pub fn reason_text(reason: &str) -> String {
    match reason {
        "boot" => "the machine restarted before the change was confirmed (boot safeguard)".into(),
        "requested by the admin" => "by hand (`pbx-harden rollback`)".into(),
        r => r.to_string(),
    }
}

/// `status` after an automatic (or manual) rollback: when, why, what came back, what not.
pub fn rollback_record_text(r: &apply::RollbackReport) -> String {
    let when = if r.at > 0 {
        let t = std::time::UNIX_EPOCH + Duration::from_secs(r.at);
        let ago = apply::journal::now().saturating_sub(r.at);
        format!(
            "{} UTC, {} ago",
            humantime::format_rfc3339_seconds(t)
                .to_string()
                .trim_end_matches('Z')
                .replace('T', " "),
            humantime::format_duration(Duration::from_secs(ago))
        )
    } else {
        "at an unknown time".into()
    };
    let mut o = format!(
        "The last change ({}) was rolled back {when}:\n  why:  {}\n",
        r.txid,
        reason_text(&r.reason)
    );
    if !r.restored.is_empty() {
        o.push_str(&format!("  restored: {}\n", r.restored.join(", ")));
    }
    if !r.removed.is_empty() {
        o.push_str(&format!("  removed:  {}\n", r.removed.join(", ")));
    }
    for c in &r.undone {
        o.push_str(&format!("  ran:      {c}\n"));
    }
    for e in &r.undo_errors {
        o.push_str(&format!("  FAILED:   {e}\n"));
    }
    for c in &r.conflicts {
        o.push_str(&format!(
            "  conflict: {c} was edited after apply; that version is kept in the journal history\n"
        ));
    }
    o
}

fn confirm_instructions(root: &Root, r: &apply::ApplyReport) -> String {
    let exe = std::env::current_exe()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| "pbx-harden".into());
    let when = humantime::format_duration(Duration::from_secs(
        r.deadline.saturating_sub(apply::journal::now()),
    ));
    if root.is_live() {
        // What is true after the change: the port sshd listens on now, and how this user
        // becomes root (sudo when the plan or the box grants it, else su -).
        let port = r
            .summary
            .ssh_port
            .map(|p| p.to_string())
            .unwrap_or_else(|| "PORT".into());
        let user = r
            .summary
            .login_user
            .clone()
            .unwrap_or_else(|| "USER".into());
        let run_confirm = if r.summary.sudo {
            format!("run:   sudo {exe} confirm")
        } else {
            format!("become root (su -) and run:   {exe} confirm")
        };
        let addr = &r.summary.address;
        if r.summary.ssh_port_changed {
            format!(
                "\nApplied. Everything is rolled back in {when} unless you confirm:\n\
                 \n  1. Keep this session open.\n  2. From a NEW terminal:   ssh -p {port} {user}@{addr}\n  \
                 3. There, {run_confirm}\n\
                 \nIf the new login fails, do nothing: the old configuration comes back by itself, even if\n\
                 this session dies or the machine reboots. `{exe} status` shows the time left.\n"
            )
        } else {
            format!(
                "\nApplied. Everything is rolled back in {when} unless you confirm:\n\
                 \n  1. Keep this session open.\n  2. Check that a NEW login still works:   ssh -p {port} {user}@{addr}\n  \
                 3. Then, here or there, {run_confirm}\n\
                 \nIf something is wrong, do nothing: the old configuration comes back by itself, even if\n\
                 this session dies or the machine reboots. `{exe} status` shows the time left.\n"
            )
        }
    } else {
        format!(
            "\nApplied to {}. It is rolled back in {when} unless you run:\n  {exe} --root {} confirm\n",
            root.dir().display(),
            root.dir().display()
        )
    }
}

/// The command that keeps the change, as the admin types it (after `sudo`/`su -` on the live
/// system; with `--root` elsewhere).
fn confirm_command(root: &Root, r: &apply::ApplyReport) -> String {
    let exe = std::env::current_exe()
        .map(|p| crate::config::shell::quote(&p.display().to_string()))
        .unwrap_or_else(|_| "pbx-harden".into());
    if !root.is_live() {
        let dir = crate::config::shell::quote(&root.dir().display().to_string());
        format!("{exe} --root {dir} confirm")
    } else if r.summary.sudo {
        format!("sudo {exe} confirm")
    } else {
        format!("{exe} confirm")
    }
}

/// Open (create, mode 0600, never through a symlink) the file a generated password goes to,
/// before anything is applied: a path that cannot be written must not lose the password.
fn open_password_file(path: &std::path::Path) -> Result<std::fs::File> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .custom_flags(nix::libc::O_NOFOLLOW)
        .open(path)
        .map_err(|e| Error::invalid(format!("--password-file {}: {e}", path.display())))?;
    f.set_permissions(std::fs::Permissions::from_mode(0o600))
        .map_err(|e| Error::invalid(format!("--password-file {}: {e}", path.display())))?;
    Ok(f)
}

fn apply_cmd(
    root: &Root,
    answers: &Answers,
    timeout: Option<Duration>,
    format: AuditFormat,
    password_file: Option<&std::path::Path>,
) -> Result<i32> {
    if format == AuditFormat::Text {
        return apply_text(root, answers, timeout, password_file);
    }
    match apply_json(root, answers, timeout, password_file) {
        Ok(v) => {
            outln!("{v}");
            Ok(0)
        }
        Err(e) => {
            outln!("{}", json::error("apply", &e));
            Ok(e.exit_code())
        }
    }
}

fn apply_text(
    root: &Root,
    answers: &Answers,
    timeout: Option<Duration>,
    password_file: Option<&std::path::Path>,
) -> Result<i32> {
    if let Some(r) = apply::recover(root)? {
        outln!("{}", r.headline());
    }
    apply::ensure_no_pending(root)?;
    let sys = System::detect(root, &Env::from_process())?;
    let p = plan::build(&sys, answers, &mut rand::rng());
    if !p.is_valid() {
        return Err(Error::Refused(p.refusals()));
    }
    let pw_file = match (password_file, &p.summary.generated_password) {
        (Some(path), Some(_)) => Some(open_password_file(path)?),
        _ => None,
    };
    for w in p.problems.iter().filter(|p| !p.is_error()) {
        outln!("{w}");
    }
    let (tx, rx) = std::sync::mpsc::channel();
    let printer = std::thread::spawn(move || {
        for line in rx {
            outln!("  {line}");
        }
    });
    let r = apply::apply(
        &sys,
        &p,
        &ApplyOptions {
            timeout,
            progress: Some(tx),
        },
    );
    let _ = printer.join();
    let r = r?;
    if r.nothing_to_do {
        outln!("Nothing to change: the system already matches the answers.");
        return Ok(0);
    }
    out!("{}", confirm_instructions(root, &r));
    if let Some(pw) = &p.summary.generated_password {
        let user = p.summary.login_user.as_deref().unwrap_or("the user");
        match (pw_file, password_file) {
            (Some(mut f), Some(path)) => {
                use std::io::Write;
                writeln!(f, "{}", pw.expose()).map_err(|e| {
                    Error::invalid(format!("--password-file {}: {e}", path.display()))
                })?;
                outln!(
                    "\nThe generated password of {user} is in {} (mode 0600).",
                    path.display()
                );
            }
            _ => outln!(
                "\nThe generated password of {user} (shown this once; write it down):\n\n    {}\n",
                pw.expose()
            ),
        }
    }
    Ok(0)
}

/// `apply --format json`: the result object, or the error (printed as JSON by the caller).
fn apply_json(
    root: &Root,
    answers: &Answers,
    timeout: Option<Duration>,
    password_file: Option<&std::path::Path>,
) -> Result<serde_json::Value> {
    let recovered = apply::recover(root)?.map(|r| r.headline());
    apply::ensure_no_pending(root)?;
    let sys = System::detect(root, &Env::from_process())?;
    let p = plan::build(&sys, answers, &mut rand::rng());
    if !p.is_valid() {
        return Err(Error::Refused(p.refusals()));
    }
    let mut pw_file = None;
    if p.summary.generated_password.is_some() {
        let Some(path) = password_file else {
            return Err(Error::invalid(
                "user.generate: with --format json the generated password goes only to \
                 --password-file FILE (never to standard output); give one",
            ));
        };
        pw_file = Some(open_password_file(path)?);
    }
    let r = apply::apply(
        &sys,
        &p,
        &ApplyOptions {
            timeout,
            progress: None,
        },
    )?;
    let mut written = None;
    if let (Some(pw), Some(mut f), Some(path)) =
        (&p.summary.generated_password, pw_file, password_file)
    {
        use std::io::Write;
        writeln!(f, "{}", pw.expose())
            .map_err(|e| Error::invalid(format!("--password-file {}: {e}", path.display())))?;
        written = Some(path.display().to_string());
    }
    let confirm = (!r.nothing_to_do).then(|| confirm_command(root, &r));
    Ok(json::apply(
        &p,
        &r,
        confirm.as_deref(),
        written.as_deref(),
        recovered.as_deref(),
    ))
}

#[cfg(not(feature = "tui"))]
fn wizard(_cli: &Cli) -> Result<i32> {
    Err(Error::invalid(
        "this pbx-harden was built without the wizard (cargo feature `tui`): name a \
         command, e.g. `pbx-harden plan --answers FILE` (see --help)",
    ))
}

#[cfg(feature = "tui")]
fn wizard(cli: &Cli) -> Result<i32> {
    let prefill = cli.answers.as_deref().map(Answers::load).transpose()?;
    let root = if cli.demo {
        let dir = crate::demo::temp_root()?;
        errln!("The demo system is a copy in {}", dir.display());
        Root::open(&dir)?
    } else {
        open_root(cli.root.as_deref().unwrap_or(std::path::Path::new("/")))?
    };
    let code = crate::tui::run(crate::tui::WizardOptions {
        root: root.clone(),
        prefill,
        ascii: cli.ascii,
    })?;
    if cli.demo {
        use std::io::Write as _;
        // (the terminal may be gone by now: no panic on a failed write)
        let _ = writeln!(
            std::io::stderr(),
            "The demo system stays in {} for you to look at.",
            root.dir().display()
        );
    }
    Ok(code)
}

fn demo() -> Result<i32> {
    let dir = crate::demo::temp_root()?;
    let root = Root::open(&dir)?;
    let answers = Answers::parse(crate::demo::EXAMPLE_ANSWERS, "assets/demo/answers.toml")?;
    outln!(
        "== The demo system is a copy of a small trixbox-like server in {}\n",
        dir.display()
    );
    outln!(
        "== The answers (assets/demo/answers.toml):\n\n{}",
        crate::demo::EXAMPLE_ANSWERS
    );
    let sys = System::detect(&root, &Env::from_process())?;
    let p = plan::build(&sys, &answers, &mut rand::rng());
    outln!("== pbx-harden --root {} plan\n", dir.display());
    out!("{}", plan::render(&p, &sys));
    if !p.is_valid() {
        return Err(Error::Refused(p.refusals()));
    }
    outln!("\n== pbx-harden --root {} apply\n", dir.display());
    apply_cmd(&root, &answers, None, AuditFormat::Text, None)?;
    outln!("== pbx-harden --root {} status\n", dir.display());
    out!("{}", status_text(&root)?);
    outln!("\n== pbx-harden --root {} confirm\n", dir.display());
    let r = apply::confirm(&root, &Env::from_process(), true)?;
    for s in &r.steps {
        outln!("{s}");
    }
    outln!(
        "\n== pbx-harden --root {} audit   (what is left to do)\n",
        dir.display()
    );
    let sys = System::detect(&root, &Env::from_process())?;
    out!("{}", crate::audit::audit(&sys).to_text());
    outln!(
        "\nDone. The hardened copy stays in {} for you to look at.",
        dir.display()
    );
    Ok(0)
}

/// `plan --format json` and `apply --format json` (version 1), built from the plan and the
/// apply report. Secrets never appear: diffs are masked as in the text plan, the password hash
/// is not shown, and a generated password is only named by the file it went to.
mod json {
    use serde_json::{Value, json};

    use crate::apply::ApplyReport;
    use crate::error::Error;
    use crate::plan::{self, CheckStatus, ConfirmStep, Plan};
    use crate::problems::Problem;

    pub const VERSION: u32 = 1;

    fn problem(p: &Problem) -> Value {
        json!({ "key": p.key, "message": p.message })
    }

    fn checks(p: &Plan) -> Vec<Value> {
        p.checks
            .iter()
            .map(|c| {
                let (status, detail) = match &c.status {
                    CheckStatus::Pass(d) => ("pass", d),
                    CheckStatus::Warn(d) => ("warn", d),
                    CheckStatus::Fail(d) => ("fail", d),
                    CheckStatus::Skipped(d) => ("skipped", d),
                };
                json!({ "name": c.name, "status": status, "detail": detail })
            })
            .collect()
    }

    fn problems(p: &Plan, errors: bool) -> Vec<Value> {
        p.problems
            .iter()
            .filter(|x| x.is_error() == errors)
            .map(problem)
            .collect()
    }

    fn commands(p: &Plan) -> Vec<String> {
        p.actions.iter().flat_map(|a| a.describe(&p.root)).collect()
    }

    fn on_confirm(p: &Plan) -> Vec<String> {
        p.on_confirm
            .iter()
            .map(|c| match c {
                ConfirmStep::SetShellVar { path, key, value } => {
                    format!("set {key}=\"{value}\" in {path}")
                }
                ConfirmStep::RemoveFromShellList { path, key, item } => {
                    format!("take {item} out of {key} in {path}")
                }
                ConfirmStep::Run { argv } => argv.join(" "),
            })
            .collect()
    }

    pub fn plan(p: &Plan, pending: Option<&str>) -> Value {
        let mut errors = problems(p, true);
        for c in &p.checks {
            if let CheckStatus::Fail(m) = &c.status {
                errors.push(problem(&Problem::error(
                    "lockout check",
                    format!("{}: {m}", c.name),
                )));
            }
        }
        json!({
            "version": VERSION,
            "command": "plan",
            "valid": p.is_valid(),
            "changed": p.is_valid() && !p.is_empty(),
            "errors": errors,
            "warnings": problems(p, false),
            "checks": checks(p),
            "files": p.changes.iter().map(|c| json!({
                "path": c.path,
                "why": c.why,
                "diff": plan::diff(c, &p.root),
            })).collect::<Vec<_>>(),
            "commands": commands(p),
            "on_confirm": on_confirm(p),
            "firewall_managers": p.summary.firewall_managers,
            "login_user": p.summary.login_user,
            "ssh_port": p.summary.ssh_port,
            "ssh_port_changed": p.summary.ssh_port_changed,
            "confirm_timeout_seconds": p.summary.confirm_timeout.as_secs(),
            "password_generated": p.summary.generated_password.is_some(),
            "pending": pending,
        })
    }

    pub fn apply(
        p: &Plan,
        r: &ApplyReport,
        confirm: Option<&str>,
        password_file: Option<&str>,
        recovered: Option<&str>,
    ) -> Value {
        let changed = !r.nothing_to_do;
        json!({
            "version": VERSION,
            "command": "apply",
            "changed": changed,
            "errors": [],
            "warnings": problems(p, false),
            "checks": checks(p),
            "files": if changed { r.summary.files.clone() } else { Vec::new() },
            "commands": if changed { commands(p) } else { Vec::new() },
            "steps": r.steps,
            "txid": changed.then_some(&r.txid),
            "deadline": changed.then_some(r.deadline),
            "deadline_rfc3339": changed.then(|| humantime::format_rfc3339_seconds(
                std::time::UNIX_EPOCH + std::time::Duration::from_secs(r.deadline)
            ).to_string()),
            "confirm_command": confirm,
            "login_user": p.summary.login_user,
            "ssh_port": p.summary.ssh_port,
            "ssh_port_changed": changed && p.summary.ssh_port_changed,
            "password_file": password_file,
            "recovered": recovered,
        })
    }

    /// A refused or failed command: nothing changed (a failed apply rolled itself back).
    pub fn error(command: &str, e: &Error) -> Value {
        let errors: Vec<Value> = match e {
            Error::Refused(ps) => ps.iter().map(problem).collect(),
            other => vec![json!({ "key": "", "message": other.to_string() })],
        };
        json!({
            "version": VERSION,
            "command": command,
            "changed": false,
            "refused": matches!(e, Error::Refused(_)),
            "errors": errors,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn walk(cmd: &clap::Command, path: &str, missing: &mut Vec<String>) {
        for a in cmd.get_arguments() {
            if a.is_hide_set() || a.get_help().is_some() {
                continue;
            }
            missing.push(format!("{path} --{}", a.get_id()));
        }
        let mut seen = std::collections::BTreeSet::new();
        for s in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
            match s.get_about() {
                None => missing.push(format!("{path} {}", s.get_name())),
                // Each command's own: a flattened struct's doc comment once replaced them
                // all in the deferred commands.
                Some(about) if !seen.insert(about.to_string()) => {
                    missing.push(format!("{path} {}: about shared: {about}", s.get_name()))
                }
                Some(_) => {}
            }
            walk(s, &format!("{path} {}", s.get_name()), missing);
        }
    }

    #[test]
    fn the_definitions_are_consistent_and_every_option_says_what_it_does() {
        Cli::command().debug_assert();
        let mut missing = Vec::new();
        let mut cmd = Cli::command();
        cmd.build();
        walk(&cmd, "pbx-harden", &mut missing);
        assert!(missing.is_empty(), "no help text: {missing:?}");
    }

    #[test]
    fn root_is_refused_where_it_means_nothing_and_accepted_on_either_side() {
        let e = run(Cli::parse_from([
            "pbx-harden",
            "--root",
            "/tmp",
            "password",
        ]))
        .unwrap_err();
        assert!(
            e.to_string().contains("`password` works on no target"),
            "{e}"
        );
        assert!(Cli::try_parse_from(["pbx-harden", "password", "--root", "/tmp"]).is_err());
        assert!(Cli::try_parse_from(["pbx-harden", "demo", "--root", "/tmp"]).is_err());
        assert!(Cli::try_parse_from(["pbx-harden", "rollback", "--no-restart"]).is_ok());
        let c = Cli::parse_from(["pbx-harden", "status", "--root", "/x"]);
        let Some(Command::Status { target }) = c.command else {
            panic!("status")
        };
        assert_eq!(target_dir(&None, &target).unwrap(), PathBuf::from("/x"));
        assert!(target_dir(&Some("/y".into()), &target).is_err());
        assert_eq!(
            target_dir(&Some("/y".into()), &Target::default()).unwrap(),
            PathBuf::from("/y")
        );
    }
}
