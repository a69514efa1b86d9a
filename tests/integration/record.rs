//! `seer record`: every dialect's fixture stored with the right outcomes, ids and retries, and
//! recording again never duplicating anything.

use crate::util::{Env, outcomes, report};

/// A test id, its outcome and its attempts.
type Expected = (&'static str, &'static str, u64);

fn expect(pairs: &[Expected]) -> Vec<(String, String, u64)> {
    let mut v: Vec<_> = pairs.iter().map(|(id, o, a)| (id.to_string(), o.to_string(), *a)).collect();
    v.sort();
    v
}

/// Records one fixture as its own run and returns `show run --json`.
fn record_fixture(env: &Env, name: &str) -> serde_json::Value {
    env.ok(&["record", "--commit", "c0ffee", "--run-id", name, "--no-git", &report(name)]);
    env.json(&["show", "run", name])
}

#[test]
fn every_dialect_is_read_with_its_outcomes_and_retries() {
    let env = Env::new();
    let cases: &[(&str, &[Expected])] = &[
        (
            "nextest-junit.xml",
            &[
                ("flaky::tests::adds", "pass", 1),
                ("flaky::tests::counts", "pass", 1),
                ("flaky::tests::fails_always", "fail", 3),
                ("flaky::tests::flaky_first_attempt", "pass", 2),
            ],
        ),
        (
            "nextest-libtest.jsonl",
            &[
                ("flaky::tests::adds", "pass", 1),
                ("flaky::tests::counts", "pass", 1),
                ("flaky::tests::fails_always", "fail", 3),
                ("flaky::tests::flaky_first_attempt", "pass", 2),
                ("flaky::tests::ignored_slow", "skip", 1),
            ],
        ),
        (
            "cargo-test-libtest.jsonl",
            &[
                ("tests::adds", "pass", 1),
                ("tests::counts", "pass", 1),
                ("tests::fails_always", "fail", 1),
                ("tests::flaky_first_attempt", "fail", 1),
                ("tests::ignored_slow", "skip", 1),
            ],
        ),
        (
            "pytest-junit.xml",
            &[
                ("tests.test_calc::test_adds", "pass", 1),
                ("tests.test_calc.TestParser::test_param[1]", "pass", 1),
                ("tests.test_calc.TestParser::test_param[2]", "pass", 1),
                ("tests.test_calc.TestParser::test_broken", "fail", 3),
                ("tests.test_calc::test_skipped", "skip", 1),
                ("tests.test_calc::test_error", "error", 3),
                ("tests.test_calc::test_flaky", "pass", 2),
            ],
        ),
        (
            "jest-junit.xml",
            &[
                ("calculator::calculator adds numbers", "pass", 1),
                ("calculator::calculator division by zero throws", "pass", 1),
                ("calculator::calculator division rounds & truncates", "fail", 1),
                ("calculator::calculator pending feature", "skip", 1),
                ("calculator::top level <b>", "pass", 1),
            ],
        ),
        (
            "surefire-rerun.xml",
            &[
                ("com.example.CalculatorTest::addsNumbers", "pass", 1),
                ("com.example.CalculatorTest::dividesByZero", "fail", 3),
                ("com.example.CalculatorTest::connectsToDatabase", "pass", 2),
                ("com.example.CalculatorTest::loadsConfig", "error", 2),
                ("com.example.CalculatorTest::slowPath", "skip", 1),
            ],
        ),
        (
            "gradle-retry.xml",
            &[
                ("org.acme.ParserTest::parsesEmptyInput()", "pass", 1),
                ("org.acme.ParserTest::parsesUnicode()", "pass", 2),
                ("org.acme.ParserTest::[2] input=\"a,b\", expected=2", "pass", 1),
            ],
        ),
        (
            "go-junit-report.xml",
            &[
                ("example.com/shop/cart::TestAdd", "pass", 1),
                ("example.com/shop/cart::TestTotal/with_discount", "fail", 1),
                ("example.com/shop/cart::TestCheckout", "skip", 1),
                ("example.com/shop/price::TestRound", "pass", 1),
            ],
        ),
        (
            "gotestsum-junit.xml",
            &[
                ("example.com/shop/cart::TestAdd", "pass", 1),
                ("example.com/shop/cart::TestTotal/with_discount", "fail", 1),
                ("example.com/shop/cart::TestTotal", "fail", 1),
            ],
        ),
        (
            "go-test.json",
            &[
                ("example.com/shop/cart::TestAdd", "pass", 1),
                ("example.com/shop/cart::TestTotal", "fail", 1),
                ("example.com/shop/cart::TestTotal/with_discount", "fail", 1),
                ("example.com/shop/cart::TestCheckout", "skip", 1),
                ("example.com/shop/price::TestRound", "pass", 1),
                ("example.com/shop/broken::(package)", "error", 1),
            ],
        ),
    ];
    for (name, want) in cases {
        let doc = record_fixture(&env, name);
        assert_eq!(outcomes(&doc), expect(want), "fixture {name}");
    }
}

