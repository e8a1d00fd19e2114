//! The target system: a directory that stands for its `/`.
//!
//! Paths inside the target are written as absolute strings (`/etc/ssh/sshd_config`) everywhere
//! in the core; `Root` maps them onto the host. Symlinks are followed *inside* the root, as a
//! chroot would, so nothing outside the root is ever read or written through a link.

use std::fs;
use std::io;
use std::path::{Component, Path, PathBuf};

use crate::error::{Error, IoContext, Result};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Root {
    dir: PathBuf,
}

impl Root {
    /// Open a target root. It must be a directory with an `etc/` in it.
    pub fn open(dir: impl AsRef<Path>) -> Result<Root> {
        let given = dir.as_ref();
        let dir = fs::canonicalize(given).map_err(|e| {
            Error::invalid(format!(
                "--root {}: {}",
                given.display(),
                match e.kind() {
                    io::ErrorKind::NotFound => "no such directory".to_string(),
                    _ => e.to_string(),
                }
            ))
        })?;
        if !dir.is_dir() {
            return Err(Error::invalid(format!(
                "--root {}: not a directory",
                given.display()
            )));
        }
        if !dir.join("etc").is_dir() {
            return Err(Error::invalid(format!(
                "--root {}: this does not look like a system root (no etc/ directory in it)",
                given.display()
            )));
        }
        Ok(Root { dir })
    }

    /// The live system.
    pub fn live() -> Root {
        Root {
            dir: PathBuf::from("/"),
        }
    }

    /// True when the target is the running system: only then are services restarted.
    pub fn is_live(&self) -> bool {
        self.dir == Path::new("/")
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Host path of a target path, following symlinks inside the root.
    pub fn host(&self, target: &str) -> PathBuf {
        if self.is_live() {
            return PathBuf::from(target);
        }
        self.resolve(target, 0)
    }

    fn resolve(&self, target: &str, depth: usize) -> PathBuf {
        // Walk component by component; a symlink is re-rooted (absolute) or joined (relative).
        let mut inside = PathBuf::from("/");
        let comps: Vec<_> = Path::new(target).components().collect();
        for (i, c) in comps.iter().enumerate() {
            match c {
                Component::RootDir | Component::CurDir | Component::Prefix(_) => {}
                Component::ParentDir => {
                    inside.pop();
                }
                Component::Normal(name) => {
                    let candidate = inside.join(name);
                    let host = self.join_raw(&candidate);
                    let is_last = i + 1 == comps.len();
                    match fs::symlink_metadata(&host) {
                        Ok(md) if md.file_type().is_symlink() && depth < 40 && !is_last => {
                            if let Ok(link) = fs::read_link(&host) {
                                let next = if link.is_absolute() {
                                    link
                                } else {
                                    inside.join(link)
                                };
                                let rest: PathBuf = comps[i + 1..].iter().collect();
                                let joined = next.join(rest);
                                return self.resolve(&joined.to_string_lossy(), depth + 1);
                            }
                            inside = candidate;
                        }
                        Ok(md) if md.file_type().is_symlink() && depth < 40 && is_last => {
                            // The final component: follow it too, so writes go to the real file.
                            if let Ok(link) = fs::read_link(&host) {
                                let next = if link.is_absolute() {
                                    link
                                } else {
                                    inside.join(link)
                                };
                                return self.resolve(&next.to_string_lossy(), depth + 1);
                            }
                            inside = candidate;
                        }
                        _ => inside = candidate,
                    }
                }
            }
        }
        self.join_raw(&inside)
    }

    fn join_raw(&self, inside: &Path) -> PathBuf {
        let rel = inside.strip_prefix("/").unwrap_or(inside);
        self.dir.join(rel)
    }

    /// Host path without following the last component (for creating and removing entries).
    pub fn host_nofollow(&self, target: &str) -> PathBuf {
        if self.is_live() {
            return PathBuf::from(target);
        }
        let p = Path::new(target);
        match (p.parent(), p.file_name()) {
            (Some(parent), Some(name)) => self.resolve(&parent.to_string_lossy(), 0).join(name),
            _ => self.join_raw(p),
        }
    }

    pub fn exists(&self, target: &str) -> bool {
        self.host(target).exists()
    }

    /// Read a file; `Ok(None)` when it does not exist.
    pub fn read(&self, target: &str) -> Result<Option<Vec<u8>>> {
        let host = self.host(target);
        match fs::read(&host) {
            Ok(b) => Ok(Some(b)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::io(host, e)),
        }
    }

    /// Read a text file (lossy for invalid UTF-8); `Ok(None)` when it does not exist.
    pub fn read_text(&self, target: &str) -> Result<Option<String>> {
        Ok(self
            .read(target)?
            .map(|b| String::from_utf8_lossy(&b).into_owned()))
    }

    /// List a directory's entry names, sorted; empty when it does not exist.
    pub fn list_dir(&self, target: &str) -> Result<Vec<String>> {
        let host = self.host(target);
        let rd = match fs::read_dir(&host) {
            Ok(rd) => rd,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) if e.kind() == io::ErrorKind::NotADirectory => return Ok(Vec::new()),
            Err(e) => return Err(Error::io(host, e)),
        };
        let mut names = Vec::new();
        for entry in rd {
            let entry = entry.at(&host)?;
            names.push(entry.file_name().to_string_lossy().into_owned());
        }
        names.sort();
        Ok(names)
    }

