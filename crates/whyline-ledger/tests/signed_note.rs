//! C2SP signed notes and checkpoints, against the Go reference implementation's example.

use whyline_ledger::{
    Checkpoint, LedgerError, NoteErrorKind, NoteSigner, NoteVerifier, sign_note, verify_note,
};

#[derive(serde::Deserialize)]
struct Example {
    signer_key: String,
    verifier_key: String,
    text: String,
    note: String,
}

fn example() -> Example {
    serde_json::from_str(include_str!("fixtures/signed-note/peter_neumann.json")).unwrap()
}

#[test]
fn signing_the_go_reference_example_gives_the_same_note_byte_for_byte() {
    let ex = example();
    let signer = NoteSigner::from_key_string(&ex.signer_key).unwrap();
    assert_eq!(signer.key_id(), 0xc74f20a3);
    assert_eq!(sign_note(&ex.text, &signer), ex.note);
    assert_eq!(signer.to_key_string(), ex.signer_key);
    assert_eq!(signer.verifier().to_key_string(), ex.verifier_key);
}

#[test]
fn the_go_reference_note_verifies_with_its_public_key() {
    let ex = example();
    let verifier = NoteVerifier::from_key_string(&ex.verifier_key).unwrap();
    assert_eq!(verify_note(&ex.note, &verifier).unwrap(), ex.text);
}

#[test]
fn a_changed_text_fails_with_signature_invalid() {
    let ex = example();
    let verifier = NoteVerifier::from_key_string(&ex.verifier_key).unwrap();
    let forged = ex.note.replace("cryptography", "cryptographs");
    let error = verify_note(&forged, &verifier).unwrap_err();
    assert!(
        matches!(
            error,
            LedgerError::Note {
                kind: NoteErrorKind::SignatureInvalid,
                ..
            }
        ),
        "{error:?}"
    );
}

#[test]
fn a_note_without_the_expected_key_fails_with_no_signature() {
    let ex = example();
    let other = NoteSigner::hmac("PeterNeumann", b"not the key")
        .unwrap()
        .verifier();
    let error = verify_note(&ex.note, &other).unwrap_err();
    assert!(
        matches!(
            error,
            LedgerError::Note {
                kind: NoteErrorKind::NoSignature,
                ..
            }
        ),
        "{error:?}"
    );
}

#[test]
fn a_key_string_with_a_wrong_key_id_is_rejected() {
    let ex = example();
    let wrong = ex.verifier_key.replace("c74f20a3", "c74f20a4");
    let error = NoteVerifier::from_key_string(&wrong).unwrap_err();
    assert!(
        matches!(
            error,
            LedgerError::Note {
                kind: NoteErrorKind::BadKey,
                ..
            }
        ),
        "{error:?}"
    );
}

#[test]
fn checkpoint_body_follows_tlog_checkpoint() {
    let checkpoint = Checkpoint {
        origin: "example.com/log".into(),
        size: 8,
        // Root of the 8 RFC 6962 leaves.
        root: hex::decode("5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328")
            .unwrap()
            .try_into()
            .unwrap(),
    };
    assert_eq!(
        checkpoint.body(),
        "example.com/log\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n"
    );
    assert_eq!(
        Checkpoint::from_body(&checkpoint.body()).unwrap(),
        checkpoint
    );
}

#[test]
fn hmac_checkpoints_sign_and_verify_and_reject_another_secret() {
    let signer =
        NoteSigner::hmac("whyline.test/hmac", b"0123456789abcdef0123456789abcdef").unwrap();
    let checkpoint = Checkpoint {
        origin: "o".into(),
        size: 3,
        root: [9; 32],
    };
    let note = checkpoint.sign(&signer);
    assert_eq!(
        Checkpoint::verify(&note, &signer.verifier()).unwrap(),
        checkpoint
    );
    let round = NoteSigner::from_key_string(&signer.to_key_string()).unwrap();
    assert_eq!(round.key_id(), signer.key_id());
    let other = NoteSigner::hmac("whyline.test/hmac", b"another secret").unwrap();
    // Another secret has another key id: its verifier finds no signature of its own.
    let error = Checkpoint::verify(&note, &other.verifier()).unwrap_err();
    assert!(
        matches!(
            error,
            LedgerError::Note {
                kind: NoteErrorKind::NoSignature,
                ..
            }
        ),
        "{error:?}"
    );
}

#[test]
fn malformed_notes_are_rejected_without_panicking() {
    let ex = example();
    let verifier = NoteVerifier::from_key_string(&ex.verifier_key).unwrap();
    for bad in [
        "",
        "\n",
        "text\n",
        "text\n\n",
        "text\n\n— x\n",
        "text\n\nno dash\n",
        "a\u{1}b\n\n— x y\n",
    ] {
        assert!(
            matches!(verify_note(bad, &verifier), Err(LedgerError::Note { .. })),
            "{bad:?}"
        );
    }
}

/// A note is its text, a blank line and signature lines, each ending in a newline (as Go's
/// `note.Open` requires): the reference note without its last newline is refused, not
/// verified.
#[test]
fn a_note_whose_last_signature_line_lacks_its_newline_is_refused() {
    let ex = example();
    let verifier = NoteVerifier::from_key_string(&ex.verifier_key).unwrap();
    let cut = ex.note.strip_suffix('\n').unwrap();
    let error = verify_note(cut, &verifier).unwrap_err();
    assert!(
        matches!(
            error,
            LedgerError::Note {
                kind: NoteErrorKind::BadSignatureLine,
                ..
            }
        ),
        "{error:?}"
    );
}
