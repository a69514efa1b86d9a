//! The SQLite store behind the storage interface.

use std::time::Duration;

use super::{History, StateSnapshot, TestCounters};
use crate::collect::{CollectedRun, TestResult};
use crate::features::TestState;
use crate::store::{RecordStatus, RunKey, Scope, StateCodec, Store, StoreError, Token};

/// How long a refresh through the interface waits for another writer.
const REFRESH_WAIT: Duration = Duration::from_secs(30);

impl History for Store {
    fn record_runs(&mut self, runs: &[CollectedRun], replace: bool) -> Result<Vec<RecordStatus>, StoreError> {
        self.record_many(runs, replace, |_| {})
    }

    fn run_ids(&self) -> Result<Vec<String>, StoreError> {
        self.run_ids_in_order()
    }

    fn run_results(&self, run_id: &str) -> Result<Option<Vec<TestResult>>, StoreError> {
        Ok(self.run(run_id)?.map(|r| r.results))
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
