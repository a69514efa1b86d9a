//! The walk-forward replay: each run is scored with only the runs before it, by every contender
//! on the same runs, at the same time budget.

use super::metrics::{RunPick, Summary, apfd, napfd, select_by_time};
use super::rank::{RankedTest, Ranker, TestHistory};
use crate::collect::Outcome;
use crate::store::{Replay, ReplayRun};

/// How to replay.
#[derive(Debug, Clone, Copy)]
pub struct EvalOptions {
    /// Runs seen before scoring starts.
    pub warmup: usize,
    /// The time budget of every contender: this share of the run's estimated test time. `None`:
    /// the first contender with a threshold selects by it (its calibrated target recall), and
    /// every other contender gets, run by run, the estimated time it chose.
    pub time_fraction: Option<f64>,
}

impl Default for EvalOptions {
    fn default() -> Self {
        EvalOptions { warmup: 20, time_fraction: Some(0.25) }
    }
}

/// One contender's sums over the evaluated runs.
#[derive(Debug, Clone)]
pub struct RankerResult {
    pub name: String,
    pub summary: Summary,
    pub models_chosen: Vec<(String, u64)>,
}

/// The outcome of a replay.
#[derive(Debug, Clone)]
pub struct Evaluation {
    pub runs: usize,
    /// Runs scored (after the warm-up, with at least one test that ran).
    pub evaluated: usize,
    pub options: EvalOptions,
    pub results: Vec<RankerResult>,
}

/// A test run in this run (skipped tests did not run and are not candidates), and whether it
/// failed: a pass after a retry is flaky, not a failure.
fn ran(run: &ReplayRun) -> impl Iterator<Item = (usize, &crate::store::ReplayResult)> {
    run.results.iter().enumerate().filter(|(_, r)| r.outcome != Outcome::Skip)
}

