//! The dashboard's pages over plain HTTP (the browser tests are in whyline-cli's
//! `tests/dashboard.rs`): the pages need no token and carry none, the incident report is
//! rendered on the server (it works without JavaScript), the first load is small, and the
//! health JSON says what the ledger is doing.

use serde_json::Value;
use whyline_server::Tokens;

use crate::common::{client, get_text, infer, infer_body, start, start_serving};

const READ: &str = "read-token-0123456789abcdef";

#[tokio::test(flavor = "multi_thread")]
async fn every_page_is_served_without_a_token_and_the_first_load_is_under_200_kb() {
    let server = start(|config, dir| {
        let file = dir.join("tokens.txt");
        std::fs::write(&file, format!("read {READ}\n")).unwrap();
        config.tokens(Tokens::from_file(&file).unwrap());
    });
    let http = client();
    let mut first_load = 0;
    for (path, view) in [
        ("/", "live"),
        ("/andon", "andon"),
        ("/health", "health"),
        ("/decisions/3", "decision"),
        ("/incident", "incident"),
    ] {
        let response = http.get(server.url(path)).send().await.unwrap();
        assert_eq!(response.status(), 200, "{path}");
        assert!(
            response.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/html")
        );
        let text = response.text().await.unwrap();
        assert!(text.contains(&format!("data-view=\"{view}\"")), "{path}");
        assert!(text.contains("<script src=\"/assets/app.js\""));
        assert!(!text.contains(READ));
        if path == "/" {
            first_load += text.len();
        }
    }
    // What the first page load fetches: the page, its script, style sheet and icon.
    for (asset, media) in [
        ("app.js", "text/javascript"),
        ("style.css", "text/css"),
        ("favicon.svg", "image/svg+xml"),
    ] {
        let response = http
            .get(server.url(&format!("/assets/{asset}")))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        assert!(
            response.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with(media)
        );
        first_load += response.bytes().await.unwrap().len();
    }
    assert!(first_load <= 200 * 1024, "first load {first_load} bytes");
    let missing = http
        .get(server.url("/assets/secret.txt"))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    // The data needs the token.
    let health = http.get(server.url("/v1/health")).send().await.unwrap();
    assert_eq!(health.status(), 401);
    // Without the token the incident page says it needs one (the script asks for it).
    let text = http
        .get(server.url("/incident?at=0"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(text.contains("id=\"needs-token\""), "{text}");
    assert!(!text.contains("id=\"anomalies\""));
    // The script's own request for the report, without a token that may read: 401, so it
    // asks for one.
    let part = http
        .get(server.url("/incident?at=0&part=main"))
        .send()
        .await
        .unwrap();
    assert_eq!(part.status(), 401);
    server.stop();
}

#[tokio::test(flavor = "multi_thread")]
async fn the_incident_report_is_rendered_on_the_server_with_its_anomalies_first() {
    // One model: the incident's names are the last model record's (whyline-forensics).
    let server = &start_serving(&[("iris", "sk_logreg_iris.whyline.json")], |_, _| {});
    // Confident setosas, then the low-confidence versicolor (0.597 by scikit-learn): a
    // decision change and a low-confidence anomaly.
    let (status, answer) = infer(
        server,
        "iris",
        &infer_body(&[
            vec![5.1, 3.5, 1.4, 0.2],
            vec![5.0, 3.4, 1.5, 0.2],
            vec![4.9, 3.0, 1.4, 0.2],
            vec![6.9, 3.1, 4.9, 1.5],
        ]),
    )
    .await;
    assert_eq!(status, 200);
    let last = answer["parameters"]["decisions"][3]["index"]
        .as_u64()
        .unwrap();
    let (_, entry) = crate::common::get_json(server, &format!("/v1/decisions/{last}")).await;
    let time = entry["trace"]["timestamp_ns"].as_u64().unwrap();
    let text = get_text(server.url(&format!("/incident?at={time}&before=10s&after=1s"))).await;
    // No script is needed: the report is in the HTML.
    assert!(text.contains("data-view=\"incident\""));
    assert!(text.contains("✓ Chain integrity verified"), "{text}");
    let anomalies = text.find("id=\"anomalies\"").expect("an anomalies section");
    let decisions = text.find("id=\"decisions\"").expect("a decisions section");
    assert!(anomalies < decisions, "anomalies come first");
    assert!(
        text.contains("decision changed from setosa to versicolor"),
        "{text}"
    );
    assert!(text.contains("low confidence 60%"), "{text}");
    assert!(text.contains(&format!("<a href=\"/decisions/{last}\">#{last}</a>")));
    // Three setosas in a row without anomaly are folded into one line.
    assert!(text.contains("setosa ×3"), "{text}");
    // The chart: inline SVG with the T-0 line, the anomaly rings, a legend by shape.
    assert!(text.contains("<svg viewBox=\"0 0 900 260\""));
    assert!(text.contains("class=\"t0\""));
    assert!(text.contains("class=\"anomaly-ring\""));
    assert!(text.contains("setosa (circle)") && text.contains("versicolor (square)"));
    // The downloads are the read API's reports.
    assert!(text.contains("format=json\" download=\"incident.json\""));
    // Only the main part, for the script that fetched it with a token.
    let part = get_text(server.url(&format!("/incident?at={time}&part=main"))).await;
    assert!(part.starts_with("<h1>Incident explorer</h1>"), "{part}");
    let bad = client()
        .get(server.url("/incident?at=yesterday"))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    server.stop();
}

#[tokio::test(flavor = "multi_thread")]
async fn the_health_json_and_the_decision_entry_hold_what_the_pages_check() {
    let server = start(|_, _| {});
    let (status, answer) = infer(&server, "iris", &infer_body(&[vec![5.1, 3.5, 1.4, 0.2]])).await;
    assert_eq!(status, 200);
    let index = answer["parameters"]["decisions"][0]["index"]
        .as_u64()
        .unwrap();
    let (status, entry) = crate::common::get_json(&server, &format!("/v1/decisions/{index}")).await;
    assert_eq!(status, 200);
    // The entry's bytes hash to the leaf (RFC 6962: SHA-256 of 0x00 and the entry).
    use sha2::Digest as _;
    let bytes = hex::decode(entry["entry_hex"].as_str().unwrap()).unwrap();
    let leaf = sha2::Sha256::new()
        .chain_update([0u8])
        .chain_update(&bytes)
        .finalize();
    assert_eq!(hex::encode(leaf), entry["proof"]["leaf"].as_str().unwrap());
    assert_eq!(entry["explained"]["decision"], "setosa");
    assert_eq!(entry["explained"]["features"][0], "sepal length (cm)");
    let (status, health): (u16, Value) = crate::common::get_json(&server, "/v1/health").await;
    assert_eq!(status, 200);
    assert!(health["entries"].as_u64().unwrap() > index);
    assert_eq!(health["durability"], "interval");
    assert!(health["checkpoint"]["size"].as_u64().unwrap() > index);
    assert!(health["fsync"]["count"].as_u64().unwrap() >= 1, "{health}");
    assert!(
        health["verifier_key"].as_str().unwrap().contains('+'),
        "the Ed25519 public key is published"
    );
    assert_eq!(
        health["budget"]["min_confidence"].as_f64().unwrap() as f32,
        0.7
    );
    server.stop();
}
