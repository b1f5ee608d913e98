//! whyline-explain integration tests: every expected value comes from an outside oracle
//! (shap, brute-force enumeration), never from the code under test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
mod corners;
mod counterfactual;
mod counterfactual_seeded;
mod counterfactual_settings;
mod deep_trees;
mod errors;
mod explainer;
mod explanation;
mod gradients;
mod kernel_shap;
mod lime;
mod linear_shap;
mod pipelines;
mod tree_shap;
