//! Checks every [`TraceCollector`] must pass, written once and run against each collector.
//!
//! A collector's tests call [`check_all`] with a factory of fresh collectors, a factory of
//! sample traces and what the collector promises ([`Expectations`]); each check builds its own
//! collector, so the checks do not depend on one another. A failed check returns a
//! [`ConformanceError`] naming the check and what was expected and found, so the same suite
//! can run in any test harness (and in other crates' tests of their own collectors).
//!
//! What the checks pin, for any collector:
//!
//! - a new collector is empty: `len() == 0`, `is_empty()`, zero counters, and `flush` succeeds;
//! - outcomes and counters agree: `Dropped` outcomes equal `stats().dropped`, `Fallback`
//!   outcomes equal `stats().fallback`, every other outcome is counted in `recorded`, and
//!   `recorded + dropped` equals the traces offered;
//! - after `flush`, `len()` is exact: every recorded trace for a collector that retains all,
//!   `min(recorded, N)` for a ring of `N`; a second `flush` changes nothing;
//! - records from several threads at once are all accounted for;
//! - a lossless collector (a ring, a stream with `Block` or `Fallback`, a ledger) never drops.

use whyline_core::{CollectorStats, DecisionPath, DecisionTrace, RecordOutcome, TraceCollector};

/// A conformance check that failed.
#[derive(Debug, thiserror::Error)]
#[error("conformance check `{check}` failed: expected {expected}, found {found}")]
pub struct ConformanceError {
    /// The check's name.
    pub check: &'static str,
    /// What the contract requires.
    pub expected: String,
    /// What the collector did.
    pub found: String,
}

/// How many traces a collector holds once flushed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Retention {
    /// Every trace recorded (a stream, a ledger).
    All,
    /// The most recent `n` (a ring of `n` slots).
    Last(u64),
}

/// What a collector promises, so the checks know what to demand.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Expectations {
    /// How many traces it holds after `flush`.
    pub retention: Retention,
    /// Whether it never drops a trace (no [`RecordOutcome::Dropped`]).
    pub lossless: bool,
}

impl Expectations {
    /// A collector that holds every trace and never drops one.
    pub const LOSSLESS: Expectations = Expectations {
        retention: Retention::All,
        lossless: true,
    };
}

/// Traces offered by the sequential checks: few enough that no bounded queue under test
/// needs to be larger.
pub const SEQUENTIAL_TRACES: u64 = 64;
/// Threads used by the concurrent check.
pub const THREADS: u64 = 4;
/// Traces each thread records in the concurrent check.
pub const TRACES_PER_THREAD: u64 = 500;

/// Runs every check. `make` returns a fresh collector; `sample(i)` the `i`-th trace to offer.
///
/// ```
/// use whyline_core::{DecisionTrace, LinearPath};
/// use whyline_ledger::collector::RingCollector;
/// use whyline_ledger::collector::conformance::{self, Expectations, Retention};
///
/// let sample = |sequence| DecisionTrace {
///     timestamp_ns: sequence,
///     sequence,
///     input_hash: 0,
///     output: 0.0,
///     latency_ns: 0,
///     path: LinearPath::default(),
/// };
/// let expect = Expectations { retention: Retention::Last(16), lossless: true };
/// conformance::check_all(RingCollector::<LinearPath, 16>::new, sample, expect)?;
/// # Ok::<(), conformance::ConformanceError>(())
/// ```
pub fn check_all<P, C>(
    make: impl Fn() -> C,
    sample: impl Fn(u64) -> DecisionTrace<P> + Sync,
    expect: Expectations,
) -> Result<(), ConformanceError>
where
    P: DecisionPath,
    C: TraceCollector<P>,
{
    starts_empty(&make())?;
    outcomes_agree_with_counters(&make(), &sample, expect)?;
    flush_makes_len_exact(&make(), &sample, expect)?;
    concurrent_records_are_all_counted(&make(), &sample, expect)?;
    Ok(())
}

fn fail<T>(
    check: &'static str,
    expected: impl std::fmt::Debug,
    found: impl std::fmt::Debug,
) -> Result<T, ConformanceError> {
    Err(ConformanceError {
        check,
        expected: format!("{expected:?}"),
        found: format!("{found:?}"),
    })
}

fn ensure_eq<T: PartialEq + std::fmt::Debug>(
    check: &'static str,
    expected: T,
    found: T,
) -> Result<(), ConformanceError> {
    if expected == found {
        Ok(())
    } else {
        fail(check, expected, found)
    }
}

fn held_after_flush(expect: Expectations, recorded: u64) -> u64 {
    match expect.retention {
        Retention::All => recorded,
        Retention::Last(n) => recorded.min(n),
    }
}

