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

/// The longest reason an error gives: a reason quotes its input (an element's name, a value),
/// and the input may be megabytes long.
const MAX_REASON_CHARS: usize = 300;

impl InputError {
    pub fn invalid(path: &std::path::Path, line: Option<usize>, reason: impl Into<String>) -> Self {
        let reason = short(reason.into());
        InputError::Invalid { location: Location { path: path.to_path_buf(), line }, reason }
    }
}

/// `reason`, cut to [`MAX_REASON_CHARS`] characters with the size of what was left out.
fn short(reason: String) -> String {
    match first_chars(&reason, MAX_REASON_CHARS) {
        Some(kept) => format!("{kept}… ({} bytes in all)", reason.len()),
        None => reason,
    }
}

/// The first `max` characters of `s`, or `None` when `s` has no more than that: how a message
/// quotes a piece of its input.
pub(super) fn first_chars(s: &str, max: usize) -> Option<&str> {
    s.char_indices().nth(max).map(|(at, _)| &s[..at])
}

/// A format named on the command line that seer does not read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {kind} format {given:?} (expected {expected})")]
pub struct UnknownFormat {
    pub kind: &'static str,
    pub given: String,
    pub expected: &'static str,
}
