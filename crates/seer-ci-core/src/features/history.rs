//! History features: what a test's own past executions say about its next one.
//!
//! Every feature of the pair (run k, test t) is computed from t's executions in runs before k:
//! the frame is sorted by test and time, and each window function is shifted by one execution
//! before it is read, so a run's own outcome never leaks into its features.

use ndarray::Array2;
use polars::prelude::*;

use crate::collect::Outcome;
use crate::store::Replay;

/// Every feature, in column order: (name, meaning and why it predicts failure).
pub const FEATURES: &[(&str, &str)] = &[
    ("runs", "past executions of the test (log1p): how much history there is to trust"),
    ("new_test", "1 if the test never ran before: new tests fail more, and nothing is known of them"),
    ("failures", "past failures (log1p): tests that failed before fail again"),
    ("fail_rate_5", "failure rate over the last 5 executions: recent trouble"),
    ("fail_rate_20", "failure rate over the last 20 executions"),
    ("fail_rate_100", "failure rate over the last 100 executions: the long-run tendency"),
    ("last_failed", "1 if the previous execution failed: failures come in streaks while a fault is open"),
    ("since_last_failure", "executions since the last failure (log1p; all past executions if none)"),
    ("flip_rate", "share of past consecutive executions that flipped pass↔fail: flakiness"),
    ("mean_duration", "mean past duration in seconds (log1p): long tests cover more code"),
];

/// The features of every (run, test) pair where the test ran, with what happened.
#[derive(Debug, Clone)]
pub struct FeatureTable {
    /// Index of the run in the replay's time order, per row.
    pub run: Vec<u32>,
    pub test: Vec<u32>,
    /// The outcome (the label): failed or errored.
    pub failed: Vec<bool>,
    /// For a failing row, the first run (index) by which the same test had also passed on the
    /// same commit, so that the failure is known to be flaky; `u32::MAX` when it never is.
    /// Training on runs before k treats the failures flaky by then as passes.
    pub flaky_at: Vec<u32>,
    /// The pair's recorded duration in seconds (0 when unknown): what selecting it costs.
    pub duration: Vec<f64>,
    /// One row per pair, one column per feature.
    pub x: Array2<f64>,
    /// Row ranges of each run (rows are in run order, and within a run in report order).
    pub run_rows: Vec<std::ops::Range<usize>>,
}

fn rate(window: usize) -> PolarsResult<Expr> {
    Ok(col("failed")
        .shift(lit(1))
        .rolling_mean(RollingOptionsFixedWindow { window_size: window, min_periods: 1, ..Default::default() })
        .over([col("test")])?
        .fill_null(lit(0.0)))
}

/// Every execution (skips are none) as a row: run, position in the run, test, failed (1.0 or
/// 0.0), duration, and the execution at which a flaky failure was seen (`u32::MAX`: none).
fn executions(replay: &Replay) -> PolarsResult<DataFrame> {
    let flaky_at = flaky_failures(replay);
    let (mut run, mut pos, mut test, mut failed, mut duration) = (vec![], vec![], vec![], vec![], vec![]);
    let mut flaky = vec![];
    for (k, r) in replay.runs.iter().enumerate() {
        for (p, result) in r.results.iter().filter(|x| x.outcome != Outcome::Skip).enumerate() {
            run.push(k as u32);
            pos.push(p as u32);
            test.push(result.test);
            failed.push(if result.outcome.is_failure() { 1.0f64 } else { 0.0 });
            duration.push(result.duration_s);
            flaky.push(flaky_at.get(&(k as u32, result.test)).copied().unwrap_or(u32::MAX));
        }
    }
    df!(
        "run" => run,
        "pos" => pos,
        "test" => test,
        "failed" => failed,
        "duration" => duration,
        "flaky_at" => flaky,
    )
}

