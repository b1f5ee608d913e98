//! The fixtures written by aprender 0.27.8 (the last release whose `aprender` crate holds the
//! library): every model type its `format::save` writes with a model struct of its own,
//! signed and encrypted containers, and the SafeTensors files of `save_safetensors`.

use std::fs;
use std::path::Path;

use aprender_027 as apr;
use apr::classification::LogisticRegression;
use apr::cluster::KMeans;
use apr::explainable::path::Explainable;
use apr::explainable::{IntoEnsembleExplainable, IntoExplainable, IntoLogisticExplainable};
use apr::format::{
    Compression, ModelType, SaveOptions, SigningKey, save, save_encrypted, save_signed,
};
use apr::linear_model::LinearRegression;
use apr::primitives::{Matrix, Vector};
use apr::traits::{Estimator, UnsupervisedEstimator};
use apr::tree::{
    DecisionTreeClassifier, DecisionTreeRegressor, RandomForestClassifier, RandomForestRegressor,
};
use serde_json::json;

use crate::{CREATED_AT, Result, write_json};

/// The version these fixtures are written by (the `aprender_027` dependency).
const VERSION: &str = "0.27.8";

/// The Ed25519 secret key of the signed fixture (a fixed seed: signatures are deterministic).
const SIGNING_SEED: [u8; 32] = [7; 32];
/// Another key, whose public half does not verify the signed fixture.
const OTHER_SEED: [u8; 32] = [9; 32];

pub fn write_all(out: &Path) -> Result<()> {
    let out = out.join(VERSION);
    fs::create_dir_all(&out)?;
    trees(&out)?;
    forests(&out)?;
    kmeans(&out)?;
    linear(&out)?;
    flagged(&out)?;
    demo_tree(&out)?;
    Ok(())
}

fn options(name: &str, description: &str, compression: Compression) -> SaveOptions {
    let mut options = SaveOptions::default()
        .with_compression(compression)
        .with_name(name)
        .with_description(description);
    options.metadata.created_at = CREATED_AT.to_owned();
    options
}

fn matrix(rows: &[Vec<f32>]) -> Result<Matrix<f32>> {
    let n_cols = rows.first().map_or(0, Vec::len);
    let data: Vec<f32> = rows.iter().flatten().copied().collect();
    Ok(Matrix::from_vec(rows.len(), n_cols, data)?)
}

/// A small deterministic generator (SplitMix64), so the data needs no `rand`.
pub(crate) struct Mix(pub(crate) u64);

impl Mix {
    pub(crate) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `[lo, hi)`, on a 1/1024 grid so values are exact in f32.
    pub(crate) fn uniform(&mut self, lo: f32, hi: f32) -> f32 {
        let t = (self.next() % 1024) as f32 / 1024.0;
        lo + (hi - lo) * t
    }
}

/// Three-feature rows: `n` training rows from `seed`.
pub(crate) fn rows(seed: u64, n: usize) -> Vec<Vec<f32>> {
    let mut mix = Mix(seed);
    (0..n)
        .map(|_| {
            vec![
                mix.uniform(-4.0, 4.0),
                mix.uniform(0.0, 10.0),
                mix.uniform(-1.0, 1.0),
            ]
        })
        .collect()
}

/// Three classes from a rule with some noise.
pub(crate) fn class_of(row: &[f32], i: usize) -> usize {
    let class = if row[0] + 0.3 * row[2] < -1.0 {
        0
    } else if row[1] > 5.5 {
        1
    } else {
        2
    };
    if i % 11 == 5 { (class + 1) % 3 } else { class }
}

pub(crate) fn target_of(row: &[f32], i: usize) -> f32 {
    2.0 * row[0] - 0.5 * row[1] * row[2] + if row[1] > 6.0 { 3.0 } else { 0.0 }
        + ((i * 7) % 5) as f32 * 0.1
}

/// Test rows: fresh draws plus values sitting exactly on the grid used for training (so
/// some land on thresholds' neighbourhoods).
pub(crate) fn test_rows() -> Vec<Vec<f32>> {
    let mut out = rows(99, 24);
    out.push(vec![0.0, 0.0, 0.0]);
    out.push(vec![-4.0, 10.0, 1.0]);
    out.push(vec![4.0, 0.0, -1.0]);
    out
}

pub(crate) fn train_x() -> Vec<Vec<f32>> {
    rows(2026, 80)
}

