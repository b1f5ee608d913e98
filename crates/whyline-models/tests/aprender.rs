//! aprender `.apr` files: every file under `fixtures/aprender/` was written by aprender 0.25.0's
//! own `format::save` (`tools/apr-fixtures`), and the `.expected.json` beside them holds
//! aprender's own `predict` / `predict_proba` for the inputs.

use std::path::PathBuf;

use proptest::prelude::*;
use serde_json::Value;
use sha2::{Digest, Sha256};
use whyline_core::{AnyPath, Explainable};
use whyline_models::{LinearLink, Model, ModelError, ModelFormat, ModelKind};

use crate::fixtures::reseal_apr;
use crate::fixtures::{f32_rows, f64s, widen};

fn dir() -> PathBuf {
    crate::fixtures::dir().join("aprender")
}

fn bytes(name: &str) -> Vec<u8> {
    std::fs::read(dir().join(name)).unwrap()
}

fn expected(name: &str) -> Value {
    serde_json::from_slice(&bytes(&format!("{name}.expected.json"))).unwrap()
}

fn inputs(doc: &Value) -> Vec<Vec<f32>> {
    f32_rows(doc, "inputs")
}

/// The three files aprender wrote for one model: uncompressed, zstd, LZ4.
fn variants(stem: &str) -> [String; 3] {
    [
        format!("{stem}.apr"),
        format!("{stem}.zstd.apr"),
        format!("{stem}.lz4.apr"),
    ]
}

/// The files with a model this reader loads.
const LOADABLE: [&str; 6] = [
    "linear_regression.apr",
    "linear_regression.zstd.apr",
    "linear_regression.lz4.apr",
    "logistic_regression.apr",
    "logistic_regression.zstd.apr",
    "logistic_regression.lz4.apr",
];

/// `|a − e| / |e|` (no fixture output is zero).
fn error(actual: f64, expected: f64) -> f64 {
    crate::fixtures::relative_error(actual, expected, 1e-12)
}

#[test]
fn aprender_linear_regression_matches_aprender_predict() {
    let doc = expected("linear_regression");
    let rows = inputs(&doc);
    let want = f64s(&doc, "predict");
    for name in variants("linear_regression") {
        let model = Model::load(dir().join(&name)).unwrap();
        let ModelKind::Linear(linear) = model.kind() else {
            panic!("{name}: not a linear model");
        };
        assert_eq!(linear.link, LinearLink::Identity);
        assert_eq!(linear.coefficients, f64s(&doc, "coefficients"), "{name}");
        assert_eq!(linear.intercepts, vec![doc["intercept"].as_f64().unwrap()]);
        for (row, &expected) in rows.iter().zip(&want) {
            let got = model.predict(&widen(row)).unwrap().value;
            // aprender sums in f32 (SIMD matvec), whyline in f64: they agree to f32 rounding.
            assert!(
                error(got, expected) <= 1e-6,
                "{name}: {row:?}: whyline {got}, aprender {expected}"
            );
            let one = model.predict_one(row).unwrap();
            assert!(error(f64::from(one), expected) <= 1e-6);
        }
    }
}

#[test]
fn aprender_logistic_regression_matches_predict_proba_and_predict() {
    let doc = expected("logistic_regression");
    let rows = inputs(&doc);
    let proba = f64s(&doc, "predict_proba");
    let classes = f64s(&doc, "predict");
    for name in variants("logistic_regression") {
        let model = Model::load(dir().join(&name)).unwrap();
        let ModelKind::Linear(linear) = model.kind() else {
            panic!("{name}: not a linear model");
        };
        assert_eq!(linear.link, LinearLink::Logistic);
        assert_eq!(linear.coefficients, f64s(&doc, "coefficients"), "{name}");
        for ((row, &p1), &class) in rows.iter().zip(&proba).zip(&classes) {
            let prediction = model.predict(&widen(row)).unwrap();
            let probabilities = prediction.probabilities.unwrap();
            assert!(
                error(probabilities[1], p1) <= 1e-6,
                "{name}: {row:?}: whyline P(1) {}, aprender {p1}",
                probabilities[1]
            );
            // aprender gives P(1) only; P(0) = 1 − P(1), to P(1)'s f32 rounding.
            assert!((probabilities[0] - (1.0 - p1)).abs() <= 1e-6);
            assert_eq!(prediction.value, class, "{name}: {row:?}");
            assert_eq!(f64::from(model.predict_one(row).unwrap()), class);
        }
    }
}

