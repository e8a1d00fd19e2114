//! Validation findings: every rule reports here, once, in the core.

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Warning,
    Error,
}

/// One thing wrong (or worth knowing) about the answers, with the answers key it concerns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    pub level: Level,
    /// Dotted answers key, e.g. `ssh.port`; empty when the problem is not about one key.
    pub key: String,
    pub message: String,
}

impl Problem {
    pub fn error(key: impl Into<String>, message: impl Into<String>) -> Self {
        Problem {
            level: Level::Error,
            key: key.into(),
            message: message.into(),
        }
    }

    pub fn warning(key: impl Into<String>, message: impl Into<String>) -> Self {
        Problem {
            level: Level::Warning,
            key: key.into(),
            message: message.into(),
        }
    }

    pub fn is_error(&self) -> bool {
        self.level == Level::Error
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let tag = match self.level {
            Level::Error => "error",
            Level::Warning => "warning",
        };
        if self.key.is_empty() {
            write!(f, "{tag}: {}", self.message)
        } else {
            write!(f, "{tag}: {}: {}", self.key, self.message)
        }
    }
}

pub fn render_list(problems: &[Problem]) -> String {
    problems
        .iter()
        .map(|p| format!("  {p}"))
        .collect::<Vec<_>>()
        .join("\n")
}

pub fn has_errors(problems: &[Problem]) -> bool {
    problems.iter().any(Problem::is_error)
}
