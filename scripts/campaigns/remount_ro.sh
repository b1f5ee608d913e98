#!/usr/bin/env bash
# The kernel remounting a file system read-only under a running writer (issue 15, "I/O
# errors"): per trial, makes a small ext4 image (SIZE, default 64M), mounts it on a loop
# device with `errors=remount-ro`, and runs the ledger's ignored tests `remount_ro::` in two
# phases: the writer appends synced, signed entries, the test writes to ext4's
# `/sys/fs/ext4/loopN/trigger_fs_error` after BEFORE of them (the kernel records a
# file-system error and remounts read-only, as on a failing disk), and checks that the writer
# stops with EROFS/EIO, that every acknowledged entry is there and that the log verifies
# read-only; then the script unmounts, runs `e2fsck -fy` and mounts again read-write, and
# the second phase reopens the log, checks every acknowledged entry, appends 100 more and
# verifies. Between the phases `whyline verify` checks the log on the read-only file system. Needs root and loop devices; not run by CI. docs/reliability.md keeps the dated
# result.
#
#   sudo bash scripts/campaigns/remount_ro.sh [TRIALS]
set -euo pipefail
cd "$(dirname "$0")/../.."
trials="${1:-20}"
size="${SIZE:-64M}"
work=$(mktemp -d)
mnt="$work/mnt"
mkdir -p "$mnt"
cleanup() {
    umount "$mnt" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
echo "remount_ro campaign: $trials trials on a $size ext4 loop mount (errors=remount-ro), started $(date -u +%Y-%m-%dT%H:%M:%SZ), load $(cut -d' ' -f1-3 /proc/loadavg)"
nice -n 19 cargo test -q -p whyline-ledger --test main --no-run 2>/dev/null
nice -n 19 cargo build -q -p whyline-cli 2>/dev/null
run_phase() {
    nice -n 19 cargo test -q -p whyline-ledger --test main "remount_ro::$1" \
        -- --ignored --nocapture --test-threads=1 2>&1 |
        grep -E '^remount_ro:|test result|panicked|FAILED' | sed "s/^/trial $trial: /"
}
for trial in $(seq 1 "$trials"); do
    rm -f "$work/image"
    truncate -s "$size" "$work/image"
    mkfs.ext4 -q -F "$work/image"
    mount -o loop,errors=remount-ro "$work/image" "$mnt"
    device=$(basename "$(findmnt -n -o SOURCE "$mnt")")
    # Vary where the remount falls: 1 to ~1,000 acknowledged entries before it.
    before=$(( (trial * 389) % 1000 + 1 ))
    export WHYLINE_REMOUNT_DIR="$mnt" WHYLINE_REMOUNT_BEFORE="$before" \
        WHYLINE_REMOUNT_TRIGGER="/sys/fs/ext4/$device/trigger_fs_error" \
        WHYLINE_REMOUNT_STATE="$work/acknowledged"
    run_phase a_file_system_remounted_read_only
    # The kernel marks it read-only (`ro`, or `emergency_ro` on Linux 6.x): a new file fails.
    if touch "$mnt/probe" 2>/dev/null; then
        echo "trial $trial: the file system was not remounted read-only ($(findmnt -n -o OPTIONS "$mnt"))" >&2
        exit 1
    fi
    # What an investigator runs on the read-only file system (or a write-protected copy).
    nice -n 19 target/debug/whyline verify "$mnt/log" | sed "s/^/trial $trial: whyline verify (read-only): /"
    umount "$mnt"
    e2fsck -fy "$work/image" >/dev/null 2>&1 || true
    mount -o loop,errors=remount-ro "$work/image" "$mnt"
    run_phase after_the_file_system_is_mounted_again
    umount "$mnt"
done
echo "finished $(date -u +%Y-%m-%dT%H:%M:%SZ)"
