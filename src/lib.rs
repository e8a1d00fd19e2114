//! pbx-harden: harden an Asterisk PBX (trixbox, FreePBX, Issabel or plain Asterisk) the way
//! "Securing your trixbox server" describes, with every change reviewed as a diff and applied
//! as one transaction that rolls itself back unless the admin confirms from a new login.
//!
//! The core (everything but `tui`) has no terminal-UI dependency; the headless CLI, the
//! audit and the wizard share it. The wizard is the default cargo feature `tui` (ratatui);
//! `cargo build --no-default-features` builds the core and the CLI without it. The core
//! never unwraps or panics outside tests: bad input and broken invariants become errors.
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

// Command output that never panics: a closed pipe (`audit | true`, `apply | head`) does not
// stop a command half-way; it ends with its documented exit code. Every module below can use
// `out!`, `outln!` and `errln!`.
macro_rules! out {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        let _ = write!(std::io::stdout(), $($t)*);
    }};
}
macro_rules! outln {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($t)*);
    }};
}
macro_rules! errln {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($t)*);
    }};
}

pub mod answers;
pub mod apply;
pub mod args;
pub mod audit;
pub mod cli;
pub mod config;
pub mod demo;
pub mod error;
pub mod exec;
pub mod firstboot;
pub mod host;
pub mod manpage;
pub mod model;
pub mod plan;
pub mod problems;
pub mod profile;
pub mod redact;
pub mod root;
pub mod secrets;
pub mod steps;
pub mod system;
pub mod verify;
// The wizard (cargo feature `tui`, on by default) may unwrap what its own state guarantees;
// the core may not.
#[cfg(feature = "tui")]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
pub mod tui;

pub use error::{Error, Result};
