#!/usr/bin/env python3
"""Benchmarks of `seer serve` on loopback: selection latency on a large project, and a load run.

1. Selection (--select-repeat, default 201): the store of scripts/bench_select.py (10,000 tests,
   100 runs = 1,000,000 results, trained; built by its functions) as project `big`, then
   POST /v1/projects/big/select for the commit under test, the client reading the change from git
   once (as `seer select --server` does): server-side time (the Server-Timing header: from the
   request's arrival to its answer) and end to end over HTTP; then `seer select --server` as a
   process (git read, request, runner arguments), and all of it again while a writer uploads
   10,000-test runs to the same project.
2. Load (--clients, default 32; --seconds, default 120): simulated CI jobs on project `load`, each
   in a loop: select for a change, then record a run of 1,000-10,000 tests (2% failing) under its
   own run id, retrying as the CLI does on transport errors and 429/5xx. At the end every
   acknowledged run must be on the server, once, whole: runs lost and runs broken are counted.

3. Ingest (--ingest): `seer record` of one 200,000-testcase JUnit report straight into the store
   (the median of 3 runs, each under a new run id).

With --postgres URL the projects' stores are schemas of that database (`seer serve --db URL`;
the schemas `big` and `load` are dropped first), and --replicas N starts N servers over it: the
load's clients are spread over them and a retried upload goes to the next replica.

Prints p50/p99 latencies, throughput and runs lost; --json OUT writes them.

Usage: bench_serve.py [--seer PATH] [--work DIR] [--clients N] [--seconds S] [--select-repeat N]
                      [--postgres URL] [--replicas N] [--ingest] [--json OUT]
"""

import argparse
import json
import random
import shutil
import statistics
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_select  # noqa: E402  (the large store's history and repository)


def pct(values, q):
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


POSTGRES = None  # --postgres: the database holding every project's store


def store_of(data, key):
    """Where project `key`'s store is: a file of the data directory, or a schema of --postgres."""
    if POSTGRES:
        return f"{POSTGRES}{'&' if '?' in POSTGRES else '?'}schema={key}"
    return data / key / "seer.db"


def drop_schema(key):
    if POSTGRES:
        base = POSTGRES.split("?")[0]
        subprocess.run(["psql", base, "-qc", f'DROP SCHEMA IF EXISTS "{key}" CASCADE'], check=True,
                       capture_output=True)


class Server:
    def __init__(self, seer, data, log):
        extra = ["--db", POSTGRES] if POSTGRES else []
        self.proc = subprocess.Popen([seer, "serve", "--data", str(data), "--listen", "127.0.0.1:0",
                                      "--rate", "100000", "--burst", "100000", *extra],
                                     stderr=subprocess.PIPE, text=True)
        line = self.proc.stderr.readline()
        self.url = "http://" + line.split("http://")[1].split()[0]
        threading.Thread(target=lambda: [log.write(l) for l in self.proc.stderr], daemon=True).start()

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=600)


def token(seer, db, scopes):
    out = subprocess.run([seer, "--db", str(db), "token", "create", "--name", f"bench-{scopes}",
                          "--scope", scopes, "--json"], check=True, capture_output=True, text=True)
    return json.loads(out.stdout)["secret"]


def request(url, tok, body=None, timeout=600):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method="POST" if data is not None else "GET",
                                 headers={"Authorization": f"Bearer {tok}", "Content-Type": "application/json"})
    started = time.perf_counter()
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        payload = resp.read()
        server_ms = float(resp.headers.get("server-timing", "app;dur=nan").split("dur=")[1])
    return json.loads(payload), (time.perf_counter() - started) * 1000, server_ms


def change_doc(rng, files):
    changed = rng.sample(range(files), rng.randint(1, 3))
    return {"base": None, "complete": True, "warnings": [], "commit": None,
            "files": [{"path": f"src/mod_{f}.rs", "status": "M", "added": 2, "deleted": 1} for f in changed]}


