//! APRT v1: the canonical binary record of a decision trace.
//!
//! ```text
//! offset size field
//!  0      4   magic 0x41505254, the bytes "APRT"
//!  4      1   version, 0x01
//!  5      1   path type (0 Linear, 1 Tree, 2 Forest, 3 Knn, 4 Neural; others reserved)
//!  6      2   reserved, written as 0 (readers ignore it)
//!  8      8   timestamp_ns  u64 LE, Unix epoch nanoseconds (UTC)
//! 16      8   sequence      u64 LE
//! 24      8   input_hash    u64 LE
//! 32      4   output        f32 LE
//! 36      4   latency       u32 LE, whole microseconds (nanoseconds / 1000, saturating)
//! 40      4   path_length   u32 LE, bytes of path data that follow
//! 44      n   path data, laid out per path type (see each path type's docs)
//! ```
//!
//! The hash chain and Merkle leaves hash exactly these bytes (design invariant 2).

use crate::error::{CoreError, Result};
use crate::path::{DecisionPath, PathType};
use crate::trace::DecisionTrace;

/// The four magic bytes that open every APRT record: `"APRT"`.
pub const APRT_MAGIC: [u8; 4] = *b"APRT";
/// The APRT version this build writes and reads.
pub const APRT_VERSION: u8 = 1;
/// Size of the fixed APRT header, before the path data.
pub const APRT_HEADER_LEN: usize = 44;

/// The fixed header of an APRT record, as read from the first 44 bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AprtHeader {
    /// Path type of the record.
    pub path_type: PathType,
    /// Nanoseconds since the Unix epoch.
    pub timestamp_ns: u64,
    /// Sequence number.
    pub sequence: u64,
    /// Input digest.
    pub input_hash: u64,
    /// Output bits.
    pub output: u32,
    /// Latency in microseconds.
    pub latency_us: u32,
    /// Bytes of path data after the header.
    pub path_length: u32,
}

impl AprtHeader {
    /// Total bytes of the record this header opens.
    pub fn record_len(&self) -> usize {
        APRT_HEADER_LEN + self.path_length as usize
    }

    /// The 44 bytes of this header as [`encode_aprt`] writes them (reserved bytes 0).
    pub fn to_bytes(&self) -> [u8; APRT_HEADER_LEN] {
        let mut header = [0u8; APRT_HEADER_LEN];
        header[0..4].copy_from_slice(&APRT_MAGIC);
        header[4] = APRT_VERSION;
        header[5] = self.path_type.to_byte();
        header[8..16].copy_from_slice(&self.timestamp_ns.to_le_bytes());
        header[16..24].copy_from_slice(&self.sequence.to_le_bytes());
        header[24..32].copy_from_slice(&self.input_hash.to_le_bytes());
        header[32..36].copy_from_slice(&self.output.to_le_bytes());
        header[36..40].copy_from_slice(&self.latency_us.to_le_bytes());
        header[40..44].copy_from_slice(&self.path_length.to_le_bytes());
        header
    }

    /// Reads and checks the header at the start of `bytes` (which sit at `offset` in the
    /// caller's stream). Checks magic, version and path type; not the path data.
    pub fn read(bytes: &[u8], offset: u64) -> Result<AprtHeader> {
        let Some(head) = bytes.first_chunk::<APRT_HEADER_LEN>() else {
            return Err(CoreError::Truncated {
                offset,
                field: "APRT header",
                needed: APRT_HEADER_LEN,
                available: bytes.len(),
            });
        };
        let magic = [head[0], head[1], head[2], head[3]];
        if magic != APRT_MAGIC {
            return Err(CoreError::BadMagic {
                offset,
                found: u32::from_be_bytes(magic),
            });
        }
        if head[4] != APRT_VERSION {
            return Err(CoreError::UnknownVersion {
                offset: offset + 4,
                found: head[4],
            });
        }
        let path_type = PathType::from_byte(head[5]).ok_or(CoreError::UnknownPathType {
            offset: offset + 5,
            found: head[5],
        })?;
        Ok(AprtHeader {
            path_type,
            timestamp_ns: u64::from_le_bytes(array_at(head, 8)),
            sequence: u64::from_le_bytes(array_at(head, 16)),
            input_hash: u64::from_le_bytes(array_at(head, 24)),
            output: u32::from_le_bytes(array_at(head, 32)),
            latency_us: u32::from_le_bytes(array_at(head, 36)),
            path_length: u32::from_le_bytes(array_at(head, 40)),
        })
    }
}

/// `N` bytes of the header from `at`; with constant arguments the bounds checks fold away.
#[inline(always)]
fn array_at<const N: usize>(head: &[u8; APRT_HEADER_LEN], at: usize) -> [u8; N] {
    let mut out = [0u8; N];
    out.copy_from_slice(&head[at..at + N]);
    out
}

/// Latency as APRT stores it: whole microseconds, saturating at `u32::MAX`.
pub fn latency_ns_to_us(latency_ns: u64) -> u32 {
    u32::try_from(latency_ns / 1_000).unwrap_or(u32::MAX)
}

