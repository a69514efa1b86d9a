#!/usr/bin/env bash
# The long run of the parsers' mutation harness (crates/seer-ci-core/src/collect/fuzz.rs): every
# input parser fed mutated reports, histories, coverage and profiles. CI runs 200 iterations
# (3,000 inputs); this runs as many as asked, from a seed, and prints how many were read whole and
# how many refused, and how many malformed XML reports were accepted (must be 0).
# Usage: scripts/fuzz.sh [ITERATIONS] [SEED]
set -euo pipefail
cd "$(dirname "$0")/.."
export SEER_FUZZ_ITERATIONS="${1:-10000}" SEER_FUZZ_SEED="${2:-1}"
cargo nextest run -p seer-ci-core mutated_inputs --no-capture 2>&1 \
    | grep -E "inputs \(seed|^iteration|^input:|PASS|FAIL"
