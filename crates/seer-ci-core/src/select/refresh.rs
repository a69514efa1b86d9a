//! Keeping the selection state current: the runs stored since the last refresh are taken in, in
//! history order, updating each test's counters, the co-failure counts, and the bookkeeping of
//! selections (which run answered which selection, and which skipped tests failed later).
//!
//! The state is derived from the runs alone; when the store's writer has dropped it (a run stored
//! out of order, a replaced run) or it disagrees with the runs, it is rebuilt from the first run.
//! One refresh is one transaction: a killed refresh leaves the previous state.

use std::time::Duration;

use hashbrown::{HashMap, HashSet};

use crate::features::TestState;
use crate::features::{change_keys, observe};
use crate::store::{Judged, RunKey, SelectionRow, StateMeta, StateRun, StateTx, Store, StoreError};

/// What a refresh did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Refreshed {
    /// Runs taken in.
    pub runs: usize,
    /// Whether the state was rebuilt from the first run.
    pub rebuilt: bool,
    /// Queued selections folded in.
    pub selections: usize,
    /// Nothing was taken in: the new runs hold this many results, more than asked to take in.
    pub deferred: Option<u64>,
}

/// What a refresh reads and writes, inside one write transaction of a backend (SQLite's
/// `StateTx`, the Postgres store's transaction): the refresh itself is the same for both.
pub trait StateWrite {
    fn meta(&mut self) -> Result<Option<StateMeta>, StoreError>;
    /// How many runs come up to `key` in history order, it included.
    fn runs_through(&mut self, key: RunKey) -> Result<u64, StoreError>;
    /// Drops the whole state and its bookkeeping.
    fn clear(&mut self) -> Result<(), StoreError>;
    fn set_meta(&mut self, runs: u64, last: RunKey) -> Result<(), StoreError>;
    /// Results of the runs after `after` (all runs when `None`).
    fn results_after(&mut self, after: Option<RunKey>) -> Result<u64, StoreError>;
    /// The runs after `after` in history order: key, commit, change set.
    fn runs_after(&mut self, after: Option<RunKey>) -> Result<Vec<(RunKey, String, Option<i64>)>, StoreError>;
    fn state_run(&mut self, key: RunKey, commit: String, changeset: Option<i64>) -> Result<StateRun, StoreError>;
    fn test_states(&mut self) -> Result<HashMap<i64, TestState>, StoreError>;
    /// Writes the counters of the tests the refresh touched: called once, at the end, before
    /// `set_meta` (a backend may keep the co-failure counts until then).
    fn put_test_states(&mut self, states: &mut dyn Iterator<Item = (i64, &TestState)>) -> Result<(), StoreError>;
    /// Counts a run that changed `key`; the key's id.
    fn count_change(&mut self, key: &str) -> Result<i64, StoreError>;
    fn count_failure(&mut self, key: i64, test: i64) -> Result<(), StoreError>;
    /// The kept selections in the order they were made.
    fn selections(&mut self) -> Result<Vec<SelectionRow>, StoreError>;
    /// A selection's selected and skipped tests, each ascending.
    fn selection_tests(&mut self, id: i64) -> Result<(Vec<u32>, Vec<u32>), StoreError>;
    fn put_selection_run(&mut self, run: i64, selection: i64, judged: Judged) -> Result<(), StoreError>;
    fn put_miss(&mut self, run: i64, test: i64, selection: i64, same_commit: bool) -> Result<(), StoreError>;
}

/// Takes every run stored since the state's last one into the state, waiting at most `busy` for
/// other writers to let go of the store.
pub fn refresh(store: &mut Store, busy: Duration) -> Result<Refreshed, StoreError> {
    refresh_at_most(store, busy, u64::MAX)
}

