//! Input digests against published known answers: the FNV reference values and RFC 4231.

use whyline_core::digest::{InputDigester, fnv1a_64, fnv1a_features, hmac_features};

#[test]
fn fnv1a_matches_the_reference_values() {
    // FNV-1a 64-bit test values from the FNV reference (draft-eastlake-fnv, test suite).
    assert_eq!(fnv1a_64(b""), 0xcbf2_9ce4_8422_2325);
    assert_eq!(fnv1a_64(b"a"), 0xaf63_dc4c_8601_ec8c);
    assert_eq!(fnv1a_64(b"foobar"), 0x8594_4171_f739_67e8);
}

#[test]
fn feature_digest_is_fnv1a_of_the_little_endian_bytes() {
    let row = [1.5f32, -0.0, f32::NAN, 35.0];
    let bytes: Vec<u8> = row.iter().flat_map(|v| v.to_le_bytes()).collect();
    assert_eq!(fnv1a_features(&row), fnv1a_64(&bytes));
    assert_eq!(InputDigester::unkeyed().digest(&row), fnv1a_64(&bytes));
    // -0.0 and 0.0 differ in their bytes, and so in their digest.
    assert_ne!(fnv1a_features(&[0.0]), fnv1a_features(&[-0.0]));
}

#[test]
fn keyed_digest_is_truncated_hmac_sha256_rfc4231_case_2() {
    // RFC 4231 §4.3: key "Jefe", data "what do ya want for nothing?",
    // HMAC-SHA-256 = 5bdcc146bf60754e6a042426089575c7...
    let digester = InputDigester::keyed(b"Jefe");
    assert!(digester.is_keyed());
    let expected = u64::from_le_bytes([0x5b, 0xdc, 0xc1, 0x46, 0xbf, 0x60, 0x75, 0x4e]);
    assert_eq!(
        digester.digest_bytes(b"what do ya want for nothing?"),
        expected
    );
}

#[test]
fn keyed_feature_digest_hashes_the_same_bytes() {
    let row = [0.25f32, 8.0];
    let bytes: Vec<u8> = row.iter().flat_map(|v| v.to_le_bytes()).collect();
    let digester = InputDigester::keyed(b"k");
    assert_eq!(digester.digest(&row), digester.digest_bytes(&bytes));
    assert_eq!(hmac_features(b"k", &row), digester.digest(&row));
    assert_ne!(
        digester.digest(&row),
        InputDigester::keyed(b"other").digest(&row)
    );
}

#[test]
fn debug_output_never_shows_the_key() {
    let text = format!("{:?}", InputDigester::keyed(b"super-secret-key"));
    assert!(!text.contains("super"), "{text}");
    assert!(text.contains("keyed: true"), "{text}");
}
