//! aprender-core 0.72.3's linear models and k-means (`fixtures/aprender/0.72.3/`, written by
//! `tools/apr-fixtures` with aprender-core's own `format::save` and `save_safetensors`):
//! every `FitMode` and class weighting of its logistic regression, predictions and
//! contributions against aprender-core's own, SafeTensors, regularised models saved under
//! the linear regression's id, unfitted models, and every flipped payload byte. The trees
//! and forests are in `aprender_072.rs`.

use whyline_core::{AnyPath, Explainable};
use whyline_models::{LinearLink, Model, ModelError, ModelFormat, ModelKind};

use crate::aprender_072::{STEMS, dir, expected, load, variants, widen};
use crate::fixtures::reseal_apr;
use crate::fixtures::{f32_rows, f64s};

/// The logistic regressions, one per payload layout aprender-core 0.72.3 writes, with the
/// bytes that end each uncompressed payload: the `FitMode` variant (u32) and, for
/// `MiniBatch`, its batch size (u64).
const LOGISTIC: [(&str, &[u8]); 4] = [
    ("logistic_regression", &[0, 0, 0, 0]),
    ("logistic_regression_stochastic", &[1, 0, 0, 0]),
    (
        "logistic_regression_minibatch",
        &[2, 0, 0, 0, 16, 0, 0, 0, 0, 0, 0, 0],
    ),
    ("logistic_regression_weighted", &[0, 0, 0, 0]),
];

/// Every `.apr` file of this set that whyline loads.
fn all_models() -> Vec<String> {
    STEMS
        .iter()
        .copied()
        .chain(["kmeans", "linear_regression"])
        .chain(LOGISTIC.iter().map(|(stem, _)| *stem))
        .flat_map(variants)
        .collect()
}

fn bytes(name: &str) -> Vec<u8> {
    std::fs::read(dir().join(name)).unwrap()
}

/// The payload of an uncompressed `.apr` file (after the 32-byte header and the metadata,
/// before the CRC32).
fn raw_payload(file: &[u8]) -> &[u8] {
    assert_eq!(file[20], 0, "compressed");
    let metadata = u32::from_le_bytes(file[8..12].try_into().unwrap()) as usize;
    let payload = u32::from_le_bytes(file[12..16].try_into().unwrap()) as usize;
    &file[32 + metadata..32 + metadata + payload]
}

fn linear_of(model: &Model) -> &whyline_models::LinearModel {
    match model.kind() {
        ModelKind::Linear(m) => m,
        other => panic!("not a linear model: {other:?}"),
    }
}

#[test]
fn aprender_072_kmeans_and_linear_models_declare_their_type_and_version() {
    let mut stems = vec![
        ("kmeans", "aprender:KMeans"),
        ("linear_regression", "aprender:LinearRegression"),
    ];
    stems.extend(
        LOGISTIC
            .iter()
            .map(|(stem, _)| (*stem, "aprender:LogisticRegression")),
    );
    for (stem, model_type) in stems {
        for name in variants(stem) {
            let model = load(&name);
            let identity = model.identity().unwrap();
            assert_eq!(identity.model_type, model_type, "{name}");
            assert_eq!(identity.version, "0.72.3", "{name}");
            assert_eq!(model.producer(), "aprender 0.72.3", "{name}");
            assert_eq!(model.format(), ModelFormat::AprenderApr, "{name}");
            assert_eq!(model.n_features(), 3, "{name}");
        }
    }
}

