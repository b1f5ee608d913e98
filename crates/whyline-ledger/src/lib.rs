//! Collectors (ring, stream, hash chain) and tamper-evident storage for decision traces.
#![forbid(unsafe_code)]

pub mod collector;
