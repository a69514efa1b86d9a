//! `seer select`'s bookkeeping (observe mode, misses), runner formats, `seer predict`, flaky
//! tests and quarantine, the Cargo workspace filter, and the reasons it runs everything.

use crate::util::{
    Env, all_eight, commit_edit, fixture, git, ids, record_cases, record_file_driven_history, trust_small_models,
};

#[test]
fn observe_mode_runs_everything_and_the_bookkeeping_finds_what_a_selection_missed() {
    let env = Env::new();
    let repo = record_file_driven_history(&env, 40);
    env.ok(&["train"]);
    let r = repo.to_str().unwrap();

    // Observe: every test runs; what seer would have skipped is in would_skip.
    let sha = commit_edit(&repo, "src/a.rs", "// change\n");
    let doc = env.json(&["select", "--commit", &sha, "--repo", r, "--observe"]);
    assert_eq!(doc["mode"], "all", "{doc}");
    assert!(doc["reason"].as_str().unwrap().starts_with("observe mode: seer would have run"), "{doc}");
    assert_eq!(ids(&doc).len(), 8, "every test runs");
    let would_skip: Vec<&str> = doc["would_skip"].as_array().unwrap().iter().map(|t| t.as_str().unwrap()).collect();
    assert!(would_skip.contains(&"suite::b_works"), "{doc}");
    assert_eq!(
        env.ok(&["select", "--commit", &sha, "--repo", r, "--observe", "--format", "nextest", "--dry-run"]),
        "-E\nall()\n--no-tests=pass\n"
    );
    // The full run of that commit: a_works fails (selected) and b_works fails (would have been skipped).
    record_cases(&env, &repo, &sha, "observed", &all_eight(&["a_works", "b_works"]));
    let sel = &env.json(&["stats"])["selection"];
    assert_eq!(sel["selections"], 1, "the --dry-run selection was not kept: {sel}");
    assert_eq!((sel["observed"].as_u64(), sel["runs_measured"].as_u64()), (Some(1), Some(1)), "{sel}");
    assert_eq!(
        (sel["failing"].as_u64(), sel["caught"].as_u64(), sel["misses"].as_u64()),
        (Some(2), Some(1), Some(1)),
        "{sel}"
    );
    assert_eq!(sel["observed_recall"], 0.5);
    let miss = &sel["recent_misses"][0];
    assert_eq!(
        (miss["test"].as_str(), miss["same_commit"].as_bool(), miss["observed"].as_bool()),
        (Some("suite::b_works"), Some(true), Some(true))
    );

    // The observed selection caught 1 of 2 failing tests, under the model's 95% target: the trust
    // gate closes, and select observes until its selections catch enough again.
    let gate = &env.json(&["stats"])["gate"];
    assert_eq!((gate["observed_caught"].as_u64(), gate["observed_missed"].as_u64()), (Some(1), Some(1)), "{gate}");
    let sha = commit_edit(&repo, "src/c.rs", "// quiet\n");
    let doc = env.json(&["select", "--commit", &sha, "--repo", r, "--dry-run"]);
    let reason = doc["reason"].as_str().unwrap();
    assert!(reason.contains("caught 1 of 2 failing tests") && reason.contains("the model has drifted"), "{doc}");
    // A commit whose full run passes (so nothing failed on the base of the next one); judged on
    // the newest run only, the gate opens again.
    record_cases(&env, &repo, &sha, "quiet", &all_eight(&[]));
    std::fs::write(repo.join(".config/seer.toml"), "[select]\nmin_validation_failing = 0\ndrift_window_runs = 1\n")
        .unwrap();
    // ...then a real subset skips b_works; the CI runs only the selection, so b_works is not seen...
    let sha = commit_edit(&repo, "src/a.rs", "// again\n");
    let doc = env.json(&["select", "--commit", &sha, "--repo", r]);
    assert_eq!(doc["mode"], "subset");
    assert!(doc["skipped"].as_array().unwrap().iter().any(|t| t == "suite::b_works"), "{doc}");
    let ran: Vec<(String, bool)> =
        ids(&doc).into_iter().map(|id| (id.strip_prefix("suite::").unwrap().to_string(), false)).collect();
    record_cases(&env, &repo, &sha, "subset", &ran);
    // ...until a later full run of another commit shows it failing: a miss of that selection.
    let later = commit_edit(&repo, "src/c.rs", "// later\n");
    record_cases(&env, &repo, &later, "nightly", &all_eight(&["b_works"]));
    let sel = &env.json(&["stats"])["selection"];
    assert_eq!(sel["misses"], 2, "{sel}");
    let miss = &sel["recent_misses"][0];
    assert_eq!((miss["run_id"].as_str(), miss["same_commit"].as_bool()), (Some("nightly"), Some(false)), "{sel}");
    assert_eq!(miss["selection_commit"].as_str(), Some(sha.as_str()));
    let text = env.ok(&["stats"]);
    assert!(text.contains("2 misses") && text.contains("suite::b_works"), "{text}");
}

