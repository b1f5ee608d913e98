//! What the sequencer does with messages it must not append (no or bad headers, a body that
//! is not APRT, a record count that disagrees with the body), with a batch that arrives
//! before an earlier one of its producer, and with a batch already in the log: terminated
//! and counted, delivered again later, acknowledged with its receipt published again. The
//! valid batches around them are appended exactly once.

use std::time::Duration;

use async_nats::HeaderMap;
use async_nats::jetstream;
use whyline_core::to_aprt;
use whyline_ledger::{IngestBatch, IngestFormat, leaf_hash, parse_batch_into};
use whyline_nats::{Action, BatchHeader, Delivered, Mark, ProducerId, Topology, synthetic_trace};

use crate::sequencing::{assert_exactly_once, open_sequencer, runtime, sequence_until};
use crate::support::NatsServer;

/// Records `range` of `producer`'s synthetic decisions, APRT back to back.
fn body(producer: &ProducerId, range: std::ops::Range<u64>) -> Vec<u8> {
    range
        .flat_map(|s| to_aprt(&synthetic_trace(producer, s)))
        .collect()
}

fn header(producer: &ProducerId, batch: u64, records: u32) -> Result<BatchHeader, String> {
    Ok(BatchHeader {
        producer: producer.clone(),
        batch,
        records,
    })
}

/// The leaf hashes of `range` of `producer`'s decisions.
fn leaves(producer: &ProducerId, range: std::ops::Range<u64>) -> Vec<whyline_ledger::Hash> {
    range
        .map(|s| leaf_hash(&to_aprt(&synthetic_trace(producer, s))))
        .collect()
}

#[test]
fn a_round_terminates_malformed_messages_naks_a_gap_and_acks_a_duplicate_with_its_receipt() {
    let dir = tempfile::tempdir().unwrap();
    let topology = Topology::new("ROUND").unwrap();
    let p1 = ProducerId::new("p1").unwrap();
    let mut sequencer = open_sequencer(dir.path(), &topology);
    let two = body(&p1, 0..2);
    let next_two = body(&p1, 2..4);
    let garbage = b"this is not an APRT record".to_vec();
    let parse_error = {
        let mut batch = IngestBatch::new();
        parse_batch_into(&garbage, IngestFormat::Aprt, &mut batch)
            .unwrap_err()
            .to_string()
    };
    let delivered = [
        Delivered {
            header: Err("no Whyline-Format header".into()),
            body: &two,
        },
        Delivered {
            header: header(&p1, 0, 2),
            body: &garbage,
        },
        Delivered {
            header: header(&p1, 0, 3),
            body: &two,
        },
        Delivered {
            header: header(&p1, 1, 2),
            body: &next_two,
        },
        Delivered {
            header: header(&p1, 0, 2),
            body: &two,
        },
        Delivered {
            header: header(&p1, 0, 2),
            body: &two,
        },
    ];
    let round = sequencer.append_round(&delivered).unwrap();
    assert_eq!(
        round.actions,
        vec![
            Action::Term("no Whyline-Format header".into()),
            Action::Term(parse_error),
            Action::Term("the Whyline-Records header says 3 records, the body holds 2".into()),
            Action::Nak,
            Action::Ack,
            Action::Ack,
        ]
    );
    let stats = sequencer.stats();
    assert_eq!(
        (
            stats.messages,
            stats.rejected,
            stats.gaps,
            stats.duplicates,
            stats.batches,
            stats.decisions,
            stats.rounds
        ),
        (6, 3, 1, 1, 1, 2, 1),
        "{stats:?}"
    );
    // The appended batch's receipt, then the duplicate's, published again from the log:
    // the mark is entry 0, the decisions 1 and 2.
    assert_eq!(round.receipts.len(), 2);
    for receipt in &round.receipts {
        assert_eq!(
            (&receipt.producer, receipt.batch, receipt.first_record),
            (&p1, 0, 0)
        );
        assert_eq!(receipt.first_index, 1);
        assert_eq!(receipt.leaf_hashes, leaves(&p1, 0..2));
    }
    assert_eq!(
        sequencer
            .durable_decisions()
            .load(std::sync::atomic::Ordering::Acquire),
        2
    );

    // The batch that was early now follows its predecessor; a round of malformed messages
    // alone appends nothing.
    let round = sequencer
        .append_round(&[Delivered {
            header: header(&p1, 1, 2),
            body: &next_two,
        }])
        .unwrap();
    assert_eq!(round.actions, vec![Action::Ack]);
    assert_eq!(round.receipts.len(), 1);
    assert_eq!(round.receipts[0].first_index, 4);
    assert_eq!(round.receipts[0].leaf_hashes, leaves(&p1, 2..4));
    let round = sequencer
        .append_round(&[Delivered {
            header: header(&p1, 2, 1),
            body: b"",
        }])
        .unwrap();
    assert_eq!(
        round.actions,
        vec![Action::Term(
            "the Whyline-Records header says 1 records, the body holds 0".into()
        )]
    );
    assert!(round.receipts.is_empty());
    assert_eq!(
        sequencer.stats().rounds,
        2,
        "no append for a round of rejects"
    );
    let shown = format!("{sequencer:?}");
    assert!(
        shown.starts_with("Sequencer {")
            && shown.contains("ROUND")
            && shown.contains("rejected: 4"),
        "{shown}"
    );
    let collector = sequencer.into_collector();
    let entries: Vec<Vec<u8>> = (0..6)
        .map(|i| {
            collector
                .with_ledger(|l| l.read_entry(i))
                .unwrap()
                .unwrap()
                .payload
        })
        .collect();
    assert_eq!(collector.with_ledger(|l| l.size()).unwrap(), 6);
    let mark = Mark::from_bytes(&entries[3], 3).unwrap();
    assert_eq!((mark.batch, mark.first_record, mark.records), (1, 0, 2));
    assert_eq!(entries[4], to_aprt(&synthetic_trace(&p1, 2)));
    drop(collector);
    assert_exactly_once(dir.path(), &[(&p1, 4)]);
}