/// Appends the APRT record of `trace` to `out` and returns the record's length.
///
/// Allocation-free when `out` already has the capacity (reuse one buffer: `out.clear()`).
/// Latency is stored in whole microseconds (see [`latency_ns_to_us`]).
pub fn encode_aprt<P: DecisionPath>(trace: &DecisionTrace<P>, out: &mut Vec<u8>) -> usize {
    let start = out.len();
    // The header is written last, once the path length is known.
    out.resize(start + APRT_HEADER_LEN, 0);
    trace.path.encode_path(out);
    let header = AprtHeader {
        path_type: trace.path.path_type(),
        timestamp_ns: trace.timestamp_ns,
        sequence: trace.sequence,
        input_hash: trace.input_hash,
        output: trace.output.to_bits(),
        latency_us: latency_ns_to_us(trace.latency_ns),
        path_length: u32::try_from(out.len() - start - APRT_HEADER_LEN).unwrap_or(u32::MAX),
    };
    out[start..start + APRT_HEADER_LEN].copy_from_slice(&header.to_bytes());
    out.len() - start
}

/// The APRT record of `trace` as a new vector.
pub fn to_aprt<P: DecisionPath>(trace: &DecisionTrace<P>) -> Vec<u8> {
    let mut out = Vec::with_capacity(128);
    encode_aprt(trace, &mut out);
    out
}

/// Decodes the APRT record at the start of `bytes` and returns it with its length, so a
/// caller can walk a file of concatenated records. Trailing bytes after the record are left
/// for the caller.
///
/// `offset` is the position of `bytes[0]` in the caller's stream; errors report absolute
/// offsets. Never panics, whatever the bytes.
pub fn decode_aprt_prefix<P: DecisionPath>(
    bytes: &[u8],
    offset: u64,
) -> Result<(DecisionTrace<P>, usize)> {
    let header = AprtHeader::read(bytes, offset)?;
    let path_len = header.path_length as usize;
    let available = bytes.len() - APRT_HEADER_LEN;
    if path_len > available {
        return Err(CoreError::Truncated {
            offset: offset + APRT_HEADER_LEN as u64,
            field: "path data",
            needed: path_len,
            available,
        });
    }
    let path_bytes = &bytes[APRT_HEADER_LEN..APRT_HEADER_LEN + path_len];
    let path = P::decode_path(
        header.path_type,
        path_bytes,
        offset + APRT_HEADER_LEN as u64,
    )?;
    let trace = DecisionTrace {
        timestamp_ns: header.timestamp_ns,
        sequence: header.sequence,
        input_hash: header.input_hash,
        output: f32::from_bits(header.output),
        latency_ns: u64::from(header.latency_us) * 1_000,
        path,
    };
    Ok((trace, header.record_len()))
}

/// Decodes exactly one APRT record: bytes after it are an inconsistent length, unless they
/// are the sealed input a ledger keeps at the end of its decision's entry (a WLSI version-2
/// record, [`split_decision_entry`](crate::split_decision_entry)), so the trace of any
/// decision entry reads the same way.
pub fn from_aprt<P: DecisionPath>(bytes: &[u8]) -> Result<DecisionTrace<P>> {
    let (trace, len) = decode_aprt_prefix(bytes, 0)?;
    if len != bytes.len() {
        let trailing = bytes.get(len..).unwrap_or_default();
        if !crate::SealedInput::is_sealed_input(trailing) {
            return Err(CoreError::InconsistentLength {
                offset: len as u64,
                detail: format!(
                    "record declares {len} bytes but {} were given ({} trailing)",
                    bytes.len(),
                    bytes.len() - len
                ),
            });
        }
        crate::split_decision_entry(bytes)?;
    }
    Ok(trace)
}

/// Iterates over the records of a buffer of concatenated APRT records.
///
/// Yields each record with its byte offset; after the first error it yields that error and
/// stops, since the following bytes cannot be framed.
pub struct AprtRecords<'a, P> {
    bytes: &'a [u8],
    position: usize,
    failed: bool,
    _path: std::marker::PhantomData<fn() -> P>,
}

impl<'a, P: DecisionPath> AprtRecords<'a, P> {
    /// Records of `bytes`, the first at offset 0.
    pub fn new(bytes: &'a [u8]) -> Self {
        Self {
            bytes,
            position: 0,
            failed: false,
            _path: std::marker::PhantomData,
        }
    }
}

impl<P: DecisionPath> Iterator for AprtRecords<'_, P> {
    type Item = Result<(u64, DecisionTrace<P>)>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.position >= self.bytes.len() {
            return None;
        }
        let offset = self.position as u64;
        match decode_aprt_prefix(&self.bytes[self.position..], offset) {
            Ok((trace, len)) => {
                self.position += len;
                Some(Ok((offset, trace)))
            }
            Err(error) => {
                self.failed = true;
                Some(Err(error))
            }
        }
    }
}
