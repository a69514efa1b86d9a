//! Comparing two sets of profiling runs, function by function (detector v2; the reasoning for
//! each choice is in docs/profiling.md).
//!
//! 1. Every function's cost per run, self and inclusive, in the profile's unit (time, for perf),
//!    divided by the run's median-of-ratios size factor (`estimate`): a uniformly slower run is
//!    not a regression of every function, a function that grows does not make the others shrink
//!    by dilution, and nothing fitted can explain a regression away.
//! 2. A moderated t-test of the log cost of each function above `min_share`, self and inclusive
//!    (`stats::moderated_t`), for power at 2–5 runs a side.
//! 3. The Benjamini–Hochberg adjustment over everything tested; a change is significant when its
//!    q-value is at most `fdr` and the estimated change of the work itself is at least
//!    `min_change`.
//! 4. Attribution from the stacks (`attribute`): a function that vanished into its caller (or
//!    came out of it) while the caller's inclusive cost held is *moved*, not −100% and new; a
//!    caller whose growth a changed callee of the project explains is not repeated; library frames
//!    (std, libc, the kernel) beneath a changed project function are listed as what carries its
//!    samples instead of standing alone.
//!
//! The runs' totals (their length, at a fixed sampling rate) are compared apart (Welch).

use hashbrown::{HashMap, HashSet};

use super::attribute::Stacks;
use super::estimate::{Measure, estimate};
use super::stats::{benjamini_hochberg, mean, moderated_t, welch};
use crate::profile::RunFrames;

/// When a difference is an alert.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CompareOptions {
    /// Functions whose self (or inclusive) share, pooled over both sides, is below this are not
    /// tested on that measure.
    pub min_share: f64,
    /// Relative change of the work below which a significant change is not reported.
    pub min_change: f64,
    /// False discovery rate over everything tested.
    pub fdr: f64,
    /// Costs of fewer samples than this per run on average are not tested (see `estimate`).
    pub min_samples: f64,
}

impl Default for CompareOptions {
    fn default() -> Self {
        // Chosen on half of the benchmark's pool of real profiles, reported on the other half
        // (docs/profiling.md, scripts/bench_profile_shapes.py).
        CompareOptions { min_share: 0.005, min_change: 0.02, fdr: 0.02, min_samples: 20.0 }
    }
}

/// A library frame beneath a changed function that carries its samples.
#[derive(Debug, Clone, PartialEq)]
pub struct Carrier {
    pub frame: i64,
    /// Its own mean shares over the whole runs, base and head.
    pub base_self: f64,
    pub head_self: f64,
    pub base_inclusive: f64,
    pub head_inclusive: f64,
    /// Its self cost within the changed function's calls, per run (normalised), base and head.
    pub base_within: f64,
    pub head_within: f64,
}

/// How one function changed.
#[derive(Debug, Clone, PartialEq)]
pub struct FrameChange {
    pub frame: i64,
    /// The cost whose change is reported (inclusive when it changed significantly, else self).
    pub measure: Measure,
    /// Mean over runs of the self share, base and head.
    pub base_self: f64,
    pub head_self: f64,
    /// Mean over runs of the inclusive share.
    pub base_inclusive: f64,
    pub head_inclusive: f64,
    /// Mean cost per run of the measure, normalised, in the profile's unit (ns for perf).
    pub base_cost: f64,
    pub head_cost: f64,
    /// The estimated relative change of the measure's cost (ratio of geometric means − 1;
    /// infinite for a function new in head).
    pub change: f64,
    pub p_value: f64,
    /// Benjamini–Hochberg adjusted over everything tested.
    pub q_value: f64,
    /// Library frames beneath it that carry the change, largest first.
    pub carriers: Vec<Carrier>,
}

/// A function that moved into its caller (inlined) or out of it, its caller's inclusive cost
/// unchanged.
#[derive(Debug, Clone, PartialEq)]
pub struct Moved {
    pub frame: i64,
    pub caller: i64,
    /// Into the caller (gone in head); else out of it (new in head).
    pub inlined: bool,
    /// Its mean self share on the side where it was seen.
    pub share: f64,
}

