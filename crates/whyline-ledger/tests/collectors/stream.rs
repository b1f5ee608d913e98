//! Stream collector: backpressure policies, flush and drop semantics, writer errors.

use std::io::{self, Write};
use std::time::Duration;

use whyline_core::{
    CoreError, DecisionTrace, LinearPath, RecordOutcome, TraceCollector, encode_json,
};
use whyline_ledger::LedgerError;
use whyline_ledger::collector::{
    Backpressure, StreamCollector, StreamCollectorBuilder, StreamFormat,
};

use crate::support::{
    ByteBudget, FailingWriter, SharedBuffer, SlowWriter, aprt_sequences, collector_error,
    first_difference, json_lines_len, json_traces, linear_trace,
};

fn slow_sink(delay_us: u64) -> (SlowWriter, SharedBuffer) {
    let output = SharedBuffer::default();
    let writer = SlowWriter {
        inner: output.clone(),
        delay: Duration::from_micros(delay_us),
    };
    (writer, output)
}

/// Records `0..count`, returning the sequences of each outcome.
fn offer(stream: &StreamCollector<LinearPath>, count: u64) -> (Vec<u64>, Vec<u64>, Vec<u64>) {
    let (mut queued, mut dropped, mut fallback) = (Vec::new(), Vec::new(), Vec::new());
    for sequence in 0..count {
        match stream.record(&linear_trace(sequence)).unwrap() {
            RecordOutcome::Queued => queued.push(sequence),
            RecordOutcome::Dropped => dropped.push(sequence),
            RecordOutcome::Fallback => fallback.push(sequence),
            other => panic!("unexpected outcome {other:?} for {sequence}"),
        }
    }
    (queued, dropped, fallback)
}

#[test]
fn block_loses_nothing_when_the_writer_is_100x_slower_than_the_producer() {
    // The producer offers a record in well under a microsecond; the sink takes 50 µs
    // (plus the sleep's own overhead) per record, with no buffer in between.
    let (writer, output) = slow_sink(50);
    let stream = StreamCollectorBuilder::new(StreamFormat::Aprt)
        .capacity(8)
        .buffer_bytes(0)
        .backpressure(Backpressure::Block)
        .build::<LinearPath>(writer)
        .unwrap();
    std::thread::scope(|scope| {
        for thread in 0..2u64 {
            let stream = &stream;
            scope.spawn(move || {
                for i in 0..1_000 {
                    let outcome = stream.record(&linear_trace(thread * 1_000 + i)).unwrap();
                    assert_eq!(outcome, RecordOutcome::Queued);
                }
            });
        }
    });
    stream.flush().unwrap();
    let mut written = aprt_sequences(&output.bytes());
    written.sort_unstable();
    let expected: Vec<u64> = (0..2_000).collect();
    assert!(
        written == expected,
        "{}",
        first_difference(&expected, &written)
    );
    let stats = stream.stream_stats();
    assert_eq!(
        (stats.recorded, stats.dropped, stats.written),
        (2_000, 0, 2_000)
    );
}

#[test]
fn drop_counts_exactly_what_it_dropped_and_writes_exactly_what_it_queued() {
    let (writer, output) = slow_sink(50);
    let stream = StreamCollectorBuilder::new(StreamFormat::Aprt)
        .capacity(4)
        .buffer_bytes(0)
        .backpressure(Backpressure::Drop)
        .build::<LinearPath>(writer)
        .unwrap();
    let (queued, dropped, fallback) = offer(&stream, 500);
    assert!(fallback.is_empty());
    assert!(
        !dropped.is_empty(),
        "a 4-record queue in front of a slow sink must overflow"
    );
    let stats = stream.stats();
    assert_eq!(stats.dropped, dropped.len() as u64);
    assert_eq!(stats.recorded, queued.len() as u64);
    assert_eq!(stats.recorded + stats.dropped, 500);
    stream.flush().unwrap();
    let written = aprt_sequences(&output.bytes());
    assert!(written == queued, "{}", first_difference(&queued, &written));
    assert_eq!(stream.len(), queued.len() as u64);
}

