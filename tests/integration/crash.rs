//! kill -9 in the middle of a write: the store stays sound and shows no partial run.
//!
//! The test waits until the writer holds the store's write lock (seen from a second connection
//! whose `BEGIN IMMEDIATE` is refused), so the kill lands inside the write transaction, not
//! before or after it.

use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use rusqlite::{Connection, ErrorCode};

use crate::util::{Env, big_junit, fixture};

/// Polls until `child` holds the write lock on the store, then kills it. Returns whether the
/// lock was seen (false if the child finished first).
fn kill_while_writing(env: &Env, mut child: Child) -> bool {
    let deadline = Instant::now() + Duration::from_secs(120);
    // The store exists before the writer starts (each test records a first run), so one
    // connection serves the whole poll.
    let conn = Connection::open(&env.db).expect("open store");
    // rusqlite waits 5 s on a busy store by default; the poll must see "busy" at once.
    conn.busy_timeout(Duration::ZERO).expect("set busy timeout");
    while Instant::now() < deadline {
        if child.try_wait().expect("poll child").is_some() {
            return false;
        }
        match conn.execute_batch("BEGIN IMMEDIATE; ROLLBACK;") {
            Err(rusqlite::Error::SqliteFailure(e, _)) if e.code == ErrorCode::DatabaseBusy => {
                child.kill().expect("kill -9");
                child.wait().expect("reap");
                return true;
            }
            _ => {}
        }
        std::thread::sleep(Duration::from_micros(100));
    }
    panic!("the writer neither took the write lock nor finished in time");
}

fn assert_sound(env: &Env) {
    let conn = env.conn();
    let check: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
    assert_eq!(check, "ok");
    let orphans: i64 = conn
        .query_row("SELECT COUNT(*) FROM results WHERE run NOT IN (SELECT id FROM runs)", [], |r| r.get(0))
        .unwrap();
    assert_eq!(orphans, 0);
    let unknown_tests: i64 = conn
        .query_row("SELECT COUNT(*) FROM results WHERE test NOT IN (SELECT id FROM tests)", [], |r| r.get(0))
        .unwrap();
    assert_eq!(unknown_tests, 0);
}

#[test]
fn killed_record_leaves_no_partial_run() {
    let env = Env::new();
    env.ok(&["record", "--commit", "c0", "--run-id", "before", "--no-git", &crate::util::report("pytest-junit.xml")]);
    let n = 150_000;
    let report = env.write("big.xml", big_junit(n, 50));
    let mut killed_inside = 0;
    for attempt in 0..3 {
        let run_id = format!("big-{attempt}");
        let child = env
            .seer()
            .args(["record", "--commit", "c1", "--run-id", &run_id, "--no-git", &report])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let inside = kill_while_writing(&env, child);
        killed_inside += usize::from(inside);
        assert_sound(&env);
        let stored: i64 = env.count(&format!(
            "SELECT COUNT(*) FROM results WHERE run = (SELECT id FROM runs WHERE run_id = '{run_id}')"
        ));
        let runs: i64 = env.count(&format!("SELECT COUNT(*) FROM runs WHERE run_id = '{run_id}'"));
        // Whole or nothing: a visible run has every result.
        assert!(
            (runs == 0 && stored == 0) || (runs == 1 && stored == n as i64),
            "partial run after kill: {runs} runs, {stored} results"
        );
    }
    assert!(killed_inside > 0, "no kill landed inside a write transaction");
    assert_eq!(env.count("SELECT COUNT(*) FROM results WHERE run = (SELECT id FROM runs WHERE run_id = 'before')"), 7);
    // The store still takes new runs.
    env.ok(&["record", "--commit", "c2", "--run-id", "after", "--no-git", &report]);
    assert_eq!(env.count("SELECT COUNT(*) FROM runs WHERE run_id = 'after'"), 1);
}

#[test]
fn killed_import_leaves_no_partial_history() {
    const COPIES: i64 = 150;
    let env = Env::new();
    env.ok(&["record", "--commit", "c0", "--run-id", "before", "--no-git", &crate::util::report("pytest-junit.xml")]);
    // Many copies of the sample, each with its own run prefix, make one long import transaction.
    let sample = fixture("iofrol-cycles-1-6.csv");
    let mut args: Vec<String> = vec!["import".into(), "--format".into(), "retecs".into()];
    let text = std::fs::read_to_string(&sample).unwrap();
    for i in 0..COPIES {
        args.push(env.write(&format!("copy{i}.csv"), &text));
    }
    let child = env.seer().args(&args).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
    assert!(kill_while_writing(&env, child), "the import finished before it could be killed");
    assert_sound(&env);
    let runs = env.count("SELECT COUNT(*) FROM runs WHERE run_id != 'before'");
    assert!(runs == 0 || runs == COPIES * 6, "partial import: {runs} runs");
    assert_eq!(env.count("SELECT COUNT(*) FROM runs WHERE run_id = 'before'"), 1);
}
