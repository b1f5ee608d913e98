//! The ledger as a C2SP tlog-tiles log (c2sp.org/tlog-tiles): hash tiles of height 8 and
//! entry bundles, read from a [`Store`] for a given tree size, so that transparency-log
//! tooling and witnesses can follow the log with its signed checkpoints.
//!
//! ```text
//! tile/<L>/<N>[.p/<W>]      W (256 when full) hashes: MTH(D[(N·256 + i)·256^L : (N·256 + i + 1)·256^L]),
//!                           i = 0..W; level 0 holds leaf hashes SHA-256(0x00 ‖ entry)
//! tile/entries/<N>[.p/<W>]  the W entries of level-0 tile N, each as a big-endian u16
//!                           length and the entry's bytes (its APRT or other record)
//! ```
//!
//! # Which tiles exist
//!
//! A tree of size `s` holds `floor(s / 256^L) − N·256` hashes of tile `N` at level `L`
//! (at most 256). A request is served when the tree holds at least the width asked for: a
//! full tile once it is full, a partial tile of width `W` whenever the tree holds `W` or
//! more of its hashes (its data never changes after that, so the partial tiles of every
//! earlier checkpoint stay servable). Anything else is [`TileErrorKind::Unavailable`].
//! [`TileCache::read_ledger_tile`] serves the tree of the latest signed checkpoint, whose
//! entries are durable, so a tile once served never changes, even across a crash.
//!
//! # Cost
//!
//! A [`TileCache`] reads and hashes each entry once in its life, in order, as requests reach
//! further into the log, and keeps the hashes of the upper levels (32 bytes per 256 entries,
//! plus 8 bytes per 256 entries for where each level-0 tile starts in the log). So:
//!
//! - a level-1 or higher tile is a copy of 256 hashes from memory, never a re-read of the
//!   65,536 (or more) entries under it;
//! - a level-0 tile or an entry bundle reads its ≤ 256 entries from the store (one read)
//!   and hashes them;
//! - the first request on a large log pays one walk over the entries up to the tile it asks
//!   for (the cost of verifying them, without the chain and signature checks).

use crate::error::{CorruptionKind, LedgerError, Result};
use crate::frame::{Cursor, Next};
use crate::ledger::Ledger;
use crate::merkle::{CompactRange, Hash, leaf_hash};
use crate::store::Store;
use crate::tile_path::{TILE_HEIGHT, TILE_WIDTH, TileErrorKind, TileKind, TilePath};

/// What a log's tiles are computed from, kept between requests (see the module docs).
#[derive(Clone, Debug, Default)]
pub struct TileCache {
    /// Entries read and hashed so far.
    covered: u64,
    /// Byte offset of entry `covered`'s frame (0 before the first read).
    next_offset: u64,
    /// The covered entries' tree, which completes the upper levels' subtrees.
    range: CompactRange,
    /// `levels[k - 1][i]`: MTH of entries `[i·256^k, (i + 1)·256^k)`, the hashes of tiles at
    /// level `k`.
    levels: Vec<Vec<Hash>>,
    /// Byte offset of entry `n·256`, for each level-0 tile `n` reached.
    tile_offsets: Vec<u64>,
}

impl TileCache {
    /// An empty cache.
    pub fn new() -> TileCache {
        TileCache::default()
    }

    /// Entries read and hashed so far.
    pub fn covered(&self) -> u64 {
        self.covered
    }

    /// The tile or entry bundle `path` of the ledger's latest signed checkpoint (the tree a
    /// client verifies before fetching tiles); [`TileErrorKind::Unavailable`] for every
    /// tile while the ledger has no checkpoint.
    pub fn read_ledger_tile<S: Store>(
        &mut self,
        ledger: &Ledger<S>,
        path: &TilePath,
    ) -> Result<Vec<u8>> {
        let size = ledger
            .checkpoints()
            .last()
            .map_or(0, |stored| stored.checkpoint.size);
        self.read_tile(ledger.store(), size, path)
    }

    /// The tile or entry bundle `path` of the tree of the first `tree_size` entries of
    /// `store` (which must hold that many).
    pub fn read_tile<S: Store + ?Sized>(
        &mut self,
        store: &S,
        tree_size: u64,
        path: &TilePath,
    ) -> Result<Vec<u8>> {
        let width = u64::from(path.width());
        let unavailable = |held: u64| LedgerError::Tile {
            path: path.to_string(),
            kind: TileErrorKind::Unavailable {
                size: tree_size,
                held,
                width: path.width(),
            },
        };
        let (Some(first), Some(per_hash)) = (path.first(), path.leaves_per_hash()) else {
            return Err(unavailable(0));
        };
        let held = (tree_size / per_hash)
            .saturating_sub(first)
            .min(u64::from(TILE_WIDTH));
        if held < width {
            return Err(unavailable(held));
        }
        // first + width hashes of 256^L entries each: within the tree, so no overflow.
        self.extend_to(store, (first + width) * per_hash)?;
        match path.kind() {
            TileKind::Hashes { level: 0 } => {
                let mut out = Vec::with_capacity(32 * path.width() as usize);
                self.read_entries(store, path, |_, payload| {
                    out.extend_from_slice(&leaf_hash(payload));
                    Ok(())
                })?;
                Ok(out)
            }
            TileKind::Hashes { level } => {
                let hashes = self
                    .levels
                    .get(usize::from(level) - 1)
                    .and_then(|hashes| {
                        hashes.get(
                            usize::try_from(first).ok()?..usize::try_from(first + width).ok()?,
                        )
                    })
                    .ok_or_else(|| unavailable(0))?;
                Ok(hashes.concat())
            }
            TileKind::Entries => {
                let mut out = Vec::new();
                self.read_entries(store, path, |index, payload| {
                    let len = u16::try_from(payload.len()).map_err(|_| LedgerError::Tile {
                        path: path.to_string(),
                        kind: TileErrorKind::EntryTooLarge {
                            index,
                            len: payload.len(),
                        },
                    })?;
                    out.extend_from_slice(&len.to_be_bytes());
                    out.extend_from_slice(payload);
                    Ok(())
                })?;
                Ok(out)
            }
        }
    }

