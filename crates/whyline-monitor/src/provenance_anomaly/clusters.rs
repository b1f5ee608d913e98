//! The baseline: sketches of normal graphs, clustered with k-medoids on the sketch distance.
//!
//! Learning keeps a snapshot of a graph's sketch after every edge it receives, so graphs still
//! being built have peers at the same stage (a detector that only knew finished graphs would
//! flag every graph in its first edges). Snapshots beyond `max_baseline_points` are reservoir
//! sampled with a fixed seed. Fitting runs k-medoids: farthest-first seeding from the first
//! snapshot, then alternate assignment to the nearest medoid and, within each cluster, the
//! member with the least total distance as the new medoid, until nothing changes (at most 20
//! rounds). A cluster's threshold is `max(mean + z × std, floor)` of its members' distances to
//! its medoid.
//!
//! A graph fits a cluster when its distance to the medoid is at most the cluster's threshold;
//! a graph that fits none is anomalous, and is reported against the cluster it misses by the
//! least. The comparison runs on hamming counts (a threshold distance `t` is the bit count
//! `width / π × acos(1 − t)`, the distance being monotone in the count), so placing a sketch
//! costs `clusters × width / 64` popcounts and one cosine.

use super::sketch::{distance, hamming, mix64};
use crate::error::{MonitorError, Result};

const MAX_ROUNDS: usize = 20;

/// Baseline sketches waiting to be clustered (a reservoir sample of fixed size).
#[derive(Debug)]
pub(crate) struct BaselinePoints {
    words: usize,
    capacity: usize,
    points: Vec<u64>,
    offered: u64,
    state: u64,
}

impl BaselinePoints {
    pub(crate) fn new(words: usize, capacity: usize, seed: u64) -> Self {
        Self {
            words,
            capacity,
            points: Vec::new(),
            offered: 0,
            state: seed,
        }
    }

    /// Offers one snapshot; kept with probability `capacity / offered` (Algorithm R).
    pub(crate) fn offer(&mut self, bits: &[u64]) {
        self.offered += 1;
        let held = self.points.len() / self.words.max(1);
        if held < self.capacity {
            self.points.extend_from_slice(bits);
            return;
        }
        self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let slot = mix64(self.state) % self.offered;
        if let Ok(slot) = usize::try_from(slot)
            && slot < self.capacity
            && let Some(target) = self
                .points
                .get_mut(slot * self.words..(slot + 1) * self.words)
        {
            target.copy_from_slice(bits);
        }
    }

    /// Snapshots held.
    pub(crate) fn len(&self) -> usize {
        self.points.len() / self.words.max(1)
    }

    /// Snapshots offered.
    pub(crate) fn offered(&self) -> u64 {
        self.offered
    }

    /// Heap bytes held.
    pub(crate) fn heap_bytes(&self) -> usize {
        self.points.capacity() * size_of::<u64>()
    }

    fn point(&self, index: usize) -> &[u64] {
        self.points
            .get(index * self.words..(index + 1) * self.words)
            .unwrap_or(&[])
    }
}

/// One baseline cluster, as [`fit_baseline`](super::StreamingProvenanceMonitor::fit_baseline)
/// reports it.
#[derive(Clone, Debug, PartialEq)]
pub struct ClusterSummary {
    /// Baseline snapshots in the cluster.
    pub size: usize,
    /// Mean distance of the members to the medoid.
    pub mean_distance: f64,
    /// Standard deviation of those distances.
    pub std_distance: f64,
    /// The anomaly threshold: `max(mean + z × std, min_threshold)`.
    pub threshold: f64,
}

/// What the baseline was learned from and the clusters it became.
#[derive(Clone, Debug, PartialEq)]
pub struct BaselineSummary {
    /// Sketch snapshots offered (one per learned edge).
    pub snapshots_offered: u64,
    /// Snapshots clustered (the reservoir sample).
    pub snapshots_clustered: usize,
    /// The clusters, in index order (the `cluster` of an alert).
    pub clusters: Vec<ClusterSummary>,
}

/// The fitted clusters: medoid sketches and thresholds.
#[derive(Debug)]
pub(crate) struct Clusters {
    words: usize,
    medoids: Vec<u64>,
    thresholds: Vec<f64>,
    /// The thresholds as hamming counts.
    bit_thresholds: Vec<f64>,
    /// Hamming counts between medoids, `k × k`, row-major.
    medoid_distances: Vec<u16>,
    /// [`distance`] of every hamming count `0..=width`: a placement per edge looks its
    /// distance up instead of computing a cosine (the same expression, so the same bits).
    distance_of_bits: Vec<f64>,
}