#[test]
fn fallback_puts_every_overflow_record_in_the_fallback_sink_and_loses_nothing() {
    let (writer, output) = slow_sink(50);
    let overflow = SharedBuffer::default();
    let stream = StreamCollectorBuilder::new(StreamFormat::JsonLines)
        .capacity(4)
        .buffer_bytes(0)
        .fallback(overflow.clone())
        .build::<LinearPath>(writer)
        .unwrap();
    let (queued, dropped, fallback) = offer(&stream, 300);
    assert!(dropped.is_empty());
    assert!(
        !fallback.is_empty(),
        "a 4-record queue in front of a slow sink must overflow"
    );
    stream.flush().unwrap();
    let main: Vec<DecisionTrace<LinearPath>> = json_traces(&output.bytes());
    let diverted: Vec<DecisionTrace<LinearPath>> = json_traces(&overflow.bytes());
    let main_sequences: Vec<u64> = main.iter().map(|t| t.sequence).collect();
    let diverted_sequences: Vec<u64> = diverted.iter().map(|t| t.sequence).collect();
    assert!(
        main_sequences == queued,
        "{}",
        first_difference(&queued, &main_sequences)
    );
    assert!(
        diverted_sequences == fallback,
        "{}",
        first_difference(&fallback, &diverted_sequences)
    );
    // Both sinks hold the traces exactly as offered, latency nanoseconds included.
    for trace in main.iter().chain(&diverted) {
        assert_eq!(trace, &linear_trace(trace.sequence));
    }
    let stats = stream.stats();
    assert_eq!(stats.fallback, fallback.len() as u64);
    assert_eq!(stats.recorded, 300);
    assert_eq!(stream.len(), 300);
}

#[test]
fn dropping_the_collector_without_flush_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    for format in [StreamFormat::Aprt, StreamFormat::JsonLines] {
        let path = dir.path().join(format!("{format}.out"));
        {
            let stream = StreamCollectorBuilder::new(format)
                .capacity(64)
                .build::<LinearPath>(std::fs::File::create(&path).unwrap())
                .unwrap();
            for sequence in 0..10_000 {
                stream.record(&linear_trace(sequence)).unwrap();
            }
            // No flush: dropping must write out the queue and the buffer.
        }
        let bytes = std::fs::read(&path).unwrap();
        let written: Vec<u64> = match format {
            StreamFormat::Aprt => aprt_sequences(&bytes),
            StreamFormat::JsonLines => json_traces(&bytes).iter().map(|t| t.sequence).collect(),
        };
        let expected: Vec<u64> = (0..10_000).collect();
        assert!(
            written == expected,
            "{format}: {}",
            first_difference(&expected, &written)
        );
    }
}

#[test]
fn json_lines_are_exactly_the_json_view_of_each_trace() {
    let output = SharedBuffer::default();
    let stream = StreamCollector::<LinearPath>::builder(StreamFormat::JsonLines)
        .build::<LinearPath>(output.clone())
        .unwrap();
    let mut expected = Vec::new();
    for sequence in 0..50 {
        let trace = linear_trace(sequence);
        stream.record(&trace).unwrap();
        encode_json(&trace, &mut expected).unwrap();
        expected.push(b'\n');
    }
    stream.flush().unwrap();
    assert_eq!(
        String::from_utf8(output.bytes()).unwrap(),
        String::from_utf8(expected).unwrap()
    );
}

#[test]
fn records_too_large_to_travel_inline_are_written_whole() {
    let output = SharedBuffer::default();
    let stream = StreamCollectorBuilder::new(StreamFormat::Aprt)
        .build::<LinearPath>(output.clone())
        .unwrap();
    let mut big = linear_trace(7);
    big.path.contributions = (0..500).map(|i| i as f32).collect();
    stream.record(&big).unwrap();
    stream.record(&linear_trace(8)).unwrap();
    let stats = stream.close().unwrap();
    assert_eq!(stats.written, 2);
    let back: Vec<_> = whyline_core::AprtRecords::<LinearPath>::new(&output.bytes())
        .map(|r| r.unwrap().1)
        .collect();
    assert_eq!(back[0].path, big.path);
    assert_eq!(back[1].sequence, 8);
}

