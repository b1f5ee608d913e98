//! SIGKILL crash tests: a child process appends and prints what it acknowledged (a receipt,
//! or how many entries are durable); the parent kills it at a random moment, verifies the
//! log read-only (crash residue allowed, damage not), reopens it (recovery cuts the residue),
//! and checks that everything acknowledged is there. The child is this test binary itself,
//! run with an ignored `crash::child_*` test and `WHYLINE_CRASH_DIR` set.
//!
//! CI runs [`DEFAULT_TRIALS`] trials of each; the kill -9 campaign
//! (`scripts/campaigns/kill9.sh`, results in docs/reliability.md) runs them with
//! `WHYLINE_KILL9_TRIALS=1000`.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use whyline_core::from_aprt;
use whyline_ledger::{
    Durability, Ledger, LedgerCollector, LedgerReader, SegmentStore, VerifyOutcome, leaf_hash,
    verify_store,
};

use crate::common::{options, payload, signer};

/// Trials per test when `WHYLINE_KILL9_TRIALS` is not set.
const DEFAULT_TRIALS: u64 = 10;

/// Threads of the multi-threaded child.
const THREADS: u64 = 4;

fn trials() -> u64 {
    std::env::var("WHYLINE_KILL9_TRIALS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(DEFAULT_TRIALS)
}

/// What a campaign found, printed for the campaign script to collect.
#[derive(Default)]
struct Tally {
    trials: u64,
    acknowledged: u64,
    trials_with_residue: u64,
    residue_bytes: u64,
}

impl Tally {
    fn print(&self, name: &str) {
        // The campaign script greps these lines (tests run with --nocapture). Nothing
        // acknowledged was lost, or the test would have failed at the first loss.
        let line = format!(
            "kill9 {name}: trials {} acknowledged {} lost 0 trials_with_residue {} residue_bytes {}",
            self.trials, self.acknowledged, self.trials_with_residue, self.residue_bytes
        );
        let _ = writeln!(std::io::stderr(), "{line}");
    }
}

/// Runs `trials()` kill trials of the child test `child`: each starts it, passes every
/// line it prints to `on_line` (which says whether the line acknowledged something: the
/// test harness prints its own lines too), kills it at a seeded random moment once it
/// acknowledged something, verifies the log read-only (recording any crash residue in the tally), then
/// reopens it and calls `check`.
fn run_trials(
    name: &str,
    child: &str,
    seed: u64,
    tally: &mut Tally,
    on_line: impl FnMut(&str) -> bool + Send + 'static + Clone,
    mut check: impl FnMut(u64, &Ledger<SegmentStore>),
) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("log");
    let exe = std::env::current_exe().unwrap();
    let mut seed = seed ^ u64::from(std::process::id());
    for trial in 0..trials() {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let run_for = Duration::from_micros(seed % 40_000);
        let mut process = Command::new(&exe)
            .args([
                child,
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
        let stdout = process.stdout.take().unwrap();
        let (started, started_rx) = std::sync::mpsc::channel();
        let mut forward = on_line.clone();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if forward(&line) {
                    let _ = started.send(());
                }
            }
        });
        // Kill at a random moment once the child acknowledged something.
        started_rx
            .recv_timeout(Duration::from_secs(20))
            .unwrap_or_else(|_| panic!("{name} trial {trial}: the child never acknowledged"));
        let start = Instant::now();
        while start.elapsed() < run_for {
            std::thread::sleep(Duration::from_micros(500));
        }
        process.kill().unwrap(); // SIGKILL on Unix
        process.wait().unwrap();
        reader.join().unwrap();
        // Read-only first: a crash leaves at most residue past the last whole entry.
        let store = SegmentStore::open_existing(&dir).unwrap();
        match verify_store(&store, Some(&signer().verifier())).unwrap() {
            VerifyOutcome::Intact(report) => {
                if !report.crash_residue.is_empty() {
                    tally.trials_with_residue += 1;
                    tally.residue_bytes +=
                        report.crash_residue.iter().map(|r| r.bytes).sum::<u64>();
                }
            }
            VerifyOutcome::Broken(damage) => {
                panic!("{name} trial {trial}: a kill left damage, not residue: {damage}")
            }
        }
        drop(store);
        let (ledger, _report) = Ledger::open(SegmentStore::open(&dir).unwrap(), options()).unwrap();
        let report = crate::common::intact(ledger.store(), Some(&signer().verifier()));
        assert!(report.crash_residue.is_empty(), "recovery cut the residue");
        check(trial, &ledger);
        tally.trials += 1;
    }
}

#[test]
#[ignore = "child process of sigkill_at_random_moments_loses_no_acknowledged_entry"]
fn child_appender() {
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
    let receipts = Arc::new(std::sync::Mutex::new(Vec::<(u64, String)>::new()));
    let collect = {
        let receipts = Arc::clone(&receipts);
        move |line: &str| {
            if let Some(rest) = line.strip_prefix("receipt ") {
                let (index, leaf) = rest.split_once(' ').unwrap();
                receipts
                    .lock()
                    .unwrap()
                    .push((index.parse::<u64>().unwrap(), leaf.to_owned()));
                return true;
            }
            false
        }
    };
    let mut tally = Tally::default();
    let checked = Arc::clone(&receipts);
    run_trials(
        "sync, one thread",
        "crash::child_appender",
        0x2545_f491_4f6c_dd1d,
        &mut tally,
        collect,
        |trial, ledger| {
            let tree = ledger.merkle_tree().unwrap();
            for (index, leaf) in checked.lock().unwrap().iter() {
                let stored = tree.leaf(*index).unwrap_or_else(|e| {
                    panic!("trial {trial}: acknowledged entry {index} lost: {e}")
                });
                assert_eq!(&hex::encode(stored), leaf, "trial {trial}, entry {index}");
                assert_eq!(
                    stored,
                    leaf_hash(&payload(*index)),
                    "trial {trial}, entry {index}"
                );
            }
        },
    );
    tally.acknowledged = receipts.lock().unwrap().len() as u64;
    tally.print("sync, one thread");
    assert!(
        tally.acknowledged > 0,
        "the child never acknowledged an entry"
    );
}

