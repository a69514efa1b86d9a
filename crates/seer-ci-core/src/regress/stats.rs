//! The few statistics the detector needs: the empirical-Bayes moderated t-test (limma's, Smyth
//! 2004), Welch's t-test (the trend's and the totals'), and the Benjamini–Hochberg adjustment.

use statrs::distribution::{ContinuousCDF, StudentsT};
use statrs::function::gamma::digamma;

pub fn mean(x: &[f64]) -> f64 {
    if x.is_empty() { 0.0 } else { x.iter().sum::<f64>() / x.len() as f64 }
}

/// The median (0 for none); the mean of the middle two for an even count.
pub fn median(x: &[f64]) -> f64 {
    if x.is_empty() {
        return 0.0;
    }
    let mut v = x.to_vec();
    v.sort_by(f64::total_cmp);
    let m = v.len() / 2;
    if v.len() % 2 == 1 { v[m] } else { 0.5 * (v[m - 1] + v[m]) }
}

/// The unbiased sample variance (0 for fewer than two values).
pub fn variance(x: &[f64]) -> f64 {
    if x.len() < 2 {
        return 0.0;
    }
    let m = mean(x);
    x.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / (x.len() - 1) as f64
}

/// The two-sided p-value of Welch's t-test that `a` and `b` have the same mean (unequal
/// variances, Welch–Satterthwaite degrees of freedom). Both need two values or more; equal
/// constant samples give 1, different constant samples 0.
pub fn welch(a: &[f64], b: &[f64]) -> f64 {
    assert!(a.len() >= 2 && b.len() >= 2, "Welch's t-test needs two values a side");
    let (va, vb) = (variance(a) / a.len() as f64, variance(b) / b.len() as f64);
    let diff = mean(a) - mean(b);
    let se2 = va + vb;
    if se2 <= 0.0 {
        return if diff == 0.0 { 1.0 } else { 0.0 };
    }
    let t = diff / se2.sqrt();
    let df = se2 * se2 / (va * va / (a.len() - 1) as f64 + vb * vb / (b.len() - 1) as f64);
    match StudentsT::new(0.0, 1.0, df) {
        Ok(dist) => (2.0 * dist.cdf(-t.abs())).clamp(0.0, 1.0),
        Err(_) => 1.0,
    }
}

/// The trigamma function ψ′(x), x > 0: the recurrence up to 6, then the asymptotic series.
pub fn trigamma(mut x: f64) -> f64 {
    let mut sum = 0.0;
    while x < 6.0 {
        sum += 1.0 / (x * x);
        x += 1.0;
    }
    let (x2, inv) = (x * x, 1.0 / x);
    let inv2 = inv * inv;
    sum + inv + inv2 / 2.0 + inv / x2 * (1.0 / 6.0 - inv2 * (1.0 / 30.0 - inv2 * (1.0 / 42.0 - inv2 / 30.0)))
}

/// The x > 0 with ψ′(x) = y (ψ′ falls from +∞ to 0): bisection on the log scale.
fn trigamma_inverse(y: f64) -> f64 {
    let (mut lo, mut hi) = (1e-8f64.ln(), 1e8f64.ln());
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if trigamma(mid.exp()) > y { lo = mid } else { hi = mid }
    }
    (0.5 * (lo + hi)).exp()
}

