//! The Open Inference Protocol (KServe V2) over HTTP/REST: health, model metadata and
//! inference, every decision recorded in the ledger with its path.
//!
//! # Inference
//!
//! The request holds one input tensor (any name) of datatype `FP32`, `FP64` or an integer
//! type, shape `[N, F]` (N rows of the model's F features) or `[F]` (one row), its `data`
//! row-major, flat or nested. Each row is decided by the model's monitor (traced with its
//! native path, checked by Andon, appended to the ledger) and the response holds:
//!
//! - `outputs`: `predict` (FP64, `[N]`: the class label, or the class index when the labels
//!   are not numbers, or the regression value), for classifiers `predict_proba` (FP64,
//!   `[N, C]`), and for classifiers that name their classes `class_name` (BYTES, `[N]`);
//! - `parameters.decisions` (a whyline extension: an array, where the protocol's parameters
//!   are scalars), one object per row: `sequence`, `index` (the ledger index), `leaf` (the
//!   RFC 6962 leaf hash, hex), `durable` (whether the entry was on disk when the response was
//!   made) and `path` (the decision path's JSON view, as `whyline explain --format json`
//!   prints it).
//!
//! When an inference waits for the disk follows the profile: under `sync` the response is
//! sent once every row is durable (`durable: true`); under `interval` it is sent at once,
//! `durable` saying whether the group commit already ran (the profile promises the entry is
//! on disk within `group_commit_ms`); under `none`, at once.

use std::sync::Arc;
use std::time::Instant;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};
use whyline::core::DecisionPath as _;
use whyline::core::Explainable;
use whyline::{MonitorError, RecordOutcome};

use crate::error::ApiError;
use crate::state::{AppState, ServedModel, durability_name, error_chain};

/// `GET /v2/health/live`: 200 while the process answers.
pub(crate) async fn live() -> Json<Value> {
    Json(json!({ "live": true }))
}

/// `GET /v2/health/ready`: 200 when writes are accepted; 503 after a storage fault or while
/// shutting down, with the cause.
pub(crate) async fn ready(State(state): State<Arc<AppState>>) -> Result<Json<Value>, ApiError> {
    state.check_writable()?;
    Ok(Json(json!({ "ready": true })))
}

/// `GET /v2/models/{name}/ready`.
pub(crate) async fn model_ready(
    State(state): State<Arc<AppState>>,
    Path(name): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let served = state.model(&name)?;
    Ok(Json(json!({
        "name": served.name,
        "ready": state.check_writable().is_ok(),
    })))
}

/// `GET /v2/models/{name}`: the protocol's model metadata, with the model's features,
/// classes and identity under `parameters`.
pub(crate) async fn metadata(
    State(state): State<Arc<AppState>>,
    Path(name): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let served = state.model(&name)?;
    Ok(Json(model_metadata(served)))
}

fn is_classifier(served: &ServedModel) -> bool {
    !served.model.info().class_values.is_empty() || !served.model.info().names.classes.is_empty()
}

fn n_classes(served: &ServedModel) -> usize {
    let info = served.model.info();
    info.class_values.len().max(info.names.classes.len())
}

fn model_metadata(served: &ServedModel) -> Value {
    let model = &served.model;
    let info = model.info();
    let features = i64::try_from(served.n_features()).unwrap_or(-1);
    let mut outputs = vec![json!({ "name": "predict", "datatype": "FP64", "shape": [-1] })];
    if is_classifier(served) {
        let classes = i64::try_from(n_classes(served)).unwrap_or(-1);
        outputs
            .push(json!({ "name": "predict_proba", "datatype": "FP64", "shape": [-1, classes] }));
        if !info.names.classes.is_empty() {
            outputs.push(json!({ "name": "class_name", "datatype": "BYTES", "shape": [-1] }));
        }
    }
    let identity = model.identity();
    json!({
        "name": served.name,
        "versions": [],
        "platform": format!("whyline/{}", model.producer()),
        "inputs": [{ "name": "input", "datatype": "FP32", "shape": [-1, features] }],
        "outputs": outputs,
        "parameters": {
            "features": info.names.features,
            "classes": info.names.classes,
            "class_values": info.class_values,
            "sha256": identity.map(|id| id.sha256.as_str()),
            "model_type": identity.map(|id| id.model_type.as_str()),
            "model_version": identity.map(|id| id.version.as_str()),
            "producer": model.producer(),
        },
    })
}

