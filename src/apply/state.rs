//! Long-lived state: which users pbx-harden created (and the admin confirmed), so that a
//! second run with the same answers reuses them instead of refusing an existing account.

use serde::{Deserialize, Serialize};

use super::fsops::{self, Meta};
use super::journal::STATE_DIR;
use crate::error::{Error, IoContext, Result};
use crate::root::Root;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct State {
    #[serde(default)]
    pub managed_users: Vec<String>,
}

fn path(root: &Root) -> std::path::PathBuf {
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

pub fn add_managed_user(root: &Root, name: &str) -> Result<()> {
    let mut s = load(root);
    if s.managed_users.iter().any(|u| u == name) {
        return Ok(());
    }
    s.managed_users.push(name.to_string());
    super::journal::ensure_state_dir(root)?;
    let p = path(root);
    let bytes = serde_json::to_vec_pretty(&s)
        .map_err(|e| Error::invalid(format!("{}: {e}", p.display())))?;
    fsops::write_atomic(&p, &bytes, &Meta::new_file(0o600)).at(&p)
}
