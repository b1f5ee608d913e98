//! [`MethodSettings`]: which method to run and with what, in a form that serializes into
//! every explanation (so the explanation itself says how it was made) and that a CLI can
//! build from flags.

use serde::{Deserialize, Serialize};

use crate::attribution::OutputSpace;
use crate::counterfactual::CounterfactualSettings;
use crate::gradients::Integration;

/// A method and its settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "method", rename_all = "kebab-case")]
#[non_exhaustive]
pub enum MethodSettings {
    /// Exact path-dependent TreeSHAP.
    TreeShap(TreeShapSettings),
    /// LinearSHAP, `w_j (x_j − E[x_j])`.
    LinearShap(LinearShapSettings),
    /// KernelSHAP: exact enumeration, or a seeded sampled estimate.
    KernelShap(KernelShapSettings),
    /// Integrated gradients (MLPs, linear models).
    IntegratedGradients(GradientSettings),
    /// The input gradient (MLPs, linear models).
    Saliency(GradientSettings),
    /// LIME (tabular): a kernel-weighted ridge surrogate on a seeded neighbourhood.
    Lime(LimeSettings),
    /// The minimal change that flips the decision: not an attribution, so
    /// [`Explainer::explain_row`](crate::Explainer::explain_row) returns it as
    /// [`Explanation::Counterfactual`](crate::Explanation::Counterfactual).
    Counterfactual(CounterfactualSettings),
}

impl MethodSettings {
    /// The method's CLI name (`tree-shap`, `linear-shap`, `kernel-shap`, `lime`,
    /// `counterfactual`, …).
    pub fn method_name(&self) -> &'static str {
        match self {
            MethodSettings::TreeShap(_) => "tree-shap",
            MethodSettings::LinearShap(_) => "linear-shap",
            MethodSettings::KernelShap(_) => "kernel-shap",
            MethodSettings::IntegratedGradients(_) => "integrated-gradients",
            MethodSettings::Saliency(_) => "saliency",
            MethodSettings::Lime(_) => "lime",
            MethodSettings::Counterfactual(_) => "counterfactual",
        }
    }

    /// The seed, for the methods that sample (and the counterfactual search, whose seeded
    /// search samples).
    pub fn seed(&self) -> Option<u64> {
        match self {
            MethodSettings::KernelShap(s) => Some(s.seed),
            MethodSettings::Lime(s) => Some(s.seed),
            MethodSettings::Counterfactual(s) => Some(s.seed),
            MethodSettings::TreeShap(_)
            | MethodSettings::LinearShap(_)
            | MethodSettings::IntegratedGradients(_)
            | MethodSettings::Saliency(_) => None,
        }
    }
}

/// Settings of [`MethodSettings::TreeShap`].
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TreeShapSettings {
    /// Output to explain; `None` explains the predicted class (classifiers) or output 0.
    pub output: Option<usize>,
    /// Interventional TreeSHAP over the background set instead of the path-dependent
    /// expectation under the trees' covers.
    pub interventional: bool,
}

/// Settings of [`MethodSettings::LinearShap`].
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct LinearShapSettings {
    /// Output to explain; `None` explains the predicted class (multinomial) or output 0.
    pub output: Option<usize>,
    /// Explain the probability instead of the margin (logistic models): the margin values
    /// rescaled so they add up to `p(x) − p(E[x])` (not exact Shapley values of the
    /// probability, which are not linear; see the module docs).
    pub probability: bool,
}

/// Settings of [`MethodSettings::KernelShap`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct KernelShapSettings {
    /// Output to explain; `None` explains the predicted class (classifiers) or output 0.
    pub output: Option<usize>,
    /// The space explained; `None`: probabilities for classifiers, values for regressors.
    pub space: Option<OutputSpace>,
    /// Enumerate every coalition when the model has at most this many features.
    pub max_exact_features: usize,
    /// Coalitions sampled otherwise (besides the empty and the full one).
    pub samples: usize,
    /// Seed of the sampler.
    pub seed: u64,
}

impl Default for KernelShapSettings {
    fn default() -> Self {
        KernelShapSettings {
            output: None,
            space: None,
            max_exact_features: 16,
            samples: 2048,
            seed: 0,
        }
    }
}

/// Settings of [`MethodSettings::Lime`]; the defaults are those of lime 0.2.0.1's
/// `LimeTabularExplainer` and `explain_instance` (5,000 samples, kernel width `0.75 √M`,
/// quartile discretisation), with every feature in the surrogate.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct LimeSettings {
    /// Output to explain; `None` explains the predicted class (classifiers) or output 0.
    pub output: Option<usize>,
    /// The space explained; `None`: probabilities for classifiers (lime's
    /// `predict_proba`), values for regressors.
    pub space: Option<OutputSpace>,
    /// Rows of the neighbourhood, the explained row included (lime's `num_samples`).
    pub samples: usize,
    /// Width of the exponential kernel; `None` is `0.75 √M`.
    pub kernel_width: Option<f64>,
    /// Quartile-discretise the features (lime's `discretize_continuous`); otherwise sample
    /// each feature from a normal with the background's mean and standard deviation.
    pub discretize: bool,
    /// Seed of the sampler.
    pub seed: u64,
}

impl Default for LimeSettings {
    fn default() -> Self {
        LimeSettings {
            output: None,
            space: None,
            samples: 5000,
            kernel_width: None,
            discretize: true,
            seed: 0,
        }
    }
}

/// Settings of [`MethodSettings::IntegratedGradients`] and [`MethodSettings::Saliency`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct GradientSettings {
    /// Output to explain; `None` explains the predicted class (classifiers) or output 0.
    pub output: Option<usize>,
    /// The baseline; `None` is the zero vector.
    pub baseline: Option<Vec<f32>>,
    /// The rule for the path integral.
    pub integration: Integration,
    /// Points of the rule (Gauss–Legendre points or Riemann steps).
    pub steps: usize,
    /// Return the input gradient at the row instead of integrated gradients.
    pub saliency: bool,
}

impl Default for GradientSettings {
    fn default() -> Self {
        GradientSettings {
            output: None,
            baseline: None,
            integration: Integration::GaussLegendre,
            steps: 50,
            saliency: false,
        }
    }
}
