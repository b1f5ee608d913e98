//! The sealing AEADs with their per-run key computed once per key and nonce prefix:
//! XChaCha20-Poly1305, and AES-256-GCM under a key derived from the prefix.
//!
//! XChaCha20-Poly1305 (draft-irtf-cfrg-xchacha) is two steps: HChaCha20 of the key and the
//! nonce's first 16 bytes gives a subkey, then ChaCha20-Poly1305 (RFC 8439) runs under that
//! subkey with the nonce `0⁴ ‖ nonce[16..24]`. A [`Sealer`](super::Sealer) keeps one random
//! 16-byte prefix for its whole run and counts in the last 8 bytes, so the subkey is the same
//! for every input it seals under one key: [`PrefixCipher`] computes it once (RustCrypto's
//! `chacha20::hchacha`) and seals with `ring`'s ChaCha20-Poly1305. The bytes are exactly the
//! XChaCha20-Poly1305 of the whole 24-byte nonce (tested against the draft's vector and
//! against RustCrypto's `XChaCha20Poly1305`), so logs sealed before open unchanged.
//!
//! AES-256-GCM (algorithm 1) takes the same nonce field: its key is
//! `HMAC-SHA256(key, AES_GCM_KEY_LABEL ‖ prefix)` and its 96-bit nonce `0⁴ ‖ counter`, so a
//! key never meets a nonce twice (the counter within a run, a fresh random prefix, hence a
//! fresh key, per run), which GCM's security rests on. Sealed with `ring`'s AES-GCM (AES-NI
//! and carry-less multiply where the processor has them); the bytes are checked against
//! Python's `cryptography` (`python/make_seal_vectors.py`).

use chacha20::{R20, hchacha};
use hmac::{Hmac, KeyInit, Mac};
use ring::aead::{AES_256_GCM, Aad, CHACHA20_POLY1305, LessSafeKey, Nonce, Tag, UnboundKey};
use sha2::Sha256;
use whyline_core::{AES_GCM_KEY_LABEL, NONCE_LEN, SealAlgorithm, TAG_LEN};

use super::key_store::Key;
use crate::error::{LedgerError, Result};

/// The first 16 bytes of an XChaCha20 nonce: the HChaCha20 input.
pub(crate) type NoncePrefix = [u8; 16];

/// A sealing AEAD under one key, for nonces that start with one prefix. See the module docs.
pub(crate) struct PrefixCipher {
    algorithm: SealAlgorithm,
    prefix: NoncePrefix,
    /// Boxed: ring's key holds room for its largest algorithm's key schedule (~600 bytes),
    /// which would otherwise grow every collector that carries a sealer.
    subkey: Box<LessSafeKey>,
}

impl PrefixCipher {
    /// The `algorithm` cipher of `key` for nonces starting with `prefix`.
    pub(crate) fn new(key: &Key, prefix: &NoncePrefix, algorithm: SealAlgorithm) -> Result<Self> {
        let unbound = match algorithm {
            SealAlgorithm::XChaCha20Poly1305 => {
                let subkey = hchacha::<R20>(&(*key).into(), &(*prefix).into());
                UnboundKey::new(&CHACHA20_POLY1305, subkey.as_slice())
            }
            SealAlgorithm::Aes256Gcm => UnboundKey::new(&AES_256_GCM, &aes_gcm_key(key, prefix)?),
            _ => return Err(LedgerError::CipherKey),
        }
        .map_err(|_| LedgerError::CipherKey)?;
        Ok(Self {
            algorithm,
            prefix: *prefix,
            subkey: Box::new(LessSafeKey::new(unbound)),
        })
    }

    /// The nonce prefix it serves.
    pub(crate) fn prefix(&self) -> &NoncePrefix {
        &self.prefix
    }

    /// The AEAD it runs.
    pub(crate) fn algorithm(&self) -> SealAlgorithm {
        self.algorithm
    }

