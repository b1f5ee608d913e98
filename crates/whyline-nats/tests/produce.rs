//! `produce` (the body of `whyline produce`) against a private server, and `audit_log` (the
//! end-to-end test's exactly-once check) over logs written by hand with every fault it
//! counts.

use std::path::Path;
use std::time::Duration;

use whyline_core::to_aprt;
use whyline_ledger::collector::Backpressure;
use whyline_ledger::{Durability, LedgerCollector, LedgerOptions, SegmentStore};
use whyline_nats::{
    Mark, NatsError, ProduceReport, ProducerAudit, ProducerId, Topology, audit_log, produce,
    synthetic_trace,
};

use crate::sequencing::{assert_exactly_once, open_sequencer, sequence_until};
use crate::support::NatsServer;

#[test]
fn produce_publishes_every_decision_and_the_sequenced_log_holds_each_once_in_order() {
    let server = NatsServer::start();
    let topology = Topology::new("PRODUCE").unwrap();
    let p1 = ProducerId::new("p1").unwrap();
    let p2 = ProducerId::new("p2").unwrap();
    let first = produce(&server.url(), &topology, &p1, 2500, Backpressure::Block).unwrap();
    let second = produce(&server.url(), &topology, &p2, 300, Backpressure::Block).unwrap();
    let ProduceReport {
        recorded,
        dropped,
        published,
        batches,
        retries,
        duplicates,
        elapsed,
    } = first;
    assert_eq!(
        (recorded, dropped, published, retries, duplicates),
        (2500, 0, 2500, 0, 0)
    );
    // Batches of at most 1024 records: at least three, at most one per record.
    assert!((3..=2500).contains(&batches), "{first:?}");
    assert!(elapsed > Duration::ZERO);
    assert_eq!((second.recorded, second.published), (300, 300));
    let dir = tempfile::tempdir().unwrap();
    let mut sequencer = open_sequencer(dir.path(), &topology);
    let stats = sequence_until(
        &mut sequencer,
        &server.url(),
        2800,
        Duration::from_millis(300),
    );
    assert_eq!(stats.decisions, 2800);
    assert_eq!(stats.batches, first.batches + second.batches, "{stats:?}");
    drop(sequencer);
    assert_exactly_once(dir.path(), &[(&p1, 2500), (&p2, 300)]);
}

#[test]
fn produce_to_an_address_that_is_not_a_url_is_a_connect_error_naming_it() {
    let topology = Topology::new("NOWHERE").unwrap();
    let p1 = ProducerId::new("p1").unwrap();
    let error = produce("nats://[::1", &topology, &p1, 1, Backpressure::Block).unwrap_err();
    let NatsError::Connect { url, message } = &error else {
        panic!("expected a connect error, found {error:?}");
    };
    assert_eq!(url, "nats://[::1");
    assert!(!message.is_empty());
    assert!(
        error
            .to_string()
            .starts_with("connecting to NATS at nats://[::1: "),
        "{error}"
    );
}

/// A ledger in `dir` holding `payloads`, one entry each, in order.
fn ledger_of(dir: &Path, payloads: &[Vec<u8>]) -> SegmentStore {
    let options = LedgerOptions::without_checkpoints("test/nats").durability(Durability::Sync);
    let (collector, _) = LedgerCollector::open(SegmentStore::open(dir).unwrap(), options).unwrap();
    collector
        .append_batch(payloads.iter().map(Vec::as_slice))
        .unwrap();
    drop(collector);
    SegmentStore::open_existing(dir).unwrap()
}

fn mark(producer: &ProducerId, batch: u64) -> Vec<u8> {
    Mark {
        producer: producer.clone(),
        batch,
        first_record: 0,
        records: 1,
        batch_records: 1,
    }
    .to_bytes()
}

fn decision(producer: &ProducerId, sequence: u64) -> Vec<u8> {
    to_aprt(&synthetic_trace(producer, sequence))
}

#[test]
fn the_audit_counts_unattributed_duplicate_missing_and_out_of_order_decisions() {
    let dir = tempfile::tempdir().unwrap();
    let p1 = ProducerId::new("p1").unwrap();
    let p2 = ProducerId::new("p2").unwrap();
    let store = ledger_of(
        dir.path(),
        &[
            decision(&p1, 0), // before any mark: unattributed
            mark(&p1, 0),
            decision(&p1, 0),
            decision(&p1, 1),
            decision(&p1, 1), // a duplicate, out of order
            decision(&p1, 3), // out of order (2 expected)
            decision(&p1, 7), // out of order, and past the expected count
            b"neither a mark nor a decision".to_vec(),
            mark(&p2, 0),
            decision(&p2, 0),
        ],
    );
    let (audits, unattributed) = audit_log(&store, 5).unwrap();
    assert_eq!(unattributed, 1);
    assert_eq!(
        audits.get(&p1),
        Some(&ProducerAudit {
            decisions: 5,
            duplicates: 1,
            missing: 2, // 2 and 4
            out_of_order: 4,
        })
    );
    assert_eq!(
        audits.get(&p2),
        Some(&ProducerAudit {
            decisions: 1,
            duplicates: 0,
            missing: 4,
            out_of_order: 0,
        })
    );
    assert_eq!(audits.len(), 2);
}

#[test]
fn the_audit_refuses_a_malformed_mark_naming_its_entry() {
    let dir = tempfile::tempdir().unwrap();
    let p1 = ProducerId::new("p1").unwrap();
    let mut short = mark(&p1, 0);
    short.truncate(20);
    let store = ledger_of(dir.path(), &[mark(&p1, 0), decision(&p1, 0), short]);
    let error = audit_log(&store, 1).unwrap_err();
    assert!(
        matches!(
            error,
            NatsError::BadMark {
                index: 2,
                reason: "shorter than its header"
            }
        ),
        "{error:?}"
    );
    assert_eq!(
        error.to_string(),
        "ledger entry 2: malformed sequencer mark: shorter than its header"
    );
}

#[test]
fn the_audit_refuses_a_decision_that_does_not_decode() {
    let dir = tempfile::tempdir().unwrap();
    let p1 = ProducerId::new("p1").unwrap();
    let mut cut = decision(&p1, 0);
    cut.truncate(12);
    let store = ledger_of(dir.path(), &[mark(&p1, 0), cut]);
    let error = audit_log(&store, 1).unwrap_err();
    let NatsError::JetStream { operation, .. } = &error else {
        panic!("expected a decoding error, found {error:?}");
    };
    assert_eq!(*operation, "decoding a decision");
}
