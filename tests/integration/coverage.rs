//! `seer coverage record` and the coverage rule of `seer select`: tests that ran a changed line
//! run, the others are skipped when coverage accounts for the whole change, and it stays out of
//! the way when it cannot.

use crate::util::{Env, commit_edit, commit_replace, git, ids, record_file_driven_history};

/// Appends `pick` to src/c.rs of the file-driven history and commits it; its line.
pub fn add_pick(repo: &std::path::Path) -> u32 {
    let c = repo.join("src/c.rs");
    let before = std::fs::read_to_string(&c).unwrap();
    std::fs::write(&c, format!("{before}{PICK}\n")).unwrap();
    git(repo, &["commit", "-q", "-am", "pick"]);
    before.lines().count() as u32 + 1
}

const PICK: &str = "fn pick(a: bool, b: bool) -> bool { a && b }";

/// llvm-cov's export for `suite::TEST` having run `pick` (at `line` of src/c.rs) and line 1:
/// `b`, a region of its own, ran or did not (a was false).
pub fn pick_export(repo: &std::path::Path, line: u32, test: &str, b_ran: bool) -> String {
    let b = PICK.rfind('b').unwrap() as u32 + 1;
    let end = PICK.len() as u32 + 1;
    serde_json::json!({
        "type": "llvm.coverage.json.export", "version": "2.0.1", "test": format!("suite::{test}"),
        "data": [{"files": [{"filename": format!("{}/src/c.rs", repo.display()), "segments": [
            [1, 1, 1, true, true, false], [1, 10, 0, false, false, false],
            [line, 35, 1, true, true, false], [line, b, u32::from(b_ran), true, true, false],
            [line, b + 1, 1, true, false, false], [line, end, 0, false, false, false],
        ]}]}],
    })
    .to_string()
}

/// LCOV of the file-driven history's tests at its head: `a_works` runs line 1 of src/a.rs,
/// `b_works` line 1 of src/b.rs, the others line 1 of src/c.rs; later lines are not executable.
pub fn lcov(repo: &std::path::Path) -> String {
    let mut text = String::new();
    let mut tests = vec![("a_works", "a"), ("b_works", "b")];
    let others: Vec<String> = (0..6).map(|k| format!("other_{k}")).collect();
    tests.extend(others.iter().map(|o| (o.as_str(), "c")));
    for (test, ran) in tests {
        text.push_str(&format!("TN:suite::{test}\n"));
        for f in ["a", "b", "c"] {
            let hits = u32::from(f == ran);
            text.push_str(&format!("SF:{}/src/{f}.rs\nDA:1,{hits}\nend_of_record\n", repo.display()));
        }
    }
    text
}

fn notes(doc: &serde_json::Value) -> String {
    doc["notes"].as_array().unwrap().iter().map(|n| n.as_str().unwrap()).collect::<Vec<_>>().join("\n")
}

