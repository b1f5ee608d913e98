//! LIME's surrogate: the kernel-weighted ridge regression of
//! `lime_base.LimeBase.explain_instance_with_data` with every feature used
//! (`feature_selection` selects all of them when `num_features ≥ M`), i.e. scikit-learn's
//! `Ridge(alpha=1, fit_intercept=True).fit(data, labels, sample_weight=kernel(distances))`.
//!
//! The fit centres on the weighted means and solves the `M × M` normal equations
//! `(Zᵀ W Z − W̄ z̄ z̄ᵀ + αI) β = Zᵀ W y − W̄ z̄ ȳ` by Cholesky in f64; the intercept is
//! `ȳ − z̄·β`. The sums skip zero entries, so LIME's binary neighbourhoods (about three
//! quarters zeros) cost a quarter of a dense pass; LIME's own neighbourhoods are held as
//! bit masks and summed in the same order, so both give the same bits.

use crate::error::{ExplainError, Result};

/// lime's ridge penalty (`Ridge(alpha=1)`).
pub(crate) const RIDGE_ALPHA: f64 = 1.0;

/// A fitted LIME surrogate.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Surrogate {
    /// One weight per feature (`Ridge.coef_`).
    pub(crate) weights: Vec<f64>,
    /// `Ridge.intercept_`.
    pub(crate) intercept: f64,
    /// The weighted R² of the surrogate on its neighbourhood (`Ridge.score` with the
    /// kernel weights).
    pub(crate) score: f64,
    /// The surrogate's prediction for the first row (the explained instance).
    pub(crate) local_prediction: f64,
}

/// lime's exponential kernel `√(exp(−d²/width²))`.
pub(crate) fn kernel(distance: f64, width: f64) -> f64 {
    (-(distance * distance) / (width * width)).exp().sqrt()
}

/// Fits LIME's surrogate to a neighbourhood: `data` is row-major with `n_features`
/// columns, its first row the explained instance (in LIME's interpretable representation);
/// `targets` the model's output per row; `distances` each row's distance to the first;
/// `kernel_width` the kernel's width.
///
/// Errors: lengths that do not agree, a width that is not positive and finite, no rows,
/// or kernel weights that are all zero.
pub(crate) fn fit_surrogate(
    data: &[f64],
    n_features: usize,
    targets: &[f64],
    distances: &[f64],
    kernel_width: f64,
) -> Result<Surrogate> {
    let m = n_features;
    let n = targets.len();
    if m == 0 || data.len() != n * m {
        return Err(shape_error(data.len(), n, distances.len(), m));
    }
    let weights = kernel_weights(distances, kernel_width)?;
    fit(&Dense { data, m }, m, targets, &weights)
}

/// The kernel weight of each distance, after checking the width.
pub(crate) fn kernel_weights(distances: &[f64], kernel_width: f64) -> Result<Vec<f64>> {
    if !(kernel_width.is_finite() && kernel_width > 0.0) {
        return Err(ExplainError::setting(
            "kernel_width",
            "positive and finite",
            kernel_width,
        ));
    }
    Ok(distances.iter().map(|&d| kernel(d, kernel_width)).collect())
}

/// [`fit_surrogate`] on binary rows held as bit masks (`words` u64 per row, feature `j` in
/// bit `j % 64` of word `j / 64`) with their kernel weights: the same sums in the same
/// order, so the same bits, at a fraction of the memory traffic.
pub(crate) fn fit_binary(
    masks: &[u64],
    words: usize,
    n_features: usize,
    targets: &[f64],
    weights: &[f64],
) -> Result<Surrogate> {
    let n = targets.len();
    if n_features == 0 || words == 0 || masks.len() != n * words {
        return Err(shape_error(masks.len(), n, weights.len(), n_features));
    }
    fit(&Bits { masks, words }, n_features, targets, weights)
}

fn shape_error(values: usize, targets: usize, distances: usize, m: usize) -> ExplainError {
    ExplainError::NeighbourhoodShape {
        values,
        targets,
        distances,
        n_features: m,
    }
}

/// The weighted sums of a neighbourhood: `W`, `Σ w y`, and per feature `Σ w z_j`,
/// `Σ w z_j y`, and the upper triangle of `Σ w z_j z_k`.
struct Sums {
    m: usize,
    total: f64,
    sum_y: f64,
    sum_z: Vec<f64>,
    sum_zy: Vec<f64>,
    gram: Vec<f64>,
}

/// Rows of a neighbourhood, read as their non-zero entries in feature order.
trait Rows {
    /// Adds row `i` with weight `w` and target `y` to the sums, entries in feature order.
    fn accumulate(&self, i: usize, w: f64, y: f64, sums: &mut Sums);
    /// `Σ_j z_ij β_j` over the non-zero entries, in feature order.
    fn dot(&self, i: usize, beta: &[f64]) -> f64;
}

