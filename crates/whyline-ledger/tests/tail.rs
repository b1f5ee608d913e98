//! LedgerTail on the edges a follower meets: no ledger yet, a file header not yet written, a
//! log cut shorter under it, a visitor that stops, and a time index it cannot trust.

use whyline_ledger::{
    ENTRIES_FILE, Ledger, LedgerError, LedgerOptions, LedgerTail, NotALedgerReason, SegmentStore,
    TIME_INDEX_FILE,
};

const HEADER: u64 = 16;

fn payload(i: u64) -> Vec<u8> {
    format!("entry {i}").into_bytes()
}

/// A ledger of `n` entries in `dir`, committed and closed.
fn write(dir: &std::path::Path, n: u64) {
    let (mut ledger, _) = Ledger::open(
        SegmentStore::open(dir).unwrap(),
        LedgerOptions::without_checkpoints("tail/test"),
    )
    .unwrap();
    for i in 0..n {
        ledger.append(&payload(i)).unwrap();
    }
    ledger.commit().unwrap();
}

/// Reads what is new, returning the indices lent.
fn read_new(tail: &mut LedgerTail) -> (Vec<u64>, whyline_ledger::TailRead) {
    let mut seen = Vec::new();
    let read = tail
        .read_new(|entry| {
            assert_eq!(entry.payload, payload(entry.index));
            seen.push(entry.index);
            Ok::<(), LedgerError>(())
        })
        .unwrap();
    assert_eq!(
        read.entries,
        seen.len() as u64,
        "the read counts what it lent"
    );
    (seen, read)
}

#[test]
fn a_missing_directory_or_one_without_an_entry_log_is_not_a_ledger() {
    let tmp = tempfile::tempdir().unwrap();
    let missing = tmp.path().join("missing");
    let error = LedgerTail::open(&missing).unwrap_err();
    assert!(
        matches!(&error, LedgerError::NotALedger { path, reason: NotALedgerReason::Missing } if *path == missing),
        "{error:?}"
    );
    let error = LedgerTail::open(tmp.path()).unwrap_err();
    assert!(
        matches!(
            &error,
            LedgerError::NotALedger {
                reason: NotALedgerReason::NoEntryLog,
                ..
            }
        ),
        "{error:?}"
    );
    assert_eq!(
        std::fs::read_dir(tmp.path()).unwrap().count(),
        0,
        "nothing created"
    );
}

#[test]
fn a_file_header_not_yet_written_is_pending_and_the_position_starts_after_it() {
    let tmp = tempfile::tempdir().unwrap();
    let full = {
        write(tmp.path(), 2);
        std::fs::read(tmp.path().join(ENTRIES_FILE)).unwrap()
    };
    std::fs::write(tmp.path().join(ENTRIES_FILE), &full[..5]).unwrap();
    let mut tail = LedgerTail::open(tmp.path()).unwrap();
    assert_eq!(tail.position(), HEADER);
    let (seen, read) = read_new(&mut tail);
    assert!(seen.is_empty());
    assert_eq!(read.pending_bytes, 5);
    assert_eq!(read.damaged, None);
    // The whole header, no entry yet: nothing pending, nothing read.
    std::fs::write(tmp.path().join(ENTRIES_FILE), &full[..HEADER as usize]).unwrap();
    let (seen, read) = read_new(&mut tail);
    assert!(seen.is_empty());
    assert_eq!((read.entries, read.pending_bytes), (0, 0));
    // The rest arrives: both entries, and the position is the end of the file.
    std::fs::write(tmp.path().join(ENTRIES_FILE), &full).unwrap();
    let (seen, read) = read_new(&mut tail);
    assert_eq!(seen, [0, 1]);
    assert_eq!(read.pending_bytes, 0);
    assert_eq!(tail.position(), full.len() as u64);
    assert_eq!(tail.next_index(), 2);
    let debug = format!("{tail:?}");
    assert!(
        debug.contains(&format!("position: {}", full.len())) && debug.contains("next_index: 2"),
        "{debug}"
    );
}

#[test]
fn a_log_cut_shorter_than_what_was_read_is_reported_and_not_read_until_it_grows_back() {
    let tmp = tempfile::tempdir().unwrap();
    write(tmp.path(), 4);
    let path = tmp.path().join(ENTRIES_FILE);
    let full = std::fs::read(&path).unwrap();
    let mut tail = LedgerTail::open(tmp.path()).unwrap();
    assert_eq!(read_new(&mut tail).0, [0, 1, 2, 3]);
    let frame = (full.len() - HEADER as usize) / 4;
    let cut = full.len() - frame;
    std::fs::write(&path, &full[..cut]).unwrap();
    let (seen, read_cut) = read_new(&mut tail);
    assert!(seen.is_empty());
    assert_eq!(read_cut.cut_to, Some(cut as u64));
    // Grown back to where the tail was: nothing new, no cut.
    std::fs::write(&path, &full).unwrap();
    let (seen, again) = read_new(&mut tail);
    assert!(seen.is_empty());
    assert_eq!(again.cut_to, None);
}

