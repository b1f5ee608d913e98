//! Key files: where a ledger's checkpoint signing key and its verifier key live on disk.
//!
//! A key pair is two one-line text files in a directory, in the format of the Go reference
//! implementation of C2SP signed notes:
//!
//! ```text
//! DIR/ledger.key   PRIVATE+KEY+name+hexid+base64(type ‖ secret)   mode 0600, never replaced
//! DIR/ledger.pub   name+hexid+base64(type ‖ public key)        mode 0644 (0600 for HMAC,
//!                                                                whose verifier is the secret)
//! ```
//!
//! The secret is written atomically: to a temporary file created with mode 0600, synced, then
//! linked to its name (which fails if the name exists, so a key is never overwritten), and the
//! directory synced. A crash leaves either no key file or a whole one. Readers accept the line
//! with or without its trailing newline.
//!
//! ```
//! use whyline_ledger::{NoteSigner, keys};
//!
//! let dir = tempfile::tempdir()?;
//! let signer = NoteSigner::generate_ed25519("example.com/log")?;
//! let paths = keys::write_keypair(dir.path(), &signer)?;
//! let back = keys::read_signing_key(&paths.signing_key)?;
//! let verifier = keys::read_verifier(&paths.verifier_key)?;
//! assert_eq!(back.key_id(), verifier.key_id());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::checkpoint::{NoteSigner, NoteVerifier};
use crate::error::{LedgerError, Result};

/// File name of the signing key in a key directory.
pub const SIGNING_KEY_FILE: &str = "ledger.key";
/// File name of the verifier key in a key directory.
pub const VERIFIER_KEY_FILE: &str = "ledger.pub";

/// Where [`write_keypair`] put a key pair.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyPaths {
    /// The signing key (secret, mode 0600).
    pub signing_key: PathBuf,
    /// The verifier key.
    pub verifier_key: PathBuf,
}

impl KeyPaths {
    /// The key file paths inside `dir`.
    pub fn in_dir(dir: &Path) -> Self {
        Self {
            signing_key: dir.join(SIGNING_KEY_FILE),
            verifier_key: dir.join(VERIFIER_KEY_FILE),
        }
    }

    /// A signing key at `signing_key` (any name, as a profile's `key_file` gives it) and its
    /// verifier key beside it, with the extension `pub`.
    pub fn beside(signing_key: &Path) -> Self {
        Self {
            signing_key: signing_key.to_path_buf(),
            verifier_key: signing_key.with_extension("pub"),
        }
    }
}

/// Writes `signer`'s key and its verifier key into `dir` (created if missing) as
/// [`SIGNING_KEY_FILE`] and [`VERIFIER_KEY_FILE`]. Fails with [`LedgerError::KeyExists`],
/// writing nothing, if the signing key file exists already.
pub fn write_keypair(dir: &Path, signer: &NoteSigner) -> Result<KeyPaths> {
    let paths = KeyPaths::in_dir(dir);
    write_keypair_at(&paths, signer)?;
    Ok(paths)
}

/// Writes `signer`'s key and its verifier key at `paths`, creating their directory if
/// missing. Fails with [`LedgerError::KeyExists`], writing nothing, if the signing key file
/// exists already.
pub fn write_keypair_at(paths: &KeyPaths, signer: &NoteSigner) -> Result<()> {
    let dir = parent_dir(&paths.signing_key);
    std::fs::create_dir_all(dir).map_err(|e| LedgerError::io(dir, "create directory", e))?;
    write_new_secret(&paths.signing_key, &signer.to_key_string())?;
    // An HMAC verifier key is the secret itself: it gets the secret's mode.
    let verifier_mode = match signer {
        NoteSigner::Hmac { .. } => 0o600,
        NoteSigner::Ed25519 { .. } => 0o644,
    };
    write_replacing(
        &paths.verifier_key,
        &signer.verifier().to_key_string(),
        verifier_mode,
    )?;
    sync_dir(dir)?;
    if parent_dir(&paths.verifier_key) != dir {
        sync_dir(parent_dir(&paths.verifier_key))?;
    }
    Ok(())
}

