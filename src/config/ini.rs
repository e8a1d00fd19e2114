//! Asterisk-style ini files (`sip.conf`, `rtp.conf`, `manager.conf`, fail2ban's jail files):
//! `[section](template,!)`, `key = value ; comment`, `key => value`, `#include file`,
//! `#tryinclude file`, and Asterisk's block comments `;-- ... --;` (which may span lines and
//! nest; `;---` is an ordinary comment, so FreePBX's `;-----;` banners are not blocks).
//! The parse keeps every line and the byte range of each value, so an editor can replace a
//! value inside its line and leave every other byte alone.

use std::ops::Range;

use crate::config::text::Text;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IniLine {
    Other,
    Section {
        name: String,
        /// Templates in `[name](a,b)`; `!` marks the section itself as a template.
        templates: Vec<String>,
        is_template: bool,
    },
    Entry {
        key: String,
        value: String,
        /// Byte range of the value in the line.
        value_range: Range<usize>,
    },
    Include {
        file: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IniFile {
    pub text: Text,
    pub parsed: Vec<IniLine>,
}

/// Where a `;` starts a comment (not `\;`).
fn comment_start(line: &str) -> usize {
    let b = line.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' {
            i += 2;
            continue;
        }
        if b[i] == b';' {
            return i;
        }
        i += 1;
    }
    line.len()
}

pub fn parse_line(line: &str) -> IniLine {
    let body = &line[..comment_start(line)];
    let t = body.trim();
    if t.is_empty() {
        return IniLine::Other;
    }
    if let Some(rest) = t
        .strip_prefix("#include")
        .or_else(|| t.strip_prefix("#tryinclude"))
        && rest.starts_with([' ', '\t', '"', '<'])
    {
        let f = rest.trim().trim_matches(['"', '<', '>']).to_string();
        return IniLine::Include { file: f };
    }
    if t.starts_with('#') {
        return IniLine::Other; // #exec, #tryinclude handled as other; fail2ban-style comments
    }
    if let Some(rest) = t.strip_prefix('[')
        && let Some(close) = rest.find(']')
    {
        let name = rest[..close].trim().to_string();
        let after = rest[close + 1..].trim();
        let mut templates = Vec::new();
        let mut is_template = false;
        if let Some(inner) = after.strip_prefix('(').and_then(|s| s.strip_suffix(')')) {
            for part in inner.split(',') {
                let p = part.trim();
                if p == "!" {
                    is_template = true;
                } else if p == "+" || p.is_empty() {
                } else {
                    templates.push(p.to_string());
                }
            }
        }
        return IniLine::Section {
            name,
            templates,
            is_template,
        };
    }
    // key = value  or  key => value
    let Some(eq) = body.find('=') else {
        return IniLine::Other;
    };
    let key = body[..eq].trim().to_string();
    if key.is_empty() {
        return IniLine::Other;
    }
    let mut vstart = eq + 1;
    if body[vstart..].starts_with('>') {
        vstart += 1;
    }
    let raw = &body[vstart..];
    let lead = raw.len() - raw.trim_start().len();
    let value = raw.trim();
    let start = vstart + lead;
    IniLine::Entry {
        key,
        value: value.to_string(),
        value_range: start..start + value.len(),
    }
}

/// Blank out the parts of `line` inside Asterisk block comments (`;--` opens one unless a
/// fourth `-` follows, `--;` closes one; they nest). `depth` carries over between lines.
/// The result has the same byte length, so ranges found in it hold for `line`.
pub fn mask_block_comments<'a>(line: &'a str, depth: &mut u32) -> std::borrow::Cow<'a, str> {
    if *depth == 0 && !line.contains(";--") {
        return std::borrow::Cow::Borrowed(line);
    }
    let b = line.as_bytes();
    let mut out = b.to_vec();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && *depth == 0 {
            i += 2;
            continue;
        }
        if b[i] == b';' {
            if b.get(i + 1) == Some(&b'-')
                && b.get(i + 2) == Some(&b'-')
                && b.get(i + 3) != Some(&b'-')
            {
                *depth += 1;
                out[i..i + 3].fill(b' ');
                i += 3;
                continue;
            }
            if *depth > 0 && i >= 2 && b[i - 1] == b'-' && b[i - 2] == b'-' {
                *depth -= 1;
                out[i] = b' ';
                i += 1;
                continue;
            }
            if *depth == 0 {
                // An ordinary comment: the rest of the line is not looked at.
                break;
            }
        }
        if *depth > 0 {
            out[i] = b' ';
        }
        i += 1;
    }
    // Only whole characters are blanked (`;` and `-` are ASCII), so this stays UTF-8.
    std::borrow::Cow::Owned(String::from_utf8(out).unwrap_or_else(|_| line.to_string()))
}

fn parse_lines(text: &Text) -> Vec<IniLine> {
    let mut depth = 0u32;
    text.lines
        .iter()
        .map(|l| {
            let masked = mask_block_comments(&l.text, &mut depth);
            parse_line(&masked)
        })
        .collect()
}

