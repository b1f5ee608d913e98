//! [`DirectoryLock`]: one sequencer per ledger directory.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};

use crate::error::{NatsError, Result};

/// The lock file a sequencer holds in its ledger directory.
pub const LOCK_FILE: &str = "sequencer.lock";

/// An exclusive lock (`flock`) on `DIR/sequencer.lock`, held while the value lives; the
/// operating system releases it when the process dies, so a SIGKILLed sequencer never
/// leaves a stale lock.
#[derive(Debug)]
pub struct DirectoryLock {
    _file: File,
    path: PathBuf,
}

impl DirectoryLock {
    /// Takes the lock of ledger directory `dir` (created if missing), or fails with
    /// [`NatsError::Locked`] while another process holds it.
    pub fn acquire(dir: &Path) -> Result<DirectoryLock> {
        std::fs::create_dir_all(dir).map_err(|source| NatsError::Io {
            path: dir.to_path_buf(),
            operation: "create directory",
            source,
        })?;
        let path = dir.join(LOCK_FILE);
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|source| NatsError::Io {
                path: path.clone(),
                operation: "open lock file",
                source,
            })?;
        match file.try_lock() {
            Ok(()) => Ok(DirectoryLock { _file: file, path }),
            Err(TryLockError::WouldBlock) => Err(NatsError::Locked {
                path: dir.to_path_buf(),
                lock: path,
            }),
            Err(TryLockError::Error(source)) => Err(NatsError::Io {
                path,
                operation: "lock",
                source,
            }),
        }
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_on_the_same_directory_is_refused_until_the_first_is_released() {
        let dir = tempfile::tempdir().unwrap();
        let first = DirectoryLock::acquire(dir.path()).unwrap();
        let second = DirectoryLock::acquire(dir.path());
        assert!(
            matches!(&second, Err(NatsError::Locked { path, .. }) if path == dir.path()),
            "got {second:?}"
        );
        drop(first);
        assert!(DirectoryLock::acquire(dir.path()).is_ok());
    }
}
