//! Fault injection at the write and fsync steps of the segment store, in both forms:
//! "fails and nothing persists" and "fails but the bytes persisted" (plus a half-written
//! frame). Every time the error reaches the caller, the writer stops, and after reopening
//! the log verifies and holds every acknowledged entry.

use std::fs::File;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use whyline_ledger::{
    Durability, Ledger, LedgerError, SegmentFile, SegmentOpener, SegmentOptions, SegmentStore,
};

use crate::common::{options, payload, signer};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Fault {
    /// The write fails before any byte reaches the file.
    WriteLosesAll,
    /// The write puts every byte in the file, then reports failure.
    WriteKeepsAll,
    /// The write puts half the bytes in the file, then reports failure.
    WriteKeepsHalf,
    /// fsync fails and the unsynced bytes are lost (the kernel dropped the dirty pages).
    SyncLosesPages,
    /// fsync reports failure but the bytes made it.
    SyncKeepsPages,
}

/// A file that fails once, as planned, on the call after `armed` was set.
struct FaultyFile {
    inner: File,
    synced_len: Arc<AtomicU64>,
    armed: Arc<Mutex<Option<Fault>>>,
}

/// The same file's sync handle (the collector syncs through it, outside its lock), failing
/// as planned too.
struct FaultySync {
    inner: File,
    synced_len: Arc<AtomicU64>,
    armed: Arc<Mutex<Option<Fault>>>,
}

fn faulty_sync(
    inner: &File,
    synced_len: &AtomicU64,
    armed: &Mutex<Option<Fault>>,
) -> std::io::Result<()> {
    let fault = *armed.lock().unwrap();
    match fault {
        Some(Fault::SyncLosesPages) => {
            inner.set_len(synced_len.load(Ordering::SeqCst))?;
            Err(injected())
        }
        Some(Fault::SyncKeepsPages) => {
            inner.sync_data()?;
            Err(injected())
        }
        _ => {
            inner.sync_data()?;
            synced_len.store(inner.metadata()?.len(), Ordering::SeqCst);
            Ok(())
        }
    }
}

impl whyline_ledger::SyncHandle for FaultySync {
    fn sync_data(&self) -> std::io::Result<()> {
        faulty_sync(&self.inner, &self.synced_len, &self.armed)
    }
}

fn injected() -> std::io::Error {
    std::io::Error::other("injected fault")
}

impl SegmentFile for FaultyFile {
    fn append_all(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        use std::io::Write;
        let fault = *self.armed.lock().unwrap();
        match fault {
            Some(Fault::WriteLosesAll) => Err(injected()),
            Some(Fault::WriteKeepsAll) => {
                self.inner.write_all(bytes)?;
                Err(injected())
            }
            Some(Fault::WriteKeepsHalf) => {
                self.inner.write_all(&bytes[..bytes.len() / 2])?;
                Err(injected())
            }
            _ => self.inner.write_all(bytes),
        }
    }

    fn sync_data(&mut self) -> std::io::Result<()> {
        faulty_sync(&self.inner, &self.synced_len, &self.armed)
    }

    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> std::io::Result<()> {
        std::os::unix::fs::FileExt::read_exact_at(&self.inner, buf, offset)
    }

    fn set_len(&mut self, len: u64) -> std::io::Result<()> {
        self.inner.set_len(len)
    }

    fn file_len(&self) -> std::io::Result<u64> {
        Ok(self.inner.metadata()?.len())
    }

    fn sync_handle(&self) -> std::io::Result<Arc<dyn whyline_ledger::SyncHandle>> {
        Ok(Arc::new(FaultySync {
            inner: self.inner.try_clone()?,
            synced_len: Arc::clone(&self.synced_len),
            armed: Arc::clone(&self.armed),
        }))
    }
}

pub(crate) fn faulty_store(dir: &Path, armed: Arc<Mutex<Option<Fault>>>) -> SegmentStore {
    let opener: SegmentOpener = Box::new(move |path: &Path| {
        let inner = std::fs::OpenOptions::new()
            .create(true)
            .read(true)
            .append(true)
            .open(path)?;
        let synced_len = Arc::new(AtomicU64::new(inner.metadata()?.len()));
        Ok(Box::new(FaultyFile {
            inner,
            synced_len,
            armed: armed.clone(),
        }) as Box<dyn SegmentFile>)
    });
    SegmentStore::open_with(dir, SegmentOptions::default(), opener).unwrap()
}