    /// Encrypts `body` in place under the 24-byte `nonce` (its prefix must be this cipher's)
    /// with associated data `aad`; returns the tag, `None` when the prefix differs or the
    /// body is beyond the cipher's limit.
    pub(crate) fn seal(
        &self,
        nonce: &[u8; NONCE_LEN],
        aad: &[u8],
        body: &mut [u8],
    ) -> Option<[u8; TAG_LEN]> {
        let nonce = self.ietf_nonce(nonce)?;
        let tag: Tag = self
            .subkey
            .seal_in_place_separate_tag(nonce, Aad::from(aad), body)
            .ok()?;
        <[u8; TAG_LEN]>::try_from(tag.as_ref()).ok()
    }

    /// Decrypts `body` in place and checks `tag`; false when the tag does not match (the
    /// body is then garbage) or the prefix differs.
    pub(crate) fn open(
        &self,
        nonce: &[u8; NONCE_LEN],
        aad: &[u8],
        body: &mut [u8],
        tag: &[u8; TAG_LEN],
    ) -> bool {
        let Some(nonce) = self.ietf_nonce(nonce) else {
            return false;
        };
        self.subkey
            .open_in_place_separate_tag(nonce, Aad::from(aad), Tag::from(*tag), body, 0..)
            .is_ok()
    }

    fn ietf_nonce(&self, nonce: &[u8; NONCE_LEN]) -> Option<Nonce> {
        let (prefix, counter) = nonce.split_at(16);
        if prefix != self.prefix {
            return None;
        }
        let mut ietf = [0u8; 12];
        ietf[4..].copy_from_slice(counter);
        Some(Nonce::assume_unique_for_key(ietf))
    }
}

/// The AES-256-GCM key of `key` for nonces starting with `prefix`:
/// `HMAC-SHA256(key, AES_GCM_KEY_LABEL ‖ prefix)`.
pub(crate) fn aes_gcm_key(key: &Key, prefix: &NoncePrefix) -> Result<[u8; 32]> {
    let mut mac =
        <Hmac<Sha256> as KeyInit>::new_from_slice(key).map_err(|_| LedgerError::CipherKey)?;
    mac.update(AES_GCM_KEY_LABEL);
    mac.update(prefix);
    Ok(mac.finalize().into_bytes().into())
}

/// Splits a 24-byte nonce into its prefix.
pub(crate) fn prefix_of(nonce: &[u8; NONCE_LEN]) -> NoncePrefix {
    let mut prefix = [0u8; 16];
    prefix.copy_from_slice(&nonce[..16]);
    prefix
}

#[cfg(test)]
mod tests {
    use super::*;
    use chacha20poly1305::XChaCha20Poly1305;
    use chacha20poly1305::aead::{AeadInOut, KeyInit};

    /// draft-irtf-cfrg-xchacha-03, appendix A.3.1.
    #[test]
    fn the_draft_vector_seals_and_opens() {
        let key: Key = core::array::from_fn(|i| 0x80 + i as u8);
        let nonce: [u8; 24] = core::array::from_fn(|i| 0x40 + i as u8);
        let aad = hex::decode("50515253c0c1c2c3c4c5c6c7").unwrap();
        let plaintext = b"Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.";
        let ciphertext = hex::decode(
            "bd6d179d3e83d43b9576579493c0e939572a1700252bfaccbed2902c21396cbb\
             731c7f1b0b4aa6440bf3a82f4eda7e39ae64c6708c54c216cb96b72e1213b452\
             2f8c9ba40db5d945b11b69b982c1bb9e3f3fac2bc369488f76b2383565d3fff9\
             21f9664c97637da9768812f615c68b13b52e",
        )
        .unwrap();
        let tag = hex::decode("c0875924c1c7987947deafd8780acf49").unwrap();
        let cipher =
            PrefixCipher::new(&key, &prefix_of(&nonce), SealAlgorithm::XChaCha20Poly1305).unwrap();
        let mut body = plaintext.to_vec();
        let sealed = cipher.seal(&nonce, &aad, &mut body).unwrap();
        assert_eq!(body, ciphertext);
        assert_eq!(&sealed[..], &tag[..]);
        assert!(cipher.open(&nonce, &aad, &mut body, &sealed));
        assert_eq!(&body[..], &plaintext[..]);
    }

