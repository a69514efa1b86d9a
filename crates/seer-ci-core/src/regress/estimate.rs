//! What the detector and the trend test: each function's cost per run, self (samples with it on
//! top) and inclusive (with it anywhere on the stack), in the profile's own unit (perf weighs a
//! sample by its period, so the unit is time), made comparable between runs by a size factor.
//!
//! The size factor of a run is the median, over the functions seen in every run, of the ratio
//! of the run's cost to that function's geometric mean over all runs (the median-of-ratios of
//! DESeq2, Anders and Huber 2010), each ratio weighted by the square root of its function's cost
//! (see `size_factors`). A run that is uniformly slower (a busy machine, a slower
//! runner) has every ratio, and so its factor, larger, and dividing by it takes the slowdown out
//! of every function alike. A regression in a few functions moves only their ratios, which the
//! median ignores: the factor is robust to the changes themselves, where a covariate such as the
//! run's length is confounded with a regression that lengthens the run, and shares fall by
//! dilution when one function grows. The runs' own lengths are tested apart, as the total.
//!
//! A cost is tested on the log scale (a slowdown multiplies it), with half of the run's smallest
//! nonzero cost added so that a function absent from a run has a finite log.

use super::stats::{mean, median};
use crate::profile::RunFrames;

/// Which cost of a function.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Measure {
    /// Samples with the function on top of the stack.
    Own,
    /// Samples with the function anywhere on the stack.
    Inclusive,
}

impl Measure {
    pub fn as_str(self) -> &'static str {
        match self {
            Measure::Own => "self",
            Measure::Inclusive => "inclusive",
        }
    }
}

/// Functions whose inclusive share is above this hold (nearly) the whole run: the process, its
/// `main`. They are not tested: the runs' totals are.
const MAX_INCLUSIVE: f64 = 0.95;

/// One function's cost, run by run.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub frame: i64,
    pub measure: Measure,
    /// Cost divided by the run's size factor.
    pub cost: Vec<f64>,
    /// ln of (cost + half the run's smallest nonzero cost), divided by the size factor: what is tested.
    pub log: Vec<f64>,
}

/// The runs' size factors (geometric mean 1) and the series worth testing: functions whose
/// self share, pooled over the runs, is at least `min_share`, and those whose inclusive share
/// is, when their callees add at least `min_share` to their self share (else the inclusive test
/// would repeat the self one); either with at least `min_samples` samples per run on average
/// (fewer are too coarse a count for a test of its mean: a function absent from some runs and
/// present with a handful in others is noise on the log scale). A sample's weight is taken as
/// the run's smallest nonzero self cost (perf weighs samples by their period).
pub fn estimate(runs: &[&RunFrames], min_share: f64, min_samples: f64) -> (Vec<f64>, Vec<Series>) {
    let mut frames: Vec<i64> = runs.iter().flat_map(|r| r.frames.keys().copied()).collect();
    frames.sort_unstable();
    frames.dedup();
    let share = |f: i64, inclusive: bool| -> f64 {
        let per_run = runs.iter().map(|r| {
            let (own, total) = r.frames.get(&f).copied().unwrap_or((0, 0));
            if r.samples == 0 { 0.0 } else { (if inclusive { total } else { own }) as f64 / r.samples as f64 }
        });
        per_run.sum::<f64>() / runs.len().max(1) as f64
    };
    let shares: Vec<(i64, f64, f64)> = frames.iter().map(|&f| (f, share(f, false), share(f, true))).collect();
    let factors = size_factors(runs, &shares, min_share);
    let floor: Vec<f64> = runs
        .iter()
        .map(|r| 0.5 * r.frames.values().map(|v| v.0).filter(|&n| n > 0).min().unwrap_or(1) as f64)
        .collect();
    let series = |frame: i64, measure: Measure| {
        let raw: Vec<f64> = runs
            .iter()
            .map(|r| {
                let (own, total) = r.frames.get(&frame).copied().unwrap_or((0, 0));
                (if measure == Measure::Own { own } else { total }) as f64
            })
            .collect();
        let cost: Vec<f64> = raw.iter().zip(&factors).map(|(c, s)| c / s).collect();
        let log = raw.iter().zip(&factors).zip(&floor).map(|((c, s), e)| ((c + e) / s).ln()).collect();
        Series { frame, measure, cost, log }
    };
    // Samples per run on average, from the cost and the weight of one sample (2 × floor).
    let enough = |s: &Series| {
        let counts: Vec<f64> = s.cost.iter().zip(&factors).zip(&floor).map(|((c, f), e)| c * f / (2.0 * e)).collect();
        mean(&counts) >= min_samples
    };
    let mut out = Vec::new();
    for &(frame, own, inclusive) in &shares {
        if own >= min_share {
            out.push(series(frame, Measure::Own));
        }
        if inclusive >= min_share && inclusive <= MAX_INCLUSIVE && inclusive - own >= min_share {
            out.push(series(frame, Measure::Inclusive));
        }
    }
    out.retain(|s| enough(s));
    (factors, out)
}

