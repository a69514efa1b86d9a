//! Learning from the store: training the live model, and replaying the history to measure it
//! beside the baselines.

use std::path::{Path, PathBuf};

use super::Error;
use super::record::REFRESH_WAIT;
use crate::eval::{EvalOptions, Evaluation, Learned, RandomOrder, Ranker, RecentlyFailedFirst, RunAll};
use crate::features::all_features;
use crate::model::{FeatureSet, ModelFile, TrainOptions, TrainingWindow};
use crate::store::Replay;

/// Where a trained model goes.
#[derive(Debug, Clone)]
pub enum ModelDestination {
    /// A new versioned file in this models directory (it becomes the live model).
    Directory(PathBuf),
    /// Exactly this file (e.g. the bundled cold-start model).
    File(PathBuf),
}

/// What `seer train` fits.
#[derive(Debug, Clone)]
pub struct TrainRequest {
    /// The recall of failing tests the threshold is calibrated to on the validation window.
    pub target_recall: f64,
    /// `None`: every feature when any run has git changes, else the history features.
    pub features: Option<FeatureSet>,
    pub destination: ModelDestination,
    /// Unix seconds, the model's creation time.
    pub now: i64,
}

/// A saved model and where it went.
#[derive(Debug)]
pub struct TrainedModel {
    pub file: ModelFile,
    pub path: PathBuf,
    pub warnings: Vec<String>,
}

/// `seer train`: fits the candidates on the older runs, validates them on the newest, saves the
/// cheapest at the target recall, and builds the selection state while the history is read.
pub fn train(db: &Path, request: &TrainRequest) -> Result<TrainedModel, Error> {
    let mut store = crate::backend::open_existing(db)?;
    let replay = store.replay()?;
    let features = request.features.unwrap_or(if replay.has_changes() { FeatureSet::All } else { FeatureSet::History });
    let table = all_features(&replay).map_err(Error::Features)?;
    let options = TrainOptions { target_recall: request.target_recall, features, ..Default::default() };
    let trained = crate::model::train(&table, replay.runs.len(), &options).map_err(|source| Error::Train {
        runs: replay.runs.len(),
        store: db.to_path_buf(),
        source,
    })?;
    let window = training_window(&replay, &trained);
    let file = ModelFile::new(trained, request.target_recall, window, request.now);
    let mut warnings: Vec<String> = file.validation.thin_evidence().into_iter().collect();
    if let Err(e) = store.refresh_state_at_most(REFRESH_WAIT, u64::MAX) {
        warnings.push(format!("the selection state was not built (seer select will): {}", crate::collect::chain(&e)));
    }
    let path = match &request.destination {
        ModelDestination::File(path) => {
            file.save_as(path)?;
            path.clone()
        }
        ModelDestination::Directory(dir) => {
            let path = file.save(dir)?;
            // A store that holds its models gets the new one: every replica's next selection reads it.
            if store.holds_models() {
                let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
                let body = std::fs::read(&path)
                    .map_err(|source| crate::model::ModelFileError::Io { path: path.clone(), source })?;
                store.put_model(name, &body, request.now)?;
            }
            path
        }
    };
    Ok(TrainedModel { file, path, warnings })
}

/// The runs a model was trained on, as its file records them.
fn training_window(replay: &Replay, trained: &crate::model::Trained) -> TrainingWindow {
    let ran: Vec<_> = replay.runs.iter().filter(|r| !r.results.is_empty()).collect();
    let (first, last) = (ran.first(), ran.last());
    TrainingWindow {
        runs: ran.len(),
        first_run: first.map(|r| r.run_id.clone()).unwrap_or_default(),
        last_run: last.map(|r| r.run_id.clone()).unwrap_or_default(),
        first_time: first.map_or(0, |r| r.time),
        last_time: last.map_or(0, |r| r.time),
        fit_runs: trained.fit_runs.clone().filter(|&k| !replay.runs[k].results.is_empty()).count(),
        fit_rows: trained.fit_rows,
        fit_failing: trained.fit_failing,
    }
}

/// What `seer eval` replays.
#[derive(Debug, Clone, Copy)]
pub struct EvalRequest {
    /// Runs seen before scoring starts.
    pub warmup: usize,
    /// Every contender gets this share of each run's test time; `None`: seer's model selects at
    /// its calibrated threshold and the others get the time it chose.
    pub fraction: Option<f64>,
    pub target_recall: f64,
    /// Seed of the random baseline.
    pub seed: u64,
    /// Retrain the learned contenders every this many runs.
    pub retrain_every: usize,
}

/// `seer eval`: the walk-forward replay of seer's models beside run-all, random and
/// recently-failed-first, on the same runs.
pub fn evaluate(db: &Path, request: &EvalRequest) -> Result<Evaluation, Error> {
    let store = crate::backend::open_existing(db)?;
    let replay = store.replay()?;
    let features = all_features(&replay).map_err(Error::Features)?;
    let options = TrainOptions { target_recall: request.target_recall, ..Default::default() };
    let history = TrainOptions { features: FeatureSet::History, ..options };
    let every = request.retrain_every;
    let mut rankers: Vec<Box<dyn Ranker + '_>> = Vec::new();
    // seer's model first: in threshold mode it sets the others' budget.
    if replay.has_changes() {
        rankers.push(Box::new(Learned::new("seer model (history + change)", &features, options, every)));
    }
    rankers.push(Box::new(Learned::new("history-only model", &features, history, every)));
    rankers.push(Box::new(RunAll));
    rankers.push(Box::new(RandomOrder::new(request.seed)));
    rankers.push(Box::new(RecentlyFailedFirst));
    let eval_options = EvalOptions { warmup: request.warmup, time_fraction: request.fraction };
    Ok(crate::eval::evaluate(&replay, &mut rankers, eval_options))
}
