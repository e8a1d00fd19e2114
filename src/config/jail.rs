//! fail2ban's `jail.local` (Python configparser syntax): `[section]`, `key = value` (or
//! `key: value`), comment lines starting with `#` or `;`, and values continued on indented
//! lines. Setting a value replaces it in its line (continuation lines of the old value go);
//! a missing key is added at the end of its section, a missing section at the end of the file.
//! Every other byte stays. pbx-harden only ever writes `jail.local`, never `jail.conf`.

use crate::config::text::Text;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Kind {
    Blank,
    Comment,
    Section(String),
    /// `key`, byte offset where the value starts.
    Entry(String, usize),
    Continuation,
    Other,
}

fn classify(line: &str, in_entry: bool) -> Kind {
    let t = line.trim_start();
    if t.is_empty() {
        return Kind::Blank;
    }
    if t.starts_with('#') || t.starts_with(';') {
        return Kind::Comment;
    }
    let indented = t.len() != line.len();
    if indented && in_entry {
        return Kind::Continuation;
    }
    if !indented && let Some(rest) = t.strip_prefix('[') {
        if let Some(close) = rest.find(']') {
            return Kind::Section(rest[..close].trim().to_string());
        }
    }
    let sep = match (line.find('='), line.find(':')) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    if let Some(i) = sep {
        let key = line[..i].trim();
        if !key.is_empty() && !indented {
            let rest = &line[i + 1..];
            let lead = rest.len() - rest.trim_start().len();
            return Kind::Entry(key.to_string(), i + 1 + lead);
        }
    }
    Kind::Other
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JailFile {
    pub text: Text,
}

impl JailFile {
    pub fn parse(bytes: &[u8]) -> JailFile {
        JailFile {
            text: Text::parse(bytes),
        }
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        self.text.to_bytes()
    }

    fn kinds(&self) -> Vec<Kind> {
        let mut out = Vec::with_capacity(self.text.len());
        let mut in_entry = false;
        for l in &self.text.lines {
            let k = classify(&l.text, in_entry);
            in_entry = matches!(k, Kind::Entry(..) | Kind::Continuation)
                || (in_entry && matches!(k, Kind::Comment));
            out.push(k);
        }
        out
    }

    /// Line range `[header, end)` of the last `[section]` (names compare case-sensitively,
    /// as fail2ban does).
    fn section(&self, kinds: &[Kind], name: &str) -> Option<(usize, usize)> {
        let start = kinds
            .iter()
            .rposition(|k| matches!(k, Kind::Section(s) if s == name))?;
        let end = kinds[start + 1..]
            .iter()
            .position(|k| matches!(k, Kind::Section(_)))
            .map(|p| start + 1 + p)
            .unwrap_or(kinds.len());
        Some((start, end))
    }

    pub fn sections(&self) -> Vec<String> {
        self.kinds()
            .into_iter()
            .filter_map(|k| match k {
                Kind::Section(s) => Some(s),
                _ => None,
            })
            .collect()
    }

    /// Every `key = value` (or `key: value`) in file order with its section (first line of
    /// the value only); entries before the first section header are not fail2ban's.
    pub fn entries(&self) -> Vec<(String, String, String)> {
        let mut out = Vec::new();
        let mut section: Option<String> = None;
        for (i, k) in self.kinds().into_iter().enumerate() {
            match k {
                Kind::Section(s) => section = Some(s),
                Kind::Entry(key, off) => {
                    if let Some(s) = &section {
                        let value = self.text.lines[i].text[off..].trim_end().to_string();
                        out.push((s.clone(), key, value));
                    }
                }
                _ => {}
            }
        }
        out
    }

    /// The value of `key` in `section` (first line only), if set there.
    pub fn get(&self, section: &str, key: &str) -> Option<String> {
        let kinds = self.kinds();
        let (s, e) = self.section(&kinds, section)?;
        (s + 1..e).rev().find_map(|i| match &kinds[i] {
            Kind::Entry(k, off) if k.eq_ignore_ascii_case(key) => {
                Some(self.text.lines[i].text[*off..].trim_end().to_string())
            }
            _ => None,
        })
    }

    /// Every line of the value of `key` in `section` (the first and its continuation lines,
    /// trimmed; empty ones left out), if set there.
    pub fn get_lines(&self, section: &str, key: &str) -> Option<Vec<String>> {
        let kinds = self.kinds();
        let (s, e) = self.section(&kinds, section)?;
        let i = (s + 1..e)
            .rev()
            .find(|i| matches!(&kinds[*i], Kind::Entry(k, _) if k.eq_ignore_ascii_case(key)))?;
        let Kind::Entry(_, off) = &kinds[i] else {
            return None;
        };
        let mut out = vec![self.text.lines[i].text[*off..].trim().to_string()];
        for (k, line) in kinds[i + 1..e].iter().zip(&self.text.lines[i + 1..e]) {
            match k {
                Kind::Continuation => out.push(line.text.trim().to_string()),
                Kind::Comment => {}
                _ => break,
            }
        }
        out.retain(|l| !l.is_empty());
        Some(out)
    }

    /// Set a value of several lines (fail2ban's multi-line `logpath`): the first after the
    /// key, the others on continuation lines indented under it. Returns true when the file
    /// changed.
    pub fn set_lines(&mut self, section: &str, key: &str, values: &[String]) -> bool {
        let Some((first, rest)) = values.split_first() else {
            return false;
        };
        if self.get_lines(section, key).as_deref() == Some(values) {
            return false;
        }
        let changed = self.set(section, key, first);
        if rest.is_empty() {
            return changed;
        }
        let kinds = self.kinds();
        let Some((s, e)) = self.section(&kinds, section) else {
            return changed;
        };
        let Some(i) = (s + 1..e)
            .rev()
            .find(|i| matches!(&kinds[*i], Kind::Entry(k, _) if k.eq_ignore_ascii_case(key)))
        else {
            return changed;
        };
        let Kind::Entry(_, off) = &kinds[i] else {
            return changed;
        };
        let indent = " ".repeat(*off);
        for (n, v) in rest.iter().enumerate() {
            self.text.insert(i + 1 + n, format!("{indent}{v}"));
        }
        true
    }

    /// Set `key = value` in `section`. Returns true when the file changed.
    pub fn set(&mut self, section: &str, key: &str, value: &str) -> bool {
        let before = self.text.clone();
        let kinds = self.kinds();
        match self.section(&kinds, section) {
            Some((s, e)) => {
                let found = (s + 1..e).rev().find(
                    |i| matches!(&kinds[*i], Kind::Entry(k, _) if k.eq_ignore_ascii_case(key)),
                );
                match found {
                    Some(i) => {
                        let Kind::Entry(_, off) = &kinds[i] else {
                            unreachable!()
                        };
                        let line = &mut self.text.lines[i].text;
                        line.truncate(*off);
                        if !line.ends_with([' ', '\t', '=', ':']) {
                            line.push(' ');
                        }
                        if line.ends_with(['=', ':']) {
                            line.push(' ');
                        }
                        line.push_str(value);
                        // Continuation lines belonged to the old value.
                        let mut j = i + 1;
                        let mut drop = Vec::new();
                        while j < e && matches!(kinds[j], Kind::Continuation | Kind::Comment) {
                            if kinds[j] == Kind::Continuation {
                                drop.push(j);
                            }
                            j += 1;
                        }
                        for d in drop.into_iter().rev() {
                            self.text.remove(d);
                        }
                    }
                    None => {
                        // After the last non-blank line of the section.
                        let at = (s + 1..e)
                            .rev()
                            .find(|i| kinds[*i] != Kind::Blank)
                            .map(|i| i + 1)
                            .unwrap_or(s + 1);
                        self.text.insert(at, format!("{key} = {value}"));
                    }
                }
            }
            None => {
                if self
                    .text
                    .lines
                    .last()
                    .is_some_and(|l| !l.text.trim().is_empty())
                {
                    let at = self.text.len();
                    self.text.insert(at, "");
                }
                let at = self.text.len();
                self.text.insert(at, format!("[{section}]"));
                let at = self.text.len();
                self.text.insert(at, format!("{key} = {value}"));
            }
        }
        self.text != before
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_in_both_spellings() {
        let j = JailFile::parse(
            b"x = before any section\n[DEFAULT]\nenabled = false\n# c\n[sshd]\nenabled: true\nlogpath = /a\n  /b\n",
        );
        let all = j.entries();
        let e: Vec<(&str, &str, &str)> = all
            .iter()
            .map(|(s, k, v)| (s.as_str(), k.as_str(), v.as_str()))
            .collect();
        assert_eq!(
            e,
            [
                ("DEFAULT", "enabled", "false"),
                ("sshd", "enabled", "true"),
                ("sshd", "logpath", "/a"),
            ]
        );
    }

    #[test]
    fn edits_keep_the_rest() {
        let src = "# mine\n[DEFAULT]\nbantime  = 10m ; note\n\n[sshd]\nenabled = false\naction = a\n         b\n# tail\n\n[other]\nx: 1\n";
        let mut j = JailFile::parse(src.as_bytes());
        assert_eq!(j.get("sshd", "enabled").as_deref(), Some("false"));
        assert!(j.set("sshd", "enabled", "true"));
        assert!(j.set("sshd", "action", "c"));
        assert!(j.set("sshd", "port", "22022"));
        assert!(j.set("other", "x", "2"));
        assert!(j.set("asterisk", "enabled", "true"));
        assert!(!j.set("asterisk", "enabled", "true"));
        assert_eq!(
            String::from_utf8(j.to_bytes()).unwrap(),
            "# mine\n[DEFAULT]\nbantime  = 10m ; note\n\n[sshd]\nenabled = true\naction = c\n# tail\nport = 22022\n\n[other]\nx: 2\n\n[asterisk]\nenabled = true\n"
        );
        assert_eq!(
            JailFile::parse(src.as_bytes()).to_bytes(),
            src.as_bytes(),
            "round trip"
        );
        assert_eq!(j.sections(), vec!["DEFAULT", "sshd", "other", "asterisk"]);
    }

    #[test]
    fn values_of_several_lines() {
        let mut j = JailFile::parse(b"[asterisk]\nlogpath = /a\n          /b\nport = 1\n");
        assert_eq!(
            j.get_lines("asterisk", "logpath").unwrap(),
            vec!["/a", "/b"]
        );
        let v = vec!["/var/log/asterisk/security".to_string(), "/m".to_string()];
        assert!(j.set_lines("asterisk", "logpath", &v));
        assert!(!j.set_lines("asterisk", "logpath", &v));
        assert_eq!(
            String::from_utf8(j.to_bytes()).unwrap(),
            "[asterisk]\nlogpath = /var/log/asterisk/security\n          /m\nport = 1\n"
        );
        assert_eq!(j.get_lines("asterisk", "logpath").unwrap(), v);
        assert!(j.set_lines("asterisk", "logpath", &v[..1]));
        assert_eq!(
            String::from_utf8(j.to_bytes()).unwrap(),
            "[asterisk]\nlogpath = /var/log/asterisk/security\nport = 1\n"
        );
    }

    #[test]
    fn new_file() {
        let mut j = JailFile::parse(b"# header\n");
        j.set("sshd", "enabled", "true");
        j.set("sshd", "port", "2222");
        assert_eq!(
            String::from_utf8(j.to_bytes()).unwrap(),
            "# header\n\n[sshd]\nenabled = true\nport = 2222\n"
        );
    }
}
