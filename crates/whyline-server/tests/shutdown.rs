//! Shutdown: in-flight requests finish, the ledger is committed and checkpointed, and every
//! receipt sent is in the verified ledger.

use whyline::{SegmentStore, VerifyOutcome, verify_store};

use crate::common::{infer, infer_body, start};

#[tokio::test(flavor = "multi_thread")]
async fn a_stopped_server_leaves_a_verified_ledger_with_a_final_checkpoint_of_every_receipt() {
    let server = start(|_, _| {});
    let mut receipts = Vec::new();
    for _ in 0..5 {
        let (status, response) = infer(
            &server,
            "iris",
            &infer_body(&vec![vec![6.0, 3.0, 4.0, 1.5]; 4]),
        )
        .await;
        assert_eq!(status, 200);
        for decision in response["parameters"]["decisions"].as_array().unwrap() {
            receipts.push((
                decision["index"].as_u64().unwrap(),
                decision["leaf"].as_str().unwrap().to_owned(),
            ));
        }
    }
    let report = server.stop();
    assert_eq!(report.entries, 2 + 20);
    let note = report.checkpoint.expect("a final checkpoint");
    assert!(note.contains("\n22\n"), "{note}");
    let store = SegmentStore::open_existing(server.ledger()).unwrap();
    let verifier =
        whyline::ledger::keys::read_verifier(&server.ledger().join("ledger.pub")).unwrap();
    let outcome = verify_store(&store, Some(&verifier)).unwrap();
    assert!(matches!(outcome, VerifyOutcome::Intact(_)), "{outcome:?}");
    let read = whyline::LedgerReader::new(&store)
        .unwrap()
        .all_entries()
        .unwrap();
    for (index, leaf) in receipts {
        let entry = &read.entries[index as usize];
        assert_eq!(
            hex::encode(whyline::ledger::leaf_hash(&entry.payload)),
            leaf
        );
    }
}
