//! Training: fit each kind of model on the older runs, validate on the most recent window (time
//! order, never a random split), keep the one that reaches the target recall of failing tests
//! at the least test time, and calibrate its score threshold on that window.
//!
//! The shipped model is the one fitted on the older runs, not a refit on everything: its
//! threshold was measured on runs it never saw, and a refit would move the scores under it.
//! Co-failure and history features are counted up to the run being scored whatever the fit
//! window, so the newest runs still inform every prediction.

use ndarray::{Axis, s};
use serde::{Deserialize, Serialize};

use super::forest::{Forest, ForestParams, train_forest};
use super::logistic::{LogisticModel, ModelError, train_logistic};
use crate::features::{FEATURES, FeatureTable, all_feature_names};

/// A fitted failure predictor of either kind.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Predictor {
    Logistic(LogisticModel),
    Forest(Forest),
    /// Recently-failed-first as a model: new tests, then by how recently and how often a test
    /// failed, then shortest first. It is validated and calibrated like the learned kinds and
    /// chosen when the history is too thin or too plain for them to beat it.
    Recency,
}

impl Predictor {
    pub fn kind(&self) -> &'static str {
        match self {
            Predictor::Logistic(_) => "logistic",
            Predictor::Forest(_) => "forest",
            Predictor::Recency => "recency",
        }
    }

    /// Probability (or score in [0, 1]) that each row fails.
    pub fn failure_probability(&self, x: ndarray::ArrayView2<'_, f64>) -> Vec<f64> {
        match self {
            Predictor::Logistic(m) => m.failure_probability(x).to_vec(),
            Predictor::Forest(m) => m.failure_probability(x).to_vec(),
            Predictor::Recency => recency_scores(x),
        }
    }
}

/// The recently-failed-first order as a score in [0, 1], from the history feature columns.
fn recency_scores(x: ndarray::ArrayView2<'_, f64>) -> Vec<f64> {
    let column = |name: &str| FEATURES.iter().position(|(n, _)| *n == name).expect("a history feature");
    let (new, failures, since, rate, duration) = (
        column("new_test"),
        column("failures"),
        column("since_last_failure"),
        column("fail_rate_100"),
        column("mean_duration"),
    );
    x.rows()
        .into_iter()
        .map(|r| {
            if r[new] > 0.5 {
                1.0
            } else if r[failures] > 0.0 {
                // The columns are log1p of counts: exp(c) = 1 + count.
                0.5 + 0.4 / r[since].exp() + 0.09 * r[rate]
            } else {
                0.1 / r[duration].exp()
            }
        })
        .collect()
}

/// Which features a model reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FeatureSet {
    /// The test's own history only (works without git changes, e.g. for the cold-start model).
    History,
    /// History, change and cross features.
    All,
}

impl FeatureSet {
    /// The columns of [`crate::features::all_features`] this set reads.
    pub fn width(self) -> usize {
        match self {
            FeatureSet::History => FEATURES.len(),
            FeatureSet::All => all_feature_names().len(),
        }
    }

    pub fn names(self) -> Vec<&'static str> {
        all_feature_names()[..self.width()].to_vec()
    }
}

/// How to train.
#[derive(Debug, Clone, Copy)]
pub struct TrainOptions {
    /// Recall of failing tests the threshold is calibrated to reach on the validation window.
    pub target_recall: f64,
    /// Share of the runs (the most recent) held out for validation, at least.
    pub validation_share: f64,
    /// Failing rows the validation window must hold, at least (it grows back in time for them,
    /// up to half of the runs).
    pub min_validation_failures: usize,
    pub features: FeatureSet,
    pub forest: ForestParams,
}

impl Default for TrainOptions {
    fn default() -> Self {
        TrainOptions {
            target_recall: 0.95,
            validation_share: 0.2,
            // As many as the trust gate asks of a validation before the model may skip tests.
            min_validation_failures: super::MIN_VALIDATION_FAILING,
            features: FeatureSet::All,
            forest: ForestParams::default(),
        }
    }
}

