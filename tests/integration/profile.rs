//! `seer profile`: recording real `perf script` output and folded stacks, flame graphs, the
//! regression detector on real profiles of seer's own code (A/A, an injected +10% slowdown), and
//! change points in a history. Fixtures: `tests/fixtures/profiles/` (scripts/profile-fixtures.py).

use crate::util::{Env, fixture};

fn profile(name: &str) -> String {
    fixture(&format!("profiles/{name}"))
}

fn runs(kind: &str, range: std::ops::RangeInclusive<usize>) -> Vec<String> {
    range.map(|k| profile(&format!("{kind}-{k:02}.folded.gz"))).collect()
}

/// Records `files` as the runs of `commit`.
fn record(env: &Env, commit: &str, files: &[String], extra: &[&str]) {
    let mut args = vec!["profile", "record", "--name", "workload", "--commit", commit];
    args.extend(extra);
    args.extend(files.iter().map(String::as_str));
    env.ok(&args);
}

const TARGET: &str = "profile_workload::checksum";

#[test]
fn profiles_are_recorded_once_in_any_format_and_bad_input_is_refused_with_its_line() {
    let env = Env::new();
    let doc =
        env.json(&["profile", "record", "--name", "workload", "--commit", "c1", &profile("perf-script-head.txt.gz")]);
    let p = &doc["profiles"][0];
    assert_eq!((p["status"].as_str(), p["source"].as_str()), (Some("inserted"), Some("perf+gz")));
    assert!(p["samples"].as_u64().unwrap() > 0 && p["stacks"].as_u64().unwrap() > 10, "{doc}");
    let base = runs("base", 1..=2);
    let doc =
        env.json(&["profile", "record", "--name", "workload", "--commit", "c2", "--run-id", "r", &base[0], &base[1]]);
    let ids: Vec<&str> = doc["profiles"].as_array().unwrap().iter().map(|p| p["run_id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["r.1", "r.2"]);
    assert_eq!(doc["profiles"][0]["source"], "folded+gz");
    // The same again is a no-op; other content under a stored run id is refused.
    let again =
        env.json(&["profile", "record", "--name", "workload", "--commit", "c2", "--run-id", "r", &base[0], &base[1]]);
    assert_eq!(again["profiles"][0]["status"], "unchanged");
    let stderr =
        env.fails(&["profile", "record", "--name", "workload", "--commit", "c2", "--run-id", "r.1", &base[1]], 4);
    assert!(stderr.contains("workload/r.1") && stderr.contains("--replace"), "{stderr}");
    let bad = env.write("bad.folded", "main;parse 10\nmain;write ten\n");
    let stderr = env.fails(&["profile", "record", "--name", "workload", "--commit", "c3", &bad], 3);
    assert!(stderr.contains("bad.folded:2: the sample count is not a whole number"), "{stderr}");
    let list = env.json(&["profile", "list", "--name", "workload"]);
    let commits: Vec<&str> = list["benches"][0]["history"]["commits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["commit"].as_str().unwrap())
        .collect();
    assert_eq!(commits, ["c1", "c2"], "nothing of the refused files was stored: {list}");
    assert_eq!(list["benches"][0]["history"]["order"], "recorded");
}

#[test]
fn repeated_profiles_of_the_same_build_report_no_regression() {
    let env = Env::new();
    record(&env, "a", &runs("base", 1..=5), &[]);
    record(&env, "b", &runs("base", 6..=10), &[]);
    let doc = env.json(&["profile", "diff", "--name", "workload", "--base", "a", "--head", "b"]);
    assert!(doc["tested"].as_u64().unwrap() >= 10, "{doc}");
    assert_eq!(doc["regressions"], serde_json::json!([]), "{doc}");
    assert_eq!(doc["improvements"], serde_json::json!([]), "{doc}");
    env.ok(&["profile", "diff", "--name", "workload", "--base", "a", "--head", "b", "--fail-on-regression"]);
    // One run a side is never compared.
    record(&env, "one", &runs("base", 11..=11), &[]);
    let stderr = env.fails(&["profile", "diff", "--name", "workload", "--base", "a", "--head", "one"], 1);
    assert!(stderr.contains("at least 2 per side"), "{stderr}");
    let stderr = env.fails(&["profile", "diff", "--name", "workload", "--base", "a", "--head", "nope"], 5);
    assert!(stderr.contains("no profiles of bench \"workload\" at commit \"nope\""), "{stderr}");
}

#[test]
fn an_injected_slowdown_of_one_function_is_found_ranked_first_and_drawn() {
    let env = Env::new();
    record(&env, "a", &runs("base", 1..=5), &[]);
    record(&env, "b", &runs("slow", 1..=5), &[]);
    let svg = env.path().join("diff.svg");
    let doc = env.json(&[
        "profile",
        "diff",
        "--name",
        "workload",
        "--base",
        "a",
        "--head",
        "b",
        "--svg",
        svg.to_str().unwrap(),
    ]);
    let first = &doc["regressions"][0];
    assert_eq!(first["frame"], TARGET, "{doc}");
    let change = first["change"].as_f64().unwrap();
    assert!((0.05..0.2).contains(&change), "about +10%: {change}");
    assert!(first["q_value"].as_f64().unwrap() < 0.05);
    assert!(first["head_share"].as_f64().unwrap() > 0.02, "it holds over 2% of the samples: {first}");
    let drawn = std::fs::read_to_string(&svg).unwrap();
    assert!(drawn.starts_with("<?xml") && drawn.contains("checksum"), "a differential flame graph");
    let out = env.run(&["profile", "diff", "--name", "workload", "--base", "a", "--head", "b", "--fail-on-regression"]);
    assert_eq!(out.status.code(), Some(7), "the CI gate");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("regressions (") && text.contains(TARGET), "{text}");
    let graph = env.path().join("a.svg");
    let said =
        env.ok(&["profile", "flamegraph", "--name", "workload", "--commit", "a", "--svg", graph.to_str().unwrap()]);
    assert!(said.contains("5 runs"), "{said}");
    assert!(std::fs::read_to_string(&graph).unwrap().contains("profile_workload::parse_reports"));
}

#[test]
fn a_shift_in_history_is_placed_at_the_commit_that_made_it() {
    let env = Env::new();
    // 12 commits of 2 runs each, an hour apart: the workload as it is, then checksum 10% slower from c07.
    let (base, slow) = (runs("base", 1..=12), runs("slow", 1..=12));
    for c in 1..=12 {
        let files = if c < 7 { &base[2 * (c - 1)..2 * c] } else { &slow[2 * (c - 7)..2 * (c - 6)] };
        let time = (1_700_000_000 + 3600 * c).to_string();
        record(&env, &format!("c{c:02}"), files, &["--time", &time]);
    }
    let doc = env.json(&["profile", "trend", "--name", "workload"]);
    assert_eq!(doc["order"], "time");
    let points = doc["change_points"].as_array().unwrap();
    let found: Vec<(&str, &str)> =
        points.iter().map(|p| (p["frame"].as_str().unwrap(), p["commit"].as_str().unwrap())).collect();
    let p =
        points.iter().find(|p| p["frame"] == TARGET).unwrap_or_else(|| panic!("no change point of {TARGET}: {doc}"));
    assert_eq!(p["commit"], "c07", "{doc}");
    assert!(p["after"].as_f64().unwrap() > p["before"].as_f64().unwrap());
    // The slower checksum also leaves memcmp less of the time (a real side effect of the change):
    // whatever else moved, moved at c07 and nowhere else.
    assert!(found.iter().all(|(_, commit)| *commit == "c07"), "{found:?}");
}

/// A stand-in for perf: `record` fails as perf does when `perf_event_paranoid` forbids sampling.
const PARANOID_PERF: &str = "#!/bin/sh\n\
    echo 'Error:' >&2\n\
    echo 'Access to performance monitoring and observability operations is limited.' >&2\n\
    echo 'Consider adjusting /proc/sys/kernel/perf_event_paranoid setting to open access' >&2\n\
    exit 255\n";

#[test]
fn profile_run_says_what_to_fix_when_perf_cannot_sample_and_stores_nothing() {
    let env = Env::new();
    let missing =
        env.run(&["profile", "run", "--name", "w", "--commit", "c1", "--perf", "/no/such/perf", "--", "true"]);
    assert_eq!(missing.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&missing.stderr);
    assert!(stderr.contains("/no/such/perf cannot be run") && stderr.contains("install perf"), "{stderr}");
    let fake = env.write("perf", PARANOID_PERF);
    std::fs::set_permissions(&fake, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let forbidden = env.run(&["profile", "run", "--name", "w", "--commit", "c1", "--perf", &fake, "--", "true"]);
    assert_eq!(forbidden.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&forbidden.stderr);
    assert!(stderr.contains("kernel.perf_event_paranoid") && stderr.contains("sysctl -w"), "{stderr}");
    assert!(!env.db.exists(), "nothing stored, no store made");
}

/// Whether perf can sample on this machine (`.ci/run` installs it; a container may forbid it).
fn perf_samples() -> bool {
    let data = std::env::temp_dir().join(format!("seer-perf-probe-{}.data", std::process::id()));
    let ok = std::process::Command::new("perf")
        .args(["record", "-q", "-o"])
        .arg(&data)
        .args(["--", "true"])
        .output()
        .is_ok_and(|o| o.status.success());
    let _ = std::fs::remove_file(&data);
    ok
}

#[test]
fn profile_run_profiles_a_command_with_perf_records_its_runs_and_compares() {
    if !perf_samples() {
        eprintln!("skipped: perf cannot sample here (apt-get install linux-perf; kernel.perf_event_paranoid)");
        return;
    }
    let env = Env::new();
    let work = ["--", "sh", "-c", "i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done"];
    let run = |commit: &str, extra: &[&str]| {
        let args =
            [&["profile", "run", "--name", "loop", "--runs", "2", "--commit", commit][..], extra, &work[..]].concat();
        env.run(&args)
    };
    let out = run("c1", &["--json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let profiles = doc["profiles"].as_array().unwrap_or_else(|| panic!("{doc}"));
    assert_eq!(profiles.len(), 2, "{doc}");
    // Right after recording, the diff against the base's runs.
    let out = run("c2", &["--compare", "c1"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("c1") && text.contains("c2"), "the diff names both commits: {text}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("recorded profile"), "the recording's summary on stderr");
    // A workload that fails stores nothing.
    let failed = env.run(&["profile", "run", "--name", "bad", "--commit", "c3", "--", "false"]);
    assert_eq!(failed.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&failed.stderr).contains("`false` failed"),
        "{}",
        String::from_utf8_lossy(&failed.stderr)
    );
    let list = env.json(&["profile", "list"]);
    assert!(!list.to_string().contains("\"bad\""), "{list}");
}