fn run(fault: Fault) -> (u64, whyline_ledger::RecoveryReport) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("log");
    let armed = Arc::new(Mutex::new(None));
    let store = faulty_store(&dir, armed.clone());
    let (mut ledger, _) = Ledger::open(store, options().durability(Durability::Sync)).unwrap();
    for i in 0..5 {
        ledger.append(&payload(i)).unwrap();
    }
    *armed.lock().unwrap() = Some(fault);
    let error = ledger.append(&payload(5)).unwrap_err();
    let operation = match fault {
        Fault::WriteLosesAll | Fault::WriteKeepsAll | Fault::WriteKeepsHalf => "write",
        Fault::SyncLosesPages | Fault::SyncKeepsPages => "fsync",
    };
    assert!(
        matches!(&error, LedgerError::Io { operation: op, .. } if *op == operation),
        "{fault:?}: {error:?}"
    );
    // The writer stopped: no blind retry, even once the fault is gone.
    *armed.lock().unwrap() = None;
    let again = ledger.append(&payload(6)).unwrap_err();
    assert!(
        matches!(again, LedgerError::WriterFailed { operation: op, .. } if op == operation),
        "{fault:?}: {again:?}"
    );
    drop(ledger);
    let (ledger, report) = Ledger::open(SegmentStore::open(&dir).unwrap(), options()).unwrap();
    crate::common::intact(ledger.store(), Some(&signer().verifier()));
    for i in 0..5 {
        assert_eq!(
            ledger.read_entry(i).unwrap().payload,
            payload(i),
            "{fault:?}"
        );
    }
    (ledger.size(), report)
}

#[test]
fn a_write_that_fails_before_writing_loses_only_the_unacknowledged_entry() {
    let (size, report) = run(Fault::WriteLosesAll);
    assert_eq!((size, report.torn_bytes), (5, 0));
}

#[test]
fn a_write_that_fails_after_writing_keeps_a_whole_unacknowledged_entry() {
    let (size, report) = run(Fault::WriteKeepsAll);
    assert_eq!((size, report.torn_bytes), (6, 0));
}

#[test]
fn a_write_that_fails_halfway_leaves_a_torn_tail_that_recovery_cuts() {
    let (size, report) = run(Fault::WriteKeepsHalf);
    assert_eq!(size, 5);
    assert_eq!(report.torn_entries, 1);
    assert_eq!(report.torn_bytes, ((payload(5).len() + 52) / 2) as u64);
}

#[test]
fn an_fsync_that_fails_and_drops_the_pages_loses_only_the_unacknowledged_entry() {
    let (size, report) = run(Fault::SyncLosesPages);
    assert_eq!((size, report.torn_bytes), (5, 0));
}

#[test]
fn an_fsync_that_fails_after_persisting_keeps_the_entry_but_reported_the_error() {
    let (size, report) = run(Fault::SyncKeepsPages);
    assert_eq!((size, report.torn_bytes), (6, 0));
}

#[test]
fn a_segment_roll_that_cannot_create_its_file_stops_the_writer_and_loses_nothing_acknowledged() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("log");
    let opened = Arc::new(Mutex::new(0u32));
    let counter = opened.clone();
    let opener: SegmentOpener = Box::new(move |path: &Path| {
        let mut calls = counter.lock().unwrap();
        *calls += 1;
        if *calls > 1 {
            return Err(injected());
        }
        let file = std::fs::OpenOptions::new()
            .create(true)
            .read(true)
            .append(true)
            .open(path)?;
        Ok(Box::new(file) as Box<dyn SegmentFile>)
    });
    let store = SegmentStore::open_with(
        &dir,
        SegmentOptions {
            segment_bytes: 1_000,
        },
        opener,
    )
    .unwrap();
    let (mut ledger, _) = Ledger::open(store, options().durability(Durability::Sync)).unwrap();
    let mut acknowledged = 0;
    let error = loop {
        match ledger.append(&payload(acknowledged)) {
            Ok(_) => acknowledged += 1,
            Err(error) => break error,
        }
    };
    assert!(
        matches!(
            error,
            LedgerError::Io {
                operation: "open segment",
                ..
            }
        ),
        "{error:?}"
    );
    assert!(matches!(
        ledger.append(&payload(99)),
        Err(LedgerError::WriterFailed { .. })
    ));
    drop(ledger);
    let (ledger, _) = Ledger::open(SegmentStore::open(&dir).unwrap(), options()).unwrap();
    assert_eq!(ledger.size(), acknowledged);
    crate::common::intact(ledger.store(), Some(&signer().verifier()));
}

