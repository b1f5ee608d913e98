//! Uncertainty clusters: where in input space the model hesitates.
//!
//! The inputs of the low-confidence decisions (confidence below
//! [`KaizenSettings::low_confidence`](super::KaizenSettings::low_confidence)) are
//! standardised per feature (mean 0, standard deviation 1 over those points, so no feature
//! dominates by its unit) and grouped by k-means (Lloyd's iterations from k-means++ seeds,
//! drawn from a SplitMix64 generator with a fixed seed, so the same log gives the same
//! clusters; three seedings per `k`, the lowest inertia kept). `k` runs from 2 to
//! [`max_clusters`](super::KaizenSettings::max_clusters) and the one with the highest mean
//! silhouette wins (computed on at most [`SILHOUETTE_SAMPLE`] points, every `⌈n / 2000⌉`-th);
//! when no `k` reaches [`min_silhouette`](super::KaizenSettings::min_silhouette), or there
//! are fewer than 4 points, all low-confidence decisions form one cluster.

use std::collections::BTreeMap;

use serde::Serialize;
use whyline_core::Names;

use super::decision::{KaizenDecision, class_name, feature_name};
use super::outcomes::OutcomeCount;

/// At most this many points enter the silhouette (which costs `O(n²)`).
pub const SILHOUETTE_SAMPLE: usize = 2000;

const SEEDINGS: u64 = 3;
const MAX_ITERATIONS: usize = 100;

/// A group of low-confidence decisions with similar inputs.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct UncertaintyCluster {
    /// The cluster's number in the report (largest first, from 1).
    pub id: usize,
    /// Decisions in it.
    pub size: usize,
    /// Its share of the low-confidence decisions with inputs.
    pub share: f64,
    /// Its mean confidence.
    pub mean_confidence: f64,
    /// The centre, in the features' own units: `(feature, value)`.
    pub centre: Vec<(String, f64)>,
    /// The features where the centre lies farthest from the usual inputs, as z-scores
    /// against the training statistics (with `--model`) or the window's inputs; largest
    /// `|z|` first, at most three.
    pub distinguishing: Vec<(String, f64)>,
    /// The classes decided in the cluster, most frequent first, with counts.
    pub decisions: Vec<(String, usize)>,
    /// The runner-up classes (the alternatives the model weighed), most frequent first.
    pub alternatives: Vec<(String, usize)>,
    /// Log indices of the decisions nearest the centre.
    pub examples: Vec<u64>,
    /// Outcomes recorded for the cluster's decisions.
    pub outcomes: OutcomeCount,
    /// Log indices of every decision in the cluster (not serialised).
    #[serde(skip)]
    pub members: Vec<u64>,
}

/// The clustering as a whole.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct ClusterSummary {
    /// Decisions below the confidence threshold in the window.
    pub low_confidence: usize,
    /// Of those, how many have readable inputs (the points clustered).
    pub with_inputs: usize,
    /// The `k` chosen.
    pub k: usize,
    /// The mean silhouette of the chosen `k` (`None` for a single cluster).
    pub silhouette: Option<f64>,
    /// The silhouette of each `k` tried.
    pub silhouettes: Vec<(usize, f64)>,
    /// What the clustering could not use, when something is missing.
    pub note: Option<String>,
}

/// SplitMix64: a small, fixed, well-mixed generator for the seeding.
pub(crate) struct SplitMix(u64);

impl SplitMix {
    pub(crate) fn new(seed: u64) -> Self {
        SplitMix(seed)
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `[0, 1)`.
    pub(crate) fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }
}

fn distance2(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum()
}

/// A k-means result: centres, the label of each point, the inertia.
#[derive(Clone, Debug, PartialEq)]
pub struct KMeans {
    /// The centres.
    pub centres: Vec<Vec<f64>>,
    /// Each point's cluster.
    pub labels: Vec<usize>,
    /// Sum of squared distances to the assigned centres.
    pub inertia: f64,
}

