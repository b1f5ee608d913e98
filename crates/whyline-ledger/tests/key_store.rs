//! The subject key store's file: every malformed file is refused with the file and what is
//! wrong, never replaced; a failed save leaves the store as it was.

use serde_json::{Value, json};
use whyline_ledger::LedgerError;
use whyline_ledger::seal::{KeyLookup, KeyStore};

/// A valid store with one subject, and its JSON.
fn valid(dir: &std::path::Path) -> (std::path::PathBuf, Value) {
    let path = KeyStore::default_path(dir);
    let mut store = KeyStore::create(&path).unwrap();
    store.key_for_subject("alice").unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    (path, serde_json::from_str(&text).unwrap())
}

/// Writes `file` to `path` and returns the message `KeyStore::open` refuses it with.
fn refusal(path: &std::path::Path, file: &Value) -> String {
    std::fs::write(path, file.to_string()).unwrap();
    let error = KeyStore::open(path).unwrap_err();
    assert!(matches!(error, LedgerError::KeyStore { .. }), "{error:?}");
    error.to_string()
}

/// Puts a value into one key field of a key store's JSON.
type SetField = fn(&mut Value, &str);

/// The hex crate's own message for `text` read into 32 bytes.
fn hex_error(text: &str) -> String {
    hex::decode_to_slice(text, &mut [0u8; 32])
        .unwrap_err()
        .to_string()
}

#[test]
fn a_store_that_is_not_json_of_the_format_is_refused_with_the_parser_message() {
    let dir = tempfile::tempdir().unwrap();
    let (path, file) = valid(dir.path());
    let at = path.display();
    std::fs::write(&path, "{").unwrap();
    assert_eq!(
        KeyStore::open(&path).unwrap_err().to_string(),
        format!("key store {at}: EOF while parsing an object at line 1 column 1")
    );
    let mut extra = file.clone();
    extra["comment"] = json!("x");
    let message = refusal(&path, &extra);
    assert!(
        message.starts_with(&format!(
            "key store {at}: unknown field `comment`, expected one of"
        )),
        "{message}"
    );
    let mut missing = file.clone();
    missing.as_object_mut().unwrap().remove("log_key");
    assert!(
        refusal(&path, &missing).starts_with(&format!("key store {at}: missing field `log_key`")),
    );
    let mut other = file.clone();
    other["format"] = json!("whyline-keys");
    other["version"] = json!(2);
    assert_eq!(
        refusal(&path, &other),
        format!(
            r#"key store {at}: format "whyline-keys" version 2, expected "whyline-subject-keys" version 1"#
        )
    );
    let mut newer = file;
    newer["version"] = json!(2);
    assert_eq!(
        refusal(&path, &newer),
        format!(
            r#"key store {at}: format "whyline-subject-keys" version 2, expected "whyline-subject-keys" version 1"#
        )
    );
}

#[test]
fn each_key_field_must_be_64_hex_digits() {
    let dir = tempfile::tempdir().unwrap();
    let (path, file) = valid(dir.path());
    let at = path.display();
    let short = "abcd";
    let not_hex = "zz".repeat(32);
    let erased_digest = "00".repeat(32);
    let cases: [(&str, SetField); 5] = [
        ("digest_secret", |f, v| f["digest_secret"] = json!(v)),
        ("log_key", |f, v| f["log_key"] = json!(v)),
        ("a subject digest", |f, v| {
            f["subjects"][0]["digest"] = json!(v)
        }),
        ("a subject key", |f, v| f["subjects"][0]["key"] = json!(v)),
        ("an erased digest", |f, v| {
            f["erased"] = json!([{ "digest": v, "erased_ns": 1 }]);
        }),
    ];
    for (field, set) in cases {
        for bad in [short, not_hex.as_str()] {
            let mut changed = file.clone();
            set(&mut changed, bad);
            assert_eq!(
                refusal(&path, &changed),
                format!(
                    "key store {at}: {field} is not 64 hex digits: {}",
                    hex_error(bad)
                ),
                "{field} = {bad}"
            );
        }
    }
    // A well-formed erased digest is read.
    let mut fine = file;
    fine["erased"] = json!([{ "digest": erased_digest, "erased_ns": 1 }]);
    std::fs::write(&path, fine.to_string()).unwrap();
    let store = KeyStore::open(&path).unwrap();
    assert!(store.is_erased(&[0u8; 32]));
}

#[test]
fn a_subject_key_id_outside_the_ids_given_out_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (path, file) = valid(dir.path());
    assert_eq!(file["next_id"], json!(2));
    for id in [0, 2, 9] {
        let mut changed = file.clone();
        changed["subjects"][0]["id"] = json!(id);
        assert_eq!(
            refusal(&path, &changed),
            format!(
                "key store {}: subject key id {id} outside 1..2",
                path.display()
            )
        );
    }
}

#[test]
fn a_malformed_store_is_never_replaced_by_open_or_create() {
    let dir = tempfile::tempdir().unwrap();
    let (path, _) = valid(dir.path());
    std::fs::write(&path, "not a key store").unwrap();
    let error = KeyStore::open_or_create(&path).unwrap_err();
    assert!(matches!(error, LedgerError::KeyStore { .. }), "{error:?}");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "not a key store");
    // A directory where the file should be is an I/O error naming it.
    let dir_path = dir.path().join("a-directory.wks");
    std::fs::create_dir(&dir_path).unwrap();
    let error = KeyStore::open(&dir_path).unwrap_err();
    assert!(
        matches!(&error, LedgerError::Io { operation: "read", path, .. } if *path == dir_path),
        "{error:?}"
    );
    assert_eq!(
        error.to_string(),
        format!("{}: read failed", dir_path.display())
    );
}

#[test]
fn a_failed_save_leaves_the_store_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let keys_dir = dir.path().join("keys");
    let path = keys_dir.join("subjects.wks");
    let mut store = KeyStore::create(&path).unwrap();
    assert_eq!(store.path(), path);
    let (alice, alice_id, alice_key) = store.key_for_subject("alice").unwrap();
    // The directory goes away: no save can succeed.
    std::fs::remove_dir_all(&keys_dir).unwrap();
    let error = store.key_for_subject("bob").unwrap_err();
    assert!(matches!(error, LedgerError::Io { .. }), "{error:?}");
    let error = store.erase("alice", 9).unwrap_err();
    assert!(matches!(error, LedgerError::Io { .. }), "{error:?}");
    // Alice keeps her key, bob got none, and the next id was not used up.
    assert_eq!(
        store.lookup(Some(&alice), alice_id),
        KeyLookup::Key(alice_key)
    );
    assert!(!store.is_erased(&alice));
    std::fs::create_dir(&keys_dir).unwrap();
    let (bob, bob_id, _) = store.key_for_subject("bob").unwrap();
    assert_eq!(bob_id, alice_id + 1);
    assert_eq!(bob, store.subject_digest("bob"));
    let back = KeyStore::open(&path).unwrap();
    assert_eq!(
        back.lookup(Some(&alice), alice_id),
        KeyLookup::Key(alice_key)
    );
    // Only the log-wide key has no subject, and it has id 0.
    assert_eq!(back.lookup(None, 1), KeyLookup::Unknown);
    // Debug names the file and the counts, never a key.
    let debug = format!("{back:?}");
    assert!(debug.contains("subjects: 2"), "{debug}");
    assert!(!debug.contains(&hex::encode(alice_key)), "{debug}");
    assert!(!debug.contains(&hex::encode(back.log_key())), "{debug}");
}
