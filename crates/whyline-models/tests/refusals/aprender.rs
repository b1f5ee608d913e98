//! aprender `.apr` containers (`import/aprender.rs`) whose sizes, metadata or compressed
//! payload do not hold together: each file is a fixture aprender wrote, split into its
//! parts, one part broken, and put back together with sizes that add up and a correct
//! CRC32 (so the check behind the checksum is the one that answers).

use whyline_models::{Model, ModelError};

use crate::fixtures;

/// A fixture's header, metadata and payload.
struct Parts {
    header: Vec<u8>,
    metadata: Vec<u8>,
    payload: Vec<u8>,
}

fn u32_at(bytes: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap())
}

fn parts(name: &str) -> Parts {
    let file = std::fs::read(fixtures::dir().join("aprender").join(name)).unwrap();
    let metadata_end = 32 + u32_at(&file, 8) as usize;
    let payload_end = metadata_end + u32_at(&file, 12) as usize;
    assert_eq!(payload_end + 4, file.len(), "{name} is unsigned");
    Parts {
        header: file[..32].to_vec(),
        metadata: file[32..metadata_end].to_vec(),
        payload: file[metadata_end..payload_end].to_vec(),
    }
}

impl Parts {
    /// The uncompressed size the header declares (bytes 16–19).
    fn set_uncompressed(&mut self, size: u32) {
        self.header[16..20].copy_from_slice(&size.to_le_bytes());
    }

    /// The file: the sizes at bytes 8 and 12 set to the parts', and a CRC32 trailer.
    fn build(&self) -> Vec<u8> {
        let mut out = self.header.clone();
        out[8..12].copy_from_slice(&(self.metadata.len() as u32).to_le_bytes());
        out[12..16].copy_from_slice(&(self.payload.len() as u32).to_le_bytes());
        out.extend_from_slice(&self.metadata);
        out.extend_from_slice(&self.payload);
        let crc = crc32fast::hash(&out);
        out.extend_from_slice(&crc.to_le_bytes());
        out
    }

    /// The error loading the file; its message must start with the name and contain
    /// `words`. Returns the byte offset it names.
    #[track_caller]
    fn refused(&self, name: &str, words: &str) -> u64 {
        let error = match Model::from_bytes(&self.build(), name) {
            Ok(_) => panic!("{name}: loaded"),
            Err(error) => error,
        };
        let message = error.to_string();
        assert!(message.starts_with(name), "{message}");
        assert!(message.contains(words), "{message}: lacks {words:?}");
        match error {
            ModelError::Binary { offset, .. } => offset,
            other => panic!("expected Binary, got {other:?}"),
        }
    }
}

#[test]
fn the_parts_rebuild_each_fixture_byte_for_byte() {
    for name in [
        "linear_regression.apr",
        "linear_regression.zstd.apr",
        "linear_regression.lz4.apr",
    ] {
        let file = std::fs::read(fixtures::dir().join("aprender").join(name)).unwrap();
        assert_eq!(parts(name).build(), file, "{name}");
        Model::from_bytes(&file, name).unwrap();
    }
}

#[test]
fn an_uncompressed_size_past_aprenders_limit_is_refused_before_reading() {
    let mut file = parts("linear_regression.zstd.apr");
    file.set_uncompressed((1 << 30) + 1);
    let offset = file.refused(
        "big.apr",
        "uncompressed size 1073741825 exceeds aprender's limit of 1073741824 bytes",
    );
    assert_eq!(offset, 16);
}

#[test]
fn metadata_that_is_not_one_messagepack_map_is_refused_at_its_byte() {
    let mut file = parts("linear_regression.apr");
    // 0xc1 is the one byte MessagePack never uses.
    file.metadata[0] = 0xc1;
    let offset = file.refused("meta.apr", "metadata is not aprender's MessagePack map");
    assert_eq!(offset, 32);

    let mut file = parts("linear_regression.apr");
    let map_end = 32 + file.metadata.len() as u64;
    file.metadata.extend_from_slice(&[0xc0, 0xc0]);
    let offset = file.refused(
        "meta.apr",
        "2 bytes after the metadata map, inside the declared metadata",
    );
    assert_eq!(offset, map_end);
}

#[test]
fn a_zstd_payload_that_is_not_one_frame_of_the_declared_size_is_refused() {
    let name = "linear_regression.zstd.apr";
    let payload_start = 32 + parts(name).metadata.len() as u64;

    let mut file = parts(name);
    file.payload = b"not zstd at all".to_vec();
    assert_eq!(file.refused("z.apr", "zstd payload:"), payload_start);

    let mut file = parts(name);
    let frame = file.payload.len() as u64;
    file.payload.extend_from_slice(b"tail");
    let offset = file.refused(
        "z.apr",
        "4 bytes after the zstd frame, inside the declared payload",
    );
    assert_eq!(offset, payload_start + frame);

    let mut file = parts(name);
    let size = u32_at(&file.header, 16);
    file.set_uncompressed(size + 1);
    let words = format!(
        "the payload decompresses to {size} bytes, the header declares {}",
        size + 1
    );
    assert_eq!(file.refused("z.apr", &words), 16);

    let mut file = parts(name);
    file.set_uncompressed(size - 1);
    let words = format!(
        "the payload decompresses to more than {} bytes, the header declares {}",
        size - 1,
        size - 1
    );
    assert_eq!(file.refused("z.apr", &words), 16);
}

