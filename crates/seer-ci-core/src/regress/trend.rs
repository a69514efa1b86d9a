//! Change points in a series of measurements grouped by commit, in history order: E-divisive
//! means (Matteson and James, 2014) to find where the series splits, and Welch's t-test of the
//! two sides to decide whether the split is real, as Hunter (MongoDB, Fleming et al., 2023)
//! does instead of a permutation test: deterministic, and its p-values are exact enough to
//! correct for testing many series. Splits fall between commits, never inside one, so every run
//! of a commit stays on one side.

use hashbrown::HashSet;

use super::attribute::Stacks;
use super::estimate::{Measure, estimate};
use super::stats::{mean, welch};

/// When a split is a change point.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TrendOptions {
    /// A split is kept when its t-test's p-value is at most this.
    pub alpha: f64,
    /// ...and the relative change of the mean across it is at least this.
    pub min_change: f64,
    /// Change points found at most.
    pub max_points: usize,
    /// The values are logs: the relative change across a split is exp(after − before) − 1.
    pub log: bool,
}

impl Default for TrendOptions {
    fn default() -> Self {
        TrendOptions { alpha: 0.001, min_change: 0.05, max_points: 10, log: false }
    }
}

/// A shift in the series.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ChangePoint {
    /// Index of the first group (commit) after the shift.
    pub at: usize,
    /// Mean of the segment before it (back to the previous change point) and after it (to the next).
    pub before: f64,
    pub after: f64,
    pub p_value: f64,
}

/// The E-divisive statistic of splitting `x` at `k`: (mn / (m + n)) times the energy distance
/// between the two sides (α = 1).
fn energy(x: &[f64], k: usize) -> f64 {
    let (left, right) = x.split_at(k);
    let (m, n) = (left.len() as f64, right.len() as f64);
    let within = |s: &[f64]| -> f64 {
        if s.len() < 2 {
            return 0.0;
        }
        let mut sum = 0.0;
        for i in 0..s.len() {
            for j in i + 1..s.len() {
                sum += (s[i] - s[j]).abs();
            }
        }
        sum * 2.0 / (s.len() * (s.len() - 1)) as f64
    };
    let mut between = 0.0;
    for a in left {
        for b in right {
            between += (a - b).abs();
        }
    }
    let e = 2.0 * between / (m * n) - within(left) - within(right);
    m * n / (m + n) * e
}

/// Commits a side of a split needs at least: a shift in the newest commit alone waits for the
/// next one to be confirmed (a diff compares the newest commit at once).
const MIN_GROUPS: usize = 2;

/// The best split of groups `lo..hi` (each side at least [`MIN_GROUPS`] groups and two values), if any.
fn best_split(groups: &[Vec<f64>], lo: usize, hi: usize) -> Option<(usize, f64, f64, f64)> {
    let values: Vec<f64> = groups[lo..hi].iter().flatten().copied().collect();
    let mut starts = Vec::new();
    let mut at = 0;
    for g in &groups[lo..hi] {
        starts.push(at);
        at += g.len();
    }
    let mut best: Option<(usize, f64)> = None;
    for (gi, &start) in starts.iter().enumerate().skip(MIN_GROUPS) {
        if start < 2 || values.len() - start < 2 || hi - lo - gi < MIN_GROUPS {
            continue;
        }
        let q = energy(&values, start);
        if best.is_none_or(|(_, b)| q > b) {
            best = Some((gi, q));
        }
    }
    let (gi, _) = best?;
    let (left, right) = values.split_at(starts[gi]);
    // The split was chosen as the best of `candidates`: its t-test is corrected for that choice
    // (Bonferroni over the positions), or a flat series of single runs splits somewhere by chance.
    let candidates = (lo + MIN_GROUPS..=hi - MIN_GROUPS).count().max(1) as f64;
    Some((lo + gi, (welch(left, right) * candidates).min(1.0), mean(left), mean(right)))
}

/// The change points of a series of groups of values (one group per commit, in history order).
pub fn change_points(groups: &[Vec<f64>], options: TrendOptions) -> Vec<ChangePoint> {
    let mut cuts: Vec<usize> = Vec::new();
    let mut pending = vec![(0usize, groups.len())];
    while let Some((lo, hi)) = pending.pop() {
        if cuts.len() >= options.max_points {
            break;
        }
        let Some((at, p, before, after)) = best_split(groups, lo, hi) else { continue };
        let change = if options.log {
            (after - before).exp_m1().abs()
        } else if before != 0.0 {
            (after / before - 1.0).abs()
        } else {
            f64::INFINITY
        };
        if p <= options.alpha && change >= options.min_change {
            cuts.push(at);
            pending.push((lo, at));
            pending.push((at, hi));
        }
    }
    cuts.sort_unstable();
    // Each change point's before and after: the segments between its neighbours.
    let bounds: Vec<usize> =
        std::iter::once(0).chain(cuts.iter().copied()).chain(std::iter::once(groups.len())).collect();
    let segment = |a: usize, b: usize| -> Vec<f64> { groups[a..b].iter().flatten().copied().collect() };
    cuts.iter()
        .enumerate()
        .map(|(i, &at)| {
            let (before, after) = (segment(bounds[i], at), segment(at, bounds[i + 2]));
            ChangePoint { at, before: mean(&before), after: mean(&after), p_value: welch(&before, &after) }
        })
        .collect()
}

