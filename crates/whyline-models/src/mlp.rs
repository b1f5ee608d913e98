//! Multilayer perceptrons (scikit-learn semantics): dense layers in f64 from the f64 row,
//! the input gradient by backpropagation, and the activations on request.

use whyline_core::{Explainable, NeuralPath};

use crate::decision_tree::Task;
use crate::info::{ModelInfo, Prediction, RowValue, argmax, sigmoid, softmax_in_place};

/// An activation function.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Activation {
    /// `x`.
    Identity,
    /// `max(0, x)`.
    Relu,
    /// `tanh(x)`.
    Tanh,
    /// `1 / (1 + e^-x)`.
    Logistic,
    /// Softmax over the layer (output layers only).
    Softmax,
}

impl Activation {
    fn apply(self, values: &mut [f64]) {
        match self {
            Activation::Identity => {}
            Activation::Relu => values.iter_mut().for_each(|v| *v = v.max(0.0)),
            Activation::Tanh => values.iter_mut().for_each(|v| *v = v.tanh()),
            Activation::Logistic => values.iter_mut().for_each(|v| *v = sigmoid(*v)),
            Activation::Softmax => softmax_in_place(values),
        }
    }

    /// The derivative at an element-wise activation's output `a` (not used for softmax).
    fn derivative_at_output(self, a: f64) -> f64 {
        match self {
            Activation::Identity | Activation::Softmax => 1.0,
            Activation::Relu => {
                if a > 0.0 {
                    1.0
                } else {
                    0.0
                }
            }
            Activation::Tanh => 1.0 - a * a,
            Activation::Logistic => a * (1.0 - a),
        }
    }
}

/// One dense layer: `out = in · W + b`.
#[derive(Clone, Debug, PartialEq)]
pub struct DenseLayer {
    /// Inputs of the layer.
    pub n_inputs: usize,
    /// Outputs of the layer.
    pub n_outputs: usize,
    /// Weights, `n_inputs × n_outputs`, row-major (scikit-learn's `coefs_[i]`).
    pub weights: Vec<f64>,
    /// Biases, one per output.
    pub bias: Vec<f64>,
}

/// A multilayer perceptron whose path is the input gradient (saliency).
///
/// The gradient is that of the explained output with respect to each input: the predicted
/// class's probability for a classifier, the value for a regressor.
#[derive(Clone, Debug, PartialEq)]
pub struct Mlp {
    /// The layers, input first.
    pub layers: Vec<DenseLayer>,
    /// Activation of the hidden layers.
    pub hidden: Activation,
    /// Activation of the output layer.
    pub output: Activation,
    /// Classifier or regressor.
    pub task: Task,
    /// Features per row.
    pub n_features: usize,
    /// Names, labels and training statistics.
    pub info: ModelInfo,
}

impl Mlp {
    /// Every layer's activations in f64, the input (widened to f64 when it is an f32 row)
    /// first and the output last.
    fn forward<T: RowValue>(&self, row: &[T]) -> Vec<Vec<f64>> {
        let mut activations = Vec::with_capacity(self.layers.len() + 1);
        activations.push(row.iter().map(|&x| x.into()).collect::<Vec<f64>>());
        let last = self.layers.len().saturating_sub(1);
        for (l, layer) in self.layers.iter().enumerate() {
            let input = activations.last().map(Vec::as_slice).unwrap_or(&[]);
            let mut out = layer.bias.clone();
            for (i, &x) in input.iter().enumerate() {
                let start = i * layer.n_outputs;
                let Some(weights) = layer.weights.get(start..start + layer.n_outputs) else {
                    break;
                };
                for (o, w) in out.iter_mut().zip(weights) {
                    *o += x * w;
                }
            }
            if l == last {
                self.output.apply(&mut out);
            } else {
                self.hidden.apply(&mut out);
            }
            activations.push(out);
        }
        activations
    }

    fn finish(&self, output: &[f64]) -> Prediction {
        let first = output.first().copied().unwrap_or(0.0);
        match (self.task, self.output) {
            (Task::Classification { .. }, Activation::Logistic) => Prediction {
                value: if first > 0.5 { 1.0 } else { 0.0 },
                probabilities: Some(vec![1.0 - first, first]),
                raw: output.to_vec(),
            },
            (Task::Classification { .. }, _) => Prediction {
                value: argmax(output) as f64,
                probabilities: Some(output.to_vec()),
                raw: output.to_vec(),
            },
            (Task::Regression, _) => Prediction {
                value: first,
                probabilities: None,
                raw: output.to_vec(),
            },
        }
    }

