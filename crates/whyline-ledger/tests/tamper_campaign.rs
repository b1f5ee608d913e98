//! Tampering at scale (issue 15): random tamperings of signed logs of several sizes (bit
//! flips, byte changes, deleted, duplicated, swapped and forged frames, truncations,
//! checkpoint edits, time-index edits), each expected to be found at the right first entry
//! with the right kind. Every log is covered by a signed checkpoint to its last entry, so no
//! change may pass as crash residue.
//!
//! CI runs [`DEFAULT_TRIALS`] trials; the campaign (`scripts/campaigns/tamper.sh`, results in
//! docs/reliability.md) runs `WHYLINE_TAMPER_TRIALS=10000`. The expected outcome of each
//! tampering is computed here from the documented layout (docs/ledger-format.md), not from
//! the verifier's code.

use std::collections::BTreeMap;
use std::io::Write;

use whyline_ledger::{
    CorruptionKind, INDEX_RECORD_LEN, Ledger, MemoryStore, Side, Store, VerifyOutcome, verify_store,
};

use crate::common::{frame_spans, options, payload, reseal, signer};

/// Trials when `WHYLINE_TAMPER_TRIALS` is not set.
const DEFAULT_TRIALS: u64 = 200;

/// Log sizes (entries); 2,100 gives two time-index records.
const SIZES: [u64; 7] = [1, 2, 3, 17, 64, 255, 2_100];

struct Pristine {
    store: MemoryStore,
    checkpoint_sizes: Vec<u64>,
    n: u64,
}

fn pristine(n: u64) -> Pristine {
    let (mut ledger, _) = Ledger::open(MemoryStore::new(), options().checkpoint_every(64)).unwrap();
    for i in 0..n {
        ledger.append(&payload(i)).unwrap();
    }
    ledger.checkpoint().unwrap();
    let mut checkpoint_sizes: Vec<u64> = ledger
        .checkpoints()
        .iter()
        .map(|c| c.checkpoint.size)
        .collect();
    checkpoint_sizes.sort_unstable();
    checkpoint_sizes.dedup();
    Pristine {
        store: ledger.into_store().unwrap(),
        checkpoint_sizes,
        n,
    }
}

/// What verification must say about a tampered log.
enum Expect {
    /// Damage at this entry index, of a kind `matches` accepts.
    Entry(u64, &'static str, fn(&CorruptionKind) -> bool),
    /// Damage in the checkpoints file.
    CheckpointFile,
    /// An intact log whose time index disagrees at this record.
    IndexRecord(u64),
}

impl std::fmt::Display for Expect {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Expect::Entry(index, kind, _) => write!(f, "{kind} at entry {index}"),
            Expect::CheckpointFile => f.write_str("damage in the checkpoints file"),
            Expect::IndexRecord(record) => write!(f, "time index record {record} named"),
        }
    }
}

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

fn is_content_changed(kind: &CorruptionKind) -> bool {
    *kind == CorruptionKind::ContentChanged
}
fn is_bad_frame(kind: &CorruptionKind) -> bool {
    *kind == CorruptionKind::BadFrame
}
fn is_torn(kind: &CorruptionKind) -> bool {
    matches!(kind, CorruptionKind::TornTail { .. })
}
fn is_missing(kind: &CorruptionKind) -> bool {
    matches!(kind, CorruptionKind::EntryMissing { .. })
}
fn is_duplicated(kind: &CorruptionKind) -> bool {
    *kind == CorruptionKind::Duplicated
}
fn is_reordered(kind: &CorruptionKind) -> bool {
    matches!(kind, CorruptionKind::EntriesReordered { .. })
}
fn is_inserted(kind: &CorruptionKind) -> bool {
    *kind == CorruptionKind::Inserted
}
fn is_beyond(kind: &CorruptionKind) -> bool {
    matches!(kind, CorruptionKind::CheckpointBeyondLog { .. })
}
fn is_any(_: &CorruptionKind) -> bool {
    true
}

