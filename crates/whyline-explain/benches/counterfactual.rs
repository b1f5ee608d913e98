//! Counterfactuals per row: the linear closed form (L2 and L1) on the bench logistic
//! regression; the exact leaf-combination search on the committed scikit-learn forest
//! fixtures (RandomForestClassifier 10 trees on wine, GradientBoostingClassifier 20 trees on
//! breast cancer); the seeded search on the bench logistic regression, an MLP and a KNN
//! fixture.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

mod common;

use std::hint::black_box;
use std::path::PathBuf;

use criterion::{Criterion, criterion_group, criterion_main};
use whyline_explain::{Cost, CounterfactualSearch, CounterfactualSettings, counterfactual};
use whyline_models::Model;

/// A model fixture of whyline-models and its 30 held-out rows.
fn fixture(name: &str) -> (Model, Vec<Vec<f32>>) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../whyline-models/tests/fixtures");
    let model = Model::load(dir.join(format!("{name}.whyline.json"))).unwrap();
    let text = std::fs::read_to_string(dir.join(format!("{name}.expected.json"))).unwrap();
    let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
    let rows = doc["inputs"]
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
    (model, rows)
}

fn run(
    c: &mut Criterion,
    id: &str,
    model: &Model,
    rows: &[Vec<f32>],
    settings: &CounterfactualSettings,
) {
    let mut i = 0usize;
    c.bench_function(id, |b| {
        b.iter(|| {
            let row = &rows[i % rows.len()];
            i += 1;
            black_box(counterfactual(model, black_box(row), settings, None).unwrap())
        })
    });
}

fn bench(c: &mut Criterion) {
    let logreg = common::load("bench_logreg.whyline.json");
    let rows = common::rows("classification_rows");
    if let (Some(model), Some(rows)) = (&logreg, &rows) {
        for (id, cost) in [
            ("counterfactual/linear_l2", Cost::L2),
            ("counterfactual/linear_l1", Cost::L1),
        ] {
            let settings = CounterfactualSettings {
                cost,
                ..CounterfactualSettings::default()
            };
            run(c, id, model, rows, &settings);
        }
        for (id, cost) in [
            ("counterfactual/seeded_logreg_l2", Cost::L2),
            ("counterfactual/seeded_logreg_l1", Cost::L1),
        ] {
            let settings = CounterfactualSettings {
                cost,
                search: CounterfactualSearch::Seeded,
                ..CounterfactualSettings::default()
            };
            run(c, id, model, rows, &settings);
        }
    } else {
        eprintln!("skipping the bench logistic regression: bench models missing");
    }
    let exact = CounterfactualSettings {
        search: CounterfactualSearch::Exact,
        ..CounterfactualSettings::default()
    };
    for (id, name) in [
        ("counterfactual/forest_exact_rf_wine_10", "sk_rf_clf_wine"),
        (
            "counterfactual/forest_exact_gb_cancer_20",
            "sk_gb_clf_breast_cancer",
        ),
    ] {
        let (model, rows) = fixture(name);
        run(c, id, &model, &rows, &exact);
    }
    let seeded = CounterfactualSettings {
        search: CounterfactualSearch::Seeded,
        ..CounterfactualSettings::default()
    };
    for (id, name) in [
        (
            "counterfactual/seeded_mlp_cancer",
            "sk_mlp_clf_breast_cancer",
        ),
        ("counterfactual/seeded_mlp_wine", "sk_mlp_clf_wine"),
        ("counterfactual/seeded_knn_iris", "sk_knn_clf_iris"),
        ("counterfactual/seeded_rf_wine_10", "sk_rf_clf_wine"),
    ] {
        let (model, rows) = fixture(name);
        run(c, id, &model, &rows, &seeded);
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
