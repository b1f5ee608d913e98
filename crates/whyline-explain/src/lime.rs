//! LIME for tabular data, as the `lime` package (0.2.0.1) does it by default: a seeded
//! neighbourhood of the row in a quartile-discretised space, the model's output on it, and a
//! kernel-weighted ridge surrogate whose weights are the explanation.
//!
//! # What lime does, and what this does
//!
//! `LimeTabularExplainer(training_data)` with its defaults (`discretize_continuous=True`,
//! `discretizer='quartile'`, `kernel_width=None`, `feature_selection='auto'`) then
//! `explain_instance(row, predict_fn, num_samples=5000)`:
//!
//! 1. **Discretiser** ([`QuartileDiscretizer`]): each feature is cut at the 25th, 50th and
//!    75th percentiles of the training data (numpy's linear interpolation, repeated edges
//!    dropped); every bin keeps its training frequency, mean, standard deviation and range.
//! 2. **Neighbourhood**: row 0 is the instance. Every other row draws, per feature, a bin
//!    with the training frequencies and a value in it from a normal with the bin's mean
//!    and deviation truncated to the bin's range; the model sees the values, the surrogate
//!    sees the binary row `z_j = [bin_j = bin of x_j]` (row 0 is all ones).
//! 3. **Distances and kernel**: lime scales the binary data by mean 0 and scale 1 (every
//!    discretised feature is categorical to it), so the distance of a row is the euclidean
//!    distance of its binary row to all ones, `√(number of zeros)`; its weight is
//!    `√(exp(−d²/w²))` with `w = 0.75 √M`.
//! 4. **Surrogate** ([`fit_surrogate`]): `Ridge(alpha=1, fit_intercept=True)` on the binary
//!    rows with the kernel weights. This explainer keeps every feature: lime's
//!    `feature_selection='auto'` selects all `M` when asked for `num_features ≥ M` (by
//!    forward selection for `M ≤ 6`, by highest weights above), and the ridge fit does not
//!    depend on the order selected. lime's own default of `num_features=10` keeps only ten
//!    features when `M > 10`; that truncation is not reproduced.
//!
//! The returned [`Attribution`] has `values` = the surrogate's weights, `base_value` = its
//! intercept and `score` = its weighted R² on the neighbourhood. Since `z(x)` is all ones,
//! `base_value + Σ values` is the surrogate's prediction at the row, and `residual` is
//! `|intercept + Σ w − f(x)|`: how far the local surrogate misses the model at the very row
//! it explains (LIME is not additive by construction; this is its honest error).
//!
//! Without discretisation (`discretize: false`) rows are `N(0, 1)` draws scaled by the
//! background's standard deviation around its mean (lime's default
//! `sample_around_instance=False`), the surrogate is fitted on the standardised rows, and
//! `values` are the weights times the row's standardised values, so the same sum-check holds.
//!
//! # Differences from lime
//!
//! - **Random numbers**: numpy's generator cannot be reproduced; draws come from ChaCha8
//!   seeded with [`LimeSettings::seed`](crate::LimeSettings::seed), one 64-bit draw per
//!   cell: bins by the inverse of their cumulative frequencies, values by inverting the
//!   truncated normal's CDF (scipy uses its own truncnorm sampler), tabulated per bin and
//!   interpolated by cubic Hermite polynomials (exact in an end segment reaching far into
//!   a tail; error below 1e-3 of the bin's scale, see [`QuartileDiscretizer`]). The distribution is
//!   lime's; the sample is not, so weights agree with lime's statistically (tested: the
//!   mean over five seeds within four standard errors of lime's), not bit for bit. Given
//!   the same neighbourhood, the surrogate matches lime to 1e-6 (`tests/lime.rs`; in
//!   practice 1e-13).
//! - **Zero-width bins** (a quartile equal to the minimum or maximum): lime returns the
//!   standardised bound (a z-score) as the value; the bin's only value is used here.
//! - **Bin statistics** are summed in row order, not numpy's pairwise order (last bits).
//! - Values reach the model as f32, as every whyline model takes them.
//!
//! Everything runs on one thread in a fixed order: same model, row, background, settings
//! and seed give the same bits.

mod discretize;
mod normal;
mod surrogate;
#[cfg(test)]
mod tests;

use rand_chacha::ChaCha8Rng;
use rand_core::{Rng, SeedableRng};
use whyline_core::Explainable;
use whyline_models::Model;

use crate::attribution::Attribution;
use crate::background::Background;
use crate::error::{ExplainError, Result};
use crate::kernel_shap::OutputFunction;
use crate::model_output::{read, resolve};
use crate::settings::{LimeSettings, MethodSettings};

use discretize::QuartileDiscretizer;
use surrogate::{Surrogate, fit_binary, fit_surrogate, kernel_weights};

