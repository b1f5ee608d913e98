//! whyline-nats against a real `nats-server -js` (one private server per test).

// Helpers outside `#[test]` functions are test code too: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod lock;
mod malformed;
mod produce;
mod running;
mod sequencing;
mod sink;
mod state;
mod support;
