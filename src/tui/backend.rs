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
//!   sends only the rows that came in; the region stays set between frames (relative moves
//!   never cross its margins) and is reset on a resize and when the terminal is restored;
//! - keeps each cell as a number (the symbol's code point, or an interned grapheme) and its
//!   attributes: no allocation per cell; widths come from `tui::width` (unicode-width);
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

/// A cell's symbol as a number: one character as its code point, or (the top bit set) an
/// index into the backend's table of longer graphemes (a letter with combining marks, an
/// emoji sequence). Copy and compared as a number: the screen is a plain array, with no
/// allocation per cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Sym(u32);

impl Sym {
    const SPACE: Sym = Sym(b' ' as u32);
    /// What `clear_region` leaves: matches no symbol, so every cell is sent again.
    const UNKNOWN: Sym = Sym(0);
    const TABLE: u32 = 1 << 31;

    /// The symbol is one ASCII byte (and which).
    fn ascii(self) -> Option<u8> {
        (self.0 < 0x80).then_some(self.0 as u8)
    }
}

const PLAIN: Sgr = Sgr {
    bold: false,
    dim: false,
    underline: false,
    reverse: false,
    fg: None,
    bg: None,
};

/// What one cell of the terminal shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Cel {
    sym: Sym,
    sgr: Sgr,
}

const BLANK: Cel = Cel {
    sym: Sym::SPACE,
    sgr: PLAIN,
};

/// Set while a scroll region other than the whole screen is in force (the terminal keeps
/// it between frames); `term::restore_terminal` resets it on the way out.
static REGION_SET: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// True when the terminal may still have a scroll region of ours.
pub fn region_set() -> bool {
    REGION_SET.load(std::sync::atomic::Ordering::Relaxed)
}

/// A cheap row hash (FxHash's mixing): only to find rows that may be equal.
#[derive(Default)]
struct RowHasher(u64);

impl std::hash::Hasher for RowHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(u64::from(b));
        }
    }
    fn write_u8(&mut self, i: u8) {
        self.write_u64(u64::from(i));
    }
    fn write_u32(&mut self, i: u32) {
        self.write_u64(u64::from(i));
    }
    fn write_u64(&mut self, i: u64) {
        self.0 = (self.0.rotate_left(5) ^ i).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
    fn write_usize(&mut self, i: usize) {
        self.write_u64(i as u64);
    }
}

