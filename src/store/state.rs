//! The tables behind `seer select`'s speed and bookkeeping: the selection state (counters per
//! test and co-failure counts, derived from the runs), the selections made, the runs and misses
//! measured against them, and quarantined tests.
//!
//! The state is derived data: it describes a prefix of the runs in (time, id) order, and the
//! writer drops it (its `state_meta` row) whenever a write would change that prefix, so that the
//! next refresh rebuilds it from the runs. Selections and quarantine are primary data.

use std::time::Duration;

use hashbrown::HashMap;
use rusqlite::{OptionalExtension, Transaction, TransactionBehavior, params};

use super::read::{outcome, symbol_list};
use super::{BUSY_TIMEOUT, ReplayFile, Store, StoreError, pack, unpack};
use crate::collect::Outcome;

/// A run's place in history order: by time, then by the order runs were stored.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RunKey {
    pub time: i64,
    /// `runs.id`.
    pub id: i64,
}

/// Counters of one test's past executions, as the selection state keeps them. What they mean
/// and how an execution updates them is `features::online`'s business; here they are stored.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct TestState {
    /// Executions (skips are not executions).
    pub execs: u32,
    pub failures: u32,
    /// Outcomes of the latest executions, the newest in bit 0 (1 = failed).
    pub recent: u128,
    /// Flips pass↔fail between consecutive executions.
    pub flips: u32,
    /// Index (0-based) of the execution that last failed.
    pub last_failure: Option<u32>,
    /// Sum of durations, an unknown duration counted as 0.
    pub duration_sum: f64,
    /// Sum and count of the known durations.
    pub known_duration_sum: f64,
    pub known_durations: u32,
    /// Executions and failures in runs with a known git change.
    pub change_runs: u32,
    pub change_failures: u32,
    /// The run of the latest execution.
    pub last_run: RunKey,
}

/// Which runs the state has taken in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StateMeta {
    pub runs: u64,
    /// The last run taken in.
    pub last: RunKey,
}

/// One run, as the state takes it in.
#[derive(Debug, Clone)]
pub struct StateRun {
    pub key: RunKey,
    pub commit: String,
    /// `(tests.id, outcome, duration)` of each result, in report order.
    pub results: Vec<(i64, Outcome, Option<f64>)>,
    /// The files its commit changed; `None` when stored without git changes.
    pub changed: Option<Vec<ReplayFile>>,
}

/// Co-failure counts of some keys: what scoring one change needs.
#[derive(Debug, Clone, Default)]
pub struct CoFailRows {
    /// `(key, runs that changed it)` of each key that was ever seen.
    pub keys: Vec<(String, u32)>,
    /// `(index into keys, tests.id, failures)`.
    pub failed: Vec<(usize, i64, u32)>,
}

/// A selection as `seer select` made it, to be kept.
#[derive(Debug, Clone)]
pub struct NewSelection {
    pub commit: String,
    pub base: Option<String>,
    pub created_at: i64,
    /// Subset (true) or every test.
    pub subset: bool,
    pub observe: bool,
    pub reason: Option<String>,
    pub model: Option<String>,
    pub threshold: Option<f64>,
    /// `(index, count)`, 1-based index.
    pub shard: Option<(usize, usize)>,
    pub estimated_s: f64,
    pub total_s: f64,
    /// `tests.id` of the selected and skipped tests (of the whole selection, before sharding).
    pub selected: Vec<i64>,
    pub skipped: Vec<i64>,
}

/// A run's failing tests against the selection made for its commit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Judged {
    pub failing: usize,
    /// Selected by it.
    pub caught: usize,
    /// Skipped by it.
    pub missed: usize,
    /// Neither: not among its candidates (new, or not run lately).
    pub unknown: usize,
}

/// A kept selection, as the bookkeeping reads it.
#[derive(Debug, Clone)]
pub struct SelectionRow {
    pub id: i64,
    pub commit: String,
    /// The newest run stored when it was made (`None`: the store had no runs).
    pub after: Option<RunKey>,
    pub subset: bool,
    pub observe: bool,
}

/// Sorted `tests.id`s as stored (read back, ascending, with [`unpack`]).
fn pack_ids(ids: &[i64]) -> Vec<u8> {
    let mut sorted: Vec<u32> = ids.iter().map(|&id| id as u32).collect();
    sorted.sort_unstable();
    sorted.dedup();
    pack(&sorted)
}

