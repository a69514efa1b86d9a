#!/usr/bin/env python3
"""A Python mutation benchmark: seer's selection beside pytest-testmon's on the same changes.

A pure-Python package from PyPI (its sdist, with its real pytest suite) is made a git
repository (the base). Seeded changes are made on the base, each one commit:
  - single mutants: one AST node of the package's code changed (an arithmetic, comparison or
    boolean operator swapped, a constant changed, a `not` dropped, a return value replaced by
    None), written back into the source text in place, the rest of the file untouched;
  - pairs: two single mutants in different functions;
  - benign changes: a comment line added, a blank line added, a word added to a docstring.
For each change the whole suite runs (JUnit): that is the truth (its failing tests).

Contenders, each from what it knows at the base:
  - run all;
  - pytest-testmon (2.2): its database made by `pytest --testmon` at the base, and for each change
    its own selection (`pytest --testmon`, from a fresh copy of the base's database);
  - seer with coverage: the base's run and per-test coverage recorded by the pytest plugin
    (`pytest --seer-record --seer-coverage`), then `seer select --commit SHA` per change;
  - seer without coverage: the same store without coverage (day one: the model may not skip
    while the trust gate is closed, so it runs everything: reported as is);
  - random at seer's budget: tests drawn at random until the time seer's selection takes (mean
    of 50 seeded draws).
Scored per change against its truth: failing tests caught (selected), faulty changes caught (at
least one failing test selected), and test time (the selected tests' durations in the base's run,
over the whole suite's; testmon's own wall time is reported apart). Nothing is tuned here: seer
runs with its defaults.

Usage:
  python-mutation-bench.py --package humanize==4.17.0 --deps freezegun --src src/humanize \\
      --tests tests --ignore tests/test_benchmarks.py --seer target/release/seer --out /tmp/pmb-humanize
  python-mutation-bench.py --package semver==3.1.2 --src src/semver --tests tests \\
      --seer target/release/seer --out /tmp/pmb-semver
"""

import argparse
import ast
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tarfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SUITE_TIMEOUT_S = 300


def run(cmd, cwd=None, env=None, timeout=None, check=True):
    out = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    if check and out.returncode != 0:
        sys.exit(f"{' '.join(map(str, cmd))} failed ({out.returncode}):\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}")
    return out


def git(repo, *args):
    return run(["git", *args], cwd=repo).stdout.strip()


# --- the package as a git repository -----------------------------------------------------------


def make_venv(out, deps):
    venv = out / "venv"
    if not (venv / "bin" / "python").exists():
        run([sys.executable, "-m", "venv", str(venv)])
    pip = [str(venv / "bin" / "pip"), "install", "-q", "--disable-pip-version-check"]
    run(pip + ["pytest==9.2.0", "coverage==7.17.5", "pytest-testmon==2.2.0", *deps])
    run(pip + ["--force-reinstall", "--no-deps", str(REPO / "python")])  # this checkout's plugin
    return str(venv / "bin" / "python")


def make_repo(out, package, python):
    repo = out / "repo"
    if repo.exists():
        shutil.rmtree(repo)
    dl = out / "sdist"
    dl.mkdir(exist_ok=True)
    run([python, "-m", "pip", "download", "-q", "--no-deps", "--no-binary", ":all:", "-d", str(dl), package])
    (sdist,) = [p for p in dl.iterdir() if p.name.endswith(".tar.gz")]
    with tarfile.open(sdist) as t:
        t.extractall(out / "unpacked", filter="data")
    (top,) = list((out / "unpacked").iterdir())
    shutil.copytree(top, repo)
    (repo / ".gitignore").write_text("__pycache__/\n.pytest_cache/\n.testmondata*\n.seer-coverage*\n*.egg-info/\n")
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "-c", "user.name=bench", "-c", "user.email=b@x", "commit", "-q", "-m", "base")
    return repo


# --- mutants -----------------------------------------------------------------------------------

