#!/usr/bin/env python3
"""How much region coverage could narrow line coverage on the mutation benchmark.

Line coverage runs every test that ran a changed line. Region coverage (llvm-cov's JSON export:
segments with a line, a column and a count) also says which columns of a line ran, so a test that
reached a line but not the changed part of it (the right side of `&&`, a branch on the same line,
a closure) could be let go. This measures that ceiling before building it into seer: for each
change of the benchmark, the changed columns of each changed base line (what a same-length hunk's
old and new lines do not share at either end), and

  - line rule: the tests whose LCOV ran a changed line (within 1 line where the changed lines hold
    no executable line, as seer's margin);
  - region rule: the same, except that on a changed line with a column span, a test counts only
    if a segment with a count covering that span ran (no segment with a count: the line rule);

each scored against the change's real JUnit outcome (failing tests caught, faulty changes caught,
typical test time: each test's median passing duration over the benchmark), beside the oracle.
This is the coverage rule alone: where seer's coverage does not account for a change, the model
decides the rest, which neither rule here models.

Needs DIR/coverage/ (LCOV) and DIR/coverage-json/ (`coverage.py --format json`) of the base.

Usage: regions.py --bench DIR [--json OUT]
"""

import argparse
import bisect
import json
import re
import statistics
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path


def junit(path):
    """test id -> (failed, seconds), as nextest's JUnit names them; skipped tests left out."""
    out = {}
    for case in ET.parse(path).iter("testcase"):
        if any(child.tag == "skipped" for child in case):
            continue
        failed = any(child.tag in ("failure", "error") for child in case)
        out[f"{case.get('classname')}::{case.get('name')}"] = (failed, float(case.get("time") or 0))
    return out


def relative(path, repo):
    return path[len(str(repo)) + 1:] if path.startswith(str(repo) + "/") else path


def read_lcov(directory, repo):
    """(test -> path -> lines run, path -> executable lines)."""
    hit, executable = {}, {}
    for tracefile in directory.glob("*.lcov"):
        test = path = None
        for line in tracefile.read_text().splitlines():
            if line.startswith("TN:"):
                test = line[3:]
            elif line.startswith("SF:"):
                path = relative(line[3:], repo)
            elif line.startswith("DA:"):
                number, count = (int(v) for v in line[3:].split(",")[:2])
                executable.setdefault(path, set()).add(number)
                if count > 0:
                    hit.setdefault(test, {}).setdefault(path, set()).add(number)
    return hit, executable


def read_segments(directory, repo):
    """test -> path -> segments [line, column, count, has_count, region_entry, gap]."""
    segments = {}
    for export in directory.glob("*.json"):
        document = json.loads(export.read_text())
        for f in document["data"][0]["files"]:
            segments.setdefault(document["test"], {})[relative(f["filename"], repo)] = f["segments"]
    return segments


def changed_spans(repo, base, sha):
    """(path, base line, first column, column after the last) per changed base line; the columns
    are None where the hunk is not a same-length replacement (whole lines)."""
    diff = subprocess.run(["git", "diff", "-U0", base, sha, "--", "*.rs"], cwd=repo, capture_output=True,
                          text=True, check=True).stdout
    spans, path, old, new, start = [], None, [], [], 0

    def flush():
        if path is None:
            return
        if old and len(old) == len(new):
            for i, (a, b) in enumerate(zip(old, new)):
                head = 0
                while head < min(len(a), len(b)) and a[head] == b[head]:
                    head += 1
                tail = 0
                while tail < min(len(a), len(b)) - head and a[-1 - tail] == b[-1 - tail]:
                    tail += 1
                spans.append((path, start + i, head + 1, max(len(a) - tail + 1, head + 2)))
        else:
            spans.extend((path, start + i, None, None) for i in range(max(len(old), 1)))

    for line in diff.splitlines():
        if line.startswith("--- "):
            continue
        if line.startswith("+++ "):
            flush()
            path, old, new = (None if line == "+++ /dev/null" else line[6:]), [], []
            continue
        hunk = re.match(r"@@ -(\d+)", line)
        if hunk:
            flush()
            old, new, start = [], [], int(hunk.group(1))
        elif line.startswith("-"):
            old.append(line[1:])
        elif line.startswith("+"):
            new.append(line[1:])
    flush()
    return spans


