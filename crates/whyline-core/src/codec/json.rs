//! The JSON view of a decision trace, shaped as in the seed specification:
//!
//! ```json
//! {"version":"1.0","trace":{"timestamp_ns":1710512347123456789,"sequence":42,
//!  "input_hash":"0xdeadbeef12345678","output":0.87,"latency_ns":234000,
//!  "path":{"type":"LinearPath","contributions":[0.42,-0.15],"intercept":0.32,...}}}
//! ```
//!
//! It is lossless for everything APRT carries, NaN and infinities included (see
//! [`json_float`](super::json_float)), and carries `latency_ns` at full precision. Readers
//! ignore fields they do not know, so newer writers can add fields.

use serde::{Deserialize, Serialize};

use super::json_float as jf;
use super::json_write::JsonOut;
use crate::error::{CoreError, Result};
use crate::path::DecisionPath;
use crate::trace::DecisionTrace;

/// The JSON document version this build writes and reads.
pub const JSON_VERSION: &str = "1.0";

#[derive(Serialize)]
struct DocumentOut<'a, P> {
    version: &'static str,
    trace: TraceOut<'a, P>,
}

#[derive(Serialize)]
struct TraceOut<'a, P> {
    timestamp_ns: u64,
    sequence: u64,
    #[serde(serialize_with = "hex_u64::serialize")]
    input_hash: u64,
    #[serde(with = "jf::one")]
    output: f32,
    latency_ns: u64,
    path: &'a P,
}

#[derive(Deserialize)]
struct DocumentIn<'a, P> {
    /// Borrowed from the text when it has no escapes: no allocation per trace.
    #[serde(borrow)]
    version: std::borrow::Cow<'a, str>,
    trace: TraceIn<P>,
}

#[derive(Deserialize)]
struct TraceIn<P> {
    timestamp_ns: u64,
    sequence: u64,
    #[serde(deserialize_with = "hex_u64::deserialize")]
    input_hash: u64,
    #[serde(with = "jf::one")]
    output: f32,
    latency_ns: u64,
    path: P,
}

mod hex_u64 {
    use serde::{Deserializer, Serializer, de};

    pub(super) fn serialize<S: Serializer>(v: &u64, s: S) -> Result<S::Ok, S::Error> {
        // "0x" and 16 lowercase hex digits, written on the stack (no allocation per trace).
        let mut text = [b'0'; 18];
        text[1] = b'x';
        // 8 bytes always fit 16 digits; only ASCII is written.
        let written = hex::encode_to_slice(v.to_be_bytes(), &mut text[2..]);
        match (written, std::str::from_utf8(&text)) {
            (Ok(()), Ok(text)) => s.serialize_str(text),
            _ => Err(serde::ser::Error::custom("encoding a u64 as hex")),
        }
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
        // A visitor rather than a `Cow<str>`, which serde always reads as an owned string:
        // no allocation per trace.
        struct HexVisitor;
        impl de::Visitor<'_> for HexVisitor {
            type Value = u64;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a hex string like \"0xdeadbeef12345678\"")
            }
            fn visit_str<E: de::Error>(self, text: &str) -> Result<u64, E> {
                let digits = text
                    .strip_prefix("0x")
                    .or_else(|| text.strip_prefix("0X"))
                    .unwrap_or(text);
                u64::from_str_radix(digits, 16)
                    .map_err(|_| E::invalid_value(de::Unexpected::Str(text), &self))
            }
        }
        d.deserialize_str(HexVisitor)
    }
}