/// A section header with the flags Asterisk knows: `[name](+)` adds to an earlier section
/// of the same name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SectionHeader {
    pub line: usize,
    pub name: String,
    pub templates: Vec<String>,
    pub is_template: bool,
    pub addition: bool,
}

impl IniFile {
    pub fn parse(bytes: &[u8]) -> IniFile {
        let text = Text::parse(bytes);
        let parsed = parse_lines(&text);
        IniFile { text, parsed }
    }

    /// Every section header, with the `(+)` flag.
    pub fn section_headers(&self) -> Vec<SectionHeader> {
        let mut out = Vec::new();
        for (i, p) in self.parsed.iter().enumerate() {
            if let IniLine::Section {
                name,
                templates,
                is_template,
            } = p
            {
                let t = &self.text.lines[i].text;
                let after = t
                    .find(']')
                    .map(|c| &t[c + 1..])
                    .and_then(|a| a.trim_start().strip_prefix('('))
                    .and_then(|a| a.split(')').next())
                    .unwrap_or("");
                out.push(SectionHeader {
                    line: i,
                    name: name.clone(),
                    templates: templates.clone(),
                    is_template: *is_template,
                    addition: after.split(',').any(|p| p.trim() == "+"),
                });
            }
        }
        out
    }

    /// (section, key, value, line index) for every entry.
    pub fn entries(&self) -> Vec<(Option<&str>, &str, &str, usize)> {
        let mut out = Vec::new();
        let mut section: Option<&str> = None;
        for (i, p) in self.parsed.iter().enumerate() {
            match p {
                IniLine::Section { name, .. } => section = Some(name),
                IniLine::Entry { key, value, .. } => {
                    out.push((section, key.as_str(), value.as_str(), i))
                }
                _ => {}
            }
        }
        out
    }

    /// First value of `key` in `section` (case-insensitive names).
    pub fn get(&self, section: &str, key: &str) -> Option<(&str, usize)> {
        self.entries()
            .into_iter()
            .find(|(s, k, _, _)| {
                s.is_some_and(|s| s.eq_ignore_ascii_case(section)) && k.eq_ignore_ascii_case(key)
            })
            .map(|(_, _, v, i)| (v, i))
    }

    /// Replace the value of the entry on line `line`, keeping everything else in the line.
    pub fn set_value(&mut self, line: usize, value: &str) {
        self.set_values(&[(line, value)]);
    }

    /// Several `set_value`s with one parse afterwards (thousands of rotated secrets in one
    /// file cost one pass, not one per secret). Lines that are not entries are left alone.
    pub fn set_values(&mut self, edits: &[(usize, &str)]) {
        let mut lines: Vec<usize> = edits.iter().map(|e| e.0).collect();
        lines.sort_unstable();
        lines.dedup();
        if lines.len() < edits.len() {
            // the same line twice: each edit needs the ranges the one before left
            for &(line, value) in edits {
                self.set_values(&[(line, value)]);
            }
            return;
        }
        let mut changed = false;
        for &(line, value) in edits {
            if let Some(IniLine::Entry { value_range, .. }) = self.parsed.get(line) {
                let r = value_range.clone();
                self.text.lines[line].text.replace_range(r, value);
                changed = true;
            }
        }
        if changed {
            self.parsed = parse_lines(&self.text);
        }
    }