def ran_columns(segments, line, first, after):
    """Whether a segment with a count covering `line`'s columns first..after ran; None when no
    segment with a count covers them."""
    keys = [(s[0], s[1]) for s in segments]
    active = bisect.bisect_right(keys, (line, first)) - 1
    inside = [k for k in range(active + 1, len(segments)) if keys[k] < (line, after)]
    counted = [segments[k] for k in [active, *inside] if k >= 0 and segments[k][3]]
    return any(s[2] > 0 for s in counted) if counted else None


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bench", required=True, type=Path)
    ap.add_argument("--json", type=Path, help="write the figures here")
    args = ap.parse_args()
    repo = args.bench / "repo"
    hit, executable = read_lcov(args.bench / "coverage", repo)
    segments = read_segments(args.bench / "coverage-json", repo)
    changes = [json.loads(line) for line in open(args.bench / "changes.jsonl")]
    outcomes = [(c, junit(args.bench / c["junit"])) for c in changes if c["junit"] is not None]
    passing = {}
    for _, results in outcomes:
        for test, (failed, seconds) in results.items():
            if not failed:
                passing.setdefault(test, []).append(seconds)
    typical = {t: statistics.median(v) for t, v in passing.items()}
    fallback = statistics.median(typical.values())
    cost = lambda t: typical.get(t, fallback)

    def ran_line(test, path, line, margin):
        lines = hit.get(test, {}).get(path, set())
        return any(line + k in lines for k in range(-margin, margin + 1))

    totals = {k: 0.0 for k in ("time", "oracle", "failing", "faulty")}
    rules = {"line": {"time": 0.0, "failing": 0, "faulty": 0}, "region": {"time": 0.0, "failing": 0, "faulty": 0}}
    narrowed_lines = 0
    for change, results in outcomes:
        chosen = {"line": set(), "region": set()}
        for path, line, first, after in changed_spans(repo, change["base"], change["sha"]):
            is_executable = line in executable.get(path, set())
            for test in results:
                if not ran_line(test, path, line, 0 if is_executable else 1):
                    continue
                chosen["line"].add(test)
                by_region = None
                if first is not None and is_executable and path in segments.get(test, {}):
                    by_region = ran_columns(segments[test][path], line, first, after)
                if by_region is False:
                    narrowed_lines += 1
                else:
                    chosen["region"].add(test)
        failing = {t for t, (failed, _) in results.items() if failed}
        totals["time"] += sum(cost(t) for t in results)
        totals["oracle"] += sum(cost(t) for t in failing)
        totals["failing"] += len(failing)
        totals["faulty"] += bool(failing)
        for name, tests in chosen.items():
            rules[name]["time"] += sum(cost(t) for t in tests if t in results)
            rules[name]["failing"] += len(failing & tests)
            rules[name]["faulty"] += bool(failing & tests)
    figures = {
        "changes": len(outcomes),
        "failing_tests": int(totals["failing"]),
        "faulty_changes": int(totals["faulty"]),
        "oracle_typical_time_fraction": totals["oracle"] / totals["time"],
        "tests_let_go_on_a_changed_line": narrowed_lines,
    }
    print(f"{args.bench.name}: {len(outcomes)} changes, {int(totals['faulty'])} faulty, "
          f"{int(totals['failing'])} failing tests; the coverage rule alone")
    print(f"  {'rule':8} {'failing':>8} {'faulty':>8} {'typical time':>13}")
    for name, r in rules.items():
        figures[name] = {
            "failing_test_recall": r["failing"] / max(totals["failing"], 1),
            "faulty_change_recall": r["faulty"] / max(totals["faulty"], 1),
            "typical_time_fraction": r["time"] / totals["time"],
        }
        f = figures[name]
        print(f"  {name:8} {f['failing_test_recall']:8.1%} {f['faulty_change_recall']:8.1%} "
              f"{f['typical_time_fraction']:13.1%}")
    print(f"  {'oracle':8} {'':8} {'':8} {figures['oracle_typical_time_fraction']:13.1%}")
    print(f"  (test, changed line) pairs the columns let go: {narrowed_lines}")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
