#![allow(dead_code, clippy::print_stderr)]
// Bench inputs: the models and rows `python/bench_vs_shap.py --write-models` writes.

use std::path::PathBuf;

use whyline_models::Model;

pub(crate) fn models_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("benches/models")
}

/// Loads a bench model, or says how to make it and returns `None`.
pub(crate) fn load(file: &str) -> Option<Model> {
    let path = models_dir().join(file);
    match Model::load(&path) {
        Ok(model) => Some(model),
        Err(error) => {
            eprintln!(
                "skipping: {} ({error}); generate it with `python/.venv-explain/bin/python python/bench_vs_shap.py --write-models`",
                path.display()
            );
            None
        }
    }
}

/// Rows of a field of bench_data.json.
pub(crate) fn rows(field: &str) -> Option<Vec<Vec<f32>>> {
    let text = std::fs::read_to_string(models_dir().join("bench_data.json")).ok()?;
    let doc: serde_json::Value = serde_json::from_str(&text).ok()?;
    doc.get(field)?
        .as_array()?
        .iter()
        .map(|row| {
            row.as_array()
                .map(|r| r.iter().map(|v| v.as_f64().unwrap_or(0.0) as f32).collect())
        })
        .collect()
}
