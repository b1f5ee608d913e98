//! Crash safety of batch ingest: a write that fails mid-batch, and SIGKILL at random moments
//! while a child process ingests batches under `interval` durability. Receipts are handed out
//! only once the whole batch is durable; what a crash leaves of an unacknowledged batch is a
//! prefix of whole entries and a torn tail that recovery cuts.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use whyline_core::to_aprt;
use whyline_ledger::{
    Durability, IngestFormat, Ledger, LedgerCollector, LedgerError, SegmentStore, leaf_hash,
};

use crate::common::{options, signer, trace};
use crate::faults::{Fault, faulty_store};

/// The payload of entry `i`: the common trace with `i % 5` more contributions, so entries
/// differ in size and a write cut in half ends inside one.
fn payload(i: u64) -> Vec<u8> {
    let mut trace = trace(i);
    trace
        .path
        .contributions
        .extend((0..i % 5).map(|k| k as f32));
    to_aprt(&trace)
}

/// The APRT body of the entries numbered `from..from + n` (so entry `i` of the log is always
/// `payload(i)` when batches follow one another).
fn body(from: u64, n: u64) -> Vec<u8> {
    (from..from + n).flat_map(payload).collect()
}

fn interval() -> Durability {
    Durability::Interval {
        entries: 64,
        max_delay: Duration::from_millis(2),
    }
}

#[test]
fn a_write_failing_mid_batch_gives_no_receipt_and_leaves_a_torn_tail_that_recovery_cuts() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("log");
    let armed = Arc::new(Mutex::new(None));
    let store = faulty_store(&dir, armed.clone());
    let (collector, _) =
        LedgerCollector::open(store, options().durability(interval()).checkpoint_every(0)).unwrap();
    let first = collector.ingest(&body(0, 10), IngestFormat::Aprt).unwrap();
    assert_eq!(first.len(), 10);
    // 2,000 entries pass the store's 64 KiB write buffer mid-batch: that write keeps half.
    *armed.lock().unwrap() = Some(Fault::WriteKeepsHalf);
    let error = collector
        .ingest(&body(10, 2_000), IngestFormat::Aprt)
        .unwrap_err();
    assert!(
        matches!(
            error,
            LedgerError::Io {
                operation: "write",
                ..
            }
        ),
        "{error:?}"
    );
    *armed.lock().unwrap() = None;
    // The writer stopped: the next batch is refused, not half-trusted.
    assert!(matches!(
        collector.ingest(&body(10, 1), IngestFormat::Aprt),
        Err(LedgerError::WriterFailed { .. })
    ));
    drop(collector);
    let (ledger, report) = Ledger::open(SegmentStore::open(&dir).unwrap(), options()).unwrap();
    assert_eq!(report.torn_entries, 1, "{report:?}");
    assert!(report.torn_bytes > 0);
    crate::common::intact(ledger.store(), Some(&signer().verifier()));
    // What survived is the acknowledged batch and a prefix of whole entries of the failed one.
    assert!(
        (10..10 + 2_000).contains(&ledger.size()),
        "{}",
        ledger.size()
    );
    let tree = ledger.merkle_tree().unwrap();
    for index in 0..ledger.size() {
        assert_eq!(tree.leaf(index).unwrap(), leaf_hash(&payload(index)));
    }
}

#[test]
#[ignore = "child process of sigkill_while_ingesting_batches_loses_no_receipted_entry"]
fn child_batch_ingester() {
    use std::io::Write;
    let Some(dir) = std::env::var_os("WHYLINE_CRASH_DIR") else {
        return;
    };
    crate::common::exit_with_parent();
    let segments = whyline_ledger::SegmentOptions {
        segment_bytes: 16 << 10,
    };
    let store = SegmentStore::open_with_options(dir, segments).unwrap();
    let (collector, _) = LedgerCollector::open(
        store,
        options().durability(interval()).checkpoint_every(500),
    )
    .unwrap();
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    // End the test harness's `test NAME ... ` line, so that the first receipt starts a line
    // of its own and the parent sees (and checks) it.
    writeln!(out).unwrap();
    let mut next = collector.with_ledger(|l| l.size()).unwrap();
    let mut line = Vec::new();
    for _ in 0..100 {
        let receipts = collector
            .ingest(&body(next, 100), IngestFormat::Aprt)
            .unwrap();
        next += receipts.len() as u64;
        for receipt in receipts {
            line.clear();
            line.extend_from_slice(b"receipt ");
            receipt.write_json(&mut line);
            line.push(b'\n');
            out.write_all(&line).unwrap();
        }
        out.flush().unwrap();
    }
    // Then wait for the kill.
    loop {
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn sigkill_while_ingesting_batches_loses_no_receipted_entry() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("log");
    let exe = std::env::current_exe().unwrap();
    let mut seed = 0x6a09_e667_f3bc_c908_u64 ^ u64::from(std::process::id());
    let mut receipts: Vec<(u64, String)> = Vec::new();
    for trial in 0..8 {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let run_for = Duration::from_micros(seed % 30_000);
        let mut child = Command::new(&exe)
            .args([
                "ingest_crash::child_batch_ingester",
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
                if let Some(json) = line.strip_prefix("receipt ") {
                    let value: serde_json::Value = serde_json::from_str(json).unwrap();
                    let index = value["index"].as_u64().unwrap();
                    let leaf = value["leaf"].as_str().unwrap().to_owned();
                    let _ = sender.send((index, leaf));
                }
            }
        });
        let first = lines.recv_timeout(Duration::from_secs(20)).unwrap();
        receipts.push(first);
        let start = Instant::now();
        while start.elapsed() < run_for {
            std::thread::sleep(Duration::from_micros(500));
        }
        child.kill().unwrap();
        child.wait().unwrap();
        reader.join().unwrap();
        receipts.extend(lines.try_iter());
        let (ledger, _) = Ledger::open(SegmentStore::open(&dir).unwrap(), options()).unwrap();
        crate::common::intact(ledger.store(), Some(&signer().verifier()));
        let tree = ledger.merkle_tree().unwrap();
        for (index, leaf) in &receipts {
            let stored = tree
                .leaf(*index)
                .unwrap_or_else(|e| panic!("trial {trial}: receipted entry {index} lost: {e}"));
            assert_eq!(&hex::encode(stored), leaf, "trial {trial}, entry {index}");
        }
        for index in 0..ledger.size() {
            assert_eq!(
                tree.leaf(index).unwrap(),
                leaf_hash(&payload(index)),
                "trial {trial}"
            );
        }
    }
    assert!(receipts.len() >= 100, "the child never finished a batch");
}
