//! Records every decision of a scikit-learn model in a signed ledger built from a SIL3
//! profile, then verifies the ledger and proves one decision is in it.
//!
//! ```sh
//! cargo run -p whyline --example record_decisions -- [MODEL] [ROWS.csv] [DIR]
//! ```
//!
//! Defaults: the credit model and rows under `examples/`, and a fresh temporary directory.
//! The README's "Use it from Rust" section is this file, shortened.
#![allow(clippy::print_stdout)] // an example prints what it did

use std::path::PathBuf;

use whyline::models::{RowFormat, RowOptions, Rows};
use whyline::{Explainable, Model, MonitorSettings, Recorder, SegmentStore, VerifyOutcome};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let repository = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut args = std::env::args_os().skip(1).map(PathBuf::from);
    let model_file = args
        .next()
        .unwrap_or_else(|| repository.join("examples/models/credit_logistic.json"));
    let rows_file = args
        .next()
        .unwrap_or_else(|| repository.join("examples/data/credit.csv"));
    let temporary = tempfile::tempdir()?;
    let dir = args.next().unwrap_or_else(|| temporary.path().to_owned());

    // A profile names what to build: SIL3 is a ledger, every append synced, Ed25519-signed
    // checkpoints every 256 entries; the key is made in `dir` when it has none.
    let settings = MonitorSettings::from_toml(
        "[inference_monitor]\nintegrity_level = \"SIL3\"\n",
        "inline profile".as_ref(),
    )?;
    let recorder = Recorder::from_settings(&settings, &dir)?;
    let verifier = recorder.verifier()?;

    let model = Model::load(&model_file)?;
    let rows = Rows::from_path(
        &rows_file,
        RowFormat::Auto,
        &model.info().names.features,
        model.n_features(),
        RowOptions::new(),
    )?;
    let mut monitor = recorder.monitor(model)?; // the model record is the ledger's entry 0
    for row in rows.to_f32().chunks_exact(rows.n_features()) {
        let decision = monitor.predict_one(row)?;
        println!(
            "decision {}: output {:.4}, confidence {:?}",
            decision.sequence, decision.output, decision.confidence
        );
    }
    monitor.flush()?;
    let (_, collector, _) = monitor.into_parts();
    // A signed checkpoint over every entry, so that the last decisions are covered too
    // (the profile signs one every 256 entries on its own).
    collector.checkpoint()?;
    drop(collector); // closes the ledger

    let store = SegmentStore::open_read_only(&dir)?;
    match whyline::verify_store(&store, verifier.as_ref())? {
        VerifyOutcome::Intact(report) => println!(
            "ledger {}: intact, {} entries, {} checkpoints, signatures checked: {}",
            dir.display(),
            report.entries,
            report.checkpoints,
            report.signatures_checked
        ),
        VerifyOutcome::Broken(damage) => return Err(damage.to_string().into()),
    }
    Ok(())
}
