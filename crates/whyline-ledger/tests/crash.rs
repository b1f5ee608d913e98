//! SIGKILL crash test: a child process appends with `sync` durability and prints each
//! receipt; the parent kills it at random moments, reopens, and checks that every printed
//! receipt is in the log and the log verifies. The child is this test binary itself, run
//! with the ignored test `crash::child_appender` and `WHYLINE_CRASH_DIR` set.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use whyline_ledger::{Durability, Ledger, SegmentStore, leaf_hash};

use crate::common::{options, payload, signer};

const TRIALS: u64 = 10;

#[test]
#[ignore = "child process of sigkill_at_random_moments_loses_no_acknowledged_entry"]
fn child_appender() {
    use std::io::Write;
    let Some(dir) = std::env::var_os("WHYLINE_CRASH_DIR") else {
        return;
    };
    // Small segments, so kills also land while a segment rolls over.
    let segments = whyline_ledger::SegmentOptions {
        segment_bytes: 4096,
    };
    let store = SegmentStore::open_with_options(dir, segments).unwrap();
    let (mut ledger, _) = Ledger::open(
        store,
        options().durability(Durability::Sync).checkpoint_every(100),
    )
    .unwrap();
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    loop {
        let receipt = ledger.append(&payload(ledger.size())).unwrap();
        writeln!(
            out,
            "receipt {} {}",
            receipt.index,
            hex::encode(receipt.leaf_hash)
        )
        .unwrap();
        out.flush().unwrap();
    }
}

#[test]
fn sigkill_at_random_moments_loses_no_acknowledged_entry() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("log");
    let exe = std::env::current_exe().unwrap();
    let mut seed = 0x2545_f491_4f6c_dd1d_u64 ^ u64::from(std::process::id());
    let mut receipts: Vec<(u64, String)> = Vec::new();
    for trial in 0..TRIALS {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let run_for = Duration::from_micros(seed % 40_000);
        let mut child = Command::new(&exe)
            .args([
                "crash::child_appender",
                "--exact",
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env("WHYLINE_CRASH_DIR", &dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (sender, lines) = std::sync::mpsc::channel();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(rest) = line.strip_prefix("receipt ") {
                    let (seq, leaf) = rest.split_once(' ').unwrap();
                    let _ = sender.send((seq.parse::<u64>().unwrap(), leaf.to_owned()));
                }
            }
        });
        // Kill at a random moment once the child is appending (not while it starts up).
        let first = lines.recv_timeout(Duration::from_secs(20)).unwrap();
        receipts.push(first);
        let start = Instant::now();
        while start.elapsed() < run_for {
            std::thread::sleep(Duration::from_micros(500));
        }
        child.kill().unwrap(); // SIGKILL on Unix
        child.wait().unwrap();
        reader.join().unwrap();
        let printed: Vec<(u64, String)> = lines.try_iter().collect();
        receipts.extend(printed);
        // Reopen (recovering any torn tail), verify, and check every receipt so far.
        let store = SegmentStore::open(&dir).unwrap();
        let (ledger, _report) = Ledger::open(store, options()).unwrap();
        crate::common::intact(ledger.store(), Some(&signer().verifier()));
        let tree = ledger.merkle_tree().unwrap();
        for (seq, leaf) in &receipts {
            let stored = tree
                .leaf(*seq)
                .unwrap_or_else(|e| panic!("trial {trial}: acknowledged entry {seq} lost: {e}"));
            assert_eq!(&hex::encode(stored), leaf, "trial {trial}, entry {seq}");
            assert_eq!(
                stored,
                leaf_hash(&payload(*seq)),
                "trial {trial}, entry {seq}"
            );
        }
    }
    assert!(
        !receipts.is_empty(),
        "the child never acknowledged an entry"
    );
}

#[test]
#[ignore = "child process of sigkill_during_two_buffer_commits_loses_no_entry_acknowledged_durable"]
fn child_collector_appender() {
    use std::io::Write;
    let Some(dir) = std::env::var_os("WHYLINE_CRASH_DIR") else {
        return;
    };
    let segments = whyline_ledger::SegmentOptions {
        segment_bytes: 8192,
    };
    let store = SegmentStore::open_with_options(dir, segments).unwrap();
    let durability = Durability::Interval {
        entries: 16,
        max_delay: Duration::from_millis(2),
    };
    let (collector, _) = whyline_ledger::LedgerCollector::open(
        store,
        options().durability(durability).checkpoint_every(0),
    )
    .unwrap();
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let mut next = collector.with_ledger(|l| l.size()).unwrap();
    let mut reported = collector.durable_size();
    // A few thousand entries per run keep the parent's checks short; then wait for the kill.
    let stop = next + 3_000;
    loop {
        if next == stop {
            std::thread::sleep(Duration::from_millis(5));
            let durable = collector.durable_size();
            if durable > reported {
                writeln!(out, "durable {durable}").unwrap();
                out.flush().unwrap();
                reported = durable;
            }
            continue;
        }
        let receipt = collector.append(&crate::common::trace(next)).unwrap();
        assert_eq!(receipt.index, next);
        next += 1;
        // The commit thread makes batches durable while this thread appends the next.
        let durable = collector.durable_size();
        if durable > reported {
            writeln!(out, "durable {durable}").unwrap();
            out.flush().unwrap();
            reported = durable;
        }
    }
}

#[test]
fn sigkill_during_two_buffer_commits_loses_no_entry_acknowledged_durable() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("log");
    let exe = std::env::current_exe().unwrap();
    let mut seed = 0x9e37_79b9_7f4a_7c15_u64 ^ u64::from(std::process::id());
    let mut acknowledged = 0u64;
    for trial in 0..TRIALS {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let run_for = Duration::from_micros(seed % 40_000);
        let mut child = Command::new(&exe)
            .args([
                "crash::child_collector_appender",
                "--exact",
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env("WHYLINE_CRASH_DIR", &dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (sender, lines) = std::sync::mpsc::channel();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(count) = line.strip_prefix("durable ") {
                    let _ = sender.send(count.parse::<u64>().unwrap());
                }
            }
        });
        let first = lines.recv_timeout(Duration::from_secs(20)).unwrap();
        acknowledged = acknowledged.max(first);
        let start = Instant::now();
        while start.elapsed() < run_for {
            std::thread::sleep(Duration::from_micros(500));
        }
        child.kill().unwrap();
        child.wait().unwrap();
        reader.join().unwrap();
        acknowledged = lines.try_iter().fold(acknowledged, u64::max);
        let (ledger, _report) = Ledger::open(SegmentStore::open(&dir).unwrap(), options()).unwrap();
        crate::common::intact(ledger.store(), Some(&signer().verifier()));
        assert!(
            ledger.size() >= acknowledged,
            "trial {trial}: {acknowledged} acknowledged durable, {} recovered",
            ledger.size()
        );
        let tree = ledger.merkle_tree().unwrap();
        for index in 0..ledger.size() {
            assert_eq!(
                tree.leaf(index).unwrap(),
                leaf_hash(&payload(index)),
                "trial {trial}, entry {index}"
            );
        }
    }
    assert!(acknowledged > 0, "the child never made an entry durable");
}
