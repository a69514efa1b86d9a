//! `seer runs`, `seer history`, `seer show run`, `seer stats`, and where the store lives.

use crate::util::{Env, SEER, git, report};

fn record_at(env: &Env, run_id: &str, time: &str, name: &str) {
    env.ok(&["record", "--commit", run_id, "--run-id", run_id, "--no-git", "--time", time, &report(name)]);
}

#[test]
fn runs_are_listed_newest_first() {
    let env = Env::new();
    record_at(&env, "old", "2024-01-01T00:00:00Z", "pytest-junit.xml");
    record_at(&env, "new", "2024-03-01T00:00:00Z", "jest-junit.xml");
    record_at(&env, "mid", "2024-02-01T00:00:00Z", "go-junit-report.xml");
    let doc = env.json(&["runs"]);
    let ids: Vec<_> = doc["runs"].as_array().unwrap().iter().map(|r| r["run_id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["new", "mid", "old"]);
    assert_eq!(doc["runs"][2]["counts"]["error"], 1);
    let limited = env.json(&["runs", "--limit", "1"]);
    assert_eq!(limited["runs"].as_array().unwrap().len(), 1);
    let table = env.ok(&["runs"]);
    assert!(table.contains("RUN") && table.contains("FLAKY") && table.lines().count() == 4, "{table}");
}

#[test]
fn history_follows_one_test_across_runs() {
    let env = Env::new();
    record_at(&env, "r1", "2024-01-01T00:00:00Z", "go-test.json");
    record_at(&env, "r2", "2024-01-02T00:00:00Z", "go-junit-report.xml");
    let doc = env.json(&["history", "example.com/shop/cart::TestTotal/with_discount"]);
    let results = doc["results"].as_array().unwrap();
    assert_eq!(results.len(), 2);
    assert_eq!(results[0]["run_id"], "r2");
    assert_eq!(results[1]["message"], "cart_test.go:42: total = 90, want 85");
    assert!(results.iter().all(|r| r["outcome"] == "fail"));
}

#[test]
fn stats_sum_the_store() {
    let env = Env::new();
    record_at(&env, "r1", "2024-01-01T00:00:00Z", "pytest-junit.xml");
    record_at(&env, "r2", "2024-01-02T00:00:00Z", "nextest-junit.xml");
    let s = env.json(&["stats"]);
    assert_eq!(s["runs"], 2);
    assert_eq!(s["tests"], 11);
    assert_eq!(s["results"]["tests"], 11);
    assert_eq!(s["results"]["flaky"], 2);
    assert_eq!(s["failing_runs"], 2);
    assert_eq!(s["first_run"], "2024-01-01T00:00:00Z");
    assert_eq!(s["schema_version"], 10);
    assert_eq!(s["selection"]["selections"], 0, "no selection kept yet");
    assert!(s["selection"]["observed_recall"].is_null());
}

#[test]
fn missing_things_exit_with_not_found() {
    let env = Env::new();
    let stderr = env.fails(&["runs"], 5);
    assert!(stderr.contains("no seer store at"), "{stderr}");
    assert!(!env.db.exists(), "a query does not create a store");
    record_at(&env, "r1", "2024-01-01T00:00:00Z", "pytest-junit.xml");
    assert!(env.fails(&["show", "run", "nope"], 5).contains("no run \"nope\""));
    assert!(env.fails(&["history", "nope::test"], 5).contains("no test \"nope::test\""));
}

#[test]
fn usage_errors_exit_2() {
    let env = Env::new();
    env.fails(&["record", "--run-id", "x", &report("pytest-junit.xml")], 2);
    env.fails(&["record", "--commit", "c", "--run-id", "x", "--format", "tap", &report("pytest-junit.xml")], 2);
    let stderr =
        env.fails(&["record", "--commit", "c", "--run-id", "x", "--time", "soon", &report("pytest-junit.xml")], 2);
    assert!(stderr.contains("'soon' for '--time <T>': not a time"), "{stderr}");
}

#[test]
fn default_store_is_at_the_repository_root_and_db_flag_wins() {
    let env = Env::new();
    let repo = env.path().join("repo");
    std::fs::create_dir_all(repo.join("deep/dir")).unwrap();
    git(&repo, &["init", "-q", "-b", "main"]);
    let run = |dir: &std::path::Path, extra: &[&str]| {
        let out = std::process::Command::new(SEER)
            .current_dir(dir)
            .env_remove("SEER_DB")
            .args(["record", "--commit", "c", "--run-id", "r", "--no-git"])
            .args(extra)
            .arg(report("jest-junit.xml"))
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    };
    run(&repo.join("deep/dir"), &[]);
    assert!(repo.join(".seer/seer.db").exists(), "default store at the repository root");
    let elsewhere = env.path().join("elsewhere.db");
    run(&repo, &["--db", elsewhere.to_str().unwrap()]);
    assert!(elsewhere.exists(), "--db wins");
}

#[test]
fn doctor_says_what_works_and_what_to_fix() {
    let env = Env::new();
    let repo = crate::util::record_file_driven_history(&env, 24);
    env.ok(&["train"]);
    let r = repo.to_str().unwrap();
    let report = env.write("ok.xml", crate::util::suite_junit(&[("a_works", false)]));
    let out = env.ok(&["doctor", "--repo", r, &report]);
    for what in ["store", "configuration", "git history", "report", "model"] {
        let line = out.lines().find(|l| l[6..].starts_with(what)).unwrap_or_else(|| panic!("no {what} check:\n{out}"));
        assert!(!line.starts_with("FAIL"), "{line}");
    }
    assert!(out.contains("1 tests (junit)"), "{out}");
    assert!(out.lines().any(|l| l.starts_with("warn") && l.contains("fewer than 35")), "thin evidence: {out}");
    // The trust gate as select judges it: open under the repository's minimum of 0...
    let gate = out.lines().find(|l| l[6..].starts_with("trust gate")).unwrap_or_else(|| panic!("{out}"));
    assert!(gate.starts_with("ok") && gate.contains("open: the model validated"), "{gate}");
    // ...and closed, saying what it waits for, under the default minimum.
    std::fs::remove_file(repo.join(".config/seer.toml")).unwrap();
    let out = env.ok(&["doctor", "--repo", r, &report]);
    let gate = out.lines().find(|l| l[6..].starts_with("trust gate")).unwrap_or_else(|| panic!("{out}"));
    assert!(gate.starts_with("warn") && gate.contains("validates on at least 35"), "{gate}");
    // A missing report and an unknown base: each a FAIL line, and exit 1.
    let out = env.run(&["doctor", "--repo", r, "--base", "no-such-branch", "missing.xml"]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.lines().any(|l| l.starts_with("FAIL") && l.contains("missing.xml")), "{text}");
    assert!(text.lines().any(|l| l.starts_with("FAIL") && l.contains("git history")), "{text}");
    // A store that does not exist yet is a warning, and checking it creates nothing.
    let fresh = env.path().join("fresh").join("seer.db");
    let out = env.seer().env("SEER_DB", &fresh).args(["doctor", "--no-git"]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.lines().any(|l| l.starts_with("warn") && l.contains("does not exist yet")), "{text}");
    assert!(!env.path().join("fresh").exists(), "doctor created the store's directory");
}
