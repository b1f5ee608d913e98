#!/usr/bin/env bash
# Is the live page smooth while the server ingests 100k decisions/s? (issue 13). One release
# server; whyline-load ingests APRT batches paced at RATE decisions/s; headless Chromium
# (Debian's, under chromedriver, driven here through the W3C WebDriver HTTP API with curl)
# shows the live page `/` the whole time. In the page, a requestAnimationFrame loop counts
# frames and the longest gap between two, a PerformanceObserver counts long tasks (main
# thread busy > 50 ms), and a MutationObserver counts the live table's updates. Printed: the
# ingest rate reached, the page's frames per second, its longest frame gap, its long tasks,
# the decision rows it rendered and its JS heap. Not run by CI.
#
#   bash scripts/bench-dashboard-browser.sh
#
# Environment (defaults in brackets):
#   RATE [100000]      decisions/s to ingest (batches of BATCH, paced)
#   BATCH [1000]       decisions per request
#   SECONDS_RUN [15]   how long the page is watched under load
#   PROFILE [release]  the cargo profile whose binaries run; SKIP_BUILD [0]
#   PORT [7881], DRIVER_PORT [9519]
# Needs chromium and chromedriver (`bash scripts/services.sh`).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
rate=${RATE:-100000}
batch=${BATCH:-1000}
seconds=${SECONDS_RUN:-15}
profile=${PROFILE:-release}
port=${PORT:-7881}
driver_port=${DRIVER_PORT:-9519}
for tool in chromium chromedriver curl python3; do
    command -v "$tool" >/dev/null || { echo "$tool is missing: bash scripts/services.sh" >&2; exit 2; }
done
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
    wait 2>/dev/null || true
    rm -rf "$tmp"
}
trap cleanup EXIT
base=http://127.0.0.1:$port
driver=http://127.0.0.1:$driver_port

"$whyline" serve --dir "$tmp/ledger" --listen "127.0.0.1:$port" \
    --model "demo=crates/whyline-cli/assets/demo_model.json" > "$tmp/serve.log" 2>&1 &
pids+=($!)
chromedriver --port="$driver_port" > "$tmp/driver.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 300); do
    curl -fsS "$base/v2/health/ready" >/dev/null 2>&1 && curl -fsS "$driver/status" >/dev/null 2>&1 && break
    sleep 0.2
done

# One WebDriver call: METHOD PATH [JSON BODY]; prints the answer's "value".
webdriver() {
    local method=$1 path=$2 body=${3:-}
    local args=(-fsS -X "$method" "$driver$path" -H 'Content-Type: application/json')
    [ -n "$body" ] && args+=(--data "$body")
    curl "${args[@]}" | python3 -c 'import json,sys; print(json.dumps(json.load(sys.stdin)["value"]))'
}
session=$(webdriver POST /session "{\"capabilities\":{\"alwaysMatch\":{\"browserName\":\"chrome\",\"goog:chromeOptions\":{\"binary\":\"$(command -v chromium)\",\"args\":[\"--headless\",\"--no-sandbox\",\"--disable-gpu\",\"--disable-dev-shm-usage\",\"--user-data-dir=$tmp/profile\",\"--window-size=1280,900\"]}}}}" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["sessionId"])')
pids_session() { curl -fsS -X DELETE "$driver/session/$session" >/dev/null 2>&1 || true; }
trap 'pids_session; cleanup' EXIT

webdriver POST "/session/$session/url" "{\"url\":\"$base/\"}" >/dev/null
sleep 2
# The page's instruments: frames, the longest gap between two, long tasks, table updates.
probe='window.__bench = {frames: 0, maxGap: 0, last: 0, longTasks: 0, longTaskMs: 0, mutations: 0};
const b = window.__bench;
function frame(t) { if (b.last) { b.maxGap = Math.max(b.maxGap, t - b.last); } b.last = t; b.frames++; requestAnimationFrame(frame); }
requestAnimationFrame(frame);
new PerformanceObserver((list) => { for (const e of list.getEntries()) { b.longTasks++; b.longTaskMs += e.duration; } }).observe({entryTypes: ["longtask"]});
new MutationObserver((records) => { b.mutations += records.length; }).observe(document.body, {childList: true, subtree: true, characterData: true});
b.start = performance.now();
return true;'
read_probe='const b = window.__bench; const s = (performance.now() - b.start) / 1000;
return JSON.stringify({seconds: s, fps: b.frames / s, maxGapMs: b.maxGap, longTasks: b.longTasks, longTaskMs: b.longTaskMs, mutationsPerS: b.mutations / s,
  rows: document.querySelectorAll("tbody tr").length, heapMB: performance.memory ? performance.memory.usedJSHeapSize / 1048576 : null});'
json_string() { python3 -c 'import json,sys; print(json.dumps(sys.stdin.read()))'; }

# Idle first (no ingest), then under load.
webdriver POST "/session/$session/execute/sync" "{\"script\":$(printf '%s' "$probe" | json_string),\"args\":[]}" >/dev/null
sleep 5
idle=$(webdriver POST "/session/$session/execute/sync" "{\"script\":$(printf '%s' "$read_probe" | json_string),\"args\":[]}")
requests=$((rate / batch))
"$load" ingest --url "$base" --format aprt --batch "$batch" --connections 8 --rate "$requests" \
    --duration "${seconds}s" --warmup 1s --json \
    --model-file examples/models/credit_logistic.json --rows examples/data/credit.csv > "$tmp/load.json" &
loader=$!
sleep 1.5
webdriver POST "/session/$session/execute/sync" "{\"script\":$(printf '%s' "$probe" | json_string),\"args\":[]}" >/dev/null
sleep $((seconds - 2))
busy=$(webdriver POST "/session/$session/execute/sync" "{\"script\":$(printf '%s' "$read_probe" | json_string),\"args\":[]}")
wait "$loader"
python3 - "$tmp/load.json" "$idle" "$busy" "$rate" "$batch" <<'PY'
import json, sys
load = json.load(open(sys.argv[1]))
idle, busy = (json.loads(json.loads(a)) for a in sys.argv[2:4])
print(f"ingest: {load['items_per_s']:,.0f} decisions/s reached (asked {int(sys.argv[4]):,}), batches of {sys.argv[5]}, request p99 {load['latency']['p99_us'] / 1000:.1f} ms")
print("| page | seconds | frames/s | longest frame gap | long tasks (> 50 ms) | table updates/s | rows shown | JS heap |")
print("|---|---|---|---|---|---|---|---|")
for name, p in (("idle", idle), ("under ingest", busy)):
    heap = f"{p['heapMB']:.1f} MB" if p["heapMB"] is not None else "n/a"
    print(f"| {name} | {p['seconds']:.1f} | {p['fps']:.1f} | {p['maxGapMs']:.0f} ms | {p['longTasks']} ({p['longTaskMs']:.0f} ms) | {p['mutationsPerS']:.1f} | {p['rows']} | {heap} |")
PY
