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

#[cfg(feature = "postgres")]
pub mod postgres;

#[cfg(any(test, feature = "conformance"))]
pub mod conformance;

use hashbrown::HashSet;
use std::path::Path;
use std::time::Duration;

use hashbrown::HashMap;

use crate::collect::lcov::TestCoverage;
use crate::collect::{CollectedRun, TestResult};
use crate::features::TestState;
use crate::select::Refreshed;
use crate::store::{
    CoFailRows, CoverageAt, CoverageCommit, CoverageRecorded, Day, FrameSamples, HistoryEntry, Judgements,
    KeptSelection, Miss, NewProfile, NewSelection, ProfileRun, RecordStatus, Replay, RunKey, RunSummary, Scope,
    SelectionStats, SlowTest, StateMeta, Store, StoreError, StoreStats, StoredRun, TestCount, TestRow, Token,
    TokenRecord,
};

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

/// Whether `location` names a database server's store (`postgres://…`) rather than a file.
pub fn is_url(location: &Path) -> bool {
    location.to_str().is_some_and(|s| s.starts_with("postgres://") || s.starts_with("postgresql://"))
}

/// Opens the store at `location` (a file, or a `postgres://` URL), creating it when there is none.
pub fn open(location: &Path) -> Result<Box<dyn History>, StoreError> {
    if let Some(url) = url_of(location) {
        return open_url(url, true);
    }
    Ok(Box::new(Store::open(location)?))
}

/// Opens the store at `location`; an error when there is none (nothing is created).
pub fn open_existing(location: &Path) -> Result<Box<dyn History>, StoreError> {
    if let Some(url) = url_of(location) {
        return open_url(url, false);
    }
    Ok(Box::new(Store::open_existing(location)?))
}

fn url_of(location: &Path) -> Option<&str> {
    location.to_str().filter(|_| is_url(location))
}

#[cfg(feature = "postgres")]
fn open_url(url: &str, create: bool) -> Result<Box<dyn History>, StoreError> {
    Ok(Box::new(if create { postgres::PgStore::open(url)? } else { postgres::PgStore::open_existing(url)? }))
}

#[cfg(not(feature = "postgres"))]
fn open_url(url: &str, _create: bool) -> Result<Box<dyn History>, StoreError> {
    Err(StoreError::BadLocation { location: url.to_string(), reason: "this seer was built without Postgres".into() })
}

/// A history of CI runs, the selection state derived from it, what a selection reads of both,
/// and the server's tokens.
pub trait History: Send {
    /// Stores `runs` in one transaction (see the module's guarantees).
    fn record_runs(&mut self, runs: &[CollectedRun], replace: bool) -> Result<Vec<RecordStatus>, StoreError>;

    /// Stores one run at the end of the history: its time is raised, inside the writing
    /// transaction, to the newest stored run's if that is later (for runs the server stamps:
    /// concurrent uploads reach the writer in another order than they were stamped). The time
    /// is not part of the content, so a retry is still `Unchanged`.
    fn record_at_end(&mut self, run: &CollectedRun, replace: bool) -> Result<RecordStatus, StoreError>;

    /// Whether any selection was kept.
    fn has_selections(&self) -> Result<bool, StoreError>;

    /// Every stored run id in history order (time, then the order runs were stored in).
    fn run_ids(&self) -> Result<Vec<String>, StoreError>;

    /// One stored run with everything stored for it; `None` for an unknown id.
    fn run(&self, run_id: &str) -> Result<Option<StoredRun>, StoreError>;

    /// One stored run's results, in the order they were recorded; `None` for an unknown id.
    fn run_results(&self, run_id: &str) -> Result<Option<Vec<TestResult>>, StoreError>;

    /// The newest `limit` runs, newest first, with their counts.
    fn runs(&self, limit: usize) -> Result<Vec<RunSummary>, StoreError>;

    /// A test's newest `limit` results, newest first; `None` for an unknown test.
    fn history(&self, test: &str, limit: usize) -> Result<Option<Vec<HistoryEntry>>, StoreError>;

    /// What the kept selections caught and missed, of the runs in `[from, to)` (all when `None`).
    fn selection_stats(&self, from: Option<i64>, to: Option<i64>) -> Result<SelectionStats, StoreError>;

    /// Every run with its results, in history order: what training, evaluation and flaky
    /// detection read.
    fn replay(&self) -> Result<Replay, StoreError>;

    /// Every test known, by id.
    fn test_rows(&self) -> Result<Vec<TestRow>, StoreError>;

    /// A test's id by name.
    fn test_id(&self, name: &str) -> Result<Option<i64>, StoreError>;

