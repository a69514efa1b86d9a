//! Names anyone who opens a pull request controls: a test named with a line break cannot add a
//! runner argument, and one named with terminal escapes cannot reach the terminal raw.

use crate::util::{Env, git, record_file_driven_history};

/// A libtest JSON report of one passing and one failing test named `name`.
fn libtest(name: &str, fails: bool) -> String {
    let event = if fails { "failed" } else { "ok" };
    let name = serde_json::to_string(name).unwrap();
    format!(
        "{{\"type\":\"test\",\"event\":\"started\",\"name\":{name}}}\n{{\"type\":\"test\",\"name\":{name},\"event\":\"{event}\",\"exec_time\":0.5}}\n"
    )
}

#[test]
fn control_characters_in_names_are_escaped_on_the_terminal_and_exact_in_json() {
    let env = Env::new();
    let name = "evil\u{1b}]0;pwned\u{7}\rfake\nrow";
    let report = env.write("r.jsonl", libtest(name, true));
    env.ok(&["record", "--no-git", "--commit", "c1", "--run-id", "r\u{1b}1", "--time", "2024-01-01", &report]);
    for args in [&["show", "run", "r\u{1b}1"][..], &["runs"], &["history", name]] {
        let out = env.run(args);
        let text = [out.stdout, out.stderr].concat();
        assert!(
            !text.iter().any(|&b| b == 0x1b || b == 0x07 || b == b'\r'),
            "seer {args:?} wrote a raw control character: {:?}",
            String::from_utf8_lossy(&text)
        );
        let text = String::from_utf8(text).unwrap();
        assert!(!text.lines().any(|l| l.starts_with("row")), "a line break in a name forged a line:\n{text}");
    }
    let shown = env.ok(&["show", "run", "r\u{1b}1", "--all"]);
    assert!(shown.contains(r"evil\u{1b}]0;pwned\u{7}\rfake\nrow"), "{shown}");
    let doc = env.json(&["show", "run", "r\u{1b}1"]);
    assert_eq!(doc["tests"][0]["id"], name, "JSON stays exact");
}

#[test]
fn a_test_named_with_a_line_break_adds_no_runner_argument_and_runs() {
    let env = Env::new();
    let repo = record_file_driven_history(&env, 24);
    let r = repo.to_str().unwrap();
    // A new test whose name, split at its line break, would read as a second pytest argument.
    let sha = git(&repo, &["rev-parse", "HEAD"]);
    let hostile = "z\n--ignore=tests";
    let xml = format!(
        "<testsuites><testsuite name=\"suite\"><testcase classname=\"suite\" name=\"{}\" time=\"1\"/></testsuite></testsuites>",
        hostile.replace('\n', "&#10;")
    );
    let report = env.write("hostile.xml", xml);
    env.ok(&["record", "--repo", r, "--commit", &sha, "--run-id", "hostile", "--time", "1700009000", &report]);
    env.ok(&["train"]);
    std::fs::write(repo.join("src/a.rs"), "fn a() { let _ = 1; }\n").unwrap();
    git(&repo, &["commit", "-q", "-am", "change a"]);
    let head = git(&repo, &["rev-parse", "HEAD"]);
    let doc = env.json(&["select", "--commit", &head, "--repo", r, "--dry-run"]);
    let skipped: Vec<&str> = doc["skipped"].as_array().unwrap().iter().map(|t| t.as_str().unwrap()).collect();
    assert!(skipped.contains(&"suite::z\n--ignore=tests"), "the model skips the hostile test: {doc}");
    for format in ["pytest", "cargo", "nextest", "gotest", "jest"] {
        let out = env.run(&["select", "--commit", &head, "--repo", r, "--dry-run", "--format", format]);
        assert!(out.status.success());
        let args = String::from_utf8(out.stdout).unwrap();
        for line in args.lines() {
            assert!(!line.starts_with("--ignore"), "{format}: the name became an argument:\n{args}");
        }
        // It cannot be named in one line, so it is not skipped: it runs, and the warning says so.
        let stderr = String::from_utf8_lossy(&out.stderr);
        let warned = stderr.contains("cannot be passed") && stderr.contains(r#""suite::z\n--ignore=tests""#);
        assert!(warned, "{format}: no warning names the test:\n{stderr}");
        assert!(!args.contains("ignore"), "{format}: {args}");
    }
}