/// k-means with k-means++ seeding (Arthur and Vassilvitskii, 2007) and Lloyd's iterations
/// until no label changes (at most 100), best of three seedings from `seed`. `points` must be
/// non-empty and of one width; `k` is capped at the number of points.
pub fn kmeans(points: &[Vec<f64>], k: usize, seed: u64) -> KMeans {
    let mut best: Option<KMeans> = None;
    for run in 0..SEEDINGS {
        let mut rng = SplitMix::new(seed ^ (run.wrapping_mul(0xA24B_AED4_963E_E407)));
        let result = lloyd(points, seed_centres(points, k, &mut rng));
        if best.as_ref().is_none_or(|b| result.inertia < b.inertia) {
            best = Some(result);
        }
    }
    best.unwrap_or(KMeans {
        centres: Vec::new(),
        labels: Vec::new(),
        inertia: 0.0,
    })
}

fn seed_centres(points: &[Vec<f64>], k: usize, rng: &mut SplitMix) -> Vec<Vec<f64>> {
    let n = points.len();
    let k = k.min(n).max(1);
    let mut centres: Vec<Vec<f64>> = Vec::with_capacity(k);
    let first = (rng.next_u64() % n as u64) as usize;
    centres.push(points[first].clone());
    let mut nearest: Vec<f64> = points.iter().map(|p| distance2(p, &centres[0])).collect();
    while centres.len() < k {
        let total: f64 = nearest.iter().sum();
        let chosen = if total > 0.0 {
            let target = rng.next_f64() * total;
            let mut running = 0.0;
            nearest
                .iter()
                .position(|d| {
                    running += d;
                    running > target
                })
                .unwrap_or(n - 1)
        } else {
            (rng.next_u64() % n as u64) as usize
        };
        let centre = points[chosen].clone();
        for (d, p) in nearest.iter_mut().zip(points) {
            *d = d.min(distance2(p, &centre));
        }
        centres.push(centre);
    }
    centres
}

fn lloyd(points: &[Vec<f64>], mut centres: Vec<Vec<f64>>) -> KMeans {
    let width = points.first().map_or(0, Vec::len);
    let mut labels = vec![usize::MAX; points.len()];
    for _ in 0..MAX_ITERATIONS {
        let mut changed = false;
        for (label, p) in labels.iter_mut().zip(points) {
            let best = nearest_centre(p, &centres);
            if *label != best {
                *label = best;
                changed = true;
            }
        }
        if !changed {
            break;
        }
        let mut sums = vec![vec![0.0; width]; centres.len()];
        let mut counts = vec![0usize; centres.len()];
        for (&label, p) in labels.iter().zip(points) {
            counts[label] += 1;
            for (s, v) in sums[label].iter_mut().zip(p) {
                *s += v;
            }
        }
        for ((centre, sum), count) in centres.iter_mut().zip(sums).zip(counts) {
            // An emptied cluster keeps its centre.
            if count > 0 {
                *centre = sum.into_iter().map(|s| s / count as f64).collect();
            }
        }
    }
    let inertia = labels
        .iter()
        .zip(points)
        .map(|(&l, p)| distance2(p, &centres[l]))
        .sum();
    KMeans {
        centres,
        labels,
        inertia,
    }
}

fn nearest_centre(p: &[f64], centres: &[Vec<f64>]) -> usize {
    centres
        .iter()
        .enumerate()
        .map(|(i, c)| (i, distance2(p, c)))
        .min_by(|a, b| a.1.total_cmp(&b.1))
        .map_or(0, |(i, _)| i)
}

/// The mean silhouette (Rousseeuw, 1987) of a labelling, Euclidean distance; a point alone
/// in its cluster scores 0, as in scikit-learn's `silhouette_score`.
pub fn silhouette(points: &[Vec<f64>], labels: &[usize]) -> f64 {
    let k = labels.iter().copied().max().map_or(0, |m| m + 1);
    let mut sizes = vec![0usize; k];
    for &l in labels {
        sizes[l] += 1;
    }
    let mut total = 0.0;
    for (i, p) in points.iter().enumerate() {
        let mut sums = vec![0.0f64; k];
        for (q, &l) in points.iter().zip(labels) {
            sums[l] += distance2(p, q).sqrt();
        }
        let own = labels[i];
        if sizes[own] <= 1 {
            continue;
        }
        let a = sums[own] / (sizes[own] - 1) as f64;
        let b = (0..k)
            .filter(|&c| c != own && sizes[c] > 0)
            .map(|c| sums[c] / sizes[c] as f64)
            .fold(f64::INFINITY, f64::min);
        if b.is_finite() && a.max(b) > 0.0 {
            total += (b - a) / a.max(b);
        }
    }
    total / points.len().max(1) as f64
}

