//! Opening sealed inputs, keeping the last few ciphers: the inputs of one recording run share
//! a key per subject and a nonce prefix, so a log is opened with one HChaCha20 per run and
//! subject rather than one per input.

use whyline_core::{
    APRT_HEADER_LEN, AprtHeader, EntryKind, SEALED_INPUT_HEADER_LEN, SEALED_TRAILER_AAD_LEN,
    SealedHeader, SealedInput, TAG_LEN, decode_input, trailer_aad,
};

use super::cipher::{PrefixCipher, prefix_of};
use super::{Key, KeyLookup, KeyStore, RecordedInput};

/// How many (key, nonce prefix) ciphers an opener keeps.
const CACHED_CIPHERS: usize = 8;

/// A sealed input opened for its row only (replay): see [`InputOpener::open_row`].
#[derive(Clone, Debug, PartialEq)]
pub enum OpenedRow {
    /// Opened: the header; the row is in the caller's buffer.
    Row(SealedHeader),
    /// The subject was erased: its key is destroyed.
    Erased,
    /// Not readable, and why.
    Unreadable(String),
}

/// A sealed input found in an entry: its header, ciphertext and associated data; or the
/// decision index (when readable) and why it is malformed.
type Located<'p> = Result<(SealedHeader, &'p [u8], Aad), (u64, String)>;

/// The associated data of a sealed input, by its layout.
enum Aad {
    OwnEntry([u8; SEALED_INPUT_HEADER_LEN]),
    Trailer([u8; SEALED_TRAILER_AAD_LEN]),
}

impl Aad {
    fn as_bytes(&self) -> &[u8] {
        match self {
            Aad::OwnEntry(bytes) => bytes,
            Aad::Trailer(bytes) => bytes,
        }
    }
}

/// Why a record did not decrypt.
enum Closed {
    Erased,
    Unreadable(String),
}

/// Opens sealed input records with one key store, reusing its ciphers and buffer. See the
/// module docs.
pub struct InputOpener<'k> {
    keys: &'k KeyStore,
    ciphers: Vec<(Option<Key>, u32, PrefixCipher)>,
    next_slot: usize,
    plaintext: Vec<u8>,
}

impl std::fmt::Debug for InputOpener<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InputOpener")
            .field("keys", self.keys)
            .field("cached", &self.ciphers.len())
            .finish_non_exhaustive()
    }
}

impl<'k> InputOpener<'k> {
    /// An opener over `keys`.
    pub fn new(keys: &'k KeyStore) -> Self {
        Self {
            keys,
            ciphers: Vec::with_capacity(CACHED_CIPHERS),
            next_slot: 0,
            plaintext: Vec::with_capacity(256),
        }
    }

    /// Opens one sealed input: its decision's entry index and what it holds. `payload` is a
    /// sealed input entry (version 1) or a decision entry that ends with its sealed input
    /// (version 2, [`whyline_core::split_decision_entry`]); `None` for any other entry,
    /// decisions recorded without an input included.
    pub fn open(&mut self, payload: &[u8]) -> Option<(u64, RecordedInput)> {
        let (header, ciphertext, aad) = match Self::locate(payload)? {
            Ok(found) => found,
            Err((index, why)) => return Some((index, RecordedInput::Unreadable(why))),
        };
        let input = match self.decrypt(&header, aad.as_bytes(), ciphertext) {
            Err(Closed::Erased) => RecordedInput::Erased,
            Err(Closed::Unreadable(why)) => RecordedInput::Unreadable(why),
            Ok(()) => match decode_input(&self.plaintext) {
                Ok(input) => RecordedInput::Sealed {
                    values: input.values,
                    context: input.context,
                },
                Err(error) => RecordedInput::Unreadable(error.to_string()),
            },
        };
        Some((header.decision_index, input))
    }

