//! The sealed input record: a decision's input row and context, encrypted under the key of
//! the subject it concerns, linked to the decision by its entry index and leaf hash. The log
//! holds only ciphertext and a keyed digest of the subject; the chain and the Merkle tree
//! cover the ciphertext, so verification needs no key and destroying the key erases the
//! plaintext without changing a hashed byte.
//!
//! ```text
//! offset size field (little-endian)
//!   0     4   magic "WLSI"
//!   4     1   version, 0x01
//!   5     1   flags: bit 0 set when the input has a subject (bits 1..7 zero)
//!   6     1   algorithm: 0 XChaCha20-Poly1305, 1 AES-256-GCM, 2 AEGIS-256 ([`SealAlgorithm`])
//!   7     1   reserved, zero
//!   8     8   timestamp_ns of the decision (where APRT keeps it: time index, window reads)
//!  16     8   decision_index: the ledger index of the decision's APRT entry
//!  24    32   trace_hash: that entry's leaf hash, SHA-256(0x00 ‖ APRT bytes)
//!  56    32   subject_digest: HMAC-SHA256(store secret, subject); zero without a subject
//!  88     4   key_id: the key-store key that sealed it (0: the log-wide key)
//!  92    24   nonce: a 16-byte per-run prefix, then a 64-bit counter
//! 116     4   n, ciphertext length (plaintext + 16-byte tag)
//! 120     n   ciphertext
//! ```
//!
//! The associated data of the AEAD is bytes 0..120, the whole header: a ciphertext moved to
//! another decision, subject, key or time fails to open. This crate only frames the record;
//! sealing and opening live with the key store in `whyline-ledger`.
//!
//! # Version 2: the sealed input inside its decision's entry
//!
//! A recorder that appends a decision with its input ([`SealedLayout::Trailer`]) writes one
//! entry, `APRT record ‖ WLSI v2 record`, instead of two: one leaf, chain link, Merkle node and
//! frame instead of two, and no leaf hash of the trace to compute before sealing (the entry's
//! own leaf hash covers both). The trailer's header is shorter, since the entry's APRT header
//! already holds the time:
//!
//! ```text
//! offset size field (little-endian)
//!   0     4   magic "WLSI"
//!   4     1   version, 0x02
//!   5     1   flags: bit 0 set when the input has a subject (bits 1..7 zero)
//!   6     1   algorithm (as version 1)
//!   7     1   reserved, zero
//!   8     8   decision_index: the index of the entry that holds it
//!  16    32   subject_digest: HMAC-SHA256(store secret, subject); zero without a subject
//!  48     4   key_id
//!  52    24   nonce
//!  76     4   n, ciphertext length (plaintext + 16-byte tag)
//!  80     n   ciphertext
//! ```
//!
//! The associated data is the trailer's 80-byte header followed by the entry's 44-byte APRT
//! header ([`trailer_aad`]): the ciphertext is bound to its entry index, subject, key and
//! nonce and to the decision's time, sequence, input digest and output. The rest of the
//! trace is bound to it by the entry's leaf hash, which covers both records.
//! [`split_decision_entry`] separates the two; [`crate::from_aprt`] reads the trace of such
//! an entry as of any other.

use crate::codec::aprt::{APRT_HEADER_LEN, AprtHeader};
use crate::error::{CoreError, Result};

/// The magic that opens a sealed input record.
pub const SEALED_INPUT_MAGIC: [u8; 4] = *b"WLSI";
const VERSION: u8 = 1;
const TRAILER_VERSION: u8 = 2;
/// Bytes before the ciphertext; also the associated data.
pub const SEALED_INPUT_HEADER_LEN: usize = 120;
/// Bytes before the ciphertext of a version-2 record (the trailer of a decision entry).
pub const SEALED_TRAILER_HEADER_LEN: usize = 80;
/// Bytes of a trailer's associated data: its header, then the entry's APRT header.
pub const SEALED_TRAILER_AAD_LEN: usize = SEALED_TRAILER_HEADER_LEN + APRT_HEADER_LEN;
/// Bytes of the nonce field (an XChaCha20-Poly1305 nonce; for AES-256-GCM and AEGIS-256,
/// the prefix that derives the key and the counter that is the nonce).
pub const NONCE_LEN: usize = 24;
/// Bytes of the authentication tag at the end of every ciphertext (all three AEADs).
pub const TAG_LEN: usize = 16;
const RECORD: &str = "sealed input";