#[test]
fn every_runner_format_prints_its_arguments_and_the_run_everything_form() {
    let env = Env::new();
    let repo = record_file_driven_history(&env, 40);
    env.ok(&["train"]);
    let r = repo.to_str().unwrap();
    let sha = commit_edit(&repo, "src/a.rs", "// change\n");
    let skipped =
        env.json(&["select", "--commit", &sha, "--repo", r, "--dry-run"])["skipped"].as_array().unwrap().len();
    assert!(skipped > 0);
    let args = |format: &str| env.ok(&["select", "--commit", &sha, "--repo", r, "--dry-run", "--format", format]);
    // The skipped tests, one argument per line, each name inside its flag's argument.
    assert_eq!(args("cargo").lines().filter(|l| l.starts_with("--skip=")).count(), skipped);
    assert_eq!(args("pytest").lines().filter(|l| l.starts_with("--deselect=")).count(), skipped);
    assert!(args("gotest").starts_with("-skip=^(?:"));
    assert!(args("jest").starts_with("--testNamePattern=^(?!(?:"));
    assert!(args("maven").starts_with("-Dtest=!suite#"));
    let gradle = args("gradle");
    assert!(gradle.lines().any(|l| l == "suite.a_works"), "gradle names the tests to run: {gradle}");
    // A build file changed: every test, in each runner's words.
    let sha = commit_edit(&repo, "Cargo.toml", "[package]\n");
    let all = |format: &str| env.ok(&["select", "--commit", &sha, "--repo", r, "--dry-run", "--format", format]);
    assert_eq!(all("nextest"), "-E\nall()\n--no-tests=pass\n");
    for format in ["cargo", "pytest", "gotest", "jest", "maven", "gradle"] {
        assert_eq!(all(format), "", "{format}: no arguments run everything");
    }
}

#[test]
fn predict_ranks_the_tests_an_uncommitted_change_will_break_with_reasons() {
    let env = Env::new();
    let repo = record_file_driven_history(&env, 40);
    env.ok(&["train"]);
    let path = repo.join("src/b.rs");
    let mut text = std::fs::read_to_string(&path).unwrap();
    text.push_str("fn more() {}\n");
    std::fs::write(&path, text).unwrap();
    // seer's own output in the checkout is not part of the change.
    std::fs::write(repo.join("seer-args.txt"), "-E\nall()\n").unwrap();
    std::fs::create_dir_all(repo.join(".seer")).unwrap();
    std::fs::write(repo.join(".seer/seer.db"), "x").unwrap();
    let doc = env.json(&["predict", "--repo", repo.to_str().unwrap()]);
    assert_eq!(doc["files_changed"], 1, "{doc}");
    let first = &doc["predictions"][0];
    assert_eq!(first["id"], "suite::b_works", "{doc}");
    let p = first["probability"].as_f64().expect("a calibrated probability");
    let other = doc["predictions"].as_array().unwrap().iter().find(|x| x["id"] == "suite::other_0").unwrap();
    assert!(p > other["probability"].as_f64().unwrap(), "{doc}");
    let reasons: Vec<&str> = first["reasons"].as_array().unwrap().iter().map(|r| r.as_str().unwrap()).collect();
    assert!(
        reasons.iter().any(|r| r.starts_with("failed in ") && r.ends_with("past changes touching src/b.rs")),
        "{reasons:?}"
    );
    let table = env.ok(&["predict", "--repo", repo.to_str().unwrap(), "--limit", "2"]);
    assert!(table.contains("P(FAIL)") && table.contains("suite::b_works"), "{table}");
    assert_eq!(table.lines().filter(|l| l.contains("suite::")).count(), 2, "{table}");
    // Nothing to predict from: an error that says so, not a guess; no store is "not found" (5),
    // as for every other command (was 1).
    let empty = Env::new();
    let stderr = empty.fails(&["predict", "--repo", repo.to_str().unwrap()], 5);
    assert!(stderr.contains("cannot predict") && stderr.contains("no seer store"), "{stderr}");
}

