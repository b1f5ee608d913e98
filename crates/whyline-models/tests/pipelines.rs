//! Pipelines, HistGradientBoosting, ExtraTrees and the other linear models against
//! scikit-learn's own outputs (`python/make_pipeline_fixtures.py`): raw rows with category
//! strings in, the transformed features, predictions, probabilities and decision values
//! out.

use std::path::PathBuf;

use serde_json::Value;
use whyline_core::{AnyPath, CoreError, Explainable, SplitTest};
use whyline_models::{
    InputKind, Model, ModelError, ModelKind, RowFormat, RowOptions, Rows, RowsError,
};

fn dir() -> PathBuf {
    super::fixtures::dir().join("pipelines")
}

struct Set {
    name: String,
    model: Model,
    rows: Rows,
    doc: Value,
}

fn sets() -> Vec<Set> {
    let mut names: Vec<String> = std::fs::read_dir(dir())
        .unwrap()
        .filter_map(|e| {
            let name = e.unwrap().file_name().into_string().unwrap();
            name.strip_suffix(".expected.json").map(str::to_owned)
        })
        .collect();
    names.sort();
    assert!(names.len() >= 15, "pipeline fixtures missing: {names:?}");
    names
        .into_iter()
        .map(|name| {
            let model = Model::load(dir().join(format!("{name}.whyline.json"))).unwrap();
            let rows = Rows::for_model_path(
                &dir().join(format!("{name}.rows.csv")),
                RowFormat::Auto,
                &model,
                RowOptions::new(),
            )
            .unwrap_or_else(|e| panic!("{name}: {e}"));
            let text =
                std::fs::read_to_string(dir().join(format!("{name}.expected.json"))).unwrap();
            Set {
                name,
                model,
                rows,
                doc: serde_json::from_str(&text).unwrap(),
            }
        })
        .collect()
}

fn matrix(doc: &Value, field: &str) -> Option<Vec<Vec<f64>>> {
    let items = doc.get(field)?.as_array()?;
    Some(
        items
            .iter()
            .map(|row| match row {
                Value::Array(v) => v.iter().map(|x| x.as_f64().unwrap_or(f64::NAN)).collect(),
                x => vec![x.as_f64().unwrap_or(f64::NAN)],
            })
            .collect(),
    )
}

fn close(a: f64, b: f64, relative: f64) -> bool {
    (a.is_nan() && b.is_nan()) || a == b || (a - b).abs() <= relative * a.abs().max(b.abs())
}

/// Tree ensembles compute in f64 exactly as scikit-learn does (same comparisons, same sum
/// order); linear models, KNN and MLP differ from BLAS's summation order by a few ulps.
fn tolerance(model: &Model) -> f64 {
    match model.kind() {
        ModelKind::Linear(_) | ModelKind::Knn(_) | ModelKind::Mlp(_) => 1e-12,
        _ => 0.0,
    }
}

#[test]
fn raw_rows_transform_to_exactly_the_features_scikit_learn_computes() {
    for set in sets() {
        let expected = matrix(&set.doc, "transformed").unwrap();
        assert_eq!(expected.len(), set.rows.len(), "{}", set.name);
        for (i, (row, want)) in set.rows.iter().zip(&expected).enumerate() {
            let got = set.model.transform_row(row).unwrap();
            assert_eq!(got.len(), want.len(), "{} row {i}", set.name);
            for (f, (g, w)) in got.iter().zip(want).enumerate() {
                assert!(
                    g.to_bits() == w.to_bits() || (g.is_nan() && w.is_nan()) || g == w,
                    "{} row {i} feature {f}: {g} != scikit-learn's {w}",
                    set.name
                );
            }
        }
    }
}

