//! The sparse time index: one record per block of [`INDEX_BLOCK`] entries, so a time window
//! is found by reading the index and the few blocks that overlap it, not the whole log.
//!
//! ```text
//! record (32 bytes, little-endian)
//!  0  8  index of the block's first entry (block k starts at k·INDEX_BLOCK)
//!  8  8  byte offset of that entry's frame in the whole log (logical, across segments;
//!        the file header of `entries.wls` counts)
//! 16  8  smallest timestamp_ns in the block
//! 24  8  largest timestamp_ns in the block
//! ```
//!
//! Timestamps come from bytes 8..16 of the stamped payloads (APRT decisions, alerts, clock
//! steps); entries without a time (model records) leave a block's minimum and maximum alone,
//! and a block with no stamped entry has minimum `u64::MAX` and maximum 0 (it overlaps no
//! window). Times need not be in order (`time_order.rs`): each block keeps its minimum and
//! maximum, so a query never misses an entry. The index
//! is derived data: recovery rebuilds it from the entry log when it disagrees.

use whyline_core::{APRT_HEADER_LEN, APRT_MAGIC};

use crate::time_order::TimeOrder;

/// Entries per index block.
pub const INDEX_BLOCK: u64 = 1024;
/// Bytes per index record.
pub const INDEX_RECORD_LEN: usize = 32;

/// One block of the time index.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IndexRecord {
    /// Index of the block's first entry.
    pub first_index: u64,
    /// Byte offset of that entry's frame in the whole log (across segments).
    pub offset: u64,
    /// Smallest timestamp in the block.
    pub min_timestamp_ns: u64,
    /// Largest timestamp in the block.
    pub max_timestamp_ns: u64,
}

impl IndexRecord {
    /// The record's 32 bytes.
    pub fn to_bytes(&self) -> [u8; INDEX_RECORD_LEN] {
        let mut out = [0u8; INDEX_RECORD_LEN];
        out[..8].copy_from_slice(&self.first_index.to_le_bytes());
        out[8..16].copy_from_slice(&self.offset.to_le_bytes());
        out[16..24].copy_from_slice(&self.min_timestamp_ns.to_le_bytes());
        out[24..].copy_from_slice(&self.max_timestamp_ns.to_le_bytes());
        out
    }

    /// Whether the block may hold an entry stamped in `[from_ns, to_ns]`.
    pub fn overlaps(&self, from_ns: u64, to_ns: u64) -> bool {
        self.min_timestamp_ns <= to_ns && self.max_timestamp_ns >= from_ns
    }

    /// Whether the block holds at least one stamped entry.
    pub fn is_stamped(&self) -> bool {
        self.min_timestamp_ns <= self.max_timestamp_ns
    }
}

/// The `timestamp_ns` of an APRT payload, an alert record or an evidence record (sealed input,
/// outcome, erasure: all keep it at bytes 8..16);
/// `None` for anything else.
pub fn payload_timestamp(payload: &[u8]) -> Option<u64> {
    let magic = payload.get(..4)?;
    let stamped = (magic == &APRT_MAGIC[..] && payload.len() >= APRT_HEADER_LEN)
        || (magic != &APRT_MAGIC[..] && whyline_core::EntryKind::of(payload).is_stamped());
    if !stamped {
        return None;
    }
    let field: [u8; 8] = payload.get(8..16)?.try_into().ok()?;
    Some(u64::from_le_bytes(field))
}

/// Builds index records as entries go by, and follows the order of their times.
#[derive(Clone, Debug, Default)]
pub(crate) struct IndexBuilder {
    open: Option<IndexRecord>,
    order: TimeOrder,
}

impl IndexBuilder {
    /// Notes entry `index` at `offset`, stamped `timestamp_ns` (`None`: an entry without a
    /// time); returns a record when it closes a block.
    #[inline]
    pub(crate) fn push(
        &mut self,
        index: u64,
        offset: u64,
        timestamp_ns: Option<u64>,
    ) -> Option<IndexRecord> {
        let record = self.open.get_or_insert(IndexRecord {
            first_index: index,
            offset,
            min_timestamp_ns: u64::MAX,
            max_timestamp_ns: 0,
        });
        if let Some(timestamp_ns) = timestamp_ns {
            record.min_timestamp_ns = record.min_timestamp_ns.min(timestamp_ns);
            record.max_timestamp_ns = record.max_timestamp_ns.max(timestamp_ns);
            self.order.push(index, timestamp_ns);
        }
        if (index + 1).is_multiple_of(INDEX_BLOCK) {
            return self.open.take();
        }
        None
    }

    /// The block still open (not yet written to the index file).
    pub(crate) fn open_block(&self) -> Option<IndexRecord> {
        self.open
    }

    /// The order of the times pushed so far.
    pub(crate) fn order(&self) -> TimeOrder {
        self.order
    }

    /// This builder, continuing after the entries `earlier` saw (the parallel walk joins
    /// chunks in log order).
    pub(crate) fn after(mut self, earlier: &IndexBuilder) -> Self {
        self.order = earlier.order.followed_by(self.order);
        self
    }
}
