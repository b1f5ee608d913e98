//! aprender's `.apr` v1 container (magic `APRN`), as `aprender::format::save` writes it
//! (aprender 0.10 to 0.27.8, and `apr-format` 0.72 behind today's `aprender` facade; layout
//! in `docs/aprender-format.md`):
//!
//! ```text
//! header (32 bytes, little-endian)
//!   0  magic "APRN"          4  version major, minor (1, 0)   6  model type id (u16)
//!   8  metadata size (u32)  12  payload size (u32)           16  uncompressed size (u32)
//!  20  compression (u8)     21  flags (u8)                   22  quality score (u8)
//!  23  reserved (9 bytes)
//! metadata (MessagePack map)       metadata size bytes
//! payload (bincode 1, compressed)  payload size bytes
//! signature block (SIGNED only)    64-byte Ed25519 signature, 32-byte public key
//! CRC32 (IEEE, u32 LE) of everything before it
//! ```
//!
//! The checksum, then the signature of a signed file, are verified before anything past
//! the header is read. The payload is read by model type: linear and logistic regression
//! and k-means (`aprender_models`), trees and forests (`aprender_tree`); every other type is
//! a [`ModelError::UnsupportedModelType`] naming it. Encrypted files are a
//! [`ModelError::Encrypted`]; streaming and quantized files are refused.

use std::io::{Cursor, Read};
use std::path::Path;

use serde::Deserialize;

use super::{aprender_models, aprender_signature, aprender_tree};
use crate::error::{ModelError, Result};
use crate::model::{LoadOptions, Loaded};

/// The first four bytes of an `.apr` file.
pub(crate) const MAGIC: &[u8; 4] = b"APRN";

/// The format name in errors.
pub(super) const FORMAT: &str = "aprender .apr";

/// Header length.
const HEADER_SIZE: usize = 32;

/// Checksum length (the trailer).
const CHECKSUM_SIZE: usize = 4;

/// The one container version this reader knows.
const VERSION: (u8, u8) = (1, 0);

/// aprender's own limit on the uncompressed payload (1 GiB).
const MAX_UNCOMPRESSED_SIZE: u32 = 1 << 30;

/// The model types whose payload this reader reads.
const SUPPORTED_TYPES: &str = "LinearRegression, LogisticRegression, DecisionTree \
     (DecisionTreeClassifier, DecisionTreeRegressor), RandomForest (RandomForestClassifier, \
     RandomForestRegressor), KMeans";

/// Header flag bits, as aprender defines them.
mod flag {
    /// AES-256-GCM encrypted payload (salt and nonce before it).
    pub(super) const ENCRYPTED: u8 = 0b0000_0001;
    /// Ed25519 signature block after the payload.
    pub(super) const SIGNED: u8 = 0b0000_0010;
    /// Chunk index after the metadata.
    pub(super) const STREAMING: u8 = 0b0000_0100;
    /// License information in the metadata (no effect on the layout).
    pub(super) const LICENSED: u8 = 0b0000_1000;
    /// 64-byte aligned tensors.
    pub(super) const TRUENO_NATIVE: u8 = 0b0001_0000;
    /// Quantized tensors in the payload.
    pub(super) const QUANTIZED: u8 = 0b0010_0000;
    /// A model card in the metadata (no effect on the layout).
    pub(super) const HAS_MODEL_CARD: u8 = 0b0100_0000;
    /// The flags this reader accepts: LICENSED and HAS_MODEL_CARD only say what the
    /// metadata holds; SIGNED adds the signature block this reader verifies.
    pub(super) const ACCEPTED: u8 = LICENSED | HAS_MODEL_CARD | SIGNED;
}

/// The payload compression ids.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Compression {
    None,
    /// Zstd level 3 (`0x01`) or level 19 (`0x02`): one zstd frame.
    Zstd,
    /// An LZ4 block preceded by its uncompressed size (u32 LE), as `lz4_flex`'s
    /// `compress_prepend_size` writes it.
    Lz4,
}

/// aprender's name for a model type id (`aprender::format::ModelType`).
fn type_name(id: u16) -> Option<&'static str> {
    Some(match id {
        0x0001 => "LinearRegression",
        0x0002 => "LogisticRegression",
        0x0003 => "DecisionTree",
        0x0004 => "RandomForest",
        0x0005 => "GradientBoosting",
        0x0006 => "KMeans",
        0x0007 => "Pca",
        0x0008 => "NaiveBayes",
        0x0009 => "Knn",
        0x000A => "Svm",
        0x0010 => "NgramLm",
        0x0011 => "Tfidf",
        0x0012 => "CountVectorizer",
        0x0020 => "NeuralSequential",
        0x0021 => "NeuralCustom",
        0x0030 => "ContentRecommender",
        0x0040 => "MixtureOfExperts",
        0x00FF => "Custom",
        _ => return None,
    })
}

