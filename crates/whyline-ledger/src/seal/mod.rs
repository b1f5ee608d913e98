//! Sealed inputs: a decision's input row and context encrypted under its subject's key, so
//! the log can say what the model saw while destroying one key erases one subject's data
//! without changing a hashed byte.
//!
//! # The cipher
//!
//! AEGIS-256 (algorithm id 2) where the processor has AES instructions, else
//! XChaCha20-Poly1305 (id 0) ([`SealAlgorithm::preferred`]); AES-256-GCM (id 1) when asked
//! for, and what the preferred AEAD was before AEGIS-256. Every reader opens all three. On
//! the Zen 5 host, `ring`'s ChaCha20-Poly1305 costs ~235 ns even for an empty message,
//! AES-256-GCM ~100 ns and AEGIS-256 ~75 ns for a 109-byte input. All use the nonce field
//! the same way.
//!
//! XChaCha20-Poly1305: a 256-bit key, a 192-bit nonce and a 128-bit tag; algorithm id 0 in
//! the record header ([`SealAlgorithm`], `docs/ledger-format.md`). The long nonce is why:
//! nonces can be drawn at random per process without a counter that must survive restarts (a
//! repeated nonce under one key would leak the XOR of two plaintexts and the Poly1305 key).
//! Each [`Sealer`] draws a random 128-bit prefix once and counts the last 64 bits, so nonces
//! never repeat within a run and collide across runs only with probability about
//! `runs² / 2¹²⁹`, with no system call per decision.
//!
//! Because the prefix is fixed for a run, the HChaCha20 subkey of each subject's key is
//! computed once per run and kept with the subject; each input
//! then costs one ChaCha20-Poly1305 (`ring`'s assembly) over ~270 bytes. Erasing a subject
//! through its sealer ([`Sealer::erase`]) drops that cached subkey with the key.
//!
//! # Where a sealed input goes
//!
//! An input recorded with its decision ([`crate::LedgerCollector::append_with_input`]) is
//! sealed as the trailer of the decision's own entry ([`Sealer::seal_trailer_into`], WLSI
//! version 2): the associated data is the trailer's header and the decision's APRT header.
//! An input recorded on its own ([`crate::LedgerCollector::append_input`]) is an entry of
//! its own ([`Sealer::seal_into`], version 1) whose associated data is its header
//! ([`SealedHeader::to_bytes`]): the decision's entry index and leaf hash, the subject
//! digest, the key id, the nonce and the time. Either way a ciphertext copied to another
//! decision or subject fails to open.
//!
//! # Reading
//!
//! [`open_sealed`] turns one sealed input (an entry of its own, or a decision entry that
//! ends with one) into a [`RecordedInput`]: the plaintext, or
//! [`RecordedInput::Erased`] when the subject's key was destroyed, or
//! [`RecordedInput::Unreadable`] with the reason. [`open_inputs`] does it for entries already
//! read, [`read_inputs`] for a time window of a ledger directory.

mod cipher;
mod key_store;
mod open;
mod ops;

use std::collections::HashMap;
use std::path::Path;
use whyline_core::{
    APRT_HEADER_LEN, ContextValue, InputEvidence, NONCE_LEN, SEALED_INPUT_HEADER_LEN,
    SealAlgorithm, SealedHeader, SealedLayout, TAG_LEN, encode_input, trailer_aad,
};

use cipher::PrefixCipher;

use crate::error::{LedgerError, Result};
use crate::ledger::StoredEntry;
use crate::reader::LedgerReader;
use crate::segment::SegmentStore;

pub use key_store::{KEY_STORE_FILE, Key, KeyLookup, KeyStore};
pub use open::{InputOpener, OpenedRow, open_sealed};
pub use ops::{append_erasure, append_outcome, check_decision};

/// Seals inputs for one writer: the key store, a cache of subjects already seen, and the
/// nonce counter. See the module docs.
pub struct Sealer {
    keys: KeyStore,
    algorithm: SealAlgorithm,
    log_cipher: PrefixCipher,
    /// The subjects seen, their digest, key id and cipher; `subject_slots` finds them, and
    /// `last_subject` is the slot of the last one used (a run of inputs usually concerns one
    /// subject: no hashing then).
    subjects: Vec<(String, Key, u32, PrefixCipher)>,
    subject_slots: HashMap<String, usize>,
    last_subject: usize,
    nonce_prefix: [u8; 16],
    counter: u64,
    plaintext: Vec<u8>,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sealer")
            .field("keys", &self.keys)
            .field("sealed", &self.counter)
            .finish_non_exhaustive()
    }
}

