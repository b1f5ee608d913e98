//! C2SP tlog-tiles against an independent implementation of the tile arithmetic, written here
//! from the spec text (c2sp.org/tlog-tiles) and RFC 9162 §2.1, not from the crate: which
//! tiles a tree of size `s` has, how paths are spelled, and the tree rebuilt from tiles
//! alone, whose root, inclusion proofs and consistency proofs must equal the ledger's own
//! and its signed checkpoint's.

use std::collections::HashMap;

use sha2::{Digest, Sha256};
use whyline_ledger::{
    Checkpoint, Ledger, LedgerError, MemoryStore, TileCache, TileErrorKind, TileKind, TilePath,
    consistency_proof, inclusion_proof, parse_tile_path, read_tile,
};

use crate::common::{options, payload, signer};

type Hash = [u8; 32];

/// The spec's "Partial Tiles": for each level, the full tiles (`floor(s / 256^(l+1))`) and
/// the partial one (`floor(s / 256^l) mod 256` wide), as `(level, index, width)`.
fn spec_tiles(size: u64) -> Vec<(u8, u64, u16)> {
    let mut tiles = Vec::new();
    let mut level = 0u32;
    loop {
        let at_level = size / 256u64.pow(level);
        if at_level == 0 {
            break;
        }
        for index in 0..at_level / 256 {
            tiles.push((level as u8, index, 256));
        }
        if !at_level.is_multiple_of(256) {
            tiles.push((level as u8, at_level / 256, (at_level % 256) as u16));
        }
        level += 1;
    }
    tiles
}

#[test]
fn the_tiles_of_the_spec_examples() {
    // "a tree of size 70,000 will be represented by 273 full level 0 tiles, one partial
    // level 0 tile of width 112, one full level 1 tile, one partial level 1 tile of width
    // 17, and one partial level 2 tile of width 1."
    let tiles = spec_tiles(70_000);
    let count = |level: u8, width: u16| {
        tiles
            .iter()
            .filter(|t| t.0 == level && t.2 == width)
            .count()
    };
    assert_eq!(count(0, 256), 273);
    assert_eq!(count(0, 112), 1);
    assert_eq!(count(1, 256), 1);
    assert_eq!(count(1, 17), 1);
    assert_eq!(count(2, 1), 1);
    assert_eq!(tiles.len(), 273 + 4);
    // "a tree of size 256 will be represented by a full level 0 tile and a partial level 1
    // tile of width 1."
    assert_eq!(spec_tiles(256), vec![(0, 0, 256), (1, 0, 1)]);
}

#[test]
fn tile_paths_are_spelled_as_the_spec_and_tessera_spell_them() {
    for (path, kind, index, width) in [
        ("tile/0/001", TileKind::Hashes { level: 0 }, 1, 256),
        ("tile/0/001.p/5", TileKind::Hashes { level: 0 }, 1, 5),
        (
            "tile/5/x123/x456/078",
            TileKind::Hashes { level: 5 },
            123_456_078,
            256,
        ),
        (
            "tile/5/x123/x456/078.p/2",
            TileKind::Hashes { level: 5 },
            123_456_078,
            2,
        ),
        (
            "tile/0/x003/x057/500",
            TileKind::Hashes { level: 0 },
            3_057_500,
            256,
        ),
        ("tile/63/000", TileKind::Hashes { level: 63 }, 0, 256),
        // The spec's example index, and tessera's EntriesPath(1234067, 8).
        (
            "tile/1/x001/x234/067",
            TileKind::Hashes { level: 1 },
            1_234_067,
            256,
        ),
        (
            "tile/entries/x001/x234/067.p/8",
            TileKind::Entries,
            1_234_067,
            8,
        ),
        ("tile/entries/x001/000", TileKind::Entries, 1_000, 256),
        // A zero group after the first is no leading zero.
        (
            "tile/0/x001/x000/005",
            TileKind::Hashes { level: 0 },
            1_000_005,
            256,
        ),
        (
            "tile/0/x018/x446/x744/x073/x709/x551/615",
            TileKind::Hashes { level: 0 },
            u64::MAX,
            256,
        ),
    ] {
        let parsed = parse_tile_path(path).unwrap_or_else(|e| panic!("{path}: {e}"));
        assert_eq!(
            (parsed.kind(), parsed.index(), parsed.width()),
            (kind, index, width),
            "{path}"
        );
        assert_eq!(parsed.to_string(), path);
        assert_eq!(parse_tile_path(&format!("/{path}")).unwrap(), parsed);
    }
}

