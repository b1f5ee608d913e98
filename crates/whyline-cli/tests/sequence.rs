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

// The private nats-server of whyline-nats's own tests (this test does not restart it).
#[path = "../../whyline-nats/tests/support.rs"]
#[allow(dead_code)]
mod nats_support;

#[test]
fn a_sequencer_orders_producers_into_a_postgres_log_exactly_once() {
    let nats = nats_support::NatsServer::start();
    let cluster = whyline_store_postgres::testing::Cluster::start().unwrap();
    let database = cluster.create_database().unwrap();
    let log = cluster.url(&database, "sequenced");
    let mut sequencer = StdCommand::new(env!("CARGO_BIN_EXE_whyline"));
    sequencer
        .args([
            "sequence",
            "--nats",
            &nats.url(),
            "--stream",
            "PG",
            "--store",
            &log,
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let mut sequencer = Child(sequencer.spawn().unwrap());
    for producer in ["car-1", "car-2"] {
        whyline()
            .args(["produce", "--nats", &nats.url(), "--stream", "PG"])
            .args(["--producer", producer, "--count", "3000"])
            .timeout(Duration::from_secs(120))
            .assert()
            .success();
    }
    // Every decision of both producers, once each, in each producer's order.
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let audit = whyline()
            .args([
                "audit-sequenced",
                &log,
                "--expect",
                "3000",
                "--producers",
                "2",
            ])
            .timeout(Duration::from_secs(60))
            .output()
            .unwrap();
        if audit.status.success() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "not sequenced in time: {}",
            String::from_utf8_lossy(&audit.stdout)
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    // A second sequencer on the same log is refused by the store's writer lock.
    let second = whyline()
        .args([
            "sequence",
            "--nats",
            &nats.url(),
            "--stream",
            "PG",
            "--store",
            &log,
        ])
        .timeout(Duration::from_secs(30))
        .output()
        .unwrap();
    assert_eq!(second.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert!(stderr.contains("writer"), "stderr: {stderr}");
    // SIGTERM: the sequencer signs off and exits cleanly; the log verifies.
    let status = StdCommand::new("kill")
        .args(["-TERM", &sequencer.0.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    assert!(sequencer.0.wait().unwrap().success());
    whyline().args(["verify", &log]).assert().success();
}

fn whyline() -> Command {
    Command::cargo_bin("whyline").unwrap()
}