/// lime's default kernel width for `m` features, `0.75 √m`.
pub(crate) fn default_kernel_width(m: usize) -> f64 {
    (m as f64).sqrt() * 0.75
}

/// A LIME explainer for one model and background set: the discretiser (or the feature
/// means and deviations) is built once, each [`explain`](Lime::explain) samples afresh.
#[derive(Clone, Debug)]
pub(crate) struct Lime<'a> {
    model: &'a Model,
    settings: LimeSettings,
    sampler: Sampler,
}

#[derive(Clone, Debug)]
enum Sampler {
    Quartile(QuartileDiscretizer),
    /// Per feature: mean and scale (standard deviation, 1 where it is 0), as sklearn's
    /// `StandardScaler` computes them.
    Gaussian(Vec<(f64, f64)>),
}

impl<'a> Lime<'a> {
    /// Builds the explainer: checks the background's width and the settings, and bins the
    /// background (or takes its means and deviations without discretisation).
    pub(crate) fn new(
        model: &'a Model,
        background: &Background,
        settings: &LimeSettings,
    ) -> Result<Self> {
        background.check_width(model.n_features())?;
        if settings.samples < 2 {
            return Err(ExplainError::setting(
                "samples",
                "at least 2 (the neighbourhood holds the row and at least one sample)",
                settings.samples,
            ));
        }
        if let Some(width) = settings.kernel_width
            && !(width.is_finite() && width > 0.0)
        {
            return Err(ExplainError::setting(
                "kernel_width",
                "positive and finite",
                width,
            ));
        }
        let sampler = if settings.discretize {
            Sampler::Quartile(QuartileDiscretizer::new(background))
        } else {
            let mean = background.mean();
            let mut variance = vec![0.0f64; mean.len()];
            for row in background.rows() {
                for ((v, &x), m) in variance.iter_mut().zip(row).zip(&mean) {
                    *v += (f64::from(x) - m) * (f64::from(x) - m);
                }
            }
            let n = background.n_rows().max(1) as f64;
            Sampler::Gaussian(
                mean.iter()
                    .zip(&variance)
                    .map(|(&m, &v)| {
                        let std = (v / n).sqrt();
                        (m, if std > 10.0 * f64::EPSILON { std } else { 1.0 })
                    })
                    .collect(),
            )
        };
        Ok(Lime {
            model,
            settings: settings.clone(),
            sampler,
        })
    }

    /// Explains one row: samples the neighbourhood with the settings' seed, fits the
    /// surrogate, and returns its weights as an [`Attribution`] (see the module docs).
    pub(crate) fn explain(&self, row: &[f32]) -> Result<Attribution> {
        let m = self.model.n_features();
        if row.len() != m {
            return Err(ExplainError::InputWidth {
                expected: m,
                found: row.len(),
            });
        }
        if let Some((feature_index, &value)) = row.iter().enumerate().find(|(_, v)| !v.is_finite())
        {
            return Err(ExplainError::InvalidInput {
                feature_index,
                value,
            });
        }
        let settings = &self.settings;
        let (space, index, prediction) = resolve(self.model, row, settings.space, settings.output)?;
        let f = OutputFunction::new(self.model, space, index);
        let full = read(&prediction, space, index);
        let width = settings
            .kernel_width
            .unwrap_or_else(|| default_kernel_width(m));
        let (surrogate, instance) = match &self.sampler {
            Sampler::Quartile(discretizer) => (
                quartile_neighbourhood(discretizer, &f, row, full, settings, width)?,
                vec![1.0; m],
            ),
            Sampler::Gaussian(stats) => {
                gaussian_neighbourhood(stats, &f, row, full, settings, width)?
            }
        };
        let values: Vec<f64> = surrogate
            .weights
            .iter()
            .zip(&instance)
            .map(|(w, z)| w * z)
            .collect();
        let mut attribution = Attribution::new(
            MethodSettings::Lime(LimeSettings {
                output: Some(index),
                space: Some(space),
                kernel_width: Some(width),
                ..settings.clone()
            }),
            self.model,
            (index, space),
            row,
            values,
            surrogate.intercept,
            full,
        );
        attribution.score = Some(surrogate.score);
        Ok(attribution)
    }
}

