//! Selections, predictions and flaky tests as the API's documents.

use seer_ci_api::{
    FORMAT_VERSION, FlakyJson, GateJson, PredictJson, PredictionJson, SelectedJson, SelectionJson, ShardJson,
};

use super::{FlakyTest, Gate, Predicted, Selection, TestRef};
use crate::collect::time::format_time;

impl From<&Selection> for SelectionJson {
    fn from(s: &Selection) -> SelectionJson {
        let ids = |tests: &[TestRef]| tests.iter().map(|t| t.id.clone()).collect::<Vec<_>>();
        SelectionJson {
            format_version: FORMAT_VERSION,
            mode: s.mode.as_str().into(),
            reason: s.reason.clone(),
            model: s.model.clone(),
            threshold: s.threshold,
            selected: s
                .selected
                .iter()
                .map(|t| SelectedJson {
                    id: t.test.id.clone(),
                    score: t.score,
                    reasons: t.reasons.clone(),
                    estimated_s: t.estimated_s,
                })
                .collect(),
            skipped: s.skipped.iter().map(|t| t.test.id.clone()).collect(),
            quarantined: ids(&s.quarantined),
            shard: s.shard.map(|sh| ShardJson { index: sh.index, count: sh.count }),
            estimated_s: s.estimated_s,
            total_s: s.total_s,
            would_skip: s.would_skip.as_deref().map(ids),
            gate: s.gate.as_ref().map(Into::into),
            notes: s.notes.clone(),
        }
    }
}

impl From<&Gate> for GateJson {
    fn from(g: &Gate) -> GateJson {
        let e = &g.evidence;
        GateJson {
            open: g.open,
            why: g.why.clone(),
            runs: e.runs,
            failing_results: e.failing_results,
            validation_failing: e.validation.map(|(n, _, _)| n as u64),
            validated_recall: e.validation.map(|(_, r, _)| r),
            target_recall: e.validation.map(|(_, _, t)| t),
            min_validation_failing: e.min_validation_failing as u64,
            observed_caught: e.observed.caught,
            observed_missed: e.observed.missed,
            observed_recall: e.observed.recall(),
            drift_window_runs: e.drift_window_runs as u64,
        }
    }
}

impl Predicted {
    /// The document of the `limit` most likely failures.
    pub fn to_json(&self, limit: usize) -> PredictJson {
        let shown = &self.predictions[..self.predictions.len().min(limit)];
        PredictJson {
            format_version: FORMAT_VERSION,
            commit: self.commit.clone(),
            model: self.model.clone(),
            files_changed: self.files,
            predictions: shown
                .iter()
                .map(|x| PredictionJson {
                    id: x.test.id.clone(),
                    probability: x.probability,
                    score: x.score,
                    reasons: x.reasons.clone(),
                })
                .collect(),
            notes: self.notes.clone(),
        }
    }
}

impl FlakyTest {
    /// The document of a flaky test, and whether it is quarantined.
    pub fn to_json(&self, quarantined: bool) -> FlakyJson {
        FlakyJson {
            id: self.id.clone(),
            executions: self.executions,
            failures: self.failures,
            retried_passes: self.retried_passes,
            mixed_commits: self.mixed_commits,
            flips: self.flips,
            flip_rate: self.flip_rate,
            first_evidence: format_time(self.first_evidence),
            last_evidence: format_time(self.last_evidence),
            reasons: self.reasons.clone(),
            quarantined,
        }
    }
}