#[test]
fn an_lz4_block_that_disagrees_with_the_header_is_refused() {
    let name = "linear_regression.lz4.apr";
    let payload_start = 32 + parts(name).metadata.len() as u64;
    let size = u32_at(&parts(name).header, 16);

    // The block's own size prefix says one size, the header another.
    let mut file = parts(name);
    file.set_uncompressed(size + 8);
    let words = format!(
        "the LZ4 block's size prefix ({size}) differs from the header's uncompressed size ({})",
        size + 8
    );
    assert_eq!(file.refused("l.apr", &words), payload_start);

    // A payload shorter than the prefix itself.
    let mut file = parts(name);
    file.payload.truncate(2);
    assert_eq!(
        file.refused("l.apr", "the LZ4 block's size prefix"),
        payload_start
    );

    // A size no block this short can expand to (refused before allocating it).
    let mut file = parts(name);
    let huge: u32 = 1 << 29;
    file.payload.truncate(4 + 3);
    file.payload[..4].copy_from_slice(&huge.to_le_bytes());
    file.set_uncompressed(huge);
    let offset = file.refused(
        "l.apr",
        "an LZ4 block of 3 bytes cannot expand to 536870912 bytes",
    );
    assert_eq!(offset, payload_start);

    // A block cut short: its last sequence points past what it holds.
    let mut file = parts(name);
    let keep = file.payload.len() - 5;
    file.payload.truncate(keep);
    let offset = file.refused("l.apr", "LZ4 payload:");
    assert_eq!(offset, payload_start + 4);
}

#[test]
fn every_model_type_aprender_defines_but_whyline_does_not_read_is_named() {
    let names = [
        (0x0005u16, "GradientBoosting"),
        (0x0007, "Pca"),
        (0x0008, "NaiveBayes"),
        (0x0009, "Knn"),
        (0x000A, "Svm"),
        (0x0010, "NgramLm"),
        (0x0011, "Tfidf"),
        (0x0012, "CountVectorizer"),
        (0x0020, "NeuralSequential"),
        (0x0021, "NeuralCustom"),
        (0x0030, "ContentRecommender"),
        (0x0040, "MixtureOfExperts"),
        (0x00FF, "Custom"),
    ];
    for (id, name) in names {
        let mut file = parts("linear_regression.apr");
        file.header[6..8].copy_from_slice(&id.to_le_bytes());
        let error = Model::from_bytes(&file.build(), "t.apr").unwrap_err();
        assert!(
            matches!(&error, ModelError::UnsupportedModelType { model_type, format: "aprender", .. } if model_type == name),
            "{id:#06x}: {error:?}"
        );
        assert!(
            error.to_string().contains("supported: LinearRegression"),
            "{error}"
        );
    }
}

#[test]
fn a_public_key_file_is_32_raw_bytes_or_64_hex_digits() {
    use whyline_models::LoadOptions;
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, bytes: &[u8]| {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    };
    let key: Vec<u8> = (0..32).collect();
    let raw = write("raw.pub", &key);
    assert_eq!(
        LoadOptions::read_apr_public_key(&raw).unwrap().to_vec(),
        key
    );
    let hex: String = key.iter().map(|b| format!("{b:02x}")).collect();
    let text = write("hex.pub", format!("  {hex}\n").as_bytes());
    assert_eq!(
        LoadOptions::read_apr_public_key(&text).unwrap().to_vec(),
        key
    );

    let short = write("short.pub", &key[..31]);
    let error = LoadOptions::read_apr_public_key(&short).unwrap_err();
    assert!(
        matches!(&error, ModelError::Malformed { field, detail, .. } if field == "public key" && detail.contains("found 31 bytes")),
        "{error:?}"
    );
    let mut bad = hex.clone();
    bad.replace_range(4..6, "zz");
    let bad = write("bad.pub", bad.as_bytes());
    let error = LoadOptions::read_apr_public_key(&bad).unwrap_err();
    assert!(
        matches!(&error, ModelError::Malformed { detail, .. } if detail == "characters 4-5 are not hexadecimal"),
        "{error:?}"
    );
    assert!(
        error.to_string().starts_with(&bad.display().to_string()),
        "{error}"
    );
    let error = LoadOptions::read_apr_public_key(dir.path().join("none.pub")).unwrap_err();
    assert!(matches!(error, ModelError::Io { .. }), "{error:?}");
}
