#!/usr/bin/env bash
# What a connected dashboard costs `whyline serve` (issue 13: at most 5 % of its ingest
# throughput). One server; the load generator runs the same ingest (and infer) load in
# alternating rounds without and with a client reading GET /v1/stream (curl -N, as the
# dashboard's reader does), and the script prints each round and the ratio of the medians.
# Not run by CI.
#
#   bash scripts/bench-dashboard.sh
#
# Environment (defaults in brackets):
#   PROFILE [release]    the cargo profile whose binaries run (target/PROFILE/whyline, whyline-load)
#   SKIP_BUILD [0]       1: use the binaries already built
#   ROUNDS [3]           rounds of each kind (off, on, off, on, ...)
#   DURATION [5s], WARMUP [1s]
#   BATCH [1000], INGEST_CONNECTIONS [8], FORMAT [aprt]
#   INFER_CONNECTIONS [16] (0 skips the infer rounds)
#   PORT [7880]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
profile=${PROFILE:-release}
rounds=${ROUNDS:-3}
duration=${DURATION:-5s}
warmup=${WARMUP:-1s}
batch=${BATCH:-1000}
ingest_connections=${INGEST_CONNECTIONS:-8}
infer_connections=${INFER_CONNECTIONS:-16}
format=${FORMAT:-aprt}
port=${PORT:-7880}
flag=()
[ "$profile" = release ] && flag=(--release)
if [ "${SKIP_BUILD:-0}" != 1 ]; then
    cargo build "${flag[@]}" -p whyline-cli -p whyline-load >&2
fi
whyline=target/$profile/whyline
load=target/$profile/whyline-load
tmp=$(mktemp -d)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    rm -rf "$tmp"
}
trap cleanup EXIT
base=http://127.0.0.1:$port
"$whyline" serve --dir "$tmp/ledger" --listen "127.0.0.1:$port" \
    --model "demo=crates/whyline-cli/assets/demo_model.json" > "$tmp/serve.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 300); do
    curl -fsS "$base/v2/health/ready" >/dev/null 2>&1 && break
    sleep 0.2
done

rate() { # KIND ARGS...: prints decisions/s of one run
    local kind=$1
    shift
    "$load" "$kind" --url "$base" --duration "$duration" --warmup "$warmup" --json "$@" |
        python3 -c 'import json,sys; r=json.load(sys.stdin); print(r["items_per_s"])'
}

measure() { # KIND ARGS...
    local off=() on=()
    for round in $(seq 1 "$rounds"); do
        off+=("$(rate "$@")")
        curl -sN "$base/v1/stream" > "$tmp/stream-$round.txt" &
        local client=$!
        sleep 0.5
        on+=("$(rate "$@")")
        kill "$client" 2>/dev/null || true
        wait "$client" 2>/dev/null || true
        echo "  round $round: without a client ${off[-1]}/s, with one ${on[-1]}/s" >&2
    done
    local events
    events=$(cat "$tmp"/stream-*.txt | grep -c '^event: decision' || true)
    python3 - "$1" "$events" "${off[*]}" "${on[*]}" <<'PY'
import statistics, sys
kind, events, off, on = sys.argv[1], int(sys.argv[2]), [float(x) for x in sys.argv[3].split()], [float(x) for x in sys.argv[4].split()]
a, b = statistics.median(off), statistics.median(on)
print(f"| {kind} | {a:,.0f} | {b:,.0f} | {100 * (a - b) / a:+.1f} % | {events} |")
PY
}

echo "| load | decisions/s without a client (median) | with one client reading /v1/stream | cost | decision events the client got |"
echo "|---|---|---|---|---|"
measure ingest --format "$format" --batch "$batch" --connections "$ingest_connections" \
    --model-file examples/models/credit_logistic.json --rows examples/data/credit.csv
if [ "$infer_connections" != 0 ]; then
    measure infer --model demo --connections "$infer_connections" \
        --rows crates/whyline-load/tests/fixtures/demo_rows.csv
fi
