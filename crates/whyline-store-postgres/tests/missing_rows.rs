//! Reads that find rows missing under a length the store was told: a DBA (or an attacker)
//! deleted rows of `whyline_frames` or `whyline_side_records` behind the store's back. The
//! store reports the hole as a typed `Io` error of kind `UnexpectedEof` naming the table and
//! how much of the asked range it found, never zeros or a panic.

use std::io::ErrorKind;

use whyline_ledger::{LedgerError, Side, Store};
use whyline_store_postgres::PostgresStore;

use crate::common::Db;

/// The `Io` error's operation, kind and message; panics on any other error.
fn io_error(error: &LedgerError) -> (&'static str, ErrorKind, String) {
    let LedgerError::Io {
        operation, source, ..
    } = error
    else {
        panic!("expected an Io error, found {error:?}");
    };
    (operation, source.kind(), source.to_string())
}

/// Commits three frames, one commit each (so one row each: a commit packs only its own
/// frames), and returns their offsets.
fn three_rows(store: &mut PostgresStore) -> [u64; 3] {
    let mut offsets = [0; 3];
    for (slot, bytes) in offsets
        .iter_mut()
        .zip([&b"first"[..], &b"second"[..], &b"third!"[..]])
    {
        *slot = store.append(bytes).unwrap();
        store.sync().unwrap();
    }
    offsets
}

#[test]
fn a_frame_row_deleted_under_a_reader_is_reported_missing_with_the_bytes_found() {
    let db = Db::new();
    let mut writer = db.writer("holes");
    let [first, second, third] = three_rows(&mut writer);
    assert_eq!((first, second, third), (0, 5, 11));
    drop(writer);
    let reader = PostgresStore::open_existing(&db.url("holes")).unwrap();
    assert_eq!(reader.len(), 17);
    let deleted = db
        .sql()
        .execute("DELETE FROM whyline_frames WHERE start_offset = 5", &[])
        .unwrap();
    assert_eq!(deleted, 1);

    // The rows either side still read back.
    let mut buf = [0u8; 5];
    reader.read_at(0, &mut buf).unwrap();
    assert_eq!(&buf, b"first");
    let mut buf = [0u8; 6];
    reader.read_at(11, &mut buf).unwrap();
    assert_eq!(&buf, b"third!");

    // The deleted row alone: nothing found.
    let mut buf = [0u8; 6];
    let error = reader.read_at(5, &mut buf).unwrap_err();
    let (operation, kind, message) = io_error(&error);
    assert_eq!((operation, kind), ("read", ErrorKind::UnexpectedEof));
    assert_eq!(
        message,
        "rows of whyline_frames are missing: 0 of bytes 5..11 found"
    );
    // Across the hole: the bytes either side are found, the hole's are not.
    let mut buf = [0u8; 17];
    let error = reader.read_at(0, &mut buf).unwrap_err();
    assert_eq!(
        io_error(&error).2,
        "rows of whyline_frames are missing: 11 of bytes 0..17 found"
    );
    // The error names the log it read.
    assert!(
        error.to_string().contains("log=holes"),
        "the error names the log: {error}"
    );
}

#[test]
fn a_frame_row_deleted_under_the_writer_is_reported_missing_and_pending_bytes_still_read() {
    let db = Db::new();
    let mut writer = db.writer("holes");
    three_rows(&mut writer);
    // Appended, not committed: read from the writer's memory.
    let pending = writer.append(b"pending").unwrap();
    db.sql()
        .execute("DELETE FROM whyline_frames WHERE start_offset = 11", &[])
        .unwrap();
    let mut buf = [0u8; 7];
    writer.read_at(pending, &mut buf).unwrap();
    assert_eq!(&buf, b"pending");
    // From the last committed row into the pending one: only the pending bytes are there.
    let mut buf = [0u8; 13];
    let error = writer.read_at(11, &mut buf).unwrap_err();
    let (operation, kind, message) = io_error(&error);
    assert_eq!((operation, kind), ("read", ErrorKind::UnexpectedEof));
    assert_eq!(
        message,
        "rows of whyline_frames are missing: 7 of bytes 11..24 found"
    );
}

#[test]
fn a_read_past_the_length_the_store_was_told_is_refused_naming_the_length() {
    let db = Db::new();
    let mut writer = db.writer("short");
    three_rows(&mut writer);
    let mut buf = [0u8; 4];
    let error = writer.read_at(15, &mut buf).unwrap_err();
    let (operation, kind, message) = io_error(&error);
    assert_eq!((operation, kind), ("read", ErrorKind::UnexpectedEof));
    assert_eq!(message, "bytes 15.. pass the end of the log (17 bytes)");
    // An offset whose end overflows is refused the same way, not wrapped.
    let error = writer.read_at(u64::MAX, &mut buf).unwrap_err();
    assert_eq!(
        io_error(&error).2,
        format!("bytes {}.. pass the end of the log (17 bytes)", u64::MAX)
    );
    // An empty read at the end is fine.
    writer.read_at(17, &mut []).unwrap();
}

#[test]
fn a_side_record_deleted_under_a_reader_is_reported_missing_naming_the_side_log() {
    let db = Db::new();
    let mut writer = db.writer("sides");
    writer
        .append_side(Side::Checkpoints, b"aaaa", true)
        .unwrap();
    writer
        .append_side(Side::Checkpoints, b"bbbbbb", true)
        .unwrap();
    writer
        .append_side(Side::TimeIndex, b"0123456789", true)
        .unwrap();
    drop(writer);
    let reader = PostgresStore::open_existing(&db.url("sides")).unwrap();
    assert_eq!(reader.read_side(Side::Checkpoints).unwrap(), b"aaaabbbbbb");
    let deleted = db
        .sql()
        .execute(
            "DELETE FROM whyline_side_records WHERE side = 'checkpoints' AND start_offset = 0",
            &[],
        )
        .unwrap();
    assert_eq!(deleted, 1);

    let error = reader.read_side(Side::Checkpoints).unwrap_err();
    let (operation, kind, message) = io_error(&error);
    assert_eq!(
        (operation, kind),
        ("read side log", ErrorKind::UnexpectedEof)
    );
    assert_eq!(
        message,
        "rows of whyline_side_records (checkpoints) are missing: 6 of 10 bytes found"
    );
    // The other side log is untouched.
    assert_eq!(reader.read_side(Side::TimeIndex).unwrap(), b"0123456789");

    db.sql()
        .execute(
            "DELETE FROM whyline_side_records WHERE side = 'time_index'",
            &[],
        )
        .unwrap();
    let error = reader.read_side(Side::TimeIndex).unwrap_err();
    assert_eq!(
        io_error(&error).2,
        "rows of whyline_side_records (time_index) are missing: 0 of 10 bytes found"
    );
}

#[test]
fn the_debug_form_names_the_location_the_mode_and_the_lengths() {
    let db = Db::new();
    let mut writer = db.writer("debug");
    writer.append(b"12345").unwrap();
    writer.sync().unwrap();
    writer.append(b"678").unwrap();
    let shown = format!("{writer:?}");
    assert!(shown.starts_with("PostgresStore {"), "{shown}");
    for part in ["log=debug", "mode: Writer", "len: 8", "durable: 5"] {
        assert!(shown.contains(part), "{part:?} in {shown}");
    }
    writer.sync().unwrap();
    drop(writer);
    let reader = PostgresStore::open_existing(&db.url("debug")).unwrap();
    let shown = format!("{reader:?}");
    for part in ["mode: ReadOnly", "len: 8", "durable: 8"] {
        assert!(shown.contains(part), "{part:?} in {shown}");
    }
}
