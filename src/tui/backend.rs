//! A ratatui backend that writes as few bytes as a 9600-baud line deserves.
//!
//! ratatui already sends only the cells that changed. This backend then:
//! - keeps a copy of the screen and the real cursor position, and reaches each cell the
//!   cheapest way: nothing when the cursor is already there (a typed character just
//!   echoes), CR/LF/BS, rewriting the cells in between, relative or absolute moves;
//! - keeps the terminal's current attributes and emits only the change (never a style
//!   code per cell);
//! - shows/hides the cursor only when that changes;
//! - in basic mode (VT100, serial, `--ascii`) sends ASCII only and no colour.

use std::io::{self, Write};

use ratatui::backend::{Backend, ClearType, WindowSize};
use ratatui::buffer::Cell;
use ratatui::layout::{Position, Size};
use ratatui::style::{Color, Modifier};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Caps {
    /// UTF-8 symbols allowed (else ASCII only).
    pub utf8: bool,
    /// Colours allowed.
    pub color: bool,
    /// Bold/reverse/underline allowed (false for TERM=dumb).
    pub attrs: bool,
}

impl Caps {
    pub const BASIC: Caps = Caps {
        utf8: false,
        color: false,
        attrs: true,
    };
    pub const FULL: Caps = Caps {
        utf8: true,
        color: true,
        attrs: true,
    };
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct Sgr {
    bold: bool,
    dim: bool,
    underline: bool,
    reverse: bool,
    fg: Option<Color>,
    bg: Option<Color>,
}

impl Sgr {
    fn of(cell: &Cell, caps: Caps) -> Sgr {
        if !caps.attrs {
            return Sgr::default();
        }
        let m = cell.modifier;
        let color = |c: Color| match c {
            Color::Reset => None,
            c if caps.color => Some(c),
            _ => None,
        };
        Sgr {
            bold: m.contains(Modifier::BOLD),
            dim: m.contains(Modifier::DIM) && caps.color,
            underline: m.contains(Modifier::UNDERLINED),
            reverse: m.contains(Modifier::REVERSED),
            fg: color(cell.fg),
            bg: color(cell.bg),
        }
    }

    fn codes(&self) -> Vec<String> {
        let mut v = Vec::new();
        if self.bold {
            v.push("1".into());
        }
        if self.dim {
            v.push("2".into());
        }
        if self.underline {
            v.push("4".into());
        }
        if self.reverse {
            v.push("7".into());
        }
        if let Some(c) = self.fg {
            v.push(color_code(c, false));
        }
        if let Some(c) = self.bg {
            v.push(color_code(c, true));
        }
        v
    }

