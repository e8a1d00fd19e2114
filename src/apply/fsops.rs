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

/// Start writing `f`'s data to the disk without waiting (the fsync that follows then finds
/// it under way, and a batch of files gets its blocks allocated in one journal
/// transaction). Only a hint: durability still comes from the fsync.
pub fn start_writeback(f: &File) {
    use std::os::fd::AsRawFd;
    // SAFETY: a plain system call on an open descriptor.
    unsafe {
        nix::libc::sync_file_range(f.as_raw_fd(), 0, 0, nix::libc::SYNC_FILE_RANGE_WRITE);
    }
}

/// fsync every file in `files` at once, from threads: concurrent fsyncs on one filesystem
/// share its journal commits, where one after the other each waits for a commit of its own
/// (on a busy disk about 10 ms each). When this returns Ok each file is as durable as after
/// its own fsync; an error names the file.
pub fn sync_many(files: &[(&Path, &File)]) -> Result<(), (std::path::PathBuf, io::Error)> {
    const THREADS: usize = 16;
    let sync = |chunk: &[(&Path, &File)]| {
        for (p, f) in chunk {
            f.sync_all().map_err(|e| (p.to_path_buf(), e))?;
        }
        Ok(())
    };
    if files.len() < 2 {
        return sync(files);
    }
    let per = files.len().div_ceil(THREADS);
    std::thread::scope(|s| {
        let handles: Vec<_> = files
            .chunks(per)
            .map(|chunk| s.spawn(move || sync(chunk)))
            .collect();
        let mut first = Ok(());
        for h in handles {
            let r = h.join().unwrap_or_else(|_| {
                Err((
                    std::path::PathBuf::new(),
                    io::Error::other("an fsync thread panicked"),
                ))
            });
            if first.is_ok() {
                first = r;
            }
        }
        first
    })
}

/// fsync the directories (or files) at `paths` at once, as [`sync_many`].
pub fn sync_paths(paths: &[&Path]) -> Result<(), (std::path::PathBuf, io::Error)> {
    let files = paths
        .iter()
        .map(|p| File::open(p).map_err(|e| (p.to_path_buf(), e)))
        .collect::<Result<Vec<_>, _>>()?;
    let pairs: Vec<(&Path, &File)> = paths.iter().copied().zip(files.iter()).collect();
    sync_many(&pairs)
}

/// A new version of a file, written next to it under a temp name (owner and xattrs set,
/// still mode 0600), not yet durable and not yet in place. [`Staged::commit`] puts it in
/// place; dropped uncommitted, the temp file is removed.
pub struct Staged {
    file: File,
    tmp: std::path::PathBuf,
    path: std::path::PathBuf,
    mode: u32,
    done: bool,
}

impl Staged {
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The temp file and its handle, for [`sync_many`].
    pub fn for_sync(&self) -> (&Path, &File) {
        (&self.tmp, &self.file)
    }

    /// chmod (after chown: chown clears set-id bits; last: until here the temp file stays
    /// 0600), then rename over the path. The caller has synced the file before and syncs
    /// the directory after.
    pub fn commit(mut self) -> io::Result<()> {
        self.file
            .set_permissions(fs::Permissions::from_mode(self.mode))?;
        fs::rename(&self.tmp, &self.path)?;
        self.done = true;
        Ok(())
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        if !self.done {
            let _ = fs::remove_file(&self.tmp);
        }
    }
}

/// Write `bytes` as the next version of `path` into a temp file in the same directory
/// (see [`Staged`]); its writeback is started.
pub fn stage(path: &Path, bytes: &[u8], meta: &Meta) -> io::Result<Staged> {
    let dir = path
        .parent()
        .ok_or_else(|| io::Error::other("no parent directory"))?;
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::other("no file name"))?
        .to_string_lossy();
    let tmp = dir.join(format!(".{name}.pbx-harden-{}.tmp", std::process::id()));
    let _ = fs::remove_file(&tmp);
    let file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)?;
    // From here the temp file is removed again when anything fails.
    let mut st = Staged {
        file,
        tmp,
        path: path.to_path_buf(),
        mode: meta.mode,
        done: false,
    };
    st.file.write_all(bytes)?;
    let euid = nix::unistd::geteuid().as_raw();
    if euid == 0 {
        std::os::unix::fs::fchown(&st.file, Some(meta.uid), Some(meta.gid))?;
    }
    set_xattrs(&st.file, &meta.xattrs)?;
    start_writeback(&st.file);
    Ok(st)
}