/// An inference request ($inference_request).
#[derive(Debug, Deserialize)]
pub(crate) struct InferRequest {
    #[serde(default)]
    id: Option<String>,
    inputs: Vec<RequestInput>,
    #[serde(default)]
    outputs: Option<Vec<RequestOutput>>,
    #[serde(default)]
    #[allow(dead_code)] // accepted, as the protocol allows; none is understood yet
    parameters: Option<serde_json::Map<String, Value>>,
}

#[derive(Debug, Deserialize)]
struct RequestInput {
    name: String,
    shape: Vec<u64>,
    datatype: String,
    data: Value,
}

#[derive(Debug, Deserialize)]
struct RequestOutput {
    name: String,
}

/// The rows of an input tensor, row-major, and how many there are.
fn rows_of(input: &RequestInput) -> Result<(Vec<f32>, usize, usize), ApiError> {
    let numeric = matches!(
        input.datatype.as_str(),
        "FP32"
            | "FP64"
            | "FP16"
            | "INT8"
            | "INT16"
            | "INT32"
            | "INT64"
            | "UINT8"
            | "UINT16"
            | "UINT32"
            | "UINT64"
    );
    if !numeric {
        return Err(ApiError::bad_request(format!(
            "input {:?}: datatype {:?} is not a number type (FP32, FP64 or an integer type)",
            input.name, input.datatype
        )));
    }
    let mut values = Vec::new();
    flatten(&input.data, &mut values).map_err(|what| {
        ApiError::bad_request(format!("input {:?}: data holds {what}", input.name))
    })?;
    let (rows, width) = match input.shape.as_slice() {
        [width] => (1, *width),
        [rows, width] => (*rows, *width),
        shape => {
            return Err(ApiError::bad_request(format!(
                "input {:?}: shape {shape:?}: expected [N, F] or [F]",
                input.name
            )));
        }
    };
    let expected = rows.checked_mul(width);
    if expected != u64::try_from(values.len()).ok() {
        return Err(ApiError::bad_request(format!(
            "input {:?}: shape {:?} needs {} values, data holds {}",
            input.name,
            input.shape,
            expected.map_or_else(|| "too many".to_owned(), |n| n.to_string()),
            values.len()
        )));
    }
    // Both fit: their product is the length of `values`.
    let rows = usize::try_from(rows).unwrap_or(usize::MAX);
    let width = usize::try_from(width).unwrap_or(usize::MAX);
    Ok((values, rows, width))
}

/// Appends every number of `data` (flat or nested arrays) to `out`.
fn flatten(data: &Value, out: &mut Vec<f32>) -> Result<(), &'static str> {
    match data {
        Value::Array(items) => items.iter().try_for_each(|item| flatten(item, out)),
        Value::Number(number) => {
            let value = number.as_f64().ok_or("a number out of range")?;
            #[allow(clippy::cast_possible_truncation)] // traces are f32
            out.push(value as f32);
            Ok(())
        }
        Value::Null => {
            out.push(f32::NAN);
            Ok(())
        }
        Value::Bool(_) | Value::String(_) | Value::Object(_) => {
            Err("something that is not a number")
        }
    }
}

/// One decided row.
struct Decided {
    sequence: u64,
    receipt: Option<(u64, [u8; 32])>,
    /// The path's JSON as whyline-core's direct writer gives it (the bytes of its serde
    /// view): building a `serde_json::Value` tree for a forest's ~23 KB path took most of the
    /// server's CPU per request.
    path: Option<Box<serde_json::value::RawValue>>,
}