#[test]
fn an_error_from_the_visitor_stops_the_read_and_the_entry_is_lent_again_next_time() {
    let tmp = tempfile::tempdir().unwrap();
    write(tmp.path(), 5);
    let mut tail = LedgerTail::open(tmp.path()).unwrap();
    let mut seen = Vec::new();
    let result = tail.read_new(|entry| {
        if entry.index == 2 {
            return Err(LedgerError::NoCheckpoint);
        }
        seen.push(entry.index);
        Ok(())
    });
    assert!(
        matches!(result, Err(LedgerError::NoCheckpoint)),
        "{result:?}"
    );
    assert_eq!(seen, [0, 1]);
    assert_eq!(tail.next_index(), 2);
    assert_eq!(read_new(&mut tail).0, [2, 3, 4]);
}

#[test]
fn a_missing_short_or_lying_time_index_leaves_the_tail_at_the_start() {
    let tmp = tempfile::tempdir().unwrap();
    write(tmp.path(), 1100);
    let index_path = tmp.path().join(TIME_INDEX_FILE);
    let index = std::fs::read(&index_path).unwrap();
    assert_eq!(index.len(), 32, "one closed block");

    let mut tail = LedgerTail::open(tmp.path()).unwrap();
    assert_eq!(tail.skip_to_last_indexed_block().unwrap(), Some(0));

    // Shorter than one record: nothing to skip to.
    std::fs::write(&index_path, &index[..31]).unwrap();
    let mut tail = LedgerTail::open(tmp.path()).unwrap();
    assert_eq!(tail.skip_to_last_indexed_block().unwrap(), None);

    // A record that points at a frame of another index: not trusted.
    let mut lying = index.clone();
    lying[0] = 7;
    std::fs::write(&index_path, &lying).unwrap();
    let mut tail = LedgerTail::open(tmp.path()).unwrap();
    assert_eq!(tail.skip_to_last_indexed_block().unwrap(), None);
    assert_eq!(tail.next_index(), 0);
    assert_eq!(tail.position(), HEADER);

    // No index at all.
    std::fs::remove_file(&index_path).unwrap();
    let mut tail = LedgerTail::open(tmp.path()).unwrap();
    assert_eq!(tail.skip_to_last_indexed_block().unwrap(), None);
    let (seen, _) = read_new(&mut tail);
    assert_eq!(seen.len(), 1100);

    // An index that cannot be read is an error naming it, not a silent start from 0.
    std::fs::create_dir(&index_path).unwrap();
    let mut tail = LedgerTail::open(tmp.path()).unwrap();
    let error = tail.skip_to_last_indexed_block().unwrap_err();
    assert!(
        matches!(&error, LedgerError::Io { operation: "read", path, .. } if *path == index_path),
        "{error:?}"
    );
}

#[test]
fn a_next_segment_that_cannot_be_opened_is_an_error_not_the_end_of_the_log() {
    let tmp = tempfile::tempdir().unwrap();
    write(tmp.path(), 3);
    let len = std::fs::metadata(tmp.path().join(ENTRIES_FILE))
        .unwrap()
        .len();
    let mut tail = LedgerTail::open(tmp.path()).unwrap();
    assert_eq!(read_new(&mut tail).0, [0, 1, 2]);
    // The segment that would follow the first one is there but cannot be opened (a link to
    // itself: ELOOP, which root meets too, unlike a permission): a follower must not take
    // it for the end of the log and wait for ever.
    let next = tmp.path().join(format!("entries-{len:020}.wls"));
    std::os::unix::fs::symlink(&next, &next).unwrap();
    let error = tail.read_new(|_| Ok::<(), LedgerError>(())).unwrap_err();
    assert!(
        matches!(&error, LedgerError::Io { operation: "open", path, .. } if *path == next),
        "{error:?}"
    );
}

#[test]
fn a_time_index_that_cannot_be_read_is_an_error_not_a_missing_index() {
    let tmp = tempfile::tempdir().unwrap();
    write(tmp.path(), 3);
    let index = tmp.path().join(TIME_INDEX_FILE);
    let _ = std::fs::remove_file(&index);
    std::os::unix::fs::symlink(&index, &index).unwrap();
    let mut tail = LedgerTail::open(tmp.path()).unwrap();
    let error = tail.skip_to_last_indexed_block().unwrap_err();
    assert!(
        matches!(&error, LedgerError::Io { operation: "read", path, .. } if *path == index),
        "{error:?}"
    );
    // Without an index at all, the tail simply starts at the beginning.
    std::fs::remove_file(&index).unwrap();
    assert_eq!(tail.skip_to_last_indexed_block().unwrap(), None);
    assert_eq!(read_new(&mut tail).0, [0, 1, 2]);
}