impl Sealer {
    /// A sealer over `keys`, with a fresh random nonce prefix (from the key store's source:
    /// the operating system, or a simulation's seed), sealing with the AEAD this processor
    /// runs fastest ([`SealAlgorithm::preferred`]).
    pub fn new(keys: KeyStore) -> Result<Self> {
        Self::with_algorithm(keys, SealAlgorithm::preferred())
    }

    /// [`Sealer::new`] sealing with `algorithm` (every reader opens both).
    pub fn with_algorithm(mut keys: KeyStore, algorithm: SealAlgorithm) -> Result<Self> {
        let mut nonce_prefix = [0u8; 16];
        keys.fill_random(&mut nonce_prefix, "a nonce prefix")?;
        Ok(Sealer {
            log_cipher: PrefixCipher::new(&keys.log_key(), &nonce_prefix, algorithm)?,
            keys,
            algorithm,
            subjects: Vec::new(),
            subject_slots: HashMap::new(),
            last_subject: 0,
            nonce_prefix,
            counter: 0,
            plaintext: Vec::with_capacity(256),
        })
    }

    /// The AEAD it seals with.
    pub fn algorithm(&self) -> SealAlgorithm {
        self.algorithm
    }

    /// The key store.
    pub fn key_store(&self) -> &KeyStore {
        &self.keys
    }

    /// Resolves the key of `subject` (made and saved on first use) so that sealing its next
    /// input cannot fail on the key store. [`LedgerError::SubjectErased`] for an erased
    /// subject.
    pub fn prepare(&mut self, subject: Option<&str>) -> Result<()> {
        if let Some(subject) = subject {
            self.subject_slot(subject)?;
        }
        Ok(())
    }

    /// The slot of `subject`'s cipher, made on first use.
    fn subject_slot(&mut self, subject: &str) -> Result<usize> {
        if self
            .subjects
            .get(self.last_subject)
            .is_some_and(|(name, ..)| name == subject)
        {
            return Ok(self.last_subject);
        }
        let slot = match self.subject_slots.get(subject) {
            Some(&slot) => slot,
            None => {
                let (digest, id, key) = self.keys.key_for_subject(subject)?;
                let cipher = PrefixCipher::new(&key, &self.nonce_prefix, self.algorithm)?;
                self.subjects.push((subject.to_owned(), digest, id, cipher));
                let slot = self.subjects.len() - 1;
                self.subject_slots.insert(subject.to_owned(), slot);
                slot
            }
        };
        self.last_subject = slot;
        Ok(slot)
    }

    /// Erases `subject` in this sealer's key store ([`KeyStore::erase`]: the key leaves the
    /// file) and drops the subject's cached cipher, so nothing here can seal or open its
    /// inputs any more. Returns the digest and whether a key existed.
    pub fn erase(&mut self, subject: &str, erased_ns: u64) -> Result<(Key, bool)> {
        let erased = self.keys.erase(subject, erased_ns)?;
        if let Some(slot) = self.subject_slots.remove(subject) {
            self.subjects.swap_remove(slot);
            if let Some((moved, ..)) = self.subjects.get(slot) {
                self.subject_slots.insert(moved.clone(), slot);
            }
        }
        Ok(erased)
    }

    /// Whether a cipher for `subject` is cached (tests of [`Sealer::erase`]).
    pub fn caches_subject(&self, subject: &str) -> bool {
        self.subject_slots.contains_key(subject)
    }

    /// Seals `input` and appends the record's bytes to `out`: a record of its own entry
    /// (version 1) naming `input.decision_index` and `input.trace_hash`.
    pub fn seal_into(&mut self, input: &InputEvidence<'_>, out: &mut Vec<u8>) -> Result<()> {
        self.seal_with(input, SealedLayout::OwnEntry, None, out)
    }

    /// Seals `input` as the trailer of its decision's entry (version 2, see
    /// [`whyline_core::SealedInput::split_trailer`]): `out` ends with that decision's APRT
    /// record, whose 44-byte header is `aprt_header`; the trailer is appended after it.
    /// `input.decision_index` is the index the entry will take; `input.trace_hash` is not
    /// used (the entry's own leaf hash covers both).
    pub fn seal_trailer_into(
        &mut self,
        input: &InputEvidence<'_>,
        aprt_header: &[u8; APRT_HEADER_LEN],
        out: &mut Vec<u8>,
    ) -> Result<()> {
        self.seal_with(input, SealedLayout::Trailer, Some(aprt_header), out)
    }

