//! The one error type of `whyline-models`.
//!
//! Load errors name the model file (its path, or `<memory>` for bytes handed over directly)
//! and the field that was wrong; input errors come from `whyline-core` and name the row and
//! the feature.

use std::path::{Path, PathBuf};

use whyline_core::CoreError;

/// Result alias used across `whyline-models`.
pub type Result<T, E = ModelError> = std::result::Result<T, E>;

/// Everything that can go wrong while loading or running a model.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ModelError {
    /// The model file could not be read.
    #[error("{}: cannot read model file", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// What the operating system reported.
        #[source]
        source: std::io::Error,
    },
    /// The file is not valid JSON (or ends early).
    #[error("{}: invalid JSON at line {line}, column {column}: {message}", path.display())]
    Json {
        /// The model file (its path, or the name given to `Model::from_bytes`).
        path: PathBuf,
        /// Line (1-based).
        line: usize,
        /// Column (1-based).
        column: usize,
        /// What the parser reported.
        message: String,
    },
    /// A field is missing, has the wrong type or length, or holds a value outside its domain.
    #[error("{}: field `{field}`: {detail}", path.display())]
    Malformed {
        /// The model file (its path, or the name given to `Model::from_bytes`).
        path: PathBuf,
        /// The field, as a path into the document (`trees[3].left_children[7]`).
        field: String,
        /// What is wrong with it.
        detail: String,
    },
    /// A field holds a number outside the range the model allows: a feature or child index,
    /// a neighbour count, a tree group, a class count, a probability. The one shape of
    /// "a value is out of range" in this crate.
    #[error("{}: field `{field}`: {found} is out of range (expected {expected})", path.display())]
    OutOfRange {
        /// The model file (its path, or the name given to `Model::from_bytes`).
        path: PathBuf,
        /// The field, as a path into the document (`trees[3].left_children[7]`).
        field: String,
        /// The value found.
        found: String,
        /// The range it must fall in, in words (`a feature index below 30`).
        expected: String,
    },
    /// The content matches none of the formats this crate reads.
    #[error("{}: unknown model format ({detail})", path.display())]
    UnknownFormat {
        /// The model file (its path, or the name given to `Model::from_bytes`).
        path: PathBuf,
        /// What was found instead.
        detail: String,
    },
    /// The format is known but this version of it is not.
    #[error("{}: {format} version {found} is not supported (this build reads {supported})", path.display())]
    UnsupportedVersion {
        /// The model file (its path, or the name given to `Model::from_bytes`).
        path: PathBuf,
        /// The format.
        format: &'static str,
        /// The version found.
        found: String,
        /// The versions this build reads.
        supported: &'static str,
    },
    /// A known field holds a value this build does not implement (an objective, an
    /// activation, a model type, a split kind).
    #[error("{}: field `{field}`: unsupported value {value:?} ({supported})", path.display())]
    Unsupported {
        /// The model file (its path, or the name given to `Model::from_bytes`).
        path: PathBuf,
        /// The field.
        field: String,
        /// The value found.
        value: String,
        /// What is supported instead.
        supported: &'static str,
    },
    /// A binary container is malformed at a byte offset of the file: a wrong magic
    /// number, an unknown compression id, declared sizes that do not add up, bytes after the
    /// end.
    #[error("{}: {format} file, byte {offset}: {detail}", path.display())]
    Binary {
        /// The model file (its path, or the name given to `Model::from_bytes`).
        path: PathBuf,
        /// The format (`aprender .apr`).
        format: &'static str,
        /// Offset of the offending byte or field in the file.
        offset: u64,
        /// What is wrong there.
        detail: String,
    },
    /// A binary file ends before a part it declares (header, metadata, payload, checksum).
    #[error(
        "{}: {format} file is truncated: {what} needs {needed} bytes, the file has {found}",
        path.display()
    )]
    Truncated {
        /// The model file (its path, or the name given to `Model::from_bytes`).
        path: PathBuf,
        /// The format (`aprender .apr`).
        format: &'static str,
        /// The part that does not fit.
        what: &'static str,
        /// The file length that part needs.
        needed: u64,
        /// The file length found.
        found: u64,
    },
    /// The file's checksum does not match its content: it was damaged or changed.
    #[error(
        "{}: {format} checksum mismatch: the CRC32 stored at byte {offset} is {stored:#010x}, \
         the content hashes to {computed:#010x} (the file is damaged or was changed)",
        path.display()
    )]
    ChecksumMismatch {
        /// The model file (its path, or the name given to `Model::from_bytes`).
        path: PathBuf,
        /// The format (`aprender .apr`).
        format: &'static str,
        /// Offset of the stored checksum.
        offset: u64,
        /// The checksum stored in the file.
        stored: u32,
        /// The checksum of the content.
        computed: u32,
    },
    /// The file holds a model type whose payload this build does not read.
    #[error("{}: {format} model type {model_type} is not supported; supported: {supported}", path.display())]
    UnsupportedModelType {
        /// The model file (its path, or the name given to `Model::from_bytes`).
        path: PathBuf,
        /// The library whose type id it is (`aprender`).
        format: &'static str,
        /// The model type, by the library's name for it (`DecisionTree`), or its id when
        /// the library has no name for it.
        model_type: String,
        /// The model types this build reads.
        supported: &'static str,
    },
    /// A signed file's Ed25519 signature does not verify: the signed bytes (header,
    /// metadata, payload) were changed, or the file was signed by another key than the one
    /// given.
    #[error("{}: {format} signature does not verify with {key}: {detail}", path.display())]
    SignatureInvalid {
        /// The model file (its path, or the name given to `Model::from_bytes`).
        path: PathBuf,
        /// The format (`aprender .apr`).
        format: &'static str,
        /// Which key was used: the one the file carries, or the one given.
        key: String,
        /// What the verifier reported.
        detail: String,
    },
    /// The file is encrypted and this build cannot decrypt it.
    #[error("{}: {format} payload is encrypted: {detail}", path.display())]
    Encrypted {
        /// The model file (its path, or the name given to `Model::from_bytes`).
        path: PathBuf,
        /// The format (`aprender .apr`).
        format: &'static str,
        /// What to do instead.
        detail: String,
    },
    /// The input row was rejected (wrong feature count, non-finite value without a
    /// missing-value rule).
    #[error(transparent)]
    Input(#[from] CoreError),
    /// Input rows could not be read (see [`RowsError`](crate::RowsError) for the kinds,
    /// each naming the line): so that a caller holding one `ModelError` can use `?` on rows.
    #[error(transparent)]
    Rows(#[from] crate::RowsError),
}

impl ModelError {
    /// A [`ModelError::Malformed`] for `file` and `field`.
    pub(crate) fn malformed(
        file: &Path,
        field: impl Into<String>,
        detail: impl Into<String>,
    ) -> ModelError {
        ModelError::Malformed {
            path: file.to_path_buf(),
            field: field.into(),
            detail: detail.into(),
        }
    }

    /// A [`ModelError::OutOfRange`] for `file` and `field`.
    pub(crate) fn out_of_range(
        file: &Path,
        field: impl Into<String>,
        found: impl ToString,
        expected: impl Into<String>,
    ) -> ModelError {
        ModelError::OutOfRange {
            path: file.to_path_buf(),
            field: field.into(),
            found: found.to_string(),
            expected: expected.into(),
        }
    }

    /// A [`ModelError::Unsupported`] for `file` and `field`.
    pub(crate) fn unsupported(
        file: &Path,
        field: impl Into<String>,
        value: impl Into<String>,
        supported: &'static str,
    ) -> ModelError {
        ModelError::Unsupported {
            path: file.to_path_buf(),
            field: field.into(),
            value: value.into(),
            supported,
        }
    }

    /// A [`ModelError::Json`] from a `serde_json` error.
    pub(crate) fn json(file: &Path, error: &serde_json::Error) -> ModelError {
        // serde_json appends " at line L column C"; the variant prints the position once.
        let message = error.to_string();
        let position = format!(" at line {} column {}", error.line(), error.column());
        ModelError::Json {
            path: file.to_path_buf(),
            line: error.line(),
            column: error.column(),
            message: message
                .strip_suffix(&position)
                .map_or_else(|| message.clone(), str::to_owned),
        }
    }
}