/// Writes one secret line (a key of any kind, e.g. an input digest key in hex) to a new file
/// at `path` with mode 0600, atomically, creating its directory if missing; fails with
/// [`LedgerError::KeyExists`] if the file exists, so a key is never replaced.
pub fn write_secret_file(path: &Path, line: &str) -> Result<()> {
    let dir = parent_dir(path);
    std::fs::create_dir_all(dir).map_err(|e| LedgerError::io(dir, "create directory", e))?;
    write_new_secret(path, line)?;
    sync_dir(dir)
}

/// The directory a file is in (`.` for a bare file name).
fn parent_dir(path: &Path) -> &Path {
    path.parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

/// The signing key in `dir` ([`SIGNING_KEY_FILE`]) if there is one; otherwise a new Ed25519
/// key named `name`, written there with its verifier key first. For tools (a demo) that keep
/// one key across runs.
pub fn read_or_create_signing_key(dir: &Path, name: &str) -> Result<NoteSigner> {
    let paths = KeyPaths::in_dir(dir);
    if paths.signing_key.is_file() {
        return read_signing_key(&paths.signing_key);
    }
    let signer = NoteSigner::generate_ed25519(name)?;
    write_keypair(dir, &signer)?;
    Ok(signer)
}

/// Reads a signing key file (as [`write_keypair`] writes it).
pub fn read_signing_key(path: &Path) -> Result<NoteSigner> {
    let text = read_key_text(path)?;
    NoteSigner::from_key_string(text.trim()).map_err(|e| key_file_error(path, e))
}

/// Reads a verifier key file (as [`write_keypair`] writes it).
pub fn read_verifier(path: &Path) -> Result<NoteVerifier> {
    let text = read_key_text(path)?;
    NoteVerifier::from_key_string(text.trim()).map_err(|e| key_file_error(path, e))
}

fn read_key_text(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).map_err(|e| LedgerError::io(path, "read", e))
}

/// A key parse error, said about the file.
fn key_file_error(path: &Path, error: LedgerError) -> LedgerError {
    let kind = match error {
        LedgerError::Note { kind, .. } => kind,
        other => return other,
    };
    LedgerError::KeyFile {
        path: path.to_path_buf(),
        kind,
    }
}

/// A temporary file beside `path`, created new with `mode`.
fn create_temporary(path: &Path, mode: u32) -> Result<(PathBuf, std::fs::File)> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(mode);
    }
    #[cfg(not(unix))]
    let _ = mode;
    let name = path
        .file_name()
        .map_or_else(|| "key".into(), |n| n.to_string_lossy().into_owned());
    let temporary = path.with_file_name(format!(".{name}.{}.tmp", std::process::id()));
    let file = options
        .open(&temporary)
        .map_err(|e| LedgerError::io(&temporary, "create", e))?;
    Ok((temporary, file))
}

fn write_synced(file: &mut std::fs::File, path: &Path, line: &str) -> Result<()> {
    writeln!(file, "{line}").map_err(|e| LedgerError::io(path, "write", e))?;
    file.sync_all()
        .map_err(|e| LedgerError::io(path, "fsync", e))
}

/// Writes a secret line to `path` with mode 0600, atomically and never over an existing file.
fn write_new_secret(path: &Path, line: &str) -> Result<()> {
    if path.exists() {
        return Err(LedgerError::KeyExists {
            path: path.to_path_buf(),
        });
    }
    let (temporary, mut file) = create_temporary(path, 0o600)?;
    let linked = write_synced(&mut file, &temporary, line).and_then(|()| {
        // A hard link fails if `path` exists: unlike a rename, it never replaces a key.
        std::fs::hard_link(&temporary, path).map_err(|e| match e.kind() {
            std::io::ErrorKind::AlreadyExists => LedgerError::KeyExists {
                path: path.to_path_buf(),
            },
            _ => LedgerError::io(path, "link", e),
        })
    });
    let removed =
        std::fs::remove_file(&temporary).map_err(|e| LedgerError::io(&temporary, "remove", e));
    linked.and(removed)
}

