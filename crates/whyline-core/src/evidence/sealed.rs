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
//!   6     1   algorithm: 0 XChaCha20-Poly1305 (the only one so far; [`SealAlgorithm`])
//!   7     1   reserved, zero
//!   8     8   timestamp_ns of the decision (where APRT keeps it: time index, window reads)
//!  16     8   decision_index: the ledger index of the decision's APRT entry
//!  24    32   trace_hash: that entry's leaf hash, SHA-256(0x00 ‖ APRT bytes)
//!  56    32   subject_digest: HMAC-SHA256(store secret, subject); zero without a subject
//!  88     4   key_id: the key-store key that sealed it (0: the log-wide key)
//!  92    24   nonce (24 bytes for XChaCha20-Poly1305)
//! 116     4   n, ciphertext length (plaintext + 16-byte tag)
//! 120     n   ciphertext
//! ```
//!
//! The associated data of the AEAD is bytes 0..120, the whole header: a ciphertext moved to
//! another decision, subject, key or time fails to open. This crate only frames the record;
//! sealing and opening live with the key store in `whyline-ledger`.

use crate::error::{CoreError, Result};

/// The magic that opens a sealed input record.
pub const SEALED_INPUT_MAGIC: [u8; 4] = *b"WLSI";
const VERSION: u8 = 1;
/// Bytes before the ciphertext; also the associated data.
pub const SEALED_INPUT_HEADER_LEN: usize = 120;
/// Bytes of an XChaCha20-Poly1305 nonce.
pub const NONCE_LEN: usize = 24;
/// Bytes of the Poly1305 tag at the end of every ciphertext.
pub const TAG_LEN: usize = 16;
const RECORD: &str = "sealed input";

/// The AEAD that sealed an input: byte 6 of the header. Records written before the byte
/// was defined hold zero there, which is XChaCha20-Poly1305, the cipher they used.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SealAlgorithm {
    /// XChaCha20-Poly1305: 256-bit key, 192-bit nonce, 128-bit tag (id 0).
    #[default]
    XChaCha20Poly1305,
}

impl SealAlgorithm {
    /// The id stored in the header.
    pub fn id(self) -> u8 {
        match self {
            SealAlgorithm::XChaCha20Poly1305 => 0,
        }
    }

    /// The algorithm with stored id `id`, `None` when it is not known.
    pub fn from_id(id: u8) -> Option<Self> {
        match id {
            0 => Some(SealAlgorithm::XChaCha20Poly1305),
            _ => None,
        }
    }
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
    /// use whyline_core::{SealAlgorithm, SealedHeader, SealedInput};
    /// let record = SealedInput {
    ///     header: SealedHeader {
    ///         timestamp_ns: 5,
    ///         decision_index: 1,
    ///         trace_hash: [7; 32],
    ///         subject_digest: Some([9; 32]),
    ///         key_id: 3,
    ///         nonce: [1; 24],
    ///         algorithm: SealAlgorithm::XChaCha20Poly1305,
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

    /// Reads the header and borrows the ciphertext.
    pub fn split(bytes: &[u8]) -> Result<(SealedHeader, &[u8])> {
        let bad = |offset: u64, detail: String| CoreError::BadRecord {
            record: RECORD,
            offset,
            detail,
        };
        let Some(head) = bytes.get(..SEALED_INPUT_HEADER_LEN) else {
            return Err(bad(
                0,
                format!(
                    "{} bytes, the header alone needs {SEALED_INPUT_HEADER_LEN}",
                    bytes.len()
                ),
            ));
        };
        if head[..4] != SEALED_INPUT_MAGIC {
            return Err(bad(
                0,
                format!("magic {:02x?}, expected \"WLSI\"", &head[..4]),
            ));
        }
        if head[4] != VERSION {
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
                    "sealing algorithm {} is not known (0: XChaCha20-Poly1305)",
                    head[6]
                ),
            ));
        };
        if head[7] != 0 {
            return Err(bad(7, "the reserved byte is not zero".into()));
        }
        let u64_at = |at: usize| {
            let mut b = [0u8; 8];
            b.copy_from_slice(&head[at..at + 8]);
            u64::from_le_bytes(b)
        };
        let mut trace_hash = [0u8; 32];
        trace_hash.copy_from_slice(&head[24..56]);
        let mut digest = [0u8; 32];
        digest.copy_from_slice(&head[56..88]);
        let subject_digest = match flags {
            1 => Some(digest),
            _ if digest != [0; 32] => {
                return Err(bad(56, "a subject digest without the subject flag".into()));
            }
            _ => None,
        };
        let mut key_id = [0u8; 4];
        key_id.copy_from_slice(&head[88..92]);
        let mut nonce = [0u8; NONCE_LEN];
        nonce.copy_from_slice(&head[92..116]);
        let mut len = [0u8; 4];
        len.copy_from_slice(&head[116..120]);
        let len = u32::from_le_bytes(len) as usize;
        let ciphertext = &bytes[SEALED_INPUT_HEADER_LEN..];
        if ciphertext.len() != len {
            return Err(bad(
                116,
                format!(
                    "ciphertext length says {len}, {} bytes follow",
                    ciphertext.len()
                ),
            ));
        }
        if len < TAG_LEN {
            return Err(bad(
                116,
                format!("ciphertext of {len} bytes is shorter than its {TAG_LEN}-byte tag"),
            ));
        }
        Ok((
            SealedHeader {
                timestamp_ns: u64_at(8),
                decision_index: u64_at(16),
                trace_hash,
                subject_digest,
                key_id: u32::from_le_bytes(key_id),
                nonce,
                algorithm,
            },
            ciphertext,
        ))
    }
}
