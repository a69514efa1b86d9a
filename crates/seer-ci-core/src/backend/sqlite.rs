//! The SQLite store behind the storage interface.

use std::time::Duration;

use hashbrown::{HashMap, HashSet};

use super::{History, StateSnapshot, TestCounters};
use crate::collect::chain;
use crate::collect::lcov::TestCoverage;
use crate::collect::{CollectedRun, TestResult};
use crate::features::TestState;
use crate::select::Refreshed;
use crate::store::{
    CoFailRows, CoverageAt, CoverageCommit, CoverageRecorded, Day, FrameSamples, HistoryEntry, Judgements,
    KeptSelection, Miss, NewProfile, NewSelection, ProfileRun, RecordStatus, Replay, RunKey, RunSummary, Scope,
    SelectionStats, SlowTest, StateCodec, StateMeta, Store, StoreError, StoreStats, StoredRun, TestCount, TestRow,
    Token, TokenRecord,
};

/// How long a refresh through the interface waits for another writer.
const REFRESH_WAIT: Duration = Duration::from_secs(30);

impl History for Store {
    fn record_runs(&mut self, runs: &[CollectedRun], replace: bool) -> Result<Vec<RecordStatus>, StoreError> {
        self.record_many(runs, replace, |_| {})
    }

    fn record_at_end(&mut self, run: &CollectedRun, replace: bool) -> Result<RecordStatus, StoreError> {
        Store::record_at_end(self, run, replace)
    }

    fn has_selections(&self) -> Result<bool, StoreError> {
        Store::has_selections(self)
    }

    fn run_ids(&self) -> Result<Vec<String>, StoreError> {
        self.run_ids_in_order()
    }

    fn run(&self, run_id: &str) -> Result<Option<StoredRun>, StoreError> {
        Store::run(self, run_id)
    }

    fn run_results(&self, run_id: &str) -> Result<Option<Vec<TestResult>>, StoreError> {
        Ok(self.run(run_id)?.map(|r| r.results))
    }

    fn runs(&self, limit: usize) -> Result<Vec<RunSummary>, StoreError> {
        Store::runs(self, limit)
    }

    fn history(&self, test: &str, limit: usize) -> Result<Option<Vec<HistoryEntry>>, StoreError> {
        Store::history(self, test, limit)
    }

    fn selection_stats(&self, from: Option<i64>, to: Option<i64>) -> Result<SelectionStats, StoreError> {
        Store::selection_stats(self, from, to)
    }

    fn replay(&self) -> Result<Replay, StoreError> {
        Store::replay(self)
    }

    fn test_rows(&self) -> Result<Vec<TestRow>, StoreError> {
        Store::test_rows(self)
    }

    fn test_id(&self, name: &str) -> Result<Option<i64>, StoreError> {
        Store::test_id(self, name)
    }

    fn quarantine(&mut self, test: i64, since: i64, reason: Option<&str>) -> Result<bool, StoreError> {
        Store::quarantine(self, test, since, reason)
    }

    fn release(&mut self, test: i64) -> Result<bool, StoreError> {
        Store::release(self, test)
    }

    fn refresh_state(&mut self) -> Result<(), StoreError> {
        crate::select::refresh(self, REFRESH_WAIT).map(|_| ())
    }

    fn selection_state(&self) -> Result<Option<StateSnapshot>, StoreError> {
        let Some(meta) = self.state_meta()? else { return Ok(None) };
        let names: std::collections::HashMap<i64, String> =
            self.test_rows()?.into_iter().map(|row| (row.id, row.name)).collect();
        let mut tests: Vec<TestCounters> = self
            .test_states::<TestState>()?
            .into_iter()
            .map(|(id, state)| TestCounters {
                test: names.get(&id).cloned().unwrap_or_default(),
                // Run ids are the store's own numbers: the counters are compared without them.
                packed: TestState { last_run: RunKey { time: state.last_run.time, id: 0 }, ..state }.encode(),
            })
            .collect();
        tests.sort();
        Ok(Some(StateSnapshot { runs: meta.runs, tests }))
    }

    fn create_token(&mut self, name: &str, scopes: &[Scope], hash: &str, now: i64) -> Result<i64, StoreError> {
        Store::create_token(self, name, scopes, hash, now)
    }

    fn token_by_hash(&self, hash: &str) -> Result<Option<Token>, StoreError> {
        Store::token_by_hash(self, hash)
    }

    fn tokens(&self) -> Result<Vec<Token>, StoreError> {
        Store::tokens(self)
    }

    fn revoke_token(&mut self, which: &str, now: i64) -> Result<bool, StoreError> {
        Store::revoke_token(self, which, now)
    }

    fn refresh_state_at_most(&mut self, wait: Duration, max_results: u64) -> Result<Refreshed, StoreError> {
        crate::select::refresh_at_most(self, wait, max_results)
    }

    fn state_meta(&self) -> Result<Option<StateMeta>, StoreError> {
        Store::state_meta(self)
    }

    fn failed_after(&self, key: RunKey) -> Result<Vec<i64>, StoreError> {
        Store::failed_after(self, key)
    }

    fn latest_runs_with_results(&self, n: usize) -> Result<Vec<RunKey>, StoreError> {
        Store::latest_runs_with_results(self, n)
    }

    fn tests_last_run_in(&self, runs: &[i64]) -> Result<Vec<(TestRow, TestState)>, StoreError> {
        Store::tests_last_run_in::<TestState>(self, runs)
    }

    fn quarantined(&self) -> Result<Vec<(i64, i64, Option<String>)>, StoreError> {
        Store::quarantined(self)
    }

    fn has_run(&self, run_id: &str) -> Result<bool, StoreError> {
        Store::has_run(self, run_id)
    }

