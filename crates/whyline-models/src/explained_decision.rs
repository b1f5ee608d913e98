//! A model's decision on one row, explained by the model itself: its prediction in the
//! library's terms, its decision path, and the features that weigh most on that path
//! (attribution methods such as TreeSHAP are `whyline_explain`'s `Explanation`). One type, so that every
//! front end (the `whyline explain` command, the Python package, the server) prints the
//! same record.
//!
//! The JSON record ([`ExplainedDecision::to_json`]) is one object with `"type": "explanation"`:
//! `row`, `prediction` (value or class index), `label` (the class label when it is a
//! number), `class_name` (the class's name when the model names its classes), `probabilities`, `raw`, `top_features` (`[{index, name, value}]`), `model` (its
//! identity) and `path` (the decision path's JSON view).

use serde_json::{Value, json};
use whyline_core::{AnyPath, DecisionPath, Explainable, Names};

use crate::{Model, ModelError, Prediction};

/// One row decided and explained by the model itself ([`Model::explain_row`]).
#[derive(Clone, Debug, PartialEq)]
pub struct ExplainedDecision {
    /// The output the decision path explains (as recorded in a trace).
    pub output: f32,
    /// The prediction in the library's terms: value or class, probabilities, raw outputs.
    pub prediction: Prediction,
    /// How the model decided.
    pub path: AnyPath,
}

/// One feature's weight on a decision path.
#[derive(Clone, Debug, PartialEq)]
pub struct FeatureAttribution {
    /// Feature index.
    pub index: usize,
    /// Feature name, when the model has one.
    pub name: Option<String>,
    /// Contribution, importance or gradient, as the path carries it.
    pub value: f32,
}

impl Model {
    /// Explains one row: the prediction and the decision path. The row is given as read
    /// (`f64`, as [`Rows`](crate::Rows) returns it); the path is computed on its `f32`
    /// rounding, as traces record it.
    pub fn explain_row(&self, row: &[f64]) -> Result<ExplainedDecision, ModelError> {
        #[allow(clippy::cast_possible_truncation)] // paths are computed in f32
        let row32: Vec<f32> = row.iter().map(|&x| x as f32).collect();
        let (output, path) = self.explain_one(&row32)?;
        let prediction = self.predict(row)?;
        Ok(ExplainedDecision {
            output,
            prediction,
            path,
        })
    }
}

impl ExplainedDecision {
    /// The predicted class's label when the model is a classifier with numeric labels
    /// (`classes_` in scikit-learn).
    pub fn label(&self, model: &Model) -> Option<f64> {
        self.prediction.probabilities.as_ref()?;
        let class = self.prediction.value;
        if !(class >= 0.0 && class.fract() == 0.0) {
            return None;
        }
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)] // checked above
        model.info().class_values.get(class as usize).copied()
    }

    /// The predicted class's name when the model is a classifier that names its classes
    /// (`"approve"`, `"EMERGENCY_BRAKE"`): what `label` cannot say for string classes.
    pub fn class_name<'m>(&self, model: &'m Model) -> Option<&'m str> {
        self.prediction.probabilities.as_ref()?;
        let class = self.prediction.value;
        if !(class >= 0.0 && class.fract() == 0.0) {
            return None;
        }
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)] // checked above
        model
            .info()
            .names
            .classes
            .get(class as usize)
            .map(String::as_str)
    }

    /// The `k` features with the largest absolute attribution on the path, largest first
    /// (ties by index); empty when the path carries no attribution.
    pub fn top_features(&self, names: &Names, k: usize) -> Vec<FeatureAttribution> {
        top_features(&self.path, names, k)
    }

    /// The JSON record of row `row` (0-based), with the `top` heaviest features.
    pub fn to_json(&self, model: &Model, row: usize, top: usize) -> serde_json::Result<Value> {
        let top_features: Vec<Value> = self
            .top_features(&model.info().names, top)
            .into_iter()
            .map(|f| json!({ "index": f.index, "name": f.name, "value": f.value }))
            .collect();
        Ok(json!({
            "type": "explanation",
            "row": row,
            "prediction": self.prediction.value,
            "label": self.label(model),
            "class_name": self.class_name(model),
            "probabilities": self.prediction.probabilities,
            "raw": self.prediction.raw,
            "top_features": top_features,
            "model": model.identity(),
            "path": serde_json::to_value(&self.path)?,
        }))
    }
}

/// The `k` features with the largest absolute attribution on `path`, largest first (ties
/// by index).
pub fn top_features(path: &impl DecisionPath, names: &Names, k: usize) -> Vec<FeatureAttribution> {
    let values = path.feature_contributions();
    let mut order: Vec<(usize, f32)> = values.iter().copied().enumerate().collect();
    order.sort_by(|(a, x), (b, y)| y.abs().total_cmp(&x.abs()).then(a.cmp(b)));
    order
        .into_iter()
        .take(k)
        .map(|(index, value)| FeatureAttribution {
            index,
            name: names.features.get(index).cloned(),
            value,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    /// The logistic model of the crate's example: 0.25 − 0.5·age + 2·income.
    fn credit() -> Model {
        let text = r#"{"format":"whyline-model","format_version":1,
          "model_type":"logistic_regression","task":"classification","n_features":2,
          "feature_names":["age","income"],"class_names":["deny","approve"],
          "class_values":[0,1],
          "model":{"link":"logistic","n_outputs":1,"coef":[-0.5,2.0],"intercept":[0.25]}}"#;
        Model::from_bytes(text.as_bytes(), "credit.json").unwrap()
    }

    #[test]
    fn the_explanation_holds_the_prediction_the_path_and_the_heaviest_features() {
        let model = credit();
        let explanation = model.explain_row(&[1.0, 0.5]).unwrap();
        assert_eq!(explanation.output, 1.0);
        assert_eq!(explanation.prediction, model.predict(&[1.0, 0.5]).unwrap());
        assert_eq!(explanation.label(&model), Some(1.0));
        assert_eq!(explanation.class_name(&model), Some("approve"));
        let top = explanation.top_features(&model.info().names, 1);
        assert_eq!(
            top,
            vec![FeatureAttribution {
                index: 1,
                name: Some("income".to_owned()),
                value: 1.0,
            }]
        );
        let json = explanation.to_json(&model, 3, 5).unwrap();
        assert_eq!(json["type"], "explanation");
        assert_eq!(json["row"], 3);
        assert_eq!(json["class_name"], "approve");
        assert_eq!(json["top_features"][1]["name"], "age");
        assert_eq!(json["top_features"][1]["value"], -0.5);
        assert_eq!(json["path"]["type"], "LinearPath");
    }
}