/// How the runs' totals changed.
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
    /// Significant, large enough, cost grew: the largest cost added first.
    pub regressions: Vec<FrameChange>,
    /// Significant, large enough, cost fell: the largest cost saved first.
    pub improvements: Vec<FrameChange>,
    pub moved: Vec<Moved>,
    /// Costs tested (the family the false discovery rate is over).
    pub tested: usize,
    pub total: TotalChange,
}

/// Why two sets of runs cannot be compared.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum CompareError {
    #[error("the {side} has {runs} run(s): a comparison needs at least 2 per side (never one sample against another)")]
    TooFewRuns { side: &'static str, runs: usize },
}

/// One cost tested.
#[derive(Debug, Clone)]
struct Test {
    frame: i64,
    measure: Measure,
    base_cost: f64,
    head_cost: f64,
    change: f64,
    p_value: f64,
    q_value: f64,
}

/// Mean share of a frame over runs, self or inclusive.
fn share(runs: &[RunFrames], frame: i64, inclusive: bool) -> f64 {
    mean(
        &runs
            .iter()
            .map(|r| {
                let (own, total) = r.frames.get(&frame).copied().unwrap_or((0, 0));
                if r.samples == 0 { 0.0 } else { (if inclusive { total } else { own }) as f64 / r.samples as f64 }
            })
            .collect::<Vec<_>>(),
    )
}