/// [`refresh`], unless the new runs hold more than `max_results` results: then it takes nothing
/// in and says how many there are (`seer select` leaves that much work to the writer).
pub fn refresh_at_most(store: &mut Store, busy: Duration, max_results: u64) -> Result<Refreshed, StoreError> {
    let pending = store.pending_selections();
    // The common case, read-only: nothing new since the last refresh.
    if pending.is_empty() && store.state_is_current()? {
        return Ok(Refreshed::default());
    }
    let mut tx = store.state_transaction(busy)?;
    let mut folded = None;
    let refreshed = take_in_new_runs(&mut tx, max_results, |tx, after| {
        // Selections queued while the lock was busy come first: the runs below may answer them.
        let f = tx.fold_pending(&pending, after)?;
        let kept = f.kept;
        folded = Some(f);
        Ok(kept)
    })?;
    if refreshed.deferred.is_some() {
        return Ok(refreshed);
    }
    tx.commit()?;
    if let Some(folded) = folded {
        store.remove_folded(&folded);
    }
    Ok(refreshed)
}

/// The refresh inside a backend's write transaction `tx` (which the caller commits, unless the
/// answer says `deferred`). `fold` keeps selections that were queued before the runs after
/// `after` are taken in, and says how many it kept.
pub fn take_in_new_runs<T: StateWrite>(
    tx: &mut T,
    max_results: u64,
    fold: impl FnOnce(&mut T, Option<RunKey>) -> Result<usize, StoreError>,
) -> Result<Refreshed, StoreError> {
    let meta = tx.meta()?;
    let current = match meta {
        Some(m) => tx.runs_through(m.last)? == m.runs,
        None => false,
    };
    let (mut states, after, mut taken, rebuilt) = match meta {
        Some(m) if current => (tx.test_states()?, Some(m.last), m.runs, false),
        _ => {
            tx.clear()?;
            (HashMap::new(), None, 0, true)
        }
    };
    let results = tx.results_after(after)?;
    if results > max_results {
        return Ok(Refreshed { deferred: Some(results), ..Refreshed::default() });
    }
    let kept = fold(tx, after)?;
    let runs = tx.runs_after(after)?;
    let selections = tx.selections()?;
    let mut books = Bookkeeping::new(selections);
    let mut touched: HashSet<i64> = HashSet::new();
    let mut last = after;
    for (key, commit, changeset) in &runs {
        let run = tx.state_run(*key, commit.clone(), *changeset)?;
        books.judge(tx, &run, &states)?;
        take_in(tx, &run, &mut states, &mut touched)?;
        taken += 1;
        last = Some(*key);
    }
    tx.put_test_states(&mut touched.iter().map(|id| (*id, &states[id])))?;
    if let Some(last) = last {
        tx.set_meta(taken, last)?;
    }
    Ok(Refreshed { runs: runs.len(), rebuilt, selections: kept, deferred: None })
}

/// Counts one run into the counters and the co-failure tables.
fn take_in(
    tx: &mut impl StateWrite,
    run: &StateRun,
    states: &mut HashMap<i64, TestState>,
    touched: &mut HashSet<i64>,
) -> Result<(), StoreError> {
    let ran = run.results.iter().filter(|(_, o, _)| *o != crate::collect::Outcome::Skip);
    if let Some(changed) = &run.changed {
        let keys: Vec<i64> = change_keys(changed).iter().map(|k| tx.count_change(k)).collect::<Result<_, _>>()?;
        for (test, _, _) in ran.clone().filter(|(_, o, _)| o.is_failure()) {
            for &key in &keys {
                tx.count_failure(key, *test)?;
            }
        }
    }
    for (test, outcome, duration) in ran {
        observe(states.entry(*test).or_default(), outcome.is_failure(), *duration, run.changed.is_some(), run.key);
        touched.insert(*test);
    }
    Ok(())
}

/// Measures runs against the selections made before them.
struct Bookkeeping {
    /// Selections in the order they were made.
    selections: Vec<SelectionRow>,
    /// Selected and skipped tests of the selections read so far.
    tests: HashMap<i64, (Vec<u32>, Vec<u32>)>,
}

/// Whether a selection was made before `run` (between an earlier run and it).
fn made_before(s: &SelectionRow, run: RunKey) -> bool {
    s.after.is_none_or(|a| a < run)
}

impl Bookkeeping {
    fn new(selections: Vec<SelectionRow>) -> Self {
        Bookkeeping { selections, tests: HashMap::new() }
    }

    fn tests_of(&mut self, tx: &mut impl StateWrite, id: i64) -> Result<&(Vec<u32>, Vec<u32>), StoreError> {
        if !self.tests.contains_key(&id) {
            let tests = tx.selection_tests(id)?;
            self.tests.insert(id, tests);
        }
        Ok(&self.tests[&id])
    }

