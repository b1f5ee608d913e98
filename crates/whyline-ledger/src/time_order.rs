//! Time order: how far a log's stored times ever step backwards, so that a time window is
//! contained in one index range a window proof ([`WindowEvidence`](crate::WindowEvidence))
//! can bound with two entries.
//!
//! # The decision: entries keep their own time; the disorder is bounded and signed
//!
//! A clock that steps backwards (an NTP correction), or two threads that stamp decisions
//! before they take the writer's lock, hand the ledger an entry stamped earlier than one
//! already stored. The ledger never reorders and never rewrites it: the entry keeps its own
//! time, byte for byte as the collector encoded it (design invariant 2, canonical bytes; a
//! replay re-makes the very same record). Instead the writer follows, as it appends,
//!
//! ```text
//! M(i) = max(t(0) .. t(i))       the log's time at entry i (non-decreasing)
//! D    = max over i of M(i) - t(i)  the time disorder: the largest backward step
//! ```
//!
//! and every checkpoint it signs states `D` for the entries it covers, as a C2SP extension
//! line after the root: `whyline-time-disorder-ns D`. A log written by one thread with a
//! monotonic clock has `D = 0`. With `D` signed, every entry satisfies
//! `M(i) - D ≤ t(i) ≤ M(i)` with `M` non-decreasing, so for any entry `b` stamped before
//! `from - D` every earlier entry is stamped before `from`, and for any entry `a` stamped
//! after `to + D` every later entry is stamped after `to`: the entries stamped in
//! `[from, to]` all lie strictly between `b` and `a`. The window's range is exact when
//! `D = 0`, and at most `D` wider at each end otherwise.
//!
//! Verification recomputes `D` at each checkpoint's size and reports a checkpoint that
//! understates it ([`CorruptionKind::TimeDisorderUnderstated`](crate::CorruptionKind)); it
//! also reports the first backward step ([`VerifyReport::time_order`](crate::VerifyReport)).
//! A checkpoint signed before this rule states no bound, and no window can be proven against
//! it ([`LedgerError::NoTimeBound`](crate::LedgerError::NoTimeBound)): sign a new one.

use serde::Serialize;

/// The extension line a checkpoint states its time disorder on: `whyline-time-disorder-ns D`.
pub const TIME_DISORDER_EXTENSION: &str = "whyline-time-disorder-ns";

/// The time disorder a checkpoint body states (its extension line), if any.
pub fn stated_time_disorder(body: &str) -> Option<u64> {
    body.lines()
        .skip(3)
        .find_map(|line| {
            line.strip_prefix(TIME_DISORDER_EXTENSION)?
                .strip_prefix(' ')
        })
        .and_then(|value| value.parse().ok())
}

/// The first place a log's stored times go backwards.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct BackwardStep {
    /// Index of the entry stamped earlier than a stamped entry before it.
    pub index: u64,
    /// The largest time stored before it, Unix nanoseconds.
    pub previous_ns: u64,
    /// Its time, Unix nanoseconds.
    pub found_ns: u64,
}

impl std::fmt::Display for BackwardStep {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "entry {} is stamped {} ns before an earlier entry",
            self.index,
            self.previous_ns.saturating_sub(self.found_ns)
        )
    }
}

/// The order of the stored times seen so far: the log's time, the time disorder, and the
/// first backward step.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TimeOrder {
    /// The first stamped entry: its index and time.
    first: Option<(u64, u64)>,
    /// The smallest time seen.
    min_ns: Option<u64>,
    /// The largest time seen: the log's time.
    last_ns: Option<u64>,
    /// The largest backward step, `M(i) - t(i)`.
    disorder_ns: u64,
    /// The first backward step, if any.
    first_backward: Option<BackwardStep>,
}

impl TimeOrder {
    /// Notes that entry `index` is stamped `timestamp_ns`.
    #[inline]
    pub(crate) fn push(&mut self, index: u64, timestamp_ns: u64) {
        self.first.get_or_insert((index, timestamp_ns));
        self.min_ns = Some(self.min_ns.map_or(timestamp_ns, |m| m.min(timestamp_ns)));
        match self.last_ns {
            Some(last) if timestamp_ns < last => {
                self.disorder_ns = self.disorder_ns.max(last - timestamp_ns);
                self.first_backward.get_or_insert(BackwardStep {
                    index,
                    previous_ns: last,
                    found_ns: timestamp_ns,
                });
            }
            _ => self.last_ns = Some(timestamp_ns),
        }
    }

