//! Shared helpers: a small model, profiles from text, key files read back.

use std::path::{Path, PathBuf};

use whyline::core::EntryKind;
use whyline::{LedgerReader, Model, MonitorSettings, NoteVerifier, SegmentStore, verify_store};

/// A logistic regression on iris (4 features), exported from scikit-learn.
pub(crate) fn iris_model() -> Model {
    Model::load(
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../whyline-models/tests/fixtures/sk_logreg_iris.whyline.json"),
    )
    .unwrap()
}

/// Iris rows that stay inside the training ranges.
pub(crate) fn iris_rows() -> impl Iterator<Item = [f32; 4]> {
    [
        [5.1, 3.5, 1.4, 0.2],
        [6.2, 2.9, 4.3, 1.3],
        [6.9, 3.1, 5.4, 2.1],
    ]
    .into_iter()
    .cycle()
}

/// The settings of `[inference_monitor] integrity_level = LEVEL`.
pub(crate) fn level(name: &str) -> MonitorSettings {
    MonitorSettings::from_toml(
        &format!("[inference_monitor]\nintegrity_level = \"{name}\"\n"),
        Path::new("level.toml"),
    )
    .unwrap()
}

/// The verifier key in a public key file.
pub(crate) fn read_public_key(path: &Path) -> NoteVerifier {
    let text = std::fs::read_to_string(path).unwrap();
    NoteVerifier::from_key_string(text.trim()).unwrap()
}

/// Every file under `dir`, relative, sorted.
pub(crate) fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(next) = stack.pop() {
        for entry in std::fs::read_dir(&next).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                found.push(path.strip_prefix(dir).unwrap().to_owned());
            }
        }
    }
    found.sort();
    found
}

/// A ledger profile that signs with Ed25519, plus `extra` TOML lines.
pub(crate) fn ledger_settings(extra: &str) -> MonitorSettings {
    MonitorSettings::from_toml(
        &format!("[inference_monitor]\ncollector = \"ledger\"\nsigning = \"ed25519\"\n{extra}"),
        Path::new("test.toml"),
    )
    .unwrap()
}

/// Every entry of the ledger in `dir`: its kind and payload.
pub(crate) fn entries(dir: &Path) -> Vec<(EntryKind, Vec<u8>)> {
    let store = SegmentStore::open(dir).unwrap();
    let mut found = Vec::new();
    LedgerReader::new(&store)
        .unwrap()
        .for_each_entry::<whyline::ledger::LedgerError>(|entry| {
            found.push((EntryKind::of(entry.payload), entry.payload.to_vec()));
            Ok(())
        })
        .unwrap();
    found
}

pub(crate) fn intact(dir: &Path) -> u64 {
    let public = read_public_key(&dir.join("ledger.pub"));
    let store = SegmentStore::open(dir).unwrap();
    verify_store(&store, Some(&public))
        .unwrap()
        .into_result()
        .unwrap()
        .entries
}