/// How a model did on the validation window.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Validation {
    pub kind: String,
    pub runs: usize,
    pub rows: usize,
    pub failing: usize,
    /// Score at or above which a test is selected.
    pub threshold: f64,
    /// Recall of failing tests at the threshold.
    pub recall: f64,
    /// Share of the window's tests selected at the threshold.
    pub selected_share: f64,
    /// Share of the window's recorded test time selected at the threshold (the selected share
    /// when no durations were recorded).
    pub time_share: f64,
    /// Area under the ROC curve of the scores: how well they rank failing above passing.
    pub auc: f64,
    /// Thresholds for other recall targets on the same window: `[recall, threshold]` for
    /// recall 0.50, 0.51, … 1.00 (what `seer select --recall` reads).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub recall_curve: Vec<[f64; 2]>,
    /// Scores to probabilities on the same window: `[score, probability]` points of an isotonic
    /// (monotone) fit, ascending, read by linear interpolation (what `seer predict` reports).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub calibration: Vec<[f64; 2]>,
}

/// Steps kept of an isotonic calibration, at most.
const CALIBRATION_STEPS: usize = 64;

/// The isotonic regression of `failed` on `scores` (pool adjacent violators), as `[score,
/// probability]` points ascending in both: each block of scores (at most [`CALIBRATION_STEPS`])
/// spans its lowest to its highest score at its failing share, smoothed toward one half by half
/// a failure (a block of 11 failures in 11 reads 0.96, not certainty).
pub fn isotonic(scores: &[f64], failed: &[bool]) -> Vec<[f64; 2]> {
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]));
    // Blocks of (lowest score, highest score, failing, count); equal scores share a block.
    let mut blocks: Vec<(f64, f64, f64, f64)> = Vec::new();
    for &i in &order {
        let y = if failed[i] { 1.0 } else { 0.0 };
        match blocks.last_mut() {
            Some(last) if last.1 == scores[i] => {
                last.2 += y;
                last.3 += 1.0;
            }
            _ => blocks.push((scores[i], scores[i], y, 1.0)),
        }
        while blocks.len() >= 2 {
            let (b, a) = (blocks[blocks.len() - 1], blocks[blocks.len() - 2]);
            if a.2 / a.3 < b.2 / b.3 {
                break;
            }
            blocks.pop();
            let last = blocks.last_mut().expect("two blocks");
            last.1 = b.1;
            last.2 += b.2;
            last.3 += b.3;
        }
    }
    // Merging neighbours keeps the steps monotone; merge the smallest pairs until few are left.
    while blocks.len() > CALIBRATION_STEPS {
        let i = (0..blocks.len() - 1)
            .min_by(|&a, &b| (blocks[a].3 + blocks[a + 1].3).total_cmp(&(blocks[b].3 + blocks[b + 1].3)))
            .expect("blocks");
        let next = blocks.remove(i + 1);
        blocks[i].1 = next.1;
        blocks[i].2 += next.2;
        blocks[i].3 += next.3;
    }
    let mut points = Vec::with_capacity(2 * blocks.len());
    for &(lo, hi, f, n) in &blocks {
        let p = (f + 0.5) / (n + 1.0);
        points.push([lo, p]);
        if hi > lo {
            points.push([hi, p]);
        }
    }
    points
}

/// The probability of failing that `calibration` gives a score: linear between its points,
/// constant beyond its ends (`None` without a calibration).
pub fn calibrated(calibration: &[[f64; 2]], score: f64) -> Option<f64> {
    let (first, last) = (calibration.first()?, calibration.last()?);
    if score <= first[0] {
        return Some(first[1]);
    }
    if score >= last[0] {
        return Some(last[1]);
    }
    let at = calibration.partition_point(|[s, _]| *s <= score);
    let ([s0, p0], [s1, p1]) = (calibration[at - 1], calibration[at]);
    Some(if s1 > s0 { p0 + (p1 - p0) * (score - s0) / (s1 - s0) } else { p1 })
}

/// The outcome of training.
#[derive(Debug, Clone)]
pub struct Trained {
    pub predictor: Predictor,
    pub features: FeatureSet,
    /// The chosen model's validation, whose threshold is the model's.
    pub validation: Validation,
    /// Every kind tried, the chosen one among them.
    pub candidates: Vec<Validation>,
    /// Runs (indexes into the replay) the model was fitted on, and its rows.
    pub fit_runs: std::ops::Range<usize>,
    pub fit_rows: usize,
    pub fit_failing: usize,
}

/// The area under the ROC curve (ties count half).
pub fn auc(scores: &[f64], failed: &[bool]) -> f64 {
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]));
    let (mut rank_sum, mut i) = (0.0, 0);
    while i < order.len() {
        let j = i + order[i..].iter().take_while(|&&k| scores[k] == scores[order[i]]).count();
        let mid_rank = (i + j + 1) as f64 / 2.0;
        rank_sum += mid_rank * order[i..j].iter().filter(|&&k| failed[k]).count() as f64;
        i = j;
    }
    let pos = failed.iter().filter(|f| **f).count() as f64;
    let neg = failed.len() as f64 - pos;
    if pos == 0.0 || neg == 0.0 { 0.5 } else { (rank_sum - pos * (pos + 1.0) / 2.0) / (pos * neg) }
}

