//! Decision ingest: bodies of JSON lines or concatenated APRT records read into canonical
//! APRT payloads (all or nothing, errors naming the record and its byte offset), and batches
//! appended under one lock with one commit. The expected bytes come from the core codecs'
//! own encoders of the traces that were written into the body, never from the parser.

use proptest::prelude::*;
use whyline_core::{
    AnyPath, CoreError, DecisionTrace, ForestPath, KnnPath, LinearPath, TreePath, TreeSplit,
    encode_json, to_aprt, to_json,
};
use whyline_ledger::{
    Durability, IngestErrorKind, IngestFormat, LedgerCollector, LedgerError, MAX_PAYLOAD,
    MemoryStore, leaf_hash, parse_batch,
};

use crate::common::{options, trace};
use crate::strategies;

/// The JSON-lines body of `traces`, with the byte offset where each line starts.
fn json_body(traces: &[DecisionTrace<AnyPath>]) -> (Vec<u8>, Vec<usize>) {
    let mut body = Vec::new();
    let mut starts = Vec::new();
    for t in traces {
        starts.push(body.len());
        encode_json(t, &mut body).unwrap();
        body.push(b'\n');
    }
    (body, starts)
}

/// The APRT body of `traces`, with the byte offset where each record starts.
fn aprt_body(traces: &[DecisionTrace<AnyPath>]) -> (Vec<u8>, Vec<usize>) {
    let mut body = Vec::new();
    let mut starts = Vec::new();
    for t in traces {
        starts.push(body.len());
        body.extend_from_slice(&to_aprt(t));
    }
    (body, starts)
}

fn any_trace(i: u64) -> DecisionTrace<AnyPath> {
    let t = trace(i);
    DecisionTrace {
        timestamp_ns: t.timestamp_ns,
        sequence: t.sequence,
        input_hash: t.input_hash,
        output: t.output,
        latency_ns: t.latency_ns,
        path: AnyPath::from(t.path),
    }
}

fn expect_refused(error: LedgerError) -> (u64, u64, IngestErrorKind) {
    match error {
        LedgerError::Ingest {
            record,
            offset,
            kind,
        } => (record, offset, kind),
        other => panic!("expected LedgerError::Ingest, got {other:?}"),
    }
}

#[test]
fn json_lines_become_the_aprt_records_of_their_traces_and_blank_lines_are_skipped() {
    let traces: Vec<_> = (0..3).map(any_trace).collect();
    let lines: Vec<String> = traces.iter().map(|t| to_json(t).unwrap()).collect();
    let body = format!("\n{}\n  \n{}\r\n{}", lines[0], lines[1], lines[2]);
    let batch = parse_batch(body.as_bytes(), IngestFormat::JsonLines).unwrap();
    assert_eq!(batch.len(), 3);
    for (i, t) in traces.iter().enumerate() {
        assert_eq!(batch.get(i).unwrap(), to_aprt(t).as_slice(), "record {i}");
    }
    let payloads: Vec<&[u8]> = batch.payloads().collect();
    assert_eq!(payloads.concat(), batch.as_bytes());
    assert!(
        parse_batch(b"\n \n", IngestFormat::JsonLines)
            .unwrap()
            .is_empty()
    );
    assert!(parse_batch(b"", IngestFormat::Aprt).unwrap().is_empty());
}

#[test]
fn aprt_records_are_appended_in_canonical_form_whatever_their_reserved_bytes() {
    let traces: Vec<_> = (0..2).map(any_trace).collect();
    let (mut body, starts) = aprt_body(&traces);
    // Reserved bytes 6..8 of the second record: readers ignore them, the ledger stores 0.
    body[starts[1] + 6] = 0xaa;
    body[starts[1] + 7] = 0x55;
    let batch = parse_batch(&body, IngestFormat::Aprt).unwrap();
    let (canonical, _) = aprt_body(&traces);
    assert_eq!(batch.as_bytes(), canonical.as_slice());
}

