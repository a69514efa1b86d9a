#!/usr/bin/env python3
"""Benchmark `seer select` on a store of 10,000 tests and 1,000,000 results.

Builds (in --work, default /tmp/seer-bench-select):
  - a git repository of 200 source files, and a commit under test that changes 3 of them;
  - a history of 100 CI runs x 10,000 tests as seer JSON lines (each run changes 1-5 of the 200
    files; a test fails with probability 0.3 when its own module changed, 0.02% otherwise; 1% of
    tests are flaky at 5%), imported into a fresh store;
  - the live model (`seer train`, which also builds the selection state).
Then runs `seer select --commit HEAD --format json` (and `--format nextest`) --repeat times as
separate processes, as a CI pre-test step would, and prints the wall time of each process:
median, 90th percentile, min and max. Each call keeps its selection in the store, as in CI.
Then it records per-test coverage of the base commit (each test runs one function of its own module,
one in ten also one function of the next module: 11,000 file records) with `seer coverage record`,
and times `seer select --format json` again, now with the coverage rule deciding.
Finally it times `seer record`-equivalent ingestion of one more 10,000-test run with the state
present (the refresh that keeps `select` fast is part of it) against a store without a state.

Usage: bench_select.py [--seer PATH] [--work DIR] [--repeat N] [--json OUT]
"""

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

TESTS = 10_000
RUNS = 100
FILES = 200


def git(repo, *args):
    env = dict(os.environ, GIT_AUTHOR_NAME="bench", GIT_AUTHOR_EMAIL="b@example.com",
               GIT_COMMITTER_NAME="bench", GIT_COMMITTER_EMAIL="b@example.com",
               GIT_CONFIG_GLOBAL="/dev/null", GIT_CONFIG_NOSYSTEM="1")
    return subprocess.run(["git", *args], cwd=repo, env=env, check=True, capture_output=True, text=True).stdout.strip()


def make_repo(repo):
    (repo / "src").mkdir(parents=True)
    git(repo, "init", "-q", "-b", "main")
    for f in range(FILES):
        body = "".join(f"pub fn f{f}_{k}() -> u32 {{\n    {k}\n}}\n\n" for k in range(5))
        (repo / "src" / f"mod_{f}.rs").write_text(body)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "base")
    for f in (3, 77, 150):
        path = repo / "src" / f"mod_{f}.rs"
        path.write_text(path.read_text().replace("    2\n", "    2 + 1\n"))
    git(repo, "commit", "-q", "-am", "the change under test")
    return git(repo, "rev-parse", "HEAD")


def run_line(rng, k, flaky):
    changed = rng.sample(range(FILES), rng.randint(1, 5))
    files = [{"path": f"src/mod_{f}.rs", "status": "M", "added": rng.randint(1, 20), "deleted": rng.randint(0, 5),
              "symbols": [f"f{f}_{rng.randint(0, 4)}"]} for f in changed]
    changed = set(changed)
    tests = []
    for t in range(TESTS):
        module = t % FILES
        p = 0.3 if module in changed else 0.0002
        if t in flaky:
            p = max(p, 0.05)
        outcome = "fail" if rng.random() < p else "pass"
        tests.append({"id": f"crate::mod_{module}::test_{t}", "suite": "crate", "outcome": outcome,
                      "duration_s": round(0.01 + (t % 97) / 100, 3), "file": f"src/mod_{module}.rs"})
    return {"run_id": f"run-{k}", "commit": f"c{k:04}", "time": 1_767_225_600 + 600 * k,
            "changes": {"base": f"c{k - 1:04}", "files": files}, "tests": tests}


def timed(cmd, **kw):
    start = time.perf_counter()
    out = subprocess.run(cmd, capture_output=True, text=True, **kw)
    took = time.perf_counter() - start
    if out.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed ({out.returncode}):\n{out.stderr}")
    return took, out