/// Where a sketch stands against the clusters.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Placement {
    pub(crate) cluster: usize,
    pub(crate) distance: f64,
    pub(crate) threshold: f64,
    /// Whether the sketch is within the threshold (decided on hamming counts).
    pub(crate) fits: bool,
}

impl Clusters {
    /// k-medoids over the baseline points.
    pub(crate) fn fit(
        points: &BaselinePoints,
        k: usize,
        z: f64,
        floor: f64,
    ) -> Result<(Self, Vec<ClusterSummary>)> {
        let n = points.len();
        if n == 0 {
            return Err(MonitorError::EmptyBaseline);
        }
        let mut medoids = farthest_first(points, k);
        let mut assignment = vec![0usize; n];
        for _ in 0..MAX_ROUNDS {
            for (index, slot) in assignment.iter_mut().enumerate() {
                *slot = nearest_medoid(points, &medoids, points.point(index)).0;
            }
            let mut changed = false;
            for (cluster, medoid) in medoids.iter_mut().enumerate() {
                let members: Vec<usize> = (0..n)
                    .filter(|i| assignment.get(*i) == Some(&cluster))
                    .collect();
                let best = members
                    .iter()
                    .map(|candidate| {
                        let total: f64 = members
                            .iter()
                            .map(|other| distance(points.point(*candidate), points.point(*other)))
                            .sum();
                        (total, *candidate)
                    })
                    .min_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
                if let Some((_, best)) = best
                    && best != *medoid
                    && distance(points.point(best), points.point(*medoid)) > 0.0
                {
                    *medoid = best;
                    changed = true;
                }
            }
            if !changed {
                break;
            }
        }
        for (index, slot) in assignment.iter_mut().enumerate() {
            *slot = nearest_medoid(points, &medoids, points.point(index)).0;
        }
        let mut summaries = Vec::with_capacity(medoids.len());
        let mut thresholds = Vec::with_capacity(medoids.len());
        let mut medoid_bits = Vec::with_capacity(medoids.len() * points.words);
        for (cluster, medoid) in medoids.iter().enumerate() {
            let distances: Vec<f64> = (0..n)
                .filter(|i| assignment.get(*i) == Some(&cluster))
                .map(|i| distance(points.point(i), points.point(*medoid)))
                .collect();
            let size = distances.len();
            let mean = distances.iter().sum::<f64>() / size.max(1) as f64;
            let variance =
                distances.iter().map(|d| (d - mean).powi(2)).sum::<f64>() / size.max(1) as f64;
            let std = variance.sqrt();
            let threshold = (mean + z * std).max(floor);
            summaries.push(ClusterSummary {
                size,
                mean_distance: mean,
                std_distance: std,
                threshold,
            });
            thresholds.push(threshold);
            medoid_bits.extend_from_slice(points.point(*medoid));
        }
        let width = (points.words * 64) as f64;
        let bit_thresholds = thresholds
            .iter()
            .map(|t| width / std::f64::consts::PI * (1.0 - t).clamp(-1.0, 1.0).acos())
            .collect();
        let words = points.words.max(1);
        let medoid_distances = medoid_bits
            .chunks_exact(words)
            .flat_map(|a| {
                medoid_bits
                    .chunks_exact(words)
                    .map(move |b| u16::try_from(hamming(a, b)).unwrap_or(u16::MAX))
            })
            .collect();
        Ok((
            Self {
                words: points.words,
                medoids: medoid_bits,
                thresholds,
                bit_thresholds,
                medoid_distances,
                distance_of_bits: (0..=points.words * 64)
                    .map(|bits| bits_distance(bits as u32, width))
                    .collect(),
            },
            summaries,
        ))
    }

    /// The cluster `bits` fits best, or misses by the least: smallest hamming count minus
    /// the cluster's threshold count. Scans every cluster.
    pub(crate) fn place(&self, bits: &[u64]) -> Placement {
        self.scan(bits)
    }