#[test]
fn show_run_json_has_the_documented_shape() {
    let env = Env::new();
    let doc = record_fixture(&env, "surefire-rerun.xml");
    assert_eq!(doc["format_version"], 1);
    assert_eq!(doc["run_id"], "surefire-rerun.xml");
    assert_eq!(doc["commit"], "c0ffee");
    let slow = doc["tests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == "com.example.CalculatorTest::dividesByZero")
        .expect("dividesByZero stored");
    // Surefire wrote time="1,200.250": a thousands separator, not a decimal comma.
    assert_eq!(slow["duration_s"].as_f64(), Some(1200.25));
    assert_eq!(slow["message"], "expected: <3> but was: <4>");
    for t in doc["tests"].as_array().unwrap() {
        assert!(["pass", "fail", "error", "skip"].contains(&t["outcome"].as_str().unwrap()));
        assert!(t["attempts"].as_u64().unwrap() >= 1);
    }
    assert_eq!(doc["counts"]["flaky"], 1);
}

#[test]
fn nextest_junit_and_libtest_json_give_the_same_ids() {
    let env = Env::new();
    let junit: Vec<_> = outcomes(&record_fixture(&env, "nextest-junit.xml")).into_iter().map(|t| t.0).collect();
    let libtest: Vec<_> = outcomes(&record_fixture(&env, "nextest-libtest.jsonl")).into_iter().map(|t| t.0).collect();
    for id in &junit {
        assert!(libtest.contains(id), "{id} from JUnit is missing from libtest JSON ids {libtest:?}");
    }
}

#[test]
fn recording_the_same_run_again_changes_nothing() {
    let env = Env::new();
    let args = ["record", "--commit", "abc", "--run-id", "ci-1", "--no-git", "--time", "2024-01-01T00:00:00Z"];
    let first = env.json(&[&args[..], &[&report("pytest-junit.xml")]].concat());
    assert_eq!(first["status"], "inserted");
    // A retried CI step records the same reports later: same run, no duplicates, time kept.
    let again = ["record", "--commit", "abc", "--run-id", "ci-1", "--no-git", "--time", "2024-06-01T00:00:00Z"];
    let second = env.json(&[&again[..], &[&report("pytest-junit.xml")]].concat());
    assert_eq!(second["status"], "unchanged");
    assert_eq!(env.count("SELECT COUNT(*) FROM runs"), 1);
    assert_eq!(env.count("SELECT COUNT(*) FROM results"), 7);
    assert_eq!(env.json(&["show", "run", "ci-1"])["time"], "2024-01-01T00:00:00Z");
}

#[test]
fn same_run_id_with_other_content_is_refused_unless_replaced() {
    let env = Env::new();
    env.ok(&["record", "--commit", "abc", "--run-id", "ci-1", "--no-git", &report("pytest-junit.xml")]);
    let stderr =
        env.fails(&["record", "--commit", "abc", "--run-id", "ci-1", "--no-git", &report("jest-junit.xml")], 4);
    assert!(stderr.contains("run \"ci-1\" is already stored with different content"), "{stderr}");
    assert!(stderr.contains("--replace"), "{stderr}");
    let kept = env.json(&["show", "run", "ci-1"]);
    assert_eq!(kept["tests"].as_array().unwrap().len(), 7, "the stored run is untouched");

    let replaced = env.json(&[
        "record",
        "--commit",
        "abd",
        "--run-id",
        "ci-1",
        "--no-git",
        "--replace",
        &report("jest-junit.xml"),
    ]);
    assert_eq!(replaced["status"], "replaced");
    let now = env.json(&["show", "run", "ci-1"]);
    assert_eq!(now["commit"], "abd");
    assert_eq!(now["tests"].as_array().unwrap().len(), 5);
    assert_eq!(env.count("SELECT COUNT(*) FROM results"), 5, "the old results are gone");
}

#[test]
fn several_reports_make_one_run() {
    let env = Env::new();
    let doc = env.json(&[
        "record",
        "--commit",
        "abc",
        "--run-id",
        "ci-2",
        "--no-git",
        &report("go-junit-report.xml"),
        &report("surefire-rerun.xml"),
    ]);
    assert_eq!(doc["counts"]["tests"], 9);
    let show = env.json(&["show", "run", "ci-2"]);
    assert_eq!(show["source"], "junit");
}

#[test]
fn a_rerun_report_after_the_first_folds_in_as_retries() {
    let env = Env::new();
    let first = env.write(
        "first.xml",
        r#"<testsuite><testcase classname="a" name="t"><failure/></testcase><testcase classname="a" name="u"/></testsuite>"#,
    );
    let rerun = env.write("rerun.xml", r#"<testsuite><testcase classname="a" name="t"/></testsuite>"#);
    let out =
        env.seer().args(["record", "--commit", "c", "--run-id", "r", "--no-git", &first, &rerun]).output().unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("1 report entries repeated a test"));
    let doc = env.json(&["show", "run", "r"]);
    assert_eq!(
        outcomes(&doc),
        vec![("a::t".to_string(), "pass".to_string(), 2), ("a::u".to_string(), "pass".to_string(), 1)]
    );
}

#[test]
fn retries_far_apart_in_a_large_run_fold_like_small_ones() {
    // Recording streams results to the store in batches while reading; a test met again
    // batches later must still end as one row with the last outcome and the attempts added.
    let env = Env::new();
    let big = env.write("big.xml", crate::util::big_junit(30_000, 1000));
    let rerun = env.write(
        "rerun.xml",
        r#"<testsuite><testcase classname="pkg0.SuiteTest" name="test_0"/><testcase classname="pkg29.SuiteTest" name="test_29999"><failure message="late"/></testcase></testsuite>"#,
    );
    let doc = env.json(&["record", "--commit", "c", "--run-id", "big", "--no-git", &big, &rerun]);
    assert_eq!(doc["counts"]["tests"], 30_000);
    assert_eq!(doc["repeated"], 2);
    let show = env.json(&["show", "run", "big"]);
    let find = |id: &str| show["tests"].as_array().unwrap().iter().find(|t| t["id"] == id).unwrap().clone();
    let first = find("pkg0.SuiteTest::test_0");
    assert_eq!((first["outcome"].as_str(), first["attempts"].as_u64()), (Some("pass"), Some(2)), "failed, then passed");
    let last = find("pkg29.SuiteTest::test_29999");
    assert_eq!((last["outcome"].as_str(), last["attempts"].as_u64()), (Some("fail"), Some(2)));
    assert_eq!(last["message"], "late");
    assert_eq!(env.count("SELECT COUNT(*) FROM results"), 30_000);

    // The same reports again are recognised as the same run, although the first time they
    // were streamed and this time they are compared whole.
    let again = env.json(&["record", "--commit", "c", "--run-id", "big", "--no-git", &big, &rerun]);
    assert_eq!(again["status"], "unchanged");
}

#[test]
fn in_ci_the_commit_run_id_branch_and_base_come_from_the_ci_variables() {
    let env = crate::util::Env::new();
    let repo = env.path().join("repo");
    std::fs::create_dir_all(&repo).unwrap();
    crate::util::git(&repo, &["init", "-q", "-b", "main"]);
    let base = crate::util::commit_edit(&repo, "src/a.rs", "fn a() {}\n");
    let head = crate::util::commit_edit(&repo, "src/a.rs", "fn b() {}\n");
    let report = env.write("r.xml", crate::util::suite_junit(&[("a_works", true)]));
    let event = env.write("event.json", format!("{{\"pull_request\": {{\"base\": {{\"sha\": \"{base}\"}}}}}}"));
    let out = env
        .seer()
        .current_dir(&repo)
        .args(["record", "--json", &report])
        .envs([
            ("GITHUB_ACTIONS", "true"),
            ("GITHUB_SHA", head.as_str()),
            ("GITHUB_RUN_ID", "77"),
            ("GITHUB_RUN_ATTEMPT", "2"),
            ("GITHUB_JOB", "test"),
            ("GITHUB_HEAD_REF", "feature"),
            ("GITHUB_EVENT_PATH", event.as_str()),
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let run = env.json(&["show", "run", "77.2.test"]);
    assert_eq!(run["commit"], head, "{run}");
    assert_eq!((run["branch"].as_str(), run["job"].as_str()), (Some("feature"), Some("test")), "{run}");
    assert_eq!(run["base"], base, "the pull request's base, from the event file: {run}");
    // Outside CI: HEAD, and a generated run id.
    let out = env.seer().current_dir(&repo).args(["record", &report]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let runs = env.json(&["runs"]);
    let local = runs["runs"].as_array().unwrap().iter().find(|r| r["run_id"] != "77.2.test").expect("a second run");
    assert!(local["run_id"].as_str().unwrap().starts_with("local-"), "{runs}");
    assert_eq!(local["commit"], head);
    // Without git or CI, the commit must be given.
    let stderr = env.fails(&["record", "--no-git", &report], 2);
    assert!(stderr.contains("--commit is needed"), "{stderr}");
    let stderr = env.fails(&["record", &report], 2);
    assert!(stderr.contains("outside CI and a git repository"), "{stderr}");
}
