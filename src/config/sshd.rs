//! sshd_config, edited the way sshd reads it.
//!
//! What sshd does, and therefore what this editor models:
//! - keywords are case-insensitive; `Keyword value`, `Keyword=value` and tabs are all valid;
//! - `Include` is expanded in place (glob, sorted; relative to /etc/ssh), recursively; an
//!   Include loop is refused by name (sshd itself refuses to start past 16 levels), and so
//!   are repeats that would make sshd read more than 1024 files;
//! - for most keywords the *first* value read wins; `Port`, `ListenAddress`, `AllowUsers`,
//!   `DenyUsers`, `AllowGroups`, `DenyGroups`, `HostKey` accumulate;
//! - everything after a `Match` line belongs to that Match, until the end of the file that
//!   holds it (an Include returns to its parent's context afterwards).
//!
//! Edits change only the lines they must: a value is replaced inside its line (keyword case,
//! separators and trailing comment kept); a missing keyword is inserted after its commented
//! template (`#Port 22`) or before the first `Match`; surplus accumulating lines are removed.

use std::collections::BTreeMap;
use std::ops::Range;

use crate::config::text::Text;
use crate::error::{Error, Result};
use crate::root::Root;

/// sshd's port when its configuration names none (and the one pbx-harden assumes when
/// the configuration cannot be read).
pub const DEFAULT_PORT: u16 = 22;

pub const MAIN: &str = "/etc/ssh/sshd_config";
const SSHDIR: &str = "/etc/ssh";
/// OpenSSH's own limit (`READCONF_MAX_DEPTH`): deeper nesting makes sshd refuse to start.
const MAX_INCLUDE_DEPTH: usize = 16;
/// Most files read in total while expanding Includes (the same file included from several
/// places counts each time, as sshd reads it each time).
const MAX_INCLUDED_READS: usize = 1024;

/// One parsed directive line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Directive {
    /// Lowercase keyword.
    pub keyword: String,
    pub args: Vec<String>,
    /// Byte range of the arguments in the line (empty range when there are none).
    pub args_range: Range<usize>,
}

/// Parse one line the way sshd's tokenizer does; `None` for blanks and comments.
pub fn parse_directive(line: &str) -> Option<Directive> {
    let b = line.as_bytes();
    let mut i = 0;
    while i < b.len() && (b[i] == b' ' || b[i] == b'\t' || b[i] == b'\x0c') {
        i += 1;
    }
    if i >= b.len() || b[i] == b'#' {
        return None;
    }
    let kw_start = i;
    while i < b.len() && !matches!(b[i], b' ' | b'\t' | b'=' | b'\x0c') {
        i += 1;
    }
    let keyword = line[kw_start..i].to_ascii_lowercase();
    // separator: whitespace, at most one '=', whitespace
    while i < b.len() && matches!(b[i], b' ' | b'\t' | b'\x0c') {
        i += 1;
    }
    if i < b.len() && b[i] == b'=' {
        i += 1;
        while i < b.len() && matches!(b[i], b' ' | b'\t' | b'\x0c') {
            i += 1;
        }
    }
    let args_start = i;
    let mut args_end = i;
    let mut args = Vec::new();
    while i < b.len() {
        if matches!(b[i], b' ' | b'\t' | b'\x0c' | b'\r') {
            i += 1;
            continue;
        }
        if b[i] == b'#' {
            break; // a comment starts a word: the rest of the line is a comment
        }
        let start = i;
        let mut tok = String::new();
        if b[i] == b'"' {
            i += 1;
            let s = i;
            while i < b.len() && b[i] != b'"' {
                i += 1;
            }
            tok.push_str(&line[s..i]);
            if i < b.len() {
                i += 1;
            }
        } else {
            while i < b.len() && !matches!(b[i], b' ' | b'\t' | b'\x0c' | b'\r') {
                i += 1;
            }
            tok.push_str(&line[start..i]);
        }
        args.push(tok);
        args_end = i;
    }
    let args_range = if args.is_empty() {
        args_start..args_start
    } else {
        args_start..args_end
    };
    Some(Directive {
        keyword,
        args,
        args_range,
    })
}

/// One file of the configuration as read from the target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SshdFile {
    /// Target path (e.g. `/etc/ssh/sshd_config.d/50-redhat.conf`).
    pub path: String,
    pub original: Vec<u8>,
    pub text: Text,
}

impl SshdFile {
    pub fn bytes(&self) -> Vec<u8> {
        self.text.to_bytes()
    }

    pub fn changed(&self) -> bool {
        self.bytes() != self.original
    }
}

/// Where a directive was read, in evaluation order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Occurrence {
    pub file: usize,
    pub line: usize,
    pub keyword: String,
    pub args: Vec<String>,
    /// False inside a Match block (or in a file included from one).
    pub global: bool,
}

/// The main file plus every file its Include lines pull in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SshdConfig {
    pub files: Vec<SshdFile>,
    /// Include pattern (as written, after making it absolute) -> files it matched.
    includes: BTreeMap<String, Vec<usize>>,
}

