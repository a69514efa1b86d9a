//! Changes read from real git repositories built by the test: renames, binary files, non-UTF-8
//! paths, merges, shallow clones, merge-bases. Git trouble never stops a run from being recorded.

use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use crate::util::{Env, git, report};

/// A repository with two commits on main and a feature branch; returns (root sha, second sha).
fn make_repo(dir: &Path) -> (String, String) {
    std::fs::create_dir_all(dir.join("src")).unwrap();
    git(dir, &["init", "-q", "-b", "main"]);
    let lib: String = (1..=10).map(|i| format!("line {i}\n")).collect();
    std::fs::write(dir.join("src/lib.rs"), &lib).unwrap();
    std::fs::write(dir.join("README"), "hello\n").unwrap();
    std::fs::write(dir.join("logo.png"), [0x89, b'P', b'N', b'G', 0, 1, 2, 3, 0, 0, 7]).unwrap();
    let moved: String = (1..=30).map(|i| format!("fn f{i}() {{}}\n")).collect();
    std::fs::write(dir.join("old_name.rs"), &moved).unwrap();
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-q", "-m", "first"]);
    let root = git(dir, &["rev-parse", "HEAD"]);

    let lib2 = lib.replace("line 5\n", "line five\nline 5b\nline 5c\n") + "line 11\n";
    std::fs::write(dir.join("src/lib.rs"), lib2).unwrap();
    std::fs::remove_file(dir.join("README")).unwrap();
    std::fs::write(dir.join("logo.png"), [0x89, b'P', b'N', b'G', 0, 9, 9, 9, 0, 0, 7]).unwrap();
    git(dir, &["mv", "old_name.rs", "new_name.rs"]);
    let latin1_name = std::ffi::OsStr::from_bytes(b"caf\xe9.txt");
    std::fs::write(dir.join(latin1_name), "menu\n").unwrap();
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-q", "-m", "second: edit, rename, delete, binary"]);
    let second = git(dir, &["rev-parse", "HEAD"]);
    (root, second)
}

fn record(env: &Env, repo: &Path, run_id: &str, extra: &[&str]) -> (serde_json::Value, String) {
    let mut args = vec!["record", "--run-id", run_id, "--repo", repo.to_str().unwrap()];
    args.extend_from_slice(extra);
    let pytest = report("pytest-junit.xml");
    args.push(&pytest);
    let out = env.seer().args(&args).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "record failed: {stderr}");
    (env.json(&["show", "run", run_id]), stderr)
}

fn file<'a>(doc: &'a serde_json::Value, path: &str) -> &'a serde_json::Value {
    doc["changes"]["files"]
        .as_array()
        .expect("changes recorded")
        .iter()
        .find(|f| f["path"] == path)
        .unwrap_or_else(|| panic!("{path} not among changed files: {}", doc["changes"]))
}

#[test]
fn edits_renames_deletions_binaries_and_odd_paths() {
    let env = Env::new();
    let repo = env.path().join("repo");
    let (root, second) = make_repo(&repo);
    let (doc, stderr) = record(&env, &repo, "r2", &["--commit", "HEAD"]);
    assert_eq!(doc["commit"], second, "a ref is stored as the full sha");
    let changes = &doc["changes"];
    assert_eq!(changes["base"], root);
    assert_eq!(changes["commit"]["summary"], "second: edit, rename, delete, binary");
    assert_eq!(changes["commit"]["author"], "Ada");

    let lib = file(&doc, "src/lib.rs");
    assert_eq!((lib["status"].as_str(), lib["added"].as_u64(), lib["deleted"].as_u64()), (Some("M"), Some(4), Some(1)));
    let renamed = file(&doc, "new_name.rs");
    assert_eq!(renamed["status"], "R");
    assert_eq!(renamed["old_path"], "old_name.rs");
    assert_eq!(file(&doc, "README")["status"], "D");
    let logo = file(&doc, "logo.png");
    assert_eq!(logo["binary"], true);
    assert!(logo["added"].is_null());
    let odd = file(&doc, "caf\u{FFFD}.txt");
    assert_eq!(odd["status"], "A");
    assert!(stderr.contains("not UTF-8"), "{stderr}");
    assert_eq!(changes["files"].as_array().unwrap().len(), 5);
}

#[test]
fn root_commit_is_diffed_against_nothing() {
    let env = Env::new();
    let repo = env.path().join("repo");
    let (root, _) = make_repo(&repo);
    let (doc, _) = record(&env, &repo, "r1", &["--commit", &root]);
    assert!(doc["changes"]["base"].is_null());
    assert_eq!(doc["changes"]["files"].as_array().unwrap().len(), 4);
    assert!(doc["changes"]["files"].as_array().unwrap().iter().all(|f| f["status"] == "A"));
}

