//! The read API: decisions by time and by index, proofs, incidents.

use serde_json::Value;
use sha2::Digest;
use whyline::core::from_json;
use whyline::ledger::{keys, verify_consistency, verify_inclusion, verify_note};
use whyline::{AnyPath, to_aprt};

use crate::common::{
    client, expected, get_json, get_text, infer, infer_body, rows, start, start_serving,
};

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
    let one = get_text(server.url(&format!("/v1/decisions?from={time}&to={time}"))).await;
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

#[tokio::test(flavor = "multi_thread")]
async fn a_ledger_that_signs_no_checkpoint_serves_entries_but_says_why_it_has_no_proof() {
    // One model: the incident page names decisions after the last model record.
    let server = start_serving(&[("iris", "sk_logreg_iris.whyline.json")], |config, _| {
        config
            .profile_text(
                "[inference_monitor]\nintegrity_level = \"SIL2\"\ncollector = \"ledger\"\n\
                 signing = \"none\"\n",
                std::path::Path::new("unsigned.toml"),
            )
            .unwrap();
    });
    let (status, answer) = infer(&server, "iris", &infer_body(&[vec![5.1, 3.5, 1.4, 0.2]])).await;
    assert_eq!(status, 200, "{answer}");
    let index = answer["parameters"]["decisions"][0]["index"]
        .as_u64()
        .unwrap();
    let none_yet = "the ledger has no signed checkpoint yet";
    for path in [
        format!("/v1/proof/inclusion?index={index}"),
        "/v1/proof/consistency?from=0".to_owned(),
        "/checkpoint".to_owned(),
    ] {
        let (status, error) = get_json(&server, &path).await;
        assert_eq!(status, 404, "{path}: {error}");
        assert_eq!(error["code"], "not_found", "{path}");
        assert_eq!(error["error"], none_yet, "{path}");
    }
    // The decision is served without a proof, saying why.
    let (status, entry) = get_json(&server, &format!("/v1/decisions/{index}")).await;
    assert_eq!(status, 200, "{entry}");
    assert_eq!(entry["leaf"], answer["parameters"]["decisions"][0]["leaf"]);
    assert_eq!(entry["proof"], Value::Null);
    assert_eq!(entry["proof_error"], none_yet);
    // Entry 0 is the first model's record: its kind, its leaf (SHA-256 of 0x00 and its
    // bytes), no decision view.
    let (status, record) = get_json(&server, "/v1/decisions/0").await;
    assert_eq!(status, 200, "{record}");
    assert_eq!(record["kind"], "model");
    assert!(record.get("trace").is_none() && record.get("explained").is_none());
    let bytes = hex::decode(record["entry_hex"].as_str().unwrap()).unwrap();
    assert_eq!(&bytes[..4], b"WLMD");
    let mut hasher = sha2::Sha256::new();
    hasher.update([0u8]);
    hasher.update(&bytes);
    assert_eq!(
        record["leaf"].as_str().unwrap(),
        hex::encode(hasher.finalize())
    );
    // The incident page: the chain verified, no signature to check, nothing anomalous.
    let time = entry["trace"]["timestamp_ns"].as_u64().unwrap();
    let page = get_text(server.url(&format!("/incident?at={time}"))).await;
    assert!(page.contains("✓ Chain integrity verified: "), "{page}");
    assert!(!page.contains("signatures checked"), "{page}");
    assert!(
        page.contains("<h2>Anomalies (0)</h2><p>None in the window.</p>"),
        "{page}"
    );
    assert!(
        page.contains(&format!(
            "<strong>setosa</strong> 98% <a href=\"/decisions/{index}\">#{index}</a>"
        )),
        "{page}"
    );
    server.stop();
}

