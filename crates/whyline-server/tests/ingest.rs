//! Decision ingest and the C2SP tlog-tiles read API, checked against hashes computed here
//! (RFC 6962 leaf and tree hashes, from the spec, not from the crate).

use std::path::Path;

use base64::Engine;
use serde_json::Value;
use sha2::Digest;
use whyline::core::from_json;
use whyline::{AnyPath, to_aprt};

use crate::common::{client, get_json, start};

fn golden(name: &str) -> Vec<u8> {
    std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../whyline-core/tests/fixtures/golden")
            .join(name),
    )
    .unwrap()
}

fn leaf(entry: &[u8]) -> [u8; 32] {
    let mut hasher = sha2::Sha256::new();
    hasher.update([0u8]);
    hasher.update(entry);
    hasher.finalize().into()
}

/// RFC 6962 §2.1 MTH over leaf hashes: split at the largest power of two below n.
fn tree_hash(leaves: &[[u8; 32]]) -> [u8; 32] {
    match leaves.len() {
        0 => sha2::Sha256::digest([]).into(),
        1 => leaves[0],
        n => {
            let k = 1usize << (usize::BITS - 1 - (n - 1).leading_zeros());
            let mut hasher = sha2::Sha256::new();
            hasher.update([1u8]);
            hasher.update(tree_hash(&leaves[..k]));
            hasher.update(tree_hash(&leaves[k..]));
            hasher.finalize().into()
        }
    }
}

async fn post(server: &crate::common::Running, media: &str, body: Vec<u8>) -> (u16, String) {
    let response = client()
        .post(server.url("/v1/decisions"))
        .header("content-type", media)
        .body(body)
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

#[tokio::test(flavor = "multi_thread")]
async fn ingested_batches_get_receipts_and_the_log_is_followed_through_tiles() {
    let server = start(|_, _| {});
    let lines = String::from_utf8(golden("all.jsonl")).unwrap();
    let traces: Vec<_> = lines
        .lines()
        .map(|line| from_json::<AnyPath>(line).unwrap())
        .collect();

    // JSON lines: one receipt per line, the leaf of the canonical APRT record.
    let (status, body) = post(&server, "application/x-ndjson", lines.clone().into_bytes()).await;
    assert_eq!(status, 200, "{body}");
    let receipts: Vec<Value> = body
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(receipts.len(), traces.len());
    let first = receipts[0]["index"].as_u64().unwrap();
    for (i, (receipt, trace)) in receipts.iter().zip(&traces).enumerate() {
        assert_eq!(
            receipt["index"].as_u64(),
            Some(first + i as u64),
            "contiguous"
        );
        assert_eq!(
            receipt["leaf"].as_str(),
            Some(hex::encode(leaf(&to_aprt(trace))).as_str())
        );
    }

    // APRT records: the same traces again.
    let aprt: Vec<u8> = traces.iter().flat_map(to_aprt).collect();
    let (status, body) = post(&server, "application/x-aprt", aprt).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body.lines().count(), traces.len());

    // A bad second record refuses the whole batch, naming it and its byte offset.
    let first_line = lines.lines().next().unwrap();
    let bad = format!("{first_line}\n{{\"version\":\"1.0\",\"trace\":{{}}}}\n");
    let (status, body) = post(&server, "application/jsonl", bad.into_bytes()).await;
    assert_eq!(status, 400, "{body}");
    let error: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(error["code"], "bad_record");
    let message = error["error"].as_str().unwrap();
    assert!(
        message.contains(&format!("record 2 at byte {}", first_line.len() + 1)),
        "{message}"
    );
    let (status, body) = post(&server, "text/plain", b"x".to_vec()).await;
    assert_eq!(status, 415, "{body}");

    // Nothing of the refused batch was appended: the entries are the two model records and
    // the two batches.
    let size = 2 + 2 * traces.len();
    let (status, proof) =
        get_json(&server, &format!("/v1/proof/inclusion?index={}", size - 1)).await;
    assert_eq!(status, 200, "{proof}");
    assert_eq!(proof["tree_size"].as_u64(), Some(size as u64));

    // tlog-tiles: the checkpoint, the level-0 tile and the entry bundle of the tree.
    let note = client()
        .get(server.url("/checkpoint"))
        .send()
        .await
        .unwrap();
    assert_eq!(note.status(), 200);
    let note = note.text().await.unwrap();
    let mut note_lines = note.lines();
    assert_eq!(note_lines.next(), Some("whyline/ledger"));
    assert_eq!(note_lines.next(), Some(size.to_string().as_str()));
    let root = base64::engine::general_purpose::STANDARD
        .decode(note_lines.next().unwrap())
        .unwrap();
    let bundle = client()
        .get(server.url(&format!("/tile/entries/000.p/{size}")))
        .send()
        .await
        .unwrap();
    assert_eq!(bundle.status(), 200);
    let bundle = bundle.bytes().await.unwrap();
    let mut entries = Vec::new();
    let mut at = 0;
    while at < bundle.len() {
        let len = usize::from(u16::from_be_bytes([bundle[at], bundle[at + 1]]));
        entries.push(bundle[at + 2..at + 2 + len].to_vec());
        at += 2 + len;
    }
    assert_eq!(entries.len(), size);
    let leaves: Vec<[u8; 32]> = entries.iter().map(|e| leaf(e)).collect();
    assert_eq!(
        tree_hash(&leaves).as_slice(),
        root.as_slice(),
        "MTH of the bundle = the checkpoint's root"
    );
    let tile = client()
        .get(server.url(&format!("/tile/0/000.p/{size}")))
        .send()
        .await
        .unwrap();
    assert_eq!(tile.status(), 200);
    let tile = tile.bytes().await.unwrap();
    assert_eq!(tile.len(), 32 * size);
    for (i, chunk) in tile.chunks(32).enumerate() {
        assert_eq!(chunk, leaves[i].as_slice(), "level-0 hash {i}");
    }
    for (path, status) in [
        ("/tile/0/000", 404),  // a full tile of a tree of fewer than 256 entries
        ("/tile/0/0000", 400), // not the canonical spelling
        ("/tile/entries/x000/000", 400),
    ] {
        let response = client().get(server.url(path)).send().await.unwrap();
        assert_eq!(response.status().as_u16(), status, "{path}");
    }
    server.stop();
}