/// Version byte of a packed [`TestState`].
const STATE_VERSION: u8 = 1;
/// Bytes of a packed [`TestState`].
const STATE_BYTES: usize = 81;

/// A test's counters as the `test_state.state` column holds them: a version byte, then the fields
/// little-endian in declaration order (`last_failure` as -1 for none).
fn encode_state(s: &TestState) -> [u8; STATE_BYTES] {
    let mut out = [0u8; STATE_BYTES];
    let mut at = 0;
    let mut put = |bytes: &[u8]| {
        out[at..at + bytes.len()].copy_from_slice(bytes);
        at += bytes.len();
    };
    put(&[STATE_VERSION]);
    put(&s.execs.to_le_bytes());
    put(&s.failures.to_le_bytes());
    put(&s.recent.to_le_bytes());
    put(&s.flips.to_le_bytes());
    put(&s.last_failure.map_or(-1, i64::from).to_le_bytes());
    put(&s.duration_sum.to_le_bytes());
    put(&s.known_duration_sum.to_le_bytes());
    put(&s.known_durations.to_le_bytes());
    put(&s.change_runs.to_le_bytes());
    put(&s.change_failures.to_le_bytes());
    put(&s.last_run.time.to_le_bytes());
    put(&s.last_run.id.to_le_bytes());
    out
}

/// The counters of a packed state; `None` for bytes this seer did not write.
fn decode_state(b: &[u8]) -> Option<TestState> {
    if b.len() != STATE_BYTES || b[0] != STATE_VERSION {
        return None;
    }
    let mut at = 1;
    let mut take = |n: usize| {
        let part = &b[at..at + n];
        at += n;
        part
    };
    let u32_ = |p: &[u8]| u32::from_le_bytes(p.try_into().expect("4 bytes"));
    let i64_ = |p: &[u8]| i64::from_le_bytes(p.try_into().expect("8 bytes"));
    let f64_ = |p: &[u8]| f64::from_le_bytes(p.try_into().expect("8 bytes"));
    let execs = u32_(take(4));
    let failures = u32_(take(4));
    let recent = u128::from_le_bytes(take(16).try_into().expect("16 bytes"));
    let flips = u32_(take(4));
    let last_failure = u32::try_from(i64_(take(8))).ok();
    Some(TestState {
        execs,
        failures,
        recent,
        flips,
        last_failure,
        duration_sum: f64_(take(8)),
        known_duration_sum: f64_(take(8)),
        known_durations: u32_(take(4)),
        change_runs: u32_(take(4)),
        change_failures: u32_(take(4)),
        last_run: RunKey { time: i64_(take(8)), id: i64_(take(8)) },
    })
}

/// A stored state that does not decode: the store was written by something else.
fn bad_state(test: i64) -> rusqlite::Error {
    rusqlite::Error::InvalidColumnType(0, format!("test_state.state of test {test}"), rusqlite::types::Type::Blob)
}

fn test_state_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<(i64, TestState)> {
    let test: i64 = r.get(0)?;
    let state = decode_state(r.get_ref(1)?.as_blob()?).ok_or_else(|| bad_state(test))?;
    Ok((test, state))
}

fn meta_of(conn: &rusqlite::Connection) -> rusqlite::Result<Option<StateMeta>> {
    conn.query_row("SELECT runs, last_time, last_run FROM state_meta WHERE id = 1", [], |r| {
        Ok(StateMeta { runs: r.get::<_, i64>(0)?.max(0) as u64, last: RunKey { time: r.get(1)?, id: r.get(2)? } })
    })
    .optional()
}

/// Runs at or before `key` in history order.
fn runs_through(conn: &rusqlite::Connection, key: RunKey) -> rusqlite::Result<u64> {
    conn.query_row(
        "SELECT COUNT(*) FROM runs WHERE time < ?1 OR (time = ?1 AND id <= ?2)",
        params![key.time, key.id],
        |r| Ok(r.get::<_, i64>(0)?.max(0) as u64),
    )
}

fn newest_run(conn: &rusqlite::Connection) -> rusqlite::Result<Option<RunKey>> {
    conn.query_row("SELECT time, id FROM runs ORDER BY time DESC, id DESC LIMIT 1", [], |r| {
        Ok(RunKey { time: r.get(0)?, id: r.get(1)? })
    })
    .optional()
}

