//! Hash chains in memory: the cost of appending one decision, and the rate of verifying a
//! whole log.

use std::hint::black_box;
use std::time::Instant;

use anyhow::bail;
use entrenar::monitor::inference::TraceCollector as _;
use hoosh::audit::AuditChain;
use whyline_core::{DecisionTrace, LinearPath, TraceCollector as _};
use whyline_ledger::{
    Durability, Ledger, LedgerCollector, LedgerOptions, MemoryStore, NoteSigner, NoteVerifier,
    PipelinedLedgerCollector, verify_store,
};

use crate::Config;
use crate::runner::{self, Contender, Unit};
use crate::shape;

const HOOSH_KEY: &[u8] = b"peer-bench hoosh audit key, 32 b";

fn ledger_options() -> (LedgerOptions, NoteVerifier) {
    let signer = NoteSigner::Ed25519 {
        name: "peer-bench".into(),
        key: ed25519_dalek::SigningKey::from_bytes(&[1u8; 32]),
    };
    let verifier = signer.verifier();
    let options = LedgerOptions::signed("whyline.peer-bench/ledger", signer)
        .durability(Durability::None)
        .checkpoint_every(4096);
    (options, verifier)
}

/// hoosh's entry for one decision: its natural `record(event, level, message, provider,
/// model, metadata)` with the trace's fields as the metadata object.
fn hoosh_record(chain: &AuditChain, trace: &DecisionTrace<LinearPath>) {
    let metadata = serde_json::json!({
        "sequence": trace.sequence,
        "timestamp_ns": trace.timestamp_ns,
        "input_hash": trace.input_hash,
        "output": trace.output,
        "latency_ns": trace.latency_ns,
        "contributions": trace.path.contributions,
        "intercept": trace.path.intercept,
        "logit": trace.path.logit,
        "probability": trace.path.probability,
    });
    black_box(chain.record(
        "decision",
        "info",
        "predict",
        None,
        Some("linear8"),
        Some(metadata),
    ));
}

fn whyline_append_round(entries: u64) -> anyhow::Result<f64> {
    let (options, _) = ledger_options();
    let collector = LedgerCollector::in_memory(options)?;
    let mut trace = shape::whyline_empty();
    let start = Instant::now();
    for sequence in 0..entries {
        shape::whyline_fill(&mut trace, sequence);
        black_box(collector.record(&trace)?);
    }
    let elapsed = start.elapsed();
    drop(collector);
    Ok(elapsed.as_nanos() as f64 / entries as f64)
}

/// The same log through the pipelined collector: callers encode and hash leaves, the
/// sequencer thread chains, frames and checkpoints. The final flush (everything appended)
/// is inside the figure, so it is the sustained rate, not the callers' share alone.
fn whyline_pipelined_round(entries: u64) -> anyhow::Result<f64> {
    let (options, _) = ledger_options();
    let collector = PipelinedLedgerCollector::new(LedgerCollector::in_memory(options)?)?;
    let mut trace = shape::whyline_empty();
    let start = Instant::now();
    for sequence in 0..entries {
        shape::whyline_fill(&mut trace, sequence);
        black_box(collector.record(&trace)?);
    }
    collector.flush()?;
    let elapsed = start.elapsed();
    drop(collector);
    Ok(elapsed.as_nanos() as f64 / entries as f64)
}

fn entrenar_append_round(entries: u64) -> f64 {
    let mut chain = entrenar::monitor::inference::HashChainCollector::new();
    let start = Instant::now();
    for sequence in 0..entries {
        chain.record(black_box(shape::entrenar_trace(sequence)));
    }
    let elapsed = start.elapsed();
    black_box(chain.len());
    drop(chain);
    elapsed.as_nanos() as f64 / entries as f64
}

fn hoosh_append_round(entries: u64) -> f64 {
    let chain = AuditChain::new(HOOSH_KEY, entries as usize);
    let mut trace = shape::whyline_empty();
    let start = Instant::now();
    for sequence in 0..entries {
        shape::whyline_fill(&mut trace, sequence);
        hoosh_record(&chain, &trace);
    }
    let elapsed = start.elapsed();
    drop(chain);
    elapsed.as_nanos() as f64 / entries as f64
}

