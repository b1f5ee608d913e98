//! What the report says of a window's completeness, read from a signed ledger: the proven
//! range with the entries just outside it, whether the signature was checked, a range
//! widened by the log's time disorder, and entries past the last checkpoint.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;

use whyline_core::{AnyPath, DecisionTrace, LinearPath, to_aprt};
use whyline_forensics::{Completeness, IncidentQuery, read_window};
use whyline_ledger::{Durability, Ledger, LedgerOptions, NoteSigner, SegmentStore};

const T0: u64 = 1_763_908_367_000_000_000;
const STEP: u64 = 100_000_000;

fn decision(sequence: u64, timestamp_ns: u64) -> DecisionTrace<AnyPath> {
    DecisionTrace {
        timestamp_ns,
        sequence,
        input_hash: 0,
        output: 1.0,
        latency_ns: 1_000,
        path: AnyPath::Linear(LinearPath {
            contributions: vec![0.1],
            intercept: 0.0,
            logit: 0.1,
            prediction: 1.0,
            probability: Some(0.9),
        }),
    }
}

/// Ten decisions `STEP` apart and a signed checkpoint over them; then `after` more,
/// uncovered.
fn signed_log(dir: &Path, times: &[u64], after: u64) -> NoteSigner {
    let signer = NoteSigner::generate_ed25519("test.completeness").unwrap();
    let options = LedgerOptions::signed("test.completeness", signer.clone())
        .durability(Durability::None)
        .checkpoint_every(0);
    let mut ledger = Ledger::open(SegmentStore::open(dir).unwrap(), options)
        .unwrap()
        .0;
    for (sequence, &t) in times.iter().enumerate() {
        ledger
            .append(&to_aprt(&decision(sequence as u64, t)))
            .unwrap();
    }
    ledger.checkpoint().unwrap();
    for k in 0..after {
        let sequence = times.len() as u64 + k;
        ledger
            .append(&to_aprt(&decision(sequence, T0 + sequence * STEP)))
            .unwrap();
    }
    ledger.commit().unwrap();
    signer
}

fn in_order() -> Vec<u64> {
    (0..10).map(|i| T0 + i * STEP).collect()
}

/// The window of decisions 3..=6.
fn middle() -> IncidentQuery {
    IncidentQuery {
        time_ns: T0 + 6 * STEP,
        lookback_ns: 3 * STEP,
        lookahead_ns: 0,
    }
}

#[test]
fn a_window_inside_the_checkpoint_is_proven_between_its_neighbours() {
    let dir = tempfile::tempdir().unwrap();
    let signer = signed_log(dir.path(), &in_order(), 0);
    let window = read_window(dir.path(), middle(), None, None).unwrap();
    let Completeness::Complete {
        first_index,
        end_index,
        before,
        after,
        checkpoint_size,
        signature_checked,
        time_disorder_ns,
        ..
    } = &window.completeness
    else {
        panic!("{:?}", window.completeness);
    };
    assert_eq!((*first_index, *end_index), (3, 7));
    assert_eq!(before.as_ref().map(|b| b.index), Some(2));
    assert_eq!(after.as_ref().map(|b| b.index), Some(7));
    assert_eq!(*checkpoint_size, 10);
    assert!(!signature_checked);
    assert_eq!(*time_disorder_ns, 0);
    assert_eq!(
        window.completeness.summary(),
        "COMPLETE: entries 3..7 are every entry stamped in the window: from entry 2 (before the window, \
         2025-11-23T14:32:47.200000000Z, proven included) to entry 7 (after the window, \
         2025-11-23T14:32:47.700000000Z, proven included), under the checkpoint of test.completeness at \
         size 10 (signature not checked (no public key); times in order)"
    );
    let verifier = signer.verifier();
    let checked = read_window(dir.path(), middle(), Some(&verifier), None).unwrap();
    assert!(
        checked
            .completeness
            .summary()
            .ends_with("(signature verified; times in order)"),
        "{}",
        checked.completeness.summary()
    );
}

#[test]
fn a_window_reaching_past_the_checkpoint_is_bounded_by_its_end() {
    let dir = tempfile::tempdir().unwrap();
    signed_log(dir.path(), &in_order(), 2);
    let query = IncidentQuery {
        time_ns: T0 + 11 * STEP,
        lookback_ns: 3 * STEP,
        lookahead_ns: 0,
    };
    let window = read_window(dir.path(), query, None, None).unwrap();
    assert_eq!(window.traces.len(), 4, "decisions 8..=11");
    let summary = window.completeness.summary();
    assert!(
        summary.contains("to the end of the checkpoint (later entries are not covered)"),
        "{summary}"
    );
    // From the log's start when the window begins before the first entry.
    let first = IncidentQuery {
        time_ns: T0 + STEP,
        lookback_ns: 5 * STEP,
        lookahead_ns: 0,
    };
    let summary = read_window(dir.path(), first, None, None)
        .unwrap()
        .completeness
        .summary();
    assert!(
        summary.contains("from the log's start to entry 2"),
        "{summary}"
    );
}

#[test]
fn a_log_out_of_time_order_widens_the_proven_range_and_says_by_how_much() {
    let dir = tempfile::tempdir().unwrap();
    let mut times = in_order();
    // Decision 5 is stamped 150 ms before decision 4.
    times[5] = times[4] - 150_000_000;
    signed_log(dir.path(), &times, 0);
    let window = read_window(dir.path(), middle(), None, None).unwrap();
    let Completeness::Complete {
        time_disorder_ns, ..
    } = &window.completeness
    else {
        panic!("{:?}", window.completeness);
    };
    assert!(*time_disorder_ns >= 150_000_000, "{time_disorder_ns}");
    assert!(
        window.completeness.summary().ends_with(&format!(
            "range widened by the log's time disorder of {time_disorder_ns} ns)"
        )),
        "{}",
        window.completeness.summary()
    );
}
