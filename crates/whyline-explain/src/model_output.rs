//! Reading one output of a [`Model`] as a number: a class probability, a margin or a
//! value. Every model-agnostic method (KernelSHAP, LIME, counterfactual search) and every
//! sum-check goes through here, so they all explain the same quantity.

use whyline_core::Names;
use whyline_models::{LinearLink, Link, Model, ModelKind, Prediction, Task};

use crate::attribution::OutputSpace;
use crate::error::{ExplainError, Result};

/// A short name of a model kind for messages.
pub(crate) fn kind_name(kind: &ModelKind) -> &'static str {
    match kind {
        ModelKind::Linear(_) => "linear",
        ModelKind::DecisionTree(_) => "decision tree",
        ModelKind::RandomForest(_) => "random forest",
        ModelKind::GradientBoosting(_) => "gradient boosting",
        ModelKind::Knn(_) => "KNN",
        ModelKind::Mlp(_) => "MLP",
        ModelKind::KMeans(_) => "k-means",
        _ => "unknown",
    }
}

/// The class name of an output, where outputs are classes.
pub(crate) fn class_name(names: &Names, index: usize, space: OutputSpace) -> Option<String> {
    match space {
        OutputSpace::Value => None,
        OutputSpace::Margin | OutputSpace::Probability => names.classes.get(index).cloned(),
    }
}

/// The class an explained output stands for: a binary classifier with one margin
/// (logistic regression, scikit-learn's binary gradient boosting, binary XGBoost and
/// LightGBM) explains the positive class, class 1, with its margin 0; every other output
/// is its own index.
pub(crate) fn output_class(model: &Model, index: usize, space: OutputSpace) -> usize {
    let one_margin = match model.kind() {
        ModelKind::Linear(m) => m.link == LinearLink::Logistic,
        ModelKind::GradientBoosting(m) => {
            matches!(m.task, Task::Classification { n_classes: 2 }) && m.n_groups() == 1
        }
        _ => false,
    };
    match space {
        OutputSpace::Margin if one_margin && index == 0 => 1,
        OutputSpace::Margin | OutputSpace::Probability | OutputSpace::Value => index,
    }
}

/// Whether the model is a classifier.
pub(crate) fn is_classifier(model: &Model) -> bool {
    match model.kind() {
        ModelKind::Linear(m) => m.link != LinearLink::Identity,
        ModelKind::DecisionTree(m) => matches!(m.task, Task::Classification { .. }),
        ModelKind::RandomForest(m) => matches!(m.task, Task::Classification { .. }),
        ModelKind::GradientBoosting(m) => matches!(m.task, Task::Classification { .. }),
        ModelKind::Knn(m) => matches!(m.task, Task::Classification { .. }),
        ModelKind::Mlp(m) => matches!(m.task, Task::Classification { .. }),
        _ => false,
    }
}

/// The space a model-agnostic method explains by default: a classifier's probabilities,
/// or its margins when it has none (a linear SVM, SGD with the hinge loss); a regressor's
/// value.
pub(crate) fn default_space(model: &Model, prediction: &Prediction) -> OutputSpace {
    if !is_classifier(model) {
        OutputSpace::Value
    } else if prediction.probabilities.is_none() && has_margin(model) {
        OutputSpace::Margin
    } else {
        OutputSpace::Probability
    }
}

/// Whether the model has margins distinct from its value (linear decision values, boosted
/// margins).
pub(crate) fn has_margin(model: &Model) -> bool {
    match model.kind() {
        ModelKind::Linear(_) => true,
        ModelKind::GradientBoosting(m) => m.link != Link::Identity || m.n_groups() > 1,
        _ => false,
    }
}

/// Number of outputs in a space, read from one prediction.
pub(crate) fn n_outputs(prediction: &Prediction, space: OutputSpace) -> usize {
    match space {
        OutputSpace::Value => 1,
        OutputSpace::Margin => prediction.raw.len(),
        OutputSpace::Probability => prediction.probabilities.as_ref().map_or(0, Vec::len),
    }
}

/// One output of a prediction.
pub(crate) fn read(prediction: &Prediction, space: OutputSpace, index: usize) -> f64 {
    match space {
        OutputSpace::Value => prediction.value,
        OutputSpace::Margin => prediction.raw.get(index).copied().unwrap_or(f64::NAN),
        OutputSpace::Probability => prediction
            .probabilities
            .as_ref()
            .and_then(|p| p.get(index).copied())
            .unwrap_or(f64::NAN),
    }
}

/// The model's prediction for an explainer's f32 row (an explained row, or a perturbed
/// one), widened to f64 exactly: what [`Model::predict`] gives for that row.
pub(crate) fn predict_f32(model: &Model, row: &[f32]) -> Result<Prediction> {
    let row: Vec<f64> = row.iter().map(|&x| f64::from(x)).collect();
    Ok(model.predict(&row)?)
}

/// Resolves the explained output and space for a row: checks the space fits the model and
/// the index is in range; `None` picks the predicted class (classifiers) or 0.
pub(crate) fn resolve(
    model: &Model,
    row: &[f32],
    space: Option<OutputSpace>,
    output: Option<usize>,
) -> Result<(OutputSpace, usize, Prediction)> {
    let prediction = predict_f32(model, row)?;
    let space = space.unwrap_or_else(|| default_space(model, &prediction));
    if space == OutputSpace::Margin && !has_margin(model) {
        return Err(ExplainError::setting(
            "space",
            format!(
                "probability or value: a {} model has no margin",
                kind_name(model.kind())
            ),
            "margin",
        ));
    }
    if space == OutputSpace::Probability && prediction.probabilities.is_none() {
        return Err(ExplainError::setting(
            "space",
            format!(
                "value or margin: a {} {} has no probabilities",
                kind_name(model.kind()),
                if is_classifier(model) {
                    "margin classifier"
                } else {
                    "regressor"
                }
            ),
            "probability",
        ));
    }
    let n = n_outputs(&prediction, space);
    let index = match output {
        Some(index) => index,
        None if space == OutputSpace::Probability || n > 1 => prediction.value as usize,
        None => 0,
    };
    if index >= n {
        return Err(ExplainError::output_out_of_range(index, n));
    }
    Ok((space, index, prediction))
}

/// Refuses a model with a preprocessing stage where `method` is asked for through a type
/// bound to one model's features: such a model is explained through
/// [`Explainer`](crate::Explainer) (its estimator, then its input columns).
pub(crate) fn refuse_stage(model: &Model, method: &'static str) -> Result<()> {
    if model.preprocessing().is_some() {
        return Err(ExplainError::MethodDoesNotFit {
            method,
            model: "pipeline",
            hint: "use Explainer::new (or explain), which explains the estimator and sums into the input columns; or this type on model.estimator() with transformed rows",
        });
    }
    Ok(())
}