/// Compares `head` against `base`; with `stacks`, attributes what changed (see the module docs).
pub fn compare(
    base: &[RunFrames],
    head: &[RunFrames],
    stacks: Option<&Stacks>,
    options: CompareOptions,
) -> Result<Comparison, CompareError> {
    for (side, runs) in [("base", base), ("head", head)] {
        if runs.len() < 2 {
            return Err(CompareError::TooFewRuns { side, runs: runs.len() });
        }
    }
    let nb = base.len();
    let runs: Vec<&RunFrames> = base.iter().chain(head).collect();
    let (factors, series) = estimate(&runs, options.min_share, options.min_samples);
    let pairs: Vec<(&[f64], &[f64])> = series.iter().map(|s| (&s.log[..nb], &s.log[nb..])).collect();
    let abundance: Vec<f64> = series.iter().map(|s| (mean(&s.cost) + 1.0).ln()).collect();
    let fits = moderated_t(&pairs, &abundance);
    let q = benjamini_hochberg(&fits.iter().map(|f| f.1).collect::<Vec<_>>());
    let tests: Vec<Test> = series
        .iter()
        .zip(&fits)
        .zip(q)
        .map(|((s, &(d, p_value)), q_value)| {
            let (base_cost, head_cost) = (mean(&s.cost[..nb]), mean(&s.cost[nb..]));
            let change = if base_cost > 0.0 { d.exp() - 1.0 } else { f64::INFINITY };
            Test { frame: s.frame, measure: s.measure, base_cost, head_cost, change, p_value, q_value }
        })
        .collect();
    let significant = |t: &Test| t.q_value <= options.fdr && t.change.abs() >= options.min_change;
    let tested = tests.len();
    let by_key: HashMap<(i64, Measure), &Test> = tests.iter().map(|t| ((t.frame, t.measure), t)).collect();
    let changed = |f: i64, m: Measure| by_key.get(&(f, m)).is_some_and(|t| significant(t));
    // Mean normalised cost of a frame per run on each side (for what was not tested).
    let cost = |f: i64, inclusive: bool| -> (f64, f64) {
        let per_run: Vec<f64> = runs
            .iter()
            .zip(&factors)
            .map(|(r, s)| {
                let (own, total) = r.frames.get(&f).copied().unwrap_or((0, 0));
                (if inclusive { total } else { own }) as f64 / s
            })
            .collect();
        (mean(&per_run[..nb]), mean(&per_run[nb..]))
    };

    let mut explained: HashSet<(i64, Measure)> = HashSet::new();
    let mut moved = Vec::new();
    if let Some(st) = stacks {
        let absent = |runs: &[RunFrames], f: i64| runs.iter().all(|r| r.frames.get(&f).is_none_or(|v| v.1 == 0));
        let present = |runs: &[RunFrames], f: i64| runs.iter().all(|r| r.frames.get(&f).is_some_and(|v| v.1 > 0));
        for t in tests.iter().filter(|t| t.measure == Measure::Own && significant(t)) {
            let f = t.frame;
            let (inlined, gone_from, kept_in) = if absent(head, f) {
                (true, false, head)
            } else if absent(base, f) {
                (false, true, base)
            } else {
                continue;
            };
            let Some(caller) = st.main_caller(f, gone_from) else { continue };
            if !present(kept_in, caller) || changed(caller, Measure::Inclusive) {
                continue;
            }
            let share = share(if inlined { base } else { head }, f, false);
            moved.push(Moved { frame: f, caller, inlined, share });
            explained.extend([(f, Measure::Own), (f, Measure::Inclusive), (caller, Measure::Own)]);
        }
    }

    let mut lists = [Vec::new(), Vec::new()];
    for (k, grew) in [(0, true), (1, false)] {
        let frames: HashSet<i64> = tests
            .iter()
            .filter(|t| significant(t) && (t.change > 0.0) == grew && !explained.contains(&(t.frame, t.measure)))
            .map(|t| t.frame)
            .collect();
        let delta = |f: i64| {
            let (b, h) = cost(f, true);
            h - b
        };
        let headlines: Vec<i64> = match stacks {
            None => frames.iter().copied().collect(),
            Some(st) => st.headlines(&frames, delta),
        };
        for f in headlines {
            let t = [Measure::Inclusive, Measure::Own]
                .into_iter()
                .filter_map(|m| by_key.get(&(f, m)).copied())
                .find(|t| significant(t) && (t.change > 0.0) == grew && !explained.contains(&(f, t.measure)));
            let Some(t) = t else { continue };
            let carriers = stacks.map_or_else(Vec::new, |st| carriers(st, f, grew, &factors, nb, base, head));
            lists[k].push(FrameChange {
                frame: f,
                measure: t.measure,
                base_self: share(base, f, false),
                head_self: share(head, f, false),
                base_inclusive: share(base, f, true),
                head_inclusive: share(head, f, true),
                base_cost: t.base_cost,
                head_cost: t.head_cost,
                change: t.change,
                p_value: t.p_value,
                q_value: t.q_value,
                carriers,
            });
        }
        let added = |c: &FrameChange| (c.head_cost - c.base_cost).abs();
        lists[k].sort_by(|a, b| added(b).total_cmp(&added(a)).then(a.frame.cmp(&b.frame)));
    }
    let [regressions, improvements] = lists;
    moved.sort_by(|a, b| b.share.total_cmp(&a.share).then(a.frame.cmp(&b.frame)));
    let totals = |runs: &[RunFrames]| runs.iter().map(|r| r.samples as f64).collect::<Vec<_>>();
    let (bt, ht) = (totals(base), totals(head));
    let total = TotalChange {
        base_mean: mean(&bt),
        head_mean: mean(&ht),
        change: if mean(&bt) > 0.0 { mean(&ht) / mean(&bt) - 1.0 } else { 0.0 },
        p_value: welch(&bt, &ht),
    };
    Ok(Comparison { regressions, improvements, moved, tested, total })
}