#[test]
fn aprender_contributions_sum_to_the_output() {
    for name in LOADABLE {
        let model = Model::load(dir().join(name)).unwrap();
        let ModelKind::Linear(linear) = model.kind() else {
            panic!("{name}: not a linear model");
        };
        let doc = expected(name.split('.').next().unwrap());
        for row in inputs(&doc) {
            let (output, path) = model.explain_one(&row).unwrap();
            let AnyPath::Linear(path) = path else {
                panic!("{name}: not a linear path");
            };
            assert_eq!(path.contributions.len(), row.len());
            for (i, (&c, &x)) in path.contributions.iter().zip(&row).enumerate() {
                assert_eq!(c, (linear.coefficients[i] * f64::from(x)) as f32);
            }
            let sum = f64::from(path.intercept)
                + path
                    .contributions
                    .iter()
                    .map(|&c| f64::from(c))
                    .sum::<f64>();
            assert!(
                (sum - f64::from(path.logit)).abs() <= 1e-5 * f64::from(path.logit).abs().max(1.0),
                "{name}: {row:?}: intercept + contributions = {sum}, logit {}",
                path.logit
            );
            let raw = model.predict(&widen(&row)).unwrap();
            assert!(error(f64::from(path.logit), raw.raw[0]) <= 1e-6);
            match linear.link {
                LinearLink::Identity => assert_eq!(output, path.logit),
                _ => assert_eq!(f64::from(output), raw.value),
            }
        }
    }
}

#[test]
fn aprender_compressed_variants_load_identically() {
    for stem in ["linear_regression", "logistic_regression"] {
        let [plain, zstd, lz4] = variants(stem).map(|name| Model::load(dir().join(name)).unwrap());
        assert_eq!(plain.kind(), zstd.kind(), "{stem}: zstd");
        assert_eq!(plain.kind(), lz4.kind(), "{stem}: lz4");
        assert_ne!(
            plain.identity().unwrap().sha256,
            zstd.identity().unwrap().sha256
        );
        assert_eq!(
            plain.identity().unwrap().model_type,
            lz4.identity().unwrap().model_type
        );
    }
}

#[test]
fn aprender_identity_is_the_file_hash_and_the_declared_type_and_version() {
    for (name, model_type) in [
        ("linear_regression.zstd.apr", "aprender:LinearRegression"),
        ("logistic_regression.apr", "aprender:LogisticRegression"),
    ] {
        let file = bytes(name);
        let model = Model::from_bytes(&file, name).unwrap();
        let identity = model.identity().unwrap();
        let digest: String = Sha256::digest(&file)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(identity.sha256, digest);
        assert_eq!(identity.model_type, model_type);
        assert_eq!(identity.version, "0.25.0");
        assert_eq!(model.format(), ModelFormat::AprenderApr);
        assert_eq!(model.format().name(), "aprender-apr");
        assert_eq!(model.producer(), "aprender 0.25.0");
    }
}

