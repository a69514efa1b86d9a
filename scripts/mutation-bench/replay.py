#!/usr/bin/env python3
"""Replay the mutation benchmark through seer exactly as a CI would.

For each change of `generate.py`'s output, in its fixed (seeded) order:
  1. after the warm-up, `seer select --commit SHA --format json` picks the tests to run;
  2. `seer record` stores the change's real outcome (its full nextest JUnit report), as a
     post-merge or nightly full run would;
  3. every --train-every changes, `seer train` refits the model.
A selection is scored against the real outcome of the same change: failing tests selected,
faulty changes caught (at least one failing test selected), share of test time and of tests
selected. Test time is counted two ways: as recorded in the change's own run (where a failing
test's time includes its panic or, for a mutant that loops, the 4 s timeout, so failing tests
hold most of it), and at each test's typical duration (its median over all its passing runs in the
benchmark), the cost of the suite when it works. The oracle (exactly the failing tests) is
reported beside them as the floor no selector can go under. Changes whose build failed (nextest exit 101, no report) are counted apart: the build
catches them whatever is selected. Then `seer eval` replays the same store with the same warm-up
and retraining, giving the baselines (run all, random and recently-failed-first at the model's
time, the history-only model) on the same changes.

When coverage.py has written per-test coverage of the base (DIR/coverage/), it is recorded at the
base first (`seer coverage record`), unless --no-coverage; with --regions, its region coverage
(DIR/coverage-json/, `coverage.py --format json`) instead.

Day one (`--warmup 0`): selection starts at the very first change, on an empty store, with no model
trained beforehand; the replay then reports each change by the state of seer's trust gate (closed:
seer observes and every test runs unless coverage accounts for the whole change; open: the model's
selection runs), the change at which it first opens, and what each phase caught and cost.
`--min-validation-failing N` and `--drift-window-runs N` set the gate's settings, `--coverage-recall R`
how many of the tests that ran the change the model keeps (`.config/seer.toml` in the bench
repository, untracked, removed afterwards; a seer without these settings ignores them).

Usage: replay.py [--bench DIR] [--seer PATH] [--warmup N] [--train-every K] [--json OUT] [--no-coverage]
                 [--min-validation-failing N] [--drift-window-runs N] [--coverage-recall R] [--regions]
"""

import argparse
import json
import statistics
import shutil
import subprocess
import sys
from pathlib import Path


