//! Interventional TreeSHAP: the Shapley values of `v(S) = mean over background rows z of
//! f(x_S, z_{∖S})`, exact, as `shap.TreeExplainer(model, data, feature_perturbation=
//! "interventional")` computes them.
//!
//! For one reference `z` a leaf is reached under `S` only if every feature on its path is
//! in `S` and satisfied by `x`, or outside `S` and satisfied by `z`. With `A` the path's
//! features only `x` satisfies and `B` those only `z` satisfies (a feature neither
//! satisfies closes the leaf), the leaf's game is `v · [A ⊆ S] · [B ∩ S = ∅]`, whose Shapley
//! values are `v (|A|−1)! |B|! / (|A|+|B|)!` for `i ∈ A` and `−v |A|! (|B|−1)! / (|A|+|B|)!`
//! for `i ∈ B`. The cost is `O(leaves × d)` per tree and background row.

use whyline_models::ModelKind;

use super::{CompiledTree, TreeShap};
use crate::attribution::Attribution;
use crate::background::Background;
use crate::error::Result;

impl CompiledTree {
    /// Per internal node: does `row` go left.
    fn directions(&self, row: &[f32], out: &mut Vec<bool>) {
        out.clear();
        out.extend(self.splits.iter().map(|split| {
            split.goes_left(row.get(split.feature as usize).copied().unwrap_or(f32::NAN))
        }));
    }

    /// Whether the row satisfies every split on each distinct feature of `leaf`'s path.
    fn satisfied(&self, went_left: &[bool], leaf: usize, out: &mut Vec<bool>) {
        let (e0, e1) = self.entries(leaf);
        out.clear();
        out.resize(e1 - e0, true);
        let s0 = self.step_start.get(leaf).copied().unwrap_or(0) as usize;
        let s1 = self.step_start.get(leaf + 1).copied().unwrap_or(0) as usize;
        for s in s0..s1 {
            let internal = self.step_internal.get(s).copied().unwrap_or(0) as usize;
            let left = self.step_left.get(s).copied().unwrap_or(false);
            if went_left.get(internal).copied() != Some(left)
                && let Some(slot) = self
                    .step_entry
                    .get(s)
                    .and_then(|&e| out.get_mut(e as usize))
            {
                *slot = false;
            }
        }
    }
}

impl<'a> TreeShap<'a> {
    /// Interventional SHAP values of every output (`[output × n_features + feature]`) and
    /// the base values (the mean model output over the background).
    pub fn interventional_values(
        &self,
        row: &[f32],
        background: &Background,
    ) -> Result<(Vec<f64>, Vec<f64>)> {
        self.check_row(row)?;
        background.check_width(self.n_features)?;
        let m = self.n_features;
        let mut phi = vec![0.0f64; m * self.n_outputs];
        let mut base = match self.model.kind() {
            ModelKind::GradientBoosting(g) => g.base_score.clone(),
            _ => vec![0.0; self.n_outputs],
        };
        let factorial: Vec<f64> = (0..=self.max_entries)
            .scan(1.0f64, |f, n| {
                if n > 0 {
                    *f *= n as f64;
                }
                Some(*f)
            })
            .collect();
        let fact = |n: usize| factorial.get(n).copied().unwrap_or(f64::INFINITY);
        let n_rows = background.n_rows().max(1) as f64;
        let (mut x_dirs, mut z_dirs, mut x_sat, mut z_sat) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        let mut tree_phi = vec![0.0f64; m * self.n_outputs];
        let mut tree_base = vec![0.0f64; self.n_outputs];
        for tree in &self.trees {
            tree.directions(row, &mut x_dirs);
            tree_phi.fill(0.0);
            tree_base.fill(0.0);
            for z in background.rows() {
                tree.directions(z, &mut z_dirs);
                for leaf in 0..tree.n_leaves() {
                    tree.satisfied(&x_dirs, leaf, &mut x_sat);
                    tree.satisfied(&z_dirs, leaf, &mut z_sat);
                    let (mut a, mut b, mut closed) = (0usize, 0usize, false);
                    for (&xs, &zs) in x_sat.iter().zip(&z_sat) {
                        match (xs, zs) {
                            (true, false) => a += 1,
                            (false, true) => b += 1,
                            (false, false) => closed = true,
                            (true, true) => {}
                        }
                    }
                    if closed {
                        continue;
                    }
                    let values = tree
                        .leaf_values
                        .get(leaf * tree.width..(leaf + 1) * tree.width)
                        .unwrap_or(&[]);
                    if a == 0 && b == 0 {
                        // Reached from x and z alike: part of the base value only.
                        for (k, v) in values.iter().enumerate() {
                            if let Some(slot) = tree_base.get_mut(tree.offset + k) {
                                *slot += v;
                            }
                        }
                        continue;
                    }
                    if a == 0 {
                        // z reaches it: part of the base value.
                        for (k, v) in values.iter().enumerate() {
                            if let Some(slot) = tree_base.get_mut(tree.offset + k) {
                                *slot += v;
                            }
                        }
                    }
                    let total = fact(a + b);
                    let w_a = if a > 0 {
                        fact(a - 1) * fact(b) / total
                    } else {
                        0.0
                    };
                    let w_b = if b > 0 {
                        fact(a) * fact(b - 1) / total
                    } else {
                        0.0
                    };
                    let (e0, _) = tree.entries(leaf);
                    for (e, (&xs, &zs)) in x_sat.iter().zip(&z_sat).enumerate() {
                        let weight = match (xs, zs) {
                            (true, false) => w_a,
                            (false, true) => -w_b,
                            _ => continue,
                        };
                        let feature = tree.entry_feature.get(e0 + e).copied().unwrap_or(0) as usize;
                        for (k, v) in values.iter().enumerate() {
                            if let Some(slot) = tree_phi.get_mut((tree.offset + k) * m + feature) {
                                *slot += weight * v;
                            }
                        }
                    }
                }
            }
            for (p, t) in phi.iter_mut().zip(&tree_phi) {
                *p += t / n_rows;
            }
            for (b, t) in base.iter_mut().zip(&tree_base) {
                *b += t / n_rows;
            }
        }
        Ok((phi, base))
    }

    /// Explains one output with interventional TreeSHAP over `background`.
    pub fn explain_interventional(
        &self,
        row: &[f32],
        background: &Background,
        output: Option<usize>,
    ) -> Result<Attribution> {
        let (flat, base) = self.interventional_values(row, background)?;
        self.attribution(row, output, &flat, &base, true)
    }
}
