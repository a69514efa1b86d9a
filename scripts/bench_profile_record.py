#!/usr/bin/env python3
"""Benchmark the profiler's two hot paths.

1. Recording: a large `perf script` file (a long `perf record -g` of examples/profile-workload,
   built with frame pointers as profile-fixtures.py builds it) is recorded by
   `seer profile record` into a fresh store, alternating in the same run with inferno's own
   `inferno-collapse-perf FILE > /dev/null` (which only collapses: seer also normalises frames
   and stores them). Wall time per process, median of --repeat. Goal: seer within 10% of inferno.
2. Diff: two sets of profiles of 1,000,000 samples each (synthetic folded stacks: 20,000 stacks
   over 3,000 frames, 2 and 5 runs a side), `seer profile diff` with and without the
   differential flame graph. Wall time per process, median of --repeat. Goal: under 200 ms.

Usage: bench_profile_record.py [--seer PATH] [--work DIR] [--repeat 7] [--samples 400000] [--diff-only]
"""

import argparse
import gzip
import os
import random
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def timed(cmd, **kw):
    started = time.perf_counter()
    out = subprocess.run(cmd, capture_output=True, **kw)
    took = time.perf_counter() - started
    if out.returncode != 0:
        sys.exit(f"{' '.join(map(str, cmd))} failed ({out.returncode}):\n{out.stderr[-2000:]}")
    return took


def synthetic_profile(path, rng, frames, stacks, samples, slow_frame=None):
    """A folded profile of `samples` samples over `stacks` distinct stacks."""
    weights = [rng.paretovariate(1.2) for _ in stacks]
    if slow_frame is not None:
        weights = [w * (1.1 if s[-1] == slow_frame else 1.0) for w, s in zip(weights, stacks)]
    total = sum(weights)
    lines = []
    for s, w in zip(stacks, weights):
        n = max(1, round(samples * w / total))
        lines.append(";".join(frames[f] for f in s) + f" {n}")
    path.write_bytes(gzip.compress(("\n".join(lines) + "\n").encode(), mtime=0))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seer", default=str(ROOT / "target/release/seer"))
    ap.add_argument("--work", default="/tmp/seer-bench-profile", type=Path)
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--samples", type=int, default=400_000, help="samples of the perf recording")
    ap.add_argument("--diff-only", action="store_true", help="only the diff (no perf, no inferno needed)")
    args = ap.parse_args()
    if args.work.exists():
        shutil.rmtree(args.work)
    args.work.mkdir(parents=True)
    if not args.diff_only:
        record(args)
    diff(args)


def record(args):
    collapse = shutil.which("inferno-collapse-perf")
    if collapse is None:
        sys.exit("inferno-collapse-perf is not installed: cargo install inferno --locked")

    # 1. Recording a large perf script file.
    target = ROOT / "target" / "fp"
    env = dict(os.environ, CARGO_TARGET_DIR=str(target), RUSTFLAGS="-C force-frame-pointers=yes")
    subprocess.run(["cargo", "build", "--release", "--example", "profile-workload"], cwd=ROOT, env=env, check=True)
    data, script = args.work / "perf.data", args.work / "big.perf"
    freq = 20000
    rounds = max(50, args.samples // 300)
    subprocess.run(["perf", "record", "-F", str(freq), "-g", "-o", str(data), "--",
                    str(target / "release/examples/profile-workload"), "--rounds", str(rounds)],
                   check=True, capture_output=True)
    with open(script, "wb") as out:
        subprocess.run(["perf", "script", "-i", str(data)], stdout=out, check=True, stderr=subprocess.DEVNULL)
    data.unlink()
    size = script.stat().st_size
    samples = script.read_bytes().count(b"\n\n")
    print(f"perf script: {size / 1e6:.0f} MB, {samples} samples")
    seer_times, inferno_times = [], []
    for k in range(args.repeat):
        db = args.work / f"store-{k}" / "seer.db"
        inferno_times.append(timed(f"{collapse} {script} > /dev/null", shell=True))
        seer_times.append(timed([args.seer, "--db", str(db), "profile", "record", "--name", "big", "--commit", "c",
                                 str(script)]))
        shutil.rmtree(db.parent)
    s, i = statistics.median(seer_times), statistics.median(inferno_times)
    print(f"seer profile record: median {s:.3f} s ({min(seer_times):.3f}-{max(seer_times):.3f}); "
          f"inferno-collapse-perf: median {i:.3f} s ({min(inferno_times):.3f}-{max(inferno_times):.3f}); "
          f"seer takes {100 * (s / i - 1):+.1f}% (goal: within +10%)")



def diff(args):
    # 2. Diff of 1M-sample profiles.
    rng = random.Random(5)
    frames = [f"crate{f % 40}::module{f % 97}::function_{f}" for f in range(3000)]
    stacks = []
    while len(stacks) < 20_000:
        depth = rng.randint(5, 30)
        s = tuple(sorted(rng.sample(range(3000), depth)))
        stacks.append(s)
    stacks = list(dict.fromkeys(stacks))
    slow_frame = stacks[0][-1]
    db = args.work / "diff" / "seer.db"
    for side, runs in (("base", 5), ("head", 5)):
        files = []
        for r in range(runs):
            path = args.work / f"{side}-{r}.folded.gz"
            synthetic_profile(path, rng, frames, stacks, 1_000_000, slow_frame if side == "head" else None)
            files.append(str(path))
        subprocess.run([args.seer, "--db", str(db), "profile", "record", "--name", "big", "--commit", side, files[0],
                        files[1], "--run-id", f"{side}2"], check=True, capture_output=True)
        subprocess.run([args.seer, "--db", str(db), "profile", "record", "--name", "big5", "--commit", side, *files,
                        "--run-id", f"{side}5"], check=True, capture_output=True)
    for bench, runs in (("big", 2), ("big5", 5)):
        for svg in (False, True):
            cmd = [args.seer, "--db", str(db), "profile", "diff", "--name", bench, "--base", "base", "--head", "head",
                   "--json"] + (["--svg", str(args.work / "diff.svg")] if svg else [])
            times = [timed(cmd) for _ in range(args.repeat)]
            print(f"seer profile diff, {runs} runs of 1,000,000 samples a side"
                  f"{' with the differential flame graph' if svg else ''}: median {1000 * statistics.median(times):.0f} ms "
                  f"({1000 * min(times):.0f}-{1000 * max(times):.0f})")


if __name__ == "__main__":
    main()
