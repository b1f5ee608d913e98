//! A loaded tree model's first decision allocates no more than any later one: loading builds
//! every tree's compact walks (`ModelKind::prepare_trees`), so a model that serves a game or
//! a car pays no walk-building on its first decision. Counted by an instrumented global allocator,
//! which is why this is a binary of its own, without the test harness (whose threads would
//! allocate while a check counts). `stats_alloc` provides the allocator wrapper, since
//! `unsafe` is forbidden in this workspace, tests included.

// A test binary, though without the harness clippy cannot tell: tests may unwrap and print.
#![allow(clippy::unwrap_used, clippy::print_stdout)]

use std::alloc::System;
use std::path::Path;

use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};
use whyline_core::Explainable;
use whyline_models::Model;

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// Allocations (and reallocations) made while `f` runs.
fn allocations_during<T>(f: impl FnOnce() -> T) -> (usize, T) {
    let region = Region::new(GLOBAL);
    let out = f();
    let change = region.change();
    (change.allocations + change.reallocations, out)
}

/// Linear and tree models and the allocations each decision of `predict_one` makes once
/// loaded: none, for linear, logistic and softmax models (scores on the stack), a single tree, a forest (classes summed on the stack), and the boosters (margins on
/// the stack), binary, multiclass and regression, in f32 and f64 sums. This also pins that
/// the first decision makes no more than any other: no tree walk is built on first use.
/// (A model with more than 16 classes or groups sums them in one vector per decision.)
const TREE_MODELS: [(&str, usize); 14] = [
    ("sk_linreg_diabetes.whyline.json", 0),
    ("sk_logreg_breast_cancer.whyline.json", 0),
    ("sk_logreg_iris.whyline.json", 0),
    ("sk_tree_clf_iris.whyline.json", 0),
    ("sk_rf_clf_wine.whyline.json", 0),
    ("sk_rf_reg_diabetes.whyline.json", 0),
    ("xgb_binary_logistic_breast_cancer_missing.xgb.json", 0),
    ("xgb_multi_softprob_iris.xgb.json", 0),
    ("xgb_reg_logistic_diabetes.xgb.json", 0),
    ("lgb_regression_diabetes.lgb.txt", 0),
    ("lgb_multiclass_iris.lgb.txt", 0),
    ("sk_gb_reg_diabetes.whyline.json", 0),
    ("sk_gb_clf_iris.whyline.json", 0),
    ("sk_gb_clf_breast_cancer.whyline.json", 0),
];

fn main() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    for (file, per_decision) in TREE_MODELS {
        let model = Model::load(dir.join(file)).unwrap();
        let row = vec![0.5f32; model.n_features()];
        let (first, output) = allocations_during(|| model.predict_one(&row).unwrap());
        let (second, again) = allocations_during(|| model.predict_one(&row).unwrap());
        assert_eq!(again, output);
        assert_eq!(
            (first, second),
            (per_decision, per_decision),
            "{file}: allocations of the first and the second decision"
        );
        println!("test the_first_decision_of_{file}_allocates_no_more_than_the_next ... ok");
    }
    // A decision with its path, the path's buffers reused (as the monitor reuses them):
    // nothing allocated either, boosters included (margins and probabilities on the stack).
    for (file, _) in TREE_MODELS {
        let model = Model::load(dir.join(file)).unwrap();
        let row = vec![0.5f32; model.n_features()];
        let (output, mut path) = model.explain_one(&row).unwrap();
        let (allocations, again) =
            allocations_during(|| model.explain_into(&row, &mut path).unwrap());
        assert_eq!(again.to_bits(), output.to_bits(), "{file}");
        assert_eq!(
            allocations, 0,
            "{file}: allocations of a decision with its path"
        );
        println!("test a_decision_of_{file}_with_its_path_allocates_nothing ... ok");
    }
    // The counter counts: a fresh vector is one allocation.
    let (allocations, _) = allocations_during(|| std::hint::black_box(vec![1u8; 3]));
    assert_eq!(allocations, 1);
    println!("test the_counter_counts_an_allocation ... ok");
}
