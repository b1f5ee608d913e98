//! The ledger collector's two-buffer group commit (issue 17): appends fill the next batch
//! while the previous one is synced; a failure or a crash between the two buffers loses
//! nothing acknowledged durable; a decision and its alerts cost one fsync under `sync`.

use std::fs::File;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use whyline_core::{AlertRecord, RecordOutcome, TraceCollector};
use whyline_ledger::{
    Durability, Ledger, LedgerCollector, LedgerError, SegmentFile, SegmentOpener, SegmentOptions,
    SegmentStore, SyncHandle,
};

use crate::common::{options, payload, signer, trace};

/// What the test controls in every file of a store: a gate each fsync waits at, whether
/// fsyncs fail (dropping the unsynced pages, as a kernel may), and counters.
#[derive(Default)]
struct Control {
    /// `true` while fsyncs must wait.
    closed: Mutex<bool>,
    opened: Condvar,
    /// fsyncs that started (entered the gate).
    entered: AtomicU64,
    /// fsyncs that returned.
    syncs: AtomicU64,
    fail: AtomicBool,
}

impl Control {
    fn close(&self) {
        *self.closed.lock().unwrap() = true;
    }

    fn open(&self) {
        *self.closed.lock().unwrap() = false;
        self.opened.notify_all();
    }

    /// Waits until `n` fsyncs have started.
    fn wait_entered(&self, n: u64) {
        wait_for(
            || self.entered.load(Ordering::SeqCst) >= n,
            "an fsync to start",
        );
    }

    fn sync(&self, file: &File, synced_len: &AtomicU64) -> std::io::Result<()> {
        self.entered.fetch_add(1, Ordering::SeqCst);
        let mut closed = self.closed.lock().unwrap();
        while *closed {
            closed = self.opened.wait(closed).unwrap();
        }
        drop(closed);
        let result = if self.fail.load(Ordering::SeqCst) {
            // The kernel dropped the dirty pages: the file ends where the last sync left it.
            file.set_len(synced_len.load(Ordering::SeqCst))?;
            Err(std::io::Error::other("injected fsync failure"))
        } else {
            file.sync_data()?;
            synced_len.store(file.metadata()?.len(), Ordering::SeqCst);
            Ok(())
        };
        self.syncs.fetch_add(1, Ordering::SeqCst);
        result
    }
}

/// Polls `done` (the deadline only bounds a hang: no timing assertion).
fn wait_for(done: impl Fn() -> bool, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !done() {
        assert!(Instant::now() < deadline, "waited 20 s for {what}");
        std::thread::sleep(Duration::from_millis(1));
    }
}

struct GatedFile {
    inner: File,
    synced_len: Arc<AtomicU64>,
    control: Arc<Control>,
}

struct GatedSync {
    inner: File,
    synced_len: Arc<AtomicU64>,
    control: Arc<Control>,
}

impl SyncHandle for GatedSync {
    fn sync_data(&self) -> std::io::Result<()> {
        self.control.sync(&self.inner, &self.synced_len)
    }
}

