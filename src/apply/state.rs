//! Long-lived state: which users pbx-harden created (and the admin confirmed), so that a
//! second run with the same answers reuses them instead of refusing an existing account.
//! Read as a fact by `system::state`; written here.

use super::fsops::{self, Meta};
use crate::error::{Error, IoContext, Result};
use crate::root::Root;

use crate::host::state::path;
pub use crate::host::state::{State, load, managed_users};

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
