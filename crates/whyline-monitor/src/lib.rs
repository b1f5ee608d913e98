//! `InferenceMonitor`, Andon alert rules, drift and out-of-distribution detectors, safety integrity profiles.
//!
//! This crate is a placeholder in the workspace until its issue fills it; see
//! `../shared/design.md` for what it will own.
#![forbid(unsafe_code)]
