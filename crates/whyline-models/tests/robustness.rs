//! No input panics: mutated model files and arbitrary rows give a result or a typed error.

use proptest::prelude::*;
use whyline_core::Explainable;
use whyline_models::Model;

use crate::fixtures;

const FILES: [&str; 5] = [
    "sk_rf_clf_wine.whyline.json",
    "sk_mlp_clf_wine.whyline.json",
    "xgb_multi_softprob_iris.xgb.json",
    "lgb_binary_categorical.lgb.txt",
    "lgb_multiclass_iris.lgb.txt",
];

fn mutated(bytes: &[u8], edits: &[(usize, u8)]) -> Vec<u8> {
    let mut out = bytes.to_vec();
    for &(position, byte) in edits {
        let i = position % out.len();
        // Mostly digits and separators, so the edit often still parses and reaches the
        // validation of indices and lengths rather than the JSON parser.
        out[i] = b"0123456789-,. e\n="[usize::from(byte) % 17];
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn mutated_model_files_load_or_fail_without_panicking(
        file in 0..FILES.len(),
        edits in prop::collection::vec((any::<usize>(), any::<u8>()), 1..4),
    ) {
        let name = FILES[file];
        let bytes = std::fs::read(fixtures::dir().join(name)).unwrap();
        if let Ok(model) = Model::from_bytes(&mutated(&bytes, &edits), name) {
            let row = vec![0.5f32; model.n_features()];
            let _ = model.explain_one(&row);
            let _ = model.predict(&crate::fixtures::widen(&row));
        }
    }

    #[test]
    fn arbitrary_rows_predict_or_fail_without_panicking(
        file in 0..FILES.len(),
        values in prop::collection::vec(
            prop_oneof![any::<f32>(), Just(f32::NAN), Just(0.0f32), -1e3f32..1e3f32],
            0..40,
        ),
    ) {
        let model = Model::load(fixtures::dir().join(FILES[file])).unwrap();
        let result = model.explain_one(&values);
        let predicted = model.predict(&crate::fixtures::widen(&values));
        if values.len() != model.n_features() {
            prop_assert!(result.is_err());
            prop_assert!(predicted.is_err());
        }
    }
}
