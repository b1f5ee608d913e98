//! One conformance suite for every `Store`, run against the memory store and segment files
//! (tantivy's `directory/tests.rs` pattern): each check is written once, generic over the
//! store, and called from one small module per implementation.

use whyline_ledger::{Durability, Ledger, LedgerError, Side, Store};

use crate::common::{options, payload};

fn append_returns_consecutive_offsets_and_reads_back(store: &mut dyn Store) {
    assert_eq!(store.len(), 0);
    assert_eq!(store.append(b"hello").unwrap(), 0);
    assert_eq!(store.append(b", world").unwrap(), 5);
    assert_eq!(store.len(), 12);
    let mut buf = [0u8; 7];
    store.read_at(5, &mut buf).unwrap();
    assert_eq!(&buf, b", world");
    let mut past = [0u8; 2];
    assert!(matches!(
        store.read_at(11, &mut past),
        Err(LedgerError::Io { .. })
    ));
}

fn sync_makes_everything_durable(store: &mut dyn Store) {
    store.append(&[1u8; 100]).unwrap();
    store.sync().unwrap();
    assert_eq!(store.durable_len(), 100);
    store.append(&[2u8; 10]).unwrap();
    assert_eq!(store.durable_len(), 100);
    store.sync().unwrap();
    assert_eq!(store.durable_len(), 110);
}

fn truncate_cuts_the_log(store: &mut dyn Store) {
    store.append(&[3u8; 50]).unwrap();
    store.sync().unwrap();
    store.truncate(20).unwrap();
    assert_eq!(store.len(), 20);
    assert_eq!(store.append(b"x").unwrap(), 20);
}

fn side_logs_append_read_and_truncate(store: &mut dyn Store) {
    assert!(store.read_side(Side::Checkpoints).unwrap().is_empty());
    store.append_side(Side::Checkpoints, b"one", true).unwrap();
    store.append_side(Side::Checkpoints, b"two", true).unwrap();
    store.append_side(Side::TimeIndex, b"idx", false).unwrap();
    assert_eq!(store.read_side(Side::Checkpoints).unwrap(), b"onetwo");
    assert_eq!(store.read_side(Side::TimeIndex).unwrap(), b"idx");
    store.truncate_side(Side::Checkpoints, 3).unwrap();
    assert_eq!(store.read_side(Side::Checkpoints).unwrap(), b"one");
}

/// A ledger over the store: append, checkpoint, reopen, verify, read back.
fn ledger_round_trip<S: Store>(make: impl Fn() -> S) {
    let (mut ledger, report) =
        Ledger::open(make(), options().durability(Durability::Sync)).unwrap();
    assert_eq!(report.entries, 0);
    for i in 0..20 {
        let receipt = ledger.append(&payload(i)).unwrap();
        assert_eq!(receipt.index, i);
        assert_eq!(receipt.leaf_hash, whyline_ledger::leaf_hash(&payload(i)));
        assert_eq!(ledger.durable_size(), i + 1);
    }
    ledger.checkpoint().unwrap();
    let root = ledger.root();
    drop(ledger);
    let store = make();
    let report = crate::common::intact(&store, Some(&crate::common::signer().verifier()));
    assert_eq!(report.entries, 20);
    assert_eq!(report.root, root);
    assert_eq!(report.checkpoints, 3);
    let (ledger, report) = Ledger::open(store, options()).unwrap();
    assert_eq!(report.entries, 20);
    assert_eq!(report.torn_bytes, 0);
    assert_eq!(ledger.root(), root);
    assert_eq!(ledger.read_entry(13).unwrap().payload, payload(13));
    assert!(matches!(
        ledger.read_entry(20),
        Err(LedgerError::OutOfRange { index: 20, .. })
    ));
}

