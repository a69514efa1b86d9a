//! seer's embedded store: SQLite in WAL mode, versioned migrations, one transaction per write.
//!
//! Invariant: a run is stored whole or not at all, and recording the same run twice stores it once.

mod backup;
mod copy;
mod coverage;
mod error;
mod json;
mod pending;
mod profiles;
mod quarantine;
mod read;
mod schema;
mod selections;
mod test_state;
mod tokens;
pub(crate) mod window;
mod write;

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, TransactionBehavior};

pub use backup::{BackupError, BackupSummary};
pub use copy::{KeptSelection, TokenRecord};
pub(crate) use copy::{coverage_as_recorded, scopes_of};
pub use coverage::{CoverageAt, CoverageCommit, CoverageRecorded};
pub use error::StoreError;
pub use json::selection_stats_json;
pub use pending::Folded;
pub use profiles::{FrameSamples, NewProfile, ProfileRun};
pub use read::{
    Counts, HistoryEntry, Replay, ReplayFile, ReplayResult, ReplayRun, RunSummary, StoreStats, StoredRun, TestRow,
};
pub use selections::{Judged, Miss, NewSelection, SelectionRow, SelectionStats};
pub use test_state::{CoFailRows, RunKey, StateCodec, StateMeta, StateRun, StateTx};
pub use tokens::{Scope, Token, new_secret, token_hash};
pub use window::{Day, Judgements, SlowTest, TestCount};
pub use write::{RecordError, RecordStatus, content_hash};

/// u32s as one blob, little-endian: how the store keeps lists of ids and line numbers.
/// Line numbers (or ids) packed as the stores keep them: u32 little-endian each.
pub(crate) fn pack_lines(values: &[u32]) -> Vec<u8> {
    pack(values)
}

/// What [`pack_lines`] packed.
pub(crate) fn unpack_lines(blob: &[u8]) -> Vec<u32> {
    unpack(blob)
}

/// Column spans (line, first column, the column after the last) packed as the stores keep them:
/// three u32 each, as [`pack_lines`] does.
pub(crate) fn pack_spans(spans: &[crate::collect::lcov::Span]) -> Vec<u8> {
    spans.iter().flat_map(|&(l, a, b)| [l, a, b]).flat_map(u32::to_le_bytes).collect()
}

/// What [`pack_spans`] packed.
pub(crate) fn unpack_spans(blob: &[u8]) -> Vec<crate::collect::lcov::Span> {
    unpack(blob).chunks_exact(3).map(|c| (c[0], c[1], c[2])).collect()
}

pub(crate) use coverage::union as union_lines;
pub(crate) use profiles::{content_hash as profile_content_hash, count_frames};
pub(crate) use selections::pack_ids as selection_ids_packed;

