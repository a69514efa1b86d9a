#!/usr/bin/env python3
"""Generate the mutation benchmark: real faulty changes to a real crate, with its real test outcomes.

Fetches a crate from crates.io through cargo (default: semver), makes it a git repository (the
base commit), asks cargo-mutants for the mutants of its code, and builds changes from them:
single mutants, two-file changes (two mutants in different files), and changes that break
nothing (a comment added to a source or test file). Each change is a commit whose parent is the
base commit, like a pull request. For each one the crate's own test suite runs under
cargo-nextest and its JUnit report is kept.

Output, under --out (default /tmp/seer-mutation-bench):
  repo/                 the crate's git repository, one commit per change off `base`
  junit/NNNN.xml        the nextest JUnit report of change NNNN
  changes.jsonl         one line per change, in the benchmark's fixed (seeded) order:
                        {"index", "sha", "base", "kind", "mutants", "files", "exit", "junit"}

Needs cargo-nextest and cargo-mutants (`cargo install cargo-mutants --locked`). Nothing generated is
committed to seer's repository. Takes roughly 3-10 s per change on 2 cores (a mutant that loops forever is stopped after 4 s per test).
"""

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path

NEXTEST_CONFIG = """\
[profile.ci]
fail-fast = false
retries = 0
slow-timeout = { period = "2s", terminate-after = 2 }

[profile.ci.junit]
path = "junit.xml"
"""

GIT_ENV = {
    "GIT_AUTHOR_NAME": "seer bench",
    "GIT_AUTHOR_EMAIL": "bench@seer.invalid",
    "GIT_COMMITTER_NAME": "seer bench",
    "GIT_COMMITTER_EMAIL": "bench@seer.invalid",
}


def run(cmd, cwd, check=True, env=None, **kw):
    full_env = dict(os.environ, **GIT_ENV, **(env or {}))
    return subprocess.run(cmd, cwd=cwd, check=check, env=full_env, text=True, **kw)


def fetch_crate(name, version, work):
    """Copies the crate's published source (as cargo downloads it) to work/repo."""
    fetch = work / "fetch"
    (fetch / "src").mkdir(parents=True, exist_ok=True)
    (fetch / "src" / "lib.rs").write_text("")
    req = f'"={version}"' if version else '"*"'
    (fetch / "Cargo.toml").write_text(
        f'[package]\nname = "fetch"\nversion = "0.0.0"\nedition = "2021"\n\n[dependencies]\n{name} = {req}\n'
    )
    meta = json.loads(run(["cargo", "metadata", "--format-version", "1"], fetch, capture_output=True).stdout)
    pkg = next(p for p in meta["packages"] if p["name"] == name)
    src = Path(pkg["manifest_path"]).parent
    repo = work / "repo"
    if repo.exists():
        shutil.rmtree(repo)
    shutil.copytree(src, repo)
    return repo, pkg["version"]


def make_base(repo, crate, version):
    (repo / ".config").mkdir(exist_ok=True)
    (repo / ".config" / "nextest.toml").write_text(NEXTEST_CONFIG)
    (repo / ".gitignore").write_text("/target\n/mutants.out*\n")
    run(["git", "init", "-q", "-b", "main"], repo)
    run(["git", "add", "-A"], repo)
    env = {"GIT_AUTHOR_DATE": "2026-01-01T00:00:00Z", "GIT_COMMITTER_DATE": "2026-01-01T00:00:00Z"}
    run(["git", "commit", "-q", "-m", f"base: {crate} {version}"], repo, env=env)
    run(["git", "tag", "-f", "base"], repo)
    return run(["git", "rev-parse", "HEAD"], repo, capture_output=True).stdout.strip()


def list_mutants(repo):
    out = run(["cargo", "mutants", "--list", "--json", "--diff"], repo, capture_output=True).stdout
    mutants = json.loads(out)
    return [m for m in mutants if m.get("diff")]


def mutant_file(m):
    return m["file"]


def mutant_name(m):
    return m.get("name") or f'{mutant_file(m)}: {m.get("replacement", "?")}'


def mutant_patch(m):
    """cargo-mutants' diff as a patch git applies: real file names in the header, and without the
    marker comment it adds to the mutated line (a real change would not carry it)."""
    lines = m["diff"].splitlines(keepends=True)
    body = "".join(lines[2:]).replace(" /* ~ changed by cargo-mutants ~ */", "")
    return f"--- a/{m['file']}\n+++ b/{m['file']}\n{body}"


