//! Comparing two sets of profiling runs, function by function.
//!
//! Each run gives every function a *self share* (samples with it on top, over the run's samples)
//! and an *inclusive share* (samples with it anywhere on the stack). A function is tested when
//! its self share, pooled over both sides, is at least `min_share`: a least-squares fit of its
//! per-run self share on the side (base or head) and on the log of the run's sample total, and
//! the t-test of the side's coefficient. The covariate is there because a noisy CI
//! machine does not slow every function alike: a run disturbed by a busy neighbour is longer,
//! and the functions that wait on memory take more of it than a tight loop does, so each
//! function's share moves with the run's length in its own way; the fit measures that per
//! function and takes it out (with fewer than four runs, or runs all of one length, it falls back
//! to Welch's t-test of the shares). The p-values of all functions tested are adjusted
//! together (Benjamini–Hochberg), so that among the changes reported at the default false
//! discovery rate of 2%, about one in fifty may be chance, however many functions were tested. A change is
//! reported when it is significant at that rate *and* its relative size (the fitted change of
//! the self share at equal run length) is at least `min_change`: a real but tiny change is not
//! an alert. Self time is what is tested because a
//! slower function makes every caller's inclusive share grow too; inclusive shares are reported
//! beside it. The runs' sample totals (run time at a fixed sampling rate) are compared the same
//! way, on their own.

use crate::profile::RunFrames;

use super::stats::{ancova, benjamini_hochberg, mean, welch};

/// When a difference is an alert.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CompareOptions {
    /// Functions whose self share, pooled over both sides, is below this are not tested.
    pub min_share: f64,
    /// Relative change of the self share below which a significant change is not reported.
    pub min_change: f64,
    /// False discovery rate over the functions tested.
    pub fdr: f64,
}

impl Default for CompareOptions {
    fn default() -> Self {
        CompareOptions { min_share: 0.005, min_change: 0.05, fdr: 0.02 }
    }
}

/// How one function changed.
#[derive(Debug, Clone, PartialEq)]
pub struct FrameChange {
    pub frame: i64,
    /// Mean over runs of the self share, base and head.
    pub base_self: f64,
    pub head_self: f64,
    /// Mean over runs of the inclusive share.
    pub base_inclusive: f64,
    pub head_inclusive: f64,
    /// The relative change of the self share at equal run length, as fitted (infinite for a
    /// function new in head).
    pub change: f64,
    pub p_value: f64,
    /// Benjamini–Hochberg adjusted over every function tested.
    pub q_value: f64,
}

/// How the runs' sample totals changed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TotalChange {
    pub base_mean: f64,
    pub head_mean: f64,
    pub change: f64,
    pub p_value: f64,
}

/// The outcome of a comparison.
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    /// Significant, large enough, self share grew (as fitted): most costly first (largest share added).
    pub regressions: Vec<FrameChange>,
    /// Significant, large enough, self share shrank: largest share saved first.
    pub improvements: Vec<FrameChange>,
    /// Functions tested (the family the false discovery rate is over).
    pub tested: usize,
    pub total: TotalChange,
}

/// Why two sets of runs cannot be compared.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum CompareError {
    #[error("the {side} has {runs} run(s): a comparison needs at least 2 per side (never one sample against another)")]
    TooFewRuns { side: &'static str, runs: usize },
}

fn shares(runs: &[RunFrames], frame: i64, inclusive: bool) -> Vec<f64> {
    runs.iter()
        .map(|r| {
            let (own, total) = r.frames.get(&frame).copied().unwrap_or((0, 0));
            let n = if inclusive { total } else { own };
            if r.samples == 0 { 0.0 } else { n as f64 / r.samples as f64 }
        })
        .collect()
}

