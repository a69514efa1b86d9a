//! Training speed on 1,000,000 (change, test) rows: `cargo bench --bench train`.
//!
//! A synthetic history (1,000 runs × 1,000 tests; each run changes 1–5 of 200 files; a test
//! fails with probability 0.3 when its own source file changed, 0.2% otherwise, and 20 tests
//! are flaky at 5%) is turned into features (polars history windows + co-failure counting) and
//! trained exactly as `seer train` does (logistic regression and the balanced forest, validated
//! and calibrated on the latest runs). Each stage is timed once; the whole is what a user waits for.

use std::time::Instant;

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use seer_ci_core::collect::Outcome;
use seer_ci_core::features::all_features;
use seer_ci_core::model::{TrainOptions, train};
use seer_ci_core::store::{Replay, ReplayFile, ReplayResult, ReplayRun};

const RUNS: usize = 1_000;
const TESTS: usize = 1_000;
const FILES: usize = 200;

fn history() -> Replay {
    let mut rng = StdRng::seed_from_u64(7);
    let home: Vec<usize> = (0..TESTS).map(|_| rng.random_range(0..FILES)).collect();
    let runs = (0..RUNS)
        .map(|k| {
            let changed: Vec<usize> = (0..rng.random_range(1..=5)).map(|_| rng.random_range(0..FILES)).collect();
            let results = (0..TESTS)
                .map(|t| {
                    let p = if changed.contains(&home[t]) {
                        0.3
                    } else if t < 20 {
                        0.05
                    } else {
                        0.002
                    };
                    let outcome = if rng.random::<f64>() < p { Outcome::Fail } else { Outcome::Pass };
                    ReplayResult { test: t as u32, outcome, duration_s: Some(0.1 + (t % 17) as f64), attempts: 1 }
                })
                .collect();
            let files = changed
                .iter()
                .map(|f| ReplayFile {
                    path: format!("src/m{f}.rs"),
                    added: 10,
                    deleted: 2,
                    symbols: vec![format!("f{f}")],
                })
                .collect();
            ReplayRun {
                run_id: format!("r{k}"),
                commit: format!("c{k}"),
                time: k as i64,
                results,
                changed: Some(files),
            }
        })
        .collect();
    Replay {
        runs,
        tests: (0..TESTS).map(|t| format!("suite::test_m{}_{t}", home[t])).collect(),
        test_files: (0..TESTS).map(|t| Some(format!("tests/m{}.rs", home[t]))).collect(),
        test_suite_lens: vec![Some("suite".len()); TESTS],
    }
}

fn main() {
    let start = Instant::now();
    let replay = history();
    let made = start.elapsed();
    let rows: usize = replay.runs.iter().map(|r| r.results.len()).sum();
    let start = Instant::now();
    let table = all_features(&replay).expect("features");
    let features = start.elapsed();
    let start = Instant::now();
    let trained = train(&table, replay.runs.len(), &TrainOptions::default()).expect("trains");
    let fitting = start.elapsed();
    println!("rows                 {rows}");
    println!("failing rows         {}", table.failed.iter().filter(|f| **f).count());
    println!("history generated    {:.2} s (not part of training)", made.as_secs_f64());
    println!("features             {:.2} s", features.as_secs_f64());
    println!("fit + validate       {:.2} s (logistic and forest)", fitting.as_secs_f64());
    println!("total                {:.2} s", (features + fitting).as_secs_f64());
    for c in &trained.candidates {
        println!(
            "  {:8} recall {:.1}% at {:.1}% of tests, {:.1}% of time, AUC {:.3}",
            c.kind,
            100.0 * c.recall,
            100.0 * c.selected_share,
            100.0 * c.time_share,
            c.auc
        );
    }
    println!("chosen               {}", trained.predictor.kind());
    // Each kind alone on all rows, to see where the time goes.
    let start = Instant::now();
    seer_ci_core::model::train_logistic(table.x.view(), &table.failed).expect("fits");
    println!("logistic alone       {:.2} s", start.elapsed().as_secs_f64());
    let start = Instant::now();
    seer_ci_core::model::train_forest(table.x.view(), &table.failed, Default::default()).expect("fits");
    println!("forest alone         {:.2} s", start.elapsed().as_secs_f64());
}
