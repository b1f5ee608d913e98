//! `whyline serve --store postgres://...` with the real binary against a private PostgreSQL
//! cluster (`whyline_store_postgres::testing::Cluster`; without PostgreSQL's binaries the
//! tests fail naming `scripts/services.sh`): decisions inferred and ingested over HTTP land
//! in the PostgreSQL log, every read route answers from it, proofs fetched over HTTP pass
//! `whyline verify-proof`, and after SIGTERM `whyline verify` and `whyline incident` read the
//! same log. A second server on the log is refused with the writer lock's error.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output};

use whyline_core::EntryKind;
use whyline_ledger::{LedgerReader, leaf_hash};
use whyline_store_postgres::PostgresStore;
use whyline_store_postgres::testing::Cluster;

#[path = "support/serving.rs"]
mod serving;

fn binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_whyline"))
}

fn model() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../whyline-models/tests/fixtures/sk_logreg_iris.whyline.json")
}

fn golden() -> Vec<u8> {
    std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../whyline-core/tests/fixtures/golden/all.jsonl"),
    )
    .unwrap()
}

fn serve_command(url: &str, key_dir: &Path) -> Command {
    let mut command = Command::new(binary());
    command
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--store",
            url,
            "--key-dir",
        ])
        .arg(key_dir)
        .arg("--model")
        .arg(format!("iris={}", model().display()));
    command
}

