//! SIP/IAX extension secrets: find the weak ones and replace them in files the admin owns.
//! (Stub: filled in by the secrets work.)

use rand::Rng;

use crate::answers::Answers;
use crate::plan::Builder;
use crate::root::Root;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scan {}

pub fn scan(_root: &Root) -> Scan {
    Scan::default()
}

pub fn plan<R: Rng + ?Sized>(_b: &mut Builder<'_>, _answers: &Answers, _rng: &mut R) {}
