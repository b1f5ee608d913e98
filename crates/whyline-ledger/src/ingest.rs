//! Decision ingest: the body of a batch of traces recorded elsewhere (`POST /v1/decisions`,
//! `whyline append`) read into the canonical APRT payloads the ledger appends.
//!
//! A body is either JSON lines (one trace per line in the JSON codec's shape, as `whyline
//! trace` and the stream collector write them; blank lines are skipped) or concatenated APRT
//! records (`application/x-aprt`). Each record is decoded with the codecs of
//! `whyline-core` and encoded again, so what is appended is always the canonical APRT record
//! (design invariant 2) whatever the sender wrote (reserved bytes, say).
//!
//! # What ingest accepts
//!
//! Decision records only. The other entry kinds are the server's own to write: the model
//! record says which model makes the decisions that follow (a remote client must not change
//! it under the server's models), alerts come from the server's Andon rules, and the evidence
//! kinds need keys (sealed inputs) or point at decisions by index (outcomes, erasures), which
//! a client that has not seen the receipts cannot know.
//!
//! # What is refused
//!
//! A batch is all or nothing: the first bad record refuses the whole batch with
//! [`LedgerError::Ingest`], naming the record (1-based, counting records, not blank lines)
//! and the byte offset where it starts in the body, with an [`IngestErrorKind`] saying what
//! is wrong:
//!
//! | refused | kind |
//! |---|---|
//! | a line that is not a JSON trace (syntax, a missing field, an unknown path `type`) | [`IngestErrorKind::Json`] |
//! | an unknown JSON document version | [`IngestErrorKind::Codec`] ([`CoreError::UnknownJsonVersion`]) |
//! | an APRT record the codec rejects (bad magic, unknown version or path type, truncated, inconsistent lengths, invalid fields) | [`IngestErrorKind::Codec`] |
//! | a NaN output (a decision without an output; infinities are kept) | [`IngestErrorKind::NanOutput`] |
//! | a record larger than a ledger entry ([`MAX_PAYLOAD`]) | [`IngestErrorKind::PayloadSize`] |
//!
//! An empty body (or one of blank lines only) is a batch of no records.

use whyline_core::{AnyPath, CoreError, DecisionTrace, decode_aprt_prefix, encode_aprt};

use crate::error::{LedgerError, Result};
use crate::frame::MAX_PAYLOAD;

/// The encoding of an ingest body.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum IngestFormat {
    /// One JSON trace per line (`application/x-ndjson`, `application/jsonl`,
    /// `application/json`); blank lines are skipped.
    JsonLines,
    /// Concatenated APRT records (`application/x-aprt`).
    Aprt,
}

impl IngestFormat {
    /// The format a `Content-Type` names (parameters such as `; charset=utf-8` and case are
    /// ignored); `None` for a media type ingest does not read.
    ///
    /// ```
    /// use whyline_ledger::IngestFormat;
    /// assert_eq!(IngestFormat::from_media_type("application/x-aprt"), Some(IngestFormat::Aprt));
    /// assert_eq!(
    ///     IngestFormat::from_media_type("application/x-ndjson; charset=utf-8"),
    ///     Some(IngestFormat::JsonLines)
    /// );
    /// assert_eq!(IngestFormat::from_media_type("text/csv"), None);
    /// ```
    pub fn from_media_type(content_type: &str) -> Option<IngestFormat> {
        let essence = content_type.split(';').next().unwrap_or_default().trim();
        let is = |name: &str| essence.eq_ignore_ascii_case(name);
        if is("application/x-aprt") {
            Some(IngestFormat::Aprt)
        } else if is("application/x-ndjson")
            || is("application/jsonl")
            || is("application/json-lines")
            || is("application/json")
        {
            Some(IngestFormat::JsonLines)
        } else {
            None
        }
    }
}

