//! Collectors (ring, stream, hash chain) and tamper-evident storage for decision traces.
//!
//! This crate is a placeholder in the workspace until its issue fills it; see
//! `../shared/design.md` for what it will own.
#![forbid(unsafe_code)]
