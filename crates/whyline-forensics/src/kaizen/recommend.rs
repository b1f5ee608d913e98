//! Retraining recommendations, each tied to the evidence behind it: which cluster or
//! feature, how many decisions, which features, and the log indices of example decisions
//! (`whyline incident`, `whyline trace` and `whyline prove --index` take them).

use serde::Serialize;

use super::KaizenAnalysis;
use super::drift::DriftKind;

/// What a recommendation is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RecommendationKind {
    /// Inputs where the model is unsure: collect and label more like them.
    UncertaintyCluster,
    /// Inputs that moved away from what the model saw: retrain on recent data.
    FeatureDrift,
    /// What the model relies on changed.
    AttributionDrift,
    /// The model became less sure of itself.
    ConfidenceDrift,
    /// Two classes the model keeps confusing.
    DecisionBoundary,
    /// Decisions the recorded outcomes show were wrong.
    Outcomes,
}

/// The facts a recommendation stands on.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Evidence {
    /// The uncertainty cluster, by its number in the report.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cluster: Option<usize>,
    /// How many decisions the finding covers.
    pub decisions: usize,
    /// The features involved.
    pub features: Vec<String>,
    /// Log indices of example decisions.
    pub examples: Vec<u64>,
    /// The numbers behind it, in words (PSI, KS, shares, error rates).
    pub facts: Vec<String>,
}

/// One thing to do to improve the model, and why.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RetrainingRecommendation {
    /// What it is about.
    pub kind: RecommendationKind,
    /// What to do.
    pub action: String,
    /// Why.
    pub evidence: Evidence,
}

/// Smallest cluster worth its own recommendation: this many decisions, and this share of
/// the low-confidence ones.
const MIN_CLUSTER: usize = 5;
const MIN_CLUSTER_SHARE: f64 = 0.05;
/// Fewest near-boundary decisions plus flips for a boundary recommendation.
const MIN_BOUNDARY: usize = 5;