/// The metadata field this reader uses. The others (creation time, name, description,
/// training information, hyperparameters, metrics, custom data, distillation, license,
/// model card) are checked to be well-formed MessagePack and skipped.
#[derive(Deserialize)]
struct Metadata {
    aprender_version: String,
}

/// The fixed header fields.
struct Header {
    model_type: u16,
    /// A signature block follows the payload.
    signed: bool,
    metadata_size: u32,
    payload_size: u32,
    uncompressed_size: u32,
    compression: Compression,
}

/// Reads an `.apr` file; a signed one is verified with `options.apr_public_key` when
/// given, else with the key it carries.
pub(crate) fn load(bytes: &[u8], file: &Path, options: &LoadOptions) -> Result<Loaded> {
    let header = header(bytes, file)?;
    let metadata_start = HEADER_SIZE;
    let payload_start = metadata_start + header.metadata_size as usize;
    let payload_end = payload_start + header.payload_size as usize;
    check_crc(bytes, file)?;
    if header.signed {
        aprender_signature::verify(bytes, payload_end, options.apr_public_key.as_ref(), file)?;
    }

    let type_name = match type_name(header.model_type) {
        Some(
            name @ ("LinearRegression" | "LogisticRegression" | "DecisionTree" | "RandomForest"
            | "KMeans"),
        ) => name,
        Some(name) => return Err(unsupported_type(file, name.to_owned())),
        None => {
            return Err(unsupported_type(
                file,
                format!(
                    "{:#06x} (an id aprender does not define)",
                    header.model_type
                ),
            ));
        }
    };
    let metadata = metadata(
        bytes.get(metadata_start..payload_start).unwrap_or(&[]),
        metadata_start,
        file,
    )?;
    let payload = decompress(
        bytes.get(payload_start..payload_end).unwrap_or(&[]),
        &header,
        payload_start,
        file,
    )?;

    let (kind, model_type) = match type_name {
        "LinearRegression" => (
            aprender_models::linear(&payload, false, file)?,
            "LinearRegression",
        ),
        "LogisticRegression" => (
            aprender_models::linear(&payload, true, file)?,
            "LogisticRegression",
        ),
        "DecisionTree" => aprender_tree::decision_tree(&payload, file)?,
        "RandomForest" => aprender_tree::random_forest(&payload, file)?,
        _ => (aprender_models::kmeans(&payload, file)?, "KMeans"),
    };
    Ok(Loaded {
        kind,
        format_version: metadata.aprender_version.clone(),
        model_type: model_type.to_owned(),
        producer: format!("aprender {}", metadata.aprender_version),
    })
}

fn unsupported_type(file: &Path, model_type: String) -> ModelError {
    ModelError::UnsupportedModelType {
        path: file.to_path_buf(),
        format: "aprender",
        model_type,
        supported: SUPPORTED_TYPES,
    }
}

fn binary(file: &Path, offset: usize, detail: impl Into<String>) -> ModelError {
    ModelError::Binary {
        path: file.to_path_buf(),
        format: FORMAT,
        offset: offset as u64,
        detail: detail.into(),
    }
}

fn u32_at(bytes: &[u8], at: usize) -> u32 {
    let mut word = [0; 4];
    if let Some(slice) = bytes.get(at..at + 4) {
        word.copy_from_slice(slice);
    }
    u32::from_le_bytes(word)
}

fn byte_at(bytes: &[u8], at: usize) -> u8 {
    bytes.get(at).copied().unwrap_or(0)
}

/// Parses and checks the header, and that the file is exactly as long as it declares.
fn header(bytes: &[u8], file: &Path) -> Result<Header> {
    check_magic_and_version(bytes, file)?;
    check_flags(byte_at(bytes, 21), file)?;
    let header = Header {
        model_type: u16::from_le_bytes([byte_at(bytes, 6), byte_at(bytes, 7)]),
        signed: byte_at(bytes, 21) & flag::SIGNED != 0,
        metadata_size: u32_at(bytes, 8),
        payload_size: u32_at(bytes, 12),
        uncompressed_size: u32_at(bytes, 16),
        compression: compression(byte_at(bytes, 20), file)?,
    };
    check_payload_sizes(&header, file)?;
    check_file_length(&header, bytes, file)?;
    Ok(header)
}

