//! The Postgres store as a [`History`]: the reads here, the writes in `write.rs`, the refresh
//! in `state.rs`. The queries are SQLite's (`store/`), in Postgres's dialect.

use std::time::Duration;

use hashbrown::{HashMap, HashSet};
use postgres::Row;

use crate::backend::{History, StateSnapshot, TestCounters};
use crate::collect::git::{ChangeKind, ChangeSet, CommitInfo, FileChange};
use crate::collect::lcov::TestCoverage;
use crate::collect::{CollectedRun, Outcome, RunInfo, TestResult};
use crate::features::TestState;
use crate::select::Refreshed;
use crate::store::window::DayBuckets;
use crate::store::{
    CoFailRows, Counts, CoverageAt, CoverageCommit, CoverageRecorded, Day, FrameSamples, HistoryEntry, Judgements,
    KeptSelection, Miss, NewProfile, NewSelection, ProfileRun, RecordStatus, Replay, ReplayFile, ReplayResult,
    ReplayRun, RunKey, RunSummary, Scope, SelectionStats, SlowTest, StateCodec, StateMeta, StoreError, StoreStats,
    StoredRun, TestCount, TestRow, Token, TokenRecord, unpack_lines,
};

use super::state::PgStateTx;
use super::{PgStore, count};

pub(super) fn outcome(code: i16) -> Result<Outcome, StoreError> {
    Outcome::from_code(i64::from(code)).ok_or_else(|| StoreError::BadLocation {
        location: "results".into(),
        reason: format!("outcome {code} is none seer writes"),
    })
}

pub(super) fn symbol_list(text: Option<String>) -> Vec<String> {
    text.map(|t| t.split(' ').filter(|s| !s.is_empty()).map(str::to_string).collect()).unwrap_or_default()
}

fn counts_at(r: &Row, at: usize) -> Counts {
    let n = |i: usize| count(r.get::<_, i64>(at + i));
    Counts { tests: n(0), pass: n(1), fail: n(2), error: n(3), skip: n(4), flaky: n(5) }
}

fn test_row(r: &Row) -> TestRow {
    TestRow { id: r.get(0), name: r.get(1), suite_len: r.get::<_, Option<i64>>(2).map(|n| n as usize), file: r.get(3) }
}

fn token_row(r: &Row) -> Token {
    Token {
        id: r.get(0),
        name: r.get(1),
        scopes: r.get::<_, &str>(2).split(',').filter_map(Scope::parse).collect(),
        created_at: r.get(3),
        revoked_at: r.get(4),
    }
}

fn profile_row(r: &Row) -> ProfileRun {
    ProfileRun {
        id: r.get(0),
        bench: r.get(1),
        run_id: r.get(2),
        commit: r.get(3),
        time: r.get(4),
        time_given: r.get(5),
        samples: count(r.get(6)),
        source: r.get(7),
        sample_count: r.get::<_, Option<i64>>(8).map(count),
    }
}

/// How long a refresh through the interface waits for another writer.
const REFRESH_WAIT: Duration = Duration::from_secs(30);

impl PgStore {
    fn changeset(tx: &mut postgres::Transaction<'_>, id: i64) -> Result<ChangeSet, StoreError> {
        let cs =
            tx.query_one("SELECT commit_sha, base_sha, complete, warnings FROM changesets WHERE id = $1", &[&id])?;
        let sha: String = cs.get(0);
        let commit = tx
            .query_opt("SELECT parents, author, time, summary FROM commits WHERE sha = $1", &[&sha])?
            .map(|r| CommitInfo {
                sha: sha.clone(),
                parents: r.get::<_, &str>(0).split_whitespace().map(str::to_string).collect(),
                author: r.get(1),
                time: r.get(2),
                summary: r.get(3),
            })
            .unwrap_or(CommitInfo {
                sha: sha.clone(),
                parents: vec![],
                author: String::new(),
                time: 0,
                summary: String::new(),
            });
        let rows = tx.query(
            "SELECT path, old_path, status, added, deleted, is_binary, symbols FROM changes WHERE changeset = $1 ORDER BY path",
            &[&id],
        )?;
        let files = rows
            .iter()
            .map(|r| FileChange {
                path: r.get(0),
                old_path: r.get(1),
                kind: ChangeKind::parse(r.get(2)).unwrap_or(ChangeKind::Modified),
                added: r.get::<_, Option<i64>>(3).map(|n| n as u32),
                deleted: r.get::<_, Option<i64>>(4).map(|n| n as u32),
                binary: r.get(5),
                symbols: symbol_list(r.get(6)),
                base_lines: vec![],
                comment_hunks: 0,
                base_columns: vec![],
            })
            .collect();
        let base: String = cs.get(1);
        Ok(ChangeSet {
            commit,
            base: Some(base).filter(|b| !b.is_empty()),
            files,
            complete: cs.get(2),
            warnings: cs.get::<_, &str>(3).lines().map(str::to_string).collect(),
        })
    }