    /// Links `run` to the latest selection of its commit made before it, and records a miss for
    /// each failing test that a selection made since the test's previous execution skipped.
    /// `states` are the counters before this run.
    fn judge(
        &mut self,
        tx: &mut impl StateWrite,
        run: &StateRun,
        states: &HashMap<i64, TestState>,
    ) -> Result<(), StoreError> {
        if self.selections.is_empty() {
            return Ok(());
        }
        let failing: Vec<i64> = run.results.iter().filter(|(_, o, _)| o.is_failure()).map(|(t, _, _)| *t).collect();
        let own = self.selections.iter().rev().find(|s| s.commit == run.commit && made_before(s, run.key)).cloned();
        if let Some(s) = &own {
            let (selected, skipped) = self.tests_of(tx, s.id)?;
            let has = |list: &[u32], t: i64| list.binary_search(&(t as u32)).is_ok();
            let caught = failing.iter().filter(|&&t| has(selected, t)).count();
            let missed = if s.subset { failing.iter().filter(|&&t| has(skipped, t)).count() } else { 0 };
            let judged = Judged { failing: failing.len(), caught, missed, unknown: failing.len() - caught - missed };
            tx.put_selection_run(run.key.id, s.id, judged)?;
        }
        for &test in &failing {
            // Selections made after the test last ran, and before this run.
            let since = states.get(&test).filter(|s| s.execs > 0).map(|s| s.last_run);
            let window: Vec<SelectionRow> = self
                .selections
                .iter()
                .filter(|s| {
                    s.subset && made_before(s, run.key) && since.is_none_or(|e| s.after.is_some_and(|a| a >= e))
                })
                .cloned()
                .collect();
            let mut culprit: Option<&SelectionRow> = None;
            for s in &window {
                let (_, skipped) = self.tests_of(tx, s.id)?;
                if skipped.binary_search(&(test as u32)).is_ok() {
                    // The selection for the run's own commit, else the first that skipped it.
                    let better = match culprit {
                        None => true,
                        Some(c) => c.commit != run.commit && s.commit == run.commit,
                    };
                    if better {
                        culprit = Some(s);
                    }
                }
            }
            if let Some(s) = culprit {
                tx.put_miss(run.key.id, test, s.id, s.commit == run.commit)?;
            }
        }
        Ok(())
    }
}

