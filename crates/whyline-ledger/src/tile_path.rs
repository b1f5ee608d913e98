//! The resource names of the C2SP tlog-tiles read API (c2sp.org/tlog-tiles, "Merkle Tree"
//! and "Log entries"): `tile/<L>/<N>[.p/<W>]` for hash tiles and
//! `tile/entries/<N>[.p/<W>]` for entry bundles.
//!
//! ```text
//! <L>  level, decimal 0..=63, no leading zeros
//! <N>  tile index, zero-padded 3-digit path elements, all but the last prefixed with "x":
//!      1234067 -> x001/x234/067, 5 -> 005, 1000 -> x001/000
//! <W>  width of a partial tile, decimal 1..=255, no leading zeros; absent for a full tile
//! ```
//!
//! Parsing accepts only the canonical spelling (no leading zeros, no empty leading `x000`
//! group), so each tile has one name and one cache entry.

use std::fmt;

use crate::error::{LedgerError, Result};

/// Hashes in a full tile (and entries in a full bundle): `2^8`.
pub const TILE_WIDTH: u16 = 256;
/// Merkle tree levels a tile spans.
pub const TILE_HEIGHT: u32 = 8;
/// The highest tile level the spec allows.
pub const MAX_TILE_LEVEL: u8 = 63;

/// What a tile path names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TileKind {
    /// A hash tile at this level: leaf hashes at level 0, above that the hashes of full
    /// subtrees of `256^level` leaves.
    Hashes {
        /// The level, 0..=63.
        level: u8,
    },
    /// An entry bundle: the entries of the level-0 tile with the same index and width.
    Entries,
}

/// A parsed tile path: which tile, and how wide.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TilePath {
    kind: TileKind,
    index: u64,
    width: u16,
}

/// What is wrong with a tile request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TileErrorKind {
    /// The path is not a tile path (the detail says which rule it breaks).
    #[error("not a tile path: {detail}")]
    BadPath {
        /// The rule broken.
        detail: &'static str,
    },
    /// The tree does not hold the tile at this width: beyond the tree, or a partial width
    /// wider than the tree holds (a full tile of a partial one, say).
    #[error(
        "the tree of size {size} holds {held} of the {width} hashes this tile needs at its level"
    )]
    Unavailable {
        /// The tree size tiles are served for (the latest checkpoint's).
        size: u64,
        /// Hashes (or entries) the tree holds in this tile (0 when beyond the tree).
        held: u64,
        /// The width asked for.
        width: u16,
    },
    /// An entry is longer than an entry bundle's big-endian `u16` length prefix can say.
    #[error("entry {index} is {len} bytes, an entry bundle holds entries of at most 65535")]
    EntryTooLarge {
        /// The entry's index.
        index: u64,
        /// Its length.
        len: usize,
    },
}

fn bad(path: &str, detail: &'static str) -> LedgerError {
    LedgerError::Tile {
        path: path.to_owned(),
        kind: TileErrorKind::BadPath { detail },
    }
}

impl TilePath {
    /// The hash tile at `level`, `index`, `width` (256 for a full tile).
    pub fn hashes(level: u8, index: u64, width: u16) -> Result<TilePath> {
        let path = TilePath {
            kind: TileKind::Hashes { level },
            index,
            width,
        };
        if level > MAX_TILE_LEVEL {
            return Err(bad(&path.to_string(), "the level must be 0..=63"));
        }
        path.checked_width()
    }

    /// The entry bundle `index`, `width` (256 for a full bundle).
    pub fn entries(index: u64, width: u16) -> Result<TilePath> {
        TilePath {
            kind: TileKind::Entries,
            index,
            width,
        }
        .checked_width()
    }

    fn checked_width(self) -> Result<TilePath> {
        if self.width == 0 || self.width > TILE_WIDTH {
            return Err(bad(&self.to_string(), "the width must be 1..=256"));
        }
        Ok(self)
    }

    /// Hash tile or entry bundle.
    pub fn kind(&self) -> TileKind {
        self.kind
    }

    /// The tile level (0 for an entry bundle).
    pub fn level(&self) -> u8 {
        match self.kind {
            TileKind::Hashes { level } => level,
            TileKind::Entries => 0,
        }
    }

    /// The tile's index within its level.
    pub fn index(&self) -> u64 {
        self.index
    }

    /// Hashes (or entries) in the tile: 256 for a full one.
    pub fn width(&self) -> u16 {
        self.width
    }

    /// Whether the tile is partial (narrower than 256).
    pub fn is_partial(&self) -> bool {
        self.width < TILE_WIDTH
    }