    fn test_counts(&self, from: i64, to: i64, limit: usize, retried: bool) -> Result<Vec<TestCount>, StoreError> {
        let sql = if retried {
            "SELECT t.name, COUNT(*) FILTER (WHERE x.outcome = 0 AND x.attempts > 1) AS n, COUNT(*)
             FROM runs r JOIN results x ON x.run = r.id JOIN tests t ON t.id = x.test
             WHERE r.time >= $1 AND r.time < $2 AND x.outcome <> 3
             GROUP BY x.test, t.name HAVING COUNT(*) FILTER (WHERE x.outcome = 0 AND x.attempts > 1) > 0
             ORDER BY n DESC, t.name LIMIT $3"
        } else {
            "SELECT t.name, COUNT(*) FILTER (WHERE x.outcome IN (1, 2)) AS n, COUNT(*)
             FROM runs r JOIN results x ON x.run = r.id JOIN tests t ON t.id = x.test
             WHERE r.time >= $1 AND r.time < $2 AND x.outcome <> 3
             GROUP BY x.test, t.name HAVING COUNT(*) FILTER (WHERE x.outcome IN (1, 2)) > 0
             ORDER BY n DESC, t.name LIMIT $3"
        };
        let rows = self.query(sql, &[&from, &to, &(limit as i64)])?;
        Ok(rows.iter().map(|r| TestCount { test: r.get(0), count: count(r.get(1)), runs: count(r.get(2)) }).collect())
    }
}

impl History for PgStore {
    fn record_runs(&mut self, runs: &[CollectedRun], replace: bool) -> Result<Vec<RecordStatus>, StoreError> {
        self.record_runs_pg(runs, replace)
    }

    fn record_at_end(&mut self, run: &CollectedRun, replace: bool) -> Result<RecordStatus, StoreError> {
        self.record_at_end_pg(run, replace)
    }

    fn has_selections(&self) -> Result<bool, StoreError> {
        Ok(self.query_one("SELECT EXISTS (SELECT 1 FROM selections)", &[])?.get(0))
    }

    fn run_ids(&self) -> Result<Vec<String>, StoreError> {
        Ok(self.query("SELECT run_id FROM runs ORDER BY time, id", &[])?.iter().map(|r| r.get(0)).collect())
    }

    fn run(&self, run_id: &str) -> Result<Option<StoredRun>, StoreError> {
        self.snapshot(|tx| {
            let Some(head) = tx.query_opt(
                "SELECT id, run_id, commit_sha, base, branch, job, time, source, recorded_at, changeset FROM runs WHERE run_id = $1",
                &[&run_id],
            )?
            else {
                return Ok(None);
            };
            let pk: i64 = head.get(0);
            let info = RunInfo {
                run_id: head.get(1),
                commit: head.get(2),
                base: head.get(3),
                branch: head.get(4),
                job: head.get(5),
                time: head.get(6),
                source: head.get(7),
            };
            let rows = tx.query(
                "SELECT t.name, t.suite_len, t.file, x.outcome, x.duration_s, x.attempts, x.message
                 FROM results x JOIN tests t ON t.id = x.test WHERE x.run = $1 ORDER BY t.name",
                &[&pk],
            )?;
            let results = rows
                .iter()
                .map(|r| {
                    let id: String = r.get(0);
                    Ok(TestResult {
                        suite: r.get::<_, Option<i64>>(1).and_then(|n| id.get(..n as usize)).map(str::to_string),
                        id,
                        file: r.get(2),
                        outcome: outcome(r.get(3))?,
                        duration_s: r.get(4),
                        attempts: r.get::<_, i64>(5) as u32,
                        message: r.get(6),
                    })
                })
                .collect::<Result<Vec<_>, StoreError>>()?;
            let changes = match head.get::<_, Option<i64>>(9) {
                Some(id) => Some(PgStore::changeset(tx, id)?),
                None => None,
            };
            Ok(Some(StoredRun { info, recorded_at: head.get(8), results, changes }))
        })
    }

    fn run_results(&self, run_id: &str) -> Result<Option<Vec<TestResult>>, StoreError> {
        Ok(self.run(run_id)?.map(|r| r.results))
    }

    fn runs(&self, limit: usize) -> Result<Vec<RunSummary>, StoreError> {
        let rows = self.query(
            "SELECT run_id, commit_sha, branch, job, time, n_tests, n_pass, n_fail, n_error, n_skip, n_flaky
             FROM runs ORDER BY time DESC, id DESC LIMIT $1",
            &[&(limit as i64)],
        )?;
        Ok(rows
            .iter()
            .map(|r| RunSummary {
                run_id: r.get(0),
                commit: r.get(1),
                branch: r.get(2),
                job: r.get(3),
                time: r.get(4),
                counts: counts_at(r, 5),
            })
            .collect())
    }

    fn history(&self, test: &str, limit: usize) -> Result<Option<Vec<HistoryEntry>>, StoreError> {
        let Some(id) = self.test_id(test)? else { return Ok(None) };
        let rows = self.query(
            "SELECT r.run_id, r.commit_sha, r.time, x.outcome, x.duration_s, x.attempts, x.message
             FROM results x JOIN runs r ON r.id = x.run WHERE x.test = $1
             ORDER BY r.time DESC, r.id DESC LIMIT $2",
            &[&id, &(limit as i64)],
        )?;
        let entries = rows
            .iter()
            .map(|r| {
                Ok(HistoryEntry {
                    run_id: r.get(0),
                    commit: r.get(1),
                    time: r.get(2),
                    outcome: outcome(r.get(3))?,
                    duration_s: r.get(4),
                    attempts: r.get::<_, i64>(5) as u32,
                    message: r.get(6),
                })
            })
            .collect::<Result<_, StoreError>>()?;
        Ok(Some(entries))
    }