pub struct FrugalBackend<W: Write> {
    out: W,
    buf: Vec<u8>,
    caps: Caps,
    size: Size,
    /// What the terminal shows, as far as we know.
    screen: Vec<Cel>,
    /// Graphemes of more than one character, by `Sym` index.
    table: Vec<String>,
    ids: std::collections::HashMap<String, u32>,
    /// Where the terminal's cursor is; None after writing the last column (pending wrap).
    pos: Option<(u16, u16)>,
    cursor_shown: Option<bool>,
    sgr: Option<Sgr>,
    /// The terminal's scroll region (top, bottom rows) when it is not the whole screen.
    region: Option<(usize, usize)>,
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
            screen: vec![BLANK; n],
            table: Vec::new(),
            ids: Default::default(),
            pos: None,
            cursor_shown: None,
            sgr: None,
            region: None,
            written: 0,
        }
    }

    pub fn caps(&self) -> Caps {
        self.caps
    }

    /// A new window size (SIGWINCH); the next draw repaints everything.
    pub fn set_size(&mut self, size: Size) {
        self.size = size;
        self.screen = vec![BLANK; size.width as usize * size.height as usize];
        self.pos = None;
        self.reset_region();
    }

    /// Raw bytes (mode switches) through the same accounting.
    pub fn write_raw(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// Forget what we know about the terminal (after something else wrote to it, or
    /// Ctrl-L after a reset of the terminal): a scroll region of ours is reset, so that
    /// none is in force whatever happened.
    pub fn invalidate(&mut self) {
        if self.region.is_some() {
            self.buf.extend_from_slice(b"\x1b[r");
            self.region = None;
        }
        self.pos = None;
        self.sgr = None;
        self.cursor_shown = None;
    }

    fn intern(&mut self, s: &str) -> Sym {
        let mut cs = s.chars();
        if let (Some(c), None) = (cs.next(), cs.clone().next()) {
            return Sym(c as u32);
        }
        if let Some(&i) = self.ids.get(s) {
            return Sym(Sym::TABLE | i);
        }
        let i = self.table.len() as u32;
        self.table.push(s.to_string());
        self.ids.insert(s.to_string(), i);
        Sym(Sym::TABLE | i)
    }

    /// The text of a symbol (`buf` holds a single character's bytes).
    fn text<'a>(&'a self, s: Sym, buf: &'a mut [u8; 4]) -> &'a str {
        if s.0 & Sym::TABLE != 0 {
            return &self.table[(s.0 & !Sym::TABLE) as usize];
        }
        char::from_u32(s.0).unwrap_or(' ').encode_utf8(buf)
    }

    /// Columns a symbol takes (at least one: ratatui gives every symbol a cell).
    fn cols(&self, s: Sym) -> u16 {
        if s.ascii().is_some() {
            return 1;
        }
        let mut b = [0u8; 4];
        super::width::width(self.text(s, &mut b)).max(1) as u16
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
            let c = self.screen[self.idx(x, y)];
            match c.sym.ascii() {
                Some(b) if c.sgr == cur && b != 0 => s.push(b as char),
                _ => return None,
            }
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

    /// Can the cursor move from row `from` to row `to` with LF or CUU/CUD? Not across a
    /// margin of the scroll region: LF at its bottom scrolls it, CUD and CUU stop there.
    fn vertical_ok(&self, from: u16, to: u16) -> bool {
        let Some((top, bottom)) = self.region else {
            return true;
        };
        let (from, to) = (from as usize, to as usize);
        if to > from {
            !(from <= bottom && to > bottom)
        } else {
            !(from >= top && to < top)
        }
    }

    fn move_to(&mut self, x: u16, y: u16) {
        if self.pos == Some((x, y)) {
            return;
        }
        let mut best = Self::cup(x, y);
        if let Some((cx, cy)) = self.pos
            && self.vertical_ok(cy, y)
        {
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

    fn row(v: &[Cel], w: usize, y: usize) -> &[Cel] {
        &v[y * w..(y + 1) * w]
    }

    /// Cells of row `y` that differ between `a` and `b` (a rough byte cost of the change).
    fn row_cost(a: &[Cel], b: &[Cel]) -> usize {
        a.iter().zip(b).filter(|(p, q)| p != q).count()
    }

    /// Set the scroll region to rows [top, bottom] (the whole screen: reset it). Either
    /// homes the cursor: the next move is absolute.
    fn set_region(&mut self, top: usize, bottom: usize) {
        let whole = top == 0 && bottom + 1 == self.size.height as usize;
        let want = (!whole).then_some((top, bottom));
        if self.region == want {
            return;
        }
        if whole {
            self.buf.extend_from_slice(b"\x1b[r");
        } else {
            self.buf
                .extend_from_slice(format!("\x1b[{};{}r", top + 1, bottom + 1).as_bytes());
            REGION_SET.store(true, std::sync::atomic::Ordering::Relaxed);
        }
        // DECSTBM homes the cursor: to the page's top on a VT100 and xterm, to the
        // region's on some emulators. An absolute move follows either way.
        self.pos = None;
        self.region = want;
    }

    fn reset_region(&mut self) {
        if self.region.is_some() {
            let h = self.size.height as usize;
            self.region = Some((0, 0));
            self.set_region(0, h.max(1) - 1);
        }
    }

    /// When a block of rows moved up or down (a list that scrolls), let the terminal move
    /// it (a scroll region and LF / reverse index, which VT100 has) instead of sending the
    /// rows again. One move per frame, the one that saves the most. The region stays set
    /// after the frame: the next line of a growing list costs a move, an LF and its text.
    fn scroll_toward(&mut self, next: &[Cel]) {
        let (w, h) = (self.width(), self.size.height as usize);
        if h < 3 {
            return;
        }
        let rows_differ = (0..h)
            .filter(|&y| Self::row(&self.screen, w, y) != Self::row(next, w, y))
            .count();
        // A keystroke changes a row or two: nothing moved.
        if rows_differ < 3 {
            return;
        }
        let blank_row = vec![BLANK; w];
        // Rows that are blank on the screen are not worth moving (the first frame).
        let shown = (0..h)
            .filter(|&y| Self::row(&self.screen, w, y) != &blank_row[..])
            .count();
        if shown < 3 {
            return;
        }
        let hash = |v: &[Cel], y: usize| {
            use std::hash::{Hash, Hasher};
            let mut st = RowHasher::default();
            Self::row(v, w, y).hash(&mut st);
            st.finish()
        };
        let old: Vec<u64> = (0..h).map(|y| hash(&self.screen, y)).collect();
        let new: Vec<u64> = (0..h).map(|y| hash(next, y)).collect();
        // (saving, up, k, top, bottom)
        let mut best: Option<(usize, bool, usize, usize, usize)> = None;
        // any shift that leaves rows in common (a burst of progress lines moves a list by
        // more than half the screen)
        for k in 1..=h - 2 {
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
                    // a region already in force costs nothing to set
                    let whole = top == 0 && bottom == h - 1;
                    let want = (!whole).then_some((top, bottom));
                    let overhead = if self.region == want { 8 } else { 16 } + k;
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
        self.set_sgr(PLAIN);
        self.set_region(top, bottom);
        if up {
            self.move_to(0, bottom as u16);
            self.buf.extend_from_slice("\n".repeat(k).as_bytes());
            for r in top..=bottom {
                for x in 0..w {
                    self.screen[r * w + x] = if r + k <= bottom {
                        self.screen[(r + k) * w + x]
                    } else {
                        BLANK
                    };
                }
            }
        } else {
            self.move_to(0, top as u16);
            self.buf.extend_from_slice("\x1bM".repeat(k).as_bytes());
            for r in (top..=bottom).rev() {
                for x in 0..w {
                    self.screen[r * w + x] = if r >= top + k {
                        self.screen[(r - k) * w + x]
                    } else {
                        BLANK
                    };
                }
            }
        }
        // LF at the bottom margin and RI at the top one leave the cursor where it was
        self.pos = Some((0, if up { bottom } else { top } as u16));
    }

    /// Write the cells where `next` differs from the screen, row by row. Where a row ends in
    /// blanks that replace text, erase to the end of the line (or of the screen, when every
    /// row below is blank too) if that is shorter than sending the spaces.
    fn paint(&mut self, next: &[Cel]) {
        let (w, h) = (self.width(), self.size.height as usize);
        let blank = |c: &Cel| *c == BLANK;
        // the first row from which every row of `next` is blank
        let mut blank_from = h;
        while blank_from > 0 && Self::row(next, w, blank_from - 1).iter().all(blank) {
            blank_from -= 1;
        }
        let mut changed: Vec<usize> = Vec::with_capacity(w);
        let mut y = 0;
        while y < h {
            let i0 = y * w;
            changed.clear();
            changed.extend((0..w).filter(|&x| next[i0 + x] != self.screen[i0 + x]));
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
                            *c = BLANK;
                        }
                    } else {
                        for &x in &changed {
                            self.put(x as u16, y as u16, next[i0 + x]);
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
                let c = next[i0 + x];
                if !blank(&c) {
                    tail = tail.max(x + self.cols(c.sym) as usize);
                }
            }
            let tail = tail.min(w);
            let in_tail = changed.iter().filter(|&&x| x >= tail).count();
            let last_head = changed.iter().rev().find(|&&x| x < tail).copied();
            let erase_cost = 3
                + if self.sgr == Some(PLAIN) { 0 } else { 3 }
                + match last_head {
                    Some(x) if x + 1 == tail => 0,
                    _ => 5,
                };
            let erase = in_tail > 0 && erase_cost < in_tail;
            for &x in &changed {
                if erase && x >= tail {
                    break;
                }
                self.put(x as u16, y as u16, next[i0 + x]);
            }
            if erase {
                let below = y + 1 == blank_from
                    && (y + 1..h).any(|r| Self::row(&self.screen, w, r).iter().any(|c| !blank(c)));
                if below {
                    self.erase(tail as u16, y as u16, b"\x1b[J");
                    for c in &mut self.screen[i0 + tail..] {
                        *c = BLANK;
                    }
                } else {
                    self.erase(tail as u16, y as u16, b"\x1b[K");
                    for c in &mut self.screen[i0 + tail..i0 + w] {
                        *c = BLANK;
                    }
                }
            }
            y += 1;
        }
    }

    /// Erase (EL or ED) from (x, y) in the default attributes.
    fn erase(&mut self, x: u16, y: u16, seq: &[u8]) {
        self.move_to(x, y);
        if self.sgr != Some(PLAIN) {
            self.set_sgr(PLAIN);
        }
        self.buf.extend_from_slice(seq);
    }

    /// Write one cell.
    fn put(&mut self, x: u16, y: u16, cell: Cel) {
        self.move_to(x, y);
        if self.sgr != Some(cell.sgr) {
            self.set_sgr(cell.sgr);
        }
        match cell.sym.ascii() {
            Some(b) => self.buf.push(b),
            None => {
                let mut b = [0u8; 4];
                let t = self.text(cell.sym, &mut b).as_bytes().to_vec();
                self.buf.extend_from_slice(&t);
            }
        }
        let i = self.idx(x, y);
        self.screen[i] = cell;
        let nx = x + self.cols(cell.sym);
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
            ..PLAIN
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
        let mut next: Option<Vec<Cel>> = None;
        for (x, y, cell) in content {
            if x >= self.size.width || y >= self.size.height {
                continue;
            }
            let sym = cell.symbol();
            let sym = if self.caps.utf8 { sym } else { ascii(sym) };
            let sym = if sym.is_empty() { " " } else { sym };
            let c = Cel {
                sym: self.intern(sym),
                sgr: Sgr::of(cell, self.caps),
            };
            let i = self.idx(x, y);
            if self.screen[i] == c {
                continue;
            }
            let n = next.get_or_insert_with(|| self.screen.clone());
            n[i] = c;
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
        if self.sgr != Some(PLAIN) {
            self.buf.extend_from_slice(b"\x1b[m");
            self.sgr = Some(PLAIN);
        }
        self.buf.extend_from_slice(b"\x1b[H\x1b[2J");
        self.screen.fill(BLANK);
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
            c.sym = Sym::UNKNOWN;
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
                    let be = self.backend();
                    let cell = be.screen[y as usize * 80 + x as usize];
                    let mut buf = [0u8; 4];
                    let sym = be.text(cell.sym, &mut buf).to_string();
                    let sgr = cell.sgr;
                    let c = &mut b[(x, y)];
                    c.set_symbol(&sym);
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
                // the cursor somewhere (a text field), crossing the scroll region's margins
                let cursor = rng
                    .random_bool(0.5)
                    .then(|| (rng.random_range(0..80u16), rng.random_range(0..24u16)));
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
                        if let Some(p) = cursor {
                            f.set_cursor_position(p);
                        }
                    })
                    .unwrap()
                    .buffer
                    .clone();
                check_same(&t, &intended, &mut vt, &format!("step {step}"));
                if let Some((x, y)) = cursor {
                    assert_eq!(vt.screen().cursor_position(), (y, x), "step {step}: cursor");
                }
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
    fn a_growing_list_keeps_its_scroll_region() {
        // the Apply screen: a title, a list whose newest line comes in at the bottom, keys
        let mut t = term(Caps::BASIC);
        let mut vt = vt100::Parser::new(
            std::num::NonZero::new(24).unwrap(),
            std::num::NonZero::new(80).unwrap(),
            0,
        );
        t.clear().unwrap();
        let words = [
            "backed up",
            "written",
            "checked with sshd -t",
            "reloaded",
            "added",
        ];
        let lines: Vec<String> = (0..60)
            .map(|i| format!("  * /etc/file{i}: {}", words[i % 5].repeat(i % 3 + 1)))
            .collect();
        let mut sizes = Vec::new();
        for n in 18usize..40 {
            let from = n.saturating_sub(18);
            let l = lines[from..n].join("\n");
            let intended = t
                .draw(|f| {
                    let r = ratatui::layout::Rect::new;
                    f.render_widget(Paragraph::new(format!("Apply {n}/40")), r(0, 0, 80, 1));
                    f.render_widget(Paragraph::new(l), r(0, 2, 80, 18));
                    f.render_widget(Paragraph::new("keys"), r(0, 23, 80, 1));
                })
                .unwrap()
                .buffer
                .clone();
            check_same(&t, &intended, &mut vt, &format!("line {n}"));
            sizes.push(take(&mut t));
        }
        // once set, the region stays: a new line is a move, a line feed and its text
        let later = String::from_utf8(sizes[3].clone()).unwrap();
        assert!(!later.contains("\x1b[3;"), "{later:?}");
        assert!(!later.contains("\x1b[r"), "{later:?}");
        let text = lines[20].trim_start().len();
        assert!(later.len() <= text + 20, "{} bytes: {later:?}", later.len());
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