#[test]
fn a_write_error_is_returned_once_then_the_writer_reports_itself_stopped() {
    let output = SharedBuffer::default();
    let stream = StreamCollectorBuilder::new(StreamFormat::Aprt)
        .buffer_bytes(0)
        .build::<LinearPath>(FailingWriter {
            inner: output.clone(),
            good_writes: 3,
        })
        .unwrap();
    let mut errors = Vec::new();
    let mut accepted = 0u64;
    for sequence in 0..20 {
        match stream.record(&linear_trace(sequence)) {
            Ok(outcome) => {
                assert_eq!(outcome, RecordOutcome::Queued);
                accepted += 1;
            }
            Err(error) => errors.push(error),
        }
    }
    // A failed record names the decision it was recording; a failed flush names none.
    let recorded = errors.len();
    assert!(
        errors
            .iter()
            .all(|e| matches!(e, CoreError::Collector { sequence: Some(s), .. } if *s < 20)),
        "{errors:?}"
    );
    errors.push(stream.flush().unwrap_err());
    errors.push(stream.flush().unwrap_err());
    assert!(
        errors[recorded..]
            .iter()
            .all(|e| matches!(e, CoreError::Collector { sequence: None, .. })),
        "{errors:?}"
    );
    // Exactly one error is the sink's own, naming the first record that failed; every other
    // call says the writer has stopped.
    let kinds: Vec<&LedgerError> = errors.iter().map(collector_error).collect();
    let own: Vec<_> = kinds
        .iter()
        .filter(|e| matches!(e, LedgerError::StreamWrite { .. }))
        .collect();
    assert_eq!(own.len(), 1, "{kinds:?}");
    assert!(
        matches!(own[0], LedgerError::StreamWrite { record: 3, format: StreamFormat::Aprt, source }
            if source.to_string() == "disk on fire"),
        "{kinds:?}"
    );
    assert!(
        kinds.iter().all(|e| matches!(
            e,
            LedgerError::StreamWrite { .. } | LedgerError::WriterStopped { .. }
        )),
        "{kinds:?}"
    );
    let stats = stream.stream_stats();
    assert_eq!(stats.write_errors, 1);
    assert_eq!(stats.written, 3);
    assert_eq!(stats.recorded, accepted);
    assert_eq!(
        stats.lost,
        accepted - 3,
        "every accepted record after the error is lost, and counted"
    );
    assert_eq!(aprt_sequences(&output.bytes()), [0, 1, 2]);
    assert!(matches!(
        stream.close(),
        Err(LedgerError::WriterStopped { .. })
    ));
}

#[test]
fn close_returns_the_writer_error_when_no_call_has_seen_it_yet() {
    let stream = StreamCollectorBuilder::new(StreamFormat::JsonLines)
        .buffer_bytes(0)
        .build::<LinearPath>(FailingWriter {
            inner: SharedBuffer::default(),
            good_writes: 0,
        })
        .unwrap();
    // The writer fails in the background; this record may or may not be the last accepted.
    let _ = stream.record(&linear_trace(0));
    let error = stream.close().unwrap_err();
    assert!(
        matches!(
            error,
            LedgerError::StreamWrite { record: 0, .. } | LedgerError::WriterStopped { .. }
        ),
        "{error:?}"
    );
}

#[test]
fn builder_rejects_a_fallback_policy_without_a_sink_and_a_zero_capacity() {
    let missing = StreamCollectorBuilder::new(StreamFormat::Aprt)
        .backpressure(Backpressure::Fallback)
        .build::<LinearPath>(io::sink())
        .unwrap_err();
    assert!(
        matches!(missing, LedgerError::MissingFallback),
        "{missing:?}"
    );
    let zero = StreamCollectorBuilder::new(StreamFormat::Aprt)
        .capacity(0)
        .build::<LinearPath>(io::sink())
        .unwrap_err();
    assert!(
        matches!(
            zero,
            LedgerError::InvalidSetting {
                setting: "capacity",
                ref value,
                ..
            } if value == "0"
        ),
        "{zero:?}"
    );
}

#[test]
fn a_trickle_of_records_reaches_the_sink_without_flush() {
    // A default stream batches hundreds of records; one record alone must not wait for the
    // batch to fill: the idle writer takes the partial batch. The bound is generous (the
    // writer looks every few milliseconds); only a record that never arrives fails.
    let output = SharedBuffer::default();
    let stream = StreamCollectorBuilder::new(StreamFormat::Aprt)
        .build::<LinearPath>(output.clone())
        .unwrap();
    let arrives = |expected: &[u64]| {
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        loop {
            let written = aprt_sequences(&output.bytes());
            if written == expected {
                return;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "after 10 s without flush the sink holds {written:?}, expected {expected:?}"
            );
            std::thread::sleep(Duration::from_millis(1));
        }
    };
    stream.record(&linear_trace(0)).unwrap();
    arrives(&[0]);
    // Long enough for the writer to find nothing pending and sleep: the next record must
    // wake it.
    std::thread::sleep(Duration::from_millis(50));
    stream.record(&linear_trace(1)).unwrap();
    arrives(&[0, 1]);
    assert_eq!(stream.len(), 2);
    assert_eq!(stream.close().unwrap().written, 2);
}

