//! What a built recorder does: checkpoints after the profile's count, signatures that the
//! written public key verifies, keys reused or refused, nothing written by a ring.

use whyline::core::{AprtRecords, DecisionTrace};
use whyline::{
    AnyPath, MonitorSettings, Recorder, SegmentStore, TraceCollector, WhylineError, verify_store,
};

use crate::support::{files_under, iris_model, iris_rows, level, read_public_key};

/// A trace to record straight into a collector, so the entry count is exact (a monitor adds
/// the model record and alerts).
fn trace(sequence: u64) -> DecisionTrace<AnyPath> {
    DecisionTrace {
        timestamp_ns: 1_700_000_000_000_000_000 + sequence,
        sequence,
        input_hash: sequence,
        output: 1.0,
        latency_ns: 1_000,
        path: AnyPath::default(),
    }
}

#[test]
fn a_sil3_ledger_signs_a_checkpoint_after_256_entries_that_the_written_public_key_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let recorder: Recorder = Recorder::from_settings(&level("SIL3"), dir.path()).unwrap();
    let collector = recorder.collector();
    let public = read_public_key(&dir.path().join("ledger.pub"));
    for sequence in 0..255 {
        collector.record(&trace(sequence)).unwrap();
    }
    collector.flush().unwrap();
    let checkpoints = |dir: &std::path::Path| {
        let store = SegmentStore::open(dir).unwrap();
        verify_store(&store, Some(&public))
            .unwrap()
            .into_result()
            .unwrap()
    };
    let before = checkpoints(dir.path());
    assert_eq!((before.entries, before.checkpoints), (255, 0));
    collector.record(&trace(255)).unwrap();
    collector.flush().unwrap();
    let after = checkpoints(dir.path());
    assert_eq!(after.entries, 256);
    assert_eq!(after.checkpoints, 1, "one checkpoint at 256 entries");
    assert_eq!(after.latest_checkpoint.map(|c| c.size), Some(256));
}

#[test]
fn a_qm_recorder_keeps_decisions_in_its_ring_and_writes_no_file() {
    let dir = tempfile::tempdir().unwrap();
    let recorder = Recorder::from_settings(&level("QM"), dir.path()).unwrap();
    let mut monitor = recorder.monitor(iris_model()).unwrap();
    for row in iris_rows().take(10) {
        monitor.predict_one(&row).unwrap();
    }
    let ring = monitor.collector().as_ring().unwrap();
    let held: Vec<u64> = ring
        .recent(10)
        .unwrap()
        .iter()
        .map(|t| t.sequence)
        .collect();
    assert_eq!(held, (0..10).collect::<Vec<_>>());
    assert!(files_under(dir.path()).is_empty());
}

#[test]
fn a_sil1_stream_writes_every_decision_to_its_file() {
    let dir = tempfile::tempdir().unwrap();
    let recorder = Recorder::from_settings(&level("SIL1"), dir.path()).unwrap();
    let mut monitor = recorder.monitor(iris_model()).unwrap();
    let outputs: Vec<f32> = iris_rows()
        .take(20)
        .map(|row| monitor.predict_one(&row).unwrap().output)
        .collect();
    monitor.flush().unwrap();
    let bytes = std::fs::read(dir.path().join("decisions.aprt")).unwrap();
    let written: Vec<f32> = AprtRecords::<AnyPath>::new(&bytes)
        .map(|record| record.unwrap().1.output)
        .collect();
    assert_eq!(written, outputs);
}

#[test]
fn the_monitor_writes_the_model_record_first() {
    let dir = tempfile::tempdir().unwrap();
    let recorder = Recorder::from_settings(&level("SIL2"), dir.path()).unwrap();
    let mut monitor = recorder.monitor(iris_model()).unwrap();
    monitor.predict_one(&[5.1, 3.5, 1.4, 0.2]).unwrap();
    monitor.flush().unwrap();
    drop(monitor);
    let store = SegmentStore::open(dir.path()).unwrap();
    let first = whyline::LedgerReader::new(&store)
        .unwrap()
        .first_entry()
        .unwrap()
        .unwrap();
    assert_eq!(
        &first.payload[..4],
        &whyline::core::MODEL_RECORD_MAGIC,
        "entry 0 is the model record"
    );
}

#[test]
fn an_existing_key_is_reused_and_a_key_of_another_kind_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let first: Recorder = Recorder::from_settings(&level("SIL3"), dir.path()).unwrap();
    assert_eq!(first.created_files().len(), 2);
    let public = std::fs::read_to_string(dir.path().join("ledger.pub")).unwrap();
    drop(first);
    let again: Recorder = Recorder::from_settings(&level("SIL3"), dir.path()).unwrap();
    assert!(again.created_files().is_empty(), "the key was reused");
    assert_eq!(
        again.verifier().unwrap().unwrap().to_key_string(),
        public.trim()
    );
    drop(again);
    let error = Recorder::<AnyPath>::from_settings(&level("SIL2"), dir.path()).unwrap_err();
    assert!(
        matches!(
            &error,
            WhylineError::WrongKeyKind {
                expected: "HMAC",
                found: "Ed25519",
                ..
            }
        ),
        "{error:?}"
    );
}

#[cfg(unix)]
#[test]
fn the_secret_key_is_private_and_the_public_key_readable() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let _recorder: Recorder = Recorder::from_settings(&level("SIL3"), dir.path()).unwrap();
    let mode = |name: &str| {
        std::fs::metadata(dir.path().join(name))
            .unwrap()
            .permissions()
            .mode()
            & 0o777
    };
    assert_eq!(mode("ledger.key"), 0o600);
    assert_eq!(mode("ledger.pub"), 0o644);
}

