//! Kaizen (改善): continuous improvement from recorded decisions, the seed specification's
//! `KaizenAnalyzer`.
//!
//! [`KaizenAnalyzer::analyze_log`] reads a ledger's decisions ([`read_kaizen_data`]: the
//! current window and a reference window, inputs opened from the sealed input entries,
//! outcomes from the outcome entries) and [`KaizenAnalyzer::analyze`] turns them into a
//! [`KaizenAnalysis`]:
//!
//! - [`UncertaintyCluster`]s: k-means over the inputs of the low-confidence decisions
//!   (the clusters module says how `k` is chosen), each with its size, centre in
//!   feature names and typical alternatives;
//! - [`FeatureDrift`]: PSI ([`psi`]) and the two-sample Kolmogorov–Smirnov test
//!   ([`ks_2samp`], scipy's p-value) of each input, each path contribution (attribution
//!   drift) and the confidence, reference window against current;
//! - [`BoundaryAnalysis`]: decisions within a margin of the runner-up class, flips and the
//!   transition count table;
//! - [`OutcomeRates`]: error rates from the recorded outcomes, overall and per cluster;
//! - [`RetrainingRecommendation`]s, each with the [`Evidence`] it stands on.
//!
//! [`render_kaizen_text`], [`render_kaizen_json`] and [`render_kaizen_html`] present it.

mod boundary;
mod clusters;
mod decision;
mod drift;
mod kolmogorov;
mod ks;
mod outcomes;
mod psi;
mod recommend;
mod render;

use std::path::Path;

use serde::Serialize;
use whyline_core::{ModelIdentity, Names};

pub use boundary::{BoundaryAnalysis, BoundaryPair, TransitionTable};
pub use clusters::{
    ClusterSummary, KMeans, SILHOUETTE_SAMPLE, UncertaintyCluster, kmeans, silhouette,
};
pub use decision::{KaizenData, KaizenDecision, KaizenWindow, ReferenceRule, read_kaizen_data};
pub use drift::{DriftKind, FeatureDrift};
pub use ks::{KS_EXACT_MAX_N, KsMethod, KsTest, ks_2samp};
pub use outcomes::{OutcomeCount, OutcomeRates};
pub use psi::{PSI_BINS, PSI_FLOOR, psi};
pub use recommend::{Evidence, RecommendationKind, RetrainingRecommendation};
pub use render::{render_kaizen_html, render_kaizen_json, render_kaizen_text};

use crate::error::Result;
use crate::time::format_time_ns;

/// The thresholds and knobs of a Kaizen analysis.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct KaizenSettings {
    /// A decision is uncertain below this confidence (the SIL3 profile's minimum).
    pub low_confidence: f32,
    /// A decision is near the boundary when its class's probability is within this of the
    /// runner-up's.
    pub boundary_margin: f32,
    /// The largest `k` tried.
    pub max_clusters: usize,
    /// Below this mean silhouette for every `k`, the uncertain decisions form one cluster.
    pub min_silhouette: f64,
    /// The k-means seed.
    pub seed: u64,
    /// PSI from which a row is drifted.
    pub psi_drift: f64,
    /// KS p-value below which a row with a moderate shift (PSI or KS D ≥ 0.1) is drifted.
    pub ks_p_drift: f64,
    /// Example decisions listed per finding.
    pub examples: usize,
}

impl Default for KaizenSettings {
    fn default() -> Self {
        KaizenSettings {
            low_confidence: 0.7,
            boundary_margin: 0.1,
            max_clusters: 8,
            min_silhouette: 0.25,
            seed: 2026,
            psi_drift: 0.25,
            ks_p_drift: 0.01,
            examples: 5,
        }
    }
}

/// Everything a Kaizen analysis found.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct KaizenAnalysis {
    /// The log analysed.
    pub log: String,
    /// The model its record names.
    pub model: Option<ModelIdentity>,
    /// The current window's bounds, RFC 3339.
    pub window: (String, String),
    /// How the reference window was chosen.
    pub reference_rule: ReferenceRule,
    /// Decisions in the reference window.
    pub reference_decisions: usize,
    /// Decisions in the current window.
    pub current_decisions: usize,
    /// Current decisions with readable inputs.
    pub with_inputs: usize,
    /// The settings used.
    pub settings: KaizenSettings,
    /// How the clustering went.
    pub cluster_summary: ClusterSummary,
    /// The uncertainty clusters, largest first.
    pub clusters: Vec<UncertaintyCluster>,
    /// Drift rows, most shifted first.
    pub drift: Vec<FeatureDrift>,
    /// The decision boundary analysis.
    pub boundary: BoundaryAnalysis,
    /// Outcome-based error rates.
    pub outcomes: OutcomeRates,
    /// What to do.
    pub recommendations: Vec<RetrainingRecommendation>,
    /// What the analysis could not do and why.
    pub notes: Vec<String>,
}

