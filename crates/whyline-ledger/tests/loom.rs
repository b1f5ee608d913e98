//! loom models of the collectors' shared state: the ring, the stream collector (callers, queue,
//! writer thread) and the ledger collector's group commit (under `Sync`, and under `Interval`
//! with its commit thread), each run under every interleaving
//! loom explores within its preemption bound.
//!
//! Built only with `RUSTFLAGS="--cfg loom"`, where the collectors take their locks, atomics,
//! threads and queue from loom (`src/sync.rs`): run `bash scripts/loom.sh`. Each model is
//! small on purpose (two or three threads, a few records, capacities of one to three), since
//! the number of interleavings grows exponentially with the synchronising operations.
#![cfg(loom)]
// Helpers outside `#[test]` functions are test code too: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{self, Write};

use loom::sync::Arc;
use loom::thread;
use whyline_core::{AprtRecords, DecisionTrace, LinearPath, RecordOutcome, TraceCollector};
use whyline_ledger::collector::{
    Backpressure, BatchSink, DynamicRingCollector, LedgerCollector, PipelinedLedgerCollector,
    StreamCollector, StreamCollectorBuilder, StreamFormat,
};
use whyline_ledger::{Durability, LedgerOptions, MemoryStore, Store};

/// The preemption bound when `LOOM_MAX_PREEMPTIONS` is not set. Most concurrency bugs need
/// two or three preemptions; a higher bound multiplies the time.
const DEFAULT_PREEMPTIONS: usize = 2;

/// Runs `model` under every interleaving within the preemption bound.
fn explore(model: impl Fn() + Sync + Send + 'static) {
    let mut builder = loom::model::Builder::new();
    if builder.preemption_bound.is_none() {
        builder.preemption_bound = Some(DEFAULT_PREEMPTIONS);
    }
    builder.check(model);
}

/// Caller `caller`'s `n`-th trace: sequence `10 * caller + n`, every field derived from it,
/// so a torn copy (fields of two traces) is seen.
fn trace(caller: u64, n: u64) -> DecisionTrace<LinearPath> {
    let sequence = 10 * caller + n;
    DecisionTrace {
        timestamp_ns: sequence * 1_000,
        sequence,
        input_hash: sequence ^ 0xabcd,
        output: sequence as f32,
        latency_ns: 1_000,
        path: LinearPath {
            contributions: vec![sequence as f32; 2],
            intercept: sequence as f32,
            ..LinearPath::default()
        },
    }
}

/// Checks that `sequences` holds each caller's traces in the order recorded, as one run per
/// caller ending at its last record (what any suffix of an interleaving looks like) when
/// `suffix`, or starting at its first (a prefix: what a sink has received) otherwise.
fn assert_runs(sequences: &[u64], callers: u64, suffix: bool) {
    for caller in 0..callers {
        let mine: Vec<u64> = sequences
            .iter()
            .filter(|s| **s / 10 == caller)
            .map(|s| s % 10)
            .collect();
        assert!(
            mine.windows(2).all(|w| w[1] == w[0] + 1),
            "caller {caller}'s records out of order or with a gap: {sequences:?}"
        );
        if !suffix && let Some(first) = mine.first() {
            assert_eq!(
                *first, 0,
                "caller {caller}'s first record missing: {sequences:?}"
            );
        }
    }
}

fn assert_whole(trace: &DecisionTrace<LinearPath>) {
    let caller = trace.sequence / 10;
    assert_eq!(
        *trace,
        self::trace(caller, trace.sequence % 10),
        "a torn trace"
    );
}

