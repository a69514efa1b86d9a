#!/usr/bin/env python3
"""Check `seer select --format nextest` against the real cargo-nextest.

After replay.py, for the last N changes of the benchmark: ask seer for the selection as a list and
as nextest arguments (a filterset excluding the skipped tests), run `cargo nextest list ARGS` in
the crate at that commit, and compare the tests nextest matches with the list. Exits 1 on any
difference.

Usage: check-nextest-filter.py [--bench DIR] [--seer PATH] [--last N]
"""

import argparse
import json
import subprocess
import sys
from pathlib import Path


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bench", default="/tmp/seer-mutation-bench", type=Path)
    ap.add_argument("--seer", default=str(Path(__file__).resolve().parents[2] / "target/release/seer"))
    ap.add_argument("--last", type=int, default=5)
    args = ap.parse_args()
    repo, db = args.bench / "repo", args.bench / "replay" / "seer.db"
    changes = [json.loads(line) for line in open(args.bench / "changes.jsonl")]
    bad = 0
    for c in [c for c in changes if c["junit"]][-args.last:]:
        select = [args.seer, "--db", str(db), "select", "--commit", c["sha"], "--repo", str(repo), "--dry-run"]
        listed = sorted(subprocess.run(select, capture_output=True, text=True, check=True).stdout.split())
        nextest_args = subprocess.run(select + ["--format", "nextest"], capture_output=True, text=True,
                                      check=True).stdout.splitlines()
        # `--no-tests=pass` is an option of `cargo nextest run`, not of `list`.
        nextest_args = [a for a in nextest_args if not a.startswith("--no-tests")]
        subprocess.run(["git", "checkout", "-q", c["sha"]], cwd=repo, check=True)
        out = subprocess.run(["cargo", "nextest", "list", *nextest_args, "--message-format", "json"],
                             cwd=repo, capture_output=True, text=True, check=True).stdout
        doc = json.loads(out)
        matched = sorted(f"{binary}::{name}" for binary, suite in doc["rust-suites"].items()
                         for name, t in suite["testcases"].items() if t["filter-match"]["status"] == "matches")
        same = matched == listed
        bad += not same
        print(f"change {c['index']}: seer selected {len(listed)}, nextest matched {len(matched)}: "
              f"{'identical' if same else 'DIFFERENT'}")
    subprocess.run(["git", "checkout", "-q", "base"], cwd=repo, check=True)
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
