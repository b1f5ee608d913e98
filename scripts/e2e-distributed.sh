#!/usr/bin/env bash
# End-to-end test of NATS JetStream ingestion (issue 12, docs/distributed.md):
# 4 producer processes publish 250,000 decisions each through the stream collector's
# JetStream sink while the sequencer (`whyline sequence`) is killed with SIGKILL three times
# at random moments and restarted, and nats-server is restarted once. At the end the log
# must hold exactly 1,000,000 decisions, each producer's in its own order, none twice, none
# missing, and `whyline verify` must find it intact. Exits 0 only then; the last line is
#   produced N, sequenced N, duplicates 0, missing 0, <throughput>
#
#   bash scripts/e2e-distributed.sh
#
# PRODUCERS, PER_PRODUCER, KILLS and NATS_RESTARTS change the scenario (CHAOS=0 runs it
# without faults, for the throughput figure). STORE picks the sequencer's log: unset, a
# directory (`--dir`); STORE=postgres, a private PostgreSQL cluster the script starts
# (initdb + pg_ctl on a free loopback port, removed at the end); STORE=postgres://...?log=NAME,
# that log (`--store URL`; give a new log name). Uses the debug build of the CLI (what
# `cargo test --workspace` built); PROFILE=release (or bench, ...) builds and uses that
# profile's; WHYLINE_BIN picks another binary. Needs nats-server (`bash scripts/services.sh`,
# which it runs when nats-server is missing) and, for STORE=postgres, PostgreSQL's initdb.
#
#   CHAOS=0 PROFILE=release bash scripts/e2e-distributed.sh                  # throughput, files
#   CHAOS=0 PROFILE=release STORE=postgres bash scripts/e2e-distributed.sh   # into PostgreSQL
set -euo pipefail
cd "$(dirname "$0")/.."

producers="${PRODUCERS:-4}"
per_producer="${PER_PRODUCER:-250000}"
kills="${KILLS:-3}"
nats_restarts="${NATS_RESTARTS:-1}"
if [ "${CHAOS:-1}" = 0 ]; then kills=0; nats_restarts=0; fi
total=$((producers * per_producer))
stream="E2E"

if ! command -v nats-server >/dev/null 2>&1; then
    bash scripts/services.sh
fi
command -v nats-server >/dev/null 2>&1 || { echo "e2e: nats-server missing: bash scripts/services.sh" >&2; exit 1; }

if [ -z "${WHYLINE_BIN:-}" ]; then
    profile="${PROFILE:-dev}"
    cargo build --quiet --locked --profile "$profile" -p whyline-cli
    case "$profile" in dev | test) profile_dir=debug ;; bench) profile_dir=release ;; *) profile_dir="$profile" ;; esac
    WHYLINE_BIN="${CARGO_TARGET_DIR:-$PWD/target}/$profile_dir/whyline"
fi
bin="$WHYLINE_BIN"

work="$(mktemp -d)"
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    if [ -n "${pg_data:-}" ]; then pg_as "$pg_bin/pg_ctl" -D "$pg_data" -m immediate -w stop >/dev/null 2>&1 || true; fi
    if [ -n "${KEEP_WORK:-}" ]; then echo "e2e: kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
