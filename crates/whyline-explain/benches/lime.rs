//! LIME per row with lime's defaults (5,000 samples, kernel width 0.75 √M, quartile
//! discretisation over the first 1,000 training rows, as `python/bench_vs_shap.py` gives
//! lime) on the logistic regression of `bench_logreg.whyline.json` (make_classification
//! 10000 × 20, random_state=0), probability of class 1; the explainer built once (as
//! `LimeTabularExplainer` is) and, separately, built per row through `explain`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

mod common;

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use whyline_explain::{Background, Explainer, LimeSettings, MethodSettings, OutputSpace, explain};

fn bench(c: &mut Criterion) {
    let (Some(model), Some(rows), Some(background)) = (
        common::load("bench_logreg.whyline.json"),
        common::rows("classification_rows"),
        common::rows("classification_train"),
    ) else {
        eprintln!("skipping: bench models missing");
        return;
    };
    let background = Background::from_rows(&background, 20).unwrap();
    let settings = LimeSettings {
        output: Some(1),
        space: Some(OutputSpace::Probability),
        ..LimeSettings::default()
    };
    let method = MethodSettings::Lime(settings);
    let explainer = Explainer::new(&model, &method, Some(&background)).unwrap();
    let mut i = 0usize;
    c.bench_function("lime/logistic_defaults", |b| {
        b.iter(|| {
            let row = &rows[i % rows.len()];
            i += 1;
            black_box(explainer.explain_row(black_box(row)).unwrap())
        })
    });
    c.bench_function("lime/logistic_defaults_built_per_row", |b| {
        b.iter(|| {
            let row = &rows[i % rows.len()];
            i += 1;
            black_box(explain(&model, black_box(row), &method, Some(&background)).unwrap())
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