#[test]
fn aprender_flipping_any_byte_after_the_header_is_a_checksum_mismatch() {
    for name in LOADABLE {
        let file = bytes(name);
        let n = file.len();
        // Metadata, payload and the trailer itself.
        for i in 32..n {
            let mut damaged = file.clone();
            damaged[i] ^= 0x01;
            match Model::from_bytes(&damaged, name) {
                Err(ModelError::ChecksumMismatch {
                    offset,
                    stored,
                    computed,
                    ..
                }) => {
                    assert_eq!(offset as usize, n - 4);
                    assert_ne!(stored, computed);
                }
                other => panic!("{name}: byte {i} flipped: {other:?}"),
            }
        }
    }
    let mut damaged = bytes("linear_regression.apr");
    let last = damaged.len() - 10;
    damaged[last] ^= 0x80;
    let message = Model::from_bytes(&damaged, "lr.apr")
        .unwrap_err()
        .to_string();
    assert!(message.contains("checksum mismatch"), "{message}");
}

#[test]
fn aprender_every_truncation_is_an_error() {
    for name in LOADABLE
        .iter()
        .copied()
        .chain(["decision_tree.apr", "ridge_as_linear_regression.apr"])
    {
        let file = bytes(name);
        for len in 0..file.len() {
            let result = Model::from_bytes(&file[..len], name);
            match result {
                Err(ModelError::Truncated { needed, found, .. }) => {
                    assert!(len >= 4, "{name}: {len} bytes");
                    assert_eq!(found as usize, len);
                    assert!(needed as usize > len);
                }
                Err(ModelError::UnknownFormat { .. }) => assert!(len < 4, "{name}: {len} bytes"),
                other => panic!("{name}: first {len} bytes: {other:?}"),
            }
        }
    }
}

#[test]
fn aprender_unsupported_model_type_is_named() {
    // A type aprender defines but whose payload whyline does not read (Pca).
    let mut file = bytes("linear_regression.apr");
    file[6..8].copy_from_slice(&0x0007u16.to_le_bytes());
    reseal_apr(&mut file);
    let error = Model::from_bytes(&file, "pca.apr").unwrap_err();
    assert!(
        matches!(&error, ModelError::UnsupportedModelType { model_type, .. } if model_type == "Pca"),
        "{error:?}"
    );
    assert!(
        error.to_string().contains(
            "aprender model type Pca is not supported; supported: LinearRegression, LogisticRegression, DecisionTree"
        ),
        "{error}"
    );

    // An id aprender does not define, in an otherwise valid file.
    let mut file = bytes("linear_regression.apr");
    file[6..8].copy_from_slice(&0x0777u16.to_le_bytes());
    reseal_apr(&mut file);
    let error = Model::from_bytes(&file, "x.apr").unwrap_err();
    assert!(error.to_string().contains("0x0777"), "{error}");
}

#[test]
fn aprender_a_ridge_payload_under_the_linear_regression_id_is_not_loaded() {
    // aprender's ModelType docs say LinearRegression covers OLS, ridge and lasso; a ridge
    // payload has an extra field, and must not be read as a wrong linear regression.
    let error = Model::load(dir().join("ridge_as_linear_regression.apr")).unwrap_err();
    assert!(
        matches!(&error, ModelError::Malformed { field, .. } if field.starts_with("payload.")),
        "{error:?}"
    );
}

#[test]
fn aprender_flags_this_reader_cannot_honour_are_refused() {
    for (bit, name) in [
        (0x04u8, "STREAMING"),
        (0x10, "TRUENO_NATIVE"),
        (0x20, "QUANTIZED"),
        (0x80, "reserved"),
    ] {
        let mut file = bytes("logistic_regression.apr");
        file[21] |= bit;
        reseal_apr(&mut file);
        let error = Model::from_bytes(&file, "flags.apr").unwrap_err();
        assert!(
            matches!(&error, ModelError::Unsupported { field, .. } if field.contains("byte 21")),
            "{error:?}"
        );
        assert!(error.to_string().contains(name), "{error}");
    }
    // ENCRYPTED: its own error; SIGNED on a file without a signature block: truncated.
    let mut file = bytes("logistic_regression.apr");
    file[21] |= 0x01;
    reseal_apr(&mut file);
    let error = Model::from_bytes(&file, "flags.apr").unwrap_err();
    assert!(matches!(&error, ModelError::Encrypted { .. }), "{error:?}");
    let mut file = bytes("logistic_regression.apr");
    file[21] |= 0x02;
    reseal_apr(&mut file);
    let error = Model::from_bytes(&file, "flags.apr").unwrap_err();
    assert!(
        matches!(&error, ModelError::Truncated { what, needed, found, .. }
            if what.contains("signature") && *needed == *found + 96 && *found == file.len() as u64),
        "the 96-byte block (signature and key) is missing at the end: {error:?}"
    );
    // LICENSED and HAS_MODEL_CARD only describe the metadata.
    for bit in [0x08u8, 0x40] {
        let mut file = bytes("logistic_regression.apr");
        file[21] |= bit;
        reseal_apr(&mut file);
        Model::from_bytes(&file, "flags.apr").unwrap();
    }
}