/// A test as the `tests` table holds it.
#[derive(Debug, Clone)]
pub struct TestRow {
    pub id: i64,
    pub name: String,
    /// The suite is the first `suite_len` bytes of the name.
    pub suite_len: Option<usize>,
    pub file: Option<String>,
}

impl TestRow {
    pub fn suite(&self) -> Option<&str> {
        self.suite_len.and_then(|n| self.name.get(..n))
    }
}

/// What the kept selections came to (see [`Store::selection_stats`]).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SelectionStats {
    pub selections: u64,
    pub subsets: u64,
    pub fell_open: u64,
    pub observed: u64,
    pub tests_selected: u64,
    pub tests_skipped: u64,
    pub estimated_selected_s: f64,
    pub estimated_total_s: f64,
    pub runs_measured: u64,
    pub failing: u64,
    pub caught: u64,
    /// Failing tests the selection did not know (neither selected nor skipped).
    pub unknown: u64,
    pub misses: u64,
    pub misses_same_commit: u64,
    pub misses_observed: u64,
}

/// A failing result of a test a selection had skipped.
#[derive(Debug, Clone, PartialEq)]
pub struct Miss {
    pub test: String,
    pub run_id: String,
    pub commit: String,
    pub time: i64,
    pub selection_commit: String,
    pub same_commit: bool,
    pub observed: bool,
}

impl Store {
    /// Totals of the kept selections made in `[from, to)` (Unix seconds; unbounded for `None`),
    /// and of the runs and misses measured against them.
    pub fn selection_stats(&self, from: Option<i64>, to: Option<i64>) -> Result<SelectionStats, StoreError> {
        let (since, until) = (from.unwrap_or(i64::MIN), to.unwrap_or(i64::MAX));
        let mut s = self.conn.query_row(
            "SELECT COUNT(*), COALESCE(SUM(mode = 'subset'), 0), COALESCE(SUM(mode = 'all'), 0), COALESCE(SUM(observe), 0),
                    COALESCE(SUM(CASE WHEN mode = 'subset' THEN n_selected END), 0),
                    COALESCE(SUM(CASE WHEN mode = 'subset' THEN n_skipped END), 0),
                    COALESCE(SUM(CASE WHEN mode = 'subset' THEN estimated_s END), 0),
                    COALESCE(SUM(CASE WHEN mode = 'subset' THEN total_s END), 0)
             FROM selections WHERE created_at >= ?1 AND created_at < ?2",
            [since, until],
            |r| {
                Ok(SelectionStats {
                    selections: r.get::<_, i64>(0)? as u64,
                    subsets: r.get::<_, i64>(1)? as u64,
                    fell_open: r.get::<_, i64>(2)? as u64,
                    observed: r.get::<_, i64>(3)? as u64,
                    tests_selected: r.get::<_, i64>(4)? as u64,
                    tests_skipped: r.get::<_, i64>(5)? as u64,
                    estimated_selected_s: r.get(6)?,
                    estimated_total_s: r.get(7)?,
                    ..SelectionStats::default()
                })
            },
        )?;
        (s.runs_measured, s.failing, s.caught, s.unknown) = self.conn.query_row(
            "SELECT COUNT(*), COALESCE(SUM(x.failing), 0), COALESCE(SUM(x.caught), 0), COALESCE(SUM(x.unknown), 0)
             FROM selection_runs x JOIN selections s ON s.id = x.selection WHERE s.created_at >= ?1 AND s.created_at < ?2",
            [since, until],
            |r| {
                let n = |i| r.get::<_, i64>(i).map(|v| v.max(0) as u64);
                Ok((n(0)?, n(1)?, n(2)?, n(3)?))
            },
        )?;
        (s.misses, s.misses_same_commit, s.misses_observed) = self.conn.query_row(
            "SELECT COUNT(*), COALESCE(SUM(m.same_commit), 0), COALESCE(SUM(s.observe), 0)
             FROM misses m JOIN selections s ON s.id = m.selection WHERE s.created_at >= ?1 AND s.created_at < ?2",
            [since, until],
            |r| Ok((r.get::<_, i64>(0)? as u64, r.get::<_, i64>(1)? as u64, r.get::<_, i64>(2)? as u64)),
        )?;
        Ok(s)
    }