/// An inference request body read as `infer` reads it, before any model is involved: the
/// request, its one input tensor's values (row-major), its rows and its width.
fn read_request(body: &[u8]) -> Result<(InferRequest, Vec<f32>, usize, usize), ApiError> {
    let request: InferRequest = serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request(format!("inference request: {e}")))?;
    let [input] = request.inputs.as_slice() else {
        return Err(ApiError::bad_request(format!(
            "inference request: {} input tensors: expected one, of shape [N, F]",
            request.inputs.len()
        )));
    };
    let (values, rows, width) = rows_of(input)?;
    Ok((request, values, rows, width))
}

/// Reads an Open Inference Protocol inference request body (`POST /v2/models/{name}/infer`)
/// exactly as the server does before it reaches a model: the request's one input tensor's
/// values, row-major, its number of rows and its width. A body the server refuses is the
/// same 400 [`ApiError`] here. The fuzz targets (`fuzz/`) call it.
///
/// ```
/// let body = br#"{"inputs":[{"name":"input","shape":[2,2],"datatype":"FP32","data":[1,2,3,4]}]}"#;
/// let (values, rows, width) = whyline_server::read_infer_body(body)?;
/// assert_eq!((values.len(), rows, width), (4, 2, 2));
/// assert!(whyline_server::read_infer_body(b"{}").is_err());
/// # Ok::<(), whyline_server::ApiError>(())
/// ```
pub fn read_infer_body(body: &[u8]) -> Result<(Vec<f32>, usize, usize), ApiError> {
    read_request(body).map(|(_, values, rows, width)| (values, rows, width))
}

/// `POST /v2/models/{name}/infer`.
pub(crate) async fn infer(
    State(state): State<Arc<AppState>>,
    Path(name): Path<String>,
    body: axum::body::Bytes,
) -> Result<Json<InferResponse>, ApiError> {
    let served = Arc::clone(state.model(&name)?);
    let (request, values, rows, width) = read_request(&body)?;
    let wanted = request.outputs.as_deref();
    check_outputs(&served, wanted)?;
    state.check_writable()?;
    let decided = if matches!(state.durability, whyline::Durability::Sync) {
        // Each decision waits for its commit: off the async workers.
        let state = Arc::clone(&state);
        let served = Arc::clone(&served);
        let values = values.clone();
        tokio::task::spawn_blocking(move || decide_rows(&state, &served, &values, width))
            .await
            .map_err(|e| ApiError::internal(format!("inference task: {e}")))??
    } else {
        decide_rows(&state, &served, &values, width)?
    };
    let durable = state.durable_size();
    let mut predictions = Vec::with_capacity(rows);
    for row in values.chunks(width.max(1)).take(rows) {
        let wide: Vec<f64> = row.iter().map(|&x| f64::from(x)).collect();
        predictions.push(
            served
                .model
                .predict(&wide)
                .map_err(|e| ApiError::bad_request(error_chain(&e)))?,
        );
    }
    let outputs = outputs(&served, &predictions, wanted)?;
    let decisions: Vec<DecisionOut> = decided
        .into_iter()
        .map(|d| {
            let (index, leaf) = match d.receipt {
                Some((index, leaf)) => (Some(index), Some(hex::encode(leaf))),
                None => (None, None),
            };
            DecisionOut {
                sequence: d.sequence,
                index,
                leaf,
                durable: index.is_some_and(|i| i < durable),
                path: d.path,
            }
        })
        .collect();
    Ok(Json(InferResponse {
        model_name: served.name.clone(),
        model_version: served
            .model
            .identity()
            .map(|identity| identity.sha256.clone()),
        id: request.id.unwrap_or_default(),
        outputs,
        parameters: InferParameters { decisions },
    }))
}

/// An inference response (the protocol's `$inference_response`), serialised straight from
/// this struct so that each decision's path goes out as the bytes it was written as.
#[derive(serde::Serialize)]
pub(crate) struct InferResponse {
    model_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    model_version: Option<String>,
    id: String,
    outputs: Vec<Value>,
    parameters: InferParameters,
}