#[test]
fn predictions_probabilities_and_decision_values_equal_scikit_learns() {
    for set in sets() {
        let tol = tolerance(&set.model);
        let predict = matrix(&set.doc, "predict").unwrap();
        let proba = matrix(&set.doc, "proba");
        let raw = matrix(&set.doc, "raw");
        for (i, row) in set.rows.iter().enumerate() {
            let p = set
                .model
                .predict(row)
                .unwrap_or_else(|e| panic!("{} row {i}: {e}", set.name));
            assert!(
                close(p.value, predict[i][0], tol),
                "{} row {i}: predict {} != {}",
                set.name,
                p.value,
                predict[i][0]
            );
            if let Some(proba) = &proba {
                let got = p
                    .probabilities
                    .as_ref()
                    .unwrap_or_else(|| panic!("{}: no proba", set.name));
                for (g, w) in got.iter().zip(&proba[i]) {
                    assert!(
                        close(*g, *w, 1e-12),
                        "{} row {i}: proba {got:?} != {:?}",
                        set.name,
                        proba[i]
                    );
                }
            } else {
                assert!(
                    p.probabilities.is_none(),
                    "{}: probabilities the library has not",
                    set.name
                );
            }
            if let Some(raw) = &raw {
                // Forests' regressors have no raw outputs apart from their value.
                let got = if p.raw.is_empty() {
                    vec![p.value]
                } else {
                    p.raw.clone()
                };
                assert_eq!(got.len(), raw[i].len(), "{} row {i}: raw width", set.name);
                for (g, w) in got.iter().zip(&raw[i]) {
                    assert!(
                        close(*g, *w, tol),
                        "{} row {i}: raw {got:?} != {:?}",
                        set.name,
                        raw[i]
                    );
                }
            }
        }
    }
}

#[test]
fn category_strings_become_indices_and_an_unseen_city_is_unknown() {
    let set = sets()
        .into_iter()
        .find(|s| s.name == "pipe_ohe_scaler_hgb_clf")
        .unwrap();
    let stage = set.model.preprocessing().unwrap();
    let city = stage.inputs.iter().position(|c| c.name == "city").unwrap();
    // The first held-out applicant lives in Brest, which no model saw.
    assert_eq!(set.rows.row(0).unwrap()[city], -1.0);
    let InputKind::Categorical { categories, .. } = &stage.inputs[city].kind else {
        panic!("city is not categorical");
    };
    let paris = categories
        .iter()
        .position(|c| c.to_string() == "Paris")
        .unwrap();
    let csv = "id,city,income,age,debt,plan\n9,Paris,52000,40,1000,pro\n";
    let rows = Rows::for_model(
        csv.as_bytes(),
        RowFormat::Auto,
        &set.model,
        RowOptions::new(),
    )
    .unwrap();
    assert_eq!(rows.row(0).unwrap()[city], paris as f64);
    // JSON lines name the same columns and take the same strings.
    let json =
        r#"{"id": 9, "city": "Paris", "income": 52000, "age": 40, "debt": 1000, "plan": "pro"}"#;
    let from_json = Rows::for_model(
        json.as_bytes(),
        RowFormat::Auto,
        &set.model,
        RowOptions::new(),
    )
    .unwrap();
    assert_eq!(from_json.row(0), rows.row(0));
}

/// The same real model, its city column told to refuse unknown categories (scikit-learn's
/// `handle_unknown="error"`).
fn refusing_unknown_cities() -> Model {
    let path = dir().join("pipe_ohe_scaler_hgb_clf.whyline.json");
    let mut doc: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    for input in doc["preprocessing"]["inputs"].as_array_mut().unwrap() {
        if input["name"] == "city" {
            input["unknown"] = Value::from("error");
        }
    }
    Model::from_bytes(doc.to_string().as_bytes(), "refusing.json").unwrap()
}

