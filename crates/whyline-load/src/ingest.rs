//! The ingest workload: batches of decision traces sent to `POST /v1/decisions`.
//!
//! The traces are real: a model file is loaded with whyline's importers, each row of a rows
//! file is explained by the model (output and decision path), and the traces are encoded
//! with whyline-core's codecs, either as JSON lines (one [`to_json`](whyline::core::to_json)
//! document per line, `Content-Type: application/x-ndjson`) or as concatenated APRT records
//! (`Content-Type: application/x-aprt`). A server that accepts whyline's formats accepts
//! them. A few distinct batches are built before the run and sent in turn.
//!
//! Each answer must hold one receipt per decision sent (`{"index":N,"leaf":"hex"}`, as a
//! JSON array, an object with a `receipts` array, or JSON lines), with increasing indices.

use std::path::Path;
use std::time::Instant;

use bytes::Bytes;
use whyline::core::digest::fnv1a_features;
use whyline::{AnyPath, DecisionTrace, Explainable, Model};

use crate::error::{LoadError, Result};
use crate::target::{RequestTemplate, Target};

/// How a batch body is encoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IngestFormat {
    /// JSON lines, the JSON codec's documents one per line.
    JsonLines,
    /// Concatenated APRT records.
    Aprt,
}

impl IngestFormat {
    /// The `Content-Type` the body is sent with.
    pub fn content_type(self) -> &'static str {
        match self {
            IngestFormat::JsonLines => "application/x-ndjson",
            IngestFormat::Aprt => "application/x-aprt",
        }
    }
}

/// Loads `model_path` and explains `count` rows of `rows_path` (cycling through the file),
/// returning their traces: sequence numbers 0, 1, ..., timestamps 1 µs apart from now,
/// the FNV-1a digest of each `f32` row, the measured latency of each explanation.
pub fn generate_traces(
    model_path: &Path,
    rows_path: &Path,
    count: usize,
) -> Result<Vec<DecisionTrace<AnyPath>>> {
    let model = Model::load(model_path).map_err(|source| LoadError::Model {
        path: model_path.to_owned(),
        source,
    })?;
    let rows = whyline::models::Rows::for_model_path(
        rows_path,
        whyline::models::RowFormat::Auto,
        &model,
        whyline::models::RowOptions::new(),
    )
    .map_err(|source| LoadError::Rows {
        path: rows_path.to_owned(),
        source,
    })?;
    let rows32 = rows.to_f32();
    let width = rows.n_features().max(1);
    let n_rows = rows.len();
    let start_ns = whyline::core::now_ns();
    let mut traces = Vec::with_capacity(count);
    for sequence in 0..count {
        let index = sequence % n_rows;
        let row = rows32
            .get(index * width..(index + 1) * width)
            .ok_or(LoadError::Setting {
                setting: "--rows",
                reason: "the rows file has a short row",
            })?;
        let began = Instant::now();
        let (output, path) = model
            .explain_one(row)
            .map_err(|source| LoadError::Explain {
                path: rows_path.to_owned(),
                row: index,
                source,
            })?;
        let latency_ns = u64::try_from(began.elapsed().as_nanos()).unwrap_or(u64::MAX);
        let sequence = sequence as u64;
        traces.push(DecisionTrace {
            timestamp_ns: start_ns + sequence * 1_000,
            sequence,
            input_hash: fnv1a_features(row),
            output,
            latency_ns,
            path,
        });
    }
    Ok(traces)
}

/// Encodes `traces` as one body in `format`.
pub fn encode_body(traces: &[DecisionTrace<AnyPath>], format: IngestFormat) -> Result<Bytes> {
    let mut body = Vec::new();
    for trace in traces {
        match format {
            IngestFormat::JsonLines => {
                whyline::core::encode_json(trace, &mut body).map_err(|source| {
                    LoadError::Encode {
                        sequence: trace.sequence,
                        source,
                    }
                })?;
                body.push(b'\n');
            }
            IngestFormat::Aprt => {
                whyline::core::encode_aprt(trace, &mut body);
            }
        }
    }
    Ok(Bytes::from(body))
}

/// The requests of an ingest run: `bodies` distinct batches of `batch` traces each.
pub fn ingest_requests(
    target: &Target,
    model_path: &Path,
    rows_path: &Path,
    format: IngestFormat,
    batch: usize,
    bodies: usize,
) -> Result<Vec<RequestTemplate>> {
    if batch == 0 {
        return Err(LoadError::Setting {
            setting: "--batch",
            reason: "a batch holds at least one decision",
        });
    }
    let count = batch.checked_mul(bodies.max(1)).ok_or(LoadError::Setting {
        setting: "--bodies",
        reason: "too many decisions to generate",
    })?;
    let traces = generate_traces(model_path, rows_path, count)?;
    let path = target.path("/v1/decisions");
    traces
        .chunks(batch)
        .map(|chunk| {
            Ok(RequestTemplate {
                path: path.clone(),
                content_type: format.content_type(),
                body: encode_body(chunk, format)?,
                items: chunk.len() as u64,
            })
        })
        .collect()
}

