//! The trust gate: seer skips a test on the model's word only when this project's own evidence
//! says the model can be trusted with it. Until then `select` observes: it computes and keeps the
//! selection it would have made, and every test runs.
//!
//! The gate is open when all of these hold:
//! - the live model was trained on this store (the bundled cold-start model, trained on another
//!   project, may order tests but never skip them);
//! - its validation window held at least `min_validation_failing` failing tests, and its
//!   validated recall met its target;
//! - the kept selections of this project's models, judged against the runs recorded since (the
//!   bookkeeping of misses), caught at least the target share of the failing tests in the newest
//!   `drift_window_runs` runs. A model that drifts closes the gate again; once its selections,
//!   still computed and judged while observing, catch enough again, it reopens.
//!
//! Coverage that accounts for the whole change is evidence from this project too: it may skip
//! whatever the gate says (see `pipeline.rs`). An explicit time budget or fraction is the team's
//! own decision, which the gate does not override.

use std::fmt;
use std::path::Path;

use crate::backend::History;
use crate::model::{COLD_START_NAME, ModelFile, TrainOptions, latest};
use crate::store::StoreError;

/// What the gate found.
#[derive(Debug, Clone, PartialEq)]
pub struct Gate {
    pub open: bool,
    /// Why it is closed, or what opened it, in words.
    pub why: String,
    /// What it rests on.
    pub evidence: GateEvidence,
}

/// The figures behind a gate's decision.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GateEvidence {
    /// Runs recorded.
    pub runs: u64,
    /// Failing results recorded.
    pub failing_results: u64,
    /// The project model's validation: its failing tests, recall and target.
    pub validation: Option<(usize, f64, f64)>,
    /// The least failing tests a validation must hold.
    pub min_validation_failing: usize,
    /// Of the failing tests in the newest runs, how many the kept selections of this project's
    /// models had selected (caught) and skipped (missed).
    pub observed: Observed,
    pub drift_window_runs: usize,
}

/// Failing tests judged against the kept selections.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Observed {
    pub caught: u64,
    pub missed: u64,
}

impl Observed {
    pub fn recall(&self) -> Option<f64> {
        let judged = self.caught + self.missed;
        (judged > 0).then(|| self.caught as f64 / judged as f64)
    }
}

/// The settings of the gate (`[select]` in `.config/seer.toml`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GateConfig {
    pub min_validation_failing: usize,
    pub drift_window_runs: usize,
}

/// Judges the gate for `model` (the live project model, `None` when the bundled one is live),
/// from the store's bookkeeping. `failing_results` is the count the caller already has.
pub fn judge(
    store: &dyn History,
    model: Option<&ModelFile>,
    config: GateConfig,
    failing_results: u64,
) -> Result<Gate, StoreError> {
    let observed = store.recent_judgements(config.drift_window_runs, COLD_START_NAME)?;
    let evidence = GateEvidence {
        runs: store.run_count()?,
        failing_results,
        validation: model.map(|m| (m.validation.failing, m.validation.recall, m.target_recall)),
        min_validation_failing: config.min_validation_failing,
        observed: Observed { caught: observed.0, missed: observed.1 },
        drift_window_runs: config.drift_window_runs,
    };
    Ok(decide(evidence))
}

/// Judges the gate as `select` would with the newest project model in `models`, for the commands
/// that report it (`seer stats`, `seer doctor`). A model file that does not load is judged as no
/// model: `select` reports the file itself.
pub fn judge_with_models(
    store: &dyn History,
    models: &Path,
    config: GateConfig,
    failing_results: u64,
) -> Result<Gate, StoreError> {
    let model = latest(models).and_then(|p| ModelFile::load(&p).ok());
    judge(store, model.as_ref(), config, failing_results)
}

/// The decision on `evidence` (see the module docs).
pub fn decide(e: GateEvidence) -> Gate {
    let pct = |x: f64| format!("{:.0}%", 100.0 * x);
    let recorded = format!("{} runs, {} failing results recorded", e.runs, e.failing_results);
    let min = e.min_validation_failing;
    let closed = |why: String| Gate { open: false, why: format!("observing: {recorded}; {why}"), evidence: e.clone() };
    let Some((failing, recall, target)) = e.validation else {
        return closed(format!(
            "no model is trained on this project yet, and the bundled one orders tests but never skips them; \
             selecting starts when `seer train` makes a model whose validation holds at least {min} failing tests \
             and reaches {} recall",
            pct(TrainOptions::default().target_recall)
        ));
    };
    if failing < min {
        return closed(format!(
            "the model's validation held {failing} failing tests; selecting starts when a model (`seer train`) \
             validates on at least {min}"
        ));
    }
    if recall + 1e-9 < target {
        return closed(format!(
            "the model caught {} of the failing tests in its validation, under its {} target; selecting starts \
             when a model (`seer train`) reaches it",
            pct(recall),
            pct(target)
        ));
    }
    if let Some(observed) = e.observed.recall().filter(|r| r + 1e-9 < target) {
        let o = e.observed;
        return closed(format!(
            "the kept selections caught {} of {} failing tests in the newest {} runs ({}), under the {} target: \
             the model has drifted; selecting starts again when they reach it",
            o.caught,
            o.caught + o.missed,
            e.drift_window_runs,
            pct(observed),
            pct(target)
        ));
    }
    let observed = match e.observed.recall() {
        Some(r) => format!(
            "; the kept selections caught {} of {} failing tests in the newest {} runs",
            pct(r),
            e.observed.caught + e.observed.missed,
            e.drift_window_runs
        ),
        None => String::new(),
    };
    Gate {
        open: true,
        why: format!(
            "the model validated at {} recall on {failing} failing tests (at least {min} needed){observed}",
            pct(recall)
        ),
        evidence: e,
    }
}

impl fmt::Display for Gate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.open { "open: " } else { "closed: " })?;
        f.write_str(&self.why)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn evidence(validation: Option<(usize, f64, f64)>, caught: u64, missed: u64) -> GateEvidence {
        GateEvidence {
            runs: 12,
            failing_results: 4,
            validation,
            min_validation_failing: 20,
            observed: Observed { caught, missed },
            drift_window_runs: 50,
        }
    }

    #[test]
    fn closed_without_a_project_model_and_says_what_opens_it() {
        let g = decide(evidence(None, 0, 0));
        assert!(!g.open);
        assert!(g.why.starts_with("observing: 12 runs, 4 failing results recorded; no model"), "{}", g.why);
        assert!(g.why.contains("at least 20 failing tests"), "{}", g.why);
    }

    #[test]
    fn closed_on_thin_validation_or_recall_under_target() {
        let thin = decide(evidence(Some((19, 1.0, 0.95)), 0, 0));
        assert!(!thin.open && thin.why.contains("held 19 failing tests"), "{}", thin.why);
        let short = decide(evidence(Some((40, 0.9, 0.95)), 0, 0));
        assert!(!short.open && short.why.contains("90%") && short.why.contains("95% target"), "{}", short.why);
    }

    #[test]
    fn open_on_enough_evidence_and_closed_again_on_drift() {
        let open = decide(evidence(Some((20, 0.95, 0.95)), 19, 1));
        assert!(open.open, "{}", open.why);
        let drifted = decide(evidence(Some((20, 0.95, 0.95)), 18, 2));
        assert!(
            !drifted.open && drifted.why.contains("18 of 20") && drifted.why.contains("drifted"),
            "{}",
            drifted.why
        );
        // Nothing judged yet says nothing against the model.
        assert!(decide(evidence(Some((20, 1.0, 0.95)), 0, 0)).open);
    }
}