/// The settings the clustering reads.
pub(crate) struct ClusterSettings {
    pub(crate) low_confidence: f32,
    pub(crate) max_clusters: usize,
    pub(crate) min_silhouette: f64,
    pub(crate) seed: u64,
    pub(crate) examples: usize,
}

/// Clusters the low-confidence decisions of `decisions` by their inputs.
pub(crate) fn find_clusters(
    decisions: &[KaizenDecision],
    names: &Names,
    training: Option<&(Vec<f64>, Vec<f64>)>,
    settings: &ClusterSettings,
) -> (Vec<UncertaintyCluster>, ClusterSummary) {
    let low: Vec<&KaizenDecision> = decisions
        .iter()
        .filter(|d| d.confidence < settings.low_confidence)
        .collect();
    let width = low
        .iter()
        .filter_map(|d| d.inputs.as_ref().map(Vec::len))
        .next();
    let points_of: Vec<&KaizenDecision> = low
        .iter()
        .copied()
        .filter(|d| d.inputs.as_ref().map(Vec::len) == width && width.is_some())
        .collect();
    let mut summary = ClusterSummary {
        low_confidence: low.len(),
        with_inputs: points_of.len(),
        ..ClusterSummary::default()
    };
    if low.is_empty() {
        summary.note = Some(format!(
            "no decision below confidence {:.2}: nothing to cluster",
            settings.low_confidence
        ));
        return (Vec::new(), summary);
    }
    let Some(width) = width else {
        summary.note = Some(
            "the log holds no readable inputs for its low-confidence decisions (record inputs \
             with record_inputs, and keep the key store beside the log): no clusters"
                .to_owned(),
        );
        return (Vec::new(), summary);
    };
    let raw: Vec<Vec<f64>> = points_of.iter().filter_map(|d| d.inputs.clone()).collect();
    let (mean, std) = statistics(&raw, width);
    let points: Vec<Vec<f64>> = raw
        .iter()
        .map(|r| {
            r.iter()
                .zip(mean.iter().zip(&std))
                .map(|(v, (m, s))| (v - m) / s)
                .collect()
        })
        .collect();
    let stride = points.len().div_ceil(SILHOUETTE_SAMPLE).max(1);
    let sample: Vec<usize> = (0..points.len()).step_by(stride).collect();
    let sample_points: Vec<Vec<f64>> = sample.iter().map(|&i| points[i].clone()).collect();
    let mut chosen = (1usize, None::<f64>, None::<KMeans>);
    if points.len() >= 4 {
        for k in 2..=settings.max_clusters.min(points.len() - 1) {
            let result = kmeans(&points, k, settings.seed);
            let labels: Vec<usize> = sample.iter().map(|&i| result.labels[i]).collect();
            let score = silhouette(&sample_points, &labels);
            summary.silhouettes.push((k, score));
            if score >= settings.min_silhouette && chosen.1.is_none_or(|best| score > best) {
                chosen = (k, Some(score), Some(result));
            }
        }
    }
    let (k, score, result) = chosen;
    let labels = result.map_or_else(|| vec![0; points.len()], |r| r.labels);
    summary.k = k;
    summary.silhouette = score;
    // The usual inputs the centres are compared with: the training statistics, else every
    // decision of the window with inputs.
    let (usual_mean, usual_std) = match training {
        Some((m, s)) if m.len() == width && s.len() == width => (m.clone(), s.clone()),
        _ => {
            let all: Vec<Vec<f64>> = decisions
                .iter()
                .filter_map(|d| d.inputs.clone())
                .filter(|r| r.len() == width)
                .collect();
            statistics(&all, width)
        }
    };
    let mut clusters: Vec<UncertaintyCluster> = (0..k)
        .map(|c| {
            let members: Vec<usize> = (0..labels.len()).filter(|&i| labels[i] == c).collect();
            describe(
                c,
                &members,
                &points_of,
                &raw,
                names,
                (&usual_mean, &usual_std),
                settings.examples,
            )
        })
        .filter(|c| c.size > 0)
        .collect();
    clusters.sort_by(|a, b| b.size.cmp(&a.size).then(a.id.cmp(&b.id)));
    for (i, cluster) in clusters.iter_mut().enumerate() {
        cluster.id = i + 1;
        cluster.share = cluster.size as f64 / raw.len() as f64;
    }
    (clusters, summary)
}