#[test]
fn a_bad_json_line_refuses_the_batch_naming_its_record_offset_and_column() {
    let line = to_json(&any_trace(0)).unwrap();
    let body = format!("{line}\n\n{line}\n{{\"version\":\"1.0\",\"trace\":{{\"sequence\":x}}}}\n");
    let (record, offset, kind) =
        expect_refused(parse_batch(body.as_bytes(), IngestFormat::JsonLines).unwrap_err());
    assert_eq!((record, offset), (3, 2 * line.len() as u64 + 3));
    assert!(
        matches!(&kind, IngestErrorKind::Json { column: 38, message } if message.contains("expected value")),
        "{kind:?}"
    );
}

#[test]
fn an_unknown_path_type_is_refused_in_both_formats() {
    let line = to_json(&any_trace(0))
        .unwrap()
        .replace("LinearPath", "FooPath");
    let (record, _, kind) =
        expect_refused(parse_batch(line.as_bytes(), IngestFormat::JsonLines).unwrap_err());
    assert_eq!(record, 1);
    assert!(
        matches!(&kind, IngestErrorKind::Json { message, .. } if message.contains("FooPath")),
        "{kind:?}"
    );

    let (mut body, starts) = aprt_body(&[any_trace(0), any_trace(1)]);
    body[starts[1] + 5] = 9;
    let error = parse_batch(&body, IngestFormat::Aprt).unwrap_err();
    assert_eq!(
        error.to_string(),
        format!(
            "ingest: record 2 at byte {}: APRT record at byte {}: unknown path type 9 (defined: 0 Linear .. 4 Neural)",
            starts[1],
            starts[1] + 5
        )
    );
    let (record, offset, kind) = expect_refused(error);
    assert_eq!((record, offset), (2, starts[1] as u64));
    assert!(
        matches!(
            kind,
            IngestErrorKind::Codec(CoreError::UnknownPathType { found: 9, .. })
        ),
        "{kind:?}"
    );
}

#[test]
fn a_nan_output_is_refused_and_an_infinite_one_kept() {
    let mut nan = any_trace(1);
    nan.output = f32::NAN;
    let mut infinite = any_trace(2);
    infinite.output = f32::INFINITY;
    for format in [IngestFormat::JsonLines, IngestFormat::Aprt] {
        let traces = [any_trace(0), infinite.clone(), nan.clone()];
        let (body, starts) = match format {
            IngestFormat::JsonLines => json_body(&traces),
            IngestFormat::Aprt => aprt_body(&traces),
        };
        let (record, offset, kind) = expect_refused(parse_batch(&body, format).unwrap_err());
        assert_eq!((record, offset), (3, starts[2] as u64), "{format:?}");
        assert!(matches!(kind, IngestErrorKind::NanOutput), "{kind:?}");
        let kept = parse_batch(&body[..starts[2]], format).unwrap();
        assert_eq!(kept.get(1).unwrap(), to_aprt(&infinite).as_slice());
    }
}

#[test]
fn a_record_larger_than_a_ledger_entry_is_refused() {
    // 4,194,304 contributions of 4 bytes: 16 MiB of path data, plus the header: too big.
    let big = DecisionTrace {
        path: AnyPath::Linear(LinearPath {
            contributions: vec![0.5; MAX_PAYLOAD / 4],
            ..LinearPath::default()
        }),
        ..any_trace(0)
    };
    let (body, _) = aprt_body(&[any_trace(1), big]);
    let (record, _, kind) = expect_refused(parse_batch(&body, IngestFormat::Aprt).unwrap_err());
    assert_eq!(record, 2);
    assert!(
        matches!(kind, IngestErrorKind::PayloadSize { found, limit }
            if found == MAX_PAYLOAD + 4 + 44 + 4 * 3 + 1 && limit == MAX_PAYLOAD),
        "{kind:?}"
    );
}

