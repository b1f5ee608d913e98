//! DDM, the Drift Detection Method of Gama et al. (2004).
//!
//! The error stream is a Bernoulli process; while the concept is stable, the error rate `p` of
//! the learner does not grow. DDM tracks `p` and its standard deviation `s = sqrt(p(1-p)/n)`,
//! remembers the pair at which `p + s` was lowest (`p_min`, `s_min`), and compares every new
//! `p + s` with `p_min + k s_min`: above `warning_threshold` it warns, above `drift_threshold`
//! it reports a drift.
//!
//! As in river: nothing is decided while `n <= warm_start`; the minimum is updated when
//! `p + s <= p_min + s_min` (ties move it); both comparisons are strict; a drift clears the
//! warning; the next update after a drift starts a fresh detector.

use serde::{Deserialize, Serialize};

use crate::error::MonitorError;

use super::{DriftDetector, DriftStatus, RunningMean, check_finite, invalid_parameter};

const NAME: &str = "DDM";

/// Parameters of [`Ddm`]; `Default` is river's.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct DdmConfig {
    /// Observations to see before deciding anything (river: 30).
    pub warm_start: u64,
    /// Warning when `p + s > p_min + warning_threshold * s_min` (river: 2.0, ~95 %).
    pub warning_threshold: f64,
    /// Drift when `p + s > p_min + drift_threshold * s_min` (river: 3.0, ~99 %).
    pub drift_threshold: f64,
}

impl Default for DdmConfig {
    fn default() -> Self {
        Self {
            warm_start: 30,
            warning_threshold: 2.0,
            drift_threshold: 3.0,
        }
    }
}

impl DdmConfig {
    fn validate(&self) -> Result<(), MonitorError> {
        if !(self.warning_threshold.is_finite() && self.warning_threshold > 0.0) {
            return Err(invalid_parameter(
                NAME,
                "warning_threshold",
                self.warning_threshold,
                "a finite value > 0",
            ));
        }
        if !(self.drift_threshold.is_finite() && self.drift_threshold >= self.warning_threshold) {
            return Err(invalid_parameter(
                NAME,
                "drift_threshold",
                self.drift_threshold,
                "a finite value >= warning_threshold",
            ));
        }
        Ok(())
    }
}

/// The Drift Detection Method over a 0/1 error stream (1 = the model was wrong).
///
/// Inputs are averaged as they come, so they should be 0 or 1 (river's domain); other finite
/// values never panic but make the statistics meaningless.
///
/// ```
/// use whyline_monitor::drift::{Ddm, DriftDetector, DriftStatus};
///
/// let mut ddm = Ddm::default();
/// // 10 % errors, then every prediction wrong.
/// let mut first = None;
/// for i in 0..2000 {
///     let error = if i < 1000 { u8::from(i % 10 == 0) } else { 1 };
///     if ddm.update(f64::from(error))? == DriftStatus::Drift {
///         first.get_or_insert(i);
///     }
/// }
/// assert!(first.is_some_and(|i| i > 1000 && i < 1050));
/// # Ok::<(), whyline_monitor::MonitorError>(())
/// ```
#[derive(Debug, Clone)]
pub struct Ddm {
    config: DdmConfig,
    warm_start: f64,
    error_rate: RunningMean,
    p_min: f64,
    s_min: f64,
    ps_min: f64,
    status: DriftStatus,
}

impl Default for Ddm {
    fn default() -> Self {
        Self::from_valid(DdmConfig::default())
    }
}

impl Ddm {
    /// Builds a detector from a validated configuration.
    ///
    /// # Errors
    ///
    /// [`MonitorError::InvalidSetting`] if a threshold is not finite and positive or
    /// `drift_threshold < warning_threshold`.
    pub fn new(config: DdmConfig) -> Result<Self, MonitorError> {
        config.validate()?;
        Ok(Self::from_valid(config))
    }

    fn from_valid(config: DdmConfig) -> Self {
        // river compares the float count with the integer `warm_start`; exact up to 2^53.
        #[allow(clippy::cast_precision_loss)]
        let warm_start = config.warm_start as f64;
        Self {
            config,
            warm_start,
            error_rate: RunningMean::default(),
            p_min: f64::NAN,
            s_min: f64::NAN,
            ps_min: f64::INFINITY,
            status: DriftStatus::Stable,
        }
    }

    /// The configuration this detector runs with.
    pub fn config(&self) -> &DdmConfig {
        &self.config
    }

    /// Convenience for `update(1.0)` on an error and `update(0.0)` on a correct decision.
    pub fn update_error(&mut self, error: bool) -> DriftStatus {
        self.observe(if error { 1.0 } else { 0.0 })
    }

    #[inline]
    fn observe(&mut self, x: f64) -> DriftStatus {
        if self.status == DriftStatus::Drift {
            self.reset();
        }
        self.error_rate.update(x);
        let p = self.error_rate.mean;
        let n = self.error_rate.n;
        let s = (p * (1.0 - p) / n).sqrt();
        if n > self.warm_start {
            let ps = p + s;
            if ps <= self.ps_min {
                self.p_min = p;
                self.s_min = s;
                self.ps_min = p + s;
            }
            self.status = if ps > self.p_min + self.config.drift_threshold * self.s_min {
                DriftStatus::Drift
            } else if ps > self.p_min + self.config.warning_threshold * self.s_min {
                DriftStatus::Warning
            } else {
                DriftStatus::Stable
            };
        }
        self.status
    }
}

impl DriftDetector for Ddm {
    #[inline]
    fn update(&mut self, x: f64) -> Result<DriftStatus, MonitorError> {
        check_finite(NAME, x)?;
        Ok(self.observe(x))
    }

    fn status(&self) -> DriftStatus {
        self.status
    }

    fn reset(&mut self) {
        *self = Self::from_valid(self.config.clone());
    }

    fn name(&self) -> &'static str {
        NAME
    }
}