/// A running `whyline serve` and its base URL.
struct Serving {
    child: Child,
    base: String,
    /// What it says on stderr after serving (for the failure message).
    later: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

fn serve(url: &str, key_dir: &Path) -> Serving {
    let serving::Started { child, base, later } = serving::start(serve_command(url, key_dir));
    Serving { child, base, later }
}

/// Stops the server with SIGTERM; it exits 0. Returns what it said after serving.
fn stop(server: Serving) -> Vec<String> {
    let status = Command::new("kill")
        .args(["-TERM", &server.child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let mut child = server.child;
    let status = child.wait().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(100)); // the last lines drained
    assert!(
        status.success(),
        "whyline serve exited with {status}: {:#?}",
        server.later.lock().unwrap()
    );
    server.later.lock().unwrap().clone()
}

fn whyline(args: &[&str]) -> Output {
    Command::new(binary()).args(args).output().unwrap()
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

#[test]
fn serve_on_postgres_records_reads_proves_and_the_commands_verify_the_same_log() {
    let cluster = Cluster::start().unwrap();
    let database = cluster.create_database().unwrap();
    let url = cluster.url(&database, "served");
    let tmp = tempfile::tempdir().unwrap();
    let keys = tmp.path().join("keys");
    let server = serve(&url, &keys);
    let shown = format!(
        "postgres://postgres@127.0.0.1:{}/{database}?log=served",
        cluster.port()
    );
    let http = reqwest::blocking::Client::new();

    // Ten rows inferred, then a batch ingested (its receipts come once it is committed, and
    // commits run in order, so the rows before it are committed too).
    let rows: Vec<f64> = (0..40).map(|i| f64::from(i % 7)).collect();
    let body = serde_json::json!({ "inputs": [{ "name": "x", "shape": [10, 4], "datatype": "FP64", "data": rows }] });
    let response = http
        .post(format!("{}/v2/models/iris/infer", server.base))
        .json(&body)
        .send()
        .unwrap();
    assert_eq!(response.status(), 200);
    let response: serde_json::Value = response.json().unwrap();
    let mut receipts: Vec<(u64, String)> = response["parameters"]["decisions"]
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
    assert_eq!(receipts.len(), 10);
    let batch = golden();
    let batch_lines = batch
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .count();
    let response = http
        .post(format!("{}/v1/decisions", server.base))
        .header("content-type", "application/x-ndjson")
        .body(batch)
        .send()
        .unwrap();
    assert_eq!(response.status(), 200, "ingest");
    for line in response.text().unwrap().lines() {
        let receipt: serde_json::Value = serde_json::from_str(line).unwrap();
        receipts.push((
            receipt["index"].as_u64().unwrap(),
            receipt["leaf"].as_str().unwrap().to_owned(),
        ));
    }
    assert_eq!(receipts.len(), 10 + batch_lines);

    // A decision read back by index is the one its receipt names.
    let (index, leaf) = receipts[3].clone();
    let entry: serde_json::Value = http
        .get(format!("{}/v1/decisions/{index}", server.base))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(entry["index"].as_u64(), Some(index), "{entry}");
    assert_eq!(entry["leaf"].as_str(), Some(leaf.as_str()), "{entry}");
    let at = entry["trace"]["timestamp_ns"].as_u64().unwrap().to_string();
    let window = http
        .get(format!("{}/v1/decisions?from={at}&to={at}", server.base))
        .send()
        .unwrap()
        .text()
        .unwrap();
    assert!(
        window
            .lines()
            .any(|line| line.contains(&format!("\"leaf\":\"{leaf}\""))),
        "the window holds the decision: {window}"
    );

    // Proofs over HTTP pass `whyline verify-proof` with the key made in --key-dir.
    let public_key = keys.join("ledger.pub");
    for (n, path) in [
        format!("/v1/proof/inclusion?index={index}"),
        "/v1/proof/consistency?from=1".to_owned(),
    ]
    .iter()
    .enumerate()
    {
        let proof = http.get(format!("{}{path}", server.base)).send().unwrap();
        assert_eq!(proof.status(), 200, "{path}");
        let file = tmp.path().join(format!("proof{n}.json"));
        std::fs::write(&file, proof.text().unwrap()).unwrap();
        let output = Command::new(binary())
            .arg("verify-proof")
            .arg(&file)
            .arg("--public-key")
            .arg(&public_key)
            .output()
            .unwrap();
        assert!(output.status.success(), "{path}: {}", text(&output));
    }
    // The tlog-tiles checkpoint is a signed note of this log's origin.
    let checkpoint = http
        .get(format!("{}/checkpoint", server.base))
        .send()
        .unwrap();
    assert_eq!(checkpoint.status(), 200);
    let note = checkpoint.text().unwrap();
    assert!(note.starts_with("whyline/ledger\n"), "{note}");
    // The level-0 tile of that tree (checked against the log's leaves below).
    let size: usize = note.lines().nth(1).unwrap().parse().unwrap();
    assert!((1..256).contains(&size), "one partial tile: {size}");
    let tile = http
        .get(format!("{}/tile/0/000.p/{size}", server.base))
        .send()
        .unwrap();
    assert_eq!(tile.status(), 200);
    let tile = tile.bytes().unwrap().to_vec();
    assert_eq!(tile.len(), 32 * size);

    // The verification at start read the log and found it intact.
    let mut health = serde_json::Value::Null;
    for _ in 0..200 {
        health = http
            .get(format!("{}/v1/health", server.base))
            .send()
            .unwrap()
            .json()
            .unwrap();
        if health["verification"]["status"] != "running" {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert_eq!(health["verification"]["status"], "intact", "{health}");

    // The live stream replays the decisions after `from` from the log.
    let streaming = reqwest::blocking::Client::builder()
        .timeout(std::time::Duration::from_secs(20))
        .build()
        .unwrap();
    let mut stream = streaming
        .get(format!("{}/v1/stream?from=0", server.base))
        .send()
        .unwrap();
    assert_eq!(stream.status(), 200);
    let wanted = format!("id: {index}\nevent: decision\n");
    let mut seen = String::new();
    let mut buffer = [0u8; 4096];
    while !seen.contains(&wanted) {
        let n = std::io::Read::read(&mut stream, &mut buffer).unwrap();
        assert!(n > 0, "the stream ended without {wanted:?}: {seen}");
        seen.push_str(&String::from_utf8_lossy(&buffer[..n]));
    }
    drop(stream);

    // The incident report over HTTP is `whyline incident`'s on the same log, byte for byte.
    let over_http = http
        .get(format!(
            "{}/v1/incident?at={at}&before=10s&after=10s&format=json",
            server.base
        ))
        .send()
        .unwrap()
        .text()
        .unwrap();
    let public_key_arg = public_key.to_str().unwrap();
    let incident_args = [
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
        public_key_arg,
        &url,
    ];
    let command = whyline(&incident_args);
    assert_eq!(
        over_http.trim_end(),
        String::from_utf8_lossy(&command.stdout).trim_end()
    );
    // The dashboard's incident page shows that report's timeline.
    let report: serde_json::Value = serde_json::from_str(&over_http).unwrap();
    let first = report["timeline"][0]["decision"]
        .as_str()
        .unwrap()
        .to_owned();
    let page = http
        .get(format!(
            "{}/incident?at={at}&before=10s&after=10s",
            server.base
        ))
        .send()
        .unwrap();
    assert_eq!(page.status(), 200);
    let page = page.text().unwrap();
    assert!(page.contains(&first), "the page shows {first:?}: {page}");
    let said = stop(server);
    assert!(
        said.contains(&format!("whyline: ledger: {shown}")),
        "the start-up lines name the log, without password: {said:#?}"
    );

    // The private keys stayed in --key-dir; the log holds every receipt, and verifies.
    assert!(keys.join("ledger.key").is_file());
    let store = PostgresStore::open_existing(&url).unwrap();
    let read = LedgerReader::new(&store).unwrap().all_entries().unwrap();
    assert!(read.stopped.is_none(), "{:?}", read.stopped);
    for (index, leaf) in &receipts {
        let entry = &read.entries[usize::try_from(*index).unwrap()];
        assert_eq!(
            hex::encode(leaf_hash(&entry.payload)),
            *leaf,
            "entry {index}"
        );
    }
    for (i, entry) in read.entries.iter().take(size).enumerate() {
        assert_eq!(
            tile[32 * i..32 * (i + 1)],
            leaf_hash(&entry.payload),
            "tile leaf {i}"
        );
    }
    let decisions = read
        .entries
        .iter()
        .filter(|e| EntryKind::of(&e.payload) == EntryKind::Decision)
        .count();
    assert_eq!(decisions, 10 + batch_lines);
    let entries = read.entries.len();
    let verified = whyline(&["verify", &url, "--public-key", public_key_arg]);
    assert!(verified.status.success(), "{}", text(&verified));
    let out = String::from_utf8_lossy(&verified.stdout);
    assert!(
        out.starts_with(&format!("{shown}: intact: {entries} entries")),
        "{out}"
    );
    let incident = whyline(&incident_args);
    assert!(
        matches!(incident.status.code(), Some(0 | 1)),
        "{}",
        text(&incident)
    );
    let report: serde_json::Value = serde_json::from_slice(&incident.stdout).unwrap();
    assert_eq!(
        report["log_entries"].as_u64(),
        Some(entries as u64),
        "{report}"
    );
    let entry_log = format!("{shown}/entries");
    assert_eq!(report["log"].as_str(), Some(entry_log.as_str()), "{report}");
}

#[test]
fn a_second_serve_on_the_same_log_is_refused_naming_the_first_writer() {
    let cluster = Cluster::start().unwrap();
    let database = cluster.create_database().unwrap();
    let url = cluster.url(&database, "served");
    let tmp = tempfile::tempdir().unwrap();
    let first = serve(&url, &tmp.path().join("keys"));
    let second = serve_command(&url, &tmp.path().join("keys2"))
        .output()
        .unwrap();
    assert_eq!(second.status.code(), Some(2), "{}", text(&second));
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert!(
        stderr.contains("log \"served\" already has a writer: PostgreSQL backend pid")
            && stderr.contains("whyline writer"),
        "{stderr}"
    );
    let _ = stop(first);
    // Once the first has stopped, the log takes a new writer.
    let again = serve(&url, &tmp.path().join("keys"));
    let _ = stop(again);
}

#[test]
fn serve_needs_exactly_one_ledger_and_a_key_dir_for_a_signing_postgres_log() {
    let tmp = tempfile::tempdir().unwrap();
    let url = "postgres://whyline@127.0.0.1:1/audit?log=served";
    let dir = tmp.path().join("ledger");
    let dir = dir.to_str().unwrap();
    let both = whyline(&["serve", "--dir", dir, "--store", url]);
    assert_eq!(both.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&both.stderr).contains("cannot be used with"),
        "{}",
        text(&both)
    );
    let neither = whyline(&["serve", "--listen", "127.0.0.1:0"]);
    assert_eq!(neither.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&neither.stderr).contains("<--dir <DIR>|--store <LOG>>"),
        "{}",
        text(&neither)
    );
    // The default profile signs checkpoints: refused before any connection is made.
    let keyless = whyline(&["serve", "--listen", "127.0.0.1:0", "--store", url]);
    assert_eq!(keyless.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&keyless.stderr);
    assert!(
        stderr.contains("give --key-dir DIR")
            && stderr.contains("keeps no keys: the profile's `signing` needs a key directory"),
        "{stderr}"
    );
}
