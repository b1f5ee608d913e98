//! The segment store read as the bytes of its files: reads across and beyond segments,
//! files in the directory that are not segments, repeated syncs, and a side log that cannot
//! be read.

use whyline_ledger::{
    LedgerError, SegmentOptions, SegmentStore, Side, Store, TIME_INDEX_FILE, segment_file_name,
};

/// A store of small segments holding `chunks` appended chunks of 100 bytes each; returns
/// the store and the bytes it holds, from its files, in order.
fn store(dir: &std::path::Path, chunks: u8) -> (SegmentStore, Vec<u8>) {
    let mut store =
        SegmentStore::open_with_options(dir, SegmentOptions { segment_bytes: 256 }).unwrap();
    for chunk in 0..chunks {
        store.append(&[chunk; 100]).unwrap();
    }
    store.sync().unwrap();
    let mut bytes = std::fs::read(dir.join("entries.wls")).unwrap();
    let mut start = bytes.len() as u64;
    while let Ok(more) = std::fs::read(dir.join(segment_file_name(start))) {
        start += more.len() as u64;
        bytes.extend(more);
    }
    (store, bytes)
}

#[test]
fn reads_across_segments_match_the_files_and_reads_past_the_end_fail() {
    let dir = tempfile::tempdir().unwrap();
    let (store, bytes) = store(dir.path(), 9);
    assert_eq!(store.len(), bytes.len() as u64);
    assert!(
        std::fs::read_dir(dir.path()).unwrap().count() >= 3,
        "several segments"
    );
    // Every window of 150 bytes, wherever it starts, is the files' bytes.
    for offset in (0..bytes.len() - 150).step_by(37) {
        let mut buf = [0u8; 150];
        store.read_at(offset as u64, &mut buf).unwrap();
        assert_eq!(&buf[..], &bytes[offset..offset + 150], "at {offset}");
    }
    let mut past = [0u8; 2];
    let error = store.read_at(store.len() - 1, &mut past).unwrap_err();
    assert!(
        matches!(
            error,
            LedgerError::Io {
                operation: "read",
                ..
            }
        ),
        "{error:?}"
    );
}

#[test]
fn a_file_that_only_looks_like_a_segment_is_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let (store, bytes) = store(dir.path(), 4);
    drop(store);
    for name in [
        "entries-12.wls",
        "entries-00000000000000000000.wls",
        "notes.txt",
    ] {
        std::fs::write(dir.path().join(name), b"not a segment").unwrap();
    }
    let store = SegmentStore::open_existing(dir.path()).unwrap();
    assert_eq!(store.len(), bytes.len() as u64);
    let mut all = vec![0u8; bytes.len()];
    store.read_at(0, &mut all).unwrap();
    assert_eq!(all, bytes);
}

/// Cutting a store of several segments to nothing keeps its first file (the log's name),
/// which then takes new bytes: what recovery does to a log whose header a crash tore.
#[test]
fn a_store_cut_to_nothing_keeps_its_first_file_and_takes_new_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, _) = store(dir.path(), 6);
    store.truncate(0).unwrap();
    assert_eq!(store.len(), 0);
    assert!(dir.path().join("entries.wls").is_file());
    store.append(b"a new start").unwrap();
    store.sync().unwrap();
    drop(store);
    let store = SegmentStore::open_existing(dir.path()).unwrap();
    let mut back = vec![0u8; 11];
    store.read_at(0, &mut back).unwrap();
    assert_eq!((store.len(), back.as_slice()), (11, &b"a new start"[..]));
}

#[test]
fn a_second_sync_with_nothing_new_is_a_no_op_and_a_ticket_for_it_is_done() {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, bytes) = store(dir.path(), 2);
    assert_eq!(store.durable_len(), bytes.len() as u64);
    store.sync().unwrap();
    let ticket = store.begin_sync().unwrap();
    assert_eq!(ticket.len(), bytes.len() as u64);
    assert!(!ticket.is_empty());
    assert!(format!("{ticket:?}").contains(&format!("len: {}", bytes.len())));
    ticket.sync().unwrap();
    store.finish_sync(ticket, Ok(())).unwrap();
    assert_eq!(store.durable_len(), bytes.len() as u64);
}

#[test]
fn a_side_log_that_cannot_be_read_is_an_io_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = store(dir.path(), 1);
    let index = dir.path().join(TIME_INDEX_FILE);
    let _ = std::fs::remove_file(&index);
    std::fs::create_dir(&index).unwrap();
    let error = store.read_side(Side::TimeIndex).unwrap_err();
    assert!(
        matches!(&error, LedgerError::Io { operation: "read", path, .. } if *path == index),
        "{error:?}"
    );
}

/// What the investigation commands open: every file read-only (so a write-protected copy or a
/// file system the kernel remounted read-only can be verified; `scripts/campaigns/remount_ro.sh`
/// runs it on one), reads that see every byte, and every write refused by name, the files left
/// as they were.
#[test]
fn a_store_opened_read_only_reads_every_byte_and_refuses_every_write() {
    let dir = tempfile::tempdir().unwrap();
    let (mut writer, bytes) = store(dir.path(), 9);
    writer
        .append_side(Side::Checkpoints, b"side bytes", true)
        .unwrap();
    drop(writer);
    let files = |dir: &std::path::Path| {
        let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
            .unwrap()
            .map(|item| {
                let path = item.unwrap().path();
                let name = path.file_name().unwrap().to_string_lossy().into_owned();
                (name, std::fs::read(&path).unwrap())
            })
            .collect();
        files.sort();
        files
    };
    let before = files(dir.path());

    let mut reader = SegmentStore::open_read_only(dir.path()).unwrap();
    assert_eq!(reader.len(), bytes.len() as u64);
    let mut read = vec![0; bytes.len()];
    reader.read_at(0, &mut read).unwrap();
    assert_eq!(read, bytes);
    assert_eq!(reader.read_side(Side::Checkpoints).unwrap(), b"side bytes");
    reader.sync().unwrap(); // nothing to write
    let refused = [
        reader.append(b"more").map(|_| ()),
        reader.truncate(10),
        reader.append_side(Side::Checkpoints, b"more", true),
        reader.truncate_side(Side::TimeIndex, 0),
    ];
    for result in refused {
        let error = result.unwrap_err();
        assert!(
            matches!(&error, LedgerError::ReadOnly { path } if path == dir.path()),
            "{error:?}"
        );
        assert!(error.to_string().contains("opened read-only"), "{error}");
    }
    assert_eq!(reader.len(), bytes.len() as u64);
    drop(reader);
    assert_eq!(files(dir.path()), before, "the files are as they were");

    // Nothing is created for a directory that holds no ledger.
    let missing = dir.path().join("absent");
    assert!(matches!(
        SegmentStore::open_read_only(&missing),
        Err(LedgerError::NotALedger { .. })
    ));
    assert!(!missing.exists());
}
