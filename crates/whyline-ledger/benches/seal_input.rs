//! Sealing a decision's input: an 8-feature row with 6 context fields (the demo's detected
//! object, distances, speeds; ~150 bytes of plaintext) under a subject key, XChaCha20-Poly1305.
//!
//! - `seal_only`: plaintext encoding, nonce, AEAD into a reused buffer: the sealing itself.
//! - `append_trace` vs `append_trace_and_input`: a ledger collector in memory (no fsync,
//!   checkpoints every 4096 entries) appending the trace alone, or the trace with its input
//!   sealed as the trailer of the same entry; `append_trace_then_input_entry`: the first
//!   layout, the input as a second entry (which also pays a leaf, chain and Merkle hash
//!   and a frame).
//!
//! - `discard_*`: the same three on a store that keeps only its length: the CPU cost of
//!   sealing, hashing and framing alone, without the bytes landing anywhere (the goal's
//!   measure: what sealing adds on the deciding thread); `discard_append_trace_and_small_input`
//!   seals the size the issue names, an 8-feature row with a two-field context (109 bytes of
//!   plaintext); the `_aes_gcm` and `_xchacha` variants seal with the other two AEADs (the
//!   preferred one is AEGIS-256 on a processor with AES instructions).
//! - `segment_files_*`: the same two on segment files without fsync, as a deployment writes
//!   them (the in-memory store's growth, page faults included, is not in these).
//!
//! - `aead/*`: the candidate ciphers alone on the same bytes (the 120-byte header as
//!   associated data, a 150-byte plaintext), each with its cipher instance kept: RustCrypto's
//!   `XChaCha20Poly1305` (what sealed until now), the same XChaCha20-Poly1305 as `ring`'s
//!   ChaCha20-Poly1305 under a cached HChaCha20 subkey (what `Sealer` does now),
//!   RustCrypto's `Aes256GcmSiv`, `ring`'s AES-256-GCM and `libaegis`'s AEGIS-256 (what
//!   `Sealer` seals with where the processor has AES instructions).
//!
//! Goal (issue 10): sealing adds ≤ 300 ns per decision over not sealing.

#![allow(clippy::unwrap_used, clippy::panic)]

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use whyline_core::{ContextValue, DecisionTrace, InputEvidence, LinearPath};
use whyline_ledger::seal::{KeyStore, Sealer};
use whyline_ledger::{Durability, LedgerCollector, LedgerOptions, NoteSigner, SegmentStore};

fn trace(i: u64) -> DecisionTrace<LinearPath> {
    DecisionTrace {
        timestamp_ns: 1_700_000_000_000_000_000 + i,
        sequence: i,
        input_hash: i.wrapping_mul(0x9e37_79b9_7f4a_7c15),
        output: 0.87,
        latency_ns: 2_000,
        path: LinearPath {
            contributions: vec![0.42, 0.28, -0.1, 0.05, 0.3, -0.2, 0.11, 0.07],
            intercept: 0.17,
            logit: 0.87,
            prediction: 0.87,
            probability: None,
        },
    }
}

const ROW: [f32; 8] = [12.5, 8.3, 0.3, 0.41, 1.2, 35.0, 0.0, 1.0];

fn context() -> Vec<(String, ContextValue)> {
    vec![
        ("object".into(), ContextValue::Str("cat".into())),
        ("distance_m".into(), ContextValue::F64(12.5)),
        ("closing_speed_mps".into(), ContextValue::F64(8.3)),
        ("detection_confidence".into(), ContextValue::F64(0.41)),
        ("ego_speed_kmh".into(), ContextValue::F64(35.0)),
        ("track_id".into(), ContextValue::I64(17)),
    ]
}

fn small_context() -> Vec<(String, ContextValue)> {
    vec![
        ("object".into(), ContextValue::Str("cat".into())),
        ("distance_m".into(), ContextValue::F64(12.5)),
    ]
}