#[test]
fn records_of_each_thread_stay_in_order_across_batches() {
    let output = SharedBuffer::default();
    let stream = StreamCollectorBuilder::new(StreamFormat::Aprt)
        .capacity(256)
        .batch_records(16)
        .backpressure(Backpressure::Block)
        .build::<LinearPath>(output.clone())
        .unwrap();
    const THREADS: u64 = 4;
    const EACH: u64 = 5_000;
    std::thread::scope(|scope| {
        for thread in 0..THREADS {
            let stream = &stream;
            scope.spawn(move || {
                for i in 0..EACH {
                    stream.record(&linear_trace(thread * EACH + i)).unwrap();
                }
            });
        }
    });
    stream.flush().unwrap();
    let written = aprt_sequences(&output.bytes());
    for thread in 0..THREADS {
        let own: Vec<u64> = written
            .iter()
            .copied()
            .filter(|s| s / EACH == thread)
            .collect();
        let expected: Vec<u64> = (thread * EACH..(thread + 1) * EACH).collect();
        assert!(
            own == expected,
            "thread {thread}: {}",
            first_difference(&expected, &own)
        );
    }
    assert_eq!(stream.len(), THREADS * EACH);
}

#[test]
fn drop_and_fallback_decide_per_record_when_batches_are_full() {
    for policy in [Backpressure::Drop, Backpressure::Fallback] {
        let (writer, output) = slow_sink(20);
        let overflow = SharedBuffer::default();
        let mut builder = StreamCollectorBuilder::new(StreamFormat::Aprt);
        builder.capacity(32).batch_records(8).buffer_bytes(0);
        match policy {
            Backpressure::Fallback => builder.fallback(overflow.clone()),
            _ => builder.backpressure(policy),
        };
        let stream = builder.build::<LinearPath>(writer).unwrap();
        let (queued, dropped, fallback) = offer(&stream, 2_000);
        assert!(
            !dropped.is_empty() || !fallback.is_empty(),
            "{policy:?}: 32 records in front of a slow sink must overflow"
        );
        stream.flush().unwrap();
        let written = aprt_sequences(&output.bytes());
        assert!(
            written == queued,
            "{policy:?}: {}",
            first_difference(&queued, &written)
        );
        let diverted = aprt_sequences(&overflow.bytes());
        assert!(
            diverted == fallback,
            "{policy:?}: {}",
            first_difference(&fallback, &diverted)
        );
        let stats = stream.stream_stats();
        assert_eq!(stats.dropped, dropped.len() as u64, "{policy:?}");
        assert_eq!(stats.fallback, fallback.len() as u64, "{policy:?}");
        assert_eq!(stats.recorded + stats.dropped, 2_000, "{policy:?}");
        assert_eq!(stats.written, queued.len() as u64, "{policy:?}");
        assert_eq!(stats.lost, 0, "{policy:?}");
    }
}

#[test]
fn a_write_error_counts_every_batched_record_after_it_as_lost() {
    // Batches of 8: the error hits in the middle of a batch; the rest of that batch, the
    // queued batches and the partial batch pushed by `flush` are all counted.
    // JSON lines go to the sink a chunk per write, so the sink fails after five lines'
    // bytes rather than after five writes.
    let output = SharedBuffer::default();
    let stream = StreamCollectorBuilder::new(StreamFormat::JsonLines)
        .batch_records(8)
        .buffer_bytes(0)
        .build::<LinearPath>(ByteBudget::new(output.clone(), json_lines_len(0..5)))
        .unwrap();
    let mut accepted = 0u64;
    for sequence in 0..100 {
        if stream.record(&linear_trace(sequence)).is_ok() {
            accepted += 1;
        }
    }
    let _ = stream.flush();
    let stats = stream.stream_stats();
    assert_eq!(stats.written, 5);
    assert_eq!(stats.recorded, accepted);
    assert_eq!(stats.lost, accepted - 5);
    assert_eq!(json_traces(&output.bytes()).len(), 5);
}