/// The highest threshold at which the share `target` of failing rows scores at or above it.
pub fn calibrate(scores: &[f64], failed: &[bool], target: f64) -> f64 {
    let mut failing: Vec<f64> = scores.iter().zip(failed).filter(|(_, f)| **f).map(|(s, _)| *s).collect();
    if failing.is_empty() {
        return f64::INFINITY;
    }
    failing.sort_by(|a, b| b.total_cmp(a));
    let k = ((target * failing.len() as f64).ceil() as usize).clamp(1, failing.len());
    failing[k - 1]
}

fn validate(kind: &str, scores: &[f64], failed: &[bool], duration: &[f64], runs: usize, target: f64) -> Validation {
    let threshold = calibrate(scores, failed, target);
    let chosen: Vec<bool> = scores.iter().map(|s| *s >= threshold).collect();
    let failing = failed.iter().filter(|f| **f).count();
    let caught = chosen.iter().zip(failed).filter(|(c, f)| **c && **f).count();
    let selected = chosen.iter().filter(|c| **c).count();
    let total_time: f64 = duration.iter().sum();
    let selected_share = selected as f64 / scores.len().max(1) as f64;
    let time_share = if total_time > 0.0 {
        duration.iter().zip(&chosen).filter(|(_, c)| **c).map(|(d, _)| d).sum::<f64>() / total_time
    } else {
        selected_share
    };
    Validation {
        kind: kind.to_string(),
        runs,
        rows: scores.len(),
        failing,
        threshold,
        recall: if failing > 0 { caught as f64 / failing as f64 } else { 1.0 },
        selected_share,
        time_share,
        auc: auc(scores, failed),
        recall_curve: (50..=100).map(|r| [r as f64 / 100.0, calibrate(scores, failed, r as f64 / 100.0)]).collect(),
        calibration: isotonic(scores, failed),
    }
}

/// The first run of the validation window among the runs `..end_run` that have rows.
fn validation_start(table: &FeatureTable, end_run: usize, options: &TrainOptions) -> usize {
    let with_rows: Vec<usize> = (0..end_run).filter(|&k| !table.run_rows[k].is_empty()).collect();
    let share = ((with_rows.len() as f64 * options.validation_share).ceil() as usize).max(1);
    let mut failing = 0;
    let mut start = end_run;
    for (taken, &k) in with_rows.iter().rev().enumerate() {
        if taken >= with_rows.len() / 2 || (taken >= share && failing >= options.min_validation_failures) {
            break;
        }
        failing += table.run_rows[k].clone().filter(|&r| table.failed[r]).count();
        start = k;
    }
    start
}

