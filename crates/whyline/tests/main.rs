//! The facade's tests: profiles build what they name (`build`), and what is built behaves as
//! named (`behaviour`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod behaviour;
mod build;
mod collector;
mod evidence;
mod location;
mod options;
#[cfg(feature = "postgres")]
mod postgres;
mod provenance;
mod recorder;
mod shared;
mod support;