fn options() -> LedgerOptions {
    let signer = NoteSigner::Ed25519 {
        name: "bench".into(),
        key: ed25519_dalek::SigningKey::from_bytes(&[1u8; 32]),
    };
    LedgerOptions::signed("whyline.bench/ledger", signer)
        .durability(Durability::None)
        .checkpoint_every(4096)
}

/// A store that keeps nothing but its length: the ledger's CPU work (sealing, hashing,
/// framing) without the bytes' cost of landing somewhere (an in-memory store growing, page
/// faults, the page cache's writeback), which moves with every other process on the host.
struct DiscardStore {
    location: std::path::PathBuf,
    len: u64,
    /// The first bytes (the file header), which opening reads back.
    head: Vec<u8>,
}

impl whyline_ledger::Store for DiscardStore {
    fn location(&self) -> &std::path::Path {
        &self.location
    }
    fn len(&self) -> u64 {
        self.len
    }
    fn append(&mut self, bytes: &[u8]) -> whyline_ledger::Result<u64> {
        let at = self.len;
        if self.head.len() < 4096 {
            self.head.extend_from_slice(bytes);
        }
        self.len += black_box(bytes).len() as u64;
        Ok(at)
    }
    fn sync(&mut self) -> whyline_ledger::Result<()> {
        Ok(())
    }
    fn durable_len(&self) -> u64 {
        self.len
    }
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> whyline_ledger::Result<()> {
        let from = offset as usize;
        buf.copy_from_slice(&self.head[from..from + buf.len()]);
        Ok(())
    }
    fn truncate(&mut self, len: u64) -> whyline_ledger::Result<()> {
        self.len = len;
        Ok(())
    }
    fn append_side(
        &mut self,
        _: whyline_ledger::Side,
        bytes: &[u8],
        _: bool,
    ) -> whyline_ledger::Result<()> {
        black_box(bytes);
        Ok(())
    }
    fn read_side(&self, _: whyline_ledger::Side) -> whyline_ledger::Result<Vec<u8>> {
        Ok(Vec::new())
    }
    fn truncate_side(&mut self, _: whyline_ledger::Side, _: u64) -> whyline_ledger::Result<()> {
        Ok(())
    }
}

fn discarding(keys: Option<KeyStore>) -> LedgerCollector<DiscardStore> {
    let store = DiscardStore {
        location: "discard".into(),
        len: 0,
        head: Vec::new(),
    };
    let collector = LedgerCollector::open(store, options()).unwrap().0;
    match keys {
        Some(keys) => sealed(collector, keys),
        None => collector,
    }
}

