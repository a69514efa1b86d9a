#!/usr/bin/env bash
# seer's main job on the bundled data, with the default embedded store (.seer/seer.db at the
# repository root): import the real ABB IOF/ROL CI history, show what the store holds, train the
# failure predictor (saved under .seer/models/), and replay the history in time order to measure
# test selection against the baselines, at the model's calibrated threshold and at a fixed budget.
# Running it again is safe: runs already stored are recognised and left as they are.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
seer=target/release/seer

echo "== import: ABB IOF/ROL history (data/iofrol.csv)"
"$seer" import data/iofrol.csv
echo
echo "== the store"
"$seer" stats
echo
echo "== the newest runs"
"$seer" runs --limit 5
echo
echo "== one test's history"
"$seer" history 78082 --limit 5
echo
echo "== train the failure predictor on the whole history (the live model for seer select)"
"$seer" train
echo
echo "== test selection replayed in time order: the model at its calibrated threshold (95% recall)"
"$seer" eval
echo
echo "== the same replay with every contender at 25% of the test time"
"$seer" eval --fraction 0.25
