//! The server's inference request body.

use std::sync::OnceLock;

use whyline_core::Explainable;
use whyline_models::Model;

use crate::Outcome;

/// The model the fuzzed requests are decided by: the small scikit-learn decision tree of
/// the committed fixtures (iris, 4 features).
const MODEL: &[u8] =
    include_bytes!("../../whyline-models/tests/fixtures/sk_tree_clf_iris.whyline.json");

fn model() -> Option<&'static Model> {
    static LOADED: OnceLock<Option<Model>> = OnceLock::new();
    LOADED
        .get_or_init(|| Model::from_bytes(MODEL, "iris.json").ok())
        .as_ref()
}

/// Reads the bytes as an Open Inference Protocol request body (`POST
/// /v2/models/NAME/infer`) as the server does, then decides its rows when they are as wide
/// as the model (at most 1,024 of them).
pub fn oip_infer(data: &[u8]) -> Outcome {
    let (values, rows, width) = whyline_server::read_infer_body(data).map_err(|e| e.to_string())?;
    assert_eq!(
        values.len(),
        rows.saturating_mul(width),
        "values do not fill the shape"
    );
    let model = model().ok_or("the iris fixture does not load")?;
    if width == model.n_features() {
        for row in values.chunks(width).take(1024) {
            let wide: Vec<f64> = row.iter().map(|&x| f64::from(x)).collect();
            let _ = model.predict(&wide);
            let _ = model.explain_one(row);
        }
    }
    Ok(())
}
