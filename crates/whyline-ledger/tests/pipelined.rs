//! The pipelined ledger collector: the same log as the synchronous collector, byte for byte;
//! every caller's records in order; an idle partial batch reaches the ledger without a
//! flush; a failed append stops the sequencer and every later call says so; the collector
//! conformance suite.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use whyline_core::{AlertRecord, DecisionTrace, LinearPath, RecordOutcome, TraceCollector};
use whyline_ledger::collector::conformance::{self, Expectations};
use whyline_ledger::{
    Durability, Ledger, LedgerCollector, LedgerError, MemoryStore, PipelinedLedgerCollector,
    SegmentStore, Store,
};

use crate::common::{intact, options, payload, signer, trace};
use crate::faults::{Fault, faulty_store};

fn alert(sequence: u64) -> AlertRecord {
    AlertRecord {
        sequence,
        timestamp_ns: 10 + sequence,
        level: "warning".into(),
        kind: "low_confidence".into(),
        message: format!("decision {sequence} below the confidence floor"),
        details: serde_json::json!({ "confidence": 0.4 }),
    }
}

/// Every byte of a store.
fn bytes_of(store: &MemoryStore) -> Vec<u8> {
    let mut bytes = vec![0; store.len() as usize];
    store.read_at(0, &mut bytes).unwrap();
    bytes
}

/// Records the traces of `range`, with two alerts after every fifth, through `collector`.
fn record_workload(collector: &dyn TraceCollector<LinearPath>, range: std::ops::Range<u64>) {
    for i in range {
        if i % 5 == 4 {
            collector
                .record_with_alerts(&trace(i), &[alert(i), alert(i + 1000)])
                .unwrap();
        } else {
            collector.record(&trace(i)).unwrap();
        }
    }
}

/// Writes `preload` entries through a plain ledger, then records the workload of `n` traces
/// through the synchronous collector and through the pipelined one (flushing every
/// `flush_every` traces), and compares the two logs.
fn same_log(batch: usize, queue: usize, preload: u64, n: u64, flush_every: u64) {
    let ledger = || {
        let (mut ledger, _) = Ledger::open(MemoryStore::new(), options()).unwrap();
        for i in 0..preload {
            ledger.append(&payload(1_000_000 + i)).unwrap();
        }
        ledger
    };
    let synchronous = LedgerCollector::new(ledger());
    record_workload(&synchronous, 0..n);
    TraceCollector::<LinearPath>::flush(&synchronous).unwrap();
    let expected = synchronous.into_ledger().unwrap();

    let pipelined =
        PipelinedLedgerCollector::with_batch(LedgerCollector::new(ledger()), batch, queue).unwrap();
    for start in (0..n).step_by(flush_every as usize) {
        record_workload(&pipelined, start..(start + flush_every).min(n));
        pipelined.flush().unwrap();
    }
    assert_eq!(
        TraceCollector::<LinearPath>::len(&pipelined),
        preload + n + 2 * (n / 5)
    );
    let found = pipelined.close().unwrap().into_ledger().unwrap();

    let case = format!("batch {batch}, preload {preload}, flush every {flush_every}");
    assert_eq!(found.size(), expected.size(), "{case}");
    assert_eq!(found.root(), expected.root(), "{case}");
    assert_eq!(
        found.last_chain_hash(),
        expected.last_chain_hash(),
        "{case}"
    );
    assert!(
        bytes_of(found.store()) == bytes_of(expected.store()),
        "{case}: the logs differ"
    );
    intact(found.store(), Some(&signer().verifier()));
}

#[test]
fn the_pipelined_log_is_byte_for_byte_the_synchronous_one() {
    // Batches of 7 and a queue of 2: batches end inside an alert group, and callers wait.
    same_log(7, 2, 0, 1_000, 1_000);
    // Default batches, whose whole Merkle blocks the callers hash: from an empty log, with
    // flushes that leave partial batches (the next batches line up with the blocks again),
    // and from a log whose size is not a multiple of a block.
    let batch = PipelinedLedgerCollector::<MemoryStore>::DEFAULT_BATCH_ENTRIES;
    same_log(batch, 4, 0, 3_000, 3_000);
    same_log(batch, 4, 0, 3_000, 777);
    same_log(batch, 4, 100, 3_000, 1_500);
    same_log(256, 1, 255, 2_000, 2_000);
}

