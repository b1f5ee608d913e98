//! Writes a synthetic decision log for `whyline kaizen`: the demo's planner (the bundled
//! random forest) drives `N` decisions, 10 ms apart, with every input sealed into the
//! ledger. Most inputs are ordinary driving; two planted scenarios make the model unsure
//! (a small object seen with poor detection confidence; a close object drifting sideways),
//! and in the second half the vehicle drives faster and the small-object scenario is three
//! times as frequent (drift). Deterministic: the same `N` gives the same decisions.
//!
//! ```sh
//! cargo run --release -p whyline --example kaizen_log -- DIR [N]
//! whyline kaizen DIR/ledger
//! ```
#![allow(clippy::print_stdout)] // an example prints what it did

use std::path::PathBuf;

use whyline::monitor::InputRecording;
use whyline::{Model, MonitorSettings, Recorder};

const T0: u64 = 1_764_000_000_000_000_000;
const STEP_NS: u64 = 10_000_000;

/// SplitMix64, uniform in [0, 1).
struct Random(u64);

impl Random {
    fn next(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
    }

    fn between(&mut self, low: f64, high: f64) -> f64 {
        low + (high - low) * self.next()
    }
}

/// distance (m), closing speed (m/s), object size (m), detection confidence, lateral offset
/// (m), ego speed (km/h).
fn row(random: &mut Random, late: bool) -> [f32; 6] {
    let ego = if late {
        random.between(40.0, 55.0)
    } else {
        random.between(28.0, 42.0)
    };
    let scenario = random.next();
    let small_share = if late { 0.06 } else { 0.02 };
    let values = if scenario < small_share {
        // A small object, poorly detected, at mid range.
        [
            random.between(5.0, 9.0),
            random.between(5.0, 8.0),
            random.between(0.2, 0.4),
            random.between(0.45, 0.65),
            random.between(1.2, 2.2),
            ego,
        ]
    } else if scenario < small_share + 0.02 {
        // A close object off to the side.
        [
            random.between(1.0, 2.5),
            random.between(4.0, 7.0),
            random.between(0.2, 0.5),
            random.between(0.8, 0.9),
            random.between(0.3, 0.7),
            ego,
        ]
    } else {
        // Open road, a car far ahead.
        [
            random.between(20.0, 60.0),
            random.between(0.0, 6.0),
            random.between(1.5, 4.5),
            random.between(0.9, 1.0),
            random.between(1.0, 3.0),
            ego,
        ]
    };
    values.map(|v| v as f32)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let dir = PathBuf::from(args.next().ok_or("usage: kaizen_log DIR [N]")?);
    let n: u64 = args.next().map_or(Ok(100_000), |s| s.parse())?;
    let model_file =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../whyline-cli/assets/demo_model.json");
    let settings = MonitorSettings::from_toml(
        "[inference_monitor]\ncollector = \"ledger\"\nstorage_path = \"ledger\"\n\
         durability = \"none\"\nrecord_inputs = true\n",
        "inline profile".as_ref(),
    )?;
    std::fs::create_dir_all(&dir)?;
    let recorder = Recorder::from_settings(&settings, &dir)?;
    let model = Model::load(&model_file)?;
    std::fs::copy(&model_file, dir.join("model.json"))?;
    let mut monitor = recorder.monitor(model)?;
    let mut random = Random(2026);
    let recording = InputRecording {
        subject: Some("AV-synthetic"),
        context: &[],
    };
    for i in 0..n {
        let features = row(&mut random, i >= n / 2);
        monitor.predict_one_recorded_at(&features, &recording, T0 + i * STEP_NS)?;
    }
    monitor.flush()?;
    drop(monitor);
    println!(
        "{n} decisions with sealed inputs in {}; model in {}",
        dir.join("ledger").display(),
        dir.join("model.json").display()
    );
    Ok(())
}