/// The response's `parameters`: whyline's per-row decisions.
#[derive(serde::Serialize)]
struct InferParameters {
    decisions: Vec<DecisionOut>,
}

/// One row's decision: its sequence, ledger index and leaf, whether durable, and its path.
#[derive(serde::Serialize)]
struct DecisionOut {
    sequence: u64,
    index: Option<u64>,
    leaf: Option<String>,
    durable: bool,
    path: Option<Box<serde_json::value::RawValue>>,
}

/// Decides every row through the model's monitor.
fn decide_rows(
    state: &AppState,
    served: &ServedModel,
    values: &[f32],
    width: usize,
) -> Result<Vec<Decided>, ApiError> {
    // A row of no features still goes to the model, which says what it expects.
    let rows: Vec<&[f32]> = if width == 0 {
        vec![values]
    } else {
        values.chunks(width).collect()
    };
    let mut decided = Vec::with_capacity(rows.len());
    let mut slot = served
        .slot
        .lock()
        .map_err(|_| ApiError::internal("a model's monitor was poisoned by a panic"))?;
    let durability = durability_name(state.durability);
    // One buffer for the APRT bytes the decision metric counts, reused across rows.
    let mut aprt = Vec::new();
    for row in rows {
        let started = Instant::now();
        let decision = match slot.monitor.predict_one(row) {
            Ok(decision) => decision,
            Err(error) => {
                if let MonitorError::LineStopped { alert } = &error {
                    // The decision and the red alert that stopped the line are in the
                    // ledger: the metrics, the Andon board and the stream show it too.
                    count_alert(state, alert);
                    state.hub.raise(alert, None, &served.name);
                }
                return Err(monitor_error(state, &error));
            }
        };
        if matches!(state.durability, whyline::Durability::Sync) {
            state
                .metrics
                .commit_wait
                .observe(started.elapsed().as_secs_f64());
        }
        let receipt = match decision.recorded {
            Some(RecordOutcome::Appended { index, leaf_hash }) => Some((index, leaf_hash)),
            _ => None,
        };
        let trace = slot.monitor.last_trace();
        let path = match trace {
            Some(t) => {
                let mut bytes = Vec::with_capacity(1024);
                t.path
                    .encode_json_path(&mut bytes)
                    .map_err(|e| ApiError::internal(format!("path JSON: {e}")))?;
                let text = String::from_utf8(bytes)
                    .map_err(|e| ApiError::internal(format!("path JSON: {e}")))?;
                Some(
                    serde_json::value::RawValue::from_string(text)
                        .map_err(|e| ApiError::internal(format!("path JSON: {e}")))?,
                )
            }
            None => None,
        };
        if let Some(trace) = trace {
            aprt.clear();
            let length = whyline::core::encode_aprt(trace, &mut aprt);
            state
                .metrics
                .decision_bytes
                .inc_by(u64::try_from(length).unwrap_or(u64::MAX));
        }
        state
            .metrics
            .decisions
            .get_or_create(&crate::metrics::ModelLabel {
                model: served.name.clone(),
            })
            .inc();
        state
            .metrics
            .appends
            .get_or_create(&crate::metrics::DurabilityLabel { durability })
            .inc();
        let mut alert_rules = Vec::new();
        let raised: Vec<&whyline::monitor::Alert> = slot
            .monitor
            .andon()
            .last_raised()
            .iter()
            .filter(|alert| alert.sequence == decision.sequence)
            .collect();
        for alert in &raised {
            alert_rules.push(count_alert(state, alert));
        }
        if state.hub.watched()
            && let (Some(trace), Some((index, _))) = (trace, receipt)
        {
            state.hub.offer_served(
                trace,
                index,
                &served.name,
                &served.model.info().names,
                &alert_rules,
            );
        }
        // The decision's event first, then the alerts it raised.
        for alert in raised {
            state
                .hub
                .raise(alert, receipt.map(|(index, _)| index), &served.name);
        }
        decided.push(Decided {
            sequence: decision.sequence,
            receipt,
            path,
        });
    }
    Ok(decided)
}

