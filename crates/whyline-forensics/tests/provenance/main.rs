//! Provenance graphs read back from a log written with the ledger's own API (the facade's
//! `ProvenanceRecorder` writes the same records): the attack path in causal order with
//! every anomaly kind, its text, JSON, DOT and HTML renderings, the depth limit, and the
//! reader's refusals of a graph that breaks the rules, each by entry and with what the log
//! holds.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod path;
mod read;
mod render;
mod support;
