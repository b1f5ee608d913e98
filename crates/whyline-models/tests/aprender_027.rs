//! aprender 0.27.8's `.apr` files (`fixtures/aprender/0.27.8/`, written by
//! `tools/apr-fixtures` with aprender's own `format::save`, `save_signed` and
//! `save_encrypted`): every family against aprender's own `predict` / `predict_proba` and
//! `aprender::explainable` output, signatures, and every truncation and flipped byte.

use std::path::PathBuf;

use serde_json::Value;
use whyline_core::{AnyPath, DecisionPath, Explainable};
use whyline_models::{LoadOptions, Model, ModelError, ModelKind};

use crate::fixtures::reseal_apr;
use crate::fixtures::{f32_rows, f64s};

fn dir() -> PathBuf {
    crate::fixtures::dir().join("aprender/0.27.8")
}

fn bytes(name: &str) -> Vec<u8> {
    std::fs::read(dir().join(name)).unwrap()
}

fn expected(stem: &str) -> Value {
    serde_json::from_slice(&bytes(&format!("{stem}.expected.json"))).unwrap()
}

fn variants(stem: &str) -> Vec<String> {
    ["", ".zstd", ".lz4"]
        .iter()
        .map(|suffix| format!("{stem}{suffix}.apr"))
        .collect()
}

/// Every model file of this version.
fn all_models() -> Vec<String> {
    let mut out: Vec<String> = [
        "decision_tree_classifier",
        "decision_tree_regressor",
        "random_forest_classifier",
        "random_forest_regressor",
        "kmeans",
        "linear_regression",
        "logistic_regression",
    ]
    .iter()
    .flat_map(|stem| variants(stem))
    .collect();
    out.push("decision_tree_classifier.signed.apr".into());
    out.push("demo_tree.apr".into());
    out
}

