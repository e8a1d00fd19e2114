//! Loading an Asterisk configuration the way Asterisk does: `#include`/`#tryinclude` are
//! read in place (relative to /etc/asterisk, globs allowed), the current section carries on
//! into and out of included files, `[name](+)` adds to an earlier section, and
//! `[name](tpl,...)` inherits from earlier sections.

use std::collections::{BTreeSet, HashMap};

use crate::config::ini::{IniFile, IniLine};
use crate::root::Root;

pub const ASTERISK_DIR: &str = "/etc/asterisk";

/// One `key = value` as it appears in a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Lowercase (Asterisk compares keys without case).
    pub key: String,
    pub value: String,
    pub file: String,
    /// 0-based line in `file`.
    pub line: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    pub name: String,
    pub templates: Vec<String>,
    pub is_template: bool,
    pub file: String,
    /// 0-based line of the header.
    pub line: usize,
    pub entries: Vec<Entry>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Loaded {
    /// Every file read, in load order.
    pub files: Vec<String>,
    /// The first lines of each file (for the "Do NOT edit" banner), by index of `files`.
    pub heads: Vec<String>,
    pub sections: Vec<Section>,
    /// Files that could not be read (a missing include is not an error, as in Asterisk).
    pub errors: Vec<String>,
    /// Indexes of the sections of each (lowercase) name, ascending: finding an earlier
    /// section or a template costs no walk over thousands of extensions.
    by_name: HashMap<String, Vec<usize>>,
}

/// Asterisk's own `#include` nesting limit (`MAX_INCLUDE_LEVEL` in main/config.c).
const MAX_INCLUDE_LEVEL: usize = 10;
/// Template inheritance depth followed in lookups.
const MAX_DEPTH: usize = 20;

impl Loaded {
    /// Load `entry` (a target path) and what it includes; then each of `extra` that was not
    /// reached, as if included at the end.
    pub fn load(root: &Root, entry: &str, extra: &[String]) -> Loaded {
        let mut l = Loaded::default();
        let mut seen = BTreeSet::new();
        let mut current: Option<usize> = None;
        l.visit(root, entry, &mut Vec::new(), &mut seen, &mut current);
        for e in extra {
            if !seen.contains(e) {
                current = None;
                l.visit(root, e, &mut Vec::new(), &mut seen, &mut current);
            }
        }
        l
    }

    /// Read `path` in place. `chain`: the files including it, outermost first. A file that
    /// includes itself (directly or not) is a loop, reported in `errors` and not read again;
    /// a file read before is not read twice (its sections are already known); nesting
    /// deeper than Asterisk's own limit is reported and not read.
    fn visit(
        &mut self,
        root: &Root,
        path: &str,
        chain: &mut Vec<String>,
        seen: &mut BTreeSet<String>,
        current: &mut Option<usize>,
    ) {
        if chain.iter().any(|c| c == path) {
            let mut names: Vec<String> = chain
                .iter()
                .skip_while(|c| *c != path)
                .map(|c| root.display(c))
                .collect();
            names.push(root.display(path));
            self.errors.push(format!(
                "{} again: #include loop {} (Asterisk stops such a loop at its include limit)",
                root.display(path),
                names.join(" -> ")
            ));
            return;
        }
        if chain.len() > MAX_INCLUDE_LEVEL {
            self.errors.push(format!(
                "{}: #include nested more than {MAX_INCLUDE_LEVEL} deep (Asterisk stops there \
                 too); not read",
                root.display(path)
            ));
            return;
        }
        if !seen.insert(path.to_string()) {
            return;
        }
        let bytes = match root.read(path) {
            Ok(Some(b)) => b,
            Ok(None) => return,
            Err(e) => {
                self.errors.push(e.to_string());
                return;
            }
        };
        let ini = IniFile::parse(&bytes);
        self.files.push(path.to_string());
        self.heads.push(
            ini.text
                .lines
                .iter()
                .take(15)
                .map(|l| l.text.as_str())
                .collect::<Vec<_>>()
                .join("\n"),
        );
        let headers = ini.section_headers();
        let mut h = headers.iter().peekable();
        for (i, p) in ini.parsed.iter().enumerate() {
            match p {
                IniLine::Section { .. } => {
                    let Some(hd) = h.next() else { continue };
                    debug_assert_eq!(hd.line, i);
                    let key = hd.name.to_ascii_lowercase();
                    if hd.addition
                        && let Some(&e) = self.by_name.get(&key).and_then(|v| v.last())
                    {
                        *current = Some(e);
                        continue;
                    }
                    self.by_name
                        .entry(key)
                        .or_default()
                        .push(self.sections.len());
                    self.sections.push(Section {
                        name: hd.name.clone(),
                        templates: hd.templates.clone(),
                        is_template: hd.is_template,
                        file: path.to_string(),
                        line: i,
                        entries: Vec::new(),
                    });
                    *current = Some(self.sections.len() - 1);
                }
                IniLine::Entry { key, value, .. } => {
                    if let Some(c) = *current {
                        self.sections[c].entries.push(Entry {
                            key: key.to_ascii_lowercase(),
                            value: value.clone(),
                            file: path.to_string(),
                            line: i,
                        });
                    }
                }
                IniLine::Include { file } => {
                    chain.push(path.to_string());
                    for inc in resolve_include(root, path, file) {
                        self.visit(root, &inc, chain, seen, current);
                    }
                    chain.pop();
                }
                IniLine::Other => {}
            }
        }
    }

