//! `GET /metrics`: the exposition parses, names are prefixed and labelled as documented.

use std::collections::BTreeMap;

use crate::common::{client, infer, infer_body, start};

/// Parses the text exposition: `name{labels} value` lines into a map, checking every
/// sample line has a `# TYPE` before it.
fn parse(text: &str) -> BTreeMap<String, f64> {
    let mut samples = BTreeMap::new();
    let mut types: Vec<String> = Vec::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let name = rest.split_whitespace().next().unwrap();
            types.push(name.to_owned());
            continue;
        }
        if line.starts_with('#') || line.is_empty() {
            continue;
        }
        let (series, value) = line.rsplit_once(' ').unwrap();
        let name = series.split('{').next().unwrap();
        assert!(name.starts_with("whyline_"), "{line}");
        assert!(
            types.iter().any(|t| name.starts_with(t.as_str())),
            "{name} has no # TYPE"
        );
        samples.insert(series.to_owned(), value.parse::<f64>().unwrap());
    }
    assert!(
        text.trim_end().ends_with("# EOF"),
        "OpenMetrics ends with # EOF"
    );
    samples
}

#[tokio::test(flavor = "multi_thread")]
async fn the_exposition_counts_decisions_appends_requests_and_health() {
    let server = start(|_, _| {});
    let (status, _) = infer(
        &server,
        "iris",
        &infer_body(&vec![vec![5.1, 3.5, 1.4, 0.2]; 3]),
    )
    .await;
    assert_eq!(status, 200);
    let (status, _) = infer(&server, "iris", &infer_body(&[vec![5.1, 3.5]])).await;
    assert_eq!(status, 400);
    // scikit-learn gives this row a top probability of 0.597: under the default profile's
    // yellow_confidence = 0.7, a yellow low-confidence alert (kept in the ledger too).
    let (status, _) = infer(&server, "iris", &infer_body(&[vec![6.9, 3.1, 4.9, 1.5]])).await;
    assert_eq!(status, 200);
    let response = client().get(server.url("/metrics")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/openmetrics-text")
    );
    let samples = parse(&response.text().await.unwrap());
    let get = |series: &str| {
        *samples
            .get(series)
            .unwrap_or_else(|| panic!("no {series} in {samples:#?}"))
    };
    assert_eq!(get("whyline_decisions_total{model=\"iris\"}"), 4.0);
    assert_eq!(get("whyline_appends_total{durability=\"interval\"}"), 4.0);
    assert!(get("whyline_decision_bytes_total") >= 4.0 * 44.0);
    assert_eq!(
        get("whyline_alerts_total{level=\"yellow\",rule=\"low_confidence\"}"),
        1.0
    );
    // Two model records, four decisions, one alert.
    assert_eq!(get("whyline_ledger_entries"), 7.0);
    assert_eq!(get("whyline_ready"), 1.0);
    assert_eq!(get("whyline_dropped_total"), 0.0);
    assert!(get("whyline_queue_depth") >= 0.0);
    assert_eq!(
        get(
            "whyline_http_requests_total{route=\"/v2/models/{name}/infer\",method=\"POST\",code=\"200\"}"
        ),
        2.0
    );
    assert_eq!(
        get(
            "whyline_http_requests_total{route=\"/v2/models/{name}/infer\",method=\"POST\",code=\"400\"}"
        ),
        1.0
    );
    assert_eq!(
        get("whyline_http_request_duration_seconds_count{route=\"/v2/models/{name}/infer\"}"),
        3.0
    );
    assert!(samples.contains_key("whyline_commit_wait_seconds_count"));
    assert!(samples.contains_key("whyline_verify_status"));
    // No per-decision label: no series names a sequence, an index or a row.
    assert!(
        samples
            .keys()
            .all(|k| !k.contains("sequence") && !k.contains("index="))
    );
    server.stop();
}
