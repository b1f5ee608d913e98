//! Integration tests of `whyline-store-postgres`, one binary, each test against its own
//! private PostgreSQL cluster (`whyline_store_postgres::testing`), started in a temporary
//! directory and stopped when the test ends, even when it fails.

// Helpers outside `#[test]` functions are test code too: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
mod conformance;
mod faults;
mod lock;
mod missing_rows;
mod packed_rows;
mod schema;
mod writer_stops;
