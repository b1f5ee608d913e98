//! The model record's codec: version 2 names the input digest; version-1 records, which name
//! none, still decode and mean FNV-1a.

use whyline_core::{CoreError, DigestAlgorithm, ModelIdentity, ModelRecord};

/// A version-1 record as the first release wrote it (`WLMD`, 0x01, JSON without
/// `input_digest`); the identity is that of the bytes "abc".
const VERSION_1: &[u8] = include_bytes!("fixtures/model_record_v1.bin");

fn record(input_digest: DigestAlgorithm) -> ModelRecord {
    ModelRecord {
        identity: ModelIdentity::from_bytes(b"abc", "logistic_regression", "1"),
        feature_names: vec!["speed_mps".into(), "distance_m".into()],
        class_names: vec!["GO".into(), "BRAKE".into()],
        recorded_ns: 1_710_512_347_123_456_789,
        input_digest,
    }
}

#[test]
fn a_version_1_record_decodes_with_fnv1a_digests() {
    assert_eq!(VERSION_1.get(4), Some(&1));
    let decoded = ModelRecord::from_bytes(VERSION_1).unwrap();
    assert_eq!(decoded, record(DigestAlgorithm::Fnv1a64));
}

#[test]
fn a_new_record_is_version_2_and_names_its_digest() {
    for algorithm in [
        DigestAlgorithm::Fnv1a64,
        DigestAlgorithm::Xxh3_64,
        DigestAlgorithm::HmacSha256_64,
    ] {
        let bytes = record(algorithm).to_bytes();
        assert_eq!(&bytes[..5], b"WLMD\x02");
        assert!(ModelRecord::is_model_record(&bytes));
        let body = std::str::from_utf8(&bytes[5..]).unwrap();
        assert!(
            body.contains(&format!("\"input_digest\":\"{algorithm}\"")),
            "{body}"
        );
        assert_eq!(ModelRecord::from_bytes(&bytes).unwrap(), record(algorithm));
    }
}

#[test]
fn unknown_versions_and_digests_are_typed_errors() {
    let mut bytes = record(DigestAlgorithm::Xxh3_64).to_bytes();
    bytes[4] = 3;
    assert!(matches!(
        ModelRecord::from_bytes(&bytes),
        Err(CoreError::UnknownVersion {
            offset: 4,
            found: 3
        })
    ));
    // Version 1 had no digest choice: a version-1 record naming one is not what it claims.
    bytes[4] = 1;
    assert!(matches!(
        ModelRecord::from_bytes(&bytes),
        Err(CoreError::InvalidField { .. })
    ));
    let unknown = String::from_utf8(record(DigestAlgorithm::Xxh3_64).to_bytes())
        .unwrap()
        .replace("xxh3-64", "md5");
    assert!(matches!(
        ModelRecord::from_bytes(unknown.as_bytes()),
        Err(CoreError::Json { .. })
    ));
}

#[test]
fn only_bytes_opening_with_the_model_record_magic_are_model_records() {
    assert!(ModelRecord::is_model_record(VERSION_1));
    for other in [&b"APRT\x01"[..], b"WLAL\x01", b"WLM", b"", b"wlmd\x02"] {
        assert!(!ModelRecord::is_model_record(other), "{other:?}");
    }
}