def selection_bench(args, seer, data, log, results):
    work = args.work / "select"
    repo = work / "repo"
    work.mkdir(parents=True)
    head = bench_select.make_repo(repo)
    rng = random.Random(11)
    flaky = set(rng.sample(range(bench_select.TESTS), bench_select.TESTS // 100))
    history = work / "history.jsonl"
    with open(history, "w") as out:
        for k in range(bench_select.RUNS):
            out.write(json.dumps(bench_select.run_line(rng, k, flaky)) + "\n")
    drop_schema("big")
    db = store_of(data, "big")
    subprocess.run([seer, "--db", str(db), "import", str(history)], check=True, capture_output=True)
    subprocess.run([seer, "--db", str(db), "train"], check=True, capture_output=True)
    tok = token(seer, db, "ci,read,admin")
    server = Server(seer, data, log)
    try:
        # The request `seer select --server` sends, captured once from the client's own reading
        # of git: the CLI is asked for nothing but what it would send.
        env = {"SEER_URL": server.url, "SEER_TOKEN": tok, "SEER_PROJECT": "big", "PATH": "/usr/bin:/bin"}
        cli = [seer, "select", "--repo", str(repo), "--commit", "HEAD", "--format", "nextest", "--dry-run"]

        def time_http(label, n):
            body = {"format_version": 1, "commit": head, "changes": {"base": None, "complete": True, "warnings": [],
                    "files": [{"path": f"src/mod_{f}.rs", "status": "M", "added": 1, "deleted": 1}
                              for f in (3, 77, 150)]}, "reasons_for": 0}
            server_ms, total_ms = [], []
            for _ in range(n):
                doc, total, srv = request(f"{server.url}/v1/projects/big/select", tok, body)
                server_ms.append(srv)
                total_ms.append(total)
            mode, sel = doc["mode"], len(doc["selected"])
            r = {"server_p50_ms": pct(server_ms, 0.5), "server_p99_ms": pct(server_ms, 0.99),
                 "http_p50_ms": pct(total_ms, 0.5), "http_p99_ms": pct(total_ms, 0.99), "n": n,
                 "mode": mode, "selected": sel}
            print(f"select over HTTP ({label}): server p50 {r['server_p50_ms']:.2f} ms, p99 {r['server_p99_ms']:.2f} ms; "
                  f"end to end p50 {r['http_p50_ms']:.2f} ms, p99 {r['http_p99_ms']:.2f} ms "
                  f"({n} requests; {mode}, {sel} selected)")
            return r

        def time_cli(label, n):
            times = []
            for _ in range(n):
                started = time.perf_counter()
                subprocess.run(cli, env=env, check=True, capture_output=True)
                times.append((time.perf_counter() - started) * 1000)
            r = {"p50_ms": pct(times, 0.5), "p99_ms": pct(times, 0.99), "n": n}
            print(f"seer select --server as a process ({label}): p50 {r['p50_ms']:.1f} ms, p99 {r['p99_ms']:.1f} ms ({n})")
            return r

        results["select_idle"] = time_http("idle", args.select_repeat)
        results["select_cli_idle"] = time_cli("idle", 31)
        # Again while another client uploads 10,000-test runs to the same project.
        stop = threading.Event()
        uploads = [0]

        def writer():
            wrng = random.Random(5)
            k = 0
            while not stop.is_set():
                line = bench_select.run_line(wrng, bench_select.RUNS + 1000 + k, flaky)
                request(f"{server.url}/v1/projects/big/runs", tok, {"format_version": 1, "run": line})
                uploads[0] += 1
                k += 1

        t = threading.Thread(target=writer)
        t.start()
        time.sleep(1.0)
        results["select_busy"] = time_http("while 10,000-test runs are uploaded", args.select_repeat)
        results["select_cli_busy"] = time_cli("while uploading", 31)
        stop.set()
        t.join()
        results["select_busy"]["uploads_during"] = uploads[0]
        print(f"  ({uploads[0]} runs uploaded meanwhile)")
    finally:
        server.stop()


def load_bench(args, seer, data, log, results):
    drop_schema("load")
    db = store_of(data, "load")
    tok = token(seer, db, "ci,read,admin")
    servers = [Server(seer, data if k == 0 else data.with_name(f"data-{k}"), log) for k in range(args.replicas)]
    server = servers[0]
    pool = [f"suite_{t % 40}::test_{t}" for t in range(10_000)]
    lock = threading.Lock()
    acked, sizes, attempted = {}, {}, []
    lat = {"record": [], "select": [], "record_server": [], "select_server": []}
    errors, retries = [], [0]
    deadline = time.time() + args.seconds

    def post_retrying(path, body, first=0):
        wait = 0.5
        for attempt in range(6):
            try:
                # A retry goes to the next replica, as the CLI's does.
                return request(f"{servers[(first + attempt) % len(servers)].url}{path}", tok, body)
            except (urllib.error.URLError, ConnectionError, TimeoutError) as e:
                code = getattr(e, "code", None)
                if code is not None and code != 429 and code < 500:
                    raise
                with lock:
                    retries[0] += 1
                time.sleep(wait)
                wait *= 2
        raise RuntimeError(f"{path}: gave up after 6 attempts")

    def job(j):
        rng = random.Random(1000 + j)
        k = 0
        while time.time() < deadline:
            change = change_doc(rng, 200)
            sel = {"format_version": 1, "commit": f"c{j}-{k}", "changes": change, "keep": True, "reasons_for": 0}
            try:
                _, total, srv = post_retrying("/v1/projects/load/select", sel, j)
                n = rng.randint(1_000, 10_000)
                tests = [{"id": t, "outcome": "fail" if rng.random() < 0.02 else "pass",
                          "duration_s": round(rng.random(), 3)} for t in rng.sample(pool, n)]
                run_id = f"job{j}-{k}"
                # No time: the server stamps it as it stores it, as for `seer record --server`.
                run = {"run_id": run_id, "commit": f"c{j}-{k}", "branch": "main", "tests": tests, "changes": change}
                with lock:
                    attempted.append(run_id)
                doc, rtotal, rsrv = post_retrying("/v1/projects/load/runs", {"format_version": 1, "run": run}, j)
                with lock:
                    lat["select"].append(total)
                    lat["select_server"].append(srv)
                    lat["record"].append(rtotal)
                    lat["record_server"].append(rsrv)
                    acked[run_id] = doc["status"]
                    sizes[run_id] = n
            except Exception as e:  # noqa: BLE001 (counted and reported)
                with lock:
                    errors.append(f"job {j}: {e}")
            k += 1

    started = time.time()
    threads = [threading.Thread(target=job, args=(j,)) for j in range(args.clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.time() - started
    listing, _, _ = request(f"{server.url}/v1/projects/load/runs?limit=1000000", tok)
    for sv in servers:
        sv.stop()
    stored = {r["run_id"]: r["counts"]["tests"] for r in listing["runs"]}
    lost = [r for r in acked if r not in stored]
    broken = [r for r in acked if r in stored and stored[r] != sizes[r]]
    duplicates = len(listing["runs"]) - len(stored)
    results["load"] = {
        "clients": args.clients, "replicas": args.replicas, "seconds": round(elapsed, 1), "runs_acknowledged": len(acked),
        "runs_stored": len(stored), "runs_lost": len(lost), "runs_broken": len(broken), "duplicates": duplicates,
        "results_stored": sum(stored.values()), "runs_per_s": len(acked) / elapsed,
        "results_per_s": sum(sizes.values()) / elapsed, "retries": retries[0], "errors": errors[:10],
        "errors_total": len(errors),
        "record_p50_ms": pct(lat["record"], 0.5), "record_p99_ms": pct(lat["record"], 0.99),
        "record_server_p50_ms": pct(lat["record_server"], 0.5), "record_server_p99_ms": pct(lat["record_server"], 0.99),
        "select_p50_ms": pct(lat["select"], 0.5), "select_p99_ms": pct(lat["select"], 0.99),
        "select_server_p50_ms": pct(lat["select_server"], 0.5), "select_server_p99_ms": pct(lat["select_server"], 0.99),
    }
    r = results["load"]
    print(f"load: {r['clients']} clients for {r['seconds']} s: {r['runs_acknowledged']} runs acknowledged "
          f"({r['runs_per_s']:.1f} runs/s, {r['results_per_s']:,.0f} results/s), {r['runs_stored']} stored, "
          f"lost {r['runs_lost']}, broken {r['runs_broken']}, duplicated {r['duplicates']}, "
          f"retries {r['retries']}, errors {r['errors_total']}")
    print(f"  record: p50 {r['record_p50_ms']:.0f} ms, p99 {r['record_p99_ms']:.0f} ms end to end "
          f"(server {r['record_server_p50_ms']:.0f} / {r['record_server_p99_ms']:.0f} ms)")
    print(f"  select: p50 {r['select_p50_ms']:.1f} ms, p99 {r['select_p99_ms']:.1f} ms end to end "
          f"(server {r['select_server_p50_ms']:.1f} / {r['select_server_p99_ms']:.1f} ms)")
    for e in errors[:10]:
        print("  error:", e)


def ingest_bench(args, seer, data, results):
    report = args.work / "big.xml"
    cases = "".join(f'<testcase classname="suite_{t % 100}" name="test_{t}" time="0.01"/>' for t in range(200_000))
    report.write_text(f'<testsuites><testsuite name="all">{cases}</testsuite></testsuites>')
    drop_schema("ingest")
    db = store_of(data, "ingest")
    times = []
    for k in range(3):
        started = time.perf_counter()
        subprocess.run([seer, "--db", str(db), "record", "--no-git", "--commit", f"c{k}", "--run-id", f"ingest-{k}",
                        str(report)], check=True, capture_output=True)
        times.append(time.perf_counter() - started)
    results["ingest"] = {"testcases": 200_000, "median_s": statistics.median(times), "all_s": times}
    print(f"ingest of a 200,000-testcase report: median {statistics.median(times):.2f} s "
          f"({', '.join(f'{t:.2f}' for t in times)})")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seer", default=str(Path(__file__).resolve().parents[1] / "target/release/seer"))
    ap.add_argument("--work", default="/tmp/seer-bench-serve", type=Path)
    ap.add_argument("--clients", type=int, default=32)
    ap.add_argument("--seconds", type=float, default=120)
    ap.add_argument("--select-repeat", type=int, default=201)
    ap.add_argument("--skip-select", action="store_true")
    ap.add_argument("--skip-load", action="store_true")
    ap.add_argument("--postgres", help="a Postgres database holding the stores (seer serve --db)")
    ap.add_argument("--replicas", type=int, default=1)
    ap.add_argument("--ingest", action="store_true", help="time seer record of a 200,000-testcase report")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    global POSTGRES
    POSTGRES = args.postgres
    if args.work.exists():
        shutil.rmtree(args.work)
    data = args.work / "data"
    data.mkdir(parents=True)
    results = {}
    with open(args.work / "server.log", "w") as log:
        if not args.skip_select:
            selection_bench(args, args.seer, data, log, results)
        if not args.skip_load:
            load_bench(args, args.seer, data, log, results)
        if args.ingest:
            ingest_bench(args, args.seer, data, results)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    lost = results.get("load", {}).get("runs_lost", 0) + results.get("load", {}).get("runs_broken", 0)
    sys.exit(1 if lost else 0)


if __name__ == "__main__":
    main()
