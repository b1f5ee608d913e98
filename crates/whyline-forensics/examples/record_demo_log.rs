//! Records a demo-sized log for measuring `whyline replay` at the user's entry point:
//! `cargo run --example record_demo_log -p whyline-forensics -- DIR N` writes N decisions of
//! the demo's model (a 20-tree random forest, 6 features) with sealed inputs into the
//! ledger DIR (keys in DIR/keys/subjects.wks), as the benchmark does. Then:
//! `whyline replay DIR --model crates/whyline-cli/assets/demo_model.json`. A third argument
//! names another model reading the scenario's six features (any format `Model::load`
//! reads: an XGBoost or LightGBM model, say), to replay with that file instead.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use whyline_core::Context;
use whyline_ledger::seal::{KeyStore, Sealer};
use whyline_ledger::{Durability, LedgerCollector, LedgerOptions, SegmentStore};
use whyline_models::Model;
use whyline_monitor::{Andon, AndonRules, InferenceMonitor, InputRecording};

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let (Some(dir), Some(n)) = (args.next(), args.next()) else {
        anyhow::bail!("usage: record_demo_log DIR N [MODEL]");
    };
    let dir = PathBuf::from(dir);
    let n: u64 = n.parse().context("N is a count of decisions")?;
    let model_file = args.next().map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../whyline-cli/assets/demo_model.json"),
        PathBuf::from,
    );
    let (collector, _) = LedgerCollector::open(
        SegmentStore::open(&dir)?,
        LedgerOptions::without_checkpoints("whyline.demo/replay").durability(Durability::None),
    )?;
    let keys = KeyStore::open_or_create(&KeyStore::default_path(&dir))?;
    collector.set_sealer(Sealer::new(keys)?)?;
    let mut monitor = InferenceMonitor::new(
        Model::load(&model_file)?,
        collector,
        Andon::new(AndonRules::default())?,
    );
    monitor.record_model()?;
    for i in 0..n {
        let t = i as f32 * 0.01;
        let row = [
            40.0 - (t % 30.0),
            (t * 0.7).sin().abs() * 10.0,
            0.3 + (t % 4.0),
            0.2 + (t * 0.3).cos().abs() * 0.7,
            (t * 1.3).sin() * 3.0,
            35.0 - (t % 20.0),
        ];
        let context = Context::new().with("object", "cat").with("frame", i as i64);
        monitor.predict_one_recorded_at(
            &row,
            &InputRecording {
                subject: Some("AV-2847-XK"),
                context: context.fields(),
            },
            1_700_000_000_000_000_000 + i * 50_000_000,
        )?;
    }
    monitor.flush()?;
    Ok(())
}
