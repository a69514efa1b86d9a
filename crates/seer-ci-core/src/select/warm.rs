//! What a long-lived caller (`seer serve`) keeps between selections of one store: the open
//! store, the candidates with their counters as of the selection state they were read from
//! (and, prepared from them, each one's name parts and history row), and the live model file.
//! Each is used again only while what it was read from is unchanged (the state's runs, last run
//! and generation, the latest runs, the quarantine; the newest model file), so a warm selection
//! answers exactly what a cold one would. When the candidates are read again, the name parts of
//! the same tests are carried over: they depend on the name alone.

use std::path::PathBuf;
use std::sync::Arc;

use super::score::{Candidate, Prepared};
use super::selection::TestRef;
use crate::backend::History;
use crate::model::{ModelFile, ModelSource};
use crate::store::StateMeta;

/// The warm state of one store; `Default` is cold.
#[derive(Default)]
pub struct Warm {
    /// How long a selection waits for another writer's lock (to take new runs into the state,
    /// to keep its selection); `None` is `select`'s own bound. A server, whose writers bring the
    /// state up to date after each run, asks for zero: a selection never waits for an upload.
    pub write_wait: Option<std::time::Duration>,
    /// The open store, and where it was opened from.
    pub(super) store: Option<(PathBuf, Box<dyn History>)>,
    pub(super) candidates: Option<WarmCandidates>,
    pub(super) model: Option<WarmModel>,
    /// When the store was last asked for a newer model (a store that holds its models).
    pub(super) models_checked: Option<std::time::Instant>,
}

impl std::fmt::Debug for Warm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Warm")
            .field("store", &self.store.as_ref().map(|(at, _)| at))
            .field("candidates", &self.candidates.as_ref().map(|c| c.candidates.len()))
            .field("model", &self.model.as_ref().map(|m| m.name.clone()))
            .finish()
    }
}

/// What the candidates were read from.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct CandidatesKey {
    pub state: Option<StateMeta>,
    pub latest_runs: Vec<i64>,
    pub quarantined: Vec<i64>,
}

pub(super) struct WarmCandidates {
    pub key: CandidatesKey,
    pub candidates: Vec<Candidate>,
    pub quarantined: Vec<TestRef>,
    /// What the candidates' features read of them apart from the change, in their order.
    pub prepared: Arc<Prepared>,
}

/// The live model as loaded, and the file it came from (`None`: the bundled model).
pub(super) struct WarmModel {
    pub file: Option<PathBuf>,
    pub model: Arc<ModelFile>,
    pub name: String,
    pub source: ModelSource,
    /// The run the model was trained up to was found in the store (runs are never removed).
    pub trained_run_stored: bool,
}

impl Warm {
    /// A cold state whose selections wait at most `wait` for another writer.
    pub fn waiting(wait: std::time::Duration) -> Warm {
        Warm { write_wait: Some(wait), ..Warm::default() }
    }

    /// Forgets everything but the settings (after a panic, so that the next selection starts cold).
    pub fn clear(&mut self) {
        *self = Warm { write_wait: self.write_wait, ..Warm::default() };
    }

    /// Whether candidates are held (for tests and metrics).
    pub fn holds_candidates(&self) -> bool {
        self.candidates.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::Warm;
    use crate::backend::conformance::run;
    use crate::backend::{self, History};
    use crate::collect::Outcome;
    use crate::select::{ChangeSource, GivenChange, SelectConfig, SelectRequest, Target, select, select_warm};

    fn request(dir: &std::path::Path, changed: &crate::collect::CollectedRun) -> SelectRequest {
        SelectRequest {
            change: ChangeSource::Given(GivenChange {
                commit: "next".into(),
                changes: Ok(changed.changes.clone()),
                ancestors: vec![],
            }),
            repo: dir.to_path_buf(),
            models: dir.join("models"),
            workspace_cache: dir.join("workspace.json"),
            config: SelectConfig::default(),
            config_problem: None,
            target: Target::Model,
            shard: None,
            observe: false,
            keep: false,
            reasons_for: usize::MAX,
            now: 10_000,
        }
    }

    /// After each write (new runs, then a replaced run that leaves the runs and the last run as
    /// they were), a warm selection answers what a cold one does.
    #[test]
    fn a_warm_selection_answers_as_a_cold_one_after_every_write() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("seer.db");
        let mut store = backend::open(&db).unwrap();
        let change = run("change", 0, Some("b"));
        let request = request(dir.path(), &change);
        let mut warm = Warm::waiting(std::time::Duration::ZERO);
        let answer = |s: crate::select::Selection| serde_json::to_value(s.answer()).unwrap();
        let mut check = |store: &mut Box<dyn History>, step: &str| {
            store.refresh_state().unwrap();
            let (w, c) = (answer(select_warm(&db, &request, &mut warm)), answer(select(&db, &request)));
            assert_eq!(w, c, "{step}: warm and cold differ");
            assert!(warm.holds_candidates(), "{step}: the warm state holds candidates");
            w
        };
        store.record_runs(&[run("r1", 100, Some("a")), run("r2", 200, None)], false).unwrap();
        check(&mut store, "first runs");
        store.record_runs(&[run("r3", 300, Some("b"))], false).unwrap();
        let before = check(&mut store, "a new run");
        // r1 again with b failing instead of a: the same runs, the same last run, other counters.
        let mut replaced = run("r1", 100, Some("b"));
        replaced.results.iter_mut().for_each(|r| r.outcome = Outcome::Fail);
        store.record_runs(&[replaced], true).unwrap();
        let after = check(&mut store, "a replaced run");
        assert_ne!(before, after, "the replaced run changes the answer (else the check proves nothing)");
    }
}
