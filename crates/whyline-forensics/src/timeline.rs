//! The decision timeline: each decision of the window as an investigator reads it.

use serde::Serialize;
use whyline_core::{AnyPath, DecisionPath, DecisionTrace, Names, SplitTest};

use crate::inputs::{DecisionOutcome, ExactAttribution, InputValue, WhyChanged};

/// One decision of an incident window.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TimelineEntry {
    /// Sequence number in the log.
    pub sequence: u64,
    /// Wall-clock time, Unix epoch nanoseconds.
    pub timestamp_ns: u64,
    /// Milliseconds relative to the incident (negative before it).
    pub relative_ms: f64,
    /// The decision, as a class name when the model has class names.
    pub decision: String,
    /// The class index, for classifiers.
    pub class: Option<usize>,
    /// The model's output.
    pub output: f32,
    /// Confidence in `[0, 1]`.
    pub confidence: f32,
    /// Other decisions the model weighed, with their probabilities, most likely first.
    pub alternatives: Vec<(String, f32)>,
    /// Why this decision: the top contributions, or the splits taken.
    pub rationale: String,
    /// Per-feature contributions carried by the path, `(feature name, value)`, largest first.
    pub contributions: Vec<(String, f32)>,
    /// Model latency, microseconds.
    pub latency_us: u64,
    /// The decision's index in the log, when read from one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub index: Option<u64>,
    /// What the model saw, by feature name, with z-scores (empty when not given).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub inputs: Vec<InputValue>,
    /// The context fields the application recorded with the decision.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub context: Vec<(String, serde_json::Value)>,
    /// Whether the decision's inputs were erased.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub inputs_erased: bool,
    /// The exact attribution of the decision, from the model file and its inputs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attribution: Option<ExactAttribution>,
    /// Where the decision differs from the one before: why it changed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub why_changed: Option<WhyChanged>,
    /// Outcomes and overrides linked to the decision.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub outcomes: Vec<DecisionOutcome>,
}

impl TimelineEntry {
    /// The timeline entry of one trace (its decision's class name, confidence, alternatives,
    /// top contributions and rationale), `incident_ns` being T-0: what a report holds for it,
    /// before the report adds its index, inputs and attributions. The server's live stream
    /// describes its sampled decisions with it.
    pub fn of_trace(
        trace: &DecisionTrace<AnyPath>,
        incident_ns: u64,
        names: &Names,
    ) -> TimelineEntry {
        timeline_entry(trace, incident_ns, names)
    }
}

/// Builds the timeline entry of one trace; `incident_ns` is T-0.
pub(crate) fn timeline_entry(
    trace: &DecisionTrace<AnyPath>,
    incident_ns: u64,
    names: &Names,
) -> TimelineEntry {
    let relative_ms = crate::time::relative_ms(trace.timestamp_ns, incident_ns);
    let (class, probabilities) = class_and_probabilities(&trace.path, trace.output);
    let decision = match class {
        Some(c) => names
            .classes
            .get(c)
            .cloned()
            .unwrap_or_else(|| format!("class {c}")),
        None => format!("value {}", trace.output),
    };
    let mut alternatives: Vec<(String, f32)> = probabilities
        .iter()
        .enumerate()
        .filter(|(i, p)| Some(*i) != class && **p >= 0.005)
        .map(|(i, p)| {
            (
                names
                    .classes
                    .get(i)
                    .cloned()
                    .unwrap_or_else(|| format!("class {i}")),
                *p,
            )
        })
        .collect();
    alternatives.sort_by(|a, b| b.1.total_cmp(&a.1));
    let contributions = top_contributions(trace.path.feature_contributions(), names, 5);
    TimelineEntry {
        sequence: trace.sequence,
        timestamp_ns: trace.timestamp_ns,
        relative_ms,
        decision,
        class,
        output: trace.output,
        confidence: trace.path.confidence(),
        alternatives,
        rationale: rationale(&trace.path, names, &contributions),
        contributions,
        latency_us: trace.latency_ns / 1_000,
        index: None,
        inputs: Vec::new(),
        context: Vec::new(),
        inputs_erased: false,
        attribution: None,
        why_changed: None,
        outcomes: Vec::new(),
    }
}

fn top_contributions(values: &[f32], names: &Names, k: usize) -> Vec<(String, f32)> {
    let mut indexed: Vec<(usize, f32)> = values
        .iter()
        .copied()
        .enumerate()
        .filter(|(_, v)| v.is_finite() && *v != 0.0)
        .collect();
    indexed.sort_by(|a, b| b.1.abs().total_cmp(&a.1.abs()).then(a.0.cmp(&b.0)));
    indexed.truncate(k);
    indexed
        .into_iter()
        .map(|(i, v)| (names.feature_short(i), v))
        .collect()
}

