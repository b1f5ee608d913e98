//! Checkpoint bodies and note keys read from text: each malformed body or key string is
//! refused as what it is, HMAC keys round-trip like Ed25519 ones, and no `Debug` output
//! shows a secret.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use whyline_ledger::{
    Checkpoint, LedgerError, NoteErrorKind, NoteSigner, NoteVerifier, sign_note, verify_note,
};

fn kind(result: Result<impl std::fmt::Debug, LedgerError>) -> NoteErrorKind {
    match result {
        Err(LedgerError::Note { kind, .. }) => kind,
        other => panic!("expected a note error, got {other:?}"),
    }
}

#[test]
fn a_checkpoint_body_round_trips_and_each_malformed_one_is_a_bad_body() {
    let checkpoint = Checkpoint {
        origin: "whyline.test/log".into(),
        size: 12,
        root: [9; 32],
    };
    let body = checkpoint.body();
    assert_eq!(
        body,
        format!("whyline.test/log\n12\n{}\n", STANDARD.encode([9u8; 32]))
    );
    assert_eq!(Checkpoint::from_body(&body).unwrap(), checkpoint);
    let root = STANDARD.encode([9u8; 32]);
    for bad in [
        String::new(),
        "whyline.test/log\n12".to_owned(),
        format!("\n12\n{root}\n"),
        format!("whyline.test/log\n\n{root}\n"),
        format!("whyline.test/log\n012\n{root}\n"),
        format!("whyline.test/log\ntwelve\n{root}\n"),
        "whyline.test/log\n12\nnot base64!\n".to_owned(),
        format!("whyline.test/log\n12\n{}\n", STANDARD.encode([9u8; 31])),
    ] {
        assert_eq!(
            kind(Checkpoint::from_body(&bad)),
            NoteErrorKind::BadBody,
            "{bad:?}"
        );
    }
}

#[test]
fn key_names_and_secrets_that_cannot_make_a_key_are_refused() {
    for name in ["", "a+b", "a b", "line\nbreak"] {
        assert_eq!(
            kind(NoteSigner::generate_ed25519(name)),
            NoteErrorKind::BadKey,
            "{name:?}"
        );
    }
    assert_eq!(kind(NoteSigner::hmac("log", &[])), NoteErrorKind::BadKey);
}

#[test]
fn an_hmac_key_round_trips_through_its_strings_and_verifies_its_notes() {
    let signer = NoteSigner::hmac("whyline.test", b"a shared secret").unwrap();
    let back = NoteSigner::from_key_string(&signer.to_key_string()).unwrap();
    assert_eq!(back.key_id(), signer.key_id());
    assert_eq!(back.name(), "whyline.test");
    let verifier = NoteVerifier::from_key_string(&signer.verifier().to_key_string()).unwrap();
    assert_eq!(verifier.key_id(), signer.key_id());
    let note = sign_note("whyline.test/log\n3\nAAAA\n", &back);
    assert_eq!(
        verify_note(&note, &verifier).unwrap(),
        "whyline.test/log\n3\nAAAA\n"
    );
    // Another secret under the same name is another key id: no signature it can check.
    let other = NoteSigner::hmac("whyline.test", b"another secret").unwrap();
    assert_eq!(
        kind(verify_note(&note, &other.verifier())),
        NoteErrorKind::NoSignature
    );
}

#[test]
fn key_strings_of_an_unknown_type_or_the_wrong_id_are_refused() {
    let signer = NoteSigner::Ed25519 {
        name: "whyline.test".into(),
        key: ed25519_dalek::SigningKey::from_bytes(&[7; 32]),
    };
    let id = format!("{:08x}", signer.key_id());
    let unknown_type = STANDARD.encode([0x07u8; 33]);
    assert_eq!(
        kind(NoteSigner::from_key_string(&format!(
            "PRIVATE+KEY+whyline.test+{id}+{unknown_type}"
        ))),
        NoteErrorKind::BadKey
    );
    assert_eq!(
        kind(NoteVerifier::from_key_string(&format!(
            "whyline.test+{id}+{unknown_type}"
        ))),
        NoteErrorKind::BadKey
    );
    let wrong_id = if id == "00000000" {
        "00000001"
    } else {
        "00000000"
    };
    let signing = signer.to_key_string().replace(&id, wrong_id);
    assert_eq!(
        kind(NoteSigner::from_key_string(&signing)),
        NoteErrorKind::BadKey
    );
    let verifying = signer.verifier().to_key_string().replace(&id, wrong_id);
    assert_eq!(
        kind(NoteVerifier::from_key_string(&verifying)),
        NoteErrorKind::BadKey
    );
    // Not a signing key at all.
    assert_eq!(
        kind(NoteSigner::from_key_string("whyline.test+00000000+AAAA")),
        NoteErrorKind::BadKey
    );
}

/// A key whose name a signature line cannot carry (empty, with a space or a control
/// character) is refused even when its id is the right one for that name and key.
#[test]
fn key_strings_with_a_name_no_note_can_carry_are_refused() {
    for name in ["", "bad name", "tab\tname"] {
        let signer = NoteSigner::Ed25519 {
            name: name.into(),
            key: ed25519_dalek::SigningKey::from_bytes(&[7; 32]),
        };
        assert_eq!(
            kind(NoteSigner::from_key_string(&signer.to_key_string())),
            NoteErrorKind::BadKey,
            "signer named {name:?}"
        );
        assert_eq!(
            kind(NoteVerifier::from_key_string(
                &signer.verifier().to_key_string()
            )),
            NoteErrorKind::BadKey,
            "verifier named {name:?}"
        );
    }
}

#[test]
fn debug_shows_the_name_and_key_id_and_never_the_secret() {
    let seed = [7u8; 32];
    let signer = NoteSigner::Ed25519 {
        name: "whyline.test".into(),
        key: ed25519_dalek::SigningKey::from_bytes(&seed),
    };
    let hmac = NoteSigner::hmac("whyline.hmac", b"a shared secret").unwrap();
    for (debug, name, id, secrets) in [
        (
            format!("{signer:?}"),
            "whyline.test",
            signer.key_id(),
            vec![hex::encode(seed), format!("{seed:?}")],
        ),
        (
            format!("{hmac:?}"),
            "whyline.hmac",
            hmac.key_id(),
            vec![
                "a shared secret".to_owned(),
                hex::encode(b"a shared secret"),
            ],
        ),
        (
            format!("{:?}", hmac.verifier()),
            "whyline.hmac",
            hmac.key_id(),
            vec![
                "a shared secret".to_owned(),
                hex::encode(b"a shared secret"),
            ],
        ),
        (
            format!("{:?}", signer.verifier()),
            "whyline.test",
            signer.key_id(),
            vec![hex::encode(seed)],
        ),
    ] {
        assert!(debug.contains(name), "{debug}");
        assert!(
            debug.contains(&hex::encode(id.to_be_bytes())),
            "{debug} lacks the key id"
        );
        for secret in secrets {
            assert!(!debug.contains(&secret), "{debug} shows a secret");
        }
    }
}
