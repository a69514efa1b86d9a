//! A learned contender: a failure predictor retrained every few runs on the history before the
//! run it scores, ranking tests by their predicted probability of failing.

use super::rank::{Candidate, Ranker};
use crate::features::FeatureTable;
use crate::model::{LogisticModel, train_logistic};

/// History-only logistic regression, retrained every `retrain_every` runs on all earlier runs.
pub struct HistoryLogistic<'a> {
    features: &'a FeatureTable,
    retrain_every: usize,
    model: Option<LogisticModel>,
    trained_at: Option<usize>,
}

impl<'a> HistoryLogistic<'a> {
    pub fn new(features: &'a FeatureTable, retrain_every: usize) -> Self {
        HistoryLogistic { features, retrain_every: retrain_every.max(1), model: None, trained_at: None }
    }
}

impl Ranker for HistoryLogistic<'_> {
    fn name(&self) -> &str {
        "history model (logistic)"
    }

    fn score(&mut self, run: usize, candidates: &[Candidate]) -> Vec<f64> {
        let due = self.trained_at.is_none_or(|at| run >= at + self.retrain_every);
        if due {
            // Rows of runs before this one only: the table is in run order.
            let end = self.features.run_rows[run].start;
            if let Ok(model) =
                train_logistic(self.features.x.slice(ndarray::s![..end, ..]), &self.features.failed[..end])
            {
                self.model = Some(model);
                self.trained_at = Some(run);
            }
        }
        let rows = self.features.run_rows[run].clone();
        debug_assert_eq!(rows.len(), candidates.len(), "features cover exactly the tests that ran");
        match &self.model {
            Some(model) => model.failure_probability(self.features.x.slice(ndarray::s![rows, ..])).to_vec(),
            // Nothing to learn from yet (no failure seen): report order.
            None => candidates.iter().map(|c| -(c.position as f64)).collect(),
        }
    }
}
