#!/usr/bin/env python3
"""Writes a synthetic JUnit report shaped like Maven Surefire's, for ingest benchmarks.

usage: gen_junit.py N OUT [--seed S]

Deterministic for a given N and seed: 1 in 50 test cases fails (with a message and a stack
trace), 1 in 200 is skipped, 1 in 500 passes after a retry (<flakyFailure>), and tests are grouped
200 to a <testsuite>, as Surefire writes one suite per test class.
"""
import argparse
import random


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("n", type=int)
    ap.add_argument("out")
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    per_suite = 200
    with open(args.out, "w", encoding="utf-8") as f:
        f.write('<?xml version="1.0" encoding="UTF-8"?>\n<testsuites name="bench">\n')
        for s in range(0, args.n, per_suite):
            cls = f"com.example.module{s // 5000}.Class{s // per_suite}Test"
            f.write(f'  <testsuite name="{cls}" tests="{min(per_suite, args.n - s)}">\n')
            for i in range(s, min(s + per_suite, args.n)):
                t = rng.random() * 2.0
                head = f'    <testcase name="test_{i}_case" classname="{cls}" time="{t:.3f}"'
                if i % 50 == 0:
                    f.write(
                        head + ">\n"
                        f'      <failure message="expected: &lt;{i}&gt; but was: &lt;{i + 1}&gt;" '
                        'type="org.opentest4j.AssertionFailedError">'
                        f"org.opentest4j.AssertionFailedError: expected: &lt;{i}&gt; but was: &lt;{i + 1}&gt;\n"
                        f"\tat {cls}.test_{i}_case({cls.rsplit('.', 1)[1]}.java:{i % 300 + 10})\n"
                        "</failure>\n    </testcase>\n"
                    )
                elif i % 200 == 1:
                    f.write(head + '>\n      <skipped message="disabled"/>\n    </testcase>\n')
                elif i % 500 == 3:
                    f.write(
                        head + ">\n"
                        '      <flakyFailure message="timeout" type="java.util.concurrent.TimeoutException">'
                        "<stackTrace>java.util.concurrent.TimeoutException</stackTrace></flakyFailure>\n"
                        "    </testcase>\n"
                    )
                else:
                    f.write(head + "/>\n")
            f.write("  </testsuite>\n")
        f.write("</testsuites>\n")


if __name__ == "__main__":
    main()