/// Applies one random tampering of kind `which` to a copy of `log`; returns its name, the
/// tampered store and what verification must find.
fn tamper(log: &Pristine, which: u64, rng: &mut Rng) -> (&'static str, MemoryStore, Expect) {
    let mut store = log.store.clone();
    let spans = frame_spans(store.entry_bytes());
    let n = log.n;
    let last = n - 1;
    let frame_of = |byte: usize| spans.iter().position(|s| s.contains(&byte));
    match which {
        // A flipped bit or a changed byte anywhere in the entry log.
        0 | 1 => {
            let len = store.entry_bytes().len();
            let at = rng.below(len as u64) as usize;
            let bytes = store.entry_bytes_mut();
            if which == 0 {
                bytes[at] ^= 1 << rng.below(8);
            } else {
                bytes[at] ^= 1 + rng.below(255) as u8;
            }
            let name = if which == 0 {
                "bit flip"
            } else {
                "byte change"
            };
            let Some(k) = frame_of(at) else {
                return (name, store, Expect::Entry(0, "file header", is_any));
            };
            let offset = at - spans[k].start;
            let expect = if offset < 16 {
                Expect::Entry(k as u64, "bad frame", is_bad_frame)
            } else if k as u64 == last {
                Expect::Entry(last, "torn tail (whole last frame)", is_torn)
            } else {
                Expect::Entry(k as u64, "content changed", is_content_changed)
            };
            (name, store, expect)
        }
        // A deleted frame.
        2 => {
            let k = rng.below(n);
            store.entry_bytes_mut().drain(spans[k as usize].clone());
            let expect = if k == last {
                Expect::Entry(n, "checkpoint beyond log", is_beyond)
            } else {
                Expect::Entry(k, "entry missing", is_missing)
            };
            ("deletion", store, expect)
        }
        // A duplicated frame, right after itself.
        3 => {
            let k = rng.below(n) as usize;
            let copy = store.entry_bytes()[spans[k].clone()].to_vec();
            store
                .entry_bytes_mut()
                .splice(spans[k].end..spans[k].end, copy);
            (
                "duplication",
                store,
                Expect::Entry(k as u64 + 1, "duplicated", is_duplicated),
            )
        }
        // Two neighbours swapped.
        4 if n >= 2 => {
            let k = rng.below(n - 1) as usize;
            let a = store.entry_bytes()[spans[k].clone()].to_vec();
            let b = store.entry_bytes()[spans[k + 1].clone()].to_vec();
            let mut swapped = b;
            swapped.extend_from_slice(&a);
            store
                .entry_bytes_mut()
                .splice(spans[k].start..spans[k + 1].end, swapped);
            (
                "swap",
                store,
                Expect::Entry(k as u64, "entries reordered", is_reordered),
            )
        }
        // A forged frame (well formed, resealed) inserted before the frame it claims to be.
        5 => {
            let k = rng.below(n) as usize;
            let mut forged = store.entry_bytes()[spans[k].clone()].to_vec();
            let payload_at = 16 + rng.below((forged.len() - 52) as u64) as usize;
            forged[payload_at] ^= 0x20;
            let len = forged.len();
            reseal(&mut forged, 0..len);
            let at = spans[k].start;
            store.entry_bytes_mut().splice(at..at, forged);
            (
                "forged insertion",
                store,
                Expect::Entry(k as u64, "inserted", is_inserted),
            )
        }
        // A truncation: every cut reaches checkpointed entries.
        6 => {
            let len = store.entry_bytes().len() as u64;
            let cut = 16 + rng.below(len - 16);
            store.entry_bytes_mut().truncate(cut as usize);
            let whole = spans.iter().filter(|s| s.end as u64 <= cut).count() as u64;
            let first_beyond = log
                .checkpoint_sizes
                .iter()
                .copied()
                .find(|&size| size > whole)
                .unwrap_or(n);
            // The first checkpoint past the cut is the one named.
            (
                "truncation",
                store,
                Expect::Entry(first_beyond, "checkpoint beyond log", is_beyond),
            )
        }
        // A changed byte in the checkpoints file.
        7 => {
            let mut side = store.read_side(Side::Checkpoints).unwrap();
            let at = rng.below(side.len() as u64) as usize;
            side[at] ^= 1 + rng.below(255) as u8;
            store.truncate_side(Side::Checkpoints, 0).unwrap();
            store.append_side(Side::Checkpoints, &side, true).unwrap();
            ("checkpoint edit", store, Expect::CheckpointFile)
        }
        // A changed byte in the time index (logs of at least one index block).
        8 => {
            let mut side = store.read_side(Side::TimeIndex).unwrap();
            if side.is_empty() {
                return tamper(log, 0, rng);
            }
            let at = rng.below(side.len() as u64) as usize;
            side[at] ^= 1 + rng.below(255) as u8;
            store.truncate_side(Side::TimeIndex, 0).unwrap();
            store.append_side(Side::TimeIndex, &side, false).unwrap();
            let record = (at / INDEX_RECORD_LEN) as u64;
            ("time index edit", store, Expect::IndexRecord(record))
        }
        _ => tamper(log, 0, rng),
    }
}

