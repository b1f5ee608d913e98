//! `whyline sequence`: one sequencer per ledger directory.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::{Command as StdCommand, Stdio};
use std::time::{Duration, Instant};

use assert_cmd::Command;

/// Kills the first sequencer even when an assertion fails.
struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn a_second_sequencer_on_the_same_directory_is_refused_with_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = dir.path().join("ledger");
    // Nothing listens on port 1: the first sequencer holds the lock and keeps trying to
    // connect, which is all this test needs.
    let args = |cmd: &mut StdCommand| {
        cmd.args([
            "sequence",
            "--nats",
            "nats://127.0.0.1:1",
            "--stream",
            "T",
            "--dir",
        ])
        .arg(&ledger);
    };
    let mut first = StdCommand::new(env!("CARGO_BIN_EXE_whyline"));
    args(&mut first);
    let _first = Child(
        first
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let lock = ledger.join("sequencer.lock");
    let deadline = Instant::now() + Duration::from_secs(20);
    while !lock.exists() {
        assert!(
            Instant::now() < deadline,
            "the first sequencer never took its lock"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(200));
    let output = Command::cargo_bin("whyline")
        .unwrap()
        .args([
            "sequence",
            "--nats",
            "nats://127.0.0.1:1",
            "--stream",
            "T",
            "--dir",
        ])
        .arg(&ledger)
        .timeout(Duration::from_secs(20))
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("another sequencer holds this ledger directory"),
        "stderr: {stderr}"
    );
}
