//! Keys from raw terminal bytes. Hand-written because crossterm's reader spins at 100 % CPU
//! on end of input or EIO (a pulled serial cable, a dead SSH session); here EOF is an event.
//!
//! Understands what VT100-class terminals send: printable UTF-8, control keys, CSI and SS3
//! cursor keys (`ESC [ A`, `ESC O A`), Home/End/Delete/PgUp/PgDn, Shift-Tab (`ESC [ Z`).
//! A lone ESC is the Esc key once no more bytes follow within the escape timeout.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    Char(char),
    /// Ctrl + a letter, lowercase (`Ctrl('c')`).
    Ctrl(char),
    Enter,
    Tab,
    BackTab,
    Backspace,
    Delete,
    Esc,
    Up,
    Down,
    Left,
    Right,
    Home,
    End,
    PageUp,
    PageDown,
    F(u8),
}

#[derive(Debug, Default)]
pub struct KeyParser {
    buf: Vec<u8>,
}

enum Parse {
    Key(Key, usize),
    /// Bytes consumed, no key (an unknown sequence).
    Skip(usize),
    /// Need more bytes.
    Incomplete,
}

impl KeyParser {
    pub fn push(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// True when the buffer holds the start of an escape sequence that may still complete.
    pub fn pending(&self) -> bool {
        !self.buf.is_empty()
    }

    /// The next complete key, if any.
    pub fn next_key(&mut self) -> Option<Key> {
        loop {
            match parse(&self.buf) {
                Parse::Key(k, n) => {
                    self.buf.drain(..n);
                    return Some(k);
                }
                Parse::Skip(n) => {
                    self.buf.drain(..n);
                }
                Parse::Incomplete => return None,
            }
        }
    }

    /// The escape timeout passed: what is buffered is taken as typed (ESC = the Esc key).
    pub fn flush(&mut self) -> Vec<Key> {
        let mut out = Vec::new();
        while !self.buf.is_empty() {
            if self.buf[0] == 0x1b {
                self.buf.remove(0);
                out.push(Key::Esc);
            }
            while let Some(k) = self.next_key() {
                out.push(k);
            }
            if !self.buf.is_empty() && self.buf[0] != 0x1b {
                // an incomplete UTF-8 sequence that will never complete
                self.buf.remove(0);
            }
        }
        out
    }
}

fn parse(b: &[u8]) -> Parse {
    let Some(&c) = b.first() else {
        return Parse::Incomplete;
    };
    match c {
        0x1b => parse_escape(b),
        b'\r' | b'\n' => Parse::Key(Key::Enter, 1),
        b'\t' => Parse::Key(Key::Tab, 1),
        0x7f | 0x08 => Parse::Key(Key::Backspace, 1),
        0x00 => Parse::Skip(1),
        0x01..=0x1a => Parse::Key(Key::Ctrl(char::from(b'a' + c - 1)), 1),
        0x1c..=0x1f => Parse::Skip(1),
        _ => {
            let len = match c {
                0x20..=0x7e => 1,
                0xc2..=0xdf => 2,
                0xe0..=0xef => 3,
                0xf0..=0xf4 => 4,
                _ => return Parse::Skip(1),
            };
            if b.len() < len {
                return Parse::Incomplete;
            }
            match std::str::from_utf8(&b[..len]) {
                Ok(s) => Parse::Key(Key::Char(s.chars().next().unwrap_or('?')), len),
                Err(_) => Parse::Skip(1),
            }
        }
    }
}

fn parse_escape(b: &[u8]) -> Parse {
    if b.len() < 2 {
        return Parse::Incomplete;
    }
    match b[1] {
        b'[' => {
            // CSI: parameters 0x30-0x3f, intermediates 0x20-0x2f, final 0x40-0x7e
            let mut i = 2;
            while i < b.len() && (0x20..=0x3f).contains(&b[i]) {
                i += 1;
            }
            if i >= b.len() {
                return Parse::Incomplete;
            }
            let fin = b[i];
            let params = std::str::from_utf8(&b[2..i]).unwrap_or("");
            let first: u32 = params
                .split(';')
                .next()
                .and_then(|p| p.parse().ok())
                .unwrap_or(0);
            let key = match fin {
                b'A' => Some(Key::Up),
                b'B' => Some(Key::Down),
                b'C' => Some(Key::Right),
                b'D' => Some(Key::Left),
                b'H' => Some(Key::Home),
                b'F' => Some(Key::End),
                b'Z' => Some(Key::BackTab),
                b'~' => match first {
                    1 | 7 => Some(Key::Home),
                    4 | 8 => Some(Key::End),
                    3 => Some(Key::Delete),
                    5 => Some(Key::PageUp),
                    6 => Some(Key::PageDown),
                    11..=15 => Some(Key::F((first - 10) as u8)),
                    17..=21 => Some(Key::F((first - 11) as u8)),
                    23 | 24 => Some(Key::F((first - 12) as u8)),
                    _ => None,
                },
                _ => None,
            };
            match key {
                Some(k) => Parse::Key(k, i + 1),
                None => Parse::Skip(i + 1),
            }
        }
        b'O' => {
            if b.len() < 3 {
                return Parse::Incomplete;
            }
            let key = match b[2] {
                b'A' => Some(Key::Up),
                b'B' => Some(Key::Down),
                b'C' => Some(Key::Right),
                b'D' => Some(Key::Left),
                b'H' => Some(Key::Home),
                b'F' => Some(Key::End),
                b'P' => Some(Key::F(1)),
                b'Q' => Some(Key::F(2)),
                b'R' => Some(Key::F(3)),
                b'S' => Some(Key::F(4)),
                b'M' => Some(Key::Enter),
                _ => None,
            };
            match key {
                Some(k) => Parse::Key(k, 3),
                None => Parse::Skip(3),
            }
        }
        // ESC followed by something else: the Esc key, then that byte on its own.
        _ => Parse::Key(Key::Esc, 1),
    }
}

impl Key {
    /// The same key for ratatui-textarea's editing.
    pub fn to_input(self) -> ratatui_textarea::Input {
        use ratatui_textarea::{Input, Key as K};
        let (key, ctrl) = match self {
            Key::Char(c) => (K::Char(c), false),
            Key::Ctrl(c) => (K::Char(c), true),
            Key::Enter => (K::Enter, false),
            Key::Tab => (K::Tab, false),
            Key::BackTab => (K::Tab, false),
            Key::Backspace => (K::Backspace, false),
            Key::Delete => (K::Delete, false),
            Key::Esc => (K::Esc, false),
            Key::Up => (K::Up, false),
            Key::Down => (K::Down, false),
            Key::Left => (K::Left, false),
            Key::Right => (K::Right, false),
            Key::Home => (K::Home, false),
            Key::End => (K::End, false),
            Key::PageUp => (K::PageUp, false),
            Key::PageDown => (K::PageDown, false),
            Key::F(n) => (K::F(n), false),
        };
        Input {
            key,
            ctrl,
            alt: false,
            shift: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(bytes: &[u8]) -> Vec<Key> {
        let mut p = KeyParser::default();
        p.push(bytes);
        let mut out = Vec::new();
        while let Some(k) = p.next_key() {
            out.push(k);
        }
        out.extend(p.flush());
        out
    }

    #[test]
    fn parses_what_terminals_send() {
        assert_eq!(
            keys(b"ab\r"),
            vec![Key::Char('a'), Key::Char('b'), Key::Enter]
        );
        assert_eq!(
            keys(b"\x1b[A\x1bOB\x1b[3~\x1b[Z"),
            vec![Key::Up, Key::Down, Key::Delete, Key::BackTab]
        );
        assert_eq!(
            keys(b"\x03\x7f\t"),
            vec![Key::Ctrl('c'), Key::Backspace, Key::Tab]
        );
        assert_eq!(keys("é".as_bytes()), vec![Key::Char('é')]);
        assert_eq!(keys(b"\x1b"), vec![Key::Esc]);
        assert_eq!(keys(b"\x1bx"), vec![Key::Esc, Key::Char('x')]);
        assert_eq!(keys(b"\x1b[99q"), vec![]);
    }

    #[test]
    fn split_sequences_wait_for_the_rest() {
        let mut p = KeyParser::default();
        p.push(b"\x1b[");
        assert_eq!(p.next_key(), None);
        assert!(p.pending());
        p.push(b"C");
        assert_eq!(p.next_key(), Some(Key::Right));
        p.push(&"€".as_bytes()[..2]);
        assert_eq!(p.next_key(), None);
        p.push(&"€".as_bytes()[2..]);
        assert_eq!(p.next_key(), Some(Key::Char('€')));
    }
}
