//! What a recorder's options do: the builder's origin, segment opener and key store, digest
//! keys, `build_at`'s split of keys and log, simulated time, and the collectors behind it.

use std::path::Path;

use whyline::core::{AprtRecords, EntryKind};
use whyline::ledger::SegmentFile;
use whyline::ledger::seal::{InputOpener, KeyStore, RecordedInput};
use whyline::monitor::InputRecording;
use whyline::{AnyPath, MonitorSettings, Recorder, TraceCollector};

use crate::support::{entries, intact, iris_model, iris_rows, ledger_settings};

/// A segment file that counts its syncs, for [`whyline::RecorderBuilder::segment_opener`].
struct CountingFile {
    file: std::fs::File,
    syncs: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

impl SegmentFile for CountingFile {
    fn append_all(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.file.append_all(bytes)
    }
    fn sync_data(&mut self) -> std::io::Result<()> {
        self.syncs
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        SegmentFile::sync_data(&mut self.file)
    }
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> std::io::Result<()> {
        SegmentFile::read_exact_at(&self.file, buf, offset)
    }
    fn set_len(&mut self, len: u64) -> std::io::Result<()> {
        SegmentFile::set_len(&mut self.file, len)
    }
    fn file_len(&self) -> std::io::Result<u64> {
        self.file.file_len()
    }
    fn sync_handle(&self) -> std::io::Result<std::sync::Arc<dyn whyline::ledger::SyncHandle>> {
        self.file.sync_handle()
    }
}

#[test]
fn a_builder_signs_under_its_origin_opens_segments_through_its_opener_and_seals_with_its_keys() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering};

    let dir = tempfile::tempdir().unwrap();
    let settings =
        ledger_settings("record_inputs = true\ncheckpoint_every = 4\ndurability = \"sync\"\n");
    let keys_path = dir.path().join("simulation.wks");
    let keys = KeyStore::create_for_simulation(&keys_path, 42).unwrap();
    let opened = Arc::new(AtomicU64::new(0));
    let syncs = Arc::new(AtomicU64::new(0));
    let opener: whyline::SharedSegmentOpener = {
        let (opened, syncs) = (Arc::clone(&opened), Arc::clone(&syncs));
        Arc::new(move |path: &Path| {
            opened.fetch_add(1, Ordering::Relaxed);
            let file = std::fs::OpenOptions::new()
                .create(true)
                .read(true)
                .append(true)
                .open(path)?;
            Ok(Box::new(CountingFile {
                file,
                syncs: Arc::clone(&syncs),
            }) as Box<dyn SegmentFile>)
        })
    };
    let recorder: Recorder = whyline::RecorderBuilder::new(&settings)
        .origin("example.org/fleet/AV-1")
        .segment_opener(opener)
        .key_store(keys)
        .build(dir.path())
        .unwrap();
    let mut monitor = recorder.monitor(iris_model()).unwrap();
    for row in iris_rows().take(4) {
        let recording = InputRecording {
            subject: Some("AV-1"),
            context: &[],
        };
        monitor.predict_one_recorded(&row, &recording).unwrap();
    }
    monitor.flush().unwrap();
    let checkpoint = monitor.collector().latest_checkpoint().unwrap().unwrap();
    drop(monitor);
    assert!(
        opened.load(Ordering::Relaxed) >= 1,
        "segments opened through the opener"
    );
    assert!(
        syncs.load(Ordering::Relaxed) >= 1,
        "and synced through them"
    );
    assert_eq!(checkpoint.lines().next(), Some("example.org/fleet/AV-1"));
    // The inputs open with the store given to the builder, not one made beside the ledger.
    assert!(!KeyStore::default_path(dir.path()).exists());
    let keys = KeyStore::open(&keys_path).unwrap();
    let mut opener = InputOpener::new(&keys);
    let sealed = entries(dir.path())
        .into_iter()
        .filter(|(kind, _)| *kind == EntryKind::Decision)
        .map(|(_, payload)| opener.open(&payload).unwrap().1)
        .filter(|input| matches!(input, RecordedInput::Sealed { .. }))
        .count();
    assert_eq!(sealed, 4);
    assert_eq!(intact(dir.path()), 5);
}

