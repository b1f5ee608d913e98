//! KernelSHAP for any model: the Shapley values of the game
//! `v(S) = mean over background rows b of f(x_S, b_{∖S})` (features outside `S` take the
//! background row's values, as `shap.KernelExplainer` does).
//!
//! - **Exact** when the model has at most
//!   [`max_exact_features`](crate::KernelShapSettings::max_exact_features) features: every
//!   coalition is evaluated and the Shapley formula applied. With every coalition,
//!   KernelSHAP's weighted regression has exactly the Shapley values as its solution, so
//!   this is what `KernelExplainer(…, l1_reg=False)` converges to.
//! - **Sampled** otherwise: the unbiased KernelSHAP estimator of Covert & Lee (2021) with
//!   paired (antithetic) coalitions drawn from the Shapley kernel by a seeded ChaCha8
//!   generator. The estimate is an affine map `C b̂ + d` of a sample mean `b̂`, so its
//!   covariance is `C Cov(b̂) Cᵀ`; the square roots of its diagonal are the standard errors
//!   returned with the values. The efficiency constraint holds exactly, so the residual is
//!   rounding only.
//!
//! Everything runs on one thread in a fixed order: same model, row, background, settings
//! and seed give the same bits.

use std::borrow::Cow;

use rand_chacha::ChaCha8Rng;
use rand_core::{Rng, SeedableRng};
use whyline_models::{LinearLink, Model, ModelKind};

use crate::attribution::{Attribution, OutputSpace};
use crate::background::Background;
use crate::error::{ExplainError, Result};
use crate::model_output::{predict_f32, read, resolve};
use crate::settings::{KernelShapSettings, MethodSettings};

/// Exact enumeration is refused above this many features (2^24 coalitions).
const MAX_EXACT: usize = 24;

/// One output of a model as a function of a row, without allocating for linear models.
pub(crate) struct OutputFunction<'a> {
    model: &'a Model,
    space: OutputSpace,
    index: usize,
}

impl<'a> OutputFunction<'a> {
    pub(crate) fn new(model: &'a Model, space: OutputSpace, index: usize) -> Self {
        OutputFunction {
            model,
            space,
            index,
        }
    }

    /// The output for a row the caller built (finite, right width).
    pub(crate) fn eval(&self, row: &[f32]) -> Result<f64> {
        if let ModelKind::Linear(m) = self.model.kind() {
            let margin = |k: usize| -> f64 {
                let n = m.n_features;
                let w = m.coefficients.get(k * n..(k + 1) * n).unwrap_or(&[]);
                let mut sum = m.intercepts.get(k).copied().unwrap_or(0.0);
                for (w, &x) in w.iter().zip(row) {
                    sum += w * f64::from(x);
                }
                sum
            };
            match (m.link, self.space) {
                (LinearLink::Identity, _) => return Ok(margin(0)),
                (LinearLink::Logistic, OutputSpace::Margin) => return Ok(margin(0)),
                (LinearLink::Logistic, OutputSpace::Probability) => {
                    let p = 1.0 / (1.0 + (-margin(0)).exp());
                    return Ok(if self.index == 1 { p } else { 1.0 - p });
                }
                (LinearLink::Margin, _) if m.n_outputs() == 1 => return Ok(margin(0)),
                (
                    LinearLink::Softmax | LinearLink::OvrLogistic | LinearLink::Margin,
                    OutputSpace::Margin,
                ) => return Ok(margin(self.index)),
                _ => {}
            }
        }
        let prediction = predict_f32(self.model, row)?;
        Ok(read(&prediction, self.space, self.index))
    }
}

/// The background-averaged value function of one row.
struct Game<'a> {
    f: OutputFunction<'a>,
    row: &'a [f32],
    background: &'a Background,
    buffer: Vec<f32>,
    /// For a linear output: per background row its margin, then `w_j (x_j − b_j)` per
    /// feature, so a coalition costs one sum per row instead of a prediction.
    linear: Option<LinearGame>,
    members: Vec<usize>,
}