#[test]
fn aprender_072_logistic_fixtures_hold_every_fit_mode_and_differ() {
    // The files really carry the layouts they stand for: each uncompressed payload ends with
    // its FitMode (after the class weights and L2 penalty), and the four fits differ.
    let mut seen: Vec<Vec<f64>> = Vec::new();
    for (stem, tail) in LOGISTIC {
        let file = bytes(&format!("{stem}.apr"));
        let payload = raw_payload(&file);
        assert!(payload.ends_with(tail), "{stem}: {payload:?}");
        let doc = expected(stem);
        let model = load(&format!("{stem}.apr"));
        let linear = linear_of(&model);
        assert_eq!(linear.link, LinearLink::Logistic, "{stem}");
        // aprender's f32 coefficients and intercept, widened exactly.
        assert_eq!(linear.coefficients, f64s(&doc, "coefficients"), "{stem}");
        assert_eq!(
            linear.intercepts,
            vec![doc["intercept"].as_f64().unwrap()],
            "{stem}"
        );
        assert!(!seen.contains(&linear.coefficients), "{stem}");
        seen.push(linear.coefficients.clone());
    }
    // The weighted fit's class weights are in its payload: `ClassWeight::Manual` (variant 2)
    // and its Vec<f32> [1.0, 2.5], then the L2 penalty 0.01, then FitMode::Batch.
    let file = bytes("logistic_regression_weighted.apr");
    let payload = raw_payload(&file);
    let mut weights = vec![2, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0];
    weights.extend(1.0f32.to_le_bytes());
    weights.extend(2.5f32.to_le_bytes());
    weights.extend(0.01f32.to_le_bytes());
    weights.extend([0, 0, 0, 0]);
    assert!(payload.ends_with(&weights), "{payload:?}");
}

#[test]
fn aprender_072_linear_regression_equals_predict_and_contributions_add_up() {
    let doc = expected("linear_regression");
    let want = f64s(&doc, "predict");
    let contributions = f32_rows(&doc, "explainable_contributions");
    let logits = f64s(&doc, "explainable_logit");
    for name in variants("linear_regression") {
        let model = load(&name);
        let linear = linear_of(&model);
        assert_eq!(linear.link, LinearLink::Identity, "{name}");
        assert_eq!(linear.coefficients, f64s(&doc, "coefficients"), "{name}");
        assert_eq!(linear.intercepts, vec![doc["intercept"].as_f64().unwrap()]);
        for (((row, &want), theirs), &logit) in f32_rows(&doc, "inputs")
            .iter()
            .zip(&want)
            .zip(&contributions)
            .zip(&logits)
        {
            let value = model.predict(&widen(row)).unwrap().value;
            // aprender sums in f32 (trueno's matvec), whyline in f64.
            assert!(
                (value - want).abs() <= 1e-6 * want.abs().max(1.0),
                "{name}: {value} vs {want}"
            );
            let (output, path) = model.explain_one(row).unwrap();
            let AnyPath::Linear(path) = path else {
                panic!("{name}: {path:?}")
            };
            check_linear_path(&name, &path, theirs, logit);
            // The explained output is the prediction, and the contributions add up to it.
            assert_eq!(output, path.logit, "{name}");
            assert_eq!(path.prediction, output, "{name}");
            assert!(path.probability.is_none(), "{name}");
            assert!(
                (f64::from(output) - want).abs() <= 1e-6 * want.abs().max(1.0),
                "{name}: {output} vs {want}"
            );
        }
    }
}

/// whyline's `LinearPath` against aprender-core's `explainable::LinearPath`: the same
/// contributions `coef × x` and logit, and `intercept + Σ contributions = logit`.
fn check_linear_path(name: &str, path: &whyline_core::LinearPath, theirs: &[f32], logit: f64) {
    assert_eq!(path.contributions.len(), theirs.len(), "{name}");
    for (ours, theirs) in path.contributions.iter().zip(theirs) {
        assert!(
            (ours - theirs).abs() <= 1e-6 * theirs.abs().max(1.0),
            "{name}: contribution {ours} vs {theirs}"
        );
    }
    let sum = f64::from(path.intercept)
        + path
            .contributions
            .iter()
            .map(|&c| f64::from(c))
            .sum::<f64>();
    let scale = f64::from(path.logit).abs().max(1.0);
    assert!(
        (sum - f64::from(path.logit)).abs() <= 1e-6 * scale,
        "{name}: intercept + Σ contributions {sum} vs logit {}",
        path.logit
    );
    assert!(
        (f64::from(path.logit) - logit).abs() <= 1e-6 * logit.abs().max(1.0),
        "{name}: logit {} vs aprender's {logit}",
        path.logit
    );
}