/// Builds the history features of every pair in `replay` where the test ran (not skipped).
pub fn history_features(replay: &Replay) -> PolarsResult<FeatureTable> {
    let frame = executions(replay)?;
    let by_test = [col("test")];
    let per_test = |e: Expr| e.over(by_test.clone());
    let changed = (col("failed") - col("prev_failed")) * (col("failed") - col("prev_failed"));
    let features = frame
        .lazy()
        .sort(["test", "run"], SortMultipleOptions::default())
        .with_columns([
            (per_test(col("failed").cum_count(false))? - lit(1u32)).cast(DataType::Float64).alias("exec"),
            per_test(col("failed").shift(lit(1)))?.alias("prev_failed"),
            col("duration").fill_null(lit(0.0)).alias("duration"),
        ])
        .with_columns([
            // A flip into this execution: its own outcome, so only summed up to the one before.
            changed.fill_null(lit(0.0)).alias("flip"),
            when(col("failed").gt(lit(0.5))).then(col("exec")).otherwise(lit(-1.0)).alias("fail_at"),
        ])
        .with_columns([
            (per_test(col("failed").cum_sum(false))? - col("failed")).alias("failures_n"),
            (per_test(col("flip").cum_sum(false))? - col("flip")).alias("flips"),
            per_test(col("fail_at").cum_max(false).shift(lit(1)))?.fill_null(lit(-1.0)).alias("last_failure_at"),
            (per_test(col("duration").cum_sum(false))? - col("duration")).alias("duration_sum"),
            rate(5)?.alias("fail_rate_5"),
            rate(20)?.alias("fail_rate_20"),
            rate(100)?.alias("fail_rate_100"),
            col("prev_failed").fill_null(lit(0.0)).alias("last_failed"),
        ])
        .sort(["run", "pos"], SortMultipleOptions::default())
        .collect()?;

    let column_f64 = |name: &str| -> PolarsResult<Vec<f64>> {
        let values = features.column(name)?.cast(&DataType::Float64)?;
        Ok(values.f64()?.iter().map(|v| v.unwrap_or(0.0)).collect())
    };
    let run: Vec<u32> = features.column("run")?.u32()?.into_no_null_iter().collect();
    let test: Vec<u32> = features.column("test")?.u32()?.into_no_null_iter().collect();
    let failed: Vec<bool> = column_f64("failed")?.into_iter().map(|f| f > 0.5).collect();
    let flaky_at: Vec<u32> = features.column("flaky_at")?.u32()?.into_no_null_iter().collect();
    let exec = column_f64("exec")?;
    let failures = column_f64("failures_n")?;
    let flips = column_f64("flips")?;
    let last_failure_at = column_f64("last_failure_at")?;
    let duration_sum = column_f64("duration_sum")?;
    let rates = [column_f64("fail_rate_5")?, column_f64("fail_rate_20")?, column_f64("fail_rate_100")?];
    let last_failed = column_f64("last_failed")?;
    let duration = column_f64("duration")?;
    let mut x = Array2::zeros((run.len(), FEATURES.len()));
    for i in 0..run.len() {
        let n = exec[i];
        let since = if last_failure_at[i] >= 0.0 { n - last_failure_at[i] } else { n };
        let row = [
            n.ln_1p(),
            if n == 0.0 { 1.0 } else { 0.0 },
            failures[i].ln_1p(),
            rates[0][i],
            rates[1][i],
            rates[2][i],
            last_failed[i],
            since.ln_1p(),
            if n > 1.0 { flips[i] / (n - 1.0) } else { 0.0 },
            (if n > 0.0 { duration_sum[i] / n } else { 0.0 }).ln_1p(),
        ];
        for (j, v) in row.into_iter().enumerate() {
            x[[i, j]] = v;
        }
    }
    let mut run_rows = vec![0..0; replay.runs.len()];
    let mut start = 0;
    while start < run.len() {
        let k = run[start] as usize;
        let end = start + run[start..].iter().take_while(|&&r| r as usize == k).count();
        run_rows[k] = start..end;
        start = end;
    }
    Ok(FeatureTable { run, test, failed, flaky_at, duration, x, run_rows })
}