    #[test]
    fn it_is_byte_identical_to_rustcrypto_xchacha20poly1305_and_refuses_changes() {
        let key = [0x42u8; 32];
        let prefix = [0x17u8; 16];
        let cipher = PrefixCipher::new(&key, &prefix, SealAlgorithm::XChaCha20Poly1305).unwrap();
        let peer = XChaCha20Poly1305::new(&key.into());
        for counter in [0u64, 1, 2, u64::MAX] {
            let mut nonce = [0u8; 24];
            nonce[..16].copy_from_slice(&prefix);
            nonce[16..].copy_from_slice(&counter.to_le_bytes());
            let aad = [counter as u8; 120];
            let plain: Vec<u8> = (0..(150 + counter % 7) as u8).collect();
            let mut ours = plain.clone();
            let tag = cipher.seal(&nonce, &aad, &mut ours).unwrap();
            let mut theirs = plain.clone();
            let their_tag = peer
                .encrypt_inout_detached(&nonce.into(), &aad, theirs.as_mut_slice().into())
                .unwrap();
            assert_eq!(ours, theirs);
            assert_eq!(&tag[..], their_tag.as_slice());

            let mut flipped_aad = aad;
            flipped_aad[0] ^= 1;
            assert!(!cipher.open(&nonce, &flipped_aad, &mut ours.clone(), &tag));
            let mut other_nonce = nonce;
            other_nonce[20] ^= 1;
            assert!(!cipher.open(&other_nonce, &aad, &mut ours.clone(), &tag));
            let mut other_prefix = nonce;
            other_prefix[0] ^= 1;
            assert!(!cipher.open(&other_prefix, &aad, &mut ours.clone(), &tag));
            assert!(cipher.open(&nonce, &aad, &mut ours, &tag));
            assert_eq!(ours, plain);
        }
    }

    /// Python `cryptography`'s AES-256-GCM under the derived key
    /// (`python/make_seal_vectors.py`): the derivation, the ciphertext and the tag.
    #[test]
    fn aes_256_gcm_matches_the_python_cryptography_vectors_and_refuses_changes() {
        let text = include_str!("../../tests/fixtures/seal/aes_256_gcm.json");
        let vectors: serde_json::Value = serde_json::from_str(text).unwrap();
        assert_eq!(
            vectors["label"].as_str().unwrap().as_bytes(),
            AES_GCM_KEY_LABEL
        );
        let cases = vectors["cases"].as_array().unwrap();
        assert_eq!(cases.len(), 3);
        let bytes = |case: &serde_json::Value, field: &str| {
            hex::decode(case[field].as_str().unwrap()).unwrap()
        };
        for case in cases {
            let key: Key = bytes(case, "key").try_into().unwrap();
            let nonce: [u8; NONCE_LEN] = bytes(case, "nonce").try_into().unwrap();
            let aad = bytes(case, "aad");
            let plaintext = bytes(case, "plaintext");
            assert_eq!(
                aes_gcm_key(&key, &prefix_of(&nonce)).unwrap().to_vec(),
                bytes(case, "derived_key")
            );
            let cipher =
                PrefixCipher::new(&key, &prefix_of(&nonce), SealAlgorithm::Aes256Gcm).unwrap();
            let mut body = plaintext.clone();
            let tag = cipher.seal(&nonce, &aad, &mut body).unwrap();
            assert_eq!(body, bytes(case, "ciphertext"));
            assert_eq!(tag.to_vec(), bytes(case, "tag"));
            let mut flipped_aad = aad.clone();
            flipped_aad.push(0);
            assert!(!cipher.open(&nonce, &flipped_aad, &mut body.clone(), &tag));
            let mut other_counter = nonce;
            other_counter[23] ^= 0x80;
            assert!(!cipher.open(&other_counter, &aad, &mut body.clone(), &tag));
            // The other algorithm under the same key and nonce does not open it.
            let chacha =
                PrefixCipher::new(&key, &prefix_of(&nonce), SealAlgorithm::XChaCha20Poly1305)
                    .unwrap();
            assert!(!chacha.open(&nonce, &aad, &mut body.clone(), &tag));
            assert!(cipher.open(&nonce, &aad, &mut body, &tag));
            assert_eq!(body, plaintext);
        }
    }
}
