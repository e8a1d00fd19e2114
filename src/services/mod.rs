//! System services: inventory (systemd and SysV, offline too) and disabling the ones a PBX
//! does not need. (Stub: filled in by the services work.)

use crate::answers::Answers;
use crate::plan::Builder;
use crate::root::Root;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Inventory {}

pub fn detect(_root: &Root) -> Inventory {
    Inventory::default()
}

pub fn plan(_b: &mut Builder<'_>, _answers: &Answers) {}