    /// The sealed input in `payload`, its ciphertext and associated data; `None` when the
    /// entry holds none, an error (with the decision index when it can be read) when it is
    /// malformed.
    fn locate(payload: &[u8]) -> Option<Located<'_>> {
        if SealedInput::is_sealed_input(payload) {
            return Some(match SealedInput::split(payload) {
                Ok((header, ciphertext)) => {
                    let aad = Aad::OwnEntry(header.to_bytes(ciphertext.len()));
                    Ok((header, ciphertext, aad))
                }
                Err(error) => {
                    let index = payload
                        .get(16..24)
                        .and_then(|b| <[u8; 8]>::try_from(b).ok())
                        .map_or(u64::MAX, u64::from_le_bytes);
                    Err((index, error.to_string()))
                }
            });
        }
        if EntryKind::of(payload) != EntryKind::Decision {
            return None;
        }
        let trailer_at = AprtHeader::read(payload, 0).ok()?.record_len();
        let trailer = payload.get(trailer_at..).filter(|t| !t.is_empty())?;
        if !SealedInput::is_sealed_input(trailer) {
            // Nothing names a decision in bytes that are not a sealed input.
            return Some(Err((
                u64::MAX,
                format!(
                    "{} bytes after the decision's APRT record are not a sealed input",
                    trailer.len()
                ),
            )));
        }
        // A sealed input's header names its entry at bytes 8..16, as far as they are there.
        let unreadable = |detail: String| {
            let index = trailer
                .get(8..16)
                .and_then(|b| <[u8; 8]>::try_from(b).ok())
                .map_or(u64::MAX, u64::from_le_bytes);
            Some(Err((index, detail)))
        };
        let Some(aprt) = payload.first_chunk::<APRT_HEADER_LEN>() else {
            return unreadable("the decision entry is shorter than its APRT header".into());
        };
        let timestamp_ns = AprtHeader::read(payload, 0).map_or(0, |h| h.timestamp_ns);
        match SealedInput::split_trailer(trailer, timestamp_ns) {
            Ok((header, ciphertext)) => {
                let head = header.trailer_bytes(ciphertext.len());
                Some(Ok((
                    header,
                    ciphertext,
                    Aad::Trailer(trailer_aad(&head, aprt)),
                )))
            }
            Err(error) => unreadable(error.to_string()),
        }
    }

    /// Opens a sealed input record for its row alone, written to `row` (cleared first; the
    /// f64 values narrowed to the f32 a model reads, exact for rows recorded from f32). The
    /// context is authenticated with the rest but not decoded. No allocation once the
    /// buffers have grown.
    pub fn open_row(&mut self, payload: &[u8], row: &mut Vec<f32>) -> OpenedRow {
        row.clear();
        let (header, ciphertext, aad) = match Self::locate(payload) {
            Some(Ok(found)) => found,
            Some(Err((_, why))) => return OpenedRow::Unreadable(why),
            None => return OpenedRow::Unreadable("the entry holds no sealed input".into()),
        };
        match self.decrypt(&header, aad.as_bytes(), ciphertext) {
            Ok(()) => {}
            Err(Closed::Erased) => return OpenedRow::Erased,
            Err(Closed::Unreadable(why)) => return OpenedRow::Unreadable(why),
        }
        let plain = self.plaintext.as_slice();
        let count = plain
            .get(..4)
            .and_then(|b| <[u8; 4]>::try_from(b).ok())
            .map(u32::from_le_bytes);
        let end = count.and_then(|n| (n as usize).checked_mul(8)?.checked_add(4));
        let values = end.and_then(|end| plain.get(4..end));
        let Some(values) = values else {
            return OpenedRow::Unreadable("the plaintext is shorter than its row".into());
        };
        row.extend(values.chunks_exact(8).map(|b| {
            let mut v = [0u8; 8];
            v.copy_from_slice(b);
            f64::from_le_bytes(v) as f32
        }));
        OpenedRow::Row(header)
    }

    /// Decrypts into `self.plaintext`, or says why not.
    fn decrypt(
        &mut self,
        header: &SealedHeader,
        aad: &[u8],
        ciphertext: &[u8],
    ) -> Result<(), Closed> {
        let cipher = self.cipher(header)?;
        let split = ciphertext.len().saturating_sub(TAG_LEN);
        let (body, tag) = ciphertext.split_at(split);
        let Ok(tag) = <&[u8; TAG_LEN]>::try_from(tag) else {
            return Err(Closed::Unreadable("the ciphertext has no tag".into()));
        };
        self.plaintext.clear();
        self.plaintext.extend_from_slice(body);
        let Some((_, _, cipher)) = self.ciphers.get(cipher) else {
            return Err(Closed::Unreadable("no cipher".into()));
        };
        if !cipher.open(&header.nonce, aad, &mut self.plaintext, tag) {
            return Err(Closed::Unreadable(
                "authentication failed: the ciphertext or its header was changed, or the key is not this input's".into(),
            ));
        }
        Ok(())
    }

    /// The slot of the cipher for `header`'s key and nonce prefix, made when not cached.
    fn cipher(&mut self, header: &SealedHeader) -> Result<usize, Closed> {
        let prefix = prefix_of(&header.nonce);
        if let Some(slot) = self.ciphers.iter().position(|(digest, id, cipher)| {
            *id == header.key_id
                && *digest == header.subject_digest
                && *cipher.prefix() == prefix
                && cipher.algorithm() == header.algorithm
        }) {
            return Ok(slot);
        }
        let key = match self
            .keys
            .lookup(header.subject_digest.as_ref(), header.key_id)
        {
            KeyLookup::Key(key) => key,
            KeyLookup::Erased => return Err(Closed::Erased),
            KeyLookup::Unknown => {
                return Err(Closed::Unreadable(format!(
                    "the key store has no key {} for subject {}",
                    header.key_id,
                    header
                        .subject_digest
                        .map_or_else(|| "(log-wide)".to_owned(), hex::encode)
                )));
            }
        };
        let cipher = PrefixCipher::new(&key, &prefix, header.algorithm)
            .map_err(|error| Closed::Unreadable(error.to_string()))?;
        let entry = (header.subject_digest, header.key_id, cipher);
        if self.ciphers.len() < CACHED_CIPHERS {
            self.ciphers.push(entry);
            return Ok(self.ciphers.len() - 1);
        }
        let slot = self.next_slot;
        self.next_slot = (slot + 1) % CACHED_CIPHERS;
        if let Some(old) = self.ciphers.get_mut(slot) {
            *old = entry;
        }
        Ok(slot)
    }
}

/// Opens one sealed input record with `keys`: its decision's entry index and what it holds.
/// `None` when `payload` is not a sealed input record. Many records: [`InputOpener`].
pub fn open_sealed(keys: &KeyStore, payload: &[u8]) -> Option<(u64, RecordedInput)> {
    InputOpener::new(keys).open(payload)
}
