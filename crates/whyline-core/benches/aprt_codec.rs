//! APRT encode and decode of a LinearPath trace with 8 features (issue #2's budget:
//! encode ≤ 40 ns with no allocation into a reused buffer, decode ≤ 50 ns), and the JSON view
//! for comparison.
//!
//! Run: `cargo bench -p whyline-core --bench aprt_codec`

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use whyline_core::{
    DecisionTrace, LinearPath, decode_aprt_prefix, encode_aprt, encode_json, encode_json_reference,
    from_json_slice, to_aprt,
};

fn linear_trace() -> DecisionTrace<LinearPath> {
    DecisionTrace {
        timestamp_ns: 1_710_512_347_123_456_789,
        sequence: 42,
        input_hash: 0xdead_beef_1234_5678,
        output: 0.87,
        latency_ns: 2_000,
        path: LinearPath {
            contributions: vec![0.42, 0.28, -0.15, 0.08, 0.12, -0.03, 0.5, 0.01],
            intercept: 0.32,
            logit: 1.55,
            prediction: 1.0,
            probability: Some(0.825),
        },
    }
}

fn aprt(c: &mut Criterion) {
    let trace = linear_trace();
    let mut group = c.benchmark_group("aprt_linear8");
    let mut buffer = Vec::with_capacity(256);
    group.bench_function("encode_reused_buffer", |b| {
        b.iter(|| {
            buffer.clear();
            black_box(encode_aprt(black_box(&trace), &mut buffer));
        })
    });
    group.bench_function("encode_to_new_vec", |b| {
        b.iter(|| black_box(to_aprt(black_box(&trace))))
    });
    let bytes = to_aprt(&trace);
    group.bench_function("decode", |b| {
        b.iter(|| black_box(decode_aprt_prefix::<LinearPath>(black_box(&bytes), 0)))
    });
    group.finish();

    let mut group = c.benchmark_group("json_linear8");
    let mut text = Vec::with_capacity(512);
    group.bench_function("encode_reused_buffer", |b| {
        b.iter(|| {
            text.clear();
            black_box(encode_json(black_box(&trace), &mut text))
        })
    });
    // The serde derive through serde_json that `encode_json` replaced (same bytes): the
    // speed-up measured in the same run.
    group.bench_function("encode_reference_serde", |b| {
        b.iter(|| {
            text.clear();
            black_box(encode_json_reference(black_box(&trace), &mut text))
        })
    });
    text.clear();
    let _ = encode_json(&trace, &mut text);
    group.bench_function("decode", |b| {
        b.iter(|| black_box(from_json_slice::<LinearPath>(black_box(&text))))
    });
    group.finish();
}

/// The input digests a monitor computes per decision, over an 8-feature row: FNV-1a is
/// byte-serial (one multiply per byte), XXH3-64 reads eight bytes at a time, HMAC-SHA256 is
/// two SHA-256 compressions at least.
fn digests(c: &mut Criterion) {
    let row = [0.42f32, 1.5, -3.0, 35.0, 52_000.0, 0.0, 7.25, -0.125];
    let mut group = c.benchmark_group("digest_8_features");
    group.bench_function("fnv1a", |b| {
        b.iter(|| black_box(whyline_core::digest::fnv1a_features(black_box(&row))))
    });
    group.bench_function("xxh3_64", |b| {
        b.iter(|| black_box(whyline_core::digest::xxh3_features(black_box(&row))))
    });
    let fast = whyline_core::digest::InputDigester::xxh3();
    group.bench_function("xxh3_64_digester", |b| {
        b.iter(|| black_box(fast.digest(black_box(&row))))
    });
    let keyed = whyline_core::digest::InputDigester::keyed(b"a deployment secret");
    group.bench_function("hmac_sha256_64", |b| {
        b.iter(|| black_box(keyed.digest(black_box(&row))))
    });
    group.finish();
}

criterion_group!(benches, aprt, digests);
criterion_main!(benches);