SWAP = {
    ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.FloorDiv, ast.Div: ast.Mult, ast.FloorDiv: ast.Mult,
    ast.Mod: ast.FloorDiv, ast.Pow: ast.Mult, ast.BitAnd: ast.BitOr, ast.BitOr: ast.BitAnd,
    ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE, ast.GtE: ast.Gt, ast.Eq: ast.NotEq, ast.NotEq: ast.Eq,
    ast.In: ast.NotIn, ast.NotIn: ast.In, ast.Is: ast.IsNot, ast.IsNot: ast.Is, ast.And: ast.Or, ast.Or: ast.And,
}


def docstring_nodes(tree):
    """The string constants that are docstrings (not mutated: benign changes edit them)."""
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
                out.add(id(first.value))
    return out


def enclosing_functions(tree):
    """Node id → the name of the function holding it (for pairs in different functions)."""
    owner = {}
    for fn in ast.walk(tree):
        if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for node in ast.walk(fn):
                owner[id(node)] = fn.name
    return owner


def mutations(path, text):
    """Every single-line mutation of the file: (line, col, end_col, replacement, description, function)."""
    tree = ast.parse(text)
    docs = docstring_nodes(tree)
    owner = enclosing_functions(tree)
    lines = text.splitlines(keepends=True)
    out = []
    for node in ast.walk(tree):
        if getattr(node, "lineno", None) is None or node.lineno != node.end_lineno:
            continue
        new = None
        if isinstance(node, ast.BinOp) and type(node.op) in SWAP:
            new = ast.BinOp(left=node.left, op=SWAP[type(node.op)](), right=node.right)
        elif isinstance(node, ast.Compare) and len(node.ops) == 1 and type(node.ops[0]) in SWAP:
            new = ast.Compare(left=node.left, ops=[SWAP[type(node.ops[0])]()], comparators=node.comparators)
        elif isinstance(node, ast.BoolOp) and type(node.op) in SWAP:
            new = ast.BoolOp(op=SWAP[type(node.op)](), values=node.values)
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            new = node.operand
        elif isinstance(node, ast.Constant) and id(node) not in docs:
            v = node.value
            if isinstance(v, bool):
                new = ast.Constant(not v)
            elif isinstance(v, int):
                new = ast.Constant(v + 1)
            elif isinstance(v, str) and v and len(v) < 40:
                new = ast.Constant(v + "X")
        elif isinstance(node, ast.Return) and node.value is not None and not (
            isinstance(node.value, ast.Constant) and node.value.value is None
        ):
            new = ast.Return(value=ast.Constant(None))
        if new is None:
            continue
        line = lines[node.lineno - 1]
        # col offsets are in UTF-8 bytes
        raw = line.encode()
        old = raw[node.col_offset : node.end_col_offset].decode()
        try:
            replacement = ast.unparse(new)
        except Exception:
            continue
        if isinstance(node, ast.Return):
            replacement = "return None"
        if replacement == old:
            continue
        out.append((node.lineno, node.col_offset, node.end_col_offset, replacement,
                    f"{path}:{node.lineno}: {old} -> {replacement}", owner.get(id(node))))
    return out


def apply(text, muts):
    """`text` with the mutations applied (at most one per line)."""
    lines = text.splitlines(keepends=True)
    for (line, col, end, replacement, _, _) in muts:
        raw = lines[line - 1].encode()
        lines[line - 1] = (raw[:col] + replacement.encode() + raw[end:]).decode()
    return "".join(lines)