#[test]
fn flaky_tests_are_found_quarantined_and_kept_out_of_the_runner_arguments() {
    let env = Env::new();
    // A retried pass for `retry`, both outcomes on commit c3 for `mixed`, `steady` steady.
    let mut lines = Vec::new();
    for k in 0..6 {
        let retry_attempts = if k == 2 { 2 } else { 1 };
        let mixed = if k == 3 { "fail" } else { "pass" };
        let commit = if k == 4 { "c3".to_string() } else { format!("c{k}") };
        lines.push(
            format!(
                r#"{{"run_id": "r{k}", "commit": "{commit}", "time": {}, "tests": [
                {{"id": "t::retry", "outcome": "pass", "attempts": {retry_attempts}}},
                {{"id": "t::mixed", "outcome": "{mixed}"}}, {{"id": "t::steady", "outcome": "pass"}}]}}"#,
                1_700_000_000 + k * 60
            )
            .replace('\n', " "),
        );
    }
    let history = env.write("history.jsonl", lines.join("\n") + "\n");
    env.ok(&["import", &history]);
    let doc = env.json(&["flaky", "list"]);
    let found: Vec<&str> = doc["flaky"].as_array().unwrap().iter().map(|f| f["id"].as_str().unwrap()).collect();
    assert_eq!(found.len(), 2, "{doc}");
    assert!(found.contains(&"t::retry") && found.contains(&"t::mixed"), "{doc}");

    assert_eq!(env.json(&["flaky", "quarantine", "t::mixed", "--reason", "fails on c3"])["status"], "quarantined");
    assert_eq!(env.json(&["flaky", "quarantine", "t::mixed"])["status"], "already quarantined");
    let stderr = env.fails(&["flaky", "quarantine", "t::nope"], 5);
    assert!(stderr.contains("no test \"t::nope\""), "{stderr}");
    let listed = env.json(&["flaky", "list"]);
    assert_eq!(listed["quarantined"][0]["id"], "t::mixed");
    assert_eq!(listed["quarantined"][0]["reason"], "fails on c3");

    // No git in this history: select from history alone; the quarantined test is apart.
    let doc = env.json(&["select", "--commit", "c9", "--no-git", "--dry-run"]);
    assert_eq!(doc["quarantined"], serde_json::json!(["t::mixed"]), "{doc}");
    let everything: Vec<String> = ids(&doc)
        .into_iter()
        .chain(doc["skipped"].as_array().unwrap().iter().map(|t| t.as_str().unwrap().to_string()))
        .collect();
    assert!(!everything.contains(&"t::mixed".to_string()), "{doc}");
    let args = env.ok(&["select", "--commit", "c9", "--no-git", "--dry-run", "--format", "nextest"]);
    assert!(args.contains("test(=t::mixed)") && args.starts_with("-E\nnot ("), "{args}");
    assert_eq!(env.json(&["flaky", "release", "t::mixed"])["status"], "released");
    assert_eq!(env.json(&["flaky", "release", "t::mixed"])["status"], "not quarantined");
    assert_eq!(env.json(&["select", "--commit", "c9", "--no-git", "--dry-run"])["quarantined"], serde_json::json!([]));
}

