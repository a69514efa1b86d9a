//! Python per-test coverage and the `pytest-seer` plugin (`python/`), with real pytest and
//! coverage.py: the contexts pytest-cov and the plugin write map to the ids seer records from
//! pytest's JUnit (parametrised tests, classes, nested classes); the plugin selects, deselects,
//! exits 0 when nothing needs running, records runs and coverage, and fails open.
//!
//! Needs a Python with pytest, pytest-cov and the plugin installed, named by
//! `SEER_TEST_PYTHON` (`.ci/run` makes one: `scripts/python-test-env.sh`). Without one each test
//! prints that it did not run, and fails when `SEER_REQUIRE_PYTHON=1` (as in CI).

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Command, Output};

use crate::util::{CI_MARKERS, Env, SEER, git};

/// The Python to test with, or `None` (after saying so) when there is none to be had.
fn python() -> Option<String> {
    match std::env::var("SEER_TEST_PYTHON") {
        Ok(p) if !p.is_empty() => Some(p),
        _ => {
            assert!(
                std::env::var("SEER_REQUIRE_PYTHON").as_deref() != Ok("1"),
                "SEER_REQUIRE_PYTHON=1 but SEER_TEST_PYTHON is not set (scripts/python-test-env.sh)"
            );
            eprintln!("NOT RUN: it needs SEER_TEST_PYTHON, a Python with pytest, pytest-cov and ./python installed");
            None
        }
    }
}

const CALC: &str = "\
LIMIT = 10


def add(a, b):
    return a + b