def seer(binary, db, *args, check=True):
    out = subprocess.run([binary, "--db", str(db), *args], capture_output=True, text=True)
    if check and out.returncode != 0:
        sys.exit(f"seer {' '.join(args)} failed ({out.returncode}):\n{out.stderr}")
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bench", default="/tmp/seer-mutation-bench", type=Path)
    ap.add_argument("--seer", default=str(Path(__file__).resolve().parents[2] / "target/release/seer"))
    ap.add_argument("--warmup", type=int, default=100, help="changes recorded before selection starts")
    ap.add_argument("--train-every", type=int, default=25)
    ap.add_argument("--json", type=Path, help="write the figures here")
    ap.add_argument("--no-coverage", action="store_true",
                    help="do not record the per-test coverage of coverage.py (DIR/coverage/) at the base")
    ap.add_argument("--min-validation-failing", type=int,
                    help="the trust gate's minimum of failing tests in a model's validation window")
    ap.add_argument("--drift-window-runs", type=int,
                    help="the trust gate's window of newest runs for the observed recall")
    ap.add_argument("--regions", action="store_true",
                    help="record the region coverage of DIR/coverage-json/ (coverage.py --format json) instead of LCOV")
    ap.add_argument("--coverage-recall", type=float,
                    help="select.coverage_recall: the share of predicted failures among the tests that ran the change "
                         "that the model's order keeps")
    args = ap.parse_args()

    changes = [json.loads(line) for line in open(args.bench / "changes.jsonl")]
    repo = args.bench / "repo"
    work = args.bench / "replay"
    if work.exists():
        shutil.rmtree(work)
    work.mkdir()
    db = work / "seer.db"
    config = repo / ".config" / "seer.toml"
    if config.exists():
        config.unlink()
    settings = {"min_validation_failing": args.min_validation_failing, "drift_window_runs": args.drift_window_runs,
                "coverage_recall": args.coverage_recall}
    settings = {k: v for k, v in settings.items() if v is not None}
    if settings:
        config.write_text("[select]\n" + "".join(f"{k} = {v}\n" for k, v in settings.items()))
    coverage = sorted((args.bench / "coverage-json").glob("*.json")) if args.regions else \
        sorted((args.bench / "coverage").glob("*.lcov"))
    if coverage and not args.no_coverage:
        base = subprocess.run(["git", "rev-parse", "base"], cwd=repo, capture_output=True, text=True,
                              check=True).stdout.strip()
        seer(args.seer, db, "coverage", "record", "--commit", base, "--root", str(repo), *map(str, coverage))
        print(f"coverage of {len(coverage)} tests recorded at the base {base[:10]}")

    totals = dict(changes=0, build_failures=0, evaluated=0, faulty=0, faulty_caught=0, failing=0,
                  failing_caught=0, tests=0, tests_selected=0, time=0.0, time_selected=0.0, fell_back=0)
    misses = []
    recorded = 0
    scored = []  # (results, chosen, failing) of each evaluated change
    kinds = {}  # the same, by kind of change (single, pair, benign)
    phases = {}  # the same, by the trust gate's state: closed, open
    first_open = None  # the number of the first change selected for with the gate open (1-based)
    gate_closings = 0  # open -> closed again (drift, or a new model with thin validation)
    gate_was_open = False
    for c in changes:
        totals["changes"] += 1
        if c["junit"] is None:
            totals["build_failures"] += 1
            continue
        run_id = f"change-{c['index']:04}"
        selection = None
        if recorded >= args.warmup:
            out = seer(args.seer, db, "select", "--commit", c["sha"], "--repo", str(repo), "--format", "json")
            selection = json.loads(out.stdout)
        seer(args.seer, db, "record", "--repo", str(repo), "--commit", c["sha"], "--run-id", run_id,
             "--time", str(1_767_225_600 + 60 * c["index"]), str(args.bench / c["junit"]))
        recorded += 1
        if selection is not None:
            run = json.loads(seer(args.seer, db, "show", "run", run_id, "--all", "--json").stdout)
            results = [t for t in run["tests"] if t["outcome"] != "skip"]
            if selection["mode"] == "all":
                totals["fell_back"] += 1
                chosen = {t["id"] for t in results}
            else:
                chosen = {t["id"] for t in selection["selected"]}
            gate_open = bool((selection.get("gate") or {}).get("open"))
            if gate_open and first_open is None:
                first_open = totals["evaluated"] + 1
            gate_closings += gate_was_open and not gate_open
            gate_was_open = gate_open
            phases.setdefault("open" if gate_open else "closed", []).append((results, chosen, {t["id"] for t in results if t["outcome"] in ("fail", "error")}))
            failing = {t["id"] for t in results if t["outcome"] in ("fail", "error")}
            scored.append((results, chosen, failing))
            kinds.setdefault(c["kind"], []).append((results, chosen, failing))
            totals["evaluated"] += 1
            totals["failing"] += len(failing)
            totals["failing_caught"] += len(failing & chosen)
            if failing:
                totals["faulty"] += 1
                if failing & chosen:
                    totals["faulty_caught"] += 1
                else:
                    misses.append({"change": c["index"], "mutants": c["mutants"], "failing": sorted(failing)})
            totals["tests"] += len(results)
            totals["tests_selected"] += sum(1 for t in results if t["id"] in chosen)
            totals["time"] += sum(t.get("duration_s") or 0.0 for t in results)
            totals["time_selected"] += sum(t.get("duration_s") or 0.0 for t in results if t["id"] in chosen)
        if recorded >= args.warmup and (recorded - args.warmup) % args.train_every == 0:
            seer(args.seer, db, "train", check=False)

    t = totals
    # Typical durations: each test's median over its passing runs in the whole benchmark.
    passing = {}
    for results, _, _ in scored:
        for r in results:
            if r["outcome"] == "pass" and r.get("duration_s") is not None:
                passing.setdefault(r["id"], []).append(r["duration_s"])
    typical = {k: statistics.median(v) for k, v in passing.items()}
    fallback = statistics.median(typical.values()) if typical else 1.0
    cost = lambda i: typical.get(i, fallback)
    typical_total = sum(cost(r["id"]) for results, _, _ in scored for r in results)
    typical_selected = sum(cost(r["id"]) for results, chosen, _ in scored for r in results if r["id"] in chosen)
    oracle_typical = sum(cost(i) for _, _, failing in scored for i in failing)
    oracle_actual = sum(r.get("duration_s") or 0.0 for results, _, failing in scored for r in results
                        if r["id"] in failing)
    figures = {
        "changes": t["changes"],
        "build_failures": t["build_failures"],
        "warmup": args.warmup,
        "train_every": args.train_every,
        "evaluated_changes": t["evaluated"],
        "faulty_changes": t["faulty"],
        "failing_tests": t["failing"],
        "failing_test_recall": t["failing_caught"] / max(t["failing"], 1),
        "faulty_change_recall": t["faulty_caught"] / max(t["faulty"], 1),
        "test_fraction": t["tests_selected"] / max(t["tests"], 1),
        "time_fraction": t["time_selected"] / max(t["time"], 1e-9),
        "typical_time_fraction": typical_selected / max(typical_total, 1e-9),
        "oracle_test_fraction": t["failing"] / max(t["tests"], 1),
        "oracle_time_fraction": oracle_actual / max(t["time"], 1e-9),
        "oracle_typical_time_fraction": oracle_typical / max(typical_total, 1e-9),
        "fell_back_to_all": t["fell_back"],
        "missed_faulty_changes": misses,
    }
    evaluation = json.loads(seer(args.seer, db, "eval", "--warmup", str(args.warmup), "--retrain-every",
                                 str(args.train_every), "--json").stdout)
    figures["eval"] = evaluation
    by_kind = {}
    for kind, rows in sorted(kinds.items()):
        failing = sum(len(f) for _, _, f in rows)
        by_kind[kind] = {
            "changes": len(rows),
            "failing_tests": failing,
            "failing_test_recall": sum(len(f & ch) for _, ch, f in rows) / max(failing, 1),
            "test_fraction": sum(len(ch & {r["id"] for r in res}) for res, ch, _ in rows)
            / max(sum(len(res) for res, _, _ in rows), 1),
            "typical_time_fraction": sum(cost(r["id"]) for res, ch, _ in rows for r in res if r["id"] in ch)
            / max(sum(cost(r["id"]) for res, _, _ in rows for r in res), 1e-9),
        }
    figures["by_kind"] = by_kind
    by_gate = {}
    for phase, rows in sorted(phases.items()):
        failing = sum(len(f) for _, _, f in rows)
        faulty = [(ch, f) for _, ch, f in rows if f]
        by_gate[phase] = {
            "changes": len(rows),
            "faulty_changes": len(faulty),
            "faulty_change_recall": sum(1 for ch, f in faulty if f & ch) / max(len(faulty), 1),
            "failing_tests": failing,
            "failing_test_recall": sum(len(f & ch) for _, ch, f in rows) / max(failing, 1),
            "typical_time_fraction": sum(cost(r["id"]) for res, ch, _ in rows for r in res if r["id"] in ch)
            / max(sum(cost(r["id"]) for res, _, _ in rows for r in res), 1e-9),
        }
    figures["by_gate"] = by_gate
    figures["gate_first_open"] = first_open
    figures["gate_closings"] = gate_closings
    figures["min_validation_failing"] = args.min_validation_failing
    print(f"select-driven replay: {t['evaluated']} changes after a warm-up of {args.warmup} "
          f"({t['faulty']} faulty, {t['failing']} failing tests; {t['build_failures']} build failures apart)")
    print(f"  failing tests caught   {100 * figures['failing_test_recall']:.1f}%")
    print(f"  faulty changes caught  {100 * figures['faulty_change_recall']:.1f}%")
    print(f"                         seer    oracle (exactly the failing tests)")
    print(f"  tests selected         {100 * figures['test_fraction']:5.1f}%  {100 * figures['oracle_test_fraction']:5.1f}%")
    print(f"  time, as recorded      {100 * figures['time_fraction']:5.1f}%  {100 * figures['oracle_time_fraction']:5.1f}%")
    print(f"  time, typical          {100 * figures['typical_time_fraction']:5.1f}%  "
          f"{100 * figures['oracle_typical_time_fraction']:5.1f}%")
    print(f"  fell back to all       {t['fell_back']}")
    print(f"  by kind of change      {'changes':>7} {'failing':>7} {'caught':>7} {'tests':>7} {'typical time':>12}")
    for kind, k in by_kind.items():
        print(f"    {kind:20} {k['changes']:7} {k['failing_tests']:7} {100 * k['failing_test_recall']:6.1f}% "
              f"{100 * k['test_fraction']:6.1f}% {100 * k['typical_time_fraction']:11.1f}%")
    print(f"  trust gate: first open at change {first_open}, closed again {gate_closings} times")
    print(f"    {'gate':8} {'changes':>7} {'faulty':>6} {'caught':>7} {'failing':>7} {'caught':>7} {'typical time':>12}")
    for phase, k in by_gate.items():
        print(f"    {phase:8} {k['changes']:7} {k['faulty_changes']:6} {100 * k['faulty_change_recall']:6.1f}% "
              f"{k['failing_tests']:7} {100 * k['failing_test_recall']:6.1f}% {100 * k['typical_time_fraction']:11.1f}%")
    print(f"seer eval on the same store (warm-up {args.warmup}, retrain every {args.train_every}):")
    print(f"  {'contender':32} {'test recall':>11} {'run recall':>10} {'time':>7} {'APFD':>6}")
    for c in evaluation["contenders"]:
        print(f"  {c['name']:32} {100 * c['test_recall']:10.1f}% {100 * c['run_recall']:9.1f}% "
              f"{100 * c['time_fraction']:6.1f}% {c['apfd']:6.3f}")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=1))
    if config.exists():
        config.unlink()


if __name__ == "__main__":
    main()
