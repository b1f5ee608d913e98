//! `whyline serve` with the real binary: start-up, SIGTERM at random moments (seeded) while
//! clients record decisions (infer, and ingest batches), SIGKILL under `sync` durability; after each, `whyline
//! verify` passes and every receipt the client got is in the ledger (same index, same leaf).
//! Proofs fetched over HTTP are accepted by `whyline verify-proof`, and the incident report
//! is `whyline incident`'s.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use whyline_ledger::{LedgerReader, SegmentStore, leaf_hash};

#[path = "support/serving.rs"]
mod serving;

const SEED: u64 = 0x5EED_2026_1206;

/// A small deterministic generator (xorshift64*), so the moments are the same every run.
struct Moments(u64);

impl Moments {
    fn next_ms(&mut self, low: u64, high: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        low + self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % (high - low)
    }
}

fn binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_whyline"))
}

fn model() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../whyline-models/tests/fixtures/sk_logreg_iris.whyline.json")
}

/// A running `whyline serve` and its base URL.
struct Serving {
    child: Child,
    base: String,
}

fn serve(dir: &Path, config: Option<&Path>) -> Serving {
    let mut command = Command::new(binary());
    command
        .args(["serve", "--listen", "127.0.0.1:0", "--dir"])
        .arg(dir)
        .arg("--model")
        .arg(format!("iris={}", model().display()));
    if let Some(config) = config {
        command.arg("--config").arg(config);
    }
    let serving::Started { child, base, .. } = serving::start(command);
    Serving { child, base }
}

