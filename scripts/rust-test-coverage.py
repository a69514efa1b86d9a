#!/usr/bin/env python3
"""Per-test coverage of a Cargo project, as LCOV tracefiles (lines) or llvm-cov's JSON export
(regions: `--format json`), for `seer coverage record`.

Builds the project's tests with `-C instrument-coverage` (in its own target directory), runs each
test alone so that its coverage is its own, and writes one tracefile per test to OUT, each opening
with a `TN:` line naming the test as nextest's JUnit report does (`BINARY_ID::TEST`: the package
name for its library, `PACKAGE::TARGET` for an integration test, `PACKAGE::bin/NAME` for a binary),
which is how `seer record` names it. With `--format json`, one `llvm-cov export -format=text`
document per test instead (files and their segments: which columns of a line ran, so that a test
that reached a line but not the changed part of it is told apart), with one key added at its top,
`"test"`, naming the test. Then:

    seer coverage record --commit "$(git rev-parse HEAD)" OUT/*.lcov     # or OUT/*.json

One process per test: minutes for hundreds of tests, hours for many thousands — a nightly job.
Needs llvm-profdata and llvm-cov of rustc's LLVM major version (`rustc -vV`), e.g.
`apt-get install llvm-22`.

Usage: rust-test-coverage.py [--repo DIR] [--out DIR] [--target-dir DIR] [--timeout S] [--format lcov|json]
                             [-- CARGO-ARGS]
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


def binary_id(package, kind, name):
    """nextest's name for a test binary."""
    if kind in (["lib"], ["proc-macro"], ["rlib"], ["cdylib"], ["dylib"], ["staticlib"]):
        return package
    if kind == ["test"]:
        return f"{package}::{name}"
    return f"{package}::{kind[0]}/{name}"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repo", default=".", type=Path, help="the Cargo project (or workspace)")
    ap.add_argument("--out", default="target/seer-coverage", type=Path, help="where the tracefiles go")
    ap.add_argument("--target-dir", type=Path, help="for the instrumented build [default: REPO/target/coverage]")
    ap.add_argument("--timeout", type=float, default=120.0, help="seconds per test")
    ap.add_argument("--format", choices=["lcov", "json"], default="lcov",
                    help="lines (LCOV) or regions (llvm-cov's JSON export, with the test named)")
    ap.add_argument("cargo_args", nargs="*", help="more arguments of `cargo test --no-run` (after --)")
    args = ap.parse_args()
    profdata, llvm_cov = llvm_tools()
    repo = args.repo.resolve()
    target = (args.target_dir or repo / "target" / "coverage").resolve()
    env = dict(os.environ, RUSTFLAGS=(os.environ.get("RUSTFLAGS", "") + " -C instrument-coverage").strip(),
               CARGO_TARGET_DIR=str(target), LLVM_PROFILE_FILE=str(target / "build-%p.profraw"))
    build = subprocess.run(["cargo", "test", "--no-run", "--message-format=json", *args.cargo_args], cwd=repo,
                           env=env, capture_output=True, text=True)
    if build.returncode != 0:
        sys.exit(f"the instrumented build failed:\n{build.stderr[-3000:]}")
    metadata = json.loads(subprocess.run(["cargo", "metadata", "--no-deps", "--format-version", "1"], cwd=repo,
                                         capture_output=True, text=True, check=True).stdout)
    names = {p["id"]: p["name"] for p in metadata["packages"]}
    binaries = []
    for line in build.stdout.splitlines():
        m = json.loads(line)
        if m.get("reason") == "compiler-artifact" and m.get("executable") and m["profile"]["test"]:
            package = names.get(m["package_id"], m["target"]["name"])
            binaries.append((binary_id(package, m["target"]["kind"], m["target"]["name"]), m["executable"]))
    out = args.out if args.out.is_absolute() else repo / args.out
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    raw, merged = target / "test.profraw", target / "test.profdata"
    quiet = dict(os.environ, LLVM_PROFILE_FILE=str(target / "list.profraw"))
    written, failed = 0, 0
    for bid, exe in binaries:
        listed = subprocess.run([exe, "--list", "--format", "terse"], capture_output=True, text=True, check=True,
                                env=quiet, cwd=repo)
        for test in [l[: -len(": test")] for l in listed.stdout.splitlines() if l.endswith(": test")]:
            raw.unlink(missing_ok=True)
            try:
                run = subprocess.run([exe, "--exact", test, "-q"], env=dict(os.environ, LLVM_PROFILE_FILE=str(raw)),
                                     capture_output=True, timeout=args.timeout, cwd=repo)
                failed += run.returncode != 0
            except subprocess.TimeoutExpired:
                print(f"warning: {bid}::{test} timed out: no coverage for it", file=sys.stderr)
                continue
            if not raw.exists():
                print(f"warning: {bid}::{test} wrote no profile: no coverage for it", file=sys.stderr)
                continue
            subprocess.run([profdata, "merge", "-sparse", str(raw), "-o", str(merged)], check=True)
            ignore = "-ignore-filename-regex=/.cargo/|/rustc/|/.rustup/"
            test_id = f"{bid}::{test}"
            safe = re.sub(r"[^A-Za-z0-9_.-]", "_", test_id)
            if args.format == "json":
                export = subprocess.run([llvm_cov, "export", "-format=text", "-skip-functions",
                                         f"-instr-profile={merged}", exe, ignore],
                                        capture_output=True, text=True, check=True).stdout
                document = json.loads(export)
                (out / f"{safe}.json").write_text(json.dumps({"test": test_id, **document}))
            else:
                lcov = subprocess.run([llvm_cov, "export", "-format=lcov", f"-instr-profile={merged}", exe, ignore],
                                      capture_output=True, text=True, check=True).stdout
                records = "".join(l + "\n" for l in lcov.splitlines() if not l.startswith("TN:"))
                (out / f"{safe}.lcov").write_text(f"TN:{test_id}\n{records}")
            written += 1
    print(f"{written} tests' coverage in {out} ({failed} of them failed; their coverage is kept)")


if __name__ == "__main__":
    main()
