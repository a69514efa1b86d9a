//! The README's "Adopt seer in your project" recipe for Python, walked exactly as written on a
//! repository this test builds: every CI run selects, runs pytest and records; the trust gate keeps
//! every test running until `seer train` makes a model that validates on this project's own
//! failures; then the next change runs a subset that holds its failing tests.
//!
//! Needs a Python with pytest (`.ci/run` installs Debian's python3-pytest); without one, it says so.

use std::path::Path;
use std::process::{Command, Output};

use crate::util::{CI_MARKERS, SEER};

/// The lines of the README's sh block under `heading`.
fn recipe(heading: &str) -> Vec<String> {
    let readme = include_str!("../../README.md");
    let after = readme.split_once(&format!("\n{heading}\n")).unwrap_or_else(|| panic!("README: no {heading}")).1;
    let block = after.split_once("```sh\n").expect("a sh block").1.split_once("```").expect("closed").0;
    block.lines().filter(|l| !l.trim().is_empty()).map(str::to_string).collect()
}

/// The absolute path of `program` as `PATH` finds it.
fn which(program: &str) -> std::path::PathBuf {
    let out = Command::new("bash").args(["-c", &format!("command -v {program}")]).output().unwrap();
    std::path::PathBuf::from(String::from_utf8(out.stdout).unwrap().trim())
}

/// Runs `line` with bash in `repo`, outside any CI system, with the built seer and then `tools`
/// first on `PATH`.
fn sh(repo: &Path, tools: &Path, line: &str) -> Output {
    let seer = Path::new(SEER).parent().unwrap();
    let path = format!("{}:{}:{}", seer.display(), tools.display(), std::env::var("PATH").unwrap_or_default());
    let mut cmd = Command::new("bash");
    cmd.args(["-c", line]).current_dir(repo).env("PATH", path).env_remove("SEER_DB").env_remove("SEER_URL");
    for marker in CI_MARKERS {
        cmd.env_remove(marker);
    }
    cmd.output().expect("run bash")
}

fn git(repo: &Path, args: &[&str]) {
    let out = Command::new("git")
        .args(args)
        .current_dir(repo)
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@example.invalid")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@example.invalid")
        .output()
        .unwrap();
    assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

const MODULES: &[&str] = &["alpha", "bravo", "charlie", "delta", "echo", "foxtrot"];

/// Module `name`, correct or with a bug in each of its functions.
fn module(name: &str, broken: bool) -> String {
    let k = if broken { 1 } else { 0 };
    format!(
        "def {name}_add(a, b):\n    return a + b + {k}\n\n\ndef {name}_twice(a):\n    return 2 * a + {k}\n\n\n\
         def {name}_name():\n    return \"{name}\" * {}\n",
        1 + k
    )
}

fn tests_of(name: &str) -> String {
    format!(
        "from calc.{name} import {name}_add, {name}_name, {name}_twice\n\n\n\
         def test_{name}_add():\n    assert {name}_add(2, 3) == 5\n\n\n\
         def test_{name}_add_negative():\n    assert {name}_add(-2, -3) == -5\n\n\n\
         def test_{name}_twice():\n    assert {name}_twice(4) == 8\n\n\n\
         def test_{name}_name():\n    assert {name}_name() == \"{name}\"\n"
    )
}

#[test]
fn the_python_recipe_observes_until_the_gate_opens_then_selects() {
    let Some(python) = crate::runners::python_with_pytest() else {
        eprintln!("skipped: no Python with pytest (apt-get install python3-pytest)");
        return;
    };
    let lines = recipe("### Python (pytest)");
    assert_eq!(lines.len(), 4, "install, select, test and record, train: {lines:?}");
    assert!(lines[0].starts_with("cargo install --locked --path "), "the first line installs seer: {}", lines[0]);
    // Installing is what putting the built binary first on PATH stands for; the rest runs as written.
    let (each_run, train) = (format!("{}\n{}", lines[1], lines[2]), &lines[3]);

    let dir = tempfile::tempdir().unwrap();
    // The recipe's `python3` is the one with pytest (Debian's, where another comes first on PATH).
    let bin = tempfile::tempdir().unwrap();
    let python = which(python);
    std::os::unix::fs::symlink(&python, bin.path().join("python3")).unwrap();
    let repo = dir.path();
    std::fs::create_dir_all(repo.join("calc")).unwrap();
    std::fs::create_dir_all(repo.join("tests")).unwrap();
    std::fs::write(repo.join("calc/__init__.py"), "").unwrap();
    for name in MODULES {
        std::fs::write(repo.join(format!("calc/{name}.py")), module(name, false)).unwrap();
        std::fs::write(repo.join(format!("tests/test_{name}.py")), tests_of(name)).unwrap();
    }
    std::fs::write(repo.join(".gitignore"), "__pycache__/\n.pytest_cache/\n").unwrap();
    git(repo, &["init", "-q", "-b", "main"]);
    git(repo, &["add", "-A"]);
    git(repo, &["commit", "-q", "-m", "base"]);

    // A CI run per commit: a bug in one module, then its fix, round the modules.
    let run = |message: &str| {
        git(repo, &["commit", "-q", "-am", message]);
        let out = sh(repo, bin.path(), &each_run);
        let args = std::fs::read_to_string(repo.join("seer-args.txt")).unwrap_or_default();
        (out, args)
    };
    for round in 0..26 {
        let name = MODULES[round % MODULES.len()];
        std::fs::write(repo.join(format!("calc/{name}.py")), module(name, true)).unwrap();
        let (out, args) = run(&format!("break {name}"));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!args.contains("--deselect"), "round {round}: the gate is closed, every test runs:\n{args}\n{stderr}");
        if round > 0 {
            assert!(stderr.contains("observing"), "round {round}: select says it observes:\n{stderr}");
        }
        std::fs::write(repo.join(format!("calc/{name}.py")), module(name, false)).unwrap();
        let (_, args) = run(&format!("fix {name}"));
        assert!(!args.contains("--deselect"), "round {round}: {args}");
    }
    let out = sh(repo, bin.path(), train);
    assert!(out.status.success(), "{train}: {}", String::from_utf8_lossy(&out.stderr));
    let stats = sh(repo, bin.path(), "seer stats --json");
    let stats: serde_json::Value = serde_json::from_slice(&stats.stdout).expect("stats JSON");
    assert_eq!(stats["gate"]["open"], true, "the gate opens on this project's evidence: {}", stats["gate"]);

    // The next change breaks one module: a subset runs, and it holds that module's tests.
    std::fs::write(repo.join("calc/charlie.py"), module("charlie", true)).unwrap();
    let (out, args) = run("break charlie again");
    let deselected: Vec<&str> = args.lines().filter_map(|l| l.strip_prefix("--deselect=")).collect();
    assert!(!deselected.is_empty(), "a subset: {args}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(deselected.iter().all(|t| !t.contains("test_charlie")), "charlie's tests run: {deselected:?}");
    let junit = std::fs::read_to_string(repo.join(".seer/junit.xml")).unwrap();
    assert_eq!(junit.matches("<failure").count(), 4, "the four failing tests ran and failed:\n{junit}");
}