def div(a, b):
    if b == 0:
        raise ZeroDivisionError(\"b\")
    return a / b


def clamp(x):
    return min(
        x,
        LIMIT,
    )
";

const TESTS: &str = "\
import pytest
from calc import add, div, clamp, LIMIT


@pytest.mark.parametrize(\"a,b\", [(1, 2), (3, 4)])
def test_add(a, b):
    assert add(a, b) == a + b


@pytest.mark.parametrize(\"path\", [\"x/y::z\", \"w\"])
def test_odd_ids(path):
    assert add(len(path), 0) == len(path)


class TestDiv:
    def test_zero(self):
        with pytest.raises(ZeroDivisionError):
            div(1, 0)

    def test_one(self):
        assert div(2, 1) == 2

    class TestNested:
        def test_half(self):
            assert div(1, 2) == 0.5


def test_limit():
    assert LIMIT == 10


def test_clamp():
    assert clamp(20) == 10
";

/// A git repository holding the package `calc` and its tests, committed.
fn project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path();
    std::fs::create_dir_all(repo.join("tests")).unwrap();
    std::fs::write(repo.join("calc.py"), CALC).unwrap();
    std::fs::write(repo.join("tests/test_calc.py"), TESTS).unwrap();
    std::fs::write(repo.join("pytest.ini"), "[pytest]\npythonpath = .\n").unwrap();
    std::fs::write(repo.join(".gitignore"), "__pycache__/\n.pytest_cache/\n.seer-coverage*\n*.xml\n.coverage\n")
        .unwrap();
    git(repo, &["init", "-q", "-b", "main"]);
    git(repo, &["add", "-A"]);
    git(repo, &["commit", "-q", "-m", "base"]);
    dir
}

/// pytest in `repo` with `args`, the plugin finding this build's seer and `env`'s store.
fn pytest(python: &str, env: &Env, repo: &Path, args: &[&str]) -> Output {
    let mut cmd = Command::new(python);
    cmd.args(["-m", "pytest", "-p", "no:cacheprovider", "-rN"])
        .args(args)
        .current_dir(repo)
        .env("SEER_BIN", SEER)
        .env("SEER_DB", &env.db)
        .env_remove("SEER_URL");
    for marker in CI_MARKERS {
        cmd.env_remove(marker);
    }
    cmd.output().expect("run pytest")
}

fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

/// The ids of the tests whose coverage is stored.
fn covered_tests(env: &Env) -> BTreeSet<String> {
    let conn = env.conn();
    let mut stmt = conn.prepare("SELECT test FROM coverage_runs").unwrap();
    stmt.query_map([], |r| r.get(0)).unwrap().map(Result::unwrap).collect()
}

/// The ids of the tests stored from JUnit.
fn recorded_tests(env: &Env) -> BTreeSet<String> {
    let conn = env.conn();
    let mut stmt = conn.prepare("SELECT name FROM tests").unwrap();
    stmt.query_map([], |r| r.get(0)).unwrap().map(Result::unwrap).collect()
}

#[test]
fn pytest_cov_contexts_name_the_tests_seer_records_from_junit() {
    let Some(python) = python() else { return };
    let env = Env::new();
    let dir = project();
    let repo = dir.path();
    let out = pytest(&python, &env, repo, &["--cov=calc", "--cov-context=test", "--junitxml=junit.xml"]);
    assert!(out.status.success(), "{}", text(&out));
    let r = repo.to_str().unwrap();
    env.ok(&["record", "--repo", r, "--commit", "HEAD", repo.join("junit.xml").to_str().unwrap()]);
    let recorded = recorded_tests(&env);
    assert_eq!(recorded.len(), 9, "{recorded:?}");
    assert!(recorded.contains("tests.test_calc.TestDiv.TestNested::test_half"), "{recorded:?}");
    assert!(recorded.contains("tests.test_calc::test_odd_ids[x/y::z]"), "{recorded:?}");

    // The data file: every test's coverage under the id its JUnit result has.
    let doc =
        env.json(&["coverage", "record", "--commit", "HEAD", "--root", r, repo.join(".coverage").to_str().unwrap()]);
    // test_limit ran no line of calc in its own context (--cov=calc measures calc alone): it has
    // no coverage, so coverage never skips it.
    assert_eq!(doc["tests"], 8, "{doc}");
    let covered = covered_tests(&env);
    assert!(covered.is_subset(&recorded), "coverage.py contexts map to the JUnit ids: {covered:?}");
    assert_eq!(recorded.difference(&covered).collect::<Vec<_>>(), ["tests.test_calc::test_limit"]);

    // `coverage json --show-contexts`: the same tests, and the statements that never ran.
    let out = Command::new(&python)
        .args(["-m", "coverage", "json", "--show-contexts", "-o", "cov.json"])
        .current_dir(repo)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let env2 = Env::new();
    let doc =
        env2.json(&["coverage", "record", "--commit", "HEAD", "--root", r, repo.join("cov.json").to_str().unwrap()]);
    assert_eq!(doc["tests"], 8, "{doc}");
    assert_eq!(covered_tests(&env2), covered);

    // A foreign SQLite file and a data file without contexts: `file: reason`, nothing stored.
    let before = env.count("SELECT count(*) FROM coverage_runs");
    let err = env.fails(&["coverage", "record", "--commit", "HEAD", "--root", r, env.db.to_str().unwrap()], 3);
    assert!(err.contains("seer.db: not coverage.py data (an SQLite file without a coverage_schema table)"), "{err}");
    let out = pytest(&python, &env, repo, &["--cov=calc", "--cov-report=", "-q"]);
    assert!(out.status.success(), "{}", text(&out));
    let err = env
        .fails(&["coverage", "record", "--commit", "HEAD", "--root", r, repo.join(".coverage").to_str().unwrap()], 3);
    assert!(err.contains(".coverage: coverage.py data without per-test contexts"), "{err}");
    assert_eq!(env.count("SELECT count(*) FROM coverage_runs"), before, "nothing stored");
}

/// Commits `file` with `text` in `repo`.
fn commit(repo: &Path, file: &str, text: &str, message: &str) {
    std::fs::write(repo.join(file), text).unwrap();
    git(repo, &["commit", "-q", "-am", message]);
}

/// A set of node ids.
fn nodes(ids: &[&str]) -> BTreeSet<String> {
    ids.iter().map(|id| id.to_string()).collect()
}

/// The node ids pytest ran, from its `-v` output.
fn ran(out: &Output) -> BTreeSet<String> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            l.split_once(" PASSED").or_else(|| l.split_once(" FAILED")).map(|(id, _)| id.trim().to_string())
        })
        .collect()
}

