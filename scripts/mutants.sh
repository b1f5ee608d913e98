#!/usr/bin/env bash
# Mutation testing of one crate with cargo-mutants, against that crate's own tests.
#
#   bash scripts/mutants.sh                          # whyline-core, every mutant
#   bash scripts/mutants.sh whyline-core 0/8         # shard 0 of 8 (0-based)
#   bash scripts/mutants.sh whyline-monitor 3/8
#
# Install: `cargo install cargo-mutants --locked` (docs/reliability.md names the version used).
#
# cargo-mutants copies the workspace (without target/ and, with `--gitignore true`, without the
# git-ignored files: cargo-mutants 27 copies them by default, fuzz/target's gigabytes too) to a scratch
# directory, applies one mutation at a time there, builds and runs `cargo test -p CRATE --lib
# --tests` (doctests left out: each one is a separate compile, which would triple the time per
# mutant), so the normal build in target/ is never touched. Everything runs under `nice -n 19`.
# Shards are round-robin (mutant i goes to shard i % N), so every shard is a sample spread
# over the whole crate and a partial run still says something about all of it.
#
# Output: target/mutants/CRATE[-sK-of-N]/mutants.out (caught.txt, missed.txt, unviable.txt,
# timeout.txt, outcomes.json, one log per mutant); scratch copies live in target/mutants/tmp
# and are deleted by cargo-mutants when the run ends. At the end the script prints the summary:
# mutants, caught, missed, unviable, timeouts and score = caught / (caught + missed), and
# writes the run's record, every mutant with its outcome, to docs/mutants/CRATE/ (commit it:
# target/ does not outlive the machine; scripts/mutants-record.py).
#
# Environment:
#   MUTANTS_FILES    space-separated globs, only mutants in these files (cargo mutants -f)
#   MUTANTS_RE       regex, only mutants whose name matches (cargo mutants -F), e.g. to re-run
#                    the ones a previous run missed
#   MUTANTS_ITERATE  1: skip mutants a previous run in the same output directory caught
#   MUTANTS_SKIP_FROM  space-separated records of earlier runs (docs/mutants/CRATE/*.txt) or
#                    their mutants.out directories: skip every mutant they examined (any
#                    outcome), matched by file and description where its line moved
#                    (scripts/mutants-skip.py); implies MUTANTS_ITERATE=1 and replaces the
#                    output directory's previously_caught.txt
#   MUTANTS_JOBS     parallel build/test jobs (default 1; the machine has 2 cores)
#   MUTANTS_TIMEOUT  seconds one test run of a mutant may take (default: per crate, below)
#   MUTANTS_OUT      output directory (default target/mutants/CRATE[-sK-of-N])
#   MUTANTS_MEMORY_KB  address space of every process of the run (default 8 GiB): a mutant
#                    that grows a vector without end then fails its tests at once (an
#                    allocation failure, counted as caught) instead of swapping the machine
#                    until its timeout (12-07: one took 567 s and stalled the other job's build)
#
# Not in CI: whyline-ledger alone has ~2,300 mutants at ~5 s each on this machine.
set -euo pipefail
cd "$(dirname "$0")/.."
repo="$PWD"

crate="${1:-whyline-core}"
shard="${2:-}"

if ! cargo mutants --version >/dev/null 2>&1; then
    echo "scripts/mutants.sh: cargo-mutants is missing: cargo install cargo-mutants --locked" >&2
    exit 1
fi
if [ ! -d "crates/$crate/src" ]; then
    echo "scripts/mutants.sh: no crate crates/$crate" >&2
    exit 1
fi

# A mutant whose tests run past this many seconds counts as a timeout (an infinite loop the
# mutation made, usually). Ten times or more the crate's own test run on this machine.
# Test runs in the `mutation` profile on 2 cores: whyline-core 0.4 s, whyline-ledger 2.6 s
# (crash and torn-write trials included), whyline-monitor 4.8 s.
case "$crate" in
    whyline-core) timeout_default=30 ;;
    whyline-monitor) timeout_default=60 ;;
    whyline-ledger) timeout_default=60 ;;
    *) timeout_default=120 ;;
esac
timeout="${MUTANTS_TIMEOUT:-$timeout_default}"

