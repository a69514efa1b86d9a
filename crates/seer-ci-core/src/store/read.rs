//! Reading the store: run lists, one run in full, one test's history, totals.

use rusqlite::{OptionalExtension, params};

use super::{Store, StoreError};
use crate::collect::git::{ChangeKind, ChangeSet, CommitInfo, FileChange};
use crate::collect::{Outcome, RunInfo, TestResult};

/// Outcome counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub tests: u64,
    pub pass: u64,
    pub fail: u64,
    pub error: u64,
    pub skip: u64,
    pub flaky: u64,
}

impl Counts {
    pub fn of(results: &[TestResult]) -> Counts {
        let mut c = Counts { tests: results.len() as u64, ..Counts::default() };
        for r in results {
            match r.outcome {
                Outcome::Pass => c.pass += 1,
                Outcome::Fail => c.fail += 1,
                Outcome::Error => c.error += 1,
                Outcome::Skip => c.skip += 1,
            }
            c.flaky += u64::from(r.is_flaky());
        }
        c
    }
}

/// A run's outcome counts, as kept in its row.
const RUN_COUNTS: &str = "n_tests, n_pass, n_fail, n_error, n_skip, n_flaky";

/// SQLite integers are signed; counts are not.
fn count(row: &rusqlite::Row<'_>, at: usize) -> rusqlite::Result<u64> {
    Ok(row.get::<_, i64>(at)?.max(0) as u64)
}

fn counts_at(row: &rusqlite::Row<'_>, at: usize) -> rusqlite::Result<Counts> {
    Ok(Counts {
        tests: count(row, at)?,
        pass: count(row, at + 1)?,
        fail: count(row, at + 2)?,
        error: count(row, at + 3)?,
        skip: count(row, at + 4)?,
        flaky: count(row, at + 5)?,
    })
}

/// One line of the run list.
#[derive(Debug, Clone)]
pub struct RunSummary {
    pub run_id: String,
    pub commit: String,
    pub branch: Option<String>,
    pub job: Option<String>,
    pub time: i64,
    pub counts: Counts,
}

/// A run with everything stored for it.
#[derive(Debug, Clone)]
pub struct StoredRun {
    pub info: RunInfo,
    pub recorded_at: i64,
    pub results: Vec<TestResult>,
    pub changes: Option<ChangeSet>,
}

/// One run of one test.
#[derive(Debug, Clone)]
pub struct HistoryEntry {
    pub run_id: String,
    pub commit: String,
    pub time: i64,
    pub outcome: Outcome,
    pub duration_s: Option<f64>,
    pub attempts: u32,
    pub message: Option<String>,
}

/// Totals over the whole store.
#[derive(Debug, Clone, Default)]
pub struct StoreStats {
    pub runs: u64,
    pub tests: u64,
    pub commits_with_changes: u64,
    pub first_run: Option<i64>,
    pub last_run: Option<i64>,
    pub results: Counts,
    pub failing_runs: u64,
    pub tests_ever_failed: u64,
    pub tests_ever_flaky: u64,
}

pub(super) fn outcome(code: i64) -> rusqlite::Result<Outcome> {
    Outcome::from_code(code).ok_or(rusqlite::Error::IntegralValueOutOfRange(0, code))
}