/// SQLite's refresh transaction.
impl StateWrite for StateTx<'_> {
    fn meta(&mut self) -> Result<Option<StateMeta>, StoreError> {
        StateTx::meta(self)
    }
    fn runs_through(&mut self, key: RunKey) -> Result<u64, StoreError> {
        StateTx::runs_through(self, key)
    }
    fn clear(&mut self) -> Result<(), StoreError> {
        StateTx::clear(self)
    }
    fn set_meta(&mut self, runs: u64, last: RunKey) -> Result<(), StoreError> {
        StateTx::set_meta(self, runs, last)
    }
    fn results_after(&mut self, after: Option<RunKey>) -> Result<u64, StoreError> {
        StateTx::results_after(self, after)
    }
    fn runs_after(&mut self, after: Option<RunKey>) -> Result<Vec<(RunKey, String, Option<i64>)>, StoreError> {
        StateTx::runs_after(self, after)
    }
    fn state_run(&mut self, key: RunKey, commit: String, changeset: Option<i64>) -> Result<StateRun, StoreError> {
        StateTx::state_run(self, key, commit, changeset)
    }
    fn test_states(&mut self) -> Result<HashMap<i64, TestState>, StoreError> {
        StateTx::test_states(self)
    }
    fn put_test_states(&mut self, states: &mut dyn Iterator<Item = (i64, &TestState)>) -> Result<(), StoreError> {
        StateTx::put_test_states(self, states)
    }
    fn count_change(&mut self, key: &str) -> Result<i64, StoreError> {
        StateTx::count_change(self, key)
    }
    fn count_failure(&mut self, key: i64, test: i64) -> Result<(), StoreError> {
        StateTx::count_failure(self, key, test)
    }
    fn selections(&mut self) -> Result<Vec<SelectionRow>, StoreError> {
        StateTx::selections(self)
    }
    fn selection_tests(&mut self, id: i64) -> Result<(Vec<u32>, Vec<u32>), StoreError> {
        StateTx::selection_tests(self, id)
    }
    fn put_selection_run(&mut self, run: i64, selection: i64, judged: Judged) -> Result<(), StoreError> {
        StateTx::put_selection_run(self, run, selection, judged)
    }
    fn put_miss(&mut self, run: i64, test: i64, selection: i64, same_commit: bool) -> Result<(), StoreError> {
        StateTx::put_miss(self, run, test, selection, same_commit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collect::git::{ChangeKind, ChangeSet, CommitInfo, FileChange};
    use crate::collect::{CollectedRun, Outcome, RunInfo, TestResult};
    use crate::features::{CoFailure, all_features};
    use crate::select::score::{Candidate, feature_rows};
    use crate::select::selection::TestRef;
    use crate::store::{CoFailRows, ReplayFile, ReplayResult, ReplayRun};

    const FILES: [&str; 3] = ["src/a.rs", "src/b.rs", "src/c.rs"];

    fn change(k: usize, files: &[&str]) -> ChangeSet {
        ChangeSet {
            commit: CommitInfo {
                sha: format!("c{k}"),
                parents: vec![],
                author: "a".into(),
                time: 0,
                summary: String::new(),
            },
            base: Some(format!("c{}", k.saturating_sub(1))),
            files: files
                .iter()
                .map(|p| FileChange {
                    path: p.to_string(),
                    old_path: None,
                    kind: ChangeKind::Modified,
                    added: Some(k as u32 % 7),
                    deleted: Some(1),
                    binary: false,
                    symbols: vec![format!("f{}", k % 3)],
                    base_lines: vec![],
                    comment_hunks: 0,
                    base_columns: vec![],
                })
                .collect(),
            complete: true,
            warnings: vec![],
        }
    }

    /// A history of 6 tests over `n` runs: test t fails when file t % 3 changes (and now and then
    /// anyway), some runs have no git change, some results are skipped or lack a duration.
    fn runs(range: std::ops::Range<usize>) -> Vec<CollectedRun> {
        range
            .map(|k| {
                let file = FILES[(k * 7 + k / 3) % 3];
                let files: Vec<&str> = if k % 5 == 0 { vec![file, FILES[(k + 1) % 3]] } else { vec![file] };
                let results = (0..6)
                    .map(|t| {
                        let fails = files.contains(&FILES[t % 3]) && (k + t) % 4 != 0 || (k * 31 + t) % 23 == 0;
                        let outcome = if (k + t) % 11 == 0 {
                            Outcome::Skip
                        } else if fails {
                            if t == 5 { Outcome::Error } else { Outcome::Fail }
                        } else {
                            Outcome::Pass
                        };
                        TestResult {
                            id: format!("suite::test_{t}"),
                            suite: Some("suite".into()),
                            file: Some(format!("tests/t{t}.rs")),
                            outcome,
                            duration_s: (k % 9 != 0).then_some(0.5 + t as f64),
                            attempts: 1,
                            message: None,
                        }
                    })
                    .collect();
                CollectedRun {
                    info: RunInfo {
                        run_id: format!("run-{k}"),
                        commit: format!("c{k}"),
                        base: None,
                        branch: None,
                        job: None,
                        time: 1_000 + k as i64,
                        source: "test".into(),
                    },
                    results,
                    changes: (k % 6 != 3).then(|| change(k, &files)),
                }
            })
            .collect()
    }

    fn store_with(runs: &[CollectedRun]) -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("seer.db")).unwrap();
        store.record_many(runs, false, |_| {}).unwrap();
        (dir, store)
    }

    fn everything(store: &Store) -> (HashMap<i64, TestState>, CoFailRows) {
        let keys: Vec<String> = FILES
            .iter()
            .map(|f| f.to_string())
            .chain(FILES.iter().flat_map(|f| (0..3).map(move |s| format!("{f}::f{s}"))))
            .collect();
        (store.test_states().unwrap(), store.cofail_rows(&keys).unwrap())
    }

    #[test]
    fn a_refresh_in_steps_equals_a_rebuild() {
        let all = runs(0..60);
        let (_dir, mut store) = store_with(&all[..25]);
        assert_eq!(
            refresh(&mut store, Duration::from_secs(1)).unwrap(),
            Refreshed { runs: 25, rebuilt: true, selections: 0, deferred: None }
        );
        store.record_many(&all[25..], false, |_| {}).unwrap();
        assert!(!store.state_is_current().unwrap());
        assert_eq!(
            refresh(&mut store, Duration::from_secs(1)).unwrap(),
            Refreshed { runs: 35, rebuilt: false, selections: 0, deferred: None }
        );
        assert!(store.state_is_current().unwrap());
        let stepwise = everything(&store);
        // A run stored behind the state's last one drops it; the next refresh rebuilds.
        let mut late = runs(60..61);
        late[0].info.time = 1_010;
        store.record_many(&late, false, |_| {}).unwrap();
        assert_eq!(store.state_meta().unwrap(), None);
        assert!(refresh(&mut store, Duration::from_secs(1)).unwrap().rebuilt);
        let (_dir2, mut fresh) = store_with(&all);
        fresh.record_many(&late, false, |_| {}).unwrap();
        refresh(&mut fresh, Duration::from_secs(1)).unwrap();
        let rebuilt = everything(&store);
        assert_eq!(rebuilt.0, everything(&fresh).0);
        assert_eq!(rebuilt.1.keys, everything(&fresh).1.keys);
        assert_ne!(stepwise.0, rebuilt.0, "the late run counts");
    }

    #[test]
    fn features_from_the_state_equal_the_features_training_reads() {
        let (_dir, mut store) = store_with(&runs(0..50));
        refresh(&mut store, Duration::from_secs(1)).unwrap();
        // The next change touches b.rs (function f1) and a new file.
        let next: Vec<ReplayFile> = vec![
            ReplayFile { path: "src/b.rs".into(), added: 3, deleted: 1, symbols: vec!["f1".into()] },
            ReplayFile { path: "src/new.rs".into(), added: 9, deleted: 0, symbols: vec![] },
        ];
        // Serving: the state, and co-failure counts of the changed keys only.
        let states = store.test_states().unwrap();
        let rows = store.test_rows().unwrap();
        let candidates: Vec<Candidate> = rows
            .iter()
            .map(|r| Candidate {
                test: TestRef {
                    store_id: r.id,
                    id: r.name.as_str().into(),
                    suite: r.suite().map(Into::into),
                    file: r.file.as_deref().map(Into::into),
                },
                state: states[&r.id],
            })
            .collect();
        let cofail = store.cofail_rows(&change_keys(&next)).unwrap();
        let past = CoFailure::from_counts(
            cofail.keys,
            cofail.failed.into_iter().map(|(k, t, f)| (k, t as u32, f)),
            candidates.iter().map(|c| (c.test.store_id as u32, (c.state.change_runs, c.state.change_failures))),
        );
        let served = feature_rows(&candidates, None, Some(&next), &past);
        // Training: the whole history in bulk, with the change as one more run.
        let mut replay = store.replay().unwrap();
        replay.runs.push(ReplayRun {
            run_id: "next".into(),
            commit: "next".into(),
            time: i64::MAX,
            results: (0..rows.len() as u32)
                .map(|test| ReplayResult { test, outcome: Outcome::Pass, duration_s: None, attempts: 1 })
                .collect(),
            changed: Some(next.clone()),
        });
        let table = all_features(&replay).unwrap();
        let trained = table.x.slice(ndarray::s![table.run_rows[replay.runs.len() - 1].clone(), ..]);
        assert_eq!(served.dim(), trained.dim());
        for ((i, j), v) in served.indexed_iter() {
            assert!(
                (v - trained[[i, j]]).abs() < 1e-9,
                "test {i}, feature {}: served {v}, trained {}",
                crate::features::all_feature_names()[j],
                trained[[i, j]]
            );
        }
        assert!(served.column(FEATURES_COFAIL).iter().any(|v| *v > 0.5), "the history makes b.rs telling");
    }

    /// The `cofail_file` column.
    const FEATURES_COFAIL: usize = crate::features::FEATURES.len() + 6;
}
