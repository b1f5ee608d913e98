//! The hash-chain collector through `TraceCollector`, durability receipts, the time index,
//! and proofs from a ledger's own checkpoints.

use std::time::Duration;

use whyline_core::{LinearPath, RecordOutcome, TraceCollector, from_aprt};
use whyline_ledger::collector::conformance::{self, Expectations};
use whyline_ledger::{
    Checkpoint, Durability, Ledger, LedgerCollector, MemoryStore, SegmentStore, TIME_INDEX_FILE,
    consistency_proof, inclusion_proof, leaf_hash, verify_consistency, verify_inclusion,
};

use crate::common::{options, payload, signer, trace};

#[test]
fn the_ledger_collector_passes_the_collector_conformance_suite() {
    conformance::check_all(
        || LedgerCollector::in_memory(options()).unwrap(),
        trace,
        Expectations::LOSSLESS,
    )
    .unwrap();
}

#[test]
fn record_returns_the_leaf_index_and_the_rfc6962_leaf_hash_of_the_aprt_bytes() {
    let collector = LedgerCollector::in_memory(options()).unwrap();
    for i in 0..10 {
        let outcome = collector.record(&trace(i)).unwrap();
        assert_eq!(
            outcome,
            RecordOutcome::Appended {
                index: i,
                leaf_hash: leaf_hash(&payload(i))
            }
        );
    }
    assert_eq!(TraceCollector::<LinearPath>::len(&collector), 10);
    let ledger = collector.into_ledger().unwrap();
    let back: whyline_core::DecisionTrace<LinearPath> =
        from_aprt(&ledger.read_entry(7).unwrap().payload).unwrap();
    assert_eq!(back, trace(7));
}

