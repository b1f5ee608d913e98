#!/usr/bin/env bash
# Benchmarks `whyline serve` on loopback against the Python peer (issue 11, "Performance"):
# infer (one demo-forest row per KServe V2 request, 64 keep-alive connections) against both
# servers in the same run, then decision ingest (JSON lines and APRT batches) against
# whyline. Prints a table and writes it as markdown. Not run by CI.
#
#   bash scripts/bench-serve.sh [OUT.md]        (default target/bench-serve/bench-serve.md)
#
# Environment (defaults in brackets):
#   DURATION [10s], WARMUP [2s]     measured window and warm-up of every run
#   CONNECTIONS [64]                infer connections; INGEST_CONNECTIONS [8] for ingest
#   BATCH [1000]                    decisions per ingest request (small linear traces)
#   FOREST_BATCH [100]              decisions per request of demo-forest traces (28 KB of JSON each)
#   PACED_RATE [200]                infer requests/s of the paced runs (latency at a load both
#                                   servers can carry; 0 skips them)
#   THREADS [1]                     the load generator's runtime threads
#   PIN [0]                         1: the servers on CPU 0, the generator on CPU 1 (taskset)
#   WHYLINE_PORT [7878], PEER_PORT [7879]
#   SKIP_BUILD [0]                  1: use the release binaries already built
#
# On a 2-core machine the generator competes with the server: every row of the table gives
# the cores the generator used (its own /proc CPU time over the run's wall time) and the
# cores the server used over the same run, and PIN=1 separates them onto their own cores.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$PWD
out=${1:-target/bench-serve/bench-serve.md}
duration=${DURATION:-10s}
warmup=${WARMUP:-2s}
connections=${CONNECTIONS:-64}
ingest_connections=${INGEST_CONNECTIONS:-8}
batch=${BATCH:-1000}
forest_batch=${FOREST_BATCH:-100}
threads=${THREADS:-1}
paced_rate=${PACED_RATE:-200}
whyline_port=${WHYLINE_PORT:-7878}
peer_port=${PEER_PORT:-7879}
demo_model=crates/whyline-cli/assets/demo_model.json
demo_rows=crates/whyline-load/tests/fixtures/demo_rows.csv
credit_model=examples/models/credit_logistic.json
credit_rows=examples/data/credit.csv

server_pin=()
load_pin=()
if [ "${PIN:-0}" = 1 ]; then
    server_pin=(taskset -c 0)
    load_pin=(taskset -c 1)
fi

if [ "${SKIP_BUILD:-0}" != 1 ]; then
    echo "== cargo build --release -p whyline-cli -p whyline-load" >&2
    cargo build --release -p whyline-cli -p whyline-load >&2
fi
whyline=$root/target/release/whyline
load=$root/target/release/whyline-load

venv=python/.venv-serve
if [ ! -x "$venv/bin/python" ]; then
    echo "== creating $venv" >&2
    python3 -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --upgrade pip
    "$venv/bin/python" -m pip install --quiet -r python/requirements-serve.txt
fi

tmp=$(mktemp -d)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    wait 2>/dev/null || true
    rm -rf "$tmp"
}
trap cleanup EXIT

# The profile: a ledger with group commit (`interval`) and signed checkpoints.
cat > "$tmp/profile.toml" <<TOML
[inference_monitor]
integrity_level = "SIL2"
collector = "ledger"
storage_path = "$tmp/ledger"
durability = "interval"
group_commit_ms = 5
group_commit_entries = 256
signing = "ed25519"
checkpoint_every = 4096
TOML

wait_ready() { # URL PID LOG
    for _ in $(seq 1 300); do
        if curl -fsS "$1" >/dev/null 2>&1; then
            return 0
        fi
        if ! kill -0 "$2" 2>/dev/null; then
            echo "server exited; its log:" >&2
            cat "$3" >&2
            exit 2
        fi
        sleep 0.2
    done
    echo "$1 not ready after 60 s; log:" >&2
    cat "$3" >&2
    exit 2
}

echo "== starting the peer (FastAPI + scikit-learn) on :$peer_port" >&2
(cd python/peer && exec "${server_pin[@]}" ../.venv-serve/bin/python serve_sklearn.py --port "$peer_port") \
    > "$tmp/peer.log" 2>&1 &
peer_pid=$!
pids+=("$peer_pid")

# Before `whyline serve` exists (issue 11 in progress), measure the peer alone.
with_whyline=1
if ! "$whyline" serve --help >/dev/null 2>&1; then
    echo "!! $whyline has no serve command: measuring the peer only" >&2
    with_whyline=0
fi

serve_pid=
if [ "$with_whyline" = 1 ]; then
    echo "== starting whyline serve on :$whyline_port" >&2
    "${server_pin[@]}" "$whyline" serve --dir "$tmp/ledger" --config "$tmp/profile.toml" \
        --listen "127.0.0.1:$whyline_port" --model "demo=$demo_model" --model "credit=$credit_model" \
        > "$tmp/serve.log" 2>&1 &
    serve_pid=$!
    pids+=("$serve_pid")
fi

wait_ready "http://127.0.0.1:$peer_port/v2/health/ready" "$peer_pid" "$tmp/peer.log"
if [ "$with_whyline" = 1 ]; then
    wait_ready "http://127.0.0.1:$whyline_port/v2/health/ready" "$serve_pid" "$tmp/serve.log"
fi

cpu_ticks() { # PID: user + system clock ticks (fields 14 and 15 of /proc/PID/stat)
    sed 's/.*) //' "/proc/$1/stat" | awk '{print $12 + $13}'
}