fn aead_candidates(c: &mut Criterion) {
    use aes_gcm_siv::Aes256GcmSiv;
    use chacha20poly1305::XChaCha20Poly1305;
    use chacha20poly1305::aead::{AeadInOut, KeyInit};
    use ring::aead::{AES_256_GCM, Aad, CHACHA20_POLY1305, LessSafeKey, Nonce, UnboundKey};

    let key = [0x42u8; 32];
    let aad = [7u8; 120];
    let mut body = [5u8; 150];
    let prefix = [0x17u8; 16];
    let ietf = |i: u64| {
        let mut n = [0u8; 12];
        n[4..].copy_from_slice(&i.to_le_bytes());
        n
    };
    let mut group = c.benchmark_group("aead");

    let rustcrypto = XChaCha20Poly1305::new(&key.into());
    let mut i = 0u64;
    group.bench_function("rustcrypto_xchacha20poly1305", |b| {
        b.iter(|| {
            i += 1;
            let mut nonce = [0u8; 24];
            nonce[..16].copy_from_slice(&prefix);
            nonce[16..].copy_from_slice(&i.to_le_bytes());
            rustcrypto
                .encrypt_inout_detached(&nonce.into(), black_box(&aad), (&mut body[..]).into())
                .unwrap()
        });
    });

    let subkey = chacha20::hchacha::<chacha20::R20>(&key.into(), &prefix.into());
    let ring_xchacha =
        LessSafeKey::new(UnboundKey::new(&CHACHA20_POLY1305, subkey.as_slice()).unwrap());
    let mut i = 0u64;
    group.bench_function("ring_xchacha20poly1305_cached_subkey", |b| {
        b.iter(|| {
            i += 1;
            ring_xchacha
                .seal_in_place_separate_tag(
                    Nonce::assume_unique_for_key(ietf(i)),
                    Aad::from(black_box(&aad)),
                    &mut body,
                )
                .unwrap()
        });
    });

    let siv = Aes256GcmSiv::new(&key.into());
    let mut i = 0u64;
    group.bench_function("rustcrypto_aes256gcmsiv", |b| {
        b.iter(|| {
            i += 1;
            aes_gcm_siv::aead::AeadInOut::encrypt_inout_detached(
                &siv,
                &ietf(i).into(),
                black_box(&aad),
                (&mut body[..]).into(),
            )
            .unwrap()
        });
    });

    let gcm = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, &key).unwrap());
    let mut i = 0u64;
    group.bench_function("ring_aes256gcm", |b| {
        b.iter(|| {
            i += 1;
            gcm.seal_in_place_separate_tag(
                Nonce::assume_unique_for_key(ietf(i)),
                Aad::from(black_box(&aad)),
                &mut body,
            )
            .unwrap()
        });
    });

    let mut i = 0u64;
    group.bench_function("libaegis_aegis256", |b| {
        b.iter(|| {
            i += 1;
            let mut nonce = [0u8; 32];
            nonce[..16].copy_from_slice(&prefix);
            nonce[16..24].copy_from_slice(&i.to_le_bytes());
            aegis::aegis256::Aegis256::<16>::new(&key, &nonce)
                .encrypt_in_place(&mut body, black_box(&aad))
        });
    });
    group.finish();
}

/// `collector`, sealing inputs with the keys of `keys`.
fn sealed<S: whyline_ledger::Store + 'static>(
    collector: LedgerCollector<S>,
    keys: KeyStore,
) -> LedgerCollector<S> {
    collector.set_sealer(Sealer::new(keys).unwrap()).unwrap();
    collector
}

/// What one iteration of an append bench appends.
#[derive(Clone, Copy)]
enum Append {
    /// The trace alone.
    Trace,
    /// The trace with its input sealed as the trailer of the same entry.
    WithInput,
    /// The trace, then its input sealed as an entry of its own (the first layout).
    InputApart,
}

