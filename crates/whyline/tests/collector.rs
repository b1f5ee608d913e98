//! `RecorderCollector`: each accessor answers for its own kind only, and every
//! `TraceCollector` call reaches the collector the profile chose (what a ledger keeps, a
//! ring or a stream says it does not).

use std::path::Path;

use whyline::core::{
    AlertRecord, AnyPath, DecisionTrace, Durability, InputEvidence, RecordOutcome, TraceCollector,
};
use whyline::ledger::collector::{DynamicRingCollector, StreamCollectorBuilder};
use whyline::{CollectorChoice, MonitorSettings, Recorder, RecorderCollector, StreamFormat};

fn settings(toml: &str) -> MonitorSettings {
    MonitorSettings::from_toml(
        &format!("[inference_monitor]\n{toml}"),
        Path::new("collector.toml"),
    )
    .unwrap()
}

fn trace(sequence: u64) -> DecisionTrace<AnyPath> {
    DecisionTrace {
        timestamp_ns: 1_700_000_000_000_000_000 + sequence,
        sequence,
        input_hash: sequence,
        output: 0.5,
        latency_ns: 1_000,
        path: AnyPath::default(),
    }
}

fn alert(sequence: u64) -> AlertRecord {
    AlertRecord {
        sequence,
        timestamp_ns: 1_700_000_000_000_000_000 + sequence,
        level: "yellow".into(),
        kind: "low_confidence".into(),
        message: "confidence 0.4 under 0.5".into(),
        details: Default::default(),
    }
}

#[test]
fn each_accessor_answers_for_its_own_collector_only() {
    let dir = tempfile::tempdir().unwrap();
    let ring: Recorder =
        Recorder::from_settings(&settings("collector = \"ring\""), dir.path()).unwrap();
    let ring = ring.collector();
    assert_eq!(ring.kind(), CollectorChoice::Ring);
    assert!(ring.as_ring().is_some());
    assert!(ring.as_stream().is_none() && ring.as_ledger().is_none());
    assert!(ring.location().is_none() && ring.log_location().is_none());
    assert_eq!(ring.durability().unwrap(), Durability::None);
    assert!(ring.verifier().unwrap().is_none());
    assert_eq!(ring.checkpoint().unwrap(), None);
    assert_eq!(ring.checkpoint_every().unwrap(), None);

    let stream: Recorder =
        Recorder::from_settings(&settings("collector = \"stream\""), dir.path()).unwrap();
    let stream = stream.collector();
    assert_eq!(stream.kind(), CollectorChoice::Stream);
    assert!(stream.as_stream().is_some());
    assert!(stream.as_ring().is_none() && stream.as_ledger().is_none());
    assert_eq!(
        stream.location(),
        Some(dir.path().join("decisions.aprt").as_path())
    );
    assert!(stream.log_location().is_none());
    assert!(stream.verifier().unwrap().is_none());
    assert_eq!(stream.checkpoint().unwrap(), None);

    let ledger_dir = dir.path().join("ledger");
    let ledger: Recorder =
        Recorder::from_settings(&settings("collector = \"ledger\""), &ledger_dir).unwrap();
    let ledger = ledger.collector();
    assert_eq!(ledger.kind(), CollectorChoice::Ledger);
    assert!(ledger.as_ledger().is_some());
    assert!(ledger.as_ring().is_none() && ledger.as_stream().is_none());
    assert_eq!(
        ledger.log_location().unwrap().as_dir(),
        Some(ledger_dir.as_path())
    );
    // A ledger that signs nothing writes no checkpoints.
    assert_eq!(ledger.checkpoint_every().unwrap(), None);
    assert!(ledger.verifier().unwrap().is_none());
}

#[test]
fn a_ledger_keeps_every_trace_alert_and_input_it_is_given() {
    let dir = tempfile::tempdir().unwrap();
    let recorder: Recorder =
        Recorder::from_settings(&settings("collector = \"ledger\""), dir.path()).unwrap();
    let collector = recorder.collector();
    assert!(collector.enabled());
    assert!(collector.keeps_alerts());
    assert!(
        !collector.keeps_inputs(),
        "no sealer: the profile does not record inputs"
    );
    let first = collector.record(&trace(0)).unwrap();
    assert!(
        matches!(first, RecordOutcome::Appended { index: 0, .. }),
        "{first:?}"
    );
    let second = collector
        .record_with_alerts(&trace(1), &[alert(1), alert(1)])
        .unwrap();
    assert!(
        matches!(second, RecordOutcome::Appended { index: 1, .. }),
        "{second:?}"
    );
    let lone = collector.record_alert(&alert(1)).unwrap();
    assert!(
        matches!(lone, Some(RecordOutcome::Appended { index: 4, .. })),
        "two alerts went in with the decision: {lone:?}"
    );
    collector.flush().unwrap();
    // A ledger counts the entries it appended.
    assert_eq!(collector.len(), 5);
    assert_eq!(collector.stats().recorded, 5);
    let kinds: Vec<_> = crate::support::entries(dir.path())
        .into_iter()
        .map(|(kind, _)| kind)
        .collect();
    use whyline::core::EntryKind::{Alert, Decision};
    assert_eq!(kinds, vec![Decision, Decision, Alert, Alert, Alert]);
}

