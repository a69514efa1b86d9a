//! Eight `seer record` processes at once against one new store: every run is stored, once.

use std::process::{Child, Stdio};

use crate::util::{Env, big_junit};

const WRITERS: usize = 8;
const TESTS: usize = 5_000;

fn spawn_record(env: &Env, run_id: &str, report: &str) -> Child {
    env.seer()
        .args(["record", "--commit", "c", "--run-id", run_id, "--no-git", "--json", report])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn seer")
}

fn wait_all(children: Vec<Child>) -> Vec<serde_json::Value> {
    children
        .into_iter()
        .map(|child| {
            let out = child.wait_with_output().expect("wait for seer");
            assert!(out.status.success(), "a concurrent record failed: {}", String::from_utf8_lossy(&out.stderr));
            serde_json::from_slice(&out.stdout).expect("record JSON")
        })
        .collect()
}

#[test]
fn parallel_records_of_different_runs_all_land() {
    let env = Env::new();
    let report = env.write("r.xml", big_junit(TESTS, 13));
    // The store does not exist yet: the processes also race to create and migrate it.
    let children: Vec<_> = (0..WRITERS).map(|i| spawn_record(&env, &format!("run-{i}"), &report)).collect();
    let docs = wait_all(children);
    assert!(docs.iter().all(|d| d["status"] == "inserted"));
    assert_eq!(env.count("SELECT COUNT(*) FROM runs"), WRITERS as i64);
    assert_eq!(env.count("SELECT COUNT(*) FROM results"), (WRITERS * TESTS) as i64);
    assert_eq!(env.count("SELECT COUNT(*) FROM tests"), TESTS as i64);
    let check: String = env.conn().query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
    assert_eq!(check, "ok");
}

#[test]
fn parallel_records_of_the_same_run_store_it_once() {
    let env = Env::new();
    let report = env.write("r.xml", big_junit(TESTS, 13));
    let children: Vec<_> = (0..WRITERS).map(|_| spawn_record(&env, "same", &report)).collect();
    let docs = wait_all(children);
    let inserted = docs.iter().filter(|d| d["status"] == "inserted").count();
    let unchanged = docs.iter().filter(|d| d["status"] == "unchanged").count();
    assert_eq!((inserted, unchanged), (1, WRITERS - 1));
    assert_eq!(env.count("SELECT COUNT(*) FROM runs"), 1);
    assert_eq!(env.count("SELECT COUNT(*) FROM results"), TESTS as i64);
}

/// Holds the store's write lock (as a long `seer record` does) until dropped.
fn hold_write_lock(env: &Env) -> rusqlite::Connection {
    let conn = env.conn();
    conn.execute_batch("BEGIN IMMEDIATE").expect("take the write lock");
    conn
}

#[test]
fn select_answers_while_another_process_writes_and_its_selection_is_kept_later() {
    let env = Env::new();
    let repo = crate::util::record_file_driven_history(&env, 24);
    env.ok(&["train"]);
    let r = repo.to_str().unwrap();
    let sha = crate::util::commit_edit(&repo, "src/a.rs", "// change\n");
    let lock = hold_write_lock(&env);
    let out = env.run(&["select", "--commit", &sha, "--repo", r, "--json"]);
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("not kept"), "the selection is queued, not dropped: {stderr}");
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["mode"], "subset", "{doc}");
    let skipped: Vec<&str> = doc["skipped"].as_array().unwrap().iter().map(|t| t.as_str().unwrap()).collect();
    assert!(skipped.contains(&"suite::b_works"), "{doc}");
    let queued = std::fs::read_dir(env.db.with_file_name("seer.db.pending")).unwrap().count();
    assert_eq!(queued, 1, "one side file");
    drop(lock);
    // The next writer folds it in before judging its run: b_works failing is a miss of it.
    crate::util::record_cases(&env, &repo, &sha, "answer", &crate::util::all_eight(&["a_works", "b_works"]));
    let sel = &env.json(&["stats"])["selection"];
    assert_eq!(sel["selections"], 1, "{sel}");
    assert_eq!((sel["queued"].as_u64(), sel["dropped"].as_u64()), (Some(0), Some(0)), "{sel}");
    assert_eq!((sel["runs_measured"].as_u64(), sel["misses"].as_u64()), (Some(1), Some(1)), "{sel}");
}

#[test]
fn a_test_that_failed_in_a_run_the_state_has_not_taken_in_runs() {
    let env = Env::new();
    let repo = crate::util::record_file_driven_history(&env, 24);
    env.ok(&["train"]);
    let r = repo.to_str().unwrap();
    // The newest run (ci-23 touched c: nothing failed) now also has b_works failing, and the state
    // stands one run behind, as when a writer holds the lock between storing a run and taking it in.
    let conn = env.conn();
    conn.execute_batch(
        "UPDATE results SET outcome = 1 WHERE run = (SELECT id FROM runs WHERE run_id = 'ci-23')
             AND test = (SELECT id FROM tests WHERE name = 'suite::b_works');
         UPDATE state_meta SET runs = runs - 1,
             last_time = (SELECT time FROM runs WHERE run_id = 'ci-22'),
             last_run = (SELECT id FROM runs WHERE run_id = 'ci-22');",
    )
    .unwrap();
    drop(conn);
    let sha = crate::util::commit_edit(&repo, "src/a.rs", "// change\n");
    let lock = hold_write_lock(&env);
    let doc = env.json(&["select", "--commit", &sha, "--repo", r, "--dry-run"]);
    drop(lock);
    let b = doc["selected"].as_array().unwrap().iter().find(|t| t["id"] == "suite::b_works");
    let b = b.unwrap_or_else(|| panic!("b_works failed in a run not taken in, and must run: {doc}"));
    assert!(b["reasons"].to_string().contains("has not taken in yet"), "{b}");
    assert!(doc["notes"].to_string().contains("could not take in the newest runs"), "{doc}");
}