/// The magic `APRN`, a whole 32-byte header, and format version 1.0 (bytes 4–5).
fn check_magic_and_version(bytes: &[u8], file: &Path) -> Result<()> {
    if !bytes.starts_with(MAGIC) {
        let found: Vec<String> = bytes.iter().take(4).map(|b| format!("{b:02x}")).collect();
        return Err(binary(
            file,
            0,
            format!(
                "magic is [{}], expected \"APRN\" (41 50 52 4e)",
                found.join(" ")
            ),
        ));
    }
    if bytes.len() < HEADER_SIZE {
        return Err(ModelError::Truncated {
            path: file.to_path_buf(),
            format: FORMAT,
            what: "the 32-byte header",
            needed: HEADER_SIZE as u64,
            found: bytes.len() as u64,
        });
    }
    let version = (byte_at(bytes, 4), byte_at(bytes, 5));
    if version != VERSION {
        return Err(ModelError::UnsupportedVersion {
            path: file.to_path_buf(),
            format: FORMAT,
            found: format!("{}.{} (bytes 4-5)", version.0, version.1),
            supported: "1.0 (what aprender's format::save writes, 0.10 to 0.27.8 and \
                        apr-format 0.72)",
        });
    }
    Ok(())
}

/// The flags (byte 21): LICENSED and HAS_MODEL_CARD only; every other bit names what this
/// reader cannot do.
fn check_flags(flags: u8, file: &Path) -> Result<()> {
    if flags & flag::ENCRYPTED != 0 {
        return Err(ModelError::Encrypted {
            path: file.to_path_buf(),
            format: FORMAT,
            detail: "flag ENCRYPTED (byte 21): whyline has no decryption key option and cannot \
                     read AES-256-GCM payloads; decrypt with aprender's \
                     format::load_encrypted (password) or load_as_recipient (X25519 key) and \
                     save the model unencrypted"
                .to_owned(),
        });
    }
    let refused = [
        (flag::STREAMING, "STREAMING (chunked payloads are not read)"),
        (
            flag::TRUENO_NATIVE,
            "TRUENO_NATIVE (aligned tensor payloads are not read)",
        ),
        (
            flag::QUANTIZED,
            "QUANTIZED (quantized payloads are not read)",
        ),
        (!flag::ACCEPTED, "a reserved bit"),
    ];
    match refused.iter().find(|(bit, _)| flags & bit != 0) {
        Some((_, name)) => Err(ModelError::unsupported(
            file,
            "flags (byte 21)",
            format!("{flags:#010b}: {name}"),
            "flags LICENSED, HAS_MODEL_CARD and SIGNED only",
        )),
        None => Ok(()),
    }
}

/// The compression id (byte 20).
fn compression(id: u8, file: &Path) -> Result<Compression> {
    match id {
        0x00 => Ok(Compression::None),
        0x01 | 0x02 => Ok(Compression::Zstd),
        0x03 => Ok(Compression::Lz4),
        other => Err(binary(
            file,
            20,
            format!("unknown compression id {other:#04x} (known: 0 none, 1-2 zstd, 3 LZ4)"),
        )),
    }
}

/// The uncompressed size (bytes 16–19): within aprender's limit, and the payload size
/// itself for an uncompressed payload.
fn check_payload_sizes(header: &Header, file: &Path) -> Result<()> {
    if header.uncompressed_size > MAX_UNCOMPRESSED_SIZE {
        return Err(binary(
            file,
            16,
            format!(
                "uncompressed size {} exceeds aprender's limit of {MAX_UNCOMPRESSED_SIZE} bytes",
                header.uncompressed_size
            ),
        ));
    }
    if header.compression == Compression::None && header.uncompressed_size != header.payload_size {
        return Err(binary(
            file,
            16,
            format!(
                "uncompressed size {} differs from the payload size {} of an uncompressed payload",
                header.uncompressed_size, header.payload_size
            ),
        ));
    }
    Ok(())
}