/// The linear shortcut: `v(S) = mean_b link(m_b + Σ_{j∈S} w_j (x_j − b_j))`.
struct LinearGame {
    margins: Vec<f64>,
    differences: Vec<f64>,
    /// Apply the logistic function (class `probability_of_one` or its complement).
    logistic: Option<bool>,
}

impl LinearGame {
    fn new(
        model: &Model,
        row: &[f32],
        background: &Background,
        space: OutputSpace,
        index: usize,
    ) -> Option<LinearGame> {
        let ModelKind::Linear(m) = model.kind() else {
            return None;
        };
        let (output, logistic) = match (m.link, space) {
            (LinearLink::Identity, _) => (0, None),
            (LinearLink::Logistic, OutputSpace::Margin) => (0, None),
            (LinearLink::Logistic, OutputSpace::Probability) => (0, Some(index == 1)),
            (LinearLink::Softmax, OutputSpace::Margin) => (index, None),
            _ => return None,
        };
        let n = m.n_features;
        let w = m.coefficients.get(output * n..(output + 1) * n)?;
        let intercept = m.intercepts.get(output).copied()?;
        let mut margins = Vec::with_capacity(background.n_rows());
        let mut differences = Vec::with_capacity(background.n_rows() * n);
        for b in background.rows() {
            let mut margin = intercept;
            for ((w, &z), &x) in w.iter().zip(b).zip(row) {
                margin += w * f64::from(z);
                differences.push(w * (f64::from(x) - f64::from(z)));
            }
            margins.push(margin);
        }
        Some(LinearGame {
            margins,
            differences,
            logistic,
        })
    }

    fn value(&self, members: &[usize], n: usize) -> f64 {
        let mut sum = 0.0;
        for (margin, d) in self
            .margins
            .iter()
            .zip(self.differences.chunks_exact(n.max(1)))
        {
            let mut g = *margin;
            for &j in members {
                g += d.get(j).copied().unwrap_or(0.0);
            }
            sum += match self.logistic {
                None => g,
                Some(true) => 1.0 / (1.0 + (-g).exp()),
                Some(false) => 1.0 - 1.0 / (1.0 + (-g).exp()),
            };
        }
        sum / self.margins.len().max(1) as f64
    }
}

impl Game<'_> {
    /// `v(S)`, `S` given by `member(j)`.
    fn value(&mut self, member: impl Fn(usize) -> bool) -> Result<f64> {
        if let Some(linear) = &self.linear {
            self.members.clear();
            self.members
                .extend((0..self.row.len()).filter(|&j| member(j)));
            return Ok(linear.value(&self.members, self.row.len()));
        }
        let mut sum = 0.0;
        for b in self.background.rows() {
            self.buffer.clear();
            self.buffer.extend(
                self.row
                    .iter()
                    .zip(b)
                    .enumerate()
                    .map(|(j, (&x, &z))| if member(j) { x } else { z }),
            );
            sum += self.f.eval(&self.buffer)?;
        }
        Ok(sum / self.background.n_rows().max(1) as f64)
    }
}

/// KernelSHAP for one model, background and settings: the coalitions it evaluates (every
/// one, or the seeded sample, the same for every row since each row's sampler starts from
/// the settings' seed) and their weights are fixed once; [`explain`](KernelShap::explain)
/// evaluates the game of one row on them.
#[derive(Clone, Debug)]
pub(crate) struct KernelShap<'a> {
    model: &'a Model,
    background: Cow<'a, Background>,
    settings: KernelShapSettings,
    plan: Plan,
    /// For a sampled run on a model with one linear margin, the row-independent part of
    /// every coalition's margins.
    linear: Option<LinearCoalitions>,
}

/// The sampled coalitions of a model with one linear margin `m(x) = b + Σ w_j x_j`: with
/// the row's features in `S` and background row `z`'s elsewhere, the margin is
/// `m(z) − Σ_{j∈S} w_j z_j + Σ_{j∈S} w_j x_j`. The first two terms do not depend on the row:
/// they are computed once per coalition and background row, so a row costs one sum per
/// coalition and one link per coalition and background row.
#[derive(Clone, Debug)]
struct LinearCoalitions {
    /// The margin's weights.
    weights: Vec<f64>,
    /// Per pair, the background rows' offsets for the coalition, then for its complement.
    offsets: Vec<f64>,
    n_rows: usize,
}