#[test]
fn training_statistics_come_from_the_model_file() {
    let model = iris_model();
    let statistics = whyline::training_statistics(model.info()).unwrap().unwrap();
    // The fixture's scikit-learn statistics cover its four features.
    assert_eq!(statistics.len(), 4);
}

/// The recorder's collector passes each call to the collector the profile chose: what a
/// ring and a stream keep (traces), and what they do not (alerts, inputs), as those say.
#[test]
fn a_ring_and_a_stream_recorder_keep_traces_but_no_alerts_or_inputs() {
    let alert = whyline::core::AlertRecord {
        sequence: 0,
        timestamp_ns: 1,
        level: "yellow".into(),
        kind: "low_confidence".into(),
        message: "confidence 0.4 under 0.5".into(),
        details: Default::default(),
    };
    let input = whyline::core::InputEvidence {
        decision_index: 0,
        trace_hash: [0; 32],
        timestamp_ns: 1,
        subject: None,
        values: &[1.0, 2.0],
        context: &[],
    };
    for profile in ["QM", "SIL1"] {
        let dir = tempfile::tempdir().unwrap();
        let recorder: Recorder =
            Recorder::from_settings(&crate::support::level(profile), dir.path()).unwrap();
        let collector = recorder.collector();
        assert!(
            !collector.keeps_alerts() && !collector.keeps_inputs(),
            "{profile}"
        );
        assert!(collector.enabled());
        for sequence in 0..3 {
            let trace = whyline::core::DecisionTrace {
                timestamp_ns: 1_700_000_000_000_000_000 + sequence,
                sequence,
                input_hash: sequence,
                output: 0.5,
                latency_ns: 1_000,
                path: AnyPath::default(),
            };
            collector
                .record_with_alerts(&trace, std::slice::from_ref(&alert))
                .unwrap();
        }
        assert_eq!(collector.record_alert(&alert).unwrap(), None, "{profile}");
        assert_eq!(collector.record_input(&input).unwrap(), None, "{profile}");
        collector.flush().unwrap();
        assert_eq!(collector.len(), 3, "{profile}");
        assert_eq!(collector.stats().recorded, 3, "{profile}");
    }
}

/// An existing digest key file is the key (the digests are HMAC-SHA256 under it, as
/// `whyline_core::digest::hmac_features` computes them); one that is not hex, or too short,
/// is refused with its path and the reason.
#[test]
fn a_digest_key_file_is_reused_and_a_bad_one_refused_with_its_reason() {
    let dir = tempfile::tempdir().unwrap();
    let key = [7u8; 24];
    std::fs::write(
        dir.path().join("digest.key"),
        format!("{}\n", hex::encode(key)),
    )
    .unwrap();
    let settings = MonitorSettings::from_toml(
        "[inference_monitor]\ndigest_key_file = \"digest.key\"\n",
        Path::new("d.toml"),
    )
    .unwrap();
    let recorder: Recorder = Recorder::from_settings(&settings, dir.path()).unwrap();
    assert!(
        recorder.created_files().is_empty(),
        "the key file was there"
    );
    let mut monitor = recorder.monitor(iris_model()).unwrap();
    let row = [5.1, 3.5, 1.4, 0.2];
    monitor.predict_one(&row).unwrap();
    assert_eq!(
        monitor.last_trace().unwrap().input_hash,
        whyline::core::digest::hmac_features(&key, &row)
    );

    for (text, reason) in [
        ("not hex at all", "Invalid character"),
        ("00112233", "a digest key needs at least 16 bytes, found 4"),
    ] {
        let bad = tempfile::tempdir().unwrap();
        std::fs::write(bad.path().join("digest.key"), text).unwrap();
        let error = Recorder::<AnyPath>::from_settings(&settings, bad.path()).unwrap_err();
        let whyline::WhylineError::BadKeyFile { path, source } = &error else {
            panic!("{error}");
        };
        assert_eq!(path, &bad.path().join("digest.key"));
        assert!(source.to_string().contains(reason), "{source}");
    }
}

