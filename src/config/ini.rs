//! Asterisk-style ini files (`sip.conf`, `rtp.conf`, `manager.conf`, fail2ban's jail files):
//! `[section](template,!)`, `key = value ; comment`, `key => value`, `#include file`.
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
    if let Some(rest) = t.strip_prefix("#include") {
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

impl IniFile {
    pub fn parse(bytes: &[u8]) -> IniFile {
        let text = Text::parse(bytes);
        let parsed = text.lines.iter().map(|l| parse_line(&l.text)).collect();
        IniFile { text, parsed }
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
        if let IniLine::Entry { value_range, .. } = &self.parsed[line] {
            let r = value_range.clone();
            self.text.lines[line].text.replace_range(r, value);
            self.parsed[line] = parse_line(&self.text.lines[line].text);
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
    fn set_value_keeps_the_rest() {
        let mut f = IniFile::parse(b"[100]\nsecret   =  100   ; lab\n");
        let (_, line) = f.get("100", "secret").unwrap();
        f.set_value(line, "N3w-Strong");
        assert_eq!(f.to_bytes(), b"[100]\nsecret   =  N3w-Strong   ; lab\n");
    }
}
