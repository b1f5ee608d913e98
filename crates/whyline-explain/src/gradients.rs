//! Saliency (the input gradient) and integrated gradients for MLPs and linear models.
//!
//! Integrated gradients attributes `f(x) − f(b)` along the straight path from a baseline `b`
//! (zero by default): `φ_j = (x_j − b_j) ∫₀¹ ∂f/∂x_j(b + α(x − b)) dα`. The integral is a
//! Gauss–Legendre rule (50 points by default) or a Riemann sum (left, right, middle,
//! trapezoid). The convergence delta `|Σ φ − (f(x) − f(b))|` is returned with every
//! explanation (as its residual too): completeness holds within it. For a linear model the
//! gradient is constant and the attributions are exactly `w_j (x_j − b_j)`.
//!
//! Gradients are computed by backpropagation in f64 through the model's own weights: the
//! explained output is a class probability (classifiers) or the value (regressors); a
//! linear model's margin or value.

use serde::{Deserialize, Serialize};
use whyline_models::{Activation, LinearLink, Mlp, Model, ModelKind, Task};

use crate::attribution::{Attribution, OutputSpace};
use crate::error::{ExplainError, Result};
use crate::model_output::{kind_name, predict_f32};
use crate::quadrature;
use crate::settings::{GradientSettings, MethodSettings};

/// How the path integral of integrated gradients is computed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Integration {
    /// Gauss–Legendre on `[0, 1]` (the default).
    #[default]
    GaussLegendre,
    /// Riemann sum at the left end of each step.
    RiemannLeft,
    /// Riemann sum at the right end of each step.
    RiemannRight,
    /// Riemann sum at the middle of each step.
    RiemannMiddle,
    /// Trapezoid rule.
    RiemannTrapezoid,
}

impl Integration {
    /// Points and weights on `[0, 1]` for `steps` steps.
    fn rule(self, steps: usize) -> (Vec<f64>, Vec<f64>) {
        let n = steps as f64;
        match self {
            Integration::GaussLegendre => {
                let rule = quadrature::rule(steps);
                (rule.nodes.clone(), rule.weights.clone())
            }
            Integration::RiemannLeft => (
                (0..steps).map(|i| i as f64 / n).collect(),
                vec![1.0 / n; steps],
            ),
            Integration::RiemannRight => (
                (1..=steps).map(|i| i as f64 / n).collect(),
                vec![1.0 / n; steps],
            ),
            Integration::RiemannMiddle => (
                (0..steps).map(|i| (i as f64 + 0.5) / n).collect(),
                vec![1.0 / n; steps],
            ),
            Integration::RiemannTrapezoid => {
                let points = (0..=steps).map(|i| i as f64 / n).collect();
                let weights = (0..=steps)
                    .map(|i| {
                        if i == 0 || i == steps {
                            0.5 / n
                        } else {
                            1.0 / n
                        }
                    })
                    .collect();
                (points, weights)
            }
        }
    }
}

/// A differentiable model output: `f` and `∇f` at a point.
struct Differentiable<'a> {
    kind: &'a ModelKind,
    index: usize,
}

impl Differentiable<'_> {
    /// `(f(x), ∇f(x))`.
    fn value_and_gradient(&self, x: &[f64]) -> (f64, Vec<f64>) {
        match self.kind {
            ModelKind::Linear(m) => {
                let n = m.n_features;
                let row = match m.link {
                    LinearLink::Softmax | LinearLink::OvrLogistic => self.index,
                    LinearLink::Margin if m.n_outputs() > 1 => self.index,
                    LinearLink::Identity | LinearLink::Logistic | LinearLink::Margin => 0,
                };
                let w = m.coefficients.get(row * n..(row + 1) * n).unwrap_or(&[]);
                let b = m.intercepts.get(row).copied().unwrap_or(0.0);
                let value = b + w.iter().zip(x).map(|(w, x)| w * x).sum::<f64>();
                (value, w.to_vec())
            }
            ModelKind::Mlp(m) => mlp_value_and_gradient(m, x, self.index),
            _ => (f64::NAN, Vec::new()),
        }
    }
}

