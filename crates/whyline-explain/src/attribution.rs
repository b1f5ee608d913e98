//! [`Attribution`]: what every attribution method returns — one value per feature, the base
//! value they start from, the model's output they add up to, and the sum-check residual
//! that proves (or disproves) additivity for this very explanation.

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use whyline_models::{Category, InputKind, Model, Preprocessing};

use crate::settings::MethodSettings;

/// The space an attribution explains.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutputSpace {
    /// A regressor's value.
    Value,
    /// A raw margin: log-odds of a logistic model, a boosted ensemble's summed margin, a
    /// linear model's decision value.
    Margin,
    /// A class probability.
    Probability,
}

impl OutputSpace {
    /// The name used in text and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            OutputSpace::Value => "value",
            OutputSpace::Margin => "margin",
            OutputSpace::Probability => "probability",
        }
    }
}

/// One explained output of a model: its index, space and name.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ExplainedOutput {
    /// Output index: the class (classifiers; a binary classifier's one margin is the
    /// positive class's, class 1) or the boosting group; 0 for one output.
    pub index: usize,
    /// The class name, when the model has one for this output.
    pub name: Option<String>,
    /// What the values add up to.
    pub space: OutputSpace,
}

/// An additive explanation of one output for one row.
///
/// `base_value + Σ values ≈ prediction`; [`residual`](Attribution::residual) is
/// `|base_value + Σ values − prediction|`, computed with the prediction taken from the model
/// itself (not from the attribution), so a served explanation carries its own sum-check.
/// Methods that are not additive by construction (LIME's surrogate, integrated gradients'
/// quadrature) report their gap here as well.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Attribution {
    /// The method's name (`tree-shap`, `kernel-shap`, …).
    pub method: &'static str,
    /// The seed of a sampling method, `None` for deterministic ones.
    pub seed: Option<u64>,
    /// The method and the settings it ran with (seed included).
    pub settings: MethodSettings,
    /// The explained output.
    pub output: ExplainedOutput,
    /// Feature names, when the model has them (else `feature[i]` in text).
    pub feature_names: Vec<String>,
    /// The explained row.
    pub row: Vec<f32>,
    /// One attribution per feature.
    pub values: Vec<f64>,
    /// The value the attributions start from (the expected output, the baseline's output,
    /// or LIME's intercept).
    pub base_value: f64,
    /// The model's output for the row, in [`output`](Attribution::output)'s space.
    pub prediction: f64,
    /// `|base_value + Σ values − prediction|`.
    pub residual: f64,
    /// Standard error per feature of a sampled estimate (KernelSHAP when sampling).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub standard_errors: Option<Vec<f64>>,
    /// Integrated gradients' convergence delta `|Σ values − (f(x) − f(baseline))|`; LIME's
    /// surrogate R² is reported in [`score`](Attribution::score) instead.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub convergence_delta: Option<f64>,
    /// LIME's surrogate R² on its weighted neighbourhood.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub score: Option<f64>,
    /// The row as the user gave it, where it holds categories (a model with a
    /// preprocessing stage): each column's category name or number, as text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub row_text: Option<Vec<String>>,
    /// For a model with a preprocessing stage: the estimator's own attribution over its
    /// features (what `shap` computes on the transformed rows), which
    /// [`values`](Attribution::values) sums by input column.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub estimator: Option<Box<Attribution>>,
}

impl Attribution {
    /// Builds an attribution and computes its residual in a fixed order (feature order).
    /// `(index, space)` is the explained output of `model` (for a binary classifier's one
    /// margin, index 0 is the positive class, class 1); its class and the feature names
    /// come from the model.
    pub(crate) fn new(
        settings: MethodSettings,
        model: &Model,
        (index, space): (usize, OutputSpace),
        row: &[f32],
        values: Vec<f64>,
        base_value: f64,
        prediction: f64,
    ) -> Attribution {
        let residual = residual(base_value, &values, prediction);
        let names = &model.info().names;
        let class = crate::model_output::output_class(model, index, space);
        Attribution {
            method: settings.method_name(),
            seed: settings.seed(),
            settings,
            output: ExplainedOutput {
                index: class,
                name: crate::model_output::class_name(names, class, space),
                space,
            },
            feature_names: names.features.clone(),
            row: row.to_vec(),
            values,
            base_value,
            prediction,
            residual,
            standard_errors: None,
            convergence_delta: None,
            score: None,
            row_text: None,
            estimator: None,
        }
    }

