#!/usr/bin/env bash
# seer's main job on the bundled data, with the default embedded store (.seer/seer.db at the
# repository root): import the real ABB IOF/ROL CI history, show what the store holds, train the
# failure predictor (saved under .seer/models/), let seer select (in observe mode) for the last
# 20 cycles before each is recorded, as a CI pre-test step would, and see what it caught and
# missed; select with per-test coverage in a small repository made here; list flaky tests; record real profiles of seer's own workload (bundled fixtures) and find
# the function a commit slowed down, and the commit; write the report of those weeks (HTML and
# Markdown); and replay the whole history in time order
# to measure test selection against the baselines, at the model's calibrated threshold and at a
# fixed budget.
# Running it again is safe: runs already stored are recognised and left as they are.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
seer=target/release/seer
work=target/main-job
mkdir -p "$work"

# The history up to cycle 300, each of the last 20 cycles on its own (same run ids as the whole
# file: iofrol-CYCLE), and each cycle's time (its latest LastRun, as the import dates it).
awk -F';' -v dir="$work" 'NR == 1 { header = $0; print > (dir "/iofrol-upto-300.csv"); next }
    { if ($5 > last[$8]) last[$8] = $5 }
    $8 <= 300 { print > (dir "/iofrol-upto-300.csv"); next }
    { f = dir "/iofrol-cycle-" $8 ".csv"; if (!(f in seen)) { print header > f; seen[f] = 1 } print > f }
    END { for (c in last) if (c > 300) print c ";" last[c] > (dir "/cycle-times.txt") }' \
    data/iofrol.csv

echo "== import: ABB IOF/ROL history up to cycle 300 (data/iofrol.csv)"
"$seer" import --run-prefix iofrol "$work/iofrol-upto-300.csv"
echo
echo "== train the failure predictor on it (the live model for seer select)"
"$seer" train
echo
echo "== cycles 301-320: seer select (observe mode: it keeps what it would have run, every test runs), then the cycle's real results are recorded"
for cycle in $(seq 301 320); do
    when=$(awk -F';' -v c="$cycle" '$1 == c { print $2 }' "$work/cycle-times.txt")
    # JSON: observe mode runs everything, which a bare list cannot say (it would exit 8).
    "$seer" select --commit "iofrol-cycle-$cycle" --no-git --observe --time "$when" --format json \
        > /dev/null 2> "$work/select-$cycle.log"
    "$seer" import --run-prefix iofrol "$work/iofrol-cycle-$cycle.csv" > /dev/null
done
sed -n 1p "$work/select-320.log"
echo
echo "== the store, and what the selections came to (misses: failing tests seer would have skipped)"
"$seer" stats
echo
echo "== the newest runs"
"$seer" runs --limit 5
echo
echo "== one test's history"
"$seer" history 78082 --limit 5
echo
echo "== the tests seer would pick for the next cycle, with reasons (the first 10)"
"$seer" select --commit next-cycle --no-git --dry-run --explain --format json 2>&1 > /dev/null | head -11
echo
echo "== per-test coverage: in a small git repository made here ($work/coverage-demo), tests that ran a"
echo "   changed line run and, when coverage accounts for the whole change, the others are skipped"
demo="$PWD/$work/coverage-demo"
rm -rf "$demo" && mkdir -p "$demo/repo/src"
g() { git -C "$demo/repo" -c user.name=seer -c user.email=seer@example.com "$@"; }
g init -q -b main
for f in parse display eval; do printf 'pub fn %s() -> u32 {\n    1\n}\n' "$f" > "$demo/repo/src/$f.rs"; done
g add -A && g commit -q -m base
cases=""
for f in parse display eval; do cases+="<testcase classname=\"demo\" name=\"${f}_works\" time=\"2.0\"/>"; done
echo "<testsuites><testsuite name=\"demo\">$cases</testsuite></testsuites>" > "$demo/junit.xml"
: > "$demo/coverage.lcov"
for t in parse display eval; do
    echo "TN:demo::${t}_works" >> "$demo/coverage.lcov"
    for f in parse display eval; do
        hit=0; [ "$f" = "$t" ] && hit=1
        printf 'SF:%s/repo/src/%s.rs\nDA:1,%s\nDA:2,%s\nDA:3,%s\nend_of_record\n' "$demo" "$f" $hit $hit $hit >> "$demo/coverage.lcov"
    done
done
dseer() { "$seer" --db "$demo/seer.db" "$@"; }
for k in 1 2 3; do dseer record --repo "$demo/repo" --commit HEAD --run-id "demo-$k" "$demo/junit.xml" > /dev/null; done
dseer coverage record --commit HEAD --root "$demo/repo" "$demo/coverage.lcov"
sed -i 's/    1/    2/' "$demo/repo/src/display.rs" && g commit -q -am "display: 2"
dseer select --commit HEAD --repo "$demo/repo" --dry-run --explain --format list 2>&1 > /dev/null
echo
echo "== flaky tests (the first 10)"
"$seer" flaky list | head -12
echo
echo "== profiles: real perf profiles of seer's own workload (tests/fixtures/profiles/), 4 commits of 5 runs;"
echo "   from commit c03 on, one function (checksum, ~3% of the samples) does 10% more work"
fixtures=tests/fixtures/profiles
for c in 1 2 3 4; do
    if [ "$c" -le 2 ]; then kind=base; first=$(( 5 * c - 4 )); else kind=slow; first=$(( 5 * (c - 2) - 4 )); fi
    files=()
    for k in $(seq "$first" $(( first + 4 ))); do files+=("$fixtures/$kind-$(printf %02d "$k").folded.gz"); done
    # Dated within the last cycles' weeks (October 2016), so that the report below shows them.
    "$seer" profile record --name workload --commit "c0$c" --time "$(( 1475280000 + 86400 * c ))" \
        "${files[@]}" > /dev/null
done
"$seer" profile list --name workload
echo
echo "== which functions got slower from c02 to c03 (differential flame graph: $work/diff-c02-c03.svg)"
"$seer" profile diff --name workload --base c02 --head c03 --svg "$work/diff-c02-c03.svg"
echo
echo "== and from which commit, over the whole history"
"$seer" profile trend --name workload
"$seer" profile flamegraph --name workload --commit c04 --svg "$work/flamegraph-c04.svg"
echo
echo "== the weekly report, for the weeks of the last 20 cycles: $work/report.html (and report.md)"
"$seer" report --from 2016-09-15 --to 2016-10-26 --out "$work/report.html" --markdown "$work/report.md"
cat "$work/report.md"
echo
echo "== test selection replayed in time order: the model at its calibrated threshold (95% recall)"
"$seer" eval
echo
echo "== the same replay with every contender at 25% of the test time"
"$seer" eval --fraction 0.25
