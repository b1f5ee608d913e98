//! whyline-explain integration tests: every expected value comes from an outside oracle
//! (shap, brute-force enumeration), never from the code under test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
mod counterfactual;
mod errors;
mod explainer;
mod gradients;
mod kernel_shap;
mod lime;
mod linear_shap;
mod pipelines;
mod tree_shap;
