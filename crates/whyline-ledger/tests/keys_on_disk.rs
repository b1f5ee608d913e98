//! Key files kept across runs and beside their signing key, a sealer that never shows its
//! keys, and a backwards clock step said in words.

use whyline_core::{DecisionTrace, LinearPath, to_aprt};
use whyline_ledger::seal::{KeyStore, Sealer};
use whyline_ledger::{Ledger, LedgerError, LedgerOptions, MemoryStore, keys};

#[test]
fn a_signing_key_is_made_once_and_read_back_on_every_later_run() {
    let dir = tempfile::tempdir().unwrap();
    let first = keys::read_or_create_signing_key(dir.path(), "whyline.demo").unwrap();
    let paths = keys::KeyPaths::in_dir(dir.path());
    assert!(paths.signing_key.is_file() && paths.verifier_key.is_file());
    let again = keys::read_or_create_signing_key(dir.path(), "another.name").unwrap();
    assert_eq!(again.key_id(), first.key_id());
    assert_eq!(
        again.name(),
        "whyline.demo",
        "the stored key wins over the name"
    );
    let verifier = keys::read_verifier(&paths.verifier_key).unwrap();
    assert_eq!(verifier.key_id(), first.key_id());
}

/// A name that is taken but does not resolve (a dangling link: what a file created between
/// the existence check and the link looks like to the link) is a key that exists: the
/// secret is not written, the link is left as it was, and no temporary file remains.
#[test]
fn a_secret_is_never_written_over_a_name_already_taken() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("digest.key");
    std::os::unix::fs::symlink(dir.path().join("nowhere"), &path).unwrap();
    assert!(!path.exists(), "the link dangles");
    let error = keys::write_secret_file(&path, "00ff").unwrap_err();
    assert!(
        matches!(&error, LedgerError::KeyExists { path: named } if *named == path),
        "{error:?}"
    );
    assert_eq!(
        std::fs::read_link(&path).unwrap(),
        dir.path().join("nowhere")
    );
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left, ["digest.key"]);
}

#[test]
fn a_key_pair_can_live_apart_and_its_verifier_reads_back() {
    let dir = tempfile::tempdir().unwrap();
    let paths = keys::KeyPaths {
        signing_key: dir.path().join("secret/ledger.key"),
        verifier_key: dir.path().join("public/ledger.pub"),
    };
    std::fs::create_dir_all(dir.path().join("public")).unwrap();
    let signer = crate::common::signer();
    keys::write_keypair_at(&paths, &signer).unwrap();
    assert_eq!(
        keys::read_signing_key(&paths.signing_key).unwrap().key_id(),
        signer.key_id()
    );
    assert_eq!(
        keys::read_verifier(&paths.verifier_key)
            .unwrap()
            .to_key_string(),
        signer.verifier().to_key_string()
    );
    let beside = keys::KeyPaths::beside(&dir.path().join("profile/drone.key"));
    assert_eq!(beside.verifier_key, dir.path().join("profile/drone.pub"));
}

#[test]
fn a_sealer_shows_how_many_it_sealed_and_never_a_key() {
    let dir = tempfile::tempdir().unwrap();
    let keys = KeyStore::create(&dir.path().join("keys.wks")).unwrap();
    let log_key = hex::encode(keys.log_key());
    let mut sealer = Sealer::new(keys).unwrap();
    sealer
        .seal(&whyline_core::InputEvidence {
            decision_index: 0,
            trace_hash: [0; 32],
            timestamp_ns: 1,
            subject: None,
            values: &[1.0],
            context: &[],
        })
        .unwrap();
    let debug = format!("{sealer:?}");
    assert!(debug.contains("sealed: 1"), "{debug}");
    assert!(!debug.contains(&log_key), "{debug}");
}

#[test]
fn a_clock_step_backwards_is_said_with_its_size() {
    let (mut ledger, _) = Ledger::open(
        MemoryStore::new(),
        LedgerOptions::without_checkpoints("clock/test"),
    )
    .unwrap();
    for (sequence, timestamp_ns) in [(0, 1_000), (1, 5_000), (2, 4_250)] {
        let trace = DecisionTrace {
            timestamp_ns,
            sequence,
            ..crate::common::trace(sequence)
        };
        let trace: DecisionTrace<LinearPath> = trace;
        ledger.append(&to_aprt(&trace)).unwrap();
    }
    let step = ledger.time_order().first_backward().unwrap();
    assert_eq!(
        (step.index, step.previous_ns, step.found_ns),
        (2, 5_000, 4_250)
    );
    assert_eq!(
        step.to_string(),
        "entry 2 is stamped 750 ns before an earlier entry"
    );
}