    /// The first subtree (of `256^level` leaves) the tile holds, counted at its level:
    /// `index × 256`.
    pub(crate) fn first(&self) -> Option<u64> {
        self.index.checked_mul(u64::from(TILE_WIDTH))
    }

    /// Leaves in one of the tile's hashes: `256^level`; `None` past `u64`.
    pub(crate) fn leaves_per_hash(&self) -> Option<u64> {
        1u64.checked_shl(TILE_HEIGHT * u32::from(self.level()))
    }
}

/// `tile/<L>/<N>[.p/<W>]` or `tile/entries/<N>[.p/<W>]`.
impl fmt::Display for TilePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            TileKind::Hashes { level } => write!(f, "tile/{level}/")?,
            TileKind::Entries => f.write_str("tile/entries/")?,
        }
        let digits = self.index.to_string();
        let padded = format!("{}{digits}", "0".repeat((3 - digits.len() % 3) % 3));
        let groups = padded.len() / 3;
        for group in 0..groups {
            let text = padded.get(group * 3..group * 3 + 3).unwrap_or("000");
            if group + 1 < groups {
                write!(f, "x{text}/")?;
            } else {
                f.write_str(text)?;
            }
        }
        if self.is_partial() {
            write!(f, ".p/{}", self.width)?;
        }
        Ok(())
    }
}

/// A decimal number without leading zeros (`"0"` itself allowed).
fn plain_decimal(text: &str) -> Option<u64> {
    let canonical = !text.is_empty()
        && text.bytes().all(|b| b.is_ascii_digit())
        && (text == "0" || !text.starts_with('0'));
    canonical.then(|| text.parse().ok()).flatten()
}

/// Parses a tile path, with or without a leading `/` (a request path such as
/// `/tile/0/x001/234.p/5`). Only the canonical spelling is accepted.
///
/// ```
/// use whyline_ledger::{TileKind, parse_tile_path};
/// let path = parse_tile_path("tile/entries/x001/x234/067.p/8")?;
/// assert_eq!((path.kind(), path.index(), path.width()), (TileKind::Entries, 1_234_067, 8));
/// assert_eq!(path.to_string(), "tile/entries/x001/x234/067.p/8");
/// assert!(parse_tile_path("tile/0/x000/005").is_err()); // not canonical: 005
/// # Ok::<(), whyline_ledger::LedgerError>(())
/// ```
pub fn parse_tile_path(path: &str) -> Result<TilePath> {
    let relative = path.strip_prefix('/').unwrap_or(path);
    let mut parts = relative.split('/');
    if parts.next() != Some("tile") {
        return Err(bad(path, "it must start with tile/"));
    }
    let kind = match parts.next() {
        Some("entries") => TileKind::Entries,
        Some(level) => match plain_decimal(level).and_then(|l| u8::try_from(l).ok()) {
            Some(level) if level <= MAX_TILE_LEVEL => TileKind::Hashes { level },
            _ => return Err(bad(path, "the level must be a decimal 0..=63 or entries")),
        },
        None => return Err(bad(path, "the level is missing")),
    };
    let mut index: u64 = 0;
    let mut first = true;
    let mut partial = false;
    loop {
        let Some(part) = parts.next() else {
            return Err(bad(path, "the index ends with an x-prefixed element"));
        };
        let (digits, last) = match part.strip_prefix('x') {
            Some(digits) => (digits, false),
            None => match part.strip_suffix(".p") {
                Some(digits) => {
                    partial = true;
                    (digits, true)
                }
                None => (part, true),
            },
        };
        if digits.len() != 3 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad(path, "index elements are 3 decimal digits"));
        }
        if first && !last && digits == "000" {
            return Err(bad(path, "the index has a leading x000 element"));
        }
        let group: u64 = digits.parse().unwrap_or(0);
        index = index
            .checked_mul(1000)
            .and_then(|i| i.checked_add(group))
            .ok_or_else(|| bad(path, "the index is larger than 2^64 - 1"))?;
        first = false;
        if last {
            break;
        }
    }
    let width = if partial {
        let width = parts
            .next()
            .and_then(plain_decimal)
            .filter(|w| (1..u64::from(TILE_WIDTH)).contains(w))
            .ok_or_else(|| bad(path, "a partial width must be a decimal 1..=255"))?;
        u16::try_from(width).unwrap_or(TILE_WIDTH)
    } else {
        TILE_WIDTH
    };
    if parts.next().is_some() {
        return Err(bad(path, "unexpected elements after the index"));
    }
    Ok(TilePath { kind, index, width })
}
