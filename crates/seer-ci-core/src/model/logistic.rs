//! Logistic regression (linfa-logistic) on standardised features, with the rare failing class
//! weighted up by repeating its rows. Large histories are fitted on a sample: every failing row
//! (up to half the sample) and a uniform, seeded sample of passing rows; the threshold is
//! calibrated afterwards on real, unsampled runs, so the sampling shifts no selection. The fitted model is kept as its coefficients, so that a
//! model file holds plain numbers.

use linfa::prelude::*;
use linfa_logistic::LogisticRegression;
use ndarray::{Array1, Array2, ArrayView2, Axis};
use rand::SeedableRng;
use rand::rngs::StdRng;
use serde::{Deserialize, Serialize};

/// Why a model could not be fitted.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("no training rows of both classes (failing: {failing}, passing: {passing})")]
    OneClass { failing: usize, passing: usize },
    #[error("logistic regression did not fit")]
    Fit(#[from] linfa_logistic::error::Error),
    #[error("decision tree did not fit")]
    Tree(#[from] linfa::Error),
}

/// A fitted logistic model and the scaling of its inputs: P(fail) = σ(w·(x − mean)/scale + b).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LogisticModel {
    mean: Vec<f64>,
    scale: Vec<f64>,
    weights: Vec<f64>,
    intercept: f64,
}

/// Repetitions of a failing row: enough to balance the classes, at most this many.
const MAX_UPWEIGHT: usize = 20;

/// Rows a fit samples at most (linfa-logistic's solver takes about 1.5 s per 100,000 rows on
/// 2 cores; see `cargo bench --bench train`).
const MAX_FIT_ROWS: usize = 100_000;

/// The rows to fit on: all of them when few, else every failing row (up to half) and a uniform
/// sample of passing rows, in row order.
fn fit_rows(failed: &[bool]) -> Vec<usize> {
    if failed.len() <= MAX_FIT_ROWS {
        return (0..failed.len()).collect();
    }
    let mut rng = StdRng::seed_from_u64(1);
    let failing: Vec<usize> = (0..failed.len()).filter(|&i| failed[i]).collect();
    let passing: Vec<usize> = (0..failed.len()).filter(|&i| !failed[i]).collect();
    let take_failing = failing.len().min(MAX_FIT_ROWS / 2);
    let take_passing = (MAX_FIT_ROWS - take_failing).min(passing.len());
    let mut rows: Vec<usize> =
        rand::seq::index::sample(&mut rng, failing.len(), take_failing).into_iter().map(|i| failing[i]).collect();
    rows.extend(rand::seq::index::sample(&mut rng, passing.len(), take_passing).into_iter().map(|i| passing[i]));
    rows.sort_unstable();
    rows
}

/// Fits a logistic model of `failed` on the rows of `x`.
pub fn train_logistic(x: ArrayView2<'_, f64>, failed: &[bool]) -> Result<LogisticModel, ModelError> {
    let failing = failed.iter().filter(|f| **f).count();
    let passing = failed.len() - failing;
    if failing == 0 || passing == 0 {
        return Err(ModelError::OneClass { failing, passing });
    }
    let sample = fit_rows(failed);
    let x = x.select(Axis(0), &sample);
    let failed: Vec<bool> = sample.iter().map(|&i| failed[i]).collect();
    let failing = failed.iter().filter(|f| **f).count();
    let passing = failed.len() - failing;
    let mean = x.mean_axis(Axis(0)).expect("rows exist");
    let scale = x.std_axis(Axis(0), 0.0).mapv(|s| if s > 1e-12 { s } else { 1.0 });
    let standard = (&x - &mean) / &scale;
    let repeat = (passing / failing).clamp(1, MAX_UPWEIGHT);
    let rows: Vec<usize> =
        (0..failed.len()).flat_map(|i| std::iter::repeat_n(i, if failed[i] { repeat } else { 1 })).collect();
    let xs: Array2<f64> = standard.select(Axis(0), &rows);
    let ys: Array1<bool> = rows.iter().map(|&i| failed[i]).collect();
    let fitted = LogisticRegression::default().alpha(1.0).max_iterations(100).fit(&Dataset::new(xs, ys))?;
    // linfa models the probability of the class it saw more often while fitting: turn the
    // coefficients round when that is the passing class.
    let sign = if fitted.labels().pos.class { 1.0 } else { -1.0 };
    Ok(LogisticModel {
        mean: mean.to_vec(),
        scale: scale.to_vec(),
        weights: fitted.params().iter().map(|w| sign * w).collect(),
        intercept: sign * fitted.intercept(),
    })
}

impl LogisticModel {
    /// Probability that each row fails.
    pub fn failure_probability(&self, x: ArrayView2<'_, f64>) -> Array1<f64> {
        x.rows()
            .into_iter()
            .map(|row| {
                let z: f64 = (0..row.len()).map(|j| self.weights[j] * (row[j] - self.mean[j]) / self.scale[j]).sum();
                1.0 / (1.0 + (-(z + self.intercept)).exp())
            })
            .collect()
    }

    /// The number of inputs.
    pub fn width(&self) -> usize {
        self.weights.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn learns_which_feature_predicts_failure() {
        // Failing rows have a high first feature; the second is noise.
        let x = array![[0.0, 1.0], [0.1, 0.0], [0.2, 1.0], [0.1, 0.5], [0.9, 0.0], [1.0, 1.0], [0.0, 0.2], [0.05, 0.9]];
        let failed = [false, false, false, false, true, true, false, false];
        let model = train_logistic(x.view(), &failed).unwrap();
        let p = model.failure_probability(array![[0.95, 0.5], [0.05, 0.5]].view());
        assert!(p[0] > 0.5 && p[1] < 0.5, "{p}");
    }

    #[test]
    fn one_class_is_refused() {
        let x = array![[0.0], [1.0]];
        assert!(matches!(train_logistic(x.view(), &[false, false]), Err(ModelError::OneClass { .. })));
    }
}
