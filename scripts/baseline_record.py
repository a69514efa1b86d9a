#!/usr/bin/env python3
"""The baseline collector for seer's ingest benchmark: what a seed project would write in Python.

usage: baseline_record.py REPORT DB

Streams the JUnit report with xml.etree.ElementTree.iterparse and stores it with sqlite3
executemany into the same kind of tables as seer (runs; tests, with the unique name a SQL collector
looks tests up by; results keyed by run and test, and like seer's without an index by test), in
one transaction, with the same WAL and synchronous settings. It reads the same outcomes and retries as seer: failure/error/skipped children, and
flakyFailure/rerunFailure elements as extra attempts.
"""
import sqlite3
import sys
import time
import xml.etree.ElementTree as ET

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (id INTEGER PRIMARY KEY, run_id TEXT NOT NULL UNIQUE, commit_sha TEXT NOT NULL,
    time INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS tests (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, suite TEXT,
    first_run INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS results (run INTEGER NOT NULL, test INTEGER NOT NULL, outcome INTEGER NOT NULL,
    duration_s REAL, attempts INTEGER NOT NULL, message TEXT, PRIMARY KEY (run, test)) WITHOUT ROWID;
"""

OUTCOME = {"failure": 1, "error": 2, "skipped": 3}
RETRY = {"flakyFailure", "flakyError", "rerunFailure", "rerunError"}


def main(report, db):
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.executescript(SCHEMA)
    rows = []
    for _, elem in ET.iterparse(report, events=("end",)):
        if elem.tag != "testcase":
            continue
        outcome, attempts, message = 0, 1, None
        for child in elem:
            if child.tag in OUTCOME and outcome not in (1, 2):
                outcome = OUTCOME[child.tag]
                message = child.get("message")
            elif child.tag in RETRY:
                attempts += 1
        cls = elem.get("classname") or ""
        name = elem.get("name")
        t = elem.get("time")
        rows.append((f"{cls}::{name}", cls, outcome, float(t.replace(",", "")) if t else None, attempts, message))
        elem.clear()
    conn.execute("BEGIN IMMEDIATE")
    run = conn.execute(
        "INSERT INTO runs (run_id, commit_sha, time) VALUES (?, ?, ?)", ("bench", "c0ffee", int(time.time()))
    ).lastrowid
    conn.executemany(
        "INSERT OR IGNORE INTO tests (name, suite, first_run) VALUES (?, ?, ?)", ((r[0], r[1], run) for r in rows)
    )
    conn.executemany(
        "INSERT INTO results (run, test, outcome, duration_s, attempts, message) "
        "SELECT ?, id, ?, ?, ?, ? FROM tests WHERE name = ?",
        ((run, r[2], r[3], r[4], r[5], r[0]) for r in rows),
    )
    conn.execute("COMMIT")
    conn.close()
    print(f"stored {len(rows)} results")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