/// A new collector holds nothing, counts nothing, and flushes.
pub fn starts_empty<P: DecisionPath>(
    collector: &impl TraceCollector<P>,
) -> Result<(), ConformanceError> {
    const CHECK: &str = "starts_empty";
    ensure_eq(CHECK, 0, collector.len())?;
    ensure_eq(CHECK, true, collector.is_empty())?;
    ensure_eq(CHECK, CollectorStats::default(), collector.stats())?;
    if let Err(error) = collector.flush() {
        return fail(CHECK, "flush() = Ok", error);
    }
    ensure_eq(CHECK, 0, collector.len())
}

/// Tallies of outcomes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Tally {
    kept: u64,
    dropped: u64,
    fallback: u64,
}

impl Tally {
    fn add(&mut self, outcome: RecordOutcome) {
        match outcome {
            RecordOutcome::Dropped => self.dropped += 1,
            RecordOutcome::Fallback => {
                self.fallback += 1;
                self.kept += 1;
            }
            RecordOutcome::Stored | RecordOutcome::Queued | RecordOutcome::Appended { .. } => {
                self.kept += 1;
            }
            // `RecordOutcome` is non-exhaustive; an outcome this suite does not know is a
            // failure of the suite to keep up, reported by the counters check below.
            _ => {}
        }
    }

    fn as_stats(self) -> CollectorStats {
        CollectorStats {
            recorded: self.kept,
            dropped: self.dropped,
            fallback: self.fallback,
        }
    }
}

/// Every outcome is reflected in the counters, and `recorded + dropped` is what was offered.
pub fn outcomes_agree_with_counters<P: DecisionPath>(
    collector: &impl TraceCollector<P>,
    sample: impl Fn(u64) -> DecisionTrace<P>,
    expect: Expectations,
) -> Result<(), ConformanceError> {
    const CHECK: &str = "outcomes_agree_with_counters";
    let mut tally = Tally::default();
    for i in 0..SEQUENTIAL_TRACES {
        match collector.record(&sample(i)) {
            Ok(outcome) => tally.add(outcome),
            Err(error) => return fail(CHECK, format!("record({i}) = Ok"), error),
        }
    }
    let stats = collector.stats();
    ensure_eq(CHECK, tally.as_stats(), stats)?;
    ensure_eq(CHECK, SEQUENTIAL_TRACES, stats.recorded + stats.dropped)?;
    if expect.lossless {
        ensure_eq(CHECK, 0, stats.dropped)?;
    }
    Ok(())
}

/// After `flush`, `len` is exactly what the collector retains; a second flush changes nothing.
pub fn flush_makes_len_exact<P: DecisionPath>(
    collector: &impl TraceCollector<P>,
    sample: impl Fn(u64) -> DecisionTrace<P>,
    expect: Expectations,
) -> Result<(), ConformanceError> {
    const CHECK: &str = "flush_makes_len_exact";
    for i in 0..SEQUENTIAL_TRACES {
        if let Err(error) = collector.record(&sample(i)) {
            return fail(CHECK, format!("record({i}) = Ok"), error);
        }
    }
    for round in 0..2 {
        if let Err(error) = collector.flush() {
            return fail(CHECK, format!("flush() #{round} = Ok"), error);
        }
        let recorded = collector.stats().recorded;
        ensure_eq(CHECK, held_after_flush(expect, recorded), collector.len())?;
        ensure_eq(CHECK, recorded == 0, collector.is_empty())?;
    }
    Ok(())
}

/// Records from several threads at once are each counted once.
pub fn concurrent_records_are_all_counted<P: DecisionPath>(
    collector: &impl TraceCollector<P>,
    sample: &(impl Fn(u64) -> DecisionTrace<P> + Sync),
    expect: Expectations,
) -> Result<(), ConformanceError> {
    const CHECK: &str = "concurrent_records_are_all_counted";
    let tallies: Vec<Result<Tally, String>> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..THREADS)
            .map(|thread| {
                scope.spawn(move || {
                    let mut tally = Tally::default();
                    for i in 0..TRACES_PER_THREAD {
                        let trace = sample(thread * TRACES_PER_THREAD + i);
                        match collector.record(&trace) {
                            Ok(outcome) => tally.add(outcome),
                            Err(error) => return Err(error.to_string()),
                        }
                    }
                    Ok(tally)
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|worker| {
                worker
                    .join()
                    .unwrap_or_else(|_| Err("a recording thread panicked".to_owned()))
            })
            .collect()
    });
    let mut total = Tally::default();
    for tally in tallies {
        match tally {
            Ok(tally) => {
                total.kept += tally.kept;
                total.dropped += tally.dropped;
                total.fallback += tally.fallback;
            }
            Err(error) => return fail(CHECK, "every record Ok", error),
        }
    }
    ensure_eq(CHECK, total.as_stats(), collector.stats())?;
    ensure_eq(
        CHECK,
        THREADS * TRACES_PER_THREAD,
        total.kept + total.dropped,
    )?;
    if expect.lossless {
        ensure_eq(CHECK, 0, total.dropped)?;
    }
    if let Err(error) = collector.flush() {
        return fail(CHECK, "flush() = Ok", error);
    }
    ensure_eq(CHECK, held_after_flush(expect, total.kept), collector.len())
}