    /// The newest `limit` misses of selections made in `[from, to)`, newest first.
    pub fn misses(&self, from: Option<i64>, to: Option<i64>, limit: usize) -> Result<Vec<Miss>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT t.name, r.run_id, r.commit_sha, r.time, s.commit_sha, m.same_commit, s.observe
             FROM misses m JOIN runs r ON r.id = m.run JOIN tests t ON t.id = m.test
                 JOIN selections s ON s.id = m.selection
             WHERE s.created_at >= ?1 AND s.created_at < ?2 ORDER BY r.time DESC, r.id DESC, t.name LIMIT ?3",
        )?;
        let rows = stmt.query_map(params![from.unwrap_or(i64::MIN), to.unwrap_or(i64::MAX), limit as i64], |r| {
            Ok(Miss {
                test: r.get(0)?,
                run_id: r.get(1)?,
                commit: r.get(2)?,
                time: r.get(3)?,
                selection_commit: r.get(4)?,
                same_commit: r.get(5)?,
                observed: r.get(6)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Whether any selection was kept (so the state is in use).
    pub fn has_selections(&self) -> Result<bool, StoreError> {
        Ok(self.conn.query_row("SELECT EXISTS (SELECT 1 FROM selections)", [], |r| r.get(0))?)
    }

    /// Whether a run with this id is stored.
    pub fn has_run(&self, run_id: &str) -> Result<bool, StoreError> {
        Ok(self.conn.query_row("SELECT EXISTS (SELECT 1 FROM runs WHERE run_id = ?1)", [run_id], |r| r.get(0))?)
    }

    /// Every test the store knows, by id.
    pub fn test_rows(&self) -> Result<Vec<TestRow>, StoreError> {
        let mut stmt = self.conn.prepare_cached("SELECT id, name, suite_len, file FROM tests ORDER BY id")?;
        let rows = stmt.query_map([], |r| {
            Ok(TestRow {
                id: r.get(0)?,
                name: r.get(1)?,
                suite_len: r.get::<_, Option<i64>>(2)?.map(|n| n as usize),
                file: r.get(3)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Which runs the state has taken in, if there is a state.
    pub fn state_meta(&self) -> Result<Option<StateMeta>, StoreError> {
        Ok(meta_of(&self.conn)?)
    }

    /// Whether the state holds exactly the runs stored now (no run was added after it).
    pub fn state_is_current(&self) -> Result<bool, StoreError> {
        let Some(meta) = meta_of(&self.conn)? else { return Ok(false) };
        Ok(newest_run(&self.conn)? == Some(meta.last) && runs_through(&self.conn, meta.last)? == meta.runs)
    }

    /// The newest run stored, in history order.
    pub fn newest_run(&self) -> Result<Option<RunKey>, StoreError> {
        Ok(newest_run(&self.conn)?)
    }

    /// Every test's counters, by `tests.id`.
    pub fn test_states(&self) -> Result<HashMap<i64, TestState>, StoreError> {
        let mut stmt = self.conn.prepare_cached("SELECT test, state FROM test_state")?;
        let rows = stmt.query_map([], test_state_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The tests whose last execution was in one of `runs` (`runs.id`), with their counters, by id.
    pub fn tests_last_run_in(&self, runs: &[i64]) -> Result<Vec<(TestRow, TestState)>, StoreError> {
        if runs.is_empty() {
            return Ok(vec![]);
        }
        let list = runs.iter().map(i64::to_string).collect::<Vec<_>>().join(", ");
        let mut stmt = self.conn.prepare(&format!(
            "SELECT t.id, t.name, t.suite_len, t.file, s.state
             FROM test_state s JOIN tests t ON t.id = s.test WHERE s.last_run IN ({list}) ORDER BY t.id"
        ))?;
        let rows = stmt.query_map([], |r| {
            let row = TestRow {
                id: r.get(0)?,
                name: r.get(1)?,
                suite_len: r.get::<_, Option<i64>>(2)?.map(|n| n as usize),
                file: r.get(3)?,
            };
            let state = decode_state(r.get_ref(4)?.as_blob()?).ok_or_else(|| bad_state(row.id))?;
            Ok((row, state))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The co-failure counts of these keys (paths and `path::function`s).
    pub fn cofail_rows(&self, keys: &[String]) -> Result<CoFailRows, StoreError> {
        let mut out = CoFailRows::default();
        let mut key_stmt = self.conn.prepare_cached("SELECT id, changed FROM cofail_keys WHERE key = ?1")?;
        let mut failed_stmt = self.conn.prepare_cached("SELECT test, failed FROM cofail WHERE key = ?1")?;
        for key in keys {
            let Some((id, changed)) =
                key_stmt.query_row([key], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, u32>(1)?))).optional()?
            else {
                continue;
            };
            let at = out.keys.len();
            out.keys.push((key.clone(), changed));
            let rows = failed_stmt.query_map([id], |r| Ok((at, r.get::<_, i64>(0)?, r.get::<_, u32>(1)?)))?;
            for row in rows {
                out.failed.push(row?);
            }
        }
        Ok(out)
    }

    /// `tests.id` of the failing tests in the newest run of `commit` that has results.
    pub fn failed_in_latest_run_of(&self, commit: &str) -> Result<Vec<i64>, StoreError> {
        let run: Option<i64> = self
            .conn
            .query_row(
                "SELECT id FROM runs WHERE commit_sha = ?1 AND n_tests > 0 ORDER BY time DESC, id DESC LIMIT 1",
                [commit],
                |r| r.get(0),
            )
            .optional()?;
        let Some(run) = run else { return Ok(vec![]) };
        let mut stmt = self.conn.prepare_cached("SELECT test FROM results WHERE run = ?1 AND outcome IN (1, 2)")?;
        let rows = stmt.query_map([run], |r| r.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The newest `n` runs with results, in history order (newest first).
    pub fn latest_runs_with_results(&self, n: usize) -> Result<Vec<RunKey>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT time, id FROM runs WHERE n_tests > 0 ORDER BY time DESC, id DESC LIMIT ?1")?;
        let rows = stmt.query_map([n as i64], |r| Ok(RunKey { time: r.get(0)?, id: r.get(1)? }))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Quarantined tests: `tests.id`, since (Unix seconds), reason.
    pub fn quarantined(&self) -> Result<Vec<(i64, i64, Option<String>)>, StoreError> {
        let mut stmt = self.conn.prepare_cached("SELECT test, since, reason FROM quarantine ORDER BY test")?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The `tests.id` of a test by name.
    pub fn test_id(&self, name: &str) -> Result<Option<i64>, StoreError> {
        Ok(self.conn.query_row("SELECT id FROM tests WHERE name = ?1", [name], |r| r.get(0)).optional()?)
    }

    /// Quarantines a test (again: its reason and time are updated). Returns whether it was new.
    pub fn quarantine(&mut self, test: i64, since: i64, reason: Option<&str>) -> Result<bool, StoreError> {
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let existed: bool =
            tx.query_row("SELECT EXISTS (SELECT 1 FROM quarantine WHERE test = ?1)", [test], |r| r.get(0))?;
        tx.execute(
            "INSERT INTO quarantine (test, since, reason) VALUES (?1, ?2, ?3)
             ON CONFLICT (test) DO UPDATE SET reason = COALESCE(excluded.reason, reason)",
            params![test, since, reason],
        )?;
        tx.commit()?;
        Ok(!existed)
    }

    /// Releases a test from quarantine. Returns whether it was quarantined.
    pub fn release(&mut self, test: i64) -> Result<bool, StoreError> {
        Ok(self.conn.execute("DELETE FROM quarantine WHERE test = ?1", [test])? > 0)
    }

    /// Keeps a selection. Waits at most `busy` for other writers.
    pub fn save_selection(&mut self, s: &NewSelection, busy: Duration) -> Result<i64, StoreError> {
        self.conn.busy_timeout(busy)?;
        let result = (|| {
            let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let after = newest_run(&tx)?;
            tx.execute(
                "INSERT INTO selections (commit_sha, base, created_at, after_time, after_run, mode, observe, reason,
                     model, threshold, shard_index, shard_count, n_selected, n_skipped, estimated_s, total_s,
                     selected, skipped)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)",
                params![
                    s.commit,
                    s.base,
                    s.created_at,
                    after.map(|k| k.time),
                    after.map(|k| k.id),
                    if s.subset { "subset" } else { "all" },
                    s.observe,
                    s.reason,
                    s.model,
                    s.threshold,
                    s.shard.map(|(i, _)| i as i64),
                    s.shard.map(|(_, n)| n as i64),
                    s.selected.len() as i64,
                    s.skipped.len() as i64,
                    s.estimated_s,
                    s.total_s,
                    pack_ids(&s.selected),
                    pack_ids(&s.skipped),
                ],
            )?;
            let id = tx.last_insert_rowid();
            tx.commit()?;
            Ok::<_, rusqlite::Error>(id)
        })();
        self.conn.busy_timeout(BUSY_TIMEOUT)?;
        Ok(result?)
    }

    /// Opens a write transaction over the state, waiting at most `busy` for other writers.
    pub fn state_transaction(&mut self, busy: Duration) -> Result<StateTx<'_>, StoreError> {
        self.conn.busy_timeout(busy)?;
        // Taking the write lock is the only wait that may be cut short.
        let tx = Transaction::new_unchecked(&self.conn, TransactionBehavior::Immediate);
        self.conn.busy_timeout(BUSY_TIMEOUT)?;
        Ok(StateTx { tx: tx? })
    }
}

/// A write transaction over the state tables: the refresh reads new runs and writes what they
/// change, all or nothing.
pub struct StateTx<'a> {
    tx: Transaction<'a>,
}

impl StateTx<'_> {
    pub fn meta(&self) -> Result<Option<StateMeta>, StoreError> {
        Ok(meta_of(&self.tx)?)
    }

    /// Runs at or before `key` in history order.
    pub fn runs_through(&self, key: RunKey) -> Result<u64, StoreError> {
        Ok(runs_through(&self.tx, key)?)
    }

    /// Empties every derived table, for a rebuild.
    pub fn clear(&self) -> Result<(), StoreError> {
        self.tx.execute_batch(
            "DELETE FROM state_meta; DELETE FROM test_state; DELETE FROM cofail; DELETE FROM cofail_keys;
             DELETE FROM selection_runs; DELETE FROM misses;",
        )?;
        Ok(())
    }

    pub fn set_meta(&self, meta: StateMeta) -> Result<(), StoreError> {
        self.tx.execute(
            "INSERT OR REPLACE INTO state_meta (id, runs, last_time, last_run) VALUES (1, ?1, ?2, ?3)",
            params![meta.runs as i64, meta.last.time, meta.last.id],
        )?;
        Ok(())
    }

    /// The runs after `after` (all runs for `None`), in history order, without their results.
    pub fn runs_after(&self, after: Option<RunKey>) -> Result<Vec<(RunKey, String, Option<i64>)>, StoreError> {
        let after = after.unwrap_or(RunKey { time: i64::MIN, id: i64::MIN });
        let mut stmt = self.tx.prepare(
            "SELECT time, id, commit_sha, changeset FROM runs WHERE time > ?1 OR (time = ?1 AND id > ?2)
             ORDER BY time, id",
        )?;
        let rows = stmt.query_map(params![after.time, after.id], |r| {
            Ok((RunKey { time: r.get(0)?, id: r.get(1)? }, r.get(2)?, r.get(3)?))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// One run with its results and changed files.
    pub fn state_run(&self, key: RunKey, commit: String, changeset: Option<i64>) -> Result<StateRun, StoreError> {
        let mut stmt =
            self.tx.prepare_cached("SELECT test, outcome, duration_s FROM results WHERE run = ?1 ORDER BY seq")?;
        let results =
            stmt.query_map([key.id], |r| Ok((r.get(0)?, outcome(r.get(1)?)?, r.get(2)?)))?.collect::<Result<_, _>>()?;
        let changed = match changeset {
            None => None,
            Some(cs) => {
                let mut stmt =
                    self.tx.prepare_cached("SELECT path, added, deleted, symbols FROM changes WHERE changeset = ?1")?;
                let files = stmt
                    .query_map([cs], |r| {
                        Ok(ReplayFile {
                            path: r.get(0)?,
                            added: r.get::<_, Option<u32>>(1)?.unwrap_or(0),
                            deleted: r.get::<_, Option<u32>>(2)?.unwrap_or(0),
                            symbols: symbol_list(r.get(3)?),
                        })
                    })?
                    .collect::<Result<_, _>>()?;
                Some(files)
            }
        };
        Ok(StateRun { key, commit, results, changed })
    }

    /// Every test's counters, by `tests.id`.
    pub fn test_states(&self) -> Result<HashMap<i64, TestState>, StoreError> {
        let mut stmt = self.tx.prepare("SELECT test, state FROM test_state")?;
        let rows = stmt.query_map([], test_state_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    pub fn put_test_states<'s>(&self, states: impl Iterator<Item = (i64, &'s TestState)>) -> Result<(), StoreError> {
        let mut stmt =
            self.tx.prepare_cached("INSERT OR REPLACE INTO test_state (test, last_run, state) VALUES (?1, ?2, ?3)")?;
        for (test, s) in states {
            stmt.execute(params![test, s.last_run.id, encode_state(s).as_slice()])?;
        }
        Ok(())
    }

    /// The id of a co-failure key, added if new, with its change count raised by one.
    pub fn count_change(&self, key: &str) -> Result<i64, StoreError> {
        let mut stmt = self.tx.prepare_cached(
            "INSERT INTO cofail_keys (key, changed) VALUES (?1, 1)
             ON CONFLICT (key) DO UPDATE SET changed = changed + 1 RETURNING id",
        )?;
        Ok(stmt.query_row([key], |r| r.get(0))?)
    }

    /// Counts one failure of `test` in a run that changed `key`.
    pub fn count_failure(&self, key: i64, test: i64) -> Result<(), StoreError> {
        let mut stmt = self.tx.prepare_cached(
            "INSERT INTO cofail (key, test, failed) VALUES (?1, ?2, 1)
             ON CONFLICT (key, test) DO UPDATE SET failed = failed + 1",
        )?;
        stmt.execute(params![key, test])?;
        Ok(())
    }

    /// Every kept selection, in the order they were made.
    pub fn selections(&self) -> Result<Vec<SelectionRow>, StoreError> {
        let mut stmt = self
            .tx
            .prepare("SELECT id, commit_sha, after_time, after_run, mode, observe FROM selections ORDER BY id")?;
        let rows = stmt.query_map([], |r| {
            let after = match (r.get::<_, Option<i64>>(2)?, r.get::<_, Option<i64>>(3)?) {
                (Some(time), Some(id)) => Some(RunKey { time, id }),
                _ => None,
            };
            Ok(SelectionRow {
                id: r.get(0)?,
                commit: r.get(1)?,
                after,
                subset: r.get::<_, String>(4)? == "subset",
                observe: r.get(5)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The selected and skipped tests of a kept selection (`tests.id`, ascending).
    pub fn selection_tests(&self, id: i64) -> Result<(Vec<u32>, Vec<u32>), StoreError> {
        let (selected, skipped): (Vec<u8>, Vec<u8>) =
            self.tx.query_row("SELECT selected, skipped FROM selections WHERE id = ?1", [id], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })?;
        Ok((unpack(&selected), unpack(&skipped)))
    }

    /// A run measured against the selection for its commit: its failing tests, and how many of
    /// them the selection selected, skipped, or did not know.
    pub fn put_selection_run(&self, run: i64, selection: i64, judged: Judged) -> Result<(), StoreError> {
        self.tx.execute(
            "INSERT OR REPLACE INTO selection_runs (run, selection, failing, caught, missed, unknown)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                run,
                selection,
                judged.failing as i64,
                judged.caught as i64,
                judged.missed as i64,
                judged.unknown as i64
            ],
        )?;
        Ok(())
    }

    pub fn put_miss(&self, run: i64, test: i64, selection: i64, same_commit: bool) -> Result<(), StoreError> {
        self.tx.execute(
            "INSERT OR REPLACE INTO misses (run, test, selection, same_commit) VALUES (?1, ?2, ?3, ?4)",
            params![run, test, selection, same_commit],
        )?;
        Ok(())
    }

    pub fn commit(self) -> Result<(), StoreError> {
        self.tx.commit()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_packed_state_decodes_to_itself_and_foreign_bytes_do_not() {
        let s = TestState {
            execs: 7,
            failures: 3,
            recent: (1u128 << 100) | 0b101,
            flips: 4,
            last_failure: Some(6),
            duration_sum: 2.5,
            known_duration_sum: 2.25,
            known_durations: 6,
            change_runs: 5,
            change_failures: 2,
            last_run: RunKey { time: -3, id: 99 },
        };
        assert_eq!(decode_state(&encode_state(&s)), Some(s));
        let none = TestState { last_failure: None, ..s };
        assert_eq!(decode_state(&encode_state(&none)), Some(none));
        assert_eq!(decode_state(&encode_state(&s)[..80]), None);
        let mut other = encode_state(&s);
        other[0] = 2;
        assert_eq!(decode_state(&other), None);
    }
}