struct Dense<'a> {
    data: &'a [f64],
    m: usize,
}

impl Dense<'_> {
    fn row(&self, i: usize) -> &[f64] {
        self.data.get(i * self.m..(i + 1) * self.m).unwrap_or(&[])
    }
}

impl Rows for Dense<'_> {
    fn accumulate(&self, i: usize, w: f64, y: f64, sums: &mut Sums) {
        let m = sums.m;
        for (j, &zj) in self.row(i).iter().enumerate() {
            if zj == 0.0 {
                continue;
            }
            let wz = w * zj;
            sums.sum_z[j] += wz;
            sums.sum_zy[j] += wz * y;
            let gram_row = &mut sums.gram[j * m..(j + 1) * m];
            for (g, &zk) in gram_row.iter_mut().zip(self.row(i)).skip(j) {
                if zk != 0.0 {
                    *g += wz * zk;
                }
            }
        }
    }

    fn dot(&self, i: usize, beta: &[f64]) -> f64 {
        let mut sum = 0.0;
        for (&z, &b) in self.row(i).iter().zip(beta) {
            if z != 0.0 {
                sum += z * b;
            }
        }
        sum
    }
}

/// Binary rows as bit masks: the entries are ones, so `w z_j = w` and `w z_j y = w y`
/// exactly, and the sums come out bit-identical to the dense path's.
struct Bits<'a> {
    masks: &'a [u64],
    words: usize,
}

impl Bits<'_> {
    fn row(&self, i: usize) -> &[u64] {
        self.masks
            .get(i * self.words..(i + 1) * self.words)
            .unwrap_or(&[])
    }
}

impl Rows for Bits<'_> {
    fn accumulate(&self, i: usize, w: f64, y: f64, sums: &mut Sums) {
        let m = sums.m;
        let wy = w * y;
        let row = self.row(i);
        if let [word] = row {
            // One word (up to 64 features), the common case: pairs of set bits.
            let mut bits = *word;
            while bits != 0 {
                let j = bits.trailing_zeros() as usize;
                if j >= m {
                    break;
                }
                sums.sum_z[j] += w;
                sums.sum_zy[j] += wy;
                let gram_row = &mut sums.gram[j * m..(j + 1) * m];
                let mut inner = bits;
                while inner != 0 {
                    if let Some(g) = gram_row.get_mut(inner.trailing_zeros() as usize) {
                        *g += w;
                    }
                    inner &= inner - 1;
                }
                bits &= bits - 1;
            }
            return;
        }
        for (a, &word) in row.iter().enumerate() {
            let mut bits = word;
            while bits != 0 {
                let bit = bits.trailing_zeros() as usize;
                let j = a * 64 + bit;
                if j >= m {
                    break;
                }
                sums.sum_z[j] += w;
                sums.sum_zy[j] += wy;
                let gram_row = &mut sums.gram[j * m..(j + 1) * m];
                // Set bits k ≥ j: the rest of this word from j on, then the later words.
                let mut inner = bits;
                for (b, &later) in row.iter().enumerate().skip(a) {
                    if b > a {
                        inner = later;
                    }
                    while inner != 0 {
                        let k = b * 64 + inner.trailing_zeros() as usize;
                        if let Some(g) = gram_row.get_mut(k) {
                            *g += w;
                        }
                        inner &= inner - 1;
                    }
                }
                bits &= bits - 1;
            }
        }
    }

    fn dot(&self, i: usize, beta: &[f64]) -> f64 {
        let mut sum = 0.0;
        for (a, &word) in self.row(i).iter().enumerate() {
            let mut bits = word;
            while bits != 0 {
                sum += beta
                    .get(a * 64 + bits.trailing_zeros() as usize)
                    .copied()
                    .unwrap_or(0.0);
                bits &= bits - 1;
            }
        }
        sum
    }
}