pub(crate) fn labels(x: &[Vec<f32>]) -> Vec<usize> {
    x.iter().enumerate().map(|(i, r)| class_of(r, i)).collect()
}

fn targets(x: &[Vec<f32>]) -> Vector<f32> {
    Vector::from_vec(x.iter().enumerate().map(|(i, r)| target_of(r, i)).collect())
}

/// `format::save` with no compression, zstd and LZ4 (`stem.apr`, `stem.zstd.apr`,
/// `stem.lz4.apr`).
fn save_all<M: serde::Serialize>(
    model: &M,
    model_type: ModelType,
    out: &Path,
    stem: &str,
    description: &str,
) -> Result<()> {
    for (suffix, compression) in [
        ("", Compression::None),
        (".zstd", Compression::ZstdDefault),
        (".lz4", Compression::Lz4),
    ] {
        let path = out.join(format!("{stem}{suffix}.apr"));
        save(model, model_type, &path, options(stem, description, compression))?;
    }
    Ok(())
}

fn trees(out: &Path) -> Result<()> {
    let x = train_x();
    let xm = matrix(&x)?;
    let inputs = test_rows();
    let tm = matrix(&inputs)?;

    let mut classifier = DecisionTreeClassifier::new().with_max_depth(4);
    classifier.fit(&xm, &labels(&x))?;
    save_all(
        &classifier,
        ModelType::DecisionTree,
        out,
        "decision_tree_classifier",
        "CART classifier, depth 4, 3 classes, 80 rows",
    )?;
    classifier.save_safetensors(out.join("decision_tree_classifier.safetensors"))?;
    write_json(
        &out.join("decision_tree_classifier.expected.json"),
        &json!({
            "model": "decision_tree_classifier",
            "aprender_version": VERSION,
            "model_type": "DecisionTreeClassifier",
            "inputs": inputs,
            "predict": classifier.predict(&tm),
        }),
    )?;

    let mut regressor = DecisionTreeRegressor::new().with_max_depth(4);
    regressor.fit(&xm, &targets(&x))?;
    save_all(
        &regressor,
        ModelType::DecisionTree,
        out,
        "decision_tree_regressor",
        "CART regressor, depth 4, 80 rows",
    )?;
    write_json(
        &out.join("decision_tree_regressor.expected.json"),
        &json!({
            "model": "decision_tree_regressor",
            "aprender_version": VERSION,
            "model_type": "DecisionTreeRegressor",
            "inputs": inputs,
            "predict": regressor.predict(&tm).as_slice(),
        }),
    )
}

fn forests(out: &Path) -> Result<()> {
    let x = train_x();
    let xm = matrix(&x)?;
    let inputs = test_rows();
    let tm = matrix(&inputs)?;

    let mut classifier = RandomForestClassifier::new(7)
        .with_max_depth(4)
        .with_random_state(2026);
    classifier.fit(&xm, &labels(&x))?;
    save_all(
        &classifier,
        ModelType::RandomForest,
        out,
        "random_forest_classifier",
        "random forest classifier, 7 trees, depth 4, seed 2026",
    )?;
    classifier.save_safetensors(out.join("random_forest_classifier.safetensors"))?;
    let proba = classifier.predict_proba(&tm);
    let (n, k) = proba.shape();
    let proba_rows: Vec<Vec<f32>> = (0..n)
        .map(|i| (0..k).map(|j| proba.get(i, j)).collect())
        .collect();
    write_json(
        &out.join("random_forest_classifier.expected.json"),
        &json!({
            "model": "random_forest_classifier",
            "aprender_version": VERSION,
            "model_type": "RandomForestClassifier",
            "inputs": inputs,
            "predict": classifier.predict(&tm),
            "predict_proba": proba_rows,
        }),
    )?;

    let mut regressor = RandomForestRegressor::new(6)
        .with_max_depth(4)
        .with_random_state(2026);
    regressor.fit(&xm, &targets(&x))?;
    save_all(
        &regressor,
        ModelType::RandomForest,
        out,
        "random_forest_regressor",
        "random forest regressor, 6 trees, depth 4, seed 2026",
    )?;
    let predictions = regressor.predict(&tm);
    // aprender's own explanation of a forest regressor: its ForestPath holds the ensemble's
    // prediction (0.27.8 does not list the trees).
    let explainable = regressor.clone().into_explainable(3);
    let ensemble: Vec<f32> = inputs
        .iter()
        .map(|row| explainable.explain_one(row).ensemble_prediction)
        .collect();
    write_json(
        &out.join("random_forest_regressor.expected.json"),
        &json!({
            "model": "random_forest_regressor",
            "aprender_version": VERSION,
            "model_type": "RandomForestRegressor",
            "inputs": inputs,
            "predict": predictions.as_slice(),
            "explainable_ensemble_prediction": ensemble,
        }),
    )
}