#[test]
fn select_runs_the_tests_that_ran_a_changed_line_and_skips_the_others() {
    let env = Env::new();
    let repo = record_file_driven_history(&env, 40);
    env.ok(&["train"]);
    let r = repo.to_str().unwrap();
    let head = git(&repo, &["rev-parse", "HEAD"]);
    let file = env.write("cov.lcov", lcov(&repo));
    let recorded = env.json(&["coverage", "record", "--commit", "HEAD", "--root", r, &file]);
    assert_eq!((recorded["commit"].as_str(), recorded["tests"].as_u64()), (Some(head.as_str()), Some(8)), "{recorded}");
    assert_eq!((recorded["files"].as_u64(), recorded["outside_root"].as_u64()), (Some(3), Some(0)));
    let listed = env.json(&["coverage", "list"]);
    assert_eq!(listed["commits"][0]["tests"], 8, "{listed}");

    // A code change on the line b_works ran: only b_works runs.
    let sha = commit_replace(&repo, "src/b.rs", "fn b() {}", "fn b() { let _ = 1; }");
    let doc = env.json(&["select", "--commit", &sha, "--repo", r, "--dry-run"]);
    assert_eq!(doc["mode"], "subset", "{doc}");
    assert_eq!(ids(&doc), ["suite::b_works"], "{doc}");
    let reasons = doc["selected"][0]["reasons"].to_string();
    assert!(reasons.contains("it ran a changed line (src/b.rs:1)"), "{reasons}");
    assert!(notes(&doc).contains("7 tests skipped: their coverage ran none of the changed lines"), "{doc}");
    // predict says the same in its reasons.
    let predicted = env.json(&["predict", "--commit", &sha, "--repo", r]);
    let reason = |id: &str| {
        let p = predicted["predictions"].as_array().unwrap().iter().find(|p| p["id"] == id).unwrap();
        p["reasons"][0].as_str().unwrap().to_string()
    };
    assert!(reason("suite::b_works").starts_with("it ran a changed line (src/b.rs:1)"), "{predicted}");
    assert!(reason("suite::a_works").starts_with("it ran none of the changed lines"), "{predicted}");

    // Comments only, one commit after the coverage's: nothing runs differently, so only the
    // cheapest test runs (a runner given no test to run fails the job).
    let sha = commit_edit(&repo, "src/a.rs", "// a note\n\n");
    let doc = env.json(&["select", "--commit", &sha, "--repo", r, "--dry-run"]);
    assert_eq!(ids(&doc), ["suite::a_works"], "{doc}");
    assert!(doc["selected"][0]["reasons"][0].as_str().unwrap().contains("the cheapest test runs"), "{doc}");
    assert!(notes(&doc).contains("commits before the base"), "{doc}");

    // A declaration (no executable line) leaves the coverage silent: the model decides.
    let sha = commit_edit(&repo, "src/c.rs", "const LIMIT: u32 = 3;\n");
    let doc = env.json(&["select", "--commit", &sha, "--repo", r, "--dry-run"]);
    assert_eq!(doc["mode"], "subset", "{doc}");
    assert!(notes(&doc).contains("holds no executable line"), "{doc}");
    assert!(!notes(&doc).contains("skipped: their coverage"), "{doc}");

    // A file changed since the coverage was taken (a comment appended): its lines are mapped
    // through the diff. The test that ran a line changed since (b's body) is stale and left to
    // the model; the constant declared in c.rs since is used nowhere, so no test ran a use of it.
    let sha = commit_replace(&repo, "src/a.rs", "fn a() {}", "fn a() { let _ = 2; }");
    let doc = env.json(&["select", "--commit", &sha, "--repo", r, "--dry-run"]);
    assert!(notes(&doc).contains("1 tests ran code changed since it was taken; their coverage is stale"), "{doc}");
    assert!(notes(&doc).contains("1 of its 8 tests ran a changed line"), "{doc}");
    let a_works =
        doc["selected"].as_array().unwrap().iter().find(|t| t["id"] == "suite::a_works").expect("a_works runs");
    assert!(a_works["reasons"].to_string().contains("it ran a changed line (src/a.rs:1)"), "{doc}");
    // A line added since the coverage was taken is not in it.
    commit_replace(&repo, "src/a.rs", "fn a() { let _ = 2; }", "fn a() { let _ = 2; }\nfn a2() {}");
    let sha = commit_replace(&repo, "src/a.rs", "fn a2() {}", "fn a2() { let _ = 3; }");
    let doc = env.json(&["select", "--commit", &sha, "--repo", r, "--dry-run"]);
    assert!(notes(&doc).contains("src/a.rs:2 changed between the coverage's commit and the base"), "{doc}");

    // Beyond the lookback, or switched off, coverage is not used.
    std::fs::create_dir_all(repo.join(".config")).unwrap();
    std::fs::write(repo.join(".config/seer.toml"), "[select]\ncoverage_max_distance = 1\n").unwrap();
    let doc = env.json(&["select", "--commit", &sha, "--repo", r, "--dry-run"]);
    assert!(notes(&doc).contains("coverage is not used: none recorded at the base"), "{doc}");
    std::fs::write(repo.join(".config/seer.toml"), "[select]\ncoverage = false\n").unwrap();
    let doc = env.json(&["select", "--commit", &sha, "--repo", r, "--dry-run"]);
    assert!(!notes(&doc).contains("coverage"), "{doc}");
}

