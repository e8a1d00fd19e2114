//! The target system: a directory that stands for its `/`.
//!
//! Paths inside the target are written as absolute strings (`/etc/ssh/sshd_config`) everywhere
//! in the core; `Root` maps them onto the host. Symlinks are followed *inside* the root, as a
//! chroot would, but resolved by pbx-harden itself, one component at a time (`openat` with
//! `O_NOFOLLOW` from a descriptor of the directory reached so far): the kernel is never handed
//! a path that still holds a link. A link that climbs out of the root (`../../..` past its
//! `/`), or a chain of more than [`MAX_LINKS`] links, is refused with an error naming the path.
//! Absolute links are read as absolute *inside* the root. A path with no link in it (the
//! common case) is resolved by the kernel in one call instead (`openat2` with
//! `RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS` and `O_PATH`); any link sends it to the walk.
//!
//! Reading is for regular files only: a FIFO, device, socket or directory is refused by name
//! before it is opened, the open itself uses `O_NONBLOCK | O_NOFOLLOW` (with `openat2`
//! `RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS` where the kernel has it) and is checked again with
//! `fstat`, and a file larger than [`MAX_FILE_BYTES`] is refused.
//!
//! [`Root::resolve_final`] tells the real file behind every link of a path and the links
//! themselves, so a backup can save both.

use std::collections::VecDeque;
use std::ffi::{OsStr, OsString};
use std::fs;
use std::io::{self, Read};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Component, Path, PathBuf};
use std::sync::{Arc, OnceLock};

use nix::errno::Errno;
use nix::fcntl::{AtFlags, OFlag};
use nix::sys::stat::{Mode, SFlag};

use crate::error::{Error, IoContext, Result};

/// Most symlinks followed while resolving one path (Linux's own limit).
pub const MAX_LINKS: usize = 40;

/// Largest file `Root::read` accepts (configuration files, account files).
pub const MAX_FILE_BYTES: u64 = 4 << 20;

/// Largest kernel file under `/proc` `Root::read` accepts (`/proc/net/tcp` of a busy box).
const MAX_PROC_BYTES: u64 = 64 << 20;

/// What a path names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    File,
    Dir,
    /// Only when the last link was not followed (`resolve_nofollow`).
    Symlink,
    Fifo,
    CharDevice,
    BlockDevice,
    Socket,
}

impl Kind {
    fn of(mode: u32) -> Kind {
        match SFlag::from_bits_truncate(mode & SFlag::S_IFMT.bits()) {
            SFlag::S_IFDIR => Kind::Dir,
            SFlag::S_IFLNK => Kind::Symlink,
            SFlag::S_IFIFO => Kind::Fifo,
            SFlag::S_IFCHR => Kind::CharDevice,
            SFlag::S_IFBLK => Kind::BlockDevice,
            SFlag::S_IFSOCK => Kind::Socket,
            _ => Kind::File,
        }
    }

    /// "a FIFO", "a directory", ... for messages.
    pub fn describe(self) -> &'static str {
        match self {
            Kind::File => "a regular file",
            Kind::Dir => "a directory",
            Kind::Symlink => "a symbolic link",
            Kind::Fifo => "a FIFO (named pipe)",
            Kind::CharDevice => "a character device",
            Kind::BlockDevice => "a block device",
            Kind::Socket => "a socket",
        }
    }
}

/// A target path resolved inside the root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    /// The path as asked.
    pub asked: String,
    /// Target path of what `asked` names, with no link left in it: the real file behind
    /// every link (or, for `resolve_nofollow`, the last link itself).
    pub real: String,
    /// Host path of `real`.
    pub host: PathBuf,
    /// Target paths of the links followed, in the order they were followed (links of
    /// directories on the way included). Empty when the path holds no link.
    pub links: Vec<String>,
    /// What is at `real`; `None` when nothing is there (yet).
    pub kind: Option<Kind>,
}

#[derive(Clone)]
pub struct Root {
    dir: PathBuf,
    /// A descriptor of `dir` (`O_PATH`), opened on first use and shared by the clones:
    /// every resolution starts from it instead of opening the directory again.
    fd: Arc<OnceLock<Arc<OwnedFd>>>,
}

impl PartialEq for Root {
    fn eq(&self, other: &Root) -> bool {
        self.dir == other.dir
    }
}