#[test]
fn the_plugin_records_then_runs_only_what_a_change_can_break() {
    let Some(python) = python() else { return };
    let env = Env::new();
    let dir = project();
    let repo = dir.path();

    // At the base: the whole suite, recorded with its per-test coverage.
    let out = pytest(&python, &env, repo, &["--seer-record", "--seer-coverage", "-v"]);
    let said = text(&out);
    assert!(out.status.success(), "{said}");
    assert_eq!(ran(&out).len(), 9, "{said}");
    assert_eq!(env.count("SELECT count(*) FROM runs"), 1, "{said}");
    assert_eq!(covered_tests(&env), recorded_tests(&env), "{said}");

    // A change to div's body: the four tests that call div run, the others are deselected.
    let div = CALC.replace("return a / b", "return a / b + 0");
    commit(repo, "calc.py", &div, "div");
    let out = pytest(&python, &env, repo, &["--seer", "-v"]);
    let said = text(&out);
    assert!(out.status.success(), "{said}");
    // The two tests that ran `return a / b` (test_zero raises before it).
    let expect =
        nodes(&["tests/test_calc.py::TestDiv::test_one", "tests/test_calc.py::TestDiv::TestNested::test_half"]);
    assert_eq!(ran(&out), expect, "{said}");
    assert!(said.contains("seer: running 2 of 9 tests, skipping 7"), "{said}");
    assert!(said.contains("7 tests skipped: their coverage ran none of the changed lines"), "{said}");
    assert!(said.contains("7 deselected"), "{said}");

    // A bug in add, uncommitted: the working tree's change is selected; its failure shows, and
    // --seer-record does not record a run of uncommitted changes as HEAD's.
    std::fs::write(repo.join("calc.py"), div.replace("return a + b", "return a - b")).unwrap();
    let out = pytest(&python, &env, repo, &["--seer", "--seer-record", "-v"]);
    let said = text(&out);
    assert_eq!(out.status.code(), Some(1), "the failing tests ran: {said}");
    // test_add and test_odd_ids (they call add), and the two tests whose coverage is stale: they
    // ran div's line, changed since the coverage was taken at the base.
    let expect = nodes(&[
        "tests/test_calc.py::test_add[1-2]",
        "tests/test_calc.py::test_add[3-4]",
        "tests/test_calc.py::test_odd_ids[x/y::z]",
        "tests/test_calc.py::test_odd_ids[w]",
        "tests/test_calc.py::TestDiv::test_one",
        "tests/test_calc.py::TestDiv::TestNested::test_half",
    ]);
    assert_eq!(ran(&out), expect, "{said}");
    assert!(said.contains("2 tests ran code changed since it was taken"), "{said}");
    assert!(said.contains("the run not recorded: the working tree has uncommitted changes"), "{said}");
    assert_eq!(env.count("SELECT count(*) FROM runs"), 1);
    git(repo, &["checkout", "-q", "calc.py"]);

    // A change of comments only: nothing to run, and pytest exits 0 saying so.
    commit(repo, "calc.py", &div.replace("def add(a, b):", "# adds\ndef add(a, b):"), "comment");
    let out = pytest(&python, &env, repo, &["--seer"]);
    let said = text(&out);
    assert_eq!(out.status.code(), Some(0), "{said}");
    assert!(said.contains("seer: nothing to run: this change cannot break any of the tests"), "{said}");

    // A change inside a statement written over several lines (coverage.py counts it on its first
    // line): the test that ran the statement runs (with the two whose coverage is stale).
    commit(repo, "calc.py", &div.replace("        LIMIT,", "        LIMIT + 0,"), "clamp");
    let out = pytest(&python, &env, repo, &["--seer", "-v"]);
    let said = text(&out);
    let expect = nodes(&[
        "tests/test_calc.py::test_clamp",
        "tests/test_calc.py::TestDiv::test_one",
        "tests/test_calc.py::TestDiv::TestNested::test_half",
    ]);
    assert_eq!(ran(&out), expect, "{said}");
    assert!(said.contains("1 of its 9 tests ran a changed line"), "{said}");

    // A change to a module-level constant: the tests that ran a line naming it run, test_limit
    // among them, which reads it in its own file and runs no line of calc.py (pytest-testmon
    // skips it). Both fail. (With the three stale ones.)
    let limit = div.replace("        LIMIT,", "        LIMIT + 0,").replace("LIMIT = 10", "LIMIT = 11");
    commit(repo, "calc.py", &limit, "limit");
    let out = pytest(&python, &env, repo, &["--seer", "-v"]);
    let said = text(&out);
    let expect = nodes(&[
        "tests/test_calc.py::test_limit",
        "tests/test_calc.py::test_clamp",
        "tests/test_calc.py::TestDiv::test_one",
        "tests/test_calc.py::TestDiv::TestNested::test_half",
    ]);
    assert_eq!(ran(&out), expect, "{said}");
    assert_eq!(out.status.code(), Some(1), "test_limit and test_clamp fail: {said}");
    assert!(said.contains("FAILED") && said.matches(" FAILED").count() == 2, "{said}");
}

