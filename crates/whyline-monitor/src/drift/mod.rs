//! Concept-drift detectors over a stream of errors or values.
//!
//! A drift detector watches one number per decision (a 0/1 error flag, a confidence, a residual)
//! and says when the stream no longer looks like it did. Andon's drift rule feeds a detector and
//! raises an alert naming it.
//!
//! # Overview
//!
//! Every detector implements [`DriftDetector`]: [`update`](DriftDetector::update) takes one
//! observation and returns a [`DriftStatus`] (`Stable`, `Warning` or `Drift`);
//! [`reset`](DriftDetector::reset) forgets everything; [`name`](DriftDetector::name) names the
//! detector in alerts. Each detector has a plain `serde` config struct whose `Default` is
//! `river`'s default, validated once by the detector's `new`; [`DriftDetectorConfig`] picks one
//! of them by a `kind` tag, for configuration files.
//!
//! | detector | input | signals | paper |
//! |---|---|---|---|
//! | [`Ddm`] | 0/1 error stream | warning, drift | Gama, Medas, Castillo, Rodrigues, *Learning with Drift Detection*, SBIA 2004 |
//! | [`Eddm`] | 0/1 error stream | warning, drift | Baena-García, del Campo-Ávila, Fidalgo, Bifet, Gavaldà, Morales-Bueno, *Early Drift Detection Method*, 2006 |
//! | [`Adwin`] | any real values | drift | Bifet, Gavaldà, *Learning from Time-Changing Data with Adaptive Windowing*, SDM 2007 (ADWIN2) |
//! | [`PageHinkley`] | any real values | drift | Page, *Continuous Inspection Schemes*, Biometrika 41, 1954 |
//!
//! # Matching river
//!
//! The detectors are written from the papers and from reading the `river` library
//! (`river.drift`, version 0.26.1), whose behaviour they reproduce on purpose, so a model
//! monitored in Python and in whyline raises the same signals:
//!
//! - the same defaults and parameter meanings (`warm_start`, `warning_threshold`, `clock`,
//!   `max_buckets`, `min_window_length`, `grace_period`, `min_instances`, `alpha`, ...);
//! - the same warm-up rules (DDM and EDDM decide nothing during `warm_start`, ADWIN checks
//!   nothing before `grace_period` items and only every `clock` items, Page-Hinkley nothing
//!   before `min_instances`);
//! - the same reset rule: after an update that reported a drift, the next update first resets
//!   the detector and then takes its observation;
//! - the same floating-point evaluation order (running means as `m += (1/n)(x - m)`, ADWIN's
//!   bucket merge and window-shrink arithmetic), so ties fall the same way;
//! - the same flags: EDDM, like river, leaves its warning flag untouched on updates that carry no
//!   error, and can hold it while reporting a drift (see [`Eddm`]).
//!
//! The tests in `tests/drift.rs` feed river's own streams and compare the index of every warning
//! and every drift with river's output, committed as fixtures by `python/make_drift_fixtures.py`.
//!
//! # Bad input
//!
//! A NaN or infinite observation is **rejected**: `update` returns
//! [`MonitorError::NonFiniteObservation`] and leaves the detector exactly as it was (including a reset
//! still pending after a drift), so one bad value can neither poison the running statistics nor
//! go unnoticed (design invariant 5). Finite values outside a detector's domain (a DDM input of
//! 7.5) never panic; the statistics then have no meaning, as in river.
//!
//! # Example
//!
//! ```
//! use whyline_monitor::drift::{Adwin, DriftDetector, DriftStatus};
//!
//! let mut adwin = Adwin::default();
//! let mut drifts = Vec::new();
//! for i in 0..2000 {
//!     let x = if i < 1000 { (i % 2) as f64 } else { 5.0 + (i % 3) as f64 };
//!     if adwin.update(x)? == DriftStatus::Drift {
//!         drifts.push(i);
//!     }
//! }
//! // ADWIN checks every 32 items, so the jump at 1000 is seen at the next check.
//! assert_eq!(drifts.first(), Some(&1023));
//! # Ok::<(), whyline_monitor::MonitorError>(())
//! ```

mod adwin;
mod ddm;
mod eddm;
mod page_hinkley;

pub use adwin::{ADWIN_MAX_BUCKETS_LIMIT, Adwin, AdwinConfig};
pub use ddm::{Ddm, DdmConfig};
pub use eddm::{Eddm, EddmConfig};
pub use page_hinkley::{PageHinkley, PageHinkleyConfig, PageHinkleyMode};

use serde::{Deserialize, Serialize};

use crate::error::MonitorError;

/// What a detector concluded after an observation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DriftStatus {
    /// No change seen.
    Stable,
    /// The stream is drifting towards a change (DDM and EDDM only).
    Warning,
    /// A change was detected; the next update starts from a fresh detector.
    Drift,
}

