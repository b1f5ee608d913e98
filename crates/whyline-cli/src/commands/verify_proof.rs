//! `whyline verify-proof FILE --public-key KEY`: check a proof `whyline prove` wrote
//! (inclusion, consistency or window) offline, with only the file and the log's public key.
//!
//! Exit 0 when it holds, 1 with the reason when it does not (a signature by another key, a
//! checkpoint of another log, a wrong audit path, a window whose range leaves entries out),
//! 2 when the file or key cannot be read.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use whyline_forensics::format_time_ns;
use whyline_ledger::{Evidence, keys};

use crate::Outcome;
use crate::output::{Format, TEXT_OR_JSON};

/// Arguments of `whyline verify-proof`.
#[derive(Debug, Args)]
pub(crate) struct VerifyProofArgs {
    /// The proof file (the JSON `whyline prove` prints; `-` for standard input).
    file: PathBuf,
    /// The log's verifier key file (`ledger.pub` from `whyline keygen`).
    #[arg(long)]
    public_key: PathBuf,
    /// The log the proof must be about (the checkpoint's origin line); default: the key's
    /// name, which `whyline keygen` also makes the origin.
    #[arg(long)]
    origin: Option<String>,
    /// Output format.
    #[arg(long, value_parser = Format::parser(TEXT_OR_JSON), default_value = "text")]
    format: Format,
}

pub(crate) fn run(args: &VerifyProofArgs) -> anyhow::Result<Outcome> {
    let verifier = keys::read_verifier(&args.public_key)?;
    let text = if args.file.as_os_str() == "-" {
        std::io::read_to_string(std::io::stdin()).context("reading standard input")?
    } else {
        std::fs::read_to_string(&args.file)
            .with_context(|| format!("reading {}", args.file.display()))?
    };
    let evidence = Evidence::from_json(&text)
        .with_context(|| format!("{} is not a whyline proof", args.file.display()))?;
    let origin = args.origin.as_deref().unwrap_or(verifier.name());
    let outcome = evidence.verify(&verifier, origin);
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let holds = outcome.is_ok();
    match args.format {
        Format::Html => return Err(Format::Html.unsupported("verify-proof")),
        Format::Json => {
            let line = match &outcome {
                Ok(checkpoint) => serde_json::json!({
                    "type": "valid",
                    "proof": evidence.kind(),
                    "origin": checkpoint.origin,
                    "tree_size": checkpoint.size,
                    "summary": summary(&evidence),
                }),
                Err(error) => serde_json::json!({
                    "type": "invalid",
                    "proof": evidence.kind(),
                    "reason": error.to_string(),
                }),
            };
            writeln!(out, "{line}")?;
        }
        Format::Text => match &outcome {
            Ok(checkpoint) => writeln!(
                out,
                "{}: valid {} proof against the checkpoint of {} at size {}, signed by {}: {}",
                args.file.display(),
                evidence.kind(),
                checkpoint.origin,
                checkpoint.size,
                verifier.name(),
                summary(&evidence)
            )?,
            Err(error) => writeln!(
                out,
                "{}: INVALID {} proof: {error}",
                args.file.display(),
                evidence.kind()
            )?,
        },
    }
    Ok(if holds {
        Outcome::Clean
    } else {
        Outcome::Problem
    })
}

/// What a valid proof shows, in one sentence.
fn summary(evidence: &Evidence) -> String {
    match evidence {
        Evidence::Inclusion(proof) => format!("entry {} is in the log", proof.index),
        Evidence::Consistency(proof) => format!(
            "the log of {} entries is a prefix of the log of {}",
            proof.old_size, proof.tree_size
        ),
        Evidence::Window(proof) => format!(
            "entries {}..{} ({}) are every entry stamped from {} to {}{}",
            proof.first_index,
            proof.end_index,
            proof.entries(),
            format_time_ns(proof.from_ns),
            format_time_ns(proof.to_ns),
            if proof.after.is_none() {
                " (up to the checkpoint's end)"
            } else {
                ""
            }
        ),
    }
}