/// Appending one decision to a hash chain in memory, ns per entry.
pub fn append(config: &Config) -> anyhow::Result<runner::Outcome> {
    let entries = config.scaled(100_000);
    let hoosh_entries = config.scaled(20_000);
    let mut contenders = vec![
        Contender::new(
            "whyline `LedgerCollector::in_memory` (APRT, Merkle leaf, chain, Merkle frontier, CRC32C frame, Ed25519 checkpoint every 4096)",
            || whyline_append_round(entries),
        ),
        Contender::new(
            "entrenar `HashChainCollector::record` (SHA-256 chain over `to_bytes`, no leaf, frame or checkpoint)",
            || Ok(entrenar_append_round(entries)),
        ),
        Contender::new(
            "whyline `PipelinedLedgerCollector` (the same log; chain, tree, frames and checkpoints on a sequencer thread; sustained, final flush included)",
            || whyline_pipelined_round(entries),
        ),
        Contender::new(
            "hoosh `AuditChain::record` (JSON of the fields, SHA-256, HMAC-SHA256 link)",
            || Ok(hoosh_append_round(hoosh_entries)),
        ),
    ];
    let mut outcome = runner::run(
        "hash-chain append in memory",
        Unit::NsPerOp,
        &mut contenders,
        config.rounds,
    )?;
    outcome.notes.push(format!(
        "{entries} entries per round in a fresh chain (hoosh: {hoosh_entries}); each builds its \
         decision the natural way (whyline refills one trace, entrenar builds an owned trace, \
         hoosh a `serde_json` metadata object), which is inside the figure"
    ));
    Ok(outcome)
}

/// Verifying a whole log in memory, entries per second.
pub fn verify(config: &Config) -> anyhow::Result<runner::Outcome> {
    let entries = config.scaled(100_000);
    let (options, verifier) = ledger_options();
    let (mut ledger, _) = Ledger::open(MemoryStore::new(), options)?;
    let mut trace = shape::whyline_empty();
    for sequence in 0..entries {
        shape::whyline_fill(&mut trace, sequence);
        ledger.append(&whyline_core::to_aprt(&trace))?;
    }
    let store = ledger.into_store()?;

    let mut entrenar_chain = entrenar::monitor::inference::HashChainCollector::new();
    for sequence in 0..entries {
        entrenar_chain.record(shape::entrenar_trace(sequence));
    }

    let hoosh_chain = AuditChain::new(HOOSH_KEY, entries as usize);
    for sequence in 0..entries {
        shape::whyline_fill(&mut trace, sequence);
        hoosh_record(&hoosh_chain, &trace);
    }

    let mut contenders = vec![
        Contender::new(
            "whyline `verify_store` (CRCs, chain, Merkle roots, Ed25519 checkpoint signatures; parallel walk)",
            || {
                let start = Instant::now();
                let outcome = verify_store(black_box(&store), Some(&verifier))?;
                let elapsed = start.elapsed();
                match outcome {
                    whyline_ledger::VerifyOutcome::Intact(report) if report.entries == entries => {}
                    other => bail!("whyline verify: {:?}", other.to_json()),
                }
                Ok(entries as f64 / elapsed.as_secs_f64())
            },
        ),
        Contender::new(
            "entrenar `HashChainCollector::verify_chain` (chain only, one thread)",
            || {
                let start = Instant::now();
                let report = black_box(&entrenar_chain).verify_chain();
                let elapsed = start.elapsed();
                if !report.valid || report.entries_verified as u64 != entries {
                    bail!("entrenar verify_chain: {:?}", report.error);
                }
                Ok(entries as f64 / elapsed.as_secs_f64())
            },
        ),
        Contender::new(
            "hoosh `AuditChain::verify` (re-serialises each entry, SHA-256 + HMAC, one thread)",
            || {
                let start = Instant::now();
                let (valid, error) = black_box(&hoosh_chain).verify();
                let elapsed = start.elapsed();
                if !valid || hoosh_chain.count() as u64 != entries {
                    bail!("hoosh verify: {error:?}");
                }
                Ok(entries as f64 / elapsed.as_secs_f64())
            },
        ),
    ];
    let mut outcome = runner::run(
        "verify a stored log",
        Unit::PerSecond,
        &mut contenders,
        config.rounds,
    )?;
    outcome.notes.push(format!(
        "{entries} entries, built once; every round checks that the whole log verified"
    ));
    Ok(outcome)
}