#[test]
fn tile_paths_are_built_only_within_the_levels_and_widths_a_tile_can_have() {
    for (level, width) in [(0, 1), (0, 256), (63, 256), (63, 7)] {
        let path = TilePath::hashes(level, 3, width).unwrap();
        assert_eq!(
            (path.kind(), path.index(), path.width()),
            (TileKind::Hashes { level }, 3, width)
        );
    }
    for (level, width) in [(64, 256), (255, 1), (0, 0), (0, 257), (63, u16::MAX)] {
        let error = TilePath::hashes(level, 3, width).unwrap_err();
        assert!(
            matches!(
                error,
                LedgerError::Tile {
                    kind: TileErrorKind::BadPath { .. },
                    ..
                }
            ),
            "level {level}, width {width}: {error:?}"
        );
    }
    assert_eq!(TilePath::entries(9, 256).unwrap().width(), 256);
    assert!(TilePath::entries(9, 0).is_err());
    assert!(TilePath::entries(9, 257).is_err());
}

#[test]
fn malformed_or_uncanonical_tile_paths_are_refused() {
    for path in [
        "",
        "tile",
        "tiles/0/000",
        "tile/0",
        "tile/-1/000",
        "tile/64/000",
        "tile/00/000",
        "tile/01/000",
        "tile/data/x003/x057/500",
        "tile/3/5/123/456/078",
        "tile/0/5",
        "tile/0/0005",
        "tile/0/x000/005",
        "tile/0/x001",
        "tile/0/x001/",
        "tile/0/001/002",
        "tile/0/000.p",
        "tile/0/000.p/0",
        "tile/0/000.p/256",
        "tile/0/000.p/05",
        "tile/0/000.p/5/6",
        "tile/0/x001.p/5/000",
        "tile/0/x018/x446/x744/x073/x709/x551/616",
        "tile/entries/000.p/x",
    ] {
        let error = parse_tile_path(path).unwrap_err();
        assert!(
            matches!(
                error,
                LedgerError::Tile {
                    kind: TileErrorKind::BadPath { .. },
                    ..
                }
            ),
            "{path:?}: {error:?}"
        );
    }
}

/// A memory ledger of `n` entries with a signed checkpoint of all of them.
fn ledger(n: u64) -> Ledger<MemoryStore> {
    let (mut ledger, _) = Ledger::open(MemoryStore::new(), options().checkpoint_every(0)).unwrap();
    for i in 0..n {
        ledger.append(&payload(i)).unwrap();
    }
    ledger.checkpoint().unwrap();
    ledger
}

fn node(left: &Hash, right: &Hash) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update([1u8]);
    hasher.update(left);
    hasher.update(right);
    hasher.finalize().into()
}

/// A tree known only through its tiles, as a client that fetched them holds it.
struct TiledTree {
    size: u64,
    /// `(level, index)` to the tile's hashes.
    tiles: HashMap<(u8, u64), Vec<Hash>>,
}

impl TiledTree {
    /// Fetches every tile of the tree (and checks each entry bundle against its level-0 tile).
    fn fetch(ledger: &Ledger<MemoryStore>, cache: &mut TileCache) -> TiledTree {
        let size = ledger.checkpoints().last().unwrap().checkpoint.size;
        let mut tiles = HashMap::new();
        for (level, index, width) in spec_tiles(size) {
            let path = TilePath::hashes(level, index, width).unwrap();
            let bytes = cache.read_ledger_tile(ledger, &path).unwrap();
            assert_eq!(bytes.len(), 32 * usize::from(width), "{path}");
            let hashes: Vec<Hash> = bytes.chunks(32).map(|c| c.try_into().unwrap()).collect();
            if level == 0 {
                let bundle = cache
                    .read_ledger_tile(ledger, &TilePath::entries(index, width).unwrap())
                    .unwrap();
                let mut at = 0;
                for (i, hash) in hashes.iter().enumerate() {
                    let len = u16::from_be_bytes([bundle[at], bundle[at + 1]]) as usize;
                    let entry = &bundle[at + 2..at + 2 + len];
                    let leaf: Hash = Sha256::new()
                        .chain_update([0u8])
                        .chain_update(entry)
                        .finalize()
                        .into();
                    assert_eq!(&leaf, hash, "bundle {index}, entry {i}");
                    at += 2 + len;
                }
                assert_eq!(at, bundle.len(), "bundle {index} has trailing bytes");
            }
            tiles.insert((level, index), hashes);
        }
        TiledTree { size, tiles }
    }

