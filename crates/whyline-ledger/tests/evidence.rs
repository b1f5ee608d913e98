//! Proof files as an auditor receives them: each kind read back by its `type`, verified
//! offline against a root recomputed here with sha2 (RFC 6962 §2.1), and refused when its
//! checkpoint is another log's or disagrees with the proof's size or root.

use sha2::{Digest, Sha256};
use whyline_ledger::{
    Evidence, Ledger, LedgerError, LedgerOptions, LedgerReader, MemoryStore, WindowErrorKind,
};

use crate::common::{ORIGIN, frame_spans, memory_ledger, payload, signer, trace};

/// RFC 6962 Merkle tree hash of the payloads of entries `0..n`, computed with sha2 alone.
fn mth(leaves: &[Vec<u8>]) -> [u8; 32] {
    match leaves.len() {
        0 => Sha256::digest([]).into(),
        1 => Sha256::new()
            .chain_update([0u8])
            .chain_update(&leaves[0])
            .finalize()
            .into(),
        n => {
            let k = n.next_power_of_two() / 2;
            Sha256::new()
                .chain_update([1u8])
                .chain_update(mth(&leaves[..k]))
                .chain_update(mth(&leaves[k..]))
                .finalize()
                .into()
        }
    }
}

fn payloads(n: u64) -> Vec<Vec<u8>> {
    (0..n).map(payload).collect()
}

#[test]
fn each_kind_of_proof_reads_back_by_its_type_and_verifies_against_the_recomputed_root() {
    let ledger = memory_ledger(20);
    let root = mth(&payloads(20));
    let verifier = signer().verifier();

    let inclusion = ledger.prove_inclusion(5).unwrap();
    let read = Evidence::from_json(&serde_json::to_string(&inclusion).unwrap()).unwrap();
    assert_eq!(read.kind(), "inclusion");
    assert_eq!(read, Evidence::Inclusion(inclusion));
    let checkpoint = read.verify(&verifier, ORIGIN).unwrap();
    assert_eq!(
        (checkpoint.origin.as_str(), checkpoint.size, checkpoint.root),
        (ORIGIN, 20, root)
    );

    let consistency = ledger.prove_consistency(8).unwrap();
    assert_eq!(consistency.old_root, mth(&payloads(8)));
    let read = Evidence::from_json(&serde_json::to_string(&consistency).unwrap()).unwrap();
    assert_eq!(read.kind(), "consistency");
    assert_eq!(read.verify(&verifier, ORIGIN).unwrap().root, root);

    // trace(i) is stamped START + 1000·i: the window of entries 5..=9.
    let (from, to) = (trace(5).timestamp_ns, trace(9).timestamp_ns);
    let window = ledger.prove_window(from, to).unwrap();
    assert_eq!(window.origin().unwrap(), ORIGIN);
    assert_eq!(window.root, root);
    assert!(window.first_index <= 5 && window.end_index >= 10);
    assert_eq!(window.entries(), window.end_index - window.first_index);
    let read = Evidence::from_json(&serde_json::to_string(&window).unwrap()).unwrap();
    assert_eq!(read.kind(), "window");
    assert_eq!(read.verify(&verifier, ORIGIN).unwrap().size, 20);
}

#[test]
fn a_proof_whose_checkpoint_disagrees_or_is_another_logs_is_refused() {
    let ledger = memory_ledger(20);
    let verifier = signer().verifier();
    let proof = ledger.prove_inclusion(3).unwrap();
    let mut bigger = proof.clone();
    bigger.tree_size = 21;
    assert!(matches!(
        Evidence::Inclusion(bigger).verify(&verifier, ORIGIN),
        Err(LedgerError::CheckpointMismatch { what: "tree size" })
    ));
    let mut other_root = ledger.prove_consistency(4).unwrap();
    other_root.root[0] ^= 1;
    assert!(matches!(
        Evidence::Consistency(other_root).verify(&verifier, ORIGIN),
        Err(LedgerError::CheckpointMismatch { what: "root" })
    ));
    let error = Evidence::Inclusion(proof)
        .verify(&verifier, "another/log")
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        format!(r#"the proof's checkpoint is for log "{ORIGIN}", expected "another/log""#)
    );
}

#[test]
fn a_window_proof_with_its_ends_swapped_or_another_disorder_is_refused() {
    let ledger = memory_ledger(20);
    let verifier = signer().verifier();
    let (from, to) = (trace(5).timestamp_ns, trace(9).timestamp_ns);
    let error = ledger.prove_window(to, from).unwrap_err();
    assert!(
        matches!(
            error,
            LedgerError::InvalidWindow {
                kind: WindowErrorKind::Inverted,
                ..
            }
        ),
        "{error:?}"
    );
    let proof = ledger.prove_window(from, to).unwrap();
    let mut swapped = proof.clone();
    (swapped.from_ns, swapped.to_ns) = (to, from);
    let error = swapped.verify(&verifier, ORIGIN).unwrap_err();
    assert_eq!(
        error.to_string(),
        format!("window proof for {to}..={from} ns: the window ends before it starts")
    );
    let mut disorder = proof;
    disorder.time_disorder_ns += 1;
    let error = disorder.verify(&verifier, ORIGIN).unwrap_err();
    assert!(
        matches!(
            error,
            LedgerError::InvalidWindow {
                kind: WindowErrorKind::DisorderMismatch {
                    stated_ns: 1,
                    signed_ns: 0
                },
                ..
            }
        ),
        "{error:?}"
    );
}

#[test]
fn the_reader_proves_no_window_without_a_checkpoint_or_on_a_broken_log() {
    let (mut bare, _) = Ledger::open(
        MemoryStore::new(),
        LedgerOptions::without_checkpoints(ORIGIN),
    )
    .unwrap();
    for i in 0..4 {
        bare.append(&payload(i)).unwrap();
    }
    let store = bare.into_store().unwrap();
    let error = LedgerReader::new(&store)
        .unwrap()
        .prove_window(0, u64::MAX)
        .unwrap_err();
    assert!(matches!(error, LedgerError::NoCheckpoint), "{error:?}");

    let good = memory_ledger(6).into_store().unwrap();
    let mut bytes = good.entry_bytes().to_vec();
    let spans = frame_spans(&bytes);
    bytes[spans[2].start + 20] ^= 0x01;
    let broken = MemoryStore::from_bytes(bytes, good.checkpoint_bytes().to_vec());
    let error = LedgerReader::new(&broken)
        .unwrap()
        .prove_window(0, u64::MAX)
        .unwrap_err();
    assert!(error.corruption().is_some(), "{error:?}");
}