/// A concept-drift detector fed one observation at a time.
///
/// The trait is object safe, so a monitor can hold `Box<dyn DriftDetector + Send>` built from a
/// [`DriftDetectorConfig`].
pub trait DriftDetector {
    /// Feeds one observation and returns the detector's status after it.
    ///
    /// If the previous update returned [`DriftStatus::Drift`], the detector first resets itself
    /// (as river does) and then takes `x`.
    ///
    /// # Errors
    ///
    /// [`MonitorError::NonFiniteObservation`] if `x` is NaN or infinite; the detector is then unchanged.
    fn update(&mut self, x: f64) -> Result<DriftStatus, MonitorError>;

    /// The status returned by the last accepted update (`Stable` before any).
    fn status(&self) -> DriftStatus;

    /// river's `drift_detected` flag: whether the last accepted update detected a drift.
    fn drift_detected(&self) -> bool {
        self.status() == DriftStatus::Drift
    }

    /// river's `warning_detected` flag. For every detector but [`Eddm`] this is
    /// `status() == Warning`; EDDM keeps river's sticky flag (see its docs).
    fn warning_detected(&self) -> bool {
        self.status() == DriftStatus::Warning
    }

    /// Forgets every observation, keeping the configuration (and, for ADWIN, the memory
    /// already reserved for buckets).
    fn reset(&mut self);

    /// Short name of the detector (`"DDM"`, `"EDDM"`, `"ADWIN"`, `"PageHinkley"`), for alerts.
    fn name(&self) -> &'static str;
}

/// A boxed detector is a detector (so one built from a [`DriftDetectorConfig`] can be handed
/// to [`Andon::add_drift_detector`](crate::Andon::add_drift_detector)).
impl<D: DriftDetector + ?Sized> DriftDetector for Box<D> {
    fn update(&mut self, x: f64) -> Result<DriftStatus, MonitorError> {
        (**self).update(x)
    }

    fn status(&self) -> DriftStatus {
        (**self).status()
    }

    fn drift_detected(&self) -> bool {
        (**self).drift_detected()
    }

    fn warning_detected(&self) -> bool {
        (**self).warning_detected()
    }

    fn reset(&mut self) {
        (**self).reset();
    }

    fn name(&self) -> &'static str {
        (**self).name()
    }
}

/// One detector's configuration, tagged by `kind`, as read from a configuration file.
///
/// ```
/// use whyline_monitor::drift::{DriftDetectorConfig, AdwinConfig};
///
/// let config: DriftDetectorConfig =
///     serde_json::from_str(r#"{"kind": "adwin", "delta": 0.01}"#).map_err(|e| e.to_string())?;
/// assert_eq!(config, DriftDetectorConfig::Adwin(AdwinConfig { delta: 0.01, ..AdwinConfig::default() }));
/// let detector = config.build().map_err(|e| e.to_string())?;
/// assert_eq!(detector.name(), "ADWIN");
/// # Ok::<(), String>(())
/// ```
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum DriftDetectorConfig {
    /// [`Ddm`].
    Ddm(DdmConfig),
    /// [`Eddm`].
    Eddm(EddmConfig),
    /// [`Adwin`].
    Adwin(AdwinConfig),
    /// [`PageHinkley`].
    PageHinkley(PageHinkleyConfig),
}

impl DriftDetectorConfig {
    /// Validates the configuration and builds the detector.
    ///
    /// # Errors
    ///
    /// [`MonitorError::InvalidSetting`] naming the first field out of range.
    pub fn build(&self) -> Result<Box<dyn DriftDetector + Send + Sync>, MonitorError> {
        Ok(match self {
            Self::Ddm(c) => Box::new(Ddm::new(c.clone())?),
            Self::Eddm(c) => Box::new(Eddm::new(c.clone())?),
            Self::Adwin(c) => Box::new(Adwin::new(c.clone())?),
            Self::PageHinkley(c) => Box::new(PageHinkley::new(c.clone())?),
        })
    }
}

/// Rejects NaN and infinities before they reach a detector's state.
#[inline]
fn check_finite(detector: &'static str, x: f64) -> Result<(), MonitorError> {
    if x.is_finite() {
        Ok(())
    } else {
        Err(MonitorError::NonFiniteObservation { detector, value: x })
    }
}

/// The error for a detector's configuration field out of range: setting `DETECTOR.field`.
fn invalid_parameter(
    detector: &'static str,
    field: &str,
    value: impl std::fmt::Display,
    expected: &str,
) -> MonitorError {
    MonitorError::invalid_setting(format!("{detector}.{field}"), value, expected)
}

/// Running mean in river's update order: `n += 1; m += (1/n)(x - m)`.
#[derive(Debug, Clone, Copy, Default)]
struct RunningMean {
    n: f64,
    mean: f64,
}

impl RunningMean {
    #[inline]
    fn update(&mut self, x: f64) {
        self.n += 1.0;
        self.mean += (1.0 / self.n) * (x - self.mean);
    }
}
