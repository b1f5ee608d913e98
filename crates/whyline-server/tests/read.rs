//! The read API: decisions by time and by index, proofs, incidents.

use serde_json::Value;
use sha2::Digest;
use whyline::core::from_json;
use whyline::ledger::{keys, verify_consistency, verify_inclusion, verify_note};
use whyline::{AnyPath, to_aprt};

use crate::common::{client, expected, get_json, infer, infer_body, rows, start};

fn hash(text: &Value) -> [u8; 32] {
    hex::decode(text.as_str().unwrap())
        .unwrap()
        .try_into()
        .unwrap()
}

fn hashes(list: &Value) -> Vec<[u8; 32]> {
    list.as_array().unwrap().iter().map(hash).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn decisions_proofs_and_incidents_are_read_back_from_the_ledger() {
    let server = start(|_, _| {});
    let oracle = expected("sk_logreg_iris.expected.json");
    let rows = rows(&oracle);
    let (status, response) = infer(&server, "iris", &infer_body(&rows[..10])).await;
    assert_eq!(status, 200, "{response}");
    let receipts: Vec<(u64, String)> = response["parameters"]["decisions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["index"].as_u64().unwrap(),
                d["leaf"].as_str().unwrap().to_owned(),
            )
        })
        .collect();

    // Every decision of the window, in log order, as JSON lines whose leaf hashes re-hash.
    // Reads see committed entries: under `interval`, within `group_commit_ms` (5 ms).
    let mut lines: Vec<Value> = Vec::new();
    for _ in 0..100 {
        let body = client()
            .get(server.url("/v1/decisions?from=0&to=18446744073709551615"))
            .send()
            .await
            .unwrap();
        assert_eq!(body.status(), 200);
        assert_eq!(body.headers()["content-type"], "application/jsonl");
        let text = body.text().await.unwrap();
        lines = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        if lines.len() == 10 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert_eq!(lines.len(), 10);
    for (line, (index, leaf)) in lines.iter().zip(&receipts) {
        assert_eq!(line["index"].as_u64(), Some(*index));
        assert_eq!(line["leaf"].as_str(), Some(leaf.as_str()));
        // RFC 6962 leaf: SHA-256(0x00 ‖ the APRT record the JSON view stands for).
        let trace = from_json::<AnyPath>(&line.to_string()).unwrap();
        let mut hasher = sha2::Sha256::new();
        hasher.update([0u8]);
        hasher.update(to_aprt(&trace));
        assert_eq!(hex::encode(hasher.finalize()), *leaf);
    }
    let time = lines[4]["trace"]["timestamp_ns"].as_u64().unwrap();
    let (status, _) = get_json(&server, &format!("/v1/decisions?from={time}&to={time}")).await;
    assert_eq!(status, 200);
    let one = client()
        .get(server.url(&format!("/v1/decisions?from={time}&to={time}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(one.lines().count(), 1, "{one}");

    // The inclusion proof of the 6th decision reaches the signed checkpoint's root.
    let verifier = keys::read_verifier(&server.ledger().join("ledger.pub")).unwrap();
    let (index, leaf) = &receipts[5];
    let (status, proof) = get_json(&server, &format!("/v1/proof/inclusion?index={index}")).await;
    assert_eq!(status, 200, "{proof}");
    assert_eq!(proof["type"], "inclusion");
    assert_eq!(proof["leaf"].as_str(), Some(leaf.as_str()));
    let size = proof["tree_size"].as_u64().unwrap();
    assert!(size > *index);
    verify_inclusion(
        &hash(&proof["leaf"]),
        *index,
        size,
        &hashes(&proof["proof"]),
        &hash(&proof["root"]),
    )
    .unwrap();
    let body = verify_note(proof["checkpoint"].as_str().unwrap(), &verifier).unwrap();
    assert!(body.contains(&format!("\n{size}\n")), "{body}");

    // The entry, its path and the same proof.
    let (status, entry) = get_json(&server, &format!("/v1/decisions/{index}")).await;
    assert_eq!(status, 200);
    assert_eq!(entry["leaf"].as_str(), Some(leaf.as_str()));
    assert_eq!(entry["proof"], proof);

    // Consistency from the tree before the decisions to the checkpoint.
    let first = receipts[0].0;
    let (status, consistency) =
        get_json(&server, &format!("/v1/proof/consistency?from={first}")).await;
    assert_eq!(status, 200, "{consistency}");
    assert_eq!(consistency["type"], "consistency");
    verify_consistency(
        first,
        consistency["tree_size"].as_u64().unwrap(),
        &hash(&consistency["old_root"]),
        &hash(&consistency["root"]),
        &hashes(&consistency["proof"]),
    )
    .unwrap();

    // Refusals.
    for (path, status, message) in [
        ("/v1/decisions/999999", 404, "999999"),
        ("/v1/proof/inclusion?index=999999", 404, "999999"),
        (
            &format!("/v1/proof/inclusion?index=0&size={}", size + 1000) as &str,
            404,
            "no signed checkpoint of size",
        ),
        ("/v1/proof/consistency?from=999999", 400, "larger than"),
        (
            "/v1/decisions?from=yesterday&to=0",
            400,
            "cannot read time \"yesterday\"",
        ),
        ("/v1/decisions?from=5&to=4", 400, "after"),
        ("/v1/incident?at=0&format=pdf", 400, "expected json or html"),
        ("/v1/incident?at=0&before=forever", 400, "before"),
    ] {
        let (got, error) = get_json(&server, path).await;
        assert_eq!(got, status, "{path}: {error}");
        assert!(
            error["error"].as_str().unwrap().contains(message),
            "{path}: {error}"
        );
    }

    // The incident report around the 5th decision holds the window's decisions.
    let (status, report) = get_json(
        &server,
        &format!("/v1/incident?at={time}&before=1h&after=1h&format=json"),
    )
    .await;
    assert_eq!(status, 200, "{report}");
    assert!(report.is_object());
    let html = client()
        .get(server.url(&format!("/v1/incident?at={time}&format=html")))
        .send()
        .await
        .unwrap();
    assert_eq!(html.status(), 200);
    assert!(
        html.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert!(html.text().await.unwrap().contains("<html"));
    server.stop();
}
