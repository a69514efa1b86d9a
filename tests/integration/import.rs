//! `seer import`: the RETECS CSV of real CI history, and JSON lines that round-trip `show run --json`.

use crate::util::{Env, fixture, git, report};

#[test]
fn retecs_sample_becomes_one_run_per_cycle() {
    let env = Env::new();
    let sample = fixture("iofrol-cycles-1-6.csv");
    let doc = env.json(&["import", &sample]);
    assert_eq!(doc["runs"], 6);
    assert_eq!(doc["inserted"], 6);
    // 1,380 rows; tests repeated within a cycle fold into one result per test and cycle.
    assert_eq!(doc["results"], 155 + 1 + 1 + 26 + 381 + 534);
    assert_eq!(doc["folded_rows"], 1380 - (155 + 1 + 1 + 26 + 381 + 534));
    assert_eq!(env.count("SELECT COUNT(*) FROM tests"), 940);

    let runs = env.json(&["runs"]);
    let runs = runs["runs"].as_array().unwrap();
    let fails: Vec<u64> = runs.iter().rev().map(|r| r["counts"]["fail"].as_u64().unwrap()).collect();
    assert_eq!(fails, [104, 1, 1, 24, 205, 95], "oldest first: failing tests per cycle");
    assert_eq!(runs[0]["run_id"], "iofrol-cycles-1-6-6");
    assert_eq!(runs[0]["time"], "2015-02-26T11:40:00Z", "a cycle's time is its latest LastRun");

    // Test 78082 ran three times in cycle 1 (fail, fail, pass): one failed result.
    let h = env.json(&["history", "78082"]);
    let oldest = h["results"].as_array().unwrap().last().unwrap();
    assert_eq!((oldest["run_id"].as_str(), oldest["outcome"].as_str()), (Some("iofrol-cycles-1-6-1"), Some("fail")));
    assert_eq!(oldest["duration_s"].as_f64(), Some(3.0 * 57262.0));

    let again = env.json(&["import", &sample]);
    assert_eq!((again["inserted"].as_u64(), again["unchanged"].as_u64()), (Some(0), Some(6)));
    assert_eq!(env.count("SELECT COUNT(*) FROM results"), 1098);
}

#[test]
fn a_bad_file_imports_nothing() {
    let env = Env::new();
    env.ok(&["record", "--commit", "c", "--run-id", "kept", "--no-git", &report("jest-junit.xml")]);
    let bad = env.write("bad.csv", "Id;Name;Verdict;Cycle\n1;5;0;1\n2;6;2;1\n");
    let stderr = env.fails(&["import", &fixture("iofrol-cycles-1-6.csv"), &bad], 3);
    assert!(stderr.contains("bad.csv:3: column Verdict: \"2\" is not 0 or 1"), "{stderr}");
    assert_eq!(env.count("SELECT COUNT(*) FROM runs"), 1);
}

#[test]
fn show_run_json_imports_back_identically() {
    let env = Env::new();
    let repo = env.path().join("repo");
    std::fs::create_dir_all(&repo).unwrap();
    git(&repo, &["init", "-q", "-b", "main"]);
    std::fs::write(repo.join("a.rs"), "fn a() {}\n").unwrap();
    git(&repo, &["add", "-A"]);
    git(&repo, &["commit", "-q", "-m", "a"]);
    std::fs::write(repo.join("a.rs"), "fn a() {}\nfn b() {}\n").unwrap();
    git(&repo, &["commit", "-q", "-am", "b"]);
    let repo_arg = repo.to_str().unwrap();
    for (i, name) in ["surefire-rerun.xml", "go-test.json", "nextest-libtest.jsonl"].iter().enumerate() {
        env.ok(&[
            "record",
            "--commit",
            "HEAD",
            "--run-id",
            &format!("run-{i}"),
            "--branch",
            "main",
            "--job",
            "test",
            "--time",
            &format!("2024-05-0{}T10:00:00Z", i + 1),
            "--repo",
            repo_arg,
            &report(name),
        ]);
    }
    let mut lines = String::new();
    let mut originals = Vec::new();
    for i in 0..3 {
        let doc = env.json(&["show", "run", &format!("run-{i}")]);
        lines.push_str(&serde_json::to_string(&doc).unwrap());
        lines.push('\n');
        originals.push(doc);
    }
    let export = env.write("export.jsonl", lines);

    let other = Env::new();
    let doc = other.json(&["import", &export]);
    assert_eq!(doc["inserted"], 3);
    for (i, original) in originals.iter().enumerate() {
        let mut copy = other.json(&["show", "run", &format!("run-{i}")]);
        let mut original = original.clone();
        copy.as_object_mut().unwrap().remove("recorded_at");
        original.as_object_mut().unwrap().remove("recorded_at");
        assert_eq!(copy, original, "run-{i} differs after the round trip");
    }
}

#[test]
fn bad_json_lines_name_the_line() {
    let env = Env::new();
    let good = r#"{"run_id":"a","commit":"c","tests":[{"id":"t","outcome":"pass","duration_s":0.1}]}"#;
    let path = env.write("runs.jsonl", format!("{good}\n{{\"run_id\": \"b\", \"commit\": 5}}\n"));
    let stderr = env.fails(&["import", &path], 3);
    assert!(stderr.contains("runs.jsonl:2: not a seer run document"), "{stderr}");
    assert!(!env.db.exists() || env.count("SELECT COUNT(*) FROM runs") == 0);
}
