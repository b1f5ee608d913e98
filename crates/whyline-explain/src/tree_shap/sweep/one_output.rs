//! The top-down sweep of a one-output tree (a regressor, a binary margin): the products a
//! row multiplies the parent's `P` by are folded once per tree when it is compiled, so a
//! row pays one product per child (a product and a dot product for a node over two leaves)
//! instead of three products and the credit's two per point.

use super::{Inner, Run, hand_down, load, product};

/// The top-down products of a one-output tree, `6q` values per internal node: with
/// `d_s` the earlier edge's reciprocal factor in state `s` (0 unsatisfied, 1 satisfied)
/// and `f_c[s]` child `c`'s factor,
///
/// - a node over two leaves (twig), for the hot child `h` (0 left, 1 right) and its cold
///   sibling `c`: at `3h + s` the sum `d_s f_h[s] + d_s f_c[0]` (its `P` times this is its
///   `A`), and at `3h + 2` the credit factor `d_1 f_h[1] g_h − (d_1 f_h[1] + d_1 f_c[0])
///   g_earlier` (a credit only counts when the earlier edge is satisfied);
/// - any other node, per child `c`: at `3c + s` its factor as the cold child, `d_s f_c[0]`,
///   and at `3c + 2` as the hot child of a satisfied edge, `d_1 f_c[1]` (a hot child of an
///   unsatisfied edge is unsatisfied too: `3c + 0`).
pub(super) fn one_output_products(inner: &[Inner], records: &[f64], q: usize) -> Vec<f64> {
    let part = |node: u32, which: usize| -> &[f64] {
        let start = (node as usize * 5 + which) * q;
        records.get(start..start + q).unwrap_or(&[])
    };
    let at = |slice: &[f64], k: usize| slice.get(k).copied().unwrap_or(0.0);
    let mut products = Vec::with_capacity(inner.len() * 6 * q);
    for node in inner {
        let divisor = [part(node.previous, 3), part(node.previous, 4)];
        let g_earlier = part(node.previous, 2);
        let children = [node.left, node.right];
        if node.twig {
            for (h, &hot) in children.iter().enumerate() {
                let cold = children[1 - h];
                let sum = |s: usize, k: usize| {
                    at(divisor[s], k) * at(part(hot, s), k)
                        + at(divisor[s], k) * at(part(cold, 0), k)
                };
                products.extend((0..q).map(|k| sum(0, k)));
                products.extend((0..q).map(|k| sum(1, k)));
                products.extend((0..q).map(|k| {
                    at(divisor[1], k) * at(part(hot, 1), k) * at(part(hot, 2), k)
                        - sum(1, k) * at(g_earlier, k)
                }));
            }
        } else {
            for &child in &children {
                products.extend((0..q).map(|k| at(divisor[0], k) * at(part(child, 0), k)));
                products.extend((0..q).map(|k| at(divisor[1], k) * at(part(child, 0), k)));
                products.extend((0..q).map(|k| at(divisor[1], k) * at(part(child, 1), k)));
            }
        }
    }
    products
}

impl Run<'_> {
    /// The top-down sweep with one output: `P` of every node, whether its edge is
    /// satisfied, and the credit of every node over two leaves (finished here).
    pub(super) fn one_output_down<const Q: usize>(
        &self,
        phi: &mut [f64],
        went_left: &[bool],
        satisfied: &mut [bool],
        x: &mut [[f64; Q]],
    ) {
        let tree = self.tree;
        let flag = |b: bool| f64::from(u8::from(b));
        let (products, _) = tree.products.as_chunks::<Q>();
        for ((inner, &go_left), table) in tree
            .inner
            .iter()
            .zip(went_left.iter())
            .zip(products.chunks_exact(6))
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
            if twig {
                let factor = product(table, 3 * hot_side + usize::from(sat));
                let credit_factor = product(table, 3 * hot_side + 2);
                let mut sum = [0.0; Q];
                let mut credit = 0.0;
                for k in 0..Q {
                    sum[k] = parent[k] * factor[k];
                    credit += parent[k] * credit_factor[k];
                }
                if let Some(slot) = x.get_mut(node as usize) {
                    *slot = sum;
                }
                if let Some(slot) = phi.get_mut(feature as usize) {
                    *slot += flag(sat) * credit;
                }
                continue;
            }
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
            hand_down(x, satisfied, (hot, ph), (cold, pc), sat);
        }
    }
}
