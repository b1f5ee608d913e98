//! The per-row TreeSHAP pass that shares work between leaves: two sweeps over the nodes
//! instead of one walk per leaf, `O(nodes × q)` instead of `O(leaves × d × q)` (the idea
//! of Linear TreeShap, Yu et al. 2022, on the Gauss–Legendre form of the leaf formula).
//!
//! With `h_e(t) = o t + (1 − t) z` the factor of edge `e` (its feature's aggregated
//! satisfaction `o` and cover product `z` along the path), a leaf's polynomial is
//! `F_l(t) = Π_{edges above l} h_e(t)` (a repeated feature replaces its earlier factor)
//! and feature `i`'s share of the leaf is `v_l (o_i − z_i) ∫ F_l / h_i`. Summed over the
//! leaves under an edge, that is `(o − z) ∫ A_c / h_e` with `A_c = Σ_{l under c} v_l F_l`.
//! A feature split again further down takes over the leaves below the deeper split: that
//! edge adds its own term and subtracts the earlier edge's term for its leaves, with the
//! same quadrature values, so the earlier (non-polynomial) part cancels exactly.
//!
//! 1. top-down (children after parents): `o`, `h_e(t_k)` and `P(t_k) = F` at every node;
//! 2. bottom-up: `A(t_k)` at every node, and each edge's credit `Σ_k w_k A_k (o − z)/h_k`.

use whyline_models::Tree;

use super::{CoverSource, Step};

/// No node / no earlier edge.
const NONE: u32 = u32::MAX;

/// A tree compiled for the sweep. Arrays are indexed by node (the tree's own order, in
/// which children follow their parents); the edge of node `c` is the one from its parent.
#[derive(Clone, Debug)]
pub(super) struct SweepTree {
    nodes: Vec<SweepNode>,
    nodes_t: Vec<f64>,
    /// `q` values per node: `w_k (1 − z)/(t_k + (1 − t_k) z)`, the credit factor of a
    /// satisfied edge (an unsatisfied one's is `−w_k/(1 − t_k)`, the same for every edge).
    hot_credit: Vec<f64>,
    /// `−w_k/(1 − t_k)`.
    cold_credit: Vec<f64>,
}

/// One node and the edge from its parent, packed so a sweep reads one record per node.
#[derive(Clone, Copy, Debug)]
struct SweepNode {
    /// Product of the cover fractions of every split on this edge's feature down to here.
    zero: f64,
    parent: u32,
    parent_internal: u32,
    /// The edge (node) of the previous split on the same feature on the path, or `NONE`.
    previous: u32,
    feature: u32,
    left: u32,
    right: u32,
    /// Leaf index (into the leaf values) of a leaf node, `NONE` for internal nodes.
    leaf: u32,
    is_left: bool,
}

/// The node arrays while compiling.
struct Columns {
    parent: Vec<u32>,
    parent_internal: Vec<u32>,
    is_left: Vec<bool>,
    feature: Vec<u32>,
    zero: Vec<f64>,
    previous: Vec<u32>,
    left: Vec<u32>,
    right: Vec<u32>,
}

/// Buffers of the sweep, reused between rows.
#[derive(Clone, Debug, Default)]
pub(super) struct SweepScratch {
    satisfied: Vec<bool>,
    h: Vec<f64>,
    p: Vec<f64>,
    a: Vec<f64>,
}