/// Trains on the runs `..end_run` of `table` (in time order): fit on the older runs, validate
/// and calibrate on the most recent window, keep the better kind.
pub fn train(table: &FeatureTable, end_run: usize, options: &TrainOptions) -> Result<Trained, ModelError> {
    let width = options.features.width();
    let start = validation_start(table, end_run, options);
    let fit_end = table.run_rows[..start].iter().map(|r| r.end).max().unwrap_or(0);
    let valid_end = table.run_rows[..end_run].iter().map(|r| r.end).max().unwrap_or(0).max(fit_end);
    // Failures known by now to be flaky (the test passed on the same commit) are not failures.
    let labels: Vec<bool> = (0..valid_end).map(|r| table.failed[r] && table.flaky_at[r] as usize >= end_run).collect();
    let x_fit = table.x.slice(s![..fit_end, ..width]);
    let y_fit = &labels[..fit_end];
    let x_valid = table.x.slice(s![fit_end..valid_end, ..width]);
    let y_valid = &labels[fit_end..valid_end];
    let d_valid = &table.duration[fit_end..valid_end];
    let valid_runs = (start..end_run).filter(|&k| !table.run_rows[k].is_empty()).count();

    let mut fitted: Vec<(Predictor, Validation)> = Vec::new();
    let mut last_error = None;
    let logistic = train_logistic(x_fit, y_fit).map(Predictor::Logistic);
    let forest = train_forest(x_fit, y_fit, options.forest).map(Predictor::Forest);
    for model in [logistic, forest, Ok(Predictor::Recency)] {
        match model {
            Ok(p) => {
                let scores = p.failure_probability(x_valid);
                let v = validate(p.kind(), &scores, y_valid, d_valid, valid_runs, options.target_recall);
                fitted.push((p, v));
            }
            Err(e) => last_error = Some(e),
        }
    }
    let candidates: Vec<Validation> = fitted.iter().map(|(_, v)| v.clone()).collect();
    if fitted.len() < 2 {
        // Nothing was learned (one class in the fit window): no model.
        return Err(last_error.unwrap_or(ModelError::OneClass { failing: 0, passing: 0 }));
    }
    // Least time at the target recall; then the higher AUC; then the simpler model (first).
    let best = (0..fitted.len()).min_by(|&a, &b| {
        let (va, vb) = (&fitted[a].1, &fitted[b].1);
        va.time_share.total_cmp(&vb.time_share).then(vb.auc.total_cmp(&va.auc))
    });
    let Some(best) = best else {
        return Err(last_error.unwrap_or(ModelError::OneClass { failing: 0, passing: 0 }));
    };
    let (predictor, validation) = fitted.swap_remove(best);
    let fit_runs = 0..start;
    Ok(Trained {
        predictor,
        features: options.features,
        validation,
        candidates,
        fit_runs,
        fit_rows: x_fit.len_of(Axis(0)),
        fit_failing: y_fit.iter().filter(|f| **f).count(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auc_is_one_for_a_perfect_ranking_and_half_for_ties() {
        assert_eq!(auc(&[0.9, 0.8, 0.1, 0.2], &[true, true, false, false]), 1.0);
        assert_eq!(auc(&[0.1, 0.9], &[true, false]), 0.0);
        assert_eq!(auc(&[0.5, 0.5, 0.5], &[true, false, false]), 0.5);
    }

    #[test]
    fn isotonic_calibration_is_monotone_and_matches_block_rates() {
        // Failing shares by score: 0.1 → 0/2, 0.5 → 1/2, 0.4 → 1/1 (a violation, pooled with 0.5).
        let scores = [0.1, 0.1, 0.4, 0.5, 0.5, 0.9];
        let failed = [false, false, true, true, false, true];
        let points = isotonic(&scores, &failed);
        let smoothed = |f: f64, n: f64| (f + 0.5) / (n + 1.0);
        assert_eq!(
            points,
            [
                [0.1, smoothed(0.0, 2.0)],
                [0.4, smoothed(2.0, 3.0)],
                [0.5, smoothed(2.0, 3.0)],
                [0.9, smoothed(1.0, 1.0)]
            ]
        );
        assert_eq!(calibrated(&points, 0.05), Some(smoothed(0.0, 2.0)), "below the lowest score: the first point");
        assert_eq!(calibrated(&points, 0.45), Some(smoothed(2.0, 3.0)));
        let between = calibrated(&points, 0.7).unwrap();
        assert!((between - (smoothed(2.0, 3.0) + smoothed(1.0, 1.0)) / 2.0).abs() < 1e-12, "linear between blocks");
        assert_eq!(calibrated(&points, 1.0), Some(smoothed(1.0, 1.0)));
        assert_eq!(calibrated(&[], 0.5), None);
        let many: Vec<f64> = (0..1000).map(|i| i as f64 / 1000.0).collect();
        let labels: Vec<bool> = (0..1000).map(|i| (i * 7919) % 1000 < i).collect();
        let points = isotonic(&many, &labels);
        assert!(points.len() <= 2 * CALIBRATION_STEPS);
        assert!(points.windows(2).all(|w| w[0][0] <= w[1][0] && w[0][1] <= w[1][1]), "{points:?}");
    }

    #[test]
    fn the_threshold_is_the_highest_that_reaches_the_target() {
        let scores = [0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1, 0.05];
        let failed = [true, false, true, false, false, true, false, false, true, false];
        // Four failing rows: 0.75 of them needs three, the third-highest failing score is 0.4.
        assert_eq!(calibrate(&scores, &failed, 0.75), 0.4);
        assert_eq!(calibrate(&scores, &failed, 1.0), 0.1);
        assert_eq!(calibrate(&scores, &failed, 0.1), 0.9);
        let v = validate("x", &scores, &failed, &[1.0; 10], 1, 0.75);
        assert_eq!((v.recall, v.selected_share, v.time_share), (0.75, 0.6, 0.6));
    }
}
