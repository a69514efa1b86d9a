//! The selection state's tables (derived data): per-test counters, co-failure counts, and which
//! runs they have taken in; and the write transaction the refresh works in.
//!
//! The state describes a prefix of the runs in (time, id) order, and the writer drops it (its
//! `state_meta` row) whenever a write would change that prefix, so that the next refresh
//! rebuilds it from the runs. The store keeps each test's counters as bytes: what they mean and
//! how they are packed is their owner's business ([`StateCodec`]).

use std::time::Duration;

use hashbrown::HashMap;
use rusqlite::{OptionalExtension, Transaction, TransactionBehavior, params};

use super::read::{TestRow, outcome, symbol_list};
use super::{BUSY_TIMEOUT, ReplayFile, Store, StoreError};
use crate::collect::Outcome;

/// A run's place in history order: by time, then by the order runs were stored.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RunKey {
    pub time: i64,
    /// `runs.id`.
    pub id: i64,
}

/// Which runs the state has taken in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StateMeta {
    pub runs: u64,
    /// The last run taken in.
    pub last: RunKey,
    /// Changes whenever the state is dropped or rebuilt (the store keeps it; writing the meta
    /// leaves it as it is): counters read under one generation extend only within it.
    pub generation: u64,
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

/// A test's counters as the `test_state.state` column holds them. The store reads and writes
/// the bytes; the type that owns their meaning packs and unpacks them.
pub trait StateCodec: Sized {
    /// The run of the test's latest execution (`runs.id`), kept beside the bytes for lookups.
    fn last_run(&self) -> i64;
    fn encode(&self) -> Vec<u8>;
    /// `None` for bytes this seer did not write.
    fn decode(bytes: &[u8]) -> Option<Self>;
}

/// A stored state that does not decode: the store was written by something else.
fn bad_state(test: i64) -> rusqlite::Error {
    rusqlite::Error::InvalidColumnType(0, format!("test_state.state of test {test}"), rusqlite::types::Type::Blob)
}

fn test_state_row<S: StateCodec>(r: &rusqlite::Row<'_>) -> rusqlite::Result<(i64, S)> {
    let test: i64 = r.get(0)?;
    let state = S::decode(r.get_ref(1)?.as_blob()?).ok_or_else(|| bad_state(test))?;
    Ok((test, state))
}

