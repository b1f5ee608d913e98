//! Integration tests of `whyline-ledger`, one binary (see the style guide): each module
//! checks one topic against outside oracles or by attacking the stored bytes.

// Helpers outside `#[test]` functions are test code too: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod collector_evidence;
mod common;
mod crash;
mod enospc;
mod error_messages;
mod evidence;
mod faults;
mod golden_log;
mod group_commit;
mod ingest;
mod ingest_crash;
mod key_store;
mod keys_on_disk;
mod ledger_collector;
mod ledger_options;
mod merkle_vectors;
mod note_keys;
mod pipelined;
mod reader;
mod recovery;
mod remount_ro;
mod ring_slots;
mod sealed_inputs;
mod segment_files;
mod signed_note;
mod store_conformance;
// The core crate's proptest strategies for every path type, shared rather than copied.
#[path = "../../whyline-core/tests/strategies.rs"]
mod strategies;
mod tail;
mod tamper;
mod tamper_campaign;
mod tamper_large;
mod tamper_v1;
mod tile_cache;
mod tiles;
mod torn_writes;
mod unsealing;
mod verify_progress;
mod window;
