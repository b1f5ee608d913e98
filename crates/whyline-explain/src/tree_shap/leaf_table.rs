//! The per-leaf TreeSHAP pass ([`TreeShapAlgorithm::LeafTable`](super::TreeShapAlgorithm)):
//! one Gauss–Legendre evaluation of each leaf's Shapley integral per row,
//! `O(leaves × d × q)`, with the weights premultiplied by every power of `1 − t` a leaf's
//! cold features can need. It takes every tree, including those the sweep cannot (a zero
//! cover product, more than 16 distinct features on a path).

use super::{CompiledTree, TreeShapScratch};
use crate::quadrature;

impl CompiledTree {
    /// Adds this tree's SHAP values to `phi`, leaf by leaf.
    pub(super) fn accumulate_leaves(
        &self,
        row: &[f32],
        n_features: usize,
        phi: &mut [f64],
        scratch: &mut TreeShapScratch,
        table: &PowerTable,
    ) {
        let TreeShapScratch {
            went_left,
            hot: hot_buffer,
            p,
            unsatisfied,
            ..
        } = scratch;
        went_left.clear();
        went_left.extend(self.splits.iter().map(|split| {
            let value = row.get(split.feature as usize).copied().unwrap_or(f32::NAN);
            split.goes_left(value)
        }));
        // With at most 64 features, one top-down pass gives every node the set of features
        // whose splits the row fails on the way to it (children come after parents).
        let bitset = n_features <= 64;
        if bitset {
            unsatisfied.clear();
            unsatisfied.resize(self.node_parent.len(), 0);
            for node in 1..self.node_parent.len() {
                let parent = self.node_parent.get(node).copied().unwrap_or(u32::MAX) as usize;
                let internal = self.node_internal.get(parent).copied().unwrap_or(u32::MAX) as usize;
                let (Some(split), Some(&left), Some(&is_left), Some(&above)) = (
                    self.splits.get(internal),
                    went_left.get(internal),
                    self.node_is_left.get(node),
                    unsatisfied.get(parent),
                ) else {
                    continue;
                };
                let failed = u64::from(left != is_left) << (split.feature & 63);
                if let Some(slot) = unsatisfied.get_mut(node) {
                    *slot = above | failed;
                }
            }
        }
        for leaf in 0..self.n_leaves() {
            let (e0, e1) = self.entries(leaf);
            let d = e1 - e0;
            if d == 0 {
                continue;
            }
            let Some(hot) = hot_buffer.get_mut(..d) else {
                continue;
            };
            let features = self.entry_feature.get(e0..e1).unwrap_or(&[]);
            if bitset {
                let node = self.leaf_node.get(leaf).copied().unwrap_or(0) as usize;
                let failed = unsatisfied.get(node).copied().unwrap_or(0);
                for (h, &feature) in hot.iter_mut().zip(features) {
                    *h = failed >> (feature & 63) & 1 == 0;
                }
            } else {
                hot.fill(true);
            }
            let s0 = self.step_start.get(leaf).copied().unwrap_or(0) as usize;
            let s1 = self.step_start.get(leaf + 1).copied().unwrap_or(0) as usize;
            for s in (s0..s1).filter(|_| !bitset) {
                let internal = self.step_internal.get(s).copied().unwrap_or(0) as usize;
                let left = self.step_left.get(s).copied().unwrap_or(false);
                if went_left.get(internal).copied() != Some(left)
                    && let Some(h) = self
                        .step_entry
                        .get(s)
                        .and_then(|&e| hot.get_mut(e as usize))
                {
                    *h = false;
                }
            }
            let leaf_data = Leaf {
                zeros: self.entry_zero.get(e0..e1).unwrap_or(&[]),
                features,
                hot,
                values: self
                    .leaf_values
                    .get(leaf * self.width..(leaf + 1) * self.width)
                    .unwrap_or(&[]),
                offset: self.offset,
                n_features,
            };
            match d.div_ceil(2) {
                1 => leaf_data.add::<1>(table, phi),
                2 => leaf_data.add::<2>(table, phi),
                3 => leaf_data.add::<3>(table, phi),
                4 => leaf_data.add::<4>(table, phi),
                5 => leaf_data.add::<5>(table, phi),
                6 => leaf_data.add::<6>(table, phi),
                7 => leaf_data.add::<7>(table, phi),
                8 => leaf_data.add::<8>(table, phi),
                q => leaf_data.add_dynamic(q, table, phi, p),
            }
        }
    }
}

/// Gauss–Legendre rules for every point count a model needs, with the weights multiplied
/// by every power of `1 − t` a leaf can need: `w_k (1 − t_k)^c` for `c` cold features.
#[derive(Clone, Debug, Default)]
pub(super) struct PowerTable {
    /// `rules[q]`: nodes of the q-point rule.
    nodes: Vec<Vec<f64>>,
    /// `weights[q][c × q + k] = w_k (1 − t_k)^c`.
    weights: Vec<Vec<f64>>,
}

impl PowerTable {
    pub(super) fn new(max_entries: usize) -> PowerTable {
        let max_q = max_entries.div_ceil(2);
        let mut table = PowerTable::default();
        for q in 0..=max_q {
            let rule = quadrature::rule(q);
            let mut weights = Vec::with_capacity((max_entries + 1) * q);
            for c in 0..=max_entries {
                for (t, w) in rule.nodes.iter().zip(&rule.weights) {
                    weights.push(w * (1.0 - t).powi(c as i32));
                }
            }
            table.nodes.push(rule.nodes.clone());
            table.weights.push(weights);
        }
        table
    }