    fn selection_stats(&self, from: Option<i64>, to: Option<i64>) -> Result<SelectionStats, StoreError> {
        let (since, until) = (from.unwrap_or(i64::MIN), to.unwrap_or(i64::MAX));
        let r = self.query_one(
            "SELECT COUNT(*), COUNT(*) FILTER (WHERE mode = 'subset'), COUNT(*) FILTER (WHERE mode = 'all'),
                    COUNT(*) FILTER (WHERE observe),
                    COALESCE(SUM(n_selected) FILTER (WHERE mode = 'subset'), 0)::BIGINT,
                    COALESCE(SUM(n_skipped) FILTER (WHERE mode = 'subset'), 0)::BIGINT,
                    COALESCE(SUM(estimated_s) FILTER (WHERE mode = 'subset'), 0)::DOUBLE PRECISION,
                    COALESCE(SUM(total_s) FILTER (WHERE mode = 'subset'), 0)::DOUBLE PRECISION
             FROM selections WHERE created_at >= $1 AND created_at < $2",
            &[&since, &until],
        )?;
        let mut s = SelectionStats {
            selections: count(r.get(0)),
            subsets: count(r.get(1)),
            fell_open: count(r.get(2)),
            observed: count(r.get(3)),
            tests_selected: count(r.get(4)),
            tests_skipped: count(r.get(5)),
            estimated_selected_s: r.get(6),
            estimated_total_s: r.get(7),
            ..SelectionStats::default()
        };
        let r = self.query_one(
            "SELECT COUNT(*), COALESCE(SUM(x.failing), 0)::BIGINT, COALESCE(SUM(x.caught), 0)::BIGINT,
                    COALESCE(SUM(x.unknown), 0)::BIGINT
             FROM selection_runs x JOIN selections s ON s.id = x.selection WHERE s.created_at >= $1 AND s.created_at < $2",
            &[&since, &until],
        )?;
        (s.runs_measured, s.failing, s.caught, s.unknown) =
            (count(r.get(0)), count(r.get(1)), count(r.get(2)), count(r.get(3)));
        let r = self.query_one(
            "SELECT COUNT(*), COUNT(*) FILTER (WHERE m.same_commit), COUNT(*) FILTER (WHERE s.observe)
             FROM misses m JOIN selections s ON s.id = m.selection WHERE s.created_at >= $1 AND s.created_at < $2",
            &[&since, &until],
        )?;
        (s.misses, s.misses_same_commit, s.misses_observed) = (count(r.get(0)), count(r.get(1)), count(r.get(2)));
        // Postgres keeps every selection at once: none is queued, none dropped.
        Ok(s)
    }

    fn replay(&self) -> Result<Replay, StoreError> {
        self.snapshot(|tx| {
            let (mut tests, mut test_files, mut test_suite_lens) = (Vec::new(), Vec::new(), Vec::new());
            let mut test_index = HashMap::new();
            for r in tx.query("SELECT id, name, file, suite_len FROM tests ORDER BY id", &[])? {
                test_index.insert(r.get::<_, i64>(0), tests.len() as u32);
                tests.push(r.get::<_, String>(1));
                test_files.push(r.get::<_, Option<String>>(2));
                test_suite_lens.push(r.get::<_, Option<i64>>(3).map(|n| n as usize));
            }
            let mut changes: HashMap<i64, Vec<ReplayFile>> = HashMap::new();
            for r in
                tx.query("SELECT changeset, path, added, deleted, symbols FROM changes ORDER BY changeset, path", &[])?
            {
                changes.entry(r.get(0)).or_default().push(ReplayFile {
                    path: r.get(1),
                    added: r.get::<_, Option<i64>>(2).unwrap_or(0) as u32,
                    deleted: r.get::<_, Option<i64>>(3).unwrap_or(0) as u32,
                    symbols: symbol_list(r.get(4)),
                });
            }
            let mut runs = Vec::new();
            let mut run_index = HashMap::new();
            for r in tx.query("SELECT id, run_id, time, changeset, commit_sha FROM runs ORDER BY time, id", &[])? {
                run_index.insert(r.get::<_, i64>(0), runs.len());
                let changed = r.get::<_, Option<i64>>(3).map(|c| changes.get(&c).cloned().unwrap_or_default());
                runs.push(ReplayRun {
                    run_id: r.get(1),
                    commit: r.get(4),
                    time: r.get(2),
                    results: Vec::new(),
                    changed,
                });
            }
            for r in tx.query("SELECT run, test, outcome, duration_s, attempts FROM results ORDER BY run, seq", &[])? {
                let (Some(&run), Some(&test)) =
                    (run_index.get(&r.get::<_, i64>(0)), test_index.get(&r.get::<_, i64>(1)))
                else {
                    continue;
                };
                runs[run].results.push(ReplayResult {
                    test,
                    outcome: outcome(r.get(2))?,
                    duration_s: r.get(3),
                    attempts: r.get::<_, i64>(4) as u32,
                });
            }
            Ok(Replay { runs, tests, test_files, test_suite_lens })
        })
    }

    fn test_rows(&self) -> Result<Vec<TestRow>, StoreError> {
        Ok(self.query("SELECT id, name, suite_len, file FROM tests ORDER BY id", &[])?.iter().map(test_row).collect())
    }

