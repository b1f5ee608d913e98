//! EDDM, the Early Drift Detection Method of Baena-García et al. (2006).
//!
//! Instead of the error rate, EDDM watches the distance (in observations) between consecutive
//! errors: while a model learns, errors drift apart; when the concept changes they close up. It
//! keeps the running mean `p'` and standard deviation `s'` of that distance, remembers the
//! largest `p' + 2 s'` seen, and compares each new `p' + 2 s'` with it: a ratio below `alpha`
//! warns, below `beta` reports a drift.
//!
//! As in river: only errors (inputs equal to 1) update the statistics; the ratio is checked only
//! once more than `warm_start` observations *and* more than `warm_start` errors were seen, and
//! not on an update that raised the maximum; the standard deviation is the sample one
//! (`ddof = 1`) raised to the power 0.5 as river does; the first distance counts from the start
//! of the stream.

use serde::{Deserialize, Serialize};

use crate::error::MonitorError;

use super::{DriftDetector, DriftStatus, RunningMean, check_finite, invalid_parameter};

const NAME: &str = "EDDM";

/// Parameters of [`Eddm`]; `Default` is river's.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct EddmConfig {
    /// Observations, and errors, to see before deciding anything (river: 30).
    pub warm_start: u64,
    /// Warning when `(p' + 2s') / max(p' + 2s') < alpha` (river: 0.95).
    pub alpha: f64,
    /// Drift when `(p' + 2s') / max(p' + 2s') < beta` (river: 0.9); `beta <= alpha`.
    pub beta: f64,
}

impl Default for EddmConfig {
    fn default() -> Self {
        Self {
            warm_start: 30,
            alpha: 0.95,
            beta: 0.9,
        }
    }
}

impl EddmConfig {
    fn validate(&self) -> Result<(), MonitorError> {
        if !(self.alpha > 0.0 && self.alpha <= 1.0) {
            return Err(invalid_parameter(
                NAME,
                "alpha",
                self.alpha,
                "0 < alpha <= 1",
            ));
        }
        if !(self.beta > 0.0 && self.beta <= self.alpha) {
            return Err(invalid_parameter(
                NAME,
                "beta",
                self.beta,
                "0 < beta <= alpha",
            ));
        }
        Ok(())
    }
}

/// The Early Drift Detection Method over a 0/1 error stream (1 = the model was wrong).
///
/// An input equal to `1.0` is an error; anything else is a correct decision.
///
/// **River's flags.** Like river, EDDM re-evaluates its warning only on an error that passes the
/// warm-up, so [`warning_detected`](DriftDetector::warning_detected) stays as it was on the
/// correct decisions in between, and may still be set when a drift is reported.
/// [`update`](DriftDetector::update) reports `Drift` first, then `Warning` if the flag is set.
#[derive(Debug, Clone)]
pub struct Eddm {
    config: EddmConfig,
    n: u64,
    last_error: u64,
    n_errors: u64,
    distance_mean: RunningMean,
    distance_m2: f64,
    p2s_max: f64,
    warning: bool,
    drift: bool,
}

impl Default for Eddm {
    fn default() -> Self {
        Self::from_valid(EddmConfig::default())
    }
}

impl Eddm {
    /// Builds a detector from a validated configuration.
    ///
    /// # Errors
    ///
    /// [`MonitorError::InvalidSetting`] unless `0 < beta <= alpha <= 1`.
    pub fn new(config: EddmConfig) -> Result<Self, MonitorError> {
        config.validate()?;
        Ok(Self::from_valid(config))
    }

    fn from_valid(config: EddmConfig) -> Self {
        Self {
            config,
            n: 0,
            last_error: 0,
            n_errors: 0,
            distance_mean: RunningMean::default(),
            distance_m2: 0.0,
            p2s_max: -1.0,
            warning: false,
            drift: false,
        }
    }

    /// The configuration this detector runs with.
    pub fn config(&self) -> &EddmConfig {
        &self.config
    }

    /// The largest `p2s` (mean distance between errors plus twice its deviation) seen since
    /// the warm start, which the warning and drift levels divide by; −1 before it is first
    /// set (river's `_p2s_prime_max`).
    pub fn p2s_max(&self) -> f64 {
        self.p2s_max
    }

    /// Convenience for `update(1.0)` on an error and `update(0.0)` on a correct decision.
    pub fn update_error(&mut self, error: bool) -> DriftStatus {
        self.observe(error)
    }

    #[inline]
    fn observe(&mut self, error: bool) -> DriftStatus {
        if self.drift {
            self.reset();
        }
        self.n += 1;
        if error {
            self.n_errors += 1;
            // Distances are integers well below 2^53.
            #[allow(clippy::cast_precision_loss)]
            let distance = (self.n - self.last_error) as f64;
            let old_mean = self.distance_mean.mean;
            self.distance_mean.update(distance);
            self.distance_m2 += (distance - old_mean) * (distance - self.distance_mean.mean);

            if self.n > self.config.warm_start {
                let count = self.distance_mean.n;
                let variance = if count > 1.0 {
                    self.distance_m2 / (count - 1.0)
                } else {
                    0.0
                };
                // river raises to the power 0.5 (libm `pow`), which is not always `sqrt`.
                let p2s = self.distance_mean.mean + 2.0 * variance.powf(0.5);
                if p2s > self.p2s_max {
                    self.p2s_max = p2s;
                } else if self.n_errors > self.config.warm_start {
                    let level = p2s / self.p2s_max;
                    if level < self.config.beta {
                        self.drift = true;
                    } else {
                        self.warning = level < self.config.alpha;
                    }
                }
            }
            self.last_error = self.n;
        }
        self.status()
    }
}

impl DriftDetector for Eddm {
    #[inline]
    fn update(&mut self, x: f64) -> Result<DriftStatus, MonitorError> {
        check_finite(NAME, x)?;
        Ok(self.observe(x == 1.0))
    }

    fn status(&self) -> DriftStatus {
        if self.drift {
            DriftStatus::Drift
        } else if self.warning {
            DriftStatus::Warning
        } else {
            DriftStatus::Stable
        }
    }

    fn warning_detected(&self) -> bool {
        self.warning
    }

    fn reset(&mut self) {
        *self = Self::from_valid(self.config.clone());
    }

    fn name(&self) -> &'static str {
        NAME
    }
}