/// The prior of the variances: each feature's sample variance `s2[g]` (on `df` degrees of
/// freedom) is taken as `scale[g]` times a draw from a scaled inverse χ² prior with `d0` degrees
/// of freedom and scale `s0²`. Returns `(d0, s0²)` by the method of moments on the log variances
/// (Smyth 2004, limma's `fitFDist`); `d0` is infinite when the variances vary no more than
/// sampling alone explains, 0 when there are too few to say.
pub fn fit_f_dist(s2: &[f64], scale: &[f64], df: f64) -> (f64, f64) {
    let z: Vec<f64> = s2.iter().zip(scale).filter(|(v, _)| **v > 0.0).map(|(v, k)| (v / k).ln()).collect();
    if z.len() < 3 || df <= 0.0 {
        return (0.0, 1.0);
    }
    let e: Vec<f64> = z.iter().map(|z| z - digamma(df / 2.0) + (df / 2.0).ln()).collect();
    let emean = mean(&e);
    let evar = variance(&e) - trigamma(df / 2.0);
    if evar <= 0.0 {
        return (f64::INFINITY, emean.exp());
    }
    let d0 = 2.0 * trigamma_inverse(evar);
    (d0, (emean + digamma(d0 / 2.0) - (d0 / 2.0).ln()).exp())
}

/// The two-sided p-value of a t statistic on `df` degrees of freedom (the normal's for infinite).
pub fn t_p_value(t: f64, df: f64) -> f64 {
    if !t.is_finite() {
        return if t.is_nan() { 1.0 } else { 0.0 };
    }
    let df = if df.is_finite() { df } else { 1e9 };
    StudentsT::new(0.0, 1.0, df.max(1e-3)).map_or(1.0, |d| (2.0 * d.cdf(-t.abs())).clamp(0.0, 1.0))
}

/// Moderated two-sample t-tests of many features measured on the same runs (limma-trend: Smyth
/// 2004, with the prior's scale following the features' abundance). Each feature is a pair
/// (base values, head values), all with the same numbers of runs; `abundance` is a number per
/// feature that its variance is expected to follow (the log of its mean count: a function of
/// few samples is noisier). Each feature's pooled variance is shrunk towards the trend fitted
/// over all features, with the prior's weight `d0` estimated from how much the variances scatter
/// around it: with 2–5 runs a side a variance is a poor estimate on its own, and borrowing from
/// the other features gives the power of more runs. Unlike limma, a feature's variance is never
/// shrunk below its own sample variance (see below). Returns (head mean − base mean, two-sided p).
pub fn moderated_t(features: &[(&[f64], &[f64])], abundance: &[f64]) -> Vec<(f64, f64)> {
    let Some((b, h)) = features.first() else { return Vec::new() };
    let (nb, nh) = (b.len() as f64, h.len() as f64);
    let df = nb + nh - 2.0;
    let s2: Vec<f64> =
        features.iter().map(|(b, h)| ((nb - 1.0) * variance(b) + (nh - 1.0) * variance(h)) / df.max(1.0)).collect();
    // The trend: least squares of ln s² on the abundance, over the features with a variance.
    let fitted: Vec<(f64, f64)> =
        s2.iter().zip(abundance).filter(|(v, _)| **v > 0.0).map(|(v, a)| (*a, v.ln())).collect();
    let (ax, ay): (Vec<f64>, Vec<f64>) = fitted.iter().copied().unzip();
    let (mx, my) = (mean(&ax), mean(&ay));
    let sxx: f64 = ax.iter().map(|a| (a - mx) * (a - mx)).sum();
    let slope = if fitted.len() >= 3 && sxx > 0.0 {
        ax.iter().zip(&ay).map(|(a, y)| (a - mx) * (y - my)).sum::<f64>() / sxx
    } else {
        0.0
    };
    let scale: Vec<f64> = abundance.iter().map(|a| (my + slope * (a - mx)).exp()).collect();
    let (d0, s0) = fit_f_dist(&s2, &scale, df);
    features
        .iter()
        .zip(&s2)
        .zip(&scale)
        .map(|(((b, h), s2), k)| {
            let d = mean(h) - mean(b);
            let post = if d0.is_infinite() { s0 * k } else { (d0 * s0 * k + df * s2) / (d0 + df) };
            // Shrinking lifts a variance that is small by chance; it never lowers a feature's
            // own variance below what its runs show: profiles' noise is heterogeneous (a function
            // sensitive to the machine's state is noisier than its size says), and a variance
            // shrunk below its own is a false alarm. Such a feature keeps its own degrees of freedom.
            let (var, dof) = if *s2 > post { (*s2, df) } else { (post, df + d0) };
            let se = (var * (1.0 / nb + 1.0 / nh)).sqrt();
            let p = if se > 0.0 {
                t_p_value(d / se, dof)
            } else if d == 0.0 {
                1.0
            } else {
                0.0
            };
            (d, p)
        })
        .collect()
}

