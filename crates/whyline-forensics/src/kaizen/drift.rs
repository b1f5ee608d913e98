//! Feature drift and attribution drift between the reference window and the current one:
//! for each input feature, each per-feature contribution the decision paths carry, and the
//! confidence, the [`psi`] and the two-sample Kolmogorov–Smirnov test ([`ks_2samp`]).
//!
//! A row is marked **drifted** when its PSI reaches
//! [`KaizenSettings::psi_drift`](super::KaizenSettings::psi_drift) (0.25: a major shift), or
//! when the KS p-value falls below
//! [`ks_p_drift`](super::KaizenSettings::ks_p_drift) while the shift is large enough to
//! matter (PSI ≥ 0.1 or KS D ≥ 0.1), so that a large log does not flag a tiny shift. The
//! second rule also catches what decile bins cannot see: a reference sample that is nearly
//! constant has one bin edge, and a current sample that moved below it lands in the same
//! bin (PSI 0, KS D 1).

use serde::Serialize;
use whyline_core::Names;

use super::decision::{KaizenDecision, feature_name};
use super::ks::{KsTest, ks_2samp};
use super::psi::psi;

/// What a drift row measures.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DriftKind {
    /// An input feature's values.
    Input,
    /// A feature's contribution as the decision paths carry it (attribution drift).
    Attribution,
    /// The decisions' confidence.
    Confidence,
}

/// How one quantity moved between the windows.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FeatureDrift {
    /// What is measured.
    pub kind: DriftKind,
    /// The feature (`confidence` for the confidence row).
    pub feature: String,
    /// Values in the reference window.
    pub reference_n: usize,
    /// Values in the current window.
    pub current_n: usize,
    /// Mean in the reference window.
    pub reference_mean: f64,
    /// Mean in the current window.
    pub current_mean: f64,
    /// Population stability index of the current values against the reference ones.
    pub psi: f64,
    /// Two-sample Kolmogorov–Smirnov test.
    pub ks: KsTest,
    /// Whether the row counts as drifted.
    pub drifted: bool,
    /// Log indices of current decisions whose value lies farthest from the reference mean.
    pub examples: Vec<u64>,
}

/// The thresholds.
pub(crate) struct DriftSettings {
    pub(crate) psi_drift: f64,
    pub(crate) ks_p_drift: f64,
    pub(crate) examples: usize,
}

/// Moderate shift: the PSI or KS D a significant KS test also needs.
const MODERATE: f64 = 0.1;

fn column(
    decisions: &[KaizenDecision],
    value: impl Fn(&KaizenDecision) -> Option<f64>,
) -> (Vec<f64>, Vec<u64>) {
    decisions
        .iter()
        .filter_map(|d| value(d).filter(|v| v.is_finite()).map(|v| (v, d.index)))
        .unzip()
}

fn mean(values: &[f64]) -> f64 {
    values.iter().sum::<f64>() / values.len().max(1) as f64
}

#[allow(clippy::too_many_arguments)]
fn row(
    kind: DriftKind,
    feature: String,
    reference: &[KaizenDecision],
    current: &[KaizenDecision],
    value: impl Fn(&KaizenDecision) -> Option<f64> + Copy,
    settings: &DriftSettings,
) -> Option<FeatureDrift> {
    let (before, _) = column(reference, value);
    let (now, indices) = column(current, value);
    let ks = ks_2samp(&before, &now)?;
    let psi = psi(&before, &now)?;
    let reference_mean = mean(&before);
    let drifted = psi >= settings.psi_drift
        || (ks.p_value < settings.ks_p_drift && (psi >= MODERATE || ks.statistic >= MODERATE));
    let mut far: Vec<(f64, u64)> = now
        .iter()
        .zip(&indices)
        .map(|(v, &i)| ((v - reference_mean).abs(), i))
        .collect();
    far.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    Some(FeatureDrift {
        kind,
        feature,
        reference_n: before.len(),
        current_n: now.len(),
        reference_mean,
        current_mean: mean(&now),
        psi,
        ks,
        drifted,
        examples: far.iter().take(settings.examples).map(|f| f.1).collect(),
    })
}

/// Drift rows for every input feature, every path contribution and the confidence, most
/// shifted (by PSI) first.
pub(crate) fn detect_drift(
    reference: &[KaizenDecision],
    current: &[KaizenDecision],
    names: &Names,
    settings: &DriftSettings,
) -> Vec<FeatureDrift> {
    let width = |f: &dyn Fn(&KaizenDecision) -> usize| {
        reference.iter().chain(current).map(f).max().unwrap_or(0)
    };
    let inputs = width(&|d| d.inputs.as_ref().map_or(0, Vec::len));
    let contributions = width(&|d| d.contributions.len());
    let mut rows = Vec::new();
    for j in 0..inputs {
        rows.extend(row(
            DriftKind::Input,
            feature_name(names, j),
            reference,
            current,
            |d| d.inputs.as_ref().and_then(|r| r.get(j).copied()),
            settings,
        ));
    }
    for j in 0..contributions {
        rows.extend(row(
            DriftKind::Attribution,
            feature_name(names, j),
            reference,
            current,
            |d| d.contributions.get(j).map(|&v| f64::from(v)),
            settings,
        ));
    }
    rows.extend(row(
        DriftKind::Confidence,
        "confidence".to_owned(),
        reference,
        current,
        |d| Some(f64::from(d.confidence)),
        settings,
    ));
    rows.sort_by(|a, b| b.psi.total_cmp(&a.psi));
    rows
}
