//! Scoring the candidates of one change with the live model, from the selection state: the same
//! features training reads (history counters per test, co-failure counts of the changed files
//! and functions), one row per candidate, and the evidence behind each score in words.

use std::sync::Arc;

use hashbrown::HashMap;
use ndarray::Array2;

use super::selection::TestRef;
use crate::features::TestState;
use crate::features::{
    CHANGE_FEATURES, ChangeContext, CoFailure, FEATURES, NameParts, TestName, history_row, mean_duration,
    recent_failures,
};
use crate::model::ModelFile;
use crate::store::ReplayFile;

/// A test that may be selected, with its counters.
#[derive(Debug, Clone)]
pub struct Candidate {
    pub test: TestRef,
    pub state: TestState,
}

/// A candidate with its score.
#[derive(Debug, Clone)]
pub struct Scored {
    pub test: TestRef,
    /// The model's score (what the threshold compares).
    pub score: f64,
    /// The calibrated probability of failing, when the model has a calibration.
    pub probability: Option<f64>,
    pub estimated_s: f64,
    pub own_file_changed: bool,
    pub state: TestState,
}

/// The mean of the candidates' known durations (1 s when none is known): the estimate of a test
/// that never recorded one.
pub fn fallback_duration<'a>(states: impl Iterator<Item = &'a TestState>) -> f64 {
    let (sum, n) = states.fold((0.0, 0u64), |(s, n), t| (s + t.known_duration_sum, n + u64::from(t.known_durations)));
    if n > 0 { sum / n as f64 } else { 1.0 }
}

fn runs_word(n: u32) -> &'static str {
    if n == 1 { "run" } else { "runs" }
}

fn change_word(n: u32) -> &'static str {
    if n == 1 { "change" } else { "changes" }
}

/// What a candidate's features read of it that does not depend on the change: its name parts
/// and its history row. A warm selection state keeps them between selections, in the
/// candidates' order.
#[derive(Debug, Default)]
pub struct Prepared {
    pub parts: Vec<Arc<NameParts>>,
    pub history: Vec<[f64; FEATURES.len()]>,
}

impl Prepared {
    /// `known` gives the parts already worked out for a test (by its name and suite), if any:
    /// a warm state's next candidates are mostly the same tests with new counters.
    pub fn of(candidates: &[Candidate], known: impl Fn(&TestRef) -> Option<Arc<NameParts>>) -> Prepared {
        Prepared {
            parts: candidates
                .iter()
                .map(|c| {
                    known(&c.test).unwrap_or_else(|| Arc::new(NameParts::new(&c.test.id, c.test.suite.as_deref())))
                })
                .collect(),
            history: candidates.iter().map(|c| history_row(&c.state)).collect(),
        }
    }

    /// The parts of each candidate by store id, for [`Prepared::of`] of the next candidates.
    pub fn parts_by_test<'a>(&'a self, candidates: &'a [Candidate]) -> HashMap<i64, (&'a TestRef, &'a Arc<NameParts>)> {
        candidates.iter().zip(&self.parts).map(|(c, p)| (c.test.store_id, (&c.test, p))).collect()
    }
}

/// Every feature (history, then change) of each candidate as a test of one more run whose
/// change is `changed`; the change columns are 0 when it is unknown, as in training.
pub fn feature_rows(
    candidates: &[Candidate],
    prepared: Option<&Prepared>,
    changed: Option<&[ReplayFile]>,
    past: &CoFailure,
) -> Array2<f64> {
    let mut x = Array2::<f64>::zeros((candidates.len(), FEATURES.len() + CHANGE_FEATURES.len()));
    let context = changed.map(ChangeContext::new);
    let resolved = context.as_ref().map(|c| c.with_past(past));
    for (i, c) in candidates.iter().enumerate() {
        let row = x.row_mut(i).into_slice().expect("rows are contiguous");
        let (history, change) = row.split_at_mut(FEATURES.len());
        match prepared.and_then(|p| p.history.get(i)) {
            Some(h) => history.copy_from_slice(h),
            None => history.copy_from_slice(&history_row(&c.state)),
        }
        if let Some(resolved) = &resolved {
            let (index, file) = (c.test.store_id as u32, c.test.file.as_deref());
            let name = match prepared.and_then(|p| p.parts.get(i)) {
                Some(p) => TestName::with_parts(index, &c.test.id, file, p),
                None => TestName::new(index, &c.test.id, c.test.suite.as_deref(), file),
            };
            // `past` holds every candidate's runs and failures as its prior; they are its own.
            resolved.features_given(&name, (c.state.change_runs, c.state.change_failures), change);
        }
    }
    x
}

/// Scores `candidates` as the tests of one more run whose change is `changed` (`None`: unknown,
/// for a history-only model). `past` holds the co-failure counts of the changed keys, with every
/// candidate's runs and failures as its prior. Reasons are left to [`evidence`], for the tests
/// that need them.
pub fn score(
    candidates: Vec<Candidate>,
    prepared: Option<&Prepared>,
    model: &ModelFile,
    changed: Option<&[ReplayFile]>,
    past: &CoFailure,
    fallback_s: f64,
) -> Vec<Scored> {
    let x = feature_rows(&candidates, prepared, changed, past);
    let own_column =
        FEATURES.len() + CHANGE_FEATURES.iter().position(|(n, _)| *n == "own_file_changed").expect("feature");
    let own: Vec<bool> = x.column(own_column).iter().map(|v| *v > 0.5).collect();
    let x = x.slice(ndarray::s![.., ..model.feature_set.width()]);
    let scores = model.predictor.failure_probability(x);
    candidates
        .into_iter()
        .zip(scores)
        .zip(own)
        .map(|((c, score), own_file_changed)| Scored {
            test: c.test,
            score,
            probability: model.probability(score),
            estimated_s: mean_duration(&c.state).unwrap_or(fallback_s),
            own_file_changed,
            state: c.state,
        })
        .collect()
}

/// What a score rests on, in words a person can check, most telling first: co-failure with the
/// changed files and functions, then the test's own recent history.
pub fn evidence(t: &Scored, context: Option<&ChangeContext<'_>>, past: &CoFailure) -> Vec<String> {
    let mut why = Vec::new();
    if let Some(context) = context {
        let index = t.test.store_id as u32;
        let found = [context.file_evidence(past, index), context.symbol_evidence(past, index)];
        for e in found.into_iter().flatten().filter(|e| e.failures > 0) {
            why.push(format!(
                "failed in {} of the {} past {} touching {}",
                e.failures,
                e.changes,
                change_word(e.changes),
                e.key
            ));
        }
    }
    let s = &t.state;
    if s.execs == 0 {
        why.push("it has never run: nothing is known of it".into());
        return why;
    }
    let window = s.execs.min(20);
    let recent = recent_failures(s, window);
    if s.recent & 1 == 1 {
        why.push("it failed in its previous run".into());
    }
    if recent > 0 {
        why.push(format!("failed in {recent} of its last {window} {}", runs_word(window)));
    } else if s.failures > 0 {
        why.push(format!("failed {} times in {} {}, not lately", s.failures, s.execs, runs_word(s.execs)));
    }
    why
}
