//! The few statistics the detector needs: the least-squares fit with a covariate (`ancova`),
//! Welch's t-test (its fallback, and the trend's), and the Benjamini–Hochberg adjustment.

use statrs::distribution::{ContinuousCDF, StudentsT};

pub fn mean(x: &[f64]) -> f64 {
    if x.is_empty() { 0.0 } else { x.iter().sum::<f64>() / x.len() as f64 }
}

/// The unbiased sample variance (0 for fewer than two values).
fn variance(x: &[f64]) -> f64 {
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

/// An ordinary least-squares fit of `y` on a group (0 or 1) and a covariate `z`: the group's
/// coefficient and the two-sided p-value of its t-test (n − 3 degrees of freedom). `None` when
/// the design cannot be fitted (fewer than 4 values, or the covariate constant, or collinear
/// with the group).
pub fn ancova(y: &[f64], group: &[f64], z: &[f64]) -> Option<(f64, f64)> {
    let n = y.len();
    if n < 4 || group.len() != n || z.len() != n {
        return None;
    }
    // X'X and X'y of the design [1, group, z].
    let mut xtx = [[0.0f64; 3]; 3];
    let mut xty = [0.0f64; 3];
    for i in 0..n {
        let row = [1.0, group[i], z[i]];
        for a in 0..3 {
            xty[a] += row[a] * y[i];
            for b in 0..3 {
                xtx[a][b] += row[a] * row[b];
            }
        }
    }
    let inv = invert3(xtx)?;
    let beta: Vec<f64> = (0..3).map(|a| (0..3).map(|b| inv[a][b] * xty[b]).sum()).collect();
    let rss: f64 = (0..n).map(|i| (y[i] - beta[0] - beta[1] * group[i] - beta[2] * z[i]).powi(2)).sum();
    let df = (n - 3) as f64;
    let var = rss / df * inv[1][1];
    if var.is_nan() || var <= 0.0 {
        return Some((beta[1], if beta[1] == 0.0 { 1.0 } else { 0.0 }));
    }
    let t = beta[1] / var.sqrt();
    let p = StudentsT::new(0.0, 1.0, df).map_or(1.0, |d| (2.0 * d.cdf(-t.abs())).clamp(0.0, 1.0));
    Some((beta[1], p))
}

/// The inverse of a 3×3 matrix, unless it is (numerically) singular.
fn invert3(m: [[f64; 3]; 3]) -> Option<[[f64; 3]; 3]> {
    let det = m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1]) - m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0])
        + m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0]);
    let scale = m.iter().flatten().fold(0.0f64, |a, v| a.max(v.abs())).max(1e-300);
    if det.abs() <= 1e-12 * scale.powi(3) {
        return None;
    }
    let c = |a: usize, b: usize, d: usize, e: usize| m[a][b] * m[d][e] - m[a][e] * m[d][b];
    let cof = [
        [c(1, 1, 2, 2), -c(0, 1, 2, 2), c(0, 1, 1, 2)],
        [-c(1, 0, 2, 2), c(0, 0, 2, 2), -c(0, 0, 1, 2)],
        [c(1, 0, 2, 1), -c(0, 0, 2, 1), c(0, 0, 1, 1)],
    ];
    let mut inv = [[0.0; 3]; 3];
    for a in 0..3 {
        for b in 0..3 {
            inv[a][b] = cof[a][b] / det;
        }
    }
    Some(inv)
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
    fn ancova_recovers_a_group_effect_that_a_covariate_hides() {
        // y = 2 + 0.5·group + 1.5·z with a little noise: the covariate varies a lot within groups.
        let z = [0.0, 1.0, 2.0, 3.0, 0.5, 1.5, 2.5, 3.5];
        let g = [0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 1.0];
        let noise = [0.01, -0.01, 0.0, 0.005, -0.005, 0.01, -0.01, 0.0];
        let y: Vec<f64> = (0..8).map(|i| 2.0 + 0.5 * g[i] + 1.5 * z[i] + noise[i]).collect();
        let (effect, p) = ancova(&y, &g, &z).unwrap();
        assert!((effect - 0.5).abs() < 0.02 && p < 1e-6, "{effect} {p}");
        assert!(welch(&y[..4], &y[4..]) > 0.1, "without the covariate the effect drowns");
        assert_eq!(ancova(&y[..3], &g[..3], &z[..3]), None, "too few values");
        assert_eq!(ancova(&y, &g, &[1.0; 8]), None, "a constant covariate");
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
