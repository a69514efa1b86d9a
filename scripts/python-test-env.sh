#!/usr/bin/env bash
# Makes the Python the pytest-plugin tests run with: a virtual environment with pytest,
# pytest-cov, coverage.py and this repository's plugin (./python), and prints its interpreter.
#   SEER_TEST_PYTHON=$(scripts/python-test-env.sh)   # [DIR, default target/python-test-env]
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-target/python-test-env}
python=${PYTHON:-python3}
if [ ! -x "$dir/bin/python" ]; then
    "$python" -m venv "$dir" >&2
fi
"$dir/bin/pip" install -q --disable-pip-version-check \
    "pytest==9.2.0" "pytest-cov==7.1.0" "coverage==7.17.5" ./python >&2
echo "$(cd "$dir" && pwd)/bin/python"
