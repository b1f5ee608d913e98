//! Torn and reordered writes (issue 15): the page cache loses unsynced pages in any order.
//!
//! [`PageCacheStore`] stands for a file under an operating system's page cache: appends land
//! in the cache, `sync` makes everything appended so far durable. A crash at a random moment
//! keeps the durable bytes and, of the unsynced tail, what writeback happened to reach the
//! disk: each 4 KiB page independently written back or lost (a lost page reads as zeros: a
//! new block, or the zeroed tail of the page that held the old end of file), and a file
//! length that may or may not have been updated (any page boundary between the durable end
//! and the cached end). The time index, never synced on its own, keeps a random prefix.
//!
//! After each crash the log must reopen without `salvage`, hold every entry acknowledged
//! before the crash (byte for byte), verify intact, and take appends again.
//!
//! CI runs [`DEFAULT_TRIALS`] trials; the campaign (`scripts/campaigns/torn_writes.sh`,
//! results in docs/reliability.md) runs `WHYLINE_TORN_TRIALS=10000`.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use whyline_ledger::{
    Durability, Ledger, LedgerError, MemoryStore, Result, Side, Store, VerifyOutcome, verify_store,
};

use crate::common::{options, payload};

/// Trials when `WHYLINE_TORN_TRIALS` is not set.
const DEFAULT_TRIALS: u64 = 100;

/// The page size of the simulated page cache.
const PAGE: usize = 4096;

#[derive(Default)]
struct Cache {
    entries: Vec<u8>,
    durable: usize,
    checkpoints: Vec<u8>,
    time_index: Vec<u8>,
}

/// A store whose bytes the test can still see (and crash) while a ledger owns it.
#[derive(Clone, Default)]
struct PageCacheStore {
    cache: Arc<Mutex<Cache>>,
}

impl PageCacheStore {
    fn lock(&self) -> MutexGuard<'_, Cache> {
        self.cache.lock().unwrap()
    }
}

impl Store for PageCacheStore {
    fn location(&self) -> &Path {
        Path::new("page-cache")
    }

    fn len(&self) -> u64 {
        self.lock().entries.len() as u64
    }

    fn append(&mut self, bytes: &[u8]) -> Result<u64> {
        let mut cache = self.lock();
        let at = cache.entries.len() as u64;
        cache.entries.extend_from_slice(bytes);
        Ok(at)
    }

    fn sync(&mut self) -> Result<()> {
        let mut cache = self.lock();
        cache.durable = cache.entries.len();
        Ok(())
    }

