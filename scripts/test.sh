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

echo "== scripts/services.sh (PostgreSQL, nats-server, Chromium, tmux for the tests to start)"
bash scripts/services.sh

echo "== cargo test --workspace"
cargo test --workspace --locked

echo "== cargo test took ${SECONDS}s"
# The loom models of the collectors' shared state, in their own target directory (a release
# build with --cfg loom: ~3 minutes the first time on 2 cores, seconds to run).
bash scripts/loom.sh
echo "== loom models done at ${SECONDS}s"
echo "== scripts/e2e-distributed.sh (4 producers x 250,000 decisions through NATS JetStream, sequencer SIGKILLed 3 times)"
bash scripts/e2e-distributed.sh
echo "== e2e-distributed done at ${SECONDS}s"
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
# Built without build isolation by the venv's pinned maturin (on PATH for pip's backend),
# in the workspace's target directory with cargo's dev profile, so the crates `cargo test`
# just built are reused and only PyO3 and the module itself compile (a release build of
# the stack takes minutes; the numbers are the same: no fast-math, one code path).
# WHYLINE_PY_PROFILE=release tests the release build (what `pip install ./python` makes).
export PATH="$venv/bin:$PATH"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$repo/target}"
export MATURIN_PEP517_ARGS="--profile ${WHYLINE_PY_PROFILE:-dev}"
"$venv/bin/python" -m pip install --quiet --no-build-isolation --force-reinstall --no-deps ./python

echo "== venv and package ready at ${SECONDS}s"
echo "== pytest python/tests"
export WHYLINE_BIN="${WHYLINE_BIN:-$CARGO_TARGET_DIR/debug/whyline}"
cd python/tests
"$venv/bin/python" -m pytest -q -p no:cacheprovider .
