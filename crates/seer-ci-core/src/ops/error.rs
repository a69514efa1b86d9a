//! The one error of the library's operations: each variant is one kind of failure, so that a
//! front end can map it to an exit code (or an HTTP status) with one exhaustive match.

use std::path::PathBuf;

use seer_ci_api::exit_codes;

use crate::collect::InputError;
use crate::model::{ModelError, ModelFileError};
use crate::regress::CompareError;
use crate::select::Unusable;
use crate::store::{RecordError, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An input file was refused; nothing of it was stored.
    #[error(transparent)]
    Input(#[from] InputError),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Something asked for by name that the store does not have.
    #[error("no {what} in the store {}", store.display())]
    NotFound { what: String, store: PathBuf },
    /// A name that matches more than one thing.
    #[error("{given:?} names {count} {what}: give more of it")]
    Ambiguous { given: String, count: usize, what: &'static str },
    #[error(transparent)]
    ModelFile(#[from] ModelFileError),
    #[error("cannot build features")]
    Features(#[source] polars::error::PolarsError),
    #[error("cannot train a model on the {runs} runs in {}", store.display())]
    Train {
        runs: usize,
        store: PathBuf,
        #[source]
        source: ModelError,
    },
    /// `predict` cannot answer (a selection would run everything for this reason).
    #[error("cannot predict")]
    Predict(#[source] Unusable),
    #[error("cannot compare {head} with {base}")]
    Compare {
        head: String,
        base: String,
        #[source]
        source: CompareError,
    },
    #[error("cannot draw the flame graph")]
    Flamegraph(#[source] std::io::Error),
    /// perf could not profile the command (`seer profile run`).
    #[error(transparent)]
    Perf(#[from] crate::profile::PerfError),
    /// `seer store backup` could not make a whole, checked copy (the destination is as it was).
    #[error(transparent)]
    Backup(#[from] crate::store::BackupError),
    /// `seer store copy` into a store that already holds something.
    #[error("{to}: the destination already holds {what}: copy into a new, empty store")]
    CopyOver { to: String, what: String },
    /// A file the operation was asked to write.
    #[error("cannot write {}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl From<RecordError> for Error {
    fn from(e: RecordError) -> Error {
        match e {
            RecordError::Input(e) => Error::Input(e),
            RecordError::Store(e) => Error::Store(e),
        }
    }
}

impl Error {
    /// The one mapping of the library's errors to exit codes, which `seer serve` also sends
    /// (exhaustive: a new kind of error must be given its code here).
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Input(_) => exit_codes::INVALID_INPUT,
            Error::Store(e) => e.exit_code(),
            Error::NotFound { .. } => exit_codes::NOT_FOUND,
            Error::Ambiguous { .. } => exit_codes::USAGE,
            Error::Predict(why) => why.store_error().map_or(exit_codes::FAILURE, StoreError::exit_code),
            Error::ModelFile(_)
            | Error::Features(_)
            | Error::Train { .. }
            | Error::Compare { .. }
            | Error::Flamegraph(_)
            | Error::Perf(_)
            | Error::Write { .. } => exit_codes::FAILURE,
            Error::Backup(crate::store::BackupError::Store(e)) => e.exit_code(),
            Error::Backup(_) => exit_codes::FAILURE,
            Error::CopyOver { .. } => exit_codes::USAGE,
        }
    }
}
