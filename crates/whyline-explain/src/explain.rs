//! [`explain`]: one entry point from a loaded [`Model`], a row and [`MethodSettings`] to an
//! [`Attribution`], for the CLI and the server.

use whyline_models::Model;

use crate::attribution::Attribution;
use crate::background::Background;
use crate::error::{ExplainError, Result};
use crate::gradients::integrated_gradients;
use crate::kernel_shap::kernel_shap;
use crate::lime::lime;
use crate::linear_shap::LinearShap;
use crate::settings::MethodSettings;
use crate::tree_shap::TreeShap;

/// Explains `row` with the method `settings` names.
///
/// `background` is the reference set of the methods that take expectations: LinearSHAP
/// falls back to the model's training means without one; KernelSHAP needs one (or the
/// training means, as a single row, when the model file carries them); LIME needs one
/// (the training data or a sample of it) for its discretiser.
pub fn explain(
    model: &Model,
    row: &[f32],
    settings: &MethodSettings,
    background: Option<&Background>,
) -> Result<Attribution> {
    match settings {
        MethodSettings::TreeShap(s) if s.interventional => {
            let background = background.ok_or(ExplainError::EmptyBackground)?;
            TreeShap::new(model)?.explain_interventional(row, background, s.output)
        }
        MethodSettings::TreeShap(s) => TreeShap::new(model)?.explain(row, s.output),
        MethodSettings::LinearShap(s) => LinearShap::new(model, background)?.explain(row, s),
        MethodSettings::IntegratedGradients(s) => integrated_gradients(model, row, s),
        MethodSettings::Saliency(s) => integrated_gradients(
            model,
            row,
            &crate::settings::GradientSettings {
                saliency: true,
                ..s.clone()
            },
        ),
        MethodSettings::Lime(s) => {
            let background = background.ok_or(ExplainError::BackgroundRequired {
                method: "lime",
                why: "its quartile discretiser and sampling statistics come from the training data",
            })?;
            lime(model, row, background, s)
        }
        MethodSettings::KernelShap(s) => match background {
            Some(background) => kernel_shap(model, row, background, s),
            None => {
                let means = training_means(model)?;
                kernel_shap(model, row, &means, s)
            }
        },
    }
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
