#!/usr/bin/env bash
# Runs a command with every niced background process of the machine stopped (SIGSTOP), and
# continues them afterwards: on the shared 2-core development machine, builds and campaigns
# run at `nice -n 19`, and even at that priority their disk writeback and wake-ups move
# disk-bound figures (fsync, ingest) by 10-30 %. Processes that start during the run are
# caught every 0.2 s. README figures marked "every other process stopped" come from this.
#
#   bash scripts/quiet-run.sh COMMAND [ARGS...]
#
# NICE (default 19) selects which processes to stop; never run it with 0.
set -euo pipefail
level=${NICE:-19}
if [ "$level" -le 0 ]; then
    echo "quiet-run: NICE must be above 0 (it would stop this shell's own processes)" >&2
    exit 2
fi
stopped=$(mktemp)
(
    while true; do
        for pid in $(ps -eo pid=,ni= | awk -v n="$level" '$2 == n {print $1}'); do
            kill -STOP "$pid" 2>/dev/null && echo "$pid" >> "$stopped"
        done
        sleep 0.2
    done
) &
catcher=$!
resume() {
    kill "$catcher" 2>/dev/null || true
    wait "$catcher" 2>/dev/null || true
    for pid in $(sort -u "$stopped") $(ps -eo pid=,ni=,stat= | awk -v n="$level" '$2 == n && $3 ~ /T/ {print $1}'); do
        kill -CONT "$pid" 2>/dev/null || true
    done
    rm -f "$stopped"
}
trap resume EXIT
sleep 1
"$@"