def benign(path, text, rng):
    """A change that breaks nothing: a comment line, a blank line, or words in a docstring; `None`
    when the file has no place for one."""
    tree = ast.parse(text)
    lines = text.splitlines(keepends=True)
    stmts = [n for n in ast.walk(tree) if isinstance(n, ast.stmt) and n.col_offset > 0]
    docs = [n for n in ast.walk(tree) if isinstance(n, ast.Constant) and id(n) in docstring_nodes(tree)]
    kinds = (["comment", "blank"] if stmts else []) + (["docstring"] if docs else [])
    if not kinds:
        return None
    kind = rng.choice(kinds)
    if kind == "docstring":
        d = rng.choice(docs)
        if d.lineno == d.end_lineno:
            line = lines[d.lineno - 1].encode()
            # the closing quotes end at end_col_offset (bytes); insert before them
            end = d.end_col_offset
            quote_len = 3 if line[end - 3:end] in (b'"""', b"'''") else 1
            at = end - quote_len
            lines[d.lineno - 1] = (line[:at] + b" More words." + line[at:]).decode()
        else:
            lines.insert(d.end_lineno - 1, " " * d.col_offset + "More words.\n")
        return "".join(lines), f"{path}:{d.lineno}: docstring edited"
    s = rng.choice(stmts)
    indent = " " * s.col_offset
    lines.insert(s.lineno - 1, indent + "# a note for the reader\n" if kind == "comment" else "\n")
    return "".join(lines), f"{path}:{s.lineno}: {kind} line added"


def changes(repo, src, rng, singles, pairs, n_benign):
    files = sorted(p for p in (repo / src).rglob("*.py"))
    sites = []
    for f in files:
        rel = str(f.relative_to(repo))
        for m in mutations(rel, f.read_text()):
            sites.append((rel, m))
    rng.shuffle(sites)
    out = []
    for rel, m in sites[:singles]:
        out.append({"kind": "single", "what": m[4], "edits": {rel: [m]}})
    pool = sites[singles:]
    for k in range(pairs):
        a, b = pool[2 * k], pool[2 * k + 1]
        if a[0] == b[0] and (a[1][0] == b[1][0] or a[1][5] == b[1][5]):
            continue  # same line or same function
        edits = {}
        for rel, m in (a, b):
            edits.setdefault(rel, []).append(m)
        out.append({"kind": "pair", "what": f"{a[1][4]} + {b[1][4]}", "edits": edits})
    while n_benign > 0:
        f = rng.choice(files)
        rel = str(f.relative_to(repo))
        made = benign(rel, f.read_text(), rng)
        if made is not None:
            out.append({"kind": "benign", "what": made[1], "texts": {rel: made[0]}})
            n_benign -= 1
    return out


# --- running -----------------------------------------------------------------------------------


def junit_cases(path):
    """(seer's id, node-less duration, failed) per test case of a pytest JUnit report."""
    out = {}
    for case in ET.parse(path).getroot().iter("testcase"):
        tid = f"{case.get('classname')}::{case.get('name')}"
        failed = any(c.tag in ("failure", "error") for c in case)
        skipped = any(c.tag == "skipped" for c in case)
        out[tid] = (float(case.get("time") or 0), failed, skipped)
    return out


DURATIONS_PLUGIN = '''
"""Each test's duration (setup, call and teardown) at full precision, by seer's id."""
import json, os

_durations = {}


def pytest_runtest_logreport(report):
    parts = report.nodeid.split("::")
    path = parts[0][:-3] if parts[0].endswith(".py") else parts[0]
    classname = ".".join([path.replace("/", "."), *parts[1:-1]])
    key = f"{classname}::{parts[-1]}"
    _durations[key] = _durations.get(key, 0.0) + report.duration


def pytest_sessionfinish(session):
    with open(os.environ["SEER_BENCH_DURATIONS"], "w") as f:
        json.dump(_durations, f)
'''


def precise_durations(pytest, tail, repo, env, out, runs):
    """Each test's median duration over `runs` runs of the suite at the base, at full precision
    (JUnit's are in milliseconds: most of a fast suite's tests read 0)."""
    (out / "seer_bench_durations.py").write_text(DURATIONS_PLUGIN)
    env = dict(env, PYTHONPATH=f"{out}{os.pathsep}{env.get('PYTHONPATH', '')}")
    samples = {}
    for k in range(runs):
        env["SEER_BENCH_DURATIONS"] = str(out / f"durations-{k}.json")
        run(pytest + ["-p", "seer_bench_durations", "-p", "no:cacheprovider"] + tail, cwd=repo, env=env, check=False)
        for test, d in json.loads((out / f"durations-{k}.json").read_text()).items():
            samples.setdefault(test, []).append(d)
    return {t: statistics.median(v) for t, v in samples.items()}