args=(--package "$crate" --profile mutation --gitignore true --timeout "$timeout" --build-timeout 900 --jobs "${MUTANTS_JOBS:-1}")
name="$crate"
if [ -n "$shard" ]; then
    if ! [[ "$shard" =~ ^[0-9]+/[0-9]+$ ]]; then
        echo "scripts/mutants.sh: shard must be K/N (0-based K), got '$shard'" >&2
        exit 1
    fi
    args+=(--shard "$shard" --sharding round-robin)
    name="$crate-s${shard%/*}-of-${shard#*/}"
fi
for glob in ${MUTANTS_FILES:-}; do args+=(--file "$glob"); done
if [ -n "${MUTANTS_RE:-}" ]; then args+=(--re "$MUTANTS_RE"); fi
if [ "${MUTANTS_ITERATE:-0}" = 1 ]; then args+=(--iterate); fi

out="${MUTANTS_OUT:-$repo/target/mutants/$name}"
mkdir -p "$out" "$repo/target/mutants/tmp"
if [ -n "${MUTANTS_SKIP_FROM:-}" ]; then
    mkdir -p "$out/mutants.out"
    # shellcheck disable=SC2086 # a list of directories
    cargo mutants --list "${args[@]}" >"$out/today.txt"
    # shellcheck disable=SC2086
    python3 scripts/mutants-skip.py "$out/today.txt" $MUTANTS_SKIP_FROM >"$out/mutants.out/previously_caught.txt"
    if [ "${MUTANTS_ITERATE:-0}" != 1 ]; then args+=(--iterate); fi
fi
commit=$(git rev-parse --short HEAD)
started=$(date -u +%Y-%m-%dT%H%MZ)
echo "scripts/mutants.sh: $(cargo mutants --version), $crate ${shard:+shard $shard }-> $out/mutants.out"
echo "  $(cargo mutants --list "${args[@]}" | wc -l) mutants; started $(date -u +%FT%TZ), $(uptime)"

status=0
ulimit -v "${MUTANTS_MEMORY_KB:-8388608}"
# The `mutation` profile (Cargo.toml): built as for `cargo test` (overflow checks, debug
# assertions) but optimised and without debug info, so each mutant's tests run 7-14x faster.
TMPDIR="$repo/target/mutants/tmp" nice -n 19 cargo mutants "${args[@]}" --output "$out" \
    --cargo-test-arg=--lib --cargo-test-arg=--tests || status=$?
# cargo-mutants exits 2 when a mutant was missed, 3 on a timeout: the summary says which.

dir="$out/mutants.out"
count() { if [ -s "$dir/$1" ]; then wc -l <"$dir/$1"; else echo 0; fi; }
caught=$(count caught.txt)
missed=$(count missed.txt)
unviable=$(count unviable.txt)
timeouts=$(count timeout.txt)
total=$((caught + missed + unviable + timeouts))
if [ $((caught + missed)) -gt 0 ]; then
    score=$(awk -v c="$caught" -v m="$missed" 'BEGIN { printf "%.1f", 100 * c / (c + m) }')
else
    score="n/a"
fi
echo
echo "finished $(date -u +%FT%TZ), $(uptime)"
echo "| crate | mutants | caught | missed | unviable | timeouts | score |"
echo "|---|---:|---:|---:|---:|---:|---:|"
echo "| $name | $total | $caught | $missed | $unviable | $timeouts | $score % |"
if [ "$missed" -gt 0 ]; then
    echo
    echo "missed ($dir/missed.txt):"
    cat "$dir/missed.txt"
fi
# The record to commit: a later run (a later session, on a new machine) goes on from it with
# MUTANTS_SKIP_FROM=docs/mutants/CRATE/FILE.
record="$repo/docs/mutants/$crate/$started-$(basename "$out").txt"
mkdir -p "$(dirname "$record")"
settings=$(env | grep -E '^MUTANTS_(FILES|RE|ITERATE|SKIP_FROM|JOBS|TIMEOUT)=' | sort | tr '\n' ' ')
python3 scripts/mutants-record.py "$dir" "$commit$(git diff --quiet HEAD || echo ' (with uncommitted changes)')" \
    "${settings}bash scripts/mutants.sh $crate $shard" >"$record"
echo
echo "record: ${record#"$repo"/} (commit it)"
case "$status" in
    0 | 2 | 3) exit 0 ;;
    *) echo "scripts/mutants.sh: cargo mutants exited $status (baseline failed or usage error)" >&2
       exit "$status" ;;
esac