impl LinearCoalitions {
    fn new(model: &Model, background: &Background, members: &[bool]) -> Option<LinearCoalitions> {
        let ModelKind::Linear(linear) = model.kind() else {
            return None;
        };
        if !matches!(linear.link, LinearLink::Identity | LinearLink::Logistic) {
            return None;
        }
        let n = linear.n_features;
        let weights = linear.coefficients.get(..n)?.to_vec();
        let intercept = linear.intercepts.first().copied()?;
        let n_rows = background.n_rows();
        let mut offsets = Vec::with_capacity(members.len() / n.max(1) * 2 * n_rows);
        for member in members.chunks_exact(n.max(1)) {
            for inside in [true, false] {
                for z in background.rows() {
                    let mut offset = intercept;
                    for ((w, &z), &m) in weights.iter().zip(z).zip(member) {
                        if m != inside {
                            offset += w * f64::from(z);
                        }
                    }
                    offsets.push(offset);
                }
            }
        }
        Some(LinearCoalitions {
            weights,
            offsets,
            n_rows,
        })
    }

    /// `(v(S) − empty, v(S̄) − empty)` for every pair, as [`Game::value`] would give them,
    /// `link` applied to each margin.
    fn pair_values(
        &self,
        row: &[f32],
        members: &[bool],
        link: Link,
        empty: f64,
    ) -> impl Iterator<Item = (f64, f64)> {
        let m = self.weights.len().max(1);
        let n_rows = self.n_rows.max(1);
        let scaled: Vec<f64> = self
            .weights
            .iter()
            .zip(row)
            .map(|(w, &x)| w * f64::from(x))
            .collect();
        members
            .chunks_exact(m)
            .zip(self.offsets.chunks_exact(2 * n_rows))
            .map(move |(member, offsets)| {
                let (mut u_in, mut u_out) = (0.0, 0.0);
                for (&wx, &inside) in scaled.iter().zip(member) {
                    if inside {
                        u_in += wx;
                    } else {
                        u_out += wx;
                    }
                }
                let (inside, outside) = offsets.split_at(n_rows);
                let mean = |offsets: &[f64], u: f64| {
                    let mut sum = 0.0;
                    for &offset in offsets {
                        sum += link.apply(offset + u);
                    }
                    sum / n_rows as f64
                };
                (mean(inside, u_in) - empty, mean(outside, u_out) - empty)
            })
    }
}

/// The link from a linear margin to the explained output.
#[derive(Clone, Copy, Debug)]
enum Link {
    /// The margin itself (a regressor's value, a logistic model's log-odds).
    Identity,
    /// `σ(g)` (`true`, class 1) or `1 − σ(g)` (class 0).
    Logistic(bool),
}

impl Link {
    /// The link of a linear model's output `index` in `space`, when it has one margin.
    fn of(model: &Model, space: OutputSpace, index: usize) -> Option<Link> {
        let ModelKind::Linear(m) = model.kind() else {
            return None;
        };
        match (m.link, space) {
            (LinearLink::Identity, _) | (LinearLink::Logistic, OutputSpace::Margin) => {
                Some(Link::Identity)
            }
            (LinearLink::Logistic, OutputSpace::Probability) => Some(Link::Logistic(index == 1)),
            (LinearLink::Margin, _) if m.n_outputs() == 1 => Some(Link::Identity),
            (LinearLink::Logistic, OutputSpace::Value)
            | (LinearLink::Softmax | LinearLink::OvrLogistic | LinearLink::Margin, _) => None,
        }
    }

    #[inline(always)]
    fn apply(self, g: f64) -> f64 {
        match self {
            Link::Identity => g,
            Link::Logistic(true) => 1.0 / (1.0 + (-g).exp()),
            Link::Logistic(false) => 1.0 - 1.0 / (1.0 + (-g).exp()),
        }
    }
}

