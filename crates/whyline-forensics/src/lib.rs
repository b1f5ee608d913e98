//! Incident investigation over a decision ledger: windows, timelines, anomalies and reports.
//!
//! This crate is a placeholder in the workspace until its issue fills it; see
//! `../shared/design.md` for what it will own.
#![forbid(unsafe_code)]
