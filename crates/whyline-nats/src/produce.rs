//! A synthetic producer and the audit of a sequenced log: what `whyline produce` and the
//! end-to-end test (`scripts/e2e-distributed.sh`) run.
//!
//! Producer `P` records decisions numbered 0, 1, 2, ... (the trace's `sequence`) through a
//! stream collector on a [`JetStreamSink`]. [`audit_log`] reads a sequenced ledger back:
//! each decision belongs to the producer of the mark before it, and per producer the
//! numbers must be 0..N, each once, in order.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use whyline_core::{
    AnyPath, DecisionTrace, EntryKind, LinearPath, TraceCollector, decode_aprt_prefix,
};
use whyline_ledger::collector::{Backpressure, StreamCollectorBuilder, StreamFormat};
use whyline_ledger::{LedgerReader, Store};

use crate::error::{NatsError, Result};
use crate::sink::JetStreamSinkBuilder;
use crate::topology::{ProducerId, Topology};
use crate::wire::Mark;

/// Producer `producer`'s decision number `sequence`: a 4-feature linear decision whose
/// input digest is derived from both.
pub fn synthetic_trace(producer: &ProducerId, sequence: u64) -> DecisionTrace<LinearPath> {
    let salt = producer
        .as_str()
        .bytes()
        .fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        });
    let x = (sequence % 1000) as f32 / 1000.0;
    DecisionTrace {
        timestamp_ns: 1_800_000_000_000_000_000 + sequence,
        sequence,
        input_hash: salt ^ sequence.wrapping_mul(0x9e37_79b9_7f4a_7c15),
        output: x,
        latency_ns: 1_000,
        path: LinearPath {
            contributions: vec![x, 0.5 - x, 0.25, -0.125],
            intercept: 0.1,
            logit: x,
            prediction: x,
            probability: None,
        },
    }
}

/// What a producer did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ProduceReport {
    /// Decisions accepted by the collector.
    pub recorded: u64,
    /// Decisions dropped by the `Drop` policy.
    pub dropped: u64,
    /// Decisions JetStream acknowledged.
    pub published: u64,
    /// Batches JetStream acknowledged.
    pub batches: u64,
    /// Publish attempts retried.
    pub retries: u64,
    /// Resends JetStream reported as duplicates.
    pub duplicates: u64,
    /// Wall time from the first record to the last acknowledgement.
    pub elapsed: Duration,
}

/// Records `count` synthetic decisions of `producer` into a stream collector publishing to
/// JetStream at `url`, then closes it (every batch acknowledged by JetStream).
pub fn produce(
    url: &str,
    topology: &Topology,
    producer: &ProducerId,
    count: u64,
    backpressure: Backpressure,
) -> Result<ProduceReport> {
    let sink = JetStreamSinkBuilder::new(url, topology.clone(), producer.clone()).build()?;
    let counters = sink.counters();
    let mut builder = StreamCollectorBuilder::new(StreamFormat::Aprt);
    builder
        .capacity(16 * 1024)
        .batch_records(1024)
        .backpressure(backpressure);
    let collector = builder.build_batches::<LinearPath>(sink)?;
    let started = Instant::now();
    let mut trace = synthetic_trace(producer, 0);
    for sequence in 0..count {
        let next = synthetic_trace(producer, sequence);
        trace.clone_from(&next);
        collector
            .record(&trace)
            .map_err(|e| NatsError::jetstream("recording a decision", e))?;
    }
    let stats = collector.close()?;
    Ok(ProduceReport {
        recorded: stats.recorded,
        dropped: stats.dropped,
        published: counters.records(),
        batches: counters.batches(),
        retries: counters.retries(),
        duplicates: counters.duplicates(),
        elapsed: started.elapsed(),
    })
}

/// One producer's decisions as found in a sequenced log.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProducerAudit {
    /// Decisions attributed to the producer.
    pub decisions: u64,
    /// Decisions whose number was seen before.
    pub duplicates: u64,
    /// Numbers below the expected count never seen.
    pub missing: u64,
    /// Places where a number was not one more than the one before it.
    pub out_of_order: u64,
}

/// Reads a sequenced log and checks each producer's decisions: numbers `0..expected`, each
/// once, in order. Decisions before any mark are counted under no producer
/// (`unattributed`).
pub fn audit_log<S: Store + ?Sized>(
    store: &S,
    expected: u64,
) -> Result<(BTreeMap<ProducerId, ProducerAudit>, u64)> {
    let reader = LedgerReader::new(store)?;
    let mut audits: BTreeMap<ProducerId, (ProducerAudit, Vec<bool>, Option<u64>)> = BTreeMap::new();
    let mut current: Option<ProducerId> = None;
    let mut unattributed = 0;
    reader.for_each_entry::<NatsError>(|entry| {
        if Mark::is_mark(entry.payload) {
            current = Some(Mark::from_bytes(entry.payload, entry.index)?.producer);
            return Ok(());
        }
        if EntryKind::of(entry.payload) != EntryKind::Decision {
            return Ok(());
        }
        let Some(producer) = &current else {
            unattributed += 1;
            return Ok(());
        };
        let (trace, _) = decode_aprt_prefix::<AnyPath>(entry.payload, 0)
            .map_err(|e| NatsError::jetstream("decoding a decision", e))?;
        let (audit, seen, last) = audits.entry(producer.clone()).or_insert_with(|| {
            (
                ProducerAudit::default(),
                vec![false; usize::try_from(expected).unwrap_or(0)],
                None,
            )
        });
        audit.decisions += 1;
        let number = trace.sequence;
        if last.is_some_and(|last| number != last + 1) || (last.is_none() && number != 0) {
            audit.out_of_order += 1;
        }
        *last = Some(number);
        match usize::try_from(number).ok().and_then(|n| seen.get_mut(n)) {
            Some(slot) if *slot => audit.duplicates += 1,
            Some(slot) => *slot = true,
            None => audit.out_of_order += 1,
        }
        Ok(())
    })?;
    let audits = audits
        .into_iter()
        .map(|(producer, (mut audit, seen, _))| {
            audit.missing = seen.iter().filter(|s| !**s).count() as u64;
            (producer, audit)
        })
        .collect();
    Ok((audits, unattributed))
}