/// Replace `path` with `bytes` atomically: temp file in the same directory, owner, mode
/// and xattrs set, fsync, rename, fsync of the directory.
pub fn write_atomic(path: &Path, bytes: &[u8], meta: &Meta) -> io::Result<()> {
    let dir = path
        .parent()
        .ok_or_else(|| io::Error::other("no parent directory"))?;
    let st = stage(path, bytes, meta)?;
    st.file.sync_all()?;
    st.commit()?;
    fsync_dir(dir)
}

/// `mv SRC DST` and `rm PATH` as a plan shows them (the rc.d links of a SysV service),
/// done here when they are exactly what one system call does: a symlink or regular file
/// renamed to a name that does not exist yet in the same directory (`renameat2` with
/// `RENAME_NOREPLACE`), or unlinked. `Some(())`: done. `None`: anything else, or the call
/// failed (an older kernel, a race): run the command, which does it or says why not.
pub fn builtin(argv: &[String]) -> Option<()> {
    fn plain(p: &str) -> Option<&Path> {
        let path = Path::new(p);
        (path.is_absolute() && !p.contains("/../") && !p.ends_with('/'))
            .then_some(path)
            .filter(|_| {
                fs::symlink_metadata(path)
                    .is_ok_and(|m| m.file_type().is_symlink() || m.file_type().is_file())
            })
    }
    match argv {
        [cmd, src, dst] if cmd == "mv" => {
            let from = plain(src)?;
            let to = Path::new(dst);
            if !to.is_absolute() || to.parent() != from.parent() || to.file_name().is_none() {
                return None;
            }
            let (Ok(a), Ok(b)) = (
                std::ffi::CString::new(src.as_bytes()),
                std::ffi::CString::new(dst.as_bytes()),
            ) else {
                return None;
            };
            // SAFETY: two NUL-terminated paths; renameat2 only reads them.
            let r = unsafe {
                nix::libc::syscall(
                    nix::libc::SYS_renameat2,
                    nix::libc::AT_FDCWD,
                    a.as_ptr(),
                    nix::libc::AT_FDCWD,
                    b.as_ptr(),
                    nix::libc::RENAME_NOREPLACE,
                )
            };
            (r == 0).then_some(())
        }
        [cmd, path] if cmd == "rm" => fs::remove_file(plain(path)?).ok(),
        _ => None,
    }
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
    fn builtin_mv_and_rm_are_one_call_or_left_to_the_command() {
        let t = tempfile::tempdir().unwrap();
        let d = t.path();
        let s = |p: &str| d.join(p).display().to_string();
        std::os::unix::fs::symlink("../init.d/netfs", d.join("S25netfs")).unwrap();
        fs::write(d.join("K10taken"), "x").unwrap();
        let mv = |a: &str, b: &str| builtin(&["mv".into(), s(a), s(b)]);
        // an existing target, a missing source: the command says why
        assert_eq!(mv("S25netfs", "K10taken"), None);
        assert_eq!(mv("S99absent", "K75absent"), None);
        assert_eq!(
            builtin(&["mv".into(), s("S25netfs"), "/elsewhere/K75netfs".into()]),
            None,
            "another directory"
        );
        assert_eq!(mv("S25netfs", "K75netfs"), Some(()));
        assert_eq!(
            fs::read_link(d.join("K75netfs")).unwrap(),
            Path::new("../init.d/netfs")
        );
        assert!(fs::symlink_metadata(d.join("S25netfs")).is_err());
        assert_eq!(builtin(&["rm".into(), s("K75netfs")]), Some(()));
        assert!(fs::symlink_metadata(d.join("K75netfs")).is_err());
        fs::create_dir(d.join("dir")).unwrap();
        assert_eq!(builtin(&["rm".into(), s("dir")]), None, "not a file");
        assert_eq!(builtin(&["rm".into(), "-f".into(), s("K10taken")]), None);
        assert_eq!(builtin(&["mv".into(), "rel".into(), "other".into()]), None);
    }

    #[test]
    fn files_synced_together_are_each_synced() {
        let t = tempfile::tempdir().unwrap();
        let paths: Vec<_> = (0..40).map(|i| t.path().join(format!("f{i}"))).collect();
        for p in &paths {
            fs::write(p, "x").unwrap();
        }
        let mut all: Vec<&Path> = paths.iter().map(|p| p.as_path()).collect();
        all.push(t.path());
        sync_paths(&all).unwrap();
        let missing = t.path().join("missing");
        let e = sync_paths(&[t.path(), &missing]).unwrap_err();
        assert_eq!(e.0, missing);
    }

    #[test]
    fn hex_round_trip() {
        assert_eq!(unhex(&hex(b"\x00ab\xff")), b"\x00ab\xff");
    }
}
