//! Same model bytes and same input give byte-identical APRT traces, across runs and threads.

use whyline_core::{AnyPath, DecisionTrace, Explainable, digest, to_aprt};
use whyline_models::Model;

use crate::fixtures;

fn traces(model: &Model, rows: &[Vec<f32>]) -> Vec<Vec<u8>> {
    rows.iter()
        .enumerate()
        .map(|(i, row)| {
            let (output, path) = model.explain_one(row).unwrap();
            let trace: DecisionTrace<AnyPath> = DecisionTrace {
                timestamp_ns: 1_700_000_000_000_000_000,
                sequence: i as u64,
                input_hash: digest::fnv1a_features(row),
                output,
                latency_ns: 0,
                path,
            };
            to_aprt(&trace)
        })
        .collect()
}

#[test]
fn traces_are_byte_identical_across_runs_and_threads() {
    for fixture in fixtures::all() {
        let first = traces(&fixture.model, &fixture.inputs);
        // A second load of the same bytes, in this thread.
        let again = Model::load(&fixture.model_path).unwrap();
        assert_eq!(
            traces(&again, &fixture.inputs),
            first,
            "{}: second run differs",
            fixture.name
        );
        // Four threads sharing one model.
        std::thread::scope(|scope| {
            let handles: Vec<_> = (0..4)
                .map(|_| scope.spawn(|| traces(&fixture.model, &fixture.inputs)))
                .collect();
            for handle in handles {
                assert_eq!(
                    handle.join().unwrap(),
                    first,
                    "{}: a thread's traces differ",
                    fixture.name
                );
            }
        });
    }
}

#[test]
fn reused_paths_give_the_same_bytes_as_fresh_ones() {
    for fixture in fixtures::all() {
        let mut path = AnyPath::default();
        for row in &fixture.inputs {
            fixture.model.explain_into(row, &mut path).unwrap();
            let (_, fresh) = fixture.model.explain_one(row).unwrap();
            assert_eq!(path, fresh, "{}", fixture.name);
        }
    }
}
