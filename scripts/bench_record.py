#!/usr/bin/env python3
"""Ingest benchmark: `seer record` of a generated 200,000-testcase JUnit file beside the Python
baseline collector (scripts/baseline_record.py), measured in the same run on the same file.

usage: python3 scripts/bench_record.py [--tests N] [--repeat K]

Each repetition stores into a fresh database; wall time of the whole process (start-up included)
is measured for both, alternating the two, each started after the previous run's writes are
flushed (sync), and the median of K repetitions is reported with the range.
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def settle():
    """Flushes dirty pages left by the previous run, so that neither contender pays for the
    other's writeback."""
    os.sync()
    time.sleep(0.5)


def timed(cmd, env=None):
    settle()
    start = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, env=env)
    return time.perf_counter() - start


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tests", type=int, default=200_000)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()

    subprocess.run(["cargo", "build", "--release", "--quiet"], check=True, cwd=ROOT)
    seer = os.path.join(ROOT, "target", "release", "seer")
    data = os.path.join(ROOT, "target", "bench-data")
    os.makedirs(data, exist_ok=True)
    report = os.path.join(data, f"junit-{args.tests}.xml")
    if not os.path.exists(report):
        subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "gen_junit.py"), str(args.tests), report], check=True)
    size_mb = os.path.getsize(report) / 1e6

    seer_times, py_times = [], []
    for _ in range(args.repeat):
        work = tempfile.mkdtemp(prefix="seer-bench-")
        try:
            env = dict(os.environ, SEER_DB=os.path.join(work, "seer.db"))
            seer_times.append(timed([seer, "record", "--commit", "c0ffee", "--run-id", "bench", "--no-git", report], env))
            py_times.append(timed([sys.executable, os.path.join(ROOT, "scripts", "baseline_record.py"), report,
                                   os.path.join(work, "baseline.db")]))
        finally:
            shutil.rmtree(work)
    s, p = statistics.median(seer_times), statistics.median(py_times)
    print(f"report: {args.tests} test cases, {size_mb:.1f} MB; median of {args.repeat} runs, fresh store each")
    print("| collector | median wall time | range | test cases / s |")
    print("|---|---|---|---|")
    print(f"| seer record | {s:.3f} s | {min(seer_times):.3f}-{max(seer_times):.3f} s | {args.tests / s:,.0f} |")
    print(f"| Python iterparse + sqlite3 executemany | {p:.3f} s | {min(py_times):.3f}-{max(py_times):.3f} s "
          f"| {args.tests / p:,.0f} |")
    print(f"seer is {p / s:.1f}x faster (goal: at least 5x)")


if __name__ == "__main__":
    main()