#[test]
fn a_ledger_recording_inputs_seals_them_and_a_ring_or_stream_keeps_none() {
    let dir = tempfile::tempdir().unwrap();
    let recorder: Recorder = Recorder::from_settings(
        &settings("collector = \"ledger\"\nrecord_inputs = true"),
        dir.path(),
    )
    .unwrap();
    let collector = recorder.collector();
    assert!(collector.keeps_inputs());
    let values = [1.5, -2.0];
    let decision = trace(0);
    let RecordOutcome::Appended { index, leaf_hash } = collector.record(&decision).unwrap() else {
        panic!("not appended");
    };
    let input = InputEvidence {
        decision_index: index,
        trace_hash: leaf_hash,
        timestamp_ns: decision.timestamp_ns,
        subject: Some("car-1"),
        values: &values,
        context: &[],
    };
    let sealed = collector.record_input(&input).unwrap();
    assert!(
        matches!(sealed, Some(RecordOutcome::Appended { index: 1, .. })),
        "{sealed:?}"
    );
    collector.flush().unwrap();
    drop(recorder);
    let (inputs, _) = whyline::forensics::read_decision_evidence(
        dir.path(),
        decision.timestamp_ns,
        decision.timestamp_ns,
    )
    .unwrap();
    assert_eq!(
        inputs[&index].values,
        vec![1.5, -2.0],
        "sealed and opened again"
    );

    // A ring and a stream keep the trace and say they kept no input.
    for mut collector in [
        RecorderCollector::Ring(DynamicRingCollector::with_capacity(4).unwrap()),
        RecorderCollector::Stream {
            collector: StreamCollectorBuilder::new(StreamFormat::Aprt)
                .build(std::io::sink())
                .unwrap(),
            file: dir.path().join("unused"),
            durability: Durability::None,
        },
    ] {
        let kind = collector.kind();
        // A ring stores in place; a stream queues for its writer.
        let kept_as = match kind {
            CollectorChoice::Ring => RecordOutcome::Stored,
            _ => RecordOutcome::Queued,
        };
        assert_eq!(collector.record(&trace(0)).unwrap(), kept_as, "{kind:?}");
        let (outcome, kept) = collector.record_with_input(&decision, &input).unwrap();
        assert_eq!((outcome, kept), (kept_as, None), "{kind:?}: no input kept");
        assert_eq!(
            collector.record_exclusive(&trace(1)).unwrap(),
            kept_as,
            "{kind:?}"
        );
        collector.flush().unwrap();
        assert_eq!(collector.len(), 3, "{kind:?}");
        let refused = collector.ingest(b"", whyline::ledger::IngestFormat::JsonLines);
        assert!(
            matches!(refused, Err(whyline::WhylineError::NeedsLedger { .. })),
            "{kind:?}"
        );
    }
}

/// A stream synced at an interval writes every record to its file, syncing as it goes.
#[test]
fn an_interval_stream_writes_every_record_to_its_file() {
    let dir = tempfile::tempdir().unwrap();
    let recorder: Recorder = Recorder::from_settings(
        &settings("collector = \"stream\"\ndurability = \"interval\"\ngroup_commit_ms = 1"),
        dir.path(),
    )
    .unwrap();
    let collector = recorder.collector();
    assert!(matches!(
        collector.durability().unwrap(),
        Durability::Interval { .. }
    ));
    for sequence in 0..3 {
        collector.record(&trace(sequence)).unwrap();
        collector.flush().unwrap();
        std::thread::sleep(std::time::Duration::from_millis(3));
    }
    drop(recorder);
    let bytes = std::fs::read(dir.path().join("decisions.aprt")).unwrap();
    let read: Vec<u64> = whyline::core::AprtRecords::<AnyPath>::new(&bytes)
        .map(|record| record.unwrap().1.sequence)
        .collect();
    assert_eq!(read, [0, 1, 2]);
}
