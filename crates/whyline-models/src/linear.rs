//! Linear and logistic regression (binary and multinomial), scikit-learn semantics: the
//! decision value `intercept + Σ coef[i] × x[i]` in f64, then the identity, the logistic
//! function or softmax.

use whyline_core::{Explainable, LinearPath};

use crate::info::{ModelInfo, Prediction, RowValue, argmax, sigmoid, softmax_in_place};
use crate::scratch;

/// The link of a linear model.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LinearLink {
    /// Regression: the decision value is the output.
    Identity,
    /// Binary classification: one decision value; class 1 when it is positive.
    Logistic,
    /// Multinomial classification: one decision value per class, softmax probabilities.
    Softmax,
    /// One-vs-rest classification with probabilities (`SGDClassifier(loss="log_loss")`
    /// with three or more classes): one decision value per class, each class's logistic
    /// divided by their sum.
    OvrLogistic,
    /// A classifier whose decision values are its only output, without probabilities
    /// (`LinearSVC`, `SGDClassifier(loss="hinge")`): one value for two classes (class 1
    /// when it is positive), else one per class (the largest wins).
    Margin,
}

/// A linear or logistic regression whose path is each feature's contribution
/// `coef[i] × x[i]`.
///
/// For a multinomial model the path explains the predicted class: that class's
/// contributions, intercept and decision value. Sums run in f64 in feature order, the
/// contributions in the path are rounded to f32 afterwards.
#[derive(Clone, Debug, PartialEq)]
pub struct LinearModel {
    /// Coefficients, `n_outputs × n_features`, row-major (one row per class for softmax).
    pub coefficients: Vec<f64>,
    /// One intercept per output.
    pub intercepts: Vec<f64>,
    /// Features per row.
    pub n_features: usize,
    /// The link.
    pub link: LinearLink,
    /// Names, labels and training statistics.
    pub info: ModelInfo,
}

impl LinearModel {
    /// Number of decision values (1, or the number of classes for softmax).
    pub fn n_outputs(&self) -> usize {
        self.intercepts.len()
    }

    /// The decision value of `output`: the row's values widened to f64 (exactly), the
    /// products summed in f64 in feature order after the intercept.
    fn decision<T: RowValue>(&self, output: usize, row: &[T]) -> f64 {
        let start = output * self.n_features;
        let coefficients = self
            .coefficients
            .get(start..start + self.n_features)
            .unwrap_or(&[]);
        let mut sum = self.intercepts.get(output).copied().unwrap_or(0.0);
        for (c, &x) in coefficients.iter().zip(row) {
            sum += c * x.into();
        }
        sum
    }

    /// The decision value of `output`, writing each term `coef[i] × x[i]` (rounded to f32)
    /// into the path's contributions in the same pass; the sum is the one
    /// [`decision`](LinearModel::decision) computes, term for term.
    fn decision_into(&self, output: usize, row: &[f32], path: &mut LinearPath) -> f64 {
        let start = output * self.n_features;
        let coefficients = self
            .coefficients
            .get(start..start + self.n_features)
            .unwrap_or(&[]);
        path.contributions.clear();
        path.contributions
            .resize(coefficients.len().min(row.len()), 0.0);
        let mut sum = self.intercepts.get(output).copied().unwrap_or(0.0);
        for ((slot, c), &x) in path.contributions.iter_mut().zip(coefficients).zip(row) {
            let term = c * f64::from(x);
            sum += term;
            *slot = term as f32;
        }
        sum
    }

    /// Predicts one row in the library's terms: decision values, probabilities and the
    /// prediction (the class index for classifiers), computed in f64 from the f64 row as
    /// scikit-learn's `decision_function` and `predict_proba` compute them.
    pub fn predict(&self, row: &[f64]) -> crate::Result<Prediction> {
        self.info.check_finite(row, self.n_features)?;
        let raw: Vec<f64> = (0..self.n_outputs())
            .map(|k| self.decision(k, row))
            .collect();
        let first = raw.first().copied().unwrap_or(0.0);
        Ok(match self.link {
            LinearLink::Identity => Prediction {
                value: first,
                probabilities: None,
                raw,
            },
            LinearLink::Logistic => {
                let p = sigmoid(first);
                Prediction {
                    value: if first > 0.0 { 1.0 } else { 0.0 },
                    probabilities: Some(vec![1.0 - p, p]),
                    raw,
                }
            }
            LinearLink::Softmax => {
                let mut probabilities = raw.clone();
                softmax_in_place(&mut probabilities);
                Prediction {
                    value: argmax(&raw) as f64,
                    probabilities: Some(probabilities),
                    raw,
                }
            }
            LinearLink::OvrLogistic => Prediction {
                value: argmax(&raw) as f64,
                probabilities: Some(ovr_probabilities(&raw)),
                raw,
            },
            LinearLink::Margin => Prediction {
                value: self.margin_class(&raw) as f64,
                probabilities: None,
                raw,
            },
        })
    }