/// Two threads record two traces each into a ring of 3 while the main thread reads it: every
/// snapshot holds whole traces, each thread's in order and as a suffix of what it recorded,
/// as many as were recorded (up to the capacity); at the end the ring holds the last 3.
#[test]
fn ring_snapshots_are_whole_ordered_and_counted() {
    explore(|| {
        let ring = Arc::new(DynamicRingCollector::<LinearPath>::with_capacity(3).unwrap());
        let callers: Vec<_> = (0..2)
            .map(|caller| {
                let ring = Arc::clone(&ring);
                thread::spawn(move || {
                    for n in 0..2 {
                        assert_eq!(
                            ring.record(&trace(caller, n)).unwrap(),
                            RecordOutcome::Stored
                        );
                    }
                })
            })
            .collect();

        let before = ring.stats().recorded;
        let snapshot = ring.recent(3).unwrap();
        let after = ring.stats().recorded;
        let held = snapshot.len() as u64;
        assert!(
            before.min(3) <= held && held <= after.min(3),
            "{held} traces held, {before}..={after} recorded"
        );
        snapshot.iter().for_each(assert_whole);
        let sequences: Vec<u64> = snapshot.iter().map(|t| t.sequence).collect();
        assert_runs(&sequences, 2, true);

        for caller in callers {
            caller.join().unwrap();
        }
        let last = ring.recent(usize::MAX).unwrap();
        assert_eq!(last.len(), 3);
        assert_eq!((ring.len(), ring.stats().recorded), (3, 4));
        last.iter().for_each(assert_whole);
        let sequences: Vec<u64> = last.iter().map(|t| t.sequence).collect();
        assert_runs(&sequences, 2, true);
        // Both threads' last records are among the last three.
        assert!(
            sequences.contains(&1) && sequences.contains(&11),
            "{sequences:?}"
        );
    });
}

