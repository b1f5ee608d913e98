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
//!
//! AEGIS-256 (algorithm 2, RFC 10032) derives its key the same way over its own label and
//! takes the whole nonce field followed by eight zero bytes as its 256-bit nonce. Sealed with
//! `libaegis` through the `aegis` crate (AES-NI rounds; no carry-less multiply at all), which
//! is why it is the fastest of the three on short inputs: on the Zen 5 host a decision's
//! 211-byte input seals in 129 ns against 219 ns with AES-256-GCM, 109 bytes of it in ~75 ns
//! against ~130 ns. Its bytes are checked against RFC 10032's test vectors and against
//! libsodium's independent AEGIS-256 (PyNaCl, `python/make_seal_vectors.py`).

use aegis::aegis256::Aegis256;
use chacha20::{R20, hchacha};
use hmac::{Hmac, KeyInit, Mac};
use ring::aead::{AES_256_GCM, Aad, CHACHA20_POLY1305, LessSafeKey, Nonce, Tag, UnboundKey};
use sha2::Sha256;
use whyline_core::{AEGIS_256_KEY_LABEL, AES_GCM_KEY_LABEL, NONCE_LEN, SealAlgorithm, TAG_LEN};

use super::key_store::Key;
use crate::error::{LedgerError, Result};

/// The first 16 bytes of an XChaCha20 nonce: the HChaCha20 input.
pub(crate) type NoncePrefix = [u8; 16];

/// A sealing AEAD under one key, for nonces that start with one prefix. See the module docs.
pub(crate) struct PrefixCipher {
    algorithm: SealAlgorithm,
    prefix: NoncePrefix,
    subkey: Subkey,
}

/// The per-run key, in the form its AEAD's implementation takes.
enum Subkey {
    /// ChaCha20-Poly1305 or AES-256-GCM. Boxed: ring's key holds room for its largest
    /// algorithm's key schedule (~600 bytes), which would otherwise grow every collector
    /// that carries a sealer.
    Ring(Box<LessSafeKey>),
    /// AEGIS-256: `libaegis` expands the key per message (its initialization is part of
    /// the 129 ns).
    Aegis256([u8; 32]),
}

