//! The writer of `scripts/bench-top.sh`: appends decisions to a ledger directory at a paced
//! rate, as a monitored application would, so `whyline top DIR` can be measured following it.
//!
//! ```text
//! cargo run --release -p whyline-cli --example top_feed -- DIR RATE SECONDS linear|forest
//! ```
//!
//! `linear`: a 6-feature logistic path (about 90 bytes of APRT); `forest`: a 20-tree forest
//! path of depth 8 with class distributions, the demo's shape (about 3 KB). Decisions go out
//! in 1 ms ticks (`RATE / 1000` per tick) and are committed (written and fsync'd) every 10 ms,
//! as the `interval` durability's group commit does at most. Prints one line:
//! `appended N decisions in S s (R/s)`.
#![allow(clippy::print_stdout)]

use std::path::PathBuf;
use std::time::{Duration, Instant};

use whyline_core::{
    Aggregation, AnyPath, DecisionTrace, DigestAlgorithm, ForestPath, LeafInfo, LinearPath,
    ModelIdentity, ModelRecord, SplitTest, TreePath, TreeSplit, to_aprt,
};
use whyline_ledger::{Durability, Ledger, LedgerOptions, SegmentStore};

const CLASSES: [&str; 4] = ["MAINTAIN_SPEED", "SLOW_DOWN", "EMERGENCY_BRAKE", "SWERVE"];

fn path(kind: &str, i: u64) -> AnyPath {
    let class = (i % 4) as f32;
    let confidence = 0.5 + (i % 50) as f32 / 100.0;
    if kind == "forest" {
        let tree = |t: u64| TreePath {
            splits: (0..8)
                .map(|d| TreeSplit {
                    node_index: (t * 100 + d) as u32,
                    feature_index: ((t + d) % 6) as u32,
                    threshold: 1.5 + d as f32,
                    test: SplitTest::LessOrEqual,
                    went_left: (i + d).is_multiple_of(2),
                    n_samples: 1000 >> d,
                    ..TreeSplit::default()
                })
                .collect(),
            leaf: LeafInfo {
                node_index: 999,
                prediction: class,
                n_samples: 4,
                class_distribution: Some(
                    vec![0.1, 0.1, 0.1, 0.1]
                        .into_iter()
                        .enumerate()
                        .map(|(c, v)| if c as f32 == class { confidence } else { v })
                        .collect(),
                ),
            },
            ..TreePath::default()
        };
        return AnyPath::Forest(ForestPath {
            aggregation: Aggregation::default(),
            tree_paths: (0..20).map(tree).collect(),
            tree_predictions: vec![class; 20],
            ensemble_prediction: class,
            tree_agreement: 1.0,
            feature_importance: vec![0.03, 0.028, 0.0, 0.0, 0.006, 0.0001],
            probability: Some(confidence),
            ..ForestPath::default()
        });
    }
    AnyPath::Linear(LinearPath {
        contributions: vec![-0.41, 0.2, 0.05, 0.01, -0.02, 0.3],
        intercept: 0.1,
        prediction: class,
        probability: Some(confidence),
        ..LinearPath::default()
    })
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [dir, rate, seconds, kind] = args.as_slice() else {
        anyhow::bail!("usage: top_feed DIR RATE SECONDS linear|forest");
    };
    let dir = PathBuf::from(dir);
    let rate: u64 = rate.parse()?;
    let seconds: f64 = seconds.parse()?;
    let store = SegmentStore::open(&dir)?;
    let (mut ledger, _) = Ledger::open(
        store,
        LedgerOptions::without_checkpoints("bench/top").durability(Durability::None),
    )?;
    let record = ModelRecord {
        identity: ModelIdentity::from_bytes(b"bench", "random_forest", "1"),
        feature_names: [
            "distance_m",
            "closing_speed_mps",
            "object_size_m",
            "detection_confidence",
            "lateral_offset_m",
            "ego_speed_kmh",
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect(),
        class_names: CLASSES.iter().map(|s| (*s).to_owned()).collect(),
        recorded_ns: 1,
        input_digest: DigestAlgorithm::default(),
    };
    ledger.append(&record.to_bytes())?;
    // A few distinct records, reused: the writer's cost is not what is measured.
    let records: Vec<Vec<u8>> = (0..64)
        .map(|i| {
            to_aprt(&DecisionTrace {
                timestamp_ns: whyline_core::now_ns(),
                sequence: i,
                input_hash: i,
                output: (i % 4) as f32,
                latency_ns: 40_000 + i * 1_000,
                path: path(kind, i),
            })
        })
        .collect();
    let tick = Duration::from_millis(1);
    let per_tick = rate.div_ceil(1000).max(1);
    let start = Instant::now();
    let end = start + Duration::from_secs_f64(seconds);
    let mut next = start;
    let mut appended = 0u64;
    let mut ticks = 0u64;
    while Instant::now() < end {
        for _ in 0..per_tick {
            let index = (appended % records.len() as u64) as usize;
            ledger.append(&records[index])?;
            appended += 1;
        }
        ticks += 1;
        if ticks.is_multiple_of(10) {
            ledger.commit()?;
        }
        next += tick;
        if let Some(wait) = next.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
    }
    ledger.commit()?;
    let elapsed = start.elapsed().as_secs_f64();
    println!(
        "appended {appended} decisions in {elapsed:.2} s ({:.0}/s)",
        appended as f64 / elapsed
    );
    Ok(())
}
