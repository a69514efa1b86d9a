//! Metrics of one prioritised, budgeted selection, and their sums over many runs.

/// What one contender selected in one run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RunPick {
    pub tests: usize,
    pub failing: usize,
    pub selected: usize,
    pub failing_selected: usize,
    pub time_total: f64,
    pub time_selected: f64,
    /// APFD of the full ordering; `None` when the run has no failing test.
    pub apfd: Option<f64>,
    /// NAPFD of the selection (RETECS's variant for when not every test runs).
    pub napfd: Option<f64>,
}

/// APFD of an ordering: `failing[i]` says whether the test at position i fails.
/// APFD = 1 − (Σ TFᵢ)/(n·m) + 1/(2n), with TFᵢ the 1-based position of the i-th failing test,
/// n tests and m failing ones. `None` when nothing fails.
pub fn apfd(failing: &[bool]) -> Option<f64> {
    let n = failing.len() as f64;
    let positions: Vec<f64> = failing.iter().enumerate().filter(|(_, f)| **f).map(|(i, _)| i as f64 + 1.0).collect();
    let m = positions.len() as f64;
    (m > 0.0).then(|| 1.0 - positions.iter().sum::<f64>() / (n * m) + 1.0 / (2.0 * n))
}

/// NAPFD (Qu et al. 2007, as used by RETECS): p − (Σ TFᵢ)/(n·m) + p/(2n), where only the failing
/// tests at positions flagged in `chosen` are detected, p is the detected share of failing tests
/// and an undetected test contributes 0 to the sum. `None` when nothing fails.
pub fn napfd(failing: &[bool], chosen: &[bool]) -> Option<f64> {
    let n = failing.len() as f64;
    let m = failing.iter().filter(|f| **f).count() as f64;
    if m == 0.0 {
        return None;
    }
    let detected: Vec<f64> =
        failing.iter().zip(chosen).enumerate().filter(|(_, (f, c))| **f && **c).map(|(i, _)| i as f64 + 1.0).collect();
    let p = detected.len() as f64 / m;
    Some(p - detected.iter().sum::<f64>() / (n * m) + p / (2.0 * n))
}

/// Which positions of an ordering fit a time budget: tests are taken in order and a test that
/// does not fit in what is left is passed over (first fit), as a CI job with a time limit would.
/// Returns a flag per position.
pub fn select_by_time(durations: &[f64], budget: f64) -> Vec<bool> {
    let mut left = budget;
    durations
        .iter()
        .map(|&d| {
            let take = d <= left;
            if take {
                left -= d;
            }
            take
        })
        .collect()
}

/// Sums over the evaluated runs.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Summary {
    pub runs: usize,
    pub faulty_runs: usize,
    /// Faulty runs in which at least one failing test was selected.
    pub faulty_runs_caught: usize,
    pub tests: usize,
    pub failing: usize,
    pub selected: usize,
    pub failing_selected: usize,
    pub time_total: f64,
    pub time_selected: f64,
    apfd_sum: f64,
    napfd_sum: f64,
}

impl Summary {
    pub fn add(&mut self, s: &RunPick) {
        self.runs += 1;
        self.tests += s.tests;
        self.failing += s.failing;
        self.selected += s.selected;
        self.failing_selected += s.failing_selected;
        self.time_total += s.time_total;
        self.time_selected += s.time_selected;
        if s.failing > 0 {
            self.faulty_runs += 1;
            self.faulty_runs_caught += usize::from(s.failing_selected > 0);
            self.apfd_sum += s.apfd.unwrap_or(0.0);
            self.napfd_sum += s.napfd.unwrap_or(0.0);
        }
    }

    fn ratio(a: f64, b: f64) -> f64 {
        if b > 0.0 { a / b } else { 0.0 }
    }

    /// Share of failing tests selected.
    pub fn test_recall(&self) -> f64 {
        Self::ratio(self.failing_selected as f64, self.failing as f64)
    }

    /// Share of faulty runs in which a failing test was selected.
    pub fn run_recall(&self) -> f64 {
        Self::ratio(self.faulty_runs_caught as f64, self.faulty_runs as f64)
    }

    /// Share of the test time selected.
    pub fn time_fraction(&self) -> f64 {
        Self::ratio(self.time_selected, self.time_total)
    }

    /// Share of selected tests that failed.
    pub fn precision(&self) -> f64 {
        Self::ratio(self.failing_selected as f64, self.selected as f64)
    }

    pub fn f1(&self) -> f64 {
        let (p, r) = (self.precision(), self.test_recall());
        Self::ratio(2.0 * p * r, p + r)
    }

    /// Mean APFD over faulty runs.
    pub fn apfd(&self) -> f64 {
        Self::ratio(self.apfd_sum, self.faulty_runs as f64)
    }

    /// Mean NAPFD over faulty runs.
    pub fn napfd(&self) -> f64 {
        Self::ratio(self.napfd_sum, self.faulty_runs as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn apfd_of_textbook_orderings() {
        // One failing test of four: first gives 1 − 1/4 + 1/8, last 1 − 4/4 + 1/8.
        assert_eq!(apfd(&[true, false, false, false]), Some(0.875));
        assert_eq!(apfd(&[false, false, false, true]), Some(0.125));
        assert_eq!(apfd(&[false, false]), None);
        // Two of four, at positions 1 and 2: 1 − 3/8 + 1/8.
        assert_eq!(apfd(&[true, true, false, false]), Some(0.75));
    }

    #[test]
    fn napfd_equals_apfd_when_everything_runs_and_drops_what_is_missed() {
        let order = [false, true, false, true];
        assert_eq!(napfd(&order, &[true; 4]), apfd(&order));
        // Only the first two run: one of two failures detected, p = 1/2: 1/2 − 2/8 + 1/16.
        assert_eq!(napfd(&order, &[true, true, false, false]), Some(0.5 - 2.0 / 8.0 + 0.5 / 8.0));
        assert_eq!(napfd(&order, &[false; 4]), Some(0.0));
    }

    #[test]
    fn first_fit_passes_over_what_does_not_fit() {
        assert_eq!(select_by_time(&[3.0, 5.0, 1.0, 2.0], 5.0), [true, false, true, false]);
        assert_eq!(select_by_time(&[1.0, 1.0], 0.0), [false, false]);
    }

    #[test]
    fn summary_ratios() {
        let mut s = Summary::default();
        s.add(&RunPick {
            tests: 4,
            failing: 2,
            selected: 2,
            failing_selected: 1,
            time_total: 10.0,
            time_selected: 2.5,
            apfd: Some(0.5),
            napfd: Some(0.25),
        });
        s.add(&RunPick {
            tests: 4,
            failing: 0,
            selected: 1,
            failing_selected: 0,
            time_total: 10.0,
            time_selected: 2.5,
            apfd: None,
            napfd: None,
        });
        assert_eq!((s.test_recall(), s.run_recall(), s.time_fraction()), (0.5, 1.0, 0.25));
        assert_eq!(s.precision(), 1.0 / 3.0);
        assert_eq!((s.apfd(), s.napfd()), (0.5, 0.25));
    }
}
