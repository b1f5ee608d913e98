//! `DirectoryLock`: the lock file's place, a missing directory created, and the I/O errors
//! named with their file and operation.

use whyline_nats::{DirectoryLock, LOCK_FILE, NatsError};

#[test]
fn the_lock_creates_a_missing_directory_and_holds_its_lock_file() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("a").join("ledger");
    let lock = DirectoryLock::acquire(&dir).unwrap();
    assert_eq!(lock.path(), dir.join(LOCK_FILE));
    assert!(dir.join("sequencer.lock").is_file());
    assert!(matches!(
        DirectoryLock::acquire(&dir),
        Err(NatsError::Locked { .. })
    ));
    let error = DirectoryLock::acquire(&dir).unwrap_err();
    assert_eq!(
        error.to_string(),
        format!(
            "{}: another sequencer holds this ledger directory (lock file {}); one sequencer per log",
            dir.display(),
            dir.join(LOCK_FILE).display()
        )
    );
}

#[test]
fn a_directory_that_cannot_be_created_is_an_io_error_naming_it() {
    let root = tempfile::tempdir().unwrap();
    let file = root.path().join("a-file");
    std::fs::write(&file, b"not a directory").unwrap();
    let error = DirectoryLock::acquire(&file.join("ledger")).unwrap_err();
    let NatsError::Io {
        path, operation, ..
    } = &error
    else {
        panic!("expected an I/O error, found {error:?}");
    };
    assert_eq!(
        (path, *operation),
        (&file.join("ledger"), "create directory")
    );
    assert!(
        error.to_string().starts_with(&format!(
            "{}: create directory: ",
            file.join("ledger").display()
        )),
        "{error}"
    );
}

#[test]
fn a_lock_file_that_cannot_be_opened_is_an_io_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    // A directory where the lock file should be: opening it for writing fails.
    std::fs::create_dir(dir.path().join(LOCK_FILE)).unwrap();
    let error = DirectoryLock::acquire(dir.path()).unwrap_err();
    let NatsError::Io {
        path,
        operation,
        source,
    } = &error
    else {
        panic!("expected an I/O error, found {error:?}");
    };
    assert_eq!(
        (path, *operation),
        (&dir.path().join(LOCK_FILE), "open lock file")
    );
    assert_eq!(source.kind(), std::io::ErrorKind::IsADirectory);
}