#[test]
fn a_digest_key_file_makes_input_digests_keyed() {
    let keyed_dir = tempfile::tempdir().unwrap();
    let text = "[inference_monitor]\ndigest_key_file = \"digest.key\"\n";
    let settings = MonitorSettings::from_toml(text, std::path::Path::new("d.toml")).unwrap();
    let keyed = Recorder::from_settings(&settings, keyed_dir.path()).unwrap();
    assert!(keyed.digests_with_key());
    let mut keyed = keyed.monitor(iris_model()).unwrap();
    let plain_dir = tempfile::tempdir().unwrap();
    let mut plain = Recorder::from_settings(&level("QM"), plain_dir.path())
        .unwrap()
        .monitor(iris_model())
        .unwrap();
    let row = [5.1, 3.5, 1.4, 0.2];
    keyed.predict_one(&row).unwrap();
    plain.predict_one(&row).unwrap();
    let keyed_hash = keyed.last_trace().unwrap().input_hash;
    let plain_hash = plain.last_trace().unwrap().input_hash;
    assert_eq!(
        plain_hash,
        whyline::core::digest::xxh3_features(&row),
        "no key: XXH3-64, the default"
    );
    assert_ne!(keyed_hash, plain_hash);
    let spec_dir = tempfile::tempdir().unwrap();
    let text = "[inference_monitor]\ninput_digest = \"fnv1a-64\"\n";
    let settings = MonitorSettings::from_toml(text, std::path::Path::new("d.toml")).unwrap();
    let mut spec = Recorder::from_settings(&settings, spec_dir.path())
        .unwrap()
        .monitor(iris_model())
        .unwrap();
    spec.predict_one(&row).unwrap();
    assert_eq!(
        spec.last_trace().unwrap().input_hash,
        whyline::core::digest::fnv1a_features(&row),
        "input_digest = \"fnv1a-64\": the spec's FNV-1a"
    );
    let key = std::fs::read_to_string(keyed_dir.path().join("digest.key")).unwrap();
    assert_eq!(key.trim().len(), 64, "32 bytes in hex");
}

#[test]
fn a_ledger_recorder_ingests_a_batch_with_durable_receipts_and_other_collectors_refuse() {
    use whyline::core::{encode_json, to_aprt};
    use whyline::{IngestFormat, ledger::leaf_hash};
    let dir = tempfile::tempdir().unwrap();
    let recorder: Recorder = Recorder::from_settings(&level("SIL3"), dir.path()).unwrap();
    let mut body = Vec::new();
    for sequence in 0..3 {
        encode_json(&trace(sequence), &mut body).unwrap();
        body.push(b'\n');
    }
    let receipts = recorder
        .collector()
        .ingest(&body, IngestFormat::JsonLines)
        .unwrap();
    let indices: Vec<u64> = receipts.iter().map(|r| r.index).collect();
    assert_eq!(indices, [0, 1, 2]);
    assert_eq!(receipts[2].leaf_hash, leaf_hash(&to_aprt(&trace(2))));
    // SIL3 syncs every append: the receipts' entries are on disk when ingest returns.
    let store = SegmentStore::open(dir.path()).unwrap();
    let read = whyline::LedgerReader::new(&store)
        .unwrap()
        .entries_between(0, u64::MAX)
        .unwrap();
    let stored: Vec<u64> = read.entries.iter().map(|e| e.index).collect();
    assert_eq!(stored, [0, 1, 2]);

    let ring = Recorder::<AnyPath>::from_settings(&level("QM"), dir.path()).unwrap();
    let refused = ring
        .collector()
        .ingest(&body, IngestFormat::JsonLines)
        .unwrap_err();
    assert!(
        matches!(
            refused,
            WhylineError::NeedsLedger {
                operation: "decision ingest",
                ..
            }
        ),
        "{refused:?}"
    );
}

#[test]
fn a_ledger_recorder_serves_its_checkpoint_and_the_tiles_it_signs() {
    use whyline::core::encode_aprt;
    use whyline::{IngestFormat, TileCache, parse_tile_path};
    let dir = tempfile::tempdir().unwrap();
    let recorder: Recorder = Recorder::from_settings(&level("SIL3"), dir.path()).unwrap();
    let collector = recorder.collector();
    assert_eq!(collector.latest_checkpoint().unwrap(), None);
    let mut body = Vec::new();
    for sequence in 0..5 {
        encode_aprt(&trace(sequence), &mut body);
    }
    let receipts = collector.ingest(&body, IngestFormat::Aprt).unwrap();
    let mut cache = TileCache::new();
    let tile = parse_tile_path("/tile/0/000.p/5").unwrap();
    // Nothing is served before a checkpoint covers it.
    assert!(collector.read_tile(&mut cache, &tile).is_err());
    let signed = collector.checkpoint().unwrap().unwrap();
    assert_eq!(collector.latest_checkpoint().unwrap(), Some(signed.clone()));
    let public = read_public_key(&dir.path().join("ledger.pub"));
    let checkpoint = whyline::ledger::Checkpoint::verify(&signed, &public).unwrap();
    assert_eq!(checkpoint.size, 5);
    let hashes = collector.read_tile(&mut cache, &tile).unwrap();
    let leaves: Vec<u8> = receipts.iter().flat_map(|r| r.leaf_hash).collect();
    assert_eq!(hashes, leaves);
    assert_eq!(
        whyline::ledger::root_from_leaf_hashes(
            &receipts.iter().map(|r| r.leaf_hash).collect::<Vec<_>>()
        ),
        checkpoint.root
    );
}