impl SweepTree {
    /// Compiles `tree` for a `q`-point rule; `None` when the sweep cannot run it exactly
    /// (a zero cover product, which the division in the sweep cannot take, or `q > 8`):
    /// the caller falls back to the per-leaf pass.
    pub(super) fn compile(
        tree: &Tree,
        covers: CoverSource,
        internal_of: &[u32],
        leaf_of: &[u32],
        q: usize,
    ) -> Option<SweepTree> {
        if q == 0 || q > 8 {
            return None;
        }
        let n = tree.nodes.len();
        let mut sweep = Columns {
            parent: vec![NONE; n],
            parent_internal: vec![NONE; n],
            is_left: vec![false; n],
            feature: vec![0; n],
            zero: vec![1.0; n],
            previous: vec![NONE; n],
            left: vec![NONE; n],
            right: vec![NONE; n],
        };
        for (index, node) in tree.nodes.iter().enumerate() {
            let Some(split) = &node.split else { continue };
            let cover = covers.of(node);
            for (child, left) in [(split.left, true), (split.right, false)] {
                let c = child as usize;
                let child_cover = tree.nodes.get(c).map(|node| covers.of(node))?;
                let step = Step {
                    internal: internal_of.get(index).copied()?,
                    left,
                    feature: split.feature,
                    fraction: child_cover / cover,
                };
                *sweep.parent.get_mut(c)? = index as u32;
                *sweep.parent_internal.get_mut(c)? = step.internal;
                *sweep.is_left.get_mut(c)? = step.left;
                *sweep.feature.get_mut(c)? = step.feature;
                if left {
                    *sweep.left.get_mut(index)? = child;
                } else {
                    *sweep.right.get_mut(index)? = child;
                }
                // The previous split on this feature: walk up the edges above `index`.
                let mut e = index;
                let mut previous = NONE;
                while e != 0 {
                    if sweep.feature.get(e).copied()? == split.feature {
                        previous = e as u32;
                        break;
                    }
                    e = sweep.parent.get(e).copied()? as usize;
                }
                let above = if previous == NONE {
                    1.0
                } else {
                    sweep.zero.get(previous as usize).copied()?
                };
                let zero = step.fraction * above;
                if !(zero.is_finite() && zero > 0.0) {
                    return None;
                }
                *sweep.zero.get_mut(c)? = zero;
                *sweep.previous.get_mut(c)? = previous;
            }
        }
        let rule = crate::quadrature::rule(q);
        let hot_credit = sweep
            .zero
            .iter()
            .flat_map(|&z| {
                rule.nodes
                    .iter()
                    .zip(&rule.weights)
                    .map(move |(t, w)| w * (1.0 - z) / (t + (1.0 - t) * z))
            })
            .collect();
        let cold_credit = rule
            .nodes
            .iter()
            .zip(&rule.weights)
            .map(|(t, w)| -w / (1.0 - t))
            .collect();
        let nodes = (0..n)
            .map(|i| {
                Some(SweepNode {
                    zero: *sweep.zero.get(i)?,
                    parent: *sweep.parent.get(i)?,
                    parent_internal: *sweep.parent_internal.get(i)?,
                    previous: *sweep.previous.get(i)?,
                    feature: *sweep.feature.get(i)?,
                    left: *sweep.left.get(i)?,
                    right: *sweep.right.get(i)?,
                    leaf: *leaf_of.get(i)?,
                    is_left: *sweep.is_left.get(i)?,
                })
            })
            .collect::<Option<Vec<_>>>()?;
        Some(SweepTree {
            nodes,
            nodes_t: rule.nodes.clone(),
            hot_credit,
            cold_credit,
        })
    }

    /// Adds this tree's SHAP values to `phi` (`[output][feature]`).
    #[allow(clippy::too_many_arguments)]
    pub(super) fn accumulate(
        &self,
        went_left: &[bool],
        leaf_values: &[f64],
        width: usize,
        offset: usize,
        n_features: usize,
        phi: &mut [f64],
        scratch: &mut SweepScratch,
    ) {
        let run = Run {
            tree: self,
            went_left,
            leaf_values,
            width,
            offset,
            n_features,
        };
        match self.nodes_t.len() {
            1 => run.go::<1>(phi, scratch),
            2 => run.go::<2>(phi, scratch),
            3 => run.go::<3>(phi, scratch),
            4 => run.go::<4>(phi, scratch),
            5 => run.go::<5>(phi, scratch),
            6 => run.go::<6>(phi, scratch),
            7 => run.go::<7>(phi, scratch),
            8 => run.go::<8>(phi, scratch),
            _ => {}
        }
    }
}

struct Run<'a> {
    tree: &'a SweepTree,
    went_left: &'a [bool],
    leaf_values: &'a [f64],
    width: usize,
    offset: usize,
    n_features: usize,
}

