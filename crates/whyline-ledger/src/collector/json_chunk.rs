//! JSON lines rendered from a batch's APRT records, waiting to be written.
//!
//! The writer renders a batch's lines into its own chunk; a caller that finds the writer's
//! queue full under [`Backpressure::Block`](super::Backpressure::Block) renders its batch's
//! lines into the batch's chunk before it waits (see the `stream` module), and the writer
//! then only writes them. Either way a line is rendered from the decoded record with the
//! latency carried beside it at full precision, byte for byte the caller's `encode_json`.

use whyline_core::{DecisionPath, decode_aprt_prefix, encode_json};

use crate::error::LedgerError;

/// JSON lines rendered but not yet written, with the end of each line.
#[derive(Debug, Default)]
pub(super) struct JsonChunk {
    pub(super) bytes: Vec<u8>,
    /// The end offset in `bytes` of each line (its newline included).
    pub(super) ends: Vec<usize>,
}

impl JsonChunk {
    /// Appends the JSON line of an APRT record, rendered from the decoded record with the
    /// latency at full precision, so the line says exactly what the APRT record and the
    /// caller's trace say (byte for byte the caller's `encode_json`). `index` is the
    /// record's place in the stream, for the error.
    pub(super) fn render<P: DecisionPath>(
        &mut self,
        index: u64,
        record: &[u8],
        latency_ns: u64,
    ) -> Result<(), LedgerError> {
        let encode = |source| LedgerError::Encode {
            record: index,
            source,
        };
        let (mut trace, _) = decode_aprt_prefix::<P>(record, 0).map_err(encode)?;
        trace.latency_ns = latency_ns;
        let start = self.bytes.len();
        if let Err(source) = encode_json(&trace, &mut self.bytes) {
            self.bytes.truncate(start);
            return Err(encode(source));
        }
        self.bytes.push(b'\n');
        self.ends.push(self.bytes.len());
        Ok(())
    }

    /// Lines in the chunk.
    pub(super) fn lines(&self) -> usize {
        self.ends.len()
    }

    /// Lines wholly within the first `bytes` bytes (those a sink took before an error).
    pub(super) fn lines_within(&self, bytes: usize) -> usize {
        self.ends.partition_point(|&end| end <= bytes)
    }

    /// Empties the chunk, keeping its capacity.
    pub(super) fn clear(&mut self) {
        self.bytes.clear();
        self.ends.clear();
    }
}