/// Compares `head` against `base`.
pub fn compare(base: &[RunFrames], head: &[RunFrames], options: CompareOptions) -> Result<Comparison, CompareError> {
    for (side, runs) in [("base", base), ("head", head)] {
        if runs.len() < 2 {
            return Err(CompareError::TooFewRuns { side, runs: runs.len() });
        }
    }
    let mut frames: Vec<i64> = base.iter().chain(head).flat_map(|r| r.frames.keys().copied()).collect();
    frames.sort_unstable();
    frames.dedup();
    let runs: Vec<&RunFrames> = base.iter().chain(head).collect();
    let group: Vec<f64> = runs.iter().enumerate().map(|(i, _)| if i < base.len() { 0.0 } else { 1.0 }).collect();
    let length: Vec<f64> = runs.iter().map(|r| (r.samples.max(1) as f64).ln()).collect();
    let centre = mean(&length);
    let length: Vec<f64> = length.iter().map(|l| l - centre).collect();
    let mut tested: Vec<FrameChange> = Vec::new();
    for frame in frames {
        let (b, h) = (shares(base, frame, false), shares(head, frame, false));
        let pooled = (b.iter().sum::<f64>() + h.iter().sum::<f64>()) / (b.len() + h.len()) as f64;
        if pooled < options.min_share {
            continue;
        }
        let y: Vec<f64> = b.iter().chain(&h).copied().collect();
        let (effect, p_value) = match ancova(&y, &group, &length) {
            Some(fit) => fit,
            None => (mean(&h) - mean(&b), welch(&b, &h)),
        };
        let (base_self, head_self) = (mean(&b), mean(&h));
        tested.push(FrameChange {
            frame,
            base_self,
            head_self,
            base_inclusive: mean(&shares(base, frame, true)),
            head_inclusive: mean(&shares(head, frame, true)),
            change: if base_self > 0.0 { effect / base_self } else { f64::INFINITY },
            p_value,
            q_value: 1.0,
        });
    }
    let q = benjamini_hochberg(&tested.iter().map(|c| c.p_value).collect::<Vec<_>>());
    for (c, q) in tested.iter_mut().zip(q) {
        c.q_value = q;
    }
    let count = tested.len();
    let alert = |c: &FrameChange| c.q_value <= options.fdr && c.change.abs() >= options.min_change;
    let (mut regressions, mut improvements): (Vec<FrameChange>, Vec<FrameChange>) =
        tested.into_iter().filter(alert).partition(|c| c.change > 0.0);
    let cost = |c: &FrameChange| (c.head_self - c.base_self).abs();
    regressions.sort_by(|a, b| cost(b).total_cmp(&cost(a)).then(a.q_value.total_cmp(&b.q_value)));
    improvements.sort_by(|a, b| cost(b).total_cmp(&cost(a)).then(a.q_value.total_cmp(&b.q_value)));
    let totals = |runs: &[RunFrames]| runs.iter().map(|r| r.samples as f64).collect::<Vec<_>>();
    let (bt, ht) = (totals(base), totals(head));
    let total = TotalChange {
        base_mean: mean(&bt),
        head_mean: mean(&ht),
        change: if mean(&bt) > 0.0 { mean(&ht) / mean(&bt) - 1.0 } else { 0.0 },
        p_value: welch(&bt, &ht),
    };
    Ok(Comparison { regressions, improvements, tested: count, total })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A run of `samples` where frame f has `self_share[f]` of them on top (and as much inclusive).
    fn run(samples: u64, self_share: &[f64]) -> RunFrames {
        let frames = self_share
            .iter()
            .enumerate()
            .map(|(f, s)| {
                let n = (s * samples as f64).round() as u64;
                (f as i64, (n, n))
            })
            .collect();
        RunFrames { samples, frames }
    }

    #[test]
    fn a_clear_regression_is_found_ranked_and_a_tiny_frame_is_not_tested() {
        // Frame 1 goes from 10% to 12% (+20%) in every head run; frame 2 holds 0.01% and doubles.
        let jitter = [0.0, 0.001, -0.001, 0.0005, -0.0005];
        let base: Vec<RunFrames> = jitter.iter().map(|j| run(100_000, &[0.5 + j, 0.10 - j, 0.0001])).collect();
        let head: Vec<RunFrames> = jitter.iter().map(|j| run(100_000, &[0.5 + j, 0.12 - j, 0.0002])).collect();
        let c = compare(&base, &head, CompareOptions::default()).unwrap();
        assert_eq!(c.tested, 2, "frame 2 is below the minimum share");
        assert_eq!(c.regressions.len(), 1);
        let r = &c.regressions[0];
        assert_eq!(r.frame, 1);
        assert!((r.change - 0.2).abs() < 0.01 && r.q_value < 0.001, "{r:?}");
        assert!(c.improvements.is_empty());
    }

    #[test]
    fn the_same_runs_split_in_two_report_nothing_and_one_run_a_side_is_refused() {
        let runs: Vec<RunFrames> = (0..10)
            .map(|k| run(50_000 + 100 * k, &[0.3 + 0.002 * (k % 3) as f64, 0.05, 0.02 - 0.001 * (k % 2) as f64]))
            .collect();
        let c = compare(&runs[..5], &runs[5..], CompareOptions::default()).unwrap();
        assert!(c.regressions.is_empty() && c.improvements.is_empty(), "{c:?}");
        assert_eq!(
            compare(&runs[..1], &runs[5..], CompareOptions::default()).unwrap_err(),
            CompareError::TooFewRuns { side: "base", runs: 1 }
        );
    }

    proptest::proptest! {
        /// Whatever the runs, a reported change is significant after correction, at least the
        /// minimum relative size, and in the direction of its list; and the same runs always
        /// give the same answer.
        #[test]
        fn only_significant_changes_of_the_minimum_size_are_reported(
            base in proptest::collection::vec(proptest::collection::vec(0.0f64..0.3, 6), 2..6),
            head in proptest::collection::vec(proptest::collection::vec(0.0f64..0.3, 6), 2..6),
            samples in 2_000u64..200_000,
        ) {
            let runs = |shares: &[Vec<f64>]| shares.iter().map(|s| run(samples, s)).collect::<Vec<_>>();
            let (base, head) = (runs(&base), runs(&head));
            let o = CompareOptions::default();
            let c = compare(&base, &head, o).unwrap();
            for r in &c.regressions {
                proptest::prop_assert!(r.q_value <= o.fdr && r.change >= o.min_change, "{r:?}");
            }
            for r in &c.improvements {
                proptest::prop_assert!(r.q_value <= o.fdr && r.change <= -o.min_change, "{r:?}");
            }
            proptest::prop_assert_eq!(compare(&base, &head, o).unwrap(), c);
        }
    }
}
