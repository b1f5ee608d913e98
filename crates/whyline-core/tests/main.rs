//! Integration tests of whyline-core, one binary.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod aggregate;
mod any_path;
mod aprt_codec;
mod decoder_errors;
mod digests;
mod evidence;
mod explainable;
mod explanations;
mod golden;
mod json_codec;
mod json_fast;
mod model_record;
mod provenance;
mod records;
mod strategies;