    fn seal_with(
        &mut self,
        input: &InputEvidence<'_>,
        layout: SealedLayout,
        aprt_header: Option<&[u8; APRT_HEADER_LEN]>,
        out: &mut Vec<u8>,
    ) -> Result<()> {
        let failed = || LedgerError::SealFailed {
            decision_index: input.decision_index,
        };
        let slot = match input.subject {
            Some(subject) => Some(self.subject_slot(subject)?),
            None => None,
        };
        self.plaintext.clear();
        encode_input(input.values, input.context, &mut self.plaintext);
        let mut nonce = [0u8; NONCE_LEN];
        nonce[..16].copy_from_slice(&self.nonce_prefix);
        nonce[16..].copy_from_slice(&self.counter.to_le_bytes());
        self.counter = self.counter.wrapping_add(1);
        let (subject_digest, key_id, cipher) = match slot {
            None => (None, 0, &self.log_cipher),
            Some(slot) => match self.subjects.get(slot) {
                Some((_, digest, id, cipher)) => (Some(*digest), *id, cipher),
                None => return Err(failed()),
            },
        };
        let header = SealedHeader {
            timestamp_ns: input.timestamp_ns,
            decision_index: input.decision_index,
            trace_hash: match layout {
                SealedLayout::OwnEntry => input.trace_hash,
                SealedLayout::Trailer => [0; 32],
            },
            subject_digest,
            key_id,
            nonce,
            algorithm: self.algorithm,
            layout,
        };
        let ciphertext_len = self.plaintext.len() + TAG_LEN;
        let start = out.len();
        let tag = match aprt_header {
            None => {
                let aad = header.to_bytes(ciphertext_len);
                out.extend_from_slice(&aad);
                out.extend_from_slice(&self.plaintext);
                let body = out.get_mut(start + aad.len()..).ok_or_else(failed)?;
                cipher.seal(&nonce, &aad, body)
            }
            Some(aprt_header) => {
                let head = header.trailer_bytes(ciphertext_len);
                out.extend_from_slice(&head);
                out.extend_from_slice(&self.plaintext);
                let body = out.get_mut(start + head.len()..).ok_or_else(failed)?;
                cipher.seal(&nonce, &trailer_aad(&head, aprt_header), body)
            }
        };
        out.extend_from_slice(&tag.ok_or_else(failed)?);
        Ok(())
    }

    /// Seals `input` into a new record of its own entry.
    pub fn seal(&mut self, input: &InputEvidence<'_>) -> Result<Vec<u8>> {
        let mut out = Vec::with_capacity(SEALED_INPUT_HEADER_LEN + 128);
        self.seal_into(input, &mut out)?;
        Ok(out)
    }
}

/// A decision's input as an investigator gets it back.
#[derive(Clone, Debug, PartialEq)]
pub enum RecordedInput {
    /// Opened: the input row and context.
    Sealed {
        /// The feature values.
        values: Vec<f64>,
        /// The context fields.
        context: Vec<(String, ContextValue)>,
    },
    /// The subject was erased: its key is destroyed.
    Erased,
    /// Not readable, and why (no key in this store, a failed tag, a malformed record).
    Unreadable(String),
}

impl RecordedInput {
    /// Whether the input was erased.
    pub fn is_erased(&self) -> bool {
        matches!(self, RecordedInput::Erased)
    }
}

/// The inputs among `entries` (entries already read: a window, a whole log), opened with
/// `keys`, in log order: `(decision entry index, input)`.
pub fn open_inputs(entries: &[StoredEntry], keys: &KeyStore) -> Vec<(u64, RecordedInput)> {
    let mut opener = InputOpener::new(keys);
    entries
        .iter()
        .filter_map(|entry| opener.open(&entry.payload))
        .collect()
}

/// The inputs of the decisions stamped in `[from_ns, to_ns]` of the ledger in `dir`, opened
/// with `keys` (usually [`KeyStore::open`] of [`KeyStore::default_path`]). Reads only; the
/// ledger is not verified here.
pub fn read_inputs(
    dir: &Path,
    keys: &KeyStore,
    from_ns: u64,
    to_ns: u64,
) -> Result<impl Iterator<Item = (u64, RecordedInput)> + use<>> {
    let store = SegmentStore::open_read_only(dir)?;
    let read = LedgerReader::new(&store)?.entries_between(from_ns, to_ns)?;
    Ok(open_inputs(&read.entries, keys).into_iter())
}