/// The k-means training rows: three blobs in 3-D, 60 rows.
pub(crate) fn blobs() -> Vec<Vec<f32>> {
    let mut mix = Mix(7);
    let centres = [[-3.0f32, 1.0, 0.5], [2.0, 8.0, -0.5], [3.0, 2.0, 0.0]];
    (0..60)
        .map(|i| {
            let c = centres[i % 3];
            vec![
                c[0] + mix.uniform(-1.0, 1.0),
                c[1] + mix.uniform(-1.5, 1.5),
                c[2] + mix.uniform(-0.5, 0.5),
            ]
        })
        .collect()
}

fn kmeans(out: &Path) -> Result<()> {
    let x = blobs();
    let mut model = KMeans::new(3).with_max_iter(100).with_random_state(2026);
    model.fit(&matrix(&x)?)?;
    save_all(
        &model,
        ModelType::KMeans,
        out,
        "kmeans",
        "k-means, 3 clusters, 60 rows, seed 2026",
    )?;
    model.save_safetensors(out.join("kmeans.safetensors"))?;
    let inputs = test_rows();
    let centroids = model.centroids();
    let (k, d) = centroids.shape();
    let centroid_rows: Vec<Vec<f32>> = (0..k)
        .map(|i| (0..d).map(|j| centroids.get(i, j)).collect())
        .collect();
    write_json(
        &out.join("kmeans.expected.json"),
        &json!({
            "model": "kmeans",
            "aprender_version": VERSION,
            "model_type": "KMeans",
            "centroids": centroid_rows,
            "inputs": inputs,
            "predict": model.predict(&matrix(&inputs)?),
        }),
    )
}

fn linear(out: &Path) -> Result<()> {
    let x = train_x();
    let xm = matrix(&x)?;
    let inputs = test_rows();
    let tm = matrix(&inputs)?;

    let mut regression = LinearRegression::new();
    regression.fit(&xm, &targets(&x))?;
    save_all(
        &regression,
        ModelType::LinearRegression,
        out,
        "linear_regression",
        "OLS, 80 rows, 3 features",
    )?;
    regression.save_safetensors(out.join("linear_regression.safetensors"))?;
    let explainable = regression.clone().into_explainable();
    let contributions: Vec<Vec<f32>> = inputs
        .iter()
        .map(|row| explainable.explain_one(row).contributions)
        .collect();
    write_json(
        &out.join("linear_regression.expected.json"),
        &json!({
            "model": "linear_regression",
            "aprender_version": VERSION,
            "model_type": "LinearRegression",
            "coefficients": regression.coefficients().as_slice(),
            "intercept": regression.intercept(),
            "inputs": inputs,
            "predict": regression.predict(&tm).as_slice(),
            "explainable_contributions": contributions,
        }),
    )?;

    // Binary labels: class 1 against the rest.
    let binary: Vec<usize> = labels(&x).iter().map(|&c| usize::from(c == 1)).collect();
    let mut logistic = LogisticRegression::new()
        .with_learning_rate(0.05)
        .with_max_iter(400)
        .with_tolerance(1e-6);
    logistic.fit(&xm, &binary)?;
    save_all(
        &logistic,
        ModelType::LogisticRegression,
        out,
        "logistic_regression",
        "binary logistic regression, 80 rows, 3 features",
    )?;
    let explainable = logistic.clone().into_explainable();
    let contributions: Vec<Vec<f32>> = inputs
        .iter()
        .map(|row| explainable.explain_one(row).contributions)
        .collect();
    write_json(
        &out.join("logistic_regression.expected.json"),
        &json!({
            "model": "logistic_regression",
            "aprender_version": VERSION,
            "model_type": "LogisticRegression",
            "coefficients": logistic.coefficients().as_slice(),
            "intercept": logistic.intercept(),
            "inputs": inputs,
            "predict_proba": logistic.predict_proba(&tm).as_slice(),
            "predict": logistic.predict(&tm),
            "explainable_contributions": contributions,
        }),
    )
}

