//! [`Explainer`]: a method prepared once for one model, its settings and its background,
//! then applied to many rows — on one thread ([`Explainer::explain_row`]) or on every core
//! ([`Explainer::explain_rows`]).
//!
//! What is prepared once, per method:
//!
//! | method | prepared in [`Explainer::new`] |
//! |---|---|
//! | TreeSHAP (path-dependent, interventional) | every tree compiled: leaf tables, the two-sweep form, the base values |
//! | LinearSHAP | the expectation `E[x]` (background mean or training means) |
//! | KernelSHAP | the background (or the training means), the coalitions and their weights |
//! | LIME | the quartile discretiser with its per-bin samplers (or the means and deviations) |
//! | integrated gradients, saliency | the settings |
//! | counterfactual | the classifier check and the cost weights (MADs of the background) |
//!
//! # Determinism across threads
//!
//! A row's explanation depends on the row, the model and the settings only: the sampling
//! methods start a fresh ChaCha8 generator from the settings' seed for every row, so the
//! row's sample is the same whichever thread runs it and whatever ran before.
//! [`Explainer::explain_rows`] gives every thread a contiguous run of rows and returns the
//! results in input order, so `jobs = N` and `jobs = 1` give the same bits.

use std::borrow::Cow;

use whyline_core::Explainable;
use whyline_models::{Model, Preprocessing};

use crate::attribution::Attribution;
use crate::background::Background;
use crate::counterfactual::{Counterfactual, CounterfactualSearcher};
use crate::error::{ExplainError, Result};
use crate::gradients::integrated_gradients;
use crate::kernel_shap::KernelShap;
use crate::lime::Lime;
use crate::linear_shap::LinearShap;
use crate::settings::{GradientSettings, LinearShapSettings, MethodSettings};
use crate::tree_shap::TreeShap;

/// What an [`Explainer`] returns for a row: an attribution, or (for
/// [`MethodSettings::Counterfactual`]) a counterfactual.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Explanation {
    /// How much each feature pushed the decision.
    Attribution(Attribution),
    /// The minimal change that flips the decision.
    Counterfactual(Counterfactual),
}

impl Explanation {
    /// What it is, as the `type` of a JSON line: `attribution` or `counterfactual`.
    pub fn kind(&self) -> &'static str {
        match self {
            Explanation::Attribution(_) => "attribution",
            Explanation::Counterfactual(_) => "counterfactual",
        }
    }

    /// The attribution, if this is one.
    pub fn as_attribution(&self) -> Option<&Attribution> {
        match self {
            Explanation::Attribution(a) => Some(a),
            Explanation::Counterfactual(_) => None,
        }
    }

    /// The counterfactual, if this is one.
    pub fn as_counterfactual(&self) -> Option<&Counterfactual> {
        match self {
            Explanation::Counterfactual(c) => Some(c),
            Explanation::Attribution(_) => None,
        }
    }

    /// The JSON view: [`Attribution::to_json`], or [`Counterfactual::to_json`] with
    /// `method` and `seed` added so both kinds name how they were made.
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Explanation::Attribution(a) => a.to_json(),
            Explanation::Counterfactual(c) => {
                let mut json = c.to_json();
                if let Some(object) = json.as_object_mut() {
                    object.insert("method".into(), serde_json::json!("counterfactual"));
                    object.insert("seed".into(), serde_json::json!(c.settings.seed));
                }
                json
            }
        }
    }

    /// The text rendering: [`Attribution::to_text`] or [`Counterfactual::explain`].
    pub fn to_text(&self) -> String {
        match self {
            Explanation::Attribution(a) => a.to_text(),
            Explanation::Counterfactual(c) => c.explain(),
        }
    }
}

