//! The wizard: every step of the seed procedure as a screen, over the core.
//!
//! `app` holds the state and `update` (events in, effects out); `screens/` has one file per
//! screen; `run` is the event loop; `term` and `backend` talk to the terminal frugally
//! (9600-baud serial consoles are a target), and `keys` parses what the terminal sends.

pub mod app;
pub mod backend;
pub mod field;
pub mod keys;
pub mod run;
pub mod screens;
pub mod term;
pub mod theme;
pub mod width;
pub mod words;

pub use run::{WizardOptions, run};
