//! The learned contenders: seer's trainer (both model kinds, validated and calibrated on the most
//! recent window) rerun every few runs on the history before the run it scores.

use super::rank::{RankedTest, Ranker};
use crate::features::FeatureTable;
use crate::model::{TrainOptions, Trained, train};

/// A model retrained every `retrain_every` runs on all earlier runs, selecting at its calibrated
/// threshold.
pub struct Learned<'a> {
    name: String,
    features: &'a FeatureTable,
    options: TrainOptions,
    retrain_every: usize,
    trained: Option<Trained>,
    trained_at: Option<usize>,
    /// Kinds chosen at each training, for the report.
    chosen: Vec<&'static str>,
}

impl<'a> Learned<'a> {
    pub fn new(name: &str, features: &'a FeatureTable, options: TrainOptions, retrain_every: usize) -> Self {
        Learned {
            name: name.to_string(),
            features,
            options,
            retrain_every: retrain_every.max(1),
            trained: None,
            trained_at: None,
            chosen: Vec::new(),
        }
    }
}

impl Ranker for Learned<'_> {
    fn name(&self) -> &str {
        &self.name
    }

    fn score(&mut self, run: usize, candidates: &[RankedTest]) -> Vec<f64> {
        let due = self.trained_at.is_none_or(|at| run >= at + self.retrain_every);
        if due {
            // Runs before this one only: the table is in run order.
            if let Ok(trained) = train(self.features, run, &self.options) {
                self.chosen.push(trained.predictor.kind());
                self.trained = Some(trained);
                self.trained_at = Some(run);
            }
        }
        let rows = self.features.run_rows[run].clone();
        debug_assert_eq!(rows.len(), candidates.len(), "features cover exactly the tests that ran");
        match &self.trained {
            Some(t) => t.predictor.failure_probability(self.features.x.slice(ndarray::s![rows, ..t.features.width()])),
            // Nothing to learn from yet (no failure seen): report order.
            None => candidates.iter().map(|c| -(c.position as f64)).collect(),
        }
    }

    fn models_chosen(&self) -> Vec<(String, u64)> {
        let mut counts: Vec<(String, u64)> = Vec::new();
        for kind in &self.chosen {
            match counts.iter_mut().find(|(k, _)| k == kind) {
                Some((_, n)) => *n += 1,
                None => counts.push((kind.to_string(), 1)),
            }
        }
        counts
    }

    fn threshold(&self) -> Option<f64> {
        // Before the first model, select everything (fail open).
        Some(self.trained.as_ref().map_or(f64::NEG_INFINITY, |t| t.validation.threshold))
    }
}