fn absolute_include(pattern: &str) -> String {
    if pattern.starts_with('/') {
        pattern.to_string()
    } else if let Some(rest) = pattern.strip_prefix("~") {
        format!("/root{rest}")
    } else {
        format!("{SSHDIR}/{pattern}")
    }
}

impl SshdConfig {
    /// Read `/etc/ssh/sshd_config` of the root and everything it includes.
    pub fn load(root: &Root) -> Result<SshdConfig> {
        Self::load_from(root, MAIN)
    }

    pub fn load_from(root: &Root, main: &str) -> Result<SshdConfig> {
        let bytes = root.read(main)?.ok_or_else(|| {
            Error::invalid(format!(
                "{} does not exist: is openssh-server installed on the target?",
                root.display(main)
            ))
        })?;
        let mut cfg = SshdConfig {
            files: vec![SshdFile {
                path: main.to_string(),
                text: Text::parse(&bytes),
                original: bytes,
            }],
            includes: BTreeMap::new(),
        };
        cfg.load_includes(root, 0, 0)?;
        cfg.check_includes(root)?;
        Ok(cfg)
    }

    /// The files each Include line of `file` reads, in order.
    fn include_hits(&self, file: usize) -> Vec<usize> {
        self.files[file]
            .text
            .lines
            .iter()
            .filter_map(|l| parse_directive(&l.text))
            .filter(|d| d.keyword == "include")
            .flat_map(|d| d.args)
            .filter_map(|p| self.includes.get(&absolute_include(&p)))
            .flatten()
            .copied()
            .collect()
    }

    /// Refuse Include loops (sshd itself stops at depth 16 and refuses to start) and
    /// repeats that would make sshd read more than `MAX_INCLUDED_READS` files. Linear in
    /// the number of Include edges: each file's count is computed once.
    fn check_includes(&self, root: &Root) -> Result<()> {
        let n = self.files.len();
        let hits: Vec<Vec<usize>> = (0..n).map(|f| self.include_hits(f)).collect();
        // reads[f]: files read when f is read (itself included), saturating.
        let mut reads: Vec<Option<usize>> = vec![None; n];
        let mut depth: Vec<usize> = vec![0; n];
        let mut on_stack = vec![false; n];
        // Iterative DFS: (file, next edge).
        let mut stack: Vec<(usize, usize)> = vec![(0, 0)];
        on_stack[0] = true;
        while let Some(&mut (f, ref mut next)) = stack.last_mut() {
            if let Some(&h) = hits[f].get(*next) {
                *next += 1;
                if on_stack[h] {
                    let mut chain: Vec<String> = stack
                        .iter()
                        .skip_while(|(g, _)| *g != h)
                        .map(|(g, _)| root.display(&self.files[*g].path))
                        .collect();
                    chain.push(root.display(&self.files[h].path));
                    return Err(Error::invalid(format!(
                        "Include loop: {} (sshd would refuse to start: too many recursive \
                         configuration includes)",
                        chain.join(" -> ")
                    )));
                }
                if reads[h].is_none() {
                    if stack.len() > MAX_INCLUDE_DEPTH {
                        return Err(Error::invalid(format!(
                            "{}: Include nested more than {MAX_INCLUDE_DEPTH} deep; sshd would \
                             refuse to start",
                            root.display(&self.files[h].path)
                        )));
                    }
                    on_stack[h] = true;
                    stack.push((h, 0));
                }
                continue;
            }
            stack.pop();
            on_stack[f] = false;
            let total = hits[f]
                .iter()
                .fold(1usize, |acc, h| acc.saturating_add(reads[*h].unwrap_or(0)));
            let d = hits[f].iter().map(|h| depth[*h] + 1).max().unwrap_or(0);
            if total > MAX_INCLUDED_READS || d > MAX_INCLUDE_DEPTH {
                return Err(Error::invalid(format!(
                    "{}: its Include lines read the same files again and again ({} reads, \
                     {d} deep); more than the {MAX_INCLUDED_READS} reads or {MAX_INCLUDE_DEPTH} \
                     levels pbx-harden accepts",
                    root.display(&self.files[f].path),
                    if total > MAX_INCLUDED_READS {
                        format!("more than {MAX_INCLUDED_READS}")
                    } else {
                        total.to_string()
                    }
                )));
            }
            reads[f] = Some(total);
            depth[f] = d;
        }
        Ok(())
    }