    /// The class a margin classifier predicts: class 1 when its one decision value is
    /// positive, else the class with the largest value.
    fn margin_class(&self, raw: &[f64]) -> usize {
        match raw {
            [one] => usize::from(*one > 0.0),
            _ => argmax(raw),
        }
    }
}

/// scikit-learn's one-vs-rest probabilities: each class's logistic, divided by their sum.
fn ovr_probabilities(raw: &[f64]) -> Vec<f64> {
    let mut p = raw.to_vec();
    ovr_in_place(&mut p);
    p
}

/// [`ovr_probabilities`] in place: each class's sigmoid, divided by their sum.
fn ovr_in_place(values: &mut [f64]) {
    for v in values.iter_mut() {
        *v = sigmoid(*v);
    }
    let total: f64 = values.iter().sum();
    if total > 0.0 {
        for v in values.iter_mut() {
            *v /= total;
        }
    }
}

impl Explainable for LinearModel {
    type Path = LinearPath;

    fn n_features(&self) -> usize {
        self.n_features
    }

    fn predict_one(&self, row: &[f32]) -> whyline_core::Result<f32> {
        self.info.check_finite(row, self.n_features)?;
        Ok(match self.link {
            LinearLink::Identity => self.decision(0, row) as f32,
            LinearLink::Logistic => f32::from(u8::from(self.decision(0, row) > 0.0)),
            // The scores on the stack (`scratch`): a decision allocates nothing.
            LinearLink::Softmax | LinearLink::OvrLogistic | LinearLink::Margin => {
                scratch::with_sums(self.n_outputs(), 0.0, |scores| {
                    for (k, score) in scores.iter_mut().enumerate() {
                        *score = self.decision(k, row);
                    }
                    match self.link {
                        LinearLink::Margin => self.margin_class(scores) as f32,
                        _ => argmax(scores) as f32,
                    }
                })
            }
        })
    }

    fn explain_into(&self, row: &[f32], path: &mut LinearPath) -> whyline_core::Result<f32> {
        self.info.check_finite(row, self.n_features)?;
        let (class, logit, probability) = match self.link {
            LinearLink::Identity => (0, self.decision_into(0, row, path), None),
            LinearLink::Logistic => {
                let logit = self.decision_into(0, row, path);
                let p = sigmoid(logit);
                if logit > 0.0 {
                    (0, logit, Some((1, p)))
                } else {
                    (0, logit, Some((0, 1.0 - p)))
                }
            }
            // The classes' scores on the stack (`scratch`): a decision allocates nothing.
            LinearLink::Softmax => scratch::with_sums(self.n_outputs(), 0.0, |scores| {
                for (k, score) in scores.iter_mut().enumerate() {
                    *score = self.decision(k, row);
                }
                let class = argmax(scores);
                let logit = scores.get(class).copied().unwrap_or(0.0);
                softmax_in_place(scores);
                let p = scores.get(class).copied().unwrap_or(0.0);
                self.decision_into(class, row, path);
                (class, logit, Some((class, p)))
            }),
            LinearLink::OvrLogistic | LinearLink::Margin => {
                let (predicted, probability) =
                    scratch::with_sums(self.n_outputs(), 0.0, |scores| {
                        for (k, score) in scores.iter_mut().enumerate() {
                            *score = self.decision(k, row);
                        }
                        let predicted = self.margin_class(scores);
                        let probability = match self.link {
                            LinearLink::OvrLogistic => {
                                ovr_in_place(scores);
                                scores.get(predicted).copied().map(|p| (predicted, p))
                            }
                            _ => None,
                        };
                        (predicted, probability)
                    });
                // The explained decision value: the predicted class's, or the one value
                // of a binary margin classifier.
                let explained = if self.n_outputs() == 1 { 0 } else { predicted };
                let logit = self.decision_into(explained, row, path);
                path.intercept = self.intercepts.get(explained).copied().unwrap_or(0.0) as f32;
                path.logit = logit as f32;
                path.prediction = predicted as f32;
                path.probability = probability.map(|(_, p)| p as f32);
                return Ok(predicted as f32);
            }
        };
        path.intercept = self.intercepts.get(class).copied().unwrap_or(0.0) as f32;
        path.logit = logit as f32;
        let output = match probability {
            None => logit as f32,
            Some((predicted, _)) => predicted as f32,
        };
        path.prediction = output;
        path.probability = probability.map(|(_, p)| p as f32);
        Ok(output)
    }
}
