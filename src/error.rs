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