#[test]
fn select_runs_everything_for_a_foreign_model_a_bad_config_or_a_configured_file() {
    let env = Env::new();
    let repo = record_file_driven_history(&env, 40);
    env.ok(&["train"]);
    let r = repo.to_str().unwrap();
    let sha = commit_edit(&repo, "src/a.rs", "// change\n");
    assert_eq!(env.json(&["select", "--commit", &sha, "--repo", r, "--dry-run"])["mode"], "subset");

    // The repository's configuration: a data file that must run everything.
    std::fs::remove_file(repo.join(".git/info/exclude")).unwrap();
    std::fs::remove_file(repo.join(".config/seer.toml")).unwrap();
    let config = "[select]\nmin_validation_failing = 0\nextra_fail_open_files = [\"schema/*\"]\nfoo = 1\n";
    let sha = commit_edit(&repo, ".config/seer.toml", config);
    let doc = env.json(&["select", "--commit", &sha, "--repo", r, "--dry-run"]);
    assert!(doc["reason"].as_str().unwrap().contains("(.config/seer.toml)"), "CI configuration itself: {doc}");
    let sha = commit_edit(&repo, "schema/v1.sql", "create table t (x);\n");
    let out = env.run(&["select", "--commit", &sha, "--repo", r, "--dry-run", "--json"]);
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["mode"], "all");
    assert!(doc["reason"].as_str().unwrap().contains("schema/v1.sql"), "{doc}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown key select.foo"));
    std::fs::write(repo.join(".config/seer.toml"), "[select\n").unwrap();
    let doc = env.json(&["select", "--commit", &sha, "--repo", r, "--dry-run"]);
    assert_eq!(doc["mode"], "all");
    assert!(doc["reason"].as_str().unwrap().contains(".config/seer.toml"), "{doc}");
    assert_eq!(ids(&doc).len(), 8, "every known test");
    git(&repo, &["checkout", "--", ".config/seer.toml"]);

    // A model trained on another store's runs is stale here.
    let other = Env::new();
    other.ok(&["import", &fixture("iofrol-cycles-1-6.csv")]);
    other.ok(&["train"]);
    let models = env.db.parent().unwrap().join("models");
    let theirs = std::fs::read_dir(other.db.parent().unwrap().join("models")).unwrap().next().unwrap().unwrap().path();
    std::fs::copy(&theirs, models.join("model-99999999T000000Z-000.json")).unwrap();
    let sha = commit_edit(&repo, "src/b.rs", "// change\n");
    let doc = env.json(&["select", "--commit", &sha, "--repo", r, "--dry-run"]);
    assert_eq!(doc["mode"], "all");
    assert!(doc["reason"].as_str().unwrap().contains("trained on runs this store does not have"), "{doc}");
}

/// A Cargo workspace: `app` depends on `core`, `tool` on nothing.
fn workspace_repo(env: &Env) -> std::path::PathBuf {
    let repo = env.path().join("ws");
    for (name, deps) in [("core", ""), ("app", "core = { path = \"../core\" }\n"), ("tool", "")] {
        let dir = repo.join(name);
        std::fs::create_dir_all(dir.join("src")).unwrap();
        std::fs::write(
            dir.join("Cargo.toml"),
            format!("[package]\nname = \"{name}\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\n{deps}"),
        )
        .unwrap();
        std::fs::write(dir.join("src/lib.rs"), format!("pub fn {name}() {{}}\n")).unwrap();
    }
    std::fs::write(repo.join("Cargo.toml"), "[workspace]\nmembers = [\"core\", \"app\", \"tool\"]\nresolver = \"2\"\n")
        .unwrap();
    git(&repo, &["init", "-q", "-b", "main"]);
    git(&repo, &["add", "-A"]);
    git(&repo, &["commit", "-q", "-m", "root"]);
    trust_small_models(&repo);
    repo
}

/// A nextest-shaped JUnit report: classname = binary id (the crate), one test per crate.
fn crates_junit(failing: &[&str]) -> String {
    let cases: String = ["core", "app", "tool"]
        .iter()
        .map(|c| {
            let failure = if failing.contains(c) { "<failure message=\"boom\"/>" } else { "" };
            format!("<testcase classname=\"{c}\" name=\"tests::works\" time=\"1.0\">{failure}</testcase>")
        })
        .collect();
    format!("<testsuites><testsuite name=\"nextest-run\">{cases}</testsuite></testsuites>")
}