/// The library frames beneath `frame` whose self cost within its calls moved the same way as
/// it, by at least a tenth of its change: at most three, largest first.
fn carriers(
    st: &Stacks,
    frame: i64,
    grew: bool,
    factors: &[f64],
    nb: usize,
    base: &[RunFrames],
    head: &[RunFrames],
) -> Vec<Carrier> {
    // Merged samples over a side's runs, per run and normalised.
    let (sb, sh): (f64, f64) = (factors[..nb].iter().sum(), factors[nb..].iter().sum());
    let within = st.within(frame);
    let whole = within.values().fold((0.0, 0.0), |(b, h), &(x, y)| (b + x as f64 / sb, h + y as f64 / sh));
    let step = (whole.1 - whole.0).abs();
    let mut out: Vec<Carrier> = within
        .into_iter()
        .filter(|&(leaf, _)| leaf != frame && !st.is_project(leaf))
        .map(|(leaf, (b, h))| Carrier {
            frame: leaf,
            base_self: share(base, leaf, false),
            head_self: share(head, leaf, false),
            base_inclusive: share(base, leaf, true),
            head_inclusive: share(head, leaf, true),
            base_within: b as f64 / sb,
            head_within: h as f64 / sh,
        })
        .filter(|c| {
            let d = c.head_within - c.base_within;
            (d > 0.0) == grew && d.abs() >= 0.1 * step
        })
        .collect();
    let moved = |c: &Carrier| (c.head_within - c.base_within).abs();
    out.sort_by(|a, b| moved(b).total_cmp(&moved(a)).then(a.frame.cmp(&b.frame)));
    out.truncate(3);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `runs` runs of `shape` (stack, samples), each count jittered by a deterministic 1–2%,
    /// with `scale(stack index)` applied; and their stacks merged.
    fn runs(
        shape: &[(Vec<i64>, u64)],
        runs: usize,
        seed: u64,
        scale: impl Fn(usize) -> f64,
    ) -> (Vec<RunFrames>, Vec<(Vec<i64>, u64)>) {
        let mut merged: Vec<(Vec<i64>, u64)> = shape.iter().map(|(s, _)| (s.clone(), 0)).collect();
        let runs = (0..runs)
            .map(|r| {
                let stacks: Vec<(Vec<i64>, u64)> = shape
                    .iter()
                    .enumerate()
                    .map(|(i, (s, n))| {
                        let jitter = 1.0 + 0.015 * (((r as u64 * 7 + i as u64 * 13 + seed) % 5) as f64 - 2.0) / 2.0;
                        (s.clone(), (*n as f64 * jitter * scale(i)).round() as u64)
                    })
                    .collect();
                for (m, (_, n)) in merged.iter_mut().zip(&stacks) {
                    m.1 += n;
                }
                RunFrames::from_stacks(&stacks)
            })
            .collect();
        (runs, merged)
    }

    fn names() -> HashMap<i64, String> {
        [
            (1, "main"),
            (2, "app::rank_records"),
            (3, "app::dedupe_keys"),
            (4, "core::slice::sort::quicksort"),
            (5, "app::hash_blocks"),
            (6, "app::parse_numbers"),
            (7, "app::mix_floats"),
            (8, "app::scan_bytes"),
            (9, "app::helper"),
        ]
        .into_iter()
        .map(|(f, n)| (f, n.to_string()))
        .collect()
    }

    /// A program whose rank_records and dedupe_keys both sort through std's sort frame (and, as
    /// real profiles have, a rare frame of one sample: what a sample weighs is read from it).
    fn program() -> Vec<(Vec<i64>, u64)> {
        vec![
            (vec![1, 10], 1),
            (vec![1, 2, 4], 1000),
            (vec![1, 2], 100),
            (vec![1, 3, 4], 800),
            (vec![1, 3], 200),
            (vec![1, 5], 3000),
            (vec![1, 6], 2000),
            (vec![1, 7], 1500),
            (vec![1, 8], 500),
        ]
    }

    #[test]
    fn a_slower_function_whose_time_is_in_std_is_named_with_its_library_frames_and_nothing_is_diluted() {
        let shape = program();
        let (base, b) = runs(&shape, 5, 0, |_| 1.0);
        // rank_records sorts 20% more: its stack through the sort grows, the run lengthens.
        let (head, h) = runs(&shape, 5, 3, |i| if i == 1 { 1.2 } else { 1.0 });
        let stacks = Stacks { base: b, head: h, names: names() };
        let c = compare(&base, &head, Some(&stacks), CompareOptions::default()).unwrap();
        assert_eq!(c.regressions.len(), 1, "{c:#?}");
        let r = &c.regressions[0];
        assert_eq!((r.frame, r.measure), (2, Measure::Inclusive));
        assert!((r.change - 0.18).abs() < 0.03, "{r:?}");
        assert_eq!(r.carriers.iter().map(|x| x.frame).collect::<Vec<_>>(), [4], "the sort frame carries it");
        assert!(c.improvements.is_empty(), "no function shrinks by dilution: {:?}", c.improvements);
        assert!(c.total.change > 0.02, "the run is longer: {:?}", c.total);
    }

    #[test]
    fn a_uniformly_slower_machine_is_not_a_regression_of_every_function() {
        let shape = program();
        let (base, b) = runs(&shape, 5, 0, |_| 1.0);
        let (head, h) = runs(&shape, 5, 3, |_| 1.3);
        let stacks = Stacks { base: b, head: h, names: names() };
        let c = compare(&base, &head, Some(&stacks), CompareOptions::default()).unwrap();
        assert!(c.regressions.is_empty() && c.improvements.is_empty(), "{c:#?}");
        assert!((c.total.change - 0.3).abs() < 0.02 && c.total.p_value < 0.001, "{:?}", c.total);
    }

    #[test]
    fn a_function_inlined_into_its_caller_is_moved_not_gone_and_new() {
        let mut before = program();
        before.push((vec![1, 5, 9], 600));
        let mut after = program();
        after[5].1 += 600; // hash_blocks now does helper's work itself
        let (base, b) = runs(&before, 4, 0, |_| 1.0);
        let (head, h) = runs(&after, 4, 1, |_| 1.0);
        let stacks = Stacks { base: b, head: h, names: names() };
        let c = compare(&base, &head, Some(&stacks), CompareOptions::default()).unwrap();
        assert_eq!(c.moved.len(), 1, "{c:#?}");
        assert_eq!((c.moved[0].frame, c.moved[0].caller, c.moved[0].inlined), (9, 5, true));
        assert!(c.regressions.is_empty() && c.improvements.is_empty(), "{c:#?}");
        // Without the stacks nothing can be attributed: helper is gone and hash_blocks grew.
        let bare = compare(&base, &head, None, CompareOptions::default()).unwrap();
        assert!(bare.improvements.iter().any(|x| x.frame == 9) && bare.regressions.iter().any(|x| x.frame == 5));
    }

    #[test]
    fn the_same_runs_split_in_two_report_nothing_and_one_run_a_side_is_refused() {
        let shape = program();
        let (all, _) = runs(&shape, 10, 0, |_| 1.0);
        let c = compare(&all[..5], &all[5..], None, CompareOptions::default()).unwrap();
        assert!(c.regressions.is_empty() && c.improvements.is_empty(), "{c:?}");
        assert!(c.tested >= 8, "self and inclusive costs are tested: {}", c.tested);
        assert_eq!(
            compare(&all[..1], &all[5..], None, CompareOptions::default()).unwrap_err(),
            CompareError::TooFewRuns { side: "base", runs: 1 }
        );
    }

    /// A run of `samples` where frame f has `self_share[f]` of them on top (and as much inclusive).
    fn flat(samples: u64, self_share: &[f64]) -> RunFrames {
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
            let runs = |shares: &[Vec<f64>]| shares.iter().map(|s| flat(samples, s)).collect::<Vec<_>>();
            let (base, head) = (runs(&base), runs(&head));
            let o = CompareOptions::default();
            let c = compare(&base, &head, None, o).unwrap();
            for r in &c.regressions {
                proptest::prop_assert!(r.q_value <= o.fdr && r.change >= o.min_change, "{r:?}");
            }
            for r in &c.improvements {
                proptest::prop_assert!(r.q_value <= o.fdr && r.change <= -o.min_change, "{r:?}");
            }
            proptest::prop_assert_eq!(compare(&base, &head, None, o).unwrap(), c);
        }
    }
}