    /// Bytes that turn `self` (the terminal's state) into `to`.
    fn transition(&self, to: &Sgr) -> String {
        if self == to {
            return String::new();
        }
        if *to == Sgr::default() {
            return "\x1b[m".into();
        }
        let only_adds = (!self.bold || to.bold)
            && (!self.dim || to.dim)
            && (!self.underline || to.underline)
            && (!self.reverse || to.reverse)
            && (self.fg.is_none() || self.fg == to.fg)
            && (self.bg.is_none() || self.bg == to.bg);
        if only_adds {
            let add = Sgr {
                bold: to.bold && !self.bold,
                dim: to.dim && !self.dim,
                underline: to.underline && !self.underline,
                reverse: to.reverse && !self.reverse,
                fg: if to.fg != self.fg { to.fg } else { None },
                bg: if to.bg != self.bg { to.bg } else { None },
            };
            format!("\x1b[{}m", add.codes().join(";"))
        } else {
            format!("\x1b[0;{}m", to.codes().join(";"))
        }
    }
}

fn color_code(c: Color, bg: bool) -> String {
    let base = if bg { 40 } else { 30 };
    let bright = if bg { 100 } else { 90 };
    match c {
        Color::Black => format!("{}", base),
        Color::Red => format!("{}", base + 1),
        Color::Green => format!("{}", base + 2),
        Color::Yellow => format!("{}", base + 3),
        Color::Blue => format!("{}", base + 4),
        Color::Magenta => format!("{}", base + 5),
        Color::Cyan => format!("{}", base + 6),
        Color::Gray => format!("{}", base + 7),
        Color::DarkGray => format!("{}", bright),
        Color::LightRed => format!("{}", bright + 1),
        Color::LightGreen => format!("{}", bright + 2),
        Color::LightYellow => format!("{}", bright + 3),
        Color::LightBlue => format!("{}", bright + 4),
        Color::LightMagenta => format!("{}", bright + 5),
        Color::LightCyan => format!("{}", bright + 6),
        Color::White => format!("{}", bright + 7),
        Color::Indexed(n) => format!("{};5;{n}", if bg { 48 } else { 38 }),
        Color::Rgb(r, g, b) => format!("{};2;{r};{g};{b}", if bg { 48 } else { 38 }),
        Color::Reset => format!("{}", if bg { 49 } else { 39 }),
    }
}

/// ASCII stand-ins for the few symbols ratatui widgets may draw.
fn ascii(sym: &str) -> &str {
    if sym.is_ascii() {
        return sym;
    }
    match sym {
        "─" | "━" | "═" => "-",
        "│" | "┃" | "║" => "|",
        "┌" | "┐" | "└" | "┘" | "├" | "┤" | "┬" | "┴" | "┼" | "╭" | "╮" | "╰" | "╯" => {
            "+"
        }
        "█" | "▓" | "▒" => "#",
        "░" => "-",
        "…" => ".",
        "•" | "·" => "*",
        "→" => ">",
        "←" => "<",
        _ => "?",
    }
}

pub struct FrugalBackend<W: Write> {
    out: W,
    buf: Vec<u8>,
    caps: Caps,
    size: Size,
    /// What the terminal shows, as far as we know: (symbol, attributes).
    screen: Vec<(String, Sgr)>,
    /// Where the terminal's cursor is; None after writing the last column (pending wrap).
    pos: Option<(u16, u16)>,
    cursor_shown: Option<bool>,
    sgr: Option<Sgr>,
    /// Every byte written, for the benchmark.
    pub written: u64,
}

impl<W: Write> FrugalBackend<W> {
    pub fn new(out: W, caps: Caps, size: Size) -> Self {
        let n = size.width as usize * size.height as usize;
        FrugalBackend {
            out,
            buf: Vec::with_capacity(4096),
            caps,
            size,
            screen: vec![(" ".into(), Sgr::default()); n],
            pos: None,
            cursor_shown: None,
            sgr: None,
            written: 0,
        }
    }

    pub fn caps(&self) -> Caps {
        self.caps
    }

    /// A new window size (SIGWINCH); the next draw repaints everything.
    pub fn set_size(&mut self, size: Size) {
        self.size = size;
        self.screen =
            vec![(" ".into(), Sgr::default()); size.width as usize * size.height as usize];
        self.pos = None;
    }

    /// Raw bytes (mode switches) through the same accounting.
    pub fn write_raw(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// Forget what we know about the terminal (after something else wrote to it).
    pub fn invalidate(&mut self) {
        self.pos = None;
        self.sgr = None;
        self.cursor_shown = None;
    }

    fn idx(&self, x: u16, y: u16) -> usize {
        y as usize * self.size.width as usize + x as usize
    }

    fn cup(x: u16, y: u16) -> String {
        if x == 0 && y == 0 {
            "\x1b[H".into()
        } else if x == 0 {
            format!("\x1b[{}H", y + 1)
        } else {
            format!("\x1b[{};{}H", y + 1, x + 1)
        }
    }

    /// Bytes that rewrite cells [from, to) of row y as they are, when that is possible with
    /// the current attributes (plain ASCII cells in the same attributes).
    fn rewrite(&self, y: u16, from: u16, to: u16) -> Option<String> {
        let cur = self.sgr?;
        let mut s = String::new();
        for x in from..to {
            let (sym, sgr) = &self.screen[self.idx(x, y)];
            if *sgr != cur || sym.len() != 1 || !sym.is_ascii() {
                return None;
            }
            s.push_str(sym);
        }
        Some(s)
    }

    fn horizontal(&self, y: u16, from: u16, to: u16) -> String {
        use std::cmp::Ordering::*;
        match to.cmp(&from) {
            Equal => String::new(),
            Greater => {
                let n = to - from;
                let cuf = if n == 1 {
                    "\x1b[C".to_string()
                } else {
                    format!("\x1b[{n}C")
                };
                match self.rewrite(y, from, to) {
                    Some(r) if r.len() <= cuf.len() => r,
                    _ => cuf,
                }
            }
            Less => {
                let n = from - to;
                let cub = if n == 1 {
                    "\x08".to_string()
                } else {
                    format!("\x1b[{n}D")
                };
                let cr = match self.rewrite(y, 0, to) {
                    Some(r) => format!("\r{r}"),
                    None => format!("\r\x1b[{to}C"),
                };
                let bs = "\x08".repeat(n as usize);
                [cub, cr, bs]
                    .into_iter()
                    .min_by_key(|s| s.len())
                    .unwrap_or_default()
            }
        }
    }

    fn move_to(&mut self, x: u16, y: u16) {
        if self.pos == Some((x, y)) {
            return;
        }
        let mut best = Self::cup(x, y);
        if let Some((cx, cy)) = self.pos {
            let vertical = if y > cy {
                let n = y - cy;
                let lf = "\n".repeat(n as usize);
                let cud = format!("\x1b[{n}B");
                if lf.len() <= cud.len() { lf } else { cud }
            } else if y < cy {
                let n = cy - y;
                if n == 1 {
                    "\x1b[A".to_string()
                } else {
                    format!("\x1b[{n}A")
                }
            } else {
                String::new()
            };
            let rel = vertical.clone() + &self.horizontal(y, cx, x);
            if rel.len() < best.len() {
                best = rel;
            }
            // CR first, then across from column 0
            let cr = format!("{vertical}\r{}", self.horizontal(y, 0, x));
            if cr.len() < best.len() {
                best = cr;
            }
        }
        self.buf.extend_from_slice(best.as_bytes());
        self.pos = Some((x, y));
    }

    fn set_sgr(&mut self, to: Sgr) {
        let from = self.sgr.unwrap_or(Sgr {
            // unknown state: force a full reset
            bold: true,
            ..Sgr::default()
        });
        let t = from.transition(&to);
        self.buf.extend_from_slice(t.as_bytes());
        self.sgr = Some(to);
    }
}

impl<W: Write> Backend for FrugalBackend<W> {
    type Error = io::Error;

