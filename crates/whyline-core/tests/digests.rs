//! Input digests against published known answers: the FNV reference values, the xxHash
//! reference library and RFC 4231.

use whyline_core::digest::{
    DigestAlgorithm, InputDigester, fnv1a_64, fnv1a_features, hmac_features, xxh3_features,
};

/// XXH3-64 (seed 0) of the rows' little-endian f32 bytes, computed by the xxHash reference C
/// library (libxxhash 0.8.1, `XXH3_64bits`) through Python's ctypes:
/// `lib.XXH3_64bits(struct.pack("<%df" % len(row), *row), 4 * len(row))`.
/// The lengths cover each of XXH3's input-size paths: 4, 12, 32, 120, 200 (129–240), 256,
/// and 260 and 400 bytes (the long path, which takes the streaming branch here). The rows
/// are built in f32 arithmetic on both sides (`i as f32 * 0.1` rounds once, to f32).
#[test]
fn xxh3_digest_matches_the_reference_library() {
    let tenths = |n: usize| (0..n).map(|i| i as f32 * 0.1).collect::<Vec<f32>>();
    let cases: Vec<(Vec<f32>, u64)> = vec![
        (vec![], 0x2d06_8005_38d3_94c2),
        (vec![-0.0], 0x6846_8d28_7295_1523),
        (vec![1.0, 0.0, 35.0], 0x1144_30d2_ce89_8875),
        (
            vec![1.0, 2.0, 0.5, -0.25, 0.125, 3.0, -1.0, 0.75],
            0x4311_fb80_98e6_2fea,
        ),
        (
            (0..30).map(|i| i as f32 * 0.5 - 3.0).collect(),
            0xf21f_7e63_9963_1f03,
        ),
        (tenths(50), 0xa915_3481_50d3_1c04),
        (tenths(64), 0x6990_7b09_42a5_6d0f),
        (tenths(65), 0xb6cb_884f_04dc_92f0),
        (
            (0..100).map(|i| i as f32 * 0.25).collect(),
            0x687c_b547_203c_c4fa,
        ),
    ];
    for (row, expected) in cases {
        assert_eq!(xxh3_features(&row), expected, "{} features", row.len());
        assert_eq!(InputDigester::xxh3().digest(&row), expected);
    }
}

#[test]
fn each_digester_names_its_algorithm() {
    assert_eq!(
        InputDigester::unkeyed().algorithm(),
        DigestAlgorithm::Fnv1a64
    );
    assert_eq!(InputDigester::fnv1a().algorithm(), DigestAlgorithm::Fnv1a64);
    assert_eq!(InputDigester::xxh3().algorithm(), DigestAlgorithm::Xxh3_64);
    assert_eq!(
        InputDigester::keyed(b"k").algorithm(),
        DigestAlgorithm::HmacSha256_64
    );
    assert!(InputDigester::unkeyed_with(DigestAlgorithm::HmacSha256_64).is_none());
    let row = [1.5f32, 2.5];
    for algorithm in [DigestAlgorithm::Fnv1a64, DigestAlgorithm::Xxh3_64] {
        let digester = InputDigester::unkeyed_with(algorithm).unwrap();
        assert_eq!(digester.algorithm(), algorithm);
        assert_eq!(
            digester.digest(&row),
            match algorithm {
                DigestAlgorithm::Fnv1a64 => fnv1a_features(&row),
                _ => xxh3_features(&row),
            }
        );
    }
    // What an old model record, naming nothing, means.
    assert_eq!(DigestAlgorithm::default(), DigestAlgorithm::Fnv1a64);
    assert_eq!(
        serde_json::to_string(&DigestAlgorithm::Xxh3_64).unwrap(),
        "\"xxh3-64\""
    );
}

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

#[test]
fn only_the_hmac_algorithm_needs_a_key_and_byte_digests_hash_the_same_bytes_as_rows() {
    assert!(DigestAlgorithm::HmacSha256_64.is_keyed());
    assert!(!DigestAlgorithm::Fnv1a64.is_keyed());
    assert!(!DigestAlgorithm::Xxh3_64.is_keyed());
    assert!(!InputDigester::xxh3().is_keyed());
    let row = [0.25f32, -8.0, 3.5];
    let bytes: Vec<u8> = row.iter().flat_map(|v| v.to_le_bytes()).collect();
    for digester in [InputDigester::fnv1a(), InputDigester::xxh3()] {
        assert_eq!(digester.digest_bytes(&bytes), digester.digest(&row));
    }
    assert_eq!(
        InputDigester::fnv1a().digest_bytes(&bytes),
        fnv1a_64(&bytes)
    );
}
