//! KernelSHAP per row on a logistic regression (make_classification 10000 × 20,
//! random_state=0): 100 background rows, 1,000 sampled coalitions, probability of class 1.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

mod common;

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use whyline_explain::{
    Background, Explainer, KernelShapSettings, MethodSettings, OutputSpace, kernel_shap,
};

fn bench(c: &mut Criterion) {
    let (Some(model), Some(rows), Some(background)) = (
        common::load("bench_logreg.whyline.json"),
        common::rows("classification_rows"),
        common::rows("classification_background"),
    ) else {
        eprintln!("skipping: bench models missing");
        return;
    };
    let background = Background::from_rows(&background, 20).unwrap();
    let settings = KernelShapSettings {
        output: Some(1),
        space: Some(OutputSpace::Probability),
        max_exact_features: 0,
        samples: 1000,
        seed: 0,
    };
    let explainer = Explainer::new(
        &model,
        &MethodSettings::KernelShap(settings.clone()),
        Some(&background),
    )
    .unwrap();
    let mut i = 0usize;
    c.bench_function("kernel_shap/logistic_bg100_1000", |b| {
        b.iter(|| {
            let row = &rows[i % rows.len()];
            i += 1;
            black_box(explainer.explain_row(black_box(row)).unwrap())
        })
    });
    c.bench_function("kernel_shap/logistic_bg100_1000_built_per_row", |b| {
        b.iter(|| {
            let row = &rows[i % rows.len()];
            i += 1;
            black_box(kernel_shap(&model, black_box(row), &background, &settings).unwrap())
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
