//! Integration tests of the load generator: against in-test axum servers on loopback, the
//! trace generator through whyline's codecs, and the demo rows against scikit-learn.

mod demo_model;
mod fixtures;
mod infer_loopback;
mod ingest_loopback;
mod traces;
