//! The selections `seer select` kept, the runs measured against them, and their misses: what
//! the bookkeeping of recall reads and writes.

use std::time::Duration;

use rusqlite::{TransactionBehavior, params};

use super::test_state::{StateTx, newest_run};
use super::{BUSY_TIMEOUT, RunKey, Store, StoreError, pack, unpack};

/// A selection as `seer select` made it, to be kept.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
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
    /// Selections queued in side files (the lock was busy), not yet folded in by a writer.
    pub queued: u64,
    /// Side files that could not be read back: selections lost to the bookkeeping.
    pub dropped: u64,
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

/// Sorted `tests.id`s as stored (read back, ascending, with [`unpack`]).
pub(crate) fn pack_ids(ids: &[i64]) -> Vec<u8> {
    let mut sorted: Vec<u32> = ids.iter().map(|&id| id as u32).collect();
    sorted.sort_unstable();
    sorted.dedup();
    pack(&sorted)
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
        (s.queued, s.dropped) = self.queued_and_dropped()?;
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

    /// Of the failing tests in the newest `window` runs, how many subsets kept by models other
    /// than `exclude_model` had selected (caught) and skipped (missed): the trust gate's observed
    /// recall.
    pub fn recent_judgements(&self, window: usize, exclude_model: &str) -> Result<(u64, u64), StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "WITH recent AS (SELECT id FROM runs ORDER BY time DESC, id DESC LIMIT ?1)
             SELECT (SELECT COALESCE(SUM(x.caught), 0) FROM selection_runs x JOIN selections s ON s.id = x.selection
                     WHERE x.run IN recent AND s.mode = 'subset' AND s.model IS NOT ?2),
                    (SELECT COUNT(*) FROM misses m JOIN selections s ON s.id = m.selection
                     WHERE m.run IN recent AND s.mode = 'subset' AND s.model IS NOT ?2)",
        )?;
        let counts = stmt.query_row(params![window as i64, exclude_model], |r| {
            Ok((r.get::<_, i64>(0)?.max(0) as u64, r.get::<_, i64>(1)?.max(0) as u64))
        })?;
        Ok(counts)
    }

    /// Runs recorded.
    pub fn run_count(&self) -> Result<u64, StoreError> {
        Ok(self.conn.query_row("SELECT COUNT(*) FROM runs", [], |r| r.get::<_, i64>(0))? as u64)
    }

    /// Whether any selection was kept (so the state is in use).
    pub fn has_selections(&self) -> Result<bool, StoreError> {
        Ok(self.conn.query_row("SELECT EXISTS (SELECT 1 FROM selections)", [], |r| r.get(0))?)
    }

    /// Keeps a selection. Waits at most `busy` for other writers.
    pub fn save_selection(&mut self, s: &NewSelection, busy: Duration) -> Result<i64, StoreError> {
        self.conn.busy_timeout(busy)?;
        let result = (|| {
            let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let after = newest_run(&tx)?;
            let id = insert_selection(&tx, s, after, None)?;
            tx.commit()?;
            Ok::<_, rusqlite::Error>(id)
        })();
        self.conn.busy_timeout(BUSY_TIMEOUT)?;
        Ok(result.map_err(|e| self.note_busy(e))?)
    }
}

/// Inserts a selection made when `after` was the newest run; `pending_key` names the side file
/// it came from (see `pending.rs`).
pub(super) fn insert_selection(
    tx: &rusqlite::Transaction<'_>,
    s: &NewSelection,
    after: Option<RunKey>,
    pending_key: Option<&str>,
) -> rusqlite::Result<i64> {
    tx.execute(
        "INSERT INTO selections (commit_sha, base, created_at, after_time, after_run, mode, observe, reason,
             model, threshold, shard_index, shard_count, n_selected, n_skipped, estimated_s, total_s,
             selected, skipped, pending_key)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19)",
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
            pending_key,
        ],
    )?;
    Ok(tx.last_insert_rowid())
}

impl StateTx<'_> {
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
}