    /// The attribution of an input row of a model with a preprocessing stage, from the
    /// estimator's attribution of the transformed row: values (and standard errors, as the
    /// root of the summed squares) summed into each input column in feature order; the
    /// base value and the prediction are the estimator's, and the residual is computed
    /// again over the input columns' values.
    pub(crate) fn for_inputs(
        model: &Model,
        stage: &Preprocessing,
        row: &[f32],
        estimator: Attribution,
    ) -> Attribution {
        let values = stage.attribute(&estimator.values);
        let standard_errors = estimator.standard_errors.as_ref().map(|se| {
            let squares: Vec<f64> = se.iter().map(|v| v * v).collect();
            stage
                .attribute(&squares)
                .into_iter()
                .map(f64::sqrt)
                .collect()
        });
        let row_text = stage
            .inputs
            .iter()
            .zip(row)
            .map(|(column, &x)| match &column.kind {
                InputKind::Categorical { categories, .. } => category_text(categories, x),
                _ => x.to_string(),
            })
            .collect();
        Attribution {
            method: estimator.method,
            seed: estimator.seed,
            settings: estimator.settings.clone(),
            output: estimator.output.clone(),
            feature_names: model.info().names.features.clone(),
            row: row.to_vec(),
            residual: residual(estimator.base_value, &values, estimator.prediction),
            values,
            base_value: estimator.base_value,
            prediction: estimator.prediction,
            standard_errors,
            convergence_delta: estimator.convergence_delta,
            score: estimator.score,
            row_text: Some(row_text),
            estimator: Some(Box::new(estimator)),
        }
    }

    /// The JSON view (method, settings, seed, values, base value, residual, …).
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }

    /// A text rendering for people: the sum, then the features by decreasing |value|.
    ///
    /// ```text
    /// tree-shap, output 1 (versicolor, probability): 0.3333 base + 0.6667 = 1 (residual 0)
    ///   feature[2] (petal length (cm)) = 4.7: +0.41
    /// ```
    pub fn to_text(&self) -> String {
        let mut text = String::new();
        let total: f64 = self.values.iter().sum();
        let name = self
            .output
            .name
            .as_deref()
            .map(|n| format!("{n}, "))
            .unwrap_or_default();
        let _ = writeln!(
            text,
            "{}, output {} ({}{}): {:.6} base {:+.6} = {:.6} (model {:.6}, residual {:.3e})",
            self.method,
            self.output.index,
            name,
            self.output.space.as_str(),
            self.base_value,
            total,
            self.base_value + total,
            self.prediction,
            self.residual
        );
        let mut order: Vec<usize> = (0..self.values.len()).collect();
        order.sort_by(|&a, &b| {
            let va = self.values.get(a).map_or(0.0, |v| v.abs());
            let vb = self.values.get(b).map_or(0.0, |v| v.abs());
            vb.total_cmp(&va).then(a.cmp(&b))
        });
        for i in order {
            let value = self.values.get(i).copied().unwrap_or(0.0);
            let x = self.row.get(i).copied().unwrap_or(f32::NAN);
            let _ = write!(text, "  feature[{i}]");
            if let Some(name) = self.feature_names.get(i) {
                let _ = write!(text, " ({name})");
            }
            match self.row_text.as_ref().and_then(|t| t.get(i)) {
                Some(shown) => {
                    let _ = write!(text, " = {shown}: {value:+.6}");
                }
                None => {
                    let _ = write!(text, " = {x}: {value:+.6}");
                }
            }
            if let Some(se) = self.standard_errors.as_ref().and_then(|s| s.get(i)) {
                let _ = write!(text, " ± {se:.2e}");
            }
            text.push('\n');
        }
        if let Some(delta) = self.convergence_delta {
            let _ = writeln!(text, "  convergence delta {delta:.3e}");
        }
        if let Some(score) = self.score {
            let _ = writeln!(text, "  surrogate R² {score:.4}");
        }
        text
    }
}

/// A categorical value (a category index) as its category's name; `-1` is an unknown
/// category, NaN a missing one.
fn category_text(categories: &[Category], x: f32) -> String {
    if x.is_nan() {
        return "(missing)".to_owned();
    }
    if x >= 0.0
        && x.fract() == 0.0
        && let Some(category) = categories.get(x as usize)
    {
        return category.to_string();
    }
    "(unknown)".to_owned()
}

/// `|base + Σ values − prediction|`, summed in feature order.
pub(crate) fn residual(base: f64, values: &[f64], prediction: f64) -> f64 {
    let mut sum = base;
    for v in values {
        sum += v;
    }
    (sum - prediction).abs()
}