/// One explanation method prepared for one model, settings and background; see the
/// module docs for what is prepared. `Send + Sync`: threads share one explainer.
///
/// ```
/// use whyline_explain::{Background, Explainer, Explanation, LinearShapSettings, MethodSettings};
/// use whyline_models::Model;
///
/// # let text = r#"{"format":"whyline-model","format_version":1,
/// #   "model_type":"logistic_regression","task":"classification","n_features":2,
/// #   "feature_names":["age","income"],"class_names":["deny","approve"],
/// #   "model":{"link":"logistic","n_outputs":1,"coef":[-0.5,2.0],"intercept":[0.25]}}"#;
/// let model = Model::from_bytes(text.as_bytes(), "credit.json")?;
/// let background = Background::from_rows(&[vec![0.0, 0.0], vec![2.0, 1.0]], 2)?;
/// let settings = MethodSettings::LinearShap(LinearShapSettings::default());
/// let explainer = Explainer::new(&model, &settings, Some(&background))?;
/// // Three rows, row-major, on two threads: the results come back in input order.
/// let rows = [1.0, 0.5, 2.0, 0.5, 1.0, 1.5];
/// let mut values = Vec::new();
/// for explanation in explainer.explain_rows(&rows, 2) {
///     if let Explanation::Attribution(attribution) = explanation? {
///         values.push(attribution.values);
///     }
/// }
/// assert_eq!(values, vec![vec![0.0, 0.0], vec![-0.5, 0.0], vec![0.0, 2.0]]);
/// # Ok::<(), whyline_explain::ExplainError>(())
/// ```
#[derive(Clone, Debug)]
pub struct Explainer<'a> {
    model: &'a Model,
    method: Prepared<'a>,
}

