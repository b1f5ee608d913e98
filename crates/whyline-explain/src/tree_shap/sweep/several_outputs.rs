//! Both sweeps of a tree with several outputs (a classifier's classes), on products folded
//! once per tree when it is compiled (as [`super::one_output`] does for one output): a row
//! reads one contiguous block per internal node instead of the records of the node, its
//! children and its earlier edge, and pays one product per child and point.

use super::{Inner, Run, hand_down, load, product};

/// `Q`-point values per internal node in [`several_outputs_products`].
pub(super) const PER_NODE: usize = 10;

/// The products of a tree with several outputs, [`PER_NODE`]`× q` values per internal node
/// (in `inner`'s order). With `d_s` the earlier edge's reciprocal factor in state `s` (0
/// unsatisfied, 1 satisfied), `f_c[s]` child `c`'s factor (0 left, 1 right) and `g` the
/// credit factors:
///
/// - at `3c + s`, child `c`'s factor as the cold child, `d_s f_c[0]`, and at `3c + 2` as
///   the hot child of a satisfied edge, `d_1 f_c[1]` (the hot child of an unsatisfied edge
///   is unsatisfied too: `3c + 0`);
/// - any node but a twig: at 6, 7 and 8 the credit factors `g` of the left child, the right
///   child and the earlier edge, which the bottom-up sweep reads;
/// - a node over two leaves (twig), which the top-down sweep finishes: for the hot child
///   `h` and its cold sibling `c`, at `6 + 2h` the hot credit factor `d_1 f_h[1] (g_h −
///   g_earlier)` and at `7 + 2h` the cold one `d_1 f_c[0] g_earlier` (a credit only counts
///   when the earlier edge is satisfied). The two are equal in exact arithmetic when the
///   children's cover fractions add up to 1; both are kept, as covers read from a file
///   need not add up exactly.
pub(super) fn several_outputs_products(inner: &[Inner], records: &[f64], q: usize) -> Vec<f64> {
    let part = |node: u32, which: usize| -> &[f64] {
        let start = (node as usize * 5 + which) * q;
        records.get(start..start + q).unwrap_or(&[])
    };
    let at = |slice: &[f64], k: usize| slice.get(k).copied().unwrap_or(0.0);
    let mut products = Vec::with_capacity(inner.len() * PER_NODE * q);
    for node in inner {
        let divisor = [part(node.previous, 3), part(node.previous, 4)];
        let g_earlier = part(node.previous, 2);
        let children = [node.left, node.right];
        for &child in &children {
            products.extend((0..q).map(|k| at(divisor[0], k) * at(part(child, 0), k)));
            products.extend((0..q).map(|k| at(divisor[1], k) * at(part(child, 0), k)));
            products.extend((0..q).map(|k| at(divisor[1], k) * at(part(child, 1), k)));
        }
        if node.twig {
            for (h, &hot) in children.iter().enumerate() {
                let cold = children[1 - h];
                products.extend((0..q).map(|k| {
                    at(divisor[1], k)
                        * at(part(hot, 1), k)
                        * (at(part(hot, 2), k) - at(g_earlier, k))
                }));
                products.extend(
                    (0..q).map(|k| at(divisor[1], k) * at(part(cold, 0), k) * at(g_earlier, k)),
                );
            }
        } else {
            products.extend_from_slice(part(node.left, 2));
            products.extend_from_slice(part(node.right, 2));
            products.extend_from_slice(g_earlier);
            products.extend(std::iter::repeat_n(0.0, q));
        }
    }
    products
}

/// `C` when the caller fixed the number of computed outputs at compile time (so the loops
/// over them unroll: cachegrind counts 11 % fewer instructions per row for the bench's
/// three-class forest), else the tree's own count (`C == 0`).
#[inline(always)]
fn fixed_or(fixed: usize, computed: usize) -> usize {
    if fixed == 0 { computed } else { fixed }
}

