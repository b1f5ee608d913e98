//! The sink, the sequencer and the receipts against a private JetStream server.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use async_nats::jetstream::{self, consumer::pull};
use futures_util::StreamExt;
use whyline_core::{AnyPath, LinearPath, TraceCollector, decode_aprt_prefix};
use whyline_ledger::collector::{Backpressure, StreamCollectorBuilder, StreamFormat};
use whyline_ledger::{
    Durability, LedgerCollector, LedgerOptions, SegmentStore, VerifyOutcome, leaf_hash,
    verify_store,
};
use whyline_nats::{
    BatchHeader, Delivered, JetStreamSinkBuilder, ProducerId, ReceiptReader, SEQUENCER_CONSUMER,
    Sequencer, SequencerOptions, SequencerStats, Topology, audit_log, synthetic_trace,
};

use crate::support::NatsServer;

fn logs() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            std::env::var("RUST_LOG").unwrap_or_else(|_| "warn,whyline_nats=debug".into()),
        )
        .with_test_writer()
        .try_init();
}

pub(crate) fn runtime() -> tokio::runtime::Runtime {
    logs();
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

pub(crate) fn open_sequencer(dir: &Path, topology: &Topology) -> Sequencer<SegmentStore> {
    let options = LedgerOptions::without_checkpoints("test/nats").durability(Durability::Sync);
    let (collector, _) = LedgerCollector::open(SegmentStore::open(dir).unwrap(), options).unwrap();
    Sequencer::new(collector, topology.clone(), SequencerOptions::default()).unwrap()
}

/// Runs the sequencer until the log holds `target` decisions and then `settle` more, so
/// that anything still to be delivered (a duplicate) is seen.
pub(crate) fn sequence_until(
    sequencer: &mut Sequencer<SegmentStore>,
    url: &str,
    target: u64,
    settle: Duration,
) -> SequencerStats {
    let durable = sequencer.durable_decisions();
    let rt = runtime();
    rt.block_on(sequencer.run(url, wait_for(durable, target, settle)))
        .unwrap()
}

pub(crate) async fn wait_for(durable: Arc<AtomicU64>, target: u64, settle: Duration) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while durable.load(Ordering::Acquire) < target {
        assert!(
            Instant::now() < deadline,
            "the log holds {} decisions after 60 s, expected {target}",
            durable.load(Ordering::Acquire)
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(settle).await;
}

/// Records `range` of `producer`'s decisions through a stream collector on a JetStream
/// sink starting at batch `first_batch`; returns (published, duplicates, retries).
pub(crate) fn publish(
    url: &str,
    topology: &Topology,
    producer: &ProducerId,
    range: std::ops::Range<u64>,
    first_batch: u64,
    batch_records: usize,
) -> (u64, u64, u64) {
    let sink = JetStreamSinkBuilder::new(url, topology.clone(), producer.clone())
        .first_batch(first_batch)
        .build()
        .unwrap();
    let counters = sink.counters();
    let collector = StreamCollectorBuilder::new(StreamFormat::Aprt)
        .capacity(batch_records * 8)
        .batch_records(batch_records)
        .build_batches::<LinearPath>(sink)
        .unwrap();
    for sequence in range {
        collector
            .record(&synthetic_trace(producer, sequence))
            .unwrap();
    }
    collector.close().unwrap();
    (
        counters.records(),
        counters.duplicates(),
        counters.retries(),
    )
}

pub(crate) fn assert_exactly_once(dir: &Path, producers: &[(&ProducerId, u64)]) {
    let store = SegmentStore::open_existing(dir).unwrap();
    let outcome = verify_store(&store, None).unwrap();
    assert!(matches!(outcome, VerifyOutcome::Intact(_)), "{outcome:?}");
    for (producer, expected) in producers {
        let (audits, unattributed) = audit_log(&store, *expected).unwrap();
        assert_eq!(unattributed, 0);
        let audit = audits.get(*producer).unwrap();
        assert_eq!(
            (
                audit.decisions,
                audit.duplicates,
                audit.missing,
                audit.out_of_order
            ),
            (*expected, 0, 0, 0),
            "producer {producer}"
        );
    }
}

#[test]
fn a_resent_batch_is_dropped_by_jetstream_and_a_late_resend_by_the_sequencer() {
    let server = NatsServer::start();
    let topology = Topology::new("DEDUP").unwrap();
    let producer = ProducerId::new("p1").unwrap();
    let (published, duplicates, _) = publish(&server.url(), &topology, &producer, 0..100, 0, 100);
    assert_eq!((published, duplicates), (100, 0));
    // The same batch again (same message id): JetStream's duplicate window drops it.
    let (_, duplicates, _) = publish(&server.url(), &topology, &producer, 0..100, 0, 100);
    assert_eq!(duplicates, 1, "JetStream reports the resend as a duplicate");
    // A resend after the window (a new message id, same producer and batch): the
    // sequencer's high-water mark drops it.
    let rt = runtime();
    rt.block_on(async {
        let client = async_nats::connect(server.url()).await.unwrap();
        let js = jetstream::new(client);
        let mut headers = async_nats::HeaderMap::new();
        for (name, value) in [
            ("Nats-Msg-Id", "p1:0:late"),
            ("Whyline-Producer", "p1"),
            ("Whyline-Batch", "0"),
            ("Whyline-Records", "100"),
            ("Whyline-Format", "aprt-v1"),
        ] {
            headers.insert(name, value);
        }
        let body: Vec<u8> = (0..100)
            .flat_map(|s| whyline_core::to_aprt(&synthetic_trace(&producer, s)))
            .collect();
        js.publish_with_headers(topology.subject(), headers, body.into())
            .await
            .unwrap()
            .await
            .unwrap();
    });
    let dir = tempfile::tempdir().unwrap();
    let mut sequencer = open_sequencer(dir.path(), &topology);
    let stats = sequence_until(
        &mut sequencer,
        &server.url(),
        100,
        Duration::from_millis(500),
    );
    assert_eq!((stats.decisions, stats.duplicates), (100, 1), "{stats:?}");
    drop(sequencer);
    assert_exactly_once(dir.path(), &[(&producer, 100)]);
}

#[test]
fn a_sequencer_that_dies_between_append_and_ack_appends_nothing_twice_on_restart() {
    let server = NatsServer::start();
    let topology = Topology::new("CRASH").unwrap();
    let producer = ProducerId::new("p1").unwrap();
    publish(&server.url(), &topology, &producer, 0..3000, 0, 500);
    let dir = tempfile::tempdir().unwrap();
    // First life: take the six batches, append them durably, die before acknowledging.
    let mut first = open_sequencer(dir.path(), &topology);
    let rt = runtime();
    let appended = rt.block_on(async {
        let js = jetstream::new(async_nats::connect(server.url()).await.unwrap());
        let stream = topology.ensure_streams(&js).await.unwrap();
        let consumer: jetstream::consumer::PullConsumer = stream
            .create_consumer(pull::Config {
                durable_name: Some(SEQUENCER_CONSUMER.to_owned()),
                ack_policy: jetstream::consumer::AckPolicy::Explicit,
                ..Default::default()
            })
            .await
            .unwrap();
        let mut batch = consumer
            .fetch()
            .max_messages(6)
            .expires(Duration::from_secs(2))
            .messages()
            .await
            .unwrap();
        let mut messages = Vec::new();
        while let Some(message) = batch.next().await {
            messages.push(message.unwrap());
        }
        let delivered: Vec<Delivered<'_>> = messages
            .iter()
            .map(|m| Delivered {
                header: BatchHeader::from_headers(m.headers.as_ref()),
                body: &m.payload,
            })
            .collect();
        tokio::task::block_in_place(|| first.append_round(&delivered)).unwrap()
    });
    assert_eq!(appended.receipts.len(), 6);
    assert_eq!(first.stats().decisions, 3000);
    drop(first); // no acknowledgement was sent
    // Second life: the state comes back from the marks in the log.
    let mut second = open_sequencer(dir.path(), &topology);
    let state = second.state().producer(&producer).unwrap().clone();
    assert_eq!((state.next_batch, state.done), (6, 0));
    let stats = sequence_until(&mut second, &server.url(), 3000, Duration::from_millis(500));
    assert_eq!((stats.decisions, stats.duplicates), (0, 6), "{stats:?}");
    drop(second);
    assert_exactly_once(dir.path(), &[(&producer, 3000)]);
}

#[test]
fn a_batch_cut_by_a_crash_is_finished_from_where_it_stopped() {
    let server = NatsServer::start();
    let topology = Topology::new("CUT").unwrap();
    let producer = ProducerId::new("p1").unwrap();
    publish(&server.url(), &topology, &producer, 0..1000, 0, 1000);
    let dir = tempfile::tempdir().unwrap();
    {
        // What a crash inside an append leaves: the mark and the first 300 records.
        let options = LedgerOptions::without_checkpoints("test/nats").durability(Durability::Sync);
        let (collector, _) =
            LedgerCollector::open(SegmentStore::open(dir.path()).unwrap(), options).unwrap();
        let mark = whyline_nats::Mark {
            producer: producer.clone(),
            batch: 0,
            first_record: 0,
            records: 1000,
            batch_records: 1000,
        }
        .to_bytes();
        let records: Vec<Vec<u8>> = (0..300)
            .map(|s| whyline_core::to_aprt(&synthetic_trace(&producer, s)))
            .collect();
        let payloads: Vec<&[u8]> = std::iter::once(&mark[..])
            .chain(records.iter().map(Vec::as_slice))
            .collect();
        collector.append_batch(payloads.iter().copied()).unwrap();
    }
    let mut sequencer = open_sequencer(dir.path(), &topology);
    let state = sequencer.state().producer(&producer).unwrap().clone();
    assert_eq!((state.next_batch, state.done, state.total), (0, 300, 1000));
    let stats = sequence_until(
        &mut sequencer,
        &server.url(),
        1000,
        Duration::from_millis(300),
    );
    assert_eq!(stats.decisions, 700, "{stats:?}");
    drop(sequencer);
    assert_exactly_once(dir.path(), &[(&producer, 1000)]);
}

/// Restarts the server once `counters` shows `batches` acknowledged.
fn restart_server_mid_stream(
    server: &mut NatsServer,
    acknowledged: impl Fn() -> u64,
    batches: u64,
    down: Duration,
) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while acknowledged() < batches {
        assert!(Instant::now() < deadline, "the producer never got going");
        std::thread::sleep(Duration::from_millis(5));
    }
    server.restart_after(down);
}

#[test]
fn a_nats_restart_makes_block_wait_and_drop_count_and_nothing_is_lost_or_doubled() {
    let mut server = NatsServer::start();
    let url = server.url();
    let topology = Topology::new("RESTART").unwrap();
    let blocking = ProducerId::new("blocking").unwrap();
    let dropping = ProducerId::new("dropping").unwrap();
    let block_sink = JetStreamSinkBuilder::new(&url, topology.clone(), blocking.clone())
        .build()
        .unwrap();
    let drop_sink = JetStreamSinkBuilder::new(&url, topology.clone(), dropping.clone())
        .build()
        .unwrap();
    let (block_counters, drop_counters) = (block_sink.counters(), drop_sink.counters());
    let block = StreamCollectorBuilder::new(StreamFormat::Aprt)
        .capacity(2048)
        .batch_records(256)
        .backpressure(Backpressure::Block)
        .build_batches::<LinearPath>(block_sink)
        .unwrap();
    let dropper = StreamCollectorBuilder::new(StreamFormat::Aprt)
        .capacity(2048)
        .batch_records(256)
        .backpressure(Backpressure::Drop)
        .build_batches::<LinearPath>(drop_sink)
        .unwrap();
    const OFFERED: u64 = 60_000;
    std::thread::scope(|scope| {
        let blocking_thread = scope.spawn(|| {
            for sequence in 0..OFFERED {
                block.record(&synthetic_trace(&blocking, sequence)).unwrap();
                if sequence % 64 == 0 {
                    std::thread::sleep(Duration::from_micros(200));
                }
            }
        });
        let dropping_thread = scope.spawn(|| {
            let mut next = 0;
            for _ in 0..OFFERED {
                // Numbered by acceptance, so the dropping producer's accepted decisions are
                // still 0..N in order.
                let outcome = dropper.record(&synthetic_trace(&dropping, next)).unwrap();
                if outcome == whyline_core::RecordOutcome::Queued {
                    next += 1;
                }
                if next % 64 == 0 {
                    std::thread::sleep(Duration::from_micros(200));
                }
            }
        });
        restart_server_mid_stream(
            &mut server,
            || block_counters.batches(),
            10,
            Duration::from_millis(1500),
        );
        blocking_thread.join().unwrap();
        dropping_thread.join().unwrap();
    });
    let block_stats = block.close().unwrap();
    let drop_stats = dropper.close().unwrap();
    assert_eq!((block_stats.recorded, block_stats.dropped), (OFFERED, 0));
    assert_eq!(
        block_counters.records(),
        OFFERED,
        "Block: every decision published"
    );
    assert!(block_counters.retries() > 0, "the outage was seen");
    assert!(
        drop_stats.dropped > 0,
        "Drop: the outage filled the queue and decisions were dropped"
    );
    assert_eq!(drop_stats.recorded + drop_stats.dropped, OFFERED);
    assert_eq!(
        drop_counters.records(),
        drop_stats.recorded,
        "Drop: every accepted decision published"
    );
    let dir = tempfile::tempdir().unwrap();
    let mut sequencer = open_sequencer(dir.path(), &topology);
    let total = OFFERED + drop_stats.recorded;
    sequence_until(&mut sequencer, &url, total, Duration::from_millis(300));
    drop(sequencer);
    assert_exactly_once(
        dir.path(),
        &[(&blocking, OFFERED), (&dropping, drop_stats.recorded)],
    );
}

#[test]
fn receipts_name_the_ledger_index_and_leaf_hash_of_every_decision() {
    let server = NatsServer::start();
    let topology = Topology::new("RECEIPTS").unwrap();
    let producer = ProducerId::new("p1").unwrap();
    publish(&server.url(), &topology, &producer, 0..2500, 0, 1000);
    let other = ProducerId::new("p2").unwrap();
    publish(&server.url(), &topology, &other, 0..700, 0, 1000);
    let dir = tempfile::tempdir().unwrap();
    let mut sequencer = open_sequencer(dir.path(), &topology);
    sequence_until(
        &mut sequencer,
        &server.url(),
        3200,
        Duration::from_millis(100),
    );
    let collector = sequencer.into_collector();
    let rt = runtime();
    let receipts = rt.block_on(async {
        let client = async_nats::connect(server.url()).await.unwrap();
        let mut reader = ReceiptReader::open(client, &topology, &producer)
            .await
            .unwrap();
        let mut receipts = Vec::new();
        let mut covered = 0;
        while covered < 2500 {
            let receipt = tokio::time::timeout(Duration::from_secs(10), reader.next())
                .await
                .unwrap()
                .unwrap()
                .unwrap();
            covered += receipt.leaf_hashes.len();
            receipts.push(receipt);
        }
        receipts
    });
    let mut expected_sequence = 0;
    for receipt in &receipts {
        assert_eq!(
            receipt.producer, producer,
            "only p1's receipts on p1's subject"
        );
        for (i, hash) in receipt.leaf_hashes.iter().enumerate() {
            let index = receipt.first_index + i as u64;
            let entry = collector
                .with_ledger(|l| l.read_entry(index))
                .unwrap()
                .unwrap();
            assert_eq!(
                &leaf_hash(&entry.payload),
                hash,
                "leaf hash of entry {index}"
            );
            let (trace, _) = decode_aprt_prefix::<AnyPath>(&entry.payload, 0).unwrap();
            assert_eq!(trace.sequence, expected_sequence, "entry {index}");
            expected_sequence += 1;
        }
    }
    assert_eq!(expected_sequence, 2500);
    assert_eq!(
        receipts.iter().map(|r| r.batch).collect::<Vec<_>>(),
        vec![0, 1, 2]
    );
}