fn load(name: &str) -> Model {
    Model::load(dir().join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn widen(row: &[f32]) -> Vec<f64> {
    row.iter().map(|&v| f64::from(v)).collect()
}

#[test]
fn aprender_027_every_model_declares_its_type_and_version() {
    for (name, model_type) in [
        (
            "decision_tree_classifier.apr",
            "aprender:DecisionTreeClassifier",
        ),
        (
            "decision_tree_regressor.apr",
            "aprender:DecisionTreeRegressor",
        ),
        (
            "random_forest_classifier.apr",
            "aprender:RandomForestClassifier",
        ),
        (
            "random_forest_regressor.apr",
            "aprender:RandomForestRegressor",
        ),
        ("kmeans.apr", "aprender:KMeans"),
        ("linear_regression.apr", "aprender:LinearRegression"),
        ("logistic_regression.apr", "aprender:LogisticRegression"),
    ] {
        let model = load(name);
        let identity = model.identity().unwrap();
        assert_eq!(identity.model_type, model_type, "{name}");
        assert_eq!(identity.version, "0.27.8", "{name}");
        assert_eq!(model.producer(), "aprender 0.27.8", "{name}");
        assert_eq!(model.n_features(), 3, "{name}");
    }
}

#[test]
fn aprender_027_decision_trees_equal_aprender_predict_exactly() {
    for stem in ["decision_tree_classifier", "decision_tree_regressor"] {
        let doc = expected(stem);
        let want = f64s(&doc, "predict");
        for name in variants(stem) {
            let model = load(&name);
            for (row, &want) in f32_rows(&doc, "inputs").iter().zip(&want) {
                // Labels exactly; regressor leaves are aprender's f32 value, widened.
                assert_eq!(
                    model.predict(&widen(row)).unwrap().value,
                    want,
                    "{name} {row:?}"
                );
                assert_eq!(model.predict_one(row).unwrap(), want as f32, "{name}");
                let (output, path) = model.explain_one(row).unwrap();
                assert_eq!(output, want as f32, "{name}");
                let AnyPath::Tree(path) = path else {
                    panic!("{name}: {path:?}")
                };
                // The path ends at the leaf aprender's walk reaches: every split it lists is
                // the one the row takes (`x <= threshold` goes left).
                for split in &path.splits {
                    let x = row[split.feature_index as usize];
                    assert_eq!(split.went_left, x <= split.threshold, "{name}");
                }
                assert_eq!(path.leaf.prediction, want as f32, "{name}");
                assert!(path.leaf.n_samples > 0, "{name}");
            }
        }
    }
}

#[test]
fn aprender_027_classifier_leaves_carry_their_one_hot_vote() {
    let model = load("decision_tree_classifier.apr");
    let doc = expected("decision_tree_classifier");
    for (row, want) in f32_rows(&doc, "inputs").iter().zip(f64s(&doc, "predict")) {
        let p = model.predict(&widen(row)).unwrap();
        let proba = p.probabilities.unwrap();
        assert_eq!(proba.len(), 3);
        for (class, &share) in proba.iter().enumerate() {
            assert_eq!(share, if class as f64 == want { 1.0 } else { 0.0 });
        }
    }
}

#[test]
fn aprender_027_forest_classifier_equals_predict_and_predict_proba() {
    let doc = expected("random_forest_classifier");
    let want = f64s(&doc, "predict");
    let proba = f32_rows(&doc, "predict_proba");
    for name in variants("random_forest_classifier") {
        let model = load(&name);
        let ModelKind::RandomForest(forest) = model.kind() else {
            panic!("{name}")
        };
        assert_eq!(forest.trees.len(), 7);
        for ((row, &want), proba) in f32_rows(&doc, "inputs").iter().zip(&want).zip(&proba) {
            let p = model.predict(&widen(row)).unwrap();
            assert_eq!(p.value, want, "{name} {row:?}");
            let ours = p.probabilities.unwrap();
            assert_eq!(ours.len(), proba.len(), "{name}");
            // aprender divides vote counts by the tree count in f32.
            for (o, &a) in ours.iter().zip(proba) {
                assert!(
                    (o - f64::from(a)).abs() <= f64::from(f32::EPSILON),
                    "{name}: {o} vs {a}"
                );
            }
            let (output, path) = model.explain_one(row).unwrap();
            assert_eq!(output, want as f32);
            let AnyPath::Forest(path) = path else {
                panic!()
            };
            assert_eq!(path.tree_paths.len(), 7);
        }
    }
}

#[test]
fn aprender_027_forest_regressor_equals_predict_and_explainable_ensemble_prediction() {
    let doc = expected("random_forest_regressor");
    let want = f64s(&doc, "predict");
    let explained = f64s(&doc, "explainable_ensemble_prediction");
    let mut worst = 0.0f64;
    for name in variants("random_forest_regressor") {
        let model = load(&name);
        for ((row, &want), &explained) in f32_rows(&doc, "inputs").iter().zip(&want).zip(&explained)
        {
            let value = model.predict(&widen(row)).unwrap().value;
            // aprender sums the trees in f32 and divides in f32; whyline in f64.
            let error = (value - want).abs() / want.abs().max(1.0);
            worst = worst.max(error);
            assert!(
                error <= 4.0 * f64::from(f32::EPSILON),
                "{name}: {value} vs {want}"
            );
            let (_, path) = model.explain_one(row).unwrap();
            let AnyPath::Forest(path) = path else {
                panic!()
            };
            // aprender::explainable's ForestPath (0.27.8) holds the ensemble's prediction
            // only (its tree list is the ensemble itself): whyline's agrees to f32 rounding.
            let ours = f64::from(path.ensemble_prediction);
            assert!(
                (ours - explained).abs()
                    <= 4.0 * f64::from(f32::EPSILON) * explained.abs().max(1.0)
            );
            assert_eq!(path.tree_predictions.len(), 6, "{name}");
        }
    }
    println!("aprender RandomForestRegressor: worst relative error {worst:.1e}");
}

#[test]
fn aprender_027_kmeans_equals_predict_and_explains_the_margin() {
    let doc = expected("kmeans");
    let want = f64s(&doc, "predict");
    let centroids = f32_rows(&doc, "centroids");
    for name in variants("kmeans") {
        let model = load(&name);
        let ModelKind::KMeans(kmeans) = model.kind() else {
            panic!("{name}")
        };
        assert_eq!(kmeans.n_clusters, 3);
        for (k, centroid) in centroids.iter().enumerate() {
            assert_eq!(kmeans.centroid(k), widen(centroid).as_slice());
        }
        for (row, &want) in f32_rows(&doc, "inputs").iter().zip(&want) {
            assert_eq!(
                model.predict(&widen(row)).unwrap().value,
                want,
                "{name} {row:?}"
            );
            let (output, path) = model.explain_one(row).unwrap();
            assert_eq!(output, want as f32);
            let AnyPath::Cluster(path) = path else {
                panic!("{path:?}")
            };
            assert_eq!(path.cluster as f64, want);
            // Distances from the centroids aprender fitted, in f64 then rounded.
            for (k, centroid) in centroids.iter().enumerate() {
                let d: f64 = row
                    .iter()
                    .zip(centroid)
                    .map(|(&x, &c)| (f64::from(x) - f64::from(c)).powi(2))
                    .sum();
                assert_eq!(path.squared_distances[k], d as f32);
            }
            // The runner-up is the second nearest, and the contributions add up to the margin.
            let mut order: Vec<usize> = (0..3).collect();
            order.sort_by(|&a, &b| {
                path.squared_distances[a]
                    .total_cmp(&path.squared_distances[b])
                    .then(a.cmp(&b))
            });
            assert_eq!(path.runner_up as usize, order[1]);
            let margin = path.squared_distances[order[1]] - path.squared_distances[order[0]];
            assert!((path.margin - margin).abs() <= 1e-4 * margin.abs().max(1.0));
            let sum: f32 = path.contributions.iter().sum();
            assert!((sum - path.margin).abs() <= 1e-4 * path.margin.abs().max(1.0));
            assert!(path.margin >= 0.0);
            assert!((0.0..=1.0).contains(&path.confidence()));
            // The path survives the APRT round trip.
            let back =
                whyline_core::ClusterPath::from_bytes(path.path_type(), &path.to_bytes()).unwrap();
            assert_eq!(back, path);
        }
    }
}

#[test]
fn aprender_027_linear_models_equal_predict_and_explainable_contributions() {
    for stem in ["linear_regression", "logistic_regression"] {
        let doc = expected(stem);
        let inputs = f32_rows(&doc, "inputs");
        let contributions = f32_rows(&doc, "explainable_contributions");
        let (field, tolerance) = if stem == "linear_regression" {
            ("predict", 1e-5)
        } else {
            ("predict_proba", 1e-6)
        };
        let want = f64s(&doc, field);
        for name in variants(stem) {
            let model = load(&name);
            for ((row, &want), contributions) in inputs.iter().zip(&want).zip(&contributions) {
                let p = model.predict(&widen(row)).unwrap();
                let value = match &p.probabilities {
                    Some(proba) => proba[1],
                    None => p.value,
                };
                let error = (value - want).abs() / want.abs().max(1.0);
                assert!(error <= tolerance, "{name}: {value} vs {want}");
                let (_, path) = model.explain_one(row).unwrap();
                let AnyPath::Linear(path) = path else {
                    panic!()
                };
                // aprender::explainable's contributions: coefficient × value in f32.
                for (ours, theirs) in path.contributions.iter().zip(contributions) {
                    assert!(
                        (ours - theirs).abs() <= 1e-6 * theirs.abs().max(1.0),
                        "{name}: {ours} vs {theirs}"
                    );
                }
            }
        }
        if stem == "logistic_regression" {
            let labels = f64s(&doc, "predict");
            let model = load(&format!("{stem}.apr"));
            for (row, &label) in inputs.iter().zip(&labels) {
                assert_eq!(model.predict(&widen(row)).unwrap().value, label, "{row:?}");
            }
        }
    }
}

#[test]
fn aprender_027_demo_tree_has_the_demo_scenario_features() {
    let model = load("demo_tree.apr");
    assert_eq!(model.n_features(), 6);
    let doc = expected("demo_tree");
    for (row, want) in f32_rows(&doc, "inputs").iter().zip(f64s(&doc, "predict")) {
        assert_eq!(model.predict(&widen(row)).unwrap().value, want);
    }
}

#[test]
fn aprender_027_a_signed_file_is_verified() {
    let signed = "decision_tree_classifier.signed.apr";
    // With the key the file carries, and with the signer's key given.
    let embedded = load(signed);
    let plain = load("decision_tree_classifier.apr");
    let key = LoadOptions::read_apr_public_key(dir().join("signing_key.pub.hex")).unwrap();
    let given = Model::load_with(
        dir().join(signed),
        &LoadOptions::default().with_apr_public_key(key),
    )
    .unwrap();
    let doc = expected("decision_tree_classifier");
    for row in f32_rows(&doc, "inputs") {
        let row = widen(&row);
        assert_eq!(
            embedded.predict(&row).unwrap(),
            plain.predict(&row).unwrap()
        );
        assert_eq!(given.predict(&row).unwrap(), plain.predict(&row).unwrap());
    }
    // Another key: a typed error naming the key.
    let other = LoadOptions::read_apr_public_key(dir().join("other_key.pub.hex")).unwrap();
    let error = Model::load_with(
        dir().join(signed),
        &LoadOptions::default().with_apr_public_key(other),
    )
    .unwrap_err();
    assert!(
        matches!(error, ModelError::SignatureInvalid { .. }),
        "{error:?}"
    );
    assert!(
        error.to_string().contains("the given public key"),
        "{error}"
    );
}

#[test]
fn aprender_027_any_signed_byte_changed_and_resealed_fails_the_signature() {
    let file = bytes("decision_tree_classifier.signed.apr");
    let n = file.len();
    // Metadata, payload, signature and the embedded key: the CRC is rewritten, so only the
    // signature can tell.
    for i in 32..n - 4 {
        let mut damaged = file.clone();
        damaged[i] ^= 0x10;
        reseal_apr(&mut damaged);
        match Model::from_bytes(&damaged, "signed.apr") {
            Err(ModelError::SignatureInvalid { .. }) => {}
            other => panic!("byte {i} of {n} flipped: {other:?}"),
        }
    }
    // The header's free bytes are signed too (the quality score, the reserved bytes).
    for i in [22usize, 23, 31] {
        let mut damaged = file.clone();
        damaged[i] ^= 0x01;
        reseal_apr(&mut damaged);
        assert!(matches!(
            Model::from_bytes(&damaged, "signed.apr"),
            Err(ModelError::SignatureInvalid { .. })
        ));
    }
}

#[test]
fn aprender_027_an_encrypted_file_names_what_is_missing() {
    let error = Model::load(dir().join("decision_tree_classifier.encrypted.apr")).unwrap_err();
    assert!(matches!(error, ModelError::Encrypted { .. }), "{error:?}");
    let message = error.to_string();
    assert!(message.contains("encrypted"), "{message}");
    assert!(message.contains("load_encrypted"), "{message}");
}

#[test]
fn aprender_027_every_flipped_byte_is_a_typed_error() {
    for name in all_models() {
        let file = bytes(&name);
        for i in 0..file.len() {
            let mut damaged = file.clone();
            damaged[i] ^= 0x01;
            match Model::from_bytes(&damaged, &name) {
                Err(
                    ModelError::ChecksumMismatch { .. }
                    | ModelError::Binary { .. }
                    | ModelError::Truncated { .. }
                    | ModelError::UnsupportedVersion { .. }
                    | ModelError::Unsupported { .. }
                    | ModelError::Encrypted { .. }
                    | ModelError::UnknownFormat { .. }
                    | ModelError::UnsupportedModelType { .. },
                ) => {}
                other => panic!("{name}: byte {i} flipped: {other:?}"),
            }
        }
    }
}

#[test]
fn aprender_027_every_resealed_payload_flip_loads_or_is_a_typed_error() {
    // Behind the checksum: the payload readers see every flipped bit of every byte.
    for name in all_models() {
        let file = bytes(&name);
        if file[20] != 0 {
            continue; // compressed payloads: the decompressor sees them first
        }
        let metadata_size = u32::from_le_bytes(file[8..12].try_into().unwrap()) as usize;
        let payload_size = u32::from_le_bytes(file[12..16].try_into().unwrap()) as usize;
        let start = 32 + metadata_size;
        // Every byte of the small payloads; a spread of 600 of a forest's (~6 KB each).
        let step = (payload_size / 600).max(1);
        for i in (start..start + payload_size).step_by(step) {
            for bit in [0x01u8, 0x80] {
                let mut damaged = file.clone();
                damaged[i] ^= bit;
                reseal_apr(&mut damaged);
                match Model::from_bytes(&damaged, &name) {
                    Ok(model) => {
                        // A flipped threshold or value still makes a model: it predicts (a
                        // flipped feature count makes one that only takes huge rows).
                        if model.n_features() <= 64 {
                            let row = vec![0.5; model.n_features()];
                            let _ = model.predict(&row);
                        }
                    }
                    Err(
                        ModelError::Malformed { .. }
                        | ModelError::SignatureInvalid { .. }
                        | ModelError::OutOfRange { .. },
                    ) => {}
                    Err(other) => panic!("{name}: payload byte {i} ^ {bit:#x}: {other:?}"),
                }
            }
        }
    }
}

#[test]
fn aprender_027_every_truncation_is_an_error() {
    for name in all_models()
        .into_iter()
        .chain(["decision_tree_classifier.encrypted.apr".to_owned()])
    {
        let file = bytes(&name);
        for len in 0..file.len() {
            match Model::from_bytes(&file[..len], &name) {
                Err(ModelError::Truncated { needed, found, .. }) => {
                    assert!(len >= 4, "{name}: {len} bytes");
                    assert_eq!(found as usize, len);
                    assert!(needed as usize > len);
                }
                Err(ModelError::UnknownFormat { .. }) => assert!(len < 4, "{name}: {len}"),
                // The encrypted file's flag is read before its length.
                Err(ModelError::Encrypted { .. }) => {
                    assert!(name.contains("encrypted") && len >= 22)
                }
                other => panic!("{name}: first {len} bytes: {other:?}"),
            }
        }
    }
}

#[test]
fn aprender_027_safetensors_files_equal_aprender_predict() {
    for (stem, model_type) in [
        (
            "decision_tree_classifier",
            "aprender:DecisionTreeClassifier",
        ),
        (
            "random_forest_classifier",
            "aprender:RandomForestClassifier",
        ),
        ("kmeans", "aprender:KMeans"),
    ] {
        let name = format!("{stem}.safetensors");
        let model = load(&name);
        assert_eq!(
            model.format(),
            whyline_models::ModelFormat::AprenderSafetensors
        );
        assert_eq!(model.identity().unwrap().model_type, model_type);
        let apr = load(&format!("{stem}.apr"));
        let doc = expected(stem);
        for (row, want) in f32_rows(&doc, "inputs").iter().zip(f64s(&doc, "predict")) {
            let p = model.predict(&widen(row)).unwrap();
            assert_eq!(p.value, want, "{name} {row:?}");
            // The same model as the .apr file: same probabilities, same path.
            assert_eq!(p, apr.predict(&widen(row)).unwrap(), "{name}");
            assert_eq!(
                model.explain_one(row).unwrap(),
                apr.explain_one(row).unwrap(),
                "{name}"
            );
        }
    }
}

#[test]
fn aprender_027_safetensors_linear_models_are_refused_as_ambiguous() {
    let error = load_err("linear_regression.safetensors");
    assert!(
        matches!(&error, ModelError::UnsupportedModelType { .. }),
        "{error:?}"
    );
    assert!(error.to_string().contains("LogisticRegression"), "{error}");
}

/// A SafeTensors file of F32 tensors `(name, values)`, laid out as the format says: the
/// header's length (u64 LE), the JSON header, the data.
fn safetensors(tensors: &[(&str, &[f32])]) -> Vec<u8> {
    let mut header = serde_json::Map::new();
    let mut data = Vec::new();
    for (name, values) in tensors {
        let start = data.len();
        for v in *values {
            data.extend_from_slice(&v.to_le_bytes());
        }
        header.insert(
            (*name).to_owned(),
            serde_json::json!({"dtype": "F32", "shape": [values.len()], "data_offsets": [start, data.len()]}),
        );
    }
    let header = serde_json::to_vec(&header).unwrap();
    let mut out = (header.len() as u64).to_le_bytes().to_vec();
    out.extend_from_slice(&header);
    out.extend_from_slice(&data);
    out
}

#[test]
fn aprender_027_safetensors_with_half_a_linear_model_are_named_by_their_tensors() {
    // Coefficients with an intercept are a linear model of an unknown kind; either alone
    // is no model aprender writes, and the error lists what the file holds instead.
    let both = safetensors(&[("coefficients", &[1.0, 2.0]), ("intercept", &[0.5])]);
    let error = Model::from_bytes(&both, "both.safetensors").unwrap_err();
    assert!(error.to_string().contains("LogisticRegression"), "{error}");
    for (name, file) in [
        (
            "coefficients",
            safetensors(&[("coefficients", &[1.0, 2.0])]),
        ),
        ("intercept", safetensors(&[("intercept", &[0.5])])),
    ] {
        let error = Model::from_bytes(&file, "half.safetensors").unwrap_err();
        let text = error.to_string();
        assert!(
            matches!(&error, ModelError::UnsupportedModelType { .. }),
            "{error:?}"
        );
        assert!(
            text.contains(&format!("a file with tensors {name}"))
                && !text.contains("LogisticRegression"),
            "{text}"
        );
    }
}

/// The trees of an aprender tree model.
fn trees_of(model: &Model) -> Vec<whyline_models::Tree> {
    match model.kind() {
        ModelKind::DecisionTree(m) => vec![m.tree.clone()],
        ModelKind::RandomForest(m) => m.trees.clone(),
        other => panic!("not a tree model: {other:?}"),
    }
}

#[test]
fn aprender_027_safetensors_and_apr_trees_hold_the_same_node_values() {
    // Both formats store a class per leaf; each reader fills the internal nodes with the
    // sample-weighted class mix of the children. The two readers are separate code, so the
    // same model read from both files checks one against the other, node by node; and at
    // each root the mix must be that of the leaves below it, weighted by their samples.
    for stem in ["decision_tree_classifier", "random_forest_classifier"] {
        let from_tensors = trees_of(&load(&format!("{stem}.safetensors")));
        let from_apr = trees_of(&load(&format!("{stem}.apr")));
        assert_eq!(from_tensors.len(), from_apr.len(), "{stem}");
        for (t, (a, b)) in from_tensors.iter().zip(&from_apr).enumerate() {
            assert_eq!(a.values.len(), b.values.len(), "{stem} tree {t}");
            for (i, (x, y)) in a.values.iter().zip(&b.values).enumerate() {
                assert!(
                    (x - y).abs() <= 1e-12,
                    "{stem} tree {t} value {i}: {x} vs {y}"
                );
            }
            let k = a.n_values;
            let leaves: Vec<usize> = (0..a.nodes.len())
                .filter(|&i| a.nodes[i].split.is_none())
                .collect();
            let total: f64 = leaves.iter().map(|&i| a.nodes[i].n_samples as f64).sum();
            for c in 0..k {
                let mix: f64 = leaves
                    .iter()
                    .map(|&i| a.nodes[i].n_samples as f64 * a.values[i * k + c])
                    .sum::<f64>()
                    / total;
                assert!(
                    (a.values[c] - mix).abs() <= 1e-12,
                    "{stem} tree {t} class {c}"
                );
            }
        }
    }
}

fn load_err(name: &str) -> ModelError {
    Model::load(dir().join(name)).unwrap_err()
}

#[test]
fn aprender_027_every_safetensors_truncation_and_flip_is_typed() {
    for stem in [
        "decision_tree_classifier",
        "random_forest_classifier",
        "kmeans",
    ] {
        let name = format!("{stem}.safetensors");
        let file = bytes(&name);
        for len in 0..file.len() {
            match Model::from_bytes(&file[..len], &name) {
                Err(
                    ModelError::Truncated { .. }
                    | ModelError::UnknownFormat { .. }
                    | ModelError::Json { .. },
                ) => {}
                other => panic!("{name}: first {len} bytes: {other:?}"),
            }
        }
        // SafeTensors has no checksum: a flipped byte is an error, or a model that predicts.
        for i in 0..file.len() {
            let mut damaged = file.clone();
            damaged[i] ^= 0x01;
            match Model::from_bytes(&damaged, &name) {
                Ok(model) => {
                    let _ = model.predict(&vec![0.5; model.n_features()]);
                }
                Err(
                    ModelError::Truncated { .. }
                    | ModelError::UnknownFormat { .. }
                    | ModelError::Json { .. }
                    | ModelError::Malformed { .. }
                    | ModelError::OutOfRange { .. }
                    | ModelError::Binary { .. }
                    | ModelError::Unsupported { .. }
                    | ModelError::UnsupportedModelType { .. },
                ) => {}
                Err(other) => panic!("{name}: byte {i} flipped: {other:?}"),
            }
        }
    }
}