/// A record of exactly [`MAX_PAYLOAD`] bytes, the largest entry, is taken; the batch
/// reports its records through `len`, `is_empty`, the payload iterator's exact length, and
/// `clear` empties it.
#[test]
fn a_record_of_exactly_the_largest_entry_is_taken() {
    // A forest of `trees` trees, the first with `splits` splits and `values` impurities: the
    // size is linear in both counts, so solve for MAX_PAYLOAD. (Records of one tree are of
    // odd size; an empty second tree, 25 bytes, makes it even.)
    let shape = |trees: usize, splits: usize, values: usize| {
        let tree = TreePath {
            splits: vec![TreeSplit::default(); splits],
            impurity_path: vec![0.25; values],
            ..TreePath::default()
        };
        let mut tree_paths = vec![TreePath::default(); trees];
        tree_paths[0] = tree;
        DecisionTrace {
            path: AnyPath::Forest(ForestPath {
                tree_paths,
                ..ForestPath::default()
            }),
            ..any_trace(0)
        }
    };
    let largest = [1, 2]
        .into_iter()
        .find_map(|trees| {
            let size = |splits, values| to_aprt(&shape(trees, splits, values)).len();
            let base = size(0, 0);
            let (per_split, per_value) = (size(1, 0) - base, size(0, 1) - base);
            let splits = (0..per_value)
                .find(|s| (MAX_PAYLOAD - base - s * per_split).is_multiple_of(per_value))?;
            Some(shape(
                trees,
                splits,
                (MAX_PAYLOAD - base - splits * per_split) / per_value,
            ))
        })
        .unwrap();
    assert_eq!(to_aprt(&largest).len(), MAX_PAYLOAD);

    let (body, _) = aprt_body(&[any_trace(1), largest.clone()]);
    let mut batch = parse_batch(&body, IngestFormat::Aprt).unwrap();
    assert_eq!((batch.len(), batch.is_empty()), (2, false));
    assert_eq!(batch.payloads().len(), 2);
    assert_eq!(batch.get(1).unwrap(), to_aprt(&largest).as_slice());
    batch.clear();
    assert_eq!((batch.len(), batch.is_empty()), (0, true));
    assert!(batch.as_bytes().is_empty());
    assert_eq!(batch.payloads().len(), 0);
}

#[test]
fn the_media_type_picks_the_format() {
    use IngestFormat::{Aprt, JsonLines};
    for (media_type, format) in [
        ("application/x-aprt", Some(Aprt)),
        ("Application/X-APRT; q=1", Some(Aprt)),
        ("application/x-ndjson", Some(JsonLines)),
        ("application/jsonl", Some(JsonLines)),
        ("application/json; charset=utf-8", Some(JsonLines)),
        ("text/plain", None),
        ("", None),
    ] {
        assert_eq!(
            IngestFormat::from_media_type(media_type),
            format,
            "{media_type:?}"
        );
    }
}

fn valid_traces() -> impl Strategy<Value = Vec<DecisionTrace<AnyPath>>> {
    proptest::collection::vec(
        strategies::trace(strategies::any_path())
            .prop_filter("a decision's output", |t| !t.output.is_nan()),
        0..6,
    )
}

/// The record (1-based) whose bytes, separator included, hold `position`.
fn record_at(starts: &[usize], position: usize) -> u64 {
    starts.iter().filter(|&&start| start <= position).count() as u64
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn any_valid_batch_round_trips_in_both_formats(traces in valid_traces()) {
        let expected: Vec<u8> = traces.iter().flat_map(to_aprt).collect();
        for (format, (body, _)) in [
            (IngestFormat::JsonLines, json_body(&traces)),
            (IngestFormat::Aprt, aprt_body(&traces)),
        ] {
            let batch = parse_batch(&body, format).unwrap();
            prop_assert_eq!(batch.len(), traces.len());
            prop_assert_eq!(batch.as_bytes(), expected.as_slice());
        }
    }

    #[test]
    fn a_corrupted_byte_is_refused_at_its_record_or_keeps_the_record_count(
        traces in valid_traces().prop_filter("something to corrupt", |t| !t.is_empty()),
        aprt in any::<bool>(),
        at in any::<prop::sample::Index>(),
        byte in any::<u8>(),
    ) {
        let (format, (mut body, starts)) = if aprt {
            (IngestFormat::Aprt, aprt_body(&traces))
        } else {
            (IngestFormat::JsonLines, json_body(&traces))
        };
        let position = at.index(body.len());
        body[position] = byte;
        match parse_batch(&body, format) {
            Ok(batch) => prop_assert_eq!(batch.len(), traces.len()),
            Err(error) => {
                let (record, offset, _) = expect_refused(error);
                let expected = record_at(&starts, position);
                prop_assert_eq!(record, expected, "corrupted byte {}", position);
                prop_assert_eq!(offset, starts[(expected - 1) as usize] as u64);
            }
        }
    }

    #[test]
    fn a_truncated_body_is_refused_at_the_cut_record_or_holds_the_whole_records_before_it(
        traces in valid_traces().prop_filter("something to cut", |t| !t.is_empty()),
        aprt in any::<bool>(),
        at in any::<prop::sample::Index>(),
    ) {
        let (format, (body, starts)) = if aprt {
            (IngestFormat::Aprt, aprt_body(&traces))
        } else {
            (IngestFormat::JsonLines, json_body(&traces))
        };
        let cut = at.index(body.len());
        match parse_batch(&body[..cut], format) {
            Ok(batch) => {
                // Only a cut at a record boundary (or, in JSON lines, just before a newline)
                // leaves a valid body, holding the records that end before the cut.
                let whole = starts.iter().filter(|&&start| start < cut).count();
                let boundary = starts.contains(&cut)
                    || (!aprt && body[cut] == b'\n');
                prop_assert!(boundary, "a cut at {} inside a record was accepted", cut);
                prop_assert_eq!(batch.len(), whole);
            }
            Err(error) => {
                let (record, _, _) = expect_refused(error);
                prop_assert_eq!(record, record_at(&starts, cut.saturating_sub(1)));
            }
        }
    }
}