    fn durable_len(&self) -> u64 {
        self.lock().durable as u64
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<()> {
        let cache = self.lock();
        let from = offset as usize;
        match cache.entries.get(from..from + buf.len()) {
            Some(bytes) => {
                buf.copy_from_slice(bytes);
                Ok(())
            }
            None => Err(LedgerError::Io {
                path: PathBuf::from("page-cache"),
                operation: "read",
                source: std::io::Error::from(std::io::ErrorKind::UnexpectedEof),
            }),
        }
    }

    fn truncate(&mut self, len: u64) -> Result<()> {
        let mut cache = self.lock();
        cache.entries.truncate(len as usize);
        cache.durable = cache.durable.min(len as usize);
        Ok(())
    }

    fn append_side(&mut self, side: Side, bytes: &[u8], _durable: bool) -> Result<()> {
        let mut cache = self.lock();
        match side {
            // Always appended durably by the ledger, and kept whole by the crash.
            Side::Checkpoints => cache.checkpoints.extend_from_slice(bytes),
            Side::TimeIndex => cache.time_index.extend_from_slice(bytes),
        }
        Ok(())
    }

    fn read_side(&self, side: Side) -> Result<Vec<u8>> {
        let cache = self.lock();
        Ok(match side {
            Side::Checkpoints => cache.checkpoints.clone(),
            Side::TimeIndex => cache.time_index.clone(),
        })
    }

    fn truncate_side(&mut self, side: Side, len: u64) -> Result<()> {
        let mut cache = self.lock();
        match side {
            Side::Checkpoints => cache.checkpoints.truncate(len as usize),
            Side::TimeIndex => cache.time_index.truncate(len as usize),
        }
        Ok(())
    }
}

/// What a crash at this moment leaves on the disk, as a store to reopen.
fn crash(store: &PageCacheStore, rng: &mut fastrand::Rng) -> (MemoryStore, String) {
    let cache = store.lock();
    let (durable, cached) = (cache.durable, cache.entries.len());
    // The file length the file system persisted: the durable end, the cached end, or any
    // page boundary between them.
    let mut lengths = vec![durable, cached];
    lengths.extend(
        (durable / PAGE + 1..)
            .map(|p| p * PAGE)
            .take_while(|&b| b < cached),
    );
    let kept = lengths[rng.usize(..lengths.len())];
    let mut bytes = cache.entries[..kept].to_vec();
    let mut lost = Vec::new();
    let mut page = durable / PAGE * PAGE;
    while page < kept {
        if rng.bool() {
            let from = page.max(durable);
            let to = (page + PAGE).min(kept);
            bytes[from..to].fill(0);
            lost.push(page / PAGE);
        }
        page += PAGE;
    }
    let index_kept = rng.usize(..=cache.time_index.len());
    let mut crashed = MemoryStore::from_bytes(bytes, cache.checkpoints.clone());
    crashed
        .append_side(Side::TimeIndex, &cache.time_index[..index_kept], false)
        .unwrap();
    let what = format!(
        "durable {durable} of {cached} bytes, length kept {kept}, pages lost {lost:?}, index {index_kept} of {}",
        cache.time_index.len()
    );
    (crashed, what)
}

/// One trial: appends with commits at random, crashes at a random moment, reopens.
fn trial(seed: u64) {
    let mut rng = fastrand::Rng::with_seed(seed);
    let store = PageCacheStore::default();
    let options = options()
        .durability(Durability::None)
        .checkpoint_every(1 + rng.u64(..200));
    let (mut ledger, _) = Ledger::open(store.clone(), options.clone()).unwrap();
    let appends = rng.u64(1..600);
    for i in 0..appends {
        ledger.append(&payload(i)).unwrap();
        if rng.u64(..40) == 0 {
            ledger.commit().unwrap();
        }
    }
    // Every entry the ledger says is durable was acknowledged to its caller.
    let acknowledged = ledger.durable_size();
    let (crashed, what) = crash(&store, &mut rng);
    drop(ledger);

    let context = format!("seed {seed}: {appends} appended, {acknowledged} acknowledged; {what}");
    let (mut reopened, report) = Ledger::open(crashed, options.clone())
        .unwrap_or_else(|e| panic!("{context}: reopening failed: {e}"));
    assert!(
        report.entries >= acknowledged,
        "{context}: {} entries after recovery",
        report.entries
    );
    for i in 0..report.entries {
        let entry = reopened.read_entry(i).unwrap();
        assert_eq!(entry.payload, payload(i), "{context}: entry {i} changed");
    }
    match verify_store(reopened.store(), None).unwrap() {
        VerifyOutcome::Intact(verified) => {
            assert_eq!(verified.entries, report.entries, "{context}");
            assert!(verified.crash_residue.is_empty(), "{context}: {verified:?}");
        }
        VerifyOutcome::Broken(damage) => panic!("{context}: {damage}"),
    }
    // The log goes on.
    reopened.append(&payload(report.entries)).unwrap();
    reopened.commit().unwrap();
    let store = reopened.into_store().unwrap();
    assert!(
        matches!(
            verify_store(&store, None).unwrap(),
            VerifyOutcome::Intact(_)
        ),
        "{context}: broken after appending again"
    );
}

#[test]
fn lost_and_reordered_pages_never_lose_an_acknowledged_entry() {
    let trials = std::env::var("WHYLINE_TORN_TRIALS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(DEFAULT_TRIALS);
    for seed in 0..trials {
        trial(seed);
    }
    eprintln!("torn writes: {trials} trials, every acknowledged entry kept, every log intact");
}

#[test]
fn a_lost_page_in_the_middle_of_the_tail_is_crash_residue_not_damage() {
    // Two pages of unsynced entries after a durable prefix; the first lost, the second
    // written back: the entries in and after the hole were never acknowledged.
    // No checkpoint in the tail: a checkpoint commits the entries it covers first.
    let options = options().checkpoint_every(1_000_000);
    let store = PageCacheStore::default();
    let (mut ledger, _) = Ledger::open(store.clone(), options.clone()).unwrap();
    for i in 0..10 {
        ledger.append(&payload(i)).unwrap();
    }
    ledger.commit().unwrap();
    let acknowledged = ledger.durable_size();
    let durable = store.lock().durable;
    let mut i = 10;
    while store.lock().entries.len() < (durable / PAGE + 3) * PAGE {
        ledger.append(&payload(i)).unwrap();
        i += 1;
    }
    let mut bytes = store.lock().entries.clone();
    let hole = (durable / PAGE + 1) * PAGE;
    bytes[hole..hole + PAGE].fill(0);
    let checkpoints = store.lock().checkpoints.clone();
    let crashed = MemoryStore::from_bytes(bytes.clone(), checkpoints.clone());
    // Verify names it as residue of an intact log, not damage.
    match verify_store(&crashed, None).unwrap() {
        VerifyOutcome::Intact(report) => {
            assert_eq!(report.crash_residue.len(), 1, "{report:?}");
            assert!(report.entries >= acknowledged);
            assert!(report.crash_residue[0].offset < hole as u64 + 1);
        }
        VerifyOutcome::Broken(damage) => panic!("{damage}"),
    }
    let (reopened, report) = Ledger::open(crashed, options.clone()).unwrap();
    assert_eq!(
        store.lock().durable,
        durable,
        "nothing was committed after the hole"
    );
    assert!(report.entries >= acknowledged && report.entries < i);
    assert!(report.torn_bytes > PAGE as u64);
    drop(reopened);

    // The same bytes with one bit flipped instead of a page lost: damage, refused.
    let mut tampered = store.lock().entries.clone();
    tampered[hole + 100] ^= 4;
    let tampered = MemoryStore::from_bytes(tampered, checkpoints);
    assert!(matches!(
        verify_store(&tampered, None).unwrap(),
        VerifyOutcome::Broken(_)
    ));
    assert!(matches!(
        Ledger::open(tampered, options),
        Err(LedgerError::Corrupt { .. })
    ));
}
