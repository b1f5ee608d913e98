#!/usr/bin/env bash
# The fuzzing campaign (issue 15): runs every cargo-fuzz target of fuzz/ (or the TARGETs
# named) for SECONDS each (default 3600) or FUZZ_RUNS executions (default 10,000,000: the
# issue's "10 M executions or 1 hour", whichever comes first) on its corpus (fuzz/corpus/TARGET, seeded first by
# fuzz/seed.sh), under nice, with libFuzzer's memory and time limits. Prints one line per
# target: executions, time, new corpus files and findings (crash, timeout, OOM artifacts
# under fuzz/artifacts/TARGET/). Needs the nightly toolchain and cargo-fuzz
# (`cargo install cargo-fuzz`). docs/reliability.md keeps the dated results; CI replays the
# committed corpora with `cargo test -p whyline-fuzz-harness` (no libFuzzer).
#
#   bash scripts/campaigns/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]
# Afterwards, minimise what is to be committed: cargo +nightly fuzz cmin TARGET (in fuzz/).
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds="${1:-3600}"
shift || true
if [ "$#" -gt 0 ]; then
    targets=("$@")
else
    mapfile -t targets < <(sed -n 's/^name = "\(.*\)"$/\1/p' fuzz/Cargo.toml | grep -v '^whyline-fuzz$')
fi
cargo +nightly fuzz --help >/dev/null 2>&1 || {
    echo "cargo-fuzz with a nightly toolchain is needed: rustup toolchain install nightly; cargo install cargo-fuzz" >&2
    exit 2
}
[ -d fuzz/corpus ] || bash fuzz/seed.sh >/dev/null
echo "fuzz campaign: ${#targets[@]} targets, ${seconds} s or ${FUZZ_RUNS:-10000000} executions each, started $(date -u +%Y-%m-%dT%H:%M:%SZ), load $(cut -d' ' -f1-3 /proc/loadavg)"
(cd fuzz && nice -n 19 cargo +nightly fuzz build -O >/dev/null 2>&1)
mkdir -p fuzz/logs
printf '%-22s %14s %8s %8s %s\n' target executions seconds corpus findings
runs_wanted="${FUZZ_RUNS:-10000000}"
host=$(rustc +nightly -vV | sed -n 's/^host: //p')
# Findings are crashes, timeouts, out-of-memory and leaks; libFuzzer's slow-unit-* files (an
# input slower than any before it, the run goes on) are not counted.
findings_in() {
    find "fuzz/artifacts/$1" -maxdepth 1 -type f \( -name 'crash-*' -o -name 'timeout-*' \
        -o -name 'oom-*' -o -name 'leak-*' \) | wc -l
}
for target in "${targets[@]}"; do
    mkdir -p "fuzz/corpus/$target" "fuzz/artifacts/$target"
    before=$(findings_in "$target")
    log="fuzz/logs/$target.log"
    : >"$log"
    start=$(date +%s)
    execs=0
    spurious=0
    # libFuzzer stops at its first finding. A "timeout" whose input runs well within the
    # limit when tried again was no hang: the process was held (SIGSTOP by
    # scripts/quiet-run.sh for a measurement, or starved by the machine) while its alarm
    # kept counting. Such inputs are kept apart under artifacts/TARGET/not-reproduced/ and
    # the target goes on with the time and executions left; anything else ends the target.
    while :; do
        left=$(( seconds - ($(date +%s) - start) ))
        runs_left=$(( runs_wanted - execs ))
        [ "$left" -gt 0 ] && [ "$runs_left" -gt 0 ] || break
        part=$(mktemp)
        (cd fuzz && nice -n 19 cargo +nightly fuzz run -O "$target" "corpus/$target" -- \
            -max_total_time="$left" -runs="$runs_left" -rss_limit_mb=2048 -malloc_limit_mb=2048 -timeout=10 \
            -print_final_stats=1 2>&1 | tee -a "logs/$target.log" >"$part") || true
        done_now=$(sed -n 's/^stat::number_of_executed_units: *//p' "$part" | tail -1)
        execs=$(( execs + ${done_now:-0} ))
        timeout_input=$(sed -n 's/.*Test unit written to \(.*timeout-[0-9a-f]*\)$/\1/p' "$part" | tail -1)
        rm -f "$part"
        [ -n "$timeout_input" ] && [ -f "$timeout_input" ] || break
        if (cd fuzz && timeout 10 "target/$host/release/$target" "$timeout_input" >/dev/null 2>&1); then
            mkdir -p "fuzz/artifacts/$target/not-reproduced"
            mv "$timeout_input" "fuzz/artifacts/$target/not-reproduced/"
            spurious=$(( spurious + 1 ))
            echo "($target: a timeout that did not reproduce, $(basename "$timeout_input"); going on)" >&2
        else
            break
        fi
    done
    elapsed=$(( $(date +%s) - start ))
    corpus=$(find "fuzz/corpus/$target" -type f | wc -l)
    found=$(findings_in "$target")
    findings=$(( found - before ))
    note=""
    [ "$spurious" -gt 0 ] && note=" ($spurious timeouts not reproduced)"
    if [ "$findings" -gt 0 ]; then
        what=$(grep -hoE 'ERROR: libFuzzer: [a-z-]+|panicked at [^ ]+' "$log" | tail -1)
        printf '%-22s %14s %8s %8s %s (%s; see %s)%s\n' "$target" "$execs" "$elapsed" "$corpus" "$findings" "$what" "$log" "$note"
    else
        printf '%-22s %14s %8s %8s %s%s\n' "$target" "$execs" "$elapsed" "$corpus" 0 "$note"
    fi
done
echo "finished $(date -u +%Y-%m-%dT%H:%M:%SZ), load $(cut -d' ' -f1-3 /proc/loadavg)"