/// What is wrong with one record of an ingest body (see the module docs for the table).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IngestErrorKind {
    /// The line is not a JSON trace.
    #[error("not a JSON trace: column {column}: {message}")]
    Json {
        /// Column (1-based, in bytes) inside the line.
        column: usize,
        /// What the JSON reader said.
        message: String,
    },
    /// The codec refused the record (APRT errors carry offsets in the body).
    #[error(transparent)]
    Codec(CoreError),
    /// The decision's output is NaN.
    #[error("the output is NaN (a decision must have an output)")]
    NanOutput,
    /// The record's APRT encoding is larger than a ledger entry.
    #[error("the APRT record is {found} bytes, a ledger entry holds at most {limit}")]
    PayloadSize {
        /// Bytes of the APRT record.
        found: usize,
        /// The largest entry.
        limit: usize,
    },
}

impl From<CoreError> for IngestErrorKind {
    fn from(error: CoreError) -> Self {
        match error {
            // A line is one JSON document, whose own line is always 1.
            CoreError::Json {
                column, message, ..
            } => IngestErrorKind::Json { column, message },
            error => IngestErrorKind::Codec(error),
        }
    }
}

/// The canonical APRT payloads of a batch, back to back in one buffer (one allocation per
/// batch, not per record), in the order of the body.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IngestBatch {
    bytes: Vec<u8>,
    /// End of each payload in `bytes`.
    ends: Vec<usize>,
}

impl IngestBatch {
    /// An empty batch.
    pub fn new() -> IngestBatch {
        IngestBatch::default()
    }

    /// Records in the batch.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// Whether the batch holds no record.
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// Empties the batch, keeping its buffers.
    pub fn clear(&mut self) {
        self.bytes.clear();
        self.ends.clear();
    }

    /// The payload of record `i` (0-based).
    pub fn get(&self, i: usize) -> Option<&[u8]> {
        let end = *self.ends.get(i)?;
        let start = match i.checked_sub(1) {
            Some(previous) => *self.ends.get(previous)?,
            None => 0,
        };
        self.bytes.get(start..end)
    }

    /// The payloads in order (what [`LedgerCollector::append_batch`] takes).
    ///
    /// [`LedgerCollector::append_batch`]: crate::LedgerCollector::append_batch
    pub fn payloads(&self) -> Payloads<'_> {
        Payloads {
            bytes: &self.bytes,
            ends: self.ends.iter(),
            start: 0,
        }
    }

    /// The payloads back to back: a valid `application/x-aprt` body.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Appends one record: the trace's canonical APRT encoding, after the checks every
    /// record gets (NaN output, entry size).
    fn push(&mut self, trace: &DecisionTrace<AnyPath>) -> Result<(), IngestErrorKind> {
        if trace.output.is_nan() {
            return Err(IngestErrorKind::NanOutput);
        }
        let start = self.bytes.len();
        let found = encode_aprt(trace, &mut self.bytes);
        if found > MAX_PAYLOAD {
            self.bytes.truncate(start);
            return Err(IngestErrorKind::PayloadSize {
                found,
                limit: MAX_PAYLOAD,
            });
        }
        self.ends.push(self.bytes.len());
        Ok(())
    }
}

/// The payloads of an [`IngestBatch`], in order.
#[derive(Clone, Debug)]
pub struct Payloads<'a> {
    bytes: &'a [u8],
    ends: std::slice::Iter<'a, usize>,
    start: usize,
}

impl<'a> Iterator for Payloads<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        let end = *self.ends.next()?;
        let payload = self.bytes.get(self.start..end);
        self.start = end;
        payload
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.ends.size_hint()
    }
}

impl ExactSizeIterator for Payloads<'_> {}