port="$(free_port)"
monitor="$(free_port)"
url="nats://127.0.0.1:$port"
nats_pid=""
start_nats() {
    nats-server -js -a 127.0.0.1 -p "$port" -m "$monitor" -sd "$work/jetstream" >>"$work/nats.log" 2>&1 &
    nats_pid=$!
    pids+=("$nats_pid")
    for _ in $(seq 1 200); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 0; fi
        sleep 0.05
    done
    echo "e2e: nats-server did not start (see $work/nats.log)" >&2
    cat "$work/nats.log" >&2
    exit 1
}
# The sequencer's log: a directory, a private PostgreSQL cluster, or the URL given.
pg_bin="" pg_data=""
pg_as() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
store_label="${STORE:+postgres}"; store_label="${store_label:-files}"
case "${STORE:-}" in
    "")
        log="$work/ledger"; log_args=(--dir "$log")
        refusal="another sequencer holds this ledger directory" ;;
    postgres)
        pg_bin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)"
        [ -x "$pg_bin/initdb" ] || { echo "e2e: PostgreSQL's initdb missing: bash scripts/services.sh" >&2; exit 1; }
        mkdir -p "$work/pg"
        if [ "$(id -u)" = 0 ]; then chown postgres "$work" "$work/pg"; fi
        pg_data="$work/pg/data"
        pg_port="$(free_port)"
        pg_as "$pg_bin/initdb" -D "$pg_data" -A trust -U postgres -E UTF8 --no-sync >"$work/initdb.log" 2>&1 \
            || { cat "$work/initdb.log" >&2; exit 1; }
        pg_as "$pg_bin/pg_ctl" -D "$pg_data" -l "$work/pg/server.log" -w start \
            -o "-p $pg_port -k $work/pg -c listen_addresses=127.0.0.1" >/dev/null \
            || { cat "$work/pg/server.log" >&2; exit 1; }
        pg_as "$pg_bin/createdb" -h 127.0.0.1 -p "$pg_port" -U postgres e2e
        log="postgres://postgres@127.0.0.1:$pg_port/e2e?log=e2e"; log_args=(--store "$log")
        refusal="already has a writer" ;;
    postgres://* | postgresql://*)
        log="$STORE"; log_args=(--store "$log")
        refusal="already has a writer" ;;
    *) echo "e2e: STORE=$STORE: expected nothing, postgres or a postgres:// URL" >&2; exit 1 ;;
esac

seq_pid=""
start_sequencer() {
    "$bin" sequence --nats "$url" --stream "$stream" "${log_args[@]}" >>"$work/sequencer.out" 2>>"$work/sequencer.log" &
    seq_pid=$!
    pids+=("$seq_pid")
}
# PostgreSQL frees a killed writer's lock when the server notices the dropped connection, not
# at the process's death (as the kernel frees a directory's file lock): a sequencer started at
# once may be refused ("already has a writer") and exit. Start it again until it stays up.
restart_while_refused() {
    [ -n "${STORE:-}" ] || return 0
    for _ in $(seq 1 50); do
        sleep 0.3
        kill -0 "$seq_pid" 2>/dev/null && return 0
        echo "e2e: the restarted sequencer exited (the killed one's lock not yet freed); again"
        start_sequencer
    done
}
# Messages not yet acknowledged by the sequencer (the batches stream is a work queue), from
# nats-server's monitoring endpoint; -1 when it cannot be read.
waiting() {
    python3 - "$monitor" "$stream" <<'PY' 2>/dev/null || echo -1
import json, sys, urllib.request
port, name = sys.argv[1], sys.argv[2]
jsz = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/jsz?streams=true", timeout=2))
for account in jsz.get("account_details", []):
    for stream in account.get("stream_detail", []):
        if stream["name"] == name:
            print(stream["state"]["messages"]); sys.exit(0)
print(-1)
PY
}

