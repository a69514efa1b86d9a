//! Selections, predictions and flaky tests as the API's documents.

use seer_ci_api::{
    FORMAT_VERSION, FlakyJson, GateJson, PredictJson, PredictionJson, SelectedJson, SelectionJson, ShardJson,
};

use seer_ci_api::server::{ChosenJson, SelectAnswerJson, TestRefJson};

use super::{FlakyTest, Gate, GateEvidence, Mode, Observed, Predicted, Selected, Selection, Shard, TestRef};
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
            tests_scored: self.predictions.len() as u64,
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

impl From<&TestRef> for TestRefJson {
    fn from(t: &TestRef) -> TestRefJson {
        TestRefJson { store_id: t.store_id, id: t.id.clone(), suite: t.suite.clone(), file: t.file.clone() }
    }
}

impl From<TestRefJson> for TestRef {
    fn from(t: TestRefJson) -> TestRef {
        TestRef { store_id: t.store_id, id: t.id, suite: t.suite, file: t.file }
    }
}

impl From<&Selected> for ChosenJson {
    fn from(t: &Selected) -> ChosenJson {
        ChosenJson { test: (&t.test).into(), score: t.score, reasons: t.reasons.clone(), estimated_s: t.estimated_s }
    }
}

impl From<ChosenJson> for Selected {
    fn from(t: ChosenJson) -> Selected {
        Selected { test: t.test.into(), score: t.score, reasons: t.reasons, estimated_s: t.estimated_s }
    }
}

impl From<GateJson> for Gate {
    fn from(g: GateJson) -> Gate {
        let validation = match (g.validation_failing, g.validated_recall, g.target_recall) {
            (Some(n), Some(r), Some(t)) => Some((n as usize, r, t)),
            _ => None,
        };
        Gate {
            open: g.open,
            why: g.why,
            evidence: GateEvidence {
                runs: g.runs,
                failing_results: g.failing_results,
                validation,
                min_validation_failing: g.min_validation_failing as usize,
                observed: Observed { caught: g.observed_caught, missed: g.observed_missed },
                drift_window_runs: g.drift_window_runs as usize,
            },
        }
    }
}

/// A selection as `seer serve` sends it: every test with its suite and file.
impl From<&Selection> for SelectAnswerJson {
    fn from(s: &Selection) -> SelectAnswerJson {
        SelectAnswerJson {
            format_version: FORMAT_VERSION,
            mode: s.mode.as_str().into(),
            reason: s.reason.clone(),
            model: s.model.clone(),
            threshold: s.threshold,
            selected: s.selected.iter().map(ChosenJson::from).collect(),
            skipped: s.skipped.iter().map(ChosenJson::from).collect(),
            quarantined: s.quarantined.iter().map(TestRefJson::from).collect(),
            shard: s.shard.map(|sh| ShardJson { index: sh.index, count: sh.count }),
            estimated_s: s.estimated_s,
            total_s: s.total_s,
            would_skip: s.would_skip.as_ref().map(|w| w.iter().map(TestRefJson::from).collect()),
            gate: s.gate.as_ref().map(GateJson::from),
            notes: s.notes.clone(),
        }
    }
}

impl Selection {
    /// The selection a server sent; `None` when its mode is not one this seer knows.
    pub fn from_answer(a: SelectAnswerJson) -> Option<Selection> {
        let mode = match a.mode.as_str() {
            "subset" => Mode::Subset,
            "all" => Mode::All,
            _ => return None,
        };
        Some(Selection {
            mode,
            reason: a.reason,
            model: a.model,
            threshold: a.threshold,
            selected: a.selected.into_iter().map(Selected::from).collect(),
            skipped: a.skipped.into_iter().map(Selected::from).collect(),
            quarantined: a.quarantined.into_iter().map(TestRef::from).collect(),
            shard: a.shard.map(|s| Shard { index: s.index, count: s.count }),
            estimated_s: a.estimated_s,
            total_s: a.total_s,
            would_skip: a.would_skip.map(|w| w.into_iter().map(TestRef::from).collect()),
            gate: a.gate.map(Gate::from),
            notes: a.notes,
        })
    }
}