/// The file is exactly header, metadata, payload and CRC32 trailer long: a shorter file
/// names the first part that does not fit, a longer one the bytes after the trailer.
fn check_file_length(header: &Header, bytes: &[u8], file: &Path) -> Result<()> {
    let signature = if header.signed {
        aprender_signature::BLOCK_SIZE as u64
    } else {
        0
    };
    let payload_end =
        HEADER_SIZE as u64 + u64::from(header.metadata_size) + u64::from(header.payload_size);
    let needed = payload_end + signature + CHECKSUM_SIZE as u64;
    let found = bytes.len() as u64;
    if found < needed {
        let what = if found < HEADER_SIZE as u64 + u64::from(header.metadata_size) {
            "the metadata the header declares"
        } else if found < payload_end {
            "the payload the header declares"
        } else if found < needed - CHECKSUM_SIZE as u64 {
            "the signature block (flag SIGNED)"
        } else {
            "the CRC32 trailer"
        };
        return Err(ModelError::Truncated {
            path: file.to_path_buf(),
            format: FORMAT,
            what,
            needed,
            found,
        });
    }
    if found > needed {
        return Err(binary(
            file,
            bytes.len().min(needed as usize),
            format!(
                "{} bytes after the CRC32 trailer (the header declares a {needed}-byte file)",
                found - needed
            ),
        ));
    }
    Ok(())
}

/// Verifies the CRC32 trailer over everything before it.
fn check_crc(bytes: &[u8], file: &Path) -> Result<()> {
    let at = bytes.len().saturating_sub(CHECKSUM_SIZE);
    let stored = u32_at(bytes, at);
    let computed = crc32fast::hash(bytes.get(..at).unwrap_or(&[]));
    if stored == computed {
        Ok(())
    } else {
        Err(ModelError::ChecksumMismatch {
            path: file.to_path_buf(),
            format: FORMAT,
            offset: at as u64,
            stored,
            computed,
        })
    }
}

/// Decodes the MessagePack metadata map.
fn metadata(bytes: &[u8], offset: usize, file: &Path) -> Result<Metadata> {
    let mut deserializer = rmp_serde::Deserializer::new(Cursor::new(bytes));
    deserializer.set_max_depth(64);
    let metadata = Metadata::deserialize(&mut deserializer).map_err(|e| {
        binary(
            file,
            offset,
            format!("metadata is not aprender's MessagePack map: {e}"),
        )
    })?;
    let used = usize::try_from(deserializer.position()).unwrap_or(usize::MAX);
    if used != bytes.len() {
        return Err(binary(
            file,
            offset + used.min(bytes.len()),
            format!(
                "{} bytes after the metadata map, inside the declared metadata",
                bytes.len().saturating_sub(used)
            ),
        ));
    }
    Ok(metadata)
}

/// The uncompressed payload, exactly as long as the header says.
fn decompress(data: &[u8], header: &Header, offset: usize, file: &Path) -> Result<Vec<u8>> {
    let expected = header.uncompressed_size as usize;
    let payload = match header.compression {
        Compression::None => data.to_vec(),
        Compression::Zstd => {
            let mut input = data;
            let decoder = ruzstd::decoding::StreamingDecoder::new(&mut input)
                .map_err(|e| binary(file, offset, format!("zstd payload: {e}")))?;
            let mut out = Vec::new();
            // One byte more than declared, to notice a payload that is longer.
            decoder
                .take(expected as u64 + 1)
                .read_to_end(&mut out)
                .map_err(|e| binary(file, offset, format!("zstd payload: {e}")))?;
            if !input.is_empty() {
                return Err(binary(
                    file,
                    offset + data.len() - input.len(),
                    format!(
                        "{} bytes after the zstd frame, inside the declared payload",
                        input.len()
                    ),
                ));
            }
            out
        }
        Compression::Lz4 => {
            let prefix = u32_at(data, 0) as usize;
            if data.len() < 4 || prefix != expected {
                return Err(binary(
                    file,
                    offset,
                    format!(
                        "the LZ4 block's size prefix ({prefix}) differs from the header's \
                         uncompressed size ({expected})"
                    ),
                ));
            }
            let block = data.get(4..).unwrap_or(&[]);
            // An LZ4 block expands at most 255-fold: refuse sizes no block this long makes
            // before allocating for them.
            if expected > block.len().saturating_mul(255).saturating_add(16) {
                return Err(binary(
                    file,
                    offset,
                    format!(
                        "an LZ4 block of {} bytes cannot expand to {expected} bytes",
                        block.len()
                    ),
                ));
            }
            let mut out = vec![0; expected];
            let written = lz4_flex::block::decompress_into(block, &mut out)
                .map_err(|e| binary(file, offset + 4, format!("LZ4 payload: {e}")))?;
            out.truncate(written);
            out
        }
    };
    if payload.len() != expected {
        return Err(binary(
            file,
            16,
            format!(
                "the payload decompresses to {}{} bytes, the header declares {expected}",
                if payload.len() > expected {
                    "more than "
                } else {
                    ""
                },
                payload.len().min(expected)
            ),
        ));
    }
    Ok(payload)
}
