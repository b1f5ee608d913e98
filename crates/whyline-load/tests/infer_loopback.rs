//! The infer loop against an in-test KServe V2 server: what it sends, what it counts.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use whyline_load::{ResponseCheck, RunOptions, Target, TensorType, infer_requests, read_rows, run};

use crate::fixtures::{TestResult, demo_rows, serve};

/// What the server saw, by the status it answered.
#[derive(Default)]
struct Seen {
    ok: AtomicU64,
    failed: AtomicU64,
    malformed: AtomicU64,
}

/// A server that checks each request's shape (400 and `malformed` when wrong), answers 500
/// for every request whose first value is `fail_on`, and a KServe answer otherwise.
fn infer_server(seen: Arc<Seen>, fail_on: f64, answer: &'static str) -> Router {
    let handler = move |State(seen): State<Arc<Seen>>,
                        Path(name): Path<String>,
                        headers: HeaderMap,
                        body: axum::body::Bytes| async move {
        let value: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
        let input = &value["inputs"][0];
        let well_formed = name == "demo"
            && headers
                .get("authorization")
                .is_some_and(|v| v == "Bearer s3cret")
            && headers
                .get("content-type")
                .is_some_and(|v| v == "application/json")
            && value["inputs"].as_array().is_some_and(|a| a.len() == 1)
            && input["shape"] == serde_json::json!([1, 6])
            && input["datatype"] == "FP64"
            && input["data"]
                .as_array()
                .is_some_and(|d| d.len() == 6 && d.iter().all(|v| v.is_f64()));
        if !well_formed {
            seen.malformed.fetch_add(1, Ordering::Relaxed);
            return (StatusCode::BAD_REQUEST, String::from("malformed"));
        }
        if input["data"][0].as_f64() == Some(fail_on) {
            seen.failed.fetch_add(1, Ordering::Relaxed);
            return (
                StatusCode::INTERNAL_SERVER_ERROR,
                String::from("{\"error\":\"boom\"}"),
            );
        }
        seen.ok.fetch_add(1, Ordering::Relaxed);
        (StatusCode::OK, answer.to_owned())
    };
    Router::new()
        .route("/v2/models/{name}/infer", post(handler))
        .with_state(seen)
}

const GOOD_ANSWER: &str = r#"{"model_name":"demo","outputs":[{"name":"predict_proba","shape":[1,4],"datatype":"FP64","data":[0.1,0.2,0.3,0.4]}]}"#;