impl Run<'_> {
    fn go<const Q: usize>(&self, phi: &mut [f64], scratch: &mut SweepScratch) {
        let tree = self.tree;
        let (Ok(t), Ok(cold_credit)) = (
            <&[f64; Q]>::try_from(tree.nodes_t.as_slice()),
            <&[f64; Q]>::try_from(tree.cold_credit.as_slice()),
        ) else {
            return;
        };
        let (hot_credit, _) = tree.hot_credit.as_chunks::<Q>();
        let n = tree.nodes.len();
        let width = self.width;
        let SweepScratch { satisfied, h, p, a } = scratch;
        // Every slot is written before it is read (the root's explicitly), so the buffers
        // only grow.
        if satisfied.len() < n {
            satisfied.resize(n, true);
        }
        if h.len() < n * Q {
            h.resize(n * Q, 1.0);
        }
        if p.len() < n * Q {
            p.resize(n * Q, 1.0);
        }
        if a.len() < n * Q * width {
            a.resize(n * Q * width, 0.0);
        }
        let (h, _) = h.as_chunks_mut::<Q>();
        let (p, _) = p.as_chunks_mut::<Q>();
        if let (Some(s0), Some(h0), Some(p0)) = (satisfied.get_mut(0), h.get_mut(0), p.get_mut(0)) {
            *s0 = true;
            *h0 = [1.0; Q];
            *p0 = [1.0; Q];
        }
        // Top-down.
        for (c, node) in tree.nodes.iter().enumerate().skip(1) {
            let SweepNode {
                parent,
                parent_internal: internal,
                is_left,
                previous,
                zero: z,
                ..
            } = *node;
            let followed = self.went_left.get(internal as usize) == Some(&is_left);
            let ok = followed
                && (previous == NONE || satisfied.get(previous as usize).copied().unwrap_or(false));
            if let Some(slot) = satisfied.get_mut(c) {
                *slot = ok;
            }
            let o = if ok { 1.0 } else { 0.0 };
            let mut hc = [0.0f64; Q];
            for k in 0..Q {
                hc[k] = o * t[k] + (1.0 - t[k]) * z;
            }
            let mut pc = p.get(parent as usize).copied().unwrap_or([1.0; Q]);
            for k in 0..Q {
                pc[k] *= hc[k];
            }
            if previous != NONE
                && let Some(hp) = h.get(previous as usize)
            {
                for k in 0..Q {
                    pc[k] /= hp[k];
                }
            }
            if let (Some(hs), Some(ps)) = (h.get_mut(c), p.get_mut(c)) {
                *hs = hc;
                *ps = pc;
            }
        }
        // Bottom-up, crediting each edge once its subtree's A is complete.
        let stride = Q * width;
        let credit_of = |e: usize, ok: bool| -> [f64; Q] {
            if ok {
                hot_credit.get(e).copied().unwrap_or([0.0; Q])
            } else {
                *cold_credit
            }
        };
        for (c, node) in tree.nodes.iter().enumerate().rev() {
            let leaf = node.leaf;
            if leaf != NONE {
                let values = self
                    .leaf_values
                    .get(leaf as usize * width..(leaf as usize + 1) * width)
                    .unwrap_or(&[]);
                let pc = p.get(c).copied().unwrap_or([0.0; Q]);
                let Some(ac) = a.get_mut(c * stride..(c + 1) * stride) else {
                    continue;
                };
                for (chunk, &v) in ac.chunks_exact_mut(Q).zip(values) {
                    for (slot, &pk) in chunk.iter_mut().zip(&pc) {
                        *slot = v * pk;
                    }
                }
            } else {
                let (l, r) = (node.left as usize, node.right as usize);
                let (Some(lo), Some(ro)) = (l.checked_sub(c + 1), r.checked_sub(c + 1)) else {
                    continue;
                };
                let Some((low, high)) = a.split_at_mut_checked((c + 1) * stride) else {
                    continue;
                };
                let (Some(ac), Some(al), Some(ar)) = (
                    low.get_mut(c * stride..),
                    high.get(lo * stride..(lo + 1) * stride),
                    high.get(ro * stride..(ro + 1) * stride),
                ) else {
                    continue;
                };
                for ((slot, x), y) in ac.iter_mut().zip(al).zip(ar) {
                    *slot = x + y;
                }
            }
            if c == 0 {
                continue;
            }
            let (feature, previous) = (node.feature, node.previous);
            let mut coefficient = credit_of(c, satisfied.get(c).copied().unwrap_or(false));
            if previous != NONE {
                let e = previous as usize;
                // The earlier edge credited these leaves too: take its term back.
                let before = credit_of(e, satisfied.get(e).copied().unwrap_or(false));
                for k in 0..Q {
                    coefficient[k] -= before[k];
                }
            }
            let Some(ac) = a.get(c * stride..(c + 1) * stride) else {
                continue;
            };
            for (out, chunk) in ac.chunks_exact(Q).enumerate() {
                let mut credit = 0.0;
                for k in 0..Q {
                    credit += chunk[k] * coefficient[k];
                }
                if let Some(slot) =
                    phi.get_mut((self.offset + out) * self.n_features + feature as usize)
                {
                    *slot += credit;
                }
            }
        }
    }
}