    fn draw<'a, I>(&mut self, content: I) -> io::Result<()>
    where
        I: Iterator<Item = (u16, u16, &'a Cell)>,
    {
        for (x, y, cell) in content {
            if x >= self.size.width || y >= self.size.height {
                continue;
            }
            let sym = cell.symbol();
            let sym = if self.caps.utf8 { sym } else { ascii(sym) };
            let sym = if sym.is_empty() { " " } else { sym };
            let sgr = Sgr::of(cell, self.caps);
            let i = self.idx(x, y);
            if self.screen[i].0 == sym && self.screen[i].1 == sgr {
                continue;
            }
            self.move_to(x, y);
            if self.sgr != Some(sgr) {
                self.set_sgr(sgr);
            }
            self.buf.extend_from_slice(sym.as_bytes());
            self.screen[i] = (sym.to_string(), sgr);
            let w = unicode_width(sym);
            let nx = x + w;
            self.pos = if nx >= self.size.width {
                None
            } else {
                Some((nx, y))
            };
        }
        Ok(())
    }

    fn hide_cursor(&mut self) -> io::Result<()> {
        if self.cursor_shown != Some(false) {
            self.buf.extend_from_slice(b"\x1b[?25l");
            self.cursor_shown = Some(false);
        }
        Ok(())
    }

    fn show_cursor(&mut self) -> io::Result<()> {
        if self.cursor_shown != Some(true) {
            self.buf.extend_from_slice(b"\x1b[?25h");
            self.cursor_shown = Some(true);
        }
        Ok(())
    }

    fn get_cursor_position(&mut self) -> io::Result<Position> {
        let (x, y) = self.pos.unwrap_or((0, 0));
        Ok(Position { x, y })
    }

    fn set_cursor_position<P: Into<Position>>(&mut self, position: P) -> io::Result<()> {
        let p = position.into();
        self.move_to(
            p.x.min(self.size.width.saturating_sub(1)),
            p.y.min(self.size.height.saturating_sub(1)),
        );
        Ok(())
    }

    fn clear(&mut self) -> io::Result<()> {
        if self.sgr != Some(Sgr::default()) {
            self.buf.extend_from_slice(b"\x1b[m");
            self.sgr = Some(Sgr::default());
        }
        self.buf.extend_from_slice(b"\x1b[H\x1b[2J");
        for c in self.screen.iter_mut() {
            *c = (" ".into(), Sgr::default());
        }
        self.pos = Some((0, 0));
        Ok(())
    }

    fn clear_region(&mut self, clear_type: ClearType) -> io::Result<()> {
        match clear_type {
            ClearType::All => return self.clear(),
            ClearType::AfterCursor => self.buf.extend_from_slice(b"\x1b[J"),
            ClearType::BeforeCursor => self.buf.extend_from_slice(b"\x1b[1J"),
            ClearType::CurrentLine => self.buf.extend_from_slice(b"\x1b[2K"),
            ClearType::UntilNewLine => self.buf.extend_from_slice(b"\x1b[K"),
        }
        // We no longer know exactly what is on screen.
        for c in self.screen.iter_mut() {
            c.0 = "\u{0}".into();
        }
        Ok(())
    }

    fn size(&self) -> io::Result<Size> {
        Ok(self.size)
    }

    fn window_size(&mut self) -> io::Result<WindowSize> {
        Ok(WindowSize {
            columns_rows: self.size,
            pixels: Size::default(),
        })
    }

    fn flush(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        self.written += self.buf.len() as u64;
        let r = self.out.write_all(&self.buf).and_then(|_| self.out.flush());
        self.buf.clear();
        r
    }
}

fn unicode_width(s: &str) -> u16 {
    // Everything we draw is single-width (ASCII, box drawing, blocks); wide CJK text in a
    // callerid would be two, which ratatui handles by skipping the next cell.
    s.chars()
        .map(|c| {
            if (c as u32) >= 0x1100 && is_wide(c) {
                2
            } else {
                1
            }
        })
        .sum::<u16>()
        .max(1)
}

fn is_wide(c: char) -> bool {
    matches!(c as u32,
        0x1100..=0x115F | 0x2E80..=0x303E | 0x3041..=0x33FF | 0x3400..=0x4DBF | 0x4E00..=0x9FFF
        | 0xA000..=0xA4CF | 0xAC00..=0xD7A3 | 0xF900..=0xFAFF | 0xFE30..=0xFE4F | 0xFF00..=0xFF60
        | 0xFFE0..=0xFFE6 | 0x1F300..=0x1F64F | 0x1F900..=0x1F9FF | 0x20000..=0x3FFFD)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::Terminal;
    use ratatui::widgets::Paragraph;

    fn term(caps: Caps) -> Terminal<FrugalBackend<Vec<u8>>> {
        Terminal::new(FrugalBackend::new(Vec::new(), caps, Size::new(80, 24))).unwrap()
    }

    fn take(t: &mut Terminal<FrugalBackend<Vec<u8>>>) -> Vec<u8> {
        std::mem::take(&mut t.backend_mut().out)
    }

    #[test]
    fn a_typed_character_costs_one_byte() {
        let mut t = term(Caps::FULL);
        t.clear().unwrap();
        let mut text = String::from("Name: ");
        t.draw(|f| {
            f.render_widget(Paragraph::new(text.clone()), f.area());
            f.set_cursor_position((6, 0));
        })
        .unwrap();
        take(&mut t);
        for (i, c) in "trixuser".chars().enumerate() {
            text.push(c);
            t.draw(|f| {
                f.render_widget(Paragraph::new(text.clone()), f.area());
                f.set_cursor_position((7 + i as u16, 0));
            })
            .unwrap();
            assert_eq!(take(&mut t), c.to_string().as_bytes(), "keystroke {i}");
        }
        // Backspace: the cursor steps back over the erased cell and blanks it.
        text.pop();
        t.draw(|f| {
            f.render_widget(Paragraph::new(text.clone()), f.area());
            f.set_cursor_position((13, 0));
        })
        .unwrap();
        assert_eq!(take(&mut t), b"\x08 \x08");
    }

    #[test]
    fn styles_are_sent_once_per_run() {
        use ratatui::style::Style;
        let mut t = term(Caps::BASIC);
        t.clear().unwrap();
        take(&mut t);
        t.draw(|f| {
            let r = ratatui::layout::Rect::new(0, 0, 5, 1);
            f.render_widget(
                Paragraph::new("title")
                    .style(Style::new().add_modifier(ratatui::style::Modifier::REVERSED)),
                r,
            );
            f.render_widget(
                Paragraph::new("plain"),
                ratatui::layout::Rect::new(0, 1, 5, 1),
            );
        })
        .unwrap();
        let out = String::from_utf8(take(&mut t)).unwrap();
        // attributes on once, off once; the second line is reached with CR LF
        assert_eq!(
            out,
            "\x1b[m\x1b[H\x1b[2J\x1b[7mtitle\n\r\x1b[mplain\x1b[?25l"
        );
    }

    #[test]
    fn basic_mode_sends_ascii_only() {
        use ratatui::widgets::{Block, Borders};
        let mut t = term(Caps::BASIC);
        t.clear().unwrap();
        t.draw(|f| f.render_widget(Block::default().borders(Borders::ALL), f.area()))
            .unwrap();
        let out = take(&mut t);
        assert!(out.is_ascii());
    }
}
