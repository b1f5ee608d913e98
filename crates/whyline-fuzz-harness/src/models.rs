//! The model importers and the row parser.

use std::sync::OnceLock;

use whyline_core::Explainable;
use whyline_models::{Model, RowFormat, RowOptions, Rows};

use crate::{Outcome, message};

/// Rows wider than this are not predicted (the model loaded; a row of millions of features
/// is the fuzzer's, not a model's).
const MAX_PREDICT_FEATURES: usize = 1 << 16;

/// Loads the bytes as a model file, whatever its format (`Model::from_bytes`, as `--model`
/// does: whyline JSON, XGBoost JSON, LightGBM text, aprender `.apr` and safetensors), then
/// predicts and explains a row of zeros and a row of NaNs (missing values).
pub fn model(data: &[u8]) -> Outcome {
    let model = Model::from_bytes(data, "fuzz-model").map_err(|e| message(&e))?;
    let _ = model.info();
    let _ = model.record(0);
    let n = model.n_features();
    if n > MAX_PREDICT_FEATURES {
        return Ok(());
    }
    for fill in [0.0, f64::NAN, 1e300] {
        let row = vec![fill; n];
        let _ = model.predict(&row);
        let _ = model.apply(&row);
        #[allow(clippy::cast_possible_truncation)] // the f32 row the monitor decides on
        let narrow = vec![fill as f32; n];
        let _ = model.explain_one(&narrow);
    }
    Ok(())
}

/// A pipeline with categorical columns (one-hot, scaler, gradient boosting), whose rows
/// are read by name with categories looked up.
const PIPELINE: &[u8] = include_bytes!(
    "../../whyline-models/tests/fixtures/pipelines/pipe_ohe_scaler_hgb_clf.whyline.json"
);

fn pipeline() -> Option<&'static Model> {
    static MODEL: OnceLock<Option<Model>> = OnceLock::new();
    MODEL
        .get_or_init(|| Model::from_bytes(PIPELINE, "pipeline.json").ok())
        .as_ref()
}

/// Reads the bytes after the first as rows (CSV or JSON lines, `--rows`). The first byte
/// picks: bits 0–1 the format (auto, CSV, JSON lines), bit 2 a CSV without header, bit 3
/// named features (else the categorical pipeline, whose rows are then predicted), bits 5–7
/// their number less one.
pub fn rows(data: &[u8]) -> Outcome {
    let Some((&choice, text)) = data.split_first() else {
        return Err("empty input".to_owned());
    };
    let format = match choice & 3 {
        0 => RowFormat::Auto,
        1 => RowFormat::Csv,
        _ => RowFormat::JsonLines,
    };
    let options = RowOptions::new().header(choice & 4 == 0);
    if choice & 8 == 0 {
        let model = pipeline().ok_or("the pipeline fixture does not load")?;
        let rows = Rows::for_model(text, format, model, options).map_err(|e| message(&e))?;
        for row in rows.iter() {
            let _ = model.predict(row);
        }
        return Ok(());
    }
    let n_features = usize::from(choice >> 5) + 1;
    let names: Vec<String> = ["a", "b", "c", "d", "e", "f", "g", "h"]
        .iter()
        .take(n_features)
        .map(|s| (*s).to_owned())
        .collect();
    let rows =
        Rows::from_reader(text, format, &names, n_features, options).map_err(|e| message(&e))?;
    assert_eq!(
        rows.values().len(),
        rows.len() * n_features,
        "rows of the wrong width"
    );
    let _ = rows.to_f32();
    Ok(())
}
