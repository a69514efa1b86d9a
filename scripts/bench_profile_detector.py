#!/usr/bin/env python3
"""How often `seer profile diff` cries wolf, how often it finds a real regression, and whether
`seer profile trend` puts a shift at the right commit, on real profiles (profile-fixtures.py).

From the pool of real runs (base-NN: the workload as it is; slow-NN: the same with one function,
`profile_workload::checksum`, about 3% of the samples, doing 10% more work), with a seeded
random choice of runs per trial:
  - A/A (--aa-trials): 5 base runs against 5 other base runs: any regression or improvement
    reported is a false alarm (goal: at most 1% of comparisons);
  - detection: 5 base runs against 5 slow runs: found when the first regression reported is
    checksum (goal: at least 95%);
  - history: 12 commits of 2 runs each, base before a shift at a random commit (4th to 9th),
    slow from it on, ordered by --time: right when trend reports a change point of checksum at
    that commit, and nothing else.
Every run is recorded with `seer profile record` (into one scratch store for the comparisons,
one per history) and compared by the seer binary, as a CI job would.

Usage: bench_profile_detector.py [--pool DIR] [--seer PATH] [--trials 200] [--histories 50] [--seed 1]
"""

import argparse
import json
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path

TARGET = "profile_workload::checksum"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pool", default="/tmp/seer-profile-pool", type=Path)
    ap.add_argument("--seer", default=str(Path(__file__).resolve().parents[1] / "target/release/seer"))
    ap.add_argument("--trials", type=int, default=200)
    ap.add_argument("--aa-trials", type=int, default=1000)
    ap.add_argument("--histories", type=int, default=50)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--work", default="/tmp/seer-bench-detector", type=Path)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    base = sorted(args.pool.glob("base-*.folded.gz"))
    slow = sorted(args.pool.glob("slow-*.folded.gz"))
    if len(base) < 12 or len(slow) < 10:
        sys.exit(f"{args.pool}: need 12 base and 10 slow runs (scripts/profile-fixtures.py)")
    if args.work.exists():
        shutil.rmtree(args.work)
    args.work.mkdir(parents=True)
    db = args.work / "seer.db"
    rng = random.Random(args.seed)

    def seer(*a):
        out = subprocess.run([args.seer, "--db", str(db), *a], capture_output=True, text=True)
        if out.returncode not in (0,):
            sys.exit(f"seer {' '.join(a)} failed ({out.returncode}):\n{out.stderr}")
        return out.stdout

    def record(commit, runs):
        seer("profile", "record", "--name", "workload", "--commit", commit, "--run-id", commit, *map(str, runs))

    def diff(a, b):
        started = time.perf_counter()
        doc = json.loads(seer("profile", "diff", "--name", "workload", "--base", a, "--head", b, "--json"))
        return doc, time.perf_counter() - started

    alarms, diff_times = 0, []
    for t in range(args.aa_trials):
        runs = rng.sample(base, 10)
        record(f"aa{t}-a", runs[:5])
        record(f"aa{t}-b", runs[5:])
        doc, took = diff(f"aa{t}-a", f"aa{t}-b")
        diff_times.append(took)
        if doc["regressions"] or doc["improvements"]:
            alarms += 1
            print(f"A/A trial {t}: false alarm: {[r['frame'] for r in doc['regressions'] + doc['improvements']]}")
    found, ranked_first, changes = 0, 0, []
    for t in range(args.trials):
        record(f"det{t}-a", rng.sample(base, 5))
        record(f"det{t}-b", rng.sample(slow, 5))
        doc, _ = diff(f"det{t}-a", f"det{t}-b")
        frames = [r["frame"] for r in doc["regressions"]]
        if TARGET in frames:
            found += 1
            changes.append(next(r["change"] for r in doc["regressions"] if r["frame"] == TARGET))
        if frames[:1] == [TARGET]:
            ranked_first += 1
        else:
            print(f"detection trial {t}: regressions {frames}")
    right, other_points, elsewhere, placed = 0, 0, 0, []
    for h in range(args.histories):
        hist_db = args.work / f"history-{h}.db"
        rng_h = random.Random(args.seed * 1000 + h)
        shift = rng_h.randint(3, 8)
        b, s = rng_h.sample(base, 2 * shift), rng_h.sample(slow, 2 * (12 - shift))
        for c in range(12):
            runs = b[2 * c:2 * c + 2] if c < shift else s[2 * (c - shift):2 * (c - shift) + 2]
            subprocess.run([args.seer, "--db", str(hist_db), "profile", "record", "--name", "workload", "--commit",
                            f"c{c:02}", "--run-id", f"c{c:02}", "--time", str(1_700_000_000 + 3600 * c),
                            *map(str, runs)], check=True, capture_output=True)
        out = subprocess.run([args.seer, "--db", str(hist_db), "profile", "trend", "--name", "workload", "--json"],
                             check=True, capture_output=True, text=True).stdout
        points = json.loads(out)["change_points"]
        target = [p for p in points if p["frame"] == TARGET]
        ok = len(target) == 1 and target[0]["commit"] == f"c{shift:02}"
        right += ok
        other_points += len(points) - len(target)
        elsewhere += sum(1 for p in points if p["frame"] != TARGET and p["commit"] != f"c{shift:02}")
        placed.append({"shift": f"c{shift:02}", "found": [p["commit"] for p in target],
                       "others": [(p["frame"], p["commit"]) for p in points if p["frame"] != TARGET]})
        if not ok or len(points) != len(target):
            print(f"history {h}: shift at c{shift:02}; found {placed[-1]['found']}, others {placed[-1]['others']}")
    diff_times.sort()
    figures = {
        "trials": args.trials,
        "aa_trials": args.aa_trials,
        "aa_false_alarm_rate": alarms / args.aa_trials,
        "detection_rate": found / args.trials,
        "ranked_first_rate": ranked_first / args.trials,
        "median_detected_change": sorted(changes)[len(changes) // 2] if changes else None,
        "histories": args.histories,
        "shift_at_right_commit_rate": right / args.histories,
        "other_change_points": other_points,
        "other_change_points_elsewhere": elsewhere,
        "median_diff_s": diff_times[len(diff_times) // 2],
    }
    print(f"A/A (5 vs 5 runs of the same build): {alarms} of {args.aa_trials} comparisons raised an alarm "
          f"({100 * figures['aa_false_alarm_rate']:.1f}%; goal <= 1%)")
    print(f"+10% self time of checksum (5 vs 5): found in {found} of {args.trials} "
          f"({100 * figures['detection_rate']:.1f}%; goal >= 95%), ranked first in {ranked_first}; "
          f"median change measured {100 * (figures['median_detected_change'] or 0):+.1f}%")
    print(f"history of 12 commits x 2 runs, +10% from a random commit: the shift placed at its commit in {right} "
          f"of {args.histories} ({100 * figures['shift_at_right_commit_rate']:.0f}%); {other_points} change points of "
          f"other functions, {elsewhere} of them at another commit")
    print(f"seer profile diff: median {1000 * figures['median_diff_s']:.0f} ms per comparison (process)")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
