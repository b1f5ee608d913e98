//! Compiling a tree for TreeSHAP: its splits, per leaf the distinct features of its path
//! with their cover products, and the sweep's form when the tree allows it.

use whyline_models::{GradientBoosting, Tree};

use super::{CompiledTree, CoverSource, SweepTree};
use crate::error::{ExplainError, Result};

pub(super) fn compile_boosting(
    m: &GradientBoosting,
    covers: CoverSource,
) -> Result<Vec<CompiledTree>> {
    m.trees
        .iter()
        .zip(&m.tree_groups)
        .enumerate()
        .map(|(i, (tree, &group))| {
            compile(tree, i, covers, |t, leaf| vec![t.node_value(leaf)])
                .map(|c| c.with_offset(group as usize))
        })
        .collect()
}

/// One step of a root-to-leaf path during compilation.
struct Step {
    internal: u32,
    left: bool,
    feature: u32,
    fraction: f64,
}

pub(super) fn compile(
    tree: &Tree,
    tree_index: usize,
    covers: CoverSource,
    leaf_value: impl Fn(&Tree, usize) -> Vec<f64>,
) -> Result<CompiledTree> {
    let mut internal_of = vec![u32::MAX; tree.nodes.len()];
    let mut splits = Vec::new();
    for (index, node) in tree.nodes.iter().enumerate() {
        if let (Some(split), Some(slot)) = (&node.split, internal_of.get_mut(index)) {
            *slot = splits.len() as u32;
            splits.push(split.clone());
        }
    }
    let mut compiled = CompiledTree {
        splits,
        entry_start: vec![0],
        entry_feature: Vec::new(),
        entry_zero: Vec::new(),
        step_start: vec![0],
        step_internal: Vec::new(),
        step_left: Vec::new(),
        step_entry: Vec::new(),
        node_parent: vec![u32::MAX; tree.nodes.len()],
        node_is_left: vec![false; tree.nodes.len()],
        node_internal: internal_of.clone(),
        leaf_node: Vec::new(),
        sweep: None,
        leaf_values: Vec::new(),
        width: 0,
        offset: 0,
    };
    // Depth-first, left before right; `path` holds the steps to the current node.
    let mut path: Vec<Step> = Vec::new();
    // (node, depth of its path, step that leads to it)
    let mut stack: Vec<(usize, usize, Option<Step>)> = vec![(0, 0, None)];
    while let Some((index, depth, step)) = stack.pop() {
        path.truncate(depth);
        if let Some(step) = step {
            path.push(step);
        }
        let Some(node) = tree.nodes.get(index) else {
            continue;
        };
        match &node.split {
            Some(split) => {
                let cover = covers.of(node);
                if !(cover.is_finite() && cover > 0.0) {
                    return Err(ExplainError::BadCover {
                        tree: tree_index,
                        node: index,
                        cover,
                    });
                }
                let internal = internal_of.get(index).copied().unwrap_or(u32::MAX);
                let child_cover =
                    |child: u32| tree.nodes.get(child as usize).map_or(0.0, |c| covers.of(c));
                for (child, left) in [(split.right, false), (split.left, true)] {
                    if let Some(parent) = compiled.node_parent.get_mut(child as usize) {
                        *parent = index as u32;
                    }
                    if let Some(is_left) = compiled.node_is_left.get_mut(child as usize) {
                        *is_left = left;
                    }
                    stack.push((
                        child as usize,
                        path.len(),
                        Some(Step {
                            internal,
                            left,
                            feature: split.feature,
                            fraction: child_cover(child) / cover,
                        }),
                    ));
                }
            }
            None => {
                compiled.leaf_node.push(index as u32);
                compiled.push_leaf(&path, &leaf_value(tree, index));
            }
        }
    }
    let max_entries = compiled
        .entry_start
        .windows(2)
        .map(|w| w[1].saturating_sub(w[0]) as usize)
        .max()
        .unwrap_or(0);
    let mut leaf_of = vec![u32::MAX; tree.nodes.len()];
    for (leaf, &node) in compiled.leaf_node.iter().enumerate() {
        if let Some(slot) = leaf_of.get_mut(node as usize) {
            *slot = leaf as u32;
        }
    }
    compiled.sweep = SweepTree::compile(
        tree,
        covers,
        &internal_of,
        &leaf_of,
        &compiled.leaf_values,
        compiled.width,
        max_entries.div_ceil(2).max(1),
    );
    Ok(compiled)
}

impl CompiledTree {
    pub(super) fn with_offset(mut self, offset: usize) -> CompiledTree {
        self.offset = offset;
        self
    }

    fn push_leaf(&mut self, path: &[Step], values: &[f64]) {
        let first_entry = self.entry_feature.len();
        for step in path {
            let local = self.entry_feature[first_entry..]
                .iter()
                .position(|&f| f == step.feature);
            let entry = match local {
                Some(e) => {
                    if let Some(z) = self.entry_zero.get_mut(first_entry + e) {
                        *z *= step.fraction;
                    }
                    e
                }
                None => {
                    self.entry_feature.push(step.feature);
                    self.entry_zero.push(step.fraction);
                    self.entry_feature.len() - 1 - first_entry
                }
            };
            self.step_internal.push(step.internal);
            self.step_left.push(step.left);
            self.step_entry.push(entry as u32);
        }
        self.entry_start.push(self.entry_feature.len() as u32);
        self.step_start.push(self.step_internal.len() as u32);
        self.width = values.len();
        self.leaf_values.extend_from_slice(values);
    }

    pub(super) fn n_leaves(&self) -> usize {
        self.entry_start.len() - 1
    }

    /// Adds `Σ_leaves v_l Π z` (the tree's expectation under its covers) to `base`.
    pub(super) fn add_expected_value(&self, base: &mut [f64]) {
        for leaf in 0..self.n_leaves() {
            let (e0, e1) = self.entries(leaf);
            let weight: f64 = self.entry_zero.get(e0..e1).unwrap_or(&[]).iter().product();
            for k in 0..self.width {
                let v = self
                    .leaf_values
                    .get(leaf * self.width + k)
                    .copied()
                    .unwrap_or(0.0);
                if let Some(b) = base.get_mut(self.offset + k) {
                    *b += v * weight;
                }
            }
        }
    }

    pub(super) fn entries(&self, leaf: usize) -> (usize, usize) {
        let start = self.entry_start.get(leaf).copied().unwrap_or(0) as usize;
        let end = self.entry_start.get(leaf + 1).copied().unwrap_or(0) as usize;
        (start, end.max(start))
    }
}
