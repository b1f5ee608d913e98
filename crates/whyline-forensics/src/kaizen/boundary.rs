//! Decision boundary analysis: decisions taken close to the boundary between two classes
//! (the chosen class's probability within
//! [`KaizenSettings::boundary_margin`](super::KaizenSettings::boundary_margin) of the
//! runner-up's), flips (consecutive decisions, in time order, that differ), and which
//! classes replace each other (a transition count table).

use std::collections::BTreeMap;

use serde::Serialize;
use whyline_core::Names;

use super::decision::{KaizenDecision, class_name};

/// Two classes the model hesitates or switches between.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct BoundaryPair {
    /// The decided class.
    pub class: String,
    /// The runner-up (for near-boundary decisions) or the class it replaced (for flips).
    pub other: String,
    /// Decisions of `class` with `other` as runner-up within the margin.
    pub near: usize,
    /// Flips between the two, either way.
    pub flips: usize,
    /// Log indices of the closest calls.
    pub examples: Vec<u64>,
}

/// The transition count table: `counts[i][j]` is how often a decision of `classes[i]` was
/// followed by one of `classes[j]`.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct TransitionTable {
    /// Row and column labels.
    pub classes: Vec<String>,
    /// Counts, rows "from", columns "to".
    pub counts: Vec<Vec<u64>>,
}

/// Boundary analysis of the current window.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct BoundaryAnalysis {
    /// Decisions whose margin could be measured (class probabilities recorded).
    pub with_margin: usize,
    /// Of those, decisions within the margin of the runner-up.
    pub near_boundary: usize,
    /// The margin used.
    pub margin: f32,
    /// Consecutive decisions that differ.
    pub flips: usize,
    /// Flips per consecutive pair.
    pub flip_rate: f64,
    /// Class pairs by near-boundary decisions and flips, most frequent first.
    pub pairs: Vec<BoundaryPair>,
    /// The transition count table.
    pub transitions: TransitionTable,
}

pub(crate) fn analyze_boundaries(
    decisions: &[KaizenDecision],
    names: &Names,
    margin: f32,
    examples: usize,
) -> BoundaryAnalysis {
    let mut analysis = BoundaryAnalysis {
        margin,
        ..BoundaryAnalysis::default()
    };
    // (class, other) → (near, flips, closest calls as (margin, index)).
    type Calls = Vec<(f32, u64)>;
    let mut pairs: BTreeMap<(usize, usize), (usize, usize, Calls)> = BTreeMap::new();
    for d in decisions {
        let (Some(m), Some(class), Some((other, _))) = (d.margin(), d.class, d.runner_up()) else {
            continue;
        };
        analysis.with_margin += 1;
        if m <= margin {
            analysis.near_boundary += 1;
            let entry = pairs.entry((class, other)).or_default();
            entry.0 += 1;
            entry.2.push((m, d.index));
        }
    }
    let classes: Vec<usize> = decisions.iter().filter_map(|d| d.class).collect();
    let width = classes
        .iter()
        .copied()
        .max()
        .map_or(0, |m| m + 1)
        .max(names.classes.len());
    let mut counts = vec![vec![0u64; width]; width];
    let mut consecutive = 0usize;
    for pair in decisions.windows(2) {
        let (Some(a), Some(b)) = (pair[0].class, pair[1].class) else {
            continue;
        };
        consecutive += 1;
        counts[a][b] += 1;
        if a != b {
            analysis.flips += 1;
            let entry = pairs.entry((b, a)).or_default();
            entry.1 += 1;
            // A flip is an example too, after the near-boundary calls (margin 1 when unknown).
            entry
                .2
                .push((pair[1].margin().unwrap_or(1.0), pair[1].index));
        }
    }
    analysis.flip_rate = analysis.flips as f64 / consecutive.max(1) as f64;
    let mut listed: Vec<BoundaryPair> = pairs
        .into_iter()
        .map(|((class, other), (near, flips, mut calls))| {
            calls.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            calls.dedup_by_key(|c| c.1);
            BoundaryPair {
                class: class_name(names, class),
                other: class_name(names, other),
                near,
                flips,
                examples: calls.iter().take(examples).map(|c| c.1).collect(),
            }
        })
        .collect();
    listed.sort_by(|a, b| {
        (b.near + b.flips)
            .cmp(&(a.near + a.flips))
            .then(a.class.cmp(&b.class))
            .then(a.other.cmp(&b.other))
    });
    listed.truncate(10);
    analysis.pairs = listed;
    analysis.transitions = TransitionTable {
        classes: (0..width).map(|c| class_name(names, c)).collect(),
        counts,
    };
    analysis
}
