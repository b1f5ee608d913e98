//! The `preprocessing` stage of a format-2 whyline JSON model
//! (`import/whyline_preprocessing.rs`): input columns and each feature's transforms.

use serde_json::json;

use super::{Case, Expect, load_edited, pop, run, set};

/// Three numeric inputs, each standardised.
const SCALED: &str = "pipelines/pipe_scaler_logreg.whyline.json";
/// Inputs: 0 `id` (ignored), 1 `city` (categorical, 4), 2–4 numeric, 5 `plan` (categorical,
/// 3); features 0–4 one-hot `city` (4 is its missing indicator), 5–7 one-hot `plan`, 8–10
/// standardise the numbers.
const ONE_HOT: &str = "pipelines/pipe_ohe_scaler_hgb_clf.whyline.json";
/// Features 0 and 1 read a categorical column through impute, unknown, lookup, unknown.
const ORDINAL: &str = "pipelines/pipe_impute_ordinal_hgb_reg.whyline.json";

#[test]
fn input_columns_that_cannot_be_read_are_refused_naming_the_column() {
    run(&[
        Case {
            what: "no input columns",
            file: SCALED,
            edit: |doc| set(doc, "/preprocessing/inputs", json!([])),
            expect: Expect::Malformed("preprocessing.inputs", "at least one input column"),
        },
        Case {
            what: "a column without a name",
            file: SCALED,
            edit: |doc| set(doc, "/preprocessing/inputs/1", json!({"kind": "numeric"})),
            expect: Expect::Malformed("preprocessing.inputs[1].name", "missing field"),
        },
        Case {
            what: "a column of an unknown kind",
            file: SCALED,
            edit: |doc| set(doc, "/preprocessing/inputs/2/kind", json!("date")),
            expect: Expect::Unsupported(
                "preprocessing.inputs[2].kind",
                "date",
                "numeric, categorical or ignored",
            ),
        },
        Case {
            what: "a category that is neither text nor a number",
            file: ONE_HOT,
            edit: |doc| set(doc, "/preprocessing/inputs/1/categories/2", json!(true)),
            expect: Expect::Malformed(
                "preprocessing.inputs[1].categories[2]",
                "expected a string or a number",
            ),
        },
        Case {
            what: "a categorical column without categories",
            file: ONE_HOT,
            edit: |doc| set(doc, "/preprocessing/inputs/5/categories", json!([])),
            expect: Expect::Malformed(
                "preprocessing.inputs[5].categories",
                "at least one category",
            ),
        },
        Case {
            what: "an unknown-category policy scikit-learn has but whyline does not",
            file: ONE_HOT,
            edit: |doc| {
                set(
                    doc,
                    "/preprocessing/inputs/1/unknown",
                    json!("infrequent_if_exist"),
                );
            },
            expect: Expect::Unsupported(
                "preprocessing.inputs[1].unknown",
                "infrequent_if_exist",
                "error or ignore",
            ),
        },
        Case {
            what: "an unknown missing-value policy",
            file: ONE_HOT,
            edit: |doc| set(doc, "/preprocessing/inputs/1/missing", json!("drop")),
            expect: Expect::Unsupported(
                "preprocessing.inputs[1].missing",
                "drop",
                "category or unknown",
            ),
        },
        Case {
            what: "one feature less than the estimator reads",
            file: SCALED,
            edit: |doc| pop(doc, "/preprocessing/features"),
            expect: Expect::Malformed(
                "preprocessing.features",
                "2 features, the estimator reads 3 (`n_features`)",
            ),
        },
    ]);
}