#[test]
fn aprender_header_errors_name_the_byte() {
    let file = bytes("linear_regression.apr");

    let mut version = file.clone();
    version[4] = 2;
    reseal_apr(&mut version);
    let error = Model::from_bytes(&version, "v2.apr").unwrap_err();
    assert!(
        matches!(&error, ModelError::UnsupportedVersion { found, .. } if found.starts_with("2.0")),
        "{error:?}"
    );

    let mut compression = file.clone();
    compression[20] = 9;
    reseal_apr(&mut compression);
    assert!(matches!(
        Model::from_bytes(&compression, "c.apr").unwrap_err(),
        ModelError::Binary { offset: 20, .. }
    ));

    let mut longer = file.clone();
    longer.extend_from_slice(b"tail");
    assert!(matches!(
        Model::from_bytes(&longer, "long.apr").unwrap_err(),
        ModelError::Binary { offset, .. } if offset as usize == file.len()
    ));

    // The wrong uncompressed size for an uncompressed payload.
    let mut size = file.clone();
    size[16] ^= 0x01;
    reseal_apr(&mut size);
    assert!(matches!(
        Model::from_bytes(&size, "size.apr").unwrap_err(),
        ModelError::Binary { offset: 16, .. }
    ));
}

#[test]
fn aprender_a_coefficient_count_past_the_payload_is_refused_at_the_count() {
    // The payload starts with `Option<Vector<f32>>`: tag 1, then the u64 length. A length
    // the bytes left cannot hold is named as such, at the length, before anything is read.
    let fixture = bytes("linear_regression.apr");
    let metadata_size = u32::from_le_bytes(fixture[8..12].try_into().unwrap()) as usize;
    let payload = &fixture[32 + metadata_size..fixture.len() - 4];
    assert_eq!(payload[0], 1, "the coefficients are Some");
    let stored = u64::from_le_bytes(payload[1..9].try_into().unwrap());
    let left = payload.len() as u64 - 9;
    for len in [stored + 2, left / 4 + 1, 1 << 40, u64::MAX] {
        let mut edited = payload.to_vec();
        edited[1..9].copy_from_slice(&len.to_le_bytes());
        let file = container(1, 0, &edited, edited.len() as u32);
        let error = Model::from_bytes(&file, "long.apr").unwrap_err();
        let text = error.to_string();
        assert!(
            matches!(&error, ModelError::Malformed { field, .. } if field.starts_with("payload.coefficients.len (byte 1")),
            "{len}: {error:?}"
        );
        assert!(
            text.contains(&format!(
                "{len} coefficients do not fit in the {left} bytes left"
            )),
            "{len}: {text}"
        );
    }
}

#[test]
fn aprender_rows_are_checked() {
    let model = Model::load(dir().join("logistic_regression.lz4.apr")).unwrap();
    assert_eq!(model.n_features(), 2);
    assert!(matches!(
        model.predict(&[1.0]).unwrap_err(),
        ModelError::Input(whyline_core::CoreError::FeatureCount {
            expected: 2,
            found: 1
        })
    ));
    assert!(matches!(
        model.predict(&[1.0, f64::NAN]).unwrap_err(),
        ModelError::Input(whyline_core::CoreError::NonFiniteInput {
            feature_index: 1,
            ..
        })
    ));
}

