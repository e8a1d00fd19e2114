//! Shell-variable files that a program sources with bash (`conf.apf`, `conf.bfd`):
//! `KEY="value"`, `KEY='value'`, `KEY=value`, several on one line (`TCR_PASS="1"\tTCR_PORTS=…`),
//! trailing `# comments`. Only top-level assignments are editable; bash uses the last one.
//! A value is replaced inside its quotes; every other byte stays.

use std::ops::Range;

use crate::config::shell;
use crate::config::text::Text;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assignment {
    pub line: usize,
    pub key: String,
    /// The value with quotes removed (no expansion is done).
    pub value: String,
    /// Byte range of the value *inside* its quotes.
    pub value_range: Range<usize>,
    pub quote: Option<char>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShellVars {
    pub text: Text,
    pub vars: Vec<Assignment>,
}

fn is_name_start(c: u8) -> bool {
    c.is_ascii_alphabetic() || c == b'_'
}

fn is_name(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

/// Assignments at the start of a line (a simple command's prefix assignments).
pub fn parse_assignments(line: &str, line_no: usize) -> Vec<Assignment> {
    let b = line.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    loop {
        while i < b.len() && (b[i] == b' ' || b[i] == b'\t') {
            i += 1;
        }
        if i >= b.len() || b[i] == b'#' || !is_name_start(b[i]) {
            break;
        }
        let ks = i;
        while i < b.len() && is_name(b[i]) {
            i += 1;
        }
        if i >= b.len() || b[i] != b'=' {
            break; // a command, not an assignment
        }
        let key = line[ks..i].to_string();
        i += 1;
        let (value, range, quote) = if i < b.len() && (b[i] == b'"' || b[i] == b'\'') {
            let q = b[i];
            i += 1;
            let s = i;
            while i < b.len() && b[i] != q {
                if q == b'"' && b[i] == b'\\' {
                    i += 1;
                }
                i += 1;
            }
            let e = i.min(b.len());
            if i < b.len() {
                i += 1;
            }
            (line[s..e].to_string(), s..e, Some(q as char))
        } else {
            let s = i;
            let mut depth = 0i32;
            while i < b.len() && (depth > 0 || !(b[i] == b' ' || b[i] == b'\t' || b[i] == b';')) {
                match b[i] {
                    b'`' => depth = if depth > 0 { 0 } else { 1 },
                    b'(' if i > 0 && b[i - 1] == b'$' => depth += 1,
                    b')' if depth > 0 => depth -= 1,
                    _ => {}
                }
                i += 1;
            }
            (line[s..i].to_string(), s..i, None)
        };
        out.push(Assignment {
            line: line_no,
            key,
            value,
            value_range: range,
            quote,
        });
    }
    out
}

impl ShellVars {
    pub fn parse(bytes: &[u8]) -> ShellVars {
        let text = Text::parse(bytes);
        let mut vars = Vec::new();
        let mut depth = 0i32; // inside if/for/functions: not top-level
        for (n, l) in text.lines.iter().enumerate() {
            let t = l.text.trim_start();
            let first = t.split_whitespace().next().unwrap_or("");
            if matches!(first, "if" | "for" | "while" | "case" | "until") || t.ends_with("{") {
                depth += 1;
            }
            if depth == 0 {
                vars.extend(parse_assignments(&l.text, n));
            }
            if matches!(first, "fi" | "done" | "esac" | "}") {
                depth = (depth - 1).max(0);
            }
        }
        ShellVars { text, vars }
    }

    /// The effective (last) top-level value of `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.vars
            .iter()
            .rev()
            .find(|a| a.key == key)
            .map(|a| a.value.as_str())
    }

    pub fn has(&self, key: &str) -> bool {
        self.vars.iter().any(|a| a.key == key)
    }

    /// Set the last assignment of `key` to `value` (kept in its quotes, quoted by
    /// `config::shell` so that bash reads back exactly `value`). Returns true when the file
    /// changed. A missing key is inserted by `insert` instead.
    pub fn set(&mut self, key: &str, value: &str) -> bool {
        let Some(idx) = self.vars.iter().rposition(|a| a.key == key) else {
            return false;
        };
        let a = self.vars[idx].clone();
        if a.quote.is_none() && a.value == value && (value.is_empty() || shell::is_bare(value)) {
            return false; // `KEY=` or `KEY=word` that bash already reads as `value`
        }
        let new_val = match a.quote {
            Some('"') => shell::escape_double(value),
            Some(_) => shell::escape_single(value),
            None if shell::is_bare(value) => value.to_string(),
            // A bare value that needs quotes now.
            None => shell::double_quote(value),
        };
        if a.value == new_val {
            return false;
        }
        let line = &mut self.text.lines[a.line].text;
        line.replace_range(a.value_range.clone(), &new_val);
        self.reparse_line(a.line);
        true
    }

    /// Take every element equal to `item` out of the list in the last assignment of `key`
    /// (elements separated by commas or blanks, as APF's port lists): the element goes with
    /// the separator after it (before it, for the last one); the other elements and their
    /// separators stay as they are. Returns true when the file changed.
    pub fn remove_list_item(&mut self, key: &str, item: &str) -> bool {
        let Some(value) = self.get(key).map(str::to_string) else {
            return false;
        };
        let is_sep = |c: char| c == ',' || c.is_whitespace();
        // (start, end) of each element, in bytes.
        let mut elems: Vec<(usize, usize)> = Vec::new();
        let mut start = None;
        for (i, c) in value.char_indices() {
            match (is_sep(c), start) {
                (true, Some(s)) => {
                    elems.push((s, i));
                    start = None;
                }
                (false, None) => start = Some(i),
                _ => {}
            }
        }
        if let Some(s) = start {
            elems.push((s, value.len()));
        }
        let mut cut: Vec<(usize, usize)> = Vec::new();
        for (k, &(s, e)) in elems.iter().enumerate() {
            if &value[s..e] != item {
                continue;
            }
            match (elems.get(k + 1), k.checked_sub(1).map(|j| elems[j])) {
                (Some(&(next, _)), _) => cut.push((s, next)),
                (None, Some((_, prev_end))) => cut.push((prev_end, e)),
                (None, None) => cut.push((s, e)),
            }
        }
        if cut.is_empty() {
            return false;
        }
        let mut out = String::new();
        let mut at = 0;
        for (s, e) in cut {
            let s = s.max(at);
            out.push_str(&value[at..s]);
            at = e.max(at);
        }
        out.push_str(&value[at..]);
        self.set(key, &out)
    }

    /// Replace the text inside the double quotes of the last assignment of `key` verbatim:
    /// the caller writes shell syntax that bash must expand later (BFD's
    /// `BAN_COMMAND="/etc/apf/apf -d $ATTACK_HOST {bfd.$MOD}"`). False when the key is missing
    /// or not double-quoted, or the value is already that text.
    pub fn set_raw(&mut self, key: &str, raw: &str) -> bool {
        let Some(idx) = self.vars.iter().rposition(|a| a.key == key) else {
            return false;
        };
        let a = self.vars[idx].clone();
        if a.quote != Some('"') || a.value == raw {
            return false;
        }
        self.text.lines[a.line]
            .text
            .replace_range(a.value_range.clone(), raw);
        self.reparse_line(a.line);
        true
    }

    /// Add `KEY="value"` for a key the file lacks: before the line that sources the internal
    /// settings (`. $CNFINT` in conf.apf), so that they still come last, or at the end.
    pub fn insert_missing(&mut self, key: &str, value: &str) {
        let at = self
            .text
            .lines
            .iter()
            .rposition(|l| {
                let t = l.text.trim_start();
                t.starts_with(". ") || t.starts_with("source ")
            })
            .unwrap_or(self.text.len());
        self.text
            .insert(at, format!("{key}={}", shell::double_quote(value)));
        *self = ShellVars::parse(&self.text.to_bytes());
    }

    /// Insert `KEY="value"` before line `at` (for keys a version lacks).
    pub fn insert(&mut self, at: usize, key: &str, value: &str) {
        self.text
            .insert(at, format!("{key}={}", shell::double_quote(value)));
        *self = ShellVars::parse(&self.text.to_bytes());
    }

    fn reparse_line(&mut self, line: usize) {
        self.vars.retain(|a| a.line != line);
        let new = parse_assignments(&self.text.lines[line].text, line);
        let pos = self
            .vars
            .iter()
            .position(|a| a.line > line)
            .unwrap_or(self.vars.len());
        for (k, a) in new.into_iter().enumerate() {
            self.vars.insert(pos + k, a);
        }
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        self.text.to_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edits_in_place() {
        let src = b"# conf\nDEVEL_MODE=\"1\"\nTCR_PASS=\"1\"\t\tTCR_PORTS=\"33434:33534\"\nX=plain # c\nif [ 1 ]; then\n  DEVEL_MODE=\"7\"\nfi\n";
        let mut v = ShellVars::parse(src);
        assert_eq!(v.to_bytes(), src);
        assert_eq!(v.get("DEVEL_MODE"), Some("1"));
        assert_eq!(v.get("TCR_PORTS"), Some("33434:33534"));
        assert!(v.set("DEVEL_MODE", "0"));
        assert!(v.set("TCR_PORTS", "1_2"));
        assert!(v.set("X", "two words"));
        assert!(!v.set("DEVEL_MODE", "0"));
        assert_eq!(
            String::from_utf8(v.to_bytes()).unwrap(),
            "# conf\nDEVEL_MODE=\"0\"\nTCR_PASS=\"1\"\t\tTCR_PORTS=\"1_2\"\nX=\"two words\" # c\nif [ 1 ]; then\n  DEVEL_MODE=\"7\"\nfi\n"
        );
    }

    #[test]
    fn raw_values_and_missing_keys() {
        let src = b"BAN_COMMAND=\"/usr/sbin/apf -d $ATTACK_HOST\"\nCNFINT=\"x\"\n. $CNFINT\n";
        let mut v = ShellVars::parse(src);
        assert!(v.set_raw("BAN_COMMAND", "/etc/apf/apf -d $ATTACK_HOST {bfd.$MOD}"));
        v.insert_missing("HELPER_SSH_PORT", "22022");
        v.insert_missing("NOTE", "a $b");
        assert_eq!(
            String::from_utf8(v.to_bytes()).unwrap(),
            "BAN_COMMAND=\"/etc/apf/apf -d $ATTACK_HOST {bfd.$MOD}\"\nCNFINT=\"x\"\n\
             HELPER_SSH_PORT=\"22022\"\nNOTE=\"a \\$b\"\n. $CNFINT\n"
        );
        let mut w = ShellVars::parse(b"A=1");
        w.insert_missing("B", "2");
        assert_eq!(w.to_bytes(), b"A=1\nB=\"2\"");
    }

    /// What bash reads from `bytes`: the value of each of `keys` after sourcing them.
    fn bash_reads(bytes: &[u8], keys: &[&str]) -> Vec<String> {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("conf");
        std::fs::write(&f, bytes).unwrap();
        let script = keys
            .iter()
            .map(|k| format!("printf '%s\\0' \"${k}\";"))
            .collect::<String>();
        let o = std::process::Command::new("bash")
            .arg("-c")
            .arg(format!("source \"$1\" >/dev/null 2>&1; {script}"))
            .arg("bash")
            .arg(&f)
            .output()
            .unwrap();
        let mut v: Vec<String> = String::from_utf8(o.stdout)
            .unwrap()
            .split('\0')
            .map(str::to_string)
            .collect();
        v.pop();
        v
    }

    #[test]
    fn values_bash_reads_back() {
        // A value that was bare before: `$`, `"` and backquotes are escaped too.
        let mut v = ShellVars::parse(b"A=old\nB=keep\n");
        let nasty = "x $(touch /tmp/pwned) \"q\" `id` \\ $HOME 'y'";
        assert!(v.set("A", nasty));
        assert_eq!(bash_reads(&v.to_bytes(), &["A", "B"]), [nasty, "keep"]);
        // Inserted values too.
        let mut w = ShellVars::parse(b"A=1\n");
        w.insert(1, "C", "$x`y`\"");
        assert_eq!(bash_reads(&w.to_bytes(), &["C"]), ["$x`y`\""]);
        // Setting what bash already reads changes nothing; a raw text that only looks the
        // same is rewritten.
        let mut u = ShellVars::parse(b"A=\"a\\$b\"\n");
        assert!(!u.set("A", "a$b"));
        assert!(u.set("A", "a\\$b"));
        assert_eq!(bash_reads(&u.to_bytes(), &["A"]), ["a\\$b"]);
        let mut e = ShellVars::parse(b"A=\nB=word\n");
        assert!(!e.set("A", "") && !e.set("B", "word"));
    }

    proptest::proptest! {
        /// Whatever the value and however the old one was quoted, bash sourcing the edited
        /// file reads back exactly the value, and the next line still reads as before.
        #[test]
        fn bash_reads_back_any_value(
            value in "[^\\x00]{0,24}",
            old in proptest::sample::select(vec![
                "V=\"old\"", "V='old'", "V=old", "V=", "V=\"\"", "# no V",
            ]),
        ) {
            let src = format!("{old}\nW=\"keep\"\n");
            let mut v = ShellVars::parse(src.as_bytes());
            if v.has("V") {
                v.set("V", &value);
            } else {
                v.insert_missing("V", &value);
            }
            let got = bash_reads(&v.to_bytes(), &["V", "W"]);
            proptest::prop_assert_eq!(got, vec![value.clone(), "keep".to_string()]);
        }
    }

    #[test]
    fn command_substitution_values() {
        let v = ShellVars::parse(b"TIME_ZONE=`date +\"%z\"`\nA=$(echo b c)\n");
        assert_eq!(v.get("TIME_ZONE"), Some("`date +\"%z\"`"));
        assert_eq!(v.get("A"), Some("$(echo b c)"));
    }

    #[test]
    fn removes_a_list_item_in_place() {
        let src = b"# ports\nIG_TCP_CPORTS=\"2222,22,80,5060_5061\" # keep\nX=\"22\"\n";
        let mut v = ShellVars::parse(src);
        assert!(v.remove_list_item("IG_TCP_CPORTS", "22"));
        assert_eq!(
            v.to_bytes(),
            b"# ports\nIG_TCP_CPORTS=\"2222,80,5060_5061\" # keep\nX=\"22\"\n"
        );
        assert!(!v.remove_list_item("IG_TCP_CPORTS", "22"));
        assert!(!v.remove_list_item("IG_TCP_CPORTS", "5060"));
        assert!(!v.remove_list_item("MISSING", "22"));
        let mut v = ShellVars::parse(b"L=\"80, 443 22\"\n");
        assert!(v.remove_list_item("L", "22"));
        assert_eq!(v.get("L"), Some("80, 443"));
        let mut v = ShellVars::parse(b"L=\"22,22,80\"\n");
        assert!(v.remove_list_item("L", "22"));
        assert_eq!(v.get("L"), Some("80"));
        let mut v = ShellVars::parse(b"L=22\n");
        assert!(v.remove_list_item("L", "22"));
        assert_eq!(v.get("L"), Some(""));
    }
}
