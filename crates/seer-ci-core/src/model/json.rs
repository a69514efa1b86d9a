//! A model as the API's document: what it reads, what it was trained on, how it validated, and
//! its threshold, without its fitted parameters.

use seer_ci_api::{ModelJson, TrainingWindowJson, ValidationJson};

use super::{FeatureSet, ModelFile, TrainingWindow, Validation};

impl From<&TrainingWindow> for TrainingWindowJson {
    fn from(t: &TrainingWindow) -> TrainingWindowJson {
        TrainingWindowJson {
            runs: t.runs,
            first_run: t.first_run.clone(),
            last_run: t.last_run.clone(),
            first_time: t.first_time,
            last_time: t.last_time,
            fit_runs: t.fit_runs,
            fit_rows: t.fit_rows,
            fit_failing: t.fit_failing,
        }
    }
}

impl From<&Validation> for ValidationJson {
    fn from(v: &Validation) -> ValidationJson {
        ValidationJson {
            kind: v.kind.clone(),
            runs: v.runs,
            rows: v.rows,
            failing: v.failing,
            threshold: v.threshold,
            recall: v.recall,
            selected_share: v.selected_share,
            time_share: v.time_share,
            auc: v.auc,
            recall_interval: v.recall_interval().map(|(lo, hi)| [lo, hi]),
            thin_evidence: v.thin_evidence(),
            recall_curve: v.recall_curve.clone(),
            calibration: v.calibration.clone(),
        }
    }
}

impl ModelFile {
    /// The document of this model, found at `path` (its `source`: project, bundled, file or
    /// trained).
    pub fn to_json(&self, path: &str, source: &str) -> ModelJson {
        ModelJson {
            format_version: self.format_version,
            seer_version: self.seer_version.clone(),
            created_at: self.created_at,
            feature_set: match self.feature_set {
                FeatureSet::History => "history",
                FeatureSet::All => "all",
            }
            .into(),
            features: self.features.clone(),
            target_recall: self.target_recall,
            threshold: self.threshold,
            training: (&self.training).into(),
            validation: (&self.validation).into(),
            candidates: self.candidates.iter().map(Into::into).collect(),
            kind: self.predictor.kind().to_string(),
            path: path.to_string(),
            source: source.to_string(),
        }
    }
}
