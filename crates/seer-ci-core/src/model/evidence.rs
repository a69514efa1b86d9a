//! How much a model's validation says: the failing tests its threshold rests on, and the 95%
//! interval of the recall it reached (Wilson's score interval for a binomial proportion).
//!
//! Few failing tests make a recall of 100% say little: with `n` failing tests all caught, the
//! interval's lower end is `n / (n + 1.96²)`: 72% for 10, 51% for 4 (the strsim and
//! more-itertools), and 90% from 35 on. So 35 is the least evidence behind a claim of about 95%
//! recall: below it, `train` and `model show` warn.

use super::Validation;

/// The fewest failing tests in a validation window for its recall to be known to within about
/// ten points at the top (see the module docs).
pub const MIN_VALIDATION_FAILING: usize = 35;

/// Wilson's 95% score interval for `successes` of `n`, or `None` when `n` is 0.
pub fn wilson_interval(successes: usize, n: usize) -> Option<(f64, f64)> {
    if n == 0 {
        return None;
    }
    let (n, p, z2) = (n as f64, successes.min(n) as f64 / n as f64, 1.96_f64 * 1.96);
    let centre = (p + z2 / (2.0 * n)) / (1.0 + z2 / n);
    let half = (z2.sqrt() / (1.0 + z2 / n)) * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt();
    Some(((centre - half).max(0.0), (centre + half).min(1.0)))
}

impl Validation {
    /// The 95% interval of the validated recall, over the window's failing tests.
    pub fn recall_interval(&self) -> Option<(f64, f64)> {
        wilson_interval((self.recall * self.failing as f64).round() as usize, self.failing)
    }

    /// The interval as a message adds it after the recall: ` (95%: 72–100%)`, or nothing.
    pub fn recall_interval_note(&self) -> String {
        self.recall_interval().map_or(String::new(), |(lo, hi)| format!(" (95%: {:.0}–{:.0}%)", 100.0 * lo, 100.0 * hi))
    }

    /// A warning when the threshold rests on fewer failing tests than [`MIN_VALIDATION_FAILING`].
    pub fn thin_evidence(&self) -> Option<String> {
        (self.failing < MIN_VALIDATION_FAILING).then(|| {
            let interval = match self.recall_interval() {
                Some((lo, hi)) => format!("somewhere in {:.0}%–{:.0}%", 100.0 * lo, 100.0 * hi),
                None => "unknown".into(),
            };
            format!(
                "the threshold rests on {} failing tests in the validation window (fewer than {MIN_VALIDATION_FAILING}): \
                 its recall of {:.0}% is {interval} at 95% confidence",
                self.failing,
                100.0 * self.recall
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_interval_is_wide_on_thin_evidence_and_narrows_with_more() {
        let (lo, hi) = wilson_interval(10, 10).unwrap();
        assert!((lo - 10.0 / (10.0 + 1.96 * 1.96)).abs() < 1e-9 && hi == 1.0, "{lo} {hi}");
        assert!(wilson_interval(4, 4).unwrap().0 < 0.52);
        assert!(wilson_interval(35, 35).unwrap().0 > 0.90 && wilson_interval(34, 34).unwrap().0 < 0.91);
        let (lo, hi) = wilson_interval(50, 100).unwrap();
        assert!((lo - 0.4038).abs() < 1e-3 && (hi - 0.5962).abs() < 1e-3, "{lo} {hi}");
        assert_eq!(wilson_interval(0, 0), None);
    }
}