#[derive(serde::Deserialize)]
struct Receipt<'a> {
    index: u64,
    #[serde(borrow)]
    leaf: std::borrow::Cow<'a, str>,
}

#[derive(serde::Deserialize)]
#[serde(untagged)]
enum Receipts<'a> {
    #[serde(borrow)]
    List(Vec<Receipt<'a>>),
    Wrapped {
        #[serde(borrow)]
        receipts: Vec<Receipt<'a>>,
    },
}

/// The receipts of an answer in JSON lines (whyline's own answer), or `None` when the body
/// is not JSON lines of receipts. Read first because it is what whyline sends: the generator
/// checks a thousand receipts per answer on the same two cores as the server it measures.
fn json_lines_receipts(body: &[u8]) -> Option<Vec<Receipt<'_>>> {
    body.split(|&b| b == b'\n')
        .filter(|line| !line.iter().all(u8::is_ascii_whitespace))
        .map(|line| serde_json::from_slice::<Receipt<'_>>(line).ok())
        .collect()
}

/// Checks an ingest answer: `expected` receipts, indices strictly increasing, each leaf a
/// 32-byte hex hash. Returns the receipts' index range.
pub fn check_receipts(body: &[u8], expected: u64) -> Result<std::ops::RangeInclusive<u64>, String> {
    let receipts = match json_lines_receipts(body) {
        Some(lines) => lines,
        None => match serde_json::from_slice::<Receipts<'_>>(body) {
            Ok(Receipts::List(list) | Receipts::Wrapped { receipts: list }) => list,
            Err(e) => return Err(format!("receipts are not JSON receipts: {e}")),
        },
    };
    if receipts.len() as u64 != expected {
        return Err(format!(
            "{} receipts for {expected} decisions",
            receipts.len()
        ));
    }
    for (position, pair) in receipts.windows(2).enumerate() {
        if let [before, after] = pair
            && after.index <= before.index
        {
            return Err(format!(
                "receipt {} has index {} after {}",
                position + 1,
                after.index,
                before.index
            ));
        }
    }
    if let Some(bad) = receipts
        .iter()
        .find(|r| r.leaf.len() != 64 || !r.leaf.bytes().all(|b| b.is_ascii_hexdigit()))
    {
        return Err(format!(
            "receipt {} has leaf {:?}, not 32 hex bytes",
            bad.index, bad.leaf
        ));
    }
    match (receipts.first(), receipts.last()) {
        (Some(first), Some(last)) => Ok(first.index..=last.index),
        _ => Err("no receipt".to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leaf(i: u64) -> String {
        format!("{i:064x}")
    }

    #[test]
    fn receipts_are_accepted_as_an_array_a_wrapped_array_or_json_lines() {
        let list =
            serde_json::json!([{"index": 7, "leaf": leaf(1)}, {"index": 8, "leaf": leaf(2)}]);
        let text = list.to_string();
        assert_eq!(check_receipts(text.as_bytes(), 2), Ok(7..=8));
        let wrapped = serde_json::json!({ "receipts": list }).to_string();
        assert_eq!(check_receipts(wrapped.as_bytes(), 2), Ok(7..=8));
        let lines = format!(
            "{{\"index\":3,\"leaf\":\"{}\"}}\n{{\"index\":4,\"leaf\":\"{}\"}}\n",
            leaf(3),
            leaf(4)
        );
        assert_eq!(check_receipts(lines.as_bytes(), 2), Ok(3..=4));
    }

    #[test]
    fn wrong_counts_decreasing_indices_and_bad_leaves_are_refused() {
        let two = serde_json::json!([{"index": 7, "leaf": leaf(1)}, {"index": 8, "leaf": leaf(2)}])
            .to_string();
        assert!(check_receipts(two.as_bytes(), 3).is_err_and(|e| e.contains("2 receipts for 3")));
        let backwards =
            serde_json::json!([{"index": 8, "leaf": leaf(1)}, {"index": 8, "leaf": leaf(2)}])
                .to_string();
        assert!(
            check_receipts(backwards.as_bytes(), 2).is_err_and(|e| e.contains("index 8 after 8"))
        );
        let short = serde_json::json!([{"index": 1, "leaf": "abcd"}]).to_string();
        assert!(check_receipts(short.as_bytes(), 1).is_err_and(|e| e.contains("not 32 hex bytes")));
        assert!(check_receipts(b"{\"error\":\"x\"}", 1).is_err());
    }
}