#[test]
fn transforms_that_cannot_be_applied_are_refused_naming_the_op() {
    run(&[
        Case {
            what: "a feature reading a column past the inputs",
            file: SCALED,
            edit: |doc| set(doc, "/preprocessing/features/2/input", json!(3)),
            expect: Expect::OutOfRange(
                "preprocessing.features[2].input",
                "3",
                "an input column below 3",
            ),
        },
        Case {
            what: "a feature reading an ignored column",
            file: ONE_HOT,
            edit: |doc| set(doc, "/preprocessing/features/8/input", json!(0)),
            expect: Expect::Malformed(
                "preprocessing.features[8].input",
                "input column 0 is ignored, yet a feature reads it",
            ),
        },
        Case {
            what: "a scale of zero",
            file: SCALED,
            edit: |doc| set(doc, "/preprocessing/features/1/ops/0/scale", json!(0.0)),
            expect: Expect::Malformed("preprocessing.features[1].ops[0].scale", "a scale of 0"),
        },
        Case {
            what: "a centre written as text",
            file: SCALED,
            edit: |doc| set(doc, "/preprocessing/features/1/ops/0/center", json!("48.9")),
            expect: Expect::Malformed(
                "preprocessing.features[1].ops[0].center",
                "expected a finite number",
            ),
        },
        Case {
            what: "an op whyline does not know",
            file: SCALED,
            edit: |doc| set(doc, "/preprocessing/features/0/ops/0/op", json!("log")),
            expect: Expect::Unsupported(
                "preprocessing.features[0].ops[0].op",
                "log",
                "impute, standardize, affine, clip, lookup",
            ),
        },
        Case {
            what: "a clip whose minimum is above its maximum",
            file: SCALED,
            edit: |doc| {
                set(
                    doc,
                    "/preprocessing/features/0/ops/0",
                    json!({"op": "clip", "min": 5.0, "max": 1.0}),
                );
            },
            expect: Expect::Malformed("preprocessing.features[0].ops[0].min", "5 is above max 1"),
        },
        Case {
            what: "a lookup value that is text",
            file: ORDINAL,
            edit: |doc| {
                set(
                    doc,
                    "/preprocessing/features/0/ops/2/values/1",
                    json!("one"),
                )
            },
            expect: Expect::Malformed(
                "preprocessing.features[0].ops[2].values[1]",
                "expected a finite number",
            ),
        },
        Case {
            what: "an unknown-category value that is neither a number nor \"nan\"",
            file: ORDINAL,
            edit: |doc| set(doc, "/preprocessing/features/0/ops/3/value", json!("none")),
            expect: Expect::Malformed(
                "preprocessing.features[0].ops[3].value",
                "expected a finite number or \"nan\"",
            ),
        },
        Case {
            what: "a one-hot of a number",
            file: SCALED,
            edit: |doc| {
                set(
                    doc,
                    "/preprocessing/features/0/ops/0",
                    json!({"op": "one_hot", "category": 0}),
                );
            },
            expect: Expect::Malformed("preprocessing.features[0].ops[0].op", "one_hot of a number"),
        },
        Case {
            what: "a one-hot of a category past the column's",
            file: ONE_HOT,
            edit: |doc| set(doc, "/preprocessing/features/3/ops/0/category", json!(4)),
            expect: Expect::OutOfRange(
                "preprocessing.features[3].ops[0].category",
                "4",
                "a category index below 4",
            ),
        },
        Case {
            what: "an affine map without an offset",
            file: SCALED,
            edit: |doc| {
                set(
                    doc,
                    "/preprocessing/features/0/ops/0",
                    json!({"op": "affine", "scale": 2.0}),
                );
            },
            expect: Expect::Malformed("preprocessing.features[0].ops[0].offset", "missing field"),
        },
    ]);
}

#[test]
fn affine_and_clip_transforms_compute_what_they_declare() {
    // Feature 0 of the scaled pipeline, (x − c) / s, rewritten as the affine map
    // x / s − c / s, then clipped: the same model output where the clip does not bite.
    let original = load_edited(SCALED, |_| {}).unwrap();
    let doc = super::document(SCALED);
    let op = &doc["preprocessing"]["features"][0]["ops"][0];
    let (center, scale) = (
        op["center"].as_f64().unwrap(),
        op["scale"].as_f64().unwrap(),
    );
    let affine = load_edited(SCALED, |doc| {
        set(
            doc,
            "/preprocessing/features/0/ops",
            json!([
                {"op": "affine", "scale": 1.0 / scale, "offset": -center / scale},
                {"op": "clip", "min": -3.0, "max": 3.0},
            ]),
        );
    })
    .unwrap();
    let row = [center + 0.4 * scale, 49.0, 7600.0];
    let features = affine.transform_row(&row).unwrap();
    assert!((features[0] - 0.4).abs() < 1e-12, "{features:?}");
    let (a, b) = (
        original.predict(&row).unwrap(),
        affine.predict(&row).unwrap(),
    );
    let (a, b) = (a.probabilities.unwrap(), b.probabilities.unwrap());
    for (x, y) in a.iter().zip(&b) {
        assert!((x - y).abs() < 1e-12, "{a:?} {b:?}");
    }
    // Far out, the clip holds the feature at 3.
    let far = [center + 100.0 * scale, 49.0, 7600.0];
    assert_eq!(affine.transform_row(&far).unwrap()[0], 3.0);
}
