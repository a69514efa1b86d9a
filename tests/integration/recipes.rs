//! The CI recipes of `scripts/ci/`, run: their shell steps, as the CI system would run them for a
//! pull request, against a `seer serve` on loopback, with a stand-in `cargo nextest` that writes
//! a JUnit report with one failing test. Each must select, run, and record the failing run on
//! the server under the CI's run id.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::serve::{Server, project, token};
use crate::util::{SEER, git};

/// The block under the first line containing `key` after the first line that is `anchor` (its
/// leading spaces aside): the lines indented deeper than `key`'s, dedented.
fn block(recipe: &str, anchor: &str, key: &str) -> String {
    let lines: Vec<&str> = recipe.lines().collect();
    let start = lines.iter().position(|l| l.trim() == anchor).unwrap_or_else(|| panic!("no line {anchor:?}"));
    let at = start
        + lines[start..].iter().position(|l| l.contains(key)).unwrap_or_else(|| panic!("no {key:?} after {anchor:?}"));
    let indent = lines[at].len() - lines[at].trim_start().len();
    let body: Vec<&str> = lines[at + 1..]
        .iter()
        .take_while(|l| l.trim().is_empty() || l.len() - l.trim_start().len() > indent)
        .copied()
        .collect();
    let strip = body.iter().filter(|l| !l.trim().is_empty()).map(|l| l.len() - l.trim_start().len()).min().unwrap_or(0);
    body.iter().map(|l| if l.len() >= strip { &l[strip..] } else { "" }).collect::<Vec<_>>().join("\n")
}

/// GitHub's `${{ … }}` expressions replaced as Actions would for a pull request.
fn github_expressions(script: &str, values: &HashMap<&str, String>) -> String {
    let mut out = script.to_string();
    while let Some(start) = out.find("${{") {
        let end = start + out[start..].find("}}").expect("closed expression") + 2;
        let expr = out[start + 3..end - 2].trim().to_string();
        let value = values.get(expr.as_str()).unwrap_or_else(|| panic!("no value for ${{{{ {expr} }}}}"));
        out.replace_range(start..end, value);
    }
    out
}

/// A repository cloned from a bare `origin` with `main`, and a pull request's commit on a
/// branch; a `bin/` with `seer` and a stand-in `cargo`.
struct Checkout {
    _dir: tempfile::TempDir,
    repo: PathBuf,
    bin: PathBuf,
    head: String,
}

fn checkout() -> Checkout {
    let dir = tempfile::tempdir().unwrap();
    let origin = dir.path().join("origin.git");
    let seed = dir.path().join("seed");
    std::fs::create_dir_all(seed.join("src")).unwrap();
    git(&seed, &["init", "-q", "-b", "main"]);
    std::fs::write(seed.join("src/a.rs"), "fn a() {}\n").unwrap();
    git(&seed, &["add", "-A"]);
    git(&seed, &["commit", "-q", "-m", "root"]);
    let run =
        |args: &[&str], at: &Path| assert!(Command::new("git").args(args).current_dir(at).status().unwrap().success());
    run(&["clone", "-q", "--bare", seed.to_str().unwrap(), origin.to_str().unwrap()], dir.path());
    let repo = dir.path().join("repo");
    run(&["clone", "-q", origin.to_str().unwrap(), repo.to_str().unwrap()], dir.path());
    git(&repo, &["config", "user.email", "t@example.com"]);
    git(&repo, &["config", "user.name", "t"]);
    git(&repo, &["checkout", "-q", "-b", "feature"]);
    std::fs::write(repo.join("src/a.rs"), "fn a() { let _ = 1; }\n").unwrap();
    git(&repo, &["commit", "-q", "-am", "change a"]);
    let head = git(&repo, &["rev-parse", "HEAD"]);
    let bin = dir.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    std::os::unix::fs::symlink(SEER, bin.join("seer")).unwrap();
    // `cargo nextest run …`: the arguments it got, and a JUnit report where suite::a_works fails.
    let cargo = r#"#!/bin/sh
printf '%s\n' "$@" > cargo-args.txt
mkdir -p target/nextest/ci
cat > target/nextest/ci/junit.xml <<'XML'
<testsuites><testsuite name="suite"><testcase classname="suite" name="a_works" time="1.0"><failure message="assertion failed"/></testcase><testcase classname="suite" name="b_works" time="1.0"/></testsuite></testsuites>
XML
exit 100
"#;
    std::fs::write(bin.join("cargo"), cargo).unwrap();
    let mut perms = std::fs::metadata(bin.join("cargo")).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
    std::fs::set_permissions(bin.join("cargo"), perms).unwrap();
    Checkout { _dir: dir, repo, bin, head }
}

