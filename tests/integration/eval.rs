//! `seer eval`: the walk-forward replay on real history, with its baselines.

use crate::util::{Env, fixture};

#[test]
fn eval_replays_the_imported_history_with_every_baseline() {
    let env = Env::new();
    env.ok(&["import", &fixture("iofrol-cycles-1-6.csv")]);
    let doc = env.json(&["eval", "--warmup", "4", "--fraction", "0.5"]);
    assert_eq!(doc["format_version"], 1);
    assert_eq!((doc["runs"].as_u64(), doc["evaluated_runs"].as_u64()), (Some(6), Some(2)));
    let contenders = doc["contenders"].as_array().unwrap();
    let names: Vec<_> = contenders.iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["history-only model", "run all", "random", "recently failed first"]);
    // Cycles 5 and 6 have 205 and 95 failing tests (see the import test).
    for c in contenders {
        assert_eq!(c["failing_tests"], 205 + 95, "every contender is scored on the same runs");
        assert_eq!(c["faulty_runs"], 2);
    }
    let all = &contenders[1];
    assert_eq!((all["test_recall"].as_f64(), all["time_fraction"].as_f64()), (Some(1.0), Some(1.0)));
    for c in contenders.iter().filter(|c| c["name"] != "run all") {
        assert!(c["time_fraction"].as_f64().unwrap() < 1.0, "{c}");
        let apfd = c["apfd"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&apfd), "{c}");
    }
    // Threshold mode: the model selects at its calibrated threshold, the others get its time.
    let doc = env.json(&["eval", "--warmup", "4", "--target-recall", "0.9"]);
    assert_eq!((doc["budget_fraction"].is_null(), doc["target_recall"].as_f64()), (true, Some(0.9)));
    let c = doc["contenders"].as_array().unwrap();
    let (model_time, random_time) = (c[0]["time_fraction"].as_f64().unwrap(), c[2]["time_fraction"].as_f64().unwrap());
    // The budget is in estimated (mean past) durations; the fractions are of the actual ones.
    assert!((model_time - random_time).abs() < 0.2, "random gets the model's time: {model_time} vs {random_time}");
    assert!(c[0]["models_chosen"].as_array().is_some_and(|m| !m.is_empty()), "{}", c[0]);
    let table = env.ok(&["eval", "--warmup", "4"]);
    assert!(table.contains("recently failed first") && table.contains("calibrated to 95% recall"), "{table}");
}

#[test]
fn eval_refuses_a_budget_that_is_not_a_share() {
    let env = Env::new();
    env.ok(&["import", &fixture("iofrol-cycles-1-6.csv")]);
    let stderr = env.fails(&["eval", "--fraction", "1.5"], 2);
    assert!(stderr.contains("'1.5' for '--fraction <F>': not a share"), "{stderr}");
}
