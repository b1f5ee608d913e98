//! aprender's linear models and k-means in an `.apr` payload (bincode 1 of aprender's
//! structs; layouts in `docs/aprender-format.md`): `LinearRegression` and
//! `LogisticRegression` read into a [`LinearModel`], `KMeans` into a [`KMeansModel`].

use std::path::Path;

use super::aprender_payload::Payload;
use crate::error::{ModelError, Result};
use crate::info::ModelInfo;
use crate::kmeans::KMeansModel;
use crate::linear::{LinearLink, LinearModel};
use crate::model::ModelKind;

/// `LinearRegression { coefficients: Option<Vector<f32>>, intercept: f32, fit_intercept:
/// bool }` or `LogisticRegression { coefficients: Option<Vector<f32>>, intercept: f32,
/// learning_rate: f32, max_iter: usize, tol: f32 }`, to which aprender 0.27 adds
/// `class_weight: ClassWeight, l2_penalty: f32` and 0.72 `fit_mode: FitMode` (each layout
/// is read only to its exact end).
///
/// `coefficients` is `None` in an unfitted model, which is said only when the rest of the
/// payload is that model's layout: a 0 first byte is also how other structs saved under
/// these ids may begin (aprender's `Ridge`, `Lasso` and `ElasticNet`, which have no type id
/// of their own, start with `alpha: f32`; `Ridge(1.0)`'s first byte is 0).
pub(super) fn linear(payload: &[u8], logistic: bool, file: &Path) -> Result<ModelKind> {
    let mut reader = Payload::new(payload, file);
    let coefficients = reader.coefficients()?;
    let rest = linear_fields(&mut reader, logistic);
    let name = if logistic {
        "LogisticRegression"
    } else {
        "LinearRegression"
    };
    let (coefficients, intercept) = match (coefficients, rest) {
        (Some(coefficients), Ok(intercept)) => (coefficients, intercept),
        (Some(_), Err(error)) => return Err(error),
        (None, Ok(_)) => {
            return Err(ModelError::malformed(
                file,
                "payload.coefficients (byte 0 of the uncompressed payload)",
                format!("None: the {name} was saved before it was fitted"),
            ));
        }
        (None, Err(_)) => {
            return Err(ModelError::malformed(
                file,
                "payload.coefficients (byte 0 of the uncompressed payload)",
                format!(
                    "0x00 (None) is followed by {} bytes that are not an unfitted {name}'s \
                     fields: the payload is not a {name} (another model saved under its type \
                     id? aprender's Ridge, Lasso and ElasticNet have none of their own)",
                    payload.len() - 1
                ),
            ));
        }
    };
    let link = if logistic {
        LinearLink::Logistic
    } else {
        LinearLink::Identity
    };
    check_finite(intercept, "payload.intercept", file)?;
    for (i, &c) in coefficients.iter().enumerate() {
        check_finite(c, &format!("payload.coefficients[{i}]"), file)?;
    }
    Ok(ModelKind::Linear(LinearModel {
        n_features: coefficients.len(),
        coefficients: coefficients.into_iter().map(f64::from).collect(),
        intercepts: vec![f64::from(intercept)],
        link,
        info: ModelInfo::default(),
    }))
}

/// The fields after `coefficients`, read to the payload's exact end: the intercept.
fn linear_fields(reader: &mut Payload<'_>, logistic: bool) -> Result<f32> {
    let intercept = reader.f32("intercept")?;
    if logistic {
        reader.f32("learning_rate")?;
        reader.u64("max_iter")?;
        reader.f32("tol")?;
        if !reader.at_end() {
            // ClassWeight { Uniform, Balanced, Manual(Vec<f32>) }
            if reader.variant("class_weight", 3)? == 2 {
                reader.f32s("class_weight.Manual")?;
            }
            reader.f32("l2_penalty")?;
        }
        if !reader.at_end() {
            // FitMode { Batch, Stochastic, MiniBatch(usize) }
            if reader.variant("fit_mode", 3)? == 2 {
                reader.u64("fit_mode.MiniBatch")?;
            }
        }
        reader.finish("LogisticRegression")?;
    } else {
        reader.bool("fit_intercept")?;
        reader.finish("LinearRegression")?;
    }
    Ok(intercept)
}

/// `KMeans { n_clusters: usize, max_iter: usize, tol: f32, random_state: Option<u64>,
/// centroids: Option<Matrix<f32>>, labels: Option<Vec<usize>>, inertia: f32, n_iter: usize
/// }`, where `Matrix` is `{ data: Vec<f32>, rows: usize, cols: usize }`.
pub(super) fn kmeans(payload: &[u8], file: &Path) -> Result<ModelKind> {
    let mut r = Payload::new(payload, file);
    let n_clusters = r.u64("n_clusters")?;
    r.u64("max_iter")?;
    r.f32("tol")?;
    if r.option("random_state")? {
        r.u64("random_state")?;
    }
    if !r.option("centroids")? {
        return Err(r.fail(
            "centroids",
            "None: the model was saved before it was fitted",
        ));
    }
    let data = r.f32s("centroids.data")?;
    let rows = r.u64("centroids.rows")?;
    let cols = r.u64("centroids.cols")?;
    if r.option("labels")? {
        r.skip_u64s("labels")?;
    }
    r.f32("inertia")?;
    r.u64("n_iter")?;
    r.finish("KMeans")?;
    if rows == 0 || cols == 0 || rows.checked_mul(cols) != Some(data.len() as u64) {
        return Err(ModelError::malformed(
            file,
            "payload.centroids",
            format!(
                "{rows} × {cols} centroids do not match {} values",
                data.len()
            ),
        ));
    }
    if rows != n_clusters {
        return Err(ModelError::malformed(
            file,
            "payload.n_clusters",
            format!("{n_clusters} clusters but {rows} centroids"),
        ));
    }
    for (i, &v) in data.iter().enumerate() {
        check_finite(v, &format!("payload.centroids.data[{i}]"), file)?;
    }
    // rows × cols equals data.len(), so both fit in usize.
    Ok(ModelKind::KMeans(KMeansModel {
        centroids: data.into_iter().map(f64::from).collect(),
        n_clusters: rows as usize,
        n_features: cols as usize,
        info: ModelInfo::default(),
    }))
}

pub(super) fn check_finite(value: f32, field: &str, file: &Path) -> Result<()> {
    if value.is_finite() {
        Ok(())
    } else {
        Err(ModelError::malformed(
            file,
            field,
            format!("{value} is not a finite number"),
        ))
    }
}