/// Runs `script` with bash in the checkout, with `vars`; returns (exit code, stderr).
fn bash(c: &Checkout, script: &str, vars: &[(&str, String)]) -> (i32, String) {
    let path = format!("{}:{}", c.bin.display(), std::env::var("PATH").unwrap_or_default());
    let mut cmd = Command::new("bash");
    cmd.arg("-c").arg(script).current_dir(&c.repo).env("PATH", path);
    for marker in crate::util::CI_MARKERS {
        cmd.env_remove(marker);
    }
    for (k, v) in vars {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stderr).into_owned())
}

/// The server's runs, by id.
fn stored(db: &Path) -> serde_json::Value {
    let out = Command::new(SEER).args(["--db", db.to_str().unwrap(), "runs", "--json"]).output().unwrap();
    serde_json::from_slice(&out.stdout).unwrap()
}

fn assert_recorded(db: &Path, run_id: &str, script: &str, stderr: &str) {
    let runs = stored(db);
    let run = runs["runs"].as_array().unwrap().iter().find(|r| r["run_id"] == run_id);
    let run = run.unwrap_or_else(|| panic!("run {run_id} not on the server; script:\n{script}\nstderr:\n{stderr}"));
    assert_eq!(run["counts"]["fail"], 1, "the failing run is kept: {run}");
}

#[test]
fn the_github_actions_recipe_selects_runs_and_records_a_pull_request_on_the_server() {
    let recipe = include_str!("../../scripts/ci/github-actions.yml");
    let dir = tempfile::tempdir().unwrap();
    let p = project(dir.path());
    let server = Server::start(&p.data, "127.0.0.1:0", &[]);
    let c = checkout();
    let values: HashMap<&str, String> = [
        ("github.event.pull_request.head.sha", c.head.clone()),
        ("github.base_ref", "main".into()),
        ("github.event_name", "pull_request".into()),
        ("github.event.pull_request.head.sha || github.sha", c.head.clone()),
        ("github.run_id", "4711".into()),
        ("github.run_attempt", "1".into()),
        ("github.head_ref || github.ref_name", "feature".into()),
        ("github.sha", c.head.clone()),
    ]
    .into_iter()
    .collect();
    let env = |token: &str| {
        vec![
            ("SEER_URL", server.url.clone()),
            ("SEER_PROJECT", "demo".to_string()),
            ("SEER_TOKEN", token.to_string()),
            ("GITHUB_ACTIONS", "true".to_string()),
        ]
    };
    let mut scripts = Vec::new();
    for step in ["- name: select", "- name: test", "- name: record"] {
        scripts.push(github_expressions(&block(recipe, step, "run: |"), &values));
    }
    // The steps as Actions runs them: each in its own shell, `test` failing, `record` always.
    let (code, stderr) = bash(&c, &scripts[0], &env(&p.ci));
    assert_eq!(code, 0, "select: {stderr}");
    let (code, _) = bash(&c, &scripts[1], &env(&p.ci));
    assert_eq!(code, 100, "the stand-in test run fails");
    let (code, stderr) = bash(&c, &scripts[2], &env(&p.ci));
    assert_eq!(code, 0, "record: {stderr}");
    assert_recorded(&p.db, "4711.1", &scripts[2], &stderr);
    // The nightly job trains and prints the stats with the token its header asks for.
    assert!(recipe.contains("SEER_ADMIN_TOKEN (scopes admin,read"));
    let nightly = token(&p.db, "nightly", "admin,read");
    let train = block(recipe, "- name: train", "run: |");
    let (code, stderr) = bash(&c, &train, &env(&nightly));
    assert_eq!(code, 0, "{stderr}");
    assert!(std::fs::read_dir(p.db.with_file_name("models")).unwrap().count() == 1, "a model on the server");
}

