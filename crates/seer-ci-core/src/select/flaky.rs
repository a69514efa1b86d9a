//! Flaky tests: tests whose outcome does not follow the code. Three kinds of evidence, each
//! counted per test over its latest executions:
//! - a pass after a retry (`attempts > 1`): it failed and then passed on the same code;
//! - a commit on which it both passed and failed (in different runs): the same code, both ways;
//! - a high flip rate (pass↔fail between consecutive executions) with enough flips to mean it.
//!
//! A failing streak while a fault is open flips twice (in and out), so the flip rule needs
//! several flips; the other two are direct evidence on their own.

use hashbrown::HashMap;

use crate::collect::Outcome;
use crate::store::Replay;

/// When evidence is enough.
#[derive(Debug, Clone, Copy)]
pub struct FlakyOptions {
    /// Executions of each test looked at (its latest).
    pub window: usize,
    /// Flip rate at or above which flipping counts as flaky...
    pub min_flip_rate: f64,
    /// ...given at least this many flips.
    pub min_flips: u32,
}

impl Default for FlakyOptions {
    fn default() -> Self {
        FlakyOptions { window: 50, min_flip_rate: 0.3, min_flips: 4 }
    }
}

/// A test with evidence of flakiness.
#[derive(Debug, Clone, PartialEq)]
pub struct FlakyTest {
    /// Index into the replay's tests.
    pub test: u32,
    pub id: String,
    /// Executions in the window.
    pub executions: u32,
    pub failures: u32,
    /// Passes after a retry.
    pub retried_passes: u32,
    /// Commits on which it both passed and failed.
    pub mixed_commits: u32,
    pub flips: u32,
    pub flip_rate: f64,
    /// Unix seconds of the first and the latest run with evidence.
    pub first_evidence: i64,
    pub last_evidence: i64,
    /// The evidence in words.
    pub reasons: Vec<String>,
}