/// The AEAD that sealed an input: byte 6 of the header. Records written before the byte
/// was defined hold zero there, which is XChaCha20-Poly1305, the cipher they used.
///
/// All take the same 24-byte nonce field: a 16-byte prefix a sealer draws at random once
/// per run, then a 64-bit counter. The prefix selects a per-run key (XChaCha20's HChaCha20
/// subkey; for AES-256-GCM and AEGIS-256, HMAC-SHA256 of the key over
/// [`AES_GCM_KEY_LABEL`] or [`AEGIS_256_KEY_LABEL`] and the prefix). Under it the counter is
/// the 96-bit nonce `0⁴ ‖ counter` (ChaCha20-Poly1305, AES-256-GCM); AEGIS-256 takes the
/// whole field and eight zero bytes as its 256-bit nonce.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SealAlgorithm {
    /// XChaCha20-Poly1305: 256-bit key, 192-bit nonce, 128-bit tag (id 0). Constant time
    /// without AES hardware.
    #[default]
    XChaCha20Poly1305,
    /// AES-256-GCM under a key derived per nonce prefix (id 1): faster than
    /// XChaCha20-Poly1305 where the processor has AES and carry-less multiply instructions.
    Aes256Gcm,
    /// AEGIS-256 (RFC 10032) under a key derived per nonce prefix (id 2), its 256-bit nonce
    /// the nonce field followed by eight zero bytes: the fastest where the processor has AES
    /// instructions (on the Zen 5 host 129 ns to seal a decision's 211-byte input against
    /// 219 ns with AES-256-GCM).
    Aegis256,
}

/// The label of the AES-256-GCM key derivation:
/// `key' = HMAC-SHA256(key, label ‖ nonce[0..16])`.
pub const AES_GCM_KEY_LABEL: &[u8] = b"whyline sealed input AES-256-GCM key";

/// The label of the AEGIS-256 key derivation:
/// `key' = HMAC-SHA256(key, label ‖ nonce[0..16])`.
pub const AEGIS_256_KEY_LABEL: &[u8] = b"whyline sealed input AEGIS-256 key";

impl SealAlgorithm {
    /// The id stored in the header.
    pub fn id(self) -> u8 {
        match self {
            SealAlgorithm::XChaCha20Poly1305 => 0,
            SealAlgorithm::Aes256Gcm => 1,
            SealAlgorithm::Aegis256 => 2,
        }
    }

    /// The algorithm with stored id `id`, `None` when it is not known.
    pub fn from_id(id: u8) -> Option<Self> {
        match id {
            0 => Some(SealAlgorithm::XChaCha20Poly1305),
            1 => Some(SealAlgorithm::Aes256Gcm),
            2 => Some(SealAlgorithm::Aegis256),
            _ => None,
        }
    }

    /// The fastest on this processor: AEGIS-256 where it has AES instructions (x86-64
    /// AES-NI, AArch64 AES), else XChaCha20-Poly1305, which is constant-time in software.
    /// AES-256-GCM is still read, and written when asked for.
    pub fn preferred() -> Self {
        if aes_hardware() {
            SealAlgorithm::Aegis256
        } else {
            SealAlgorithm::XChaCha20Poly1305
        }
    }
}

#[cfg(target_arch = "x86_64")]
fn aes_hardware() -> bool {
    std::arch::is_x86_feature_detected!("aes")
}

#[cfg(target_arch = "aarch64")]
fn aes_hardware() -> bool {
    std::arch::is_aarch64_feature_detected!("aes")
}

#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
fn aes_hardware() -> bool {
    false
}

/// Where a sealed input record sits in the log.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum SealedLayout {
    /// Version 1: an entry of its own after its decision's, naming the decision's entry
    /// index and leaf hash ([`SealedHeader::trace_hash`]).
    #[default]
    OwnEntry,
    /// Version 2: at the end of its decision's own entry; [`SealedHeader::trace_hash`] is
    /// zero (the entry's leaf hash covers the trace and the input together).
    Trailer,
}

