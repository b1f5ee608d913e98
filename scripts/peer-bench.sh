#!/usr/bin/env bash
# whyline side by side with its published peers (entrenar 0.7.13, hoosh 1.3.0, atd-runtime
# 1.2.1): builds tools/peer-bench (its own cargo workspace, never built by CI) and runs every
# workload through each implementation in one process, interleaved round by round. Prints the
# date, the load before and after, the CPU model and the table (Markdown) on stdout; the
# README's peer figures come from it (tools/peer-bench/README.md).
#
#   bash scripts/peer-bench.sh [WORKLOAD...] [--rounds N] [--scale F]
#
# BUILD_NICE=19 builds at low priority (the measurement itself always runs at the shell's
# priority: run the script at nice 0). The first build compiles ~450 crates (several minutes).
set -euo pipefail
cd "$(dirname "$0")/../tools/peer-bench"
nice -n "${BUILD_NICE:-0}" cargo build --release -q
if [ "$(nice)" != 0 ]; then
  echo "peer-bench: running at nice $(nice), not 0: the figures are not comparable" >&2
fi
echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), $(nproc) cores"
echo "load before: $(uptime | sed 's/.*load average: //')"
echo "command: bash scripts/peer-bench.sh $*"
echo
./target/release/peer-bench "$@"
echo
echo "load after: $(uptime | sed 's/.*load average: //')"