fn signal(child: &Child, name: &str) {
    let status = Command::new("kill")
        .args([format!("-{name}"), child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

/// Records one row per request until `stop`; returns every receipt (index, leaf, durable).
fn client(
    base: String,
    stop: Arc<AtomicBool>,
) -> std::thread::JoinHandle<Vec<(u64, String, bool)>> {
    std::thread::spawn(move || {
        let http = reqwest::blocking::Client::new();
        let golden = std::fs::read(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../whyline-core/tests/fixtures/golden/all.jsonl"),
        )
        .unwrap();
        let mut receipts = Vec::new();
        let mut row = 0u32;
        while !stop.load(Ordering::Relaxed) {
            row += 1;
            if row.is_multiple_of(3) {
                // Decisions recorded elsewhere: a batch, receipts once durable.
                let Ok(response) = http
                    .post(format!("{base}/v1/decisions"))
                    .header("content-type", "application/x-ndjson")
                    .body(golden.clone())
                    .send()
                else {
                    break;
                };
                if response.status() == 503 {
                    continue; // shutting down
                }
                assert_eq!(response.status(), 200, "ingest");
                let Ok(text) = response.text() else { break };
                for line in text.lines() {
                    let receipt: serde_json::Value = serde_json::from_str(line).unwrap();
                    receipts.push((
                        receipt["index"].as_u64().unwrap(),
                        receipt["leaf"].as_str().unwrap().to_owned(),
                        true,
                    ));
                }
                continue;
            }
            let x = f64::from(row % 50) / 10.0;
            let body = serde_json::json!({
                "inputs": [{ "name": "x", "shape": [1, 4], "datatype": "FP64", "data": [5.0 + x, 3.0, 1.0 + x, x / 2.0] }]
            });
            let Ok(response) = http
                .post(format!("{base}/v2/models/iris/infer"))
                .json(&body)
                .send()
            else {
                break; // the server is gone
            };
            if response.status() != 200 {
                continue; // shutting down: no receipt
            }
            let Ok(json) = response.json::<serde_json::Value>() else {
                break;
            };
            for decision in json["parameters"]["decisions"].as_array().unwrap() {
                receipts.push((
                    decision["index"].as_u64().unwrap(),
                    decision["leaf"].as_str().unwrap().to_owned(),
                    decision["durable"].as_bool().unwrap(),
                ));
            }
        }
        receipts
    })
}

fn verify(dir: &Path) {
    let output = Command::new(binary())
        .arg("verify")
        .arg(dir)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "whyline verify: {}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Every receipt names the entry at its index, by its leaf hash.
fn assert_receipts_in_ledger(dir: &Path, receipts: &[(u64, String, bool)]) {
    let store = SegmentStore::open_existing(dir).unwrap();
    let read = LedgerReader::new(&store).unwrap().all_entries().unwrap();
    assert!(read.stopped.is_none(), "{:?}", read.stopped);
    for (index, leaf, _) in receipts {
        let entry = read.entries.get(*index as usize).unwrap_or_else(|| {
            panic!(
                "receipt {index} is not in the ledger of {}",
                read.entries.len()
            )
        });
        assert_eq!(
            hex::encode(leaf_hash(&entry.payload)),
            *leaf,
            "entry {index}"
        );
    }
}

#[test]
fn sigterm_at_random_moments_loses_no_receipt_and_leaves_a_verified_ledger() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = dir.path().join("ledger");
    let mut moments = Moments(SEED);
    let mut all = Vec::new();
    for _trial in 0..3 {
        let server = serve(&ledger, None);
        let stop = Arc::new(AtomicBool::new(false));
        let clients: Vec<_> = (0..4)
            .map(|_| client(server.base.clone(), Arc::clone(&stop)))
            .collect();
        std::thread::sleep(Duration::from_millis(moments.next_ms(50, 400)));
        signal(&server.child, "TERM");
        let mut child = server.child;
        let status = child.wait().unwrap();
        stop.store(true, Ordering::Relaxed);
        assert!(status.success(), "whyline serve exited with {status}");
        for handle in clients {
            all.extend(handle.join().unwrap());
        }
        verify(&ledger);
        assert_receipts_in_ledger(&ledger, &all);
    }
    assert!(all.len() > 10, "the clients got {} receipts", all.len());
}

#[test]
fn sigkill_under_sync_durability_keeps_every_receipt() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = dir.path().join("ledger");
    let profile = dir.path().join("profile.toml");
    std::fs::write(
        &profile,
        "[inference_monitor]\nintegrity_level = \"SIL3\"\ncollector = \"ledger\"\n\n[server]\nconcurrency_per_token = 64\n",
    )
    .unwrap();
    let mut moments = Moments(SEED ^ 0x9);
    let mut all = Vec::new();
    for _trial in 0..2 {
        let server = serve(&ledger, Some(&profile));
        let stop = Arc::new(AtomicBool::new(false));
        let clients: Vec<_> = (0..4)
            .map(|_| client(server.base.clone(), Arc::clone(&stop)))
            .collect();
        std::thread::sleep(Duration::from_millis(moments.next_ms(100, 400)));
        signal(&server.child, "KILL");
        let mut child = server.child;
        let _ = child.wait().unwrap();
        stop.store(true, Ordering::Relaxed);
        for handle in clients {
            let receipts = handle.join().unwrap();
            assert!(
                receipts.iter().all(|(_, _, durable)| *durable),
                "sync receipts are durable"
            );
            all.extend(receipts);
        }
        // Restarting recovers the log (a torn tail, if the kill left one, is cut); a clean
        // stop then checkpoints it.
        let server = serve(&ledger, Some(&profile));
        signal(&server.child, "TERM");
        let mut child = server.child;
        assert!(child.wait().unwrap().success());
        verify(&ledger);
        assert_receipts_in_ledger(&ledger, &all);
    }
    assert!(!all.is_empty());
}

#[test]
fn proofs_over_http_are_accepted_by_verify_proof_and_the_incident_is_the_commands() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = dir.path().join("ledger");
    let server = serve(&ledger, None);
    let http = reqwest::blocking::Client::new();
    let rows: Vec<f64> = (0..40).map(|i| f64::from(i % 7)).collect();
    let body = serde_json::json!({ "inputs": [{ "name": "x", "shape": [10, 4], "datatype": "FP64", "data": rows }] });
    let response: serde_json::Value = http
        .post(format!("{}/v2/models/iris/infer", server.base))
        .json(&body)
        .send()
        .unwrap()
        .json()
        .unwrap();
    let decisions = response["parameters"]["decisions"].as_array().unwrap();
    let index = decisions[3]["index"].as_u64().unwrap();
    let proofs = [
        format!("/v1/proof/inclusion?index={index}"),
        "/v1/proof/consistency?from=1".to_owned(),
    ];
    for (n, path) in proofs.iter().enumerate() {
        let proof = http.get(format!("{}{path}", server.base)).send().unwrap();
        assert_eq!(proof.status(), 200, "{path}");
        let file = dir.path().join(format!("proof{n}.json"));
        std::fs::write(&file, proof.text().unwrap()).unwrap();
        let output = Command::new(binary())
            .arg("verify-proof")
            .arg(&file)
            .arg("--public-key")
            .arg(ledger.join("ledger.pub"))
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{path}: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    // The incident report over HTTP is the command's, byte for byte (once committed).
    let entry: serde_json::Value = http
        .get(format!("{}/v1/decisions/{index}", server.base))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let at = entry["trace"]["timestamp_ns"].as_u64().unwrap().to_string();
    let over_http = http
        .get(format!(
            "{}/v1/incident?at={at}&before=10s&after=10s&format=json",
            server.base
        ))
        .send()
        .unwrap()
        .text()
        .unwrap();
    let command = Command::new(binary())
        .args([
            "incident",
            "--at",
            &at,
            "--before",
            "10s",
            "--after",
            "10s",
            "--format",
            "json",
            "--public-key",
        ])
        .arg(ledger.join("ledger.pub"))
        .arg(&ledger)
        .output()
        .unwrap();
    assert_eq!(
        over_http.trim_end(),
        String::from_utf8_lossy(&command.stdout).trim_end()
    );
    signal(&server.child, "TERM");
    let mut child = server.child;
    assert!(child.wait().unwrap().success());
}

#[test]
fn a_profile_without_a_ledger_and_an_open_address_without_tokens_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let profile = dir.path().join("ring.toml");
    std::fs::write(&profile, "[inference_monitor]\ncollector = \"ring\"\n").unwrap();
    let output = Command::new(binary())
        .args(["serve", "--listen", "127.0.0.1:0", "--dir"])
        .arg(dir.path().join("l"))
        .arg("--config")
        .arg(&profile)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("needs collector = \"ledger\""), "{stderr}");

    let output = Command::new(binary())
        .args(["serve", "--listen", "0.0.0.0:0", "--dir"])
        .arg(dir.path().join("l"))
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("refusing to listen on 0.0.0.0:0 without --tokens"),
        "{stderr}"
    );

    let tokens = dir.path().join("tokens.txt");
    std::fs::write(
        &tokens,
        "infer 0123456789abcdef0123\nwrite 0123456789abcdef0123\n",
    )
    .unwrap();
    let output = Command::new(binary())
        .args(["serve", "--dir"])
        .arg(dir.path().join("l"))
        .arg("--tokens")
        .arg(&tokens)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("tokens.txt:2: unknown scope \"write\""),
        "{stderr}"
    );

    // A signed .apr model is verified with --apr-public-key: another key's signature fails.
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../whyline-models/tests/fixtures/aprender/0.27.8");
    let output = Command::new(binary())
        .args(["serve", "--listen", "127.0.0.1:0", "--dir"])
        .arg(dir.path().join("l"))
        .arg("--model")
        .arg(format!(
            "t={}",
            fixtures
                .join("decision_tree_classifier.signed.apr")
                .display()
        ))
        .arg("--apr-public-key")
        .arg(fixtures.join("other_key.pub.hex"))
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("model \"t\": ")
            && stderr.contains("signature does not verify with the given public key"),
        "{stderr}"
    );
}
