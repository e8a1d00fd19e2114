//! The bundled demo system: a small trixbox-like root written for pbx-harden (no copied
//! vendor files), embedded in the binary so `pbx-harden demo` works anywhere.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use crate::error::{Error, IoContext, Result};

pub enum DemoEntry {
    File(&'static [u8], bool),
    Symlink(&'static str),
    Dir,
}

include!(concat!(env!("OUT_DIR"), "/demo_root.rs"));

/// The example answers file (also in the README).
pub const EXAMPLE_ANSWERS: &str = include_str!("../assets/demo/answers.toml");

/// Files that keep owner-only modes on a real system.
fn mode_for(rel: &str, exec: bool) -> u32 {
    match rel {
        "etc/shadow" | "etc/gshadow" => 0o600,
        "etc/ssh/sshd_config" => 0o600,
        _ if rel.starts_with("etc/asterisk/") => 0o640,
        _ if exec => 0o755,
        _ => 0o644,
    }
}

/// Write the demo root into `dir` (created if needed).
pub fn materialize(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).at(dir)?;
    for (rel, entry) in DEMO_ROOT {
        let p = dir.join(rel);
        match entry {
            DemoEntry::Dir => {
                std::fs::create_dir_all(&p).at(&p)?;
            }
            DemoEntry::File(bytes, exec) => {
                if rel.ends_with(".keep") {
                    continue;
                }
                std::fs::write(&p, bytes).at(&p)?;
                std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode_for(rel, *exec)))
                    .at(&p)?;
            }
            DemoEntry::Symlink(target) => {
                std::os::unix::fs::symlink(target, &p).at(&p)?;
            }
        }
    }
    Ok(())
}

/// A fresh temporary directory holding the demo root.
pub fn temp_root() -> Result<PathBuf> {
    let base = std::env::temp_dir();
    for i in 0..1000u32 {
        let p = base.join(format!("pbx-harden-demo-{}-{i}", std::process::id()));
        match std::fs::create_dir(&p) {
            Ok(()) => {
                materialize(&p)?;
                return Ok(p);
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(Error::io(p, e)),
        }
    }
    Err(Error::invalid(
        "could not create a temporary directory for the demo",
    ))
}
