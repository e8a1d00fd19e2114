//! File operations of the transaction: atomic replace that keeps mode, owner and extended
//! attributes (the SELinux label of /etc/shadow matters: a file without it locks everyone
//! out, so an attribute that cannot be kept refuses the write), and snapshots that can be
//! restored byte for byte.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Meta {
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    /// name -> hex value
    #[serde(default)]
    pub xattrs: Vec<(String, String)>,
}

impl Meta {
    pub fn new_file(mode: u32) -> Meta {
        Meta {
            mode,
            uid: 0,
            gid: 0,
            xattrs: Vec::new(),
        }
    }
}

pub fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

pub fn unhex(s: &str) -> Vec<u8> {
    (0..s.len() / 2)
        .filter_map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).ok())
        .collect()
}

/// Extended attributes of a file (not following symlinks), values in hex. A filesystem
/// without them gives none; an attribute that is listed but cannot be read is an error
/// naming it (it could not be kept).
pub fn read_xattrs(p: &Path) -> io::Result<Vec<(String, String)>> {
    let names = match xattr::list(p) {
        Ok(names) => names,
        Err(e) if e.kind() == io::ErrorKind::Unsupported => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut out = Vec::new();
    for name in names {
        let n = name.to_string_lossy().into_owned();
        match xattr::get(p, &name) {
            Ok(Some(v)) => out.push((n, hex(&v))),
            Ok(None) => {} // removed meanwhile
            Err(e) => {
                return Err(io::Error::new(
                    e.kind(),
                    format!("its extended attribute {n} cannot be read: {e}"),
                ));
            }
        }
    }
    Ok(out)
}

/// Give `f` the extended attributes `xattrs` (the SELinux label of /etc/shadow, ACLs…). One
/// that cannot be set (no privilege, no support on this filesystem) is an error naming it:
/// the caller must not put a file without it in place. One the file already has with the
/// same value is not set again (a new file usually gets its directory's label).
fn set_xattrs(f: &File, xattrs: &[(String, String)]) -> io::Result<()> {
    use xattr::FileExt;
    for (name, val) in xattrs {
        let v = unhex(val);
        if f.get_xattr(name).ok().flatten().as_deref() == Some(&v[..]) {
            continue;
        }
        f.set_xattr(name, &v).map_err(|e| {
            io::Error::new(
                e.kind(),
                format!("its extended attribute {name} cannot be kept ({e}): not replaced"),
            )
        })?;
    }
    Ok(())
}

pub fn meta_of(p: &Path) -> io::Result<Meta> {
    let md = fs::symlink_metadata(p)?;
    Ok(Meta {
        mode: md.mode() & 0o7777,
        uid: md.uid(),
        gid: md.gid(),
        xattrs: read_xattrs(p)?,
    })
}

pub fn fsync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Replace `path` with `bytes` atomically: temp file in the same directory, owner, mode
/// and xattrs set, fsync, rename, fsync of the directory.
pub fn write_atomic(path: &Path, bytes: &[u8], meta: &Meta) -> io::Result<()> {
    let dir = path
        .parent()
        .ok_or_else(|| io::Error::other("no parent directory"))?;
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::other("no file name"))?
        .to_string_lossy();
    let tmp = dir.join(format!(".{name}.pbx-harden-{}.tmp", std::process::id()));
    let _ = fs::remove_file(&tmp);
    let result = (|| {
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)?;
        f.write_all(bytes)?;
        let euid = nix::unistd::geteuid().as_raw();
        if euid == 0 {
            std::os::unix::fs::fchown(&f, Some(meta.uid), Some(meta.gid))?;
        }
        set_xattrs(&f, &meta.xattrs)?;
        f.sync_all()?;
        // chmod after chown (chown clears set-id bits), and last: until the rename the
        // temp file stays 0600.
        f.set_permissions(fs::Permissions::from_mode(meta.mode))?;
        fs::rename(&tmp, path)?;
        fsync_dir(dir)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// Remove the temp files (`.NAME.pbx-harden-PID.tmp`) a killed run left next to `path`.
pub fn remove_stale_temps(path: &Path) {
    let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else {
        return;
    };
    let prefix = format!(".{}.pbx-harden-", name.to_string_lossy());
    let mine = format!("{prefix}{}.tmp", std::process::id());
    let Ok(rd) = fs::read_dir(dir) else { return };
    for e in rd.flatten() {
        let n = e.file_name().to_string_lossy().into_owned();
        if n.starts_with(&prefix) && n.ends_with(".tmp") && n != mine {
            let _ = fs::remove_file(e.path());
        }
    }
}

/// Create missing parent directories (0755), returning the ones created, outermost first.
pub fn create_parents(path: &Path) -> io::Result<Vec<std::path::PathBuf>> {
    let mut missing = Vec::new();
    let mut p = path.parent();
    while let Some(d) = p {
        if d.exists() {
            break;
        }
        missing.push(d.to_path_buf());
        p = d.parent();
    }
    missing.reverse();
    for d in &missing {
        fs::create_dir(d)?;
        fs::set_permissions(d, fs::Permissions::from_mode(0o755))?;
    }
    Ok(missing)
}

/// Remove a file, symlink or directory tree; absent is fine.
pub fn remove_any(p: &Path) -> io::Result<()> {
    match fs::symlink_metadata(p) {
        Ok(md) if md.is_dir() => fs::remove_dir_all(p),
        Ok(_) => fs::remove_file(p),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

pub fn sha256(b: &[u8]) -> String {
    use sha2::Digest;
    hex(&sha2::Sha256::digest(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_keeps_extended_attributes() {
        let t = tempfile::tempdir().unwrap();
        let p = t.path().join("shadow");
        fs::write(&p, "old").unwrap();
        if let Err(e) = xattr::set(
            &p,
            "user.pbx-harden.label",
            b"system_u:object_r:shadow_t:s0",
        ) {
            // (user.* attributes need ext4, xfs, btrfs or a tmpfs of Linux 6.6+)
            assert!(
                std::env::var_os("CI").is_none(),
                "CI: no user xattrs in /tmp: {e}"
            );
            eprintln!("no user xattrs on this filesystem ({e}): not checked");
            return;
        }
        let m = meta_of(&p).unwrap();
        assert!(
            m.xattrs.iter().any(|(n, _)| n == "user.pbx-harden.label"),
            "{m:?}"
        );
        write_atomic(&p, b"new", &m).unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"new");
        assert_eq!(
            xattr::get(&p, "user.pbx-harden.label").unwrap().as_deref(),
            Some(&b"system_u:object_r:shadow_t:s0"[..])
        );
    }

    #[test]
    fn an_attribute_that_cannot_be_kept_refuses_the_write() {
        let t = tempfile::tempdir().unwrap();
        let p = t.path().join("shadow");
        fs::write(&p, "old").unwrap();
        let mut m = meta_of(&p).unwrap();
        // The kernel refuses a namespace it does not know (EOPNOTSUPP), as a filesystem
        // without labels refuses security.selinux.
        m.xattrs.push(("bogus.selinux".into(), hex(b"shadow_t")));
        let e = write_atomic(&p, b"new", &m).unwrap_err();
        assert!(e.to_string().contains("bogus.selinux"), "{e}");
        assert!(e.to_string().contains("not replaced"), "{e}");
        assert_eq!(fs::read(&p).unwrap(), b"old");
        let left: Vec<_> = fs::read_dir(t.path()).unwrap().flatten().collect();
        assert_eq!(left.len(), 1, "the temp file is removed: {left:?}");
    }

    #[test]
    fn atomic_write_keeps_mode() {
        let t = tempfile::tempdir().unwrap();
        let p = t.path().join("f");
        fs::write(&p, "old").unwrap();
        fs::set_permissions(&p, fs::Permissions::from_mode(0o640)).unwrap();
        let m = meta_of(&p).unwrap();
        write_atomic(&p, b"new", &m).unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"new");
        assert_eq!(meta_of(&p).unwrap().mode, 0o640);
        assert_eq!(
            fs::read_dir(t.path()).unwrap().count(),
            1,
            "no temp file left"
        );
    }

    #[test]
    fn hex_round_trip() {
        assert_eq!(unhex(&hex(b"\x00ab\xff")), b"\x00ab\xff");
    }
}
