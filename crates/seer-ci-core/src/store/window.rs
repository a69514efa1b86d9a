//! Queries over a window of time: what happened, by run time (runs, results) or by when a
//! selection was made (selections).

use rusqlite::params;

use super::{Store, StoreError};

/// One day of the window.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Day {
    /// Unix seconds of the day's start (UTC).
    pub start: i64,
    pub runs: u64,
    pub failing_runs: u64,
    /// Of the subsets chosen that day (observe mode included): tests selected and skipped, and
    /// their estimated seconds.
    pub selected: u64,
    pub skipped: u64,
    pub selected_s: f64,
    pub total_s: f64,
    /// Misses found in runs of that day.
    pub misses: u64,
}

/// A test with a count in the window (failures, retries).
#[derive(Debug, Clone, PartialEq)]
pub struct TestCount {
    pub test: String,
    pub count: u64,
    /// Runs of the test in the window.
    pub runs: u64,
}

/// A test's mean duration in the window and in the window before it.
#[derive(Debug, Clone, PartialEq)]
pub struct SlowTest {
    pub test: String,
    pub mean_s: f64,
    pub runs: u64,
    pub previous_mean_s: Option<f64>,
}

/// The runs measured against their commit's selection, in the window.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Judgements {
    pub runs: u64,
    /// Runs with a failing test, and of them those in which the selection had selected one.
    pub faulty: u64,
    pub faulty_caught: u64,
    pub failing: u64,
    pub caught: u64,
    pub missed: u64,
    pub unknown: u64,
}

const DAY: i64 = 86_400;

/// The days of `[from, to)` (UTC), which each store's rows are counted into: what `days` of
/// every backend returns.
pub(crate) struct DayBuckets {
    first: i64,
    pub days: Vec<Day>,
}

impl DayBuckets {
    pub fn new(from: i64, to: i64) -> DayBuckets {
        let first = from.div_euclid(DAY) * DAY;
        let days = (0..)
            .map(|k| first + k * DAY)
            .take_while(|&d| d < to)
            .map(|start| Day { start, ..Day::default() })
            .collect();
        DayBuckets { first, days }
    }

    fn at(&mut self, time: i64) -> Option<&mut Day> {
        self.days.get_mut(((time.div_euclid(DAY) * DAY - self.first) / DAY) as usize)
    }

    /// A run with results at `time`.
    pub fn run(&mut self, time: i64, failing: bool) {
        if let Some(d) = self.at(time) {
            d.runs += 1;
            d.failing_runs += u64::from(failing);
        }
    }

    /// A subset selection made at `time`.
    pub fn selection(&mut self, time: i64, selected: i64, skipped: i64, selected_s: f64, total_s: f64) {
        if let Some(d) = self.at(time) {
            d.selected += selected.max(0) as u64;
            d.skipped += skipped.max(0) as u64;
            d.selected_s += selected_s;
            d.total_s += total_s;
        }
    }

    /// A miss in a run at `time`.
    pub fn miss(&mut self, time: i64) {
        if let Some(d) = self.at(time) {
            d.misses += 1;
        }
    }
}