#[test]
fn aprender_072_logistic_regressions_equal_predict_proba_and_contributions_add_up() {
    for (stem, _) in LOGISTIC {
        let doc = expected(stem);
        let labels = f64s(&doc, "predict");
        let proba = f64s(&doc, "predict_proba");
        let contributions = f32_rows(&doc, "explainable_contributions");
        let logits = f64s(&doc, "explainable_logit");
        // Both classes occur among the inputs, so labels are not trivially right.
        assert!(labels.contains(&0.0) && labels.contains(&1.0), "{stem}");
        for name in variants(stem) {
            let model = load(&name);
            for ((((row, &label), &p1), theirs), &logit) in f32_rows(&doc, "inputs")
                .iter()
                .zip(&labels)
                .zip(&proba)
                .zip(&contributions)
                .zip(&logits)
            {
                let p = model.predict(&widen(row)).unwrap();
                assert_eq!(p.value, label, "{name} {row:?}");
                let ours = p.probabilities.unwrap();
                assert_eq!(ours.len(), 2, "{name}");
                assert!((ours[1] - p1).abs() <= 1e-6, "{name}: {} vs {p1}", ours[1]);
                assert!((ours[0] - (1.0 - p1)).abs() <= 1e-6, "{name}");
                let (output, path) = model.explain_one(row).unwrap();
                assert_eq!(f64::from(output), label, "{name}");
                let AnyPath::Linear(path) = path else {
                    panic!("{name}: {path:?}")
                };
                check_linear_path(&name, &path, theirs, logit);
                // The logit's sigmoid is the probability of the class the path names.
                assert_eq!(f64::from(path.prediction), label, "{name}");
                let explained = f64::from(path.probability.unwrap());
                let want = if label == 1.0 { p1 } else { 1.0 - p1 };
                assert!(
                    (explained - want).abs() <= 1e-6,
                    "{name}: {explained} vs {want}"
                );
            }
        }
    }
}

#[test]
fn aprender_072_kmeans_equals_predict_and_explains_the_margin() {
    let doc = expected("kmeans");
    let want = f64s(&doc, "predict");
    let centroids = f32_rows(&doc, "centroids");
    assert_eq!(centroids.len(), 3);
    // More than one cluster among the inputs.
    assert!(want.iter().any(|&c| c != want[0]));
    for name in variants("kmeans") {
        let model = load(&name);
        let ModelKind::KMeans(kmeans) = model.kind() else {
            panic!("{name}")
        };
        assert_eq!(kmeans.n_clusters, 3, "{name}");
        for (k, centroid) in centroids.iter().enumerate() {
            assert_eq!(kmeans.centroid(k), widen(centroid).as_slice(), "{name}");
        }
        for (row, &want) in f32_rows(&doc, "inputs").iter().zip(&want) {
            assert_eq!(
                model.predict(&widen(row)).unwrap().value,
                want,
                "{name} {row:?}"
            );
            let (output, path) = model.explain_one(row).unwrap();
            assert_eq!(f64::from(output), want, "{name}");
            let AnyPath::Cluster(path) = path else {
                panic!("{name}: {path:?}")
            };
            assert_eq!(f64::from(path.cluster), want, "{name}");
            // The contributions add up to the margin between the winner and the runner-up.
            let sum: f32 = path.contributions.iter().sum();
            assert!(path.margin >= 0.0, "{name}");
            assert!(
                (sum - path.margin).abs() <= 1e-4 * path.margin.abs().max(1.0),
                "{name}"
            );
        }
    }
}

#[test]
fn aprender_072_safetensors_kmeans_equals_the_apr_file() {
    let model = load("kmeans.safetensors");
    assert_eq!(model.format(), ModelFormat::AprenderSafetensors);
    assert_eq!(model.identity().unwrap().model_type, "aprender:KMeans");
    let apr = load("kmeans.apr");
    let doc = expected("kmeans");
    for (row, want) in f32_rows(&doc, "inputs").iter().zip(f64s(&doc, "predict")) {
        let p = model.predict(&widen(row)).unwrap();
        assert_eq!(p.value, want, "{row:?}");
        assert_eq!(p, apr.predict(&widen(row)).unwrap());
        assert_eq!(
            model.explain_one(row).unwrap(),
            apr.explain_one(row).unwrap()
        );
    }
}