#[test]
fn every_callers_records_are_appended_once_and_in_order() {
    let collector = Arc::new(
        PipelinedLedgerCollector::with_batch(LedgerCollector::in_memory(options()).unwrap(), 16, 2)
            .unwrap(),
    );
    let threads: Vec<_> = (0..4u64)
        .map(|thread| {
            let collector = Arc::clone(&collector);
            std::thread::spawn(move || {
                for n in 0..500 {
                    let outcome = collector.record(&trace(thread * 10_000 + n)).unwrap();
                    assert_eq!(outcome, RecordOutcome::Queued);
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
    let collector = Arc::try_unwrap(collector).unwrap();
    let ledger = collector.close().unwrap().into_ledger().unwrap();
    assert_eq!(ledger.size(), 2_000);
    let mut next = [0u64; 4];
    for index in 0..ledger.size() {
        let entry: DecisionTrace<LinearPath> =
            whyline_core::from_aprt(&ledger.read_entry(index).unwrap().payload).unwrap();
        let (thread, n) = (entry.sequence / 10_000, entry.sequence % 10_000);
        assert_eq!(
            n, next[thread as usize],
            "thread {thread} out of order at {index}"
        );
        next[thread as usize] += 1;
    }
    assert_eq!(next, [500; 4]);
    intact(ledger.store(), Some(&signer().verifier()));
}

/// Waits (up to 10 s, for a loaded machine) until `collector` has appended `n` entries.
fn wait_for_appended(collector: &PipelinedLedgerCollector<MemoryStore>, n: u64) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while TraceCollector::<LinearPath>::len(collector) < n {
        assert!(
            Instant::now() < deadline,
            "the partial batch never arrived ({n})"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
}

#[test]
fn an_idle_partial_batch_reaches_the_ledger_without_a_flush() {
    let collector =
        PipelinedLedgerCollector::new(LedgerCollector::in_memory(options()).unwrap()).unwrap();
    for i in 0..3 {
        collector.record(&trace(i)).unwrap();
    }
    // The sequencer takes the partial batch after 2 ms without one.
    wait_for_appended(&collector, 3);
    assert_eq!(collector.backlog(), 0);
    // With nothing left it sleeps; the next record to start a batch wakes it.
    std::thread::sleep(Duration::from_millis(50));
    for i in 3..5 {
        collector.record(&trace(i)).unwrap();
    }
    wait_for_appended(&collector, 5);
    let ledger = collector.close().unwrap().into_ledger().unwrap();
    assert_eq!(ledger.read_entry(4).unwrap().payload, payload(4));
}

#[test]
fn dropping_the_collector_appends_and_commits_what_it_accepted() {
    let dir = tempfile::tempdir().unwrap();
    {
        let (ledger, _) = LedgerCollector::open(
            SegmentStore::open(dir.path()).unwrap(),
            options().durability(Durability::Sync),
        )
        .unwrap();
        let collector = PipelinedLedgerCollector::new(ledger).unwrap();
        for i in 0..10 {
            collector.record(&trace(i)).unwrap();
        }
    }
    let (ledger, report) =
        Ledger::open(SegmentStore::open(dir.path()).unwrap(), options()).unwrap();
    assert_eq!(report.torn_bytes, 0, "{report:?}");
    assert_eq!(ledger.size(), 10);
    assert_eq!(ledger.read_entry(9).unwrap().payload, payload(9));
}

#[test]
fn a_failed_append_stops_the_sequencer_and_every_later_call_says_so() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("log");
    let armed = Arc::new(Mutex::new(None));
    let store = faulty_store(&dir, armed.clone());
    let (mut ledger, _) = Ledger::open(store, options().durability(Durability::Sync)).unwrap();
    for i in 0..4 {
        ledger.append(&payload(i)).unwrap();
    }
    let collector =
        PipelinedLedgerCollector::with_batch(LedgerCollector::new(ledger), 4, 1).unwrap();
    collector.record(&trace(4)).unwrap();
    collector.flush().unwrap();
    *armed.lock().unwrap() = Some(Fault::WriteLosesAll);
    for i in 5..9 {
        // The fourth fills the batch; the sequencer's append of it fails.
        collector.record(&trace(i)).unwrap();
    }
    let error = collector.flush().unwrap_err();
    assert!(
        matches!(
            &error,
            LedgerError::Io {
                operation: "write",
                ..
            }
        ),
        "{error:?}"
    );
    *armed.lock().unwrap() = None;
    let again = collector.record(&trace(9)).unwrap_err();
    assert!(
        matches!(
            &again,
            whyline_core::CoreError::Collector { source, .. }
                if matches!(source.downcast_ref::<LedgerError>(), Some(LedgerError::SequencerStopped { lost: 4 }))
        ),
        "{again:?}"
    );
    assert_eq!(collector.backlog(), 4);
    drop(collector);
    let (ledger, _) = Ledger::open(SegmentStore::open(&dir).unwrap(), options()).unwrap();
    assert_eq!(ledger.size(), 5, "the acknowledged entries, no more");
    intact(ledger.store(), Some(&signer().verifier()));
}

#[test]
fn the_pipelined_collector_passes_the_collector_conformance_suite() {
    conformance::check_all(
        || {
            PipelinedLedgerCollector::with_batch(
                LedgerCollector::in_memory(options()).unwrap(),
                32,
                2,
            )
            .unwrap()
        },
        trace,
        Expectations::LOSSLESS,
    )
    .unwrap();
}
