//! Exact attributions at investigation time: the model file (checked against the model
//! record's SHA-256) applied to each decision's recorded inputs, with the method exact for
//! its family: TreeSHAP for trees and tree ensembles, LinearSHAP for linear models,
//! integrated gradients for MLPs. Each explains the output the decision chose, so its
//! values add up to that output.

use whyline_explain::{
    Background, Explainer, GradientSettings, LinearShapSettings, MethodSettings, TreeShapSettings,
};
use whyline_models::{Model, ModelKind};

use crate::inputs::{DecisionEvidence, ExactAttribution};

/// The method for `model` explaining `output` (`None`: the predicted class), with its
/// background; `Err` names why the family has no exact method here.
fn method(
    model: &Model,
    output: Option<usize>,
    reference: &[f32],
) -> Result<(MethodSettings, Option<Background>), String> {
    let n = reference.len();
    match model.kind() {
        ModelKind::DecisionTree(_)
        | ModelKind::RandomForest(_)
        | ModelKind::GradientBoosting(_) => Ok((
            MethodSettings::TreeShap(TreeShapSettings {
                output,
                interventional: false,
            }),
            None,
        )),
        ModelKind::Linear(_) => {
            let background =
                Background::from_flat(reference.to_vec(), n).map_err(|e| e.to_string())?;
            Ok((
                MethodSettings::LinearShap(LinearShapSettings {
                    output,
                    probability: false,
                }),
                Some(background),
            ))
        }
        ModelKind::Mlp(_) => Ok((
            MethodSettings::IntegratedGradients(GradientSettings {
                output,
                baseline: Some(reference.to_vec()),
                ..GradientSettings::default()
            }),
            None,
        )),
        ModelKind::Knn(_) => Err("KNN models have no exact attribution method".to_owned()),
        _ => Err("this model family has no exact attribution method".to_owned()),
    }
}

fn explain(
    model: &Model,
    row: &[f64],
    output: Option<usize>,
    reference: &[f32],
) -> Result<ExactAttribution, String> {
    let (settings, background) = method(model, output, reference)?;
    let explainer =
        Explainer::new(model, &settings, background.as_ref()).map_err(|e| e.to_string())?;
    let row: Vec<f32> = row.iter().map(|&v| v as f32).collect();
    let explanation = explainer.explain_row(&row).map_err(|e| e.to_string())?;
    let Some(attribution) = explanation.as_attribution() else {
        return Err(format!("{} is not an attribution", explanation.kind()));
    };
    let name = |i: usize| {
        attribution
            .feature_names
            .get(i)
            .cloned()
            .unwrap_or_else(|| format!("feature[{i}]"))
    };
    Ok(ExactAttribution {
        method: attribution.method.to_owned(),
        output: attribution
            .output
            .name
            .clone()
            .unwrap_or_else(|| format!("output {}", attribution.output.index)),
        values: attribution
            .values
            .iter()
            .enumerate()
            .map(|(i, &v)| (name(i), v))
            .collect(),
        base_value: attribution.base_value,
        prediction: attribution.prediction,
        residual: attribution.residual,
    })
}

/// Fills `evidence.attributions` (and `previous_toward` for each decision in `flips`,
/// given as `(key, previous key, new class)`) for the decisions in `keys` whose inputs are
/// readable. The reference point of LinearSHAP and integrated gradients is the training
/// mean when the model has one, else the window's mean input.
pub(crate) fn attribute(
    model: &Model,
    evidence: &mut DecisionEvidence,
    keys: &[u64],
    flips: &[(u64, u64, Option<usize>)],
) {
    let readable = |key: &u64| {
        evidence
            .inputs
            .get(key)
            .filter(|i| !i.erased && !i.values.is_empty())
            .map(|i| i.values.clone())
    };
    let rows: Vec<(u64, Vec<f64>)> = keys
        .iter()
        .filter_map(|k| readable(k).map(|r| (*k, r)))
        .collect();
    let Some(width) = rows.first().map(|(_, r)| r.len()) else {
        return;
    };
    let reference: Vec<f32> = match &evidence.training {
        Some((mean, _)) => mean.iter().map(|&v| v as f32).collect(),
        None => (0..width)
            .map(|j| {
                let sum: f64 = rows.iter().filter_map(|(_, r)| r.get(j)).sum();
                (sum / rows.len() as f64) as f32
            })
            .collect(),
    };
    let mut failure = None;
    for (key, row) in &rows {
        match explain(model, row, None, &reference) {
            Ok(attribution) => {
                evidence.attributions.insert(*key, attribution);
            }
            Err(reason) => {
                failure.get_or_insert(format!("decision {key}: {reason}"));
            }
        }
    }
    for &(key, previous, class) in flips {
        let (Some(row), Some(current)) = (readable(&previous), evidence.attributions.get(&key))
        else {
            continue;
        };
        // Explain the previous inputs toward the output this decision's attribution
        // explains: the new class where the model has an output per class, else its one
        // margin (a binary classifier's), which `None` explains whichever class won.
        let toward = [class, None].into_iter().find_map(|output| {
            explain(model, &row, output, &reference)
                .ok()
                .filter(|a| a.output == current.output)
        });
        match toward {
            Some(attribution) => {
                evidence.previous_toward.insert(key, attribution);
            }
            None => {
                failure.get_or_insert(format!(
                    "decision {previous}: no attribution toward {}",
                    current.output
                ));
            }
        }
    }
    if let Some(reason) = failure {
        evidence.attribution_note = Some(reason);
    }
}
