#!/usr/bin/env bash
# The tampering campaign (issue 15): TRIALS random tamperings (default 10000) of signed
# logs of 1 to 2,100 entries: bit flips, byte changes, deleted, duplicated, swapped and forged
# frames, truncations, checkpoint and time-index edits. Each must be found at the right
# first entry with the right kind; prints one line per kind and every miss.
# docs/reliability.md keeps the dated results. CI runs 200 trials in `cargo test`.
#
#   bash scripts/campaigns/tamper.sh [TRIALS]
set -euo pipefail
cd "$(dirname "$0")/../.."
trials="${1:-10000}"
echo "tamper campaign: $trials trials, started $(date -u +%Y-%m-%dT%H:%M:%SZ), load $(cut -d' ' -f1-3 /proc/loadavg)"
WHYLINE_TAMPER_TRIALS="$trials" cargo test -q -p whyline-ledger --test main tamper_campaign \
    -- --nocapture 2>&1 | grep -E '^tamper |trial |test result|panicked'
echo "finished $(date -u +%Y-%m-%dT%H:%M:%SZ)"