/// Reads an ingest body into the canonical APRT payloads to append, or refuses it whole at
/// its first bad record (see the module docs).
///
/// ```
/// use whyline_core::{DecisionTrace, LinearPath, to_json};
/// use whyline_ledger::{IngestFormat, LedgerError, parse_batch};
///
/// let trace = DecisionTrace {
///     timestamp_ns: 1_710_512_347_123_456_789,
///     sequence: 7,
///     input_hash: 42,
///     output: 0.87,
///     latency_ns: 2_000,
///     path: LinearPath { contributions: vec![0.42, 0.28], intercept: 0.17, ..Default::default() },
/// };
/// let line = to_json(&trace)?;
/// let body = format!("{line}\n\n{line}\n");
/// let batch = parse_batch(body.as_bytes(), IngestFormat::JsonLines)?;
/// assert_eq!(batch.len(), 2);
/// assert_eq!(batch.get(0), Some(&whyline_core::to_aprt(&trace)[..]));
///
/// // The third record is not a trace: the batch is refused, naming it and where it starts.
/// let body = format!("{line}\n{line}\n{{\"version\":\"1.0\"}}\n");
/// let error = parse_batch(body.as_bytes(), IngestFormat::JsonLines).unwrap_err();
/// assert!(matches!(error, LedgerError::Ingest { record: 3, offset, .. } if offset == 2 * (line.len() as u64 + 1)));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn parse_batch(body: &[u8], format: IngestFormat) -> Result<IngestBatch> {
    let mut batch = IngestBatch::new();
    parse_batch_into(body, format, &mut batch)?;
    Ok(batch)
}

/// [`parse_batch`] into a batch whose buffers are reused (it is cleared first). On error
/// the batch is left empty.
pub fn parse_batch_into(body: &[u8], format: IngestFormat, batch: &mut IngestBatch) -> Result<()> {
    batch.clear();
    let parsed = match format {
        IngestFormat::JsonLines => parse_json_lines(body, batch),
        IngestFormat::Aprt => parse_aprt(body, batch),
    };
    if parsed.is_err() {
        batch.clear();
    }
    parsed
}

fn refused(record: usize, offset: usize, kind: IngestErrorKind) -> LedgerError {
    LedgerError::Ingest {
        record: record as u64,
        offset: offset as u64,
        kind,
    }
}

fn parse_json_lines(body: &[u8], batch: &mut IngestBatch) -> Result<()> {
    batch.ends.reserve(body.len() / 256);
    batch.bytes.reserve(body.len() / 2);
    let mut record = 0;
    let mut start = 0;
    while start < body.len() {
        let rest = body.get(start..).unwrap_or_default();
        let end = memchr::memchr(b'\n', rest).map_or(body.len(), |n| start + n);
        let line = body.get(start..end).unwrap_or_default();
        let line_start = start;
        start = end + 1;
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        record += 1;
        decode_json_record(line, batch).map_err(|kind| refused(record, line_start, kind))?;
    }
    Ok(())
}

fn parse_aprt(body: &[u8], batch: &mut IngestBatch) -> Result<()> {
    batch.ends.reserve(body.len() / 128);
    batch.bytes.reserve(body.len());
    let mut record = 0;
    let mut start = 0;
    while start < body.len() {
        record += 1;
        let rest = body.get(start..).unwrap_or_default();
        let decoded = decode_aprt_prefix::<AnyPath>(rest, start as u64)
            .map_err(IngestErrorKind::Codec)
            .and_then(|(trace, len)| batch.push(&trace).map(|()| len));
        let len = decoded.map_err(|kind| refused(record, start, kind))?;
        start += len;
    }
    Ok(())
}

/// Decodes one JSON line (a trace in the JSON codec's shape) and appends its canonical APRT
/// record to `batch`: the per-record step of [`parse_batch`], for callers that read a stream
/// line by line (`whyline append`) and number lines themselves.
pub fn decode_json_record(line: &[u8], batch: &mut IngestBatch) -> Result<(), IngestErrorKind> {
    let trace = whyline_core::from_json_slice::<AnyPath>(line)?;
    batch.push(&trace)
}
