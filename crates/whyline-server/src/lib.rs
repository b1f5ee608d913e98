//! `whyline serve`: a server that a team runs next to its models. It serves models over the
//! Open Inference Protocol (KServe V2) with every decision explained and recorded in a
//! tamper-evident ledger, accepts decisions recorded elsewhere (`POST /v1/decisions`),
//! answers investigators (decisions, incident reports) and auditors (inclusion and
//! consistency proofs, C2SP tlog-tiles), and reports its health as Prometheus metrics.
//!
//! # Overview
//!
//! - [`ServerConfig`] holds what a server starts with: where the ledger lives (a directory,
//!   [`ServerConfig::new`], or a PostgreSQL log, [`ServerConfig::at`] with a key directory for
//!   its keys), the profile
//!   (the monitor's TOML, plus a [`ServerSettings`] `[server]` table), the models
//!   ([`ModelSource`], `NAME=FILE`), the [`Tokens`], TLS files.
//! - [`Server::bind`] opens the ledger through the facade (`whyline::RecorderBuilder`: the
//!   profile's durability and signing key), loads each model into its own monitor (all
//!   appending to the one ledger, each model record first) and binds the address.
//! - [`Server::serve`] answers until a shutdown future completes, then finishes the requests
//!   in flight, commits and signs a final checkpoint ([`ShutdownReport`]).
//!
//! Routes, scopes, formats and limits are in `docs/server.md`.
//!
//! # Example
//!
//! ```
//! use whyline_server::{ModelSource, Server, ServerConfig};
//!
//! # let dir = tempfile::tempdir()?;
//! # let file = concat!(env!("CARGO_MANIFEST_DIR"),
//! #     "/../whyline-models/tests/fixtures/sk_logreg_iris.whyline.json");
//! let mut config = ServerConfig::new(dir.path())?;
//! config.model(ModelSource::parse(&format!("iris={file}"))?)?;
//! config.listen("127.0.0.1:0".parse()?); // any free port
//! let runtime = tokio::runtime::Runtime::new()?;
//! let report = runtime.block_on(async {
//!     let server = Server::bind(&config).await?;
//!     assert_ne!(server.local_addr().port(), 0);
//!     // Serve until this future completes (the CLI's completes on SIGTERM or SIGINT).
//!     server.serve(async {}).await
//! })?;
//! assert_eq!(report.entries, 1); // the model record
//! assert!(report.checkpoint.is_some()); // the final checkpoint, signed
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Guarantees
//!
//! - A receipt (`index`, `leaf`) is sent only for an appended entry; under `sync`
//!   durability only once it is on disk. A clean shutdown commits every appended entry and
//!   signs a checkpoint of them.
//! - After a storage fault the server refuses writes (503) and says it is not ready, and
//!   keeps serving reads.
//! - Tokens are compared in constant time and never logged.
#![forbid(unsafe_code)]
#![doc(test(attr(deny(warnings))))]

mod config;
mod dashboard;
mod error;
mod ingest;
mod metrics;
mod oip;
mod read;
mod server;
mod state;
mod storage;
mod stream;
mod tls;
mod tokens;

pub use config::{
    DEFAULT_LISTEN, DEFAULT_PROFILE, ModelSource, ServerConfig, ServerSettings, TlsFiles,
};
pub use error::{ApiError, ServerError};
pub use oip::read_infer_body;
pub use server::{ServedModelInfo, Server, ShutdownReport};
pub use tokens::{Caller, MIN_TOKEN_LEN, Refusal, Scope, Tokens};
