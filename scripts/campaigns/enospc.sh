#!/usr/bin/env bash
# ENOSPC on a real file system (issue 15, "I/O errors"): mounts a small tmpfs (SIZE, default
# 1M; needs root), runs the ledger's ignored test
# `enospc::a_full_file_system_stops_the_writer_loses_nothing_acknowledged_and_the_log_continues`
# on it TRIALS times (default 20; each fills the file system with synced, signed entries,
# checks that the writer stops with the error and that every acknowledged entry verifies,
# frees space and continues the log), and unmounts. Not run by CI: the mount needs root.
# docs/reliability.md keeps the dated result.
#
#   sudo bash scripts/campaigns/enospc.sh [TRIALS]
set -euo pipefail
cd "$(dirname "$0")/../.."
trials="${1:-20}"
size="${SIZE:-1M}"
mnt=$(mktemp -d)
cleanup() { umount "$mnt" 2>/dev/null || true; rmdir "$mnt" 2>/dev/null || true; }
trap cleanup EXIT
echo "enospc campaign: $trials trials on a $size tmpfs, started $(date -u +%Y-%m-%dT%H:%M:%SZ), load $(cut -d' ' -f1-3 /proc/loadavg)"
cargo test -q -p whyline-ledger --test main --no-run 2>/dev/null
for trial in $(seq 1 "$trials"); do
    mount -t tmpfs -o "size=$size" tmpfs "$mnt"
    WHYLINE_ENOSPC_DIR="$mnt" cargo test -q -p whyline-ledger --test main enospc:: \
        -- --ignored --nocapture --test-threads=1 2>&1 | grep -E '^enospc:|test result|panicked|FAILED' |
        sed "s/^/trial $trial: /"
    umount "$mnt"
done
echo "finished $(date -u +%Y-%m-%dT%H:%M:%SZ)"
