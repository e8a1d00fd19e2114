//! Format-preserving editors. Each keeps every byte it does not have to change, so an
//! unchanged file round-trips to identical bytes.

pub mod ini;
pub mod jail;
pub mod shell;
pub mod shellvars;
pub mod sshd;
pub mod text;
pub mod trust;
