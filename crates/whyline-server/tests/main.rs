//! Integration tests: a real server on a loopback port (port 0), a real HTTP client.
//! One server per module where the module can share it.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod auth;
mod common;
mod config;
mod dashboard;
mod faults;
mod incident;
mod ingest;
mod metrics;
mod oip;
mod read;
mod shutdown;
mod startup;
mod stream;
mod tls;
