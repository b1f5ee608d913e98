//! The read API: decisions by time or index, incident reports and proofs.
//!
//! Reads never hold the ledger's lock for more than a few reads: windows, incidents and
//! proofs are read from a read-only view of the ledger (a directory's segment files as they are
//! on disk, or a PostgreSQL log as committed; opened for this request and never repaired), so writers keep appending. Proofs are
//! made against a signed checkpoint, whose entries a checkpoint always commits to disk
//! first; the hashes come from the same read-only view.

use std::sync::Arc;

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use whyline::core::EntryKind;
use whyline::forensics::{
    IncidentQuery, parse_duration_ns, parse_time_ns, render_html, render_json,
};
use whyline::ledger::{
    ConsistencyEvidence, InclusionEvidence, MerkleTree, StoredCheckpoint, consistency_proof,
    inclusion_proof, leaf_hash,
};
use whyline::{AnyPath, LedgerReader, TraceCollector, from_aprt};

use crate::error::ApiError;
use crate::state::{AppState, error_chain};

/// Lines of `/v1/decisions` sent per chunk of the streamed body.
const LINES_PER_CHUNK: usize = 1024;

fn library_error(error: &(dyn std::error::Error + 'static)) -> ApiError {
    ApiError::internal(error_chain(error))
}

fn parse_time(name: &str, text: &str) -> Result<u64, ApiError> {
    parse_time_ns(text).map_err(|e| ApiError::bad_request(format!("{name}: {}", error_chain(&e))))
}

/// Runs blocking reads off the async workers.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ApiError::internal(format!("read task: {e}")))?
}

/// A read-only view of the ledger (its directory's files, or its PostgreSQL log, as
/// committed now).
fn read_view(state: &AppState) -> Result<Box<dyn whyline::ledger::Store>, ApiError> {
    state.committed_view().map_err(|e| library_error(&e))
}

/// The JSON line of a decision entry: its index and leaf hash, then the JSON codec's view
/// (`version`, `trace`), so a line can be posted back to an ingest endpoint as it is.
fn decision_json(index: u64, payload: &[u8]) -> Option<Value> {
    if EntryKind::of(payload) != EntryKind::Decision {
        return None;
    }
    let trace = from_aprt::<AnyPath>(payload).ok()?;
    let text = whyline::core::to_json(&trace).ok()?;
    let mut line: Value = serde_json::from_str(&text).ok()?;
    let object = line.as_object_mut()?;
    object.insert("index".into(), json!(index));
    object.insert("leaf".into(), json!(hex::encode(leaf_hash(payload))));
    Some(line)
}

/// `?from=T&to=T`.
#[derive(Debug, Deserialize)]
pub(crate) struct Window {
    from: String,
    to: String,
}

/// `GET /v1/decisions?from=T&to=T`: the decisions stamped in the window, both ends
/// included, as JSON lines in log order, streamed in chunks.
pub(crate) async fn decisions(
    State(state): State<Arc<AppState>>,
    Query(window): Query<Window>,
) -> Result<Response, ApiError> {
    let from = parse_time("from", &window.from)?;
    let to = parse_time("to", &window.to)?;
    if from > to {
        return Err(ApiError::bad_request(format!(
            "from {} is after to {}",
            window.from, window.to
        )));
    }
    let (sender, receiver) = tokio::sync::mpsc::channel::<Result<Vec<u8>, std::io::Error>>(4);
    let read = blocking(move || {
        let store = read_view(&state)?;
        let reader = LedgerReader::new(&store).map_err(|e| library_error(&e))?;
        reader
            .entries_between(from, to)
            .map_err(|e| library_error(&e))
    })
    .await?;
    tokio::task::spawn_blocking(move || {
        let mut chunk = Vec::with_capacity(64 * 1024);
        let mut lines = 0;
        for entry in &read.entries {
            let Some(line) = decision_json(entry.index, &entry.payload) else {
                continue;
            };
            if serde_json::to_writer(&mut chunk, &line).is_err() {
                continue;
            }
            chunk.push(b'\n');
            lines += 1;
            if lines == LINES_PER_CHUNK {
                if sender
                    .blocking_send(Ok(std::mem::take(&mut chunk)))
                    .is_err()
                {
                    return; // the client went away
                }
                lines = 0;
            }
        }
        if !chunk.is_empty() {
            let _client_gone = sender.blocking_send(Ok(chunk));
        }
    });
    let stream = futures_util::stream::unfold(receiver, |mut receiver| async move {
        receiver.recv().await.map(|item| (item, receiver))
    });
    let mut response = Body::from_stream(stream).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/jsonl"),
    );
    Ok(response)
}