/// Counts `alert` in `whyline_alerts_total`; returns its rule.
fn count_alert(state: &AppState, alert: &whyline::monitor::Alert) -> String {
    let record = alert.to_record();
    state
        .metrics
        .alerts
        .get_or_create(&crate::metrics::AlertLabels {
            level: record.level,
            rule: record.kind.clone(),
        })
        .inc();
    record.kind
}

/// The response to a monitor's error: the input's fault (400), the storage's (503, and the
/// server turns unready), or a stopped line (409).
fn monitor_error(state: &AppState, error: &MonitorError) -> ApiError {
    let message = error_chain(error);
    match error {
        MonitorError::Model { .. } => ApiError::bad_request(message),
        MonitorError::Collector { .. } => {
            state.set_fault(&message);
            ApiError::unavailable(message)
        }
        MonitorError::LineStopped { .. } => {
            ApiError::new(StatusCode::CONFLICT, "line_stopped", message)
        }
        _ => ApiError::internal(message),
    }
}

/// The names of the model's outputs.
fn output_names(served: &ServedModel) -> Vec<&'static str> {
    let mut names = vec!["predict"];
    if is_classifier(served) {
        names.push("predict_proba");
        if !served.model.info().names.classes.is_empty() {
            names.push("class_name");
        }
    }
    names
}

/// 400 when the request asks for an output the model does not have (checked before any
/// decision is recorded).
fn check_outputs(served: &ServedModel, wanted: Option<&[RequestOutput]>) -> Result<(), ApiError> {
    let names = output_names(served);
    for output in wanted.unwrap_or_default() {
        if !names.contains(&output.name.as_str()) {
            return Err(ApiError::bad_request(format!(
                "output {:?}: model {:?} has no such output (it has {})",
                output.name,
                served.name,
                names.join(", ")
            )));
        }
    }
    Ok(())
}

/// The response's output tensors, or only those the request names.
fn outputs(
    served: &ServedModel,
    predictions: &[whyline::models::Prediction],
    wanted: Option<&[RequestOutput]>,
) -> Result<Vec<Value>, ApiError> {
    let info = served.model.info();
    let n = predictions.len();
    let classifier = is_classifier(served);
    let label = |p: &whyline::models::Prediction| -> f64 {
        if !classifier {
            return p.value;
        }
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)] // a class index
        let index = p.value as usize;
        info.class_values.get(index).copied().unwrap_or(p.value)
    };
    let mut all = vec![json!({
        "name": "predict",
        "datatype": "FP64",
        "shape": [n],
        "data": predictions.iter().map(label).collect::<Vec<f64>>(),
    })];
    if classifier {
        let classes = n_classes(served);
        let data: Vec<f64> = predictions
            .iter()
            .flat_map(|p| {
                let mut row = p.probabilities.clone().unwrap_or_default();
                row.resize(classes, f64::NAN);
                row
            })
            .collect();
        all.push(json!({
            "name": "predict_proba",
            "datatype": "FP64",
            "shape": [n, classes],
            "data": data,
        }));
        if !info.names.classes.is_empty() {
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)] // a class index
            let names: Vec<&str> = predictions
                .iter()
                .map(|p| {
                    info.names
                        .classes
                        .get(p.value as usize)
                        .map_or("", String::as_str)
                })
                .collect();
            all.push(json!({
                "name": "class_name",
                "datatype": "BYTES",
                "shape": [n],
                "data": names,
            }));
        }
    }
    let Some(wanted) = wanted.filter(|w| !w.is_empty()) else {
        return Ok(all);
    };
    wanted
        .iter()
        .map(|w| {
            all.iter()
                .find(|o| o["name"] == w.name.as_str())
                .cloned()
                .ok_or_else(|| {
                    ApiError::bad_request(format!(
                        "output {:?}: model {:?} has no such output",
                        w.name, served.name
                    ))
                })
        })
        .collect()
}
