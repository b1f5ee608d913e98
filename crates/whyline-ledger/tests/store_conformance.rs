//! One conformance suite for every `Store` (`whyline_ledger::store_conformance`, tantivy's
//! `directory/tests.rs` pattern), run here against the memory store and segment files; the
//! PostgreSQL store runs the same checks in `whyline-store-postgres`'s tests.

use whyline_ledger::store_conformance as conformance;

mod memory {
    use super::conformance;
    use whyline_ledger::{MemoryStore, Store};

    #[test]
    fn append_returns_consecutive_offsets_and_reads_back() {
        conformance::append_returns_consecutive_offsets_and_reads_back(&mut MemoryStore::new())
            .unwrap();
    }

    #[test]
    fn sync_makes_everything_durable() {
        conformance::sync_makes_everything_durable(&mut MemoryStore::new()).unwrap();
    }

    #[test]
    fn truncate_cuts_the_log() {
        conformance::truncate_cuts_the_log(&mut MemoryStore::new()).unwrap();
    }

    #[test]
    fn side_logs_append_read_and_truncate() {
        conformance::side_logs_append_read_and_truncate(&mut MemoryStore::new()).unwrap();
    }

    /// Memory stores are values: "reopening" hands the same value back.
    fn reopen(old: Option<MemoryStore>) -> whyline_ledger::Result<MemoryStore> {
        Ok(old.unwrap_or_default())
    }

    #[test]
    fn ledger_round_trip() {
        conformance::ledger_round_trip(reopen).unwrap();
    }

    #[test]
    fn torn_tail_is_truncated_and_reported() {
        conformance::torn_tail_is_truncated_and_reported(reopen, |mut store, len| {
            store.truncate(len)?;
            Ok(store)
        })
        .unwrap();
    }
}

/// A store chosen at run time (`Box<dyn Store>`, as the command line opens one) passes
/// through every call.
mod boxed {
    use super::conformance;
    use whyline_ledger::{MemoryStore, Store};

    fn boxed() -> Box<dyn Store> {
        Box::new(MemoryStore::new())
    }

    #[test]
    fn byte_level_checks_pass_through_a_box() {
        conformance::append_returns_consecutive_offsets_and_reads_back(&mut boxed()).unwrap();
        conformance::sync_makes_everything_durable(&mut boxed()).unwrap();
        conformance::truncate_cuts_the_log(&mut boxed()).unwrap();
        conformance::side_logs_append_read_and_truncate(&mut boxed()).unwrap();
    }

    #[test]
    fn ledger_round_trip() {
        conformance::ledger_round_trip(|old: Option<Box<dyn Store>>| Ok(old.unwrap_or_else(boxed)))
            .unwrap();
    }
}

mod segment {
    use super::conformance;
    use whyline_ledger::{ENTRIES_FILE, SegmentStore};

    fn store() -> (tempfile::TempDir, SegmentStore) {
        let dir = tempfile::tempdir().unwrap();
        let store = SegmentStore::open(dir.path().join("log")).unwrap();
        (dir, store)
    }

    #[test]
    fn append_returns_consecutive_offsets_and_reads_back() {
        let (_dir, mut store) = store();
        conformance::append_returns_consecutive_offsets_and_reads_back(&mut store).unwrap();
    }

    #[test]
    fn sync_makes_everything_durable() {
        let (_dir, mut store) = store();
        conformance::sync_makes_everything_durable(&mut store).unwrap();
    }

    #[test]
    fn truncate_cuts_the_log() {
        let (_dir, mut store) = store();
        conformance::truncate_cuts_the_log(&mut store).unwrap();
    }

    #[test]
    fn side_logs_append_read_and_truncate() {
        let (_dir, mut store) = store();
        conformance::side_logs_append_read_and_truncate(&mut store).unwrap();
    }

    #[test]
    fn ledger_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log");
        conformance::ledger_round_trip(|old| {
            drop(old);
            SegmentStore::open(&path)
        })
        .unwrap();
    }

    #[test]
    fn torn_tail_is_truncated_and_reported() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log");
        conformance::torn_tail_is_truncated_and_reported(
            |old| {
                drop(old);
                SegmentStore::open(&path)
            },
            |store, len| {
                drop(store);
                let file = std::fs::OpenOptions::new()
                    .write(true)
                    .open(path.join(ENTRIES_FILE))
                    .unwrap();
                file.set_len(len).unwrap();
                SegmentStore::open(&path)
            },
        )
        .unwrap();
    }
}

/// The same checks with segments of a few hundred bytes, so every test rolls files.
mod small_segments {
    use super::conformance;
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
        conformance::append_returns_consecutive_offsets_and_reads_back(&mut store).unwrap();
    }

    #[test]
    fn sync_makes_everything_durable() {
        let (_dir, mut store) = store();
        conformance::sync_makes_everything_durable(&mut store).unwrap();
    }

    #[test]
    fn truncate_cuts_the_log() {
        let (_dir, mut store) = store();
        conformance::truncate_cuts_the_log(&mut store).unwrap();
    }

    #[test]
    fn ledger_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log");
        conformance::ledger_round_trip(|old| {
            drop(old);
            Ok(open(&path))
        })
        .unwrap();
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

