#!/usr/bin/env bash
# The test command: the Rust workspace's tests, then the Python package's tests against the
# libraries themselves (scikit-learn, XGBoost, LightGBM, shap) in python/.venv-test.
#
#   bash scripts/test.sh
#
# Creates or updates python/.venv-test from python/requirements-test.txt (pip's cache makes
# a re-run quick), installs the package with `pip install ./python` (a maturin release
# build of the Rust stack), and runs pytest. Needs python3 (3.9 or newer, with venv); a
# missing interpreter or a failed install fails the script, never skips the tests.
# PYTHON picks the interpreter (default python3).
set -euo pipefail
cd "$(dirname "$0")/.."
repo="$PWD"

echo "== cargo test --workspace"
cargo test --workspace --locked

echo "== python venv (python/.venv-test)"
python_bin="${PYTHON:-python3}"
if ! command -v "$python_bin" >/dev/null 2>&1; then
    echo "scripts/test.sh: $python_bin not found: the Python package tests need Python 3.9+ (set PYTHON)" >&2
    exit 1
fi
venv="$repo/python/.venv-test"
if [ ! -x "$venv/bin/python" ]; then
    "$python_bin" -m venv "$venv"
fi
# Reinstall the pins only when they change.
stamp="$venv/.requirements-test.sha256"
want="$(sha256sum python/requirements-test.txt | cut -d' ' -f1)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    "$venv/bin/python" -m pip install --quiet --upgrade pip
    "$venv/bin/python" -m pip install --quiet -r python/requirements-test.txt
    echo "$want" > "$stamp"
fi

echo "== pip install ./python"
# The wheel is built in the workspace's target directory, so cargo's cache is reused.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$repo/target}"
"$venv/bin/python" -m pip install --quiet --no-build-isolation --force-reinstall --no-deps ./python

echo "== pytest python/tests"
export WHYLINE_BIN="${WHYLINE_BIN:-$CARGO_TARGET_DIR/debug/whyline}"
cd python/tests
"$venv/bin/python" -m pytest -q -p no:cacheprovider .