/// The checkpoint of `size`, or the latest one.
fn checkpoint_of(state: &AppState, size: Option<u64>) -> Result<StoredCheckpoint, ApiError> {
    let ledger = state
        .collector
        .as_ledger()
        .ok_or_else(|| ApiError::internal("the server's collector is not a ledger"))?;
    let checkpoints = ledger
        .with_ledger(|l| match size {
            None => l.checkpoints().last().cloned().map(|c| vec![c]),
            Some(size) => l
                .checkpoints()
                .iter()
                .find(|c| c.checkpoint.size == size)
                .cloned()
                .map(|c| vec![c]),
        })
        .map_err(|e| library_error(&e))?;
    match (checkpoints.and_then(|mut c| c.pop()), size) {
        (Some(checkpoint), _) => Ok(checkpoint),
        (None, None) => Err(ApiError::not_found(
            "the ledger has no signed checkpoint yet",
        )),
        (None, Some(size)) => Err(ApiError::not_found(format!(
            "no signed checkpoint of size {size}"
        ))),
    }
}

/// The Merkle tree of the first `size` entries, from the read-only view.
fn tree_of(
    state: &AppState,
    size: u64,
) -> Result<(MerkleTree, Vec<whyline::ledger::StoredEntry>), ApiError> {
    let store = read_view(state)?;
    let read = LedgerReader::new(&store)
        .and_then(|reader| reader.all_entries())
        .map_err(|e| library_error(&e))?;
    let entries: Vec<_> = read
        .entries
        .into_iter()
        .take(usize::try_from(size).unwrap_or(usize::MAX))
        .collect();
    if (entries.len() as u64) < size {
        return Err(ApiError::internal(format!(
            "the ledger on disk holds {} entries, the checkpoint {size}",
            entries.len()
        )));
    }
    let tree = MerkleTree::from_leaf_hashes(entries.iter().map(|e| leaf_hash(&e.payload)));
    Ok((tree, entries))
}

fn inclusion(
    state: &AppState,
    index: u64,
    size: Option<u64>,
) -> Result<InclusionEvidence, ApiError> {
    let mut checkpoint = checkpoint_of(state, size);
    let covered = checkpoint.as_ref().is_ok_and(|c| index < c.checkpoint.size);
    if size.is_none() && !covered && index < TraceCollector::<AnyPath>::len(&*state.collector) {
        // Proving against the latest checkpoint an entry none covers yet: sign one now (it
        // commits the entries first), as the ledger would at its next interval.
        state
            .collector
            .checkpoint()
            .map_err(|e| library_error(&e))?;
        checkpoint = checkpoint_of(state, None);
    }
    let checkpoint = checkpoint?;
    let tree_size = checkpoint.checkpoint.size;
    if index >= tree_size {
        return Err(ApiError::not_found(format!(
            "entry {index} is not in the checkpoint of size {tree_size} (yet)"
        )));
    }
    let (tree, entries) = tree_of(state, tree_size)?;
    let proof = inclusion_proof(&tree, index, tree_size).map_err(|e| library_error(&e))?;
    let entry = entries
        .get(usize::try_from(index).unwrap_or(usize::MAX))
        .ok_or_else(|| ApiError::not_found(format!("no entry {index}")))?;
    Ok(InclusionEvidence {
        index,
        leaf: leaf_hash(&entry.payload),
        tree_size,
        root: checkpoint.checkpoint.root,
        proof,
        checkpoint: checkpoint.note,
    })
}

/// `?index=N[&size=S]`.
#[derive(Debug, Deserialize)]
pub(crate) struct InclusionQuery {
    index: u64,
    size: Option<u64>,
}

/// `GET /v1/proof/inclusion?index=N[&size=S]`: proof that entry N is in the signed checkpoint
/// of size S (default: the latest), as `whyline prove --index` writes it.
pub(crate) async fn proof_inclusion(
    State(state): State<Arc<AppState>>,
    Query(query): Query<InclusionQuery>,
) -> Result<Json<InclusionEvidence>, ApiError> {
    blocking(move || inclusion(&state, query.index, query.size))
        .await
        .map(Json)
}

