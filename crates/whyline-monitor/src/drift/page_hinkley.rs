//! The Page-Hinkley test (Page, 1954), a CUSUM chart on the deviation from the running mean.
//!
//! Each observation's deviation from the mean so far, less (or plus) a tolerance `delta`, is
//! added to a cumulative sum that fades by `alpha`; a drift is reported when the sum has risen
//! more than `threshold` above its lowest point (an increase of the mean) or fallen more than
//! `threshold` below its highest point (a decrease), according to [`PageHinkleyMode`].
//!
//! As in river: the decreasing sum starts its running maximum at -1; nothing is decided before
//! `min_instances` observations; the next update after a drift starts a fresh detector.

use serde::{Deserialize, Serialize};

use crate::error::MonitorError;

use super::{DriftDetector, DriftStatus, RunningMean, check_finite, invalid_parameter};

const NAME: &str = "PageHinkley";

/// Which changes of the mean [`PageHinkley`] reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PageHinkleyMode {
    /// Increases only.
    Up,
    /// Decreases only.
    Down,
    /// Both (river's default).
    #[default]
    Both,
}

/// Parameters of [`PageHinkley`]; `Default` is river's.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct PageHinkleyConfig {
    /// Observations to see before deciding anything (river: 30).
    pub min_instances: u64,
    /// Tolerated change of the mean per observation (river: 0.005).
    pub delta: f64,
    /// Drift when a cumulative sum moves more than this from its extreme (river: 50, "lambda").
    pub threshold: f64,
    /// Forgetting factor of the cumulative sums (river: 1 - 0.0001).
    pub alpha: f64,
    /// Which direction of change to report (river: both).
    pub mode: PageHinkleyMode,
}

impl Default for PageHinkleyConfig {
    fn default() -> Self {
        Self {
            min_instances: 30,
            delta: 0.005,
            threshold: 50.0,
            alpha: 1.0 - 0.0001,
            mode: PageHinkleyMode::Both,
        }
    }
}

impl PageHinkleyConfig {
    fn validate(&self) -> Result<(), MonitorError> {
        if !(self.delta.is_finite() && self.delta >= 0.0) {
            return Err(invalid_parameter(
                NAME,
                "delta",
                self.delta,
                "a finite value >= 0",
            ));
        }
        if !(self.threshold.is_finite() && self.threshold > 0.0) {
            return Err(invalid_parameter(
                NAME,
                "threshold",
                self.threshold,
                "a finite value > 0",
            ));
        }
        if !(self.alpha > 0.0 && self.alpha <= 1.0) {
            return Err(invalid_parameter(
                NAME,
                "alpha",
                self.alpha,
                "0 < alpha <= 1",
            ));
        }
        Ok(())
    }
}

/// The Page-Hinkley change detector over real values.
#[derive(Debug, Clone)]
pub struct PageHinkley {
    config: PageHinkleyConfig,
    min_instances: f64,
    mean: RunningMean,
    sum_increase: f64,
    sum_decrease: f64,
    min_increase: f64,
    max_decrease: f64,
    drift: bool,
}

impl Default for PageHinkley {
    fn default() -> Self {
        Self::from_valid(PageHinkleyConfig::default())
    }
}

impl PageHinkley {
    /// Builds a detector from a validated configuration.
    ///
    /// # Errors
    ///
    /// [`MonitorError::InvalidSetting`] if `delta` is negative or not finite, `threshold` not
    /// finite and positive, or `alpha` outside `(0, 1]`.
    pub fn new(config: PageHinkleyConfig) -> Result<Self, MonitorError> {
        config.validate()?;
        Ok(Self::from_valid(config))
    }

    fn from_valid(config: PageHinkleyConfig) -> Self {
        // river compares the float count with the integer `min_instances`; exact up to 2^53.
        #[allow(clippy::cast_precision_loss)]
        let min_instances = config.min_instances as f64;
        Self {
            config,
            min_instances,
            mean: RunningMean::default(),
            sum_increase: 0.0,
            sum_decrease: 0.0,
            min_increase: f64::INFINITY,
            max_decrease: -1.0,
            drift: false,
        }
    }

    /// The configuration this detector runs with.
    pub fn config(&self) -> &PageHinkleyConfig {
        &self.config
    }

    #[inline]
    fn observe(&mut self, x: f64) -> DriftStatus {
        if self.drift {
            self.reset();
        }
        self.mean.update(x);
        let deviation = x - self.mean.mean;
        let alpha = self.config.alpha;
        let delta = self.config.delta;
        self.sum_increase = alpha * self.sum_increase + deviation - delta;
        self.sum_decrease = alpha * self.sum_decrease + deviation + delta;
        if self.sum_increase < self.min_increase {
            self.min_increase = self.sum_increase;
        }
        if self.sum_decrease > self.max_decrease {
            self.max_decrease = self.sum_decrease;
        }
        if self.mean.n >= self.min_instances {
            let increase = self.sum_increase - self.min_increase > self.config.threshold;
            let decrease = self.max_decrease - self.sum_decrease > self.config.threshold;
            self.drift = match self.config.mode {
                PageHinkleyMode::Up => increase,
                PageHinkleyMode::Down => decrease,
                PageHinkleyMode::Both => increase || decrease,
            };
        }
        self.status()
    }
}

impl DriftDetector for PageHinkley {
    #[inline]
    fn update(&mut self, x: f64) -> Result<DriftStatus, MonitorError> {
        check_finite(NAME, x)?;
        Ok(self.observe(x))
    }

    fn status(&self) -> DriftStatus {
        if self.drift {
            DriftStatus::Drift
        } else {
            DriftStatus::Stable
        }
    }

    fn reset(&mut self) {
        *self = Self::from_valid(self.config.clone());
    }

    fn name(&self) -> &'static str {
        NAME
    }
}
