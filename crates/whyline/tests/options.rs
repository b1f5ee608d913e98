//! Recorder options a profile or a builder sets that the other modules do not reach: the
//! builder's `Debug`, a key store named in the profile, a torn tail cut on opening, a ledger
//! that signs nothing, the Andon handed out before the monitor, a model without training
//! statistics, and outcomes and erasures that sign a checkpoint.

use std::path::Path;

use whyline::core::OutcomeRecord;
use whyline::ledger::seal::KeyStore;
use whyline::{
    AnyPath, MonitorSettings, Recorder, RecorderBuilder, erase_subject, record_outcome,
    training_statistics,
};

use crate::support::{entries, intact, iris_model, iris_rows, ledger_settings};

#[test]
fn a_builders_debug_names_its_options_without_key_material() {
    let settings = ledger_settings("");
    let mut builder = RecorderBuilder::new(&settings);
    builder.origin("fleet/7");
    let shown = format!("{builder:?}");
    assert!(shown.starts_with("RecorderBuilder { settings: "), "{shown}");
    assert!(shown.contains("origin: \"fleet/7\""), "{shown}");
    assert!(shown.contains("segment_opener: false"), "{shown}");
    assert!(shown.contains("key_store: None"), "{shown}");
}

#[test]
fn a_key_store_named_in_the_profile_is_made_there_and_reported() {
    let dir = tempfile::tempdir().unwrap();
    let settings = ledger_settings("record_inputs = true\nkey_store = \"vault/subjects.wks\"\n");
    let recorder: Recorder = Recorder::from_settings(&settings, dir.path()).unwrap();
    let store = dir.path().join("vault/subjects.wks");
    assert!(store.is_file());
    assert!(
        recorder.created_files().contains(&store),
        "{:?}",
        recorder.created_files()
    );
    assert!(
        !KeyStore::default_path(dir.path()).exists(),
        "not the default place"
    );
    // A second recorder finds it and makes nothing.
    drop(recorder);
    let again: Recorder = Recorder::from_settings(&settings, dir.path()).unwrap();
    assert!(!again.created_files().contains(&store));
}

#[test]
fn a_torn_tail_is_cut_when_the_recorder_opens_the_ledger_and_recording_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let settings = ledger_settings("");
    let recorder: Recorder = Recorder::from_settings(&settings, dir.path()).unwrap();
    let mut monitor = recorder.monitor(iris_model()).unwrap();
    for row in iris_rows().take(3) {
        monitor.predict_one(&row).unwrap();
    }
    monitor.flush().unwrap();
    drop(monitor);
    let file = dir.path().join(whyline::ledger::ENTRIES_FILE);
    let whole = std::fs::metadata(&file).unwrap().len();
    let mut tail = std::fs::OpenOptions::new()
        .append(true)
        .open(&file)
        .unwrap();
    std::io::Write::write_all(&mut tail, &[0x20, 0, 0, 0, 7, 7]).unwrap();
    drop(tail);

    let recorder: Recorder = Recorder::from_settings(&settings, dir.path()).unwrap();
    assert_eq!(
        std::fs::metadata(&file).unwrap().len(),
        whole,
        "the torn tail is cut"
    );
    let mut monitor = recorder.monitor(iris_model()).unwrap();
    monitor.predict_one(&iris_rows().next().unwrap()).unwrap();
    monitor.flush().unwrap();
    drop(monitor);
    // Two model records and four decisions, verified with the written public key.
    assert_eq!(intact(dir.path()), 6);
}

#[test]
fn a_ledger_that_signs_nothing_has_no_keys_and_no_checkpoints() {
    let dir = tempfile::tempdir().unwrap();
    let settings = MonitorSettings::from_toml(
        "[inference_monitor]\ncollector = \"ledger\"\n[andon]\nenabled = true\nyellow_confidence = 0.9999\n",
        Path::new("unsigned.toml"),
    )
    .unwrap();
    let mut recorder: Recorder = Recorder::from_settings(&settings, dir.path()).unwrap();
    assert_eq!(recorder.signing_key_files(), None);
    assert!(recorder.verifier().unwrap().is_none());
    assert!(recorder.created_files().is_empty());
    assert_eq!(
        recorder.settings().collector,
        whyline::CollectorChoice::Ledger
    );
    // The Andon, before the monitor: its rules are the profile's, and a sink added to it
    // sees the monitor's alerts.
    assert_eq!(recorder.andon().rules().yellow_confidence, Some(0.9999));
    let seen = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let counter = std::sync::Arc::clone(&seen);
    recorder
        .andon_mut()
        .add_sink(whyline::monitor::CallbackSink::new(
            move |_alert: &whyline::Alert| {
                counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            },
        ));
    let mut monitor = recorder.monitor(iris_model()).unwrap();
    monitor.predict_one(&iris_rows().next().unwrap()).unwrap();
    monitor.flush().unwrap();
    drop(monitor);
    assert_eq!(seen.load(std::sync::atomic::Ordering::Relaxed), 1);
    assert_eq!(recorder_checkpoints(dir.path()), 0);
    let kinds: Vec<_> = entries(dir.path())
        .into_iter()
        .map(|(kind, _)| kind)
        .collect();
    use whyline::core::EntryKind::{Alert, Decision, Model};
    assert_eq!(kinds, vec![Model, Decision, Alert]);
}

