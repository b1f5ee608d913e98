//! The native module of the whyline Python package, `whyline._native`: the Rust crates
//! behind a thin PyO3 layer. The pure-Python package (`python/whyline`) converts models and
//! inputs and shapes the results; this module loads models from bytes, predicts, explains,
//! monitors and reads ledgers, with the GIL released while it computes.
//!
//! # Overview
//!
//! - `NativeModel` ([`model`]): a model loaded from the bytes of a model file (whyline JSON
//!   from the exporter, XGBoost JSON, LightGBM text), its predictions, TreeSHAP
//!   (path-dependent and interventional, on `jobs` threads) and every other method of
//!   `whyline explain` through [`whyline::explain::Explainer`].
//! - `NativeMonitor` ([`monitor`]): [`whyline::Recorder`] built from a safety profile, wrapping
//!   the model; every row's decision is recorded, alerts are kept for Python.
//! - `verify`, `investigate_window`, `decisions` ([`ledger`]): what `whyline verify` and
//!   `whyline incident` do, and the recorded decisions.
//! - The exceptions ([`errors`]): `WhylineError` and its subclasses, with the CLI's messages.
//!
//! # Guarantees
//!
//! - No Rust panic reaches Python from the hot paths: bad rows are `InputError`s.
//! - Computation runs with the GIL released (`Python::detach`); rows are read in place from
//!   C-contiguous numpy arrays and results come back as new numpy arrays.
#![forbid(unsafe_code)]

mod errors;
mod ledger;
mod model;
mod monitor;
mod rows;
mod tree;

use pyo3::prelude::*;

/// The module `whyline._native`.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    errors::register(m)?;
    m.add_class::<model::NativeModel>()?;
    m.add_class::<monitor::NativeMonitor>()?;
    m.add_function(wrap_pyfunction!(ledger::verify, m)?)?;
    m.add_function(wrap_pyfunction!(ledger::investigate_window, m)?)?;
    m.add_function(wrap_pyfunction!(ledger::decisions, m)?)?;
    Ok(())
}