# Client connections to nats-server, from its monitoring endpoint; -1 when it cannot be read.
connections() {
    python3 - "$monitor" <<'PY' 2>/dev/null || echo -1
import json, sys, urllib.request
connz = json.load(urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/connz", timeout=2))
print(connz.get("num_connections", -1))
PY
}

start_nats
start_sequencer
sleep 0.5
# One sequencer per log: a second one must fail clearly.
if "$bin" sequence --nats "$url" --stream "$stream" "${log_args[@]}" >"$work/second.out" 2>&1; then
    echo "e2e: a second sequencer on the same log was not refused" >&2; exit 1
fi
grep -q "$refusal" "$work/second.out" \
    || { echo "e2e: the second sequencer failed for another reason:" >&2; cat "$work/second.out" >&2; exit 1; }

started="$(date +%s.%N)"
producer_pids=()
for i in $(seq 1 "$producers"); do
    "$bin" produce --nats "$url" --stream "$stream" --producer "p$i-$$" --count "$per_producer" \
        >"$work/producer$i.out" 2>"$work/producer$i.log" &
    producer_pids+=("$!")
    pids+=("$!")
done

# Faults at random moments while the producers run: SIGKILL the sequencer (restarted at
# once) $kills times, restart nats-server $nats_restarts times (SIGTERM, then start again).
faults=()
for _ in $(seq 1 "$kills"); do faults+=(kill); done
for _ in $(seq 1 "$nats_restarts"); do faults+=(nats); done
faults=($(printf '%s\n' "${faults[@]+"${faults[@]}"}" | shuf))
for fault in "${faults[@]+"${faults[@]}"}"; do
    sleep "$(awk -v r="$RANDOM" 'BEGIN { printf "%.2f", 0.3 + (r % 1500) / 1000 }')"
    case "$fault" in
        kill)
            kill -9 "$seq_pid" 2>/dev/null || true
            wait "$seq_pid" 2>/dev/null || true
            echo "e2e: SIGKILLed the sequencer ($(waiting) batches waiting)"
            start_sequencer
            restart_while_refused
            ;;
        nats)
            kill -TERM "$nats_pid"
            wait "$nats_pid" 2>/dev/null || true
            echo "e2e: stopped nats-server"
            sleep 1
            start_nats
            echo "e2e: restarted nats-server"
            ;;
    esac
done

produced=0
for i in $(seq 1 "$producers"); do
    if ! wait "${producer_pids[$((i - 1))]}"; then
        echo "e2e: producer $i failed:" >&2; cat "$work/producer$i.log" >&2; exit 1
    fi
    n="$(sed -n 's/.*"recorded":\([0-9]*\).*"published":\([0-9]*\).*/\1 \2/p' "$work/producer$i.out")"
    recorded="${n% *}"; published="${n#* }"
    [ "$recorded" = "$published" ] || { echo "e2e: producer $i recorded $recorded, published $published" >&2; exit 1; }
    produced=$((produced + published))
done

# Wait until the sequencer has appended and acknowledged every batch (at most 10 minutes).
deadline=$((SECONDS + 600))
while :; do
    now="$(waiting)"
    [ "$now" = 0 ] && break
    if [ "$SECONDS" -ge "$deadline" ]; then
        echo "e2e: $now batches still waiting after 10 minutes" >&2
        tail -20 "$work/sequencer.log" >&2; break
    fi
    sleep 0.2
done
finished="$(date +%s.%N)"
# A sequencer restarted by the last kill may still be recovering (reading the log back, before
# it handles SIGTERM); it connects to nats-server once it has. The producers are gone by now,
# so a client connection is the sequencer's.
for _ in $(seq 1 600); do
    [ "$(connections)" -ge 1 ] 2>/dev/null && break
    sleep 0.1
done
kill -TERM "$seq_pid"
wait "$seq_pid" || { echo "e2e: the sequencer failed:" >&2; tail -20 "$work/sequencer.log" >&2; exit 1; }

status=0
audit="$("$bin" audit-sequenced "$log" --expect "$per_producer" --producers "$producers")" || status=1
echo "$audit"
if ! "$bin" verify "$log" >"$work/verify.out" 2>&1; then
    echo "e2e: whyline verify failed:" >&2; cat "$work/verify.out" >&2; status=1
fi
field() { echo "$audit" | sed -n "s/.*\"$1\":\([0-9]*\).*/\1/p"; }
sequenced_n="$(field sequenced)"; duplicates="$(field duplicates)"; missing="$(field missing)"
[ "$produced" = "$total" ] && [ "$sequenced_n" = "$total" ] || status=1
rate="$(awk -v n="$sequenced_n" -v a="$started" -v b="$finished" 'BEGIN { printf "%.0f", n / (b - a) }')"
secs="$(awk -v a="$started" -v b="$finished" 'BEGIN { printf "%.1f", b - a }')"
echo "produced $produced, sequenced $sequenced_n, duplicates $duplicates, missing $missing, $rate decisions/s end to end ($secs s, $kills sequencer kills, $nats_restarts nats restarts, into ${store_label})"
exit "$status"
