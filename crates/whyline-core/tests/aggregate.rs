//! Trace aggregation: the SIMD backend gives the scalar backend's bits on any traces, and
//! both give the statistics numpy's `mean`, `max` and `var` give (computed here the plain
//! way, in the same order, as the oracle of the definition).

use proptest::prelude::*;
use whyline_core::{
    AggregationBackend, CoreError, DecisionTrace, LinearPath, TreePath, aggregate_traces_with,
};

fn linear(sequence: u64, contributions: Vec<f32>) -> DecisionTrace<LinearPath> {
    DecisionTrace {
        timestamp_ns: 0,
        sequence,
        input_hash: 0,
        output: 0.0,
        latency_ns: 0,
        path: LinearPath {
            contributions,
            ..LinearPath::default()
        },
    }
}

fn bits(values: &[f64]) -> Vec<u64> {
    values.iter().map(|v| v.to_bits()).collect()
}

/// Any f32 but NaN (NaN in a maximum is tested on its own).
fn contribution() -> impl Strategy<Value = f32> {
    prop_oneof![
        -1e3f32..1e3,
        Just(0.0f32),
        Just(-0.0f32),
        any::<f32>().prop_filter("finite", |x| x.is_finite()),
    ]
}

proptest! {
    #[test]
    fn simd_and_scalar_give_the_same_bits(
        width in 0usize..19,
        rows in prop::collection::vec(prop::collection::vec(contribution(), 19), 0..40),
    ) {
        let traces: Vec<_> = rows
            .iter()
            .enumerate()
            .map(|(i, row)| linear(i as u64, row[..width].to_vec()))
            .collect();
        let scalar = aggregate_traces_with(AggregationBackend::Scalar, &traces).unwrap();
        let simd = aggregate_traces_with(AggregationBackend::Simd, &traces).unwrap();
        prop_assert_eq!(bits(&scalar.mean), bits(&simd.mean));
        prop_assert_eq!(bits(&scalar.variance), bits(&simd.variance));
        prop_assert_eq!(
            scalar.max.iter().map(|m| m.to_bits()).collect::<Vec<_>>(),
            simd.max.iter().map(|m| m.to_bits()).collect::<Vec<_>>()
        );
        prop_assert_eq!(scalar.mean_contribution.to_bits(), simd.mean_contribution.to_bits());
        prop_assert_eq!(scalar.max_contribution.to_bits(), simd.max_contribution.to_bits());
        prop_assert_eq!(
            scalar.contribution_variance.to_bits(),
            simd.contribution_variance.to_bits()
        );
    }

    #[test]
    fn the_statistics_are_the_definitions(
        rows in prop::collection::vec(prop::collection::vec(-100f32..100.0, 7), 1..30),
    ) {
        let traces: Vec<_> = rows.iter().enumerate().map(|(i, r)| linear(i as u64, r.clone())).collect();
        let stats = aggregate_traces_with(AggregationBackend::Simd, &traces).unwrap();
        let n = rows.len() as f64;
        for f in 0..7 {
            let column: Vec<f64> = rows.iter().map(|r| f64::from(r[f])).collect();
            let mean = column.iter().sum::<f64>() / n;
            let var = column.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / n;
            let max = rows.iter().map(|r| r[f]).fold(f32::NEG_INFINITY, f32::max);
            prop_assert!((stats.mean[f] - mean).abs() <= 1e-12 * (1.0 + mean.abs()));
            prop_assert!((stats.variance[f] - var).abs() <= 1e-9 * (1.0 + var));
            prop_assert_eq!(stats.max[f], max);
        }
        let all: Vec<f64> = rows.iter().flatten().map(|&x| f64::from(x)).collect();
        let mean = all.iter().sum::<f64>() / all.len() as f64;
        let var = all.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / all.len() as f64;
        prop_assert!((stats.mean_contribution - mean).abs() <= 1e-12 * (1.0 + mean.abs()));
        // The largest contribution of any feature in any trace.
        let largest = rows.iter().flatten().copied().fold(f32::NEG_INFINITY, f32::max);
        prop_assert_eq!(stats.max_contribution, largest);
        prop_assert!((stats.contribution_variance - var).abs() <= 1e-9 * (1.0 + var));
        prop_assert_eq!(stats.traces, rows.len() as u64);
    }
}

#[test]
fn traces_without_contributions_are_skipped_and_mixed_widths_refused() {
    let trees = vec![
        DecisionTrace {
            timestamp_ns: 0,
            sequence: 0,
            input_hash: 0,
            output: 0.0,
            latency_ns: 0,
            path: TreePath::default(),
        };
        3
    ];
    // With no contributions at all every statistic is empty or zero (never 0 / 0 = NaN),
    // on both backends, and with no traces at all the same.
    for backend in [AggregationBackend::Scalar, AggregationBackend::Simd] {
        for traces in [&trees[..], &[]] {
            let stats = aggregate_traces_with(backend, traces).unwrap();
            assert_eq!((stats.traces, stats.skipped), (0, traces.len() as u64));
            assert!(stats.mean.is_empty() && stats.max.is_empty() && stats.variance.is_empty());
            assert_eq!(
                (
                    stats.mean_contribution,
                    stats.max_contribution,
                    stats.contribution_variance
                ),
                (0.0, 0.0, 0.0),
                "{backend:?}, {} traces",
                traces.len()
            );
        }
    }

    let mixed = [linear(0, vec![1.0, 2.0]), linear(7, vec![1.0])];
    let error = aggregate_traces_with(AggregationBackend::Scalar, &mixed).unwrap_err();
    assert!(
        matches!(
            error,
            CoreError::MixedWidths {
                sequence: 7,
                expected: 2,
                found: 1
            }
        ),
        "{error}"
    );
}

#[test]
fn nan_never_becomes_the_maximum_on_either_backend() {
    let traces = [
        linear(0, vec![1.0, 1.0, 1.0, 1.0, 1.0]),
        linear(1, vec![f32::NAN, 2.0, f32::NAN, 0.5, f32::NAN]),
    ];
    for backend in [AggregationBackend::Scalar, AggregationBackend::Simd] {
        let stats = aggregate_traces_with(backend, &traces).unwrap();
        assert_eq!(stats.max, [1.0, 2.0, 1.0, 1.0, 1.0], "{backend:?}");
    }
}
