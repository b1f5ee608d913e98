//! The subject key store: the per-subject keys that seal inputs, kept beside the ledger and
//! never in it (`LOG/keys/subjects.wks` by default).
//!
//! One JSON document (`docs/ledger-format.md`, "Subject key store"):
//!
//! ```text
//! {"format":"whyline-subject-keys","version":1,
//!  "digest_secret":"<64 hex>",              HMAC-SHA256 key of subject digests
//!  "log_key":"<64 hex>",                    key id 0: inputs without a subject
//!  "next_id":3,
//!  "subjects":[{"digest":"<64 hex>","id":1,"key":"<64 hex>"}, ...],
//!  "erased":[{"digest":"<64 hex>","erased_ns":N}, ...]}
//! ```
//!
//! Subjects appear only as their keyed digest, so the store does not list the ids either.
//! Every change is written atomically: a temporary file (mode 0600) written and fsynced,
//! renamed over the store, then the directory fsynced. A new subject's key is durable before
//! the first input sealed under it is appended. Erasing removes the key from the file; copies
//! of the file elsewhere (backups, snapshots) still hold it, and the filesystem may keep the
//! old blocks until they are reused: erasure is as good as the control over those copies.
//!
//! Keys are random (the OS's source), not derived from a master secret: a derived key could
//! be derived again after its erasure.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use hmac::{KeyInit, Mac};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{LedgerError, Result};
use crate::keys::{sync_dir, write_replacing};

/// The key store's file, relative to the ledger directory.
pub const KEY_STORE_FILE: &str = "keys/subjects.wks";
const FORMAT: &str = "whyline-subject-keys";

/// A 32-byte key.
pub type Key = [u8; 32];

/// What the store knows about the key that sealed an input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyLookup {
    /// The key.
    Key(Key),
    /// The subject was erased: the key is destroyed.
    Erased,
    /// This store has no such key (another log's store, or a damaged one).
    Unknown,
}

#[derive(Clone, Debug)]
struct SubjectKey {
    id: u32,
    key: Key,
}

/// The per-subject keys of one ledger. See the module docs.
#[derive(Clone)]
pub struct KeyStore {
    path: PathBuf,
    digest_secret: Key,
    log_key: Key,
    next_id: u32,
    subjects: BTreeMap<Key, SubjectKey>,
    erased: BTreeMap<Key, u64>,
    /// Where new keys and nonce prefixes come from.
    entropy: Entropy,
}

/// The source of new secrets: the operating system, or (for simulations) a seed.
#[derive(Clone)]
enum Entropy {
    Os,
    /// SHA-256(domain ‖ seed ‖ counter): deterministic, so that a simulation run twice with
    /// one seed writes byte-identical logs. Whoever knows the seed knows every key.
    Seeded {
        seed: [u8; 32],
        drawn: u64,
    },
}

impl Entropy {
    fn fill(&mut self, out: &mut [u8], what: &'static str) -> Result<()> {
        match self {
            Entropy::Os => getrandom::fill(out).map_err(|e| LedgerError::Random {
                what,
                detail: e.to_string(),
            }),
            Entropy::Seeded { seed, drawn } => {
                for chunk in out.chunks_mut(32) {
                    let block = Sha256::new()
                        .chain_update(b"whyline simulation entropy v1")
                        .chain_update(*seed)
                        .chain_update(drawn.to_le_bytes())
                        .finalize();
                    chunk.copy_from_slice(&block[..chunk.len()]);
                    *drawn += 1;
                }
                Ok(())
            }
        }
    }

    fn key(&mut self, what: &'static str) -> Result<Key> {
        let mut key = [0u8; 32];
        self.fill(&mut key, what)?;
        Ok(key)
    }
}