    /// `MTH(D[start:end])` (RFC 9162 §2.1.1) from tile hashes: a range of `256^l` leaves
    /// aligned on its size is one hash of a level-`l` tile; any other range splits at the
    /// largest power of two below its length.
    fn mth(&self, start: u64, end: u64) -> Hash {
        let n = end - start;
        assert!(n > 0);
        for level in (0..=7u32).rev() {
            let span = 256u64.pow(level);
            if n == span && start.is_multiple_of(span) {
                let position = start / span;
                let tile = &self.tiles[&(level as u8, position / 256)];
                return tile[(position % 256) as usize];
            }
        }
        let k = 1u64 << (63 - (n - 1).leading_zeros());
        node(&self.mth(start, start + k), &self.mth(start + k, end))
    }

    fn root(&self) -> Hash {
        if self.size == 0 {
            return Sha256::digest([]).into();
        }
        self.mth(0, self.size)
    }

    /// RFC 9162 §2.1.3.1 `PATH(m, D[start:end])`.
    fn path(&self, m: u64, start: u64, end: u64) -> Vec<Hash> {
        let n = end - start;
        if n == 1 {
            return Vec::new();
        }
        let k = 1u64 << (63 - (n - 1).leading_zeros());
        if m < k {
            let mut proof = self.path(m, start, start + k);
            proof.push(self.mth(start + k, end));
            proof
        } else {
            let mut proof = self.path(m - k, start + k, end);
            proof.push(self.mth(start, start + k));
            proof
        }
    }

    /// RFC 9162 §2.1.4.1 `SUBPROOF(m, D[start:end], b)`.
    fn subproof(&self, m: u64, start: u64, end: u64, complete: bool) -> Vec<Hash> {
        let n = end - start;
        if m == n {
            return if complete {
                Vec::new()
            } else {
                vec![self.mth(start, end)]
            };
        }
        let k = 1u64 << (63 - (n - 1).leading_zeros());
        if m <= k {
            let mut proof = self.subproof(m, start, start + k, complete);
            proof.push(self.mth(start + k, end));
            proof
        } else {
            let mut proof = self.subproof(m - k, start + k, end, false);
            proof.push(self.mth(start, start + k));
            proof
        }
    }
}

fn check_size(size: u64, inclusion: &[u64], consistency: &[u64]) {
    let ledger = ledger(size);
    let mut cache = TileCache::new();
    let tiled = TiledTree::fetch(&ledger, &mut cache);
    let note = &ledger.checkpoints().last().unwrap().note;
    let checkpoint = Checkpoint::verify(note, &signer().verifier()).unwrap();
    assert_eq!(checkpoint.size, size);
    assert_eq!(tiled.root(), ledger.root(), "size {size}: root from tiles");
    assert_eq!(
        tiled.root(),
        checkpoint.root,
        "size {size}: checkpoint root"
    );
    let tree = ledger.merkle_tree().unwrap();
    for &index in inclusion.iter().filter(|&&i| i < size) {
        assert_eq!(
            tiled.path(index, 0, size),
            inclusion_proof(&tree, index, size).unwrap(),
            "size {size}: inclusion of {index}"
        );
    }
    for &old in consistency.iter().filter(|&&m| 0 < m && m < size) {
        assert_eq!(
            tiled.subproof(old, 0, size, true),
            consistency_proof(&tree, old, size).unwrap(),
            "size {size}: consistency from {old}"
        );
    }
    // Nothing beyond the tree: the next tile at level 0 (or a wider one) is unavailable.
    let beyond = TilePath::hashes(0, size / 256 + 1, 256).unwrap();
    assert!(matches!(
        cache.read_ledger_tile(&ledger, &beyond),
        Err(LedgerError::Tile {
            kind: TileErrorKind::Unavailable { held: 0, .. },
            ..
        })
    ));
}

#[test]
fn tiles_rebuild_the_root_and_proofs_of_small_trees() {
    let probes = [0, 1, 2, 100, 254, 255, 256];
    for size in [0, 1, 255, 256, 257] {
        check_size(size, &probes, &probes);
    }
}

