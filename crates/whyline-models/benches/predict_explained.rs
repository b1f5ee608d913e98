//! `predict_explained` per model family, on committed fixture models: one row (with a
//! reused path, and path-free `predict_one` as the baseline) and a batch of 1,000 rows.
//!
//! ```sh
//! cargo bench -p whyline-models --bench predict_explained -- --warm-up-time 1 --measurement-time 3
//! ```
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::hint::black_box;
use std::path::PathBuf;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use whyline_core::Explainable;
use whyline_models::{Model, ModelKind};

fn fixture(name: &str) -> (Model, Vec<Vec<f32>>) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let expected: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join(format!("{name}.expected.json"))).unwrap())
            .unwrap();
    let model = Model::load(dir.join(expected["model"].as_str().unwrap())).unwrap();
    let rows = expected["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| {
            row.as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_f64().map_or(f32::NAN, |x| x as f32))
                .collect()
        })
        .collect();
    (model, rows)
}

fn bench_model<M: Explainable>(c: &mut Criterion, family: &str, model: &M, rows: &[Vec<f32>]) {
    let mut group = c.benchmark_group(family);
    let row = &rows[0];
    let mut path = M::Path::default();
    group.throughput(Throughput::Elements(1));
    group.bench_function("predict_one", |b| {
        b.iter(|| model.predict_one(black_box(row)).unwrap())
    });
    group.bench_function("explain_into", |b| {
        b.iter(|| {
            let output = model.explain_into(black_box(row), &mut path).unwrap();
            black_box(&path);
            output
        })
    });
    let batch: Vec<f32> = rows.iter().cycle().take(1_000).flatten().copied().collect();
    group.throughput(Throughput::Elements(1_000));
    group.bench_with_input(
        BenchmarkId::new("predict_explained", 1_000),
        &batch,
        |b, batch| b.iter(|| model.predict_explained(black_box(batch)).unwrap()),
    );
    group.finish();
}

fn families(c: &mut Criterion) {
    for (family, name) in [
        ("logistic_regression_20f", "sk_logreg_classification"),
        ("decision_tree_depth6", "sk_tree_clf_classification"),
        ("random_forest_10x5", "sk_rf_clf_wine"),
        ("sklearn_gb_20x3", "sk_gb_clf_breast_cancer"),
        (
            "xgboost_binary_10",
            "xgb_binary_logistic_breast_cancer_missing",
        ),
        ("lightgbm_binary_10", "lgb_binary_breast_cancer"),
        ("knn_iris_k5", "sk_knn_clf_iris"),
        ("mlp_wine_12x8", "sk_mlp_clf_wine"),
    ] {
        let (model, rows) = fixture(name);
        match model.kind() {
            ModelKind::Linear(m) => bench_model(c, family, m, &rows),
            ModelKind::DecisionTree(m) => bench_model(c, family, m, &rows),
            ModelKind::RandomForest(m) => bench_model(c, family, m, &rows),
            ModelKind::GradientBoosting(m) => bench_model(c, family, m, &rows),
            ModelKind::Knn(m) => bench_model(c, family, m, &rows),
            ModelKind::Mlp(m) => bench_model(c, family, m, &rows),
            other => panic!("unexpected model kind {other:?}"),
        }
    }
    // aprender 0.27.8's own files, with the scikit-learn tree and forest above as peers.
    for (family, stem) in [
        ("aprender_tree_depth4", "decision_tree_classifier"),
        ("aprender_rf_7x4", "random_forest_classifier"),
        ("aprender_kmeans_3x3", "kmeans"),
    ] {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/aprender/0.27.8");
        let expected: serde_json::Value = serde_json::from_slice(
            &std::fs::read(dir.join(format!("{stem}.expected.json"))).unwrap(),
        )
        .unwrap();
        let model = Model::load(dir.join(format!("{stem}.apr"))).unwrap();
        let rows: Vec<Vec<f32>> = expected["inputs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|row| {
                row.as_array()
                    .unwrap()
                    .iter()
                    .map(|v| v.as_f64().unwrap() as f32)
                    .collect()
            })
            .collect();
        match model.kind() {
            ModelKind::DecisionTree(m) => bench_model(c, family, m, &rows),
            ModelKind::RandomForest(m) => bench_model(c, family, m, &rows),
            ModelKind::KMeans(m) => bench_model(c, family, m, &rows),
            other => panic!("unexpected model kind {other:?}"),
        }
    }
    // The demo's forest (20 trees of depth 9, 6 features, 4 classes): the trees `whyline
    // demo` records and `whyline replay` re-runs.
    let demo =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../whyline-cli/assets/demo_model.json");
    let model = Model::load(demo).unwrap();
    let rows: Vec<Vec<f32>> = (0..64)
        .map(|i| {
            let t = i as f32 * 0.37;
            vec![
                40.0 - (t % 30.0),
                (t * 0.7).sin().abs() * 10.0,
                0.3 + (t % 4.0),
                0.2 + (t * 0.3).cos().abs() * 0.7,
                (t * 1.3).sin() * 3.0,
                35.0 - (t % 20.0),
            ]
        })
        .collect();
    match model.kind() {
        ModelKind::RandomForest(m) => bench_model(c, "demo_forest_20x9", m, &rows),
        other => panic!("unexpected model kind {other:?}"),
    }
    // The same logistic regression through the `Model` enum and `AnyPath`.
    let (model, rows) = fixture("sk_logreg_classification");
    bench_model(c, "any_model_logistic_regression_20f", &model, &rows);
}

criterion_group!(benches, families);
criterion_main!(benches);
