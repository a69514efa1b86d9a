#!/usr/bin/env python3
"""Per-test coverage of the mutation benchmark's crate at its base commit, as LCOV (lines) or,
with `--format json`, llvm-cov's JSON export (regions).

Checks the benchmark's repository out at `base` and runs `scripts/rust-test-coverage.py` on it:
one file per test under DIR/coverage/ (DIR/coverage-json/ for JSON), named as nextest's JUnit report names the test.
`replay.py` records them with `seer coverage record --commit BASE` before the replay: the
coverage a nightly job would have taken of the base that every change branches from.

Needs llvm-profdata and llvm-cov of rustc's LLVM major version, e.g. `apt-get install llvm-22`.

Usage: coverage.py [--bench DIR] [--format lcov|json]
"""

import argparse
import subprocess
import sys
from pathlib import Path


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bench", default="/tmp/seer-mutation-bench", type=Path)
    ap.add_argument("--format", choices=["lcov", "json"], default="lcov")
    args = ap.parse_args()
    repo = args.bench / "repo"
    subprocess.run(["git", "checkout", "-q", "--detach", "base"], cwd=repo, check=True)
    script = Path(__file__).resolve().parents[1] / "rust-test-coverage.py"
    done = subprocess.run([sys.executable, str(script), "--repo", str(repo), "--out", str(args.bench / ("coverage-json" if args.format == "json" else "coverage")),
                           "--target-dir", str(args.bench / "coverage-target"), "--format", args.format])
    sys.exit(done.returncode)


if __name__ == "__main__":
    main()