/// The header of a sealed input record: everything but the ciphertext.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SealedHeader {
    /// Time of the decision, Unix epoch nanoseconds.
    pub timestamp_ns: u64,
    /// Ledger index of the decision's entry.
    pub decision_index: u64,
    /// The decision entry's leaf hash.
    pub trace_hash: [u8; 32],
    /// Keyed digest of the subject; `None` for the log-wide key.
    pub subject_digest: Option<[u8; 32]>,
    /// Which key sealed it.
    pub key_id: u32,
    /// The AEAD nonce.
    pub nonce: [u8; NONCE_LEN],
    /// The AEAD.
    pub algorithm: SealAlgorithm,
    /// Its own entry (version 1) or the trailer of its decision's entry (version 2).
    pub layout: SealedLayout,
}

impl SealedHeader {
    /// The header's bytes for a ciphertext of `ciphertext_len` bytes: the record's first
    /// [`SEALED_INPUT_HEADER_LEN`] bytes and the AEAD's associated data.
    pub fn to_bytes(&self, ciphertext_len: usize) -> [u8; SEALED_INPUT_HEADER_LEN] {
        let mut out = [0u8; SEALED_INPUT_HEADER_LEN];
        out[..4].copy_from_slice(&SEALED_INPUT_MAGIC);
        out[4] = VERSION;
        out[5] = u8::from(self.subject_digest.is_some());
        out[6] = self.algorithm.id();
        out[8..16].copy_from_slice(&self.timestamp_ns.to_le_bytes());
        out[16..24].copy_from_slice(&self.decision_index.to_le_bytes());
        out[24..56].copy_from_slice(&self.trace_hash);
        out[56..88].copy_from_slice(&self.subject_digest.unwrap_or([0; 32]));
        out[88..92].copy_from_slice(&self.key_id.to_le_bytes());
        out[92..116].copy_from_slice(&self.nonce);
        let len = u32::try_from(ciphertext_len).unwrap_or(u32::MAX);
        out[116..120].copy_from_slice(&len.to_le_bytes());
        out
    }

    /// The header's bytes as a trailer (version 2) for a ciphertext of `ciphertext_len`
    /// bytes; the time and trace hash are not in it (the entry's APRT header has the time).
    pub fn trailer_bytes(&self, ciphertext_len: usize) -> [u8; SEALED_TRAILER_HEADER_LEN] {
        let mut out = [0u8; SEALED_TRAILER_HEADER_LEN];
        out[..4].copy_from_slice(&SEALED_INPUT_MAGIC);
        out[4] = TRAILER_VERSION;
        out[5] = u8::from(self.subject_digest.is_some());
        out[6] = self.algorithm.id();
        out[8..16].copy_from_slice(&self.decision_index.to_le_bytes());
        out[16..48].copy_from_slice(&self.subject_digest.unwrap_or([0; 32]));
        out[48..52].copy_from_slice(&self.key_id.to_le_bytes());
        out[52..76].copy_from_slice(&self.nonce);
        let len = u32::try_from(ciphertext_len).unwrap_or(u32::MAX);
        out[76..80].copy_from_slice(&len.to_le_bytes());
        out
    }
}

/// The associated data of a trailer: its header, then the 44-byte APRT header of the entry
/// that holds it.
pub fn trailer_aad(
    trailer_header: &[u8; SEALED_TRAILER_HEADER_LEN],
    aprt_header: &[u8; APRT_HEADER_LEN],
) -> [u8; SEALED_TRAILER_AAD_LEN] {
    let mut aad = [0u8; SEALED_TRAILER_AAD_LEN];
    aad[..SEALED_TRAILER_HEADER_LEN].copy_from_slice(trailer_header);
    aad[SEALED_TRAILER_HEADER_LEN..].copy_from_slice(aprt_header);
    aad
}

