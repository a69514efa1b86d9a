//! Change points in a series of measurements grouped by commit, in history order: E-divisive
//! means (Matteson and James, 2014) to find where the series splits, and Welch's t-test of the
//! two sides to decide whether the split is real, as Hunter (MongoDB, Fleming et al., 2023)
//! does instead of a permutation test: deterministic, and its p-values are exact enough to
//! correct for testing many series. Splits fall between commits, never inside one, so every run
//! of a commit stays on one side.

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
}

impl Default for TrendOptions {
    fn default() -> Self {
        TrendOptions { alpha: 0.001, min_change: 0.05, max_points: 10 }
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
    Some((lo + gi, welch(left, right), mean(left), mean(right)))
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
        let change = if before != 0.0 { (after / before - 1.0).abs() } else { f64::INFINITY };
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

/// The slope of the least-squares line of `y` on `x` (0 when `x` is constant).
fn least_squares_slope(x: &[f64], y: &[f64]) -> f64 {
    let (mx, my) = (mean(x), mean(y));
    let sxx: f64 = x.iter().map(|v| (v - mx) * (v - mx)).sum();
    if sxx <= 0.0 {
        return 0.0;
    }
    x.iter().zip(y).map(|(a, b)| (a - mx) * (b - my)).sum::<f64>() / sxx
}

/// When a function's history counts as shifted.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TrendFramesOptions {
    /// Functions whose self share over the whole history is below this are not tested.
    pub min_share: f64,
    pub min_change: f64,
    /// The family-wise error rate: each series' splits are tested at `alpha / series tested`.
    pub alpha: f64,
}

impl Default for TrendFramesOptions {
    fn default() -> Self {
        TrendFramesOptions { min_share: 0.005, min_change: 0.05, alpha: 0.05 }
    }
}

/// A change point of one function (or of the runs' sample totals, `frame: None`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FramePoint {
    pub frame: Option<i64>,
    pub point: ChangePoint,
}

/// Every change point of a bench's history.
#[derive(Debug, Clone, PartialEq)]
pub struct Trend {
    /// In history order, then most significant first.
    pub points: Vec<FramePoint>,
    /// Series tested: the functions above the minimum share, and the sample totals.
    pub tested: usize,
}

/// Change points of each function's self share, and of the runs' sample totals, over `groups`
/// (each commit's runs, in history order).
pub fn trend_by_frame(groups: &[Vec<crate::profile::RunFrames>], o: TrendFramesOptions) -> Trend {
    let runs: Vec<&crate::profile::RunFrames> = groups.iter().flatten().collect();
    let mut frames: Vec<i64> = runs.iter().flat_map(|r| r.frames.keys().copied()).collect();
    frames.sort_unstable();
    frames.dedup();
    let share = |r: &crate::profile::RunFrames, f: i64| {
        let own = r.frames.get(&f).map_or(0, |x| x.0);
        if r.samples == 0 { 0.0 } else { own as f64 / r.samples as f64 }
    };
    let tested: Vec<i64> = frames
        .into_iter()
        .filter(|&f| runs.iter().map(|r| share(r, f)).sum::<f64>() / runs.len().max(1) as f64 >= o.min_share)
        .collect();
    let options = TrendOptions { alpha: o.alpha / (tested.len() + 1) as f64, min_change: o.min_change, max_points: 10 };
    // As in a diff, a function's share moves with the length of a disturbed run in its own way:
    // take out its least-squares slope on the log of the run's sample total, over the history.
    let length: Vec<f64> = runs.iter().map(|r| (r.samples.max(1) as f64).ln()).collect();
    let centre = mean(&length);
    let mut points = Vec::new();
    for &f in &tested {
        let shares: Vec<f64> = runs.iter().map(|r| share(r, f)).collect();
        let slope = least_squares_slope(&length, &shares);
        let mut adjusted = shares.iter().zip(&length).map(|(s, l)| s - slope * (l - centre));
        let series: Vec<Vec<f64>> = groups.iter().map(|g| adjusted.by_ref().take(g.len()).collect()).collect();
        points.extend(change_points(&series, options).into_iter().map(|point| FramePoint { frame: Some(f), point }));
    }
    let totals: Vec<Vec<f64>> = groups.iter().map(|g| g.iter().map(|r| r.samples as f64).collect()).collect();
    points.extend(change_points(&totals, options).into_iter().map(|point| FramePoint { frame: None, point }));
    points.sort_by(|a, b| a.point.at.cmp(&b.point.at).then(a.point.p_value.total_cmp(&b.point.p_value)));
    Trend { points, tested: tested.len() + 1 }
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
}