/// `build_at` puts the ledger at the location and the keys in the key directory; a profile
/// whose collector is not the ledger cannot have a ledger location.
#[test]
fn build_at_keeps_the_keys_apart_from_the_log_and_needs_the_ledger() {
    let keys = tempfile::tempdir().unwrap();
    let logs = tempfile::tempdir().unwrap();
    let location = whyline::LogLocation::Dir(logs.path().join("log"));
    let recorder: Recorder = whyline::RecorderBuilder::new(&ledger_settings(""))
        .build_at(&location, Some(keys.path()))
        .unwrap();
    assert_eq!(
        recorder.collector().location(),
        Some(logs.path().join("log").as_path())
    );
    assert_eq!(
        recorder.signing_key_files(),
        Some((
            keys.path().join("ledger.key").as_path(),
            keys.path().join("ledger.pub").as_path()
        ))
    );
    assert!(recorder.verifier().unwrap().is_some());
    drop(recorder);
    assert!(!logs.path().join("log/ledger.key").exists());

    let error = whyline::RecorderBuilder::new(&crate::support::level("QM"))
        .build_at(&location, None)
        .map(|_: Recorder| ())
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "a ledger location needs the ledger collector; the profile chose the Ring collector"
    );
}

/// A simulation: with the mock clock, the same signing key and a seeded key store, two runs
/// of the same decisions write byte-identical ledgers stamped with simulated time.
#[test]
fn a_simulated_run_repeated_writes_the_same_ledger_bytes() {
    const START_NS: u64 = 1_750_000_000_000_000_000;
    let first = tempfile::tempdir().unwrap();
    let second = tempfile::tempdir().unwrap();
    let settings = ledger_settings("record_inputs = true\ncheckpoint_every = 4\n");
    let run = |dir: &Path| {
        let keys = KeyStore::create_for_simulation(&dir.join("sim.wks"), 9).unwrap();
        let recorder: Recorder = whyline::RecorderBuilder::new(&settings)
            .key_store(keys)
            .build(dir)
            .unwrap();
        let (clock, _mock) = whyline::monitor::quanta::Clock::mock();
        let mut monitor = recorder
            .monitor_with_clock(iris_model(), clock, START_NS)
            .unwrap();
        for (i, row) in iris_rows().take(6).enumerate() {
            let at = START_NS + i as u64 * 50_000_000;
            let recording = InputRecording {
                subject: Some("drone-7"),
                context: &[],
            };
            monitor
                .predict_one_recorded_at(&row, &recording, at)
                .unwrap();
        }
        monitor.flush().unwrap();
    };
    run(first.path());
    // The same checkpoint key in the second run (Ed25519 signatures are deterministic).
    for file in ["ledger.key", "ledger.pub"] {
        std::fs::copy(first.path().join(file), second.path().join(file)).unwrap();
    }
    run(second.path());
    let log = |dir: &Path| -> Vec<(EntryKind, Vec<u8>)> { entries(dir) };
    let (a, b) = (log(first.path()), log(second.path()));
    assert_eq!(
        a.len(),
        7,
        "the model record and six decisions, each with its input"
    );
    assert_eq!(a, b);
    // Simulated time: the decisions carry the times given, not the machine's.
    let stamps: Vec<u64> = a
        .iter()
        .filter(|(kind, _)| *kind == EntryKind::Decision)
        .map(|(_, payload)| {
            AprtRecords::<AnyPath>::new(payload)
                .next()
                .unwrap()
                .unwrap()
                .1
                .timestamp_ns
        })
        .collect();
    let expected: Vec<u64> = (0..6).map(|i| START_NS + i * 50_000_000).collect();
    assert_eq!(stamps, expected);
    // Every file of the two directories, byte for byte: segments, checkpoints, time index,
    // key store.
    let files = crate::support::files_under(first.path());
    assert!(
        files.iter().any(|f| f.ends_with("checkpoints.wlc")),
        "{files:?}"
    );
    assert_eq!(files, crate::support::files_under(second.path()));
    for file in &files {
        let read = |dir: &Path| std::fs::read(dir.join(file)).unwrap();
        assert!(
            read(first.path()) == read(second.path()),
            "{}",
            file.display()
        );
    }
}
