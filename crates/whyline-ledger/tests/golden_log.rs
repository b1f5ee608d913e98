//! The writer's bytes against a log built independently by `fixtures/ledger/build.py`
//! (Python standard library) from `docs/ledger-format.md`: the format is pinned by an outside
//! implementation, not by the code under test.

use whyline_ledger::{
    Durability, Ledger, LedgerOptions, MemoryStore, Store, chain_hash, leaf_hash,
};

const NAMES: [&str; 5] = ["linear", "tree", "forest", "knn", "neural"];

fn golden(name: &str) -> Vec<u8> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../whyline-core/tests/fixtures/golden")
        .join(format!("{name}.aprt"));
    std::fs::read(path).unwrap()
}

#[derive(serde::Deserialize)]
struct Expected {
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

fn expected() -> Expected {
    serde_json::from_str(include_str!("fixtures/ledger/expected.json")).unwrap()
}

#[test]
fn the_writer_produces_the_golden_log_byte_for_byte() {
    let (mut ledger, _) = Ledger::open(
        MemoryStore::new(),
        LedgerOptions::without_checkpoints("golden").durability(Durability::None),
    )
    .unwrap();
    let expected = expected();
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
    assert_eq!(
        store.entry_bytes(),
        include_bytes!("fixtures/ledger/entries.wls")
    );
}

#[test]
fn the_golden_log_verifies_and_its_hashes_follow_the_documented_formulas() {
    let store = MemoryStore::from_bytes(
        include_bytes!("fixtures/ledger/entries.wls").to_vec(),
        Vec::new(),
    );
    let report = crate::common::intact(&store, None);
    let expected = expected();
    assert_eq!(report.entries, 5);
    assert_eq!(hex::encode(report.root), expected.root);
    let mut previous = [0u8; 32];
    for (name, entry) in NAMES.iter().zip(&expected.entries) {
        let payload = golden(name);
        let chain = chain_hash(entry.index, &previous, &payload);
        assert_eq!(hex::encode(chain), entry.chain);
        assert_eq!(hex::encode(leaf_hash(&payload)), entry.leaf);
        previous = chain;
    }
}
