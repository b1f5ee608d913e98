#!/usr/bin/env bash
# TreeSHAP per row, whyline against shap's TreeExplainer, alternated round by round so that
# both see the same machine state: shap's own CPU time per row moves up to 2× between runs a
# minute apart on the 2-core hosts, so one pair of runs does not settle a ratio. Each round
# runs `python/bench_tree_shap_cpu.py` (shap) and then the `tree_shap_cpu` example (whyline)
# on the same bench forests and rows, single-threaded, and prints both CPU times per row and
# their ratio; the last lines give the median of the rounds' ratios per forest.
#
#   bash scripts/treeshap-vs-shap.sh [ROUNDS]        # default 7
#
# Needs the explain venv (`bash python/setup_venv.sh explain`, as the test script makes it).
# Run it quiet (`bash scripts/quiet-run.sh bash scripts/treeshap-vs-shap.sh`).
set -euo pipefail
cd "$(dirname "$0")/.."
rounds="${1:-7}"
python="python/.venv-explain/bin/python"
if [ ! -x "$python" ]; then
    echo "scripts/treeshap-vs-shap.sh: $python is missing: bash python/setup_venv.sh explain" >&2
    exit 1
fi
cargo build --release -q -p whyline-explain --example tree_shap_cpu
echo "date: $(date -u '+%Y-%m-%d %H:%M UTC'); cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), $(nproc) cores"
echo "load before: $(uptime | sed 's/.*load average: //')"
results="$(mktemp)"
trap 'rm -f "$results"' EXIT
for round in $(seq 1 "$rounds"); do
    "$python" python/bench_tree_shap_cpu.py >>"$results"
    # 100 passes over the 20 rows: the example reads CPU time in 10 ms ticks.
    target/release/examples/tree_shap_cpu 100 >>"$results"
    echo "round $round done" >&2
done
# Lines: "<who> <forest>: cpu X ms/row, wall Y ms/row"; pair them per round and forest.
awk '
    {
        who = $1
        line = $0
        sub(/^[a-z]+ /, "", line)
        split(line, parts, ": cpu ")
        forest = parts[1]
        split(parts[2], t, " ")
        cpu = t[1]
        if (who == "shap") { shap[forest] = cpu } else {
            n[forest]++
            ratio = shap[forest] / cpu
            ratios[forest, n[forest]] = ratio
            printf "%-36s shap %.3f ms  whyline %.3f ms  %.1fx\n", forest, shap[forest], cpu, ratio
            if (!(forest in seen)) { seen[forest] = 1; order[++forests] = forest }
        }
    }
    END {
        for (f = 1; f <= forests; f++) {
            forest = order[f]
            m = n[forest]
            for (i = 1; i <= m; i++) sorted[i] = ratios[forest, i]
            for (i = 1; i <= m; i++) for (j = i + 1; j <= m; j++)
                if (sorted[j] < sorted[i]) { x = sorted[i]; sorted[i] = sorted[j]; sorted[j] = x }
            median = (m % 2) ? sorted[(m + 1) / 2] : (sorted[m / 2] + sorted[m / 2 + 1]) / 2
            printf "median of %d rounds, %s: %.1fx (min %.1fx, max %.1fx)\n", m, forest, median, sorted[1], sorted[m]
        }
    }
' "$results"
echo "load after: $(uptime | sed 's/.*load average: //')"