    /// Expand a glob pattern given as a target path; results are target paths, sorted
    /// (the order glob(3) gives sshd).
    pub fn glob(&self, pattern: &str) -> Vec<String> {
        let host_pattern = if self.is_live() {
            pattern.to_string()
        } else {
            // Resolve the literal directory part inside the root, keep the pattern part.
            let p = Path::new(pattern);
            let mut lit = PathBuf::from("/");
            let mut rest = PathBuf::new();
            let mut in_pattern = false;
            for c in p.components() {
                if let Component::Normal(n) = c {
                    let s = n.to_string_lossy();
                    if in_pattern || s.contains(['*', '?', '[']) {
                        in_pattern = true;
                        rest.push(n);
                    } else {
                        lit.push(n);
                    }
                }
            }
            let base = self.host(&lit.to_string_lossy());
            glob::Pattern::escape(&base.to_string_lossy()) + "/" + &rest.to_string_lossy()
        };
        let host_pattern = host_pattern.trim_end_matches('/').to_string();
        let mut out = Vec::new();
        if let Ok(paths) = glob::glob(&host_pattern) {
            for p in paths.flatten() {
                if let Some(t) = self.to_target(&p) {
                    out.push(t);
                }
            }
        }
        out.sort();
        out
    }

    /// Target path of a host path inside the root.
    pub fn to_target(&self, host: &Path) -> Option<String> {
        if self.is_live() {
            return Some(host.to_string_lossy().into_owned());
        }
        let rel = host.strip_prefix(&self.dir).ok()?;
        Some(format!("/{}", rel.to_string_lossy()))
    }

    /// Text to show for a target path: the path itself on a live system, else with the root.
    pub fn display(&self, target: &str) -> String {
        if self.is_live() {
            target.to_string()
        } else {
            format!("{}{}", self.dir.display(), target)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn symlinks_stay_inside_the_root() {
        let t = tempfile::tempdir().unwrap();
        fs::create_dir_all(t.path().join("etc/real")).unwrap();
        fs::write(t.path().join("etc/real/f"), "x").unwrap();
        std::os::unix::fs::symlink("/etc/real", t.path().join("etc/link")).unwrap();
        std::os::unix::fs::symlink("/etc/real/f", t.path().join("etc/flink")).unwrap();
        let root = Root::open(t.path()).unwrap();
        let canon = fs::canonicalize(t.path()).unwrap();
        assert_eq!(root.host("/etc/link/f"), canon.join("etc/real/f"));
        assert_eq!(root.host("/etc/flink"), canon.join("etc/real/f"));
        assert_eq!(root.host("/../../etc/x"), canon.join("etc/x"));
    }

    #[test]
    fn a_root_without_etc_is_refused() {
        let t = tempfile::tempdir().unwrap();
        let err = Root::open(t.path()).unwrap_err().to_string();
        assert!(err.contains("no etc/ directory"), "{err}");
        let err = Root::open(t.path().join("nope")).unwrap_err().to_string();
        assert!(err.contains("no such directory"), "{err}");
    }
}