/// The discretised neighbourhood (row 0 the instance, all ones) and the surrogate on it.
/// Binary rows are kept as bit masks; a row's distance is `√(zeros)`, so its kernel weight
/// is read from a table by the number of zeros.
fn quartile_neighbourhood(
    discretizer: &QuartileDiscretizer,
    f: &OutputFunction<'_>,
    row: &[f32],
    full: f64,
    settings: &LimeSettings,
    width: f64,
) -> Result<Surrogate> {
    let m = row.len();
    let n = settings.samples;
    let words = m.div_ceil(64);
    let own: Vec<usize> = row
        .iter()
        .enumerate()
        .map(|(j, &x)| discretizer.bin(j, f64::from(x)).unwrap_or(0))
        .collect();
    let weight_by_zeros = kernel_weights(
        &(0..=m)
            .map(|zeros| (zeros as f64).sqrt())
            .collect::<Vec<_>>(),
        width,
    )?;
    let mut masks = vec![0u64; n * words];
    let mut targets = vec![0.0f64; n];
    let mut weights = vec![0.0f64; n];
    let mut buffer = vec![0.0f32; m];
    let mut rng = ChaCha8Rng::seed_from_u64(settings.seed);
    // A row's random words in one call (the generator's stream, read as little-endian
    // u64s), so the per-feature loop carries no dependency through the generator.
    let mut random = vec![0u8; 8 * m];
    for ((mask, t), w) in masks
        .chunks_exact_mut(words)
        .zip(&mut targets)
        .zip(&mut weights)
        .skip(1)
    {
        rng.fill_bytes(&mut random);
        let mut j0 = 0usize;
        let mut ones = 0usize;
        for (((mask, buffer), own), random) in mask
            .iter_mut()
            .zip(buffer.chunks_mut(64))
            .zip(own.chunks(64))
            .zip(random.chunks(8 * 64))
        {
            let mut word = 0u64;
            for (bit, ((v, &own), bytes)) in buffer
                .iter_mut()
                .zip(own)
                .zip(random.chunks_exact(8))
                .enumerate()
            {
                let bits = u64::from_le_bytes(bytes.try_into().unwrap_or([0; 8]));
                let (k, value) = discretizer.draw(j0 + bit, bits);
                *v = value;
                // Branch-free: whether the bin is x's is a coin flip.
                word |= u64::from(k == own) << bit;
            }
            ones += word.count_ones() as usize;
            *mask = word;
            j0 += 64;
        }
        *w = weight_by_zeros.get(m - ones).copied().unwrap_or(0.0);
        *t = f.eval(&buffer)?;
    }
    for (j, word) in masks.iter_mut().take(words).enumerate() {
        let bits = (m - j * 64).min(64);
        *word = if bits == 64 {
            u64::MAX
        } else {
            (1u64 << bits) - 1
        };
    }
    if let (Some(t), Some(w)) = (targets.first_mut(), weights.first_mut()) {
        *t = full;
        *w = weight_by_zeros.first().copied().unwrap_or(1.0);
    }
    fit_binary(&masks, words, m, &targets, &weights)
}

/// The neighbourhood without discretisation: standardised normal rows around the
/// background mean (row 0 the standardised instance), and the surrogate on them.
fn gaussian_neighbourhood(
    stats: &[(f64, f64)],
    f: &OutputFunction<'_>,
    row: &[f32],
    full: f64,
    settings: &LimeSettings,
    width: f64,
) -> Result<(Surrogate, Vec<f64>)> {
    let m = row.len();
    let n = settings.samples;
    let instance: Vec<f64> = stats
        .iter()
        .zip(row)
        .map(|(&(mean, scale), &x)| (f64::from(x) - mean) / scale)
        .collect();
    let mut data = vec![0.0f64; n * m];
    let mut targets = vec![0.0f64; n];
    let mut distances = vec![0.0f64; n];
    let mut buffer = vec![0.0f32; m];
    let mut rng = ChaCha8Rng::seed_from_u64(settings.seed);
    for ((z, t), d) in data
        .chunks_exact_mut(m)
        .zip(&mut targets)
        .zip(&mut distances)
        .skip(1)
    {
        let mut squared = 0.0f64;
        for (((&(mean, scale), z), v), &s0) in stats
            .iter()
            .zip(z.iter_mut())
            .zip(&mut buffer)
            .zip(&instance)
        {
            // An open-interval uniform, so the quantile stays finite.
            let u = ((rng.next_u64() >> 11) as f64 + 0.5) * (1.0 / (1u64 << 53) as f64);
            *v = (normal::quantile(u) * scale + mean) as f32;
            *z = (f64::from(*v) - mean) / scale;
            squared += (*z - s0) * (*z - s0);
        }
        *d = squared.sqrt();
        *t = f.eval(&buffer)?;
    }
    if let Some(first) = data.get_mut(..m) {
        first.copy_from_slice(&instance);
    }
    if let Some(t) = targets.first_mut() {
        *t = full;
    }
    Ok((
        fit_surrogate(&data, m, &targets, &distances, width)?,
        instance,
    ))
}

/// Explains one row of any model with LIME over `background` (the training data whose
/// quartiles and statistics lime's sampler uses); for many rows, build an [`Explainer`](crate::Explainer) once.
pub fn lime(
    model: &Model,
    row: &[f32],
    background: &Background,
    settings: &LimeSettings,
) -> Result<Attribution> {
    if model.preprocessing().is_some() {
        let settings = crate::MethodSettings::Lime(settings.clone());
        return crate::explain(model, row, &settings, Some(background));
    }
    Lime::new(model, background, settings)?.explain(row)
}