#[test]
fn an_unknown_category_is_refused_with_its_line_and_column_where_the_encoder_refuses_one() {
    let model = refusing_unknown_cities();
    let csv = "id,city,income,age,debt,plan\n1,Lyon,1,2,3,pro\n2,Brest,1,2,3,pro\n";
    let error =
        Rows::for_model(csv.as_bytes(), RowFormat::Auto, &model, RowOptions::new()).unwrap_err();
    assert!(
        matches!(&error, RowsError::UnknownCategory { line: 3, found, known, .. } if found == "\"Brest\"" && known.contains("Paris")),
        "{error:?}"
    );
    // Model::predict takes category indices: -1 is an unknown category.
    let error = model.predict(&[0.0, -1.0, 1.0, 2.0, 3.0, 0.0]).unwrap_err();
    assert!(
        matches!(
            &error,
            ModelError::Input(CoreError::InvalidCategory {
                feature_index: 1,
                ..
            })
        ),
        "{error:?}"
    );
    let error = model.predict(&[0.0, 7.0, 1.0, 2.0, 3.0, 0.0]).unwrap_err();
    assert!(
        matches!(
            &error,
            ModelError::Input(CoreError::InvalidCategory {
                feature_index: 1,
                n_categories: 4,
                ..
            })
        ),
        "{error:?}"
    );
}

#[test]
fn decision_paths_speak_of_the_input_columns() {
    let set = sets()
        .into_iter()
        .find(|s| s.name == "pipe_ohe_scaler_hgb_clf")
        .unwrap();
    let stage = set.model.preprocessing().unwrap();
    let n_inputs = stage.n_inputs();
    assert_eq!(set.model.n_features(), n_inputs);
    let income = stage
        .inputs
        .iter()
        .position(|c| c.name == "income")
        .unwrap();
    let city = stage.inputs.iter().position(|c| c.name == "city").unwrap();
    let (mut income_splits, mut city_splits) = (0, 0);
    for row in set.rows.to_f32().chunks_exact(n_inputs) {
        let (output, path) = set.model.explain_one(row).unwrap();
        assert_eq!(
            f64::from(output),
            set.model
                .predict(&row.iter().map(|&x| f64::from(x)).collect::<Vec<_>>())
                .unwrap()
                .value
        );
        let AnyPath::Forest(forest) = &path else {
            panic!("not a forest path")
        };
        assert_eq!(forest.feature_importance.len(), n_inputs);
        for split in forest.tree_paths.iter().flat_map(|t| &t.splits) {
            let input = split.feature_index as usize;
            assert!(input < n_inputs);
            let x = row[input];
            if input == income && !x.is_nan() {
                income_splits += 1;
                // On income's own scale (tens of thousands), deciding as the tree did.
                assert!(
                    split.threshold > 1000.0,
                    "income threshold {}",
                    split.threshold
                );
                let near = (f64::from(x) - f64::from(split.threshold)).abs() < 1e-6 * f64::from(x);
                assert!(
                    near || (x <= split.threshold) == split.went_left,
                    "income {x} vs {}",
                    split.threshold
                );
            }
            if input == city {
                city_splits += 1;
                assert_eq!(split.test, SplitTest::InCategories);
                if x >= 0.0 {
                    let member = split.categories.contains(&(x as u32));
                    assert_eq!(
                        member, split.went_left,
                        "city {x} vs {:?}",
                        split.categories
                    );
                } else {
                    // Brest (unknown) or a missing city: named as such in the path.
                    assert!(split.missing, "an unknown city is not marked");
                }
            }
        }
    }
    assert!(
        income_splits > 0 && city_splits > 0,
        "{income_splits} income, {city_splits} city splits"
    );
    let text = path_text(&set);
    assert!(text.contains("income"), "{text}");
}

fn path_text(set: &Set) -> String {
    use whyline_core::DecisionPath;
    let row: Vec<f32> = set.rows.to_f32()[..set.model.n_features()].to_vec();
    let (_, path) = set.model.explain_one(&row).unwrap();
    path.explain_with(&set.model.info().names)
}

