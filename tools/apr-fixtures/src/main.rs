//! Writes the aprender `.apr` fixtures of `whyline-models` with aprender's own `format::save`,
//! and JSON files with aprender's own predictions for them.
//!
//! Run once from the repository root:
//!
//! ```text
//! cargo run --release --manifest-path tools/apr-fixtures/Cargo.toml
//! ```
//!
//! Everything is deterministic: fixed data, no random initialisation (the models trained here
//! have none), and a fixed `created_at` in the metadata so the files are byte-identical on
//! every run.

use std::error::Error;
use std::fs;
use std::path::{Path, PathBuf};

use aprender::classification::LogisticRegression;
use aprender::format::{Compression, ModelType, SaveOptions, save};
use aprender::linear_model::{LinearRegression, Ridge};
use aprender::primitives::{Matrix, Vector};
use aprender::traits::Estimator;
use aprender::tree::DecisionTreeClassifier;
use serde_json::{Value, json};

mod v027;
mod v072;

type Result<T> = std::result::Result<T, Box<dyn Error>>;

/// Where the fixtures go, relative to the repository root.
const OUT: &str = "crates/whyline-models/tests/fixtures/aprender";

/// A fixed creation time, so that the files do not change from run to run.
pub(crate) const CREATED_AT: &str = "2026-01-01T00:00:00Z";

fn main() -> Result<()> {
    let root = repository_root();
    let out = root.join(OUT);
    fs::create_dir_all(&out)?;

    linear_regression(&out)?;
    logistic_regression(&out)?;
    unsupported(&out)?;
    v027::write_all(&out)?;
    v072::write_all(&out)?;
    println!("wrote fixtures to {}", out.display());
    Ok(())
}

/// The repository root: two levels above this crate's manifest.
fn repository_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap_or_else(|_| PathBuf::from("."))
}

fn options(name: &str, description: &str, compression: Compression) -> SaveOptions {
    let mut options = SaveOptions::default()
        .with_compression(compression)
        .with_name(name)
        .with_description(description);
    options.metadata.created_at = CREATED_AT.to_owned();
    options
}

/// Saves `model` uncompressed, with zstd (level 3) and with LZ4, as `stem.apr`,
/// `stem.zstd.apr` and `stem.lz4.apr`.
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

fn matrix(rows: &[Vec<f32>]) -> Result<Matrix<f32>> {
    let n_cols = rows.first().map_or(0, Vec::len);
    let data: Vec<f32> = rows.iter().flatten().copied().collect();
    Ok(Matrix::from_vec(rows.len(), n_cols, data)?)
}

/// Rows for predictions: inside and outside the training range, negative values, zeros.
fn test_rows(n_features: usize) -> Vec<Vec<f32>> {
    (0..12)
        .map(|i| {
            (0..n_features)
                .map(|j| {
                    let t = (i * 5 + j * 3) % 11;
                    (t as f32 - 4.0) * 0.75 + j as f32 * 0.125
                })
                .collect()
        })
        .collect()
}

fn linear_regression(out: &Path) -> Result<()> {
    // y = 1.5 + 2 x0 - 0.75 x1 + 0.3 x2 + a small deterministic wobble
    let rows: Vec<Vec<f32>> = (0..16)
        .map(|i| {
            vec![
                i as f32 * 0.5,
                ((i * 7) % 5) as f32 - 2.0,
                ((i * 3) % 4) as f32 * 0.25 + 0.1,
            ]
        })
        .collect();
    let y: Vec<f32> = rows
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let wobble = (((i * 13) % 7) as f32 - 3.0) * 0.05;
            1.5 + 2.0 * r[0] - 0.75 * r[1] + 0.3 * r[2] + wobble
        })
        .collect();
    let mut model = LinearRegression::new();
    model.fit(&matrix(&rows)?, &Vector::from_vec(y))?;
    save_all(
        &model,
        ModelType::LinearRegression,
        out,
        "linear_regression",
        "OLS on 16 fixed rows, 3 features",
    )?;

    let inputs = test_rows(3);
    let predictions = model.predict(&matrix(&inputs)?);
    let expected = json!({
        "model": "linear_regression",
        "aprender_version": "0.25.0",
        "model_type": "LinearRegression",
        "coefficients": model.coefficients().as_slice(),
        "intercept": model.intercept(),
        "inputs": inputs,
        "predict": predictions.as_slice(),
    });
    write_json(&out.join("linear_regression.expected.json"), &expected)
}

fn logistic_regression(out: &Path) -> Result<()> {
    // Two overlapping classes, so the coefficients stay finite.
    let rows: Vec<Vec<f32>> = (0..24)
        .map(|i| {
            vec![
                ((i * 5) % 12) as f32 * 0.5 - 2.0,
                ((i * 7) % 9) as f32 * 0.4 - 1.5,
            ]
        })
        .collect();
    let labels: Vec<usize> = rows
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let score = r[0] + 0.5 * r[1] - 0.25;
            let flip = i % 7 == 3;
            usize::from((score > 0.0) != flip)
        })
        .collect();
    let mut model = LogisticRegression::new()
        .with_learning_rate(0.1)
        .with_max_iter(500)
        .with_tolerance(1e-6);
    model.fit(&matrix(&rows)?, &labels)?;
    save_all(
        &model,
        ModelType::LogisticRegression,
        out,
        "logistic_regression",
        "binary logistic regression on 24 fixed rows, 2 features",
    )?;

    let inputs = test_rows(2);
    let x = matrix(&inputs)?;
    let proba = model.predict_proba(&x);
    let classes = model.predict(&x);
    let expected = json!({
        "model": "logistic_regression",
        "aprender_version": "0.25.0",
        "model_type": "LogisticRegression",
        "coefficients": model.coefficients().as_slice(),
        "intercept": model.intercept(),
        "inputs": inputs,
        "predict_proba": proba.as_slice(),
        "predict": classes,
    });
    write_json(&out.join("logistic_regression.expected.json"), &expected)
}

/// Files whose payload whyline does not read: a decision tree, and a ridge regression saved
/// under the `LinearRegression` type id (aprender's documentation says that type covers
/// OLS, ridge and lasso, but their payloads differ).
fn unsupported(out: &Path) -> Result<()> {
    let rows: Vec<Vec<f32>> = (0..12)
        .map(|i| vec![i as f32, ((i * 5) % 7) as f32])
        .collect();
    let labels: Vec<usize> = rows.iter().map(|r| usize::from(r[0] + r[1] > 7.0)).collect();
    let mut tree = DecisionTreeClassifier::new().with_max_depth(3);
    tree.fit(&matrix(&rows)?, &labels)?;
    save(
        &tree,
        ModelType::DecisionTree,
        out.join("decision_tree.apr"),
        options("decision_tree", "CART classifier, depth 3", Compression::None),
    )?;

    let y: Vec<f32> = rows.iter().map(|r| 0.5 + r[0] - 2.0 * r[1]).collect();
    let mut ridge = Ridge::new(1.0);
    ridge.fit(&matrix(&rows)?, &Vector::from_vec(y))?;
    save(
        &ridge,
        ModelType::LinearRegression,
        out.join("ridge_as_linear_regression.apr"),
        options(
            "ridge",
            "Ridge(alpha=1) saved with ModelType::LinearRegression",
            Compression::None,
        ),
    )?;
    Ok(())
}

pub(crate) fn write_json(path: &Path, value: &Value) -> Result<()> {
    let mut text = serde_json::to_string_pretty(value)?;
    text.push('\n');
    fs::write(path, text)?;
    Ok(())
}