/// Failures (run index, test) of a test that also passed on the same commit in another run, with
/// the run by which both had happened. Runs without a commit name tell nothing.
fn flaky_failures(replay: &Replay) -> hashbrown::HashMap<(u32, u32), u32> {
    let mut passes: hashbrown::HashMap<(&str, u32), Vec<u32>> = hashbrown::HashMap::new();
    for (k, r) in replay.runs.iter().enumerate().filter(|(_, r)| !r.commit.is_empty()) {
        for x in r.results.iter().filter(|x| x.outcome == Outcome::Pass) {
            passes.entry((r.commit.as_str(), x.test)).or_default().push(k as u32);
        }
    }
    let mut out = hashbrown::HashMap::new();
    for (k, r) in replay.runs.iter().enumerate().filter(|(_, r)| !r.commit.is_empty()) {
        for x in r.results.iter().filter(|x| x.outcome.is_failure()) {
            if let Some(p) = passes.get(&(r.commit.as_str(), x.test)).and_then(|runs| runs.iter().min()) {
                out.insert((k as u32, x.test), (*p).max(k as u32));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{ReplayResult, ReplayRun};

    fn replay(outcomes: &[&[(u32, Outcome)]]) -> Replay {
        Replay {
            runs: outcomes
                .iter()
                .map(|run| ReplayRun {
                    run_id: String::new(),
                    commit: String::new(),
                    time: 0,
                    results: run
                        .iter()
                        .map(|&(test, outcome)| ReplayResult { test, outcome, duration_s: Some(3.0), attempts: 1 })
                        .collect(),
                    changed: None,
                })
                .collect(),
            tests: vec!["a".into(), "b".into()],
            test_files: vec![None, None],
            test_suite_lens: vec![None, None],
        }
    }

    fn feature(t: &FeatureTable, row: usize, name: &str) -> f64 {
        let j = FEATURES.iter().position(|(n, _)| *n == name).unwrap();
        t.x[[row, j]]
    }

    #[test]
    fn features_use_only_earlier_runs() {
        use Outcome::*;
        // Test 0: pass, fail, fail, pass. Test 1 appears from run 2 on.
        let r = replay(&[&[(0, Pass)], &[(0, Fail)], &[(1, Pass), (0, Fail)], &[(0, Pass), (1, Skip)]]);
        let t = history_features(&r).unwrap();
        assert_eq!(t.run, [0, 1, 2, 2, 3]);
        assert_eq!(t.test, [0, 0, 1, 0, 0]);
        assert_eq!(t.failed, [false, true, false, true, false]);
        assert_eq!(t.run_rows, [0..1, 1..2, 2..4, 4..5]);
        let ln = |v: f64| v.ln_1p();
        // Run 0: nothing known.
        assert_eq!(feature(&t, 0, "new_test"), 1.0);
        assert_eq!(feature(&t, 0, "failures"), 0.0);
        // Run 1 fails, but its features only know run 0's pass.
        assert_eq!((feature(&t, 1, "failures"), feature(&t, 1, "last_failed")), (0.0, 0.0));
        assert_eq!(feature(&t, 1, "fail_rate_5"), 0.0);
        // Run 2, test 0: one failure in two executions, the last one.
        let row = 3;
        assert_eq!(feature(&t, row, "runs"), ln(2.0));
        assert_eq!(feature(&t, row, "new_test"), 0.0);
        assert_eq!(feature(&t, row, "failures"), ln(1.0));
        assert_eq!(feature(&t, row, "fail_rate_5"), 0.5);
        assert_eq!(feature(&t, row, "last_failed"), 1.0);
        assert_eq!(feature(&t, row, "since_last_failure"), ln(1.0));
        assert_eq!(feature(&t, row, "flip_rate"), 1.0);
        assert_eq!(feature(&t, row, "mean_duration"), ln(3.0));
        // Run 3, test 0: pass, fail, fail before: 2 of 3, flips 1 of 2, last failure 1 execution ago.
        assert_eq!(feature(&t, 4, "fail_rate_5"), 2.0 / 3.0);
        assert_eq!(feature(&t, 4, "flip_rate"), 0.5);
        assert_eq!(feature(&t, 4, "since_last_failure"), ln(1.0));
        // Test 1 in run 2 is new.
        assert_eq!(feature(&t, 2, "new_test"), 1.0);
    }
}