#[test]
fn a_batch_gets_contiguous_indices_and_the_leaves_of_its_payloads() {
    let collector = LedgerCollector::in_memory(options()).unwrap();
    collector.append(&trace(100)).unwrap();
    let traces: Vec<_> = (0..20).map(any_trace).collect();
    let (body, _) = aprt_body(&traces);
    let batch = parse_batch(&body, IngestFormat::Aprt).unwrap();
    let receipts = collector.append_batch(batch.payloads()).unwrap();
    assert_eq!(receipts.len(), 20);
    for (i, (receipt, t)) in receipts.iter().zip(&traces).enumerate() {
        assert_eq!(receipt.index, 1 + i as u64);
        assert_eq!(receipt.leaf_hash, leaf_hash(&to_aprt(t)));
    }
    let stored = collector
        .with_ledger(|ledger| ledger.read_entry(7).unwrap().payload)
        .unwrap();
    assert_eq!(stored, to_aprt(&traces[6]));
    // A checkpoint due by count (every 8 entries) is signed once, after the batch.
    let checkpoints = collector
        .with_ledger(|ledger| {
            ledger
                .checkpoints()
                .iter()
                .map(|c| c.checkpoint.size)
                .collect::<Vec<_>>()
        })
        .unwrap();
    assert_eq!(checkpoints, [21]);
}

