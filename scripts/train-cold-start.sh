#!/usr/bin/env bash
# Trains the bundled cold-start model (models/cold-start.json): history features only, on the
# public ABB IOF/ROL CI history (data/iofrol.csv), so that it needs nothing a new project lacks.
# seer compiles it in and uses it until a project has trained its own (`seer train`).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
store=$(mktemp -d)
trap 'rm -rf "$store"' EXIT
target/release/seer --db "$store/seer.db" import data/iofrol.csv
target/release/seer --db "$store/seer.db" train --features history --output models/cold-start.json
