//! The handlers: `GET /v1/stream` (Server-Sent Events, resumable by ledger index),
//! `GET /v1/alerts` (the Andon board) and `POST /v1/alerts/{id}/acknowledge` (admin).

use std::sync::Arc;

use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::sync::broadcast::error::RecvError;
use whyline::core::{AnyPath, EntryKind};
use whyline::{TraceCollector, from_aprt};

use super::{DecisionEvent, Frame, REPLAY_LIMIT};
use crate::error::ApiError;
use crate::state::{AppState, error_chain};

/// `?from=INDEX`.
#[derive(Debug, Deserialize)]
pub(crate) struct StreamQuery {
    from: Option<u64>,
}

/// `GET /v1/stream[?from=INDEX]` (or `Last-Event-ID: INDEX`): the decisions after INDEX
/// replayed from the ledger (the last [`REPLAY_LIMIT`] of them), the alerts on the board,
/// a first stats event, then the live events until the client leaves or the server stops.
pub(crate) async fn stream(
    State(state): State<Arc<AppState>>,
    Query(query): Query<StreamQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let last_event = headers
        .get("last-event-id")
        .and_then(|value| value.to_str().ok())
        .map(|text| {
            text.trim().parse::<u64>().map_err(|_| {
                ApiError::bad_request(format!("Last-Event-ID {text:?}: expected a ledger index"))
            })
        })
        .transpose()?;
    let from = query.from.or(last_event);
    // Subscribe before reading the ledger, so nothing appended in between is missed.
    let (guard, receiver, closed) = state.hub.connect();
    let mut opening: Vec<Bytes> = Vec::new();
    let mut replayed_to = from;
    if let Some(from) = from {
        let worker = Arc::clone(&state);
        let frames = tokio::task::spawn_blocking(move || replay(&worker, from))
            .await
            .map_err(|e| ApiError::internal(format!("stream task: {e}")))??;
        for frame in frames {
            replayed_to = frame.decision_index.or(replayed_to);
            opening.push(frame.bytes);
        }
    }
    for alert in state.hub.alerts() {
        if let Ok(frame) = Frame::new("alert", None, &alert) {
            opening.push(frame.bytes);
        }
    }
    let entries = TraceCollector::<AnyPath>::len(&*state.collector);
    // A first stats event at once (counts still zero), so a new client has its budgets.
    let first = json!({
        "time_ns": whyline::core::now_ns(),
        "entries": entries,
        "decisions_per_s": 0.0,
        "latency_p50_us": null,
        "latency_p99_us": null,
        "mean_confidence": null,
        "sampled": 0,
        "seen": 0,
        "measured": 0,
        "budget": state.hub.budget(),
        "alerts_open": state.hub.alerts().iter().filter(|a| !a.acknowledged).count(),
        "clients": 0,
    });
    if let Ok(frame) = Frame::new("stats", None, &first) {
        opening.push(frame.bytes);
    }
    let live = Live {
        _guard: guard,
        receiver,
        closed,
        replayed_to,
    };
    let live = futures_util::stream::unfold(live, |mut live| async move {
        live.next()
            .await
            .map(|bytes| (Ok::<Bytes, std::convert::Infallible>(bytes), live))
    });
    let opening = futures_util::stream::iter(
        opening
            .into_iter()
            .map(Ok::<Bytes, std::convert::Infallible>),
    );
    let body = Body::from_stream(futures_util::StreamExt::chain(opening, live));
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert("x-accel-buffering", HeaderValue::from_static("no"));
    Ok(response)
}

/// A client's live part: what it receives, until it leaves or the server stops.
struct Live {
    _guard: super::ClientGuard,
    receiver: tokio::sync::broadcast::Receiver<Arc<Frame>>,
    closed: tokio::sync::watch::Receiver<bool>,
    /// The last decision index replayed: live copies of those are skipped.
    replayed_to: Option<u64>,
}

impl Live {
    /// The next frame's bytes; `None` once the server stops.
    async fn next(&mut self) -> Option<Bytes> {
        loop {
            tokio::select! {
                received = self.receiver.recv() => match received {
                    Ok(frame) => {
                        if let (Some(index), Some(done)) = (frame.decision_index, self.replayed_to)
                            && index <= done
                        {
                            continue; // replayed already
                        }
                        return Some(frame.bytes.clone());
                    }
                    Err(RecvError::Lagged(skipped)) => {
                        return Some(Bytes::from(format!(
                            ": skipped {skipped} events (client too slow)\n\n"
                        )));
                    }
                    Err(RecvError::Closed) => return None,
                },
                _ = self.closed.wait_for(|closed| *closed) => return None,
            }
        }
    }
}

/// The decision events after `from`, read from the ledger: at most the last
/// [`REPLAY_LIMIT`].
fn replay(state: &AppState, from: u64) -> Result<Vec<Frame>, ApiError> {
    let end = TraceCollector::<AnyPath>::len(&*state.collector);
    let start = from.saturating_add(1).max(end.saturating_sub(REPLAY_LIMIT));
    if start >= end {
        return Ok(Vec::new());
    }
    let ledger = state
        .collector
        .as_ledger()
        .ok_or_else(|| ApiError::internal("the server's collector is not a ledger"))?;
    let payloads = ledger
        .with_ledger(|l| {
            (start..end)
                .map(|index| l.read_entry(index).map(|entry| (index, entry.payload)))
                .collect::<Result<Vec<_>, _>>()
        })
        .map_err(|e| ApiError::internal(error_chain(&e)))?
        .map_err(|e| ApiError::internal(error_chain(&e)))?;
    let budget = state.hub.budget();
    let mut frames = Vec::new();
    for (index, payload) in payloads {
        if EntryKind::of(&payload) != EntryKind::Decision {
            continue;
        }
        let Ok(trace) = from_aprt::<AnyPath>(&payload) else {
            continue;
        };
        let (model, names) = state.hub.names_for(&trace);
        let event = DecisionEvent::of_trace(&trace, index, model, names, &budget, &[]);
        if let Ok(frame) = Frame::decision(&event) {
            frames.push(frame);
        }
    }
    Ok(frames)
}

/// `GET /v1/alerts`: every alert on the board, newest first, and how many are open.
pub(crate) async fn alerts(State(state): State<Arc<AppState>>) -> Json<Value> {
    let mut alerts = state.hub.alerts();
    alerts.reverse();
    let open = alerts.iter().filter(|a| !a.acknowledged).count();
    Json(json!({ "open": open, "alerts": alerts }))
}

/// `POST /v1/alerts/{id}/acknowledge` (admin scope): marks the alert acknowledged.
pub(crate) async fn acknowledge(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let alert = state
        .hub
        .acknowledge(&id)
        .ok_or_else(|| ApiError::not_found(format!("no alert {id:?}")))?;
    tracing::info!(alert = %alert.id, rule = %alert.rule, "alert acknowledged");
    Ok(Json(json!(alert)))
}
