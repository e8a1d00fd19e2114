//! pbx-harden: harden an Asterisk PBX (trixbox, FreePBX, Issabel or plain Asterisk) the way
//! "Securing your trixbox server" describes, with every change reviewed as a diff and applied
//! as one transaction that rolls itself back unless the admin confirms from a new login.
//!
//! The core (everything but `tui`) has no terminal-UI dependency; the headless CLI, the
//! audit and the wizard share it.

pub mod answers;
pub mod apply;
pub mod audit;
pub mod cli;
pub mod config;
pub mod demo;
pub mod error;
pub mod exec;
pub mod extensions;
pub mod firewall;
pub mod firstboot;
pub mod manpage;
pub mod plan;
pub mod problems;
pub mod root;
pub mod secrets;
pub mod services;
pub mod system;
pub mod tui;

pub use error::{Error, Result};