/// Appends the JSON view of `trace` to `out` (no trailing newline).
///
/// The keys are written pre-escaped and the numbers with the formatters `serde_json` uses,
/// straight into `out`, so a hot loop that reuses `out` allocates nothing; the bytes are those
/// of [`encode_json_reference`]. The path's part comes from
/// [`DecisionPath::encode_json_path`].
pub fn encode_json<P: DecisionPath>(trace: &DecisionTrace<P>, out: &mut Vec<u8>) -> Result<()> {
    let mut json = JsonOut::new(out);
    json.raw(b"{\"version\":\"");
    json.raw(JSON_VERSION.as_bytes());
    json.raw(b"\",\"trace\":{\"timestamp_ns\":");
    json.u64(trace.timestamp_ns);
    json.raw(b",\"sequence\":");
    json.u64(trace.sequence);
    json.raw(b",\"input_hash\":");
    json.hex_u64(trace.input_hash);
    json.raw(b",\"output\":");
    json.f32(trace.output);
    json.raw(b",\"latency_ns\":");
    json.u64(trace.latency_ns);
    json.raw(b",\"path\":");
    trace.path.encode_json_path(out)?;
    out.extend_from_slice(b"}}");
    Ok(())
}

/// The reference encoder of the JSON view: the serde derive of the document and its path
/// through `serde_json`. [`encode_json`] writes the same bytes faster; tests compare the two.
pub fn encode_json_reference<P: DecisionPath>(
    trace: &DecisionTrace<P>,
    out: &mut Vec<u8>,
) -> Result<()> {
    let doc = DocumentOut {
        version: JSON_VERSION,
        trace: TraceOut {
            timestamp_ns: trace.timestamp_ns,
            sequence: trace.sequence,
            input_hash: trace.input_hash,
            output: trace.output,
            latency_ns: trace.latency_ns,
            path: &trace.path,
        },
    };
    serde_json::to_writer(out, &doc).map_err(|e| json_error(&e))
}

/// The JSON view of a path through its serde derive: the default of
/// [`DecisionPath::encode_json_path`].
pub(crate) fn encode_path_reference<P: serde::Serialize + ?Sized>(
    path: &P,
    out: &mut Vec<u8>,
) -> Result<()> {
    serde_json::to_writer(out, path).map_err(|e| json_error(&e))
}

/// The JSON view of `trace` as a string.
pub fn to_json<P: DecisionPath>(trace: &DecisionTrace<P>) -> Result<String> {
    let mut out = Vec::with_capacity(256);
    encode_json(trace, &mut out)?;
    // serde_json only writes UTF-8.
    String::from_utf8(out).map_err(|e| CoreError::Json {
        line: 0,
        column: 0,
        message: e.to_string(),
    })
}

/// Reads a trace from its JSON view. Unknown fields are ignored; an unknown document
/// version is an error.
pub fn from_json<P: DecisionPath>(text: &str) -> Result<DecisionTrace<P>> {
    // Over a `str`, serde_json checks UTF-8 once for the text instead of once per string.
    trace_from(serde_json::from_str(text).map_err(|e| json_error(&e))?)
}

/// [`from_json`] over bytes (invalid UTF-8 is a [`CoreError::Json`] at its column).
pub fn from_json_slice<P: DecisionPath>(bytes: &[u8]) -> Result<DecisionTrace<P>> {
    match std::str::from_utf8(bytes) {
        Ok(text) => from_json(text),
        // serde_json reports the position and the message.
        Err(_) => trace_from(serde_json::from_slice(bytes).map_err(|e| json_error(&e))?),
    }
}

fn trace_from<P: DecisionPath>(doc: DocumentIn<'_, P>) -> Result<DecisionTrace<P>> {
    if doc.version != JSON_VERSION {
        return Err(CoreError::UnknownJsonVersion {
            found: doc.version.into_owned(),
        });
    }
    let t = doc.trace;
    Ok(DecisionTrace {
        timestamp_ns: t.timestamp_ns,
        sequence: t.sequence,
        input_hash: t.input_hash,
        output: t.output,
        latency_ns: t.latency_ns,
        path: t.path,
    })
}

fn json_error(e: &serde_json::Error) -> CoreError {
    CoreError::Json {
        line: e.line(),
        column: e.column(),
        message: message_without_position(e),
    }
}

/// serde_json's message without the " at line L column C" it appends: the error prints the
/// position once, from its own fields.
pub(crate) fn message_without_position(e: &serde_json::Error) -> String {
    let message = e.to_string();
    let position = format!(" at line {} column {}", e.line(), e.column());
    match message.strip_suffix(&position) {
        Some(message) => message.to_owned(),
        None => message,
    }
}
