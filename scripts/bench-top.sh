#!/usr/bin/env bash
# How many decisions/s `whyline top DIR` keeps up with while another process appends, and
# its CPU: docs/top.md.
#
#   bash scripts/bench-top.sh [SECONDS] [RATE...]
#
# For each path shape (linear, forest) and rate, a fresh ledger; `whyline top DIR` runs in a
# private tmux server (160x50); the writer (`--example top_feed`) appends at RATE for SECONDS;
# the script then waits until top's status line counts every entry. Reported per run: the
# rate the writer reached, the time from the writer's end until top showed the last entry
# (catch-up), the rate top read at (entries / time until caught up), and top's CPU over that
# time (user + system, % of one core, from /proc/PID/stat). Needs tmux
# (`bash scripts/services.sh`).
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_RUN=${1:-10}
shift || true
RATES=("$@")
[ ${#RATES[@]} -gt 0 ] || RATES=(10000 100000 300000)
command -v tmux >/dev/null || { echo "tmux is missing: bash scripts/services.sh" >&2; exit 2; }

# PROFILE=debug measures the debug build (no release build: when the disk is short).
PROFILE=${PROFILE:-release}
if [ "$PROFILE" = release ]; then
  cargo build --release -q -p whyline-cli --bin whyline --example top_feed
else
  cargo build -q -p whyline-cli --bin whyline --example top_feed
fi
BIN=$PWD/target/$PROFILE/whyline
FEED=$PWD/target/$PROFILE/examples/top_feed
SOCKET=whyline-bench-top-$$
TICKS=$(getconf CLK_TCK)
WORK=$(mktemp -d)
cleanup() { tmux -L "$SOCKET" kill-server 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
now_ms() { date +%s%3N; }
# The entries count on top's status line ("DIR: N entries").
shown_entries() {
  tmux -L "$SOCKET" capture-pane -p -t top | sed -n 's/.*: \([0-9][0-9]*\) entries.*/\1/p' | tail -1
}

echo "| path | target/s | writer reached/s | top caught up after writer end | top read rate/s | top CPU (% of a core) |"
echo "|---|---|---|---|---|---|"
for kind in linear forest; do
  for rate in "${RATES[@]}"; do
    dir=$WORK/$kind-$rate
    "$FEED" "$dir" 1 0 "$kind" >/dev/null # the model record: a ledger to open
    tmux -L "$SOCKET" new-session -d -x 160 -y 50 -s top "exec '$BIN' top '$dir'"
    sleep 1
    pane=$(tmux -L "$SOCKET" display-message -p -t top '#{pane_pid}')
    pid=$(pgrep -P "$pane" | head -1 || true)
    pid=${pid:-$pane}
    cpu0=$(cpu_ticks "$pid")
    t0=$(now_ms)
    out=$("$FEED" "$dir" "$rate" "$SECONDS_RUN" "$kind")
    t1=$(now_ms)
    appended=$(echo "$out" | sed -n 's/appended \([0-9]*\) decisions.*/\1/p')
    reached=$(echo "$out" | sed -n 's/.*(\([0-9]*\)\/s)/\1/p')
    # The model records (one per feeder run) and the decisions.
    total=$((appended + 2))
    caught=""
    for _ in $(seq 1 1200); do
      shown=$(shown_entries)
      if [ -n "$shown" ] && [ "$shown" -ge "$total" ]; then caught=$(now_ms); break; fi
      sleep 0.05
    done
    cpu1=$(cpu_ticks "$pid")
    if [ -z "$caught" ]; then
      echo "| $kind | $rate | $reached | not within 60 s (shown ${shown:-?} of $total) | | |"
    else
      elapsed=$((caught - t0))
      cpu=$(awk -v a="$cpu0" -v b="$cpu1" -v t="$TICKS" -v ms="$elapsed" 'BEGIN { printf "%.0f", (b - a) / t * 100000 / ms }')
      read_rate=$(awk -v n="$appended" -v ms="$elapsed" 'BEGIN { printf "%.0f", n * 1000 / ms }')
      echo "| $kind | $rate | $reached | $((caught - t1)) ms | $read_rate | $cpu |"
    fi
    tmux -L "$SOCKET" send-keys -t top q
    sleep 0.5
    tmux -L "$SOCKET" kill-server 2>/dev/null || true
    rm -rf "$dir"
  done
done
