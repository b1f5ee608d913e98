//! `Sequencer::run` through what its loop waits out: a server that is not up yet, a server
//! restarted under it, a receipts stream that is gone (the round stays unacknowledged and
//! its receipts are published once the stream is back), and a URL that is not one.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use async_nats::jetstream;
use whyline_core::to_aprt;
use whyline_ledger::{Durability, LedgerCollector, LedgerOptions, SegmentStore, leaf_hash};
use whyline_nats::{
    NatsError, ProducerId, ReceiptReader, SEQUENCER_CONSUMER, Sequencer, SequencerOptions,
    Topology, synthetic_trace,
};

use crate::sequencing::{assert_exactly_once, open_sequencer, publish, runtime, sequence_until};
use crate::support::NatsServer;

/// Completes once `stop` is set.
async fn stopped(stop: Arc<AtomicBool>) {
    while !stop.load(Ordering::Acquire) {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Waits until `condition` holds, failing after `within`.
fn wait_until(what: &str, within: Duration, condition: impl Fn() -> bool) {
    let deadline = Instant::now() + within;
    while !condition() {
        assert!(Instant::now() < deadline, "{what}: not after {within:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_url_that_is_not_a_url_is_a_connect_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let mut sequencer = open_sequencer(dir.path(), &Topology::new("BADURL").unwrap());
    let rt = runtime();
    let error = rt
        .block_on(sequencer.run("nats://[::1", std::future::pending()))
        .unwrap_err();
    assert!(
        matches!(&error, NatsError::Connect { url, .. } if url == "nats://[::1"),
        "{error:?}"
    );
}

#[test]
fn a_sequencer_on_a_server_without_jetstream_waits_appends_nothing_and_stops_when_told() {
    let server = NatsServer::start_without_jetstream();
    let dir = tempfile::tempdir().unwrap();
    let mut sequencer = open_sequencer(dir.path(), &Topology::new("NOJS").unwrap());
    let stop = Arc::new(AtomicBool::new(false));
    let stats = std::thread::scope(|scope| {
        let shutdown = stopped(Arc::clone(&stop));
        let url = server.url();
        let running = scope.spawn(move || runtime().block_on(sequencer.run(&url, shutdown)));
        std::thread::sleep(Duration::from_millis(1000));
        assert!(
            !running.is_finished(),
            "a missing JetStream is waited for, not an error"
        );
        stop.store(true, Ordering::Release);
        running.join().unwrap().unwrap()
    });
    assert_eq!((stats.messages, stats.rounds, stats.decisions), (0, 0, 0));
    let store = SegmentStore::open_existing(dir.path()).unwrap();
    assert_eq!(
        whyline_ledger::LedgerReader::new(&store)
            .unwrap()
            .all_entries()
            .unwrap()
            .entries
            .len(),
        0
    );
}

#[test]
fn a_sequencer_started_before_its_server_waits_for_it_and_then_sequences() {
    let mut server = NatsServer::not_started();
    let url = server.url();
    let topology = Topology::new("LATE").unwrap();
    let p1 = ProducerId::new("p1").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut sequencer = open_sequencer(dir.path(), &topology);
    let stats = std::thread::scope(|scope| {
        let running =
            scope.spawn(|| sequence_until(&mut sequencer, &url, 300, Duration::from_millis(200)));
        std::thread::sleep(Duration::from_millis(700));
        server.spawn();
        publish(&url, &topology, &p1, 0..300, 0, 100);
        running.join().unwrap()
    });
    assert_eq!(
        (stats.decisions, stats.duplicates, stats.rejected),
        (300, 0, 0)
    );
    drop(sequencer);
    assert_exactly_once(dir.path(), &[(&p1, 300)]);
}

#[test]
fn a_server_restart_under_a_running_sequencer_is_ridden_out() {
    let mut server = NatsServer::start();
    let url = server.url();
    let topology = Topology::new("RIDE").unwrap();
    let p1 = ProducerId::new("p1").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut sequencer = open_sequencer(dir.path(), &topology);
    let durable = sequencer.durable_decisions();
    let stats = std::thread::scope(|scope| {
        let running =
            scope.spawn(|| sequence_until(&mut sequencer, &url, 400, Duration::from_millis(300)));
        publish(&url, &topology, &p1, 0..200, 0, 100);
        wait_until("the first 200 sequenced", Duration::from_secs(30), || {
            durable.load(Ordering::Acquire) >= 200
        });
        server.restart_after(Duration::from_millis(500));
        publish(&url, &topology, &p1, 200..400, 2, 100);
        running.join().unwrap()
    });
    assert_eq!((stats.decisions, stats.batches), (400, 4), "{stats:?}");
    drop(sequencer);
    assert_exactly_once(dir.path(), &[(&p1, 400)]);
}

#[test]
fn receipts_that_cannot_be_published_leave_the_round_unacknowledged_until_the_stream_is_back() {
    let server = NatsServer::start();
    let url = server.url();
    let topology = Topology::new("NORECEIPTS").unwrap();
    let p1 = ProducerId::new("p1").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let options = LedgerOptions::without_checkpoints("test/nats").durability(Durability::Sync);
    let (collector, _) =
        LedgerCollector::open(SegmentStore::open(dir.path()).unwrap(), options).unwrap();
    let mut sequencer = Sequencer::new(
        collector,
        topology.clone(),
        SequencerOptions {
            ack_wait: Duration::from_secs(1),
            ..SequencerOptions::default()
        },
    )
    .unwrap();
    let durable = sequencer.durable_decisions();
    let stop = Arc::new(AtomicBool::new(false));
    let rt = runtime();
    let js = rt.block_on(async { jetstream::new(async_nats::connect(&url).await.unwrap()) });
    let (stats, receipt) = std::thread::scope(|scope| {
        let shutdown = stopped(Arc::clone(&stop));
        let running = scope.spawn(|| runtime().block_on(sequencer.run(&url, shutdown)));
        // Once the sequencer made its consumer (and the streams), the receipts stream goes.
        wait_until("the sequencer's consumer", Duration::from_secs(30), || {
            rt.block_on(async {
                let Ok(stream) = js.get_stream(topology.stream()).await else {
                    return false;
                };
                stream
                    .get_consumer::<jetstream::consumer::pull::Config>(SEQUENCER_CONSUMER)
                    .await
                    .is_ok()
            })
        });
        rt.block_on(js.delete_stream(topology.receipts_stream()))
            .unwrap();
        // Published raw: a sink would create the receipts stream again.
        rt.block_on(async {
            let mut headers = async_nats::HeaderMap::new();
            for (name, value) in [
                ("Nats-Msg-Id", "p1:0"),
                ("Whyline-Producer", "p1"),
                ("Whyline-Batch", "0"),
                ("Whyline-Records", "10"),
                ("Whyline-Format", "aprt-v1"),
            ] {
                headers.insert(name, value);
            }
            let body: Vec<u8> = (0..10)
                .flat_map(|s| to_aprt(&synthetic_trace(&p1, s)))
                .collect();
            js.publish_with_headers(topology.subject(), headers, body.into())
                .await
                .unwrap()
                .await
                .unwrap();
        });
        wait_until("the batch appended", Duration::from_secs(30), || {
            durable.load(Ordering::Acquire) >= 10
        });
        // Not acknowledged: delivered again after the ack wait, a duplicate whose receipt
        // fails again; then the stream is back and the receipt comes from the log.
        std::thread::sleep(Duration::from_millis(2500));
        let receipt = rt.block_on(async {
            topology.ensure_streams(&js).await.unwrap();
            let client = async_nats::connect(&url).await.unwrap();
            let mut reader = ReceiptReader::open(client, &topology, &p1).await.unwrap();
            assert_eq!(format!("{reader:?}"), "ReceiptReader { .. }");
            tokio::time::timeout(Duration::from_secs(20), reader.next())
                .await
                .unwrap()
                .unwrap()
                .unwrap()
        });
        stop.store(true, Ordering::Release);
        (running.join().unwrap().unwrap(), receipt)
    });
    assert_eq!((stats.decisions, stats.batches), (10, 1), "{stats:?}");
    // The first round's receipts failed: the receipt read came from a redelivery.
    assert!(
        stats.duplicates >= 1,
        "redelivered while unacknowledged: {stats:?}"
    );
    assert_eq!(
        (receipt.batch, receipt.first_record, receipt.first_index),
        (0, 0, 1)
    );
    let expected: Vec<_> = (0..10)
        .map(|s| leaf_hash(&to_aprt(&synthetic_trace(&p1, s))))
        .collect();
    assert_eq!(receipt.leaf_hashes, expected);
    drop(sequencer);
    assert_exactly_once(dir.path(), &[(&p1, 10)]);
}
