//! A ratatui backend that writes as few bytes as a 9600-baud line deserves.
//!
//! ratatui already sends only the cells that changed. This backend then:
//! - keeps a copy of the screen and the real cursor position, and reaches each cell the
//!   cheapest way: nothing when the cursor is already there (a typed character just
//!   echoes), CR/LF/BS, rewriting the cells in between, relative or absolute moves;
//! - keeps the terminal's current attributes and emits only the change (never a style
//!   code per cell);
//! - erases to the end of a line (or of the screen, when every row below is blank) where
//!   that is shorter than sending the spaces;
//! - when a block of rows moved up or down (a list that scrolls), lets the terminal move it
//!   (a scroll region, LF at its bottom or reverse index at its top: VT100 has both) and
//!   sends only the rows that came in;
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

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
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

    fn width(&self) -> usize {
        self.size.width as usize
    }

    fn row(v: &[(String, Sgr)], w: usize, y: usize) -> &[(String, Sgr)] {
        &v[y * w..(y + 1) * w]
    }

    /// Cells of row `y` that differ between `a` and `b` (a rough byte cost of the change).
    fn row_cost(a: &[(String, Sgr)], b: &[(String, Sgr)]) -> usize {
        a.iter().zip(b).filter(|(p, q)| p != q).count()
    }

    /// When a block of rows moved up or down (a list that scrolls), let the terminal move
    /// it (a scroll region and LF / reverse index, which VT100 has) instead of sending the
    /// rows again. One move per frame, the one that saves the most.
    fn scroll_toward(&mut self, next: &[(String, Sgr)]) {
        let (w, h) = (self.width(), self.size.height as usize);
        if h < 3 {
            return;
        }
        let blank_row = vec![(" ".to_string(), Sgr::default()); w];
        let hash = |v: &[(String, Sgr)], y: usize| {
            use std::hash::{Hash, Hasher};
            let mut st = std::collections::hash_map::DefaultHasher::new();
            for (sym, sgr) in Self::row(v, w, y) {
                sym.hash(&mut st);
                sgr.hash(&mut st);
            }
            st.finish()
        };
        let old: Vec<u64> = (0..h).map(|y| hash(&self.screen, y)).collect();
        let new: Vec<u64> = (0..h).map(|y| hash(next, y)).collect();
        // A keystroke changes a row or two: nothing moved.
        if old.iter().zip(&new).filter(|(a, b)| a != b).count() < 3 {
            return;
        }
        // (saving, up, k, top, bottom)
        let mut best: Option<(usize, bool, usize, usize, usize)> = None;
        for k in 1..=(h / 2).min(8) {
            for up in [true, false] {
                // rows y of `next` equal to rows y+k (up) or y-k (down) of the screen
                let src = |y: usize| if up { y + k } else { y - k };
                let same = |y: usize| {
                    new[y] == old[src(y)]
                        && Self::row(next, w, y) == Self::row(&self.screen, w, src(y))
                };
                let mut y = if up { 0 } else { k };
                let end = if up { h - k } else { h };
                while y < end {
                    if !same(y) {
                        y += 1;
                        continue;
                    }
                    let a = y;
                    while y < end && same(y) {
                        y += 1;
                    }
                    let b = y - 1;
                    // the region [top, bottom]; the k rows scrolled in come up blank
                    let (top, bottom) = if up { (a, b + k) } else { (a - k, b) };
                    let (fresh_from, fresh_to) = if up { (b + 1, b + k) } else { (a - k, a - 1) };
                    let mut before = 0;
                    for r in top..=bottom {
                        if old[r] != new[r] {
                            before += Self::row_cost(
                                Self::row(&self.screen, w, r),
                                Self::row(next, w, r),
                            );
                        }
                    }
                    let mut after = 0;
                    for r in fresh_from..=fresh_to {
                        after += Self::row_cost(&blank_row, Self::row(next, w, r));
                    }
                    let overhead = 24 + k;
                    if before > after + overhead {
                        let saving = before - after - overhead;
                        if best.is_none_or(|b| saving > b.0) {
                            best = Some((saving, up, k, top, bottom));
                        }
                    }
                }
            }
        }
        let Some((_, up, k, top, bottom)) = best else {
            return;
        };
        self.set_sgr(Sgr::default());
        let whole = top == 0 && bottom == h - 1;
        if !whole {
            self.buf
                .extend_from_slice(format!("\x1b[{};{}r", top + 1, bottom + 1).as_bytes());
            // DECSTBM homes the cursor: to the page's top on a VT100 and xterm, to the
            // region's on some emulators. An absolute move follows either way.
            self.pos = None;
        }
        if up {
            self.move_to(0, bottom as u16);
            self.buf.extend_from_slice("\n".repeat(k).as_bytes());
            for r in top..=bottom {
                for x in 0..w {
                    self.screen[r * w + x] = if r + k <= bottom {
                        self.screen[(r + k) * w + x].clone()
                    } else {
                        (" ".to_string(), Sgr::default())
                    };
                }
            }
        } else {
            self.move_to(0, top as u16);
            self.buf.extend_from_slice("\x1bM".repeat(k).as_bytes());
            for r in (top..=bottom).rev() {
                for x in 0..w {
                    self.screen[r * w + x] = if r >= top + k {
                        self.screen[(r - k) * w + x].clone()
                    } else {
                        (" ".to_string(), Sgr::default())
                    };
                }
            }
        }
        if whole {
            self.pos = Some((0, if up { bottom } else { top } as u16));
        } else {
            self.buf.extend_from_slice(b"\x1b[r");
            // Resetting it homes the cursor too, but not on every emulator (pyte, some
            // serial-console programs): the next move is absolute.
            self.pos = None;
        }
    }

    /// Write the cells where `next` differs from the screen, row by row. Where a row ends in
    /// blanks that replace text, erase to the end of the line (or of the screen, when every
    /// row below is blank too) if that is shorter than sending the spaces.
    fn paint(&mut self, next: &[(String, Sgr)]) {
        let (w, h) = (self.width(), self.size.height as usize);
        let blank = |c: &(String, Sgr)| c.0 == " " && c.1 == Sgr::default();
        // the first row from which every row of `next` is blank
        let mut blank_from = h;
        while blank_from > 0 && Self::row(next, w, blank_from - 1).iter().all(blank) {
            blank_from -= 1;
        }
        let mut y = 0;
        while y < h {
            let i0 = y * w;
            let changed: Vec<usize> = (0..w)
                .filter(|&x| next[i0 + x] != self.screen[i0 + x])
                .collect();
            if y == blank_from {
                // every row from here on is blank: one erase, if it pays
                let dirty: usize = (y..h)
                    .map(|r| {
                        Self::row(&self.screen, w, r)
                            .iter()
                            .filter(|c| !blank(c))
                            .count()
                    })
                    .sum();
                if dirty > 0 {
                    if dirty > 6 {
                        self.erase(0, y as u16, b"\x1b[J");
                        for c in &mut self.screen[i0..] {
                            *c = (" ".to_string(), Sgr::default());
                        }
                    } else {
                        for x in changed {
                            self.put(x as u16, y as u16, &next[i0 + x]);
                        }
                        y += 1;
                        continue;
                    }
                }
                if blank_from > 0 || dirty > 0 {
                    // only blank rows below, and the screen has them blank now
                    if (y..h).all(|r| Self::row(&self.screen, w, r).iter().all(blank)) {
                        break;
                    }
                }
            }
            if changed.is_empty() {
                y += 1;
                continue;
            }
            // the column after the row's last non-blank cell (wide characters count two)
            let mut tail = 0;
            for x in 0..w {
                let c = &next[i0 + x];
                if !blank(c) {
                    tail = tail.max(x + unicode_width(&c.0) as usize);
                }
            }
            let tail = tail.min(w);
            let in_tail = changed.iter().filter(|&&x| x >= tail).count();
            let last_head = changed.iter().rev().find(|&&x| x < tail).copied();
            let erase_cost =
                3 + if self.sgr == Some(Sgr::default()) {
                    0
                } else {
                    3
                } + match last_head {
                    Some(x) if x + 1 == tail => 0,
                    _ => 5,
                };
            let erase = in_tail > 0 && erase_cost < in_tail;
            for &x in &changed {
                if erase && x >= tail {
                    break;
                }
                self.put(x as u16, y as u16, &next[i0 + x]);
            }
            if erase {
                let below = y + 1 == blank_from
                    && (y + 1..h).any(|r| Self::row(&self.screen, w, r).iter().any(|c| !blank(c)));
                if below {
                    self.erase(tail as u16, y as u16, b"\x1b[J");
                    for c in &mut self.screen[i0 + tail..] {
                        *c = (" ".to_string(), Sgr::default());
                    }
                } else {
                    self.erase(tail as u16, y as u16, b"\x1b[K");
                    for c in &mut self.screen[i0 + tail..i0 + w] {
                        *c = (" ".to_string(), Sgr::default());
                    }
                }
            }
            y += 1;
        }
    }

    /// Erase (EL or ED) from (x, y) in the default attributes.
    fn erase(&mut self, x: u16, y: u16, seq: &[u8]) {
        self.move_to(x, y);
        if self.sgr != Some(Sgr::default()) {
            self.set_sgr(Sgr::default());
        }
        self.buf.extend_from_slice(seq);
    }

    /// Write one cell.
    fn put(&mut self, x: u16, y: u16, cell: &(String, Sgr)) {
        self.move_to(x, y);
        if self.sgr != Some(cell.1) {
            self.set_sgr(cell.1);
        }
        self.buf.extend_from_slice(cell.0.as_bytes());
        let i = self.idx(x, y);
        self.screen[i] = cell.clone();
        let nx = x + unicode_width(&cell.0);
        self.pos = if nx >= self.size.width {
            None
        } else {
            Some((nx, y))
        };
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
        // What the screen should show: ours with ratatui's changed cells applied.
        let mut next: Option<Vec<(String, Sgr)>> = None;
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
            let n = next.get_or_insert_with(|| self.screen.clone());
            n[i] = (sym.to_string(), sgr);
        }
        let Some(next) = next else { return Ok(()) };
        self.scroll_toward(&next);
        self.paint(&next);
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

    /// Feed what the backend wrote into a VT100 emulator and compare with what ratatui
    /// meant to show: text, bold and reverse, cell by cell.
    fn check_same(
        t: &Terminal<FrugalBackend<Vec<u8>>>,
        intended: &ratatui::buffer::Buffer,
        vt: &mut vt100::Parser,
        step: &str,
    ) {
        vt.process(&t.backend().out);
        let sent = String::from_utf8_lossy(&t.backend().out).into_owned();
        let model = t.model();
        let scr = vt.screen();
        for y in 0..24u16 {
            for x in 0..80u16 {
                assert_eq!(
                    model[(x, y)].symbol(),
                    intended[(x, y)].symbol(),
                    "{step}: model"
                );
                let c = &intended[(x, y)];
                let got = scr.cell(y, x).unwrap();
                let sym = if c.symbol().is_empty() {
                    " "
                } else {
                    c.symbol()
                };
                let text = if got.contents().is_empty() {
                    " "
                } else {
                    got.contents()
                };
                assert_eq!(
                    (text, got.bold(), got.inverse()),
                    (
                        sym,
                        c.modifier.contains(Modifier::BOLD),
                        c.modifier.contains(Modifier::REVERSED)
                    ),
                    "{step}: cell {x},{y}\n{}\nsent {sent:?}",
                    scr.contents()
                );
            }
        }
    }

    trait Snapshot {
        fn model(&self) -> ratatui::buffer::Buffer;
    }

    impl Snapshot for Terminal<FrugalBackend<Vec<u8>>> {
        /// What the backend believes the terminal shows.
        fn model(&self) -> ratatui::buffer::Buffer {
            let mut b = ratatui::buffer::Buffer::empty(ratatui::layout::Rect::new(0, 0, 80, 24));
            for y in 0..24 {
                for x in 0..80 {
                    let (sym, sgr) = &self.backend().screen[y as usize * 80 + x as usize];
                    let c = &mut b[(x, y)];
                    c.set_symbol(sym);
                    let mut m = Modifier::empty();
                    if sgr.bold {
                        m |= Modifier::BOLD;
                    }
                    if sgr.reverse {
                        m |= Modifier::REVERSED;
                    }
                    c.modifier = m;
                }
            }
            b
        }
    }

    /// Random screens (text that grows, shrinks, moves up and down, styles, blank areas):
    /// whatever shortcuts the backend takes (erase to end of line or screen, scrolling), a
    /// terminal shows exactly the frame, and the backend's idea of the screen is right.
    #[test]
    fn the_terminal_shows_every_frame_exactly() {
        use rand::{RngExt, SeedableRng};
        use ratatui::layout::Rect;
        use ratatui::style::Style;
        use ratatui::text::Line;
        let mut rng = rand::rngs::StdRng::seed_from_u64(11);
        for caps in [Caps::BASIC, Caps::FULL] {
            let mut t = term(caps);
            let mut vt = vt100::Parser::new(
                std::num::NonZero::new(24).unwrap(),
                std::num::NonZero::new(80).unwrap(),
                0,
            );
            t.clear().unwrap();
            let mut list: Vec<String> = (0..40)
                .map(|i| format!("line {i} {}", "x".repeat(rng.random_range(0..60))))
                .collect();
            let mut top = 0usize;
            for step in 0..300 {
                match rng.random_range(0..6) {
                    0 => top = (top + 1).min(list.len()),
                    1 => top = top.saturating_sub(rng.random_range(1..4)),
                    2 => list.push(format!(
                        "new {step} {}",
                        "y".repeat(rng.random_range(0..70))
                    )),
                    3 => {
                        let n = rng.random_range(0..list.len());
                        list[n] = "z".repeat(rng.random_range(0..75));
                    }
                    4 => top = rng.random_range(0..list.len()),
                    _ => {}
                }
                let header = rng.random_range(0..3);
                let from = top;
                let list2 = list.clone();
                let short = rng.random_bool(0.2);
                let intended = t
                    .draw(|f| {
                        f.render_widget(
                            Paragraph::new(format!("title {header}"))
                                .style(Style::new().add_modifier(Modifier::REVERSED)),
                            Rect::new(0, 0, 80, 1),
                        );
                        let h: u16 = if short { 5 } else { 20 };
                        let lines: Vec<Line> = list2
                            .iter()
                            .skip(from)
                            .take(h as usize)
                            .enumerate()
                            .map(|(i, l)| {
                                if i % 7 == 3 {
                                    Line::styled(
                                        l.clone(),
                                        Style::new().add_modifier(Modifier::BOLD),
                                    )
                                } else {
                                    Line::from(l.clone())
                                }
                            })
                            .collect();
                        f.render_widget(Paragraph::new(lines), Rect::new(2, 2, 76, h));
                        f.render_widget(Paragraph::new("| keys"), Rect::new(0, 23, 80, 1));
                    })
                    .unwrap()
                    .buffer
                    .clone();
                check_same(&t, &intended, &mut vt, &format!("step {step}"));
                take(&mut t);
            }
        }
    }

    #[test]
    fn a_list_that_moves_up_is_scrolled_not_resent() {
        let mut t = term(Caps::BASIC);
        t.clear().unwrap();
        let lines: Vec<String> = (0..40)
            .map(|i| format!("* step {i}: {}", "abcdefghij".repeat(i % 5 + 1)))
            .collect();
        let show = |t: &mut Terminal<FrugalBackend<Vec<u8>>>, from: usize| {
            let l = lines[from..from + 20].join("\n");
            t.draw(|f| {
                f.render_widget(
                    Paragraph::new("Apply"),
                    ratatui::layout::Rect::new(0, 0, 80, 1),
                );
                f.render_widget(Paragraph::new(l), ratatui::layout::Rect::new(1, 2, 78, 20));
                f.render_widget(
                    Paragraph::new("keys"),
                    ratatui::layout::Rect::new(0, 23, 80, 1),
                );
            })
            .unwrap();
        };
        show(&mut t, 0);
        take(&mut t);
        show(&mut t, 1);
        let out = String::from_utf8(take(&mut t)).unwrap();
        // scroll region rows 3-22, one LF at its bottom, then only the new last line
        assert!(out.starts_with("\x1b[3;22r"), "{out:?}");
        assert!(out.contains("step 20"), "{out:?}");
        assert!(out.len() < 70, "{} bytes: {out:?}", out.len());
    }

    #[test]
    fn shorter_text_is_erased_to_the_end_of_the_line() {
        let mut t = term(Caps::BASIC);
        t.clear().unwrap();
        t.draw(|f| f.render_widget(Paragraph::new("a long line of text here"), f.area()))
            .unwrap();
        take(&mut t);
        t.draw(|f| f.render_widget(Paragraph::new("a"), f.area()))
            .unwrap();
        let out = String::from_utf8(take(&mut t)).unwrap();
        assert!(out.ends_with("\x1b[K"), "{out:?}");
        assert!(out.len() <= 8, "{out:?}");
    }
}
