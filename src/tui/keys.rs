//! Keys from raw terminal bytes. Hand-written because crossterm's reader spins at 100 % CPU
//! on end of input or EIO (a pulled serial cable, a dead SSH session); here EOF is an event.
//!
//! Understands what VT100-class terminals send: printable UTF-8, control keys, CSI and SS3
//! cursor keys (`ESC [ A`, `ESC O A`), Home/End/Delete/PgUp/PgDn, Shift-Tab (`ESC [ Z`), the
//! Linux console's F1-F5 (`ESC [ [ A`-`E`), Alt/Meta as an ESC prefix (`ESC x` is Alt-x, not
//! Esc then x), and bracketed paste (`ESC [ 200 ~` ... `ESC [ 201 ~`): pasted text arrives
//! as characters, and a pasted line break is `PastedBreak`, never Enter or Tab. An unknown
//! sequence is swallowed whole: it types nothing. A lone ESC is the Esc key once no more
//! bytes follow within the escape timeout.

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
    /// Alt (Meta) + a printable character.
    Alt(char),
    /// A line break or tab inside pasted text: text, not a key to act on.
    PastedBreak,
}

#[derive(Debug, Default)]
pub struct KeyParser {
    buf: Vec<u8>,
    /// Inside a bracketed paste.
    pasting: bool,
}

const PASTE_START: &[u8] = b"\x1b[200~";
const PASTE_END: &[u8] = b"\x1b[201~";

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
            if self.buf.starts_with(PASTE_START) {
                self.buf.drain(..PASTE_START.len());
                self.pasting = true;
                continue;
            }
            if self.pasting {
                if self.buf.starts_with(PASTE_END) {
                    self.buf.drain(..PASTE_END.len());
                    self.pasting = false;
                    continue;
                }
                if self.buf.first() == Some(&0x1b) && PASTE_END.starts_with(&self.buf) {
                    return None; // the end marker, split across reads
                }
                match self.buf.first() {
                    None => return None,
                    Some(b'\r' | b'\n' | b'\t') => {
                        // CR LF is one break
                        let n = if self.buf.starts_with(b"\r\n") { 2 } else { 1 };
                        self.buf.drain(..n);
                        return Some(Key::PastedBreak);
                    }
                    Some(&c) if c < 0x20 || c == 0x7f => {
                        self.buf.drain(..1);
                        continue;
                    }
                    _ => {}
                }
            }
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
        if self.pasting && PASTE_END.starts_with(&self.buf) {
            // a paste whose end marker never came: drop the partial marker
            self.buf.clear();
            self.pasting = false;
        }
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
        b'[' if b.get(2) == Some(&b'[') => {
            // The Linux console's F1-F5: ESC [ [ A .. E
            let Some(&k) = b.get(3) else {
                return Parse::Incomplete;
            };
            match k {
                b'A'..=b'E' => Parse::Key(Key::F(k - b'A' + 1), 4),
                _ => Parse::Skip(4),
            }
        }
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
            if !(0x40..=0x7e).contains(&fin) {
                // not a valid final byte: swallow up to it, type nothing
                return Parse::Skip(i + 1);
            }
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
        // ESC ESC: the Esc key (the second may start a sequence of its own).
        0x1b => Parse::Key(Key::Esc, 1),
        // ESC + a printable character: Alt (Meta) + that character.
        0x20..=0x7e => Parse::Key(Key::Alt(char::from(b[1])), 2),
        // ESC + a control key (Alt-Backspace, Alt-Enter): that key, the Alt dropped.
        0x7f | 0x08 => Parse::Key(Key::Backspace, 2),
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
            Key::Alt(c) => {
                return Input {
                    key: K::Char(c),
                    ctrl: false,
                    alt: true,
                    shift: false,
                };
            }
            Key::PastedBreak => (K::Null, false),
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
        assert_eq!(keys(b"\x1bx"), vec![Key::Alt('x')]);
        assert_eq!(keys(b"\x1b\x1b[A"), vec![Key::Esc, Key::Up]);
        assert_eq!(keys(b"\x1b[99q"), vec![]);
    }

    #[test]
    fn the_linux_console_function_keys_type_nothing_else() {
        assert_eq!(
            keys(b"\x1b[[A\x1b[[B\x1b[[E\x1b[17~"),
            vec![Key::F(1), Key::F(2), Key::F(5), Key::F(6)]
        );
        assert_eq!(keys(b"\x1b[[Z"), vec![]);
    }

    #[test]
    fn unknown_sequences_type_nothing() {
        assert_eq!(keys(b"\x1b[1;5P\x1bOz\x1b[?1;2c"), vec![]);
        assert_eq!(keys(b"\x1b[\x01"), vec![]);
    }

    #[test]
    fn a_pasted_newline_is_text_not_enter() {
        assert_eq!(
            keys(b"\x1b[200~ab\r\nc\td\x1b[201~\r"),
            vec![
                Key::Char('a'),
                Key::Char('b'),
                Key::PastedBreak,
                Key::Char('c'),
                Key::PastedBreak,
                Key::Char('d'),
                Key::Enter
            ]
        );
        // control bytes inside a paste are dropped: no Esc (= back), no Alt, no Ctrl key
        assert_eq!(keys(b"\x1b[200~\x1bx\x03\x1b[201~"), vec![Key::Char('x')]);
    }

    #[test]
    fn a_paste_split_across_reads() {
        let mut p = KeyParser::default();
        p.push(b"\x1b[20");
        assert_eq!(p.next_key(), None);
        p.push(b"0~x\n\x1b[2");
        assert_eq!(p.next_key(), Some(Key::Char('x')));
        assert_eq!(p.next_key(), Some(Key::PastedBreak));
        assert_eq!(p.next_key(), None);
        p.push(b"01~\r");
        assert_eq!(p.next_key(), Some(Key::Enter));
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