#[derive(Default)]
struct Count {
    trials: u64,
    found: u64,
    misses: Vec<String>,
}

fn campaign(trials: u64, seed: u64) -> BTreeMap<&'static str, Count> {
    let logs: Vec<Pristine> = SIZES.iter().map(|&n| pristine(n)).collect();
    let verifier = signer().verifier();
    let mut rng = Rng(seed);
    let mut counts: BTreeMap<&'static str, Count> = BTreeMap::new();
    for trial in 0..trials {
        let log = &logs[rng.below(logs.len() as u64) as usize];
        let which = rng.below(9);
        let (name, store, expect) = tamper(log, which, &mut rng);
        let outcome = verify_store(&store, Some(&verifier)).unwrap();
        let verdict = match (&expect, &outcome) {
            (Expect::Entry(index, _, matches), VerifyOutcome::Broken(damage)) => {
                damage.index == *index && matches(&damage.kind)
            }
            (Expect::CheckpointFile, VerifyOutcome::Broken(damage)) => {
                damage.path.ends_with(whyline_ledger::CHECKPOINTS_FILE)
            }
            (Expect::IndexRecord(record), VerifyOutcome::Intact(report)) => {
                report.time_index_mismatch == Some(*record)
            }
            _ => false,
        };
        let count = counts.entry(name).or_default();
        count.trials += 1;
        if verdict {
            count.found += 1;
        } else {
            let found = match &outcome {
                VerifyOutcome::Intact(report) => format!(
                    "intact ({} entries, residue {:?}, index mismatch {:?})",
                    report.entries, report.crash_residue, report.time_index_mismatch
                ),
                VerifyOutcome::Broken(damage) => damage.to_string(),
            };
            count.misses.push(format!(
                "trial {trial}, {} entries: {name}: expected {expect}, found {found}",
                log.n
            ));
        }
    }
    counts
}

#[test]
fn random_tampering_is_found_at_the_right_entry_with_the_right_kind() {
    let trials = std::env::var("WHYLINE_TAMPER_TRIALS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(DEFAULT_TRIALS);
    let counts = campaign(trials, 0x5851_f42d_4c95_7f2d);
    let mut err = std::io::stderr().lock();
    let mut misses = Vec::new();
    for (name, count) in &counts {
        // The campaign script greps these lines (run with --nocapture).
        let _ = writeln!(
            err,
            "tamper {name}: trials {} found {} missed {}",
            count.trials,
            count.found,
            count.misses.len()
        );
        misses.extend(count.misses.iter().cloned());
    }
    assert_eq!(counts.len(), 9, "every kind of tampering was tried");
    assert!(
        misses.is_empty(),
        "{} misses:\n{}",
        misses.len(),
        misses.join("\n")
    );
}