impl SegmentFile for GatedFile {
    fn append_all(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        std::io::Write::write_all(&mut self.inner, bytes)
    }
    fn sync_data(&mut self) -> std::io::Result<()> {
        self.control.sync(&self.inner, &self.synced_len)
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
    fn sync_handle(&self) -> std::io::Result<Arc<dyn SyncHandle>> {
        Ok(Arc::new(GatedSync {
            inner: self.inner.try_clone()?,
            synced_len: Arc::clone(&self.synced_len),
            control: Arc::clone(&self.control),
        }))
    }
}

fn gated_store(dir: &Path, control: &Arc<Control>) -> SegmentStore {
    let control = Arc::clone(control);
    let opener: SegmentOpener = Box::new(move |path: &Path| {
        let inner = std::fs::OpenOptions::new()
            .create(true)
            .read(true)
            .append(true)
            .open(path)?;
        let synced_len = Arc::new(AtomicU64::new(inner.metadata()?.len()));
        Ok(Box::new(GatedFile {
            inner,
            synced_len,
            control: Arc::clone(&control),
        }) as Box<dyn SegmentFile>)
    });
    SegmentStore::open_with(dir, SegmentOptions::default(), opener).unwrap()
}

/// A collector over a gated store in `dir`, every record durable on return, no checkpoints.
fn gated_sync_collector(dir: &Path, control: &Arc<Control>) -> LedgerCollector<SegmentStore> {
    let store = gated_store(dir, control);
    LedgerCollector::open(
        store,
        options().durability(Durability::Sync).checkpoint_every(0),
    )
    .unwrap()
    .0
}

fn interval_of_4() -> Durability {
    Durability::Interval {
        entries: 4,
        max_delay: Duration::from_secs(3600),
    }
}

#[test]
fn appends_fill_the_next_batch_while_the_previous_one_is_synced() {
    let tmp = tempfile::tempdir().unwrap();
    let control = Arc::new(Control::default());
    let store = gated_store(&tmp.path().join("log"), &control);
    let (collector, _) = LedgerCollector::open(
        store,
        options().durability(interval_of_4()).checkpoint_every(0),
    )
    .unwrap();
    let before = control.entered.load(Ordering::SeqCst);
    control.close();
    for i in 0..4 {
        collector.record(&trace(i)).unwrap();
    }
    // The fourth entry woke the commit thread, whose fsync now waits at the gate ...
    control.wait_entered(before + 1);
    // ... while another thread appends the next batch, and waits for nothing (were the
    // fsync run under the ledger lock, these appends would wait at the closed gate).
    let collector = Arc::new(collector);
    let appender = {
        let collector = Arc::clone(&collector);
        std::thread::spawn(move || {
            for i in 4..8 {
                collector.record(&trace(i)).unwrap();
            }
        })
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    while !appender.is_finished() {
        if Instant::now() > deadline {
            control.open();
            panic!("appends waited for the fsync of the previous batch");
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    appender.join().unwrap();
    let Ok(collector) = Arc::try_unwrap(collector) else {
        panic!("the appender thread still holds the collector");
    };
    assert_eq!(
        collector.durable_size(),
        0,
        "nothing is durable before the sync returns"
    );
    assert_eq!(
        TraceCollector::<whyline_core::LinearPath>::len(&collector),
        8
    );
    control.open();
    // The first batch becomes durable, then the second (the thread was woken again).
    wait_for(
        || collector.durable_size() == 8,
        "both batches to be durable",
    );
    let ledger = collector.into_ledger().unwrap();
    crate::common::intact(ledger.store(), Some(&signer().verifier()));
    for i in 0..8 {
        assert_eq!(ledger.read_entry(i).unwrap().payload, payload(i));
    }
}

#[test]
fn a_crash_between_the_two_buffers_loses_only_what_was_not_acknowledged_durable() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("log");
    let control = Arc::new(Control::default());
    let store = gated_store(&dir, &control);
    let (collector, _) = LedgerCollector::open(
        store,
        options().durability(interval_of_4()).checkpoint_every(0),
    )
    .unwrap();
    // Batch A: synced.
    for i in 0..4 {
        collector.record(&trace(i)).unwrap();
    }
    wait_for(|| collector.durable_size() == 4, "batch A to be durable");
    // Batch B: its fsync starts and is held; batch C fills meanwhile.
    let before = control.entered.load(Ordering::SeqCst);
    control.close();
    for i in 4..8 {
        collector.record(&trace(i)).unwrap();
    }
    control.wait_entered(before + 1);
    for i in 8..10 {
        collector.record(&trace(i)).unwrap();
    }
    // The machine fails under B's fsync: the unsynced pages are gone, the sync errs.
    control.fail.store(true, Ordering::SeqCst);
    control.open();
    wait_for(
        || control.syncs.load(Ordering::SeqCst) > before,
        "B's fsync to return",
    );
    assert_eq!(
        collector.durable_size(),
        4,
        "B was never acknowledged durable"
    );
    // The writer stopped: no blind retry, every later call reports it.
    let error = loop {
        match collector.append(&trace(10)) {
            Ok(_) => std::thread::sleep(Duration::from_millis(1)),
            Err(error) => break error,
        }
    };
    assert!(
        matches!(
            error,
            LedgerError::WriterFailed {
                operation: "fsync",
                ..
            }
        ),
        "{error:?}"
    );
    assert!(TraceCollector::<whyline_core::LinearPath>::flush(&collector).is_err());
    drop(collector);
    // Reopen without faults: A is whole, the log verifies, nothing after it survived.
    let (ledger, _) = Ledger::open(SegmentStore::open(&dir).unwrap(), options()).unwrap();
    crate::common::intact(ledger.store(), Some(&signer().verifier()));
    assert_eq!(ledger.size(), 4);
    for i in 0..4 {
        assert_eq!(ledger.read_entry(i).unwrap().payload, payload(i));
    }
}

#[test]
fn a_checkpoint_due_during_a_sync_waits_for_its_entries_and_holds_up_no_append() {
    let tmp = tempfile::tempdir().unwrap();
    let control = Arc::new(Control::default());
    let store = gated_store(&tmp.path().join("log"), &control);
    let (collector, _) = LedgerCollector::open(
        store,
        options().durability(interval_of_4()).checkpoint_every(4),
    )
    .unwrap();
    let checkpoint_sizes = |collector: &LedgerCollector<SegmentStore>| {
        collector
            .with_ledger(|l| {
                l.checkpoints()
                    .iter()
                    .map(|c| c.checkpoint.size)
                    .collect::<Vec<_>>()
            })
            .unwrap()
    };
    let before = control.entered.load(Ordering::SeqCst);
    control.close();
    // Eight appends make two checkpoints due while the first batch's fsync is held at the
    // gate. Were a checkpoint signed as it fell due, it would first sync the log under the
    // ledger's lock: these appends would wait at the gate.
    let collector = Arc::new(collector);
    let appender = {
        let collector = Arc::clone(&collector);
        std::thread::spawn(move || {
            for i in 0..8 {
                collector.record(&trace(i)).unwrap();
            }
        })
    };
    control.wait_entered(before + 1);
    let deadline = Instant::now() + Duration::from_secs(20);
    while !appender.is_finished() {
        if Instant::now() > deadline {
            control.open();
            panic!("appends waited for a checkpoint's sync");
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    appender.join().unwrap();
    let Ok(collector) = Arc::try_unwrap(collector) else {
        panic!("the appender thread still holds the collector");
    };
    assert_eq!(collector.durable_size(), 0);
    assert_eq!(
        checkpoint_sizes(&collector),
        Vec::<u64>::new(),
        "no checkpoint is signed over entries that are not durable"
    );
    control.open();
    wait_for(
        || collector.durable_size() == 8,
        "both batches to be durable",
    );
    wait_for(
        || checkpoint_sizes(&collector).len() == 2,
        "the two due checkpoints to be signed",
    );
    assert_eq!(
        checkpoint_sizes(&collector),
        vec![4, 8],
        "each checkpoint covers the log as it stood when it fell due"
    );
    let ledger = collector.into_ledger().unwrap();
    // Each checkpoint's root is the log's root at its size, and its signature verifies.
    let report = crate::common::intact(ledger.store(), Some(&signer().verifier()));
    assert_eq!((report.entries, report.checkpoints), (8, 2));
    for stored in ledger.checkpoints() {
        let size = stored.checkpoint.size;
        let leaves: Vec<_> = (0..size)
            .map(|i| whyline_ledger::leaf_hash(&ledger.read_entry(i).unwrap().payload))
            .collect();
        assert_eq!(
            stored.checkpoint.root,
            whyline_ledger::root_from_leaf_hashes(&leaves),
            "root at size {size}"
        );
    }
}

fn alert(sequence: u64, kind: &str) -> AlertRecord {
    AlertRecord {
        sequence,
        timestamp_ns: trace(sequence).timestamp_ns,
        level: "yellow".into(),
        kind: kind.into(),
        message: format!("{kind} on decision {sequence}"),
        details: serde_json::Value::Null,
    }
}

#[test]
fn a_decision_and_its_alerts_are_durable_with_one_fsync_under_sync() {
    let tmp = tempfile::tempdir().unwrap();
    let control = Arc::new(Control::default());
    let collector = gated_sync_collector(&tmp.path().join("log"), &control);
    let storm: Vec<AlertRecord> = ["low_confidence", "latency", "out_of_distribution", "drift"]
        .iter()
        .map(|kind| alert(0, kind))
        .collect();
    let before = control.syncs.load(Ordering::SeqCst);
    let outcome = TraceCollector::record_with_alerts(&collector, &trace(0), &storm).unwrap();
    assert_eq!(
        control.syncs.load(Ordering::SeqCst) - before,
        1,
        "one fsync for a decision and its four alerts"
    );
    assert_eq!(
        outcome,
        RecordOutcome::Appended {
            index: 0,
            leaf_hash: whyline_ledger::leaf_hash(&payload(0)),
        }
    );
    assert_eq!(collector.durable_size(), 5, "all five durable on return");
    // The same storm alert by alert costs one fsync each.
    let before = control.syncs.load(Ordering::SeqCst);
    collector.record(&trace(1)).unwrap();
    for kind in ["low_confidence", "latency", "out_of_distribution", "drift"] {
        collector.append_alert(&alert(1, kind)).unwrap();
    }
    assert_eq!(control.syncs.load(Ordering::SeqCst) - before, 5);
    let ledger = collector.into_ledger().unwrap();
    crate::common::intact(ledger.store(), None);
    let entries: Vec<Vec<u8>> = (0..5)
        .map(|i| ledger.read_entry(i).unwrap().payload)
        .collect();
    assert_eq!(entries[0], payload(0), "the decision comes first");
    for (entry, alert) in entries[1..].iter().zip(&storm) {
        assert_eq!(entry, &alert.to_bytes(), "then its alerts, in order");
    }
}

/// Under `sync`, a caller whose sealed input waits for its fsync must not hold up another
/// caller's sealed decision: the second is appended while the first one's fsync waits, and
/// the next commit covers it (the sealer's lock is not held across the wait for durability).
/// The first caller seals its input in its decision's entry, or (the first layout) in an
/// entry of its own.
#[test]
fn a_sealed_input_waiting_for_its_fsync_holds_up_no_other_sealed_decision() {
    for own_entry in [false, true] {
        a_second_sealed_decision_goes_on_while_the_first_waits(own_entry);
    }
}

fn a_second_sealed_decision_goes_on_while_the_first_waits(own_entry: bool) {
    use whyline_core::InputEvidence;
    use whyline_ledger::seal::{KeyStore, Sealer};
    let tmp = tempfile::tempdir().unwrap();
    let control = Arc::new(Control::default());
    let collector = gated_sync_collector(&tmp.path().join("log"), &control);
    let keys = KeyStore::create(&KeyStore::default_path(tmp.path())).unwrap();
    collector.set_sealer(Sealer::new(keys).unwrap()).unwrap();
    let collector = Arc::new(collector);
    let values = [0.5f32, -1.0];
    let seal_from_a_thread = |i: u64, subject: &'static str, own_entry: bool| {
        let collector = Arc::clone(&collector);
        std::thread::spawn(move || {
            let input = InputEvidence {
                decision_index: 0,
                trace_hash: [0; 32],
                timestamp_ns: 0,
                subject: Some(subject),
                values: &values,
                context: &[],
            };
            if own_entry {
                collector.append_input(&input).unwrap()
            } else {
                collector.append_with_input(&trace(i), &input).unwrap()
            }
        })
    };
    let before = control.entered.load(Ordering::SeqCst);
    control.close();
    let first = seal_from_a_thread(0, "alice", own_entry);
    control.wait_entered(before + 1);
    // The first one's fsync waits at the gate; the second is appended meanwhile.
    let second = seal_from_a_thread(1, "bob", false);
    let deadline = Instant::now() + Duration::from_secs(20);
    while TraceCollector::<whyline_core::LinearPath>::len(&*collector) < 2 {
        if Instant::now() > deadline {
            control.open();
            panic!("the second sealed decision waited for the first one's fsync ({own_entry})");
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    assert_eq!(collector.durable_size(), 0);
    control.open();
    let receipts = [first.join().unwrap(), second.join().unwrap()];
    assert_eq!(receipts.map(|r| r.index), [0, 1]);
    assert_eq!(collector.durable_size(), 2, "both durable on return");
}