#[test]
fn interval_durability_commits_in_groups_and_on_flush() {
    let options = options().durability(Durability::Interval {
        entries: 4,
        max_delay: Duration::from_secs(3600),
    });
    let dir = tempfile::tempdir().unwrap();
    let (collector, _) =
        LedgerCollector::open(SegmentStore::open(dir.path()).unwrap(), options).unwrap();
    let durable = |c: &LedgerCollector<SegmentStore>| c.with_ledger(|l| l.durable_size()).unwrap();
    for i in 0..3 {
        collector.record(&trace(i)).unwrap();
    }
    assert_eq!(durable(&collector), 0);
    collector.record(&trace(3)).unwrap();
    // The fourth entry wakes the commit thread, which syncs the group in the background
    // (poll: the deadline only bounds a hang).
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while collector.durable_size() < 4 {
        assert!(
            std::time::Instant::now() < deadline,
            "the group was never committed"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
    assert_eq!(durable(&collector), 4);
    collector.record(&trace(4)).unwrap();
    std::thread::sleep(Duration::from_millis(20));
    assert_eq!(durable(&collector), 4, "a group of one is not due");
    TraceCollector::<LinearPath>::flush(&collector).unwrap();
    assert_eq!(durable(&collector), 5);
}

#[test]
fn a_time_window_is_found_through_the_sparse_index() {
    let dir = tempfile::tempdir().unwrap();
    let options = || options().checkpoint_every(0);
    let (mut ledger, _) = Ledger::open(SegmentStore::open(dir.path()).unwrap(), options()).unwrap();
    for i in 0..2500 {
        ledger.append(&payload(i)).unwrap();
    }
    // trace(i) is stamped 1.7e18 + i µs: ask for entries 1500..=1510 and 2400..=2499.
    let base = 1_700_000_000_000_000_000u64;
    let window = ledger
        .entries_between(base + 1500 * 1000, base + 1510 * 1000)
        .unwrap();
    let sequences: Vec<u64> = window.iter().map(|e| e.index).collect();
    assert_eq!(sequences, (1500..=1510).collect::<Vec<_>>());
    assert_eq!(
        ledger
            .index_blocks(base + 1500 * 1000, base + 1510 * 1000)
            .len(),
        1
    );
    let tail = ledger
        .entries_between(base + 2400 * 1000, u64::MAX)
        .unwrap();
    assert_eq!(tail.len(), 100);
    // The index is derived data: deleted, it is rebuilt on open.
    ledger.commit().unwrap();
    drop(ledger);
    std::fs::remove_file(dir.path().join(TIME_INDEX_FILE)).unwrap();
    let (ledger, report) =
        Ledger::open(SegmentStore::open(dir.path()).unwrap(), options()).unwrap();
    assert!(report.index_rebuilt);
    assert_eq!(
        std::fs::metadata(dir.path().join(TIME_INDEX_FILE))
            .unwrap()
            .len(),
        2 * 32
    );
    assert_eq!(
        ledger
            .entries_between(base + 1500 * 1000, base + 1510 * 1000)
            .unwrap()
            .len(),
        11
    );
}

#[test]
fn proofs_verify_against_the_ledgers_signed_checkpoints() {
    let (mut ledger, _) = Ledger::open(MemoryStore::new(), options()).unwrap();
    for i in 0..37 {
        ledger.append(&payload(i)).unwrap();
    }
    ledger.checkpoint().unwrap();
    let verifier = signer().verifier();
    let checkpoints: Vec<Checkpoint> = ledger
        .checkpoints()
        .iter()
        .map(|c| Checkpoint::verify(&c.note, &verifier).unwrap())
        .collect();
    let latest = checkpoints.last().unwrap();
    assert_eq!((latest.size, latest.root), (37, ledger.root()));
    let tree = ledger.merkle_tree().unwrap();
    for seq in [0, 17, 36] {
        let proof = inclusion_proof(&tree, seq, latest.size).unwrap();
        verify_inclusion(
            &leaf_hash(&payload(seq)),
            seq,
            latest.size,
            &proof,
            &latest.root,
        )
        .unwrap();
    }
    let older = &checkpoints[1];
    let proof = consistency_proof(&tree, older.size, latest.size).unwrap();
    verify_consistency(older.size, latest.size, &older.root, &latest.root, &proof).unwrap();
}

#[test]
fn an_hmac_keyed_ledger_verifies_with_its_secret_only() {
    let signer = whyline_ledger::NoteSigner::hmac("whyline.test/hmac", &[5u8; 32]).unwrap();
    let options = whyline_ledger::LedgerOptions::signed("whyline.test/hmac", signer.clone())
        .durability(Durability::None)
        .checkpoint_every(4);
    let (mut ledger, _) = Ledger::open(MemoryStore::new(), options).unwrap();
    for i in 0..10 {
        ledger.append(&payload(i)).unwrap();
    }
    let store = ledger.into_store().unwrap();
    let report = crate::common::intact(&store, Some(&signer.verifier()));
    assert_eq!(report.checkpoints, 2);
    // Same name, another secret: its key id differs, so no signature of its own is found.
    let other = whyline_ledger::NoteSigner::hmac("whyline.test/hmac", &[6u8; 32]).unwrap();
    let error = crate::common::damage(&store, Some(&other.verifier()));
    assert!(
        matches!(error.kind, whyline_ledger::CorruptionKind::SignatureInvalid),
        "{error:?}"
    );
}

#[test]
fn a_checkpoint_interval_of_zero_checkpoints_every_append() {
    let options = options()
        .checkpoint_every(0)
        .checkpoint_interval(Duration::ZERO);
    let (mut ledger, _) = Ledger::open(MemoryStore::new(), options).unwrap();
    for i in 0..3 {
        ledger.append(&payload(i)).unwrap();
    }
    let sizes: Vec<u64> = ledger
        .checkpoints()
        .iter()
        .map(|c| c.checkpoint.size)
        .collect();
    assert_eq!(sizes, vec![1, 2, 3]);
}

#[test]
fn the_timer_thread_commits_a_pending_group_without_another_append() {
    let options = options().durability(Durability::Interval {
        entries: 1_000,
        max_delay: Duration::from_millis(5),
    });
    let dir = tempfile::tempdir().unwrap();
    let (collector, _) =
        LedgerCollector::open(SegmentStore::open(dir.path()).unwrap(), options).unwrap();
    for i in 0..3 {
        collector.record(&trace(i)).unwrap();
    }
    // No more appends: only the timer can commit. Poll (no timing assertion: the deadline is
    // generous and only bounds a hang).
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while collector.with_ledger(|l| l.durable_size()).unwrap() < 3 {
        assert!(
            std::time::Instant::now() < deadline,
            "the timer never committed"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
    let ledger = collector.into_ledger().unwrap();
    assert_eq!(ledger.durable_size(), 3);
}

#[test]
fn concurrent_records_get_unique_sequences_and_the_log_verifies() {
    let collector = LedgerCollector::in_memory(options().checkpoint_every(64)).unwrap();
    let indices: Vec<u64> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..4u64)
            .map(|t| {
                let collector = &collector;
                scope.spawn(move || {
                    (0..200u64)
                        .map(|i| match collector.record(&trace(t * 1_000 + i)).unwrap() {
                            RecordOutcome::Appended { index, .. } => index,
                            other => panic!("expected Appended, got {other:?}"),
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    let mut sorted = indices.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, (0..800).collect::<Vec<_>>());
    let ledger = collector.into_ledger().unwrap();
    let report = crate::common::intact(ledger.store(), Some(&signer().verifier()));
    assert_eq!(report.entries, 800);
}

/// A file that counts its fsyncs.
struct CountingFile {
    inner: std::fs::File,
    syncs: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

impl whyline_ledger::SegmentFile for CountingFile {
    fn append_all(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        std::io::Write::write_all(&mut self.inner, bytes)
    }
    fn sync_data(&mut self) -> std::io::Result<()> {
        self.syncs
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.inner.sync_data()
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
    fn sync_handle(&self) -> std::io::Result<std::sync::Arc<dyn whyline_ledger::SyncHandle>> {
        Ok(std::sync::Arc::new(CountingSync {
            inner: self.inner.try_clone()?,
            syncs: self.syncs.clone(),
        }))
    }
}

/// The counting file's sync handle: its fsyncs count too.
struct CountingSync {
    inner: std::fs::File,
    syncs: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

impl whyline_ledger::SyncHandle for CountingSync {
    fn sync_data(&self) -> std::io::Result<()> {
        self.syncs
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.inner.sync_data()
    }
}

#[test]
fn sync_records_from_many_threads_are_durable_on_return_and_share_fsyncs() {
    let dir = tempfile::tempdir().unwrap();
    let syncs = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let counter = syncs.clone();
    let opener: whyline_ledger::SegmentOpener = Box::new(move |path: &std::path::Path| {
        let inner = std::fs::OpenOptions::new()
            .create(true)
            .read(true)
            .append(true)
            .open(path)?;
        Ok(Box::new(CountingFile {
            inner,
            syncs: counter.clone(),
        }) as Box<dyn whyline_ledger::SegmentFile>)
    });
    let store = SegmentStore::open_with(
        dir.path(),
        whyline_ledger::SegmentOptions::default(),
        opener,
    )
    .unwrap();
    let (collector, _) = LedgerCollector::open(
        store,
        options().durability(Durability::Sync).checkpoint_every(0),
    )
    .unwrap();
    let header_syncs = syncs.load(std::sync::atomic::Ordering::Relaxed);
    std::thread::scope(|scope| {
        for t in 0..4u64 {
            let collector = &collector;
            scope.spawn(move || {
                for i in 0..25u64 {
                    let receipt = collector.append(&trace(t * 100 + i)).unwrap();
                    let durable = collector.with_ledger(|l| l.durable_size()).unwrap();
                    assert!(
                        durable > receipt.index,
                        "entry {} returned before durable",
                        receipt.index
                    );
                }
            });
        }
    });
    let entry_syncs = syncs.load(std::sync::atomic::Ordering::Relaxed) - header_syncs;
    assert!(entry_syncs <= 100, "{entry_syncs} fsyncs for 100 entries");
    let ledger = collector.into_ledger().unwrap();
    assert_eq!(ledger.durable_size(), 100);
    crate::common::intact(ledger.store(), None);
}
