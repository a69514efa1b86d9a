//! Runner arguments against the real runners' own parsers (pytest's options, nextest's filtersets).
//!
//! pytest: for hundreds of random hostile
//! test names (line breaks, NUL, a leading `-`, quotes, shell, glob and regex metacharacters), the
//! lines `seer select --format pytest` prints, given to pytest one line per argument (as
//! `mapfile -t` does), parse back to exactly the `--deselect` list intended, and change nothing
//! else of pytest's configuration. A name that cannot be passed runs, with a warning.
//!
//! Needs a Python with pytest (`.ci/run` installs Debian's python3-pytest); without one, it says so.

use std::path::Path;
use std::process::Command;

use crate::util::Env;

/// A Python interpreter that has pytest.
pub(crate) fn python_with_pytest() -> Option<&'static str> {
    ["python3", "/usr/bin/python3"]
        .into_iter()
        .find(|py| Command::new(py).args(["-m", "pytest", "--version"]).output().is_ok_and(|o| o.status.success()))
}

/// A pytest plugin that writes pytest's parsed options and arguments as JSON, then stops.
const PROBE: &str = r#"
import json, os, pytest

def pytest_configure(config):
    options = {k: repr(v) for k, v in sorted(vars(config.option).items()) if k != "deselect"}
    doc = {"deselect": config.getoption("deselect") or [], "args": [str(a) for a in config.args], "options": options}
    with open(os.environ["SEER_PROBE_OUT"], "w") as f:
        json.dump(doc, f)
    pytest.exit("probed", returncode=0)
"#;

