//! The detector's settings: a plain serde struct, validated once when the monitor is built.

use serde::{Deserialize, Serialize};

use crate::andon::AlertLevelSetting;
use crate::error::{MonitorError, Result};

/// Settings of a [`StreamingProvenanceMonitor`](super::StreamingProvenanceMonitor). The
/// defaults are the ones `docs/provenance-anomaly.md` evaluates.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ProvenanceAnomalySettings {
    /// Sketch width in bits (StreamHash components): a multiple of 64 in `[64, 8192]`. The
    /// angle estimate's standard deviation is at most `π / (2 √width)`.
    pub sketch_width: usize,
    /// Most out-edges in one shingle (the cap on shingle length), at least 1.
    pub chunk_length: u32,
    /// Graphs tracked at once (rounded up to a multiple of 4); a new graph evicts the least
    /// recently updated graph of its four-slot set. At least 1.
    pub max_graphs: usize,
    /// Entries of the node table (open shingle chunks): a power of two, at least 2.
    pub node_slots: usize,
    /// Baseline clusters (k of k-medoids), at least 1.
    pub clusters: usize,
    /// A cluster's threshold is `mean + threshold_z × std` of its members' distances to its
    /// medoid. Finite, at least 0.
    pub threshold_z: f64,
    /// Floor of every cluster's threshold, in `[0, 2]` (a cluster of identical sketches would
    /// otherwise have threshold 0).
    pub min_threshold: f64,
    /// A graph raises no alert before it has this many edges.
    pub min_edges: u64,
    /// Baseline sketches kept for clustering (reservoir sample beyond that), at least 1.
    pub max_baseline_points: usize,
    /// Seed of the reservoir sample.
    pub seed: u64,
    /// Level of the `provenance_anomaly` alert.
    pub alert_level: AlertLevelSetting,
}

impl Default for ProvenanceAnomalySettings {
    fn default() -> Self {
        Self {
            sketch_width: 512,
            chunk_length: 8,
            max_graphs: 1024,
            node_slots: 1 << 16,
            clusters: 256,
            threshold_z: 3.0,
            min_threshold: 0.02,
            min_edges: 1,
            max_baseline_points: 32_768,
            seed: 0x5eed,
            alert_level: AlertLevelSetting::Yellow,
        }
    }
}

impl ProvenanceAnomalySettings {
    /// Checks every range, naming the setting ([`MonitorError::InvalidSetting`]).
    pub fn validate(&self) -> Result<()> {
        let invalid = |field: &str, value: &dyn std::fmt::Display, expected: &str| {
            Err(MonitorError::invalid_setting(
                format!("provenance_anomaly.{field}"),
                value,
                expected,
            ))
        };
        if !self.sketch_width.is_multiple_of(64) || !(64..=8192).contains(&self.sketch_width) {
            return invalid(
                "sketch_width",
                &self.sketch_width,
                "a multiple of 64 in [64, 8192]",
            );
        }
        if self.chunk_length == 0 {
            return invalid("chunk_length", &self.chunk_length, "at least 1");
        }
        if self.max_graphs == 0 {
            return invalid("max_graphs", &self.max_graphs, "at least 1");
        }
        if self.node_slots < 2 || !self.node_slots.is_power_of_two() {
            return invalid("node_slots", &self.node_slots, "a power of two, at least 2");
        }
        if self.clusters == 0 {
            return invalid("clusters", &self.clusters, "at least 1");
        }
        if !(self.threshold_z.is_finite() && self.threshold_z >= 0.0) {
            return invalid("threshold_z", &self.threshold_z, "a finite number >= 0");
        }
        if !(0.0..=2.0).contains(&self.min_threshold) {
            return invalid("min_threshold", &self.min_threshold, "a distance in [0, 2]");
        }
        if self.max_baseline_points == 0 {
            return invalid(
                "max_baseline_points",
                &self.max_baseline_points,
                "at least 1",
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_width_that_is_not_a_multiple_of_64_is_refused_by_name() {
        let settings = ProvenanceAnomalySettings {
            sketch_width: 100,
            ..ProvenanceAnomalySettings::default()
        };
        let error = settings.validate().err();
        assert!(
            matches!(&error, Some(MonitorError::InvalidSetting { setting, .. }) if setting == "provenance_anomaly.sketch_width"),
            "{error:?}"
        );
        assert!(ProvenanceAnomalySettings::default().validate().is_ok());
    }
}