/// Benches `append` into `collector`, decision `i`'s input made by `input(i)`.
fn bench_append<'a, S: whyline_ledger::Store + 'static>(
    group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    name: &str,
    collector: &LedgerCollector<S>,
    append: Append,
    input: &dyn Fn(u64) -> InputEvidence<'a>,
) {
    let mut i = 0u64;
    group.bench_function(name, |b| {
        b.iter(|| {
            i += 1;
            let trace = trace(i);
            match append {
                Append::Trace => collector.append(black_box(&trace)).unwrap(),
                Append::WithInput => collector
                    .append_with_input(black_box(&trace), &input(i))
                    .unwrap(),
                Append::InputApart => {
                    let receipt = collector.append(black_box(&trace)).unwrap();
                    collector
                        .append_input(&InputEvidence {
                            decision_index: receipt.index,
                            trace_hash: receipt.leaf_hash,
                            ..input(i)
                        })
                        .unwrap()
                }
            }
        });
    });
}

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let context = context();
    let input = |i: u64| InputEvidence {
        decision_index: i,
        trace_hash: [7; 32],
        timestamp_ns: 1_700_000_000_000_000_000 + i,
        subject: Some("AV-2847-XK"),
        values: &ROW,
        context: &context,
    };
    let mut group = c.benchmark_group("seal_input");

    let keys = KeyStore::create(&dir.path().join("seal_only.wks")).unwrap();
    let mut sealer = Sealer::new(keys).unwrap();
    let mut out = Vec::with_capacity(512);
    sealer.seal_into(&input(0), &mut out).unwrap();
    assert!(
        out.len() > 300,
        "an 8-feature row with 6 context fields seals to {} bytes",
        out.len()
    );
    let mut i = 0u64;
    group.bench_function("seal_only", |b| {
        b.iter(|| {
            out.clear();
            i += 1;
            sealer.seal_into(black_box(&input(i)), &mut out).unwrap();
            out.len()
        });
    });

    let keys = |name: &str| KeyStore::create(&dir.path().join(name)).unwrap();
    let in_memory = || LedgerCollector::in_memory(options()).unwrap();
    let trace_only = in_memory();
    bench_append(
        &mut group,
        "append_trace",
        &trace_only,
        Append::Trace,
        &input,
    );
    let with_input = sealed(in_memory(), keys("ledger.wks"));
    let name = "append_trace_and_input";
    bench_append(&mut group, name, &with_input, Append::WithInput, &input);
    // The first layout, for comparison in the same run: the trace, then its input sealed
    // as an entry of its own naming the trace's leaf hash (two appends).
    let apart = sealed(in_memory(), keys("apart.wks"));
    let name = "append_trace_then_input_entry";
    bench_append(&mut group, name, &apart, Append::InputApart, &input);

    // The three on a store that discards the bytes: the CPU cost alone.
    let trace_only = discarding(None);
    let name = "discard_append_trace";
    bench_append(&mut group, name, &trace_only, Append::Trace, &input);
    let with_input = discarding(Some(keys("d1.wks")));
    let name = "discard_append_trace_and_input";
    bench_append(&mut group, name, &with_input, Append::WithInput, &input);
    // The same with XChaCha20-Poly1305 (what a processor without AES instructions seals
    // with, and every input sealed before AES-256-GCM was added).
    let chacha = discarding(None);
    let xchacha = whyline_core::SealAlgorithm::XChaCha20Poly1305;
    let sealer = Sealer::with_algorithm(keys("d4.wks"), xchacha).unwrap();
    chacha.set_sealer(sealer).unwrap();
    let name = "discard_append_trace_and_input_xchacha";
    bench_append(&mut group, name, &chacha, Append::WithInput, &input);
    // The issue's own size: an 8-feature row with a short context (the object and its
    // distance): a plaintext of 109 bytes.
    let small_context = small_context();
    let small = |i: u64| InputEvidence {
        context: &small_context,
        ..input(i)
    };
    let mut plaintext = Vec::new();
    whyline_core::encode_input(&ROW, &small_context, &mut plaintext);
    assert_eq!(plaintext.len(), 109);
    let with_small = discarding(Some(keys("d3.wks")));
    let name = "discard_append_trace_and_small_input";
    bench_append(&mut group, name, &with_small, Append::WithInput, &small);
    // The same with AES-256-GCM, the preferred AEAD before AEGIS-256.
    let gcm = discarding(None);
    let aes_gcm = whyline_core::SealAlgorithm::Aes256Gcm;
    gcm.set_sealer(Sealer::with_algorithm(keys("d5.wks"), aes_gcm).unwrap())
        .unwrap();
    let name = "discard_append_trace_and_small_input_aes_gcm";
    bench_append(&mut group, name, &gcm, Append::WithInput, &small);
    let apart = discarding(Some(keys("d2.wks")));
    let name = "discard_append_trace_then_input_entry";
    bench_append(&mut group, name, &apart, Append::InputApart, &input);

    // The same two on segment files (no fsync), as a deployment writes them: no memory
    // store growing, the bytes going to the page cache instead.
    let on_disk = |name: &str| {
        let store = SegmentStore::open(dir.path().join(name)).unwrap();
        LedgerCollector::open(store, options()).unwrap().0
    };
    let trace_only = on_disk("plain");
    let name = "segment_files_append_trace";
    bench_append(&mut group, name, &trace_only, Append::Trace, &input);
    let with_input = sealed(on_disk("sealing"), keys("segment.wks"));
    let name = "segment_files_append_trace_and_input";
    bench_append(&mut group, name, &with_input, Append::WithInput, &input);
    group.finish();
}

criterion_group!(benches, bench, aead_candidates);
criterion_main!(benches);