#[tokio::test(flavor = "multi_thread")]
async fn proofs_against_a_named_checkpoint_and_bad_incident_windows() {
    let server = start(|_, _| {});
    let (status, answer) = infer(
        &server,
        "iris",
        &infer_body(&[vec![5.1, 3.5, 1.4, 0.2], vec![5.0, 3.4, 1.5, 0.2]]),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    let last = answer["parameters"]["decisions"][1]["index"]
        .as_u64()
        .unwrap();
    // The inclusion proof of the last decision signs a checkpoint of every entry so far.
    let (status, proof) = get_json(&server, &format!("/v1/proof/inclusion?index={last}")).await;
    assert_eq!(status, 200, "{proof}");
    let size = proof["tree_size"].as_u64().unwrap();
    assert_eq!(size, last + 1);
    // Consistency to that checkpoint by its size, and inclusion in it by its size.
    let (status, consistency) =
        get_json(&server, &format!("/v1/proof/consistency?from=1&to={size}")).await;
    assert_eq!(status, 200, "{consistency}");
    assert_eq!(consistency["tree_size"].as_u64(), Some(size));
    verify_consistency(
        1,
        size,
        &hash(&consistency["old_root"]),
        &hash(&consistency["root"]),
        &hashes(&consistency["proof"]),
    )
    .unwrap();
    let (status, again) = get_json(
        &server,
        &format!("/v1/proof/inclusion?index={last}&size={size}"),
    )
    .await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(again, proof);
    for (path, message) in [
        (
            format!("/v1/proof/consistency?from=1&to={}", size + 7),
            format!("no signed checkpoint of size {}", size + 7),
        ),
        (
            "/v1/incident?at=0&after=later".to_owned(),
            "after: ".to_owned(),
        ),
        (
            "/v1/incident?at=noon".to_owned(),
            "at: cannot read time \"noon\"".to_owned(),
        ),
    ] {
        let (status, error) = get_json(&server, &path).await;
        assert!(status == 400 || status == 404, "{path}: {status} {error}");
        assert!(
            error["error"].as_str().unwrap().starts_with(&message),
            "{path}: {error}"
        );
    }
    server.stop();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_window_of_more_decisions_than_one_chunk_is_streamed_whole_and_in_order() {
    let server = start(|_, _| {});
    // More than the 1,024 lines of one chunk of the streamed body.
    let rows = vec![vec![5.1, 3.5, 1.4, 0.2]; 1_100];
    let (status, answer) = infer(&server, "iris", &infer_body(&rows)).await;
    assert_eq!(status, 200);
    let receipts: Vec<u64> = answer["parameters"]["decisions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["index"].as_u64().unwrap())
        .collect();
    let mut indices: Vec<u64> = Vec::new();
    for _ in 0..100 {
        let text = get_text(server.url("/v1/decisions?from=0&to=18446744073709551615")).await;
        indices = text
            .lines()
            .map(|l| {
                serde_json::from_str::<Value>(l).unwrap()["index"]
                    .as_u64()
                    .unwrap()
            })
            .collect();
        if indices.len() == receipts.len() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert_eq!(indices, receipts);
    server.stop();
}

/// With a group commit that would wait ten minutes, a decision just answered is still on
/// the incident page and in the read API's window: a read commits what was acknowledged
/// before it opens the log (it used to read only what the group commit had written, so the
/// page said "the log holds no decisions" for up to the commit interval).
#[tokio::test(flavor = "multi_thread")]
async fn a_decision_just_answered_is_read_back_before_its_group_commit_is_due() {
    let server = start_serving(&[("iris", "sk_logreg_iris.whyline.json")], |config, _| {
        config
            .profile_text(
                "[inference_monitor]\nintegrity_level = \"SIL2\"\ncollector = \"ledger\"\n\
                 signing = \"none\"\ndurability = \"interval\"\ngroup_commit_ms = 600000\n\
                 group_commit_entries = 100000\n",
                std::path::Path::new("slow_commit.toml"),
            )
            .unwrap();
    });
    let (status, answer) = infer(&server, "iris", &infer_body(&[vec![5.1, 3.5, 1.4, 0.2]])).await;
    assert_eq!(status, 200, "{answer}");
    let index = answer["parameters"]["decisions"][0]["index"]
        .as_u64()
        .unwrap();
    let (status, entry) = get_json(&server, &format!("/v1/decisions/{index}")).await;
    assert_eq!(status, 200, "{entry}");
    let time = entry["trace"]["timestamp_ns"].as_u64().unwrap();
    let window = get_text(server.url(&format!("/v1/decisions?from={time}&to={time}"))).await;
    assert_eq!(window.lines().count(), 1, "{window}");
    let page = get_text(server.url(&format!("/incident?at={time}"))).await;
    assert!(page.contains("✓ Chain integrity verified: "), "{page}");
    server.stop();
}
