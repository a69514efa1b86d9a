#!/usr/bin/env python3
"""Benchmark `seer report` on a store with 1,000,000 results and 100 profiles.

Builds the store of bench_select.py (100 runs x 10,000 tests, imported; a model trained; 31
selections kept), then adds 100 profiles: 10 benches x 5 commits x 2 runs, folded stacks of the
real profile pool (profile-fixtures.py), the last commit of each bench with checksum 10% slower.
Then `seer report` over a window holding everything (--from 2025-12-01) writes the HTML page, the
Markdown summary and the JSON, --repeat times; wall time per process.

Usage: bench_report.py [--seer PATH] [--pool DIR] [--work DIR] [--repeat 5]
"""

import argparse
import importlib.util
import json
import random
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seer", default=str(HERE.parent / "target/release/seer"))
    ap.add_argument("--pool", default="/tmp/seer-profile-pool", type=Path)
    ap.add_argument("--work", default="/tmp/seer-bench-report", type=Path)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    spec = importlib.util.spec_from_file_location("bench_select", HERE / "bench_select.py")
    bench_select = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench_select)
    base = sorted(args.pool.glob("base-*.folded.gz"))
    slow = sorted(args.pool.glob("slow-*.folded.gz"))
    if len(base) < 10 or len(slow) < 2:
        sys.exit(f"{args.pool}: run scripts/profile-fixtures.py first")
    if args.work.exists():
        shutil.rmtree(args.work)
    args.work.mkdir(parents=True)
    repo, db = args.work / "repo", args.work / "store" / "seer.db"
    bench_select.make_repo(repo)
    rng = random.Random(11)
    flaky = set(rng.sample(range(bench_select.TESTS), bench_select.TESTS // 100))
    history = args.work / "history.jsonl"
    with open(history, "w") as out:
        for k in range(bench_select.RUNS):
            out.write(json.dumps(bench_select.run_line(rng, k, flaky)) + "\n")
    seer = [args.seer, "--db", str(db)]
    subprocess.run([*seer, "import", str(history)], check=True, capture_output=True)
    subprocess.run([*seer, "train"], check=True, capture_output=True)
    for _ in range(31):
        subprocess.run([*seer, "select", "--commit", "HEAD", "--repo", str(repo), "--format", "nextest"],
                       check=True, capture_output=True)
    profiles = 0
    start = 1_767_225_600 + 86_400 * 2
    for b in range(10):
        for c in range(5):
            pool = slow if c == 4 else base
            runs = rng.sample(pool, 2)
            subprocess.run([*seer, "profile", "record", "--name", f"bench-{b}", "--commit", f"b{b}-c{c}",
                            "--time", str(start + 3600 * (10 * b + c)), *map(str, runs)],
                           check=True, capture_output=True)
            profiles += 2
    print(f"store: {bench_select.RUNS * bench_select.TESTS:,} results, {profiles} profiles in 10 benches")
    times = []
    for _ in range(args.repeat):
        started = time.perf_counter()
        out = subprocess.run([*seer, "report", "--from", "2025-12-01", "--out", str(args.work / "report.html"),
                              "--markdown", str(args.work / "report.md"), "--json", "--repo", str(repo)],
                             capture_output=True, text=True)
        times.append(time.perf_counter() - started)
        if out.returncode != 0:
            sys.exit(f"seer report failed:\n{out.stderr}")
    doc = json.loads(out.stdout)
    size = (args.work / "report.html").stat().st_size
    print(f"seer report: median {statistics.median(times):.2f} s ({min(times):.2f}-{max(times):.2f}, "
          f"{args.repeat} runs); page {size / 1e6:.1f} MB, {doc['selection']['selections']} selections, "
          f"{len(doc['profiling'])} benches (goal: under 5 s)")


if __name__ == "__main__":
    main()
