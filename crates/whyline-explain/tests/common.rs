//! Fixture loading and the brute-force oracles.

use std::path::PathBuf;

use serde_json::Value;
use whyline_core::SplitTest;
use whyline_models::{MissingRule, Model, ModelFormat, Prediction, Split, Tree};

pub(crate) fn explain_fixture(name: &str) -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

/// The model's prediction for an f32 row (the rows explainers take), widened to f64: exact.
pub(crate) fn predict_f32(model: &Model, row: &[f32]) -> whyline_models::Result<Prediction> {
    let row: Vec<f64> = row.iter().map(|&x| f64::from(x)).collect();
    model.predict(&row)
}

pub(crate) fn model(file: &str) -> Model {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../whyline-models/tests/fixtures")
        .join(file);
    Model::load(&path).unwrap()
}

/// The model an explain fixture names: in whyline-models' fixtures, or beside it when the
/// fixture says `"model_dir": "explain"` (models only the explanation oracles use).
pub(crate) fn fixture_model(fixture: &Value) -> Model {
    let file = fixture["model"].as_str().unwrap();
    match fixture["model_dir"].as_str() {
        Some("explain") => {
            let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("tests/fixtures")
                .join(file);
            Model::load(&path).unwrap()
        }
        _ => model(file),
    }
}

pub(crate) fn rows(value: &Value) -> Vec<Vec<f32>> {
    value
        .as_array()
        .unwrap()
        .iter()
        .map(|row| {
            row.as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_f64().map_or(f32::NAN, |x| x as f32))
                .collect()
        })
        .collect()
}

/// values[row][output][feature]
pub(crate) fn values3(value: &Value) -> Vec<Vec<Vec<f64>>> {
    value
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            r.as_array()
                .unwrap()
                .iter()
                .map(|o| {
                    o.as_array()
                        .unwrap()
                        .iter()
                        .map(|v| v.as_f64().unwrap())
                        .collect()
                })
                .collect()
        })
        .collect()
}

/// `a` has the oracle's base value and values within `tolerance` of max(|f(x)|, 1), and its
/// own sum-check residual is below 1e-12 of that.
pub(crate) fn assert_attribution_matches(
    a: &whyline_explain::Attribution,
    base: f64,
    values: &[f64],
    tolerance: f64,
    what: &str,
) {
    let scale = a.prediction.abs().max(1.0);
    assert!(
        (a.base_value - base).abs() <= tolerance * scale,
        "{what}: base {} vs oracle {base}",
        a.base_value
    );
    for (j, (x, y)) in a.values.iter().zip(values).enumerate() {
        assert!(
            (x - y).abs() <= tolerance * scale,
            "{what} feature {j}: ours {x} oracle {y}"
        );
    }
    assert!(
        a.residual <= 1e-12 * scale,
        "{what}: residual {}",
        a.residual
    );
}

/// values[row][column]
pub(crate) fn values2(value: &Value) -> Vec<Vec<f64>> {
    value.as_array().unwrap().iter().map(floats).collect()
}

pub(crate) fn floats(value: &Value) -> Vec<f64> {
    value
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect()
}

/// Shapley values of a set function given on every mask of `m` players, by the formula.
pub(crate) fn brute_force_shapley(m: usize, v: &[f64]) -> Vec<f64> {
    let factorial = |n: usize| (1..=n).map(|k| k as f64).product::<f64>();
    let mut phi = vec![0.0; m];
    for (i, p) in phi.iter_mut().enumerate() {
        for mask in 0..(1usize << m) {
            if mask & (1 << i) != 0 {
                continue;
            }
            let s = mask.count_ones() as usize;
            let w = factorial(s) * factorial(m - s - 1) / factorial(m);
            *p += w * (v[mask | (1 << i)] - v[mask]);
        }
    }
    phi
}

/// The direction of a split for `x`, written separately from the crate's routing: the
/// libraries' documented rules.
fn oracle_left(split: &Split, x: f32) -> bool {
    match split.test {
        SplitTest::InCategories | SplitTest::NotInCategories => {
            if x.is_nan() && split.missing == MissingRule::NanDefault {
                return split.default_left;
            }
            let inside = !x.is_nan() && x >= 0.0 && split.categories.contains(&(x.trunc() as u32));
            (split.test == SplitTest::InCategories) == inside
        }
        SplitTest::Less | SplitTest::LessOrEqual => {
            let missing = match split.missing {
                MissingRule::Reject => false,
                MissingRule::NanIsNoCategory => {
                    if x.is_nan() {
                        return false;
                    }
                    false
                }
                MissingRule::NanDefault => x.is_nan(),
                MissingRule::NanAsZero => false,
                MissingRule::ZeroDefault => x.is_nan() || x.abs() <= 1e-35,
            };
            if missing {
                return split.default_left;
            }
            let x = if x.is_nan() { 0.0 } else { x };
            if split.test == SplitTest::Less {
                x < split.threshold
            } else {
                x <= split.threshold
            }
        }
    }
}

/// TreeSHAP's conditional expectation E[f(x) | x_S] of one tree (Lundberg's Algorithm 1),
/// `leaf(node)` giving the leaf values.
pub(crate) fn conditional_expectation(
    tree: &Tree,
    format: ModelFormat,
    x: &[f32],
    in_s: &dyn Fn(usize) -> bool,
    leaf: &dyn Fn(usize) -> Vec<f64>,
) -> Vec<f64> {
    let cover = |n: usize| {
        let node = &tree.nodes[n];
        if format == ModelFormat::LightgbmText {
            node.n_samples as f64
        } else {
            node.cover
        }
    };
    fn walk(
        tree: &Tree,
        n: usize,
        x: &[f32],
        in_s: &dyn Fn(usize) -> bool,
        leaf: &dyn Fn(usize) -> Vec<f64>,
        cover: &dyn Fn(usize) -> f64,
    ) -> Vec<f64> {
        match &tree.nodes[n].split {
            None => leaf(n),
            Some(split) => {
                let (l, r) = (split.left as usize, split.right as usize);
                if in_s(split.feature as usize) {
                    let next = if oracle_left(split, x[split.feature as usize]) {
                        l
                    } else {
                        r
                    };
                    walk(tree, next, x, in_s, leaf, cover)
                } else {
                    let vl = walk(tree, l, x, in_s, leaf, cover);
                    let vr = walk(tree, r, x, in_s, leaf, cover);
                    let c = cover(n);
                    vl.iter()
                        .zip(&vr)
                        .map(|(a, b)| (a * cover(l) + b * cover(r)) / c)
                        .collect()
                }
            }
        }
    }
    walk(tree, 0, x, in_s, leaf, &cover)
}