    /// A cluster `bits` fits, or, when it fits none, the one it misses by the least (the
    /// same as [`place`](Self::place) then). The `hint` cluster (where the graph was placed at
    /// its previous edge) is tried first; the scan stops at the first fit, and skips clusters
    /// by the triangle inequality: with `H` the hamming count to the hint's medoid, cluster
    /// `c` is at least `|H − hamming(medoid(hint), medoid(c))|` away, so a cluster whose
    /// bound cannot beat the best margin so far is not compared.
    #[inline]
    pub(crate) fn place_near(&self, bits: &[u64], hint: usize) -> Placement {
        let k = self.thresholds.len();
        let (Some(hint_medoid), Some(hint_threshold), Some(row)) = (
            self.medoids.get(hint * self.words..(hint + 1) * self.words),
            self.bit_thresholds.get(hint),
            self.medoid_distances.get(hint * k..(hint + 1) * k),
        ) else {
            return self.place(bits);
        };
        let to_hint = hamming(bits, hint_medoid);
        let mut best = (hint, to_hint, f64::from(to_hint) - hint_threshold);
        if best.2 <= 0.0 {
            return self.placement(best.0, best.1, true);
        }
        for (cluster, ((medoid, bit_threshold), between)) in self
            .medoids
            .chunks_exact(self.words.max(1))
            .zip(&self.bit_thresholds)
            .zip(row)
            .enumerate()
        {
            let bound = f64::from(to_hint.abs_diff(u32::from(*between))) - bit_threshold;
            if bound >= best.2 || cluster == hint {
                continue;
            }
            let bits_apart = hamming(bits, medoid);
            let margin = f64::from(bits_apart) - bit_threshold;
            if margin < best.2 {
                best = (cluster, bits_apart, margin);
                if margin <= 0.0 {
                    break;
                }
            }
        }
        self.placement(best.0, best.1, best.2 <= 0.0)
    }

    /// Scans every cluster for the smallest margin.
    fn scan(&self, bits: &[u64]) -> Placement {
        let mut best = (0usize, 0u32, f64::INFINITY);
        for (cluster, (medoid, bit_threshold)) in self
            .medoids
            .chunks_exact(self.words.max(1))
            .zip(&self.bit_thresholds)
            .enumerate()
        {
            let bits_apart = hamming(bits, medoid);
            let margin = f64::from(bits_apart) - bit_threshold;
            if margin < best.2 {
                best = (cluster, bits_apart, margin);
            }
        }
        self.placement(best.0, best.1, best.2 <= 0.0)
    }

    fn placement(&self, cluster: usize, bits_apart: u32, fits: bool) -> Placement {
        let distance = match self.distance_of_bits.get(bits_apart as usize) {
            Some(&distance) => distance,
            None => bits_distance(bits_apart, (self.words * 64) as f64),
        };
        Placement {
            cluster,
            distance,
            threshold: self.thresholds.get(cluster).copied().unwrap_or(0.0),
            fits,
        }
    }

    /// Sketch width in bits.
    pub(crate) fn width(&self) -> usize {
        self.words * 64
    }

    /// Number of clusters.
    pub(crate) fn len(&self) -> usize {
        self.thresholds.len()
    }

    /// Heap bytes held.
    pub(crate) fn heap_bytes(&self) -> usize {
        self.medoids.capacity() * size_of::<u64>()
            + (self.thresholds.capacity() + self.bit_thresholds.capacity()) * size_of::<f64>()
            + self.medoid_distances.capacity() * size_of::<u16>()
            + self.distance_of_bits.capacity() * size_of::<f64>()
    }
}

/// Up to `k` seeds: the first point, then repeatedly the point farthest from every seed so
/// far (first on ties), stopping early when every point coincides with a seed.
fn farthest_first(points: &BaselinePoints, k: usize) -> Vec<usize> {
    let n = points.len();
    let mut medoids = vec![0];
    let mut nearest: Vec<f64> = (0..n)
        .map(|i| distance(points.point(i), points.point(0)))
        .collect();
    while medoids.len() < k {
        let Some((far, far_distance)) = nearest
            .iter()
            .copied()
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(&b.1).then(b.0.cmp(&a.0)))
        else {
            break;
        };
        if far_distance <= 0.0 {
            break;
        }
        medoids.push(far);
        for (i, slot) in nearest.iter_mut().enumerate() {
            *slot = slot.min(distance(points.point(i), points.point(far)));
        }
    }
    medoids
}

fn nearest_medoid(points: &BaselinePoints, medoids: &[usize], bits: &[u64]) -> (usize, f64) {
    medoids
        .iter()
        .enumerate()
        .map(|(cluster, medoid)| (cluster, distance(bits, points.point(*medoid))))
        .min_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)))
        .unwrap_or((0, f64::INFINITY))
}

