//! `Model`: a model loaded from its bytes (never a file), its predictions in the library's
//! terms, and the explanations computed on it with the GIL released.

use std::sync::{Arc, OnceLock};

use numpy::{
    IntoPyArray, PyArray1, PyArray2, PyArray3, PyArrayMethods, PyReadonlyArray2,
    PyUntypedArrayMethods,
};
use pyo3::prelude::*;
use whyline::Explainable;
use whyline::explain::{Background, Explainer, Explanation, MethodSettings};
use whyline::models::{Model, Prediction};

use crate::errors::{self, Kind};
use crate::rows::Rows;
use crate::tree::{Reply, TreeWorker};

/// A model in whyline's native form, loaded from the bytes of a model file: whyline's JSON
/// (the exporter's document), XGBoost's JSON (`Booster.save_raw("json")`), LightGBM's text
/// (`Booster.model_to_string()`) or an aprender `.apr` container.
#[pyclass(module = "whyline._native", frozen)]
pub struct NativeModel {
    pub(crate) model: Arc<Model>,
    /// The TreeSHAP worker, started at the first TreeSHAP call.
    tree_worker: OnceLock<TreeWorker>,
}

impl NativeModel {
    fn tree_worker(&self) -> PyResult<&TreeWorker> {
        if let Some(worker) = self.tree_worker.get() {
            return Ok(worker);
        }
        let worker = TreeWorker::start(Arc::clone(&self.model)).map_err(|e| {
            errors::raise(Kind::Explain, format!("starting the TreeSHAP worker: {e}"))
        })?;
        // Two first calls at once: one worker is kept, the other's channel closes and it ends.
        Ok(self.tree_worker.get_or_init(|| worker))
    }
}

/// SHAP values shaped `(rows, features, outputs)` and the base values.
type ShapValues<'py> = (Bound<'py, PyArray3<f64>>, Bound<'py, PyArray1<f64>>);

/// Predictions of many rows: the value (or class index), the probabilities, the raw
/// outputs, as numpy arrays.
pub(crate) type Predictions<'py> = (
    Bound<'py, PyArray1<f64>>,
    Option<Bound<'py, PyArray2<f64>>>,
    Bound<'py, PyArray2<f64>>,
);

#[pymethods]
impl NativeModel {
    /// Loads a model from `data` (the bytes of a model file); `source` names it in errors.
    #[new]
    fn new(data: &[u8], source: &str) -> PyResult<Self> {
        let model = Model::from_bytes(data, source).map_err(|e| errors::from_model(&e))?;
        Ok(NativeModel {
            model: Arc::new(model),
            tree_worker: OnceLock::new(),
        })
    }

    /// Features the model takes: its input columns when it has a preprocessing stage.
    #[getter]
    fn n_features(&self) -> usize {
        self.model.n_features()
    }

    /// Features the estimator reads (after the preprocessing stage, when there is one).
    #[getter]
    fn n_estimator_features(&self) -> usize {
        self.model.estimator().n_features()
    }

    /// The input column each estimator feature comes from (`None` without a
    /// preprocessing stage): attributions of the estimator's features add into them.
    #[getter]
    fn feature_inputs(&self) -> Option<Vec<usize>> {
        self.model
            .preprocessing()
            .map(|stage| stage.feature_inputs().collect())
    }