/// The coalitions of a KernelSHAP run, fixed by the model's width and the settings.
#[derive(Clone, Debug)]
enum Plan {
    /// Every coalition, with the Shapley weight of each size.
    Exact { weight: Vec<f64> },
    /// Fewer than two features: the one value is `f(x) − v(∅)`.
    Single,
    /// Paired sampling: `members[p × m + j]` says whether feature `j` is in pair `p`'s
    /// coalition (its complement is the other half); `a` is the diagonal term of
    /// `E[z zᵀ] = a I + c 11ᵀ` that scales the projection.
    Sampled { members: Vec<bool>, a: f64 },
}

impl<'a> KernelShap<'a> {
    /// Checks the background's width and the settings, and fixes the coalitions.
    pub(crate) fn new(
        model: &'a Model,
        background: Cow<'a, Background>,
        settings: &KernelShapSettings,
    ) -> Result<KernelShap<'a>> {
        use whyline_core::Explainable;
        let m = model.n_features();
        background.check_width(m)?;
        let plan = if m <= settings.max_exact_features {
            if m > MAX_EXACT {
                return Err(ExplainError::setting(
                    "max_exact_features",
                    format!(
                        "below {m}, the model's features: exact enumeration (2^{m} coalitions) is refused above {MAX_EXACT} features"
                    ),
                    settings.max_exact_features,
                ));
            }
            Plan::Exact {
                weight: shapley_weights(m),
            }
        } else if m < 2 {
            Plan::Single
        } else {
            sample_coalitions(m, settings)
        };
        let linear = match &plan {
            Plan::Sampled { members, .. } => LinearCoalitions::new(model, &background, members),
            Plan::Exact { .. } | Plan::Single => None,
        };
        Ok(KernelShap {
            model,
            background,
            settings: settings.clone(),
            plan,
            linear,
        })
    }

    /// Explains one row.
    pub(crate) fn explain(&self, row: &[f32]) -> Result<Attribution> {
        let model = self.model;
        let settings = &self.settings;
        let background = self.background.as_ref();
        let m = background.n_features();
        let (space, index, prediction) = resolve(model, row, settings.space, settings.output)?;
        let mut game = Game {
            f: OutputFunction::new(model, space, index),
            row,
            background,
            buffer: Vec::with_capacity(m),
            linear: LinearGame::new(model, row, background, space, index),
            members: Vec::with_capacity(m),
        };
        let empty = game.value(|_| false)?;
        let full = read(&prediction, space, index);
        let (values, standard_errors) = match &self.plan {
            Plan::Exact { weight } => (exact_shapley(&mut game, m, weight)?, None),
            Plan::Single => (vec![full - empty; m], Some(vec![0.0; m])),
            Plan::Sampled { members, a } => {
                let linear = self.linear.as_ref().zip(Link::of(model, space, index));
                let mut samples: Vec<f64> = Vec::with_capacity(members.len());
                match linear {
                    Some((linear, link)) => {
                        for ((v_in, v_out), member) in linear
                            .pair_values(row, members, link, empty)
                            .zip(members.chunks_exact(m))
                        {
                            samples
                                .extend(member.iter().map(|&z| 0.5 * if z { v_in } else { v_out }));
                        }
                    }
                    None => {
                        for member in members.chunks_exact(m) {
                            let v_in =
                                game.value(|j| member.get(j).copied().unwrap_or(false))? - empty;
                            let v_out =
                                game.value(|j| !member.get(j).copied().unwrap_or(false))? - empty;
                            samples
                                .extend(member.iter().map(|&z| 0.5 * if z { v_in } else { v_out }));
                        }
                    }
                }
                let (values, se) = estimate(&samples, m, empty, full, *a);
                (values, Some(se))
            }
        };
        let mut attribution = Attribution::new(
            MethodSettings::KernelShap(KernelShapSettings {
                output: Some(index),
                space: Some(space),
                ..settings.clone()
            }),
            model,
            (index, space),
            row,
            values,
            empty,
            full,
        );
        attribution.standard_errors = standard_errors;
        Ok(attribution)
    }
}