#[test]
fn the_plugin_fails_open_on_any_error_from_seer() {
    let Some(python) = python() else { return };
    let env = Env::new();
    let dir = project();
    let repo = dir.path();
    let failing = repo.join("failing-seer");
    std::fs::write(&failing, "#!/bin/sh\necho 'seer: broken store' >&2\nexit 1\n").unwrap();
    let garbage = repo.join("garbage-seer");
    std::fs::write(&garbage, "#!/bin/sh\necho '{not json'\n").unwrap();
    for script in [&failing, &garbage] {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(script, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let cases = [
        ("/nonexistent/seer", "running every test: no seer binary at '/nonexistent/seer'"),
        (failing.to_str().unwrap(), "running every test: `seer select --format` exited 1: seer: broken store"),
        (garbage.to_str().unwrap(), "running every test: `seer select` gave an answer the plugin cannot read"),
    ];
    for (bin, message) in cases {
        let out = pytest(&python, &env, repo, &["--seer", "-v", "--seer-bin", bin]);
        let said = text(&out);
        assert!(out.status.success(), "{said}");
        assert_eq!(ran(&out).len(), 9, "{said}");
        assert!(said.contains(message), "{message:?} in:\n{said}");
    }
    // An empty store: seer itself answers `all` with its reason.
    let out = pytest(&python, &env, repo, &["--seer", "-v"]);
    let said = text(&out);
    assert!(out.status.success() && ran(&out).len() == 9, "{said}");
    assert!(said.contains("seer: running every test: "), "{said}");
}

/// Each line's contexts in `file` after `rewrite_report` of `report` over the sources `files`.
fn rewritten(python: &str, files: &[(&str, &str)], report: serde_json::Value, file: &str) -> serde_json::Value {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in files {
        std::fs::write(dir.path().join(name), text).unwrap();
    }
    std::fs::write(dir.path().join("report.json"), report.to_string()).unwrap();
    let out = Command::new(python)
        .args(["-c", "from pytest_seer.plugin import rewrite_report; rewrite_report('report.json', {})"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let doc: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("report.json")).unwrap()).unwrap();
    doc["files"][dir.path().join(file).to_str().unwrap()]["contexts"].clone()
}

fn at(contexts: &serde_json::Value, line: u32) -> Vec<String> {
    let names = contexts[line.to_string()].as_array();
    names.map(|a| a.iter().map(|c| c.as_str().unwrap().into()).collect()).unwrap_or_default()
}

#[test]
fn a_docstring_runs_in_the_tests_that_read_it() {
    let Some(python) = python() else { return };
    let module = "\"\"\"The module.\"\"\"\n\n\ndef first():\n    \"\"\"First.\"\"\"\n    return 1\n\n\ndef second():\n    \"\"\"Second.\"\"\"\n    return 2\n\n\nALIAS = first.__doc__\n";
    let tests = "from m import second\n\n\ndef test_doc():\n    assert second.__doc__\n\n\ndef test_any():\n    assert getattr(second, \"__doc__\")\n";
    // What `coverage json --show-contexts` writes: imports and definitions ran outside tests.
    let report = serde_json::json!({
        "meta": {"show_contexts": true},
        "files": {
            "m.py": {"executed_lines": [4, 6, 9, 11, 14], "missing_lines": [],
                     "contexts": {"4": [""], "9": [""], "14": [""]}},
            "t.py": {"executed_lines": [1, 4, 5, 8, 9], "missing_lines": [],
                     "contexts": {"1": [""], "4": [""], "8": [""], "5": ["t.py::test_doc|run"], "9": ["t.py::test_any|run"]}},
        },
    });
    let contexts = rewritten(&python, &[("m.py", module), ("t.py", tests)], report, "m.py");
    // `first.__doc__` is read at import: every test depends on first's docstring. second's is
    // read by test_doc by name, and every docstring by test_any's getattr.
    assert_eq!(at(&contexts, 5), ["", "t.py::test_any|run"]);
    assert_eq!(at(&contexts, 10), ["t.py::test_any|run", "t.py::test_doc|run"]);
    assert_eq!(at(&contexts, 1), ["t.py::test_any|run"], "nothing names the module's docstring but test_any's getattr");
}

#[test]
fn a_table_derived_at_import_runs_in_the_tests_that_read_what_it_derives() {
    let Some(python) = python() else { return };
    // INVERSE's comprehension binds k and v for itself: KEYS reading another k at import does
    // not make INVERSE (nor TABLE, read only by it) every test's.
    let module = "TABLE = {\"a\": 1}\nINVERSE = {v: k for k, v in TABLE.items()}\nKEYS = [k for k in \"ab\"]\n\n\ndef lookup(n):\n    return INVERSE[n]\n";
    let tests = "from m import lookup\n\n\ndef test_lookup():\n    assert lookup(1) == \"a\"\n";
    let report = serde_json::json!({
        "meta": {"show_contexts": true},
        "files": {
            "m.py": {"executed_lines": [1, 2, 3, 6, 7], "missing_lines": [],
                     "contexts": {"1": [""], "2": [""], "3": [""], "6": [""], "7": ["t.py::test_lookup|run"]}},
            "t.py": {"executed_lines": [1, 4, 5], "missing_lines": [],
                     "contexts": {"1": [""], "4": [""], "5": ["t.py::test_lookup|run"]}},
        },
    });
    let contexts = rewritten(&python, &[("m.py", module), ("t.py", tests)], report, "m.py");
    assert_eq!(at(&contexts, 2), ["t.py::test_lookup|run"]);
    assert_eq!(at(&contexts, 1), ["t.py::test_lookup|run"]);
    assert_eq!(at(&contexts, 3), [""], "nothing reads KEYS by name: it stays every test's");
}
