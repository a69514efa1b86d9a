#!/usr/bin/env python3
"""Per-test line coverage of the mutation benchmark's crate at its base commit, as LCOV.

Builds the crate's tests with `-C instrument-coverage`, runs each test alone (so that its
coverage is its own), and exports one LCOV tracefile per test under DIR/coverage/, with a `TN:`
line naming the test as nextest's JUnit report does (`BINARY_ID::TEST`), which is how seer names
it. `replay.py` records them with `seer coverage record --commit BASE` before the replay: the
coverage a nightly job would have taken of the base that every change branches from.

Needs llvm-profdata and llvm-cov of the same LLVM major version as rustc (`rustc -vV`), e.g.
`apt-get install llvm-22` for a rustc built on LLVM 22.

Usage: coverage.py [--bench DIR]
"""

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path


def llvm_tools():
    version = subprocess.run(["rustc", "-vV"], capture_output=True, text=True, check=True).stdout
    major = re.search(r"LLVM version: (\d+)", version).group(1)
    tools = []
    for name in ("llvm-profdata", "llvm-cov"):
        candidates = [f"/usr/lib/llvm-{major}/bin/{name}", shutil.which(f"{name}-{major}") or ""]
        found = next((c for c in candidates if c and os.access(c, os.X_OK)), None)
        if found is None:
            sys.exit(f"{name} of LLVM {major} (rustc's) not found: apt-get install llvm-{major}")
        tools.append(found)
    return tools


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bench", default="/tmp/seer-mutation-bench", type=Path)
    args = ap.parse_args()
    profdata, llvm_cov = llvm_tools()
    repo = args.bench / "repo"
    subprocess.run(["git", "checkout", "-q", "--detach", "base"], cwd=repo, check=True)
    target = args.bench / "coverage-target"
    env = dict(os.environ, RUSTFLAGS="-C instrument-coverage", CARGO_TARGET_DIR=str(target))
    build = subprocess.run(["cargo", "test", "--no-run", "--message-format=json"], cwd=repo, env=env,
                           capture_output=True, text=True)
    if build.returncode != 0:
        sys.exit(f"instrumented build failed:\n{build.stderr[-3000:]}")
    binaries = []
    for line in build.stdout.splitlines():
        m = json.loads(line)
        if m.get("reason") == "compiler-artifact" and m.get("executable") and m["profile"]["test"]:
            kind = m["target"]["kind"]
            binaries.append((m["target"]["name"], kind, m["executable"]))
    package = json.loads(subprocess.run(["cargo", "metadata", "--no-deps", "--format-version", "1"], cwd=repo,
                                        capture_output=True, text=True, check=True).stdout)["packages"][0]["name"]
    out = args.bench / "coverage"
    if out.exists():
        shutil.rmtree(out)
    out.mkdir()
    raw, merged = target / "test.profraw", target / "test.profdata"
    count = 0
    for name, kind, exe in binaries:
        # nextest's binary id: the crate name for its library, CRATE::TARGET for the others.
        binary_id = package if kind == ["lib"] else f"{package}::{name}"
        listed = subprocess.run([exe, "--list", "--format", "terse"], capture_output=True, text=True, check=True,
                                env=dict(os.environ, LLVM_PROFILE_FILE=str(target / "list.profraw")))
        for test in [l[: -len(": test")] for l in listed.stdout.splitlines() if l.endswith(": test")]:
            raw.unlink(missing_ok=True)
            subprocess.run([exe, "--exact", test, "-q"], env=dict(os.environ, LLVM_PROFILE_FILE=str(raw)),
                           capture_output=True, timeout=60)
            subprocess.run([profdata, "merge", "-sparse", str(raw), "-o", str(merged)], check=True)
            lcov = subprocess.run([llvm_cov, "export", "-format=lcov", f"-instr-profile={merged}", exe,
                                   "-ignore-filename-regex=/.cargo/|/rustc/|/.rustup/"],
                                  capture_output=True, text=True, check=True).stdout
            lcov = "".join(l + "\n" for l in lcov.splitlines() if not l.startswith("TN:"))
            test_id = f"{binary_id}::{test}"
            safe = re.sub(r"[^A-Za-z0-9_.-]", "_", test_id)
            (out / f"{safe}.lcov").write_text(f"TN:{test_id}\n{lcov}")
            count += 1
    print(f"{count} tests' coverage at base in {out}")


if __name__ == "__main__":
    main()