/// The class a classifier chose and its probability vector, when the path carries them.
pub(crate) fn class_and_probabilities(path: &AnyPath, output: f32) -> (Option<usize>, Vec<f32>) {
    let class_of = |v: f32| (v.is_finite() && v >= 0.0).then_some(v as usize);
    match path {
        AnyPath::Linear(p) => match p.probability {
            Some(prob) => {
                let class = class_of(p.prediction);
                (class, binary(class, prob))
            }
            None => (None, Vec::new()),
        },
        AnyPath::Tree(t) => match &t.leaf.class_distribution {
            Some(d) => (class_of(t.leaf.prediction), normalized(d)),
            None => (None, Vec::new()),
        },
        AnyPath::Forest(f) => {
            let distributions: Vec<Vec<f32>> = f
                .tree_paths
                .iter()
                .filter_map(|t| t.leaf.class_distribution.as_deref().map(normalized))
                .collect();
            if distributions.is_empty() {
                return match f.probability {
                    Some(prob) => {
                        let class = class_of(f.ensemble_prediction);
                        (class, binary(class, prob))
                    }
                    None => (None, Vec::new()),
                };
            }
            let width = distributions.iter().map(Vec::len).max().unwrap_or(0);
            let mut mean = vec![0.0f32; width];
            for d in &distributions {
                for (m, v) in mean.iter_mut().zip(d) {
                    *m += v / distributions.len() as f32;
                }
            }
            (class_of(f.ensemble_prediction), mean)
        }
        AnyPath::Knn(k) => {
            if k.votes.is_empty() {
                return (None, Vec::new());
            }
            let probabilities = match &k.weighted_votes {
                Some(w) => normalized(w),
                None => {
                    let width = k
                        .votes
                        .iter()
                        .map(|(c, _)| *c as usize + 1)
                        .max()
                        .unwrap_or(0);
                    let mut counts = vec![0.0f32; width];
                    for (c, n) in &k.votes {
                        if let Some(slot) = counts.get_mut(*c as usize) {
                            *slot = *n as f32;
                        }
                    }
                    normalized(&counts)
                }
            };
            (class_of(output), probabilities)
        }
        AnyPath::Neural(n) => match n.probability {
            Some(prob) => {
                let class = class_of(output);
                (class, binary(class, prob))
            }
            None => (None, Vec::new()),
        },
        // A cluster is not a class and distances are not probabilities.
        AnyPath::Cluster(c) => (Some(c.cluster as usize), Vec::new()),
    }
}

/// For a path that only knows the chosen class's probability: a two-class vector when the
/// chosen class is 0 or 1, otherwise just the chosen one.
fn binary(class: Option<usize>, probability: f32) -> Vec<f32> {
    match class {
        Some(0) => vec![probability, 1.0 - probability],
        Some(1) => vec![1.0 - probability, probability],
        Some(c) => {
            let mut v = vec![0.0; c + 1];
            v[c] = probability;
            v
        }
        None => Vec::new(),
    }
}

fn normalized(values: &[f32]) -> Vec<f32> {
    let total: f32 = values.iter().sum();
    if total > 0.0 {
        values.iter().map(|v| v / total).collect()
    } else {
        values.to_vec()
    }
}

fn rationale(path: &AnyPath, names: &Names, contributions: &[(String, f32)]) -> String {
    let listed = |items: &[(String, f32)]| {
        items
            .iter()
            .take(3)
            .map(|(name, v)| format!("{name} {}{v:.3}", if *v >= 0.0 { "+" } else { "" }))
            .collect::<Vec<_>>()
            .join(", ")
    };
    match path {
        AnyPath::Tree(tree) => {
            let splits: Vec<String> =
                tree.splits
                    .iter()
                    .map(|s| {
                        let feature = names.feature_short(s.feature_index as usize);
                        let op = match (s.test, s.went_left) {
                            (SplitTest::LessOrEqual, true) => "<=",
                            (SplitTest::LessOrEqual, false) => ">",
                            (SplitTest::Less, true) => "<",
                            (SplitTest::Less, false) => ">=",
                            (SplitTest::InCategories, true)
                            | (SplitTest::NotInCategories, false) => "in",
                            (SplitTest::InCategories, false)
                            | (SplitTest::NotInCategories, true) => "not in",
                        };
                        match s.test {
                            SplitTest::InCategories | SplitTest::NotInCategories => {
                                format!("{feature} {op} {:?}", s.categories)
                            }
                            SplitTest::LessOrEqual | SplitTest::Less => {
                                format!("{feature} {op} {}", s.threshold)
                            }
                        }
                    })
                    .collect();
            format!("{} → leaf {}", splits.join(", "), tree.leaf.node_index)
        }
        AnyPath::Forest(forest) => format!(
            "{:.0}% of {} trees agree; most important along the paths: {}",
            forest.tree_agreement * 100.0,
            forest.tree_paths.len().max(forest.tree_predictions.len()),
            listed(contributions)
        ),
        AnyPath::Knn(knn) => format!(
            "{} nearest neighbours voted {:?}",
            knn.neighbor_indices.len(),
            knn.votes
        ),
        AnyPath::Linear(_) | AnyPath::Neural(_) => {
            format!("top contributions: {}", listed(contributions))
        }
        AnyPath::Cluster(cluster) => format!(
            "cluster {} over runner-up {} by {:.3}; deciding features: {}",
            cluster.cluster,
            cluster.runner_up,
            cluster.margin,
            listed(contributions)
        ),
    }
}