/// When a function's history counts as shifted.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TrendFramesOptions {
    /// Functions whose self (or inclusive) share over the whole history is below this are not
    /// tested on that measure.
    pub min_share: f64,
    pub min_change: f64,
    /// The family-wise error rate: each series' splits are tested at `alpha / series tested`.
    pub alpha: f64,
    /// Costs of fewer samples than this per run on average are not tested (see `estimate`).
    pub min_samples: f64,
}

impl Default for TrendFramesOptions {
    fn default() -> Self {
        // Chosen on half of the benchmark's pool of real profiles, reported on the other half
        // (docs/profiling.md, scripts/bench_profile_shapes.py).
        TrendFramesOptions { min_share: 0.005, min_change: 0.02, alpha: 0.001, min_samples: 50.0 }
    }
}

/// A change point of one function's cost (or of the runs' totals, `frame: None`). For a
/// function, `before` and `after` are geometric means of its normalised cost per run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FramePoint {
    pub frame: Option<i64>,
    pub measure: Measure,
    pub point: ChangePoint,
}

/// Every change point of a bench's history.
#[derive(Debug, Clone, PartialEq)]
pub struct Trend {
    /// In history order, then most significant first.
    pub points: Vec<FramePoint>,
    /// Series tested: the functions' costs above the minimum share, and the totals.
    pub tested: usize,
}

/// Change points of each function's cost, self and inclusive, normalised as the detector does
/// (`estimate`: a size factor per run over the whole history), and of the runs' totals, over
/// `groups` (each commit's runs, in history order). With `stacks` (merged over the history, as
/// `Stacks::base`), the shifts at one commit are attributed as a diff's are: a caller whose shift
/// a project function beneath it explains, and library frames beneath such a function, are not
/// named apart, and a function whose inclusive cost shifted is named by it.
pub fn trend_by_frame(
    groups: &[Vec<crate::profile::RunFrames>],
    stacks: Option<&Stacks>,
    o: TrendFramesOptions,
) -> Trend {
    let runs: Vec<&crate::profile::RunFrames> = groups.iter().flatten().collect();
    let (_, series) = estimate(&runs, o.min_share, o.min_samples);
    let options = TrendOptions {
        alpha: o.alpha / (series.len() + 1) as f64,
        min_change: o.min_change,
        max_points: 10,
        log: true,
    };
    let mut points = Vec::new();
    for s in &series {
        let mut values = s.log.iter().copied();
        let groups: Vec<Vec<f64>> = groups.iter().map(|g| values.by_ref().take(g.len()).collect()).collect();
        points.extend(change_points(&groups, options).into_iter().map(|mut point| {
            (point.before, point.after) = (point.before.exp(), point.after.exp());
            FramePoint { frame: Some(s.frame), measure: s.measure, point }
        }));
    }
    if let Some(st) = stacks {
        points = attribute(points, st);
    }
    let totals: Vec<Vec<f64>> = groups.iter().map(|g| g.iter().map(|r| r.samples as f64).collect()).collect();
    let options = TrendOptions { log: false, ..options };
    points.extend(change_points(&totals, options).into_iter().map(|point| FramePoint {
        frame: None,
        measure: Measure::Own,
        point,
    }));
    points.sort_by(|a, b| a.point.at.cmp(&b.point.at).then(a.point.p_value.total_cmp(&b.point.p_value)));
    Trend { points, tested: series.len() + 1 }
}