/// `?from=S1&to=S2`.
#[derive(Debug, Deserialize)]
pub(crate) struct ConsistencyQuery {
    from: u64,
    to: Option<u64>,
}

/// `GET /v1/proof/consistency?from=S1[&to=S2]`: proof that the tree of S1 entries is a
/// prefix of the signed checkpoint of size S2 (default: the latest), as `whyline prove
/// --from` writes it.
pub(crate) async fn proof_consistency(
    State(state): State<Arc<AppState>>,
    Query(query): Query<ConsistencyQuery>,
) -> Result<Json<ConsistencyEvidence>, ApiError> {
    blocking(move || {
        let checkpoint = checkpoint_of(&state, query.to)?;
        let tree_size = checkpoint.checkpoint.size;
        if query.from > tree_size {
            return Err(ApiError::bad_request(format!(
                "from {} is larger than the checkpoint's size {tree_size}",
                query.from
            )));
        }
        let (tree, _) = tree_of(&state, tree_size)?;
        let proof =
            consistency_proof(&tree, query.from, tree_size).map_err(|e| library_error(&e))?;
        Ok(ConsistencyEvidence {
            old_size: query.from,
            old_root: tree.root_at(query.from).map_err(|e| library_error(&e))?,
            tree_size,
            root: checkpoint.checkpoint.root,
            proof,
            checkpoint: checkpoint.note,
        })
    })
    .await
    .map(Json)
}

/// `GET /v1/decisions/{index}`: the entry (a decision's JSON view with its path, or the
/// kind of another entry), and its inclusion proof in the latest checkpoint (`null`, with
/// `proof_error` saying why, while no checkpoint covers it yet).
pub(crate) async fn decision(
    State(state): State<Arc<AppState>>,
    Path(index): Path<u64>,
) -> Result<Json<Value>, ApiError> {
    blocking(move || {
        let ledger = state
            .collector
            .as_ledger()
            .ok_or_else(|| ApiError::internal("the server's collector is not a ledger"))?;
        let entry = ledger
            .with_ledger(|l| l.read_entry(index))
            .map_err(|e| library_error(&e))?
            .map_err(|e| match e {
                whyline::ledger::LedgerError::OutOfRange { .. } => {
                    ApiError::not_found(error_chain(&e))
                }
                other => library_error(&other),
            })?;
        let mut body = match decision_json(index, &entry.payload) {
            Some(line) => line,
            None => json!({
                "index": index,
                "leaf": hex::encode(leaf_hash(&entry.payload)),
                "kind": format!("{:?}", EntryKind::of(&entry.payload)).to_lowercase(),
            }),
        };
        // The entry's bytes, so a reader can hash the leaf itself (RFC 6962: SHA-256 of
        // 0x00 and the entry).
        body["entry_hex"] = json!(hex::encode(&entry.payload));
        if let Some(explained) = explained(&state, &entry.payload) {
            body["explained"] = explained;
        }
        match inclusion(&state, index, None) {
            Ok(mut proof) => {
                if wrong_proof_for_tests() {
                    spoil(&mut proof);
                }
                body["proof"] =
                    serde_json::to_value(&proof).map_err(|e| ApiError::internal(e.to_string()))?;
            }
            Err(error) => {
                body["proof"] = Value::Null;
                body["proof_error"] = json!(error.message);
            }
        }
        Ok(Json(body))
    })
    .await
}

/// A decision as people read it: its class name, confidence, alternatives, contributions by
/// feature name and rationale (whyline-forensics' timeline entry), named after the served
/// model that fits ([`Hub::names_for`](crate::stream::Hub::names_for)).
fn explained(state: &AppState, payload: &[u8]) -> Option<Value> {
    if EntryKind::of(payload) != EntryKind::Decision {
        return None;
    }
    let trace = from_aprt::<AnyPath>(payload).ok()?;
    let (model, names) = state.hub.names_for(&trace);
    let entry = whyline::forensics::TimelineEntry::of_trace(&trace, trace.timestamp_ns, names);
    Some(json!({
        "model": model,
        "decision": entry.decision,
        "confidence": entry.confidence,
        "alternatives": entry.alternatives,
        "contributions": entry.contributions,
        "rationale": entry.rationale,
        "latency_us": entry.latency_us,
        "features": names.features,
        "classes": names.classes,
    }))
}