/// Writes a line to `path` atomically (temporary file with `mode`, then rename).
pub(crate) fn write_replacing(path: &Path, line: &str, mode: u32) -> Result<()> {
    let (temporary, mut file) = create_temporary(path, mode)?;
    let written = write_synced(&mut file, &temporary, line).and_then(|()| {
        std::fs::rename(&temporary, path).map_err(|e| LedgerError::io(path, "rename", e))
    });
    if written.is_err() {
        // Best effort: the error that matters is the write's.
        let _ = std::fs::remove_file(&temporary);
    }
    written
}

pub(crate) fn sync_dir(dir: &Path) -> Result<()> {
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| LedgerError::io(dir, "fsync directory", e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::NoteErrorKind;

    #[test]
    fn a_key_pair_round_trips_and_the_secret_is_private() {
        let dir = tempfile::tempdir().unwrap();
        let signer = NoteSigner::generate_ed25519("test/log").unwrap();
        let paths = write_keypair(dir.path(), &signer).unwrap();
        let back = read_signing_key(&paths.signing_key).unwrap();
        assert_eq!(back.to_key_string(), signer.to_key_string());
        let verifier = read_verifier(&paths.verifier_key).unwrap();
        assert_eq!(verifier.to_key_string(), signer.verifier().to_key_string());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&paths.signing_key)
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600, "mode {mode:o}");
        }
        let leftovers: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .filter(|n| n.to_string_lossy().ends_with(".tmp"))
            .collect();
        assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
    }

    #[cfg(unix)]
    #[test]
    fn an_hmac_verifier_key_is_as_private_as_its_secret() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let signer = NoteSigner::generate_hmac("test/log").unwrap();
        let paths = write_keypair(dir.path(), &signer).unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&paths.signing_key), 0o600);
        assert_eq!(mode(&paths.verifier_key), 0o600);
    }

    #[test]
    fn an_existing_signing_key_is_never_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let first = NoteSigner::generate_ed25519("test/log").unwrap();
        let paths = write_keypair(dir.path(), &first).unwrap();
        let second = NoteSigner::generate_hmac("test/log").unwrap();
        let error = write_keypair(dir.path(), &second).unwrap_err();
        assert!(
            matches!(&error, LedgerError::KeyExists { path } if *path == paths.signing_key),
            "{error:?}"
        );
        let kept = read_signing_key(&paths.signing_key).unwrap();
        assert_eq!(kept.to_key_string(), first.to_key_string());
        let again = read_or_create_signing_key(dir.path(), "other").unwrap();
        assert_eq!(again.to_key_string(), first.to_key_string());
    }

    #[test]
    fn a_key_pair_at_a_named_path_puts_the_verifier_beside_it() {
        let dir = tempfile::tempdir().unwrap();
        let paths = KeyPaths::beside(&dir.path().join("keys/vehicle-7.key"));
        assert_eq!(paths.verifier_key, dir.path().join("keys/vehicle-7.pub"));
        let signer = NoteSigner::generate_ed25519("test/log").unwrap();
        write_keypair_at(&paths, &signer).unwrap();
        let verifier = read_verifier(&paths.verifier_key).unwrap();
        assert_eq!(verifier.to_key_string(), signer.verifier().to_key_string());
        let error = write_keypair_at(&paths, &signer).unwrap_err();
        assert!(matches!(error, LedgerError::KeyExists { .. }), "{error:?}");
    }

    #[test]
    fn a_secret_file_is_written_once_and_never_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested/digest.key");
        write_secret_file(&path, "00ff").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "00ff\n");
        let error = write_secret_file(&path, "11ee").unwrap_err();
        assert!(matches!(error, LedgerError::KeyExists { .. }), "{error:?}");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "00ff\n");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "mode {mode:o}");
        }
    }

    #[test]
    fn a_damaged_key_file_is_named_in_the_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ledger.pub");
        std::fs::write(&path, "not a key\n").unwrap();
        let error = read_verifier(&path).unwrap_err();
        assert!(
            matches!(&error, LedgerError::KeyFile { path: p, kind: NoteErrorKind::BadKey } if *p == path),
            "{error:?}"
        );
        let missing = read_signing_key(&dir.path().join("absent.key")).unwrap_err();
        assert!(
            matches!(
                &missing,
                LedgerError::Io {
                    operation: "read",
                    ..
                }
            ),
            "{missing:?}"
        );
    }
}