/// Benjamini–Hochberg adjusted p-values (q-values), in the order given: reject those at or below
/// the false discovery rate wanted.
pub fn benjamini_hochberg(p: &[f64]) -> Vec<f64> {
    let m = p.len();
    let mut order: Vec<usize> = (0..m).collect();
    order.sort_by(|&a, &b| p[a].total_cmp(&p[b]));
    let mut q = vec![1.0; m];
    let mut running = 1.0f64;
    for (rank, &i) in order.iter().enumerate().rev() {
        running = running.min(p[i] * m as f64 / (rank + 1) as f64);
        q[i] = running.min(1.0);
    }
    q
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn welch_matches_a_hand_computed_case() {
        // a: mean 10, var 2.5; b: mean 13, var 2.5; n = 5 each: t = -3 / 1 = -3, df = 8.
        let a = [8.0, 9.0, 10.0, 11.0, 12.0];
        let b = [11.0, 12.0, 13.0, 14.0, 15.0];
        let p = welch(&a, &b);
        assert!((p - 0.017_071).abs() < 1e-5, "{p}");
        assert_eq!(welch(&a, &a), 1.0);
        assert_eq!(welch(&[1.0, 1.0], &[2.0, 2.0]), 0.0);
        assert_eq!(welch(&[1.0, 1.0], &[1.0, 1.0]), 1.0);
    }

    #[test]
    fn trigamma_and_the_variance_prior_match_known_values() {
        // ψ′(1) = π²/6, ψ′(1/2) = π²/2, ψ′(10) = 0.105166335681...
        assert!((trigamma(1.0) - std::f64::consts::PI.powi(2) / 6.0).abs() < 1e-9);
        assert!((trigamma(0.5) - std::f64::consts::PI.powi(2) / 2.0).abs() < 1e-9);
        assert!((trigamma(10.0) - 0.105_166_335_681).abs() < 1e-9);
        assert!((trigamma(trigamma_inverse(0.3)) - 0.3).abs() < 1e-9);
        // Variances that all equal their scale vary less than χ² sampling allows: an infinite
        // prior weight, and the common value as its scale.
        let (d0, s0) = fit_f_dist(&[2.0, 2.0, 2.0, 2.0], &[1.0; 4], 4.0);
        assert!(d0.is_infinite() && (s0 - 2.0 * (2f64.ln() - digamma(2.0)).exp()).abs() < 1e-9, "{d0} {s0}");
        // Very spread variances: little prior weight.
        let (d0, _) = fit_f_dist(&[0.01, 1.0, 100.0, 0.1, 10.0, 1000.0], &[1.0; 6], 4.0);
        assert!(d0 < 1.0, "{d0}");
        assert_eq!(fit_f_dist(&[1.0, 2.0], &[1.0; 2], 4.0).0, 0.0, "too few to say");
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
    }

    #[test]
    fn bh_adjusts_by_rank_and_stays_monotone() {
        let q = benjamini_hochberg(&[0.01, 0.04, 0.03, 0.5]);
        // Sorted: 0.01 (×4/1 = 0.04), 0.03 (×4/2 = 0.06), 0.04 (×4/3 = 0.0533 → min with later 0.0533), 0.5.
        assert!((q[0] - 0.04).abs() < 1e-12);
        assert!((q[2] - 0.053_333_333).abs() < 1e-6, "monotone: the 0.03 takes the 0.04's smaller adjustment");
        assert!((q[1] - 0.053_333_333).abs() < 1e-6);
        assert_eq!(q[3], 0.5);
    }
}