impl Store {
    /// The newest `limit` runs, newest first.
    pub fn runs(&self, limit: usize) -> Result<Vec<RunSummary>, StoreError> {
        let sql = format!(
            "SELECT run_id, commit_sha, branch, job, time, {RUN_COUNTS} FROM runs ORDER BY time DESC, id DESC LIMIT ?1"
        );
        let mut stmt = self.conn.prepare(&sql)?;
        let rows = stmt.query_map([limit as i64], |row| {
            Ok(RunSummary {
                run_id: row.get(0)?,
                commit: row.get(1)?,
                branch: row.get(2)?,
                job: row.get(3)?,
                time: row.get(4)?,
                counts: counts_at(row, 5)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Every run id in history order (time, then the order of storing).
    pub fn run_ids_in_order(&self) -> Result<Vec<String>, StoreError> {
        let mut stmt = self.conn.prepare_cached("SELECT run_id FROM runs ORDER BY time, id")?;
        let rows = stmt.query_map([], |r| r.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// One run in full, or `None` if no run has that id.
    pub fn run(&self, run_id: &str) -> Result<Option<StoredRun>, StoreError> {
        let head = self
            .conn
            .query_row(
                "SELECT id, run_id, commit_sha, base, branch, job, time, source, recorded_at, changeset FROM runs WHERE run_id = ?1",
                [run_id],
                |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        RunInfo {
                            run_id: r.get(1)?,
                            commit: r.get(2)?,
                            base: r.get(3)?,
                            branch: r.get(4)?,
                            job: r.get(5)?,
                            time: r.get(6)?,
                            source: r.get(7)?,
                        },
                        r.get::<_, i64>(8)?,
                        r.get::<_, Option<i64>>(9)?,
                    ))
                },
            )
            .optional()?;
        let Some((pk, info, recorded_at, changeset)) = head else { return Ok(None) };
        let mut stmt = self.conn.prepare(
            "SELECT t.name, t.suite_len, t.file, x.outcome, x.duration_s, x.attempts, x.message
             FROM results x JOIN tests t ON t.id = x.test WHERE x.run = ?1 ORDER BY t.name",
        )?;
        let results = stmt
            .query_map([pk], |r| {
                let id: String = r.get(0)?;
                let suite_len: Option<i64> = r.get(1)?;
                Ok(TestResult {
                    suite: suite_len.and_then(|n| id.get(..n as usize)).map(str::to_string),
                    id,
                    file: r.get(2)?,
                    outcome: outcome(r.get(3)?)?,
                    duration_s: r.get(4)?,
                    attempts: r.get(5)?,
                    message: r.get(6)?,
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        let changes = match changeset {
            Some(id) => Some(self.changeset(id)?),
            None => None,
        };
        Ok(Some(StoredRun { info, recorded_at, results, changes }))
    }

    fn changeset(&self, id: i64) -> Result<ChangeSet, StoreError> {
        let (sha, base, complete, warnings): (String, String, bool, String) = self.conn.query_row(
            "SELECT commit_sha, base_sha, complete, warnings FROM changesets WHERE id = ?1",
            [id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )?;
        let commit = self
            .conn
            .query_row("SELECT parents, author, time, summary FROM commits WHERE sha = ?1", [&sha], |r| {
                let parents: String = r.get(0)?;
                Ok(CommitInfo {
                    sha: sha.clone(),
                    parents: parents.split_whitespace().map(str::to_string).collect(),
                    author: r.get(1)?,
                    time: r.get(2)?,
                    summary: r.get(3)?,
                })
            })
            .optional()?
            .unwrap_or(CommitInfo {
                sha: sha.clone(),
                parents: vec![],
                author: String::new(),
                time: 0,
                summary: String::new(),
            });
        let mut stmt = self.conn.prepare(
            "SELECT path, old_path, status, added, deleted, binary, symbols FROM changes WHERE changeset = ?1 ORDER BY path",
        )?;
        let files = stmt
            .query_map([id], |r| {
                let status: String = r.get(2)?;
                Ok(FileChange {
                    path: r.get(0)?,
                    old_path: r.get(1)?,
                    kind: ChangeKind::parse(&status).unwrap_or(ChangeKind::Modified),
                    added: r.get(3)?,
                    deleted: r.get(4)?,
                    binary: r.get(5)?,
                    symbols: symbol_list(r.get::<_, Option<String>>(6)?),
                    base_lines: vec![],
                    comment_hunks: 0,
                    base_columns: vec![],
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(ChangeSet {
            commit,
            base: Some(base).filter(|b| !b.is_empty()),
            files,
            complete,
            warnings: warnings.lines().map(str::to_string).collect(),
        })
    }

    /// The newest `limit` results of one test, newest first; `None` if the test is unknown.
    pub fn history(&self, test_id: &str, limit: usize) -> Result<Option<Vec<HistoryEntry>>, StoreError> {
        let Some(test) = self
            .conn
            .query_row("SELECT id FROM tests WHERE name = ?1", [test_id], |r| r.get::<_, i64>(0))
            .optional()?
        else {
            return Ok(None);
        };
        let mut stmt = self.conn.prepare(
            "SELECT r.run_id, r.commit_sha, r.time, x.outcome, x.duration_s, x.attempts, x.message
             FROM results x JOIN runs r ON r.id = x.run WHERE x.test = ?1
             ORDER BY r.time DESC, r.id DESC LIMIT ?2",
        )?;
        let rows = stmt.query_map(params![test, limit as i64], |r| {
            Ok(HistoryEntry {
                run_id: r.get(0)?,
                commit: r.get(1)?,
                time: r.get(2)?,
                outcome: outcome(r.get(3)?)?,
                duration_s: r.get(4)?,
                attempts: r.get(5)?,
                message: r.get(6)?,
            })
        })?;
        Ok(Some(rows.collect::<Result<_, _>>()?))
    }

    /// Totals over the whole store.
    pub fn stats(&self) -> Result<StoreStats, StoreError> {
        let (runs, first_run, last_run) =
            self.conn.query_row("SELECT COUNT(*), MIN(time), MAX(time) FROM runs", [], |r| {
                Ok((count(r, 0)?, r.get(1)?, r.get(2)?))
            })?;
        let results = self.conn.query_row(
            "SELECT COALESCE(SUM(n_tests), 0), COALESCE(SUM(n_pass), 0), COALESCE(SUM(n_fail), 0),
                    COALESCE(SUM(n_error), 0), COALESCE(SUM(n_skip), 0), COALESCE(SUM(n_flaky), 0) FROM runs",
            [],
            |r| counts_at(r, 0),
        )?;
        let one = |sql: &str| -> Result<u64, StoreError> { Ok(self.conn.query_row(sql, [], |r| count(r, 0))?) };
        Ok(StoreStats {
            runs,
            tests: one("SELECT COUNT(*) FROM tests")?,
            commits_with_changes: one("SELECT COUNT(DISTINCT commit_sha) FROM changesets")?,
            first_run,
            last_run,
            results,
            failing_runs: one("SELECT COUNT(*) FROM runs WHERE n_fail + n_error > 0")?,
            tests_ever_failed: one("SELECT COUNT(DISTINCT test) FROM results WHERE outcome IN (1, 2)")?,
            tests_ever_flaky: one("SELECT COUNT(DISTINCT test) FROM results WHERE outcome = 0 AND attempts > 1")?,
        })
    }
}

/// One result, as the replay of history sees it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ReplayResult {
    /// Index into [`Replay::tests`].
    pub test: u32,
    pub outcome: Outcome,
    pub duration_s: Option<f64>,
    pub attempts: u32,
}

/// One run, as the replay of history sees it: its results in report order.
#[derive(Debug, Clone, Default)]
pub struct ReplayRun {
    pub run_id: String,
    pub commit: String,
    pub time: i64,
    pub results: Vec<ReplayResult>,
    /// The files the run's commit changed; `None` when the run was stored without git changes.
    pub changed: Option<Vec<ReplayFile>>,
}

/// A changed file, as the replay of history sees it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReplayFile {
    pub path: String,
    /// Lines added and deleted (0 when unknown, e.g. a binary file).
    pub added: u32,
    pub deleted: u32,
    pub symbols: Vec<String>,
}

impl From<&crate::collect::git::FileChange> for ReplayFile {
    fn from(f: &crate::collect::git::FileChange) -> ReplayFile {
        ReplayFile {
            path: f.path.clone(),
            added: f.added.unwrap_or(0),
            deleted: f.deleted.unwrap_or(0),
            symbols: f.symbols.clone(),
        }
    }
}

/// The whole history in time order, for replaying it.
#[derive(Debug, Clone, Default)]
pub struct Replay {
    pub runs: Vec<ReplayRun>,
    /// Test ids (names); a result's `test` indexes this.
    pub tests: Vec<String>,
    /// The source file of each test, where its report named one.
    pub test_files: Vec<Option<String>>,
    /// The length of each test's suite prefix of its id (JUnit classname, nextest binary id).
    pub test_suite_lens: Vec<Option<usize>>,
}

impl Replay {
    /// Whether any run was stored with its git change (change features mean something).
    pub fn has_changes(&self) -> bool {
        self.runs.iter().any(|r| r.changed.is_some())
    }
}

impl Store {
    /// Every run with its results, oldest first (by time, then by the order they were stored).
    pub fn replay(&self) -> Result<Replay, StoreError> {
        let (mut tests, mut test_files, mut test_suite_lens) = (Vec::new(), Vec::new(), Vec::new());
        let mut test_index = hashbrown::HashMap::new();
        let mut stmt = self.conn.prepare("SELECT id, name, file, suite_len FROM tests ORDER BY id")?;
        let mut rows = stmt.query([])?;
        while let Some(row) = rows.next()? {
            test_index.insert(row.get::<_, i64>(0)?, tests.len() as u32);
            tests.push(row.get::<_, String>(1)?);
            test_files.push(row.get::<_, Option<String>>(2)?);
            test_suite_lens.push(row.get::<_, Option<i64>>(3)?.map(|n| n as usize));
        }
        let mut changes: hashbrown::HashMap<i64, Vec<ReplayFile>> = hashbrown::HashMap::new();
        let mut stmt = self.conn.prepare("SELECT changeset, path, added, deleted, symbols FROM changes")?;
        let mut rows = stmt.query([])?;
        while let Some(row) = rows.next()? {
            changes.entry(row.get(0)?).or_default().push(ReplayFile {
                path: row.get(1)?,
                added: row.get::<_, Option<u32>>(2)?.unwrap_or(0),
                deleted: row.get::<_, Option<u32>>(3)?.unwrap_or(0),
                symbols: symbol_list(row.get(4)?),
            });
        }
        let mut runs = Vec::new();
        let mut run_index = hashbrown::HashMap::new();
        let mut stmt =
            self.conn.prepare("SELECT id, run_id, time, changeset, commit_sha FROM runs ORDER BY time, id")?;
        let mut rows = stmt.query([])?;
        while let Some(row) = rows.next()? {
            run_index.insert(row.get::<_, i64>(0)?, runs.len());
            // A changeset's files, cloned per run: several runs of one commit share them.
            let changed = row.get::<_, Option<i64>>(3)?.map(|c| changes.get(&c).cloned().unwrap_or_default());
            runs.push(ReplayRun {
                run_id: row.get(1)?,
                commit: row.get(4)?,
                time: row.get(2)?,
                results: Vec::new(),
                changed,
            });
        }
        let mut stmt =
            self.conn.prepare("SELECT run, test, outcome, duration_s, attempts FROM results ORDER BY run, seq")?;
        let mut rows = stmt.query([])?;
        while let Some(row) = rows.next()? {
            let (Some(&run), Some(&test)) =
                (run_index.get(&row.get::<_, i64>(0)?), test_index.get(&row.get::<_, i64>(1)?))
            else {
                continue;
            };
            runs[run].results.push(ReplayResult {
                test,
                outcome: outcome(row.get(2)?)?,
                duration_s: row.get(3)?,
                attempts: row.get(4)?,
            });
        }
        Ok(Replay { runs, tests, test_files, test_suite_lens })
    }
}

/// A stored space-separated symbol list.
pub(super) fn symbol_list(text: Option<String>) -> Vec<String> {
    text.map(|t| t.split(' ').filter(|s| !s.is_empty()).map(str::to_string).collect()).unwrap_or_default()
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

impl Store {
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

    /// The `tests.id` of a test by name.
    pub fn test_id(&self, name: &str) -> Result<Option<i64>, StoreError> {
        Ok(self.conn.query_row("SELECT id FROM tests WHERE name = ?1", [name], |r| r.get(0)).optional()?)
    }
}
