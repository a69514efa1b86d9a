//! Why `seer select` runs every test (and `seer predict` cannot answer): one variant per cause.

use crate::collect::chain;
use crate::collect::git::GitError;
use crate::model::ModelFileError;
use crate::store::StoreError;

/// A reason no subset can be trusted. Its text is what `select` prints and keeps with the
/// selection, so each message reads on its own after "running every test: ".
#[derive(Debug, thiserror::Error)]
pub enum Unusable {
    #[error("no usable store: {}", chain(.0))]
    NoStore(StoreError),
    #[error("cannot build the selection state: {}", chain(.0))]
    State(StoreError),
    #[error("cannot read the store: {}", chain(.0))]
    Store(StoreError),
    #[error("the configuration is unusable: {problem}")]
    Config { problem: String },
    #[error("no recorded runs yet: nothing to learn from")]
    NoHistory,
    #[error("cannot read the change of {commit}: {}", chain(.source))]
    Change { commit: String, source: GitError },
    #[error("the change of {commit} is unknown: {why}")]
    GivenChange { commit: String, why: String },
    #[error("cannot read the working tree's change: {}", chain(.0))]
    WorkingTree(GitError),
    #[error("a build or CI file changed ({path}): anything may break")]
    BuildFile { path: String },
    #[error("the change of {commit} is incomplete: {warnings}")]
    Incomplete { commit: String, warnings: String },
    #[error("the model is unusable: {0}")]
    Model(ModelFileError),
    #[error("the bundled model is unusable: {0}")]
    BundledModel(ModelFileError),
    #[error("the model {model} reads other features than this seer computes: retrain it")]
    OtherFeatures { model: String },
    #[error("the model {model} is stale: trained {age_days:.0} days ago (more than {max_days} days): retrain it")]
    StaleModel { model: String, age_days: f64, max_days: f64 },
    #[error("the model {model} was trained on runs this store does not have (its last, {last_run:?}): retrain it")]
    ForeignModel { model: String, last_run: String },
    #[error("the model {model} reads the git change, and there is none (--no-git)")]
    NoChange { model: String },
}

impl Unusable {
    /// The store error behind this reason, if there is one (its exit code, for `predict`).
    pub fn store_error(&self) -> Option<&StoreError> {
        match self {
            Unusable::NoStore(e) | Unusable::State(e) | Unusable::Store(e) => Some(e),
            _ => None,
        }
    }
}
