#!/usr/bin/env bash
# seer's main job on the bundled data, with the default embedded store (.seer/seer.db at the
# repository root): import the real ABB IOF/ROL CI history, then show what the store holds.
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