results=$tmp/results.jsonl
: > "$results"
run() { # NAME SERVER_PID whyline-load ARGS...
    local name=$1 pid=$2
    shift 2
    echo "== $name: whyline-load $*" >&2
    local before after started ended
    before=$(cpu_ticks "$pid")
    started=$(date +%s.%N)
    local report
    report=$("${load_pin[@]}" "$load" "$@" --duration "$duration" --warmup "$warmup" \
        --threads "$threads" --json --label "$name") || true
    ended=$(date +%s.%N)
    after=$(cpu_ticks "$pid")
    if [ -z "$report" ]; then
        echo "   (no report: see the generator's message above)" >&2
        return
    fi
    python3 - "$report" "$before" "$after" "$started" "$ended" >> "$results" <<'PY'
import json, sys
report = json.loads(sys.argv[1])
ticks = int(sys.argv[3]) - int(sys.argv[2])
wall = float(sys.argv[5]) - float(sys.argv[4])
report["server_cores"] = ticks / 100.0 / wall
print(json.dumps(report))
PY
}

load_start=$(cat /proc/loadavg)
started_at=$(date -u '+%Y-%m-%d %H:%M UTC')
run "peer infer" "$peer_pid" infer --url "http://127.0.0.1:$peer_port" --model demo \
    --rows "$demo_rows" --connections "$connections"
if [ "$with_whyline" = 1 ]; then
    run "whyline infer" "$serve_pid" infer --url "http://127.0.0.1:$whyline_port" --model demo \
        --rows "$demo_rows" --connections "$connections"
fi
if [ "$paced_rate" != 0 ]; then
    run "peer infer @$paced_rate/s" "$peer_pid" infer --url "http://127.0.0.1:$peer_port" \
        --model demo --rows "$demo_rows" --connections "$connections" --rate "$paced_rate"
    if [ "$with_whyline" = 1 ]; then
        run "whyline infer @$paced_rate/s" "$serve_pid" infer --url "http://127.0.0.1:$whyline_port" \
            --model demo --rows "$demo_rows" --connections "$connections" --rate "$paced_rate"
    fi
fi
if [ "$with_whyline" = 1 ]; then
    run "whyline ingest jsonl (linear)" "$serve_pid" ingest --url "http://127.0.0.1:$whyline_port" \
        --format jsonl --batch "$batch" --connections "$ingest_connections" \
        --model-file "$credit_model" --rows "$credit_rows"
    run "whyline ingest aprt (linear)" "$serve_pid" ingest --url "http://127.0.0.1:$whyline_port" \
        --format aprt --batch "$batch" --connections "$ingest_connections" \
        --model-file "$credit_model" --rows "$credit_rows"
    run "whyline ingest jsonl (forest)" "$serve_pid" ingest --url "http://127.0.0.1:$whyline_port" \
        --format jsonl --batch "$forest_batch" --connections "$ingest_connections" \
        --model-file "$demo_model" --rows "$demo_rows"
    run "whyline ingest aprt (forest)" "$serve_pid" ingest --url "http://127.0.0.1:$whyline_port" \
        --format aprt --batch "$forest_batch" --connections "$ingest_connections" \
        --model-file "$demo_model" --rows "$demo_rows"
fi
load_end=$(cat /proc/loadavg)

mkdir -p "$(dirname "$out")"
python3 - "$results" "$out" <<PY
import json, subprocess, sys
rows = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
commit = subprocess.run(["git", "log", "-1", "--format=%h %s"], capture_output=True, text=True).stdout.strip()
lines = [
    f"Run {'$started_at'}, commit \`{commit}\`",
    f"machine: {subprocess.run(['nproc'], capture_output=True, text=True).stdout.strip()} cores, {cpu}; "
    f"load average at start {'$load_start'.split()[:3]}, at end {'$load_end'.split()[:3]}",
    f"command: \`bash scripts/bench-serve.sh\` (DURATION=$duration WARMUP=$warmup CONNECTIONS=$connections "
    f"INGEST_CONNECTIONS=$ingest_connections BATCH=$batch FOREST_BATCH=$forest_batch PACED_RATE=$paced_rate THREADS=$threads PIN=${PIN:-0})",
    "",
    "| run | conns | req/s | items/s | p50 µs | p99 µs | max µs | errors | generator cores | server cores |",
    "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
]
for r in rows:
    errors = sum(r["errors_by_status"].values()) + r["transport_errors"] + r["bad_answers"]
    lat = r["latency"]
    lines.append(
        f"| {r['label']} | {r['connections']} | {r['requests_per_s']:,.0f} | {r['items_per_s']:,.0f} {r['item_name']} | "
        f"{lat['p50_us']:,.0f} | {lat['p99_us']:,.0f} | {lat['max_us']:,.0f} | {errors} | "
        f"{(r.get('client_cores') or 0):.2f} | {r['server_cores']:.2f} |"
    )
by = {r["label"]: r for r in rows}
peer, ours = by.get("peer infer"), by.get("whyline infer")
if peer and ours and peer["requests_per_s"] > 0:
    lines += ["", f"infer requests/s, whyline / peer: **{ours['requests_per_s'] / peer['requests_per_s']:.1f}×** "
              f"(p99 {ours['latency']['p99_us']:,.0f} µs vs {peer['latency']['p99_us']:,.0f} µs)"]
for r in rows:
    if r["first_error"]:
        lines.append(f"- {r['label']}: first error: {r['first_error'][:200]}")
text = "\n".join(lines) + "\n"
open(sys.argv[2], "w").write(text)
print(text)
PY
echo "wrote $out" >&2