#[test]
fn concurrent_batches_never_interleave() {
    let collector = LedgerCollector::in_memory(options()).unwrap();
    let batches: Vec<Vec<u8>> = (0..4u64)
        .map(|b| aprt_body(&(0..50).map(|i| any_trace(b * 1000 + i)).collect::<Vec<_>>()).0)
        .collect();
    let receipts: Vec<Vec<whyline_ledger::Receipt>> = std::thread::scope(|scope| {
        let handles: Vec<_> = batches
            .iter()
            .map(|body| {
                let collector = &collector;
                scope.spawn(move || {
                    let mut all = Vec::new();
                    for _ in 0..5 {
                        all.extend(collector.ingest(body, IngestFormat::Aprt).unwrap());
                    }
                    all
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for (b, receipts) in receipts.iter().enumerate() {
        for batch in receipts.chunks(50) {
            let first = batch[0].index;
            for (i, receipt) in batch.iter().enumerate() {
                assert_eq!(receipt.index, first + i as u64, "batch of thread {b}");
                assert_eq!(
                    receipt.leaf_hash,
                    leaf_hash(&to_aprt(&any_trace(b as u64 * 1000 + i as u64)))
                );
            }
        }
    }
    assert_eq!(collector.with_ledger(|l| l.size()).unwrap(), 4 * 5 * 50);
}

#[test]
fn a_payload_the_ledger_refuses_appends_nothing_of_its_batch() {
    let collector = LedgerCollector::in_memory(options()).unwrap();
    collector.append(&trace(0)).unwrap();
    let good = to_aprt(&trace(1));
    let empty: &[u8] = &[];
    let error = collector
        .append_batch([good.as_slice(), good.as_slice(), empty])
        .unwrap_err();
    assert!(
        matches!(
            error,
            LedgerError::PayloadSize {
                index: 3,
                found: 0,
                ..
            }
        ),
        "{error:?}"
    );
    assert_eq!(collector.with_ledger(|l| l.size()).unwrap(), 1);
    // One byte past the largest entry is refused too; the largest itself is taken.
    let largest = vec![0x5a; MAX_PAYLOAD];
    let too_large = vec![0x5a; MAX_PAYLOAD + 1];
    let error = collector
        .append_batch([good.as_slice(), too_large.as_slice()])
        .unwrap_err();
    assert!(
        matches!(error, LedgerError::PayloadSize { index: 2, found, .. } if found == MAX_PAYLOAD + 1),
        "{error:?}"
    );
    assert_eq!(collector.with_ledger(|l| l.size()).unwrap(), 1);
    let receipts = collector
        .append_batch([good.as_slice(), largest.as_slice()])
        .unwrap();
    assert_eq!(receipts.len(), 2);
    assert_eq!(collector.with_ledger(|l| l.size()).unwrap(), 3);
    // And a refused body appends nothing either.
    let mut nan = any_trace(2);
    nan.output = f32::NAN;
    let (body, _) = aprt_body(&[any_trace(1), nan]);
    assert!(matches!(
        collector.ingest(&body, IngestFormat::Aprt),
        Err(LedgerError::Ingest { record: 2, .. })
    ));
    assert_eq!(collector.with_ledger(|l| l.size()).unwrap(), 3);
}

#[test]
fn ingest_returns_once_the_batch_is_durable_under_interval_and_sync() {
    for durability in [
        Durability::Sync,
        Durability::Interval {
            entries: 100_000,
            max_delay: std::time::Duration::from_secs(3600),
        },
    ] {
        let (collector, _) = LedgerCollector::open(
            MemoryStore::new(),
            options().durability(durability).checkpoint_every(0),
        )
        .unwrap();
        let (body, _) = json_body(&(0..10).map(any_trace).collect::<Vec<_>>());
        let receipts = collector.ingest(&body, IngestFormat::JsonLines).unwrap();
        assert_eq!(receipts.len(), 10);
        // Under `interval` nothing else would commit for an hour: the wait committed.
        assert_eq!(collector.durable_size(), 10, "{durability:?}");
    }
    // `none` promises nothing before a checkpoint or flush: the wait returns at once.
    let (collector, _) = LedgerCollector::open(
        MemoryStore::new(),
        options().durability(Durability::None).checkpoint_every(0),
    )
    .unwrap();
    let (body, _) = json_body(&[any_trace(0)]);
    collector.ingest(&body, IngestFormat::JsonLines).unwrap();
    assert_eq!(collector.durable_size(), 0);
}

#[test]
fn a_receipt_prints_as_index_and_leaf() {
    let collector = LedgerCollector::in_memory(options()).unwrap();
    let knn = DecisionTrace {
        path: AnyPath::Knn(KnnPath::default()),
        ..any_trace(0)
    };
    let (body, _) = aprt_body(std::slice::from_ref(&knn));
    let receipt = collector.ingest(&body, IngestFormat::Aprt).unwrap()[0];
    let mut out = Vec::new();
    receipt.write_json(&mut out);
    let expected = format!(
        "{{\"index\":0,\"leaf\":\"{}\"}}",
        hex::encode(leaf_hash(&to_aprt(&knn)))
    );
    assert_eq!(String::from_utf8(out).unwrap(), expected);
}

#[test]
fn a_receipt_is_json_that_serde_reads_back_at_every_index_width() {
    for index in [0, 9, 10, 4_096, 1_000_000_007, u64::MAX] {
        let receipt = whyline_ledger::Receipt {
            index,
            leaf_hash: [0x5a; 32],
            chain_hash: [0; 32],
        };
        let mut out = Vec::new();
        receipt.write_json(&mut out);
        let read: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(read["index"].as_u64(), Some(index));
        assert_eq!(read["leaf"].as_str(), Some("5a".repeat(32).as_str()));
        assert_eq!(read.as_object().map(|o| o.len()), Some(2));
    }
}
