//! The one error type for rejected input files: always names the file and, where known, the line.

use std::fmt;
use std::path::PathBuf;

/// Where in an input file something went wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub path: PathBuf,
    /// 1-based line number, when the problem has one.
    pub line: Option<usize>,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{}", self.path.display(), line),
            None => write!(f, "{}", self.path.display()),
        }
    }
}

/// An input file (test report or history import) that seer refuses to store.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error("{location}: {reason}")]
    Invalid { location: Location, reason: String },
    #[error("{path}: cannot read")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl InputError {
    pub fn invalid(path: &std::path::Path, line: Option<usize>, reason: impl Into<String>) -> Self {
        InputError::Invalid { location: Location { path: path.to_path_buf(), line }, reason: reason.into() }
    }
}

/// A format named on the command line that seer does not read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {kind} format {given:?} (expected {expected})")]
pub struct UnknownFormat {
    pub kind: &'static str,
    pub given: String,
    pub expected: &'static str,
}