/// The test-only switch of the dashboard's browser tests: in a debug build, with
/// `WHYLINE_TEST_WRONG_PROOF=1` in the server's environment, `GET /v1/decisions/{index}`
/// serves a wrong inclusion proof (one audit-path hash changed), so the test can see the
/// decision page refuse it. Release builds never read the variable.
fn wrong_proof_for_tests() -> bool {
    cfg!(debug_assertions)
        && std::env::var_os("WHYLINE_TEST_WRONG_PROOF").is_some_and(|value| value == "1")
}

/// Changes one hash of the proof: the first of its audit path, or its leaf when the path
/// is empty (a tree of one entry).
fn spoil(proof: &mut InclusionEvidence) {
    match proof.proof.first_mut() {
        Some(hash) => hash[0] ^= 0x01,
        None => proof.leaf[0] ^= 0x01,
    }
}

/// `?at=T&before=30s&after=1s&format=json|html`.
#[derive(Debug, Deserialize)]
pub(crate) struct IncidentParams {
    at: String,
    before: Option<String>,
    after: Option<String>,
    format: Option<String>,
}

/// `GET /v1/incident?at=T&before=30s&after=1s&format=json|html`: the incident report, as
/// `whyline incident --format json|html` writes it (checkpoint signatures checked with the
/// ledger's key).
pub(crate) async fn incident(
    State(state): State<Arc<AppState>>,
    Query(params): Query<IncidentParams>,
) -> Result<Response, ApiError> {
    let query = IncidentQuery {
        time_ns: parse_time("at", &params.at)?,
        lookback_ns: parse_duration_ns(params.before.as_deref().unwrap_or("30s"))
            .map_err(|e| ApiError::bad_request(format!("before: {}", error_chain(&e))))?,
        lookahead_ns: parse_duration_ns(params.after.as_deref().unwrap_or("1s"))
            .map_err(|e| ApiError::bad_request(format!("after: {}", error_chain(&e))))?,
    };
    let html = match params.format.as_deref().unwrap_or("json") {
        "json" => false,
        "html" => true,
        other => {
            return Err(ApiError::bad_request(format!(
                "format {other:?}: expected json or html"
            )));
        }
    };
    blocking(move || {
        let report = state.investigate(query)?;
        if html {
            Ok((
                [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
                render_html(&report),
            )
                .into_response())
        } else {
            let text = render_json(&report).map_err(|e| library_error(&e))?;
            Ok(([(header::CONTENT_TYPE, "application/json")], text).into_response())
        }
    })
    .await
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use whyline::ledger::verify_inclusion;

    /// The evidence that entry `index` is in a tree of `size` entries.
    fn evidence(index: u64, size: u64) -> InclusionEvidence {
        let leaves: Vec<_> = (0..size).map(|i| leaf_hash(&i.to_le_bytes())).collect();
        let tree = MerkleTree::from_leaf_hashes(leaves.iter().copied());
        InclusionEvidence {
            index,
            leaf: leaves[usize::try_from(index).unwrap()],
            tree_size: size,
            root: tree.root_at(size).unwrap(),
            proof: inclusion_proof(&tree, index, size).unwrap(),
            checkpoint: String::new(),
        }
    }

    fn verifies(proof: &InclusionEvidence) -> bool {
        verify_inclusion(
            &proof.leaf,
            proof.index,
            proof.tree_size,
            &proof.proof,
            &proof.root,
        )
        .is_ok()
    }

    #[test]
    fn a_spoiled_proof_no_longer_verifies_whether_or_not_it_has_an_audit_path() {
        for (index, size) in [(2, 5), (0, 1)] {
            let mut proof = evidence(index, size);
            assert!(verifies(&proof), "{index} of {size}");
            let before = proof.clone();
            spoil(&mut proof);
            assert!(!verifies(&proof), "{index} of {size}: spoiled");
            // One bit of one hash: the audit path's first, or the leaf of a tree of one.
            let changed = |a: &[u8], b: &[u8]| a.iter().zip(b).filter(|(x, y)| x != y).count();
            match before.proof.first() {
                Some(first) => {
                    assert_eq!(changed(first, &proof.proof[0]), 1);
                    assert_eq!(proof.leaf, before.leaf);
                }
                None => assert_eq!(changed(&before.leaf, &proof.leaf), 1),
            }
        }
    }
}