def summary(times):
    times = sorted(times)
    return {"median_ms": 1000 * statistics.median(times), "p90_ms": 1000 * times[int(0.9 * (len(times) - 1))],
            "min_ms": 1000 * times[0], "max_ms": 1000 * times[-1], "runs": len(times)}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seer", default=str(Path(__file__).resolve().parents[1] / "target/release/seer"))
    ap.add_argument("--work", default="/tmp/seer-bench-select", type=Path)
    ap.add_argument("--repeat", type=int, default=31)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    if args.work.exists():
        shutil.rmtree(args.work)
    args.work.mkdir(parents=True)
    repo, db = args.work / "repo", args.work / "store" / "seer.db"
    head = make_repo(repo)
    rng = random.Random(11)
    flaky = set(rng.sample(range(TESTS), TESTS // 100))
    history = args.work / "history.jsonl"
    with open(history, "w") as out:
        for k in range(RUNS):
            out.write(json.dumps(run_line(rng, k, flaky)) + "\n")
    extra = args.work / "extra.jsonl"
    extra.write_text(json.dumps(run_line(rng, RUNS, flaky)) + "\n")
    seer = [args.seer, "--db", str(db)]
    took, _ = timed([*seer, "import", str(history)])
    print(f"imported {RUNS} runs x {TESTS} tests = {RUNS * TESTS:,} results in {took:.1f} s")
    took, out = timed([*seer, "train", "--json"])
    model = json.loads(out.stdout)
    print(f"trained in {took:.1f} s: {model['kind']}, threshold {model['threshold']:.3f}")

    def time_select(fmt, label):
        """Times `seer select --format FMT` over --repeat processes; the summary and the last output."""
        times = []
        for _ in range(args.repeat):
            took, out = timed([*seer, "select", "--commit", "HEAD", "--repo", str(repo), "--format", fmt])
            times.append(took)
        s = summary(times)
        print(f"seer select --format {label}: median {s['median_ms']:.1f} ms, p90 {s['p90_ms']:.1f} ms, "
              f"min {s['min_ms']:.1f} ms, max {s['max_ms']:.1f} ms ({s['runs']} processes)")
        return s, out

    results = {}
    for fmt in ("json", "nextest"):
        results[fmt], out = time_select(fmt, fmt)
        if fmt == "json":
            doc = json.loads(out.stdout)
            results["selection"] = {"mode": doc["mode"], "reason": doc["reason"], "selected": len(doc["selected"]),
                                    "skipped": len(doc["skipped"]), "notes": doc["notes"]}
    sel = results["selection"]
    print(f"  mode {sel['mode']}: {sel['selected']} selected, {sel['skipped']} skipped {sel['reason'] or ''}")

    # Per-test coverage of the base (HEAD~1): the same selection, decided by the coverage rule.
    base = git(repo, "rev-parse", "HEAD~1")
    lcov = args.work / "coverage.lcov"
    with open(lcov, "w") as out:
        for t in range(TESTS):
            module, fn = t % FILES, (t // FILES) % 5
            out.write(f"TN:crate::mod_{module}::test_{t}\n")
            ran = [(module, fn)] + ([((module + 1) % FILES, 0)] if t % 10 == 0 else [])
            for m, k in ran:
                # Each function is 3 executable lines (4k+1 .. 4k+3) of its module's file.
                lines = "".join(f"DA:{4 * j + i},{int(j == k)}\n" for j in range(5) for i in (1, 2, 3))
                out.write(f"SF:{repo}/src/mod_{m}.rs\n{lines}end_of_record\n")
    took, _ = timed([*seer, "coverage", "record", "--commit", base, "--root", str(repo), str(lcov)], cwd=repo)
    results["coverage_record_s"] = took
    print(f"recorded the coverage of {TESTS} tests ({lcov.stat().st_size / 1e6:.1f} MB of LCOV) in {took:.2f} s")
    results["json_with_coverage"], out = time_select("json", "json with coverage")
    doc = json.loads(out.stdout)
    results["selection_with_coverage"] = {"mode": doc["mode"], "selected": len(doc["selected"]),
                                          "skipped": len(doc["skipped"]), "notes": doc["notes"]}
    print(f"  {len(doc['selected'])} selected, {len(doc['skipped'])} skipped; " + "; ".join(doc["notes"]))

    # One more run stored with the state present (taken in at once) and without one.
    took_state, _ = timed([*seer, "import", str(extra)])
    bare = args.work / "bare" / "seer.db"
    timed([args.seer, "--db", str(bare), "import", str(history)])
    took_bare, _ = timed([args.seer, "--db", str(bare), "import", str(extra)])
    results["store_one_more_run_s"] = {"with_state": took_state, "without_state": took_bare}
    print(f"storing one more {TESTS}-test run: {took_state:.2f} s with the selection state kept current, "
          f"{took_bare:.2f} s without one")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
