//! The ledger's frame reader and recovery, the checkpoint note parser, and proofs.

use whyline_ledger::{
    Checkpoint, Durability, Evidence, Ledger, LedgerOptions, MemoryStore, NoteSigner, NoteVerifier,
    root_from_inclusion_proof, stated_time_disorder, verify_consistency, verify_inclusion,
    verify_note, verify_store,
};

use crate::{Outcome, message};

/// The HMAC key the fuzzed ledgers, checkpoints and proofs are signed with (the seed
/// corpora are written with it, so their signatures check and the fuzzer gets past them).
pub const LEDGER_KEY: (&str, &[u8]) = ("fuzz/ledger", b"whyline fuzz ledger key, not secret");

/// The C2SP key of the Go reference implementation's example note (the committed
/// `signed-note` fixture), so an Ed25519 note is checked too.
const ED25519_VERIFIER: &str = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";

/// A payload the recovered ledger must take: the golden linear APRT record.
const PAYLOAD: &[u8] = include_bytes!("../../whyline-core/tests/fixtures/golden/linear.aprt");

fn signer() -> Result<NoteSigner, String> {
    NoteSigner::hmac(LEDGER_KEY.0, LEDGER_KEY.1).map_err(|e| message(&e))
}

/// The fuzz input of a ledger with entry log `entries` and checkpoint log `checkpoints`:
/// the checkpoint log's length (u32, little-endian), the entry log, the checkpoint log.
pub fn ledger_input(entries: &[u8], checkpoints: &[u8]) -> Vec<u8> {
    let len = u32::try_from(checkpoints.len()).unwrap_or(u32::MAX);
    let mut out = len.to_le_bytes().to_vec();
    out.extend_from_slice(entries);
    out.extend_from_slice(checkpoints);
    out
}

/// Splits a fuzz input into the entry log and the checkpoint log (see [`ledger_input`]).
fn split(data: &[u8]) -> (&[u8], &[u8]) {
    let Some((len, rest)) = data.split_first_chunk::<4>() else {
        return (data, &[]);
    };
    let len = usize::try_from(u32::from_le_bytes(*len)).unwrap_or(usize::MAX);
    rest.split_at(rest.len().saturating_sub(len))
}

/// Opens an in-memory store over the bytes (see [`ledger_input`]), verifies it with and
/// without the key (`whyline verify`), then reopens it for writing (recovery): a log that
/// opens takes a new entry and a checkpoint, and then verifies intact.
pub fn ledger(data: &[u8]) -> Outcome {
    let (entries, checkpoints) = split(data);
    let signer = signer()?;
    let verifier = signer.verifier();
    let store = MemoryStore::from_bytes(entries.to_vec(), checkpoints.to_vec());
    let unsigned = verify_store(&store, None).map_err(|e| message(&e))?;
    let _ = unsigned.to_json();
    let signed = verify_store(&store, Some(&verifier)).map_err(|e| message(&e))?;
    let _ = signed.to_json();
    let options = LedgerOptions::signed(LEDGER_KEY.0, signer).durability(Durability::Sync);
    let (mut ledger, report) = Ledger::open(store, options).map_err(|e| message(&e))?;
    let _ = format!("{report:?}");
    let size = ledger.size();
    ledger.append(PAYLOAD).map_err(|e| message(&e))?;
    ledger.checkpoint().map_err(|e| message(&e))?;
    let read = ledger.read_entry(size).map_err(|e| message(&e))?;
    assert_eq!(
        read.payload, PAYLOAD,
        "the appended entry reads back changed"
    );
    let store = ledger.into_store().map_err(|e| message(&e))?;
    let after = verify_store(&store, Some(&verifier)).map_err(|e| message(&e))?;
    assert!(
        after.is_intact(),
        "a log that opened for writing does not verify after one append: {after:?}"
    );
    Ok(())
}

/// Reads the bytes as key strings and as a signed note: its signature (HMAC, and the
/// Ed25519 example key), the checkpoint body, the time disorder it states. A body that
/// parses writes back to a body that parses to the same checkpoint.
pub fn checkpoint_note(data: &[u8]) -> Outcome {
    let text = std::str::from_utf8(data).map_err(|e| e.to_string())?;
    let _ = NoteVerifier::from_key_string(text);
    let _ = NoteSigner::from_key_string(text).map(|s| s.to_key_string());
    let _ = stated_time_disorder(text);
    if let Ok(checkpoint) = Checkpoint::from_body(text) {
        check_body(&checkpoint);
    }
    let ed25519 = NoteVerifier::from_key_string(ED25519_VERIFIER).map_err(|e| message(&e))?;
    let _ = verify_note(text, &ed25519);
    let verifier = signer()?.verifier();
    let body = verify_note(text, &verifier).map_err(|e| message(&e))?;
    let checkpoint = Checkpoint::from_body(body).map_err(|e| message(&e))?;
    check_body(&checkpoint);
    let verified = Checkpoint::verify(text, &verifier).map_err(|e| message(&e))?;
    assert_eq!(
        verified, checkpoint,
        "Checkpoint::verify and verify_note disagree"
    );
    Ok(())
}

fn check_body(checkpoint: &Checkpoint) {
    let again = Checkpoint::from_body(&checkpoint.body());
    assert!(
        again.as_ref().ok() == Some(checkpoint),
        "checkpoint body does not read back: {checkpoint:?} -> {again:?}"
    );
}

/// Reads the bytes as a proof file (`whyline verify-proof`), verifies it with the ledger
/// key, and checks its audit path on its own (past the signature the fuzzer cannot forge).
pub fn proof(data: &[u8]) -> Outcome {
    let text = std::str::from_utf8(data).map_err(|e| e.to_string())?;
    let evidence = Evidence::from_json(text).map_err(|e| message(&e))?;
    let _ = evidence.kind();
    let verifier = signer()?.verifier();
    let verified = evidence.verify(&verifier, LEDGER_KEY.0);
    match &evidence {
        Evidence::Inclusion(p) => {
            let path = verify_inclusion(&p.leaf, p.index, p.tree_size, &p.proof, &p.root);
            let root = root_from_inclusion_proof(&p.leaf, p.index, p.tree_size, &p.proof);
            if verified.is_ok() {
                assert!(
                    path.is_ok() && root.ok() == Some(p.root),
                    "inclusion: verify and path disagree"
                );
            }
            path.map_err(|e| message(&e))?;
        }
        Evidence::Consistency(p) => {
            let path = verify_consistency(p.old_size, p.tree_size, &p.old_root, &p.root, &p.proof);
            if verified.is_ok() {
                assert!(path.is_ok(), "consistency: verify and path disagree");
            }
            path.map_err(|e| message(&e))?;
        }
        Evidence::Window(_) => {}
    }
    verified.map(|_| ()).map_err(|e| message(&e))
}
