//! The functions the `cargo fuzz` targets in `fuzz/` call, one per parser whyline reads
//! untrusted bytes with, and the list of them ([`TARGETS`]).
//!
//! Each function takes the fuzzer's bytes, feeds them through the same public API the CLI
//! and the server use, and returns [`Outcome`]: `Ok` when the input was accepted, or the
//! typed error's message when it was refused. Either is fine; a panic, a hang or an
//! unbounded allocation is a finding. Where a parse succeeds, a few invariants are checked
//! with `assert!` (an encoded trace decodes to the same bytes, a recovered ledger takes a new
//! entry and verifies): their failure is a finding too.
//!
//! The fuzz targets are one line each (`fuzz/fuzz_targets/NAME.rs`), and the stable test
//! `tests/corpora.rs` replays every committed corpus file (`fuzz/corpus/NAME/`) through the
//! same function, so the CI test and the fuzzer cannot drift apart.
//!
//! ```
//! use whyline_fuzz_harness::{TARGETS, target};
//! let aprt = target("aprt").ok_or("no aprt target")?;
//! assert!(aprt(b"not an APRT record").is_err());
//! assert!(TARGETS.iter().all(|t| t.name.chars().all(|c| c.is_ascii_lowercase() || c == '_')));
//! # Ok::<(), &str>(())
//! ```

mod codec;
mod config;
mod ledger;
mod models;
mod server;

pub use codec::{aprt, ingest_aprt, ingest_json_lines};
pub use config::profile;
pub use ledger::{LEDGER_KEY, checkpoint_note, ledger, ledger_input, proof};
pub use models::{model, rows};
pub use server::oip_infer;

/// What a harness function made of its input: `Ok` when accepted, else the message of the
/// typed error that refused it.
pub type Outcome = Result<(), String>;

/// One fuzz target: its name (the file under `fuzz/fuzz_targets/` and the folder under
/// `fuzz/corpus/`) and the function it calls.
#[derive(Clone, Copy, Debug)]
pub struct Target {
    /// The target's name.
    pub name: &'static str,
    /// The harness function.
    pub run: fn(&[u8]) -> Outcome,
}

/// Every fuzz target, in the order the campaign script runs them.
pub const TARGETS: &[Target] = &[
    Target {
        name: "aprt",
        run: aprt,
    },
    Target {
        name: "ledger",
        run: ledger,
    },
    Target {
        name: "checkpoint_note",
        run: checkpoint_note,
    },
    Target {
        name: "proof",
        run: proof,
    },
    Target {
        name: "model_whyline_json",
        run: model,
    },
    Target {
        name: "model_xgboost_json",
        run: model,
    },
    Target {
        name: "model_lightgbm_text",
        run: model,
    },
    Target {
        name: "model_apr",
        run: model,
    },
    Target {
        name: "model_safetensors",
        run: model,
    },
    Target {
        name: "rows",
        run: rows,
    },
    Target {
        name: "profile",
        run: profile,
    },
    Target {
        name: "oip_infer",
        run: oip_infer,
    },
    Target {
        name: "ingest_json_lines",
        run: ingest_json_lines,
    },
    Target {
        name: "ingest_aprt",
        run: ingest_aprt,
    },
];

/// The harness function of the target named `name`.
pub fn target(name: &str) -> Option<fn(&[u8]) -> Outcome> {
    TARGETS.iter().find(|t| t.name == name).map(|t| t.run)
}

/// An error's message with its sources, as the CLI prints it.
pub(crate) fn message(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
