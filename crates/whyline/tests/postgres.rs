//! A recorder whose ledger is a PostgreSQL log (feature `postgres`), against a private
//! cluster as `whyline-cli`'s tests start one (`scripts/services.sh` installs PostgreSQL; a
//! missing server fails the test): the keys live in the key directory, the recorder holds the
//! log's one writer lock, and read-only views see and verify what it wrote.

use std::ffi::OsStr;

use whyline::core::EntryKind;
use whyline::ledger::seal::KeyStore;
use whyline::ledger::{LedgerError, LedgerReader, Store};
use whyline::monitor::InputRecording;
use whyline::{LogLocation, Recorder, RecorderBuilder, WhylineError, verify_store};
use whyline_store_postgres::testing::Cluster;

use crate::support::{iris_model, iris_rows, ledger_settings, read_public_key};

#[test]
fn a_recorder_writes_a_database_log_that_views_verify_and_a_second_writer_is_refused() {
    let cluster = Cluster::start().unwrap();
    let database = cluster.create_database().unwrap();
    let url = cluster.url(&database, "fleet");
    let location = LogLocation::parse(OsStr::new(&url)).unwrap();
    assert_eq!(location.as_dir(), None);
    assert!(location.path().display().to_string().contains("log=fleet"));

    // A log that was never written: read-only and existing-writer opens refuse it.
    let absent = LogLocation::parse(OsStr::new(&cluster.url(&database, "absent"))).unwrap();
    for opened in [absent.open_read_only(), absent.open_existing_writer()] {
        let Err(error) = opened else {
            panic!("a log never written opened");
        };
        assert!(
            matches!(error, WhylineError::Ledger(LedgerError::NotALedger { .. })),
            "{error:?}"
        );
    }

    let keys = tempfile::tempdir().unwrap();
    let settings = ledger_settings("record_inputs = true\ncheckpoint_every = 2\n");
    let recorder: Recorder = RecorderBuilder::new(&settings)
        .build_at(&location, Some(keys.path()))
        .unwrap();
    // The keys are made in the key directory, none in the database's name.
    let store = KeyStore::default_path(keys.path());
    assert!(store.is_file());
    assert!(recorder.created_files().contains(&store));
    assert!(keys.path().join("ledger.key").is_file());
    assert_eq!(recorder.collector().location(), Some(location.path()));
    assert!(
        recorder
            .collector()
            .log_location()
            .unwrap()
            .as_dir()
            .is_none()
    );
    let mut monitor = recorder.monitor(iris_model()).unwrap();
    let recording = InputRecording {
        subject: Some("AV-1"),
        context: &[],
    };
    for row in iris_rows().take(3) {
        monitor.predict_one_recorded(&row, &recording).unwrap();
    }
    monitor.flush().unwrap();

    // While the recorder writes, a second writer is refused, naming the first.
    let Err(second) = location.open_existing_writer() else {
        panic!("a second writer opened the log");
    };
    let mut chain = second.to_string();
    let mut source = std::error::Error::source(&second);
    while let Some(cause) = source {
        chain.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    assert!(chain.contains("already has a writer"), "{chain}");
    // A view takes no lock: it sees the model record and three decisions with their inputs.
    let view = location.open_read_only().unwrap();
    let public = read_public_key(&keys.path().join("ledger.pub"));
    let report = verify_store(&view, Some(&public))
        .unwrap()
        .into_result()
        .unwrap();
    assert_eq!(report.entries, 4);
    assert!(report.checkpoints >= 1, "checkpoint_every = 2 signed some");
    let mut kinds = Vec::new();
    LedgerReader::new(&view)
        .unwrap()
        .for_each_entry::<LedgerError>(|entry| {
            kinds.push(EntryKind::of(entry.payload));
            Ok(())
        })
        .unwrap();
    use EntryKind::{Decision, Model};
    assert_eq!(kinds, [Model, Decision, Decision, Decision]);
    drop(monitor);

    // Once the recorder is gone, the existing log opens for writing again.
    let writer = location.open_existing_writer().unwrap();
    assert_eq!(writer.len(), view.len());
}
