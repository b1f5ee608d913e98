//! Latency recording: an HDR histogram per connection, merged at the end of a run.
//!
//! Latencies are recorded in nanoseconds with three significant digits (a relative error
//! under 0.1%) from 1 ns to 60 s; slower requests are clamped to 60 s and counted as such.
//! Percentiles follow `hdrhistogram`'s definition: the smallest recorded value (rounded to
//! its bucket's highest equivalent value) at or below which the given share of the samples
//! lie.

use std::time::Duration;

use hdrhistogram::Histogram;
use serde::Serialize;

/// The slowest latency a histogram tracks, in nanoseconds (60 s).
const HIGHEST_NS: u64 = 60_000_000_000;
/// The lowest discernible value, in nanoseconds. It sets the finest bucket width: at 1 ns
/// every latency keeps three significant digits (at 1 µs, buckets would be 512 ns wide and
/// a 100 µs latency would read 0.35% high).
const LOWEST_NS: u64 = 1;

/// Request latencies of one connection or of a whole run.
#[derive(Clone, Debug)]
pub struct LatencyRecorder {
    histogram: Histogram<u64>,
}

impl LatencyRecorder {
    /// An empty recorder.
    pub fn new() -> LatencyRecorder {
        // Bounds and precision are constants that hdrhistogram accepts (lowest ≥ 1,
        // highest ≥ 2 × lowest, at most 5 significant figures); the unit tests build one.
        let histogram = match Histogram::new_with_bounds(LOWEST_NS, HIGHEST_NS, 3) {
            Ok(histogram) => histogram,
            Err(error) => unreachable!("constant histogram bounds are valid: {error:?}"),
        };
        LatencyRecorder { histogram }
    }

    /// Records one request's latency (clamped to the tracked range).
    pub fn record(&mut self, latency: Duration) {
        let ns = u64::try_from(latency.as_nanos()).unwrap_or(u64::MAX);
        self.histogram
            .saturating_record(ns.clamp(LOWEST_NS, HIGHEST_NS));
    }

    /// Adds another recorder's samples.
    pub fn merge(&mut self, other: &LatencyRecorder) {
        // Both histograms have the same bounds, so adding cannot fail; saturate otherwise.
        if self.histogram.add(&other.histogram).is_err() {
            for value in other.histogram.iter_recorded() {
                self.histogram
                    .saturating_record_n(value.value_iterated_to(), value.count_at_value());
            }
        }
    }

    /// How many latencies were recorded.
    pub fn count(&self) -> u64 {
        self.histogram.len()
    }

    /// The latency at `quantile` (0.0 to 1.0), in microseconds; 0 without samples.
    pub fn quantile_us(&self, quantile: f64) -> f64 {
        if self.histogram.is_empty() {
            return 0.0;
        }
        ns_to_us(self.histogram.value_at_quantile(quantile))
    }

    /// The summary a report prints: p50, p90, p99, p99.9, max and mean, in microseconds.
    pub fn summary(&self) -> LatencySummary {
        let empty = self.histogram.is_empty();
        LatencySummary {
            count: self.count(),
            p50_us: self.quantile_us(0.50),
            p90_us: self.quantile_us(0.90),
            p99_us: self.quantile_us(0.99),
            p999_us: self.quantile_us(0.999),
            max_us: if empty {
                0.0
            } else {
                ns_to_us(self.histogram.max())
            },
            mean_us: if empty {
                0.0
            } else {
                self.histogram.mean() / 1_000.0
            },
        }
    }
}

impl Default for LatencyRecorder {
    fn default() -> Self {
        LatencyRecorder::new()
    }
}

fn ns_to_us(ns: u64) -> f64 {
    ns as f64 / 1_000.0
}

/// Latency percentiles of a run, in microseconds.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct LatencySummary {
    /// Requests measured.
    pub count: u64,
    /// Median.
    pub p50_us: f64,
    /// 90th percentile.
    pub p90_us: f64,
    /// 99th percentile.
    pub p99_us: f64,
    /// 99.9th percentile.
    pub p999_us: f64,
    /// Slowest request.
    pub max_us: f64,
    /// Arithmetic mean.
    pub mean_us: f64,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 1 µs, 2 µs, ..., 10,000 µs, once each: the q-quantile is q × 10,000 µs, and the
    /// histogram may report it up to 0.1% high (three significant digits).
    #[test]
    fn percentiles_of_a_uniform_distribution_are_its_quantiles() {
        let mut recorder = LatencyRecorder::new();
        for us in 1..=10_000u64 {
            recorder.record(Duration::from_micros(us));
        }
        let summary = recorder.summary();
        assert_eq!(summary.count, 10_000);
        for (got, exact) in [
            (summary.p50_us, 5_000.0),
            (summary.p90_us, 9_000.0),
            (summary.p99_us, 9_900.0),
            (summary.p999_us, 9_990.0),
            (summary.max_us, 10_000.0),
        ] {
            assert!(
                got >= exact && got <= exact * 1.001 + 1.0,
                "percentile {got} µs, expected {exact} µs within 0.1%"
            );
        }
        assert!(
            (summary.mean_us - 5_000.5).abs() < 5.0,
            "mean {}",
            summary.mean_us
        );
    }

    /// A two-valued distribution: 98 requests at 100 µs and 2 at 5 ms. The median and p90
    /// are 100 µs, p99 is the slow value: the tail is not averaged away.
    #[test]
    fn a_slow_tail_shows_in_p99_not_in_the_median() {
        let mut fast = LatencyRecorder::new();
        let mut slow = LatencyRecorder::new();
        for _ in 0..98 {
            fast.record(Duration::from_micros(100));
        }
        for _ in 0..2 {
            slow.record(Duration::from_millis(5));
        }
        fast.merge(&slow);
        let summary = fast.summary();
        assert_eq!(summary.count, 100);
        assert!((summary.p50_us - 100.0).abs() < 0.1, "{summary:?}");
        assert!((summary.p90_us - 100.0).abs() < 0.1, "{summary:?}");
        assert!((summary.p99_us - 5_000.0).abs() < 5.0, "{summary:?}");
    }

    #[test]
    fn an_empty_recorder_reports_zeros_and_out_of_range_values_are_clamped() {
        let mut recorder = LatencyRecorder::new();
        assert_eq!(recorder.summary().p99_us, 0.0);
        recorder.record(Duration::from_secs(3_600));
        recorder.record(Duration::from_nanos(10));
        assert_eq!(recorder.count(), 2);
        assert!(recorder.summary().max_us >= 60_000_000.0 * 0.999);
        assert!(recorder.quantile_us(0.0) <= 0.011);
    }
}
