//! TreeSHAP per row: RandomForestRegressor(100 trees, max_depth 8) and an XGBoost
//! regressor (100 trees, depth 6), both on make_regression(10000 × 20, random_state=0), and
//! RandomForestClassifier(100 trees, max_depth 8) on make_classification(10000 × 20,
//! 3 classes, random_state=0), every class explained.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

mod common;

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use whyline_explain::{
    Explainer, MethodSettings, TreeShap, TreeShapScratch, TreeShapSettings, explain,
};

fn bench(c: &mut Criterion) {
    for (id, file, field) in [
        (
            "tree_shap/random_forest_100x8",
            "bench_rf.whyline.json",
            "regression_rows",
        ),
        (
            "tree_shap/random_forest_classifier_100x8_3",
            "bench_rf_clf.whyline.json",
            "classification3_rows",
        ),
        (
            "tree_shap/xgboost_100x6",
            "bench_xgb.xgb.json",
            "regression_rows",
        ),
    ] {
        let Some(rows) = common::rows(field) else {
            eprintln!("skipping {id}: benches/models/bench_data.json has no {field}");
            continue;
        };
        let Some(model) = common::load(file) else {
            continue;
        };
        let explainer = TreeShap::new(&model).unwrap();
        let mut values = Vec::new();
        let mut scratch = TreeShapScratch::default();
        let mut i = 0usize;
        c.bench_function(id, |b| {
            b.iter(|| {
                let row = &rows[i % rows.len()];
                i += 1;
                explainer
                    .shap_values_into(black_box(row), &mut values, &mut scratch)
                    .unwrap();
                black_box(&values);
            })
        });
        // Every row at once (`shap_values_rows_into`: trees outside, rows inside, in blocks),
        // per row: what `whyline.TreeExplainer(model).shap_values(X)` runs.
        let flat: Vec<f32> = rows.concat();
        c.bench_function(&format!("{id}_rows_at_once_per_row"), |b| {
            b.iter_custom(|iterations| {
                let start = std::time::Instant::now();
                let mut done = 0u64;
                while done < iterations {
                    explainer
                        .shap_values_rows_into(black_box(&flat), &mut values, &mut scratch)
                        .unwrap();
                    black_box(&values);
                    done += rows.len() as u64;
                }
                start.elapsed() * iterations as u32 / done as u32
            })
        });
        // What a user of the explainer (and the CLI) pays per row: the values plus the
        // attribution (the model's own prediction as its sum-check).
        let settings = MethodSettings::TreeShap(TreeShapSettings::default());
        let explainer = Explainer::new(&model, &settings, None).unwrap();
        c.bench_function(&format!("{id}_explainer"), |b| {
            b.iter(|| {
                let row = &rows[i % rows.len()];
                i += 1;
                black_box(explainer.explain_row(black_box(row)).unwrap())
            })
        });
        // A batch of rows through `explain_rows` on one thread (as `whyline explain --jobs
        // 1` runs them), per row.
        c.bench_function(&format!("{id}_explain_rows_per_row"), |b| {
            b.iter_custom(|iterations| {
                let start = std::time::Instant::now();
                let mut done = 0u64;
                while done < iterations {
                    black_box(explainer.explain_rows(black_box(&flat), 1));
                    done += rows.len() as u64;
                }
                start.elapsed() * iterations as u32 / done as u32
            })
        });
        // Before issue 9: everything built for every row.
        c.bench_function(&format!("{id}_built_per_row"), |b| {
            b.iter(|| {
                let row = &rows[i % rows.len()];
                i += 1;
                black_box(explain(&model, black_box(row), &settings, None).unwrap())
            })
        });
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