    /// The estimator's features of every input row of `rows` (float64, C order; a
    /// categorical column holds its category's index), computed as scikit-learn's
    /// `transform` computes them: `(rows, estimator features)`, float64. The rows
    /// themselves for a model without a preprocessing stage.
    fn transform<'py>(
        &self,
        py: Python<'py>,
        rows: PyReadonlyArray2<'py, f64>,
    ) -> PyResult<Bound<'py, PyArray2<f64>>> {
        let rows = Rows::f64(&rows, self.model.n_features())?;
        let width = self.model.estimator().n_features();
        let n_rows = rows.n_rows;
        let features = py
            .detach(|| -> whyline::models::Result<Vec<f64>> {
                let mut out = Vec::with_capacity(n_rows * width);
                for row in rows.iter() {
                    out.extend(self.model.transform_row(row)?);
                }
                Ok(out)
            })
            .map_err(|e| errors::from_model(&e))?;
        features.into_pyarray(py).reshape([n_rows, width])
    }

    /// Feature names, when the model file has them.
    #[getter]
    fn feature_names(&self) -> Vec<String> {
        self.model.info().names.features.clone()
    }

    /// Class names of a classifier (empty otherwise).
    #[getter]
    fn class_names(&self) -> Vec<String> {
        self.model.info().names.classes.clone()
    }

    /// The declared model type (`random_forest`, `xgboost:binary:logistic`, ...).
    #[getter]
    fn model_type(&self) -> String {
        self.model
            .identity()
            .map(|id| id.model_type.clone())
            .unwrap_or_default()
    }

    /// The library that trained it, with its version when known.
    #[getter]
    fn producer(&self) -> String {
        self.model.producer().to_owned()
    }

    /// SHA-256 of the model bytes, hex.
    #[getter]
    fn sha256(&self) -> String {
        self.model
            .identity()
            .map(|id| id.sha256.clone())
            .unwrap_or_default()
    }

    /// Predicts every row of `rows` (float64, C order) in the library's terms: the value
    /// (the class index for a classifier), the probabilities (classifiers, else `None`) and
    /// the raw outputs (margins, decision values).
    fn predict<'py>(
        &self,
        py: Python<'py>,
        rows: PyReadonlyArray2<'py, f64>,
    ) -> PyResult<Predictions<'py>> {
        let rows = Rows::f64(&rows, self.model.n_features())?;
        let predictions = py
            .detach(|| {
                rows.iter()
                    .map(|row| self.model.predict(row))
                    .collect::<Result<Vec<Prediction>, _>>()
            })
            .map_err(|e| errors::from_model(&e))?;
        Ok(predictions_to_arrays(py, &predictions))
    }

    /// Path-dependent TreeSHAP of every row of `rows` (float32, C order) and every output,
    /// on `jobs` threads: values shaped `(rows, features, outputs)` and the base values
    /// (one per output). The trees are compiled once, at the first call. For a model with
    /// a preprocessing stage, the rows and values are the estimator's features
    /// ([`transform`](NativeModel::transform) makes them).
    fn tree_shap<'py>(
        &self,
        py: Python<'py>,
        rows: PyReadonlyArray2<'py, f32>,
        jobs: usize,
    ) -> PyResult<ShapValues<'py>> {
        let rows = Rows::f32(&rows, self.model.estimator().n_features())?;
        let (n_rows, width, values) = (rows.n_rows, rows.width, rows.values.to_vec());
        let reply = py.detach(|| -> PyResult<Reply> {
            Ok(self.tree_worker()?.run(values, width, None, jobs))
        })?;
        let (values, base, n_outputs) =
            reply.map_err(|(kind, message)| errors::raise(kind, message))?;
        shaped(py, values, [n_rows, width, n_outputs], base)
    }

    /// Interventional TreeSHAP over `background` (float32, C order): values shaped `(rows,
    /// features, outputs)` and the base values (the mean output over the background). Rows
    /// and background are the estimator's features, as for [`tree_shap`](NativeModel::tree_shap).
    fn tree_shap_interventional<'py>(
        &self,
        py: Python<'py>,
        rows: PyReadonlyArray2<'py, f32>,
        background: PyReadonlyArray2<'py, f32>,
        jobs: usize,
    ) -> PyResult<ShapValues<'py>> {
        let rows = Rows::f32(&rows, self.model.estimator().n_features())?;
        let background = background_of(&background)?;
        let (n_rows, width, values) = (rows.n_rows, rows.width, rows.values.to_vec());
        let reply = py.detach(|| -> PyResult<Reply> {
            Ok(self
                .tree_worker()?
                .run(values, width, Some(background), jobs))
        })?;
        let (values, base, n_outputs) =
            reply.map_err(|(kind, message)| errors::raise(kind, message))?;
        shaped(py, values, [n_rows, width, n_outputs], base)
    }

    /// Explains every row of `rows` (float32, C order) with the method `settings` names (a
    /// JSON object, `{"method": "kernel-shap", "seed": 0, ...}`), over `background` when
    /// given, on `jobs` threads: one JSON document per row, as `whyline explain --format
    /// json` writes them.
    #[pyo3(signature = (rows, settings, background=None, jobs=1))]
    fn explain<'py>(
        &self,
        py: Python<'py>,
        rows: PyReadonlyArray2<'py, f32>,
        settings: &str,
        background: Option<PyReadonlyArray2<'py, f32>>,
        jobs: usize,
    ) -> PyResult<Vec<String>> {
        let settings: MethodSettings = serde_json::from_str(settings)
            .map_err(|e| errors::raise(Kind::Explain, format!("explanation settings: {e}")))?;
        let rows = Rows::f32(&rows, self.model.n_features())?;
        let background = background.as_ref().map(background_of).transpose()?;
        py.detach(|| -> whyline::explain::Result<Vec<String>> {
            let explainer = Explainer::new(&self.model, &settings, background.as_ref())?;
            explainer
                .explain_rows(rows.values, jobs)
                .into_iter()
                .map(|explanation| explanation.map(|e: Explanation| e.to_json().to_string()))
                .collect()
        })
        .map_err(|e| errors::from_explain(&e))
    }
}

