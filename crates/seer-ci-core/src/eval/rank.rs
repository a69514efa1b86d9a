//! Contenders that order a run's tests from what happened before it: the baselines every learned
//! model must beat at the same budget.

use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;

/// What the history says about one test before a run.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct TestHistory {
    pub executions: u32,
    /// Executions that failed (fail or error; a pass after a retry is not a failure).
    pub failures: u32,
    /// Index of the run of its last failure.
    pub last_failure: Option<usize>,
    pub duration_sum: f64,
    pub durations: u32,
}

impl TestHistory {
    pub fn mean_duration(&self) -> Option<f64> {
        (self.durations > 0).then(|| self.duration_sum / self.durations as f64)
    }
}

/// One test of the run to be ordered, with its history; never its outcome in this run.
#[derive(Debug, Clone, Copy)]
pub struct RankedTest {
    pub test: u32,
    /// Position in the run's reports.
    pub position: usize,
    pub history: TestHistory,
}

/// A contender: scores a run's candidates (higher runs earlier) from the history before the run.
pub trait Ranker {
    fn name(&self) -> &str;
    /// `run` is the index of the run being scored.
    fn score(&mut self, run: usize, candidates: &[RankedTest]) -> Vec<f64>;
    /// Whether this contender runs every test whatever the budget.
    fn selects_all(&self) -> bool {
        false
    }
    /// A contender that selects by score (at or above this, after the last `score` call) rather
    /// than by a time budget; in target-recall evaluation it sets the budget of the others.
    fn threshold(&self) -> Option<f64> {
        None
    }
    /// For a learned contender: how often each model kind was chosen when it retrained.
    fn models_chosen(&self) -> Vec<(String, u64)> {
        Vec::new()
    }
}

/// Runs every test, in report order: the cost and the recall seer must stay close to.
pub struct RunAll;

impl Ranker for RunAll {
    fn name(&self) -> &str {
        "run all"
    }

    fn score(&mut self, _run: usize, candidates: &[RankedTest]) -> Vec<f64> {
        candidates.iter().map(|c| -(c.position as f64)).collect()
    }

    fn selects_all(&self) -> bool {
        true
    }
}

/// A random order (seeded, so replays repeat), cut at the same time budget.
pub struct RandomOrder {
    rng: StdRng,
}

impl RandomOrder {
    pub fn new(seed: u64) -> Self {
        RandomOrder { rng: StdRng::seed_from_u64(seed) }
    }
}

impl Ranker for RandomOrder {
    fn name(&self) -> &str {
        "random"
    }

    fn score(&mut self, _run: usize, candidates: &[RankedTest]) -> Vec<f64> {
        let mut ranks: Vec<f64> = (0..candidates.len()).map(|i| i as f64).collect();
        ranks.shuffle(&mut self.rng);
        ranks
    }
}

/// Recently-failed-first, the usual industrial heuristic: tests never seen before first, then
/// tests by how recently they last failed (ties by failure rate), then the rest shortest first.
pub struct RecentlyFailedFirst;

impl Ranker for RecentlyFailedFirst {
    fn name(&self) -> &str {
        "recently failed first"
    }

    fn score(&mut self, run: usize, candidates: &[RankedTest]) -> Vec<f64> {
        candidates
            .iter()
            .map(|c| {
                let h = &c.history;
                match h.last_failure {
                    _ if h.executions == 0 => 1e12,
                    Some(at) => {
                        let recency = 1.0 / (1.0 + (run - at) as f64);
                        1e6 * recency + h.failures as f64 / h.executions as f64
                    }
                    None => 1.0 / (1.0 + h.mean_duration().unwrap_or(0.0)),
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn candidate(position: usize, history: TestHistory) -> RankedTest {
        RankedTest { test: position as u32, position, history }
    }

    #[test]
    fn recently_failed_first_orders_new_then_recent_failures_then_short() {
        let seen = TestHistory { executions: 5, durations: 5, duration_sum: 50.0, ..TestHistory::default() };
        let old_failure = TestHistory { failures: 1, last_failure: Some(1), ..seen };
        let new_failure = TestHistory { failures: 1, last_failure: Some(9), ..seen };
        let short = TestHistory { duration_sum: 5.0, ..seen };
        let c = [
            candidate(0, seen),
            candidate(1, old_failure),
            candidate(2, TestHistory::default()),
            candidate(3, new_failure),
            candidate(4, short),
        ];
        let s = RecentlyFailedFirst.score(10, &c);
        let mut order: Vec<usize> = (0..c.len()).collect();
        order.sort_by(|&a, &b| s[b].total_cmp(&s[a]));
        assert_eq!(order, [2, 3, 1, 4, 0]);
    }

    #[test]
    fn random_is_repeatable_with_its_seed() {
        let c: Vec<_> = (0..20).map(|i| candidate(i, TestHistory::default())).collect();
        assert_eq!(RandomOrder::new(7).score(0, &c), RandomOrder::new(7).score(0, &c));
        assert_ne!(RandomOrder::new(7).score(0, &c), RandomOrder::new(8).score(0, &c));
    }
}
