#!/usr/bin/env bash
# The torn and reordered writes campaign (issue 15): TRIALS crashes (default 10000) of a log
# under a simulated page cache that loses unsynced 4 KiB pages in any order and may or may not
# have persisted the file's new length. After each, the log must reopen without salvage, hold
# every acknowledged entry byte for byte, verify intact and take appends again.
# docs/reliability.md keeps the dated results. CI runs 100 trials in `cargo test`.
#
#   bash scripts/campaigns/torn_writes.sh [TRIALS]
set -euo pipefail
cd "$(dirname "$0")/../.."
trials="${1:-10000}"
echo "torn writes campaign: $trials trials, started $(date -u +%Y-%m-%dT%H:%M:%SZ), load $(cut -d' ' -f1-3 /proc/loadavg)"
# Release: ten thousand trials of signed logs take minutes instead of an hour.
WHYLINE_TORN_TRIALS="$trials" cargo test -q --release -p whyline-ledger --test main \
    torn_writes::lost_and_reordered -- --nocapture 2>&1 | grep -E '^torn writes|seed |test result|panicked'
echo "finished $(date -u +%Y-%m-%dT%H:%M:%SZ)"
