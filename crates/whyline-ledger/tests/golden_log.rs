//! The writer's bytes against logs built independently by `fixtures/ledger/build.py`
//! (Python standard library) from `docs/ledger-format.md`: the format is pinned by an outside
//! implementation, not by the code under test. One log per format version: version 2 is what
//! the writer produces; version 1 (committed before version 2 existed, never regenerated)
//! must still verify and be continued with its own chain rule.

use whyline_ledger::{
    CorruptionKind, Durability, FormatVersion, Ledger, LedgerOptions, MemoryStore, Store,
    chain_hash, chain_hash_v1, leaf_hash,
};

const NAMES: [&str; 5] = ["linear", "tree", "forest", "knn", "neural"];

const V1_LOG: &[u8] = include_bytes!("fixtures/ledger/entries.wls");
const V2_LOG: &[u8] = include_bytes!("fixtures/ledger/entries-v2.wls");

fn golden(name: &str) -> Vec<u8> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../whyline-core/tests/fixtures/golden")
        .join(format!("{name}.aprt"));
    std::fs::read(path).unwrap()
}

#[derive(serde::Deserialize)]
struct Expected {
    version: u32,
    entries: Vec<ExpectedEntry>,
    root: String,
    bytes: u64,
}

#[derive(serde::Deserialize)]
struct ExpectedEntry {
    index: u64,
    offset: u64,
    chain: String,
    leaf: String,
}

fn expected(version: FormatVersion) -> Expected {
    let text = match version {
        FormatVersion::V1 => include_str!("fixtures/ledger/expected.json"),
        FormatVersion::V2 => include_str!("fixtures/ledger/expected-v2.json"),
    };
    let expected: Expected = serde_json::from_str(text).unwrap();
    assert_eq!(expected.version, version.as_u32());
    expected
}

fn options() -> LedgerOptions {
    LedgerOptions::without_checkpoints("golden").durability(Durability::None)
}

#[test]
fn the_writer_produces_the_golden_v2_log_byte_for_byte() {
    let (mut ledger, _) = Ledger::open(MemoryStore::new(), options()).unwrap();
    assert_eq!(ledger.format_version(), FormatVersion::V2);
    let expected = expected(FormatVersion::V2);
    for (name, entry) in NAMES.iter().zip(&expected.entries) {
        let receipt = ledger.append(&golden(name)).unwrap();
        assert_eq!(receipt.index, entry.index);
        assert_eq!(hex::encode(receipt.chain_hash), entry.chain, "{name}");
        assert_eq!(hex::encode(receipt.leaf_hash), entry.leaf, "{name}");
        assert_eq!(ledger.read_entry(entry.index).unwrap().offset, entry.offset);
    }
    assert_eq!(hex::encode(ledger.root()), expected.root);
    let store = ledger.into_store().unwrap();
    assert_eq!(store.len(), expected.bytes);
    assert_eq!(store.entry_bytes(), V2_LOG);
}

#[test]
fn both_golden_logs_verify_and_their_hashes_follow_the_documented_formulas() {
    for (version, log) in [(FormatVersion::V1, V1_LOG), (FormatVersion::V2, V2_LOG)] {
        let store = MemoryStore::from_bytes(log.to_vec(), Vec::new());
        let report = crate::common::intact(&store, None);
        let expected = expected(version);
        assert_eq!(report.entries, 5);
        assert_eq!(report.format_version, version);
        assert_eq!(hex::encode(report.root), expected.root);
        let mut previous = [0u8; 32];
        for (name, entry) in NAMES.iter().zip(&expected.entries) {
            let payload = golden(name);
            let leaf = leaf_hash(&payload);
            let chain = match version {
                FormatVersion::V1 => chain_hash_v1(entry.index, &previous, &payload),
                FormatVersion::V2 => chain_hash(entry.index, &previous, &leaf),
            };
            assert_eq!(hex::encode(chain), entry.chain, "{version:?} {name}");
            assert_eq!(hex::encode(leaf), entry.leaf);
            previous = chain;
        }
    }
    // Same records, same Merkle tree: only the chain differs between the versions.
    let (v1, v2) = (expected(FormatVersion::V1), expected(FormatVersion::V2));
    assert_eq!(v1.root, v2.root);
    assert_eq!(v1.bytes, v2.bytes);
}

#[test]
fn a_v1_log_is_continued_with_the_v1_chain_rule() {
    // The golden v1 log cut after three entries, reopened by this build, then given the
    // last two records: the result is the whole golden v1 log, byte for byte.
    let expected = expected(FormatVersion::V1);
    let cut = usize::try_from(expected.entries[3].offset).unwrap();
    let store = MemoryStore::from_bytes(V1_LOG[..cut].to_vec(), Vec::new());
    let (mut ledger, report) = Ledger::open(store, options()).unwrap();
    assert_eq!(report.entries, 3);
    assert_eq!(ledger.format_version(), FormatVersion::V1);
    for (name, entry) in NAMES.iter().zip(&expected.entries).skip(3) {
        let receipt = ledger.append(&golden(name)).unwrap();
        assert_eq!(hex::encode(receipt.chain_hash), entry.chain, "{name}");
    }
    let store = ledger.into_store().unwrap();
    assert_eq!(store.entry_bytes(), V1_LOG);
}

#[test]
fn a_log_whose_header_claims_the_other_version_breaks_at_its_first_entry() {
    // The version is part of what the chain commits to: swapping the header's version
    // makes the first link fail (the frames' CRCs still pass).
    for (log, from, to) in [(V1_LOG, 1u8, 2u8), (V2_LOG, 2, 1)] {
        let mut bytes = log.to_vec();
        assert_eq!(bytes[8], from);
        bytes[8] = to;
        let store = MemoryStore::from_bytes(bytes, Vec::new());
        let damage = crate::common::damage(&store, None);
        assert_eq!(damage.index, 0, "{damage}");
        assert_eq!(damage.intact_entries, 0);
        assert!(
            matches!(
                damage.kind,
                CorruptionKind::ContentChanged | CorruptionKind::LinkBroken
            ),
            "{damage}"
        );
    }
}

#[test]
fn an_unknown_format_version_is_a_bad_header() {
    for version in [0u8, 3, 0xff] {
        let mut bytes = V2_LOG.to_vec();
        bytes[8] = version;
        let store = MemoryStore::from_bytes(bytes, Vec::new());
        let damage = crate::common::damage(&store, None);
        assert_eq!(damage.kind, CorruptionKind::BadHeader, "version {version}");
    }
}
