//! pbx-harden's own state on the target, as a fact: where it lives, and which users
//! pbx-harden created (and the admin confirmed), so that a second run with the same answers
//! reuses them instead of refusing an existing account. `apply` writes it.

use serde::{Deserialize, Serialize};

use crate::root::Root;

/// Where pbx-harden keeps its journal, snapshots and state on the target.
pub const STATE_DIR: &str = "/var/lib/pbx-harden";

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct State {
    #[serde(default)]
    pub managed_users: Vec<String>,
}

pub fn path(root: &Root) -> std::path::PathBuf {
    root.host(&format!("{STATE_DIR}/state.json"))
}

pub fn load(root: &Root) -> State {
    std::fs::read(path(root))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default()
}

pub fn managed_users(root: &Root) -> Vec<String> {
    load(root).managed_users
}

/// Seconds since the epoch (0 if the clock is before it).
pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}
