#!/usr/bin/env bash
# The kill -9 campaign (issue 15): SIGKILL during `sync` appends from one thread and during
# `interval` group commits from one and from four threads, TRIALS times each (default 1000).
# After each kill: the log verifies read-only (crash residue allowed, damage not), reopens,
# and holds every acknowledged entry. Prints one summary line per mode; docs/reliability.md
# keeps the dated results. Not run by CI (CI runs 10 trials of each in `cargo test`).
#
#   bash scripts/campaigns/kill9.sh [TRIALS]
set -euo pipefail
cd "$(dirname "$0")/../.."
trials="${1:-1000}"
started=$(date -u +%Y-%m-%dT%H:%M:%SZ)
echo "kill -9 campaign: $trials trials per mode, started $started on $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
# The trials' children re-run the test binary: run a copy of it, so that a build started
# meanwhile (another `cargo test`) cannot replace it under the campaign.
# Release build: after each kill the parent verifies and reopens the log, which a debug build
# makes the slow part of a trial.
bin=$(cargo test -q --release -p whyline-ledger --test main --no-run --message-format=json 2>/dev/null |
    python3 -c 'import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m["target"]["name"] == "main" and m.get("executable"):
        print(m["executable"])')
copy=$(mktemp -d)
trap 'rm -rf "$copy"' EXIT
cp "$bin" "$copy/ledger-tests"
WHYLINE_KILL9_TRIALS="$trials" "$copy/ledger-tests" crash:: --nocapture --test-threads=1 2>&1 |
    grep --line-buffered -oE 'kill9 .*|test result.*|panicked.*|FAILED.*'
echo "finished $(date -u +%Y-%m-%dT%H:%M:%SZ)"
