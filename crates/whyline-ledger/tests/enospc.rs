//! A real full file system (issue 15, "I/O errors"): `scripts/campaigns/enospc.sh` mounts a
//! small tmpfs and runs this with `WHYLINE_ENOSPC_DIR` naming it. The writer appends signed,
//! synced entries until the file system is full: the append that cannot be written stops the
//! writer with the error (ENOSPC), every acknowledged entry is in the log, the log verifies
//! read-only; once space is freed, the reopened log takes more entries and verifies again.
//! Ignored by `cargo test` (it needs the mount, which needs root): the script runs it.

use std::path::PathBuf;

use whyline_ledger::{Durability, Ledger, LedgerError, SegmentOptions, SegmentStore};

use crate::common::{
    append_until_the_writer_stops, intact, options, reopen_check_and_continue, signer,
};

#[test]
#[ignore = "needs a small file system: bash scripts/campaigns/enospc.sh mounts one and runs it"]
fn a_full_file_system_stops_the_writer_loses_nothing_acknowledged_and_the_log_continues() {
    let root = PathBuf::from(
        std::env::var_os("WHYLINE_ENOSPC_DIR")
            .expect("WHYLINE_ENOSPC_DIR: a small, empty file system (scripts/campaigns/enospc.sh)"),
    );
    let dir = root.join("log");
    // Space to free later: a filler file taking part of the file system.
    let filler = root.join("filler");
    std::fs::write(&filler, vec![0xa5u8; 256 * 1024]).unwrap();
    // Small segments, so the fill also meets a segment roll (a new file on a full disk).
    let segments = SegmentOptions {
        segment_bytes: 64 * 1024,
    };
    let store = SegmentStore::open_with_options(&dir, segments).unwrap();
    let (mut ledger, _) = Ledger::open(store, options().durability(Durability::Sync)).unwrap();
    let (acknowledged, error) =
        append_until_the_writer_stops(&mut ledger, 0, 1_000_000, "the file system never filled");
    assert!(
        matches!(&error, LedgerError::Io { source, .. }
            if source.kind() == std::io::ErrorKind::StorageFull),
        "the append that cannot be written reports the full disk: {error:?}"
    );
    drop(ledger);
    let cause = std::error::Error::source(&error).map(ToString::to_string);
    println!(
        "enospc: {} entries acknowledged before the disk filled ({error}: {})",
        acknowledged,
        cause.unwrap_or_default()
    );

    // Read-only: the log verifies (crash residue allowed) and holds every acknowledged entry.
    let reader = SegmentStore::open_read_only(&dir).unwrap();
    let report = intact(&reader, Some(&signer().verifier()));
    assert!(report.entries >= acknowledged, "{report:?}");
    drop(reader);

    // Space freed: the log reopens for writing (recovery cuts any residue) and continues.
    std::fs::remove_file(&filler).unwrap();
    let (recovery, entries) = reopen_check_and_continue(&dir, segments, acknowledged);
    println!(
        "enospc: after freeing space the log reopened ({recovery:?}) and took 100 more: {entries} entries, intact"
    );
}