/// A signed decision tree (`save_signed`, Ed25519 with a fixed key; its public key and
/// another one as hex files) and an encrypted one (`save_encrypted`, password "whyline").
fn flagged(out: &Path) -> Result<()> {
    let x = train_x();
    let mut tree = DecisionTreeClassifier::new().with_max_depth(4);
    tree.fit(&matrix(&x)?, &labels(&x))?;
    let key = SigningKey::from_bytes(&SIGNING_SEED);
    save_signed(
        &tree,
        ModelType::DecisionTree,
        out.join("decision_tree_classifier.signed.apr"),
        options("signed", "the decision tree classifier, signed", Compression::None),
        &key,
    )?;
    let mut hex = hex_of(key.verifying_key().as_bytes());
    hex.push('\n');
    fs::write(out.join("signing_key.pub.hex"), hex)?;
    let mut other = hex_of(SigningKey::from_bytes(&OTHER_SEED).verifying_key().as_bytes());
    other.push('\n');
    fs::write(out.join("other_key.pub.hex"), other)?;

    // aprender draws the salt and nonce from the OS: an encrypted file differs on every run,
    // so an existing one is kept (the tests only need its header and flags).
    let encrypted = out.join("decision_tree_classifier.encrypted.apr");
    if !encrypted.exists() {
        save_encrypted(
            &tree,
            ModelType::DecisionTree,
            &encrypted,
            options("encrypted", "the decision tree classifier, encrypted", Compression::None),
            "whyline",
        )?;
    }
    Ok(())
}

fn hex_of(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The cat scenario of `whyline demo`: six features shaped like `python/make_demo_model.py`'s
/// (distance, closing speed, object size, detection confidence, lateral offset, ego speed),
/// the same time-to-collision policy, and a decision tree trained on them.
fn demo_tree(out: &Path) -> Result<()> {
    let mut mix = Mix(2026);
    let x: Vec<Vec<f32>> = (0..600)
        .map(|_| {
            let small = mix.uniform(0.0, 1.0) >= 0.97;
            let size = if small { mix.uniform(0.1, 0.8) } else { mix.uniform(0.8, 5.0) };
            let mut closing = mix.uniform(0.0, 18.0);
            if small {
                closing *= mix.uniform(0.2, 1.0);
            }
            vec![
                mix.uniform(0.5, 60.0),
                closing,
                size,
                mix.uniform(0.3, 1.0),
                mix.uniform(-5.0, 5.0),
                mix.uniform(10.0, 60.0),
            ]
        })
        .collect();
    // Class indices in the order of the embedded demo model (scikit-learn sorts the labels):
    // EMERGENCY_BRAKE, MAINTAIN_SPEED, SLOW_DOWN, SWERVE.
    let y: Vec<usize> = x.iter().map(|r| [1, 2, 0, 3][policy(r)]).collect();
    let mut tree = DecisionTreeClassifier::new().with_max_depth(7);
    tree.fit(&matrix(&x)?, &y)?;
    save(
        &tree,
        ModelType::DecisionTree,
        out.join("demo_tree.apr"),
        options(
            "demo_tree",
            "cat scenario: 4 actions (EMERGENCY_BRAKE, MAINTAIN_SPEED, SLOW_DOWN, SWERVE) from 6 sensor-fusion features, depth 7, 600 rows",
            Compression::None,
        ),
    )?;
    let inputs: Vec<Vec<f32>> = x.iter().take(20).cloned().collect();
    write_json(
        &out.join("demo_tree.expected.json"),
        &json!({
            "model": "demo_tree",
            "aprender_version": VERSION,
            "model_type": "DecisionTreeClassifier",
            "inputs": inputs,
            "predict": tree.predict(&matrix(&inputs)?),
        }),
    )
}

/// `python/make_demo_model.py`'s time-to-collision policy: 0 MAINTAIN_SPEED, 1 SLOW_DOWN,
/// 2 EMERGENCY_BRAKE, 3 SWERVE.
fn policy(x: &[f32]) -> usize {
    let (distance, closing, size, _confidence, lateral, speed) = (x[0], x[1], x[2], x[3], x[4], x[5]);
    let ttc = distance / closing.max(0.1);
    let in_path = lateral.abs() < 1.5;
    if in_path && ttc < 1.2 {
        if size > 2.0 && speed > 40.0 && lateral.abs() > 0.6 {
            return 3;
        }
        return 2;
    }
    if (in_path && ttc < 3.5) || (lateral.abs() < 2.5 && ttc < 1.5) {
        return 1;
    }
    0
}