#[test]
fn linear_contributions_add_into_their_columns() {
    for set in sets()
        .into_iter()
        .filter(|s| matches!(s.model.estimator().kind(), ModelKind::Linear(_)))
    {
        let n_inputs = set.model.n_features();
        for row in set.rows.to_f32().chunks_exact(n_inputs) {
            let (_, path) = set.model.explain_one(row).unwrap();
            let features: Vec<f32> = set
                .model
                .transform_row(&row.iter().map(|&x| f64::from(x)).collect::<Vec<_>>())
                .unwrap()
                .into_iter()
                .map(|x| x as f32)
                .collect();
            let (_, inner) = set.model.estimator().explain_one(&features).unwrap();
            let (AnyPath::Linear(outer), AnyPath::Linear(inner)) = (&path, &inner) else {
                panic!("{}: not linear paths", set.name)
            };
            assert_eq!(outer.contributions.len(), n_inputs);
            let total: f32 = outer.contributions.iter().sum();
            let inner_total: f32 = inner.contributions.iter().sum();
            assert!(
                (total - inner_total).abs() <= 1e-4 * inner_total.abs().max(1.0),
                "{}",
                set.name
            );
            assert_eq!(outer.logit, inner.logit);
        }
    }
}

fn with_stage(stage: &str) -> Result<Model, ModelError> {
    let text = format!(
        r#"{{"format":"whyline-model","format_version":2,"model_type":"linear_regression",
        "task":"regression","n_features":2,"feature_names":null,
        "model":{{"link":"identity","n_outputs":1,"coef":[1.0,2.0],"intercept":[0.0]}},
        "preprocessing":{stage}}}"#
    );
    Model::from_bytes(text.as_bytes(), "stage.json")
}

#[test]
fn malformed_preprocessing_is_refused_naming_the_field() {
    let cases = [
        (
            r#"{"inputs":[{"name":"a","kind":"numeric"}],"features":[{"input":0,"ops":[]},{"input":3,"ops":[]}]}"#,
            "preprocessing.features[1].input",
        ),
        (
            r#"{"inputs":[{"name":"a","kind":"numeric"}],"features":[{"input":0,"ops":[{"op":"standardize","center":1,"scale":0}]},{"input":0,"ops":[]}]}"#,
            "preprocessing.features[0].ops[0].scale",
        ),
        (
            r#"{"inputs":[{"name":"c","kind":"categorical","categories":["x","y"],"unknown":"error"}],"features":[{"input":0,"ops":[{"op":"one_hot","category":0}]},{"input":0,"ops":[{"op":"one_hot","category":2}]}]}"#,
            "preprocessing.features[1].ops[0].category",
        ),
        (
            r#"{"inputs":[{"name":"a","kind":"numeric"}],"features":[{"input":0,"ops":[{"op":"one_hot","category":0}]},{"input":0,"ops":[]}]}"#,
            "preprocessing.features[0].ops[0].op",
        ),
        (
            r#"{"inputs":[{"name":"a","kind":"numeric"}],"features":[{"input":0,"ops":[{"op":"log"}]},{"input":0,"ops":[]}]}"#,
            "preprocessing.features[0].ops[0].op",
        ),
        (
            r#"{"inputs":[{"name":"a","kind":"text"}],"features":[{"input":0,"ops":[]},{"input":0,"ops":[]}]}"#,
            "preprocessing.inputs[0].kind",
        ),
        (
            r#"{"inputs":[{"name":"a","kind":"numeric"}],"features":[{"input":0,"ops":[]}]}"#,
            "preprocessing.features",
        ),
    ];
    for (stage, field) in cases {
        let error = with_stage(stage).unwrap_err();
        let named = match &error {
            ModelError::Malformed { field, .. }
            | ModelError::OutOfRange { field, .. }
            | ModelError::Unsupported { field, .. } => field.clone(),
            other => panic!("{stage}: {other:?}"),
        };
        assert_eq!(named, field, "{stage}: {error}");
    }
    // A version-1 reader's file cannot carry a stage.
    let text = r#"{"format":"whyline-model","format_version":1,"model_type":"linear_regression",
        "task":"regression","n_features":1,"model":{"link":"identity","n_outputs":1,"coef":[1.0],"intercept":[0.0]},
        "preprocessing":{"inputs":[],"features":[]}}"#;
    let error = Model::from_bytes(text.as_bytes(), "v1.json").unwrap_err();
    assert!(
        matches!(&error, ModelError::Malformed { field, .. } if field == "preprocessing"),
        "{error:?}"
    );
}