/// Size factors: for the functions above `min_share` seen in every run, the ratio of each run's
/// cost to the function's geometric mean over the runs, and their weighted median, each weighted
/// by the square root of the function's cost. Weighted, because the ratio of a function of a
/// handful of samples is mostly sampling noise, and in a plain median a few of them make every
/// factor noisy; by the square root, not the cost itself, so that no one function carries the
/// median (a 40% function 20% slower would carry a cost-weighted median with it, and the
/// functions that really changed must not move the factor). The runs' totals when fewer than
/// three such functions exist.
fn size_factors(runs: &[&RunFrames], shares: &[(i64, f64, f64)], min_share: f64) -> Vec<f64> {
    let stable: Vec<i64> = shares
        .iter()
        .filter(|(f, own, _)| *own >= min_share && runs.iter().all(|r| r.frames.get(f).is_some_and(|v| v.0 > 0)))
        .map(|(f, _, _)| *f)
        .collect();
    let log_factors: Vec<f64> = if stable.len() >= 3 {
        let reference: Vec<f64> = stable
            .iter()
            .map(|f| mean(&runs.iter().map(|r| (r.frames[f].0 as f64).ln()).collect::<Vec<_>>()))
            .collect();
        let weights: Vec<f64> = reference.iter().map(|g| (g / 2.0).exp()).collect();
        runs.iter()
            .map(|r| {
                let ratios: Vec<f64> =
                    stable.iter().zip(&reference).map(|(f, g)| (r.frames[f].0 as f64).ln() - g).collect();
                weighted_median(&ratios, &weights)
            })
            .collect()
    } else {
        runs.iter().map(|r| (r.samples.max(1) as f64).ln()).collect()
    };
    let centre = mean(&log_factors);
    log_factors.iter().map(|l| (l - centre).exp()).collect()
}

/// The value at which the cumulative weight of the sorted values reaches half the total (the
/// mean of the two values when it falls exactly between them).
fn weighted_median(x: &[f64], w: &[f64]) -> f64 {
    let mut order: Vec<usize> = (0..x.len()).collect();
    order.sort_by(|&a, &b| x[a].total_cmp(&x[b]));
    let half = w.iter().sum::<f64>() / 2.0;
    let mut acc = 0.0;
    for (k, &i) in order.iter().enumerate() {
        acc += w[i];
        if (acc - half).abs() <= 1e-12 * half.max(1.0) {
            return order.get(k + 1).map_or(x[i], |&j| 0.5 * (x[i] + x[j]));
        }
        if acc > half {
            return x[i];
        }
    }
    median(x)
}

#[cfg(test)]
mod tests {
    use super::*;
    use hashbrown::HashMap;

    fn run(frames: &[(i64, u64, u64)]) -> RunFrames {
        let samples = frames.iter().map(|f| f.1).sum();
        RunFrames { samples, frames: frames.iter().map(|&(f, s, t)| (f, (s, t))).collect::<HashMap<_, _>>() }
    }

    #[test]
    fn a_uniformly_slower_run_is_scaled_back_and_a_grown_function_does_not_move_the_factor() {
        let a = run(&[(1, 1000, 1000), (2, 2000, 2000), (3, 3000, 3000), (4, 500, 500), (9, 0, 6500)]);
        // Everything 20% slower, and function 4 doubled on top.
        let b = run(&[(1, 1200, 1200), (2, 2400, 2400), (3, 3600, 3600), (4, 1200, 1200), (9, 0, 8400)]);
        let (factors, series) = estimate(&[&a, &b], 0.01, 0.0);
        assert!((factors[1] / factors[0] - 1.2).abs() < 1e-9, "{factors:?}");
        let cost = |f: i64| &series.iter().find(|s| s.frame == f && s.measure == Measure::Own).unwrap().cost;
        assert!((cost(1)[1] / cost(1)[0] - 1.0).abs() < 1e-9, "no dilution, no uniform slowdown");
        assert!((cost(4)[1] / cost(4)[0] - 2.0).abs() < 1e-9, "the doubled function doubles");
        assert!(!series.iter().any(|s| s.frame == 9), "the root holds the whole run: the totals test it");
    }
}
