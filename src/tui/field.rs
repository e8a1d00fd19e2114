//! A one-line text field on ratatui-textarea (the maintained successor of tui-textarea that
//! follows ratatui 0.30): editing keys, undo, masking and horizontal scrolling come from the
//! crate. The field draws no cursor cell of its own; the terminal's cursor is placed in it,
//! so a typed character costs one byte on the wire.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui_textarea::TextArea;

use super::keys::Key;

pub struct TextField {
    ta: TextArea<'static>,
    /// The text as of the last pause in typing: live checks show this one, so a fast
    /// typist on a slow line gets one redraw per pause instead of one per key.
    settled: String,
    masked: bool,
}

impl TextField {
    pub fn new(initial: &str) -> TextField {
        let mut ta = TextArea::new(vec![initial.to_string()]);
        ta.set_cursor_style(Style::default());
        ta.set_cursor_line_style(Style::default());
        ta.move_cursor(ratatui_textarea::CursorMove::End);
        TextField {
            ta,
            settled: initial.to_string(),
            masked: false,
        }
    }

    pub fn text(&self) -> String {
        self.ta.lines().first().cloned().unwrap_or_default()
    }

    pub fn set_text(&mut self, s: &str) {
        self.settled = s.to_string();
        self.ta = {
            let mut t = TextArea::new(vec![s.to_string()]);
            t.set_cursor_style(Style::default());
            t.set_cursor_line_style(Style::default());
            t.move_cursor(ratatui_textarea::CursorMove::End);
            t
        };
        self.set_masked(self.masked);
    }

    /// The text live checks should show (see `settle`).
    pub fn settled(&self) -> &str {
        &self.settled
    }

    /// Typed since the last pause?
    pub fn is_dirty(&self) -> bool {
        self.text() != self.settled
    }

    /// Typing paused (or focus moved): checks catch up. True when something changed.
    pub fn settle(&mut self) -> bool {
        let t = self.text();
        if t != self.settled {
            self.settled = t;
            true
        } else {
            false
        }
    }

    pub fn set_masked(&mut self, masked: bool) {
        self.masked = masked;
        if masked {
            self.ta.set_mask_char('*');
        } else {
            self.ta.clear_mask_char();
        }
    }

    pub fn masked(&self) -> bool {
        self.masked
    }

    /// Edit with a key; returns true when the text changed. Navigation keys (Enter, Tab,
    /// Up/Down, Esc) are not handled here.
    pub fn input(&mut self, key: Key) -> bool {
        match key {
            Key::Enter
            | Key::Tab
            | Key::BackTab
            | Key::Up
            | Key::Down
            | Key::Esc
            | Key::PageUp
            | Key::PageDown => {
                return false;
            }
            // Whatever is typed stays as typed (no filter, no length cap): the screen's
            // checks name what is wrong with it, nothing is cut or dropped silently.
            Key::Char(c) if c.is_control() => return false,
            // Ctrl-U clears the field (as in a shell), not textarea's undo. The settled text
            // stays: the checks catch up at the next pause (or Enter), like after typing.
            Key::Ctrl('u') => {
                let changed = !self.text().is_empty();
                let settled = std::mem::take(&mut self.settled);
                self.set_text("");
                self.settled = settled;
                return changed;
            }
            Key::Ctrl('m') | Key::Ctrl('j') => return false,
            _ => {}
        }
        let before = self.text();
        self.ta.input(key.to_input());
        self.text() != before
    }

    /// Draw in `area` (one line); when focused, put the terminal's cursor in it.
    pub fn render(&self, f: &mut Frame, area: Rect, focused: bool) {
        let area = Rect { height: 1, ..area };
        f.render_widget(&self.ta, area);
        if focused {
            let sc = self.ta.screen_cursor();
            let (_, scroll_col) = self.ta.scroll_offset();
            let x = area.x + (sc.col as u16).saturating_sub(scroll_col);
            f.set_cursor_position((x.min(area.right().saturating_sub(1)), area.y));
        }
    }
}