    fn test_id(&self, name: &str) -> Result<Option<i64>, StoreError> {
        Ok(self.query_opt("SELECT id FROM tests WHERE name = $1", &[&name])?.map(|r| r.get(0)))
    }

    fn quarantine(&mut self, test: i64, since: i64, reason: Option<&str>) -> Result<bool, StoreError> {
        self.quarantine_pg(test, since, reason)
    }

    fn release(&mut self, test: i64) -> Result<bool, StoreError> {
        self.release_pg(test)
    }

    fn refresh_state(&mut self) -> Result<(), StoreError> {
        self.refresh_state_at_most(REFRESH_WAIT, u64::MAX).map(|_| ())
    }

    fn selection_state(&self) -> Result<Option<StateSnapshot>, StoreError> {
        let Some(meta) = self.state_meta()? else { return Ok(None) };
        let names: HashMap<i64, String> = self.test_rows()?.into_iter().map(|row| (row.id, row.name)).collect();
        let rows = self.query("SELECT test, state FROM test_state", &[])?;
        let mut tests = Vec::with_capacity(rows.len());
        for r in &rows {
            let id: i64 = r.get(0);
            let state = TestState::decode(r.get(1)).ok_or_else(|| StoreError::BadLocation {
                location: self.location.clone(),
                reason: format!("the counters of test {id} cannot be read"),
            })?;
            tests.push(TestCounters {
                test: names.get(&id).cloned().unwrap_or_default(),
                // Run ids are the store's own numbers: the counters are compared without them.
                packed: TestState { last_run: RunKey { time: state.last_run.time, id: 0 }, ..state }.encode(),
            });
        }
        tests.sort();
        Ok(Some(StateSnapshot { runs: meta.runs, tests }))
    }

    fn create_token(&mut self, name: &str, scopes: &[Scope], hash: &str, now: i64) -> Result<i64, StoreError> {
        let scopes = scopes.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(",");
        self.create_token_pg(name, &scopes, hash, now)
    }

    fn token_by_hash(&self, hash: &str) -> Result<Option<Token>, StoreError> {
        Ok(self
            .query_opt(
                "SELECT id, name, scopes, created_at, revoked_at FROM tokens WHERE hash = $1 AND revoked_at IS NULL",
                &[&hash],
            )?
            .as_ref()
            .map(token_row))
    }

    fn tokens(&self) -> Result<Vec<Token>, StoreError> {
        Ok(self
            .query("SELECT id, name, scopes, created_at, revoked_at FROM tokens ORDER BY id", &[])?
            .iter()
            .map(token_row)
            .collect())
    }

    fn revoke_token(&mut self, which: &str, now: i64) -> Result<bool, StoreError> {
        self.revoke_token_pg(which, now)
    }

    fn refresh_state_at_most(&mut self, wait: Duration, max_results: u64) -> Result<Refreshed, StoreError> {
        // The common case, read-only: nothing new since the last refresh (one round trip).
        let r = self.query_one(
            "SELECT m.runs, m.last_time, m.last_run,
                    (SELECT COUNT(*) FROM runs WHERE (time, id) <= (m.last_time, m.last_run)), n.time, n.id
             FROM (SELECT 1) one LEFT JOIN state_meta m ON m.id = 1
             LEFT JOIN LATERAL (SELECT time, id FROM runs ORDER BY time DESC, id DESC LIMIT 1) n ON true",
            &[],
        )?;
        let current = match (r.get::<_, Option<i64>>(0), r.get::<_, Option<i64>>(1), r.get::<_, Option<i64>>(2)) {
            (Some(runs), Some(time), Some(id)) => {
                let newest = r.get::<_, Option<i64>>(4).zip(r.get::<_, Option<i64>>(5));
                newest == Some((time, id)) && r.get::<_, i64>(3) == runs
            }
            _ => false,
        };
        if current {
            return Ok(Refreshed::default());
        }
        let location = self.location.clone();
        let (tx, locked) = self.write_within(wait)?;
        if !locked {
            // Not taken in: the caller goes on with the state as it is, knowing it is behind
            // (a selection then runs the tests that failed in the runs after it).
            return Err(StoreError::Busy { location });
        }
        let mut tx = PgStateTx::new(tx);
        let refreshed = crate::select::take_in_new_runs(&mut tx, max_results, |_, _| Ok(0))?;
        if refreshed.deferred.is_none() {
            tx.tx.commit()?;
        }
        Ok(refreshed)
    }

    fn state_meta(&self) -> Result<Option<StateMeta>, StoreError> {
        Ok(self.query_opt(super::state::META, &[])?.as_ref().map(super::state::meta_row))
    }

    fn failed_after(&self, key: RunKey) -> Result<Vec<i64>, StoreError> {
        // The runs first, then their results by the primary key's prefix: in one statement the
        // planner scanned every result (100 ms on a million).
        let runs: Vec<i64> = self
            .query("SELECT id FROM runs WHERE (time, id) > ($1, $2)", &[&key.time, &key.id])?
            .iter()
            .map(|r| r.get(0))
            .collect();
        let rows =
            self.query("SELECT DISTINCT test FROM results WHERE run = ANY($1) AND outcome IN (1, 2)", &[&runs])?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }

    fn latest_runs_with_results(&self, n: usize) -> Result<Vec<RunKey>, StoreError> {
        let rows = self.query(
            "SELECT time, id FROM runs WHERE n_tests > 0 ORDER BY time DESC, id DESC LIMIT $1",
            &[&(n as i64)],
        )?;
        Ok(rows.iter().map(|r| RunKey { time: r.get(0), id: r.get(1) }).collect())
    }

    fn tests_last_run_in(&self, runs: &[i64]) -> Result<Vec<(TestRow, TestState)>, StoreError> {
        if runs.is_empty() {
            return Ok(vec![]);
        }
        let rows = self.query(
            "SELECT t.id, t.name, t.suite_len, t.file, s.state
             FROM test_state s JOIN tests t ON t.id = s.test WHERE s.last_run = ANY($1) ORDER BY t.id",
            &[&runs],
        )?;
        rows.iter()
            .map(|r| {
                let row = test_row(r);
                let state = TestState::decode(r.get(4)).ok_or_else(|| StoreError::BadLocation {
                    location: self.location.clone(),
                    reason: format!("the counters of test {} cannot be read", row.id),
                })?;
                Ok((row, state))
            })
            .collect()
    }

    fn quarantined(&self) -> Result<Vec<(i64, i64, Option<String>)>, StoreError> {
        let rows = self.query("SELECT test, since, reason FROM quarantine ORDER BY test", &[])?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1), r.get(2))).collect())
    }

    fn has_run(&self, run_id: &str) -> Result<bool, StoreError> {
        Ok(self.query_one("SELECT EXISTS (SELECT 1 FROM runs WHERE run_id = $1)", &[&run_id])?.get(0))
    }

    fn run_count(&self) -> Result<u64, StoreError> {
        Ok(count(self.query_one("SELECT COUNT(*) FROM runs", &[])?.get(0)))
    }

    fn recent_judgements(&self, window: usize, exclude_model: &str) -> Result<(u64, u64), StoreError> {
        let r = self.query_one(
            "WITH recent AS (SELECT id FROM runs ORDER BY time DESC, id DESC LIMIT $1)
             SELECT (SELECT COALESCE(SUM(x.caught), 0)::BIGINT FROM selection_runs x JOIN selections s ON s.id = x.selection
                     WHERE x.run IN (SELECT id FROM recent) AND s.mode = 'subset' AND s.model IS DISTINCT FROM $2),
                    (SELECT COUNT(*) FROM misses m JOIN selections s ON s.id = m.selection
                     WHERE m.run IN (SELECT id FROM recent) AND s.mode = 'subset' AND s.model IS DISTINCT FROM $2)",
            &[&(window as i64), &exclude_model],
        )?;
        Ok((count(r.get(0)), count(r.get(1))))
    }

    fn failed_in_latest_run_of(&self, commit: &str) -> Result<Vec<i64>, StoreError> {
        let Some(run) = self.query_opt(
            "SELECT id FROM runs WHERE commit_sha = $1 AND n_tests > 0 ORDER BY time DESC, id DESC LIMIT 1",
            &[&commit],
        )?
        else {
            return Ok(vec![]);
        };
        let run: i64 = run.get(0);
        let rows = self.query("SELECT test FROM results WHERE run = $1 AND outcome IN (1, 2)", &[&run])?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }

    fn cofail_rows(&self, keys: &[String]) -> Result<CoFailRows, StoreError> {
        let mut out = CoFailRows::default();
        if keys.is_empty() {
            return Ok(out);
        }
        let found = self.query("SELECT id, key, changed FROM cofail_keys WHERE key = ANY($1)", &[&keys])?;
        let mut at: HashMap<i64, usize> = HashMap::new();
        // In the order the keys were asked for, as SQLite's answers.
        let by_key: HashMap<String, (i64, i64)> =
            found.iter().map(|r| (r.get::<_, String>(1), (r.get::<_, i64>(0), r.get::<_, i64>(2)))).collect();
        for key in keys {
            if let Some(&(id, changed)) = by_key.get(key) {
                if at.contains_key(&id) {
                    continue;
                }
                at.insert(id, out.keys.len());
                out.keys.push((key.clone(), changed as u32));
            }
        }
        let ids: Vec<i64> = at.keys().copied().collect();
        let rows =
            self.query("SELECT key, test, failed FROM cofail WHERE key = ANY($1) ORDER BY key, test", &[&ids])?;
        for r in rows {
            out.failed.push((at[&r.get::<_, i64>(0)], r.get(1), r.get::<_, i64>(2) as u32));
        }
        out.failed.sort_by_key(|&(k, t, _)| (k, t));
        Ok(out)
    }

    fn coverage_commits(&self) -> Result<Vec<CoverageCommit>, StoreError> {
        let rows = self.query(
            "SELECT c.commit_sha,
                    (SELECT COUNT(*) FROM coverage_runs r WHERE r.commit_sha = c.commit_sha),
                    c.recorded_at,
                    (SELECT COUNT(*) FROM coverage_lines l WHERE l.commit_sha = c.commit_sha)
             FROM coverage_commits c ORDER BY c.recorded_at DESC, c.commit_sha",
            &[],
        )?;
        Ok(rows
            .iter()
            .map(|r| CoverageCommit {
                commit: r.get(0),
                tests: count(r.get(1)) as usize,
                recorded_at: r.get(2),
                files: count(r.get(3)) as usize,
            })
            .collect())
    }

    fn coverage_commit_set(&self) -> Result<HashSet<String>, StoreError> {
        Ok(self.query("SELECT commit_sha FROM coverage_commits", &[])?.iter().map(|r| r.get(0)).collect())
    }

    fn coverage_at(&self, commit: &str, paths: &[&str]) -> Result<CoverageAt, StoreError> {
        let mut at = CoverageAt::default();
        for r in self.query("SELECT test FROM coverage_runs WHERE commit_sha = $1", &[&commit])? {
            at.tests.insert(r.get(0));
        }
        for &path in paths {
            let Some(lines) = self.query_opt(
                "SELECT l.lines FROM coverage_lines l JOIN coverage_files f ON f.id = l.file
                 WHERE l.commit_sha = $1 AND f.path = $2",
                &[&commit, &path],
            )?
            else {
                continue;
            };
            at.executable.insert(path.to_string(), unpack_lines(lines.get(0)));
            let hits = self.query(
                "SELECT r.test, h.lines, h.unrun FROM coverage_files f JOIN coverage_hits h ON h.file = f.id
                 JOIN coverage_runs r ON r.id = h.coverage WHERE f.path = $2 AND r.commit_sha = $1 ORDER BY r.id",
                &[&commit, &path],
            )?;
            for r in &hits {
                if let Some(spans) = r.get::<_, Option<&[u8]>>(2) {
                    at.unrun.entry(path.to_string()).or_default().insert(r.get(0), crate::store::unpack_spans(spans));
                }
            }
            at.hits.insert(path.to_string(), hits.iter().map(|r| (r.get(0), unpack_lines(r.get(1)))).collect());
        }
        Ok(at)
    }

    fn keep_selection(&mut self, selection: &NewSelection, wait: Duration) -> Result<(), String> {
        self.keep_selection_pg(selection, wait)
            .map_err(|e| format!("the selection was not kept for bookkeeping: {}", crate::collect::chain(&e)))
    }

    fn location(&self) -> String {
        self.location.clone()
    }

    fn schema_version(&self) -> Result<i64, StoreError> {
        Ok(self.query_one("SELECT COALESCE(MAX(version), 0) FROM seer_schema", &[])?.get(0))
    }

    fn stats(&self) -> Result<StoreStats, StoreError> {
        self.snapshot(|tx| {
            let r = tx.query_one("SELECT COUNT(*), MIN(time), MAX(time) FROM runs", &[])?;
            let (runs, first_run, last_run) = (count(r.get(0)), r.get(1), r.get(2));
            let r = tx.query_one(
                "SELECT COALESCE(SUM(n_tests), 0)::BIGINT, COALESCE(SUM(n_pass), 0)::BIGINT, COALESCE(SUM(n_fail), 0)::BIGINT,
                        COALESCE(SUM(n_error), 0)::BIGINT, COALESCE(SUM(n_skip), 0)::BIGINT, COALESCE(SUM(n_flaky), 0)::BIGINT
                 FROM runs",
                &[],
            )?;
            let results = counts_at(&r, 0);
            let mut one = |sql: &str| -> Result<u64, StoreError> { Ok(count(tx.query_one(sql, &[])?.get(0))) };
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
        })
    }

    fn misses(&self, from: Option<i64>, to: Option<i64>, limit: usize) -> Result<Vec<Miss>, StoreError> {
        let rows = self.query(
            "SELECT t.name, r.run_id, r.commit_sha, r.time, s.commit_sha, m.same_commit, s.observe
             FROM misses m JOIN runs r ON r.id = m.run JOIN tests t ON t.id = m.test
                 JOIN selections s ON s.id = m.selection
             WHERE s.created_at >= $1 AND s.created_at < $2 ORDER BY r.time DESC, r.id DESC, t.name LIMIT $3",
            &[&from.unwrap_or(i64::MIN), &to.unwrap_or(i64::MAX), &(limit as i64)],
        )?;
        Ok(rows
            .iter()
            .map(|r| Miss {
                test: r.get(0),
                run_id: r.get(1),
                commit: r.get(2),
                time: r.get(3),
                selection_commit: r.get(4),
                same_commit: r.get(5),
                observed: r.get(6),
            })
            .collect())
    }

    fn runs_between(&self, from: i64, to: i64) -> Result<(u64, u64), StoreError> {
        let r = self.query_one(
            "SELECT COUNT(*), COUNT(*) FILTER (WHERE n_fail + n_error > 0) FROM runs WHERE time >= $1 AND time < $2",
            &[&from, &to],
        )?;
        Ok((count(r.get(0)), count(r.get(1))))
    }

    fn judgements(&self, from: i64, to: i64) -> Result<Judgements, StoreError> {
        let r = self.query_one(
            "SELECT COUNT(*), COUNT(*) FILTER (WHERE x.failing > 0), COUNT(*) FILTER (WHERE x.failing > 0 AND x.caught > 0),
                    COALESCE(SUM(x.failing), 0)::BIGINT, COALESCE(SUM(x.caught), 0)::BIGINT,
                    COALESCE(SUM(x.missed), 0)::BIGINT, COALESCE(SUM(x.unknown), 0)::BIGINT
             FROM selection_runs x JOIN runs r ON r.id = x.run WHERE r.time >= $1 AND r.time < $2",
            &[&from, &to],
        )?;
        let n = |i: usize| count(r.get(i));
        Ok(Judgements {
            runs: n(0),
            faulty: n(1),
            faulty_caught: n(2),
            failing: n(3),
            caught: n(4),
            missed: n(5),
            unknown: n(6),
        })
    }

    fn days(&self, from: i64, to: i64) -> Result<Vec<Day>, StoreError> {
        let mut days = DayBuckets::new(from, to);
        for r in self.query(
            "SELECT time, n_fail + n_error > 0 FROM runs WHERE time >= $1 AND time < $2 AND n_tests > 0",
            &[&from, &to],
        )? {
            days.run(r.get(0), r.get(1));
        }
        for r in self.query(
            "SELECT created_at, n_selected, n_skipped, estimated_s, total_s FROM selections
             WHERE mode = 'subset' AND created_at >= $1 AND created_at < $2",
            &[&from, &to],
        )? {
            days.selection(r.get(0), r.get(1), r.get(2), r.get(3), r.get(4));
        }
        for r in self.query(
            "SELECT r.time FROM misses m JOIN runs r ON r.id = m.run WHERE r.time >= $1 AND r.time < $2",
            &[&from, &to],
        )? {
            days.miss(r.get(0));
        }
        Ok(days.days)
    }

    fn most_failing(&self, from: i64, to: i64, limit: usize) -> Result<Vec<TestCount>, StoreError> {
        self.test_counts(from, to, limit, false)
    }

    fn most_retried(&self, from: i64, to: i64, limit: usize) -> Result<Vec<TestCount>, StoreError> {
        self.test_counts(from, to, limit, true)
    }

    fn slowest(&self, from: i64, to: i64, limit: usize) -> Result<Vec<SlowTest>, StoreError> {
        let top = self.query(
            "SELECT x.test, t.name, AVG(x.duration_s) AS d, COUNT(*) FROM runs r JOIN results x ON x.run = r.id
             JOIN tests t ON t.id = x.test
             WHERE r.time >= $1 AND r.time < $2 AND x.duration_s IS NOT NULL AND x.outcome <> 3
             GROUP BY x.test, t.name ORDER BY d DESC, t.name LIMIT $3",
            &[&from, &to, &(limit as i64)],
        )?;
        let mut out = Vec::with_capacity(top.len());
        for r in top {
            let id: i64 = r.get(0);
            let previous_mean_s: Option<f64> = self
                .query_one(
                    "SELECT AVG(x.duration_s) FROM runs r JOIN results x ON x.run = r.id
                     WHERE r.time >= $1 AND r.time < $2 AND x.test = $3 AND x.duration_s IS NOT NULL AND x.outcome <> 3",
                    &[&(from - (to - from)), &from, &id],
                )?
                .get(0);
            out.push(SlowTest { test: r.get(1), mean_s: r.get(2), runs: count(r.get(3)), previous_mean_s });
        }
        Ok(out)
    }

    fn record_coverage(&mut self, commit: &str, tests: &[TestCoverage]) -> Result<CoverageRecorded, StoreError> {
        self.record_coverage_pg(commit, tests)
    }

    fn record_profiles(&mut self, profiles: &[NewProfile], replace: bool) -> Result<Vec<RecordStatus>, StoreError> {
        self.record_profiles_pg(profiles, replace)
    }

    fn benches(&self) -> Result<Vec<(String, u64, u64)>, StoreError> {
        let rows = self.query(
            "SELECT bench, COUNT(*), COUNT(DISTINCT commit_sha) FROM profiles GROUP BY bench ORDER BY bench",
            &[],
        )?;
        Ok(rows.iter().map(|r| (r.get(0), count(r.get(1)), count(r.get(2)))).collect())
    }

    fn profile_runs(&self, bench: &str) -> Result<Vec<ProfileRun>, StoreError> {
        let rows = self.query(
            "SELECT id, bench, run_id, commit_sha, time, time_given, samples, source, sample_count
             FROM profiles WHERE bench = $1 ORDER BY id",
            &[&bench],
        )?;
        Ok(rows.iter().map(profile_row).collect())
    }

    fn frame_samples(&self, profiles: &[i64]) -> Result<Vec<FrameSamples>, StoreError> {
        let rows = self.query(
            "SELECT profile, frame, self_samples, total_samples FROM profile_frames WHERE profile = ANY($1)
             ORDER BY profile, frame",
            &[&profiles],
        )?;
        let mut out: Vec<FrameSamples> = rows
            .iter()
            .map(|r| FrameSamples {
                profile: r.get(0),
                frame: r.get(1),
                self_samples: count(r.get(2)),
                total_samples: count(r.get(3)),
            })
            .collect();
        // In the order the profiles were asked for.
        let order: HashMap<i64, usize> = profiles.iter().enumerate().map(|(i, &p)| (p, i)).collect();
        out.sort_by_key(|f| (order.get(&f.profile).copied().unwrap_or(usize::MAX), f.frame));
        Ok(out)
    }

    fn frame_names(&self, ids: &[i64]) -> Result<HashMap<i64, String>, StoreError> {
        Ok(self
            .query("SELECT id, name FROM frames WHERE id = ANY($1)", &[&ids])?
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect())
    }

    fn merged_stack_ids(&self, profiles: &[i64]) -> Result<Vec<(Vec<i64>, u64)>, StoreError> {
        let rows = self.query(
            "SELECT s.frames, SUM(p.samples)::BIGINT FROM profile_stacks p JOIN stacks s ON s.id = p.stack
             WHERE p.profile = ANY($1) GROUP BY s.frames",
            &[&profiles],
        )?;
        Ok(rows
            .iter()
            .map(|r| (unpack_lines(r.get(0)).iter().map(|&id| i64::from(id)).collect(), count(r.get(1))))
            .collect())
    }

    fn coverage_tests(&self, commit: &str) -> Result<Vec<TestCoverage>, StoreError> {
        let tests = self
            .query("SELECT test FROM coverage_runs WHERE commit_sha = $1 ORDER BY test", &[&commit])?
            .iter()
            .map(|r| r.get(0))
            .collect();
        let executable = self
            .query(
                "SELECT f.path, l.lines FROM coverage_lines l JOIN coverage_files f ON f.id = l.file WHERE l.commit_sha = $1",
                &[&commit],
            )?
            .iter()
            .map(|r| (r.get(0), unpack_lines(r.get(1))))
            .collect();
        let hits = self
            .query(
                "SELECT r.test, f.path, h.lines, h.unrun FROM coverage_runs r JOIN coverage_hits h ON h.coverage = r.id
                 JOIN coverage_files f ON f.id = h.file WHERE r.commit_sha = $1",
                &[&commit],
            )?
            .iter()
            .map(|r| {
                let unrun = r.get::<_, Option<&[u8]>>(3).map(crate::store::unpack_spans).unwrap_or_default();
                (r.get(0), r.get(1), unpack_lines(r.get(2)), unrun)
            })
            .collect();
        Ok(crate::store::coverage_as_recorded(tests, executable, hits))
    }

    fn kept_selections(&self) -> Result<Vec<KeptSelection>, StoreError> {
        let rows = self.query(
            "SELECT s.commit_sha, s.base, s.created_at, s.mode, s.observe, s.reason, s.model, s.threshold,
                    s.shard_index, s.shard_count, s.estimated_s, s.total_s, s.selected, s.skipped, r.run_id
             FROM selections s LEFT JOIN runs r ON r.id = s.after_run ORDER BY s.id",
            &[],
        )?;
        let ids = |blob: &[u8]| unpack_lines(blob).into_iter().map(i64::from).collect();
        Ok(rows
            .iter()
            .map(|r| KeptSelection {
                selection: NewSelection {
                    commit: r.get(0),
                    base: r.get(1),
                    created_at: r.get(2),
                    subset: r.get::<_, &str>(3) == "subset",
                    observe: r.get(4),
                    reason: r.get(5),
                    model: r.get(6),
                    threshold: r.get(7),
                    shard: r
                        .get::<_, Option<i64>>(8)
                        .zip(r.get::<_, Option<i64>>(9))
                        .map(|(i, n)| (i as usize, n as usize)),
                    estimated_s: r.get(10),
                    total_s: r.get(11),
                    selected: ids(r.get(12)),
                    skipped: ids(r.get(13)),
                },
                after_run: r.get(14),
            })
            .collect())
    }

    fn put_selection(&mut self, selection: &NewSelection, after_run: Option<&str>) -> Result<(), StoreError> {
        self.put_selection_pg(selection, after_run)
    }

    fn token_records(&self) -> Result<Vec<TokenRecord>, StoreError> {
        Ok(self
            .query("SELECT name, scopes, hash, created_at, revoked_at FROM tokens ORDER BY id", &[])?
            .iter()
            .map(|r| TokenRecord {
                name: r.get(0),
                scopes: crate::store::scopes_of(r.get(1)),
                hash: r.get(2),
                created_at: r.get(3),
                revoked_at: r.get(4),
            })
            .collect())
    }

    fn put_token(&mut self, t: &TokenRecord) -> Result<(), StoreError> {
        let scopes = t.scopes.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(",");
        self.client.get_mut().execute(
            "INSERT INTO tokens (name, hash, scopes, created_at, revoked_at) VALUES ($1, $2, $3, $4, $5)",
            &[&t.name, &t.hash, &scopes, &t.created_at, &t.revoked_at],
        )?;
        Ok(())
    }

    fn connection_lost(&self) -> bool {
        self.client.borrow().is_closed()
    }

    fn holds_models(&self) -> bool {
        true
    }

    fn model_names(&self) -> Result<Vec<String>, StoreError> {
        Ok(self.query("SELECT name FROM models ORDER BY name", &[])?.iter().map(|r| r.get(0)).collect())
    }

    fn model(&self, name: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.query_opt("SELECT body FROM models WHERE name = $1", &[&name])?.map(|r| r.get(0)))
    }

    fn put_model(&mut self, name: &str, body: &[u8], created_at: i64) -> Result<(), StoreError> {
        self.client.get_mut().execute(
            "INSERT INTO models (name, body, created_at) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING",
            &[&name, &body, &created_at],
        )?;
        Ok(())
    }

    fn merged_stacks(&self, profiles: &[i64]) -> Result<Vec<(Vec<String>, u64)>, StoreError> {
        let stacks = self.merged_stack_ids(profiles)?;
        let ids: Vec<i64> =
            stacks.iter().flat_map(|(s, _)| s.iter().copied()).collect::<HashSet<_>>().into_iter().collect();
        let names = self.frame_names(&ids)?;
        Ok(stacks
            .into_iter()
            .map(|(ids, n)| (ids.iter().map(|id| names.get(id).cloned().unwrap_or_default()).collect(), n))
            .collect())
    }
}