#[test]
fn merge_commits_use_the_first_parent_and_base_means_merge_base() {
    let env = Env::new();
    let repo = env.path().join("repo");
    let (_, second) = make_repo(&repo);
    git(&repo, &["checkout", "-q", "-b", "feature"]);
    std::fs::write(repo.join("feature.rs"), "fn feature() {}\n").unwrap();
    git(&repo, &["add", "-A"]);
    git(&repo, &["commit", "-q", "-m", "feature"]);
    std::fs::write(repo.join("feature.rs"), "fn feature() {}\nfn more() {}\n").unwrap();
    git(&repo, &["commit", "-q", "-am", "feature 2"]);
    let feature = git(&repo, &["rev-parse", "HEAD"]);

    // A pull request's change: everything since the merge-base with main.
    let (doc, _) = record(&env, &repo, "pr", &["--commit", &feature, "--base", "main"]);
    assert_eq!(doc["changes"]["base"], second);
    assert_eq!(doc["base"], "main");
    let f = file(&doc, "feature.rs");
    assert_eq!((f["status"].as_str(), f["added"].as_u64()), (Some("A"), Some(2)));

    git(&repo, &["checkout", "-q", "main"]);
    std::fs::write(repo.join("main.rs"), "fn main() {}\n").unwrap();
    git(&repo, &["add", "-A"]);
    git(&repo, &["commit", "-q", "-m", "main moves on"]);
    let main_tip = git(&repo, &["rev-parse", "HEAD"]);
    git(&repo, &["merge", "-q", "--no-ff", "-m", "merge feature", "feature"]);
    let (doc, stderr) = record(&env, &repo, "merge", &["--commit", "HEAD"]);
    assert!(stderr.contains("is a merge commit"), "{stderr}");
    assert_eq!(doc["changes"]["base"], main_tip);
    assert_eq!(doc["changes"]["files"].as_array().unwrap().len(), 1, "only feature.rs came in from the merge");
}

#[test]
fn shallow_clone_records_the_run_and_warns() {
    let env = Env::new();
    let repo = env.path().join("repo");
    make_repo(&repo);
    let shallow = env.path().join("shallow");
    git(env.path(), &["clone", "-q", "--depth", "1", &format!("file://{}", repo.display()), shallow.to_str().unwrap()]);
    let (doc, stderr) = record(&env, &shallow, "shallow", &["--commit", "HEAD"]);
    assert!(stderr.contains("changes not recorded"), "{stderr}");
    assert!(stderr.contains("shallow"), "{stderr}");
    assert!(doc["changes"].is_null());
    assert_eq!(doc["tests"].as_array().unwrap().len(), 7, "the run itself is stored");
}

#[test]
fn no_repository_or_unknown_commit_still_records_the_run() {
    let env = Env::new();
    let empty = env.path().join("not-a-repo");
    std::fs::create_dir_all(&empty).unwrap();
    let (doc, stderr) = record(&env, &empty, "norepo", &["--commit", "abc123"]);
    assert!(stderr.contains("changes not recorded: no git repository"), "{stderr}");
    assert_eq!(doc["commit"], "abc123");

    let repo = env.path().join("repo");
    make_repo(&repo);
    let (doc, stderr) = record(&env, &repo, "unknown", &["--commit", "0123456789abcdef0123456789abcdef01234567"]);
    assert!(stderr.contains("is not in the repository"), "{stderr}");
    assert!(doc["changes"].is_null());
}

#[test]
fn a_large_diff_is_counted() {
    let env = Env::new();
    let repo = env.path().join("repo");
    make_repo(&repo);
    for i in 0..2_000 {
        std::fs::write(repo.join(format!("gen_{i}.txt")), format!("{i}\n")).unwrap();
    }
    let big: String = (0..200_000).map(|i| format!("row {i}\n")).collect();
    std::fs::write(repo.join("big.csv"), big).unwrap();
    git(&repo, &["add", "-A"]);
    git(&repo, &["commit", "-q", "-m", "many files"]);
    let (doc, _) = record(&env, &repo, "big", &["--commit", "HEAD"]);
    assert_eq!(doc["changes"]["files"].as_array().unwrap().len(), 2_001);
    assert_eq!(file(&doc, "big.csv")["added"], 200_000);
    assert_eq!(doc["changes"]["complete"], true);
}