#[test]
fn a_failed_record_names_the_ledger_collector_and_the_decision() {
    use whyline_core::{CoreError, TraceCollector};
    let tmp = tempfile::tempdir().unwrap();
    let armed = Arc::new(Mutex::new(None));
    let store = faulty_store(&tmp.path().join("log"), armed.clone());
    let (collector, _) =
        whyline_ledger::LedgerCollector::open(store, options().durability(Durability::Sync))
            .unwrap();
    collector.record(&crate::common::trace(0)).unwrap();
    *armed.lock().unwrap() = Some(Fault::SyncKeepsPages);
    let error = collector.record(&crate::common::trace(41)).unwrap_err();
    let CoreError::Collector {
        collector: name,
        sequence,
        source,
    } = &error
    else {
        panic!("CoreError::Collector, got {error:?}");
    };
    assert_eq!((*name, *sequence), ("ledger", Some(41)), "{error}");
    assert!(
        matches!(
            source.downcast_ref::<LedgerError>(),
            Some(LedgerError::Io {
                operation: "fsync",
                ..
            })
        ),
        "{source:?}"
    );
    assert_eq!(error.to_string(), "ledger collector failed on decision 41");
    let flushed = TraceCollector::<whyline_core::LinearPath>::flush(&collector).unwrap_err();
    assert!(
        matches!(
            flushed,
            CoreError::Collector {
                collector: "ledger",
                sequence: None,
                ..
            }
        ),
        "{flushed:?}"
    );
}

/// A store that runs its syncs outside itself ([`Store::begin_sync`] hands out a ticket over
/// a handle that fails) but keeps the trait's own [`Store::finish_sync`]: the failure it is
/// handed must still reach the writer.
#[derive(Debug)]
struct TicketOnlyStore {
    inner: whyline_ledger::MemoryStore,
}

/// A sync handle whose every sync fails.
struct FailingSync;

impl whyline_ledger::SyncHandle for FailingSync {
    fn sync_data(&self) -> std::io::Result<()> {
        Err(injected())
    }
}

impl whyline_ledger::Store for TicketOnlyStore {
    fn location(&self) -> &Path {
        self.inner.location()
    }
    fn len(&self) -> u64 {
        self.inner.len()
    }
    fn append(&mut self, bytes: &[u8]) -> whyline_ledger::Result<u64> {
        self.inner.append(bytes)
    }
    fn sync(&mut self) -> whyline_ledger::Result<()> {
        self.inner.sync()
    }
    fn durable_len(&self) -> u64 {
        self.inner.durable_len()
    }
    fn begin_sync(&mut self) -> whyline_ledger::Result<whyline_ledger::SyncTicket> {
        Ok(whyline_ledger::SyncTicket::new(
            self.inner.len(),
            Arc::new(FailingSync),
            "ticket-only".into(),
        ))
    }
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> whyline_ledger::Result<()> {
        self.inner.read_at(offset, buf)
    }
    fn truncate(&mut self, len: u64) -> whyline_ledger::Result<()> {
        self.inner.truncate(len)
    }
    fn append_side(
        &mut self,
        side: whyline_ledger::Side,
        bytes: &[u8],
        durable: bool,
    ) -> whyline_ledger::Result<()> {
        self.inner.append_side(side, bytes, durable)
    }
    fn read_side(&self, side: whyline_ledger::Side) -> whyline_ledger::Result<Vec<u8>> {
        self.inner.read_side(side)
    }
    fn truncate_side(
        &mut self,
        side: whyline_ledger::Side,
        len: u64,
    ) -> whyline_ledger::Result<()> {
        self.inner.truncate_side(side, len)
    }
}

#[test]
fn a_failed_sync_reaches_the_writer_through_the_default_finish_sync() {
    use whyline_core::TraceCollector;
    let store = TicketOnlyStore {
        inner: whyline_ledger::MemoryStore::new(),
    };
    let (collector, _) =
        whyline_ledger::LedgerCollector::open(store, options().durability(Durability::Sync))
            .unwrap();
    let error = collector.record(&crate::common::trace(0)).unwrap_err();
    assert!(error.to_string().contains("decision 0"), "{error}");
    assert_eq!(
        collector.durable_size(),
        0,
        "a failed sync made nothing durable"
    );
    assert!(
        TraceCollector::<whyline_core::LinearPath>::flush(&collector).is_err(),
        "the writer stopped"
    );
}