#[test]
fn a_change_to_a_crate_nothing_depends_on_skips_the_tests_of_the_others() {
    let env = Env::new();
    let repo = workspace_repo(&env);
    let r = repo.to_str().unwrap();
    // Every crate's test fails now and then whatever changed: the model alone cannot tell.
    let pattern = b"ctaactcattcacaattcct";
    for (i, &p) in pattern.iter().enumerate() {
        let name = match p {
            b'c' => "core",
            b'a' => "app",
            _ => "tool",
        };
        let sha = commit_edit(&repo, &format!("{name}/src/lib.rs"), &format!("// {i}\n"));
        let failing: Vec<&str> = ["core", "app", "tool"].into_iter().filter(|c| (i + c.len()) % 3 == 0).collect();
        let report = env.write(&format!("w{i}.xml"), crates_junit(&failing));
        let time = (1_700_000_000 + i * 60).to_string();
        env.ok(&["record", "--repo", r, "--commit", &sha, "--run-id", &format!("w{i}"), "--time", &time, &report]);
    }
    env.ok(&["train"]);
    let sha = commit_edit(&repo, "tool/src/lib.rs", "// last\n");
    let out = env.run(&["select", "--commit", &sha, "--repo", r, "--recall", "1.0", "--dry-run", "--json"]);
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["mode"], "subset", "{doc}");
    let skipped: Vec<&str> = doc["skipped"].as_array().unwrap().iter().map(|t| t.as_str().unwrap()).collect();
    assert!(skipped.contains(&"core::tests::works") && skipped.contains(&"app::tests::works"), "{doc}");
    assert!(!skipped.contains(&"tool::tests::works"), "{doc}");
    assert!(
        doc["notes"].as_array().unwrap().iter().any(|n| n.as_str().unwrap().contains("2 tests skipped: their crates")),
        "{doc}"
    );
    // A change to core reaches app (its dependent) but not tool.
    let sha = commit_edit(&repo, "core/src/lib.rs", "// last\n");
    let doc = env.json(&["select", "--commit", &sha, "--repo", r, "--recall", "1.0", "--dry-run"]);
    let notes = doc["notes"].as_array().unwrap();
    assert!(
        notes.iter().any(|n| n.as_str().unwrap().starts_with("1 test skipped: its crate does not depend")),
        "only tool's: {doc}"
    );
    assert!(env.db.parent().unwrap().join("workspace.json").exists(), "the graph is cached beside the store");
}

#[test]
fn a_broken_configuration_is_reported_by_every_command() {
    let env = Env::new();
    let repo = record_file_driven_history(&env, 3);
    std::fs::create_dir_all(repo.join(".config")).unwrap();
    std::fs::write(repo.join(".config/seer.toml"), "[select]\nfail_open_files = [...]\n").unwrap();
    for args in [&["runs"][..], &["stats"]] {
        let out = env.seer().current_dir(&repo).args(args).output().unwrap();
        assert!(out.status.success());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains(".config/seer.toml") && stderr.contains("every `seer select` runs every test"),
            "{stderr}"
        );
    }
}

#[test]
fn before_the_project_has_its_own_model_select_observes_and_runs_everything() {
    let env = Env::new();
    let repo = record_file_driven_history(&env, 6);
    let r = repo.to_str().unwrap();
    let sha = commit_edit(&repo, "src/a.rs", "// change\n");
    // Only the bundled model: it ranks, the selection is kept as observed, every test runs.
    let doc = env.json(&["select", "--commit", &sha, "--repo", r]);
    assert_eq!(doc["mode"], "all", "{doc}");
    let reason = doc["reason"].as_str().unwrap();
    assert!(
        reason.starts_with("observing: 6 runs, 3 failing results recorded; no model is trained on this project"),
        "{doc}"
    );
    assert_eq!((doc["gate"]["open"].as_bool(), doc["gate"]["runs"].as_u64()), (Some(false), Some(6)), "{doc}");
    assert_eq!(ids(&doc).len(), 8);
    assert!(doc["would_skip"].is_array(), "{doc}");
    assert_eq!(env.json(&["stats"])["selection"]["observed"], 1);
    // An explicit budget is the team's own decision: the bundled model's ranking serves it.
    let doc = env.json(&["select", "--commit", &sha, "--repo", r, "--dry-run", "--fraction", "0.5"]);
    assert_eq!(doc["mode"], "subset", "{doc}");
    // A project model lifts the gate.
    let trained = Env::new();
    let repo = record_file_driven_history(&trained, 24);
    trained.ok(&["train"]);
    let sha = commit_edit(&repo, "src/a.rs", "// change\n");
    let doc = trained.json(&["select", "--commit", &sha, "--repo", repo.to_str().unwrap(), "--dry-run"]);
    assert_eq!(doc["mode"], "subset", "{doc}");
}