/// The background set from a float32 array.
fn background_of(array: &PyReadonlyArray2<'_, f32>) -> PyResult<Background> {
    let width = array.shape().get(1).copied().unwrap_or(0);
    let values = array
        .as_slice()
        .map_err(|_| errors::raise(Kind::Input, "background: not a C-contiguous array".into()))?;
    Background::from_flat(values.to_vec(), width).map_err(|e| errors::from_explain(&e))
}

/// Values as a `(rows, features, outputs)` array and base values as a vector.
fn shaped<'py>(
    py: Python<'py>,
    values: Vec<f64>,
    shape: [usize; 3],
    base: Vec<f64>,
) -> PyResult<ShapValues<'py>> {
    let values = values.into_pyarray(py).reshape(shape)?;
    Ok((values, base.into_pyarray(py)))
}

/// Predictions as arrays: values, probabilities (when every row has them), raw outputs.
pub(crate) fn predictions_to_arrays<'py>(
    py: Python<'py>,
    predictions: &[Prediction],
) -> Predictions<'py> {
    let values: Vec<f64> = predictions.iter().map(|p| p.value).collect();
    let n = predictions.len();
    let n_classes = predictions
        .first()
        .and_then(|p| p.probabilities.as_ref())
        .map_or(0, Vec::len);
    let probabilities = (n_classes > 0).then(|| {
        let flat: Vec<f64> = predictions
            .iter()
            .flat_map(|p| {
                let mut row = p.probabilities.clone().unwrap_or_default();
                row.resize(n_classes, f64::NAN);
                row
            })
            .collect();
        flat.into_pyarray(py).reshape([n, n_classes])
    });
    let n_raw = predictions.first().map_or(0, |p| p.raw.len());
    let raw: Vec<f64> = predictions
        .iter()
        .flat_map(|p| {
            let mut row = p.raw.clone();
            row.resize(n_raw, f64::NAN);
            row
        })
        .collect();
    let raw_array = raw.into_pyarray(py);
    let raw = match raw_array.reshape([n, n_raw]) {
        Ok(array) => array,
        Err(_) => PyArray2::zeros(py, [n, 0], false),
    };
    let probabilities = probabilities.and_then(Result::ok);
    (values.into_pyarray(py), probabilities, raw)
}
