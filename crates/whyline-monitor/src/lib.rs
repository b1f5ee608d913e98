//! `InferenceMonitor`, Andon alert rules, drift and out-of-distribution detectors, safety
//! integrity profiles.
#![forbid(unsafe_code)]

pub mod drift;
