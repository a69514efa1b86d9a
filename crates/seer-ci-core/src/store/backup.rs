//! `seer store backup`: a consistent copy of a store, safe while other processes (a running
//! `seer serve`, CI jobs) write to it: SQLite's online backup copies the pages and starts over
//! when another connection writes between two steps, so the copy is one moment of the store.
//! It is written beside the destination, checked (`PRAGMA integrity_check`), then renamed into
//! place: the destination is the old file or a whole new copy, never half of one.

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

use super::{Store, StoreError};

/// What a backup wrote.
#[derive(Debug, Clone, PartialEq)]
pub struct BackupSummary {
    pub to: PathBuf,
    pub bytes: u64,
    pub schema_version: i64,
    pub runs: u64,
}

/// Why a backup failed (nothing is left at the destination's side).
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("cannot write the backup {path}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the backup {path} failed its integrity check: {report}; the destination was left as it was")]
    Corrupt { path: PathBuf, report: String },
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<rusqlite::Error> for BackupError {
    fn from(e: rusqlite::Error) -> Self {
        BackupError::Store(StoreError::Sql(e))
    }
}

impl Store {
    /// Copies the store to `to` (replacing a file there only once the copy is whole and checked).
    pub fn backup_to(&self, to: &Path) -> Result<BackupSummary, BackupError> {
        let name = to.file_name().map_or_else(|| "backup".into(), |n| n.to_string_lossy().into_owned());
        let dir = to.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
        let partial = dir.join(format!(".{name}.partial-{}", std::process::id()));
        let result = self.backup_into(&partial, to);
        if result.is_err() {
            let _ = std::fs::remove_file(&partial);
        }
        for side in ["-wal", "-shm", "-journal"] {
            let mut file = partial.clone().into_os_string();
            file.push(side);
            let _ = std::fs::remove_file(file);
        }
        result
    }

    fn backup_into(&self, partial: &Path, to: &Path) -> Result<BackupSummary, BackupError> {
        let write_err = |path: &Path| {
            let path = path.to_path_buf();
            move |source| BackupError::Write { path, source }
        };
        {
            let mut copy = Connection::open(partial).map_err(|e| match e {
                rusqlite::Error::SqliteFailure(..) => BackupError::Write {
                    path: to.to_path_buf(),
                    source: std::io::Error::other(format!("cannot create {}", partial.display())),
                },
                e => e.into(),
            })?;
            let backup = rusqlite::backup::Backup::new(&self.conn, &mut copy)?;
            // 256 pages a step, no pause: other connections may write between steps (the copy
            // then starts over from the changed pages, as SQLite's online backup does).
            backup.run_to_completion(256, Duration::ZERO, None)?;
            drop(backup);
            // The copy is one file: the store's WAL mode comes along with its pages, and a copy
            // in WAL mode would grow -wal and -shm files beside it whenever it is opened.
            let _: String = copy.query_row("PRAGMA journal_mode = DELETE", [], |r| r.get(0))?;
        }
        let copy = Connection::open_with_flags(partial, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
        let report: String = copy.query_row("PRAGMA integrity_check", [], |r| r.get(0))?;
        if report != "ok" {
            return Err(BackupError::Corrupt { path: to.to_path_buf(), report });
        }
        let schema_version: i64 = copy.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        let runs: i64 = copy.query_row("SELECT COUNT(*) FROM runs", [], |r| r.get(0))?;
        drop(copy);
        std::fs::File::open(partial).and_then(|f| f.sync_all()).map_err(write_err(partial))?;
        std::fs::rename(partial, to).map_err(write_err(to))?;
        let bytes = std::fs::metadata(to).map_err(write_err(to))?.len();
        Ok(BackupSummary { to: to.to_path_buf(), bytes, schema_version, runs: runs.max(0) as u64 })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_backup_is_a_whole_store_and_a_failed_one_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("seer.db")).unwrap();
        let to = dir.path().join("copy.db");
        std::fs::write(&to, b"the previous backup").unwrap();
        let summary = store.backup_to(&to).unwrap();
        assert_eq!(summary.schema_version, store.schema_version().unwrap());
        assert_eq!(summary.runs, 0);
        let copy = Store::open_existing(&to).unwrap();
        assert_eq!(copy.integrity_check().unwrap(), "ok");
        drop(copy);
        // Into a directory that does not exist: an error, and no partial file anywhere.
        let missing = dir.path().join("no-such-dir").join("copy.db");
        assert!(store.backup_to(&missing).is_err());
        let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert!(left.iter().all(|n| !n.to_string_lossy().contains(".partial-")), "{left:?}");
    }
}
