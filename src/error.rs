//! The one error type of the core. Every message is written for the admin reading it.

use std::io;
use std::path::PathBuf;

use crate::problems::Problem;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: io::Error },

    #[error("{0}")]
    Invalid(String),

    #[error("answers file {path}: {message}")]
    Answers { path: String, message: String },

    #[error("the plan is refused:\n{}", crate::problems::render_list(.0))]
    Refused(Vec<Problem>),

    /// The message (a command's output) is shown with crypt hashes and `secret=` values
    /// masked.
    #[error("{command} failed: {}", crate::redact::scrub(.message))]
    Command { command: String, message: String },

    #[error("{0}")]
    Journal(String),
}

impl Error {
    pub fn io(path: impl Into<PathBuf>, source: io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    pub fn invalid(msg: impl Into<String>) -> Self {
        Error::Invalid(msg.into())
    }

    /// Exit status used by the CLI: 2 for bad input and refused plans, 1 otherwise.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Invalid(_) | Error::Answers { .. } | Error::Refused(_) => 2,
            _ => 1,
        }
    }
}

/// Attach a path to an io::Result.
pub trait IoContext<T> {
    fn at(self, path: impl Into<PathBuf>) -> Result<T>;
}

impl<T> IoContext<T> for io::Result<T> {
    fn at(self, path: impl Into<PathBuf>) -> Result<T> {
        self.map_err(|e| Error::io(path, e))
    }
}

/// A TOML error as position, key and reason, never the text of the line (it may hold a
/// password; a file with CR-only line ends is a single line) nor the value that was refused.
pub fn toml_error(text: &str, e: &toml::de::Error) -> String {
    let mut out = String::new();
    if let Some(span) = e.span() {
        let at = span.start.min(text.len());
        let at = (0..=at)
            .rev()
            .find(|i| text.is_char_boundary(*i))
            .unwrap_or(0);
        let before = &text[..at];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let column = text[line_start..at].chars().count() + 1;
        out.push_str(&format!("line {line}, column {column}"));
        if let Some(key) = key_at(text, line_start, at) {
            out.push_str(&format!(", key `{key}`"));
        }
        out.push_str(": ");
    }
    out.push_str(&without_values(e.message()));
    out
}

/// The dotted key (`section.key`) whose line holds `at`, when the line is a plain
/// `key = value` with a key of safe characters; the section is the last `[header]` before it.
fn key_at(text: &str, line_start: usize, at: usize) -> Option<String> {
    let line_end = text[line_start..]
        .find(['\n', '\r'])
        .map_or(text.len(), |i| line_start + i);
    let line = &text[line_start..line_end];
    let (k, _) = line.split_once('=')?;
    let k = k.trim();
    let safe = |s: &str| {
        !s.is_empty()
            && s.len() <= 64
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
    };
    if !safe(k) || at < line_start {
        return None;
    }
    let section = text[..line_start]
        .lines()
        .rev()
        .map(str::trim)
        .find(|l| l.starts_with('[') && l.ends_with(']'))
        .map(|l| l.trim_matches(['[', ']']).trim())
        .filter(|s| safe(s));
    Some(match section {
        Some(s) => format!("{s}.{k}"),
        None => k.to_string(),
    })
}

/// serde's "invalid type: string \"hunter2\", expected u16" without the value. Names of
/// fields (`unknown field \`prot\``) are kept: they come from the file's keys.
fn without_values(msg: &str) -> String {
    if !(msg.starts_with("invalid type")
        || msg.starts_with("invalid value")
        || msg.starts_with("invalid length"))
    {
        return msg.to_string();
    }
    let (head, tail) = match msg.find(", expected") {
        Some(i) => msg.split_at(i),
        None => (msg, ""),
    };
    let mut out = String::new();
    let mut quote: Option<char> = None;
    for c in head.chars() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if c == '`' || c == '"' => quote = Some(c),
            None => out.push(c),
        }
    }
    format!("{}{tail}", out.trim_end())
}
