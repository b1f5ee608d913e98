//! The bottom-up sweep of a tree with several outputs (a classifier's classes).

use super::{Inner, Run, load, record};

impl Run<'_> {
    /// The bottom-up sweep for several outputs (a classifier's classes), in one pass over
    /// the nodes: each node's record, direction and state are read once for every output,
    /// and a node over two leaves is finished without reading its children back. `A` of
    /// an internal node is kept per output in `acc`; a leaf's is its value times its `P`.
    /// The sums are the same, in the same order, as one pass per output.
    pub(super) fn several_outputs<const Q: usize>(
        &self,
        phi: &mut [f64],
        went_left: &[bool],
        satisfied: &[bool],
        x: &[[f64; Q]],
        acc: &mut [[f64; Q]],
    ) {
        let tree = self.tree;
        let width = tree.width;
        let n_features = self.n_features;
        let (computed, last) = tree.computed_outputs(n_features);
        let (records, _) = tree.records.as_chunks::<Q>();
        let flag = |b: bool| f64::from(u8::from(b));
        let values = |node: u32| {
            let start = node as usize * width;
            tree.values.get(start..start + width).unwrap_or(&[])
        };
        for (inner, &go_left) in tree.inner.iter().zip(went_left.iter()).rev() {
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
            let hot = if go_left { left } else { right };
            let sat = flag(satisfied.get(previous as usize).copied().unwrap_or(false));
            let (g_hot, g_earlier) = (&record(records, hot)[2], &record(records, previous)[2]);
            let (pl, pr) = (load(x, left), load(x, right));
            let (vl, vr) = (values(left), values(right));
            let mut credits = 0.0;
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
                let mut credit = 0.0;
                for k in 0..Q {
                    sum[k] = al[k] + ar[k];
                    credit += ah[k] * g_hot[k] - sum[k] * g_earlier[k];
                }
                if let Some(slot) = acc.get_mut(node as usize * width + out) {
                    *slot = sum;
                }
                if let Some(slot) = phi.get_mut(out * n_features + feature as usize) {
                    *slot += sat * credit;
                }
                credits += sat * credit;
            }
            if let Some(slot) = last.and_then(|last| phi.get_mut(last + feature as usize)) {
                *slot -= credits;
            }
        }
    }
}