/// The interval child: appends from `threads` threads through one collector (two-buffer
/// group commits), each thread's entries numbered by a per-thread counter in the trace's
/// sequence (`thread << 40 | counter`), and prints `durable N` whenever more is durable.
fn collector_child(threads: u64) {
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
    let (collector, _) =
        LedgerCollector::open(store, options().durability(durability).checkpoint_every(0)).unwrap();
    let collector = Arc::new(collector);
    // Each thread continues its own numbering from what the log holds.
    let held = LedgerReader::new(
        &SegmentStore::open_existing(std::env::var_os("WHYLINE_CRASH_DIR").unwrap()).unwrap(),
    )
    .unwrap()
    .all_entries()
    .unwrap()
    .entries;
    let mut next = vec![0u64; threads as usize];
    for entry in &held {
        let trace = from_aprt::<whyline_core::LinearPath>(&entry.payload).unwrap();
        let thread = (trace.sequence >> 40) as usize;
        if let Some(slot) = next.get_mut(thread) {
            *slot = (*slot).max((trace.sequence & ((1 << 40) - 1)) + 1);
        }
    }
    let workers: Vec<_> = (0..threads)
        .map(|thread| {
            let collector = Arc::clone(&collector);
            let mut counter = next[thread as usize];
            std::thread::spawn(move || {
                // A few thousand entries per run keep the parent's checks short.
                for _ in 0..1_000 {
                    let mut trace = crate::common::trace(counter);
                    trace.sequence = thread << 40 | counter;
                    collector.append(&trace).unwrap();
                    counter += 1;
                }
            })
        })
        .collect();
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let mut reported = 0;
    loop {
        std::thread::sleep(Duration::from_micros(200));
        let durable = collector.durable_size();
        if durable > reported {
            writeln!(out, "durable {durable}").unwrap();
            out.flush().unwrap();
            reported = durable;
        }
        // Once the workers are done the commit thread still commits on `max_delay`.
        let _ = workers.iter().all(std::thread::JoinHandle::is_finished);
    }
}

#[test]
#[ignore = "child process of sigkill_during_two_buffer_commits_loses_no_entry_acknowledged_durable"]
fn child_collector_appender() {
    collector_child(1);
}

#[test]
#[ignore = "child process of sigkill_while_threads_append_loses_no_entry_acknowledged_durable"]
fn child_threads_appender() {
    collector_child(THREADS);
}

/// Kills the interval child (`threads` appenders) at random moments: the log recovered
/// holds at least every entry acknowledged durable, and each thread's entries form a gapless
/// run (nothing lost in the middle, nothing reordered within a thread).
fn sigkill_interval(name: &str, child: &str, threads: u64, seed: u64) {
    let acknowledged = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let collect = {
        let acknowledged = Arc::clone(&acknowledged);
        move |line: &str| {
            if let Some(count) = line.strip_prefix("durable ") {
                acknowledged.fetch_max(
                    count.parse::<u64>().unwrap(),
                    std::sync::atomic::Ordering::Relaxed,
                );
                return true;
            }
            false
        }
    };
    let mut tally = Tally::default();
    let seen = Arc::clone(&acknowledged);
    run_trials(name, child, seed, &mut tally, collect, |trial, ledger| {
        let acknowledged = seen.load(std::sync::atomic::Ordering::Relaxed);
        assert!(
            ledger.size() >= acknowledged,
            "trial {trial}: {acknowledged} acknowledged durable, {} recovered",
            ledger.size()
        );
        let entries = LedgerReader::new(ledger.store())
            .unwrap()
            .all_entries()
            .unwrap()
            .entries;
        let mut next = vec![0u64; threads as usize];
        for entry in &entries {
            let trace = from_aprt::<whyline_core::LinearPath>(&entry.payload).unwrap();
            let thread = (trace.sequence >> 40) as usize;
            let counter = trace.sequence & ((1 << 40) - 1);
            assert_eq!(
                counter, next[thread],
                "trial {trial}: thread {thread}'s entries are not a gapless run at entry {}",
                entry.index
            );
            next[thread] += 1;
        }
    });
    tally.acknowledged = acknowledged.load(std::sync::atomic::Ordering::Relaxed);
    tally.print(name);
    assert!(
        tally.acknowledged > 0,
        "the child never made an entry durable"
    );
}

#[test]
fn sigkill_during_two_buffer_commits_loses_no_entry_acknowledged_durable() {
    sigkill_interval(
        "interval, one thread",
        "crash::child_collector_appender",
        1,
        0x9e37_79b9_7f4a_7c15,
    );
}

#[test]
fn sigkill_while_threads_append_loses_no_entry_acknowledged_durable() {
    sigkill_interval(
        "interval, four threads",
        "crash::child_threads_appender",
        THREADS,
        0xd1b5_4a32_d192_ed03,
    );
}