#[test]
fn bad_coverage_input_names_the_file_and_line_and_stores_nothing() {
    let env = Env::new();
    let good = env.write("good.lcov", "TN:suite::a\nSF:src/a.rs\nDA:1,1\nend_of_record\n");
    let bad = env.write("bad.lcov", "TN:suite::b\nSF:src/a.rs\nDA:1,lots\nend_of_record\n");
    let stderr = env.fails(&["coverage", "record", "--commit", "c1", &good, &bad], 3);
    assert!(stderr.contains("bad.lcov:3: DA:1,lots: expected a line number and an execution count"), "{stderr}");
    assert!(!env.db.exists(), "input is read whole before the store is opened: nothing of good.lcov was stored");
    let untitled = env.write("untitled.lcov", "SF:src/a.rs\nDA:1,1\nend_of_record\n");
    let stderr = env.fails(&["coverage", "record", "--commit", "c1", &untitled], 3);
    assert!(stderr.contains("give --test"), "{stderr}");
    let out = env.ok(&["coverage", "record", "--commit", "c1", "--test", "suite::a", &untitled]);
    assert!(out.starts_with("recorded the coverage of 1 tests at c1"), "{out}");
    let stderr = env.fails(&["coverage", "record", "--commit", "c1", &good, &bad], 3);
    assert!(stderr.contains("bad.lcov:3"), "{stderr}");
    assert_eq!(env.count("SELECT COUNT(*) FROM coverage_runs"), 1, "what was stored before is kept");
    // A usage error, refused by the flag's own check (was exit 1 after the fact).
    let stderr = env.fails(&["coverage", "record", "--commit", "", &untitled], 2);
    assert!(stderr.contains("'--commit <COMMIT>': must not be empty"), "{stderr}");
}

#[test]
fn coverage_that_accounts_for_the_change_skips_from_the_first_day_without_a_project_model() {
    let env = Env::new();
    let repo = record_file_driven_history(&env, 6);
    let r = repo.to_str().unwrap();
    let file = env.write("cov.lcov", lcov(&repo));
    env.ok(&["coverage", "record", "--commit", "HEAD", "--root", r, &file]);
    let sha = commit_replace(&repo, "src/b.rs", "fn b() {}", "fn b() { let _ = 2; }");
    // No trained model: the coverage decides what to skip; the bundled model skips nothing.
    let doc = env.json(&["select", "--commit", &sha, "--repo", r, "--dry-run"]);
    assert_eq!(doc["mode"], "subset", "{doc}");
    // b_works ran the changed line; a_works failed on the base (a rule that keeps tests); the
    // six others ran none of the change.
    assert_eq!(ids(&doc), ["suite::a_works", "suite::b_works"], "{doc}");
    assert_eq!(doc["skipped"].as_array().unwrap().len(), 6, "{doc}");
}

#[test]
fn a_changed_constant_runs_the_tests_that_ran_its_uses() {
    let env = Env::new();
    let repo = record_file_driven_history(&env, 6);
    let r = repo.to_str().unwrap();
    // c.rs declares LIMIT and uses it in limit() (beyond the margin), which only other_0 runs.
    let c = repo.join("src/c.rs");
    let before = std::fs::read_to_string(&c).unwrap();
    let decl = before.lines().count() as u32 + 1;
    std::fs::write(&c, format!("{before}const LIMIT: u32 = 3;\n\nfn limit() -> u32 {{ LIMIT }}\n")).unwrap();
    git(&repo, &["commit", "-q", "-am", "limit"]);
    let mut lcov = lcov(&repo);
    lcov.push_str(&format!("TN:suite::other_0\nSF:{}/src/c.rs\nDA:{},1\nend_of_record\n", repo.display(), decl + 2));
    for k in 1..6 {
        lcov.push_str(&format!(
            "TN:suite::other_{k}\nSF:{}/src/c.rs\nDA:{},0\nend_of_record\n",
            repo.display(),
            decl + 2
        ));
    }
    let file = env.write("cov.lcov", lcov);
    env.ok(&["coverage", "record", "--commit", "HEAD", "--root", r, &file]);
    let sha = commit_replace(&repo, "src/c.rs", "LIMIT: u32 = 3", "LIMIT: u32 = 4");
    let doc = env.json(&["select", "--commit", &sha, "--repo", r, "--dry-run"]);
    let other_0 = doc["selected"].as_array().unwrap().iter().find(|t| t["id"] == "suite::other_0");
    let reasons = other_0.map(|t| t["reasons"].to_string()).unwrap_or_default();
    assert!(reasons.contains(&format!("src/c.rs:{}, a use of LIMIT", decl + 2)), "{doc}");
    assert!(
        notes(&doc).contains("LIMIT declared in changed lines that coverage cannot see run: 1 more tests"),
        "{doc}"
    );

    // The next change, in a.rs: LIMIT changed since the coverage was taken, so other_0, which ran
    // a use of it, is stale and no longer skipped by coverage.
    let sha = commit_replace(&repo, "src/a.rs", "fn a() {}", "fn a() { let _ = 9; }");
    let doc = env.json(&["select", "--commit", &sha, "--repo", r, "--dry-run"]);
    assert!(notes(&doc).contains("1 tests ran code changed since it was taken"), "{doc}");
    let would_skip = doc["would_skip"].to_string() + &doc["skipped"].to_string();
    assert!(!would_skip.contains("other_0") && would_skip.contains("other_1"), "{doc}");
}

