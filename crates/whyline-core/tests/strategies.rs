//! proptest strategies for every path type and for traces, with every f32 bit pattern
//! (NaN payloads, infinities, subnormals, -0.0) where the type allows it.

use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;
use whyline_core::{
    Aggregation, AnyPath, ClusterPath, DecisionTrace, ForestPath, KnnPath, LeafInfo, LinearPath,
    NeuralPath, SplitTest, TreePath, TreeSplit,
};

/// Any f32: half from raw bits (every NaN payload), half from proptest's classes.
pub(crate) fn any_f32() -> impl Strategy<Value = f32> {
    prop_oneof![
        any::<u32>().prop_map(f32::from_bits),
        proptest::num::f32::ANY
    ]
}

fn f32s(max: usize) -> impl Strategy<Value = Vec<f32>> {
    vec(any_f32(), 0..max)
}

pub(crate) fn linear_path() -> impl Strategy<Value = LinearPath> {
    (
        f32s(24),
        any_f32(),
        any_f32(),
        any_f32(),
        option::of(any_f32()),
    )
        .prop_map(
            |(contributions, intercept, logit, prediction, probability)| LinearPath {
                contributions,
                intercept,
                logit,
                prediction,
                probability,
            },
        )
}

fn split_test() -> impl Strategy<Value = SplitTest> {
    prop_oneof![
        Just(SplitTest::LessOrEqual),
        Just(SplitTest::Less),
        Just(SplitTest::InCategories),
        Just(SplitTest::NotInCategories),
    ]
}

fn tree_split() -> impl Strategy<Value = TreeSplit> {
    (
        any::<u32>(),
        any::<u32>(),
        any_f32(),
        split_test(),
        vec(any::<u32>(), 0..4),
        any::<bool>(),
        any::<bool>(),
        any::<u64>(),
    )
        .prop_map(
            |(
                node_index,
                feature_index,
                threshold,
                test,
                categories,
                went_left,
                missing,
                n_samples,
            )| {
                TreeSplit {
                    node_index,
                    feature_index,
                    threshold,
                    test,
                    categories,
                    went_left,
                    missing,
                    n_samples,
                }
            },
        )
}

pub(crate) fn tree_path() -> impl Strategy<Value = TreePath> {
    (
        vec(tree_split(), 0..8),
        any::<u32>(),
        any_f32(),
        any::<u64>(),
        option::of(f32s(5)),
        f32s(9),
    )
        .prop_map(
            |(splits, node_index, prediction, n_samples, class_distribution, impurity_path)| {
                TreePath {
                    splits,
                    leaf: LeafInfo {
                        node_index,
                        prediction,
                        n_samples,
                        class_distribution,
                    },
                    impurity_path,
                }
            },
        )
}

pub(crate) fn forest_path() -> impl Strategy<Value = ForestPath> {
    (
        prop_oneof![Just(Aggregation::Mean), Just(Aggregation::Sum)],
        any_f32(),
        vec(tree_path(), 0..4),
        f32s(5),
        any_f32(),
        any_f32(),
        f32s(10),
        option::of(any_f32()),
    )
        .prop_map(
            |(
                aggregation,
                base_score,
                tree_paths,
                tree_predictions,
                ensemble_prediction,
                tree_agreement,
                feature_importance,
                probability,
            )| ForestPath {
                aggregation,
                base_score,
                tree_paths,
                tree_predictions,
                ensemble_prediction,
                tree_agreement,
                feature_importance,
                probability,
            },
        )
}

pub(crate) fn knn_path() -> impl Strategy<Value = KnnPath> {
    (
        vec(any::<u32>(), 0..8),
        f32s(8),
        f32s(8),
        vec((any::<u32>(), any::<u32>()), 0..4),
        option::of(f32s(4)),
    )
        .prop_map(
            |(neighbor_indices, distances, neighbor_labels, votes, weighted_votes)| KnnPath {
                neighbor_indices,
                distances,
                neighbor_labels,
                votes,
                weighted_votes,
            },
        )
}

pub(crate) fn neural_path() -> impl Strategy<Value = NeuralPath> {
    (
        f32s(16),
        option::of(vec(f32s(6), 0..4)),
        option::of(vec(f32s(6), 0..3)),
        option::of(f32s(16)),
        option::of(any_f32()),
    )
        .prop_map(
            |(
                input_gradient,
                activations,
                attention_weights,
                integrated_gradients,
                probability,
            )| {
                NeuralPath {
                    input_gradient,
                    activations,
                    attention_weights,
                    integrated_gradients,
                    probability,
                }
            },
        )
}

pub(crate) fn cluster_path() -> impl Strategy<Value = ClusterPath> {
    (f32s(8), any::<u32>(), any::<u32>(), any_f32(), f32s(8)).prop_map(
        |(squared_distances, cluster, runner_up, margin, contributions)| ClusterPath {
            squared_distances,
            cluster,
            runner_up,
            margin,
            contributions,
        },
    )
}

pub(crate) fn any_path() -> impl Strategy<Value = AnyPath> {
    prop_oneof![
        linear_path().prop_map(AnyPath::from),
        tree_path().prop_map(AnyPath::from),
        forest_path().prop_map(AnyPath::from),
        knn_path().prop_map(AnyPath::from),
        neural_path().prop_map(AnyPath::from),
        cluster_path().prop_map(AnyPath::from),
    ]
}

/// A trace around `path`; `latency_ns` a whole number of microseconds within u32, so the APRT
/// round trip is exact (sub-microsecond truncation is tested on its own).
pub(crate) fn trace<P: std::fmt::Debug + Clone>(
    path: impl Strategy<Value = P>,
) -> impl Strategy<Value = DecisionTrace<P>> {
    (
        any::<u64>(),
        any::<u64>(),
        any::<u64>(),
        any_f32(),
        any::<u32>(),
        path,
    )
        .prop_map(
            |(timestamp_ns, sequence, input_hash, output, latency_us, path)| DecisionTrace {
                timestamp_ns,
                sequence,
                input_hash,
                output,
                latency_ns: u64::from(latency_us) * 1_000,
                path,
            },
        )
}