    /// This order followed by `next`, the order of the entries after these (the parallel
    /// walk hashes chunks apart and joins them in log order). An entry `j` of `next` steps
    /// back by `max(L, M'(j)) - t(j)`, `L` this order's time and `M'` next's own; the largest
    /// is `max(next's disorder, L - next's smallest time)`.
    pub(crate) fn followed_by(self, next: TimeOrder) -> TimeOrder {
        let crossing = match (self.last_ns, next.first) {
            (Some(last), Some((index, first))) if first < last => Some(BackwardStep {
                index,
                previous_ns: last,
                found_ns: first,
            }),
            _ => None,
        };
        let across = match (self.last_ns, next.min_ns) {
            (Some(last), Some(min)) => last.saturating_sub(min),
            _ => 0,
        };
        let either = |a: Option<u64>, b: Option<u64>, pick: fn(u64, u64) -> u64| match (a, b) {
            (Some(a), Some(b)) => Some(pick(a, b)),
            (a, b) => a.or(b),
        };
        TimeOrder {
            first: self.first.or(next.first),
            min_ns: either(self.min_ns, next.min_ns, u64::min),
            last_ns: either(self.last_ns, next.last_ns, u64::max),
            disorder_ns: self.disorder_ns.max(next.disorder_ns).max(across),
            first_backward: self.first_backward.or(crossing).or(next.first_backward),
        }
    }

    /// The largest time stored so far (the log's time).
    pub fn last_ns(&self) -> Option<u64> {
        self.last_ns
    }

    /// The time disorder `D`: the largest backward step so far, 0 for a log in order.
    pub fn disorder_ns(&self) -> u64 {
        self.disorder_ns
    }

    /// The first backward step, `None` when the times are in order.
    pub fn first_backward(&self) -> Option<BackwardStep> {
        self.first_backward
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn order(stamps: &[(u64, u64)]) -> TimeOrder {
        let mut order = TimeOrder::default();
        for &(index, ns) in stamps {
            order.push(index, ns);
        }
        order
    }

    /// The oracle: `D = max M(i) - t(i)` straight from the definition.
    fn disorder(stamps: &[(u64, u64)]) -> u64 {
        (0..stamps.len())
            .map(|i| {
                let m = stamps[..=i].iter().map(|s| s.1).max().unwrap_or(0);
                m - stamps[i].1
            })
            .max()
            .unwrap_or(0)
    }

    const STAMPS: [(u64, u64); 8] = [
        (0, 10),
        (1, 11),
        (2, 13),
        (3, 12),
        (4, 14),
        (5, 9),
        (6, 20),
        (7, 19),
    ];

    #[test]
    fn the_first_backward_step_and_the_disorder_are_found() {
        let found = order(&STAMPS);
        assert_eq!(
            found.first_backward(),
            Some(BackwardStep {
                index: 3,
                previous_ns: 13,
                found_ns: 12
            })
        );
        assert_eq!(found.disorder_ns(), disorder(&STAMPS));
        assert_eq!(found.disorder_ns(), 5);
        assert_eq!(found.last_ns(), Some(20));
        let ordered = order(&[(0, 1), (5, 1), (9, 2)]);
        assert_eq!((ordered.first_backward(), ordered.disorder_ns()), (None, 0));
    }

    #[test]
    fn joining_chunks_finds_what_one_walk_finds() {
        for cut in 0..=STAMPS.len() {
            let (left, right) = STAMPS.split_at(cut);
            assert_eq!(
                order(left).followed_by(order(right)),
                order(&STAMPS),
                "cut at {cut}"
            );
        }
    }

    #[test]
    fn a_checkpoint_body_states_its_disorder_on_an_extension_line() {
        let body = "log\n3\nAAAA\nwhyline-time-disorder-ns 250\n";
        assert_eq!(stated_time_disorder(body), Some(250));
        assert_eq!(stated_time_disorder("log\n3\nAAAA\n"), None);
        // The origin line cannot pose as the extension.
        assert_eq!(
            stated_time_disorder("whyline-time-disorder-ns 0\n3\nAAAA\n"),
            None
        );
    }
}
