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
    #[error("store query failed")]
    Sql(#[from] rusqlite::Error),
}