impl PrefixCipher {
    /// The `algorithm` cipher of `key` for nonces starting with `prefix`.
    pub(crate) fn new(key: &Key, prefix: &NoncePrefix, algorithm: SealAlgorithm) -> Result<Self> {
        let ring = |unbound: std::result::Result<UnboundKey, _>| {
            unbound
                .map(|unbound| Subkey::Ring(Box::new(LessSafeKey::new(unbound))))
                .map_err(|_| LedgerError::CipherKey)
        };
        let subkey = match algorithm {
            SealAlgorithm::XChaCha20Poly1305 => {
                let subkey = hchacha::<R20>(&(*key).into(), &(*prefix).into());
                ring(UnboundKey::new(&CHACHA20_POLY1305, subkey.as_slice()))?
            }
            SealAlgorithm::Aes256Gcm => ring(UnboundKey::new(
                &AES_256_GCM,
                &derived_key(key, AES_GCM_KEY_LABEL, prefix)?,
            ))?,
            SealAlgorithm::Aegis256 => {
                Subkey::Aegis256(derived_key(key, AEGIS_256_KEY_LABEL, prefix)?)
            }
            _ => return Err(LedgerError::CipherKey),
        };
        Ok(Self {
            algorithm,
            prefix: *prefix,
            subkey,
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
        match &self.subkey {
            Subkey::Ring(subkey) => {
                let nonce = self.ietf_nonce(nonce)?;
                let tag: Tag = subkey
                    .seal_in_place_separate_tag(nonce, Aad::from(aad), body)
                    .ok()?;
                <[u8; TAG_LEN]>::try_from(tag.as_ref()).ok()
            }
            Subkey::Aegis256(subkey) => {
                let nonce = self.aegis_nonce(nonce)?;
                Some(Aegis256::<TAG_LEN>::new(subkey, &nonce).encrypt_in_place(body, aad))
            }
        }
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
        match &self.subkey {
            Subkey::Ring(subkey) => self.ietf_nonce(nonce).is_some_and(|nonce| {
                subkey
                    .open_in_place_separate_tag(nonce, Aad::from(aad), Tag::from(*tag), body, 0..)
                    .is_ok()
            }),
            Subkey::Aegis256(subkey) => self.aegis_nonce(nonce).is_some_and(|nonce| {
                Aegis256::<TAG_LEN>::new(subkey, &nonce)
                    .decrypt_in_place(body, tag, aad)
                    .is_ok()
            }),
        }
    }

    /// The 96-bit nonce `0⁴ ‖ counter` of a nonce field with this cipher's prefix.
    fn ietf_nonce(&self, nonce: &[u8; NONCE_LEN]) -> Option<Nonce> {
        let (prefix, counter) = nonce.split_at(16);
        if prefix != self.prefix {
            return None;
        }
        let mut ietf = [0u8; 12];
        ietf[4..].copy_from_slice(counter);
        Some(Nonce::assume_unique_for_key(ietf))
    }

    /// AEGIS-256's 256-bit nonce, `nonce ‖ 0⁸`, of a nonce field with this cipher's prefix.
    fn aegis_nonce(&self, nonce: &[u8; NONCE_LEN]) -> Option<[u8; 32]> {
        if !nonce.starts_with(&self.prefix) {
            return None;
        }
        let mut aegis = [0u8; 32];
        aegis[..NONCE_LEN].copy_from_slice(nonce);
        Some(aegis)
    }
}

/// The AES-256-GCM or AEGIS-256 key of `key` for nonces starting with `prefix`:
/// `HMAC-SHA256(key, label ‖ prefix)`.
pub(crate) fn derived_key(key: &Key, label: &[u8], prefix: &NoncePrefix) -> Result<[u8; 32]> {
    let mut mac =
        <Hmac<Sha256> as KeyInit>::new_from_slice(key).map_err(|_| LedgerError::CipherKey)?;
    mac.update(label);
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

    /// Sealing under the derived key against vectors an independent implementation made
    /// (`python/make_seal_vectors.py`): the derivation, the ciphertext and the tag, and a
    /// change to the associated data, the counter or the algorithm refused.
    fn matches_the_python_vectors(fixture: &str, label: &[u8], algorithm: SealAlgorithm) {
        let vectors: serde_json::Value = serde_json::from_str(fixture).unwrap();
        assert_eq!(vectors["label"].as_str().unwrap().as_bytes(), label);
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
                derived_key(&key, label, &prefix_of(&nonce))
                    .unwrap()
                    .to_vec(),
                bytes(case, "derived_key")
            );
            let cipher = PrefixCipher::new(&key, &prefix_of(&nonce), algorithm).unwrap();
            let mut body = plaintext.clone();
            let tag = cipher.seal(&nonce, &aad, &mut body).unwrap();
            assert_eq!(body, bytes(case, "ciphertext"));
            if case.get("tag").is_some() {
                assert_eq!(tag.to_vec(), bytes(case, "tag"));
            } else {
                // libsodium gives AEGIS-256's 256-bit tag only: the same key, nonce and
                // associated data must give it (the 128-bit tag kept is held to RFC 10032).
                let derived = derived_key(&key, label, &prefix_of(&nonce)).unwrap();
                let full = cipher.aegis_nonce(&nonce).unwrap();
                let (_, tag256) = Aegis256::<32>::new(&derived, &full).encrypt(&plaintext, &aad);
                assert_eq!(tag256.to_vec(), bytes(case, "tag256"));
            }
            let mut flipped_aad = aad.clone();
            flipped_aad.push(0);
            assert!(!cipher.open(&nonce, &flipped_aad, &mut body.clone(), &tag));
            let mut other_counter = nonce;
            other_counter[23] ^= 0x80;
            assert!(!cipher.open(&other_counter, &aad, &mut body.clone(), &tag));
            let mut other_prefix = nonce;
            other_prefix[0] ^= 1;
            assert!(!cipher.open(&other_prefix, &aad, &mut body.clone(), &tag));
            // The other algorithms under the same key and nonce do not open it.
            let others = [
                SealAlgorithm::XChaCha20Poly1305,
                SealAlgorithm::Aes256Gcm,
                SealAlgorithm::Aegis256,
            ];
            for other in others.into_iter().filter(|other| *other != algorithm) {
                let other = PrefixCipher::new(&key, &prefix_of(&nonce), other).unwrap();
                assert!(!other.open(&nonce, &aad, &mut body.clone(), &tag));
            }
            assert!(cipher.open(&nonce, &aad, &mut body, &tag));
            assert_eq!(body, plaintext);
        }
    }