#[test]
fn builder_rejects_a_zero_batch() {
    let zero = StreamCollectorBuilder::new(StreamFormat::Aprt)
        .batch_records(0)
        .build::<LinearPath>(io::sink())
        .unwrap_err();
    assert!(
        matches!(
            zero,
            LedgerError::InvalidSetting {
                setting: "batch_records",
                ..
            }
        ),
        "{zero:?}"
    );
}

#[test]
fn json_lines_from_several_blocked_threads_are_exact_and_in_order() {
    // A slow sink keeps the queue full, so callers under `Block` wait with full batches;
    // the lines must still be exactly the JSON view of each trace, in each thread's order.
    let (writer, output) = slow_sink(20);
    let stream = StreamCollectorBuilder::new(StreamFormat::JsonLines)
        .capacity(64)
        .batch_records(8)
        .buffer_bytes(0)
        .backpressure(Backpressure::Block)
        .build::<LinearPath>(writer)
        .unwrap();
    const THREADS: u64 = 3;
    const EACH: u64 = 300;
    std::thread::scope(|scope| {
        for thread in 0..THREADS {
            let stream = &stream;
            scope.spawn(move || {
                for i in 0..EACH {
                    let outcome = stream.record(&linear_trace(thread * EACH + i)).unwrap();
                    assert_eq!(outcome, RecordOutcome::Queued);
                }
            });
        }
    });
    stream.flush().unwrap();
    let text = String::from_utf8(output.bytes()).unwrap();
    let mut per_thread = vec![Vec::new(); THREADS as usize];
    for line in text.lines() {
        let trace: DecisionTrace<LinearPath> = whyline_core::from_json(line).unwrap();
        let mut expected = Vec::new();
        encode_json(&linear_trace(trace.sequence), &mut expected).unwrap();
        assert_eq!(line.as_bytes(), &expected[..]);
        per_thread[(trace.sequence / EACH) as usize].push(trace.sequence);
    }
    for (thread, sequences) in per_thread.iter().enumerate() {
        let thread = thread as u64;
        let expected: Vec<u64> = (thread * EACH..(thread + 1) * EACH).collect();
        assert!(
            sequences == &expected,
            "thread {thread}: {}",
            first_difference(&expected, sequences)
        );
    }
    let stats = stream.close().unwrap();
    assert_eq!(
        (stats.recorded, stats.written),
        (THREADS * EACH, THREADS * EACH)
    );
}

/// A sink whose writes wait until the test opens the gate.
struct GatedWriter {
    inner: SharedBuffer,
    gate: std::sync::Arc<(std::sync::Mutex<bool>, std::sync::Condvar)>,
}

impl Write for GatedWriter {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        let (open, signal) = &*self.gate;
        let mut open = open.lock().unwrap();
        while !*open {
            open = signal.wait(open).unwrap();
        }
        self.inner.write(bytes)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[test]
fn stats_do_not_wait_behind_a_caller_blocked_on_a_full_queue() {
    let gate = std::sync::Arc::new((std::sync::Mutex::new(false), std::sync::Condvar::new()));
    let output = SharedBuffer::default();
    let stream = StreamCollectorBuilder::new(StreamFormat::Aprt)
        .capacity(2)
        .batch_records(1)
        .buffer_bytes(0)
        .backpressure(Backpressure::Block)
        .build::<LinearPath>(GatedWriter {
            inner: output.clone(),
            gate: std::sync::Arc::clone(&gate),
        })
        .unwrap();
    std::thread::scope(|scope| {
        let producer = scope.spawn(|| {
            for sequence in 0..10 {
                stream.record(&linear_trace(sequence)).unwrap();
            }
        });
        // The producer soon waits for room (holding the batch lock); stats must still answer.
        std::thread::sleep(Duration::from_millis(100));
        let (answer, answered) = std::sync::mpsc::channel();
        let stream = &stream;
        scope.spawn(move || answer.send(stream.stream_stats()).unwrap());
        let stats = answered.recv_timeout(Duration::from_secs(10));
        let (open, signal) = &*gate;
        *open.lock().unwrap() = true;
        signal.notify_all();
        producer.join().unwrap();
        // Asserted once the gate is open, so a failure fails rather than hangs.
        let stats = stats.expect("stream_stats answers while a producer is blocked");
        assert!(stats.recorded < 10, "{stats:?}");
    });
    stream.flush().unwrap();
    assert_eq!(aprt_sequences(&output.bytes()), (0..10).collect::<Vec<_>>());
    assert_eq!(stream.stats().recorded, 10);
}