/// The per-method state.
#[derive(Clone, Debug)]
enum Prepared<'a> {
    TreeShap {
        shap: TreeShap<'a>,
        output: Option<usize>,
    },
    InterventionalTreeShap {
        shap: TreeShap<'a>,
        background: Cow<'a, Background>,
        output: Option<usize>,
    },
    LinearShap {
        shap: LinearShap<'a>,
        settings: LinearShapSettings,
    },
    KernelShap(KernelShap<'a>),
    Gradients(GradientSettings),
    Lime(Lime<'a>),
    Counterfactual(CounterfactualSearcher<'a>),
    /// A model with a preprocessing stage: the method prepared for its estimator (with the
    /// background transformed), its attributions added back into the input columns.
    Staged {
        inner: Box<Explainer<'a>>,
        stage: &'a Preprocessing,
    },
}

impl<'a> Explainer<'a> {
    /// Prepares the method `settings` names for `model`.
    ///
    /// `background` is the reference set of the methods that take expectations: LinearSHAP
    /// falls back to the model's training means without one; KernelSHAP needs one (or the
    /// training means, as a single row, when the model file carries them); LIME needs one
    /// (the training data or a sample of it) for its discretiser; TreeSHAP with
    /// `interventional` needs one; counterfactuals with the MAD cost take its MADs.
    ///
    /// A model with a preprocessing stage (a scikit-learn pipeline) is explained through
    /// its estimator: rows and the background hold the input columns and are transformed
    /// first; the estimator's attributions (kept in
    /// [`Attribution::estimator`](crate::Attribution::estimator)) are summed into the
    /// input columns, so they add up to the same output.
    pub fn new(
        model: &'a Model,
        settings: &MethodSettings,
        background: Option<&'a Background>,
    ) -> Result<Explainer<'a>> {
        if let Some(stage) = model.preprocessing() {
            if matches!(settings, MethodSettings::Counterfactual(_)) {
                return Err(ExplainError::MethodDoesNotFit {
                    method: "counterfactual",
                    model: "pipeline",
                    hint: "explain a pipeline with an attribution method (tree-shap, kernel-shap, linear-shap, lime)",
                });
            }
            let transformed = match background {
                Some(background) => Some(Cow::Owned(transform_background(stage, background)?)),
                None => None,
            };
            let inner = Explainer::prepare(model.estimator(), settings, transformed)?;
            return Ok(Explainer {
                model,
                method: Prepared::Staged {
                    inner: Box::new(inner),
                    stage,
                },
            });
        }
        Explainer::prepare(model, settings, background.map(Cow::Borrowed))
    }

    /// [`new`](Explainer::new) for a model without a preprocessing stage.
    fn prepare(
        model: &'a Model,
        settings: &MethodSettings,
        background: Option<Cow<'a, Background>>,
    ) -> Result<Explainer<'a>> {
        let method = match settings {
            MethodSettings::TreeShap(s) if s.interventional => {
                let background = background.ok_or(ExplainError::EmptyBackground)?;
                background.check_width(model.n_features())?;
                Prepared::InterventionalTreeShap {
                    shap: TreeShap::new(model)?,
                    background,
                    output: s.output,
                }
            }
            MethodSettings::TreeShap(s) => Prepared::TreeShap {
                shap: TreeShap::new(model)?,
                output: s.output,
            },
            MethodSettings::LinearShap(s) => Prepared::LinearShap {
                shap: LinearShap::new(model, background.as_deref())?,
                settings: s.clone(),
            },
            MethodSettings::IntegratedGradients(s) => Prepared::Gradients(s.clone()),
            MethodSettings::Saliency(s) => Prepared::Gradients(GradientSettings {
                saliency: true,
                ..s.clone()
            }),
            MethodSettings::Lime(s) => {
                let background = background.ok_or(ExplainError::BackgroundRequired {
                    method: "lime",
                    why: "its quartile discretiser and sampling statistics come from the training data",
                })?;
                Prepared::Lime(Lime::new(model, &background, s)?)
            }
            MethodSettings::KernelShap(s) => {
                let background = match background {
                    Some(background) => background,
                    None => Cow::Owned(training_means(model)?),
                };
                Prepared::KernelShap(KernelShap::new(model, background, s)?)
            }
            MethodSettings::Counterfactual(s) => Prepared::Counterfactual(
                CounterfactualSearcher::new(model, s, background.as_deref())?,
            ),
        };
        Ok(Explainer { model, method })
    }

    /// The model explained.
    pub fn model(&self) -> &'a Model {
        self.model
    }

    /// Explains one row.
    pub fn explain_row(&self, row: &[f32]) -> Result<Explanation> {
        let attribution = match &self.method {
            Prepared::TreeShap { shap, output } => shap.explain(row, *output)?,
            Prepared::InterventionalTreeShap {
                shap,
                background,
                output,
            } => shap.explain_interventional(row, background, *output)?,
            Prepared::Staged { inner, stage } => {
                return staged(self.model, stage, inner, row);
            }
            Prepared::LinearShap { shap, settings } => shap.explain(row, settings)?,
            Prepared::KernelShap(shap) => shap.explain(row)?,
            Prepared::Gradients(settings) => integrated_gradients(self.model, row, settings)?,
            Prepared::Lime(lime) => lime.explain(row)?,
            Prepared::Counterfactual(searcher) => {
                return Ok(Explanation::Counterfactual(searcher.find(row)?));
            }
        };
        Ok(Explanation::Attribution(attribution))
    }

    /// Explains every row of `rows` (row-major, [`n_features`](Explainable::n_features)
    /// values per row) on up to `jobs` threads (0 counts as 1), one result per row in
    /// input order; the same results, bit for bit, whatever `jobs` is. A trailing partial
    /// row gets [`ExplainError::InputWidth`].
    ///
    /// Each thread takes a contiguous run of rows. A panic in a worker (a bug) is resumed
    /// on the calling thread, as if the rows had run there.
    pub fn explain_rows(&self, rows: &[f32], jobs: usize) -> Vec<Result<Explanation>> {
        let width = self.model.n_features().max(1);
        let n_rows = rows.len().div_ceil(width);
        let jobs = jobs.clamp(1, n_rows.max(1));
        // TreeSHAP takes a run's rows in blocks (trees outside, rows inside); every other
        // method row by row.
        let explain_run = |run: &[f32]| -> Vec<Result<Explanation>> {
            match &self.method {
                Prepared::TreeShap { shap, output } => shap
                    .explain_rows(run, *output)
                    .into_iter()
                    .map(|result| result.map(Explanation::Attribution))
                    .collect(),
                _ => run.chunks(width).map(|row| self.explain_row(row)).collect(),
            }
        };
        if jobs == 1 {
            return explain_run(rows);
        }
        // Contiguous runs of whole rows, the first `n_rows % jobs` one row longer.
        let (per_job, longer) = (n_rows / jobs, n_rows % jobs);
        let mut runs = Vec::with_capacity(jobs);
        let mut rest = rows;
        for job in 0..jobs {
            let take = (per_job + usize::from(job < longer)) * width;
            let (run, tail) = rest.split_at(take.min(rest.len()));
            runs.push(run);
            rest = tail;
        }
        std::thread::scope(|scope| {
            let explain_run = &explain_run;
            let handles: Vec<_> = runs
                .into_iter()
                .map(|run| scope.spawn(move || explain_run(run)))
                .collect();
            let mut results = Vec::with_capacity(n_rows);
            for handle in handles {
                match handle.join() {
                    Ok(run) => results.extend(run),
                    Err(payload) => std::panic::resume_unwind(payload),
                }
            }
            results
        })
    }
}