fn activate(activation: Activation, values: &mut [f64]) {
    match activation {
        Activation::Identity => {}
        Activation::Relu => values.iter_mut().for_each(|v| *v = v.max(0.0)),
        Activation::Tanh => values.iter_mut().for_each(|v| *v = v.tanh()),
        Activation::Logistic => values
            .iter_mut()
            .for_each(|v| *v = 1.0 / (1.0 + (-*v).exp())),
        Activation::Softmax => {
            let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let mut sum = 0.0;
            for v in values.iter_mut() {
                *v = (*v - max).exp();
                sum += *v;
            }
            values.iter_mut().for_each(|v| *v /= sum);
        }
    }
}

fn derivative_at_output(activation: Activation, a: f64) -> f64 {
    match activation {
        Activation::Relu => {
            if a > 0.0 {
                1.0
            } else {
                0.0
            }
        }
        Activation::Tanh => 1.0 - a * a,
        Activation::Logistic => a * (1.0 - a),
        _ => 1.0,
    }
}

/// The explained output of an MLP (probability of class `index`, or output `index` of a
/// regressor) and its input gradient.
fn mlp_value_and_gradient(m: &Mlp, x: &[f64], index: usize) -> (f64, Vec<f64>) {
    let mut activations: Vec<Vec<f64>> = vec![x.to_vec()];
    let last = m.layers.len().saturating_sub(1);
    for (l, layer) in m.layers.iter().enumerate() {
        let input = activations.last().map(Vec::as_slice).unwrap_or(&[]);
        let mut out = layer.bias.clone();
        for (i, &xi) in input.iter().enumerate() {
            if let Some(w) = layer
                .weights
                .get(i * layer.n_outputs..(i + 1) * layer.n_outputs)
            {
                for (o, w) in out.iter_mut().zip(w) {
                    *o += xi * w;
                }
            }
        }
        activate(if l == last { m.output } else { m.hidden }, &mut out);
        activations.push(out);
    }
    let out = activations.last().cloned().unwrap_or_default();
    let binary = matches!(m.task, Task::Classification { .. }) && m.output == Activation::Logistic;
    let (value, mut delta) = if binary {
        let p = out.first().copied().unwrap_or(0.0);
        let sign = if index == 1 { 1.0 } else { -1.0 };
        (
            if index == 1 { p } else { 1.0 - p },
            vec![sign * p * (1.0 - p)],
        )
    } else if m.output == Activation::Softmax {
        let pc = out.get(index).copied().unwrap_or(0.0);
        let delta = out
            .iter()
            .enumerate()
            .map(|(j, &pj)| {
                if j == index {
                    pc * (1.0 - pc)
                } else {
                    -pc * pj
                }
            })
            .collect();
        (pc, delta)
    } else {
        let value = out.get(index).copied().unwrap_or(f64::NAN);
        let delta = out
            .iter()
            .enumerate()
            .map(|(j, &a)| {
                if j == index {
                    derivative_at_output(m.output, a)
                } else {
                    0.0
                }
            })
            .collect();
        (value, delta)
    };
    for (l, layer) in m.layers.iter().enumerate().rev() {
        let mut previous = vec![0.0f64; layer.n_inputs];
        for (i, slot) in previous.iter_mut().enumerate() {
            if let Some(w) = layer
                .weights
                .get(i * layer.n_outputs..(i + 1) * layer.n_outputs)
            {
                *slot = w.iter().zip(&delta).map(|(w, d)| w * d).sum();
            }
        }
        if l > 0
            && let Some(input) = activations.get(l)
        {
            for (g, &a) in previous.iter_mut().zip(input) {
                *g *= derivative_at_output(m.hidden, a);
            }
        }
        delta = previous;
    }
    (value, delta)
}