/// A torn tail is cut on open, reported, and the log verifies again.
fn torn_tail_is_truncated_and_reported<S: Store>(make: impl Fn() -> S, cut: impl Fn(u64)) {
    let (mut ledger, _) = Ledger::open(make(), options().checkpoint_every(0)).unwrap();
    for i in 0..5 {
        ledger.append(&payload(i)).unwrap();
    }
    let len = ledger.into_store().unwrap().len();
    cut(len - 10);
    let store = make();
    let residue = crate::common::residue(&store, None);
    assert_eq!(residue.len(), 1, "{residue:?}");
    assert_eq!(residue[0].bytes, (payload(4).len() + 52 - 10) as u64);
    let (ledger, report) = Ledger::open(store, options()).unwrap();
    assert_eq!(report.entries, 4);
    assert_eq!(report.torn_entries, 1);
    assert_eq!(report.torn_bytes, (payload(4).len() + 52 - 10) as u64);
    assert_eq!(ledger.size(), 4);
    crate::common::intact(ledger.store(), None);
}

mod memory {
    use std::sync::{Arc, Mutex};

    use super::*;
    use whyline_ledger::MemoryStore;

    #[test]
    fn append_returns_consecutive_offsets_and_reads_back() {
        super::append_returns_consecutive_offsets_and_reads_back(&mut MemoryStore::new());
    }

    #[test]
    fn sync_makes_everything_durable() {
        super::sync_makes_everything_durable(&mut MemoryStore::new());
    }

    #[test]
    fn truncate_cuts_the_log() {
        super::truncate_cuts_the_log(&mut MemoryStore::new());
    }

    #[test]
    fn side_logs_append_read_and_truncate() {
        super::side_logs_append_read_and_truncate(&mut MemoryStore::new());
    }

    /// Memory stores are values: "reopening" hands over a shared copy.
    #[derive(Clone, Default)]
    struct Shared(Arc<Mutex<Option<MemoryStore>>>);

    #[test]
    fn ledger_round_trip() {
        // Round trip through one store value kept between "opens".
        let shared = Shared::default();
        let make = || shared.0.lock().unwrap().take().unwrap_or_default();
        let (mut ledger, _) = Ledger::open(make(), options().durability(Durability::Sync)).unwrap();
        for i in 0..20 {
            ledger.append(&payload(i)).unwrap();
        }
        ledger.checkpoint().unwrap();
        let root = ledger.root();
        let store = ledger.into_store().unwrap();
        *shared.0.lock().unwrap() = Some(store.clone());
        let report = crate::common::intact(&store, Some(&crate::common::signer().verifier()));
        assert_eq!(
            (report.entries, report.root, report.checkpoints),
            (20, root, 3)
        );
        let (ledger, report) = Ledger::open(make(), options()).unwrap();
        assert_eq!(report.entries, 20);
        assert_eq!(ledger.read_entry(13).unwrap().payload, payload(13));
    }

    #[test]
    fn torn_tail_is_truncated_and_reported() {
        let shared = Shared::default();
        let (mut ledger, _) =
            Ledger::open(MemoryStore::new(), options().checkpoint_every(0)).unwrap();
        for i in 0..5 {
            ledger.append(&payload(i)).unwrap();
        }
        let store = ledger.into_store().unwrap();
        let len = store.len();
        *shared.0.lock().unwrap() = Some(store);
        super::torn_tail_is_truncated_and_reported(
            || {
                let mut s = shared.0.lock().unwrap().clone().unwrap_or_default();
                s.truncate(len - 10).unwrap();
                s
            },
            |_| {},
        );
    }
}

mod segment {
    use whyline_ledger::{ENTRIES_FILE, SegmentStore};

    fn store() -> (tempfile::TempDir, SegmentStore) {
        let dir = tempfile::tempdir().unwrap();
        let store = SegmentStore::open(dir.path().join("log")).unwrap();
        (dir, store)
    }

    #[test]
    fn append_returns_consecutive_offsets_and_reads_back() {
        let (_dir, mut store) = store();
        super::append_returns_consecutive_offsets_and_reads_back(&mut store);
    }

    #[test]
    fn sync_makes_everything_durable() {
        let (_dir, mut store) = store();
        super::sync_makes_everything_durable(&mut store);
    }

    #[test]
    fn truncate_cuts_the_log() {
        let (_dir, mut store) = store();
        super::truncate_cuts_the_log(&mut store);
    }

    #[test]
    fn side_logs_append_read_and_truncate() {
        let (_dir, mut store) = store();
        super::side_logs_append_read_and_truncate(&mut store);
    }