impl std::fmt::Debug for KeyStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the keys.
        f.debug_struct("KeyStore")
            .field("path", &self.path)
            .field("subjects", &self.subjects.len())
            .field("erased", &self.erased.len())
            .finish_non_exhaustive()
    }
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    format: String,
    version: u32,
    digest_secret: String,
    log_key: String,
    next_id: u32,
    subjects: Vec<FileSubject>,
    erased: Vec<FileErased>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileSubject {
    digest: String,
    id: u32,
    key: String,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileErased {
    digest: String,
    erased_ns: u64,
}

impl KeyStore {
    /// Where the store of the ledger in `ledger_dir` lives by default.
    pub fn default_path(ledger_dir: &Path) -> PathBuf {
        ledger_dir.join(KEY_STORE_FILE)
    }

    /// Creates a store with new secrets at `path` (its directory made if missing); fails
    /// with [`LedgerError::KeyExists`] if a file is there.
    pub fn create(path: &Path) -> Result<Self> {
        Self::create_from(path, Entropy::Os)
    }

    /// [`KeyStore::create`] for a **simulation**: every secret (the digest secret, the
    /// log-wide key, each subject key made later in this process, and the nonce prefix of a
    /// [`Sealer`](crate::Sealer) over this store) is derived from `seed`, so that a simulated
    /// run repeated with the same seed writes a byte-identical ledger (the drone example's
    /// test). Anyone who knows the seed can open every sealed input: never use it for real
    /// subjects. A store reopened from its file draws from the operating system again.
    pub fn create_for_simulation(path: &Path, seed: u64) -> Result<Self> {
        let seed: [u8; 32] = Sha256::new()
            .chain_update(b"whyline simulation seed v1")
            .chain_update(seed.to_le_bytes())
            .finalize()
            .into();
        Self::create_from(path, Entropy::Seeded { seed, drawn: 0 })
    }

    fn create_from(path: &Path, mut entropy: Entropy) -> Result<Self> {
        if path.exists() {
            return Err(LedgerError::KeyExists {
                path: path.to_owned(),
            });
        }
        let store = KeyStore {
            path: path.to_owned(),
            digest_secret: entropy.key("the subject digest secret")?,
            log_key: entropy.key("the log-wide input key")?,
            next_id: 1,
            subjects: BTreeMap::new(),
            erased: BTreeMap::new(),
            entropy,
        };
        if let Some(dir) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| LedgerError::io(dir, "create directory", e))?;
        }
        store.save()?;
        Ok(store)
    }

    /// Opens the store at `path`: [`LedgerError::KeyStoreMissing`] when there is none.
    pub fn open(path: &Path) -> Result<Self> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(LedgerError::KeyStoreMissing {
                    path: path.to_owned(),
                });
            }
            Err(e) => return Err(LedgerError::io(path, "read", e)),
        };
        let bad = |detail: String| LedgerError::KeyStore {
            path: path.to_owned(),
            detail,
        };
        let file: File = serde_json::from_str(&text).map_err(|e| bad(e.to_string()))?;
        if file.format != FORMAT || file.version != 1 {
            return Err(bad(format!(
                "format {:?} version {}, expected {FORMAT:?} version 1",
                file.format, file.version
            )));
        }
        let key = |field: &str, hex_text: &str| -> Result<Key> {
            let mut out = [0u8; 32];
            hex::decode_to_slice(hex_text, &mut out)
                .map_err(|e| bad(format!("{field} is not 64 hex digits: {e}")))?;
            Ok(out)
        };
        let mut subjects = BTreeMap::new();
        for subject in &file.subjects {
            if subject.id == 0 || subject.id >= file.next_id {
                return Err(bad(format!(
                    "subject key id {} outside 1..{}",
                    subject.id, file.next_id
                )));
            }
            subjects.insert(
                key("a subject digest", &subject.digest)?,
                SubjectKey {
                    id: subject.id,
                    key: key("a subject key", &subject.key)?,
                },
            );
        }
        let mut erased = BTreeMap::new();
        for gone in &file.erased {
            erased.insert(key("an erased digest", &gone.digest)?, gone.erased_ns);
        }
        Ok(KeyStore {
            path: path.to_owned(),
            digest_secret: key("digest_secret", &file.digest_secret)?,
            log_key: key("log_key", &file.log_key)?,
            next_id: file.next_id,
            subjects,
            erased,
            entropy: Entropy::Os,
        })
    }

    /// Opens the store at `path`, or creates it when there is none.
    pub fn open_or_create(path: &Path) -> Result<Self> {
        match Self::open(path) {
            Err(LedgerError::KeyStoreMissing { .. }) => Self::create(path),
            other => other,
        }
    }

    /// Fills `out` with fresh secret bytes from the store's source (the operating system,
    /// or the seed of [`KeyStore::create_for_simulation`]): how a [`Sealer`](crate::Sealer)
    /// draws its nonce prefix.
    pub fn fill_random(&mut self, out: &mut [u8], what: &'static str) -> Result<()> {
        self.entropy.fill(out, what)
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The keyed digest of `subject`: HMAC-SHA256 under the store's secret.
    pub fn subject_digest(&self, subject: &str) -> Key {
        // HMAC pads a key shorter than the block with zeros (RFC 2104 §2): the same MAC as
        // the 32-byte secret, through the infallible constructor.
        let mut block = [0u8; 64];
        block[..32].copy_from_slice(&self.digest_secret);
        let mut mac = <hmac::Hmac<sha2::Sha256> as KeyInit>::new(&block.into());
        mac.update(subject.as_bytes());
        mac.finalize().into_bytes().into()
    }

    /// The log-wide key (id 0), for inputs without a subject.
    pub fn log_key(&self) -> Key {
        self.log_key
    }

    /// The key of `subject` and its id, made (and the store saved) on first use. Fails with
    /// [`LedgerError::SubjectErased`] once the subject was erased.
    pub fn key_for_subject(&mut self, subject: &str) -> Result<(Key, u32, Key)> {
        let digest = self.subject_digest(subject);
        if self.erased.contains_key(&digest) {
            return Err(LedgerError::SubjectErased {
                digest: hex::encode(digest),
            });
        }
        if let Some(found) = self.subjects.get(&digest) {
            return Ok((digest, found.id, found.key));
        }
        let id = self.next_id;
        let key = self.entropy.key("a subject key")?;
        self.subjects.insert(digest, SubjectKey { id, key });
        self.next_id = self.next_id.saturating_add(1);
        if let Err(error) = self.save() {
            self.subjects.remove(&digest);
            self.next_id = id;
            return Err(error);
        }
        Ok((digest, id, key))
    }

    /// The key that sealed an input of `subject_digest` (`None`: the log-wide key) with
    /// `key_id`.
    pub fn lookup(&self, subject_digest: Option<&Key>, key_id: u32) -> KeyLookup {
        match subject_digest {
            None if key_id == 0 => KeyLookup::Key(self.log_key),
            None => KeyLookup::Unknown,
            Some(digest) => match self.subjects.get(digest) {
                Some(found) if found.id == key_id => KeyLookup::Key(found.key),
                Some(_) => KeyLookup::Unknown,
                None if self.erased.contains_key(digest) => KeyLookup::Erased,
                None => KeyLookup::Unknown,
            },
        }
    }

    /// Whether `digest` names an erased subject.
    pub fn is_erased(&self, digest: &Key) -> bool {
        self.erased.contains_key(digest)
    }

    /// Destroys the key of `subject` (crypto-shredding) and saves the store; the digest is
    /// remembered as erased. Returns the digest and whether a key existed (a subject never
    /// sealed had none). [`LedgerError::SubjectErased`] when it was erased before.
    pub fn erase(&mut self, subject: &str, erased_ns: u64) -> Result<(Key, bool)> {
        let digest = self.subject_digest(subject);
        if self.erased.contains_key(&digest) {
            return Err(LedgerError::SubjectErased {
                digest: hex::encode(digest),
            });
        }
        let removed = self.subjects.remove(&digest);
        self.erased.insert(digest, erased_ns);
        if let Err(error) = self.save() {
            if let Some(key) = removed {
                self.subjects.insert(digest, key);
            }
            self.erased.remove(&digest);
            return Err(error);
        }
        Ok((digest, removed.is_some()))
    }

    fn save(&self) -> Result<()> {
        let file = File {
            format: FORMAT.to_owned(),
            version: 1,
            digest_secret: hex::encode(self.digest_secret),
            log_key: hex::encode(self.log_key),
            next_id: self.next_id,
            subjects: self
                .subjects
                .iter()
                .map(|(digest, k)| FileSubject {
                    digest: hex::encode(digest),
                    id: k.id,
                    key: hex::encode(k.key),
                })
                .collect(),
            erased: self
                .erased
                .iter()
                .map(|(digest, &erased_ns)| FileErased {
                    digest: hex::encode(digest),
                    erased_ns,
                })
                .collect(),
        };
        let text = serde_json::to_string(&file).map_err(|e| LedgerError::KeyStore {
            path: self.path.clone(),
            detail: e.to_string(),
        })?;
        write_replacing(&self.path, &text, 0o600)?;
        let dir = self
            .path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        sync_dir(dir)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_simulation_store_derives_every_secret_from_its_seed() {
        let dir = tempfile::tempdir().unwrap();
        let make = |name: &str, seed: u64| {
            let mut store = KeyStore::create_for_simulation(&dir.path().join(name), seed).unwrap();
            let (_, _, subject) = store.key_for_subject("DRONE-7").unwrap();
            let mut prefix = [0u8; 16];
            store.fill_random(&mut prefix, "a nonce prefix").unwrap();
            (store.log_key(), subject, prefix)
        };
        let first = make("a.wks", 7);
        assert_eq!(first, make("b.wks", 7));
        let other = make("c.wks", 8);
        assert_ne!(first.0, other.0);
        assert_ne!(first.1, other.1);
        // The secrets differ from each other, and a reopened store draws from the OS again.
        assert_ne!(first.0, first.1);
        let mut reopened = KeyStore::open(&dir.path().join("a.wks")).unwrap();
        let (_, _, again) = reopened.key_for_subject("DRONE-7").unwrap();
        assert_eq!(again, first.1, "the saved key is kept");
        let (_, _, fresh) = reopened.key_for_subject("DRONE-8").unwrap();
        let (_, _, seeded) = KeyStore::create_for_simulation(&dir.path().join("d.wks"), 7)
            .unwrap()
            .key_for_subject("DRONE-8")
            .unwrap();
        assert_ne!(fresh, seeded);
    }

    #[test]
    fn a_store_round_trips_and_keeps_its_keys_private() {
        let dir = tempfile::tempdir().unwrap();
        let path = KeyStore::default_path(dir.path());
        let mut store = KeyStore::create(&path).unwrap();
        let (digest, id, key) = store.key_for_subject("AV-2847-XK").unwrap();
        assert_eq!(id, 1);
        assert_eq!(digest, store.subject_digest("AV-2847-XK"));
        assert_ne!(digest, store.subject_digest("AV-2847-XL"));
        let back = KeyStore::open(&path).unwrap();
        assert_eq!(back.lookup(Some(&digest), 1), KeyLookup::Key(key));
        assert_eq!(back.lookup(None, 0), KeyLookup::Key(store.log_key()));
        assert_eq!(back.lookup(Some(&digest), 2), KeyLookup::Unknown);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            !text.contains("AV-2847"),
            "the store names subjects only by digest"
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert!(matches!(
            KeyStore::create(&path),
            Err(LedgerError::KeyExists { .. })
        ));
    }

    #[test]
    fn erasing_destroys_the_key_and_refuses_the_subject_afterwards() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("subjects.wks");
        let mut store = KeyStore::create(&path).unwrap();
        let (digest, id, key) = store.key_for_subject("alice").unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains(&hex::encode(key)));
        assert_eq!(store.erase("alice", 7).unwrap(), (digest, true));
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(!text.contains(&hex::encode(key)), "the key left the file");
        let back = KeyStore::open(&path).unwrap();
        assert_eq!(back.lookup(Some(&digest), id), KeyLookup::Erased);
        let mut back = back;
        assert!(matches!(
            back.key_for_subject("alice"),
            Err(LedgerError::SubjectErased { .. })
        ));
        assert!(matches!(
            back.erase("alice", 8),
            Err(LedgerError::SubjectErased { .. })
        ));
        assert!(!back.erase("carol", 9).unwrap().1, "never sealed: no key");
    }

    #[test]
    fn a_missing_store_is_a_typed_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("none.wks");
        assert!(matches!(
            KeyStore::open(&path),
            Err(LedgerError::KeyStoreMissing { .. })
        ));
    }
}
