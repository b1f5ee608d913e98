//! Integration tests of `whyline-models`, one binary: every model file under `fixtures/`
//! was written by the real library (scikit-learn through `python/whyline_export.py`,
//! XGBoost, LightGBM, aprender) and is checked against that library's own outputs.
// Helpers outside #[test] functions may fail loudly too: a failed fixture read is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout
)]

mod aprender;
mod aprender_027;
mod aprender_072;
mod aprender_072_linear;
mod bad_input;
mod compact_walk;
mod determinism;
mod exactness;
mod f64_rows;
mod fixtures;
mod import_details;
mod model_api;
mod node_means;
mod paths;
mod pipeline_paths;
mod pipelines;
mod recorded_path;
mod refusals;
mod robustness;
mod rows_json;
mod stage;