/// Runs pytest with `args` and returns what its parser made of them.
fn parsed(python: &str, dir: &Path, args: &[String]) -> serde_json::Value {
    let out_file = dir.join("probe.json");
    let _ = std::fs::remove_file(&out_file);
    let out = Command::new(python)
        .args(["-m", "pytest", "-p", "seer_probe", "-p", "no:cacheprovider"])
        .args(args)
        .current_dir(dir)
        .env("PYTHONPATH", dir)
        .env("SEER_PROBE_OUT", &out_file)
        .output()
        .expect("run pytest");
    let text = std::fs::read_to_string(&out_file).unwrap_or_else(|_| {
        panic!(
            "pytest did not get to its configuration with {args:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    serde_json::from_str(&text).unwrap()
}

/// A random name from an alphabet of what breaks command lines.
fn hostile_name(rng: &mut u64) -> String {
    const PIECES: &[&str] = &[
        "a", "Z", "_", "0", " ", "-", "--", "=", "\n", "\r", "\t", "\0", "\"", "'", "$", "$(x)", "`", "(", ")", "[",
        "]", "*", "?", "|", ";", "&", "\\", "::", "@", "#", "~", "{", "}", ",", ".", "/", "é", "\u{1b}", "%",
    ];
    let mut next = || {
        *rng ^= *rng << 13;
        *rng ^= *rng >> 7;
        *rng ^= *rng << 17;
        *rng
    };
    let len = 1 + (next() % 8) as usize;
    let mut name: String = (0..len).map(|_| PIECES[(next() % PIECES.len() as u64) as usize]).collect();
    if next() % 4 == 0 {
        name.insert(0, '-');
    }
    name
}

/// Imports one run (`round`) of passing tests `suite::NAME`, one per name.
fn import_run(env: &Env, round: i64, suite: &str, names: impl IntoIterator<Item = String>) {
    let tests: Vec<serde_json::Value> = names
        .into_iter()
        .map(|n| serde_json::json!({"id": format!("{suite}::{n}"), "suite": suite, "outcome": "pass"}))
        .collect();
    let doc = serde_json::json!({"format_version": 1, "run_id": format!("r{round}"), "commit": "c1",
        "time": 1_700_000_000 + round, "tests": tests});
    let history = env.write(&format!("h{round}.jsonl"), format!("{doc}\n"));
    env.ok(&["import", &history]);
}

/// `seer select` with a budget nothing fits in, so that every test but `keep` (and those
/// `extra` keeps) is skipped: its output lines (one argument each) and its stderr.
fn select_all_but(env: &Env, keep: &str, extra: &[&str]) -> (Vec<String>, String) {
    let select = ["select", "--no-git", "--commit", "c2", "--time-budget", "1ms", "--always", keep, "--dry-run"];
    let out = env.run(&[&select[..], extra].concat());
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let lines = String::from_utf8(out.stdout).unwrap().lines().map(str::to_string).collect();
    (lines, String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn pytest_parses_seers_arguments_back_to_the_intended_deselection_whatever_the_names() {
    let Some(python) = python_with_pytest() else {
        eprintln!("skipped: no Python with pytest (apt-get install python3-pytest)");
        return;
    };
    let env = Env::new();
    std::fs::write(env.path().join("seer_probe.py"), PROBE).unwrap();
    let baseline = parsed(python, env.path(), &[]);
    let mut rng = 0x9E37_79B9_7F4A_7C15u64;
    let (mut checked, mut unspeakable) = (0, 0);
    for round in 0..8 {
        let names = std::iter::once("keep".to_string()).chain((0..40).map(|_| hostile_name(&mut rng)));
        import_run(&env, round, "tests.test_x", names);
        let (json, _) = select_all_but(&env, "tests.test_x::keep", &["--format", "json"]);
        let json: serde_json::Value = serde_json::from_str(&json.join("\n")).unwrap();
        let (args, warning) = select_all_but(&env, "tests.test_x::keep", &["--format", "pytest"]);
        let got = parsed(python, env.path(), &args);
        // Every other option as pytest parses it without seer's arguments: nothing injected.
        assert_eq!(got["options"], baseline["options"], "{args:?}");
        assert_eq!(got["args"], baseline["args"], "a stray positional argument in {args:?}");
        let deselected: Vec<&str> = got["deselect"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
        let intended: Vec<String> = json["skipped"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| format!("tests/test_x.py::{}", s.as_str().unwrap().strip_prefix("tests.test_x::").unwrap()))
            .collect();
        for d in &deselected {
            assert!(intended.iter().any(|i| i == d), "a deselection seer did not intend: {d:?} from {args:?}");
        }
        for node in &intended {
            if deselected.contains(&node.as_str()) {
                checked += 1;
            } else {
                // Not passable as one argument: it runs, and the warning names it.
                unspeakable += 1;
                assert!(node.contains(['\n', '\r', '\0']) || node.starts_with('-'), "{node:?} left out of {args:?}");
                assert!(warning.contains("warning"), "no warning for {node:?}: {warning}");
            }
        }
    }
    assert!(checked > 100, "only {checked} names reached pytest as deselections");
    eprintln!("{checked} hostile names deselected exactly; {unspeakable} run instead, with a warning");
}

#[test]
fn nextest_parses_seers_filter_back_to_the_intended_tests_whatever_the_names() {
    let nextest = Command::new("cargo").args(["nextest", "--version"]).output();
    if !nextest.is_ok_and(|o| o.status.success()) {
        eprintln!("skipped: cargo-nextest is not installed");
        return;
    }
    let env = Env::new();
    // A crate with two tests: seer will skip `tests::known`, and has never seen `tests::unseen`.
    let krate = env.path().join("probe");
    std::fs::create_dir_all(krate.join("src")).unwrap();
    std::fs::write(
        krate.join("Cargo.toml"),
        "[package]\nname = \"probe\"\nversion = \"0.1.0\"\nedition = \"2021\"\n[workspace]\n",
    )
    .unwrap();
    std::fs::write(
        krate.join("src/lib.rs"),
        "#[cfg(test)]\nmod tests {\n    #[test]\n    fn known() {}\n    #[test]\n    fn unseen() {}\n}\n",
    )
    .unwrap();
    let target = env.path().join("target");
    // The tests `cargo nextest run ARGS` runs, as its PASS lines name them.
    let list = |args: &[String]| {
        let out = Command::new("cargo")
            .args(["nextest", "run", "--color", "never"])
            .args(args)
            .current_dir(&krate)
            .env("CARGO_TARGET_DIR", &target)
            .env_remove("NEXTEST_PROFILE")
            .output()
            .expect("run cargo nextest run");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "nextest failed with {args:?}: {stderr}");
        let mut ran: Vec<String> = stderr
            .lines()
            .filter(|l| l.trim_start().starts_with("PASS"))
            .filter_map(|l| l.split_whitespace().last().map(str::to_string))
            .collect();
        ran.sort();
        ran
    };
    // An empty selection does not fail the job: with seer's `--no-tests=pass`, nothing to run is 0.
    let none = ["-E".to_string(), "none()".to_string(), "--no-tests=pass".to_string()];
    assert_eq!(list(&none), Vec::<String>::new());
    assert_eq!(list(&[]), ["tests::known", "tests::unseen"], "the probe crate builds and runs");
    let mut rng = 0x2545_F491_4F6C_DD1Du64;
    for round in 0..4 {
        let names =
            ["keep".to_string(), "known".to_string()].into_iter().chain((0..40).map(|_| hostile_name(&mut rng)));
        import_run(&env, round, "probe", names.map(|n| format!("tests::{n}")));
        let (args, _) = select_all_but(&env, "probe::tests::keep", &["--format", "nextest"]);
        // The skipped `known` is filtered out, the unseen test runs, and nothing else is read.
        assert_eq!(list(&args), ["tests::unseen"], "{args:?}");
        // A team's own filter ANDs with seer's: excluding the unseen test leaves nothing to run.
        let filter = ["--format", "nextest", "--filter", "not test(=tests::unseen)"];
        let (args, _) = select_all_but(&env, "probe::tests::keep", &filter);
        assert_eq!(list(&args), Vec::<String>::new(), "{args:?}");
    }
}

#[test]
fn an_empty_selection_still_gives_pytest_a_test_to_run_and_it_exits_zero() {
    let Some(python) = python_with_pytest() else {
        eprintln!("skipped: no Python with pytest (apt-get install python3-pytest)");
        return;
    };
    let env = Env::new();
    let project = env.path().join("project");
    std::fs::create_dir_all(project.join("tests")).unwrap();
    std::fs::write(
        project.join("tests/test_calc.py"),
        "import time\n\ndef test_quick():\n    pass\n\ndef test_slow():\n    time.sleep(0.2)\n\ndef test_slower():\n    time.sleep(0.3)\n",
    )
    .unwrap();
    let pytest = |args: &[String]| {
        Command::new(python)
            .args(["-m", "pytest", "-q", "-p", "no:cacheprovider", "--junitxml=report.xml"])
            .args(args)
            .current_dir(&project)
            .output()
            .expect("run pytest")
    };
    assert!(pytest(&[]).status.success());
    let report = project.join("report.xml");
    env.ok(&["record", "--no-git", "--commit", "c1", "--run-id", "full", report.to_str().unwrap()]);
    // A budget nothing fits in: no test needs running, so the cheapest one runs.
    let out =
        env.run(&["select", "--no-git", "--commit", "c2", "--time-budget", "1ms", "--format", "pytest", "--dry-run"]);
    assert!(out.status.success());
    let args: Vec<String> = String::from_utf8(out.stdout).unwrap().lines().map(str::to_string).collect();
    assert_eq!(args.len(), 2, "the two slower tests are deselected: {args:?}");
    let run = pytest(&args);
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert_eq!(run.status.code(), Some(0), "pytest exits 0 (5 would fail the job): {stdout}");
    assert!(stdout.contains("1 passed, 2 deselected"), "{stdout}");
}
