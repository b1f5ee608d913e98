//! The words collectors and profiles share: when an append is durable ([`Durability`]),
//! what a stream writes ([`StreamFormat`]) and what it does when its queue is full
//! ([`Backpressure`]).
//!
//! They live here, in the crate every other crate depends on, so that there is one definition
//! of each: the ledger acts on them (`whyline_ledger` re-exports them), the monitor's safety
//! profiles read them from TOML (`whyline_monitor` re-exports them), and the facade turns one
//! into the other without a conversion table. Plain data, no I/O.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// When an appended entry becomes durable.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Durability {
    /// Never synced by the writer (only before a checkpoint and on an explicit commit):
    /// entries sit in a process buffer and the OS page cache.
    None,
    /// Group commit: one sync when `entries` are pending or when the oldest pending entry
    /// is older than `max_delay` (checked at each append and by a timer).
    Interval {
        /// Entries per commit.
        entries: u32,
        /// Longest wait of a pending entry.
        max_delay: Duration,
    },
    /// Every append returns only once the entry is durable.
    Sync,
}

impl Durability {
    /// The policy's name as written in configuration files: `none`, `interval` or `sync`.
    pub const fn name(self) -> &'static str {
        match self {
            Durability::None => "none",
            Durability::Interval { .. } => "interval",
            Durability::Sync => "sync",
        }
    }
}

impl fmt::Display for Durability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Durability::Interval { entries, max_delay } => write!(
                f,
                "interval (group commit every {entries} entries or {} ms)",
                max_delay.as_millis()
            ),
            Durability::None | Durability::Sync => f.write_str(self.name()),
        }
    }
}

/// What a stream writes: APRT records back to back, or one JSON document per line.
///
/// In configuration files: `"aprt"` or `"json"`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum StreamFormat {
    /// Concatenated APRT v1 records (read them back with [`AprtRecords`](crate::AprtRecords)).
    #[serde(rename = "aprt")]
    Aprt,
    /// The JSON view of each trace ([`encode_json`](crate::encode_json)) followed by `\n`.
    #[serde(rename = "json")]
    JsonLines,
}

impl fmt::Display for StreamFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            StreamFormat::Aprt => "APRT",
            StreamFormat::JsonLines => "JSON lines",
        })
    }
}

/// What a stream collector's `record` does when the current batch is full and the queue has
/// no room for it. In configuration files: `"drop"`, `"block"` or `"fallback"`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Backpressure {
    /// Drop the trace and count it ([`RecordOutcome::Dropped`](crate::RecordOutcome::Dropped), `stats().dropped`). The
    /// caller never waits.
    Drop,
    /// Wait for room. Nothing is lost; the caller runs at the writer's pace. The caller that
    /// finds the queue full waits (holding the batch lock, so other callers wait behind it)
    /// until the writer takes one batch off the queue: one wake-up per batch, not per record.
    #[default]
    Block,
    /// Write the trace synchronously, in the caller's thread, to the fallback sink given to
    /// the stream collector's builder (`fallback`) ([`RecordOutcome::Fallback`](crate::RecordOutcome::Fallback),
    /// `stats().fallback`). Nothing is lost; records in the two sinks are not interleaved in
    /// record order.
    Fallback,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_match_the_configuration_words() {
        let interval = Durability::Interval {
            entries: 256,
            max_delay: Duration::from_millis(5),
        };
        assert_eq!(Durability::None.name(), "none");
        assert_eq!(interval.name(), "interval");
        assert_eq!(Durability::Sync.name(), "sync");
        assert_eq!(
            interval.to_string(),
            "interval (group commit every 256 entries or 5 ms)"
        );
        assert_eq!(
            serde_json::to_string(&StreamFormat::JsonLines)
                .ok()
                .as_deref(),
            Some("\"json\"")
        );
        assert_eq!(
            serde_json::from_str::<StreamFormat>("\"aprt\"").ok(),
            Some(StreamFormat::Aprt)
        );
    }
}