    /// Reads and hashes the first `size` entries of `store` now (those not covered yet), so
    /// that later requests up to that size cost only their own tile: a server calls it once
    /// at start, before the ledger lock is contended.
    pub fn catch_up<S: Store + ?Sized>(&mut self, store: &S, size: u64) -> Result<()> {
        self.extend_to(store, size)
    }

    /// Reads and hashes entries until `target` are covered.
    fn extend_to<S: Store + ?Sized>(&mut self, store: &S, target: u64) -> Result<()> {
        if self.covered >= target {
            return Ok(());
        }
        let _span = tracing::debug_span!("tile cache", from = self.covered, to = target).entered();
        let mut cursor = Cursor::new(store)?;
        if self.covered > 0 {
            cursor.seek(self.next_offset);
        }
        let TileCache {
            covered,
            next_offset,
            range,
            levels,
            tile_offsets,
        } = self;
        while *covered < target {
            let frame = expect_frame(store, &mut cursor, *covered, target)?;
            if covered.is_multiple_of(u64::from(TILE_WIDTH)) {
                tile_offsets.push(frame.offset);
            }
            range.append_observed(leaf_hash(cursor.payload(&frame)), |height, hash| {
                if height.is_multiple_of(TILE_HEIGHT) {
                    let level = (height / TILE_HEIGHT) as usize;
                    if levels.len() < level {
                        levels.resize_with(level, Vec::new);
                    }
                    if let Some(hashes) = levels.get_mut(level - 1) {
                        hashes.push(*hash);
                    }
                }
            });
            *covered += 1;
            *next_offset = cursor.position();
        }
        Ok(())
    }

    /// Calls `each(index, payload)` for the entries of level-0 tile `path` (covered).
    fn read_entries<S: Store + ?Sized>(
        &self,
        store: &S,
        path: &TilePath,
        mut each: impl FnMut(u64, &[u8]) -> Result<()>,
    ) -> Result<()> {
        let first = path.first().unwrap_or(u64::MAX);
        let offset = usize::try_from(path.index())
            .ok()
            .and_then(|n| self.tile_offsets.get(n))
            .copied()
            .ok_or(LedgerError::OutOfRange {
                what: "entry",
                index: first,
                size: self.covered,
                available: self.covered,
            })?;
        // A tile's entries are usually a few dozen KiB: read 64 KiB at a time, not 1 MiB.
        let mut cursor = Cursor::new(store)?.with_read_ahead(64 << 10);
        cursor.seek(offset);
        let end = first + u64::from(path.width());
        for index in first..end {
            let frame = expect_frame(store, &mut cursor, index, end)?;
            each(index, cursor.payload(&frame))?;
        }
        Ok(())
    }
}

/// The frame of entry `index` at the cursor, or why it is not there.
fn expect_frame<S: Store + ?Sized>(
    store: &S,
    cursor: &mut Cursor<'_, S>,
    index: u64,
    wanted: u64,
) -> Result<crate::frame::Frame> {
    let corrupt = |offset, kind| LedgerError::Corrupt {
        path: store.location().to_path_buf(),
        offset,
        index,
        kind,
    };
    match cursor.next()? {
        Next::Frame(frame) if frame.index == index => Ok(frame),
        Next::Frame(frame) => Err(corrupt(
            frame.offset,
            CorruptionKind::EntryMissing { found: frame.index },
        )),
        Next::Damaged { offset, kind } => Err(corrupt(offset, kind)),
        Next::End | Next::Torn { .. } => Err(LedgerError::OutOfRange {
            what: "entry",
            index,
            size: wanted,
            available: index,
        }),
    }
}

/// The tile or entry bundle `path` of the tree of the first `tree_size` entries of `store`,
/// read without a cache (every entry up to the tile is read and hashed: keep a
/// [`TileCache`] to serve more than one tile).
pub fn read_tile<S: Store + ?Sized>(store: &S, tree_size: u64, path: &TilePath) -> Result<Vec<u8>> {
    TileCache::new().read_tile(store, tree_size, path)
}