/// A decision entry's payload split into its APRT record and, when the input was sealed
/// with it, the sealed input trailer (a version-2 record). An entry with bytes after its
/// APRT record that are not a trailer's is refused.
///
/// ```
/// use whyline_core::{DecisionTrace, LinearPath, split_decision_entry, to_aprt};
/// let trace = DecisionTrace {
///     timestamp_ns: 1,
///     sequence: 0,
///     input_hash: 0,
///     output: 0.5,
///     latency_ns: 0,
///     path: LinearPath::default(),
/// };
/// let record = to_aprt(&trace);
/// assert_eq!(split_decision_entry(&record)?, (&record[..], None));
/// # Ok::<(), whyline_core::CoreError>(())
/// ```
pub fn split_decision_entry(payload: &[u8]) -> Result<(&[u8], Option<&[u8]>)> {
    let header = AprtHeader::read(payload, 0)?;
    let len = header.record_len();
    let Some((record, rest)) = payload.split_at_checked(len) else {
        return Err(CoreError::Truncated {
            offset: APRT_HEADER_LEN as u64,
            field: "path data",
            needed: header.path_length as usize,
            available: payload.len() - APRT_HEADER_LEN,
        });
    };
    if rest.is_empty() {
        return Ok((record, None));
    }
    if let Err(why) = SealedInput::split_trailer(rest, header.timestamp_ns) {
        if !SealedInput::is_sealed_input(rest) {
            return Err(CoreError::InconsistentLength {
                offset: len as u64,
                detail: format!(
                    "record declares {len} bytes but {} were given, and the {} after it are not a sealed input (WLSI version 2)",
                    payload.len(),
                    rest.len()
                ),
            });
        }
        return Err(at_offset(why, len as u64));
    }
    Ok((record, Some(rest)))
}

/// `error` with its offset moved by `base` (an error inside a trailer, reported from the
/// start of its entry).
fn at_offset(error: CoreError, base: u64) -> CoreError {
    match error {
        CoreError::BadRecord {
            record,
            offset,
            detail,
        } => CoreError::BadRecord {
            record,
            offset: base + offset,
            detail,
        },
        CoreError::UnknownVersion { offset, found } => CoreError::UnknownVersion {
            offset: base + offset,
            found,
        },
        other => other,
    }
}

/// A sealed input record as the log keeps it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SealedInput {
    /// The header.
    pub header: SealedHeader,
    /// The ciphertext (plaintext + tag).
    pub ciphertext: Vec<u8>,
}

impl SealedInput {
    /// Whether `bytes` start like a sealed input record.
    pub fn is_sealed_input(bytes: &[u8]) -> bool {
        bytes.get(..4) == Some(&SEALED_INPUT_MAGIC[..])
    }

    /// The record's bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(SEALED_INPUT_HEADER_LEN + self.ciphertext.len());
        out.extend_from_slice(&self.header.to_bytes(self.ciphertext.len()));
        out.extend_from_slice(&self.ciphertext);
        out
    }

    /// Reads a record; every byte must belong to it.
    ///
    /// ```
    /// use whyline_core::{SealAlgorithm, SealedHeader, SealedInput, SealedLayout};
    /// let record = SealedInput {
    ///     header: SealedHeader {
    ///         timestamp_ns: 5,
    ///         decision_index: 1,
    ///         trace_hash: [7; 32],
    ///         subject_digest: Some([9; 32]),
    ///         key_id: 3,
    ///         nonce: [1; 24],
    ///         algorithm: SealAlgorithm::XChaCha20Poly1305,
    ///         layout: SealedLayout::OwnEntry,
    ///     },
    ///     ciphertext: vec![0xAB; 40],
    /// };
    /// assert_eq!(SealedInput::from_bytes(&record.to_bytes())?, record);
    /// # Ok::<(), whyline_core::CoreError>(())
    /// ```
    pub fn from_bytes(bytes: &[u8]) -> Result<SealedInput> {
        let (header, ciphertext) = Self::split(bytes)?;
        Ok(SealedInput {
            header,
            ciphertext: ciphertext.to_vec(),
        })
    }

    /// Reads the header and borrows the ciphertext of a record in its own entry (version 1).
    pub fn split(bytes: &[u8]) -> Result<(SealedHeader, &[u8])> {
        split_record(bytes, &OWN_ENTRY, 0)
    }

    /// Reads the header and borrows the ciphertext of a trailer (version 2: the bytes after
    /// the APRT record of a decision entry, from [`split_decision_entry`]); `timestamp_ns`
    /// is the decision's, from its APRT header.
    pub fn split_trailer(trailer: &[u8], timestamp_ns: u64) -> Result<(SealedHeader, &[u8])> {
        split_record(trailer, &TRAILER, timestamp_ns)
    }
}