/// Resolves the explained output of a differentiable model.
fn target(model: &Model, row: &[f32], output: Option<usize>) -> Result<(usize, OutputSpace)> {
    let prediction = predict_f32(model, row)?;
    let (n, space) = match model.kind() {
        ModelKind::Linear(m) => (
            m.n_outputs(),
            if m.link == LinearLink::Identity {
                OutputSpace::Value
            } else {
                OutputSpace::Margin
            },
        ),
        ModelKind::Mlp(m) => match m.task {
            Task::Classification { n_classes } => (n_classes, OutputSpace::Probability),
            Task::Regression => (prediction.raw.len().max(1), OutputSpace::Value),
        },
        other => {
            return Err(ExplainError::MethodDoesNotFit {
                method: "integrated-gradients",
                model: kind_name(other),
                hint: "gradients need an MLP or a linear model; use kernel-shap or tree-shap",
            });
        }
    };
    let index = match output {
        Some(index) => index,
        None if space == OutputSpace::Probability || n > 1 => prediction.value as usize,
        None => 0,
    };
    if index >= n {
        return Err(ExplainError::output_out_of_range(index, n));
    }
    Ok((index, space))
}

/// Integrated gradients (or, with `saliency`, the plain input gradient) of one row.
pub fn integrated_gradients(
    model: &Model,
    row: &[f32],
    settings: &GradientSettings,
) -> Result<Attribution> {
    if model.preprocessing().is_some() {
        let settings = if settings.saliency {
            crate::MethodSettings::Saliency(settings.clone())
        } else {
            crate::MethodSettings::IntegratedGradients(settings.clone())
        };
        return crate::explain(model, row, &settings, None);
    }
    let (index, space) = target(model, row, settings.output)?;
    let m = row.len();
    let baseline = match &settings.baseline {
        Some(b) if b.len() == m => b.iter().map(|&v| f64::from(v)).collect::<Vec<f64>>(),
        Some(b) => {
            return Err(ExplainError::BackgroundWidth {
                row: 0,
                expected: m,
                found: b.len(),
            });
        }
        None => vec![0.0; m],
    };
    if settings.steps == 0 {
        return Err(ExplainError::setting("steps", "at least 1", settings.steps));
    }
    let f = Differentiable {
        kind: model.kind(),
        index,
    };
    let x: Vec<f64> = row.iter().map(|&v| f64::from(v)).collect();
    let (fx, gradient) = f.value_and_gradient(&x);
    let (fb, _) = f.value_and_gradient(&baseline);
    if settings.saliency {
        let mut attribution = Attribution::new(
            MethodSettings::Saliency(GradientSettings {
                output: Some(index),
                ..settings.clone()
            }),
            model,
            (index, space),
            row,
            gradient,
            fx,
            fx,
        );
        // A gradient is not additive: no sum-check applies.
        attribution.residual = 0.0;
        return Ok(attribution);
    }
    let (points, weights) = settings.integration.rule(settings.steps);
    let mut integral = vec![0.0f64; m];
    let mut point = vec![0.0f64; m];
    for (&alpha, &w) in points.iter().zip(&weights) {
        for ((p, &xj), &bj) in point.iter_mut().zip(&x).zip(&baseline) {
            *p = bj + alpha * (xj - bj);
        }
        let (_, g) = f.value_and_gradient(&point);
        for (acc, gj) in integral.iter_mut().zip(g) {
            *acc += w * gj;
        }
    }
    let values: Vec<f64> = integral
        .iter()
        .zip(x.iter().zip(&baseline))
        .map(|(i, (xj, bj))| i * (xj - bj))
        .collect();
    let mut attribution = Attribution::new(
        MethodSettings::IntegratedGradients(GradientSettings {
            output: Some(index),
            ..settings.clone()
        }),
        model,
        (index, space),
        row,
        values,
        fb,
        fx,
    );
    attribution.convergence_delta = Some(attribution.residual);
    Ok(attribution)
}
