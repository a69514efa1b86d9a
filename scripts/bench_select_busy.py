#!/usr/bin/env python3
"""`seer select` while another process writes: latency, and whether every selection is kept.

Builds the store of bench_select.py (10,000 tests, 100 runs, trained) in --work, then:
  1. lock: a process holds the store's write lock (BEGIN IMMEDIATE, as a long `seer record`
     does) while `seer select` runs --repeat times;
  2. record: a `seer record` of a 1,000,000-testcase JUnit report (gen_junit.py) runs while
     `seer select` runs again and again until it finishes.
Each select is a separate process keeping its selection (not --dry-run), as in CI. For each
scenario it prints the wall times (median, p90, max), how many selections said they were not kept,
and, after the writer is done and one more writer has run, how many selections the store holds:
every select must be there, none dropped.

Usage: bench_select_busy.py [--seer PATH] [--work DIR] [--repeat N]
"""

import argparse
import json
import random
import shutil
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_select as bs  # noqa: E402


def select(seer, repo):
    start = time.perf_counter()
    out = subprocess.run([*seer, "select", "--commit", "HEAD", "--repo", str(repo), "--format", "json"],
                         capture_output=True, text=True)
    took = time.perf_counter() - start
    if out.returncode != 0:
        sys.exit(f"select failed ({out.returncode}): {out.stderr}")
    doc = json.loads(out.stdout)
    return took, doc


def stats(seer):
    out = subprocess.run([*seer, "stats", "--json"], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)["selection"]


def report(label, times, docs, before, after):
    s = bs.summary(times)
    for took, d in zip(times, docs):
        if took > 1.0:
            print(f"  a select took {took:.1f} s; its notes: {d['notes']}")
    not_kept = sum(any("not kept" in n for n in d["notes"]) for d in docs)
    modes = {m: sum(d["mode"] == m for d in docs) for m in ("subset", "all")}
    kept = after["selections"] - before["selections"]
    print(f"{label}: {s['runs']} selects, median {s['median_ms']:.0f} ms, p90 {s['p90_ms']:.0f} ms, "
          f"max {s['max_ms']:.0f} ms; modes {modes}; said not kept: {not_kept}; "
          f"kept in the store afterwards: {kept} of {len(docs)} (queued {after['queued']}, dropped {after['dropped']})")
    return {"summary": s, "not_kept": not_kept, "kept": kept, "selects": len(docs), "modes": modes}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seer", default=str(Path(__file__).resolve().parents[1] / "target/release/seer"))
    ap.add_argument("--work", default="/tmp/seer-bench-select-busy", type=Path)
    ap.add_argument("--repeat", type=int, default=21)
    ap.add_argument("--record-tests", type=int, default=1_000_000)
    args = ap.parse_args()
    if args.work.exists():
        shutil.rmtree(args.work)
    args.work.mkdir(parents=True)
    repo, db = args.work / "repo", args.work / "store" / "seer.db"
    bs.make_repo(repo)
    rng = random.Random(11)
    flaky = set(rng.sample(range(bs.TESTS), bs.TESTS // 100))
    history = args.work / "history.jsonl"
    with open(history, "w") as out:
        for k in range(bs.RUNS):
            out.write(json.dumps(bs.run_line(rng, k, flaky)) + "\n")
    seer = [args.seer, "--db", str(db)]
    bs.timed([*seer, "import", str(history)])
    bs.timed([*seer, "train"])
    big = args.work / "big.xml"
    subprocess.run([sys.executable, str(Path(__file__).parent / "gen_junit.py"), str(args.record_tests), str(big)],
                   check=True)
    results = {}

    # 1. Another process holds the write lock throughout.
    before = stats(seer)
    lock = sqlite3.connect(db, timeout=60)
    lock.execute("BEGIN IMMEDIATE")
    times, docs = [], []
    for _ in range(args.repeat):
        took, doc = select(seer, repo)
        times.append(took)
        docs.append(doc)
    lock.rollback()
    lock.close()
    results["lock"] = report("write lock held", times, docs, before, stats(seer))

    # 2. A 1M-testcase record runs.
    before = stats(seer)
    record = subprocess.Popen([*seer, "record", "--no-git", "--commit", "big", "--run-id", "big", str(big)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    times, docs = [], []
    started = time.perf_counter()
    finished = []
    waiter = threading.Thread(target=lambda: (record.wait(), finished.append(time.perf_counter())))
    waiter.start()
    while not finished:
        took, doc = select(seer, repo)
        times.append(took)
        docs.append(doc)
    waiter.join()
    record_s = finished[0] - started
    if record.returncode != 0:
        sys.exit(f"record failed: {record.stderr.read()}")
    print(f"the {args.record_tests:,}-testcase record took {record_s:.1f} s")
    after = stats(seer)
    # Selects that saw the big run stored chose among a million more tests: a different store.
    during = [(t, d) for t, d in zip(times, docs) if len(d["selected"]) + len(d["skipped"]) <= bs.TESTS]
    later = [(t, d) for t, d in zip(times, docs) if len(d["selected"]) + len(d["skipped"]) > bs.TESTS]
    results["record"] = report("during a 1M-testcase record", [t for t, _ in during], [d for _, d in during],
                               before, after)
    results["record"]["record_s"] = record_s
    results["record"]["kept_of_all"] = after["selections"] - before["selections"]
    for t, d in later:
        print(f"  after the run was stored: {t:.1f} s, notes {d['notes']}")
    print(f"  of all {len(docs)} selects (incl. {len(later)} after the run was stored, among 1M more tests, "
          f"{', '.join(f'{t:.1f} s' for t, _ in later)}): {results['record']['kept_of_all']} kept")
    (args.work / "results.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