/// A container aprender's way around `payload`: the metadata of a fixture, the given type
/// id and compression id, sizes that add up, and a correct CRC32.
fn container(model_type: u16, compression: u8, payload: &[u8], uncompressed: u32) -> Vec<u8> {
    let fixture = bytes("linear_regression.apr");
    let metadata_size = u32::from_le_bytes(fixture[8..12].try_into().unwrap()) as usize;
    let metadata = &fixture[32..32 + metadata_size];
    let mut out = fixture[..32].to_vec();
    out[6..8].copy_from_slice(&model_type.to_le_bytes());
    out[12..16].copy_from_slice(&(payload.len() as u32).to_le_bytes());
    out[16..20].copy_from_slice(&uncompressed.to_le_bytes());
    out[20] = compression;
    out.extend_from_slice(metadata);
    out.extend_from_slice(payload);
    out.extend_from_slice(&[0; 4]);
    reseal_apr(&mut out);
    out
}

#[test]
fn aprender_container_helper_rebuilds_a_fixture() {
    let fixture = bytes("linear_regression.apr");
    let metadata_size = u32::from_le_bytes(fixture[8..12].try_into().unwrap()) as usize;
    let payload = &fixture[32 + metadata_size..fixture.len() - 4];
    assert_eq!(
        container(1, 0, payload, payload.len() as u32),
        fixture,
        "the proptests below build files the way aprender does"
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_behind_the_aprn_magic_never_panic(
        tail in prop::collection::vec(any::<u8>(), 0..200),
    ) {
        let mut file = b"APRN".to_vec();
        file.extend_from_slice(&tail);
        prop_assert!(Model::from_bytes(&file, "random.apr").is_err());
    }

    #[test]
    fn random_payloads_in_a_valid_container_never_panic(
        model_type in 1u16..3,
        compression in 0u8..4,
        payload in prop::collection::vec(any::<u8>(), 0..120),
        uncompressed in 0u32..400,
    ) {
        let uncompressed = if compression == 0 { payload.len() as u32 } else { uncompressed };
        let file = container(model_type, compression, &payload, uncompressed);
        if let Ok(model) = Model::from_bytes(&file, "random.apr") {
            let row = vec![0.5f32; model.n_features()];
            let _ = model.explain_one(&row);
        }
    }

    #[test]
    fn resealed_edits_of_aprender_files_load_or_fail_without_panicking(
        file in 0..LOADABLE.len(),
        edits in prop::collection::vec((any::<usize>(), any::<u8>()), 1..4),
    ) {
        let name = LOADABLE[file];
        let mut bytes = bytes(name);
        let n = bytes.len() - 4;
        for (position, byte) in edits {
            bytes[position % n] = byte;
        }
        reseal_apr(&mut bytes);
        if let Ok(model) = Model::from_bytes(&bytes, name) {
            let row = vec![0.5f32; model.n_features()];
            let _ = model.explain_one(&row);
        }
    }
}

#[test]
fn aprender_025_decision_tree_loads_as_a_classifier() {
    // aprender 0.25.0's DecisionTreeClassifier has 0.27.8's layout.
    let model = Model::load(dir().join("decision_tree.apr")).unwrap();
    assert_eq!(
        model.identity().unwrap().model_type,
        "aprender:DecisionTreeClassifier"
    );
    assert_eq!(model.producer(), "aprender 0.25.0");
    // The fixture's rule: class 1 when x0 + x1 > 7 (depth 3 fits the training rows).
    for i in 0..12 {
        let row = [f64::from(i), f64::from((i * 5) % 7)];
        let want = f64::from(u8::from(row[0] + row[1] > 7.0));
        assert_eq!(model.predict(&row).unwrap().value, want, "{row:?}");
    }
}