    fn run_count(&self) -> Result<u64, StoreError> {
        Store::run_count(self)
    }

    fn recent_judgements(&self, window: usize, exclude_model: &str) -> Result<(u64, u64), StoreError> {
        Store::recent_judgements(self, window, exclude_model)
    }

    fn failed_in_latest_run_of(&self, commit: &str) -> Result<Vec<i64>, StoreError> {
        Store::failed_in_latest_run_of(self, commit)
    }

    fn cofail_rows(&self, keys: &[String]) -> Result<CoFailRows, StoreError> {
        Store::cofail_rows(self, keys)
    }

    fn coverage_commits(&self) -> Result<Vec<CoverageCommit>, StoreError> {
        Store::coverage_commits(self)
    }

    fn coverage_commit_set(&self) -> Result<HashSet<String>, StoreError> {
        Store::coverage_commit_set(self)
    }

    fn coverage_at(&self, commit: &str, paths: &[&str]) -> Result<CoverageAt, StoreError> {
        Store::coverage_at(self, commit, paths)
    }

    /// SQLite has one writer at a time: when the lock is busy (or was just found busy, so that
    /// a selection does not wait twice), the selection goes to the store's pending queue, which
    /// the next refresh folds in.
    fn keep_selection(&mut self, selection: &NewSelection, wait: Duration) -> Result<(), String> {
        let wait = if self.lock_was_busy() { Duration::ZERO } else { wait };
        let Err(e) = self.save_selection(selection, wait) else { return Ok(()) };
        match self.queue_selection(selection) {
            Ok(_) => Ok(()),
            Err(q) => Err(format!("the selection was not kept for bookkeeping: {}; nor queued: {q}", chain(&e))),
        }
    }

    fn location(&self) -> String {
        self.path().display().to_string()
    }

    fn schema_version(&self) -> Result<i64, StoreError> {
        Store::schema_version(self)
    }

    fn stats(&self) -> Result<StoreStats, StoreError> {
        Store::stats(self)
    }

    fn misses(&self, from: Option<i64>, to: Option<i64>, limit: usize) -> Result<Vec<Miss>, StoreError> {
        Store::misses(self, from, to, limit)
    }

    fn runs_between(&self, from: i64, to: i64) -> Result<(u64, u64), StoreError> {
        Store::runs_between(self, from, to)
    }

    fn judgements(&self, from: i64, to: i64) -> Result<Judgements, StoreError> {
        Store::judgements(self, from, to)
    }

    fn days(&self, from: i64, to: i64) -> Result<Vec<Day>, StoreError> {
        Store::days(self, from, to)
    }

    fn most_failing(&self, from: i64, to: i64, limit: usize) -> Result<Vec<TestCount>, StoreError> {
        Store::most_failing(self, from, to, limit)
    }

    fn most_retried(&self, from: i64, to: i64, limit: usize) -> Result<Vec<TestCount>, StoreError> {
        Store::most_retried(self, from, to, limit)
    }

    fn slowest(&self, from: i64, to: i64, limit: usize) -> Result<Vec<SlowTest>, StoreError> {
        Store::slowest(self, from, to, limit)
    }

    fn record_coverage(&mut self, commit: &str, tests: &[TestCoverage]) -> Result<CoverageRecorded, StoreError> {
        Store::record_coverage(self, commit, tests)
    }

    fn record_profiles(&mut self, profiles: &[NewProfile], replace: bool) -> Result<Vec<RecordStatus>, StoreError> {
        Store::record_profiles(self, profiles, replace)
    }

    fn benches(&self) -> Result<Vec<(String, u64, u64)>, StoreError> {
        Store::benches(self)
    }

    fn profile_runs(&self, bench: &str) -> Result<Vec<ProfileRun>, StoreError> {
        Store::profile_runs(self, bench)
    }

    fn frame_samples(&self, profiles: &[i64]) -> Result<Vec<FrameSamples>, StoreError> {
        Store::frame_samples(self, profiles)
    }

    fn frame_names(&self, ids: &[i64]) -> Result<HashMap<i64, String>, StoreError> {
        Store::frame_names(self, ids)
    }

    fn merged_stack_ids(&self, profiles: &[i64]) -> Result<Vec<(Vec<i64>, u64)>, StoreError> {
        Store::merged_stack_ids(self, profiles)
    }

    fn merged_stacks(&self, profiles: &[i64]) -> Result<Vec<(Vec<String>, u64)>, StoreError> {
        Store::merged_stacks(self, profiles)
    }

    fn coverage_tests(&self, commit: &str) -> Result<Vec<TestCoverage>, StoreError> {
        Store::coverage_tests(self, commit)
    }

    fn kept_selections(&self) -> Result<Vec<KeptSelection>, StoreError> {
        Store::kept_selections(self)
    }

    fn put_selection(&mut self, selection: &NewSelection, after_run: Option<&str>) -> Result<(), StoreError> {
        Store::put_selection(self, selection, after_run)
    }

    fn token_records(&self) -> Result<Vec<TokenRecord>, StoreError> {
        Store::token_records(self)
    }

    fn put_token(&mut self, token: &TokenRecord) -> Result<(), StoreError> {
        Store::put_token(self, token)
    }
}

#[cfg(test)]
mod tests {
    use super::super::conformance;
    use crate::store::Store;

    #[test]
    fn sqlite_passes_the_conformance_suite() {
        let dir = tempfile::tempdir().unwrap();
        let mut n = 0;
        conformance::check_all(&mut || {
            n += 1;
            Box::new(Store::open(&dir.path().join(format!("s{n}.db"))).unwrap())
        });
    }
}
