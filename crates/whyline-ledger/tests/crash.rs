//! SIGKILL crash tests: a child process appends and prints what it acknowledged (a receipt,
//! or how many entries are durable); the parent kills it at a random moment, verifies the
//! log read-only (crash residue allowed, damage not), reopens it (recovery cuts the residue),
//! and checks that everything acknowledged is there. The child is this test binary itself,
//! run with an ignored `crash::child_*` test and `WHYLINE_CRASH_DIR` set.
//!
//! The harness (`harness.rs`) runs the trials; this file holds the children and what each
//! campaign checks. CI runs [`harness::DEFAULT_TRIALS`] trials of each; the kill -9 campaign
//! (`scripts/campaigns/kill9.sh`, results in docs/reliability.md) runs them with
//! `WHYLINE_KILL9_TRIALS=1000`.

mod harness;

use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use whyline_core::from_aprt;
use whyline_ledger::{Durability, Ledger, LedgerCollector, LedgerReader, SegmentStore, leaf_hash};

use crate::common::{options, payload};
use harness::{Campaign, acknowledgements, run_trials};

/// Threads of the multi-threaded child.
const THREADS: u64 = 4;

#[test]
#[ignore = "child process of sigkill_at_random_moments_loses_no_acknowledged_entry"]
fn child_appender() {
    let Some(dir) = std::env::var_os("WHYLINE_CRASH_DIR") else {
        return;
    };
    crate::common::exit_with_parent();
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
    let mut out = acknowledgements();
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

/// The `sync` campaign: every receipt the child printed (index and leaf hash) is in the log.
#[derive(Default)]
struct Receipts {
    /// The receipts printed on the current log.
    printed: std::sync::Mutex<Vec<(u64, String)>>,
}

impl Campaign for Receipts {
    fn on_line(&self, line: &str) -> bool {
        let Some(rest) = line.strip_prefix("receipt ") else {
            return false;
        };
        let (index, leaf) = rest.split_once(' ').unwrap();
        self.printed
            .lock()
            .unwrap()
            .push((index.parse::<u64>().unwrap(), leaf.to_owned()));
        true
    }

    fn check(&self, trial: u64, ledger: &Ledger<SegmentStore>) {
        let tree = ledger.merkle_tree().unwrap();
        for (index, leaf) in self.printed.lock().unwrap().iter() {
            let stored = tree
                .leaf(*index)
                .unwrap_or_else(|e| panic!("trial {trial}: acknowledged entry {index} lost: {e}"));
            assert_eq!(&hex::encode(stored), leaf, "trial {trial}, entry {index}");
            assert_eq!(
                stored,
                leaf_hash(&payload(*index)),
                "trial {trial}, entry {index}"
            );
        }
    }

    fn end_log(&self) -> u64 {
        let mut printed = self.printed.lock().unwrap();
        let count = printed.len() as u64;
        printed.clear();
        count
    }
}

#[test]
fn sigkill_at_random_moments_loses_no_acknowledged_entry() {
    let name = "sync, one thread";
    let tally = run_trials(
        name,
        "crash::child_appender",
        0x2545_f491_4f6c_dd1d,
        Arc::new(Receipts::default()),
    );
    tally.print(name);
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
    crate::common::exit_with_parent();
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
    let mut out = acknowledgements();
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

/// The `interval` campaign: the log recovered holds at least every entry acknowledged
/// durable, and each of the `threads` threads' entries form a gapless run (nothing lost in
/// the middle, nothing reordered within a thread).
struct DurableRuns {
    threads: u64,
    /// The largest durable size the child printed on the current log.
    acknowledged: std::sync::atomic::AtomicU64,
}

impl Campaign for DurableRuns {
    fn on_line(&self, line: &str) -> bool {
        let Some(count) = line.strip_prefix("durable ") else {
            return false;
        };
        self.acknowledged.fetch_max(
            count.parse::<u64>().unwrap(),
            std::sync::atomic::Ordering::Relaxed,
        );
        true
    }

    fn check(&self, trial: u64, ledger: &Ledger<SegmentStore>) {
        let acknowledged = self.acknowledged.load(std::sync::atomic::Ordering::Relaxed);
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
        let mut next = vec![0u64; self.threads as usize];
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
    }

    fn end_log(&self) -> u64 {
        self.acknowledged
            .swap(0, std::sync::atomic::Ordering::Relaxed)
    }
}

/// Kills the interval child (`threads` appenders) at random moments: see [`DurableRuns`].
fn sigkill_interval(name: &str, child: &str, threads: u64, seed: u64) {
    let campaign = DurableRuns {
        threads,
        acknowledged: std::sync::atomic::AtomicU64::new(0),
    };
    let tally = run_trials(name, child, seed, Arc::new(campaign));
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