    /// Python `cryptography`'s (OpenSSL's) AES-256-GCM.
    #[test]
    fn aes_256_gcm_matches_the_python_cryptography_vectors_and_refuses_changes() {
        let fixture = include_str!("../../tests/fixtures/seal/aes_256_gcm.json");
        matches_the_python_vectors(fixture, AES_GCM_KEY_LABEL, SealAlgorithm::Aes256Gcm);
    }

    /// libsodium's AEGIS-256 (through PyNaCl), an implementation apart from the libaegis
    /// that seals: the derivation, the nonce and the ciphertext.
    #[test]
    fn aegis_256_matches_the_libsodium_vectors_and_refuses_changes() {
        let fixture = include_str!("../../tests/fixtures/seal/aegis_256.json");
        matches_the_python_vectors(fixture, AEGIS_256_KEY_LABEL, SealAlgorithm::Aegis256);
    }

    /// RFC 10032, appendix A.3: AEGIS-256 test vectors 3 to 5 (associated data and a message
    /// of one block, a partial block and several blocks) and test vector 7 (a changed
    /// ciphertext refused), through the nonce as a sealer builds it (the vectors' nonce ends
    /// in zeros, so it is a nonce field followed by eight zero bytes).
    #[test]
    fn aegis_256_gives_the_rfc_10032_test_vectors() {
        let key: [u8; 32] = core::array::from_fn(|i| [0x10, 0x01][..].get(i).copied().unwrap_or(0));
        let field: [u8; NONCE_LEN] =
            core::array::from_fn(|i| [0x10, 0x00, 0x02][..].get(i).copied().unwrap_or(0));
        let cipher = PrefixCipher {
            algorithm: SealAlgorithm::Aegis256,
            prefix: prefix_of(&field),
            subkey: Subkey::Aegis256(key),
        };
        let vectors = [
            (
                "0001020304050607",
                "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
                "f373079ed84b2709faee373584585d60accd191db310ef5d8b11833df9dec711",
                "8d86f91ee606e9ff26a01b64ccbdd91d",
            ),
            (
                "0001020304050607",
                "000102030405060708090a0b0c0d",
                "f373079ed84b2709faee37358458",
                "c60b9c2d33ceb058f96e6dd03c215652",
            ),
            (
                "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20212223242526272829",
                "101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f3031323334353637",
                "57754a7d09963e7c787583a2e7b859bb24fa1e04d49fd550b2511a358e3bca252a9b1b8b30cc4a67",
                "ab8a7d53fd0e98d727accca94925e128",
            ),
        ];
        for (aad, message, ciphertext, tag) in vectors {
            let aad = hex::decode(aad).unwrap();
            let mut body = hex::decode(message).unwrap();
            let sealed = cipher.seal(&field, &aad, &mut body).unwrap();
            assert_eq!(body, hex::decode(ciphertext).unwrap());
            assert_eq!(sealed.to_vec(), hex::decode(tag).unwrap());
            assert!(cipher.open(&field, &aad, &mut body, &sealed));
            assert_eq!(body, hex::decode(message).unwrap());
        }
        // Test vector 7: the last ciphertext byte of vector 4 changed.
        let mut changed = hex::decode("f373079ed84b2709faee37358459").unwrap();
        let tag: [u8; TAG_LEN] = hex::decode("c60b9c2d33ceb058f96e6dd03c215652")
            .unwrap()
            .try_into()
            .unwrap();
        let aad = hex::decode("0001020304050607").unwrap();
        assert!(!cipher.open(&field, &aad, &mut changed, &tag));
    }
}