#[test]
fn region_coverage_lets_go_a_test_that_ran_the_line_but_not_the_changed_columns() {
    let env = Env::new();
    let repo = record_file_driven_history(&env, 6);
    let r = repo.to_str().unwrap();
    let line = add_pick(&repo);
    let file = env.write("cov.lcov", lcov(&repo));
    env.ok(&["coverage", "record", "--commit", "HEAD", "--root", r, &file]);
    // Recorded again, their coverage at the commit is replaced.
    for (test, b_ran) in [("other_0", false), ("other_1", true)] {
        let path = env.write(&format!("{test}.json"), pick_export(&repo, line, test, b_ran));
        env.ok(&["coverage", "record", "--commit", "HEAD", "--root", r, &path]);
    }
    let stored = env.count("SELECT COUNT(*) FROM coverage_hits WHERE unrun IS NOT NULL");
    assert_eq!(stored, 1, "other_0's unrun columns are stored; other_1 ran its whole lines");

    // `b` changed: other_1 ran it, other_0 ran the line but not `b`.
    let sha = commit_replace(&repo, "src/c.rs", "{ a && b }", "{ a && (!b) }");
    let doc = env.json(&["select", "--commit", &sha, "--repo", r, "--dry-run"]);
    assert_eq!(doc["mode"], "subset", "{doc}");
    let selected = ids(&doc);
    assert!(selected.contains(&"suite::other_1".to_string()), "{doc}");
    assert!(!selected.contains(&"suite::other_0".to_string()), "{doc}");
    assert!(notes(&doc).contains("1 tests ran the changed lines but not their changed columns"), "{doc}");
    // `a` changed (a column both ran): both run.
    git(&repo, &["reset", "-q", "--hard", "HEAD~1"]);
    let sha = commit_replace(&repo, "src/c.rs", "{ a && b }", "{ !a && b }");
    let doc = env.json(&["select", "--commit", &sha, "--repo", r, "--dry-run"]);
    let selected = ids(&doc);
    assert!(selected.contains(&"suite::other_0".to_string()) && selected.contains(&"suite::other_1".to_string()));
}

#[test]
fn coverage_recall_lets_the_trusted_model_order_the_tests_that_ran_the_change() {
    let env = Env::new();
    let repo = record_file_driven_history(&env, 40);
    env.ok(&["train"]);
    let r = repo.to_str().unwrap();
    let file = env.write("cov.lcov", lcov(&repo));
    env.ok(&["coverage", "record", "--commit", "HEAD", "--root", r, &file]);
    // The six other_* tests ran line 1 of c.rs, which the change touches.
    let sha = commit_replace(&repo, "src/c.rs", "fn c() {}", "fn c() { let _ = 1; }");
    let others = |doc: &serde_json::Value| ids(doc).iter().filter(|t| t.starts_with("suite::other_")).count();
    let doc = env.json(&["select", "--commit", &sha, "--repo", r, "--dry-run"]);
    assert_eq!(others(&doc), 6, "by default every test that ran the change runs: {doc}");
    let config = repo.join(".config/seer.toml");
    let before = std::fs::read_to_string(&config).unwrap_or_default();
    std::fs::write(&config, format!("{before}coverage_recall = 0.5\n")).unwrap();
    let doc = env.json(&["select", "--commit", &sha, "--repo", r, "--dry-run"]);
    let kept = others(&doc);
    assert!((1..6).contains(&kept), "the likeliest run, the rest go to the threshold: {doc}");
    assert!(notes(&doc).contains(&format!("{} tests skipped that ran a changed line", 6 - kept)), "{doc}");
}