def benign_edit(repo, rng, files, n):
    """Adds a comment line to one file (a change that cannot break a test)."""
    path = rng.choice(files)
    lines = (repo / path).read_text().splitlines(keepends=True)
    at = rng.randrange(len(lines) + 1)
    lines.insert(at, f"// seer mutation bench: benign edit {n}\n")
    (repo / path).write_text("".join(lines))
    return path


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--crate", default="semver")
    ap.add_argument("--version", default="1.0.28", help="crate version ('' for the newest)")
    ap.add_argument("--out", default="/tmp/seer-mutation-bench", type=Path)
    ap.add_argument("--singles", type=int, default=300, help="changes of one mutant")
    ap.add_argument("--pairs", type=int, default=80, help="changes of two mutants in different files")
    ap.add_argument("--benign", type=int, default=80, help="changes that break nothing")
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()

    for tool in (["cargo", "nextest", "--version"], ["cargo", "mutants", "--version"]):
        if subprocess.run(tool, capture_output=True).returncode != 0:
            sys.exit(f"error: `{' '.join(tool[:2])}` is not installed (cargo install {tool[1] if tool[1] != 'nextest' else 'cargo-nextest'} --locked)")

    work = args.out
    work.mkdir(parents=True, exist_ok=True)
    (work / "junit").mkdir(exist_ok=True)
    repo, version = fetch_crate(args.crate, args.version, work)
    base = make_base(repo, args.crate, version)
    mutants = list_mutants(repo)
    print(f"{args.crate} {version}: base {base[:12]}, {len(mutants)} mutants", file=sys.stderr)

    rng = random.Random(args.seed)
    by_file = {}
    for m in mutants:
        by_file.setdefault(mutant_file(m), []).append(m)
    changes = [("single", [m]) for m in rng.sample(mutants, min(args.singles, len(mutants)))]
    files = sorted(by_file)
    for _ in range(args.pairs if len(files) > 1 else 0):
        a, b = rng.sample(files, 2)
        changes.append(("pair", [rng.choice(by_file[a]), rng.choice(by_file[b])]))
    tracked = run(["git", "ls-files", "*.rs"], repo, capture_output=True).stdout.split()
    changes += [("benign", []) for _ in range(args.benign)]
    rng.shuffle(changes)

    manifest = open(work / "changes.jsonl", "w")
    started = time.time()
    for i, (kind, ms) in enumerate(changes):
        run(["git", "checkout", "-q", "--detach", "base"], repo)
        run(["git", "reset", "-q", "--hard", "base"], repo)
        touched = []
        ok = True
        for m in ms:
            applied = run(["git", "apply", "-"], repo, check=False, input=mutant_patch(m), capture_output=True)
            ok = ok and applied.returncode == 0
            touched.append(mutant_file(m))
        if kind == "benign":
            touched.append(benign_edit(repo, rng, tracked, i))
        if not ok:
            print(f"[{i}] skipped: a diff did not apply", file=sys.stderr)
            continue
        names = [mutant_name(m) for m in ms] or ["benign edit"]
        t = "2026-01-02T00:00:00Z"
        env = {"GIT_AUTHOR_DATE": t, "GIT_COMMITTER_DATE": t}
        run(["git", "commit", "-q", "-am", f"change {i}: {kind}: " + "; ".join(names)], repo, env=env)
        sha = run(["git", "rev-parse", "HEAD"], repo, capture_output=True).stdout.strip()
        junit = repo / "target" / "nextest" / "ci" / "junit.xml"
        if junit.exists():
            junit.unlink()
        test = run(["cargo", "nextest", "run", "--profile", "ci", "--no-fail-fast"], repo, check=False,
                   capture_output=True)
        kept = None
        if junit.exists():
            kept = f"junit/{i:04}.xml"
            shutil.copy(junit, work / kept)
        row = {"index": i, "sha": sha, "base": base, "kind": kind, "mutants": names,
               "files": sorted(set(touched)), "exit": test.returncode, "junit": kept}
        manifest.write(json.dumps(row) + "\n")
        manifest.flush()
        elapsed = time.time() - started
        print(f"[{i + 1}/{len(changes)}] {kind:6} exit {test.returncode} {elapsed:6.0f}s  {names[0][:70]}",
              file=sys.stderr)
    run(["git", "checkout", "-q", "--detach", "base"], repo)


if __name__ == "__main__":
    main()
