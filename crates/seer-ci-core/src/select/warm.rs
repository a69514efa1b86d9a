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
