//! `seer train`, `seer model show`, and the change-aware model in `seer eval`.

use std::path::Path;

use crate::util::{Env, commit_edit, fixture, ids, record_file_driven_history};

#[test]
fn train_writes_a_model_file_that_model_show_reads_back() {
    let env = Env::new();
    env.ok(&["import", &fixture("iofrol-cycles-1-6.csv")]);
    let trained = env.json(&["train", "--target-recall", "0.9"]);
    let path = trained["path"].as_str().unwrap().to_string();
    assert!(Path::new(&path).starts_with(env.db.parent().unwrap().join("models")), "{path}");
    assert_eq!(trained["source"], "trained");
    // No git changes in the import: a history-only model.
    assert_eq!(trained["feature_set"], "history");
    assert_eq!(trained["features"].as_array().unwrap().len(), 10);
    assert_eq!(trained["target_recall"], 0.9);
    assert_eq!(trained["training"]["runs"], 6);
    assert!(["logistic", "forest", "recency"].contains(&trained["kind"].as_str().unwrap()));
    let kinds: Vec<&str> =
        trained["candidates"].as_array().unwrap().iter().map(|c| c["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["logistic", "forest", "recency"], "every kind is tried");
    let v = &trained["validation"];
    assert!(v["recall"].as_f64().unwrap() >= 0.9, "calibrated on the window it reports: {v}");
    assert!(trained.get("predictor").is_none(), "the parameters stay in the file");

    let shown = env.json(&["model", "show"]);
    assert_eq!(shown["path"], path.as_str());
    assert_eq!(shown["source"], "project");
    assert_eq!(shown["threshold"], trained["threshold"]);
    let text = env.ok(&["model", "show"]);
    assert!(text.contains(&path) && text.contains("threshold") && text.contains("chosen"), "{text}");

    // A second training is a new file, and the newest is the live one.
    std::thread::sleep(std::time::Duration::from_millis(10));
    let again = env.json(&["train"]);
    assert_ne!(again["path"], trained["path"]);
    assert_eq!(env.json(&["model", "show"])["path"], again["path"]);
    let files = std::fs::read_dir(env.db.parent().unwrap().join("models")).unwrap().count();
    assert_eq!(files, 2, "no temporary file is left behind");
}

#[test]
fn without_a_project_model_the_bundled_cold_start_model_is_live() {
    let env = Env::new();
    env.ok(&["import", &fixture("iofrol-cycles-1-6.csv")]);
    let shown = env.json(&["model", "show"]);
    assert_eq!(shown["source"], "bundled");
    assert_eq!(shown["feature_set"], "history");
    assert!(shown["training"]["runs"].as_u64().unwrap() >= 300, "trained on the whole public history: {shown}");
}

#[test]
fn bad_model_files_and_empty_stores_are_refused_with_the_reason() {
    let env = Env::new();
    env.ok(&["import", &fixture("iofrol-cycles-1-6.csv")]);
    let bad = env.write("bad.json", "{\"format_version\": 1, \"kind\": ");
    let stderr = env.fails(&["model", "show", "--file", &bad], 1);
    assert!(stderr.contains("bad.json") && stderr.contains("not a seer model file"), "{stderr}");
    let future = env.write("future.json", "{\"format_version\": 99}");
    let stderr = env.fails(&["model", "show", "--file", &future], 1);
    assert!(stderr.contains("format version 99"), "{stderr}");
    let stderr = env.fails(&["train", "--target-recall", "0"], 2);
    assert!(stderr.contains("'0' for '--target-recall <R>': not a share"), "{stderr}");

    let empty = Env::new();
    empty.ok(&["import", &fixture("iofrol-cycles-1-6.csv"), "--run-prefix", "x"]);
    let conn = empty.conn();
    conn.execute("UPDATE results SET outcome = 0", []).unwrap();
    let stderr = empty.fails(&["train"], 1);
    assert!(stderr.contains("cannot train") && stderr.contains("failing: 0"), "{stderr}");
}

#[test]
fn the_change_aware_model_catches_file_driven_failures_that_history_alone_cannot() {
    let env = Env::new();
    record_file_driven_history(&env, 60);
    let doc = env.json(&["eval", "--warmup", "30", "--retrain-every", "10"]);
    let contenders = doc["contenders"].as_array().unwrap();
    let names: Vec<_> = contenders.iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert_eq!(names[..2], ["seer model (history + change)", "history-only model"]);
    let [seer, history] = [&contenders[0], &contenders[1]];
    assert!(seer["failing_tests"].as_u64().unwrap() >= 15, "{seer}");
    assert!(seer["test_recall"].as_f64().unwrap() >= 0.9, "co-failure tells which test a change breaks: {seer}");
    assert!(seer["time_fraction"].as_f64().unwrap() <= 0.5, "and it runs few of the 8 tests: {seer}");
    assert_eq!(history["time_fraction"], seer["time_fraction"], "the same time, run by run");
    assert!(
        history["test_recall"].as_f64().unwrap() < seer["test_recall"].as_f64().unwrap(),
        "history alone cannot tell a from b: {history}"
    );
    let trained = env.json(&["train"]);
    assert_eq!(trained["feature_set"], "all");
    assert_eq!(trained["features"].as_array().unwrap().len(), 22);
}

#[test]
fn select_picks_the_tests_a_change_breaks_and_fails_open_when_in_doubt() {
    let env = Env::new();
    let repo = record_file_driven_history(&env, 40);
    env.ok(&["train"]);
    let r = repo.to_str().unwrap();

    let sha = commit_edit(&repo, "src/a.rs", "// change\n");
    let doc = env.json(&["select", "--commit", &sha, "--repo", r]);
    assert_eq!(doc["format_version"], 1);
    assert_eq!(doc["mode"], "subset", "{doc}");
    let selected = ids(&doc);
    assert!(selected.iter().any(|t| t == "suite::a_works"), "{doc}");
    assert!(!selected.iter().any(|t| t == "suite::b_works"), "{doc}");
    let skipped = doc["skipped"].as_array().unwrap();
    assert_eq!(selected.len() + skipped.len(), 8, "every known test is selected or skipped");
    assert!(doc["selected"][0]["reasons"].as_array().is_some_and(|r| !r.is_empty()));
    let list = env.ok(&["select", "--commit", &sha, "--repo", r]);
    assert_eq!(list.lines().collect::<Vec<_>>(), selected, "list format: one id per line");
    // nextest arguments excluding exactly the skipped tests (binary id = the JUnit classname),
    // so that tests seer never saw still run.
    let args = env.ok(&["select", "--commit", &sha, "--repo", r, "--format", "nextest"]);
    let terms: Vec<String> = skipped
        .iter()
        .map(|id| format!("(binary_id(=suite) & test(={}))", id.as_str().unwrap().strip_prefix("suite::").unwrap()))
        .collect();
    assert_eq!(
        args.lines().collect::<Vec<_>>(),
        ["-E".to_string(), format!("not ({})", terms.join(" | ")), "--no-tests=pass".to_string()]
    );

    // A build file changed: everything runs, exit 0, with the reason on stderr and in JSON.
    let sha = commit_edit(&repo, "Cargo.toml", "[package]\n");
    let out = env.run(&["select", "--commit", &sha, "--repo", r, "--format", "json"]);
    assert!(out.status.success());
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["mode"], "all");
    assert!(doc["reason"].as_str().unwrap().contains("Cargo.toml"), "{doc}");
    assert_eq!(doc["selected"].as_array().unwrap().len(), 8);
    assert!(String::from_utf8_lossy(&out.stderr).contains("running every test"));
    assert_eq!(
        env.ok(&["select", "--commit", &sha, "--repo", r, "--format", "nextest"]),
        "-E\nall()\n--no-tests=pass\n"
    );

    // An unknown commit, an unusable model, and no store at all: the same.
    let doc = env.json(&["select", "--commit", "0123456789abcdef", "--repo", r]);
    assert_eq!(doc["mode"], "all");
    assert!(doc["reason"].as_str().unwrap().contains("0123456789abcdef"), "{doc}");
    let models = env.db.parent().unwrap().join("models");
    let newest = std::fs::read_dir(&models).unwrap().map(|e| e.unwrap().path()).max().unwrap();
    std::fs::write(&newest, "{\"format_version\": 1}").unwrap();
    let sha = commit_edit(&repo, "src/b.rs", "// change\n");
    let doc = env.json(&["select", "--commit", &sha, "--repo", r]);
    assert_eq!(doc["mode"], "all");
    assert!(doc["reason"].as_str().unwrap().contains("model is unusable"), "{doc}");
    let out =
        env.seer().env("SEER_DB", env.path().join("nowhere.db")).args(["select", "--commit", &sha]).output().unwrap();
    // The default format is a list, which cannot say "everything": exit 8 does.
    assert_eq!(out.status.code(), Some(seer_ci_api::exit_codes::RUN_ALL), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no usable store"));
}

#[test]
fn select_meets_a_time_budget_splits_into_shards_and_explains() {
    let env = Env::new();
    let repo = record_file_driven_history(&env, 40);
    env.ok(&["train"]);
    let r = repo.to_str().unwrap();
    let sha = commit_edit(&repo, "src/a.rs", "// change\n");

    // Every test took 1 s: a quarter of the 8 s is the two highest-scoring tests.
    let doc = env.json(&["select", "--commit", &sha, "--repo", r, "--fraction", "0.25"]);
    assert_eq!(ids(&doc).len(), 2, "{doc}");
    assert_eq!(ids(&doc)[0], "suite::a_works");
    assert!(doc["threshold"].is_null());
    assert_eq!(doc["estimated_s"], 2.0);
    let doc = env.json(&["select", "--commit", &sha, "--repo", r, "--time-budget", "3s"]);
    assert_eq!(ids(&doc).len(), 3, "{doc}");
    // --always tests run whatever the budget, and are charged to it first.
    let doc = env.json(&["select", "--commit", &sha, "--repo", r, "--fraction", "0.25", "--always", "suite::other_*"]);
    let mut chosen = ids(&doc);
    chosen.sort();
    assert_eq!(chosen, (0..6).map(|k| format!("suite::other_{k}")).collect::<Vec<_>>(), "{doc}");

    // Recall 100% on the validation window selects at least what the calibrated threshold does.
    let default = ids(&env.json(&["select", "--commit", &sha, "--repo", r]));
    let full = ids(&env.json(&["select", "--commit", &sha, "--repo", r, "--recall", "1.0"]));
    assert!(default.iter().all(|t| full.contains(t)), "{default:?} within {full:?}");

    // Shards of the whole (fail-open) selection are disjoint, cover it, and balance its time.
    let sha = commit_edit(&repo, "Cargo.toml", "[package]\n");
    let all = ids(&env.json(&["select", "--commit", &sha, "--repo", r]));
    let first = env.json(&["select", "--commit", &sha, "--repo", r, "--shards", "3", "--shard", "1"]);
    let second = env.json(&["select", "--commit", &sha, "--repo", r, "--shards", "3", "--shard", "2"]);
    let third = env.json(&["select", "--commit", &sha, "--repo", r, "--shards", "3", "--shard", "3"]);
    assert_eq!(first["shard"]["count"], 3);
    let mut union: Vec<String> = [&first, &second, &third].iter().flat_map(|d| ids(d)).collect();
    assert_eq!(union.len(), all.len(), "no test in two shards");
    union.sort();
    let mut all_sorted = all.clone();
    all_sorted.sort();
    assert_eq!(union, all_sorted);
    let times: Vec<f64> = [&first, &second, &third].iter().map(|d| d["estimated_s"].as_f64().unwrap()).collect();
    assert_eq!(times, [3.0, 3.0, 2.0], "8 one-second tests over 3 shards");

    let out = env.run(&["select", "--commit", &sha, "--repo", r, "--explain"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("8 tests selected") && stderr.contains("suite::a_works"), "{stderr}");
    let stderr = env.fails(&["select", "--commit", &sha, "--repo", r, "--shards", "2", "--shard", "3"], 2);
    assert!(stderr.contains("--shard 3 is not one of 1..=2"), "{stderr}");
    let stderr = env.fails(&["select", "--commit", &sha, "--repo", r, "--time-budget", "soon"], 2);
    assert!(stderr.contains("not a duration"), "{stderr}");
}

#[test]
fn train_warns_when_its_threshold_rests_on_few_failing_tests() {
    let env = Env::new();
    crate::util::record_file_driven_history(&env, 24);
    let out = env.run(&["train"]);
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("failing tests in the validation window (fewer than 35)"), "{stderr}");
    let doc = env.json(&["model", "show"]);
    let [lo, hi] = [&doc["validation"]["recall_interval"][0], &doc["validation"]["recall_interval"][1]]
        .map(|v| v.as_f64().expect("an interval"));
    assert!(lo < doc["validation"]["recall"].as_f64().unwrap() && hi <= 1.0 && lo > 0.0, "{doc}");
}
