#!/usr/bin/env python3
"""Stale coverage on a real history: how recall and test time move when the per-test coverage
was taken N commits before each change's base.

A Python project's real git history (first-parent commits of its main branch) gives the bases.
On each base, one seeded single mutant (the same AST mutations as `python-mutation-bench.py`)
is the change; the whole suite on the mutant is the truth. For each staleness N, a fresh store
holds the base's run (its tests and durations) and the per-test coverage taken at the commit N
first-parent steps before the base (`pytest --seer-coverage`'s JSON report of that commit), and
`seer select --commit MUTANT` chooses. Scored as the mutation benchmark: failing tests caught,
faulty changes caught, test time (the base's durations). Nothing is tuned here.

Usage:
  python-stale-coverage-bench.py --git /work/.mirror/python-semver+python-semver/repo \\
      --src src/semver --tests tests --seer target/release/seer --out /tmp/psb-semver
"""

import argparse
import importlib.util
import json
import os
import random
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
spec = importlib.util.spec_from_file_location("mutation_bench", HERE / "python-mutation-bench.py")
mb = importlib.util.module_from_spec(spec)
spec.loader.exec_module(mb)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--git", required=True, help="a git repository with the project's history")
    ap.add_argument("--src", required=True)
    ap.add_argument("--tests", nargs="+", required=True)
    ap.add_argument("--pythonpath", default="src")
    ap.add_argument("--deps", nargs="*", default=[])
    ap.add_argument("--seer", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--bases", type=int, default=40)
    ap.add_argument("--stale", type=int, nargs="+", default=[0, 5, 20, 50])
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    out = Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    seer_bin = str(Path(args.seer).resolve())
    python = mb.make_venv(out, args.deps)
    repo = out / "repo"
    if repo.exists():
        shutil.rmtree(repo)
    mb.run(["git", "clone", "-q", args.git, str(repo)])
    (repo / ".git" / "info" / "exclude").write_text(".seer-coverage*\n.pytest_cache/\n__pycache__/\n")
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1", PYTHONPATH=str(repo / args.pythonpath))
    for var in ("SEER_URL", "SEER_DB", "SEER_BIN", "GITHUB_ACTIONS", "GITLAB_CI", "CI"):
        env.pop(var, None)
    pytest = [python, "-m", "pytest", "-p", "no:cacheprovider", "-o", "addopts=", "-q"] + args.tests
    history = mb.git(repo, "rev-list", "--first-parent", "HEAD").split()[::-1]  # oldest first
    most = max(args.stale)
    bases = list(range(len(history) - args.bases, len(history)))
    assert bases[0] - most >= 0, "not enough history for the largest staleness"

    def checkout(sha):
        mb.git(repo, "checkout", "-q", "-f", sha)
        mb.git(repo, "clean", "-q", "-fdx", "-e", ".seer-coverage*")

    cov_dir = out / "coverage"
    cov_dir.mkdir(exist_ok=True)

    def coverage_of(sha):
        """The plugin's per-test coverage JSON of `sha` (made once)."""
        path = cov_dir / f"{sha}.json"
        if not path.exists():
            checkout(sha)
            r = mb.run(pytest + ["--seer-coverage", "--seer-bin", "/bin/true"], cwd=repo, env=env, check=False,
                       timeout=mb.SUITE_TIMEOUT_S)
            made = repo / ".seer-coverage.json"
            if not made.exists():
                print(f"  no coverage at {sha[:10]}: {r.stdout[-300:]}", flush=True)
                return None
            shutil.move(made, path)
        return path

    rng = random.Random(args.seed)
    rows = []
    for n, i in enumerate(bases):
        base = history[i]
        checkout(base)
        if not (repo / args.src).exists():
            continue
        base_xml = out / f"base-{n}.xml"
        mb.run(pytest + ["--junitxml", str(base_xml)], cwd=repo, env=env, check=False, timeout=mb.SUITE_TIMEOUT_S)
        if not base_xml.exists():
            continue
        base_cases = mb.junit_cases(base_xml)
        base_failing = {t for t, (_, f, _) in base_cases.items() if f}
        # One mutant of this base's code.
        sites = []
        for f in sorted((repo / args.src).rglob("*.py")):
            rel = str(f.relative_to(repo))
            sites += [(rel, m) for m in mb.mutations(rel, f.read_text())]
        rel, m = rng.choice(sites)
        (repo / rel).write_text(mb.apply((repo / rel).read_text(), [m]))
        mb.git(repo, "-c", "user.name=bench", "-c", "user.email=b@x", "commit", "-q", "-am", f"mutant {n}")
        sha = mb.git(repo, "rev-parse", "HEAD")
        truth_xml = out / f"truth-{n}.xml"
        try:
            mb.run(pytest + ["--junitxml", str(truth_xml)], cwd=repo, env=env, check=False, timeout=mb.SUITE_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            continue
        truth = mb.junit_cases(truth_xml)
        # Failing because of the change: not failing on the base already.
        failing = sorted(t for t, (_, f, _) in truth.items() if f and t not in base_failing)
        row = {"base": base, "mutant": m[4], "failing": failing, "tests": len(truth), "by_stale": {}}
        durations = {t: d for t, (d, _, _) in base_cases.items()}
        for stale in args.stale:
            cov = coverage_of(history[i - stale])
            mb.git(repo, "checkout", "-q", "-f", sha)
            db = out / "stores" / f"{n}-{stale}" / "seer.db"
            if db.parent.exists():
                shutil.rmtree(db.parent)
            db.parent.mkdir(parents=True)
            mb.run([seer_bin, "--db", str(db), "record", "--repo", str(repo), "--commit", base, str(base_xml)], env=env)
            if cov is not None:
                mb.run([seer_bin, "--db", str(db), "coverage", "record", "--root", str(repo), "--commit",
                        history[i - stale], str(cov)], env=env)
            doc = json.loads(mb.run([seer_bin, "--db", str(db), "select", "--repo", str(repo), "--commit", sha,
                                     "--format", "json", "--dry-run"], env=env).stdout)
            skipped = set(doc["skipped"])
            chosen = [t for t in truth if t not in skipped]
            row["by_stale"][stale] = {
                "mode": doc["mode"], "selected": len(chosen),
                "caught": len(set(failing) & set(chosen)),
                "time": sum(durations.get(t, 0.0) for t in chosen), "total": sum(durations.values()),
                "notes": doc["notes"],
            }
            shutil.rmtree(db.parent)
        rows.append(row)
        s = row["by_stale"]
        print(f"[{n + 1}/{len(bases)}] {base[:10]} fail={len(failing):3} "
              + " ".join(f"N={k}:{v['selected']}/{v['caught']}" for k, v in s.items()) + f"  {m[4][:60]}", flush=True)
    checkout(history[-1])
    summary = {}
    for stale in args.stale:
        f = sum(len(r["failing"]) for r in rows)
        c = sum(r["by_stale"][stale]["caught"] for r in rows)
        faulty = [r for r in rows if r["failing"]]
        fc = sum(1 for r in faulty if r["by_stale"][stale]["caught"])
        t = sum(r["by_stale"][stale]["time"] for r in rows)
        tt = sum(r["by_stale"][stale]["total"] for r in rows)
        fell = sum(1 for r in rows if r["by_stale"][stale]["mode"] != "subset")
        summary[stale] = {"failing": f, "caught": c, "faulty": len(faulty), "faulty_caught": fc,
                          "time_share": t / tt if tt else 0.0, "all": fell}
    (out / "results.json").write_text(json.dumps({"summary": summary, "rows": rows}, indent=1))
    print(f"\n{len(rows)} changes on {len(rows)} real bases")
    print("| coverage taken N commits before the base | failing tests caught | faulty changes caught | test time | ran everything |")
    print("|---|---|---|---|---|")
    for stale, s in summary.items():
        print(f"| {stale} | {s['caught']} / {s['failing']} ({s['caught'] / max(s['failing'], 1):.1%}) "
              f"| {s['faulty_caught']} / {s['faulty']} ({s['faulty_caught'] / max(s['faulty'], 1):.1%}) "
              f"| {s['time_share']:.1%} | {s['all']} |")


if __name__ == "__main__":
    main()
