//! `JetStreamSink` alone, as the stream collector's writer thread drives it: one message per
//! batch with the batch headers, numbered from `first_batch`, a resend reported as a
//! duplicate, and an outage longer than `max_outage` failing the batch with a message naming
//! it.

use std::time::{Duration, Instant};

use async_nats::jetstream::{self, consumer::pull};
use futures_util::StreamExt;
use whyline_core::to_aprt;
use whyline_ledger::collector::BatchSink;
use whyline_nats::{BatchHeader, JetStreamSinkBuilder, ProducerId, Topology, synthetic_trace};

use crate::sequencing::runtime;
use crate::support::NatsServer;

fn body(producer: &ProducerId, range: std::ops::Range<u64>) -> Vec<u8> {
    range
        .flat_map(|s| to_aprt(&synthetic_trace(producer, s)))
        .collect()
}

#[test]
fn each_batch_is_one_message_with_its_headers_numbered_from_the_first_batch() {
    let server = NatsServer::start();
    let topology = Topology::new("SINK").unwrap();
    let p1 = ProducerId::new("p1").unwrap();
    let (first, second) = (body(&p1, 0..3), body(&p1, 3..5));
    let mut sink = JetStreamSinkBuilder::new(&server.url(), topology.clone(), p1.clone())
        .first_batch(5)
        .build()
        .unwrap();
    assert_eq!(sink.producer(), &p1);
    let counters = sink.counters();
    sink.write_batch(&first, 3).unwrap();
    sink.write_batch(&second, 2).unwrap();
    sink.flush().unwrap();
    assert_eq!(
        (
            counters.batches(),
            counters.records(),
            counters.duplicates(),
            counters.retries()
        ),
        (2, 5, 0, 0)
    );
    let shown = format!("{sink:?}");
    assert!(
        shown.contains("whyline.SINK.batches") && shown.contains("next_batch: 7"),
        "{shown}"
    );
    // A new sink resending batch 5 (same message id): JetStream drops it and says so.
    let mut resend = JetStreamSinkBuilder::new(&server.url(), topology.clone(), p1.clone())
        .first_batch(5)
        .build()
        .unwrap();
    let resent = resend.counters();
    resend.write_batch(&first, 3).unwrap();
    assert_eq!((resent.batches(), resent.duplicates()), (1, 1));

    let rt = runtime();
    let messages = rt.block_on(async {
        let js = jetstream::new(async_nats::connect(server.url()).await.unwrap());
        let stream = js.get_stream(topology.stream()).await.unwrap();
        let consumer: jetstream::consumer::PullConsumer = stream
            .create_consumer(pull::Config {
                durable_name: Some("test".to_owned()),
                ..Default::default()
            })
            .await
            .unwrap();
        let mut batch = consumer
            .fetch()
            .max_messages(10)
            .expires(Duration::from_secs(1))
            .messages()
            .await
            .unwrap();
        let mut found = Vec::new();
        while let Some(message) = batch.next().await {
            let message = message.unwrap();
            let headers = message.headers.clone().unwrap();
            let id = headers
                .get(async_nats::header::NATS_MESSAGE_ID)
                .unwrap()
                .as_str()
                .to_owned();
            let header = BatchHeader::from_headers(Some(&headers)).unwrap();
            found.push((id, header, message.payload.to_vec()));
        }
        found
    });
    assert_eq!(messages.len(), 2, "the resend is not in the stream");
    assert_eq!(messages[0].0, "p1:5");
    assert_eq!(
        messages[0].1,
        BatchHeader {
            producer: p1.clone(),
            batch: 5,
            records: 3
        }
    );
    assert_eq!(messages[0].2, first);
    assert_eq!(messages[1].0, "p1:6");
    assert_eq!((messages[1].1.batch, messages[1].1.records), (6, 2));
    assert_eq!(messages[1].2, second);
}

#[test]
fn a_batch_jetstream_never_takes_fails_after_the_outage_limit_naming_batch_and_producer() {
    // A port nobody listens on: the client keeps trying to connect, every publish fails.
    let nobody = NatsServer::not_started();
    let p1 = ProducerId::new("p1").unwrap();
    let mut sink = JetStreamSinkBuilder::new(&nobody.url(), Topology::new("DOWN").unwrap(), p1)
        .ack_timeout(Duration::from_millis(100))
        .max_outage(Duration::from_millis(400))
        .build()
        .unwrap();
    let counters = sink.counters();
    let started = Instant::now();
    let error = sink.write_batch(b"bytes", 1).unwrap_err();
    assert!(started.elapsed() >= Duration::from_millis(400));
    assert_eq!(error.kind(), std::io::ErrorKind::TimedOut);
    let message = error.to_string();
    assert!(
        message.starts_with("JetStream did not take batch 0 of producer p1 for 400ms: "),
        "{message}"
    );
    assert!(
        counters.retries() >= 2,
        "retried with a backoff: {}",
        counters.retries()
    );
    assert_eq!((counters.batches(), counters.records()), (0, 0));
    assert!(
        format!("{sink:?}").contains("next_batch: 0"),
        "the failed batch is not skipped"
    );
}