/// Publishes one message to `subject` with `headers` (none when empty) and waits for
/// JetStream to hold it.
async fn publish_raw(
    js: &jetstream::Context,
    subject: &str,
    headers: &[(&str, &str)],
    body: Vec<u8>,
) {
    let ack = if headers.is_empty() {
        js.publish(subject.to_owned(), body.into()).await.unwrap()
    } else {
        let mut map = HeaderMap::new();
        for (name, value) in headers {
            map.insert(*name, *value);
        }
        js.publish_with_headers(subject.to_owned(), map, body.into())
            .await
            .unwrap()
    };
    ack.await.unwrap();
}

/// Header names and values.
type Headers = Vec<(&'static str, String)>;

/// The headers of `producer`'s batch `batch` claiming `records` records.
fn batch_headers(producer: &str, batch: &str, records: &str) -> Headers {
    vec![
        ("Whyline-Producer", producer.to_owned()),
        ("Whyline-Batch", batch.to_owned()),
        ("Whyline-Records", records.to_owned()),
        ("Whyline-Format", "aprt-v1".to_owned()),
    ]
}

#[test]
fn malformed_messages_on_the_wire_are_terminated_once_and_the_batches_around_them_sequenced() {
    let server = NatsServer::start();
    let topology = Topology::new("MALFORMED").unwrap();
    let p1 = ProducerId::new("p1").unwrap();
    let subject = topology.subject();
    let rt = runtime();
    let held = rt.block_on(async {
        let js = jetstream::new(async_nats::connect(server.url()).await.unwrap());
        topology.ensure_streams(&js).await.unwrap();
        let ten = body(&p1, 0..10);
        let mut bad_format = batch_headers("p1", "0", "10");
        bad_format[3].1 = "csv".into();
        let malformed: Vec<(Headers, Vec<u8>)> = vec![
            (vec![], ten.clone()),
            (bad_format, ten.clone()),
            (batch_headers("p 1!", "0", "10"), ten.clone()),
            (batch_headers("p1", "zero", "10"), ten.clone()),
            (batch_headers("p1", "0", "11"), ten.clone()),
            (batch_headers("p1", "0", "10"), b"garbage".to_vec()),
        ];
        for (headers, body) in malformed {
            let headers: Vec<(&str, &str)> =
                headers.iter().map(|(n, v)| (*n, v.as_str())).collect();
            publish_raw(&js, &subject, &headers, body).await;
        }
        // Batch 1 before batch 0: delivered again after the gap delay.
        let one = batch_headers("p1", "1", "10");
        let one: Vec<(&str, &str)> = one.iter().map(|(n, v)| (*n, v.as_str())).collect();
        publish_raw(&js, &subject, &one, body(&p1, 10..20)).await;
        let zero = batch_headers("p1", "0", "10");
        let zero: Vec<(&str, &str)> = zero.iter().map(|(n, v)| (*n, v.as_str())).collect();
        publish_raw(&js, &subject, &zero, ten).await;
        js.get_stream(topology.stream())
            .await
            .unwrap()
            .info()
            .await
            .unwrap()
            .state
            .messages
    });
    assert_eq!(held, 8);
    let dir = tempfile::tempdir().unwrap();
    let mut sequencer = open_sequencer(dir.path(), &topology);
    let stats = sequence_until(
        &mut sequencer,
        &server.url(),
        20,
        Duration::from_millis(600),
    );
    assert_eq!(stats.rejected, 6, "{stats:?}");
    assert_eq!(stats.decisions, 20, "{stats:?}");
    assert!(stats.gaps >= 1, "{stats:?}");
    // Each terminated message was delivered once: every delivery is a reject, a gap or an
    // append.
    assert_eq!(stats.messages, 6 + stats.gaps + 2, "{stats:?}");
    assert_eq!(stats.duplicates, 0, "{stats:?}");
    // The work queue is empty: terminated messages left it as acknowledged ones did.
    let left = rt.block_on(async {
        let js = jetstream::new(async_nats::connect(server.url()).await.unwrap());
        let mut stream = js.get_stream(topology.stream()).await.unwrap();
        stream.info().await.unwrap().state.messages
    });
    assert_eq!(left, 0);
    drop(sequencer);
    assert_exactly_once(dir.path(), &[(&p1, 20)]);
}