/// Replays `replay` in time order with every contender.
pub fn evaluate(replay: &Replay, rankers: &mut [Box<dyn Ranker + '_>], options: EvalOptions) -> Evaluation {
    let mut history = vec![TestHistory::default(); replay.tests.len()];
    let mut summaries = vec![Summary::default(); rankers.len()];
    let (mut known_duration_sum, mut known_durations) = (0.0, 0u64);
    let mut evaluated = 0;
    for (k, run) in replay.runs.iter().enumerate() {
        let candidates: Vec<RankedTest> = ran(run)
            .map(|(position, r)| RankedTest { test: r.test, position, history: history[r.test as usize] })
            .collect();
        if k >= options.warmup && !candidates.is_empty() {
            evaluated += 1;
            let results: Vec<_> = ran(run).map(|(_, r)| *r).collect();
            // The budget is set from what is known before the run: mean past durations, and for
            // new tests the mean over all tests so far.
            let fallback = if known_durations > 0 { known_duration_sum / known_durations as f64 } else { 1.0 };
            let estimate: Vec<f64> = candidates.iter().map(|c| c.history.mean_duration().unwrap_or(fallback)).collect();
            let total_estimate: f64 = estimate.iter().sum();
            let lead =
                options.time_fraction.map_or_else(|| rankers.iter().position(|r| r.threshold().is_some()), |_| None);
            // The lead goes first, so that its chosen time is the others' budget on this run.
            let turns: Vec<usize> = lead.into_iter().chain((0..rankers.len()).filter(|&i| Some(i) != lead)).collect();
            let mut budget = options.time_fraction.unwrap_or(1.0) * total_estimate;
            for i in turns {
                let (ranker, summary) = (&mut rankers[i], &mut summaries[i]);
                let scores = ranker.score(k, &candidates);
                let mut order: Vec<usize> = (0..candidates.len()).collect();
                order.sort_by(|&a, &b| {
                    scores[b].total_cmp(&scores[a]).then(candidates[a].position.cmp(&candidates[b].position))
                });
                let chosen = if ranker.selects_all() {
                    vec![true; order.len()]
                } else if let (Some(threshold), true) = (ranker.threshold(), Some(i) == lead) {
                    let chosen: Vec<bool> = order.iter().map(|&j| scores[j] >= threshold).collect();
                    budget = order.iter().zip(&chosen).filter(|(_, c)| **c).map(|(&j, _)| estimate[j]).sum();
                    chosen
                } else {
                    select_by_time(&order.iter().map(|&i| estimate[i]).collect::<Vec<_>>(), budget)
                };
                let failing: Vec<bool> = order.iter().map(|&i| results[i].outcome.is_failure()).collect();
                let actual: Vec<f64> = order.iter().map(|&i| results[i].duration_s.unwrap_or(estimate[i])).collect();
                summary.add(&RunPick {
                    tests: order.len(),
                    failing: failing.iter().filter(|f| **f).count(),
                    selected: chosen.iter().filter(|c| **c).count(),
                    failing_selected: failing.iter().zip(&chosen).filter(|(f, c)| **f && **c).count(),
                    time_total: actual.iter().sum(),
                    time_selected: actual.iter().zip(&chosen).filter(|(_, c)| **c).map(|(d, _)| d).sum(),
                    apfd: apfd(&failing),
                    napfd: napfd(&failing, &chosen),
                });
            }
        }
        for (_, r) in ran(run) {
            let h = &mut history[r.test as usize];
            h.executions += 1;
            if r.outcome.is_failure() {
                h.failures += 1;
                h.last_failure = Some(k);
            }
            if let Some(d) = r.duration_s {
                h.duration_sum += d;
                h.durations += 1;
                known_duration_sum += d;
                known_durations += 1;
            }
        }
    }
    let results = rankers
        .iter()
        .zip(summaries)
        .map(|(ranker, summary)| RankerResult {
            name: ranker.name().to_string(),
            summary,
            models_chosen: ranker.models_chosen(),
        })
        .collect();
    Evaluation { runs: replay.runs.len(), evaluated, options, results }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::{RandomOrder, RecentlyFailedFirst, RunAll};
    use crate::store::ReplayResult;

    fn run(outcomes: &[(u32, Outcome)]) -> ReplayRun {
        ReplayRun {
            run_id: String::new(),
            commit: String::new(),
            time: 0,
            results: outcomes
                .iter()
                .map(|&(test, outcome)| ReplayResult { test, outcome, duration_s: Some(1.0), attempts: 1 })
                .collect(),
            changed: None,
        }
    }

    #[test]
    fn a_test_that_keeps_failing_is_caught_by_history_and_not_by_chance_alone() {
        // Test 3 of 8 fails in every run; the rest pass.
        let outcomes: Vec<(u32, Outcome)> =
            (0..8).map(|t| (t, if t == 3 { Outcome::Fail } else { Outcome::Pass })).collect();
        let replay = Replay {
            runs: (0..30).map(|_| run(&outcomes)).collect(),
            tests: (0..8).map(|t| t.to_string()).collect(),
            ..Default::default()
        };
        let mut rankers: Vec<Box<dyn Ranker>> =
            vec![Box::new(RunAll), Box::new(RandomOrder::new(1)), Box::new(RecentlyFailedFirst)];
        let e = evaluate(&replay, &mut rankers, EvalOptions { warmup: 5, time_fraction: Some(0.25) });
        assert_eq!(e.evaluated, 25);
        let [all, random, rff] = [&e.results[0].summary, &e.results[1].summary, &e.results[2].summary];
        assert_eq!((all.test_recall(), all.time_fraction()), (1.0, 1.0));
        assert_eq!((rff.test_recall(), rff.run_recall()), (1.0, 1.0));
        assert_eq!(rff.time_fraction(), 0.25);
        assert_eq!(rff.apfd(), 1.0 - 1.0 / 8.0 + 1.0 / 16.0, "the failing test is always first");
        assert!(
            random.test_recall() < 0.6,
            "random at a quarter of the time catches about a quarter: {}",
            random.test_recall()
        );
    }

    #[test]
    fn the_future_is_never_seen() {
        // Test 0 fails only in the last run, reported second: with the same past as test 1, no
        // contender can prefer it, so at a budget of one test it is missed.
        let mut runs: Vec<ReplayRun> = (0..10).map(|_| run(&[(1, Outcome::Pass), (0, Outcome::Pass)])).collect();
        runs.push(run(&[(1, Outcome::Pass), (0, Outcome::Fail)]));
        let replay = Replay { runs, tests: vec!["a".into(), "b".into()], ..Default::default() };
        let mut rankers: Vec<Box<dyn Ranker>> = vec![Box::new(RecentlyFailedFirst)];
        let e = evaluate(&replay, &mut rankers, EvalOptions { warmup: 10, time_fraction: Some(0.5) });
        let s = &e.results[0].summary;
        assert_eq!((s.faulty_runs, s.selected), (1, 1));
        assert_eq!(s.failing_selected, 0);
    }

    #[test]
    fn skipped_tests_are_not_candidates_and_flaky_passes_are_not_failures() {
        let mut r = run(&[(0, Outcome::Skip), (1, Outcome::Pass)]);
        r.results[1].attempts = 2;
        let replay = Replay { runs: vec![r], tests: vec!["a".into(), "b".into()], ..Default::default() };
        let mut rankers: Vec<Box<dyn Ranker>> = vec![Box::new(RunAll)];
        let e = evaluate(&replay, &mut rankers, EvalOptions { warmup: 0, time_fraction: Some(1.0) });
        let s = &e.results[0].summary;
        assert_eq!((s.tests, s.failing, s.faulty_runs), (1, 0, 0));
    }
}