#[test]
fn the_gitlab_recipe_runs_for_merge_requests_and_records_on_the_server() {
    let recipe = include_str!("../../scripts/ci/gitlab-ci.yml");
    for rule in ["$CI_PIPELINE_SOURCE == \"merge_request_event\"", "$CI_PIPELINE_SOURCE == \"schedule\""] {
        assert!(recipe.contains(&format!("- if: {rule}")), "the recipe has the rule {rule}");
    }
    let dir = tempfile::tempdir().unwrap();
    let p = project(dir.path());
    let server = Server::start(&p.data, "127.0.0.1:0", &[]);
    let c = checkout();
    let script = block(recipe, "test:", "- |");
    let vars = vec![
        ("SEER_URL", server.url.clone()),
        ("SEER_PROJECT", "demo".to_string()),
        ("SEER_TOKEN", p.ci.clone()),
        ("GITLAB_CI", "true".to_string()),
        ("CI_PIPELINE_SOURCE", "merge_request_event".to_string()),
        ("CI_MERGE_REQUEST_TARGET_BRANCH_NAME", "main".to_string()),
        ("CI_MERGE_REQUEST_SOURCE_BRANCH_NAME", "feature".to_string()),
        ("CI_COMMIT_SHA", c.head.clone()),
        ("CI_COMMIT_REF_NAME", "feature".to_string()),
        ("CI_JOB_ID", "987".to_string()),
        ("CI_JOB_NAME", "test".to_string()),
    ];
    let (code, stderr) = bash(&c, &script, &vars);
    assert_eq!(code, 100, "the job fails as its tests did: {stderr}");
    assert!(stderr.contains("seer select"), "select ran for the merge request: {stderr}");
    assert_recorded(&p.db, "987", &script, &stderr);
    let kept = Command::new(SEER).args(["--db", p.db.to_str().unwrap(), "stats", "--json"]).output().unwrap();
    let stats: serde_json::Value = serde_json::from_slice(&kept.stdout).unwrap();
    assert_eq!(stats["selection"]["selections"], 1, "the merge request's selection is kept on the server");
}

#[test]
fn the_buildkite_recipe_runs_for_pull_requests_and_records_on_the_server() {
    let recipe = include_str!("../../scripts/ci/buildkite.yml");
    let dir = tempfile::tempdir().unwrap();
    let p = project(dir.path());
    let server = Server::start(&p.data, "127.0.0.1:0", &[]);
    let c = checkout();
    let script = block(recipe, "- label: \":test_tube: test\"", "command: |");
    let vars = vec![
        ("SEER_URL", server.url.clone()),
        ("SEER_PROJECT", "demo".to_string()),
        ("SEER_TOKEN", p.ci.clone()),
        ("BUILDKITE", "true".to_string()),
        ("BUILDKITE_PULL_REQUEST", "12".to_string()),
        ("BUILDKITE_PULL_REQUEST_BASE_BRANCH", "main".to_string()),
        ("BUILDKITE_COMMIT", c.head.clone()),
        ("BUILDKITE_BRANCH", "feature".to_string()),
        ("BUILDKITE_JOB_ID", "bk-1".to_string()),
        ("BUILDKITE_LABEL", "test".to_string()),
    ];
    let (code, stderr) = bash(&c, &script, &vars);
    assert_eq!(code, 100, "the step fails as its tests did: {stderr}");
    assert_recorded(&p.db, "bk-1", &script, &stderr);
}

#[test]
fn the_serverless_recipe_saves_the_store_even_when_tests_fail_and_says_what_it_cannot_do() {
    let recipe = include_str!("../../scripts/ci/github-actions-serverless.yml");
    let save = recipe.find("uses: actions/cache/save@").expect("a separate save step");
    let after = &recipe[save..];
    assert!(after.lines().take(3).any(|l| l.trim() == "if: always()"), "the save runs whatever the tests did");
    assert!(!recipe.contains("uses: actions/cache@"), "actions/cache saves only on success");
    for limit in ["Concurrent jobs do not share a history", "Pull-request history does not reach main"] {
        assert!(recipe.contains(limit), "the recipe says: {limit}");
    }
}
