//! A path encoder that panics while the stream's batch lock is held: the lock is recovered
//! and the half-written record dropped, so the sink receives every other record whole and
//! in order.

use std::io;

use serde::{Deserialize, Serialize};
use whyline_core::{
    AprtRecords, DecisionPath, DecisionTrace, LinearPath, Names, PathType, TraceCollector,
};
use whyline_ledger::collector::{StreamCollectorBuilder, StreamFormat};

use crate::support::{SharedBuffer, linear_trace};

/// A linear path whose encoder panics halfway through when `explode` is set (a bug in a
/// path type's encoder).
#[derive(Clone, Debug, Serialize, Deserialize)]
struct ExplodingPath {
    inner: LinearPath,
    explode: bool,
}

impl DecisionPath for ExplodingPath {
    fn path_type(&self) -> PathType {
        self.inner.path_type()
    }

    fn explain_with(&self, names: &Names) -> String {
        self.inner.explain_with(names)
    }

    fn feature_contributions(&self) -> &[f32] {
        self.inner.feature_contributions()
    }

    fn confidence(&self) -> f32 {
        self.inner.confidence()
    }

    fn encode_path(&self, out: &mut Vec<u8>) {
        self.inner.encode_path(out);
        if self.explode {
            panic!("path encoder bug");
        }
    }

    fn decode_path(
        path_type: PathType,
        bytes: &[u8],
        base_offset: u64,
    ) -> whyline_core::Result<Self> {
        Ok(ExplodingPath {
            inner: LinearPath::decode_path(path_type, bytes, base_offset)?,
            explode: false,
        })
    }
}

fn trace(sequence: u64, explode: bool) -> DecisionTrace<ExplodingPath> {
    let t = linear_trace(sequence);
    DecisionTrace {
        timestamp_ns: t.timestamp_ns,
        sequence: t.sequence,
        input_hash: t.input_hash,
        output: t.output,
        latency_ns: t.latency_ns,
        path: ExplodingPath {
            inner: t.path,
            explode,
        },
    }
}

#[test]
fn a_panic_while_encoding_loses_only_that_record() -> io::Result<()> {
    let sink = SharedBuffer::default();
    let stream = StreamCollectorBuilder::new(StreamFormat::Aprt)
        .build::<ExplodingPath>(sink.clone())
        .map_err(io::Error::other)?;
    for sequence in 0..3 {
        stream
            .record(&trace(sequence, false))
            .map_err(io::Error::other)?;
    }
    let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let _ = stream.record(&trace(3, true));
    }));
    assert!(panicked.is_err(), "the encoder panicked");
    for sequence in 4..6 {
        stream
            .record(&trace(sequence, false))
            .map_err(io::Error::other)?;
    }
    stream.close().map_err(io::Error::other)?;
    let bytes = sink.bytes();
    let records: Vec<DecisionTrace<LinearPath>> = AprtRecords::<LinearPath>::new(&bytes)
        .map(|r| r.map(|(_, t)| t))
        .collect::<Result<_, _>>()
        .map_err(io::Error::other)?;
    let sequences: Vec<u64> = records.iter().map(|t| t.sequence).collect();
    assert_eq!(sequences, [0, 1, 2, 4, 5]);
    for record in &records {
        let mut expected = linear_trace(record.sequence);
        // APRT stores latency in whole microseconds.
        expected.latency_ns = expected.latency_ns / 1_000 * 1_000;
        assert_eq!(record, &expected);
    }
    Ok(())
}