def score(results, durations):
    """Each contender's failing tests and faulty changes caught, and its share of the test time
    (at `durations`, seer's test id -> seconds) and of the tests, over the scored changes."""
    total_time = sum(durations.values())
    mean_d = total_time / max(len(durations), 1)

    def cost(tests):
        return sum(durations.get(t, mean_d) for t in tests)

    scored = [r for r in results if "failing" in r]
    summary = {}
    for name in ("run all", "testmon", "seer+coverage", "seer", "random at seer+coverage's time"):
        caught = failing = faulty = faulty_caught = 0
        t_sel = t_all = n_sel = n_all = 0.0
        for r in scored:
            all_tests = set(durations) | set(r["failing"])
            if name == "run all":
                sel = all_tests
            elif name.startswith("random"):
                budget = cost(r["seer+coverage"])
                order = sorted(durations)
                exp_caught, exp_any, exp_time, exp_n = 0.0, 0.0, 0.0, 0.0
                draws = 50
                rng2 = random.Random(int(r["sha"][:8], 16))  # the same draws run to run
                for _ in range(draws):
                    rng2.shuffle(order)
                    pick, spent = set(), 0.0
                    for t in order:
                        if spent + durations[t] > budget and pick:
                            break
                        pick.add(t)
                        spent += durations[t]
                    c = len(pick & set(r["failing"]))
                    exp_caught += c / draws
                    exp_any += (c > 0) / draws
                    exp_time += spent / draws
                    exp_n += len(pick) / draws
                failing += len(r["failing"])
                caught += exp_caught
                faulty += bool(r["failing"])
                faulty_caught += exp_any if r["failing"] else 0
                t_sel += exp_time
                t_all += total_time
                n_sel += exp_n
                n_all += len(all_tests)
                continue
            else:
                sel = set(r[name])
            failing += len(r["failing"])
            caught += len(set(r["failing"]) & sel)
            faulty += bool(r["failing"])
            faulty_caught += bool(set(r["failing"]) & sel)
            t_sel += cost(sel & set(durations))
            t_all += total_time
            n_sel += len(sel)
            n_all += len(all_tests)
        summary[name] = {
            "failing_caught": caught, "failing": failing,
            "faulty_caught": faulty_caught, "faulty": faulty,
            "time_share": t_sel / t_all if t_all else 0.0,
            "tests_share": n_sel / n_all if n_all else 0.0,
        }
    return summary


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--package", required=True)
    ap.add_argument("--deps", nargs="*", default=[])
    ap.add_argument("--src", required=True, help="the package's code, relative to the sdist's root")
    ap.add_argument("--tests", nargs="+", required=True)
    ap.add_argument("--ignore", nargs="*", default=[])
    ap.add_argument("--pythonpath", default="src", help="put this directory of the sdist on PYTHONPATH (src layouts)")
    ap.add_argument("--seer", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--singles", type=int, default=60)
    ap.add_argument("--pairs", type=int, default=20)
    ap.add_argument("--benign", type=int, default=20)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--duration-runs", type=int, default=5,
                    help="runs of the suite at the base that time each test at full precision (their median)")
    ap.add_argument("--rescore", action="store_true",
                    help="score OUT/results.json again (durations measured anew) without running the changes")
    args = ap.parse_args()
    out = Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    seer_bin = str(Path(args.seer).resolve())
    if args.rescore:
        python, repo = str(out / "venv" / "bin" / "python"), out / "repo"
    else:
        python = make_venv(out, args.deps)
        repo = make_repo(out, args.package, python)
    env = dict(os.environ, SEER_BIN=seer_bin, PYTHONDONTWRITEBYTECODE="1", PYTHONPATH=str(repo / args.pythonpath))
    for var in ("SEER_URL", "SEER_DB", "GITHUB_ACTIONS", "GITLAB_CI", "CI"):
        env.pop(var, None)
    # (testmon needs pytest's cache plugin: it reads --lf's option)
    pytest = [python, "-m", "pytest", "-o", "addopts=", "-q"]
    pytest += [f"--ignore={i}" for i in args.ignore]
    pytest_tail = list(args.tests)
    (out / "junit").mkdir(exist_ok=True)
    if args.rescore:
        done = json.loads((out / "results.json").read_text())
        git(repo, "checkout", "-q", git(repo, "rev-list", "--max-parents=0", "HEAD"))
        base = junit_cases(out / "junit" / "base.xml")
        precise = precise_durations(pytest, pytest_tail, repo, env, out, args.duration_runs)
        summaries = {"junit": score(done["changes"], {t: d for t, (d, _, _) in base.items()}),
                     "precise": score(done["changes"], precise)}
        report(out, args, done["meta"], done["changes"], summaries)
        return

    # The base: the whole suite (durations), testmon's database, seer's run and coverage.
    t0 = time.time()
    r = run(pytest + ["--junitxml", str(out / "junit" / "base.xml")] + pytest_tail, cwd=repo, env=env, check=False)
    base_wall = time.time() - t0
    base = junit_cases(out / "junit" / "base.xml")
    if any(f for _, f, _ in base.values()):
        sys.exit(f"the base fails: {[t for t, (_, f, _) in base.items() if f][:5]}\n{r.stdout[-2000:]}")
    print(f"base: {len(base)} tests, {sum(d for d, _, _ in base.values()):.2f} s of test time, {base_wall:.1f} s wall", flush=True)
    t0 = time.time()
    run(pytest + ["--testmon"] + pytest_tail, cwd=repo, env=env)
    testmon_base_s = time.time() - t0
    shutil.copy(repo / ".testmondata", out / "testmondata.base")
    db_cov, db_plain = out / "seer-cov" / "seer.db", out / "seer-plain" / "seer.db"
    for d in (db_cov, db_plain):
        if d.parent.exists():
            shutil.rmtree(d.parent)
        d.parent.mkdir(parents=True)
    t0 = time.time()
    r = run(pytest + ["--seer-record", "--seer-coverage", "--seer-db", str(db_cov)] + pytest_tail, cwd=repo, env=env)
    seer_base_s = time.time() - t0
    print(r.stderr.strip()[-600:], flush=True)
    run([seer_bin, "--db", str(db_plain), "record", "--repo", str(repo), "--commit", "HEAD", str(out / "junit" / "base.xml")])
    base_sha = git(repo, "rev-parse", "HEAD")

    rng = random.Random(args.seed)
    todo = changes(repo, args.src, rng, args.singles, args.pairs, args.benign)
    print(f"{len(todo)} changes", flush=True)
    results = []
    total_time = sum(d for d, _, _ in base.values())
    for k, ch in enumerate(todo):
        git(repo, "checkout", "-q", base_sha)
        if "edits" in ch:
            for rel, muts in ch["edits"].items():
                f = repo / rel
                f.write_text(apply(f.read_text(), muts))
        else:
            for rel, text in ch["texts"].items():
                (repo / rel).write_text(text)
        if not git(repo, "status", "--porcelain", "--untracked-files=no"):
            continue
        git(repo, "-c", "user.name=bench", "-c", "user.email=b@x", "commit", "-q", "-am", f"change {k}")
        sha = git(repo, "rev-parse", "HEAD")
        jpath = out / "junit" / f"{k}.xml"
        try:
            run(pytest + ["--junitxml", str(jpath)] + pytest_tail, cwd=repo, env=env, timeout=SUITE_TIMEOUT_S, check=False)
        except subprocess.TimeoutExpired:
            results.append({**ch, "timeout": True})
            continue
        if not jpath.exists():
            results.append({**ch, "broken": True})
            continue
        truth = junit_cases(jpath)
        failing = sorted(t for t, (_, f, _) in truth.items() if f)
        # testmon: its own selection from the base's database.
        shutil.copy(out / "testmondata.base", repo / ".testmondata")
        tpath = out / "junit" / f"{k}.testmon.xml"
        t0 = time.time()
        try:
            run(pytest + ["--testmon", "--junitxml", str(tpath)] + pytest_tail, cwd=repo, env=env,
                timeout=SUITE_TIMEOUT_S, check=False)
            testmon_ran = set(junit_cases(tpath)) if tpath.exists() else set(base)
        except subprocess.TimeoutExpired:
            testmon_ran = set(base)
        testmon_wall = time.time() - t0
        # seer, with and without coverage.
        picks = {}
        for name, db in (("seer+coverage", db_cov), ("seer", db_plain)):
            t0 = time.time()
            doc = json.loads(run([seer_bin, "--db", str(db), "select", "--repo", str(repo), "--commit", sha,
                                  "--format", "json", "--dry-run"], env=env).stdout)
            skipped = set(doc["skipped"]) | set(doc.get("quarantined") or [])
            picks[name] = ({t for t in truth if t not in skipped}, doc["mode"], doc.get("reason"), time.time() - t0)
        results.append({
            "kind": ch["kind"], "what": ch["what"], "sha": sha, "failing": failing,
            "tests": len(truth),
            "testmon": sorted(testmon_ran), "testmon_wall_s": testmon_wall,
            **{name: sorted(p[0]) for name, p in picks.items()},
            "seer_modes": {name: [p[1], p[2], p[3]] for name, p in picks.items()},
        })
        r = results[-1]
        (out / "partial.json").write_text(json.dumps(results))  # what a stopped run has scored
        print(f"[{k + 1}/{len(todo)}] {ch['kind']:6} fail={len(failing):3} testmon={len(r['testmon']):4} "
              f"seer+cov={len(r['seer+coverage']):4} seer={len(r['seer']):4}  {ch['what'][:70]}", flush=True)
    git(repo, "checkout", "-q", base_sha)

    durations = {t: d for t, (d, _, _) in base.items()}
    summaries = {"junit": score(results, durations),
                 "precise": score(results, precise_durations(pytest, pytest_tail, repo, env, out, args.duration_runs))}
    scored = [r for r in results if "failing" in r]
    by_kind = {}
    for r in scored:
        by_kind[r["kind"]] = by_kind.get(r["kind"], 0) + 1
    meta = {
        "package": args.package, "tests": len(base), "suite_test_time_s": total_time, "suite_wall_s": base_wall,
        "changes": len(results), "scored": len(scored), "by_kind": by_kind,
        "timeouts": sum(1 for r in results if r.get("timeout")),
        "testmon_wall_mean_s": sum(r["testmon_wall_s"] for r in scored) / max(len(scored), 1),
        "testmon_base_s": testmon_base_s, "seer_plugin_base_s": seer_base_s,
        "seer_select_mean_s": sum(r["seer_modes"]["seer+coverage"][2] for r in scored) / max(len(scored), 1),
        "seer_fell_open": sum(1 for r in scored if r["seer_modes"]["seer+coverage"][0] != "subset"),
    }
    report(out, args, meta, results, summaries)


def report(out, args, meta, results, summaries):
    """Writes OUT/results.json and prints the tables: test time at JUnit's durations (milliseconds)
    and at the precise ones (the median of --duration-runs runs)."""
    meta = dict(meta, duration_runs=args.duration_runs)
    (out / "results.json").write_text(json.dumps(
        {"meta": meta, "summary": summaries["junit"], "summary_precise": summaries["precise"], "changes": results},
        indent=1))
    print(json.dumps(meta, indent=1))
    for which, summary in summaries.items():
        print(f"\n| {args.package} ({which} durations) | failing tests caught | faulty changes caught | test time | tests run |")
        print("|---|---|---|---|---|")
        for name, s in summary.items():
            print(f"| {name} | {s['failing_caught']:.1f} / {s['failing']} ({s['failing_caught'] / max(s['failing'], 1):.1%}) "
                  f"| {s['faulty_caught']:.1f} / {s['faulty']} ({s['faulty_caught'] / max(s['faulty'], 1):.1%}) "
                  f"| {s['time_share']:.1%} | {s['tests_share']:.1%} |")


if __name__ == "__main__":
    main()
