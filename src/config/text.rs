//! Line-preserving text: every editor works on lines that remember their own line ending,
//! so an unchanged file turns back into identical bytes (no final newline, CRLF, Latin-1
//! comments included).

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Eol {
    Lf,
    CrLf,
    /// The last line of a file without a final newline.
    None,
}

impl Eol {
    pub fn as_str(self) -> &'static str {
        match self {
            Eol::Lf => "\n",
            Eol::CrLf => "\r\n",
            Eol::None => "",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub text: String,
    pub eol: Eol,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Text {
    pub lines: Vec<Line>,
    /// The bytes were not UTF-8: each byte is held as one char U+0000..U+00FF and written back.
    latin1: bool,
}

impl Text {
    pub fn parse(bytes: &[u8]) -> Text {
        let (s, latin1) = match std::str::from_utf8(bytes) {
            Ok(s) => (s.to_string(), false),
            Err(_) => (bytes.iter().map(|&b| char::from(b)).collect(), true),
        };
        let mut lines = Vec::new();
        let mut rest = s.as_str();
        while !rest.is_empty() {
            match rest.find('\n') {
                Some(i) => {
                    let (body, eol) = if i > 0 && rest.as_bytes()[i - 1] == b'\r' {
                        (&rest[..i - 1], Eol::CrLf)
                    } else {
                        (&rest[..i], Eol::Lf)
                    };
                    lines.push(Line {
                        text: body.to_string(),
                        eol,
                    });
                    rest = &rest[i + 1..];
                }
                None => {
                    lines.push(Line {
                        text: rest.to_string(),
                        eol: Eol::None,
                    });
                    rest = "";
                }
            }
        }
        Text { lines, latin1 }
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let mut s = String::new();
        for l in &self.lines {
            s.push_str(&l.text);
            s.push_str(l.eol.as_str());
        }
        if self.latin1 {
            s.chars().map(|c| c as u32 as u8).collect()
        } else {
            s.into_bytes()
        }
    }

    /// The line ending new lines should use (the file's own).
    pub fn eol(&self) -> Eol {
        if self.lines.iter().any(|l| l.eol == Eol::CrLf) {
            Eol::CrLf
        } else {
            Eol::Lf
        }
    }

    /// Insert a line before index `at` (may be `len()` to append). A last line without a
    /// newline gets one, because something now follows it.
    pub fn insert(&mut self, at: usize, text: impl Into<String>) {
        let eol = self.eol();
        let at = at.min(self.lines.len());
        if at == self.lines.len()
            && let Some(last) = self.lines.last_mut()
            && last.eol == Eol::None
        {
            last.eol = eol;
            self.lines.push(Line {
                text: text.into(),
                eol: Eol::None,
            });
            return;
        }
        self.lines.insert(
            at,
            Line {
                text: text.into(),
                eol,
            },
        );
    }

    /// Remove a line. Removing the last line of a file without a final newline keeps that
    /// property for the new last line.
    pub fn remove(&mut self, at: usize) {
        let removed = self.lines.remove(at);
        if removed.eol == Eol::None
            && at == self.lines.len()
            && let Some(last) = self.lines.last_mut()
        {
            last.eol = Eol::None;
        }
    }

    pub fn len(&self) -> usize {
        self.lines.len()
    }

    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_every_shape() {
        for input in [
            &b""[..],
            b"a",
            b"a\n",
            b"a\r\nb\r\n",
            b"a\nb",
            b"\n\n",
            b"caf\xe9 # latin-1\n",
            "ĐĐ utf-8\n".as_bytes(),
        ] {
            assert_eq!(Text::parse(input).to_bytes(), input, "{input:?}");
        }
    }

    #[test]
    fn insert_after_a_last_line_without_newline() {
        let mut t = Text::parse(b"a\nb");
        t.insert(2, "c");
        assert_eq!(t.to_bytes(), b"a\nb\nc");
        let mut t = Text::parse(b"a\r\n");
        t.insert(0, "z");
        assert_eq!(t.to_bytes(), b"z\r\na\r\n");
        let mut t = Text::parse(b"a\nb");
        t.remove(1);
        assert_eq!(t.to_bytes(), b"a");
    }
}