impl Run<'_> {
    /// The top-down sweep with several outputs: `P` of every node, whether its edge is
    /// satisfied, and every output's `A` and credit of each node over two leaves (finished
    /// here, while its leaves' values are in cache; `A` kept per output in `acc`).
    pub(super) fn several_outputs_down<const Q: usize, const C: usize>(
        &self,
        phi: &mut [f64],
        went_left: &[bool],
        satisfied: &mut [bool],
        x: &mut [[f64; Q]],
        acc: &mut [[f64; Q]],
    ) {
        let tree = self.tree;
        let width = tree.width;
        let n_features = self.n_features;
        let (computed, last) = tree.computed_outputs(n_features);
        let computed = fixed_or(C, computed);
        let flag = |b: bool| f64::from(u8::from(b));
        let (products, _) = tree.products.as_chunks::<Q>();
        for ((inner, &go_left), table) in tree
            .inner
            .iter()
            .zip(went_left.iter())
            .zip(products.chunks_exact(PER_NODE))
        {
            let Inner {
                node,
                left,
                right,
                previous,
                feature,
                twig,
                ..
            } = *inner;
            let sat = satisfied.get(previous as usize).copied().unwrap_or(false);
            let parent = load(x, node);
            let hot_side = usize::from(!go_left);
            let (hot, cold) = if go_left {
                (left, right)
            } else {
                (right, left)
            };
            let hot_factor = product(table, 3 * hot_side + if sat { 2 } else { 0 });
            let cold_factor = product(table, 3 * (1 - hot_side) + usize::from(sat));
            let mut ph = [0.0; Q];
            let mut pc = [0.0; Q];
            for k in 0..Q {
                ph[k] = parent[k] * hot_factor[k];
                pc[k] = parent[k] * cold_factor[k];
            }
            if twig {
                let (v_hot, v_cold) = (tree.node_values(hot), tree.node_values(cold));
                let hot_credit = product(table, 6 + 2 * hot_side);
                let cold_credit = product(table, 7 + 2 * hot_side);
                // The credit `Σ_k A_hot g_hot − A g_earlier` with `A_hot = v_hot P_hot` and
                // `A = v_hot P_hot + v_cold P_cold` is `v_hot s_hot − v_cold s_cold`: two
                // sums over the points for every output.
                let (mut s_hot, mut s_cold) = (0.0, 0.0);
                for k in 0..Q {
                    s_hot += parent[k] * hot_credit[k];
                    s_cold += parent[k] * cold_credit[k];
                }
                let mut credits = 0.0;
                for out in 0..computed {
                    let vh = v_hot.get(out).copied().unwrap_or(0.0);
                    let vc = v_cold.get(out).copied().unwrap_or(0.0);
                    let mut sum = [0.0; Q];
                    for k in 0..Q {
                        sum[k] = vh * ph[k] + vc * pc[k];
                    }
                    let credit = flag(sat) * (vh * s_hot - vc * s_cold);
                    if let Some(slot) = acc.get_mut(node as usize * width + out) {
                        *slot = sum;
                    }
                    if let Some(slot) = phi.get_mut(out * n_features + feature as usize) {
                        *slot += credit;
                    }
                    credits += credit;
                }
                if let Some(slot) = last.and_then(|last| phi.get_mut(last + feature as usize)) {
                    *slot -= credits;
                }
                continue;
            }
            hand_down(x, satisfied, (hot, ph), (cold, pc), sat);
        }
    }

    /// The bottom-up sweep for several outputs (a classifier's classes), in one pass over
    /// the nodes: each node's products, direction and state are read once for every output,
    /// and a node over two leaves is finished without reading its children back. `A` of
    /// an internal node is kept per output in `acc`; a leaf's is its value times its `P`.
    /// Each node's credit is added point by point to `credits` (`q` per computed output and
    /// feature), which the caller sums over the points once per tree: no per-node sum over
    /// the points, no per-node update of the complement output (cachegrind, the bench
    /// classifier: 3.5 % fewer instructions per row than summing per node).
    pub(super) fn several_outputs<const Q: usize, const C: usize>(
        &self,
        went_left: &[bool],
        satisfied: &[bool],
        x: &[[f64; Q]],
        acc: &mut [[f64; Q]],
        credits: &mut [[f64; Q]],
    ) {
        let tree = self.tree;
        let width = tree.width;
        let n_features = self.n_features;
        let (computed, _) = tree.computed_outputs(n_features);
        let computed = fixed_or(C, computed);
        let (products, _) = tree.products.as_chunks::<Q>();
        let flag = |b: bool| f64::from(u8::from(b));
        for ((inner, &go_left), table) in tree
            .inner
            .iter()
            .zip(went_left.iter())
            .zip(products.chunks_exact(PER_NODE))
            .rev()
        {
            let Inner {
                node,
                left,
                right,
                previous,
                feature,
                left_leaf,
                right_leaf,
                twig,
            } = *inner;
            if twig {
                continue; // finished in the top-down sweep
            }
            let sat = flag(satisfied.get(previous as usize).copied().unwrap_or(false));
            let g_hot = product(table, if go_left { 6 } else { 7 });
            let g_earlier = product(table, 8);
            let (pl, pr) = (load(x, left), load(x, right));
            let (vl, vr) = (tree.node_values(left), tree.node_values(right));
            for out in 0..computed {
                // A child's `A`: a leaf's value times its `P`, an internal node's from `acc`.
                let child = |is_leaf: bool, node: u32, p: &[f64; Q], v: &[f64]| {
                    if is_leaf {
                        let v = v.get(out).copied().unwrap_or(0.0);
                        p.map(|p| v * p)
                    } else {
                        load(acc, node * width as u32 + out as u32)
                    }
                };
                let al = child(left_leaf, left, &pl, vl);
                let ar = child(right_leaf, right, &pr, vr);
                let ah = if go_left { al } else { ar };
                let mut sum = [0.0; Q];
                for k in 0..Q {
                    sum[k] = al[k] + ar[k];
                }
                if let Some(slot) = acc.get_mut(node as usize * width + out) {
                    *slot = sum;
                }
                if let Some(slot) = credits.get_mut(out * n_features + feature as usize) {
                    for k in 0..Q {
                        slot[k] += sat * (ah[k] * g_hot[k] - sum[k] * g_earlier[k]);
                    }
                }
            }
        }
    }
}