#[test]
fn tiles_rebuild_the_root_and_proofs_of_a_tree_past_two_levels() {
    let size = 65_536 + 1;
    let probes = [0, 1, 255, 256, 257, 30_000, 65_535, 65_536];
    check_size(size, &probes, &[1, 255, 256, 257, 30_000, 65_535, 65_536]);
}

#[test]
fn only_the_latest_checkpoints_tree_is_served_and_narrower_partial_tiles_stay_servable() {
    let mut ledger = ledger(300);
    // Entries past the checkpoint are not served until a checkpoint covers them.
    for i in 300..600 {
        ledger.append(&payload(i)).unwrap();
    }
    let mut cache = TileCache::new();
    let full = TilePath::hashes(0, 1, 256).unwrap();
    let error = cache.read_ledger_tile(&ledger, &full).unwrap_err();
    assert!(
        matches!(
            error,
            LedgerError::Tile {
                kind: TileErrorKind::Unavailable {
                    size: 300,
                    held: 44,
                    width: 256
                },
                ..
            }
        ),
        "{error:?}"
    );
    assert_eq!(
        error.to_string(),
        "tile/0/001: the tree of size 300 holds 44 of the 256 hashes this tile needs at its level"
    );
    let partial_44 = cache
        .read_ledger_tile(&ledger, &TilePath::hashes(0, 1, 44).unwrap())
        .unwrap();
    ledger.checkpoint().unwrap();
    let full_tile = cache.read_ledger_tile(&ledger, &full).unwrap();
    // The partial tile of the older checkpoint is a prefix of the full one, and still served.
    assert_eq!(&full_tile[..44 * 32], partial_44.as_slice());
    let partial_10 = cache
        .read_ledger_tile(&ledger, &TilePath::hashes(0, 1, 10).unwrap())
        .unwrap();
    assert_eq!(&full_tile[..10 * 32], partial_10.as_slice());
    // The same bytes without a cache, from a cache caught up ahead (as a server does at
    // start), and from a cache that grew in another order.
    assert_eq!(read_tile(ledger.store(), 600, &full).unwrap(), full_tile);
    let mut warm = TileCache::new();
    warm.catch_up(ledger.store(), 600).unwrap();
    assert_eq!(warm.covered(), 600);
    assert_eq!(warm.read_ledger_tile(&ledger, &full).unwrap(), full_tile);
    let level1 = TilePath::hashes(1, 0, 2).unwrap();
    assert_eq!(
        cache.read_ledger_tile(&ledger, &level1).unwrap(),
        read_tile(ledger.store(), 600, &level1).unwrap()
    );
    // A level-1 hash stands for 256 entries: 600 hold two, not three.
    let error = cache
        .read_ledger_tile(&ledger, &TilePath::hashes(1, 0, 3).unwrap())
        .unwrap_err();
    assert!(
        matches!(
            error,
            LedgerError::Tile {
                kind: TileErrorKind::Unavailable {
                    size: 600,
                    held: 2,
                    width: 3
                },
                ..
            }
        ),
        "{error:?}"
    );
}

#[test]
fn an_entry_too_long_for_a_bundle_is_refused_while_its_hash_tile_is_served() {
    let (mut ledger, _) = Ledger::open(MemoryStore::new(), options().checkpoint_every(0)).unwrap();
    ledger.append(&payload(0)).unwrap();
    ledger.append(&vec![7u8; 70_000]).unwrap();
    ledger.checkpoint().unwrap();
    let mut cache = TileCache::new();
    let error = cache
        .read_ledger_tile(&ledger, &TilePath::entries(0, 2).unwrap())
        .unwrap_err();
    assert!(
        matches!(
            error,
            LedgerError::Tile {
                kind: TileErrorKind::EntryTooLarge {
                    index: 1,
                    len: 70_000
                },
                ..
            }
        ),
        "{error:?}"
    );
    let tile = cache
        .read_ledger_tile(&ledger, &TilePath::hashes(0, 0, 2).unwrap())
        .unwrap();
    let leaf: Hash = Sha256::new()
        .chain_update([0u8])
        .chain_update(vec![7u8; 70_000])
        .finalize()
        .into();
    assert_eq!(&tile[32..], leaf.as_slice());
}
