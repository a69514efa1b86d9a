//! `seer store backup`: a whole, checked copy, also while other processes record runs.

use seer_ci_api::exit_codes;

use crate::util::{Env, SEER, big_junit};

#[test]
fn a_backup_taken_while_runs_are_recorded_is_a_whole_store_of_a_prefix_of_them() {
    let env = Env::new();
    let report = env.write("big.xml", big_junit(2_000, 50));
    let record = |k: usize| {
        env.ok(&["record", "--commit", &format!("c{k}"), "--run-id", &format!("r{k}"), "--no-git", &report]);
    };
    record(0);
    // Another process records 12 more runs while backups are taken, one after another.
    let writer = std::thread::scope(|scope| {
        let writer = scope.spawn(|| (1..=12).for_each(record));
        let mut copies = Vec::new();
        for k in 0..6 {
            let to = env.path().join(format!("copy-{k}.db"));
            let doc = env.json(&["store", "backup", "--to", to.to_str().unwrap()]);
            assert_eq!(doc["integrity"], "ok");
            copies.push((to, doc["runs"].as_u64().unwrap()));
        }
        writer.join().expect("the writer");
        copies
    });
    let stored = env.json(&["stats"])["runs"].as_u64().unwrap();
    assert_eq!(stored, 13);
    let mut last = 0;
    for (copy, runs) in writer {
        // The copy opens as a store of its own, whole, with a prefix of the runs: each run has
        // all its 2,000 results, and the runs are the first `runs` recorded.
        let out = std::process::Command::new(SEER)
            .args(["--db", copy.to_str().unwrap(), "runs", "--json", "--limit", "100"])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let ids: Vec<&str> = doc["runs"].as_array().unwrap().iter().map(|r| r["run_id"].as_str().unwrap()).collect();
        assert_eq!(ids.len() as u64, runs, "{ids:?}");
        assert!((1..=13).contains(&runs) && runs >= last, "copies only grow: {runs} after {last}");
        last = runs;
        for r in doc["runs"].as_array().unwrap() {
            assert_eq!(r["counts"]["tests"], 2_000, "run {} is whole in the copy", r["run_id"]);
        }
    }
}

#[test]
fn a_backup_that_cannot_be_made_leaves_nothing_and_says_why() {
    let env = Env::new();
    let missing = env.path().join("no-store.db");
    let said =
        env.fails(&["--db", missing.to_str().unwrap(), "store", "backup", "--to", "copy.db"], exit_codes::NOT_FOUND);
    assert!(said.contains("no-store.db"), "{said}");
    env.ok(&["record", "--commit", "c", "--run-id", "r", "--no-git", &env.write("r.xml", big_junit(10, 3))]);
    let nowhere = env.path().join("no-such-dir").join("copy.db");
    let said = env.fails(&["store", "backup", "--to", nowhere.to_str().unwrap()], exit_codes::FAILURE);
    assert!(said.contains("copy.db"), "{said}");
    let left: Vec<String> =
        std::fs::read_dir(env.path()).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    assert!(left.iter().all(|n| !n.contains("partial")), "no partial copy left: {left:?}");
    // And the text form names both files.
    let to = env.path().join("copy.db");
    let text = env.ok(&["store", "backup", "--to", to.to_str().unwrap()]);
    assert!(
        text.contains("copy.db") && text.contains("1 runs") && text.contains("integrity check of the copy: ok"),
        "{text}"
    );
}
