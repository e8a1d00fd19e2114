//! The steps of the hardening procedure, in the order the plan runs them. Each is a folder
//! with its planner (`mod.rs`), its facts where it has its own (`facts.rs`), its lockout
//! checks and its audit rules:
//!
//! | step | plans from | hands on |
//! |---|---|---|
//! | `services` | the service inventory | - |
//! | `user` | the accounts | - |
//! | `ssh` | sshd's configuration | `SshOutcome`: the SSH port, moved or not |
//! | `asterisk` | the extension scan, Asterisk's files | - |
//! | `firewall` | `FirewallInfo` (managers, APF, ports) + `SshOutcome` | `Ctx`, `Spec` to `bruteforce` |
//! | `bruteforce` | BFD / fail2ban facts, the firewall's `Ctx` and `Spec` | - |
//!
//! Below the steps: the host's own facts (`crate::host`) and the plan's data and builder
//! (`crate::model`); above them: `crate::system` (all facts), `crate::answers` (all
//! sections), `crate::plan::build` (the order), `crate::audit`, apply and the wizard.

pub mod asterisk;
pub mod bruteforce;
pub mod firewall;
pub mod services;
pub mod ssh;
pub mod user;

/// serde's `skip_serializing_if` for the answers' booleans that default to false.
pub(crate) fn is_false(b: &bool) -> bool {
    !*b
}