/// `1 − cos(π × bits / width)`: the distance of two sketches `bits` apart (as
/// [`distance`] computes it from the sketches).
fn bits_distance(bits: u32, width: f64) -> f64 {
    1.0 - (std::f64::consts::PI * f64::from(bits) / width).cos()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_separated_groups_become_two_clusters_with_their_own_thresholds() {
        let mut points = BaselinePoints::new(1, 100, 1);
        for flip in 0..4u32 {
            points.offer(&[1u64 << flip]);
            points.offer(&[!0u64 ^ (1u64 << flip)]);
        }
        let (clusters, summaries) = Clusters::fit(&points, 2, 3.0, 0.0).unwrap();
        assert_eq!(clusters.len(), 2);
        assert_eq!(summaries.iter().map(|s| s.size).sum::<usize>(), 8);
        assert!(summaries.iter().all(|s| s.size == 4));
        assert!(clusters.place(&[0]).fits);
        assert!(clusters.place(&[!0]).fits);
        assert!(!clusters.place(&[0xffff_ffff]).fits);
    }

    /// The baseline's memory figure holds the points it keeps.
    #[test]
    fn baseline_heap_bytes_hold_the_points() {
        let mut points = BaselinePoints::new(2, 100, 1);
        for i in 0..50u64 {
            points.offer(&[i, !i]);
        }
        assert!(points.heap_bytes() >= 50 * 2 * size_of::<u64>());
    }

    /// A sketch as far from two medoids with the same threshold is placed
    /// deterministically: a scan keeps the first cluster, a placement near a hint keeps the
    /// hint.
    #[test]
    fn a_tie_keeps_the_first_cluster_or_the_hint() {
        let mut points = BaselinePoints::new(1, 100, 1);
        for _ in 0..4 {
            points.offer(&[0]);
            points.offer(&[0xff]);
        }
        let (clusters, _) = Clusters::fit(&points, 2, 3.0, 0.0).unwrap();
        assert_eq!(clusters.len(), 2);
        assert_eq!(clusters.bit_thresholds[0], clusters.bit_thresholds[1]);
        // 8 bits from 0 and 8 from 0xff; the medoids are 8 apart, so the triangle bound
        // does not skip the other cluster.
        let bits = [0xf0f_u64];
        assert!(!clusters.place(&bits).fits);
        assert_eq!(clusters.place(&bits).cluster, 0);
        for hint in [0, 1] {
            assert_eq!(
                clusters.place_near(&bits, hint).cluster,
                hint,
                "hint {hint}"
            );
        }
    }

    /// The memory figure counts each part once: the medoid sketches, two thresholds and a
    /// row of medoid distances per cluster, and the distance table, within what the vectors
    /// hold beyond their lengths (at most twice).
    #[test]
    fn heap_bytes_count_each_part_once() {
        let mut rng = 0x9e37_u64;
        let mut points = BaselinePoints::new(1, 400, 1);
        for _ in 0..300 {
            rng = mix64(rng);
            points.offer(&[rng]);
        }
        let (clusters, _) = Clusters::fit(&points, 48, 3.0, 0.0).unwrap();
        let k = clusters.len();
        assert!(k >= 40, "{k} clusters");
        let parts = k * 8 + 2 * k * 8 + k * k * 2 + 65 * 8;
        let bytes = clusters.heap_bytes();
        assert!(
            (parts..=2 * parts).contains(&bytes),
            "{bytes} bytes for {k} clusters, the parts {parts}"
        );
        // And exactly what the vectors hold.
        let held = clusters.medoids.capacity() * 8
            + clusters.thresholds.capacity() * 8
            + clusters.bit_thresholds.capacity() * 8
            + clusters.medoid_distances.capacity() * 2
            + clusters.distance_of_bits.capacity() * 8;
        assert_eq!(bytes, held);
    }

    /// k-medoids runs until nothing moves: every fitted medoid has the least total distance
    /// to the members of its cluster (each point taken to its nearest medoid, the first on
    /// ties, as the fit assigns), so no member would be a better medoid. A fit stopped after
    /// its first round that moved a medoid leaves clusters whose medoid is not their centre.
    #[test]
    fn k_medoids_stops_where_every_medoid_is_its_clusters_centre() {
        for (seed, k) in [(0x5eed_u64, 5), (7, 8), (11, 12), (13, 3)] {
            let mut rng = seed;
            let mut next = || {
                rng = mix64(rng);
                rng
            };
            let mut points = BaselinePoints::new(1, 400, 1);
            for _ in 0..300 {
                // Loose clumps around five patterns: farthest-first seeds on their edges.
                let base = (next() % 5).wrapping_mul(0x0f0f_3333_5555_00ff);
                points.offer(&[base ^ (next() & next())]);
            }
            let (clusters, summaries) = Clusters::fit(&points, k, 3.0, 0.0).unwrap();
            let k = clusters.len();
            let medoid = |c: usize| &clusters.medoids[c..c + 1];
            let mut members: Vec<Vec<usize>> = vec![Vec::new(); k];
            for i in 0..points.len() {
                let nearest = (0..k)
                    .map(|c| (c, distance(points.point(i), medoid(c))))
                    .min_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)))
                    .unwrap()
                    .0;
                members[nearest].push(i);
            }
            let total = |bits: &[u64], cluster: &[usize]| -> f64 {
                cluster
                    .iter()
                    .map(|other| distance(bits, points.point(*other)))
                    .sum()
            };
            for (c, cluster) in members.iter().enumerate() {
                assert_eq!(summaries[c].size, cluster.len(), "seed {seed}, cluster {c}");
                let own = total(medoid(c), cluster);
                for candidate in cluster {
                    let theirs = total(points.point(*candidate), cluster);
                    assert!(
                        own <= theirs + 1e-9,
                        "seed {seed}, cluster {c}: medoid total {own}, member {candidate} total {theirs}"
                    );
                }
            }
        }
    }

    #[test]
    fn pruned_placement_agrees_with_the_full_scan() {
        let mut rng = 0x1234_u64;
        let mut next = || {
            rng = mix64(rng);
            rng
        };
        let mut points = BaselinePoints::new(2, 400, 1);
        for _ in 0..300 {
            // Clumps: a few base patterns with a few random bits flipped.
            let base = [next() % 4, next() % 4];
            let noise = next() & next() & next();
            points.offer(&[
                base[0].wrapping_mul(0x5555) ^ noise,
                base[1].wrapping_mul(0x3333),
            ]);
        }
        let (clusters, _) = Clusters::fit(&points, 12, 2.0, 0.01).unwrap();
        for _ in 0..500 {
            let bits = [next() & next(), next() & next() & next()];
            let full = clusters.place(&bits);
            for hint in 0..clusters.len() {
                let near = clusters.place_near(&bits, hint);
                assert_eq!(near.fits, full.fits);
                if near.fits {
                    assert!(near.distance <= near.threshold);
                } else {
                    assert_eq!(
                        near.distance - near.threshold,
                        full.distance - full.threshold
                    );
                }
            }
        }
    }

    #[test]
    fn an_empty_baseline_is_refused() {
        let points = BaselinePoints::new(1, 10, 1);
        assert!(matches!(
            Clusters::fit(&points, 2, 3.0, 0.0),
            Err(MonitorError::EmptyBaseline)
        ));
    }

    #[test]
    fn the_reservoir_keeps_its_capacity() {
        let mut points = BaselinePoints::new(2, 3, 7);
        for i in 0..100u64 {
            points.offer(&[i, i]);
        }
        assert_eq!(points.len(), 3);
        assert_eq!(points.offered(), 100);
    }

    /// One cluster whose first point (where the farthest-first start puts the medoid) is an
    /// outlier: the medoid moves to the point with the smallest total distance to the others,
    /// found here by trying every point.
    #[test]
    fn the_medoid_moves_from_an_outlier_to_the_most_central_point() {
        let sketches = [0xffu64, 0, 1, 2, 4, 8, 3];
        let mut points = BaselinePoints::new(1, 16, 1);
        for sketch in sketches {
            points.offer(&[sketch]);
        }
        let total = |candidate: u64| -> f64 {
            sketches
                .iter()
                .map(|&other| distance(&[candidate], &[other]))
                .sum()
        };
        let central = sketches
            .iter()
            .copied()
            .min_by(|&a, &b| total(a).total_cmp(&total(b)))
            .unwrap();
        assert_ne!(central, 0xff);
        let (clusters, summaries) = Clusters::fit(&points, 1, 3.0, 0.0).unwrap();
        assert_eq!(clusters.medoids, [central]);
        assert_eq!(summaries.len(), 1);
        // What it holds on the heap covers at least its medoids (eight words each here),
        // thresholds and the medoid-to-medoid table.
        let mut wide = BaselinePoints::new(8, 16, 1);
        for i in 0..6u64 {
            wide.offer(&[i.wrapping_mul(0x9e37_79b9_7f4a_7c15); 8]);
        }
        let (clusters, _) = Clusters::fit(&wide, 3, 3.0, 0.0).unwrap();
        let k = clusters.len();
        assert_eq!(k, 3);
        assert!(
            clusters.heap_bytes()
                >= k * 8 * size_of::<u64>() + 2 * k * size_of::<f64>() + k * k * size_of::<u16>(),
            "{} bytes for {k} clusters",
            clusters.heap_bytes()
        );
    }
}
