//! `Monitor`: a model wrapped in an [`InferenceMonitor`] built from a safety profile by the
//! facade's [`Recorder`]: every row's decision, path and alerts go where the profile says.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use numpy::PyReadonlyArray2;
use pyo3::prelude::*;
use whyline::models::{Model, Prediction};
use whyline::monitor::CallbackSink;
use whyline::{
    AnyPath, InferenceMonitor, MonitorSettings, Recorder, RecorderCollector, SafetyIntegrityLevel,
    SigningChoice, training_statistics,
};

use crate::errors::{self, Kind};
use crate::model::{NativeModel, Predictions, predictions_to_arrays};
use crate::rows::Rows;

/// Where a key is made when the profile signs and no key is given: under the ledger's
/// `keys` folder.
const DEFAULT_KEY_FILE: &str = "keys/ledger.key";

type Monitored = InferenceMonitor<Model, RecorderCollector<AnyPath>>;

/// A model recording every decision through the collector its profile names.
#[pyclass(module = "whyline._native")]
pub struct NativeMonitor {
    monitor: Option<Monitored>,
    alerts: Arc<Mutex<Vec<String>>>,
    key_files: Option<(PathBuf, PathBuf)>,
    created: Vec<PathBuf>,
    collector: String,
}

/// The settings a profile names: a level (`qm`, `sil1` … `sil4`, any case) or a TOML file.
fn settings_of(profile: &str) -> PyResult<MonitorSettings> {
    let level = match profile.to_ascii_lowercase().as_str() {
        "qm" => Some(SafetyIntegrityLevel::QM),
        "sil1" => Some(SafetyIntegrityLevel::SIL1),
        "sil2" => Some(SafetyIntegrityLevel::SIL2),
        "sil3" => Some(SafetyIntegrityLevel::SIL3),
        "sil4" => Some(SafetyIntegrityLevel::SIL4),
        _ => None,
    };
    match level {
        Some(level) => Ok(level.defaults()),
        None => MonitorSettings::from_file(profile).map_err(|e| errors::from_monitor(&e)),
    }
}

impl NativeMonitor {
    fn open(&mut self) -> PyResult<&mut Monitored> {
        self.monitor
            .as_mut()
            .ok_or_else(|| errors::raise(Kind::Closed, "the monitor is closed".into()))
    }
}

#[pymethods]
impl NativeMonitor {
    /// Builds what `profile` names in `ledger` (created if missing) and wraps `model`; the
    /// model record is written first. `signing_key` is the checkpoint key file (read, or
    /// made there); without one a signing profile makes `keys/ledger.key` under `ledger`.
    #[new]
    #[pyo3(signature = (model, ledger, profile="sil3", signing_key=None))]
    fn new(
        py: Python<'_>,
        model: &NativeModel,
        ledger: PathBuf,
        profile: &str,
        signing_key: Option<PathBuf>,
    ) -> PyResult<Self> {
        let mut settings = settings_of(profile)?;
        if settings.signing != SigningChoice::None {
            match signing_key {
                Some(key) => settings.key_file = Some(key),
                None if settings.key_file.is_none() => {
                    settings.key_file = Some(PathBuf::from(DEFAULT_KEY_FILE));
                }
                None => {}
            }
        }
        let model = Model::clone(&model.model);
        let alerts = Arc::new(Mutex::new(Vec::new()));
        let sink_alerts = Arc::clone(&alerts);
        let built = py.detach(|| -> whyline::Result<_> {
            let mut recorder: Recorder = Recorder::from_settings(&settings, &ledger)?;
            if let Some(stats) = training_statistics(model.info())? {
                recorder.andon_mut().set_training_statistics(stats);
            }
            recorder
                .andon_mut()
                .add_sink(CallbackSink::new(move |alert| {
                    let json = serde_json::to_string(alert).unwrap_or_default();
                    if let Ok(mut alerts) = sink_alerts.lock() {
                        alerts.push(json);
                    }
                }));
            let key_files = recorder
                .signing_key_files()
                .map(|(secret, public)| (secret.to_owned(), public.to_owned()));
            let created = recorder.created_files().to_vec();
            let collector = format!("{:?}", recorder.collector().kind()).to_ascii_lowercase();
            Ok((recorder.monitor(model)?, key_files, created, collector))
        });
        let (monitor, key_files, created, collector) =
            built.map_err(|e| errors::from_facade(&e))?;
        Ok(NativeMonitor {
            monitor: Some(monitor),
            alerts,
            key_files,
            created,
            collector,
        })
    }

    /// Decides every row: `rows32` (float32, what the decision path and the record read)
    /// and `rows64` (float64, the same rows, what the library's own prediction reads).
    /// Records each decision, then returns the predictions in the library's terms (value or
    /// class index, probabilities, raw outputs).
    fn predict<'py>(
        &mut self,
        py: Python<'py>,
        rows32: PyReadonlyArray2<'py, f32>,
        rows64: PyReadonlyArray2<'py, f64>,
    ) -> PyResult<Predictions<'py>> {
        let monitor = self.open()?;
        let n_features = whyline::Explainable::n_features(monitor.model());
        let rows32 = Rows::f32(&rows32, n_features)?;
        let rows64 = Rows::f64(&rows64, n_features)?;
        let predictions = py.detach(|| -> PyResult<Vec<Prediction>> {
            let mut out = Vec::with_capacity(rows32.n_rows);
            for (row32, row64) in rows32.iter().zip(rows64.iter()) {
                monitor
                    .predict_one(row32)
                    .map_err(|e| errors::from_monitor(&e))?;
                out.push(
                    monitor
                        .model()
                        .predict(row64)
                        .map_err(|e| errors::from_model(&e))?,
                );
            }
            Ok(out)
        })?;
        Ok(predictions_to_arrays(py, &predictions))
    }

    /// The alerts raised since the last call, as JSON objects (level, rule and its values,
    /// sequence, timestamp).
    fn take_alerts(&self) -> Vec<String> {
        self.alerts
            .lock()
            .map(|mut alerts| std::mem::take(&mut *alerts))
            .unwrap_or_default()
    }

    /// Makes everything recorded so far as durable as the profile promises.
    fn flush(&mut self, py: Python<'_>) -> PyResult<()> {
        let monitor = self.open()?;
        py.detach(|| monitor.flush())
            .map_err(|e| errors::from_monitor(&e))
    }

    /// Flushes and closes the collector (the ledger's files); later calls raise
    /// `MonitorClosedError`. Closing twice does nothing.
    fn close(&mut self, py: Python<'_>) -> PyResult<()> {
        let Some(monitor) = self.monitor.take() else {
            return Ok(());
        };
        py.detach(move || {
            let flushed = monitor.flush();
            drop(monitor);
            flushed
        })
        .map_err(|e| errors::from_monitor(&e))
    }

    /// Whether [`close`] was called.
    #[getter]
    fn closed(&self) -> bool {
        self.monitor.is_none()
    }

    /// The next decision's sequence number.
    #[getter]
    fn next_sequence(&mut self) -> PyResult<u64> {
        Ok(self.open()?.next_sequence())
    }

    /// The checkpoint signing key file and its public key file, when the ledger signs.
    #[getter]
    fn key_files(&self) -> Option<(PathBuf, PathBuf)> {
        self.key_files.clone()
    }

    /// Key files made because the profile asked for keys that did not exist.
    #[getter]
    fn created_files(&self) -> Vec<PathBuf> {
        self.created.clone()
    }

    /// The collector the profile chose: `ring`, `stream` or `ledger`.
    #[getter]
    fn collector(&self) -> String {
        self.collector.clone()
    }
}
