#!/usr/bin/env python3
"""Real profiles of seer's own code, for the profiler's tests and benchmarks.

Builds `examples/profile-workload.rs` in release with frame pointers (so that `perf record -g`
unwinds it), then profiles it with `perf record -F FREQ -g` (root, or perf_event_paranoid <= 1), base and slow runs alternating:
  - `--base N` runs of the workload as it is (A/A pairs: the same build, profiled again);
  - `--slow N` runs with `--slow checksum=1.10`: one function, holding about 3% of the samples,
    does 10% more work (the injected +10% self-time regression).
Each run's `perf script` output is collapsed with inferno-collapse-perf (installed with
`cargo install inferno --locked` when missing) into gzip'd folded stacks in --pool, named
base-NN.folded.gz and slow-NN.folded.gz. With --fixtures DIR, the first 12 of each are copied
there, with the first 300 samples of one run's raw `perf script` output (perf-script-head.txt.gz).

Usage: profile-fixtures.py [--pool DIR] [--base 40] [--slow 20] [--freq 20000] [--rounds 1000]
                           [--fixtures tests/fixtures/profiles]

With --shapes library,short,lengthen it builds instead the pools of the three workloads of
`scripts/profile-workloads/workloads.rs` (compiled with rustc alone, in seconds), one directory
each under --pool, for `bench_profile_detector.py --shapes`:
  - library:  ~8,000 samples a run at 1,999 Hz; the slowed `rank_records` spends its time in
              std's sort frames, which `dedupe_keys` also calls;
  - short:    ~3,000 samples a run at 1,499 Hz;
  - lengthen: ~9,000 samples a run at 2,999 Hz; the slowed `simulate_step` holds 40% of the
              time, so +20% lengthens the run by 8% and dilutes every other function.
Each pool: units.txt (the work per function, calibrated once), base-NN.perf.gz (--base runs)
and, for each slowed function F and factor X, slow-F-X-NN.perf.gz (--slow runs): raw
`perf script` output, gzip'd. Base and slowed runs alternate, so that the machine's drifts fall
on both alike.
"""

import argparse
import gzip
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def sh(cmd, **kw):
    out = subprocess.run(cmd, capture_output=True, **kw)
    if out.returncode != 0:
        sys.exit(f"{' '.join(map(str, cmd))} failed ({out.returncode}):\n{out.stderr.decode(errors='replace')[-3000:]}")
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pool", default="/tmp/seer-profile-pool", type=Path)
    ap.add_argument("--base", type=int, default=40)
    ap.add_argument("--slow", type=int, default=20)
    ap.add_argument("--freq", type=int, default=20000)
    ap.add_argument("--rounds", type=int, default=1000)
    ap.add_argument("--fixtures", type=Path)
    ap.add_argument("--shapes", help="comma-separated: library, short, lengthen")
    args = ap.parse_args()
    if args.shapes:
        return shapes(args)

    target = ROOT / "target" / "fp"
    env = dict(os.environ, CARGO_TARGET_DIR=str(target), RUSTFLAGS="-C force-frame-pointers=yes")
    sh(["cargo", "build", "--release", "--example", "profile-workload"], cwd=ROOT, env=env)
    workload = target / "release" / "examples" / "profile-workload"
    collapse = shutil.which("inferno-collapse-perf")
    if collapse is None:
        sh(["cargo", "install", "inferno", "--locked"])
        collapse = shutil.which("inferno-collapse-perf") or str(Path.home() / ".cargo/bin/inferno-collapse-perf")
    args.pool.mkdir(parents=True, exist_ok=True)
    data = args.pool / "perf.data"
    # Base and slow runs alternate, so that the machine's slow drifts over time fall on both alike.
    plan = []
    for k in range(1, max(args.base, args.slow) + 1):
        if k <= args.base:
            plan.append(("base", k, []))
        if k <= args.slow:
            plan.append(("slow", k, ["--slow", "checksum=1.10"]))
    for kind, k, extra in plan:
        out = args.pool / f"{kind}-{k:02}.folded.gz"
        if out.exists():
            continue
        sh(["perf", "record", "-F", str(args.freq), "-g", "-o", str(data), "--", str(workload),
            "--rounds", str(args.rounds), *extra])
        script = sh(["perf", "script", "-i", str(data)]).stdout
        if kind == "base" and k == 1:
            # The first 300 samples of a real `perf script`, for the parser's tests.
            head = b"\n\n".join(script.split(b"\n\n")[:300]) + b"\n\n"
            (args.pool / "perf-script-head.txt.gz").write_bytes(gzip.compress(head, mtime=0))
        folded = sh([collapse], input=script).stdout
        out.write_bytes(gzip.compress(folded, mtime=0))
        print(f"{out.name}: {len(folded.splitlines())} stacks", flush=True)
    data.unlink(missing_ok=True)
    if args.fixtures:
        args.fixtures.mkdir(parents=True, exist_ok=True)
        names = [f"{kind}-{k:02}.folded.gz" for kind in ("base", "slow") for k in range(1, 13)]
        for name in names + ["perf-script-head.txt.gz"]:
            shutil.copy(args.pool / name, args.fixtures / name)
        print(f"copied {len(names) + 1} fixtures to {args.fixtures}")


# Each shape: sampling frequency, seconds a run, and the slowdowns injected (function, factors).
SHAPES = {
    "library": (1999, 4.0, [("rank_records", ["1.05", "1.10", "1.20"]), ("scan_bytes", ["1.10", "1.20"])]),
    "short": (1499, 2.0, [("crc_update", ["1.05", "1.10", "1.20"]), ("lookup_table", ["1.10", "1.20"])]),
    "lengthen": (2999, 3.0, [("simulate_step", ["1.05", "1.10", "1.20"]), ("normalize", ["1.10", "1.20"])]),
}


def shapes(args):
    binary = args.pool / "workloads"
    args.pool.mkdir(parents=True, exist_ok=True)
    sh(["rustc", "--edition", "2021", "-O", "-C", "force-frame-pointers=yes", "-g",
        str(ROOT / "scripts/profile-workloads/workloads.rs"), "-o", str(binary)])
    for name in args.shapes.split(","):
        freq, seconds, slowed = SHAPES[name]
        pool = args.pool / name
        pool.mkdir(exist_ok=True)
        units_file = pool / "units.txt"
        if not units_file.exists():
            units_file.write_text(sh([str(binary), name, "--calibrate", str(seconds)]).stdout.decode())
        units = units_file.read_text().strip()
        variants = [(f"slow-{f}-{x}", ["--slow", f"{f}={x}"]) for f, factors in slowed for x in factors]
        plan = []
        for k in range(1, max(args.base, args.slow) + 1):
            if k <= args.base:
                plan.append(("base", k, []))
            if k <= args.slow:
                plan.extend((kind, k, extra) for kind, extra in variants)
        data = pool / "perf.data"
        for kind, k, extra in plan:
            out = pool / f"{kind}-{k:02}.perf.gz"
            if out.exists():
                continue
            sh(["perf", "record", "-q", "-F", str(freq), "-g", "-o", str(data), "--", str(binary), name,
                "--units", units, *extra])
            script = sh(["perf", "script", "-i", str(data)]).stdout
            out.write_bytes(gzip.compress(script, mtime=0))
            print(f"{name}/{out.name}: {script.count(b'cpu-clock')} samples", flush=True)
        data.unlink(missing_ok=True)


if __name__ == "__main__":
    main()