impl Store {
    /// The days of `[from, to)` with their runs and selections.
    pub fn days(&self, from: i64, to: i64) -> Result<Vec<Day>, StoreError> {
        let mut days = DayBuckets::new(from, to);
        let mut stmt = self.conn.prepare_cached(
            "SELECT time, n_fail + n_error > 0 FROM runs WHERE time >= ?1 AND time < ?2 AND n_tests > 0",
        )?;
        let rows = stmt.query_map(params![from, to], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, bool>(1)?)))?;
        for row in rows {
            let (time, failing) = row?;
            days.run(time, failing);
        }
        let mut stmt = self.conn.prepare_cached(
            "SELECT created_at, n_selected, n_skipped, estimated_s, total_s FROM selections
             WHERE mode = 'subset' AND created_at >= ?1 AND created_at < ?2",
        )?;
        let rows = stmt.query_map(params![from, to], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, i64>(2)?,
                r.get::<_, f64>(3)?,
                r.get::<_, f64>(4)?,
            ))
        })?;
        for row in rows {
            let (time, selected, skipped, selected_s, total_s) = row?;
            days.selection(time, selected, skipped, selected_s, total_s);
        }
        let mut stmt = self.conn.prepare_cached(
            "SELECT r.time FROM misses m JOIN runs r ON r.id = m.run WHERE r.time >= ?1 AND r.time < ?2",
        )?;
        let rows = stmt.query_map(params![from, to], |r| r.get::<_, i64>(0))?;
        for row in rows {
            days.miss(row?);
        }
        Ok(days.days)
    }

    /// The runs of `[from, to)` measured against their commit's selection.
    pub fn judgements(&self, from: i64, to: i64) -> Result<Judgements, StoreError> {
        Ok(self.conn.query_row(
            "SELECT COUNT(*), COALESCE(SUM(x.failing > 0), 0), COALESCE(SUM(x.failing > 0 AND x.caught > 0), 0),
                    COALESCE(SUM(x.failing), 0), COALESCE(SUM(x.caught), 0), COALESCE(SUM(x.missed), 0),
                    COALESCE(SUM(x.unknown), 0)
             FROM selection_runs x JOIN runs r ON r.id = x.run WHERE r.time >= ?1 AND r.time < ?2",
            params![from, to],
            |r| {
                let n = |i| r.get::<_, i64>(i).map(|v| v.max(0) as u64);
                Ok(Judgements {
                    runs: n(0)?,
                    faulty: n(1)?,
                    faulty_caught: n(2)?,
                    failing: n(3)?,
                    caught: n(4)?,
                    missed: n(5)?,
                    unknown: n(6)?,
                })
            },
        )?)
    }

    /// The tests that failed most in `[from, to)`, at most `limit`.
    pub fn most_failing(&self, from: i64, to: i64, limit: usize) -> Result<Vec<TestCount>, StoreError> {
        self.test_counts(from, to, limit, "x.outcome IN (1, 2)")
    }

    /// The tests whose retries passed most often in `[from, to)`: each a failure a retry hid.
    pub fn most_retried(&self, from: i64, to: i64, limit: usize) -> Result<Vec<TestCount>, StoreError> {
        self.test_counts(from, to, limit, "x.outcome = 0 AND x.attempts > 1")
    }

    fn test_counts(&self, from: i64, to: i64, limit: usize, condition: &str) -> Result<Vec<TestCount>, StoreError> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT t.name, SUM({condition}) AS n, COUNT(*) FROM runs r JOIN results x ON x.run = r.id
             JOIN tests t ON t.id = x.test
             WHERE r.time >= ?1 AND r.time < ?2 AND x.outcome != 3
             GROUP BY x.test HAVING n > 0 ORDER BY n DESC, t.name LIMIT ?3"
        ))?;
        let rows = stmt.query_map(params![from, to, limit as i64], |r| {
            Ok(TestCount { test: r.get(0)?, count: r.get::<_, i64>(1)? as u64, runs: r.get::<_, i64>(2)? as u64 })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The slowest tests of `[from, to)` by mean recorded duration, with their mean in the window
    /// of the same length before it.
    pub fn slowest(&self, from: i64, to: i64, limit: usize) -> Result<Vec<SlowTest>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT x.test, t.name, AVG(x.duration_s) AS d, COUNT(*) FROM runs r JOIN results x ON x.run = r.id
             JOIN tests t ON t.id = x.test
             WHERE r.time >= ?1 AND r.time < ?2 AND x.duration_s IS NOT NULL AND x.outcome != 3
             GROUP BY x.test ORDER BY d DESC, t.name LIMIT ?3",
        )?;
        let rows = stmt.query_map(params![from, to, limit as i64], |r| {
            Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?, r.get::<_, f64>(2)?, r.get::<_, i64>(3)? as u64))
        })?;
        let top: Vec<(i64, String, f64, u64)> = rows.collect::<Result<_, _>>()?;
        let mut before = self.conn.prepare_cached(
            "SELECT AVG(x.duration_s) FROM runs r JOIN results x ON x.run = r.id
             WHERE r.time >= ?1 AND r.time < ?2 AND x.test = ?3 AND x.duration_s IS NOT NULL AND x.outcome != 3",
        )?;
        let mut out = Vec::with_capacity(top.len());
        for (id, test, mean_s, runs) in top {
            let previous_mean_s: Option<f64> = before.query_row(params![from - (to - from), from, id], |r| r.get(0))?;
            out.push(SlowTest { test, mean_s, runs, previous_mean_s });
        }
        Ok(out)
    }

    /// Runs in `[from, to)`: how many, and how many had a failing test.
    pub fn runs_between(&self, from: i64, to: i64) -> Result<(u64, u64), StoreError> {
        Ok(self.conn.query_row(
            "SELECT COUNT(*), COALESCE(SUM(n_fail + n_error > 0), 0) FROM runs WHERE time >= ?1 AND time < ?2",
            params![from, to],
            |r| Ok((r.get::<_, i64>(0)? as u64, r.get::<_, i64>(1)? as u64)),
        )?)
    }
}
