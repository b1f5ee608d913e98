//! The web dashboard in a real browser: Debian's Chromium driven through chromedriver
//! (WebDriver, `fantoccini`) against a real `whyline serve` on loopback, with tokens.
//!
//! Each test starts its own chromedriver (a free port, a new profile directory) and its own
//! server, and kills both at the end, even when it fails. Without chromium or chromedriver
//! the tests fail, naming `bash scripts/services.sh`, which installs them.
//!
//! With `WHYLINE_SCREENSHOTS=DIR` set, each test saves its page as a PNG in DIR (the
//! README's pictures: `WHYLINE_SCREENSHOTS=docs/screenshots cargo test -p whyline-cli
//! --test dashboard`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

#[path = "support/serving.rs"]
mod serving;

const READ: &str = "read-token-0123456789abcdef";
const INFER: &str = "infer-token-0123456789abcdef";
const INGEST: &str = "ingest-token-0123456789abcdef";
const ADMIN: &str = "admin-token-0123456789abcdef";
const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

fn binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_whyline"))
}

fn iris() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../whyline-models/tests/fixtures/sk_logreg_iris.whyline.json")
}

/// A child process killed when dropped.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A running `whyline serve`.
struct Serving {
    _child: Killed,
    base: String,
    _dir: tempfile::TempDir,
}

/// Starts `whyline serve` with the four tokens, `model` as NAME=FILE, and `env`.
fn serve(model: &str, env: &[(&str, &str)]) -> Serving {
    let dir = tempfile::tempdir().unwrap();
    let tokens = dir.path().join("tokens.txt");
    std::fs::write(
        &tokens,
        format!("read {READ}\ninfer {INFER}\ningest {INGEST}\nadmin {ADMIN}\n"),
    )
    .unwrap();
    let mut command = Command::new(binary());
    command
        .args(["serve", "--listen", "127.0.0.1:0", "--dir"])
        .arg(dir.path().join("ledger"))
        .arg("--tokens")
        .arg(&tokens)
        .arg("--model")
        .arg(model);
    for (key, value) in env {
        command.env(key, value);
    }
    let serving::Started { child, base, .. } = serving::start(command);
    let child = Killed(child);
    Serving {
        _child: child,
        base,
        _dir: dir,
    }
}

