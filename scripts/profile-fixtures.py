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
    args = ap.parse_args()

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


if __name__ == "__main__":
    main()