    /// The value of `key` for section `idx`: its own last one, else inherited from its
    /// templates (the later template wins, as Asterisk appends them in order).
    pub fn lookup(&self, idx: usize, key: &str) -> Option<(&Entry, usize)> {
        self.lookup_depth(idx, key, 0)
    }

    fn lookup_depth(&self, idx: usize, key: &str, depth: usize) -> Option<(&Entry, usize)> {
        if depth > MAX_DEPTH {
            return None;
        }
        let s = &self.sections[idx];
        if let Some(e) = s.entries.iter().rev().find(|e| e.key == key) {
            return Some((e, idx));
        }
        for t in s.templates.iter().rev() {
            if let Some(ti) = self.template_index(idx, t)
                && let Some(found) = self.lookup_depth(ti, key, depth + 1)
            {
                return Some(found);
            }
        }
        None
    }

    /// Every value of a repeatable key (`permit`, `deny`, `allow`), templates first.
    pub fn all(&self, idx: usize, key: &str) -> Vec<&Entry> {
        let mut out = Vec::new();
        self.all_depth(idx, key, 0, &mut out);
        out
    }

    fn all_depth<'a>(&'a self, idx: usize, key: &str, depth: usize, out: &mut Vec<&'a Entry>) {
        if depth > MAX_DEPTH {
            return;
        }
        for t in &self.sections[idx].templates {
            if let Some(ti) = self.template_index(idx, t) {
                self.all_depth(ti, key, depth + 1, out);
            }
        }
        out.extend(self.sections[idx].entries.iter().filter(|e| e.key == key));
    }

    /// The section a template name refers to: the last one of that name before `idx`.
    fn template_index(&self, idx: usize, name: &str) -> Option<usize> {
        let v = self.by_name.get(&name.to_ascii_lowercase())?;
        let n = v.partition_point(|&i| i < idx);
        n.checked_sub(1).map(|n| v[n])
    }

    pub fn head_of(&self, file: &str) -> &str {
        self.files
            .iter()
            .position(|f| f == file)
            .map(|i| self.heads[i].as_str())
            .unwrap_or("")
    }
}

/// Target paths an `#include` line names (relative to /etc/asterisk; globs expanded).
pub fn resolve_include(root: &Root, _from: &str, file: &str) -> Vec<String> {
    if file.is_empty() {
        return Vec::new();
    }
    let path = if file.starts_with('/') {
        file.to_string()
    } else {
        format!("{ASTERISK_DIR}/{file}")
    };
    if path.contains(['*', '?', '[']) {
        root.glob(&path)
    } else {
        vec![path]
    }
}

/// A value as Asterisk uses it: `\;` is a literal semicolon.
pub fn unescape(v: &str) -> String {
    v.replace("\\;", ";")
}