/// The shifts worth naming among `points` of functions: at each commit and in each direction,
/// the project functions not explained by a project function beneath them that shifted with at
/// least half their change, each by its inclusive cost when that shifted, and the library frames
/// not beneath one of them.
fn attribute(points: Vec<FramePoint>, st: &Stacks) -> Vec<FramePoint> {
    let mut keep = Vec::new();
    let mut keys: Vec<(usize, bool)> = points.iter().map(|p| (p.point.at, p.point.after > p.point.before)).collect();
    keys.sort_unstable();
    keys.dedup();
    for (at, grew) in keys {
        let here: Vec<&FramePoint> =
            points.iter().filter(|p| p.point.at == at && (p.point.after > p.point.before) == grew).collect();
        let frames: HashSet<i64> = here.iter().filter_map(|p| p.frame).collect();
        // A frame's shift: its inclusive one when it has one.
        let best = |f: i64| {
            let mine = here.iter().filter(|p| p.frame == Some(f));
            mine.clone().find(|p| p.measure == Measure::Inclusive).or_else(|| mine.clone().next()).map(|p| **p)
        };
        let delta = |f: i64| best(f).map_or(0.0, |p| (p.point.after - p.point.before).abs());
        let mut named = st.headlines(&frames, delta);
        named.sort_unstable();
        keep.extend(named.into_iter().filter_map(best));
    }
    keep
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `commits` groups of 3 runs around `level(c)`, with a fixed small jitter.
    fn series(commits: usize, level: impl Fn(usize) -> f64) -> Vec<Vec<f64>> {
        let jitter = [0.0, 0.004, -0.004];
        (0..commits).map(|c| jitter.iter().map(|j| level(c) * (1.0 + j + 0.002 * (c % 2) as f64)).collect()).collect()
    }

    #[test]
    fn a_shift_is_placed_at_its_first_commit() {
        let groups = series(12, |c| if c >= 7 { 0.033 } else { 0.030 });
        let points = change_points(&groups, TrendOptions::default());
        assert_eq!(points.len(), 1, "{points:?}");
        assert_eq!(points[0].at, 7);
        assert!((points[0].after / points[0].before - 1.1).abs() < 0.01);
    }

    #[test]
    fn a_flat_series_has_none_and_two_shifts_are_both_found() {
        assert!(change_points(&series(12, |_| 0.03), TrendOptions::default()).is_empty());
        let groups = series(16, |c| match c {
            0..=4 => 0.030,
            5..=10 => 0.036,
            _ => 0.031,
        });
        let at: Vec<usize> = change_points(&groups, TrendOptions::default()).iter().map(|p| p.at).collect();
        assert_eq!(at, [5, 11]);
    }

    /// A run of a program whose `rank` (frame 2) sorts through std's sort (frame 4, shared with
    /// frame 3), with `rank`'s sorting scaled by `slow` and every count by a run-to-run jitter.
    fn sorting_run(slow: f64, jitter: f64) -> (crate::profile::RunFrames, Vec<(Vec<i64>, u64)>) {
        let stacks: Vec<(Vec<i64>, u64)> = [
            (vec![1, 8], 1.0),
            (vec![1, 2, 4], 1000.0 * slow),
            (vec![1, 2], 100.0),
            (vec![1, 3, 4], 800.0),
            (vec![1, 3], 200.0),
            (vec![1, 5], 3000.0),
            (vec![1, 6], 2000.0),
            (vec![1, 7], 1500.0),
        ]
        .into_iter()
        .enumerate()
        .map(|(i, (s, n))| (s, (n * jitter * (1.0 + 0.01 * ((i % 3) as f64 - 1.0) * jitter.fract())).round() as u64))
        .collect();
        (crate::profile::RunFrames::from_stacks(&stacks), stacks)
    }

    #[test]
    fn a_function_sorting_more_from_one_commit_is_named_there_by_its_inclusive_cost_and_nothing_is_diluted() {
        let names = [(1, "main"), (2, "app::rank"), (3, "app::dedupe"), (4, "core::slice::sort::merge")]
            .into_iter()
            .map(|(f, n)| (f, n.to_string()))
            .chain((5..8).map(|f| (f, format!("app::f{f}"))))
            .collect();
        let mut stacks = Stacks { names, ..Stacks::default() };
        // 12 commits of 2 runs; runs vary in speed by up to ±4% as a whole; rank sorts 15% more from commit 7.
        let groups: Vec<Vec<crate::profile::RunFrames>> = (0..12)
            .map(|c| {
                (0..2)
                    .map(|k| {
                        let jitter = 1.0 + 0.04 * (((c * 2 + k) * 7 % 5) as f64 - 2.0) / 2.0 + 0.0013 * k as f64;
                        let (run, s) = sorting_run(if c >= 7 { 1.15 } else { 1.0 }, jitter);
                        stacks.base.extend(s);
                        run
                    })
                    .collect()
            })
            .collect();
        let t = trend_by_frame(&groups, Some(&stacks), TrendFramesOptions::default());
        let named: Vec<(usize, Option<i64>, Measure)> =
            t.points.iter().map(|p| (p.point.at, p.frame, p.measure)).collect();
        assert!(named.contains(&(7, Some(2), Measure::Inclusive)), "{named:?}");
        assert!(
            named.iter().all(|&(at, f, _)| f.is_none() || (at, f) == (7, Some(2))),
            "no other function, no dilution: {named:?}"
        );
    }
}