    /// Quarantines `test` from `since`; `false` when it already was.
    fn quarantine(&mut self, test: i64, since: i64, reason: Option<&str>) -> Result<bool, StoreError>;

    /// Releases `test` from quarantine; `false` when it was not quarantined.
    fn release(&mut self, test: i64) -> Result<bool, StoreError>;

    /// Takes every stored run into the selection state.
    fn refresh_state(&mut self) -> Result<(), StoreError>;

    /// The selection state, `None` when there is none.
    fn selection_state(&self) -> Result<Option<StateSnapshot>, StoreError>;

    fn create_token(&mut self, name: &str, scopes: &[Scope], hash: &str, now: i64) -> Result<i64, StoreError>;
    fn token_by_hash(&self, hash: &str) -> Result<Option<Token>, StoreError>;
    fn tokens(&self) -> Result<Vec<Token>, StoreError>;
    fn revoke_token(&mut self, which: &str, now: i64) -> Result<bool, StoreError>;

    // What a selection reads and keeps (`select::pipeline`).

    /// Takes new runs into the selection state unless that means waiting longer than `wait` for
    /// another writer, or taking in more than `max_results` results (then `deferred`).
    fn refresh_state_at_most(&mut self, wait: Duration, max_results: u64) -> Result<Refreshed, StoreError>;

    /// Where the selection state stands, `None` when there is none.
    fn state_meta(&self) -> Result<Option<StateMeta>, StoreError>;

    /// The tests that failed (or errored) in runs after `key` in history order.
    fn failed_after(&self, key: RunKey) -> Result<Vec<i64>, StoreError>;

    /// The newest `n` runs that hold results, newest first.
    fn latest_runs_with_results(&self, n: usize) -> Result<Vec<RunKey>, StoreError>;

    /// The tests whose latest execution was in one of `runs`, with their counters.
    fn tests_last_run_in(&self, runs: &[i64]) -> Result<Vec<(TestRow, TestState)>, StoreError>;

    /// Quarantined tests: (test, since, reason), by test.
    fn quarantined(&self) -> Result<Vec<(i64, i64, Option<String>)>, StoreError>;

    /// Whether a run with this id is stored.
    fn has_run(&self, run_id: &str) -> Result<bool, StoreError>;

    /// How many runs are stored.
    fn run_count(&self) -> Result<u64, StoreError>;

    /// Caught and missed failing tests of the subset selections in the newest `window` runs,
    /// leaving out those made by `exclude_model`.
    fn recent_judgements(&self, window: usize, exclude_model: &str) -> Result<(u64, u64), StoreError>;

    /// The tests that failed in the newest run (with results) of `commit`.
    fn failed_in_latest_run_of(&self, commit: &str) -> Result<Vec<i64>, StoreError>;

    /// The co-failure counts of `keys` (changed paths and `path::function`s).
    fn cofail_rows(&self, keys: &[String]) -> Result<CoFailRows, StoreError>;

    /// Each commit with recorded coverage, with what was recorded.
    fn coverage_commits(&self) -> Result<Vec<CoverageCommit>, StoreError>;

    /// The commits with recorded coverage.
    fn coverage_commit_set(&self) -> Result<HashSet<String>, StoreError>;

    /// The coverage recorded at `commit` of `paths`.
    fn coverage_at(&self, commit: &str, paths: &[&str]) -> Result<CoverageAt, StoreError>;

    /// Keeps a selection for bookkeeping, waiting at most `wait` for another writer; a backend
    /// that cannot write it now may queue it to be folded in by the next refresh. The error is
    /// a sentence for the selection's notes.
    fn keep_selection(&mut self, selection: &NewSelection, wait: Duration) -> Result<(), String>;

    // What `seer stats` and the weekly report read.

    /// Where the store is, for messages and reports (a path or a URL without its password).
    fn location(&self) -> String;

    fn schema_version(&self) -> Result<i64, StoreError>;

    /// Counts over the whole store.
    fn stats(&self) -> Result<StoreStats, StoreError>;

    /// The newest `limit` misses (failing tests a kept selection skipped) of runs in `[from, to)`.
    fn misses(&self, from: Option<i64>, to: Option<i64>, limit: usize) -> Result<Vec<Miss>, StoreError>;

    /// Runs, and runs with a failing test, in `[from, to)`.
    fn runs_between(&self, from: i64, to: i64) -> Result<(u64, u64), StoreError>;

    /// What the selections of runs in `[from, to)` caught and missed.
    fn judgements(&self, from: i64, to: i64) -> Result<Judgements, StoreError>;

    /// Each day of `[from, to)`: runs, failures, time.
    fn days(&self, from: i64, to: i64) -> Result<Vec<Day>, StoreError>;