    /// Set `key = value` in `section` (None: the entries before any section header, as in a
    /// file #included inside one): the first entry's value is replaced in place; a missing key
    /// is added after the section's last entry (or its header). False when the section is not
    /// there (a named one) or nothing changed.
    pub fn set(&mut self, section: Option<&str>, key: &str, value: &str) -> bool {
        let in_section = |s: Option<&str>| match (section, s) {
            (None, None) => true,
            (Some(want), Some(s)) => s.eq_ignore_ascii_case(want),
            _ => false,
        };
        if let Some((_, _, v, line)) = self
            .entries()
            .into_iter()
            .find(|(s, k, _, _)| in_section(*s) && k.eq_ignore_ascii_case(key))
        {
            if v == value {
                return false;
            }
            self.set_value(line, value);
            return true;
        }
        // Where the section's entries end (blank lines and comments after them stay after).
        let mut at = None;
        let mut current: Option<&str> = None;
        let mut seen_section = section.is_none();
        for (i, p) in self.parsed.iter().enumerate() {
            match p {
                IniLine::Section { name, .. } => {
                    current = Some(name);
                    if in_section(current) {
                        seen_section = true;
                        at = Some(i + 1);
                    }
                }
                IniLine::Entry { .. } if in_section(current) => at = Some(i + 1),
                _ => {}
            }
        }
        if !seen_section {
            return false;
        }
        // no entry yet: after the header, or (no section) before the first header / at the end
        let at = at.unwrap_or_else(|| {
            self.parsed
                .iter()
                .position(|p| matches!(p, IniLine::Section { .. }))
                .unwrap_or(self.text.len())
        });
        self.text.insert(at, format!("{key} = {value}"));
        self.parsed = parse_lines(&self.text);
        true
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        self.text.to_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_replaces_in_place_or_adds_after_the_section() {
        let src = "; x\r\n[general]\r\nenabled = yes\r\n\r\n[admin]\r\nsecret = a ; c\r\n";
        let mut f = IniFile::parse(src.as_bytes());
        assert!(f.set(Some("general"), "bindaddr", "127.0.0.1"));
        assert!(f.set(Some("admin"), "secret", "b"));
        assert!(!f.set(Some("admin"), "secret", "b"));
        assert!(!f.set(Some("nope"), "x", "y"));
        assert_eq!(
            String::from_utf8(f.to_bytes()).unwrap(),
            "; x\r\n[general]\r\nenabled = yes\r\nbindaddr = 127.0.0.1\r\n\r\n[admin]\r\nsecret = b ; c\r\n"
        );
        let mut g = IniFile::parse(b"allowguest=yes\n");
        assert!(g.set(None, "allowguest", "no"));
        assert!(g.set(None, "alwaysauthreject", "yes"));
        assert_eq!(g.to_bytes(), b"allowguest=no\nalwaysauthreject = yes\n");
        let mut e = IniFile::parse(b"");
        assert!(e.set(None, "allowguest", "no"));
        assert_eq!(e.to_bytes(), b"allowguest = no\n");
        let mut c = IniFile::parse(b"; your additions\n");
        assert!(c.set(None, "allowguest", "no"));
        assert_eq!(c.to_bytes(), b"; your additions\nallowguest = no\n");
    }

    #[test]
    fn parses_asterisk_shapes() {
        assert_eq!(
            parse_line("[6001](phones,!)"),
            IniLine::Section {
                name: "6001".into(),
                templates: vec!["phones".into()],
                is_template: true
            }
        );
        match parse_line("secret = 1234 ; weak") {
            IniLine::Entry {
                key,
                value,
                value_range,
            } => {
                assert_eq!((key.as_str(), value.as_str()), ("secret", "1234"));
                assert_eq!(&"secret = 1234 ; weak"[value_range], "1234");
            }
            other => panic!("{other:?}"),
        }
        match parse_line("exten => 100,1,Dial(SIP/100)") {
            IniLine::Entry { key, .. } => assert_eq!(key, "exten"),
            other => panic!("{other:?}"),
        }
        assert_eq!(
            parse_line("#include sip_additional.conf"),
            IniLine::Include {
                file: "sip_additional.conf".into()
            }
        );
        assert_eq!(parse_line("; comment = x"), IniLine::Other);
        match parse_line("secret=a\\;b") {
            IniLine::Entry { value, .. } => assert_eq!(value, "a\\;b"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn block_comments_span_lines_and_banners_are_not_blocks() {
        let f = IniFile::parse(
            b";--\n[hidden]\nsecret=1\n--;\n[shown] ;-- inline --; \nsecret = 2 ;-- x --;\n\
              ;--------;\n[after]\nsecret=3\n",
        );
        let e: Vec<_> = f
            .entries()
            .into_iter()
            .map(|(s, k, v, _)| (s.unwrap_or(""), k, v))
            .collect();
        assert_eq!(e, vec![("shown", "secret", "2"), ("after", "secret", "3")]);
        // nested
        let f = IniFile::parse(b";-- a ;-- b --; still --;\n[x]\nk=v\n");
        assert_eq!(f.get("x", "k").map(|(v, _)| v), Some("v"));
        let f = IniFile::parse(b";-- a ;-- b --; still\n[x]\nk=v\n");
        assert_eq!(f.get("x", "k"), None);
    }

    #[test]
    fn includes_and_additions() {
        assert_eq!(
            parse_line("#tryinclude \"pjsip_custom.conf\""),
            IniLine::Include {
                file: "pjsip_custom.conf".into()
            }
        );
        assert_eq!(parse_line("#includes = 3"), IniLine::Other);
        let f = IniFile::parse(b"[a](!)\n[b](a)\n[b](+)\n[c](+,a) ; x\n");
        let h = f.section_headers();
        assert_eq!(
            h.iter()
                .map(|h| (h.name.as_str(), h.addition))
                .collect::<Vec<_>>(),
            vec![("a", false), ("b", false), ("b", true), ("c", true)]
        );
        assert!(h[0].is_template);
        assert_eq!(h[3].templates, vec!["a".to_string()]);
    }

    #[test]
    fn set_value_without_final_newline_and_in_utf8() {
        let mut f = IniFile::parse("[30]\ncallerid=Bảng <30>\nsecret=30".as_bytes());
        let (_, line) = f.get("30", "secret").unwrap();
        f.set_value(line, "Xy7-long-secret");
        assert_eq!(
            f.to_bytes(),
            "[30]\ncallerid=Bảng <30>\nsecret=Xy7-long-secret".as_bytes()
        );
    }

    #[test]
    fn set_value_keeps_the_rest() {
        let mut f = IniFile::parse(b"[100]\nsecret   =  100   ; lab\n");
        let (_, line) = f.get("100", "secret").unwrap();
        f.set_value(line, "N3w-Strong");
        assert_eq!(f.to_bytes(), b"[100]\nsecret   =  N3w-Strong   ; lab\n");
    }
}
