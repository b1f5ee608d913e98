//! The ingest loop against an in-test `/v1/decisions` server that decodes the bodies with
//! whyline's codecs and answers receipts.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use whyline::AnyPath;
use whyline::core::{AprtRecords, from_json_slice};
use whyline_load::{IngestFormat, ResponseCheck, RunOptions, Target, ingest_requests, run};

use crate::fixtures::{TestResult, credit_model, serve};

/// Decisions per batch. The traces are the example logistic regression's (~330 bytes of
/// JSON each): a demo-forest trace is ~28 KB of JSON (20 tree paths), too slow to decode in
/// a debug build for a short run. `traces.rs` checks the forest's bodies.
const BATCH: usize = 100;

struct Ledger {
    next_index: AtomicU64,
    decisions: AtomicU64,
    rejected: AtomicU64,
    /// Receipts withheld from each answer (0: a correct server).
    short_by: u64,
}

fn decode(headers: &HeaderMap, body: &[u8]) -> Option<u64> {
    let aprt = headers
        .get("content-type")
        .is_some_and(|v| v == "application/x-aprt");
    if aprt {
        let mut count = 0;
        for record in AprtRecords::<AnyPath>::new(body) {
            record.ok()?;
            count += 1;
        }
        return Some(count);
    }
    let ndjson = headers
        .get("content-type")
        .is_some_and(|v| v == "application/x-ndjson");
    let mut count = 0;
    for line in body.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
        from_json_slice::<AnyPath>(line).ok()?;
        count += 1;
    }
    ndjson.then_some(count)
}

fn ingest_server(ledger: Arc<Ledger>) -> Router {
    let handler = |State(ledger): State<Arc<Ledger>>,
                   headers: HeaderMap,
                   body: axum::body::Bytes| async move {
        let Some(count) = decode(&headers, &body) else {
            ledger.rejected.fetch_add(1, Ordering::Relaxed);
            return (
                StatusCode::BAD_REQUEST,
                String::from("{\"error\":\"bad record\"}"),
            );
        };
        ledger.decisions.fetch_add(count, Ordering::Relaxed);
        let first = ledger.next_index.fetch_add(count, Ordering::Relaxed);
        let receipts: Vec<_> = (first..first + count - ledger.short_by.min(count))
            .map(|index| serde_json::json!({"index": index, "leaf": format!("{index:064x}")}))
            .collect();
        (
            StatusCode::OK,
            serde_json::Value::from(receipts).to_string(),
        )
    };
    Router::new()
        .route("/v1/decisions", post(handler))
        .layer(axum::extract::DefaultBodyLimit::disable())
        .with_state(ledger)
}

async fn ingest_run(
    format: IngestFormat,
    short_by: u64,
) -> Result<(whyline_load::RunReport, Arc<Ledger>), Box<dyn std::error::Error>> {
    let ledger = Arc::new(Ledger {
        next_index: AtomicU64::new(0),
        decisions: AtomicU64::new(0),
        rejected: AtomicU64::new(0),
        short_by,
    });
    let address = serve(ingest_server(Arc::clone(&ledger))).await?;
    let target = Target::resolve(&format!("http://{address}")).await?;
    let (model, rows) = credit_model();
    let requests = ingest_requests(&target, &model, &rows, format, BATCH, 4)?;
    let options = RunOptions {
        connections: 2,
        duration: Duration::from_millis(400),
        warmup: Duration::from_millis(50),
        token: None,
        rate: None,
    };
    let report = run(
        "ingest",
        "decisions",
        target,
        requests,
        ResponseCheck::Receipts,
        &options,
    )
    .await?;
    Ok((report, ledger))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_formats_are_accepted_by_a_server_that_decodes_with_whylines_codecs() -> TestResult {
    for format in [IngestFormat::JsonLines, IngestFormat::Aprt] {
        let (report, ledger) = ingest_run(format, 0).await?;
        assert_eq!(
            ledger.rejected.load(Ordering::Relaxed),
            0,
            "{format:?}: the server refused a body"
        );
        assert!(report.is_clean(), "{format:?}: {report:?}");
        assert!(report.ok >= 3, "{format:?}: {report:?}");
        assert_eq!(report.items, report.ok * BATCH as u64, "{format:?}");
        // The server also took the warm-up's and the in-flight batches.
        assert!(
            ledger.decisions.load(Ordering::Relaxed) >= report.items,
            "{format:?}"
        );
        assert!((report.items_per_s - report.items as f64 / 0.4).abs() < 1e-6);
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answer_short_of_receipts_is_a_bad_answer() -> TestResult {
    let (report, _) = ingest_run(IngestFormat::Aprt, 1).await?;
    assert_eq!(report.ok, 0, "{report:?}");
    assert!(
        report.bad_answers >= 3 && report.bad_answers == report.requests,
        "{report:?}"
    );
    assert_eq!(report.items, 0);
    assert!(
        report
            .first_error
            .as_deref()
            .is_some_and(|e| e.contains("99 receipts for 100 decisions")),
        "{report:?}"
    );
    Ok(())
}
