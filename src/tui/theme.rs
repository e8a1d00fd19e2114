//! Styles and symbols for the two looks: full (UTF-8, colour) and basic (ASCII, no colour,
//! for VT100s and serial consoles). Attributes only where they carry meaning.

use ratatui::style::{Color, Modifier, Style};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Theme {
    pub basic: bool,
    pub dumb: bool,
}

impl Theme {
    pub fn new(basic: bool, dumb: bool) -> Theme {
        Theme { basic, dumb }
    }

    pub fn title(&self) -> Style {
        Style::new().add_modifier(Modifier::REVERSED)
    }

    pub fn heading(&self) -> Style {
        Style::new().add_modifier(Modifier::BOLD)
    }

    /// Labels in front of values: bold where it is cheap, plain on serial lines.
    pub fn label(&self) -> Style {
        if self.basic {
            Style::new()
        } else {
            self.heading()
        }
    }

    pub fn error(&self) -> Style {
        if self.basic {
            Style::new().add_modifier(Modifier::BOLD)
        } else {
            Style::new().fg(Color::Red).add_modifier(Modifier::BOLD)
        }
    }

    pub fn warn(&self) -> Style {
        if self.basic {
            Style::new()
        } else {
            Style::new().fg(Color::Yellow)
        }
    }

    pub fn ok(&self) -> Style {
        if self.basic {
            Style::new()
        } else {
            Style::new().fg(Color::Green)
        }
    }

    pub fn dim(&self) -> Style {
        Style::new()
    }

    /// The focused item of a list or the selected choice.
    pub fn focus(&self) -> Style {
        Style::new().add_modifier(Modifier::REVERSED)
    }

    pub fn added(&self) -> Style {
        if self.basic {
            Style::new()
        } else {
            Style::new().fg(Color::Green)
        }
    }

    pub fn removed(&self) -> Style {
        if self.basic {
            Style::new()
        } else {
            Style::new().fg(Color::Red)
        }
    }

    pub fn check(&self, on: bool) -> &'static str {
        if on { "[x]" } else { "[ ]" }
    }

    pub fn radio(&self, on: bool) -> &'static str {
        if on { "(*)" } else { "( )" }
    }

    /// A strength bar for a zxcvbn score 0..=4, 10 cells.
    pub fn meter(&self, score: u8) -> String {
        let n = usize::from(score.min(4)) * 10 / 4;
        let (on, off) = if self.basic {
            ("#", "-")
        } else {
            ("█", "░")
        };
        format!("{}{}", on.repeat(n), off.repeat(10 - n))
    }

    pub fn bullet(&self) -> &'static str {
        "-"
    }
}