    /// Nodes of the q-point rule and its weights times `(1 − t)^c`.
    #[inline]
    fn get(&self, q: usize, c: usize) -> (&[f64], &[f64]) {
        let nodes = self.nodes.get(q).map_or(&[][..], Vec::as_slice);
        let weights = self
            .weights
            .get(q)
            .and_then(|w| w.get(c * q..(c + 1) * q))
            .unwrap_or(&[]);
        (nodes, weights)
    }
}

/// One leaf's path state for one row.
struct Leaf<'a> {
    zeros: &'a [f64],
    features: &'a [u32],
    hot: &'a [bool],
    values: &'a [f64],
    offset: usize,
    n_features: usize,
}

impl Leaf<'_> {
    /// Adds `coefficient × v` to feature `feature`'s value of every output of the leaf.
    #[inline]
    fn credit(&self, phi: &mut [f64], feature: u32, coefficient: f64) {
        for (k, &v) in self.values.iter().enumerate() {
            if let Some(slot) = phi.get_mut((self.offset + k) * self.n_features + feature as usize)
            {
                *slot += coefficient * v;
            }
        }
    }

    /// The leaf's Shapley values with a Q-point rule (`d ≤ 2Q` distinct features).
    ///
    /// With `H` the features whose splits the row satisfies, `C` the others, `g_j(t) =
    /// t + (1 − t) z_j` and `h(t) = Π_{j∈H} g_j(t)`:
    /// `φ_i = v (1 − z_i) Π_C z ∫ h(t)/g_i(t) (1 − t)^|C| dt` for `i ∈ H` and
    /// `φ_i = −v Π_C z ∫ h(t) (1 − t)^(|C|−1) dt` for `i ∈ C`.
    #[inline]
    fn add<const Q: usize>(&self, table: &PowerTable, phi: &mut [f64]) {
        let mut h = [1.0f64; Q];
        let mut cold_product = 1.0;
        let mut n_cold = 0usize;
        let (nodes, _) = table.get(Q, 0);
        let Ok(t) = <&[f64; Q]>::try_from(nodes) else {
            return;
        };
        for (&hot, &z) in self.hot.iter().zip(self.zeros) {
            // Selects rather than branches: the pattern changes from leaf to leaf.
            let zh = if hot { z } else { 1.0 };
            for k in 0..Q {
                h[k] *= t[k] + (1.0 - t[k]) * zh;
            }
            cold_product *= if hot { 1.0 } else { z };
            n_cold += usize::from(!hot);
        }
        let (_, hot_weights) = table.get(Q, n_cold);
        let Ok(hot_weights) = <&[f64; Q]>::try_from(hot_weights) else {
            return;
        };
        let mut a = [0.0f64; Q];
        for k in 0..Q {
            a[k] = cold_product * hot_weights[k] * h[k];
        }
        let cold_coefficient = if n_cold > 0 {
            let (_, cold_weights) = table.get(Q, n_cold - 1);
            let mut integral = 0.0;
            for (w, hk) in cold_weights.iter().zip(&h) {
                integral += w * hk;
            }
            -cold_product * integral
        } else {
            0.0
        };
        for ((&hot, &z), &feature) in self.hot.iter().zip(self.zeros).zip(self.features) {
            let coefficient = if hot {
                let mut integral = 0.0;
                for k in 0..Q {
                    integral += a[k] / (t[k] + (1.0 - t[k]) * z);
                }
                (1.0 - z) * integral
            } else {
                cold_coefficient
            };
            self.credit(phi, feature, coefficient);
        }
    }

    /// [`add`](Leaf::add) for long paths, with a heap buffer.
    fn add_dynamic(&self, q: usize, table: &PowerTable, phi: &mut [f64], h: &mut Vec<f64>) {
        let (t, _) = table.get(q, 0);
        h.clear();
        h.resize(q, 1.0);
        let mut cold_product = 1.0;
        let mut n_cold = 0usize;
        for (&hot, &z) in self.hot.iter().zip(self.zeros) {
            if hot {
                for (hk, tk) in h.iter_mut().zip(t) {
                    *hk *= tk + (1.0 - tk) * z;
                }
            } else {
                cold_product *= z;
                n_cold += 1;
            }
        }
        let (_, hot_weights) = table.get(q, n_cold);
        let cold_coefficient = if n_cold > 0 {
            let (_, cold_weights) = table.get(q, n_cold - 1);
            -cold_product
                * cold_weights
                    .iter()
                    .zip(h.iter())
                    .map(|(w, hk)| w * hk)
                    .sum::<f64>()
        } else {
            0.0
        };
        for ((&hot, &z), &feature) in self.hot.iter().zip(self.zeros).zip(self.features) {
            let coefficient = if hot {
                let mut integral = 0.0;
                for ((w, hk), tk) in hot_weights.iter().zip(h.iter()).zip(t) {
                    integral += cold_product * w * hk / (tk + (1.0 - tk) * z);
                }
                (1.0 - z) * integral
            } else {
                cold_coefficient
            };
            self.credit(phi, feature, coefficient);
        }
    }
}
