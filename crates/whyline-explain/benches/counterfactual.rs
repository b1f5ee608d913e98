//! Linear counterfactual per row (closed form, L2 and L1) on the bench logistic regression.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

mod common;

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use whyline_explain::{Cost, CounterfactualSettings, counterfactual};

fn bench(c: &mut Criterion) {
    let (Some(model), Some(rows)) = (
        common::load("bench_logreg.whyline.json"),
        common::rows("classification_rows"),
    ) else {
        eprintln!("skipping: bench models missing");
        return;
    };
    for (id, cost) in [
        ("counterfactual/linear_l2", Cost::L2),
        ("counterfactual/linear_l1", Cost::L1),
    ] {
        let settings = CounterfactualSettings {
            cost,
            ..CounterfactualSettings::default()
        };
        let mut i = 0usize;
        c.bench_function(id, |b| {
            b.iter(|| {
                let row = &rows[i % rows.len()];
                i += 1;
                black_box(counterfactual(&model, black_box(row), &settings, None).unwrap())
            })
        });
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
