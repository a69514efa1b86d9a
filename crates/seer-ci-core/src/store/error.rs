//! Errors from the store.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("no seer store at {path} (record or import a run first, or point --db/SEER_DB at one)")]
    Missing { path: PathBuf },
    #[error("cannot open the store at {path}")]
    Open {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    #[error(
        "the store at {path} has schema version {found}, newer than this seer understands ({supported}): upgrade seer"
    )]
    TooNew { path: PathBuf, found: i64, supported: i64 },
    #[error("cannot create the store's directory {path}")]
    CreateDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "run {run_id:?} is already stored with different content (commit {stored_commit}); \
         nothing was changed: use a new run id, or --replace to overwrite it"
    )]
    RunConflict { run_id: String, stored_commit: String },
    #[error(
        "the store at {path} cannot be written and has an older schema than this seer reads: \
         open it once where it can be written"
    )]
    ReadOnlyOld { path: PathBuf },
    #[error("store query failed")]
    Sql(#[from] rusqlite::Error),
    /// Another writer held the store longer than the caller would wait.
    #[error("another writer holds the store at {location}")]
    Busy { location: String },
    #[error("the store location {location} is not usable: {reason}")]
    BadLocation { location: String, reason: String },
    #[error("no seer store at {location} (record or import a run first, or point --db/SEER_DB at one)")]
    MissingAt { location: String },
    #[error(
        "the store at {location} has schema version {found}, newer than this seer understands ({supported}): upgrade seer"
    )]
    TooNewAt { location: String, found: i64, supported: i64 },
    /// The Postgres server could not be reached or refused the connection.
    #[cfg(feature = "postgres")]
    #[error("cannot connect to the store at {location}")]
    Connect {
        location: String,
        #[source]
        source: postgres::Error,
    },
    #[cfg(feature = "postgres")]
    #[error("store query failed")]
    Postgres(#[from] postgres::Error),
}

impl StoreError {
    /// Whether SQLite ran out of room (the disk, or the store's page limit): nothing of the
    /// write was kept, and the store is as it was before it.
    pub fn is_disk_full(&self) -> bool {
        self.sqlite_code() == Some(rusqlite::ErrorCode::DiskFull)
    }

    /// Whether the store was opened read-only (see `Store::open_existing`) and this was a write.
    pub fn is_read_only(&self) -> bool {
        self.sqlite_code() == Some(rusqlite::ErrorCode::ReadOnly)
    }

    /// The exit code of this error (one of `seer_ci_api::exit_codes`).
    pub fn exit_code(&self) -> i32 {
        use seer_ci_api::exit_codes;
        if self.is_disk_full() {
            return exit_codes::DISK_FULL;
        }
        match self {
            StoreError::RunConflict { .. } => exit_codes::RUN_CONFLICT,
            StoreError::Missing { .. } | StoreError::MissingAt { .. } => exit_codes::NOT_FOUND,
            StoreError::BadLocation { .. } | StoreError::TooNewAt { .. } => exit_codes::STORE_UNUSABLE,
            StoreError::Busy { .. } => exit_codes::FAILURE,
            #[cfg(feature = "postgres")]
            StoreError::Connect { .. } => exit_codes::STORE_UNUSABLE,
            #[cfg(feature = "postgres")]
            StoreError::Postgres(e) if e.is_closed() => exit_codes::STORE_UNUSABLE,
            #[cfg(feature = "postgres")]
            StoreError::Postgres(_) => exit_codes::FAILURE,
            StoreError::TooNew { .. }
            | StoreError::Open { .. }
            | StoreError::CreateDir { .. }
            | StoreError::ReadOnlyOld { .. } => exit_codes::STORE_UNUSABLE,
            StoreError::Sql(_) => exit_codes::FAILURE,
        }
    }

    fn sqlite_code(&self) -> Option<rusqlite::ErrorCode> {
        match self {
            StoreError::Open { source, .. } | StoreError::Sql(source) => source.sqlite_error_code(),
            _ => None,
        }
    }
}