/// Explains one row of any model with KernelSHAP over `background`.
pub fn kernel_shap(
    model: &Model,
    row: &[f32],
    background: &Background,
    settings: &KernelShapSettings,
) -> Result<Attribution> {
    if model.preprocessing().is_some() {
        let settings = crate::MethodSettings::KernelShap(settings.clone());
        return crate::explain(model, row, &settings, Some(background));
    }
    KernelShap::new(model, Cow::Borrowed(background), settings)?.explain(row)
}

/// `weight[s] = s!(M−s−1)!/M!`, built by the ratio `weight[s+1]/weight[s] = (s+1)/(M−s−1)`.
fn shapley_weights(m: usize) -> Vec<f64> {
    let mut weight = vec![0.0f64; m.max(1)];
    if m > 0 {
        weight[0] = 1.0 / m as f64;
        for s in 0..m - 1 {
            weight[s + 1] = weight[s] * (s + 1) as f64 / (m - s - 1) as f64;
        }
    }
    weight
}

/// Shapley values from every coalition: `φ_i = Σ_{S∌i} |S|!(M−|S|−1)!/M! (v(S∪i) − v(S))`.
fn exact_shapley(game: &mut Game<'_>, m: usize, weight: &[f64]) -> Result<Vec<f64>> {
    let n = 1usize << m;
    let mut v = Vec::with_capacity(n);
    for mask in 0..n {
        v.push(game.value(|j| mask >> j & 1 == 1)?);
    }
    let mut phi = vec![0.0f64; m];
    for (i, p) in phi.iter_mut().enumerate() {
        let bit = 1usize << i;
        for mask in 0..n {
            if mask & bit == 0 {
                let s = mask.count_ones() as usize;
                let gain =
                    v.get(mask | bit).copied().unwrap_or(0.0) - v.get(mask).copied().unwrap_or(0.0);
                *p += weight.get(s).copied().unwrap_or(0.0) * gain;
            }
        }
    }
    Ok(phi)
}