    /// Build from in-memory files (tests, previews): `files[0]` is the main file; Include
    /// patterns are matched against the other paths.
    pub fn from_memory(files: &[(&str, &[u8])]) -> SshdConfig {
        let files: Vec<SshdFile> = files
            .iter()
            .map(|(p, b)| SshdFile {
                path: p.to_string(),
                original: b.to_vec(),
                text: Text::parse(b),
            })
            .collect();
        let mut includes = BTreeMap::new();
        for f in &files {
            for l in &f.text.lines {
                if let Some(d) = parse_directive(&l.text)
                    && d.keyword == "include"
                {
                    for pat in &d.args {
                        let abs = absolute_include(pat);
                        let m = glob::Pattern::new(&abs).ok();
                        let mut hits: Vec<usize> = files
                            .iter()
                            .enumerate()
                            .filter(|(_, g)| m.as_ref().is_some_and(|m| m.matches(&g.path)))
                            .map(|(i, _)| i)
                            .collect();
                        hits.sort_by(|a, b| files[*a].path.cmp(&files[*b].path));
                        includes.insert(abs, hits);
                    }
                }
            }
        }
        SshdConfig { files, includes }
    }

    fn load_includes(&mut self, root: &Root, file: usize, depth: usize) -> Result<()> {
        if depth > MAX_INCLUDE_DEPTH {
            return Err(Error::invalid(format!(
                "{}: Include nested more than {MAX_INCLUDE_DEPTH} deep (a loop?)",
                self.files[file].path
            )));
        }
        let patterns: Vec<String> = self.files[file]
            .text
            .lines
            .iter()
            .filter_map(|l| parse_directive(&l.text))
            .filter(|d| d.keyword == "include")
            .flat_map(|d| d.args)
            .map(|p| absolute_include(&p))
            .collect();
        for pat in patterns {
            if self.includes.contains_key(&pat) {
                continue;
            }
            let mut hits = Vec::new();
            for path in root.glob(&pat) {
                if root.kind(&path)? == Some(crate::root::Kind::Dir) {
                    continue;
                }
                let idx = match self.files.iter().position(|f| f.path == path) {
                    Some(i) => i,
                    None => {
                        let Some(bytes) = root.read(&path)? else {
                            continue;
                        };
                        self.files.push(SshdFile {
                            path: path.clone(),
                            text: Text::parse(&bytes),
                            original: bytes,
                        });
                        self.files.len() - 1
                    }
                };
                hits.push(idx);
            }
            self.includes.insert(pat, hits.clone());
            for h in hits {
                self.load_includes(root, h, depth + 1)?;
            }
        }
        Ok(())
    }

    /// Every directive in the order sshd reads them.
    pub fn occurrences(&self) -> Vec<Occurrence> {
        let mut out = Vec::new();
        self.walk(0, true, &mut vec![0], &mut out);
        out
    }

    /// `chain`: the files being read, outermost first (`file` last). A file already in it
    /// is not read again (a loop; `load` refuses those), nor anything deeper than sshd reads.
    fn walk(&self, file: usize, global: bool, chain: &mut Vec<usize>, out: &mut Vec<Occurrence>) {
        if chain.len() > MAX_INCLUDE_DEPTH + 1 {
            return;
        }
        let mut in_match = !global;
        for (i, line) in self.files[file].text.lines.iter().enumerate() {
            let Some(d) = parse_directive(&line.text) else {
                continue;
            };
            match d.keyword.as_str() {
                "match" => {
                    in_match = true;
                    out.push(Occurrence {
                        file,
                        line: i,
                        keyword: d.keyword,
                        args: d.args,
                        global: false,
                    });
                }
                "include" => {
                    for pat in &d.args {
                        if let Some(hits) = self.includes.get(&absolute_include(pat)) {
                            for &h in hits {
                                if !chain.contains(&h) {
                                    chain.push(h);
                                    self.walk(h, !in_match, chain, out);
                                    chain.pop();
                                }
                            }
                        }
                    }
                }
                _ => out.push(Occurrence {
                    file,
                    line: i,
                    keyword: d.keyword,
                    args: d.args,
                    global: !in_match,
                }),
            }
        }
    }

    /// The effective global value of a first-value-wins keyword.
    pub fn first(&self, keyword: &str) -> Option<Occurrence> {
        let kw = keyword.to_ascii_lowercase();
        self.occurrences()
            .into_iter()
            .find(|o| o.global && o.keyword == kw)
    }

    /// All global values of an accumulating keyword, in order.
    pub fn all(&self, keyword: &str) -> Vec<Occurrence> {
        let kw = keyword.to_ascii_lowercase();
        self.occurrences()
            .into_iter()
            .filter(|o| o.global && o.keyword == kw)
            .collect()
    }

    /// Occurrences inside Match blocks (for warnings about per-connection overrides).
    pub fn in_match(&self, keyword: &str) -> Vec<Occurrence> {
        let kw = keyword.to_ascii_lowercase();
        self.occurrences()
            .into_iter()
            .filter(|o| !o.global && o.keyword == kw)
            .collect()
    }

    /// `Port` values (default [`DEFAULT_PORT`]), in order.
    pub fn ports(&self) -> Vec<u16> {
        let ports: Vec<u16> = self
            .all("port")
            .iter()
            .filter_map(|o| o.args.first().and_then(|a| a.parse().ok()))
            .collect();
        if ports.is_empty() {
            vec![DEFAULT_PORT]
        } else {
            ports
        }
    }

