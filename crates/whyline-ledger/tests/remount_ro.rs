//! The kernel remounting a file system read-only under a running writer (issue 15, "I/O
//! errors"): `scripts/campaigns/remount_ro.sh` mounts a small ext4 image with
//! `errors=remount-ro` on a loop device and runs these two phases with
//! `WHYLINE_REMOUNT_DIR` naming the mount point.
//!
//! 1. The writer appends signed, synced entries; after `WHYLINE_REMOUNT_BEFORE` of them the
//!    test writes to ext4's `trigger_fs_error` (`WHYLINE_REMOUNT_TRIGGER`), which makes the
//!    kernel record a file-system error and remount the file system read-only, as it does on
//!    a failing disk. The next append that reaches the disk must stop the writer with the
//!    error (EROFS or EIO), every acknowledged entry must be in the log, and the log must
//!    verify from the read-only file system. The acknowledged count goes to
//!    `WHYLINE_REMOUNT_STATE`.
//! 2. After the script unmounted, checked and mounted the file system again read-write, the
//!    log reopens for writing (recovery cuts any residue), holds every acknowledged entry,
//!    takes 100 more and verifies.
//!
//! Ignored by `cargo test` (the mount needs root): the script runs them.

use std::path::PathBuf;

use whyline_ledger::{Durability, Ledger, LedgerError, SegmentOptions, SegmentStore};

use crate::common::{
    append_until_the_writer_stops, intact, options, payload, reopen_check_and_continue, signer,
};

fn var(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name}: set by scripts/campaigns/remount_ro.sh"))
}

/// Small segments, so that the run also meets segment rolls.
const SEGMENTS: SegmentOptions = SegmentOptions {
    segment_bytes: 64 * 1024,
};

#[test]
#[ignore = "needs an ext4 loop mount: bash scripts/campaigns/remount_ro.sh runs it"]
fn a_file_system_remounted_read_only_stops_the_writer_and_loses_nothing_acknowledged() {
    let dir = PathBuf::from(var("WHYLINE_REMOUNT_DIR")).join("log");
    let before: u64 = var("WHYLINE_REMOUNT_BEFORE").parse().unwrap();
    let store = SegmentStore::open_with_options(&dir, SEGMENTS).unwrap();
    let (mut ledger, _) = Ledger::open(store, options().durability(Durability::Sync)).unwrap();
    for index in 0..before {
        assert_eq!(ledger.append(&payload(index)).unwrap().index, index);
    }
    std::fs::write(var("WHYLINE_REMOUNT_TRIGGER"), "whyline remount campaign").unwrap();
    let (acknowledged, error) = append_until_the_writer_stops(
        &mut ledger,
        before,
        before + 10_000,
        "the file system never turned read-only",
    );
    let errno = match &error {
        LedgerError::Io { source, .. } => source.raw_os_error(),
        _ => None,
    };
    assert!(
        matches!(errno, Some(30 | 5)),
        "the append that could not be written reports EROFS or EIO: {error:?}"
    );
    drop(ledger);
    let cause = std::error::Error::source(&error).map(ToString::to_string);
    println!(
        "remount_ro: {} acknowledged ({} before the remount), then {error}: {}",
        acknowledged,
        before,
        cause.unwrap_or_default()
    );

    // From the read-only file system: the log verifies and holds every acknowledged entry.
    let reader = SegmentStore::open_read_only(&dir).unwrap();
    let report = intact(&reader, Some(&signer().verifier()));
    assert!(report.entries >= acknowledged, "{report:?}");
    drop(reader);
    std::fs::write(var("WHYLINE_REMOUNT_STATE"), acknowledged.to_string()).unwrap();
}

#[test]
#[ignore = "needs an ext4 loop mount: bash scripts/campaigns/remount_ro.sh runs it"]
fn after_the_file_system_is_mounted_again_the_log_reopens_and_continues() {
    let dir = PathBuf::from(var("WHYLINE_REMOUNT_DIR")).join("log");
    let acknowledged: u64 = std::fs::read_to_string(var("WHYLINE_REMOUNT_STATE"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let (recovery, entries) = reopen_check_and_continue(&dir, SEGMENTS, acknowledged);
    println!(
        "remount_ro: mounted again, the log reopened ({recovery:?}) with all {acknowledged} \
         acknowledged entries and took 100 more: {entries} entries, intact"
    );
}