/// The weighted ridge fit on rows with their targets and kernel weights.
fn fit(rows: &impl Rows, m: usize, targets: &[f64], weights: &[f64]) -> Result<Surrogate> {
    let n = targets.len();
    if n == 0 || weights.len() != n {
        return Err(shape_error(n * m, n, weights.len(), m));
    }
    let mut sums = Sums {
        m,
        total: 0.0,
        sum_y: 0.0,
        sum_z: vec![0.0; m],
        sum_zy: vec![0.0; m],
        gram: vec![0.0; m * m],
    };
    for (i, (&w, &y)) in weights.iter().zip(targets).enumerate() {
        sums.total += w;
        sums.sum_y += w * y;
        rows.accumulate(i, w, y, &mut sums);
    }
    let Sums {
        total,
        sum_y,
        sum_z,
        sum_zy,
        gram,
        ..
    } = sums;
    if !(total > 0.0 && total.is_finite()) {
        return Err(ExplainError::setting(
            "kernel_width",
            "wide enough for some kernel weight of the neighbourhood to be positive",
            format_args!("a width whose weights sum to {total}"),
        ));
    }
    let mean_z: Vec<f64> = sum_z.iter().map(|s| s / total).collect();
    let mean_y = sum_y / total;
    // Centred system, lower triangle filled from the upper one.
    let mut system = vec![0.0f64; m * m];
    for j in 0..m {
        for k in j..m {
            let mut value = gram[j * m + k] - total * mean_z[j] * mean_z[k];
            if j == k {
                value += RIDGE_ALPHA;
            }
            system[j * m + k] = value;
            system[k * m + j] = value;
        }
    }
    let mut beta: Vec<f64> = (0..m)
        .map(|j| sum_zy[j] - total * mean_z[j] * mean_y)
        .collect();
    cholesky_solve(&mut system, &mut beta, m)?;
    let intercept = mean_y - mean_z.iter().zip(&beta).map(|(z, b)| z * b).sum::<f64>();
    // Weighted R², as sklearn's r2_score with sample weights (1 for a perfect fit of a
    // constant target, 0 for an imperfect one).
    let mut residual = 0.0f64;
    let mut spread = 0.0f64;
    for (i, (&w, &y)) in weights.iter().zip(targets).enumerate() {
        let f = intercept + rows.dot(i, &beta);
        residual += w * (y - f) * (y - f);
        spread += w * (y - mean_y) * (y - mean_y);
    }
    let score = if spread > 0.0 {
        1.0 - residual / spread
    } else if residual == 0.0 {
        1.0
    } else {
        0.0
    };
    let local_prediction = intercept + rows.dot(0, &beta);
    Ok(Surrogate {
        weights: beta,
        intercept,
        score,
        local_prediction,
    })
}

/// Solves `A x = b` in place (`b` becomes `x`) for a symmetric positive definite `m × m`
/// row-major `A` (overwritten by its Cholesky factor).
///
/// By hand: the system is at most a few dozen features wide and solved once per
/// explanation, which does not justify a linear-algebra dependency.
fn cholesky_solve(a: &mut [f64], b: &mut [f64], m: usize) -> Result<()> {
    let not_definite = |feature_index: usize| ExplainError::SingularSurrogate { feature_index };
    for j in 0..m {
        let mut diagonal = a[j * m + j];
        for k in 0..j {
            diagonal -= a[j * m + k] * a[j * m + k];
        }
        if !(diagonal > 0.0 && diagonal.is_finite()) {
            return Err(not_definite(j));
        }
        let root = diagonal.sqrt();
        a[j * m + j] = root;
        for i in j + 1..m {
            let mut value = a[i * m + j];
            for k in 0..j {
                value -= a[i * m + k] * a[j * m + k];
            }
            a[i * m + j] = value / root;
        }
    }
    // L y = b, then Lᵀ x = y.
    for i in 0..m {
        let mut value = b[i];
        for k in 0..i {
            value -= a[i * m + k] * b[k];
        }
        b[i] = value / a[i * m + i];
    }
    for i in (0..m).rev() {
        let mut value = b[i];
        for k in i + 1..m {
            value -= a[k * m + i] * b[k];
        }
        b[i] = value / a[i * m + i];
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The bit-mask path gives the dense path's bits.
    #[test]
    fn binary_rows_fit_the_same_bits_as_dense_rows() {
        for m in [3usize, 20, 70] {
            let words = m.div_ceil(64);
            let n = 300;
            let mut state = 0x9e37_79b9_7f4a_7c15u64 ^ m as u64;
            let mut next = move || {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                state
            };
            let mut masks = vec![0u64; n * words];
            let mut dense = vec![0.0f64; n * m];
            let mut targets = Vec::with_capacity(n);
            for i in 0..n {
                for j in 0..m {
                    if i == 0 || next() % 4 == 0 {
                        masks[i * words + j / 64] |= 1 << (j % 64);
                        dense[i * m + j] = 1.0;
                    }
                }
                targets.push((next() % 1000) as f64 / 997.0);
            }
            let distances: Vec<f64> = (0..n)
                .map(|i| {
                    let ones: u32 = masks[i * words..(i + 1) * words]
                        .iter()
                        .map(|w| w.count_ones())
                        .sum();
                    f64::from(m as u32 - ones).sqrt()
                })
                .collect();
            let width = 0.75 * (m as f64).sqrt();
            let weights = kernel_weights(&distances, width).unwrap_or_default();
            let a = fit_surrogate(&dense, m, &targets, &distances, width);
            let b = fit_binary(&masks, words, m, &targets, &weights);
            let (a, b) = (a.ok(), b.ok());
            assert!(a.is_some() && a == b, "m = {m}");
        }
    }
}