    /// The ports sshd will listen on: explicit `ListenAddress host:port` ports, plus the
    /// `Port` values for listen addresses without a port (or when there is none).
    pub fn listen_ports(&self) -> Vec<u16> {
        let mut out = Vec::new();
        let mut uses_port = false;
        let la = self.all("listenaddress");
        if la.is_empty() {
            uses_port = true;
        }
        for o in &la {
            match o.args.first().and_then(|a| listen_port(a)) {
                Some(p) => out.push(p),
                None => uses_port = true,
            }
        }
        if uses_port {
            out.extend(self.ports());
        }
        out.sort_unstable();
        out.dedup();
        out
    }

    /// Effective value of a first-wins keyword, lowercase, or `default`.
    pub fn value_or(&self, keyword: &str, default: &str) -> String {
        self.first(keyword)
            .and_then(|o| o.args.first().cloned())
            .map(|s| s.to_ascii_lowercase())
            .unwrap_or_else(|| default.to_string())
    }

    /// Union of an accumulating list keyword (AllowUsers, DenyUsers, ...).
    pub fn list(&self, keyword: &str) -> Vec<String> {
        self.all(keyword).into_iter().flat_map(|o| o.args).collect()
    }

    // ----- edits -----

    /// Replace the arguments of the directive on `line`; false (nothing changed) if that
    /// line is not a directive.
    fn replace_args(&mut self, file: usize, line: usize, args: &[String]) -> bool {
        let l = &mut self.files[file].text.lines[line];
        let Some(d) = parse_directive(&l.text) else {
            return false;
        };
        let mut value = join_args(args);
        let mut range = d.args_range.clone();
        if d.args.is_empty() {
            // `Keyword` alone: make sure there is a separator before the new value.
            let before = &l.text[..range.start];
            if !before.ends_with([' ', '\t', '=']) {
                value.insert(0, ' ');
            }
            range = range.start..range.start;
        }
        l.text.replace_range(range, &value);
        true
    }

    /// Set a first-value-wins keyword so its effective global value is `args`.
    /// Returns true when something changed.
    pub fn set_first(&mut self, canonical: &str, args: &[String]) -> bool {
        match self.first(canonical) {
            Some(o) if args_equal(canonical, &o.args, args) => false,
            Some(o) => self.replace_args(o.file, o.line, args),
            None => {
                self.insert_global(canonical, args);
                true
            }
        }
    }

    /// Set a first-value-wins keyword whose winning line sits in a file that must not be
    /// edited (a crypto-policies back-end): a new line goes right before the main file's
    /// first global `Include`, so sshd reads it before anything included. Without such an
    /// Include this is `set_first`. Returns true when something changed.
    pub fn set_first_ahead(&mut self, canonical: &str, args: &[String]) -> bool {
        if self
            .first(canonical)
            .is_some_and(|o| args_equal(canonical, &o.args, args))
        {
            return false;
        }
        let lines = &self.files[0].text.lines;
        let mut at = None;
        for (i, l) in lines.iter().enumerate() {
            match parse_directive(&l.text).map(|d| d.keyword) {
                Some(k) if k == "match" => break,
                Some(k) if k == "include" => {
                    at = Some(i);
                    break;
                }
                _ => {}
            }
        }
        match at {
            Some(i) => {
                let line = format!("{canonical} {}", join_args(args));
                self.files[0].text.insert(i, line);
                true
            }
            None => self.set_first(canonical, args),
        }
    }

    /// Set an accumulating keyword so its global values are exactly `args` on one line:
    /// the first line gets the value, other global lines are removed.
    pub fn set_only(&mut self, canonical: &str, args: &[String]) -> bool {
        let occ = self.all(canonical);
        let current: Vec<String> = occ.iter().flat_map(|o| o.args.clone()).collect();
        if !occ.is_empty() && same_set(&current, args) {
            return false;
        }
        match occ.split_first() {
            None => {
                self.insert_global(canonical, args);
            }
            Some((first, rest)) => {
                if !self.replace_args(first.file, first.line, args) {
                    return false;
                }
                // Remove the others, last first so indices stay valid.
                let mut rest: Vec<(usize, usize)> = rest.iter().map(|o| (o.file, o.line)).collect();
                rest.sort_unstable();
                for (f, l) in rest.into_iter().rev() {
                    self.files[f].text.remove(l);
                }
            }
        }
        true
    }

    /// Move sshd to `port`: exactly one effective `Port`, and listen addresses that carry an
    /// explicit port follow it.
    pub fn set_port(&mut self, port: u16) -> bool {
        if self.listen_ports() == vec![port] && self.all("port").len() <= 1 {
            return false; // already so (also: no Port line and 22 wanted, the default)
        }
        let mut changed = self.set_only("Port", &[port.to_string()]);
        for o in self.all("listenaddress") {
            let Some(addr) = o.args.first() else { continue };
            if let Some(p) = listen_port(addr)
                && p != port
            {
                let mut args = o.args.clone();
                args[0] = with_listen_port(addr, port);
                changed |= self.replace_args(o.file, o.line, &args);
            }
        }
        changed
    }