fn recorder_checkpoints(dir: &Path) -> usize {
    let store = whyline::SegmentStore::open(dir).unwrap();
    whyline::verify_store(&store, None)
        .unwrap()
        .into_result()
        .unwrap()
        .checkpoints as usize
}

#[test]
fn a_model_without_training_statistics_gives_none() {
    let model = whyline::Model::load(
        std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../whyline-models/tests/fixtures/xgb_multi_softprob_iris.xgb.json"),
    )
    .unwrap();
    assert!(model.info().feature_stats.is_none());
    assert!(training_statistics(model.info()).unwrap().is_none());
}

#[test]
fn an_outcome_or_an_erasure_given_the_ledgers_key_signs_a_checkpoint_over_it() {
    let dir = tempfile::tempdir().unwrap();
    let settings = ledger_settings("record_inputs = true\ncheckpoint_every = 1000\n");
    let recorder: Recorder<AnyPath> = Recorder::from_settings(&settings, dir.path()).unwrap();
    let mut monitor = recorder.monitor(iris_model()).unwrap();
    let recording = whyline::monitor::InputRecording {
        subject: Some("AV-1"),
        context: &[],
    };
    monitor
        .predict_one_recorded(&iris_rows().next().unwrap(), &recording)
        .unwrap();
    monitor.flush().unwrap();
    drop(monitor);
    let before = recorder_checkpoints(dir.path());
    let signer =
        || whyline::ledger::keys::read_signing_key(&dir.path().join("ledger.key")).unwrap();
    let outcome = OutcomeRecord {
        decision_index: 1,
        label: "pedestrian".into(),
        by: None,
        override_action: None,
        note: None,
        recorded_ns: 1_700_000_000_000_000_000,
    };
    let receipt = record_outcome(dir.path(), &outcome, Some(signer())).unwrap();
    assert_eq!(receipt.index, 2);
    assert_eq!(recorder_checkpoints(dir.path()), before + 1);
    let erased = erase_subject(dir.path(), None, "AV-1", None, Some(signer())).unwrap();
    assert_eq!(erased.receipt.index, 3);
    assert_eq!(recorder_checkpoints(dir.path()), before + 2);
    // Signed by the ledger's key: the public key written beside it verifies both.
    assert_eq!(intact(dir.path()), 4);
}

/// An HMAC checkpoint key made by one recorder is read back by the next, and checkpoints
/// it signs verify with it.
#[test]
fn an_hmac_key_is_made_once_and_reused() {
    let dir = tempfile::tempdir().unwrap();
    let settings = MonitorSettings::from_toml(
        "[inference_monitor]\ncollector = \"ledger\"\nsigning = \"hmac\"\n",
        Path::new("hmac.toml"),
    )
    .unwrap();
    let first: Recorder = Recorder::from_settings(&settings, dir.path()).unwrap();
    assert_eq!(
        first.created_files().len(),
        2,
        "{:?}",
        first.created_files()
    );
    let secret = std::fs::read(dir.path().join("ledger.key")).unwrap();
    drop(first);
    let again: Recorder = Recorder::from_settings(&settings, dir.path()).unwrap();
    assert!(again.created_files().is_empty());
    assert_eq!(
        std::fs::read(dir.path().join("ledger.key")).unwrap(),
        secret
    );
    let note = again.collector().checkpoint().unwrap().unwrap();
    let verifier = again.verifier().unwrap().unwrap();
    let body = whyline::ledger::verify_note(&note, &verifier).unwrap();
    assert!(body.starts_with("whyline/ledger\n"), "{body}");
}