/// Explains `row` with the method `settings` names: builds an [`Explainer`] and explains
/// one row. For many rows, build the [`Explainer`] once instead. The counterfactual
/// method is not an attribution: [`ExplainError::NotAnAttribution`] (use
/// [`Explainer::explain_row`] or [`counterfactual`](crate::counterfactual)).
pub fn explain(
    model: &Model,
    row: &[f32],
    settings: &MethodSettings,
    background: Option<&Background>,
) -> Result<Attribution> {
    match Explainer::new(model, settings, background)?.explain_row(row)? {
        Explanation::Attribution(a) => Ok(a),
        Explanation::Counterfactual(_) => Err(ExplainError::NotAnAttribution {
            method: settings.method_name(),
        }),
    }
}

/// Explains an input row of a model with a preprocessing stage: the estimator's
/// explanation of the transformed row, its attributions summed into the input columns.
fn staged(
    model: &Model,
    stage: &Preprocessing,
    inner: &Explainer<'_>,
    row: &[f32],
) -> Result<Explanation> {
    let wide: Vec<f64> = row.iter().map(|&x| f64::from(x)).collect();
    let features: Vec<f32> = stage
        .transform(&wide)
        .map_err(ExplainError::Core)?
        .into_iter()
        .map(|x| x as f32) // the estimator's explainers take f32 rows
        .collect();
    match inner.explain_row(&features)? {
        Explanation::Attribution(estimator) => Ok(Explanation::Attribution(
            Attribution::for_inputs(model, stage, row, estimator),
        )),
        Explanation::Counterfactual(c) => Ok(Explanation::Counterfactual(c)),
    }
}

/// A background of input rows as the estimator's features.
fn transform_background(stage: &Preprocessing, background: &Background) -> Result<Background> {
    background.check_width(stage.n_inputs())?;
    let mut values = Vec::with_capacity(background.n_rows() * stage.n_features());
    let mut features = Vec::new();
    for row in background.rows() {
        let wide: Vec<f64> = row.iter().map(|&x| f64::from(x)).collect();
        stage
            .transform_into(&wide, &mut features)
            .map_err(ExplainError::Core)?;
        values.extend(features.iter().map(|&x| x as f32)); // backgrounds are f32
    }
    Background::from_flat(values, stage.n_features())
}

/// The model's training means as a one-row background.
pub fn training_means(model: &Model) -> Result<Background> {
    let stats = model
        .info()
        .feature_stats
        .as_ref()
        .ok_or(ExplainError::EmptyBackground)?;
    Background::from_flat(
        stats.mean.iter().map(|&v| v as f32).collect(),
        stats.mean.len(),
    )
}

#[cfg(test)]
mod tests {
    use super::Explainer;

    /// Threads share one explainer.
    #[test]
    fn an_explainer_is_send_and_sync() {
        fn shared<T: Send + Sync>() {}
        shared::<Explainer<'static>>();
    }
}
