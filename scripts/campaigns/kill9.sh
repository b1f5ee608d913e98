#!/usr/bin/env bash
# The kill -9 campaign (issue 15): SIGKILL during `sync` appends from one thread and during
# `interval` group commits from one and from four threads, TRIALS times each (default 1000).
# After each kill: the log verifies read-only (crash residue allowed, damage not), reopens,
# and holds every acknowledged entry. A fresh log starts once one holds 20,000 entries
# (WHYLINE_KILL9_LOG_ENTRIES overrides it). Prints one summary line per mode and one per
# log; a failed trial names its kept log and the child's stdout and stderr.
# docs/reliability.md keeps the dated results. Not run by CI (CI runs 10 trials of each in
# `cargo test`).
#
#   bash scripts/campaigns/kill9.sh [TRIALS] [MODE...]
#
# MODE: sync (one thread), interval (one thread), threads (interval, four threads); all
# three when none is given.
set -euo pipefail
cd "$(dirname "$0")/../.."
trials="${1:-1000}"
shift || true
modes=("$@")
[ ${#modes[@]} -gt 0 ] || modes=(sync interval threads)
declare -A tests=(
    [sync]=crash::sigkill_at_random_moments_loses_no_acknowledged_entry
    [interval]=crash::sigkill_during_two_buffer_commits_loses_no_entry_acknowledged_durable
    [threads]=crash::sigkill_while_threads_append_loses_no_entry_acknowledged_durable
)
for mode in "${modes[@]}"; do
    [ -n "${tests[$mode]:-}" ] || { echo "unknown mode $mode (sync, interval, threads)" >&2; exit 2; }
done
echo "kill -9 campaign: $trials trials per mode (${modes[*]}), started $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
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
failed=0
for mode in "${modes[@]}"; do
    started=$(date +%s)
    echo "mode $mode: started $(date -u +%H:%M:%S), load $(cut -d' ' -f1-3 /proc/loadavg)"
    if ! WHYLINE_KILL9_TRIALS="$trials" "$copy/ledger-tests" "${tests[$mode]}" --exact \
        --nocapture --test-threads=1 2>&1 |
        grep --line-buffered -oE 'kill9 .*|test result.*|panicked.*|kept: .*|FAILED.*'; then
        failed=1
    fi
    echo "mode $mode: finished $(date -u +%H:%M:%S), $(($(date +%s) - started)) s, load $(cut -d' ' -f1-3 /proc/loadavg)"
done
echo "finished $(date -u +%Y-%m-%dT%H:%M:%SZ)"
exit "$failed"