/// A sync ticket says whether it covers any byte: a ticket of nothing is empty, whether it
/// was made done or with a file to sync.
#[test]
fn a_sync_ticket_is_empty_only_when_it_covers_no_byte() {
    use whyline_ledger::SyncTicket;
    assert!(SyncTicket::done(0).is_empty());
    assert!(!SyncTicket::done(5).is_empty());
    assert_eq!(SyncTicket::done(5).len(), 5);
    let dir = tempfile::tempdir().unwrap();
    let file = std::fs::File::create(dir.path().join("f")).unwrap();
    let ticket = SyncTicket::new(7, std::sync::Arc::new(file), dir.path().join("f"));
    assert!(!ticket.is_empty());
    ticket.sync().unwrap();
}

/// Each check of the suite rejects a store broken in the way it checks: a suite whose
/// checks cannot fail would pass any store.
mod broken {
    use std::path::Path;

    use super::conformance;
    use whyline_ledger::{MemoryStore, Result, Side, Store};

    #[derive(Clone, Copy, Debug, PartialEq)]
    enum Fault {
        /// `append` reports the offset one byte late.
        OffsetLate,
        /// `sync` forgets to move the durable length.
        SyncNotDurable,
        /// `truncate` cuts nothing.
        TruncateIgnored,
        /// Side-log records are dropped.
        SideLost,
        /// `read_at` returns one byte flipped (every frame's CRC then fails).
        ReadFlipped,
    }

    /// A memory store with one fault.
    #[derive(Default)]
    struct Broken {
        inner: MemoryStore,
        fault: Option<Fault>,
    }

    impl Broken {
        fn with(fault: Fault) -> Self {
            Self {
                inner: MemoryStore::new(),
                fault: Some(fault),
            }
        }

        fn has(&self, fault: Fault) -> bool {
            self.fault == Some(fault)
        }
    }

    impl Store for Broken {
        fn location(&self) -> &Path {
            self.inner.location()
        }
        fn len(&self) -> u64 {
            self.inner.len()
        }
        fn append(&mut self, bytes: &[u8]) -> Result<u64> {
            let offset = self.inner.append(bytes)?;
            Ok(offset + u64::from(self.has(Fault::OffsetLate)))
        }
        fn sync(&mut self) -> Result<()> {
            if self.has(Fault::SyncNotDurable) {
                return Ok(());
            }
            self.inner.sync()
        }
        fn durable_len(&self) -> u64 {
            self.inner.durable_len()
        }
        fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<()> {
            self.inner.read_at(offset, buf)?;
            if self.has(Fault::ReadFlipped)
                && let Some(byte) = buf.last_mut()
            {
                *byte ^= 1;
            }
            Ok(())
        }
        fn truncate(&mut self, len: u64) -> Result<()> {
            if self.has(Fault::TruncateIgnored) {
                return Ok(());
            }
            self.inner.truncate(len)
        }
        fn append_side(&mut self, side: Side, bytes: &[u8], durable: bool) -> Result<()> {
            if self.has(Fault::SideLost) {
                return Ok(());
            }
            self.inner.append_side(side, bytes, durable)
        }
        fn read_side(&self, side: Side) -> Result<Vec<u8>> {
            self.inner.read_side(side)
        }
        fn truncate_side(&mut self, side: Side, len: u64) -> Result<()> {
            self.inner.truncate_side(side, len)
        }
    }

    #[test]
    fn every_check_rejects_the_store_it_is_about() {
        let rejected =
            |name: &str, result: std::result::Result<(), conformance::ConformanceError>| {
                assert!(result.is_err(), "{name} passed a broken store");
            };
        rejected(
            "append_returns_consecutive_offsets_and_reads_back",
            conformance::append_returns_consecutive_offsets_and_reads_back(&mut Broken::with(
                Fault::OffsetLate,
            )),
        );
        rejected(
            "sync_makes_everything_durable",
            conformance::sync_makes_everything_durable(&mut Broken::with(Fault::SyncNotDurable)),
        );
        rejected(
            "truncate_cuts_the_log",
            conformance::truncate_cuts_the_log(&mut Broken::with(Fault::TruncateIgnored)),
        );
        rejected(
            "side_logs_append_read_and_truncate",
            conformance::side_logs_append_read_and_truncate(&mut Broken::with(Fault::SideLost)),
        );
        let reopen = |fault: Fault| {
            move |old: Option<Broken>| -> Result<Broken> { Ok(old.unwrap_or(Broken::with(fault))) }
        };
        rejected(
            "ledger_round_trip",
            conformance::ledger_round_trip(reopen(Fault::ReadFlipped)),
        );
        rejected(
            "torn_tail_is_truncated_and_reported",
            conformance::torn_tail_is_truncated_and_reported(
                reopen(Fault::TruncateIgnored),
                |mut store: Broken, len| {
                    store.inner.truncate(len)?;
                    Ok(store)
                },
            ),
        );
        // And the same store without a fault passes every one of them.
        let healthy = |old: Option<Broken>| -> Result<Broken> { Ok(old.unwrap_or_default()) };
        conformance::append_returns_consecutive_offsets_and_reads_back(&mut Broken::default())
            .unwrap();
        conformance::sync_makes_everything_durable(&mut Broken::default()).unwrap();
        conformance::truncate_cuts_the_log(&mut Broken::default()).unwrap();
        conformance::side_logs_append_read_and_truncate(&mut Broken::default()).unwrap();
        conformance::ledger_round_trip(healthy).unwrap();
        conformance::torn_tail_is_truncated_and_reported(healthy, |mut store: Broken, len| {
            store.inner.truncate(len)?;
            Ok(store)
        })
        .unwrap();
    }
}