    /// Insert `Keyword args` into the global part of the main file: after its commented
    /// template line if there is one, else before the first Match block, else at the end.
    fn insert_global(&mut self, canonical: &str, args: &[String]) -> usize {
        let text = &self.files[0].text;
        let first_match = text
            .lines
            .iter()
            .position(|l| parse_directive(&l.text).is_some_and(|d| d.keyword == "match"));
        let global_end = first_match.unwrap_or(text.len());
        let kw = canonical.to_ascii_lowercase();
        let template = text.lines[..global_end]
            .iter()
            .rposition(|l| is_template_of(&l.text, &kw));
        let new_line = format!("{canonical} {}", join_args(args));
        let at = match (template, first_match) {
            (Some(t), _) => t + 1,
            (None, Some(m)) => {
                let mut k = m;
                while k > 0 && is_comment(&text.lines[k - 1].text) {
                    k -= 1;
                }
                while k > 0 && text.lines[k - 1].text.trim().is_empty() {
                    k -= 1;
                }
                k
            }
            (None, None) => text.len(),
        };
        self.files[0].text.insert(at, new_line);
        at
    }

    /// Set a one-value accumulating keyword (`HostKey`) so its global values are exactly
    /// `values`, one line each, in that order where they are new: lines with a wanted value
    /// stay as they are, the others are removed, missing ones are added after the last kept
    /// line of the main file (or where `insert_global` puts them). True when something changed.
    pub fn set_each(&mut self, canonical: &str, values: &[String]) -> bool {
        let occ = self.all(canonical);
        let current: Vec<String> = occ.iter().filter_map(|o| o.args.first().cloned()).collect();
        if current == values {
            return false;
        }
        let mut remove: Vec<(usize, usize)> = Vec::new();
        let mut kept: Vec<String> = Vec::new();
        for o in &occ {
            let v = o.args.first().cloned().unwrap_or_default();
            if values.contains(&v) && !kept.contains(&v) && o.args.len() == 1 {
                kept.push(v);
            } else {
                remove.push((o.file, o.line));
            }
        }
        remove.sort_unstable();
        for (f, l) in remove.into_iter().rev() {
            self.files[f].text.remove(l);
        }
        let mut last_main: Option<usize> = self
            .all(canonical)
            .iter()
            .filter(|o| o.file == 0)
            .map(|o| o.line)
            .max();
        for v in values {
            if kept.contains(v) {
                continue;
            }
            let at = match last_main {
                Some(l) => {
                    let line = format!("{canonical} {}", join_args(std::slice::from_ref(v)));
                    self.files[0].text.insert(l + 1, line);
                    l + 1
                }
                None => self.insert_global(canonical, std::slice::from_ref(v)),
            };
            last_main = Some(at);
        }
        true
    }

    /// (path, before, after) for every file whose bytes changed.
    pub fn changed_files(&self) -> Vec<(&str, &[u8], Vec<u8>)> {
        self.files
            .iter()
            .filter(|f| f.changed())
            .map(|f| (f.path.as_str(), f.original.as_slice(), f.bytes()))
            .collect()
    }

    /// A single file with every Include expanded in place (for `sshd -t -f` outside the
    /// target). `rewrite` may change each line (e.g. HostKey paths); returning None drops it.
    pub fn flatten(&self, rewrite: &dyn Fn(&Directive, &str) -> Option<String>) -> String {
        let mut out = String::new();
        self.flatten_file(0, &mut vec![0], rewrite, &mut out);
        out
    }

    fn flatten_file(
        &self,
        file: usize,
        chain: &mut Vec<usize>,
        rewrite: &dyn Fn(&Directive, &str) -> Option<String>,
        out: &mut String,
    ) {
        if chain.len() > MAX_INCLUDE_DEPTH + 1 {
            return;
        }
        for line in &self.files[file].text.lines {
            match parse_directive(&line.text) {
                Some(d) if d.keyword == "include" => {
                    out.push_str(&format!("# {}\n", line.text.trim()));
                    for pat in &d.args {
                        if let Some(hits) = self.includes.get(&absolute_include(pat)) {
                            for &h in hits {
                                if chain.contains(&h) {
                                    continue;
                                }
                                out.push_str(&format!("# >>> {}\n", self.files[h].path));
                                chain.push(h);
                                self.flatten_file(h, chain, rewrite, out);
                                chain.pop();
                                out.push_str(&format!("# <<< {}\n", self.files[h].path));
                            }
                        }
                    }
                }
                Some(d) => {
                    if let Some(t) = rewrite(&d, &line.text) {
                        out.push_str(&t);
                        out.push('\n');
                    }
                }
                None => {
                    out.push_str(&line.text);
                    out.push('\n');
                }
            }
        }
    }
}

fn is_comment(line: &str) -> bool {
    line.trim_start().starts_with('#')
}

