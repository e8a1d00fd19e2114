//! The command line's syntax (clap): `Cli`, its commands and their options, the part that
//! `cli` (what each command does), `firstboot` and `manpage` (the man page and completions
//! are generated from it) share. Doc comments here are the `--help` text.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::secrets;

/// `--version`: the version and the target the binary was built for (a static musl binary
/// runs on every supported distribution; a glibc one needs glibc 2.34 or newer).
pub const LONG_VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (",
    env!("PBX_HARDEN_TARGET"),
    ")"
);

#[derive(Parser, Debug)]
#[command(
    name = "pbx-harden",
    version = LONG_VERSION,
    about = "Harden an Asterisk PBX (trixbox, FreePBX, Issabel): login user, SSH, firewall, \
             secrets; every change reviewed as a diff and rolled back unless confirmed.",
    after_help = "Without a command, pbx-harden opens the wizard (as root, on this system).\n\
\n\
Examples:\n  \
  pbx-harden                              the wizard on this system\n  \
  pbx-harden --demo                       the wizard on a copy of the bundled demo system\n  \
  pbx-harden --root /mnt/pbx              the wizard on a mounted disk\n  \
  pbx-harden plan --answers site.toml     what an answers file would change\n  \
  pbx-harden apply --answers site.toml    apply it, with the rollback timer\n  \
  pbx-harden audit                        what is still open\n\
\n\
See pbx-harden(8) for the answers file, the exit codes and the safety model."
)]
pub struct Cli {
    /// The target system's root directory: "/" (the default) is this system, the only one
    /// whose services are restarted; a mounted disk or an offline copy otherwise. Also
    /// accepted before a command that works on a target
    #[arg(long, value_name = "DIR")]
    pub root: Option<PathBuf>,

    /// Open the wizard on a temporary copy of the bundled demo system
    #[arg(long, conflicts_with = "root")]
    pub demo: bool,

    /// Pre-fill every screen of the wizard from an answers file (TOML, as `plan` reads)
    #[arg(long, value_name = "FILE")]
    pub answers: Option<PathBuf>,

    /// Plain ASCII, no colour, no alternate screen (also: TERM=vt100, NO_COLOR, non-UTF-8 locale)
    #[arg(long)]
    pub ascii: bool,

    #[command(subcommand)]
    pub command: Option<Command>,
}

// `--root` of a command that works on a target system. A comment, not a doc comment: the
// doc comment of a flattened struct is its `about`, and in a deferred subcommand (below)
// that replaced the subcommand's own.
#[derive(Args, Debug, Clone, Default)]
pub struct Target {
    /// The target system's root directory: "/" (the default) is this system, the only one
    /// whose services are restarted; a mounted disk or an offline copy otherwise
    #[arg(long = "root", value_name = "DIR")]
    pub root: Option<PathBuf>,
}