/// A `Write` whose bytes the model reads back. A std lock is enough: loom runs every model
/// thread on one OS thread, and the lock is never held across a loom operation.
#[derive(Clone, Default)]
struct Shared(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl Shared {
    fn sequences(&self) -> Vec<u64> {
        let bytes = self.0.lock().unwrap();
        AprtRecords::<LinearPath>::new(&bytes)
            .map(|record| {
                let (_, trace) = record.unwrap();
                assert_whole(&trace);
                trace.sequence
            })
            .collect()
    }
}

impl Write for Shared {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl BatchSink for Shared {
    fn write_batch(&mut self, bytes: &[u8], records: usize) -> io::Result<()> {
        assert_eq!(AprtRecords::<LinearPath>::new(bytes).count(), records);
        self.write_all(bytes)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Spawns one caller per entry of `records`, recording that many traces into `stream`, and
/// returns their outcomes.
fn record_from_callers(
    stream: &Arc<StreamCollector<LinearPath>>,
    records: &[u64],
) -> Vec<thread::JoinHandle<Vec<RecordOutcome>>> {
    (0..)
        .zip(records)
        .map(|(caller, &records)| {
            let stream = Arc::clone(stream);
            thread::spawn(move || {
                (0..records)
                    .map(|n| stream.record(&trace(caller, n)).unwrap())
                    .collect()
            })
        })
        .collect()
}

/// A stream collector into `sink` under `Backpressure::Block` with a queue of one batch of
/// one record: the smallest that makes a record find the batch and the queue full.
fn blocking_stream(format: StreamFormat, sink: &Shared) -> Arc<StreamCollector<LinearPath>> {
    Arc::new(
        StreamCollectorBuilder::new(format)
            .capacity(1)
            .batch_records(1)
            .backpressure(Backpressure::Block)
            .build::<LinearPath>(sink.clone())
            .unwrap(),
    )
}

/// Joins the callers; under `Block` every record of theirs was queued.
fn join_all_queued(callers: Vec<thread::JoinHandle<Vec<RecordOutcome>>>) {
    for caller in callers {
        let outcomes = caller.join().unwrap();
        assert!(
            outcomes.iter().all(|o| *o == RecordOutcome::Queued),
            "{outcomes:?}"
        );
    }
}

/// Two callers record two traces and one under `Backpressure::Block` through a queue of one
/// batch of one record (so the third record finds the batch full and, unless the writer took
/// the queued one already, the queue full, and waits): once they are joined and the stream
/// flushed, the sink holds every record exactly once, each caller's in order, and the
/// counters agree; closing changes none of it. (A flush racing the callers makes the model
/// too large to finish in minutes.)
#[test]
fn stream_blocking_writes_every_record_once_in_order() {
    explore(|| {
        let sink = Shared::default();
        let stream = blocking_stream(StreamFormat::Aprt, &sink);
        let callers = record_from_callers(&stream, &[2, 1]);
        join_all_queued(callers);
        stream.flush().unwrap();

        let mut written = sink.sequences();
        assert_runs(&written, 2, false);
        written.sort_unstable();
        assert_eq!(written, [0, 1, 10], "each record exactly once");
        let stats = stream.stream_stats();
        assert_eq!(
            (stats.recorded, stats.written, stats.dropped, stats.lost),
            (3, 3, 0, 0)
        );
        assert_eq!(stream.len(), 3);

        let stream = Arc::try_unwrap(stream).ok().unwrap();
        let stats = stream.close().unwrap();
        assert_eq!((stats.recorded, stats.written), (3, 3));
        assert_eq!(sink.sequences().len(), 3);
    });
}

/// JSON lines under `Backpressure::Block`, where a caller that finds the queue full renders
/// its batch's lines itself while it waits: two callers, three records, a queue of one
/// batch of one record. Once flushed the sink holds three whole lines, each exactly the
/// JSON view of its trace, once, each caller's in order.
#[test]
fn json_lines_from_blocked_callers_are_whole_each_once_and_in_order() {
    explore(|| {
        let sink = Shared::default();
        let stream = blocking_stream(StreamFormat::JsonLines, &sink);
        join_all_queued(record_from_callers(&stream, &[2, 1]));
        stream.flush().unwrap();
        let text = String::from_utf8(sink.0.lock().unwrap().clone()).unwrap();
        assert!(text.ends_with('\n'), "{text:?}");
        let mut written = Vec::new();
        for line in text.lines() {
            let trace: DecisionTrace<LinearPath> = whyline_core::from_json(line).unwrap();
            assert_whole(&trace);
            let mut expected = Vec::new();
            whyline_core::encode_json(&trace, &mut expected).unwrap();
            assert_eq!(line.as_bytes(), &expected[..]);
            written.push(trace.sequence);
        }
        assert_runs(&written, 2, false);
        written.sort_unstable();
        assert_eq!(written, [0, 1, 10], "each record exactly once");
        let stats = stream.stream_stats();
        assert_eq!((stats.recorded, stats.written, stats.lost), (3, 3, 0));
    });
}

/// A `flush` racing two callers under `Backpressure::Block` (one record each, a queue of one
/// batch of one record): no record is ever written twice, `flush` and the blocked callers
/// never wait on each other for good, and after a last flush both records are in the sink
/// once.
#[test]
fn a_flush_racing_the_callers_loses_and_repeats_nothing() {
    explore(|| {
        let sink = Shared::default();
        let stream = blocking_stream(StreamFormat::Aprt, &sink);
        let callers = record_from_callers(&stream, &[1, 1]);
        stream.flush().unwrap();
        let mut seen = sink.sequences();
        seen.sort_unstable();
        seen.dedup();
        assert_eq!(seen.len(), sink.sequences().len(), "a record written twice");
        join_all_queued(callers);
        stream.flush().unwrap();
        let mut written = sink.sequences();
        written.sort_unstable();
        assert_eq!(written, [0, 10], "each record exactly once");
        let stats = stream.stream_stats();
        assert_eq!((stats.recorded, stats.written, stats.lost), (2, 2, 0));
    });
}

/// A `flush` racing a caller's records under `Backpressure::Block` (a queue of one batch of
/// one record; a full batch leaves when the next record comes): the main thread records the
/// first trace, then a caller thread the next two while the main thread flushes, so the
/// flush can take the pending batch while the caller goes on to send the next one. The
/// three are ordered by happens-before, so what the flush leaves in the sink is a prefix
/// of them, none twice or out of order, and after the caller is joined and a last flush all
/// three are there once, in order. (The two-caller model above has one record a caller, so
/// it cannot see records reordered around a flush.)
#[test]
fn a_flush_racing_a_callers_records_keeps_their_order() {
    explore(|| {
        let sink = Shared::default();
        let stream = blocking_stream(StreamFormat::Aprt, &sink);
        assert_eq!(stream.record(&trace(0, 0)).unwrap(), RecordOutcome::Queued);
        let caller = {
            let stream = Arc::clone(&stream);
            thread::spawn(move || {
                (1..3)
                    .map(|n| stream.record(&trace(0, n)).unwrap())
                    .collect()
            })
        };
        stream.flush().unwrap();
        let seen = sink.sequences();
        assert!(
            [&[0][..], &[0, 1], &[0, 1, 2]].contains(&&seen[..]),
            "{seen:?}"
        );
        join_all_queued(vec![caller]);
        stream.flush().unwrap();
        assert_eq!(sink.sequences(), [0, 1, 2], "each record once, in order");
        let stats = stream.stream_stats();
        assert_eq!((stats.recorded, stats.written, stats.lost), (3, 3, 0));
    });
}

/// The same two callers under `Backpressure::Drop`, into a batch sink: whatever the
/// interleaving, every record is either written (once, in its caller's order) or dropped and
/// counted, the outcomes the callers saw say which, and written + dropped == recorded.
#[test]
fn stream_dropping_writes_or_counts_every_record() {
    explore(|| {
        let sink = Shared::default();
        let stream = Arc::new(
            StreamCollectorBuilder::new(StreamFormat::Aprt)
                .capacity(1)
                .batch_records(1)
                .backpressure(Backpressure::Drop)
                .build_batches::<LinearPath>(sink.clone())
                .unwrap(),
        );
        let callers = record_from_callers(&stream, &[2, 2]);
        let mut queued = Vec::new();
        let mut dropped = 0;
        for (caller, handle) in callers.into_iter().enumerate() {
            for (n, outcome) in handle.join().unwrap().into_iter().enumerate() {
                match outcome {
                    RecordOutcome::Queued => queued.push(10 * caller as u64 + n as u64),
                    RecordOutcome::Dropped => dropped += 1,
                    other => panic!("unexpected outcome {other:?}"),
                }
            }
        }
        let stream = Arc::try_unwrap(stream).ok().unwrap();
        let stats = stream.close().unwrap();

        let mut written = sink.sequences();
        assert_runs(&written, 2, true);
        written.sort_unstable();
        assert_eq!(written, queued, "the queued records, each once");
        assert_eq!(stats.dropped, dropped);
        assert_eq!(stats.written, queued.len() as u64);
        assert_eq!(stats.written + stats.dropped, 4, "{stats:?}");
        assert_eq!(stats.recorded, stats.written);
        assert_eq!(stats.lost, 0);
    });
}

/// Two threads append under `Durability::Sync` (one group commit at a time, shared by the
/// appenders waiting meanwhile): every receipt returned is durable by then, and the indices
/// of both threads together are 0..4 without a gap or a repeat.
#[test]
fn group_commit_returns_only_durable_gapless_receipts() {
    explore(|| {
        let options = LedgerOptions::without_checkpoints("loom").durability(Durability::Sync);
        let collector = Arc::new(LedgerCollector::<MemoryStore>::in_memory(options).unwrap());
        let appenders: Vec<_> = (0..2)
            .map(|caller| {
                let collector = Arc::clone(&collector);
                thread::spawn(move || {
                    (0..2)
                        .map(|n| {
                            let outcome = collector.record(&trace(caller, n)).unwrap();
                            let RecordOutcome::Appended { index, .. } = outcome else {
                                panic!("unexpected outcome {outcome:?}");
                            };
                            assert!(
                                collector.durable_size() > index,
                                "entry {index} returned before it was durable ({} durable)",
                                collector.durable_size()
                            );
                            index
                        })
                        .collect::<Vec<u64>>()
                })
            })
            .collect();
        let mut indices = Vec::new();
        for appender in appenders {
            let mine = appender.join().unwrap();
            assert!(mine.windows(2).all(|w| w[0] < w[1]), "{mine:?}");
            indices.extend(mine);
        }
        indices.sort_unstable();
        assert_eq!(indices, [0, 1, 2, 3]);
        assert_eq!(collector.durable_size(), 4);
    });
}

/// Under `Durability::Interval` the commit thread syncs in the background (woken every two
/// uncommitted entries; the delay is an hour, so only the count and `flush` commit here):
/// one thread appends three entries while the main thread appends one and flushes. No
/// interleaving deadlocks the appenders, the commit thread and `flush`; the collector never
/// claims more entries durable than the ledger has synced; every receipt is durable once
/// `flush` returns, the indices are 0..4 without a gap, and the store's durable length is
/// its whole length.
#[test]
fn interval_commits_in_the_background_and_flush_leaves_nothing_behind() {
    explore(|| {
        let options = LedgerOptions::without_checkpoints("loom").durability(Durability::Interval {
            entries: 2,
            max_delay: std::time::Duration::from_secs(3600),
        });
        let collector = Arc::new(LedgerCollector::<MemoryStore>::in_memory(options).unwrap());
        let index_of = |outcome: RecordOutcome| match outcome {
            RecordOutcome::Appended { index, .. } => index,
            other => panic!("unexpected outcome {other:?}"),
        };
        let appender = {
            let collector = Arc::clone(&collector);
            thread::spawn(move || {
                (0..3)
                    .map(|n| {
                        let index = index_of(collector.record(&trace(1, n)).unwrap());
                        // Never more claimed durable than the ledger has synced.
                        let claimed = collector.durable_size();
                        let synced = collector.with_ledger(|l| l.durable_size()).unwrap();
                        assert!(claimed <= synced, "{claimed} claimed, {synced} synced");
                        index
                    })
                    .collect::<Vec<u64>>()
            })
        };
        let mine = index_of(collector.record(&trace(0, 0)).unwrap());
        let before = collector.durable_size();
        TraceCollector::<LinearPath>::flush(&*collector).unwrap();
        let after = collector.durable_size();
        assert!(
            after >= before && after > mine,
            "{before} then {after}, mine {mine}"
        );
        let theirs = appender.join().unwrap();
        assert!(theirs.windows(2).all(|w| w[0] < w[1]), "{theirs:?}");
        TraceCollector::<LinearPath>::flush(&*collector).unwrap();
        assert_eq!(collector.durable_size(), 4);
        let mut indices = theirs;
        indices.push(mine);
        indices.sort_unstable();
        assert_eq!(indices, [0, 1, 2, 3]);
        let Ok(collector) = Arc::try_unwrap(collector) else {
            panic!("the appender still holds the collector");
        };
        let ledger = collector.into_ledger().unwrap();
        assert_eq!((ledger.size(), ledger.durable_size()), (4, 4));
        let store = ledger.store();
        assert_eq!(store.durable_len(), store.len());
    });
}

/// The pipelined ledger collector: two callers record two traces and one through batches of
/// two entries and a queue of one batch (so a caller can find the queue full and wait, a
/// record can sit in a partial batch, and the sequencer can take it when idle) while the
/// main thread flushes. No deadlock among callers, flush and sequencer, and once closed
/// the ledger holds every record exactly once.
#[test]
fn the_pipelined_ledger_appends_every_record_once() {
    // The ledger's own locks and atomics make each append a few hundred steps: more than
    // loom's default bound on one execution's branches allows beside an idle-polling
    // sequencer.
    let mut builder = loom::model::Builder::new();
    builder.preemption_bound = builder.preemption_bound.or(Some(DEFAULT_PREEMPTIONS));
    builder.max_branches = 100_000;
    builder.check(|| {
        let ledger = LedgerCollector::in_memory(
            LedgerOptions::without_checkpoints("loom").durability(Durability::None),
        )
        .unwrap();
        let collector = Arc::new(PipelinedLedgerCollector::with_batch(ledger, 2, 1).unwrap());
        let callers: Vec<_> = [2, 1]
            .into_iter()
            .enumerate()
            .map(|(caller, records)| {
                let collector = Arc::clone(&collector);
                thread::spawn(move || {
                    (0..records)
                        .map(|n| collector.record(&trace(caller as u64, n)).unwrap())
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        collector.flush().unwrap();
        for caller in callers {
            let outcomes = caller.join().unwrap();
            assert!(
                outcomes.iter().all(|o| *o == RecordOutcome::Queued),
                "{outcomes:?}"
            );
        }
        let collector = Arc::try_unwrap(collector).ok().unwrap();
        let ledger = collector.close().unwrap().into_ledger().unwrap();
        let mut found: Vec<u64> = (0..ledger.size())
            .map(|index| {
                let entry = ledger.read_entry(index).unwrap();
                whyline_core::from_aprt::<LinearPath>(&entry.payload)
                    .unwrap()
                    .sequence
            })
            .collect();
        found.sort_unstable();
        assert_eq!(found, [0, 1, 10], "each record exactly once");
    });
}
