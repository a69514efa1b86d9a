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
