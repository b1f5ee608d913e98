//! The APRT decoder and the decision-ingest body parser.

use whyline_core::{
    AnyPath, AprtRecords, DecisionTrace, SealedInput, from_aprt, split_decision_entry, to_aprt,
};
use whyline_ledger::{
    Durability, IngestFormat, Ledger, LedgerOptions, MemoryStore, parse_batch, verify_store,
};

use crate::{Outcome, message};

/// Decodes the bytes as one APRT record and as a stream of records (`whyline trace`); a
/// record that decodes re-encodes to bytes that decode to the same encoding. Bytes read as a
/// decision entry whose input is sealed at its end (`APRT ‖ WLSI v2`): the trailer's header
/// writes back to the same bytes.
pub fn aprt(data: &[u8]) -> Outcome {
    // The stream stops at its first error.
    for (_, trace) in AprtRecords::<AnyPath>::new(data).flatten() {
        check_roundtrip(&trace);
    }
    let entry = split_decision_entry(data);
    let trace = from_aprt::<AnyPath>(data);
    // A trace that reads comes from an entry that splits (the converse need not hold: the
    // split checks the framing, not the path data).
    assert!(
        trace.is_err() || entry.is_ok(),
        "the trace reads but the entry does not split: {entry:?}"
    );
    let trace = trace.map_err(|e| message(&e))?;
    check_roundtrip(&trace);
    if let Ok((record, Some(trailer))) = entry {
        assert_eq!(record.len() + trailer.len(), data.len());
        let split = SealedInput::split_trailer(trailer, trace.timestamp_ns);
        assert!(
            split.is_ok(),
            "a trailer the entry took does not read: {split:?}"
        );
        if let Ok((header, ciphertext)) = split {
            let mut again = header.trailer_bytes(ciphertext.len()).to_vec();
            again.extend_from_slice(ciphertext);
            assert_eq!(again, trailer, "the trailer does not write back the same");
        }
    }
    Ok(())
}

/// A decoded trace's encoding decodes, and encodes again to the same bytes.
fn check_roundtrip(trace: &DecisionTrace<AnyPath>) {
    let encoded = to_aprt(trace);
    let again = from_aprt::<AnyPath>(&encoded);
    assert!(
        again.is_ok(),
        "re-encoded record does not decode: {again:?}"
    );
    if let Ok(again) = again {
        assert_eq!(to_aprt(&again), encoded, "APRT encoding is not stable");
    }
}

/// A JSON-lines ingest body (`POST /v1/decisions`, `application/x-ndjson`).
pub fn ingest_json_lines(data: &[u8]) -> Outcome {
    ingest(data, IngestFormat::JsonLines)
}

/// An APRT ingest body (`POST /v1/decisions`, `application/x-aprt`).
pub fn ingest_aprt(data: &[u8]) -> Outcome {
    ingest(data, IngestFormat::Aprt)
}

/// Parses the body as the server's ingest does; an accepted batch is appended to an
/// in-memory ledger, which must then verify intact.
fn ingest(data: &[u8], format: IngestFormat) -> Outcome {
    let batch = parse_batch(data, format).map_err(|e| message(&e))?;
    let options = LedgerOptions::without_checkpoints("fuzz/ingest").durability(Durability::Sync);
    let (mut ledger, _) = Ledger::open(MemoryStore::new(), options).map_err(|e| message(&e))?;
    for payload in batch.payloads() {
        let decoded = from_aprt::<AnyPath>(payload);
        assert!(
            decoded.is_ok(),
            "ingest accepted a payload that does not decode: {decoded:?}"
        );
        ledger.append(payload).map_err(|e| message(&e))?;
    }
    let outcome = verify_store(ledger.store(), None).map_err(|e| message(&e))?;
    assert!(
        outcome.is_intact(),
        "ingested ledger does not verify: {outcome:?}"
    );
    Ok(())
}