fn meta_of(conn: &rusqlite::Connection) -> rusqlite::Result<Option<StateMeta>> {
    conn.query_row(
        "SELECT runs, last_time, last_run, (SELECT n FROM state_generation WHERE id = 1) FROM state_meta WHERE id = 1",
        [],
        |r| {
            Ok(StateMeta {
                runs: r.get::<_, i64>(0)?.max(0) as u64,
                last: RunKey { time: r.get(1)?, id: r.get(2)? },
                generation: r.get::<_, Option<i64>>(3)?.unwrap_or(0).max(0) as u64,
            })
        },
    )
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

pub(super) fn newest_run(conn: &rusqlite::Connection) -> rusqlite::Result<Option<RunKey>> {
    conn.query_row("SELECT time, id FROM runs ORDER BY time DESC, id DESC LIMIT 1", [], |r| {
        Ok(RunKey { time: r.get(0)?, id: r.get(1)? })
    })
    .optional()
}

impl Store {
    /// Which runs the state has taken in, if there is a state.
    pub fn state_meta(&self) -> Result<Option<StateMeta>, StoreError> {
        Ok(meta_of(&self.conn)?)
    }

    /// Whether the state holds exactly the runs stored now (no run was added after it).
    pub fn state_is_current(&self) -> Result<bool, StoreError> {
        let Some(meta) = meta_of(&self.conn)? else { return Ok(false) };
        Ok(newest_run(&self.conn)? == Some(meta.last) && runs_through(&self.conn, meta.last)? == meta.runs)
    }

    /// The tests that failed or errored in runs after `key` in history order.
    pub fn failed_after(&self, key: RunKey) -> Result<Vec<i64>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT DISTINCT test FROM results WHERE outcome IN (1, 2)
                 AND run IN (SELECT id FROM runs WHERE time > ?1 OR (time = ?1 AND id > ?2))",
        )?;
        let rows = stmt.query_map([key.time, key.id], |r| r.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The newest run stored, in history order.
    pub fn newest_run(&self) -> Result<Option<RunKey>, StoreError> {
        Ok(newest_run(&self.conn)?)
    }

    /// Every test's counters, by `tests.id`.
    pub fn test_states<S: StateCodec>(&self) -> Result<HashMap<i64, S>, StoreError> {
        let mut stmt = self.conn.prepare_cached("SELECT test, state FROM test_state")?;
        let rows = stmt.query_map([], test_state_row::<S>)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The tests whose last execution was in one of `runs` (`runs.id`), with their counters, by id.
    pub fn tests_last_run_in<S: StateCodec>(&self, runs: &[i64]) -> Result<Vec<(TestRow, S)>, StoreError> {
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
            let state = S::decode(r.get_ref(4)?.as_blob()?).ok_or_else(|| bad_state(row.id))?;
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

    /// Opens a write transaction over the state, waiting at most `busy` for other writers.
    pub fn state_transaction(&mut self, busy: Duration) -> Result<StateTx<'_>, StoreError> {
        self.conn.busy_timeout(busy)?;
        // Taking the write lock is the only wait that may be cut short.
        let tx = Transaction::new_unchecked(&self.conn, TransactionBehavior::Immediate);
        self.conn.busy_timeout(BUSY_TIMEOUT)?;
        Ok(StateTx { tx: tx.map_err(|e| self.note_busy(e))? })
    }
}

/// A write transaction over the state tables: the refresh reads new runs and writes what they
/// change, all or nothing.
pub struct StateTx<'a> {
    pub(super) tx: Transaction<'a>,
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

    /// The state holds `runs` runs, the last `last` (its generation is the store's).
    pub fn set_meta(&self, runs: u64, last: RunKey) -> Result<(), StoreError> {
        // Updated in place: deleting the row is what counts as dropping the state.
        self.tx.execute(
            "INSERT INTO state_meta (id, runs, last_time, last_run) VALUES (1, ?1, ?2, ?3)
             ON CONFLICT (id) DO UPDATE SET runs = excluded.runs, last_time = excluded.last_time,
             last_run = excluded.last_run",
            params![runs as i64, last.time, last.id],
        )?;
        Ok(())
    }

    /// The runs after `after` (all runs for `None`), in history order, without their results.
    /// How many results the runs after `after` in history order hold: the work of taking them in.
    pub fn results_after(&self, after: Option<RunKey>) -> Result<u64, StoreError> {
        let after = after.unwrap_or(RunKey { time: i64::MIN, id: i64::MIN });
        let n: i64 = self.tx.query_row(
            "SELECT COALESCE(SUM(n_tests), 0) FROM runs WHERE time > ?1 OR (time = ?1 AND id > ?2)",
            params![after.time, after.id],
            |r| r.get(0),
        )?;
        Ok(n.max(0) as u64)
    }

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
    pub fn test_states<S: StateCodec>(&self) -> Result<HashMap<i64, S>, StoreError> {
        let mut stmt = self.tx.prepare("SELECT test, state FROM test_state")?;
        let rows = stmt.query_map([], test_state_row::<S>)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    pub fn put_test_states<'s, S: StateCodec + 's>(
        &self,
        states: impl Iterator<Item = (i64, &'s S)>,
    ) -> Result<(), StoreError> {
        let mut stmt =
            self.tx.prepare_cached("INSERT OR REPLACE INTO test_state (test, last_run, state) VALUES (?1, ?2, ?3)")?;
        for (test, s) in states {
            stmt.execute(params![test, s.last_run(), s.encode()])?;
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

    pub fn commit(self) -> Result<(), StoreError> {
        self.tx.commit()?;
        Ok(())
    }
}
