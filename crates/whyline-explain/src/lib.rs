//! Attributions that are not the model's own path: TreeSHAP, LinearSHAP, KernelSHAP, LIME, integrated gradients and counterfactuals.
//!
//! This crate is a placeholder in the workspace until its issue fills it; see
//! `../shared/design.md` for what it will own.
#![forbid(unsafe_code)]