    fn most_failing(&self, from: i64, to: i64, limit: usize) -> Result<Vec<TestCount>, StoreError>;
    fn most_retried(&self, from: i64, to: i64, limit: usize) -> Result<Vec<TestCount>, StoreError>;
    fn slowest(&self, from: i64, to: i64, limit: usize) -> Result<Vec<SlowTest>, StoreError>;

    // Coverage and profiles.

    /// Stores the per-test coverage of `commit` in one transaction.
    fn record_coverage(&mut self, commit: &str, tests: &[TestCoverage]) -> Result<CoverageRecorded, StoreError>;

    /// Stores profiles in one transaction, idempotent by (bench, commit, run) as runs are by id.
    fn record_profiles(&mut self, profiles: &[NewProfile], replace: bool) -> Result<Vec<RecordStatus>, StoreError>;

    /// Each bench with its profiles and commits.
    fn benches(&self) -> Result<Vec<(String, u64, u64)>, StoreError>;

    /// A bench's profiles, in the order they were stored.
    fn profile_runs(&self, bench: &str) -> Result<Vec<ProfileRun>, StoreError>;

    /// The self and total samples of every frame of `profiles`.
    fn frame_samples(&self, profiles: &[i64]) -> Result<Vec<FrameSamples>, StoreError>;

    /// The names of frames by id.
    fn frame_names(&self, ids: &[i64]) -> Result<HashMap<i64, String>, StoreError>;

    /// The stacks of `profiles` merged (frame ids, root first) with their samples.
    fn merged_stack_ids(&self, profiles: &[i64]) -> Result<Vec<(Vec<i64>, u64)>, StoreError>;

    /// The stacks of `profiles` merged, by frame name.
    fn merged_stacks(&self, profiles: &[i64]) -> Result<Vec<(Vec<String>, u64)>, StoreError>;

    // What `seer store copy` reads and writes beyond the methods above.

    /// Each test's coverage of `commit`, such that recording it again stores the same rows.
    fn coverage_tests(&self, commit: &str) -> Result<Vec<TestCoverage>, StoreError>;

    /// The kept selections, in the order they were made, each with the run it came after.
    fn kept_selections(&self) -> Result<Vec<KeptSelection>, StoreError>;

    /// Keeps a selection made after the stored run `after_run` (by run id).
    fn put_selection(&mut self, selection: &NewSelection, after_run: Option<&str>) -> Result<(), StoreError>;

    /// The tokens with their hashes, in the order they were made.
    fn token_records(&self) -> Result<Vec<TokenRecord>, StoreError>;

    /// Keeps a token as it was stored elsewhere.
    fn put_token(&mut self, token: &TokenRecord) -> Result<(), StoreError>;

    /// Whether the store's connection is gone (a database server restarted): it cannot serve
    /// again, and whoever keeps it open should open the store anew.
    fn connection_lost(&self) -> bool {
        false
    }

    // Models. An SQLite store's models are files beside it (`model::models_dir`); a database
    // server's store holds them, so that every replica serves the same live model.

    /// Whether the store holds its models (else they are files beside it).
    fn holds_models(&self) -> bool {
        false
    }

    /// The names of the models the store holds, oldest first.
    fn model_names(&self) -> Result<Vec<String>, StoreError> {
        Ok(vec![])
    }

    /// A model document the store holds, by name.
    fn model(&self, _name: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(None)
    }

    /// Keeps a model document (a name already held keeps its first document).
    fn put_model(&mut self, _name: &str, _body: &[u8], _created_at: i64) -> Result<(), StoreError> {
        Ok(())
    }
}

/// Brings the newest model a store holds into the models directory `dir`, where selection and
/// prediction read models (written whole: a temporary file renamed). Nothing for a store whose
/// models are files already.
pub fn sync_models(store: &dyn History, dir: &Path) -> Result<(), StoreError> {
    if !store.holds_models() {
        return Ok(());
    }
    let Some(newest) = store.model_names()?.pop() else { return Ok(()) };
    let path = dir.join(&newest);
    if path.exists() || newest.contains('/') || newest.starts_with('.') {
        return Ok(());
    }
    let Some(body) = store.model(&newest)? else { return Ok(()) };
    let io = |source| StoreError::CreateDir { path: dir.to_path_buf(), source };
    std::fs::create_dir_all(dir).map_err(io)?;
    let temp = dir.join(format!(".{newest}.{}", std::process::id()));
    std::fs::write(&temp, &body).map_err(io)?;
    std::fs::rename(&temp, &path).map_err(io)?;
    Ok(())
}
