//! Model families with native decision paths, and importers for the files real training tools write.
//!
//! This crate is a placeholder in the workspace until its issue fills it; see
//! `../shared/design.md` for what it will own.
#![forbid(unsafe_code)]
