//! Decision ingest (`POST /v1/decisions`) and the C2SP tlog-tiles read API (`GET
//! /checkpoint`, `GET /tile/...`): thin handlers over the ledger's library functions
//! (`RecorderCollector::{ingest, latest_checkpoint, read_tile}`, docs/server-ingest.md and
//! docs/tiles.md).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use whyline::ledger::LedgerError;
use whyline::{IngestFormat, TileErrorKind, WhylineError, parse_tile_path};

use crate::error::ApiError;
use crate::state::{AppState, durability_name, error_chain};

/// Runs blocking work off the async workers.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ApiError::internal(format!("ledger task: {e}")))?
}

/// `POST /v1/decisions`: a batch of JSON lines (`application/x-ndjson`, `application/jsonl`,
/// `application/json`) or APRT records (`application/x-aprt`), appended all or nothing; one
/// receipt per entry (`{"index":N,"leaf":"hex"}` lines) once the batch is durable under the
/// profile's policy. A bad record: 400 naming the record and its byte offset, nothing
/// appended. Another media type: 415.
pub(crate) async fn ingest(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let media = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or("");
    let format = IngestFormat::from_media_type(media).ok_or_else(|| {
        ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            format!(
                "Content-Type {media:?}: expected application/x-ndjson (JSON lines) or \
                 application/x-aprt (APRT records)"
            ),
        )
    })?;
    state.check_writable()?;
    let bytes = u64::try_from(body.len()).unwrap_or(u64::MAX);
    let worker = Arc::clone(&state);
    let receipts = blocking(move || match worker.collector.ingest(&body, format) {
        Ok(receipts) => {
            if worker.hub.watched()
                && let Some(last) = receipts.last()
            {
                let count = u64::try_from(receipts.len()).unwrap_or(u64::MAX);
                worker.hub.offer_ingested(count, last.index, || {
                    let ledger = worker.collector.as_ledger()?;
                    let entry = ledger
                        .with_ledger(|l| l.read_entry(last.index))
                        .ok()?
                        .ok()?;
                    whyline::from_aprt::<whyline::AnyPath>(&entry.payload).ok()
                });
            }
            Ok(receipts)
        }
        Err(WhylineError::Ledger(error @ LedgerError::Ingest { .. })) => Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad_record",
            error_chain(&error),
        )),
        Err(error) => {
            let message = error_chain(&error);
            worker.set_fault(&message);
            Err(ApiError::unavailable(message))
        }
    })
    .await?;
    let metrics = &state.metrics;
    let count = u64::try_from(receipts.len()).unwrap_or(u64::MAX);
    metrics
        .decisions
        .get_or_create(&crate::metrics::ModelLabel {
            model: "ingest".to_owned(),
        })
        .inc_by(count);
    metrics
        .appends
        .get_or_create(&crate::metrics::DurabilityLabel {
            durability: durability_name(state.durability),
        })
        .inc_by(count);
    metrics.ingest_bytes.inc_by(bytes);
    let mut out = Vec::with_capacity(receipts.len() * 90);
    for receipt in &receipts {
        receipt.write_json(&mut out);
        out.push(b'\n');
    }
    Ok(([(header::CONTENT_TYPE, "application/jsonl")], out).into_response())
}

/// `GET /checkpoint`: the latest signed checkpoint (a C2SP signed note); 404 before the first.
pub(crate) async fn checkpoint(State(state): State<Arc<AppState>>) -> Result<Response, ApiError> {
    let note = blocking(move || {
        state
            .collector
            .latest_checkpoint()
            .map_err(|e| ApiError::internal(error_chain(&e)))
    })
    .await?
    .ok_or_else(|| ApiError::not_found("the ledger has no signed checkpoint yet"))?;
    let mut response =
        ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], note).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

/// `GET /tile/{L}/{N}[.p/{W}]` and `GET /tile/entries/{N}[.p/{W}]`: a hash tile or an entry
/// bundle of the latest checkpoint's tree. A malformed path: 400; a tile the tree does not
/// hold (yet): 404. Tiles never change once served: cached for a year.
pub(crate) async fn tile(
    State(state): State<Arc<AppState>>,
    Path(rest): Path<String>,
) -> Result<Response, ApiError> {
    let text = format!("tile/{rest}");
    let path = parse_tile_path(&text).map_err(|e| ApiError::bad_request(error_chain(&e)))?;
    let data = blocking(move || {
        let mut cache = state
            .tiles
            .lock()
            .map_err(|_| ApiError::internal("the tile cache was poisoned by a panic"))?;
        state
            .collector
            .read_tile(&mut cache, &path)
            .map_err(|error| match &error {
                WhylineError::Ledger(LedgerError::Tile {
                    kind: TileErrorKind::Unavailable { .. } | TileErrorKind::EntryTooLarge { .. },
                    ..
                }) => ApiError::not_found(error_chain(&error)),
                WhylineError::Ledger(LedgerError::Tile {
                    kind: TileErrorKind::BadPath { .. },
                    ..
                }) => ApiError::bad_request(error_chain(&error)),
                _ => ApiError::internal(error_chain(&error)),
            })
    })
    .await?;
    let mut response = ([(header::CONTENT_TYPE, "application/octet-stream")], data).into_response();
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=31536000, immutable"),
    );
    Ok(response)
}