impl Eq for Root {}

impl std::fmt::Debug for Root {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Root").field("dir", &self.dir).finish()
    }
}

/// One component still to resolve, and the link it came from (for the escape check).
struct Pending {
    name: OsString,
    from_link: Option<String>,
}

fn split(path: &OsStr, from_link: Option<&str>) -> Vec<Pending> {
    path.as_bytes()
        .split(|b| *b == b'/')
        .filter(|c| !c.is_empty() && *c != b".")
        .map(|c| Pending {
            name: OsString::from_vec(c.to_vec()),
            from_link: from_link.map(str::to_string),
        })
        .collect()
}

fn to_io(e: Errno) -> io::Error {
    io::Error::from_raw_os_error(e as i32)
}

fn open_dir_at(dir: BorrowedFd<'_>, name: &OsStr) -> std::result::Result<OwnedFd, Errno> {
    nix::fcntl::openat(
        dir,
        name,
        OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
}

/// A walk's result, with the descriptors a safe open needs.
struct Walked {
    res: Resolved,
    root_fd: Arc<OwnedFd>,
    /// Directory holding the last component, when it exists.
    parent: Option<OwnedFd>,
    /// Name of the last component in `parent`.
    leaf: Option<OsString>,
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
        Ok(Root::at(dir))
    }

    fn at(dir: PathBuf) -> Root {
        Root {
            dir,
            fd: Arc::new(OnceLock::new()),
        }
    }

    /// The live system.
    pub fn live() -> Root {
        Root::at(PathBuf::from("/"))
    }

    /// True when the target is the running system: only then are services restarted.
    pub fn is_live(&self) -> bool {
        self.dir == Path::new("/")
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Host path of a target path, following symlinks inside the root; the path returned
    /// holds no link inside the root. A path that cannot be resolved safely (a link out of
    /// the root, too long a chain) comes back as a path that every file system call refuses
    /// (it holds a NUL byte, so it never reaches the kernel): use [`Root::resolve_final`] to
    /// get the reason.
    pub fn host(&self, target: &str) -> PathBuf {
        if self.is_live() {
            return PathBuf::from(target);
        }
        match self.walk(target, true) {
            Ok(w) => w.res.host,
            Err(_) => self.refused(target),
        }
    }

    /// Host path without following the last component (for creating and removing entries).
    pub fn host_nofollow(&self, target: &str) -> PathBuf {
        if self.is_live() {
            return PathBuf::from(target);
        }
        match self.walk(target, false) {
            Ok(w) => w.res.host,
            Err(_) => self.refused(target),
        }
    }

    fn refused(&self, target: &str) -> PathBuf {
        let mut s = self.dir.join(".pbx-harden-refused").into_os_string();
        s.push("\0");
        s.push(target);
        PathBuf::from(s)
    }

    /// Resolve `target` inside the root, following every link (the last one too): the real
    /// file behind the links and the links themselves. Errors name the path: a link that
    /// leaves the root, more than [`MAX_LINKS`] links, an unreadable directory.
    pub fn resolve_final(&self, target: &str) -> Result<Resolved> {
        self.walk(target, true).map(|w| w.res)
    }

    /// Like [`Root::resolve_final`], but a link as the last component is not followed.
    pub fn resolve_nofollow(&self, target: &str) -> Result<Resolved> {
        self.walk(target, false).map(|w| w.res)
    }

    /// What `target` names after following links (`None` when nothing is there).
    pub fn kind(&self, target: &str) -> Result<Option<Kind>> {
        Ok(self.resolve_final(target)?.kind)
    }

    fn open_root(&self) -> Result<Arc<OwnedFd>> {
        if let Some(fd) = self.fd.get() {
            return Ok(fd.clone());
        }
        let fd = nix::fcntl::open(
            &self.dir,
            OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| Error::io(&self.dir, to_io(e)))?;
        Ok(self.fd.get_or_init(|| Arc::new(fd)).clone())
    }

    fn target_of(names: &[OsString]) -> String {
        let mut s = String::from("/");
        let parts: Vec<String> = names
            .iter()
            .map(|n| n.to_string_lossy().into_owned())
            .collect();
        s.push_str(&parts.join("/"));
        s
    }

    /// Resolve `target`: first in one system call when the path holds no link (the
    /// common case), else component by component (`walk_links`).
    fn walk(&self, target: &str, follow_last: bool) -> Result<Walked> {
        let root_fd = self.open_root()?;
        match self.walk_fast(target, root_fd) {
            Ok(w) => Ok(w),
            Err(root_fd) => self.walk_links(target, follow_last, root_fd),
        }
    }

    /// A path with no link in it, resolved by the kernel inside the root: `openat2` with
    /// `RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS` and `O_PATH` (nothing is opened for I/O, so
    /// a FIFO or device is not touched). Any link on the way, or a kernel without openat2,
    /// gives the root descriptor back for the walk that follows links; so do an ending `/`
    /// and a `..` after a missing part, which the kernel and the walk read differently. What it returns is what the
    /// walk would (the path has no link: lexical `..` is the real one).
    fn walk_fast(
        &self,
        target: &str,
        root_fd: Arc<OwnedFd>,
    ) -> std::result::Result<Walked, Arc<OwnedFd>> {
        if target.ends_with('/') && target.len() > 1 {
            return Err(root_fd);
        }
        let rel = target.trim_start_matches('/');
        let rel = if rel.is_empty() { "." } else { rel };
        let how = nix::fcntl::OpenHow::new()
            .flags(OFlag::O_PATH | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC)
            .resolve(
                nix::fcntl::ResolveFlag::RESOLVE_IN_ROOT
                    | nix::fcntl::ResolveFlag::RESOLVE_NO_SYMLINKS
                    | nix::fcntl::ResolveFlag::RESOLVE_NO_MAGICLINKS,
            );
        let kind = match nix::fcntl::openat2(root_fd.as_fd(), rel, how) {
            Ok(fd) => match nix::sys::stat::fstat(&fd) {
                Ok(st) if Kind::of(st.st_mode) != Kind::Symlink => Some(Kind::of(st.st_mode)),
                _ => return Err(root_fd),
            },
            // (after a missing part the walk reads `..` its own way)
            Err(Errno::ENOENT | Errno::ENOTDIR) if !target.contains("..") => None,
            Err(_) => return Err(root_fd),
        };
        let mut names: Vec<OsString> = Vec::new();
        for p in split(OsStr::new(target), None) {
            if p.name == ".." {
                names.pop();
            } else {
                names.push(p.name);
            }
        }
        let leaf = match kind {
            Some(_) => names.last().cloned(),
            None => None,
        };
        let real = Self::target_of(&names);
        let host = self.join_raw(Path::new(&real));
        Ok(Walked {
            res: Resolved {
                asked: target.to_string(),
                real,
                host,
                links: Vec::new(),
                kind,
            },
            root_fd,
            // openat2 works here: `open_file` needs no fallback
            parent: None,
            leaf,
        })
    }

    /// Resolve component by component. Every system call gets one name relative to the
    /// descriptor of a directory reached without a link (`AT_SYMLINK_NOFOLLOW`,
    /// `O_NOFOLLOW`); links are read with `readlinkat` and their content is resolved the same
    /// way.
    fn walk_links(&self, target: &str, follow_last: bool, root_fd: Arc<OwnedFd>) -> Result<Walked> {
        let mut stack: Vec<(OsString, OwnedFd)> = Vec::new();
        let mut pending: VecDeque<Pending> = split(OsStr::new(target), None).into();
        let mut links: Vec<String> = Vec::new();
        let mut leaf: Option<(OsString, Option<Kind>)> = None;
        let mut missing: Vec<OsString> = Vec::new();
        while let Some(p) = pending.pop_front() {
            if p.name == ".." {
                if stack.pop().is_none()
                    && !self.is_live()
                    && let Some(link) = &p.from_link
                {
                    return Err(Error::invalid(format!(
                        "{}: the symbolic link {} points outside the root; refused",
                        self.display(target),
                        self.display(link)
                    )));
                }
                continue;
            }
            let dirfd = stack
                .last()
                .map(|(_, f)| f.as_fd())
                .unwrap_or(root_fd.as_fd());
            let last = pending.is_empty();
            let here = || {
                let mut names: Vec<OsString> = stack.iter().map(|(n, _)| n.clone()).collect();
                names.push(p.name.clone());
                Self::target_of(&names)
            };
            match nix::sys::stat::fstatat(dirfd, p.name.as_os_str(), AtFlags::AT_SYMLINK_NOFOLLOW) {
                Err(Errno::ENOENT) | Err(Errno::ENOTDIR) => {
                    missing.push(p.name);
                    break;
                }
                Err(e) => {
                    return Err(Error::io(self.display(&here()), to_io(e)));
                }
                Ok(st) => {
                    let kind = Kind::of(st.st_mode);
                    if kind == Kind::Symlink && (!last || follow_last) {
                        let link = here();
                        links.push(link.clone());
                        if links.len() > MAX_LINKS {
                            return Err(Error::invalid(format!(
                                "{}: more than {MAX_LINKS} symbolic links to follow (a loop?); \
                                 refused",
                                self.display(target)
                            )));
                        }
                        let content = nix::fcntl::readlinkat(dirfd, p.name.as_os_str())
                            .map_err(|e| Error::io(self.display(&link), to_io(e)))?;
                        if content.as_bytes().starts_with(b"/") {
                            stack.clear();
                        }
                        for q in split(&content, Some(&link)).into_iter().rev() {
                            pending.push_front(q);
                        }
                        continue;
                    }
                    if kind == Kind::Dir {
                        let fd = open_dir_at(dirfd, &p.name)
                            .map_err(|e| Error::io(self.display(&here()), to_io(e)))?;
                        stack.push((p.name, fd));
                        continue;
                    }
                    if !last {
                        // A file in the middle of the path: nothing is behind it.
                        missing.push(p.name);
                        break;
                    }
                    leaf = Some((p.name, Some(kind)));
                }
            }
        }
        // Whatever is left after a missing component is taken as written.
        for q in pending.drain(..) {
            if q.name == ".." {
                if missing.pop().is_none() {
                    stack.pop();
                }
            } else {
                missing.push(q.name);
            }
        }
        let mut names: Vec<OsString> = stack.iter().map(|(n, _)| n.clone()).collect();
        let (kind, parent, leaf_name) = if !missing.is_empty() {
            names.extend(missing.iter().cloned());
            (None, None, None)
        } else if let Some((name, kind)) = leaf {
            names.push(name.clone());
            let parent = match stack.last() {
                Some((_, f)) => f.try_clone().ok(),
                None => root_fd.try_clone().ok(),
            };
            (kind, parent, Some(name))
        } else {
            // The path ends on a directory (or is `/`).
            let leaf_name = stack.last().map(|(n, _)| n.clone());
            (Some(Kind::Dir), None, leaf_name)
        };
        let real = Self::target_of(&names);
        let host = self.join_raw(Path::new(&real));
        Ok(Walked {
            res: Resolved {
                asked: target.to_string(),
                real,
                host,
                links,
                kind,
            },
            root_fd,
            parent,
            leaf: leaf_name,
        })
    }

    fn join_raw(&self, inside: &Path) -> PathBuf {
        let rel = inside.strip_prefix("/").unwrap_or(inside);
        if rel.as_os_str().is_empty() {
            return self.dir.clone();
        }
        self.dir.join(rel)
    }

    pub fn exists(&self, target: &str) -> bool {
        self.walk(target, true)
            .map(|w| w.res.kind.is_some())
            .unwrap_or(false)
    }

    const READ_FLAGS: OFlag = OFlag::O_RDONLY
        .union(OFlag::O_NONBLOCK)
        .union(OFlag::O_NOFOLLOW)
        .union(OFlag::O_NOCTTY)
        .union(OFlag::O_CLOEXEC);

    fn in_root_how(flags: OFlag) -> nix::fcntl::OpenHow {
        nix::fcntl::OpenHow::new().flags(flags).resolve(
            nix::fcntl::ResolveFlag::RESOLVE_IN_ROOT
                | nix::fcntl::ResolveFlag::RESOLVE_NO_SYMLINKS
                | nix::fcntl::ResolveFlag::RESOLVE_NO_MAGICLINKS,
        )
    }

    /// Open the regular file a walk found: `openat2` inside the root with no link allowed,
    /// else `openat` with `O_NOFOLLOW` from the directory the walk reached. Never blocks.
    fn open_file(&self, w: &Walked) -> std::result::Result<OwnedFd, Errno> {
        let rel = w.res.real.trim_start_matches('/');
        match nix::fcntl::openat2(w.root_fd.as_fd(), rel, Self::in_root_how(Self::READ_FLAGS)) {
            Ok(fd) => Ok(fd),
            Err(Errno::ENOSYS | Errno::EPERM | Errno::E2BIG | Errno::EINVAL) => {
                match (&w.parent, &w.leaf) {
                    (Some(dir), Some(name)) => nix::fcntl::openat(
                        dir.as_fd(),
                        name.as_os_str(),
                        Self::READ_FLAGS,
                        Mode::empty(),
                    ),
                    _ => Err(Errno::EISDIR),
                }
            }
            Err(e) => Err(e),
        }
    }

    /// The common case of `read` in fewer system calls: a plain path (no `.`, `..` or
    /// empty part) that names a regular file with no link on the way. `fstatat` looks
    /// first, so nothing but a regular file is ever opened; the open then refuses any link
    /// (`RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS`). Anything else (a link, nothing there,
    /// another kind, an old kernel) is `None`: the full walk decides, and names the reason.
    fn open_plain_file<'t>(&self, target: &'t str) -> Option<(OwnedFd, &'t str)> {
        let rel = target.strip_prefix('/')?;
        if rel.is_empty()
            || rel
                .split('/')
                .any(|c| c.is_empty() || c == "." || c == "..")
        {
            return None;
        }
        let root_fd = self.open_root().ok()?;
        let st =
            nix::sys::stat::fstatat(root_fd.as_fd(), rel, AtFlags::AT_SYMLINK_NOFOLLOW).ok()?;
        if Kind::of(st.st_mode) != Kind::File {
            return None;
        }
        let fd =
            nix::fcntl::openat2(root_fd.as_fd(), rel, Self::in_root_how(Self::READ_FLAGS)).ok()?;
        Some((fd, target))
    }

    /// Read a file; `Ok(None)` when it does not exist. Only regular files of at most
    /// [`MAX_FILE_BYTES`] are read; anything else is an error naming the file.
    pub fn read(&self, target: &str) -> Result<Option<Vec<u8>>> {
        let shown = self.display(target);
        let not_regular = |k: Kind| {
            Error::invalid(format!(
                "{shown}: {}, not a regular file; pbx-harden reads only regular files",
                k.describe()
            ))
        };
        // (the open file, its host path for messages, its target path with no link)
        let (fd, host, real) = match self.open_plain_file(target) {
            Some((fd, real)) => (fd, self.join_raw(Path::new(real)), real.to_string()),
            None => {
                let w = self.walk(target, true)?;
                match w.res.kind {
                    None => return Ok(None),
                    Some(Kind::File) => {}
                    Some(k) => return Err(not_regular(k)),
                }
                match self.open_file(&w) {
                    Ok(fd) => (fd, w.res.host, w.res.real),
                    Err(Errno::ENOENT) => return Ok(None),
                    Err(e) => return Err(Error::io(&w.res.host, to_io(e))),
                }
            }
        };
        let st = nix::sys::stat::fstat(&fd).map_err(|e| Error::io(&host, to_io(e)))?;
        let kind = Kind::of(st.st_mode);
        if kind != Kind::File {
            return Err(not_regular(kind));
        }
        let cap = if real.starts_with("/proc/") {
            MAX_PROC_BYTES
        } else {
            MAX_FILE_BYTES
        };
        let too_big = || {
            Error::invalid(format!(
                "{shown}: larger than {} MiB, too large for a configuration file; refused",
                cap >> 20
            ))
        };
        if st.st_size as u64 > cap {
            return Err(too_big());
        }
        // Sized from fstat: one read for the file and one to see its end (a file that grows
        // meanwhile is still read to its end, up to the cap).
        let mut buf = Vec::with_capacity((st.st_size.max(0) as u64).min(cap) as usize + 1);
        fs::File::from(fd)
            .take(cap + 1)
            .read_to_end(&mut buf)
            .at(&host)?;
        if buf.len() as u64 > cap {
            return Err(too_big());
        }
        Ok(Some(buf))
    }

    /// Read a text file (lossy for invalid UTF-8); `Ok(None)` when it does not exist.
    pub fn read_text(&self, target: &str) -> Result<Option<String>> {
        Ok(self
            .read(target)?
            .map(|b| String::from_utf8_lossy(&b).into_owned()))
    }

    /// List a directory's entry names, sorted; empty when it does not exist or is not a
    /// directory.
    pub fn list_dir(&self, target: &str) -> Result<Vec<String>> {
        let w = self.walk(target, true)?;
        if w.res.kind != Some(Kind::Dir) {
            return Ok(Vec::new());
        }
        // Opened from the walk's root descriptor by the link-free path it found, not again
        // from the host's `/` (a directory swapped for a link meanwhile is refused); by the
        // host path only where openat2 is missing (kernels before 5.6).
        let host = w.res.host;
        let rel = w.res.real.trim_start_matches('/');
        let flags = OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
        let opened = match nix::fcntl::openat2(
            w.root_fd.as_fd(),
            if rel.is_empty() { "." } else { rel },
            Self::in_root_how(flags),
        ) {
            Err(Errno::ENOSYS | Errno::EPERM | Errno::E2BIG | Errno::EINVAL) => {
                nix::fcntl::open(&host, flags, Mode::empty())
            }
            r => r,
        };
        let dir = opened
            .map_err(to_io)
            .and_then(|fd| rustix::fs::Dir::new(fd).map_err(io::Error::from));
        let dir = match dir {
            Ok(d) => d,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) if e.kind() == io::ErrorKind::NotADirectory => return Ok(Vec::new()),
            Err(e) => return Err(Error::io(host, e)),
        };
        let mut names = Vec::new();
        for entry in dir {
            let entry = entry.map_err(io::Error::from).at(&host)?;
            let name = entry.file_name().to_bytes();
            if name != b"." && name != b".." {
                names.push(String::from_utf8_lossy(name).into_owned());
            }
        }
        names.sort();
        Ok(names)
    }

    /// Expand a glob pattern given as a target path; results are target paths, sorted
    /// (the order glob(3) gives sshd). Matched one component at a time inside the root, as
    /// glob(3) does (a leading dot must be matched literally). A match whose path cannot be
    /// resolved safely is kept, so that reading it reports why.
    pub fn glob(&self, pattern: &str) -> Vec<String> {
        let opts = glob::MatchOptions {
            case_sensitive: true,
            require_literal_separator: true,
            require_literal_leading_dot: true,
        };
        let mut cands = vec![String::new()];
        for c in pattern.split('/').filter(|c| !c.is_empty() && *c != ".") {
            let mut next = Vec::new();
            if c.contains(['*', '?', '[']) {
                let Ok(pat) = glob::Pattern::new(c) else {
                    return Vec::new();
                };
                for base in &cands {
                    let dir = if base.is_empty() { "/" } else { base.as_str() };
                    for name in self.list_dir(dir).unwrap_or_default() {
                        if pat.matches_with(&name, opts) {
                            next.push(format!("{base}/{name}"));
                        }
                    }
                }
            } else {
                next = cands.iter().map(|b| format!("{b}/{c}")).collect();
            }
            cands = next;
            if cands.is_empty() {
                return cands;
            }
        }
        let mut out: Vec<String> = cands
            .into_iter()
            .filter(|p| !p.is_empty())
            .filter(|p| self.glob_keeps(p))
            .collect();
        out.sort();
        out.dedup();
        out
    }

    /// Whether `glob` keeps a path it matched: something is there (a dangling link is not),
    /// or it cannot be resolved safely (reading it then says why).
    pub fn glob_keeps(&self, path: &str) -> bool {
        self.walk(path, true)
            .map(|w| w.res.kind.is_some())
            .unwrap_or(true)
    }

    /// Target path of a host path inside the root.
    pub fn to_target(&self, host: &Path) -> Option<String> {
        if self.is_live() {
            return Some(host.to_string_lossy().into_owned());
        }
        let rel = host.strip_prefix(&self.dir).ok()?;
        let mut t = String::from("/");
        for c in rel.components() {
            if let Component::Normal(n) = c {
                if t.len() > 1 {
                    t.push('/');
                }
                t.push_str(&n.to_string_lossy());
            }
        }
        Some(t)
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

/// A scratch root for unit tests: a temporary directory with `etc/` and `files` (target path,
/// content) written under it.
#[cfg(test)]
pub(crate) fn test_root(files: &[(&str, &str)]) -> (tempfile::TempDir, Root) {
    let t = tempfile::tempdir().unwrap();
    std::fs::create_dir(t.path().join("etc")).unwrap();
    for (path, body) in files {
        let p = t.path().join(path.trim_start_matches('/'));
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, body).unwrap();
    }
    let r = Root::open(t.path()).unwrap();
    (t, r)
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

    /// The one-call resolution gives what the component walk gives, for every path it
    /// answers (it leaves paths with links, and anything odd, to the walk).
    #[test]
    fn the_fast_resolution_agrees_with_the_walk() {
        use rand::{RngExt, SeedableRng};
        let t = tempfile::tempdir().unwrap();
        let p = t.path();
        fs::create_dir_all(p.join("etc/a/b")).unwrap();
        fs::write(p.join("etc/a/file"), "x").unwrap();
        fs::write(p.join("etc/file"), "y").unwrap();
        std::os::unix::fs::symlink("b", p.join("etc/a/link")).unwrap();
        std::os::unix::fs::symlink("/etc/a", p.join("etc/abs")).unwrap();
        std::os::unix::fs::symlink("../../../..", p.join("etc/esc")).unwrap();
        std::os::unix::fs::symlink("loop", p.join("etc/loop")).unwrap();
        nix::unistd::mkfifo(&p.join("etc/fifo"), Mode::from_bits_truncate(0o600)).unwrap();
        let root = Root::open(p).unwrap();
        let parts = [
            "etc", "a", "b", "file", "link", "abs", "esc", "loop", "fifo", "..", ".", "missing",
        ];
        let mut rng = rand::rngs::StdRng::seed_from_u64(5);
        let mut answered = 0;
        for _ in 0..3000 {
            let n = rng.random_range(0..6);
            let mut path: String = (0..n)
                .map(|_| format!("/{}", parts[rng.random_range(0..parts.len())]))
                .collect();
            if path.is_empty() || rng.random_bool(0.05) {
                path.push('/');
            }
            for follow in [true, false] {
                let slow = root.walk_links(&path, follow, root.open_root().unwrap());
                if let Ok(fast) = root.walk_fast(&path, root.open_root().unwrap()) {
                    answered += 1;
                    let slow = slow.unwrap_or_else(|e| panic!("{path}: the walk says {e}"));
                    assert_eq!(fast.res, slow.res, "{path} (follow {follow})");
                }
            }
        }
        assert!(answered > 1000, "{answered}");
    }

    fn setup() -> (tempfile::TempDir, Root) {
        let t = tempfile::tempdir().unwrap();
        fs::create_dir_all(t.path().join("etc/ssh")).unwrap();
        let root = Root::open(t.path()).unwrap();
        (t, root)
    }

    #[test]
    fn relative_and_absolute_links_resolve_to_the_real_file() {
        let (t, root) = setup();
        let ssh = t.path().join("etc/ssh");
        fs::write(ssh.join("sshd_config.real"), "Port 22\n").unwrap();
        std::os::unix::fs::symlink("sshd_config.real", ssh.join("sshd_config")).unwrap();
        std::os::unix::fs::symlink("/etc/ssh/sshd_config", ssh.join("abs")).unwrap();
        let r = root.resolve_final("/etc/ssh/abs").unwrap();
        assert_eq!(r.real, "/etc/ssh/sshd_config.real");
        assert_eq!(r.links, ["/etc/ssh/abs", "/etc/ssh/sshd_config"]);
        assert_eq!(r.kind, Some(Kind::File));
        assert_eq!(root.read("/etc/ssh/abs").unwrap().unwrap(), b"Port 22\n");
        let n = root.resolve_nofollow("/etc/ssh/sshd_config").unwrap();
        assert_eq!(n.real, "/etc/ssh/sshd_config");
        assert_eq!(n.kind, Some(Kind::Symlink));
        // A dangling link names where the file would be created.
        std::os::unix::fs::symlink("new.conf", ssh.join("dangling")).unwrap();
        let d = root.resolve_final("/etc/ssh/dangling").unwrap();
        assert_eq!((d.real.as_str(), d.kind), ("/etc/ssh/new.conf", None));
        assert_eq!(root.read("/etc/ssh/dangling").unwrap(), None);
    }

    #[test]
    fn links_out_of_the_root_are_refused_by_name() {
        let (t, root) = setup();
        let ssh = t.path().join("etc/ssh");
        std::os::unix::fs::symlink("../../../../../../etc/passwd", ssh.join("sshd_config"))
            .unwrap();
        let e = root.read("/etc/ssh/sshd_config").unwrap_err().to_string();
        assert!(e.contains("points outside the root"), "{e}");
        assert!(e.contains("/etc/ssh/sshd_config"), "{e}");
        assert!(root.resolve_final("/etc/ssh/sshd_config").is_err());
        // Every file system call on the host path of a refused target fails.
        let h = root.host("/etc/ssh/sshd_config");
        assert!(fs::read(&h).is_err());
        assert!(fs::write(&h, "x").is_err());
        assert!(!root.exists("/etc/ssh/sshd_config"));
    }

    #[test]
    fn long_chains_and_loops_are_refused() {
        let (t, root) = setup();
        let etc = t.path().join("etc");
        fs::write(etc.join("l0"), "end").unwrap();
        for i in 1..=45 {
            std::os::unix::fs::symlink(format!("l{}", i - 1), etc.join(format!("l{i}"))).unwrap();
        }
        assert_eq!(root.read("/etc/l40").unwrap().unwrap(), b"end");
        let e = root.read("/etc/l41").unwrap_err().to_string();
        assert!(
            e.contains("more than 40 symbolic links") && e.contains("/etc/l41"),
            "{e}"
        );
        std::os::unix::fs::symlink("loop-b", etc.join("loop-a")).unwrap();
        std::os::unix::fs::symlink("loop-a", etc.join("loop-b")).unwrap();
        let e = root.read("/etc/loop-a").unwrap_err().to_string();
        assert!(e.contains("a loop?"), "{e}");
    }

    #[test]
    fn only_regular_files_are_read_and_never_block() {
        let (t, root) = setup();
        let fifo = t.path().join("etc/ssh/sshd_config");
        nix::unistd::mkfifo(&fifo, Mode::from_bits_truncate(0o600)).unwrap();
        let e = root.read("/etc/ssh/sshd_config").unwrap_err().to_string();
        assert!(
            e.contains("FIFO") && e.contains("/etc/ssh/sshd_config"),
            "{e}"
        );
        let e = root.read("/etc/ssh").unwrap_err().to_string();
        assert!(e.contains("a directory"), "{e}");
        let sock = t.path().join("etc/sock");
        let _l = std::os::unix::net::UnixListener::bind(&sock).unwrap();
        let e = root.read("/etc/sock").unwrap_err().to_string();
        assert!(e.contains("socket"), "{e}");
        // A link to a device of the host, absolute: read inside the root, so absent here.
        std::os::unix::fs::symlink("/dev/zero", t.path().join("etc/zero")).unwrap();
        assert_eq!(root.read("/etc/zero").unwrap(), None);
        let e = Root::live().read("/dev/zero").unwrap_err().to_string();
        assert!(
            e.contains("character device") && e.contains("/dev/zero"),
            "{e}"
        );
    }

    #[test]
    fn oversized_files_are_refused() {
        let (t, root) = setup();
        let f = fs::File::create(t.path().join("etc/big.conf")).unwrap();
        f.set_len(MAX_FILE_BYTES + 1).unwrap();
        let e = root.read("/etc/big.conf").unwrap_err().to_string();
        assert!(
            e.contains("too large") && e.contains("/etc/big.conf"),
            "{e}"
        );
        f.set_len(MAX_FILE_BYTES).unwrap();
        assert_eq!(
            root.read("/etc/big.conf").unwrap().unwrap().len() as u64,
            MAX_FILE_BYTES
        );
    }

    #[test]
    fn glob_matches_inside_the_root() {
        let (t, root) = setup();
        let d = t.path().join("etc/ssh/sshd_config.d");
        fs::create_dir_all(&d).unwrap();
        for n in ["b.conf", "a.conf", ".hidden.conf", "c.txt"] {
            fs::write(d.join(n), "").unwrap();
        }
        std::os::unix::fs::symlink("/etc/ssh/sshd_config.d", t.path().join("etc/ssh/d")).unwrap();
        assert_eq!(
            root.glob("/etc/ssh/d/*.conf"),
            ["/etc/ssh/d/a.conf", "/etc/ssh/d/b.conf"]
        );
        assert_eq!(
            root.glob("/etc/*/sshd_config.d/a.conf"),
            ["/etc/ssh/sshd_config.d/a.conf"]
        );
        assert!(root.glob("/etc/nope/*.conf").is_empty());
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