/// Tests with evidence of flakiness in their latest `options.window` executions, most evident first.
pub fn detect_flaky(replay: &Replay, options: FlakyOptions) -> Vec<FlakyTest> {
    // Each test's executions, newest last: (run index, outcome, attempts).
    let mut runs_of: Vec<Vec<(usize, Outcome, u32)>> = vec![Vec::new(); replay.tests.len()];
    for (k, run) in replay.runs.iter().enumerate() {
        for r in run.results.iter().filter(|r| r.outcome != Outcome::Skip) {
            runs_of[r.test as usize].push((k, r.outcome, r.attempts));
        }
    }
    let mut out = Vec::new();
    for (t, all) in runs_of.iter().enumerate() {
        let recent = &all[all.len().saturating_sub(options.window)..];
        if recent.len() < 2 && recent.iter().all(|(_, o, a)| !(*o == Outcome::Pass && *a > 1)) {
            continue;
        }
        let mut evidence_runs: Vec<usize> = Vec::new();
        let retried: Vec<usize> =
            recent.iter().filter(|(_, o, a)| *o == Outcome::Pass && *a > 1).map(|(k, _, _)| *k).collect();
        evidence_runs.extend(&retried);
        // (passed, failed, runs) per commit; synthetic empty commits tell nothing.
        let mut by_commit: HashMap<&str, (bool, bool, Vec<usize>)> = HashMap::new();
        for (k, o, _) in recent {
            let commit = replay.runs[*k].commit.as_str();
            if commit.is_empty() {
                continue;
            }
            let e = by_commit.entry(commit).or_default();
            if o.is_failure() {
                e.1 = true;
            } else {
                e.0 = true;
            }
            e.2.push(*k);
        }
        let mut mixed = 0;
        for (passed, failed, runs) in by_commit.values() {
            if *passed && *failed {
                mixed += 1;
                evidence_runs.extend(runs);
            }
        }
        let failed: Vec<bool> = recent.iter().map(|(_, o, _)| o.is_failure()).collect();
        let flips = failed.windows(2).filter(|w| w[0] != w[1]).count() as u32;
        let flip_rate = if failed.len() > 1 { f64::from(flips) / (failed.len() - 1) as f64 } else { 0.0 };
        let flipping = flips >= options.min_flips && flip_rate >= options.min_flip_rate;
        if flipping {
            evidence_runs
                .extend(recent.windows(2).filter(|w| w[0].1.is_failure() != w[1].1.is_failure()).map(|w| w[1].0));
        }
        if retried.is_empty() && mixed == 0 && !flipping {
            continue;
        }
        let mut reasons = Vec::new();
        if !retried.is_empty() {
            reasons.push(format!("passed after a retry in {} runs", retried.len()));
        }
        if mixed > 0 {
            reasons.push(format!("passed and failed on the same commit ({mixed} commits)"));
        }
        if flipping {
            reasons.push(format!(
                "flipped {flips} times in its last {} runs ({:.0}%)",
                failed.len(),
                100.0 * flip_rate
            ));
        }
        let time = |k: usize| replay.runs[k].time;
        out.push(FlakyTest {
            test: t as u32,
            id: replay.tests[t].clone(),
            executions: recent.len() as u32,
            failures: failed.iter().filter(|f| **f).count() as u32,
            retried_passes: retried.len() as u32,
            mixed_commits: mixed,
            flips,
            flip_rate,
            first_evidence: evidence_runs.iter().map(|&k| time(k)).min().unwrap_or(0),
            last_evidence: evidence_runs.iter().map(|&k| time(k)).max().unwrap_or(0),
            reasons,
        });
    }
    let strength = |f: &FlakyTest| (f.retried_passes + f.mixed_commits, f.flips);
    out.sort_by(|a, b| strength(b).cmp(&strength(a)).then_with(|| a.id.cmp(&b.id)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{ReplayResult, ReplayRun};

    fn run(commit: &str, results: &[(u32, Outcome, u32)]) -> ReplayRun {
        ReplayRun {
            commit: commit.into(),
            results: results
                .iter()
                .map(|&(test, outcome, attempts)| ReplayResult { test, outcome, duration_s: None, attempts })
                .collect(),
            ..Default::default()
        }
    }

    #[test]
    fn each_kind_of_evidence_is_found_and_a_fault_streak_is_not_flaky() {
        use Outcome::*;
        // Test 0 passes on retry once; test 1 fails then passes on commit c2; test 2 flaps;
        // test 3 fails for a streak (a fault open from c3 to c6) and is steady otherwise.
        let mut runs = vec![
            run("c1", &[(0, Pass, 1), (1, Pass, 1), (2, Pass, 1), (3, Pass, 1)]),
            run("c2", &[(0, Pass, 2), (1, Fail, 1), (2, Fail, 1), (3, Pass, 1)]),
            run("c2", &[(0, Pass, 1), (1, Pass, 1), (2, Pass, 1), (3, Pass, 1)]),
        ];
        for k in 3..12 {
            let streak = if (3..7).contains(&k) { Fail } else { Pass };
            let flap = if k % 2 == 0 { Fail } else { Pass };
            runs.push(run(&format!("c{k}"), &[(0, Pass, 1), (1, Pass, 1), (2, flap, 1), (3, streak, 1)]));
        }
        let replay = Replay { runs, tests: (0..4).map(|t| format!("t{t}")).collect(), ..Default::default() };
        let found = detect_flaky(&replay, FlakyOptions::default());
        let ids: Vec<&str> = found.iter().map(|f| f.id.as_str()).collect();
        // Ordered by direct evidence (retries and mixed commits), then flips.
        assert_eq!(ids, ["t2", "t1", "t0"], "{found:#?}");
        let t1 = &found[1];
        assert_eq!((t1.mixed_commits, t1.failures, t1.flips), (1, 1, 2));
        let t0 = &found[2];
        assert_eq!((t0.retried_passes, t0.mixed_commits), (1, 0));
        assert!(found[0].reasons.iter().any(|r| r.contains("flipped")), "{:?}", found[0].reasons);
    }
}