/// Chromium under chromedriver, and the WebDriver session.
struct Browser {
    client: Client,
    _driver: Killed,
    _profile: tempfile::TempDir,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn browser(width: u32, height: u32) -> Browser {
    for program in [CHROMIUM, CHROMEDRIVER] {
        assert!(
            Path::new(program).exists(),
            "{program} is missing: the browser tests need Debian's chromium and chromium-driver; \
             run `bash scripts/services.sh` to install them"
        );
    }
    let port = free_port();
    let driver = Killed(
        Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let profile = tempfile::tempdir().unwrap();
    let capabilities: serde_json::Map<String, Value> = serde_json::from_value(json!({
        "goog:chromeOptions": {
            "binary": CHROMIUM,
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync",
                "--disable-dev-shm-usage", "--hide-scrollbars",
                format!("--user-data-dir={}", profile.path().display()),
                format!("--window-size={width},{height}"),
            ],
        }
    }))
    .unwrap();
    let url = format!("http://127.0.0.1:{port}");
    let started = Instant::now();
    let client = loop {
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        match ClientBuilder::new(connector)
            .capabilities(capabilities.clone())
            .connect(&url)
            .await
        {
            Ok(client) => break client,
            Err(error) if started.elapsed() < Duration::from_secs(20) => {
                let _ = error;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(error) => panic!("chromedriver on {url} did not start a session: {error}"),
        }
    };
    Browser {
        client,
        _driver: driver,
        _profile: profile,
    }
}

impl Browser {
    /// Opens `url` and gives the page the read token (as a person would: typed into the
    /// form the page shows on its first 401).
    async fn open_with_token(&self, url: &str) {
        self.client.goto(url).await.unwrap();
        let field = self
            .client
            .wait()
            .at_most(Duration::from_secs(10))
            .for_element(Locator::Css("#login:not([hidden]) #token"))
            .await
            .expect("the page asks for a token");
        field.send_keys(READ).await.unwrap();
        self.client
            .find(Locator::Css("#login button"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
    }

    /// Waits up to `within` for `script` (an expression) to be truthy, and returns it.
    async fn until(&self, script: &str, within: Duration) -> Value {
        let started = Instant::now();
        loop {
            let value = self
                .client
                .execute(&format!("return ({script});"), vec![])
                .await
                .unwrap();
            if !(value.is_null() || value == false || value == 0) {
                return value;
            }
            if started.elapsed() >= within {
                let page = self
                    .client
                    .execute("return document.body.innerText;", vec![])
                    .await
                    .unwrap();
                panic!(
                    "not within {within:?}: {script}\nthe page:\n{}",
                    page.as_str().unwrap_or("")
                );
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    async fn screenshot(&self, name: &str) {
        if let Some(dir) = std::env::var_os("WHYLINE_SCREENSHOTS") {
            let png = self.client.screenshot().await.unwrap();
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(Path::new(&dir).join(name), png).unwrap();
        }
    }

    async fn close(self) {
        let _ = self.client.close().await;
    }
}

async fn infer(server: &Serving, rows: &[[f64; 4]]) -> Vec<u64> {
    let answer: Value = reqwest::Client::new()
        .post(format!("{}/v2/models/iris/infer", server.base))
        .bearer_auth(INFER)
        .json(&json!({"inputs": [{"name": "input", "shape": [rows.len(), 4], "datatype": "FP64", "data": rows}]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    answer["parameters"]["decisions"]
        .as_array()
        .unwrap_or_else(|| panic!("{answer}"))
        .iter()
        .map(|d| d["index"].as_u64().unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_live_view_shows_decisions_posted_during_the_test_within_a_second() {
    let server = serve(&format!("iris={}", iris().display()), &[]);
    let browser = browser(1280, 860).await;
    browser.open_with_token(&format!("{}/", server.base)).await;
    browser
        .until(
            "document.querySelector('#connection').textContent.includes('live')",
            Duration::from_secs(10),
        )
        .await;
    for round in 0..3 {
        let rows = [
            [5.1, 3.5, 1.4, 0.2],
            [6.9, 3.1, 4.9, 1.5],
            [6.3, 3.3, 6.0, 2.5],
        ];
        let row = [rows[round % 3]];
        let posted = Instant::now();
        let index = infer(&server, &row).await[0];
        let shown = browser
            .until(
                &format!(
                    "document.querySelector('#latest tr[data-index=\"{index}\"]')?.textContent"
                ),
                Duration::from_secs(1),
            )
            .await;
        assert!(posted.elapsed() <= Duration::from_secs(1));
        let text = shown.as_str().unwrap();
        let expected = ["setosa", "versicolor", "virginica"][round % 3];
        assert!(text.contains(expected), "{text}");
        tokio::time::sleep(Duration::from_millis(30)).await; // past the 20 ms sampling interval
    }
    // The low-confidence one (0.597 by scikit-learn) is marked as an anomaly, in words.
    let marked = browser
        .until(
            "[...document.querySelectorAll('#latest tr.anomalous')].map(r => r.textContent).join('|')",
            Duration::from_secs(1),
        )
        .await;
    assert!(
        marked.as_str().unwrap().contains("⚠ low confidence"),
        "{marked}"
    );
    // The bars fill from the stats events, against the budget (SIL2: confidence ≥ 70%).
    let note = browser
        .until(
            "document.querySelector('#confidence .note').textContent",
            Duration::from_secs(3),
        )
        .await;
    assert!(note.as_str().unwrap().contains("70.0%"), "{note}");
    // The token never went into a URL.
    let url = browser.client.current_url().await.unwrap();
    assert!(!url.as_str().contains(READ));
    browser.screenshot("live.png").await;
    browser.close().await;

    // A phone's width: the same view, the bars two by two.
    let phone = browser_phone(&server).await;
    phone.screenshot("live-phone.png").await;
    phone.close().await;
}

async fn browser_phone(server: &Serving) -> Browser {
    let phone = browser(390, 844).await;
    phone.open_with_token(&format!("{}/", server.base)).await;
    let index = infer(server, &[[6.9, 3.1, 4.9, 1.5]]).await[0];
    phone
        .until(
            &format!("document.querySelector('#latest tr[data-index=\"{index}\"]')"),
            Duration::from_secs(2),
        )
        .await;
    let columns = phone
        .until(
            "getComputedStyle(document.querySelector('.bars')).gridTemplateColumns.split(' ').length",
            Duration::from_secs(1),
        )
        .await;
    assert_eq!(columns, 2, "the phone layout puts the bars two by two");
    phone
}

#[tokio::test(flavor = "multi_thread")]
async fn an_alert_appears_on_the_andon_board_and_an_admin_acknowledges_it() {
    let server = serve(&format!("iris={}", iris().display()), &[]);
    let browser = browser(1280, 860).await;
    browser
        .open_with_token(&format!("{}/andon", server.base))
        .await;
    browser
        .until(
            "document.querySelector('#open h2')?.textContent.includes('(0)')",
            Duration::from_secs(10),
        )
        .await;
    browser
        .until(
            "document.querySelector('#connection').textContent.includes('live')",
            Duration::from_secs(10),
        )
        .await;
    let index = infer(&server, &[[6.9, 3.1, 4.9, 1.5]]).await[0];
    let card = browser
        .until(
            "document.querySelector('#open article.alert')?.textContent",
            Duration::from_secs(2),
        )
        .await;
    let card = card.as_str().unwrap();
    assert!(card.contains("▲ warning"), "{card}");
    assert!(card.contains("low confidence"), "{card}");
    assert!(card.contains(&format!("#{index}")), "{card}");
    browser.screenshot("andon.png").await;
    // The read token may not acknowledge; the admin token, given once, may.
    browser
        .client
        .execute(
            &format!("sessionStorage.setItem('whyline.admin', '{ADMIN}')"),
            vec![],
        )
        .await
        .unwrap();
    browser
        .client
        .find(Locator::Css("button.ack"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    browser
        .until(
            "document.querySelector('#ack-status').textContent.includes('acknowledged')",
            Duration::from_secs(2),
        )
        .await;
    let history = browser
        .until(
            "document.querySelector('#history tbody').textContent",
            Duration::from_secs(1),
        )
        .await;
    assert!(
        history.as_str().unwrap().contains("✓ acknowledged"),
        "{history}"
    );
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_decision_page_verifies_its_inclusion_proof_and_refuses_a_wrong_one() {
    for wrong in [false, true] {
        let env: &[(&str, &str)] = if wrong {
            &[("WHYLINE_TEST_WRONG_PROOF", "1")]
        } else {
            &[]
        };
        let server = serve(&format!("iris={}", iris().display()), env);
        let indexes = infer(
            &server,
            &[
                [5.1, 3.5, 1.4, 0.2],
                [6.9, 3.1, 4.9, 1.5],
                [6.3, 3.3, 6.0, 2.5],
                [5.0, 3.4, 1.5, 0.2],
            ],
        )
        .await;
        let browser = browser(1280, 1400).await;
        browser
            .open_with_token(&format!("{}/decisions/{}", server.base, indexes[1]))
            .await;
        let verdict = browser
            .until(
                "document.querySelector('#verification:not(.pending)')?.textContent",
                Duration::from_secs(30),
            )
            .await;
        let verdict = verdict.as_str().unwrap();
        let class = browser
            .until(
                "document.querySelector('#verification').className",
                Duration::from_secs(1),
            )
            .await;
        if wrong {
            assert_eq!(class, "failed", "{verdict}");
            assert!(verdict.contains("✗ NOT verified"), "{verdict}");
            assert!(verdict.contains("✗ root recomputed"), "{verdict}");
        } else {
            assert_eq!(class, "verified", "{verdict}");
            assert!(verdict.contains("✓ Verified in your browser"), "{verdict}");
            assert!(verdict.contains("✓ leaf hash"), "{verdict}");
            assert!(verdict.contains("✓ root recomputed"), "{verdict}");
            // Chromium 156 has Ed25519 in SubtleCrypto: the signature is checked there too.
            assert!(verdict.contains("✓ Ed25519 signature by"), "{verdict}");
            let page = browser
                .until(
                    "document.querySelector('main').textContent",
                    Duration::from_secs(1),
                )
                .await;
            let page = page.as_str().unwrap();
            assert!(page.contains("versicolor"), "{page}");
            assert!(
                page.contains("Attributions") && page.contains("Full path"),
                "{page}"
            );
            browser.screenshot("decision.png").await;
        }
        browser.close().await;
    }
}

/// The demo's decisions as JSON lines, read from its ledger.
fn demo_lines(ledger: &Path) -> Vec<u8> {
    let store = whyline_ledger::SegmentStore::open_existing(ledger).unwrap();
    let read = whyline_ledger::LedgerReader::new(&store)
        .unwrap()
        .all_entries()
        .unwrap();
    let mut out = Vec::new();
    for entry in read.entries {
        if whyline_core::EntryKind::of(&entry.payload) != whyline_core::EntryKind::Decision {
            continue;
        }
        let trace = whyline_core::from_aprt::<whyline_core::AnyPath>(&entry.payload).unwrap();
        out.extend_from_slice(whyline_core::to_json(&trace).unwrap().as_bytes());
        out.push(b'\n');
    }
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn the_incident_explorer_renders_the_demos_incident_with_its_anomalies() {
    let work = tempfile::tempdir().unwrap();
    let demo = work.path().join("demo");
    let output = Command::new(binary())
        .args(["demo", "--dir"])
        .arg(&demo)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    let at = stdout
        .split_whitespace()
        .skip_while(|word| *word != "--at")
        .nth(1)
        .expect("the demo prints the incident's time")
        .to_owned();
    let server = serve(&format!("demo={}", demo.join("model.json").display()), &[]);
    let response = reqwest::Client::new()
        .post(format!("{}/v1/decisions", server.base))
        .bearer_auth(INGEST)
        .header("content-type", "application/x-ndjson")
        .body(demo_lines(&demo.join("ledger")))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let browser = browser(1280, 2000).await;
    browser
        .open_with_token(&format!(
            "{}/incident?at={at}&before=30s&after=1s",
            server.base
        ))
        .await;
    let anomalies = browser
        .until(
            "document.querySelectorAll('#anomalies li').length",
            Duration::from_secs(20),
        )
        .await;
    assert!(anomalies.as_u64().unwrap() >= 3, "{anomalies}");
    let text = browser
        .until(
            "document.querySelector('main').textContent",
            Duration::from_secs(1),
        )
        .await;
    let text = text.as_str().unwrap();
    for expected in [
        "✓ Chain integrity verified",
        "decision changed from SLOW_DOWN to EMERGENCY_BRAKE",
        "low confidence",
        "Root cause",
        "MAINTAIN_SPEED ×",
    ] {
        assert!(text.contains(expected), "no {expected:?} in {text}");
    }
    let marks = browser
        .until(
            "document.querySelectorAll('.chart svg .anomaly-ring').length",
            Duration::from_secs(1),
        )
        .await;
    assert!(marks.as_u64().unwrap() >= 3);
    browser.screenshot("incident.png").await;

    // The ledger's health, on the same server.
    browser
        .client
        .goto(&format!("{}/health", server.base))
        .await
        .unwrap();
    let health = browser
        .until(
            "document.querySelector('table.health')?.textContent",
            Duration::from_secs(10),
        )
        .await;
    let health = health.as_str().unwrap();
    assert!(
        health.contains("Durability") && health.contains("interval"),
        "{health}"
    );
    assert!(health.contains("fsync latency"), "{health}");
    browser.screenshot("health.png").await;
    browser.close().await;
}
