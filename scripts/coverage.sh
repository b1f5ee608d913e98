#!/usr/bin/env bash
# Line coverage per library crate, each crate's lines counted only from its own src/.
#
#   bash scripts/coverage.sh                      # every library crate
#   bash scripts/coverage.sh whyline-core whyline-ledger
#
# Runs `cargo tarpaulin` (install: `cargo install cargo-tarpaulin --locked`) with its LLVM
# engine: the tests are built with `-C instrument-coverage` and tarpaulin reads the .profraw
# files itself, so no `llvm-tools` component and no llvm-cov binary is needed (this machine's
# rustup cannot fetch llvm-tools). One crate at a time, under `nice -n 19`, in its own target
# directory (target/coverage) so it never invalidates the normal build. Not in CI: a run of
# every crate takes about an hour on 2 cores.
#
# Prints, per crate: lines covered / coverable lines of crates/CRATE/src (test modules left
# out: tarpaulin ignores `#[cfg(test)]` code), and the percentage. Per crate it leaves
# target/coverage/report/CRATE/tarpaulin-report.json and uncovered.txt (each file's uncovered
# line numbers, fewest covered first), which is what docs/reliability.md's list is made from.
#
# whyline-nats and whyline-store-postgres tests start their own nats-server and PostgreSQL:
# scripts/services.sh installs them first (as scripts/test.sh does).
#
# COVERAGE_TIMEOUT: seconds a test binary may run before tarpaulin stops it (default 1200).
set -euo pipefail
cd "$(dirname "$0")/.."
repo="$PWD"

all=(whyline-core whyline-ledger whyline-monitor whyline-explain whyline-models
    whyline-forensics whyline whyline-server whyline-nats whyline-store-postgres)
if [ "$#" -gt 0 ]; then crates=("$@"); else crates=("${all[@]}"); fi

if ! cargo tarpaulin --version >/dev/null 2>&1; then
    echo "scripts/coverage.sh: cargo-tarpaulin is missing: cargo install cargo-tarpaulin --locked" >&2
    exit 1
fi
for crate in "${crates[@]}"; do
    if [ ! -d "crates/$crate/src" ]; then
        echo "scripts/coverage.sh: no crate crates/$crate" >&2
        exit 1
    fi
    case "$crate" in
    whyline-nats | whyline-store-postgres) need_services=1 ;;
    esac
done
if [ -n "${need_services:-}" ]; then bash scripts/services.sh; fi

target="$repo/target/coverage"
mkdir -p "$target/report"
table="$target/report/table.md"
{
    echo "| crate | lines covered / total | % | run (s) |"
    echo "|---|---:|---:|---:|"
} >"$table"

for crate in "${crates[@]}"; do
    out="$target/report/$crate"
    rm -rf "$out"
    mkdir -p "$out"
    echo "== $crate (log: $out/tarpaulin.log)"
    start=$SECONDS
    # --include-files keeps the report to this crate's own sources; the tests of the other
    # crates do not run (-p), so their lines would only count as uncovered.
    status=0
    nice -n 19 cargo tarpaulin --engine llvm -p "$crate" --skip-clean \
        --target-dir "$target" --include-files "crates/$crate/src/*" \
        --timeout "${COVERAGE_TIMEOUT:-1200}" --out Json --output-dir "$out" \
        >"$out/tarpaulin.log" 2>&1 || status=$?
    took=$((SECONDS - start))
    report="$out/tarpaulin-report.json"
    if [ ! -f "$report" ]; then
        echo "scripts/coverage.sh: $crate: no report (exit $status); the end of $out/tarpaulin.log:" >&2
        tail -20 "$out/tarpaulin.log" >&2
        echo "| $crate | not measured (exit $status) | | $took |" >>"$table"
        continue
    fi
    if [ "$status" -ne 0 ]; then
        echo "scripts/coverage.sh: $crate: a test failed (exit $status), see $out/tarpaulin.log" >&2
    fi
    prefix="$repo/crates/$crate/src/"
    # Left out of the count: sources compiled only with `--cfg loom` (whyline-ledger's
    # src/sync.rs, whose normal build is re-exports with no coverable line). tarpaulin's
    # source analysis counts their lines although this build never compiles them; the loom
    # models (scripts/loom.sh, in the test command) run that code.
    loom_only="$repo/crates/whyline-ledger/src/sync.rs"
    jq -r --arg p "$prefix" --arg skip "$loom_only" '
        [.files[] | select((.path | join("/") | sub("^//"; "/")) as $f
            | ($f | startswith($p)) and $f != $skip)]
        | "\(map(.covered) | add // 0) \(map(.coverable) | add // 0)"' "$report" |
        {
            read -r covered total
            pct=$(awk -v c="$covered" -v t="$total" 'BEGIN { if (t > 0) printf "%.1f", 100 * c / t; else print "-" }')
            mark=""
            if [ "$status" -ne 0 ]; then mark=" (a test failed)"; fi
            echo "| $crate | $covered / $total | $pct$mark | $took |" >>"$table"
        }
    jq -r --arg p "$prefix" --arg skip "$loom_only" '
        .files[] | select((.path | join("/") | sub("^//"; "/")) as $f
            | ($f | startswith($p)) and $f != $skip)
        | [(.path | join("/") | sub("^//"; "/") | ltrimstr($p)), .covered, .coverable,
           ([.traces[] | select(.stats.Line == 0) | .line] | map(tostring) | join(","))]
        | select(.[1] < .[2]) | @tsv' "$report" |
        sort -t$'\t' -k2,2n |
        awk -F'\t' '{ printf "%s %d/%d uncovered: %s\n", $1, $2, $3, $4 }' >"$out/uncovered.txt"
done

echo
echo "Line coverage, $(date -u '+%Y-%m-%d %H:%M UTC'), cargo-tarpaulin $(cargo tarpaulin --version | awk '{print $NF}') (LLVM engine):"
cat "$table"
