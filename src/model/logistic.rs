//! Logistic regression (linfa-logistic) on standardised features, with the rare failing class
//! weighted up by repeating its rows.

use linfa::prelude::*;
use linfa_logistic::{FittedLogisticRegression, LogisticRegression};
use ndarray::{Array1, Array2, ArrayView2, Axis};

/// Why a model could not be fitted.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("no training rows of both classes (failing: {failing}, passing: {passing})")]
    OneClass { failing: usize, passing: usize },
    #[error("logistic regression did not fit")]
    Fit(#[from] linfa_logistic::error::Error),
}

/// A fitted logistic model and the scaling of its inputs.
pub struct LogisticModel {
    mean: Array1<f64>,
    scale: Array1<f64>,
    fitted: FittedLogisticRegression<f64, bool>,
}

/// Repetitions of a failing row: enough to balance the classes, at most this many.
const MAX_UPWEIGHT: usize = 20;

/// Fits a logistic model of `failed` on the rows of `x`.
pub fn train_logistic(x: ArrayView2<'_, f64>, failed: &[bool]) -> Result<LogisticModel, ModelError> {
    let failing = failed.iter().filter(|f| **f).count();
    let passing = failed.len() - failing;
    if failing == 0 || passing == 0 {
        return Err(ModelError::OneClass { failing, passing });
    }
    let mean = x.mean_axis(Axis(0)).expect("rows exist");
    let scale = x.std_axis(Axis(0), 0.0).mapv(|s| if s > 1e-12 { s } else { 1.0 });
    let standard = (&x - &mean) / &scale;
    let repeat = (passing / failing).clamp(1, MAX_UPWEIGHT);
    let rows: Vec<usize> =
        (0..failed.len()).flat_map(|i| std::iter::repeat_n(i, if failed[i] { repeat } else { 1 })).collect();
    let xs: Array2<f64> = standard.select(Axis(0), &rows);
    let ys: Array1<bool> = rows.iter().map(|&i| failed[i]).collect();
    let fitted = LogisticRegression::default().alpha(1.0).max_iterations(100).fit(&Dataset::new(xs, ys))?;
    Ok(LogisticModel { mean, scale, fitted })
}

impl LogisticModel {
    /// Probability that each row fails.
    pub fn failure_probability(&self, x: ArrayView2<'_, f64>) -> Array1<f64> {
        let standard = (&x - &self.mean) / &self.scale;
        let p = self.fitted.predict_probabilities(&standard);
        // linfa reports the probability of the class it saw more often while fitting.
        if self.fitted.labels().pos.class { p } else { p.mapv(|v| 1.0 - v) }
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
