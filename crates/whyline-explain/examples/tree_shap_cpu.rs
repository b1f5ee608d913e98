//! TreeSHAP per row in CPU time (user + sys of this thread, from `/proc/thread-self/stat`)
//! and wall time, on the bench forests: a figure that other processes on a loaded machine
//! disturb less than wall time. Each forest twice: one row per call (`shap_values_into`),
//! then the same rows in one call (`shap_values_rows_into`). Run beside `python/bench_tree_shap_cpu.py` (shap, the same
//! models and rows):
//!
//! ```text
//! cargo run --release -p whyline-explain --example tree_shap_cpu -- 30
//! python/.venv-explain/bin/python python/bench_tree_shap_cpu.py
//! ```
//!
//! The models come from `python/bench_vs_shap.py --write-models`. A second argument keeps
//! only the forests whose name contains it (`-- 30 Classifier`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use whyline_explain::{TreeShap, TreeShapScratch};
use whyline_models::Model;

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/benches/models");

/// CPU seconds (user + sys) this thread used so far.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/thread-self/stat").expect("/proc/thread-self/stat");
    let after_name = &stat[stat.rfind(')').expect("a stat line") + 2..];
    let fields: Vec<&str> = after_name.split(' ').collect();
    let ticks: f64 = fields[11].parse::<f64>().unwrap() + fields[12].parse::<f64>().unwrap();
    ticks / 100.0
}

fn rows(field: &str) -> Vec<Vec<f32>> {
    let text = std::fs::read_to_string(format!("{DIR}/bench_data.json")).unwrap();
    let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
    doc[field]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| {
            row.as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_f64().unwrap() as f32)
                .collect()
        })
        .collect()
}

fn main() {
    let repeats: usize = std::env::args().nth(1).map_or(20, |a| a.parse().unwrap());
    // An optional second argument keeps only the forests whose name contains it
    // ("Classifier"), e.g. to count one forest's instructions under cachegrind.
    let only = std::env::args().nth(2).unwrap_or_default();
    for (name, file, field) in [
        (
            "RandomForestRegressor",
            "bench_rf.whyline.json",
            "regression_rows",
        ),
        (
            "RandomForestClassifier, 3 classes",
            "bench_rf_clf.whyline.json",
            "classification3_rows",
        ),
    ] {
        if !name.contains(only.as_str()) {
            continue;
        }
        let model = Model::load(format!("{DIR}/{file}")).unwrap();
        let explainer = TreeShap::new(&model).unwrap();
        let rows = rows(field);
        let rows = &rows[..20];
        let mut values = Vec::new();
        let mut scratch = TreeShapScratch::default();
        for row in rows {
            explainer
                .shap_values_into(row, &mut values, &mut scratch)
                .unwrap();
        }
        let (cpu, wall) = (cpu_seconds(), std::time::Instant::now());
        for _ in 0..repeats {
            for row in rows {
                explainer
                    .shap_values_into(row, &mut values, &mut scratch)
                    .unwrap();
            }
        }
        let n = (repeats * rows.len()) as f64;
        println!(
            "whyline {name}: cpu {:.3} ms/row, wall {:.3} ms/row",
            (cpu_seconds() - cpu) * 1e3 / n,
            wall.elapsed().as_secs_f64() * 1e3 / n
        );
        // The same rows in one call (`shap_values_rows_into`: trees outside, rows inside), as
        // the Python side's `shap_values(rows)`.
        let flat: Vec<f32> = rows.iter().flatten().copied().collect();
        explainer
            .shap_values_rows_into(&flat, &mut values, &mut scratch)
            .unwrap();
        let (cpu, wall) = (cpu_seconds(), std::time::Instant::now());
        for _ in 0..repeats {
            explainer
                .shap_values_rows_into(&flat, &mut values, &mut scratch)
                .unwrap();
        }
        println!(
            "whyline {name} (rows in one call): cpu {:.3} ms/row, wall {:.3} ms/row",
            (cpu_seconds() - cpu) * 1e3 / n,
            wall.elapsed().as_secs_f64() * 1e3 / n
        );
    }
}