/// The seed specification's `KaizenAnalyzer`: finds where a model hesitates, what moved,
/// where it confuses classes and where it was wrong, and says what to retrain on.
///
/// ```
/// use whyline_core::Names;
/// use whyline_forensics::{KaizenAnalyzer, KaizenDecision, KaizenSettings};
///
/// // 60 unsure decisions around two distinct input regions, 60 sure ones.
/// let jitter = |i: u64, salt: u64| ((i * 7919 + salt) % 101) as f64 / 101.0 - 0.5;
/// let mut decisions = Vec::new();
/// for i in 0..120u64 {
///     let region = (i % 2) as f64;
///     let unsure = i < 60;
///     decisions.push(KaizenDecision {
///         index: i,
///         sequence: i,
///         timestamp_ns: i * 1_000_000,
///         class: Some((i % 2) as usize),
///         confidence: if unsure { 0.55 } else { 0.95 },
///         probabilities: if unsure { vec![0.55, 0.45] } else { vec![0.95, 0.05] },
///         inputs: Some(vec![region * 10.0 + jitter(i, 3), region * 5.0 + jitter(i, 57)]),
///         ..KaizenDecision::default()
///     });
/// }
/// let names = Names { features: vec!["distance".into(), "speed".into()],
///                     classes: vec!["MAINTAIN".into(), "BRAKE".into()] };
/// let analyzer = KaizenAnalyzer::new(KaizenSettings::default());
/// let analysis = analyzer.analyze_decisions(&names, &decisions[..60], &decisions[60..]);
/// assert_eq!(analysis.clusters.len(), 0); // the current window (60..) is all confident
/// let analysis = analyzer.analyze_decisions(&names, &decisions[60..], &decisions[..60]);
/// assert_eq!(analysis.clusters.len(), 2);
/// assert!(!analysis.recommendations.is_empty());
/// ```
#[derive(Clone, Debug, Default)]
pub struct KaizenAnalyzer {
    settings: KaizenSettings,
}

impl KaizenAnalyzer {
    /// An analyzer with these settings.
    pub fn new(settings: KaizenSettings) -> Self {
        KaizenAnalyzer { settings }
    }

    /// The settings.
    pub fn settings(&self) -> &KaizenSettings {
        &self.settings
    }

    /// Reads the ledger in `dir` ([`read_kaizen_data`]) and analyses it.
    pub fn analyze_log(
        &self,
        dir: &Path,
        window: KaizenWindow,
        model_file: Option<&Path>,
    ) -> Result<KaizenAnalysis> {
        let data = read_kaizen_data(dir, window, model_file)?;
        Ok(self.analyze(&data))
    }

    /// Clusters of the inputs of the low-confidence decisions among `decisions`.
    pub fn find_uncertainty_clusters(
        &self,
        names: &Names,
        decisions: &[KaizenDecision],
        training: Option<&(Vec<f64>, Vec<f64>)>,
    ) -> (Vec<UncertaintyCluster>, ClusterSummary) {
        clusters::find_clusters(
            decisions,
            names,
            training,
            &clusters::ClusterSettings {
                low_confidence: self.settings.low_confidence,
                max_clusters: self.settings.max_clusters,
                min_silhouette: self.settings.min_silhouette,
                seed: self.settings.seed,
                examples: self.settings.examples,
            },
        )
    }

    /// Drift of inputs, path contributions and confidence from `reference` to `current`.
    pub fn detect_feature_drift(
        &self,
        names: &Names,
        reference: &[KaizenDecision],
        current: &[KaizenDecision],
    ) -> Vec<FeatureDrift> {
        drift::detect_drift(
            reference,
            current,
            names,
            &drift::DriftSettings {
                psi_drift: self.settings.psi_drift,
                ks_p_drift: self.settings.ks_p_drift,
                examples: self.settings.examples,
            },
        )
    }

    /// Near-boundary decisions, flips and transitions of `decisions` (in time order).
    pub fn analyze_decision_boundaries(
        &self,
        names: &Names,
        decisions: &[KaizenDecision],
    ) -> BoundaryAnalysis {
        boundary::analyze_boundaries(
            decisions,
            names,
            self.settings.boundary_margin,
            self.settings.examples,
        )
    }

    /// The recommendations `analysis` supports.
    pub fn recommend_retraining(&self, analysis: &KaizenAnalysis) -> Vec<RetrainingRecommendation> {
        recommend::recommend(analysis)
    }

    /// The whole analysis of decisions given directly (in time order).
    pub fn analyze_decisions(
        &self,
        names: &Names,
        reference: &[KaizenDecision],
        current: &[KaizenDecision],
    ) -> KaizenAnalysis {
        let first = current.first().map_or(0, |d| d.timestamp_ns);
        let last = current.last().map_or(0, |d| d.timestamp_ns);
        self.analyze(&KaizenData {
            log: "(decisions given)".to_owned(),
            names: names.clone(),
            model: None,
            training: None,
            reference: reference.to_vec(),
            current: current.to_vec(),
            reference_rule: ReferenceRule::BeforeWindow,
            window: (first, last),
            notes: Vec::new(),
        })
    }

    /// The whole analysis of what [`read_kaizen_data`] read.
    pub fn analyze(&self, data: &KaizenData) -> KaizenAnalysis {
        let names = &data.names;
        let (clusters, cluster_summary) =
            self.find_uncertainty_clusters(names, &data.current, data.training.as_ref());
        let mut notes = data.notes.clone();
        let with_inputs = data.current.iter().filter(|d| d.inputs.is_some()).count();
        if with_inputs == 0 {
            notes.push(
                "the current window holds no readable inputs: no uncertainty clusters and no input drift; \
                 record inputs (record_inputs in the profile) and keep the key store beside the log"
                    .to_owned(),
            );
        }
        if data.reference.is_empty() {
            notes.push("the reference window is empty: no drift measured".to_owned());
        }
        let mut analysis = KaizenAnalysis {
            log: data.log.clone(),
            model: data.model.clone(),
            window: (format_time_ns(data.window.0), format_time_ns(data.window.1)),
            reference_rule: data.reference_rule,
            reference_decisions: data.reference.len(),
            current_decisions: data.current.len(),
            with_inputs,
            settings: self.settings.clone(),
            cluster_summary,
            clusters,
            drift: self.detect_feature_drift(names, &data.reference, &data.current),
            boundary: self.analyze_decision_boundaries(names, &data.current),
            outcomes: outcomes::outcome_rates(&data.current, names, self.settings.low_confidence),
            recommendations: Vec::new(),
            notes,
        };
        analysis.recommendations = self.recommend_retraining(&analysis);
        analysis
    }
}
