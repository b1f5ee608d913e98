#!/usr/bin/env bash
# The loom models of the collectors' shared state (crates/whyline-ledger/tests/loom.rs): the
# ring, the stream collector under Block and Drop, the ledger collector's group commit, each
# run under every interleaving loom explores within the preemption bound.
#
#   bash scripts/loom.sh                        # every model
#   bash scripts/loom.sh stream_dropping        # the models whose name contains this
#   LOOM_MAX_PREEMPTIONS=3 bash scripts/loom.sh # a deeper search (much slower)
#
# Builds whyline-ledger with RUSTFLAGS="--cfg loom" (its locks, atomics, threads and queue
# come from loom then: src/sync.rs) in release mode, in its own target directory
# (target/loom), so the normal build in target/debug is never invalidated.
#
# LOOM_MAX_PREEMPTIONS bounds how many times loom may preempt a thread that could go on in one
# execution (default here 2; tests/loom.rs uses 2 too when the variable is unset). Most
# concurrency bugs need two or three; each step up multiplies the time. On a failure, loom
# prints the interleaving; LOOM_LOG=1 LOOM_LOCATION=1 say more (see loom's docs).
set -euo pipefail
cd "$(dirname "$0")/.."

export LOOM_MAX_PREEMPTIONS="${LOOM_MAX_PREEMPTIONS:-2}"
export RUSTFLAGS="${RUSTFLAGS:-} --cfg loom"
target_dir="${LOOM_TARGET_DIR:-$PWD/target/loom}"

echo "== loom models (LOOM_MAX_PREEMPTIONS=$LOOM_MAX_PREEMPTIONS, target $target_dir)"
cargo test -p whyline-ledger --release --locked --target-dir "$target_dir" --test loom -- \
    --test-threads=1 "$@"
echo "== loom models done in ${SECONDS}s"