#[test]
fn aprender_072_safetensors_linear_models_are_refused_as_ambiguous() {
    // aprender-core's LinearRegression and LogisticRegression write the same two tensors.
    for name in [
        "linear_regression.safetensors",
        "logistic_regression.safetensors",
    ] {
        let error = Model::load(dir().join(name)).unwrap_err();
        assert!(
            matches!(&error, ModelError::UnsupportedModelType { .. }),
            "{name}: {error:?}"
        );
        assert!(error.to_string().contains("LogisticRegression"), "{error}");
    }
}

#[test]
fn aprender_072_regularised_models_under_the_linear_regression_id_are_not_loaded() {
    // Ridge, Lasso and ElasticNet have no type id; under LinearRegression's their payloads
    // (alpha first) are not a LinearRegression's and must not be read as a wrong one.
    for name in [
        "ridge_as_linear_regression.apr",
        "lasso_as_linear_regression.apr",
        "elastic_net_as_linear_regression.apr",
    ] {
        let file = bytes(name);
        assert_eq!(u16::from_le_bytes([file[6], file[7]]), 0x0001, "{name}");
        let error = Model::load(dir().join(name)).unwrap_err();
        assert!(
            matches!(&error, ModelError::Malformed { field, .. }
                if field.starts_with("payload.coefficients")),
            "{name}: {error:?}"
        );
        // Not mistaken for an unfitted LinearRegression (Ridge(1.0) begins with a 0 byte,
        // which is also how an unfitted model's None begins).
        let message = error.to_string();
        assert!(!message.contains("saved before"), "{name}: {message}");
        assert!(
            message.contains("not a LinearRegression") || message.contains("not an Option tag"),
            "{name}: {message}"
        );
    }
    let message = Model::load(dir().join("ridge_as_linear_regression.apr"))
        .unwrap_err()
        .to_string();
    assert!(message.contains("not a LinearRegression"), "{message}");
}

#[test]
fn aprender_072_unfitted_linear_models_are_named_as_unfitted() {
    for (name, model) in [
        ("linear_regression_unfitted.apr", "LinearRegression"),
        ("logistic_regression_unfitted.apr", "LogisticRegression"),
    ] {
        let error = Model::load(dir().join(name)).unwrap_err();
        assert!(
            matches!(&error, ModelError::Malformed { field, .. }
                if field.starts_with("payload.coefficients")),
            "{name}: {error:?}"
        );
        let message = error.to_string();
        assert!(
            message.contains(&format!("None: the {model} was saved before it was fitted")),
            "{name}: {message}"
        );
    }
}

#[test]
fn aprender_072_every_resealed_payload_flip_of_the_small_models_loads_or_is_typed() {
    // Behind the checksum: the payload readers see every flipped bit of the k-means, linear
    // and logistic payloads (the FitMode and class-weight tags among them).
    let mut checked = 0;
    for name in all_models() {
        let file = bytes(&name);
        if file[20] != 0 || STEMS.iter().any(|stem| name.starts_with(stem)) {
            continue;
        }
        let payload = raw_payload(&file).len();
        let start = file.len() - 4 - payload;
        for i in start..start + payload {
            for bit in [0x01u8, 0x80] {
                let mut damaged = file.clone();
                damaged[i] ^= bit;
                reseal_apr(&mut damaged);
                match Model::from_bytes(&damaged, &name) {
                    Ok(model) => {
                        if model.n_features() <= 64 {
                            let _ = model.predict(&vec![0.5; model.n_features()]);
                        }
                    }
                    Err(ModelError::Malformed { .. } | ModelError::OutOfRange { .. }) => {}
                    Err(other) => panic!("{name}: payload byte {i} ^ {bit:#x}: {other:?}"),
                }
            }
        }
        checked += 1;
    }
    assert_eq!(checked, 6);
}