    /// Predicts one row in the library's terms (class probabilities for classifiers), in
    /// f64 from the f64 row as scikit-learn's `predict_proba` and `predict` compute them.
    pub fn predict(&self, row: &[f64]) -> crate::Result<Prediction> {
        self.info.check_finite(row, self.n_features)?;
        let activations = self.forward(row);
        Ok(self.finish(activations.last().map(Vec::as_slice).unwrap_or(&[])))
    }

    /// Explains one row, with every layer's activations (input excluded) in the path.
    pub fn explain_with_activations(
        &self,
        row: &[f32],
        path: &mut NeuralPath,
    ) -> whyline_core::Result<f32> {
        let output = self.explain_into(row, path)?;
        let activations = self.forward(row);
        path.activations = Some(
            activations
                .iter()
                .skip(1)
                .map(|layer| layer.iter().map(|&v| v as f32).collect())
                .collect(),
        );
        Ok(output)
    }

    /// The gradient of the explained output with respect to the input, by backpropagation.
    fn input_gradient(&self, activations: &[Vec<f64>], prediction: &Prediction) -> Vec<f64> {
        let out = activations.last().map(Vec::as_slice).unwrap_or(&[]);
        // d(explained output)/d(pre-activation of the output layer).
        let mut delta: Vec<f64> = match (self.task, self.output) {
            (Task::Classification { .. }, Activation::Softmax) => {
                let c = prediction.value as usize;
                let pc = out.get(c).copied().unwrap_or(0.0);
                out.iter()
                    .enumerate()
                    .map(|(j, &pj)| if j == c { pc * (1.0 - pc) } else { -pc * pj })
                    .collect()
            }
            (Task::Classification { .. }, Activation::Logistic) => {
                let p = out.first().copied().unwrap_or(0.0);
                let sign = if prediction.value > 0.5 { 1.0 } else { -1.0 };
                vec![sign * p * (1.0 - p)]
            }
            _ => out
                .iter()
                .map(|&a| self.output.derivative_at_output(a))
                .collect(),
        };
        for (l, layer) in self.layers.iter().enumerate().rev() {
            let mut previous = vec![0.0f64; layer.n_inputs];
            for (i, slot) in previous.iter_mut().enumerate() {
                let start = i * layer.n_outputs;
                if let Some(weights) = layer.weights.get(start..start + layer.n_outputs) {
                    *slot = weights.iter().zip(&delta).map(|(w, d)| w * d).sum();
                }
            }
            if l > 0
                && let Some(input) = activations.get(l)
            {
                {
                    for (g, &a) in previous.iter_mut().zip(input) {
                        *g *= self.hidden.derivative_at_output(a);
                    }
                }
            }
            delta = previous;
        }
        delta
    }
}

impl Explainable for Mlp {
    type Path = NeuralPath;

    fn n_features(&self) -> usize {
        self.n_features
    }

    fn predict_one(&self, row: &[f32]) -> whyline_core::Result<f32> {
        self.info.check_finite(row, self.n_features)?;
        let activations = self.forward(row);
        Ok(self
            .finish(activations.last().map(Vec::as_slice).unwrap_or(&[]))
            .value as f32)
    }

    fn explain_into(&self, row: &[f32], path: &mut NeuralPath) -> whyline_core::Result<f32> {
        self.info.check_finite(row, self.n_features)?;
        let activations = self.forward(row);
        let prediction = self.finish(activations.last().map(Vec::as_slice).unwrap_or(&[]));
        let gradient = self.input_gradient(&activations, &prediction);
        path.input_gradient.clear();
        path.input_gradient
            .extend(gradient.iter().map(|&g| g as f32));
        path.activations = None;
        path.attention_weights = None;
        path.integrated_gradients = None;
        path.probability = prediction
            .probabilities
            .as_ref()
            .and_then(|p| p.get(prediction.value as usize))
            .map(|&p| p as f32);
        Ok(prediction.value as f32)
    }
}
