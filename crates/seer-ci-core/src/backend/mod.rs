//! The storage interface: what `seer serve` (and, through `ops`, the command line) needs of a
//! history, with its guarantees written down, so that a second backend (Postgres, next) can sit
//! behind it. `conformance` is the suite every implementation must pass; SQLite's `Store` is the
//! first implementation (`sqlite.rs`).
//!
//! The guarantees, each checked by `conformance`:
//! - **Whole or nothing.** `record_runs` stores every run it is given or none of them: a failure
//!   anywhere (a conflict in the last run included) leaves the history as it was.
//! - **Idempotent by run id.** Recording a run id again with the same content changes nothing
//!   (`Unchanged`); other content under a stored id is refused (`RunConflict`) and leaves the
//!   stored run as it was, unless `replace` is asked for (`Replaced`).
//! - **The selection state is a prefix.** After `refresh_state`, the state holds exactly the
//!   counters a refresh over the first `prefix` runs of the history order (time, then id) gives;
//!   a run stored behind the state never leaves it describing a history that no longer exists.
//! - **Tokens are kept by hash.** The secret is never stored; a revoked token is never found.
//!
//! Nothing here names SQL or a file: errors are `StoreError`, runs are the collector's types.

mod sqlite;

#[cfg(any(test, feature = "conformance"))]
pub mod conformance;

use crate::collect::{CollectedRun, TestResult};
use crate::store::{RecordStatus, Scope, StoreError, Token};

/// A test's selection counters as the state holds them (packed by their owner, `features`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct TestCounters {
    pub test: String,
    pub packed: Vec<u8>,
}

/// What the selection state holds: how many runs of the history order, and every test's
/// counters, by test name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateSnapshot {
    pub runs: u64,
    pub tests: Vec<TestCounters>,
}

/// A history of CI runs, the selection state derived from it, and the server's tokens.
pub trait History: Send {
    /// Stores `runs` in one transaction (see the module's guarantees).
    fn record_runs(&mut self, runs: &[CollectedRun], replace: bool) -> Result<Vec<RecordStatus>, StoreError>;

    /// Every stored run id in history order (time, then the order runs were stored in).
    fn run_ids(&self) -> Result<Vec<String>, StoreError>;

    /// One stored run's results, in the order they were recorded; `None` for an unknown id.
    fn run_results(&self, run_id: &str) -> Result<Option<Vec<TestResult>>, StoreError>;

    /// Takes every stored run into the selection state.
    fn refresh_state(&mut self) -> Result<(), StoreError>;

    /// The selection state, `None` when there is none.
    fn selection_state(&self) -> Result<Option<StateSnapshot>, StoreError>;

    fn create_token(&mut self, name: &str, scopes: &[Scope], hash: &str, now: i64) -> Result<i64, StoreError>;
    fn token_by_hash(&self, hash: &str) -> Result<Option<Token>, StoreError>;
    fn tokens(&self) -> Result<Vec<Token>, StoreError>;
    fn revoke_token(&mut self, which: &str, now: i64) -> Result<bool, StoreError>;
}