fn options(connections: usize) -> RunOptions {
    RunOptions {
        connections,
        duration: Duration::from_millis(400),
        warmup: Duration::ZERO,
        token: Some("s3cret".to_owned()),
        rate: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_answer_is_counted_by_status_and_500s_are_errors() -> TestResult {
    let rows = read_rows(&demo_rows())?;
    let rows = &rows[..5];
    let seen = Arc::new(Seen::default());
    let address = serve(infer_server(Arc::clone(&seen), rows[0][0], GOOD_ANSWER)).await?;
    let target = Target::resolve(&format!("http://{address}")).await?;
    let requests = infer_requests(&target, "demo", rows, TensorType::Fp64)?;
    let connections = 4;
    let report = run(
        "infer",
        "rows",
        target,
        requests,
        ResponseCheck::InferOutputs,
        &options(connections),
    )
    .await?;

    assert_eq!(
        seen.malformed.load(Ordering::Relaxed),
        0,
        "every request is well formed"
    );
    let server_ok = seen.ok.load(Ordering::Relaxed);
    let server_failed = seen.failed.load(Ordering::Relaxed);
    let client_failed = report.errors_by_status.get(&500).copied().unwrap_or(0);
    // The server saw every counted request, and at most one more per connection (in flight
    // when the window closed).
    assert!(
        report.ok <= server_ok && server_ok - report.ok <= connections as u64,
        "{report:?}, server ok {server_ok}"
    );
    assert!(
        client_failed <= server_failed && server_failed - client_failed <= connections as u64,
        "{report:?}, server 500s {server_failed}"
    );
    assert_eq!(
        report.errors_by_status.len(),
        1,
        "{:?}",
        report.errors_by_status
    );
    assert_eq!(report.requests, report.ok + client_failed);
    assert_eq!(report.items, report.ok);
    // Each connection cycles through the five rows: a fifth of the answers are 500s.
    assert!(report.requests >= 50, "{report:?}");
    assert!(
        client_failed.abs_diff(report.requests / 5) <= connections as u64,
        "{report:?}"
    );
    assert_eq!(report.latency.count, report.requests);
    assert!(report.latency.p50_us > 0.0 && report.latency.p50_us <= report.latency.p99_us);
    assert!(
        report
            .first_error
            .as_deref()
            .is_some_and(|e| e.starts_with("HTTP 500")),
        "{report:?}"
    );
    assert!(!report.is_clean());
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_without_outputs_count_as_bad_answers_once_per_connection() -> TestResult {
    let rows = read_rows(&demo_rows())?;
    let seen = Arc::new(Seen::default());
    let address = serve(infer_server(
        Arc::clone(&seen),
        f64::NAN,
        r#"{"nothing":true}"#,
    ))
    .await?;
    let target = Target::resolve(&format!("http://{address}")).await?;
    let requests = infer_requests(&target, "demo", &rows[..10], TensorType::Fp64)?;
    let report = run(
        "infer",
        "rows",
        target,
        requests,
        ResponseCheck::InferOutputs,
        &options(3),
    )
    .await?;
    assert_eq!(seen.malformed.load(Ordering::Relaxed), 0);
    assert_eq!(report.bad_answers, 3, "{report:?}");
    assert_eq!(report.ok, report.requests - 3);
    assert!(
        report
            .first_error
            .as_deref()
            .is_some_and(|e| e.contains("no `outputs`")),
        "{report:?}"
    );
    Ok(())
}

#[tokio::test]
async fn a_server_that_is_not_there_fails_the_run_before_it_starts() -> TestResult {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    drop(listener);
    let target = Target::resolve(&format!("http://{address}")).await?;
    let rows = read_rows(&demo_rows())?;
    let requests = infer_requests(&target, "demo", &rows[..1], TensorType::Fp64)?;
    let error = run(
        "infer",
        "rows",
        target,
        requests,
        ResponseCheck::InferOutputs,
        &options(2),
    )
    .await;
    assert!(
        matches!(error, Err(whyline_load::LoadError::Connect { .. })),
        "expected a connect error, got {:?}",
        error.map(|r| r.requests)
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paced_run_sends_no_more_than_its_schedule() -> TestResult {
    let rows = read_rows(&demo_rows())?;
    let seen = Arc::new(Seen::default());
    let address = serve(infer_server(Arc::clone(&seen), f64::NAN, GOOD_ANSWER)).await?;
    let target = Target::resolve(&format!("http://{address}")).await?;
    let requests = infer_requests(&target, "demo", &rows[..10], TensorType::Fp64)?;
    let paced = RunOptions {
        rate: Some(200.0),
        duration: Duration::from_millis(500),
        ..options(4)
    };
    let report = run(
        "infer",
        "rows",
        target,
        requests,
        ResponseCheck::InferOutputs,
        &paced,
    )
    .await?;
    // 200 requests/s for 0.5 s: 100 scheduled in the window, none before it (no warm-up).
    // A closed loop against this server answers thousands.
    let scheduled = seen.ok.load(Ordering::Relaxed);
    assert!(scheduled <= 100, "the server saw {scheduled} requests");
    assert!(
        report.requests <= scheduled && report.requests >= 50,
        "{report:?}"
    );
    assert!(report.is_clean(), "{report:?}");
    assert_eq!(report.rate, Some(200.0));
    Ok(())
}

#[tokio::test]
async fn a_rate_that_is_not_positive_is_refused() -> TestResult {
    let target = Target::resolve("http://127.0.0.1:9").await?;
    let rows = read_rows(&demo_rows())?;
    let requests = infer_requests(&target, "demo", &rows[..1], TensorType::Fp64)?;
    for rate in [0.0, -1.0, f64::NAN] {
        let bad = RunOptions {
            rate: Some(rate),
            ..options(1)
        };
        let error = run(
            "infer",
            "rows",
            target.clone(),
            requests.clone(),
            ResponseCheck::InferOutputs,
            &bad,
        )
        .await;
        assert!(
            matches!(
                error,
                Err(whyline_load::LoadError::Setting {
                    setting: "--rate",
                    ..
                })
            ),
            "rate {rate}: {:?}",
            error.map(|r| r.requests)
        );
    }
    Ok(())
}