/// `#Port 22`, `# PermitRootLogin yes`: a commented-out directive of this keyword (not an
/// indented one, which belongs to a commented-out Match block).
fn is_template_of(line: &str, kw: &str) -> bool {
    let t = line.trim_start();
    let Some(rest) = t.strip_prefix('#') else {
        return false;
    };
    // `#\tAllowTcpForwarding no` under `#Match User anoncvs` is the body of a commented-out
    // Match example: a line inserted there would read as part of it.
    if rest.starts_with('\t') || rest.starts_with("  ") {
        return false;
    }
    let rest = rest.trim_start();
    let word: String = rest
        .chars()
        .take_while(|c| !c.is_whitespace() && *c != '=')
        .collect();
    word.eq_ignore_ascii_case(kw) && rest.len() > word.len()
}

fn join_args(args: &[String]) -> String {
    args.iter()
        .map(|a| {
            if a.is_empty() || a.contains([' ', '\t']) {
                format!("\"{a}\"")
            } else {
                a.clone()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn args_equal(keyword: &str, a: &[String], b: &[String]) -> bool {
    // Yes/no style values are case-insensitive in sshd.
    let kw = keyword.to_ascii_lowercase();
    let ci = matches!(
        kw.as_str(),
        "permitrootlogin" | "passwordauthentication" | "pubkeyauthentication" | "usepam"
    );
    a.len() == b.len()
        && a.iter().zip(b).all(|(x, y)| {
            if ci {
                x.eq_ignore_ascii_case(y)
            } else {
                x == y
            }
        })
}

fn same_set(a: &[String], b: &[String]) -> bool {
    let mut x: Vec<&String> = a.iter().collect();
    let mut y: Vec<&String> = b.iter().collect();
    x.sort();
    x.dedup();
    y.sort();
    y.dedup();
    x == y
}

/// The explicit port of a ListenAddress value (`0.0.0.0:22`, `[::]:22`), if any.
pub fn listen_port(addr: &str) -> Option<u16> {
    if let Some(rest) = addr.strip_prefix('[') {
        let close = rest.find(']')?;
        return rest[close + 1..].strip_prefix(':')?.parse().ok();
    }
    // A bare IPv6 address has several colons and no port.
    if addr.matches(':').count() == 1 {
        return addr.rsplit(':').next()?.parse().ok();
    }
    None
}

fn with_listen_port(addr: &str, port: u16) -> String {
    if let Some(rest) = addr.strip_prefix('[')
        && let Some(close) = rest.find(']')
    {
        return format!("[{}]:{port}", &rest[..close]);
    }
    match addr.rsplit_once(':') {
        Some((host, _)) => format!("{host}:{port}"),
        None => addr.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(main: &str) -> SshdConfig {
        SshdConfig::from_memory(&[(MAIN, main.as_bytes())])
    }

    fn out(c: &SshdConfig) -> String {
        String::from_utf8(c.files[0].bytes()).unwrap()
    }

    fn ssh_root(files: &[(&str, &str)]) -> (tempfile::TempDir, Root) {
        let t = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(t.path().join("etc/ssh/sshd_config.d")).unwrap();
        for (p, body) in files {
            std::fs::write(t.path().join(p.trim_start_matches('/')), body).unwrap();
        }
        let r = Root::open(t.path()).unwrap();
        (t, r)
    }

    #[test]
    fn include_loops_are_reported_as_loops_at_once() {
        let (_t, root) = ssh_root(&[(
            MAIN,
            "Include /etc/ssh/sshd_config\nInclude /etc/ssh/sshd_config\nPort 22\n",
        )]);
        let t0 = std::time::Instant::now();
        let e = SshdConfig::load(&root).unwrap_err().to_string();
        assert!(
            e.contains("Include loop") && e.contains("sshd_config"),
            "{e}"
        );
        assert!(t0.elapsed() < std::time::Duration::from_secs(2));
        // Twelve files that each include the glob that matches all of them.
        let mut files = vec![(
            MAIN.to_string(),
            "Include sshd_config.d/*.conf\n".to_string(),
        )];
        for i in 0..12 {
            files.push((
                format!("/etc/ssh/sshd_config.d/{i:02}.conf"),
                "Include /etc/ssh/sshd_config.d/*.conf\nPermitRootLogin no\n".to_string(),
            ));
        }
        let refs: Vec<(&str, &str)> = files
            .iter()
            .map(|(a, b)| (a.as_str(), b.as_str()))
            .collect();
        let (_t, root) = ssh_root(&refs);
        let t0 = std::time::Instant::now();
        let e = SshdConfig::load(&root).unwrap_err().to_string();
        assert!(e.contains("Include loop"), "{e}");
        assert!(t0.elapsed() < std::time::Duration::from_secs(2));
        // from_memory (previews) never loops either.
        let c = SshdConfig::from_memory(&[(
            MAIN,
            b"Include /etc/ssh/sshd_config\nInclude /etc/ssh/sshd_config\nPort 2\n",
        )]);
        assert_eq!(c.ports(), vec![2]);
    }

    #[test]
    fn repeated_includes_are_read_each_time_within_limits() {
        // a.conf included twice (not a loop): sshd reads it twice; fine.
        let (_t, root) = ssh_root(&[
            (
                MAIN,
                "Include sshd_config.d/a.conf\nInclude sshd_config.d/a.conf\n",
            ),
            ("/etc/ssh/sshd_config.d/a.conf", "Port 2200\n"),
        ]);
        let c = SshdConfig::load(&root).unwrap();
        assert_eq!(c.all("port").len(), 2);
        // A ladder of files each including the next level twice: 2^15 reads.
        let mut files = vec![(
            MAIN.to_string(),
            "Include sshd_config.d/l1.conf\nInclude sshd_config.d/l1.conf\n".to_string(),
        )];
        for i in 1..15 {
            files.push((
                format!("/etc/ssh/sshd_config.d/l{i}.conf"),
                format!(
                    "Include sshd_config.d/l{0}.conf\nInclude sshd_config.d/l{0}.conf\n",
                    i + 1
                ),
            ));
        }
        files.push(("/etc/ssh/sshd_config.d/l15.conf".into(), "Port 1\n".into()));
        let refs: Vec<(&str, &str)> = files
            .iter()
            .map(|(a, b)| (a.as_str(), b.as_str()))
            .collect();
        let (_t, root) = ssh_root(&refs);
        let e = SshdConfig::load(&root).unwrap_err().to_string();
        assert!(e.contains("again and again"), "{e}");
    }

    #[test]
    fn a_fifo_include_is_an_error_naming_it() {
        let (t, root) = ssh_root(&[(MAIN, "Include sshd_config.d/*.conf\n")]);
        nix::unistd::mkfifo(
            &t.path().join("etc/ssh/sshd_config.d/x.conf"),
            nix::sys::stat::Mode::from_bits_truncate(0o600),
        )
        .unwrap();
        let e = SshdConfig::load(&root).unwrap_err().to_string();
        assert!(e.contains("FIFO") && e.contains("x.conf"), "{e}");
    }

    #[test]
    fn tokenizer() {
        let d = parse_directive("  PermitRootLogin\t\tyes  # old default").unwrap();
        assert_eq!(d.keyword, "permitrootlogin");
        assert_eq!(d.args, vec!["yes"]);
        assert_eq!(
            &"  PermitRootLogin\t\tyes  # old default"[d.args_range],
            "yes"
        );
        let d = parse_directive("Port=2222").unwrap();
        assert_eq!((d.keyword.as_str(), d.args[0].as_str()), ("port", "2222"));
        let d = parse_directive("AllowUsers \"a b\" c").unwrap();
        assert_eq!(d.args, vec!["a b", "c"]);
        assert!(parse_directive("   # Port 22").is_none());
        assert!(parse_directive("").is_none());
        let d = parse_directive("UsePAM").unwrap();
        assert!(d.args.is_empty());
    }

    #[test]
    fn first_value_wins_and_case_is_ignored() {
        let c = cfg("permitrootlogin yes\nPermitRootLogin no\n");
        assert_eq!(c.value_or("PermitRootLogin", "x"), "yes");
        let mut c = c;
        assert!(c.set_first("PermitRootLogin", &["no".into()]));
        assert_eq!(out(&c), "permitrootlogin no\nPermitRootLogin no\n");
        assert!(!c.set_first("PermitRootLogin", &["NO".into()]));
    }

    #[test]
    fn insert_after_template_and_before_match() {
        let mut c =
            cfg("#Port 22\nX11Forwarding yes\n\n# per user\nMatch User bob\n\tX11Forwarding no\n");
        c.set_port(2222);
        c.set_only("AllowUsers", &["trixuser".into()]);
        assert_eq!(
            out(&c),
            "#Port 22\nPort 2222\nX11Forwarding yes\nAllowUsers trixuser\n\n# per user\nMatch User bob\n\tX11Forwarding no\n"
        );
        // global, not inside the Match
        assert_eq!(c.list("allowusers"), vec!["trixuser"]);
    }

    #[test]
    fn keeps_spacing_and_comments() {
        let mut c = cfg("Port\t22\t# ssh\nPort 2200\n");
        c.set_port(2222);
        assert_eq!(out(&c), "Port\t2222\t# ssh\n");
    }

    #[test]
    fn listen_address_ports_follow() {
        let mut c =
            cfg("ListenAddress 0.0.0.0:22\nListenAddress [::]:22\nListenAddress 10.0.0.1\n");
        assert_eq!(c.listen_ports(), vec![22]);
        c.set_port(2222);
        assert_eq!(c.listen_ports(), vec![2222]);
        assert!(out(&c).contains("ListenAddress [::]:2222\n"));
        assert_eq!(listen_port("::1"), None);
    }

    #[test]
    fn drop_in_wins_and_is_edited() {
        let mut c = SshdConfig::from_memory(&[
            (
                MAIN,
                b"Include /etc/ssh/sshd_config.d/*.conf\n#Port 22\nPermitRootLogin yes\n",
            ),
            (
                "/etc/ssh/sshd_config.d/10-x.conf",
                b"Port 22\nPermitRootLogin prohibit-password\n",
            ),
        ]);
        assert_eq!(c.value_or("permitrootlogin", ""), "prohibit-password");
        c.set_port(2222);
        c.set_first("PermitRootLogin", &["no".into()]);
        assert_eq!(c.ports(), vec![2222]);
        assert_eq!(c.value_or("permitrootlogin", ""), "no");
        assert_eq!(
            String::from_utf8(c.files[1].bytes()).unwrap(),
            "Port 2222\nPermitRootLogin no\n"
        );
        // main file untouched: its PermitRootLogin yes is shadowed, not effective
        assert!(!c.files[0].changed());
    }

    #[test]
    fn match_context_ends_with_the_included_file() {
        let c = SshdConfig::from_memory(&[
            (MAIN, b"Include conf.d/a.conf\nPermitRootLogin no\n"),
            (
                "/etc/ssh/conf.d/a.conf",
                b"Match User x\n  PermitRootLogin yes\n",
            ),
        ]);
        assert_eq!(c.value_or("permitrootlogin", ""), "no");
        assert_eq!(c.in_match("permitrootlogin").len(), 1);
    }

    #[test]
    fn set_each_keeps_wanted_lines_one_value_each() {
        let mut c = cfg(
            "#HostKey /etc/ssh/ssh_host_rsa_key\n#HostKey /etc/ssh/ssh_host_ed25519_key\nPort 22\n",
        );
        let want = vec![
            "/etc/ssh/ssh_host_rsa_key".to_string(),
            "/etc/ssh/ssh_host_ed25519_key".to_string(),
        ];
        assert!(c.set_each("HostKey", &want));
        assert_eq!(
            out(&c),
            "#HostKey /etc/ssh/ssh_host_rsa_key\n#HostKey /etc/ssh/ssh_host_ed25519_key\n\
             HostKey /etc/ssh/ssh_host_rsa_key\nHostKey /etc/ssh/ssh_host_ed25519_key\nPort 22\n"
        );
        assert!(!c.set_each("HostKey", &want));
        let mut c = cfg(
            "HostKey /etc/ssh/ssh_host_rsa_key\nHostKey /etc/ssh/ssh_host_ecdsa_key # old\n\
             HostKey /etc/ssh/ssh_host_ed25519_key\n",
        );
        assert!(c.set_each("HostKey", &want));
        assert_eq!(
            out(&c),
            "HostKey /etc/ssh/ssh_host_rsa_key\nHostKey /etc/ssh/ssh_host_ed25519_key\n"
        );
    }

    #[test]
    fn ahead_of_the_include_when_the_winner_must_not_be_edited() {
        let policy = "/etc/crypto-policies/back-ends/opensshserver.config";
        let mut c = SshdConfig::from_memory(&[
            (
                MAIN,
                b"# header\nInclude /etc/ssh/sshd_config.d/*.conf\n#Ciphers x\n".as_slice(),
            ),
            (
                "/etc/ssh/sshd_config.d/50-redhat.conf",
                format!("Include {policy}\n").as_bytes(),
            ),
            (policy, b"Ciphers aes256-cbc,aes128-ctr\n".as_slice()),
        ]);
        assert!(c.set_first_ahead("Ciphers", &["aes128-ctr".into()]));
        assert_eq!(
            out(&c),
            "# header\nCiphers aes128-ctr\nInclude /etc/ssh/sshd_config.d/*.conf\n#Ciphers x\n"
        );
        assert_eq!(c.value_or("ciphers", ""), "aes128-ctr");
        assert!(!c.files[2].changed(), "the policy file is not edited");
        assert!(!c.set_first_ahead("Ciphers", &["aes128-ctr".into()]));
    }

    #[test]
    fn a_commented_match_example_is_not_a_template() {
        let mut c = cfg("#Match User anoncvs\n#\tAllowTcpForwarding no\n#  X11Forwarding no\n");
        c.set_first("AllowTcpForwarding", &["local".into()]);
        c.set_first("X11Forwarding", &["no".into()]);
        assert_eq!(
            out(&c),
            "#Match User anoncvs\n#\tAllowTcpForwarding no\n#  X11Forwarding no\n\
             AllowTcpForwarding local\nX11Forwarding no\n"
        );
    }

    #[test]
    fn unchanged_is_identical_and_no_newline_at_end_is_kept() {
        let text = "Port 22\nPermitRootLogin yes";
        let mut c = cfg(text);
        assert!(!c.set_port(22));
        assert_eq!(out(&c), text);
        c.set_only("AllowUsers", &["a".into()]);
        assert_eq!(out(&c), "Port 22\nPermitRootLogin yes\nAllowUsers a");
    }
}