    #[test]
    fn ledger_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log");
        super::ledger_round_trip(|| SegmentStore::open(&path).unwrap());
    }

    #[test]
    fn torn_tail_is_truncated_and_reported() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log");
        super::torn_tail_is_truncated_and_reported(
            || SegmentStore::open(&path).unwrap(),
            |len| {
                let file = std::fs::OpenOptions::new()
                    .write(true)
                    .open(path.join(ENTRIES_FILE))
                    .unwrap();
                file.set_len(len).unwrap();
            },
        );
    }
}

/// The same checks with segments of a few hundred bytes, so every test rolls files.
mod small_segments {
    use whyline_ledger::{
        CorruptionKind, Ledger, LedgerError, SegmentOptions, SegmentStore, Store, segment_file_name,
    };

    use crate::common::{options, payload};

    fn open(path: &std::path::Path) -> SegmentStore {
        let options = SegmentOptions { segment_bytes: 300 };
        let opener: whyline_ledger::SegmentOpener = Box::new(|path: &std::path::Path| {
            let file = std::fs::OpenOptions::new()
                .create(true)
                .read(true)
                .append(true)
                .open(path)?;
            Ok(Box::new(file) as Box<dyn whyline_ledger::SegmentFile>)
        });
        SegmentStore::open_with(path, options, opener).unwrap()
    }

    fn store() -> (tempfile::TempDir, SegmentStore) {
        let dir = tempfile::tempdir().unwrap();
        let store = open(&dir.path().join("log"));
        (dir, store)
    }

    #[test]
    fn append_returns_consecutive_offsets_and_reads_back() {
        let (_dir, mut store) = store();
        super::append_returns_consecutive_offsets_and_reads_back(&mut store);
    }

    #[test]
    fn sync_makes_everything_durable() {
        let (_dir, mut store) = store();
        super::sync_makes_everything_durable(&mut store);
    }

    #[test]
    fn truncate_cuts_the_log() {
        let (_dir, mut store) = store();
        super::truncate_cuts_the_log(&mut store);
    }

    #[test]
    fn ledger_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log");
        super::ledger_round_trip(|| open(&path));
        assert!(open(&path).segment_count() > 5);
    }

    #[test]
    fn reads_span_segments_and_recovery_cuts_across_them() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log");
        let (mut ledger, _) = Ledger::open(open(&path), options().checkpoint_every(0)).unwrap();
        for i in 0..12 {
            ledger.append(&payload(i)).unwrap();
        }
        let store = ledger.into_store().unwrap();
        let segments = store.segment_count();
        assert!(segments >= 4, "{segments} segments");
        // A read across every segment boundary gives the bytes back in order.
        let mut all = vec![0u8; store.len() as usize];
        store.read_at(0, &mut all).unwrap();
        let mut concatenated = Vec::new();
        let mut start = 0u64;
        while let Ok(bytes) = std::fs::read(path.join(segment_file_name(start))) {
            start += bytes.len() as u64;
            concatenated.extend_from_slice(&bytes);
        }
        assert_eq!(all, concatenated);
        // Cut the log in the middle of an earlier segment: later segments are removed.
        let mut store = store;
        let cut = crate::common::frame_spans(&all)[5].start as u64 + 7;
        store.truncate(cut).unwrap();
        drop(store);
        let (ledger, report) = Ledger::open(open(&path), options()).unwrap();
        assert_eq!(report.entries, 5);
        assert_eq!(report.torn_bytes, 7);
        crate::common::intact(ledger.store(), None);
        assert_eq!(ledger.read_entry(4).unwrap().payload, payload(4));
    }

    #[test]
    fn a_missing_middle_segment_is_a_segment_gap() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log");
        let (mut ledger, _) = Ledger::open(open(&path), options().checkpoint_every(0)).unwrap();
        for i in 0..12 {
            ledger.append(&payload(i)).unwrap();
        }
        drop(ledger.into_store().unwrap());
        let second = std::fs::read_dir(&path)
            .unwrap()
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().into_string().unwrap())
            .filter(|n| n.starts_with("entries-"))
            .min()
            .unwrap();
        std::fs::remove_file(path.join(&second)).unwrap();
        let error = SegmentStore::open(&path).unwrap_err();
        assert!(
            matches!(
                error,
                LedgerError::Corrupt {
                    kind: CorruptionKind::SegmentGap { .. },
                    ..
                }
            ),
            "{error:?}"
        );
    }
}