// The commands' options are built only for the command given (`defer`): the wizard's
// start-up does not build them all. (The man page and the completions build them all; only
// clap's own `help firstboot <command>` entries are no longer in them: clap copies its
// `help` tree before a deferred command has its subcommands.)
#[derive(Subcommand, Debug)]
#[command(defer = true)]
pub enum Command {
    /// Validate an answers file and print every change as a diff, and every command; change nothing
    #[command(
        after_help = "Exit status: 0 the plan is valid, 2 problems (each named by its \
        answers key).\n\nExamples:\n  pbx-harden plan --answers site.toml\n  \
        pbx-harden plan --root /mnt/pbx --answers site.toml\n  \
        pbx-harden plan --answers site.toml --format json | jq .changed"
    )]
    Plan {
        /// The answers file (TOML): [user], [ssh], [services], [extensions], [firewall],
        /// [apf], [bfd], [fail2ban], [apply]; see pbx-harden(8)
        #[arg(long, value_name = "FILE")]
        answers: PathBuf,
        /// Output: text for people, json for scripts and fleets (versioned; see pbx-harden(8))
        #[arg(long, value_enum, default_value_t = AuditFormat::Text)]
        format: AuditFormat,
        #[command(flatten)]
        target: Target,
    },
    /// Apply an answers file and arm the rollback timer
    #[command(
        after_help = "The change is rolled back by itself unless `pbx-harden confirm` runs \
        in time, from a new login on the new SSH port. It survives a dead terminal and a \
        reboot.\n\nExamples:\n  pbx-harden apply --answers site.toml\n  \
        pbx-harden apply --answers site.toml --confirm-timeout 10m\n  \
        pbx-harden apply --answers site.toml --format json --password-file /root/pw"
    )]
    Apply {
        /// The answers file (TOML), as `plan` reads it
        #[arg(long, value_name = "FILE")]
        answers: PathBuf,
        /// Output: text for people, json for scripts and fleets (versioned; see pbx-harden(8))
        #[arg(long, value_enum, default_value_t = AuditFormat::Text)]
        format: AuditFormat,
        /// Write a generated password into FILE (created mode 0600) instead of printing it;
        /// required with --format json when user.generate is set
        #[arg(long, value_name = "FILE")]
        password_file: Option<PathBuf>,
        /// Time to confirm before everything is rolled back, e.g. 90s, 5m, 1h (overrides
        /// apply.confirm_timeout; default 5m)
        #[arg(long, value_name = "DURATION")]
        confirm_timeout: Option<String>,
        #[command(flatten)]
        target: Target,
    },
    /// Keep the pending change (run it from a new login on the new SSH port)
    #[command(
        after_help = "Examples:\n  ssh -p 22022 admin@pbx   then   sudo pbx-harden confirm\n  \
        pbx-harden confirm --here     at the console, where no new SSH login can prove the path\n\n\
        On the live system after an SSH port move, --here asks twice at a terminal (yes, then \
        the new port); without a terminal it must be given twice (--here --here)."
    )]
    Confirm {
        /// Confirm from this session (e.g. at the console) without the new-login check
        #[arg(long, action = clap::ArgAction::Count)]
        here: u8,
        #[command(flatten)]
        target: Target,
    },
    /// Undo the pending change now
    #[command(after_help = "Examples:\n  pbx-harden rollback\n  \
        pbx-harden rollback --reason \"wrong port\"")]
    Rollback {
        /// Do not restart services (used by the boot safeguard, before they start)
        #[arg(long, hide = true)]
        no_restart: bool,
        /// Why, recorded in the change's history and shown by `status`
        #[arg(long, value_name = "TEXT", default_value = "requested by the admin")]
        reason: String,
        #[command(flatten)]
        target: Target,
    },
    /// Show the pending change and the time left
    #[command(after_help = "Examples:\n  pbx-harden status\n  pbx-harden status --root /mnt/pbx")]
    Status {
        #[command(flatten)]
        target: Target,
    },
    /// Print a generated passphrase and its strength
    #[command(after_help = "Examples:\n  pbx-harden password\n  pbx-harden password --words 6")]
    Password {
        /// Number of words (4 to 12); five give about 75 bits
        #[arg(long, default_value_t = secrets::DEFAULT_WORDS)]
        words: usize,
    },
    /// Copy the bundled demo system to a temporary directory and run plan, apply and confirm there
    #[command(
        after_help = "Examples:\n  pbx-harden demo\n  pbx-harden demo --extract /tmp/pbx \
        && pbx-harden --root /tmp/pbx"
    )]
    Demo {
        /// Only write the demo system into DIR (to look at, or to try --root DIR on)
        #[arg(long, value_name = "DIR")]
        extract: Option<PathBuf>,
    },
    /// Report the server's security posture; change nothing (exit 0 clean, 1 findings, 2 error)
    #[command(
        after_help = "Examples:\n  pbx-harden audit\n  pbx-harden audit --format json | jq ."
    )]
    Audit {
        /// Output: text for people, json for scripts (versioned; see pbx-harden(8))
        #[arg(long, value_enum, default_value_t = AuditFormat::Text)]
        format: AuditFormat,
        #[command(flatten)]
        target: Target,
    },
    /// Run the wizard on the console at the next boot, before the login prompt, once
    #[command(after_help = "Examples:\n  pbx-harden firstboot enable\n  \
        pbx-harden firstboot enable --root /mnt/image     (an image being prepared)\n  \
        pbx-harden firstboot status")]
    Firstboot {
        #[command(subcommand)]
        action: FirstbootAction,
    },
    /// Print a shell completion script
    #[command(
        after_help = "Examples:\n  pbx-harden completions bash > /etc/bash_completion.d/pbx-harden\n  \
        pbx-harden completions fish > ~/.config/fish/completions/pbx-harden.fish"
    )]
    Completions {
        /// The shell
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// (internal) print the man page pbx-harden(8) in roff
    #[command(hide = true)]
    Manpage,
    /// (internal) the rollback timer process
    #[command(hide = true)]
    Watchdog {
        #[arg(long)]
        txid: String,
        #[command(flatten)]
        target: Target,
    },
}

#[derive(Subcommand, Debug)]
pub enum FirstbootAction {
    /// Install the first-boot unit (systemd) or init script (SysV)
    Enable {
        #[command(flatten)]
        target: Target,
    },
    /// Remove it again
    Disable {
        #[command(flatten)]
        target: Target,
    },
    /// Whether it is installed, and whether it has run
    Status {
        #[command(flatten)]
        target: Target,
    },
    /// (internal) what the unit runs at boot: offer the wizard on every console
    #[command(hide = true)]
    Run,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuditFormat {
    Text,
    Json,
}