/// Mean and standard deviation (population; 1 where it is 0) per feature.
fn statistics(rows: &[Vec<f64>], width: usize) -> (Vec<f64>, Vec<f64>) {
    let n = rows.len().max(1) as f64;
    let mean: Vec<f64> = (0..width)
        .map(|j| rows.iter().map(|r| r[j]).sum::<f64>() / n)
        .collect();
    let std = (0..width)
        .map(|j| {
            let var = rows.iter().map(|r| (r[j] - mean[j]).powi(2)).sum::<f64>() / n;
            if var > 0.0 { var.sqrt() } else { 1.0 }
        })
        .collect();
    (mean, std)
}

fn ranked(counts: BTreeMap<String, usize>) -> Vec<(String, usize)> {
    let mut list: Vec<(String, usize)> = counts.into_iter().collect();
    list.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    list.truncate(3);
    list
}

fn describe(
    id: usize,
    members: &[usize],
    decisions: &[&KaizenDecision],
    raw: &[Vec<f64>],
    names: &Names,
    usual: (&[f64], &[f64]),
    examples: usize,
) -> UncertaintyCluster {
    let width = raw.first().map_or(0, Vec::len);
    let size = members.len();
    let centre: Vec<f64> = (0..width)
        .map(|j| members.iter().map(|&i| raw[i][j]).sum::<f64>() / size.max(1) as f64)
        .collect();
    let mut distinguishing: Vec<(String, f64)> = centre
        .iter()
        .enumerate()
        .map(|(j, c)| {
            let (m, s) = (usual.0[j], usual.1[j]);
            let z = if s > 0.0 { (c - m) / s } else { 0.0 };
            (feature_name(names, j), z)
        })
        .collect();
    distinguishing.sort_by(|a, b| b.1.abs().total_cmp(&a.1.abs()));
    distinguishing.truncate(3);
    let mut decided = BTreeMap::new();
    let mut alternatives = BTreeMap::new();
    let mut outcomes = OutcomeCount::default();
    for &i in members {
        let d = decisions[i];
        if let Some(c) = d.class {
            *decided.entry(class_name(names, c)).or_insert(0) += 1;
        }
        if let Some((r, _)) = d.runner_up() {
            *alternatives.entry(class_name(names, r)).or_insert(0) += 1;
        }
        outcomes.add(d, names);
    }
    let mut nearest: Vec<(f64, u64)> = members
        .iter()
        .map(|&i| (distance2(&raw[i], &centre), decisions[i].index))
        .collect();
    nearest.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    UncertaintyCluster {
        id,
        size,
        share: 0.0,
        mean_confidence: members
            .iter()
            .map(|&i| f64::from(decisions[i].confidence))
            .sum::<f64>()
            / size.max(1) as f64,
        centre: centre
            .iter()
            .enumerate()
            .map(|(j, v)| (feature_name(names, j), *v))
            .collect(),
        distinguishing,
        decisions: ranked(decided),
        alternatives: ranked(alternatives),
        examples: nearest.iter().take(examples).map(|n| n.1).collect(),
        outcomes,
        members: members.iter().map(|&i| decisions[i].index).collect(),
    }
}