/// Where the fields of one version's header are.
struct Layout {
    layout: SealedLayout,
    version: u8,
    header_len: usize,
    timestamp: Option<usize>,
    decision_index: usize,
    trace_hash: Option<usize>,
    subject_digest: usize,
    key_id: usize,
    nonce: usize,
    length: usize,
}

const OWN_ENTRY: Layout = Layout {
    layout: SealedLayout::OwnEntry,
    version: VERSION,
    header_len: SEALED_INPUT_HEADER_LEN,
    timestamp: Some(8),
    decision_index: 16,
    trace_hash: Some(24),
    subject_digest: 56,
    key_id: 88,
    nonce: 92,
    length: 116,
};

const TRAILER: Layout = Layout {
    layout: SealedLayout::Trailer,
    version: TRAILER_VERSION,
    header_len: SEALED_TRAILER_HEADER_LEN,
    timestamp: None,
    decision_index: 8,
    trace_hash: None,
    subject_digest: 16,
    key_id: 48,
    nonce: 52,
    length: 76,
};

fn split_record<'a>(
    bytes: &'a [u8],
    at: &Layout,
    timestamp_ns: u64,
) -> Result<(SealedHeader, &'a [u8])> {
    let bad = |offset: usize, detail: String| CoreError::BadRecord {
        record: RECORD,
        offset: offset as u64,
        detail,
    };
    let Some((head, ciphertext)) = bytes.split_at_checked(at.header_len) else {
        return Err(bad(
            0,
            format!(
                "{} bytes, the header alone needs {}",
                bytes.len(),
                at.header_len
            ),
        ));
    };
    if head[..4] != SEALED_INPUT_MAGIC {
        return Err(bad(
            0,
            format!("magic {:02x?}, expected \"WLSI\"", &head[..4]),
        ));
    }
    if head[4] != at.version {
        return Err(CoreError::UnknownVersion {
            offset: 4,
            found: head[4],
        });
    }
    let flags = head[5];
    if flags > 1 {
        return Err(bad(5, format!("flags {flags:#04x} set undefined bits")));
    }
    let Some(algorithm) = SealAlgorithm::from_id(head[6]) else {
        return Err(bad(
            6,
            format!(
                "sealing algorithm {} is not known (0: XChaCha20-Poly1305, 1: AES-256-GCM, \
                 2: AEGIS-256)",
                head[6]
            ),
        ));
    };
    if head[7] != 0 {
        return Err(bad(7, "the reserved byte is not zero".into()));
    }
    let array = |from: usize| -> [u8; 32] {
        let mut out = [0u8; 32];
        out.copy_from_slice(&head[from..from + 32]);
        out
    };
    let u64_at = |from: usize| {
        let mut b = [0u8; 8];
        b.copy_from_slice(&head[from..from + 8]);
        u64::from_le_bytes(b)
    };
    let u32_at = |from: usize| {
        let mut b = [0u8; 4];
        b.copy_from_slice(&head[from..from + 4]);
        u32::from_le_bytes(b)
    };
    let digest = array(at.subject_digest);
    let subject_digest = match flags {
        1 => Some(digest),
        _ if digest != [0; 32] => {
            return Err(bad(
                at.subject_digest,
                "a subject digest without the subject flag".into(),
            ));
        }
        _ => None,
    };
    let mut nonce = [0u8; NONCE_LEN];
    nonce.copy_from_slice(&head[at.nonce..at.nonce + NONCE_LEN]);
    let len = u32_at(at.length) as usize;
    if ciphertext.len() != len {
        return Err(bad(
            at.length,
            format!(
                "ciphertext length says {len}, {} bytes follow",
                ciphertext.len()
            ),
        ));
    }
    if len < TAG_LEN {
        return Err(bad(
            at.length,
            format!("ciphertext of {len} bytes is shorter than its {TAG_LEN}-byte tag"),
        ));
    }
    Ok((
        SealedHeader {
            timestamp_ns: at.timestamp.map_or(timestamp_ns, u64_at),
            decision_index: u64_at(at.decision_index),
            trace_hash: at.trace_hash.map_or([0; 32], array),
            subject_digest,
            key_id: u32_at(at.key_id),
            nonce,
            algorithm,
            layout: at.layout,
        },
        ciphertext,
    ))
}