/// A uniform draw in `[0, 1)` from 53 random bits.
pub(crate) fn uniform(rng: &mut ChaCha8Rng) -> f64 {
    (rng.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

/// The seeded paired sample of coalitions (`m ≥ 2`): sizes from the Shapley kernel
/// `P(k) ∝ 1/(k(M−k))`, members by a partial Fisher–Yates shuffle.
fn sample_coalitions(m: usize, settings: &KernelShapSettings) -> Plan {
    let pairs = (settings.samples / 2).max(2);
    let mut rng = ChaCha8Rng::seed_from_u64(settings.seed);
    // Coalition size distribution of the Shapley kernel: P(k) ∝ 1/(k(M−k)), 0 < k < M.
    let mut cumulative = Vec::with_capacity(m - 1);
    let mut total = 0.0;
    for k in 1..m {
        total += 1.0 / (k as f64 * (m - k) as f64);
        cumulative.push(total);
    }
    // A = E[z zᵀ] = a I + c 11ᵀ with diagonal 1/2 and off-diagonal
    // c = Σ_k P(k) k(k−1)/(M(M−1)).
    let mf = m as f64;
    let c: f64 = (1..m)
        .map(|k| {
            let kf = k as f64;
            (1.0 / (kf * (mf - kf))) / total * kf * (kf - 1.0) / (mf * (mf - 1.0))
        })
        .sum();
    let mut order: Vec<usize> = (0..m).collect();
    let mut members = vec![false; pairs * m];
    for member in members.chunks_exact_mut(m) {
        let u = uniform(&mut rng) * total;
        let size = cumulative.iter().position(|&cum| u < cum).unwrap_or(m - 2) + 1;
        for i in 0..size {
            let j = i + (uniform(&mut rng) * (m - i) as f64) as usize;
            order.swap(i, j.min(m - 1));
        }
        for &j in order.iter().take(size) {
            if let Some(slot) = member.get_mut(j) {
                *slot = true;
            }
        }
    }
    Plan::Sampled {
        members,
        a: 0.5 - c,
    }
}

/// The unbiased KernelSHAP estimate from the paired samples (`m` values per pair: each
/// feature's half of `v(S)` or `v(S̄)`); returns the values and their standard errors.
fn estimate(samples: &[f64], m: usize, empty: f64, full: f64, a: f64) -> (Vec<f64>, Vec<f64>) {
    let pairs = samples.len() / m.max(1);
    let mf = m as f64;
    let n = pairs as f64;
    let mut mean = vec![0.0f64; m];
    for sample in samples.chunks_exact(m) {
        for (mu, s) in mean.iter_mut().zip(sample) {
            *mu += s;
        }
    }
    for mu in &mut mean {
        *mu /= n;
    }
    // A⁻¹ = (I − c/(a + Mc) 11ᵀ)/a; φ = A⁻¹(b̂ − 1 λ), λ chosen so Σφ = full − empty,
    // which makes φ = P b̂ + (full − empty)/M · 1 with P = A⁻¹ − A⁻¹11ᵀA⁻¹/(1ᵀA⁻¹1) =
    // (I − 11ᵀ/M)/a (the projection that removes the mean, scaled).
    let project = |b: &[f64]| -> Vec<f64> {
        let avg = b.iter().sum::<f64>() / mf;
        b.iter().map(|v| (v - avg) / a).collect()
    };
    let target = (full - empty) / mf;
    let values: Vec<f64> = project(&mean).into_iter().map(|v| v + target).collect();
    // Cov(φ) = P Cov(b̂) Pᵀ: project each centred sample, the variance of the projections
    // divided by n.
    let mut variance = vec![0.0f64; m];
    let mut centred = vec![0.0f64; m];
    for sample in samples.chunks_exact(m) {
        for ((c, s), mu) in centred.iter_mut().zip(sample).zip(&mean) {
            *c = s - mu;
        }
        for (var, p) in variance.iter_mut().zip(project(&centred)) {
            *var += p * p;
        }
    }
    let se = variance
        .iter()
        .map(|var| (var / (n - 1.0) / n).sqrt())
        .collect();
    (values, se)
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;
    use std::path::PathBuf;

    use whyline_models::Model;

    use super::KernelShap;
    use crate::attribution::OutputSpace;
    use crate::background::Background;
    use crate::settings::KernelShapSettings;

    /// The precomputed coalition margins of a linear model give the values of the general
    /// game (one prediction per coalition and background row), in every space and class.
    #[test]
    fn precomputed_linear_coalitions_equal_the_general_game() {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../whyline-models/tests/fixtures/sk_logreg_breast_cancer.whyline.json");
        let model = Model::load(path).unwrap();
        let rows: Vec<Vec<f32>> = (0..12)
            .map(|i| {
                (0..30)
                    .map(|j| ((i * 7 + j * 3) % 11) as f32 * 0.3)
                    .collect()
            })
            .collect();
        let background = Background::from_rows(&rows[..8], 30).unwrap();
        for (space, output) in [
            (OutputSpace::Probability, 0),
            (OutputSpace::Probability, 1),
            (OutputSpace::Margin, 0),
        ] {
            let settings = KernelShapSettings {
                space: Some(space),
                output: Some(output),
                samples: 64,
                seed: 3,
                ..KernelShapSettings::default()
            };
            let fast = KernelShap::new(&model, Cow::Borrowed(&background), &settings).unwrap();
            assert!(fast.linear.is_some());
            let mut general = fast.clone();
            general.linear = None;
            for row in &rows[8..] {
                let a = fast.explain(row).unwrap();
                let b = general.explain(row).unwrap();
                for (x, y) in a.values.iter().zip(&b.values) {
                    assert!((x - y).abs() < 1e-12, "{space:?} {output}: {x} vs {y}");
                }
                let (se_a, se_b) = (a.standard_errors.unwrap(), b.standard_errors.unwrap());
                for (x, y) in se_a.iter().zip(&se_b) {
                    assert!((x - y).abs() < 1e-12, "{space:?} {output}: {x} vs {y}");
                }
            }
        }
    }
}