fn listed(items: &[(String, usize)]) -> String {
    items
        .iter()
        .map(|(name, n)| format!("{name} ({n})"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The recommendations an analysis supports, most specific first: uncertainty clusters,
/// drifted inputs, drifted attributions, confused class pairs, wrong decisions.
pub(crate) fn recommend(analysis: &KaizenAnalysis) -> Vec<RetrainingRecommendation> {
    let mut out = Vec::new();
    for cluster in &analysis.clusters {
        if cluster.size < MIN_CLUSTER || cluster.share < MIN_CLUSTER_SHARE {
            continue;
        }
        let features: Vec<String> = cluster
            .distinguishing
            .iter()
            .map(|(f, _)| f.clone())
            .collect();
        let scenario: Vec<String> = cluster
            .distinguishing
            .iter()
            .map(|(f, z)| {
                let value = cluster
                    .centre
                    .iter()
                    .find(|(name, _)| name == f)
                    .map_or(f64::NAN, |c| c.1);
                format!("{f} ≈ {value:.3} (z {z:+.1})")
            })
            .collect();
        let between = match (cluster.decisions.first(), cluster.alternatives.first()) {
            (Some((decided, _)), Some((alternative, _))) => {
                format!("; the model hesitates between {decided} and {alternative}")
            }
            _ => String::new(),
        };
        let mut facts = vec![
            format!(
                "{} low-confidence decisions ({:.0}% of those with inputs), mean confidence {:.0}%",
                cluster.size,
                cluster.share * 100.0,
                cluster.mean_confidence * 100.0
            ),
            format!("decided {}", listed(&cluster.decisions)),
            format!("runner-up {}", listed(&cluster.alternatives)),
        ];
        if let Some(rate) = cluster.outcomes.error_rate() {
            facts.push(format!(
                "{} of {} judged outcomes wrong ({:.0}%)",
                cluster.outcomes.wrong,
                cluster.outcomes.judged,
                rate * 100.0
            ));
        }
        out.push(RetrainingRecommendation {
            kind: RecommendationKind::UncertaintyCluster,
            action: format!(
                "Augment training data with labelled scenarios like uncertainty cluster {}: {}{between}",
                cluster.id,
                scenario.join(", ")
            ),
            evidence: Evidence {
                cluster: Some(cluster.id),
                decisions: cluster.size,
                features,
                examples: cluster.examples.clone(),
                facts,
            },
        });
    }
    let drifted = |kind| {
        analysis
            .drift
            .iter()
            .filter(move |d| d.kind == kind && d.drifted)
    };
    let inputs: Vec<_> = drifted(DriftKind::Input).collect();
    if !inputs.is_empty() {
        out.push(RetrainingRecommendation {
            kind: RecommendationKind::FeatureDrift,
            action: format!(
                "Retrain on recent data: the inputs {} moved away from the reference window",
                inputs
                    .iter()
                    .map(|d| d.feature.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            evidence: Evidence {
                cluster: None,
                decisions: inputs.first().map_or(0, |d| d.current_n),
                features: inputs.iter().map(|d| d.feature.clone()).collect(),
                examples: inputs
                    .first()
                    .map(|d| d.examples.clone())
                    .unwrap_or_default(),
                facts: inputs
                    .iter()
                    .map(|d| {
                        format!(
                            "{}: PSI {:.3}, KS D {:.3} (p {:.2e}), mean {:.3} → {:.3}",
                            d.feature,
                            d.psi,
                            d.ks.statistic,
                            d.ks.p_value,
                            d.reference_mean,
                            d.current_mean
                        )
                    })
                    .collect(),
            },
        });
    }
    let attributions: Vec<_> = drifted(DriftKind::Attribution).collect();
    if !attributions.is_empty() {
        out.push(RetrainingRecommendation {
            kind: RecommendationKind::AttributionDrift,
            action: format!(
                "Check what the model now relies on: the contributions of {} changed; confirm the change is wanted before the next retraining",
                attributions
                    .iter()
                    .map(|d| d.feature.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            evidence: Evidence {
                cluster: None,
                decisions: attributions.first().map_or(0, |d| d.current_n),
                features: attributions.iter().map(|d| d.feature.clone()).collect(),
                examples: attributions
                    .first()
                    .map(|d| d.examples.clone())
                    .unwrap_or_default(),
                facts: attributions
                    .iter()
                    .map(|d| {
                        format!(
                            "{}: PSI {:.3}, KS D {:.3} (p {:.2e}), mean contribution {:.4} → {:.4}",
                            d.feature, d.psi, d.ks.statistic, d.ks.p_value, d.reference_mean,
                            d.current_mean
                        )
                    })
                    .collect(),
            },
        });
    }
    if let Some(d) = drifted(DriftKind::Confidence).find(|d| d.current_mean < d.reference_mean) {
        let next = if analysis.with_inputs == 0 {
            "record the decisions' inputs (record_inputs in the profile) so that the next analysis can say in which scenarios"
        } else {
            "the uncertainty clusters above show in which scenarios"
        };
        out.push(RetrainingRecommendation {
            kind: RecommendationKind::ConfidenceDrift,
            action: format!(
                "Find out why the model became less sure (mean confidence {:.0}% → {:.0}%): {next}, and investigate the least confident decisions (whyline incident)",
                d.reference_mean * 100.0,
                d.current_mean * 100.0
            ),
            evidence: Evidence {
                cluster: None,
                decisions: d.current_n,
                features: Vec::new(),
                examples: d.examples.clone(),
                facts: vec![format!(
                    "confidence: PSI {:.3}, KS D {:.3} (p {:.2e}) over {} reference and {} current decisions",
                    d.psi, d.ks.statistic, d.ks.p_value, d.reference_n, d.current_n
                )],
            },
        });
    }
    if let Some(pair) = analysis.boundary.pairs.first()
        && pair.near + pair.flips >= MIN_BOUNDARY
    {
        out.push(RetrainingRecommendation {
            kind: RecommendationKind::DecisionBoundary,
            action: format!(
                "Add labelled examples on the boundary between {} and {}: the model decides between them by a margin under {:.2} or switches from one to the other",
                pair.class, pair.other, analysis.boundary.margin
            ),
            evidence: Evidence {
                cluster: None,
                decisions: pair.near + pair.flips,
                features: Vec::new(),
                examples: pair.examples.clone(),
                facts: vec![
                    format!(
                        "{} decisions of {} with {} runner-up within {:.2}",
                        pair.near, pair.class, pair.other, analysis.boundary.margin
                    ),
                    format!("{} flips from {} to {}", pair.flips, pair.other, pair.class),
                ],
            },
        });
    }
    let overall = &analysis.outcomes.overall;
    if overall.wrong > 0 {
        out.push(RetrainingRecommendation {
            kind: RecommendationKind::Outcomes,
            action: format!(
                "Add the {} decisions the outcomes show were wrong to the training set with their true labels, and replay them with the retrained model (whyline replay)",
                overall.wrong
            ),
            evidence: Evidence {
                cluster: None,
                decisions: overall.wrong,
                features: Vec::new(),
                examples: overall.wrong_examples.clone(),
                facts: vec![format!(
                    "{} of {} judged decisions wrong ({:.0}%), {} overridden by a human",
                    overall.wrong,
                    overall.judged,
                    overall.error_rate().unwrap_or(0.0) * 100.0,
                    overall.overridden
                )],
            },
        });
    }
    out
}