fn pack(values: &[u32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

/// The u32s of a blob written by [`pack`].
fn unpack(blob: &[u8]) -> Vec<u32> {
    blob.chunks_exact(4).map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect()
}

/// How long a writer waits for another to finish before giving up. Generous: CI machines are
/// busy, and a waiting `seer record` costs nothing while a failed one loses a run.
const BUSY_TIMEOUT: Duration = Duration::from_secs(120);

/// Where the store lives when neither `--db` nor `SEER_DB` says: `.seer/seer.db` at the root of
/// the repository that holds `cwd` (or in `cwd` outside a repository).
pub fn default_path(cwd: &Path) -> PathBuf {
    let root = crate::collect::git::repository_root(cwd).unwrap_or_else(|| cwd.to_path_buf());
    root.join(".seer").join("seer.db")
}

/// An open store.
pub struct Store {
    conn: Connection,
    path: PathBuf,
    /// Whether a wait for the write lock ran out (another process holds it): a second write of
    /// the same call need not wait again.
    lock_busy: std::cell::Cell<bool>,
}

impl Store {
    /// Opens the store at `path`, creating it (and its directory) if needed, and migrates it.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| StoreError::CreateDir { path: dir.to_path_buf(), source })?;
        }
        let store = Store::connect(path, OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE)?;
        store.migrate()?;
        Ok(store)
    }

    /// Opens an existing store; a missing store is an error, not an empty one. A store that
    /// cannot be written (a read-only mount, a file or directory without write permission) is
    /// opened read-only: everything that reads works, and writes fail as [`StoreError::ReadOnly`].
    pub fn open_existing(path: &Path) -> Result<Store, StoreError> {
        if !path.exists() {
            return Err(StoreError::Missing { path: path.to_path_buf() });
        }
        let store = match Store::connect(path, OpenFlags::SQLITE_OPEN_READ_WRITE) {
            Ok(store) if !store.is_read_only() => store,
            Ok(_) => return Store::connect_read_only(path),
            // A read-only mount: WAL cannot make its shared-memory file.
            Err(e @ StoreError::Open { .. }) if path.is_file() => return Store::connect_read_only(path).map_err(|_| e),
            Err(e) => return Err(e),
        };
        store.migrate()?;
        Ok(store)
    }

    /// Opens a store that cannot be written. WAL needs its shared-memory file, which cannot be
    /// made on a read-only mount; SQLite's `immutable` flag reads without it (and without locks:
    /// nothing writes to a store that no one can write).
    fn connect_read_only(path: &Path) -> Result<Store, StoreError> {
        let open_err = |source| StoreError::Open { path: path.to_path_buf(), source };
        let mut uri = String::from("file:");
        for &b in path.as_os_str().as_encoded_bytes() {
            match b {
                b'?' | b'#' | b'%' | 0x80.. => uri.push_str(&format!("%{b:02X}")),
                _ => uri.push(b as char),
            }
        }
        uri.push_str("?immutable=1");
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_URI | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(&uri, flags).map_err(open_err)?;
        let store = Store { conn, path: path.to_path_buf(), lock_busy: Default::default() };
        let version = store.schema_version().map_err(|e| match e {
            StoreError::Sql(source) => open_err(source),
            e => e,
        })?;
        if version > schema::latest() {
            return Err(StoreError::TooNew { path: path.to_path_buf(), found: version, supported: schema::latest() });
        }
        if version < schema::latest() {
            return Err(StoreError::ReadOnlyOld { path: path.to_path_buf() });
        }
        Ok(store)
    }

    /// Whether a wait for the write lock ran out earlier in this call.
    pub fn lock_was_busy(&self) -> bool {
        self.lock_busy.get()
    }

    /// Notes a failed wait for the write lock, and passes the error on.
    fn note_busy(&self, e: rusqlite::Error) -> rusqlite::Error {
        if e.sqlite_error_code() == Some(rusqlite::ErrorCode::DatabaseBusy) {
            self.lock_busy.set(true);
        }
        e
    }

    /// Whether this store was opened read-only (see [`Store::open_existing`]).
    pub fn is_read_only(&self) -> bool {
        self.conn.is_readonly(rusqlite::MAIN_DB).unwrap_or(true)
    }

    fn connect(path: &Path, flags: OpenFlags) -> Result<Store, StoreError> {
        let open_err = |source| StoreError::Open { path: path.to_path_buf(), source };
        let conn = Connection::open_with_flags(path, flags | OpenFlags::SQLITE_OPEN_NO_MUTEX).map_err(open_err)?;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(open_err)?;
        // WAL lets readers work while one writer writes; NORMAL sync in WAL is safe against a
        // killed process (a committed run survives kill -9; only power loss may lose the last one).
        let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0)).map_err(open_err)?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(open_err(rusqlite::Error::InvalidParameterName(format!(
                "journal_mode is {mode}, WAL is required"
            ))));
        }
        conn.execute_batch(
            // Foreign keys are declared for readers and kept by the writer (one transaction per
            // write); checking them row by row would double the cost of recording. Statement
            // journals stay in memory.
            "PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = OFF; PRAGMA cache_size = -16384;
             PRAGMA temp_store = MEMORY;",
        )
        .map_err(open_err)?;
        Ok(Store { conn, path: path.to_path_buf(), lock_busy: Default::default() })
    }

    /// Runs the migrations this store has not seen, in one immediate transaction, so that
    /// processes opening a new store at once migrate it once.
    fn migrate(&self) -> Result<(), StoreError> {
        let version: i64 = self.conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        if version == schema::latest() {
            return Ok(());
        }
        if version > schema::latest() {
            return Err(StoreError::TooNew { path: self.path.clone(), found: version, supported: schema::latest() });
        }
        let tx = rusqlite::Transaction::new_unchecked(&self.conn, TransactionBehavior::Immediate)?;
        let version: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        for (i, migration) in schema::MIGRATIONS.iter().enumerate().skip(version.max(0) as usize) {
            tx.execute_batch(migration)?;
            tx.execute_batch(&format!("PRAGMA user_version = {}", i + 1))?;
        }
        tx.commit()?;
        Ok(())
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn schema_version(&self) -> Result<i64, StoreError> {
        Ok(self.conn.query_row("PRAGMA user_version", [], |r| r.get(0))?)
    }

    /// `PRAGMA integrity_check`: "ok" for a sound store.
    pub fn integrity_check(&self) -> Result<String, StoreError> {
        Ok(self.conn.query_row("PRAGMA integrity_check", [], |r| r.get(0))?)
    }
}
