//! Firewall and brute-force protection: APF + BFD where installed, fail2ban otherwise.
//! (Stub: filled in by the firewall work.)

use crate::answers::Answers;
use crate::plan::Builder;
use crate::root::Root;

/// What is installed on the target.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FirewallInfo {}

pub fn detect(_root: &Root) -> FirewallInfo {
    FirewallInfo::default()
}

pub fn plan(_b: &mut Builder<'_>, _answers: &Answers) {}
