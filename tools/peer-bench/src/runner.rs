//! Runs the contenders of one workload interleaved (round after round, each contender once per
//! round, the starting one rotated) and summarises each contender's figures.

use std::fmt::Write as _;

/// What a figure counts, and so which way is better.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unit {
    /// Nanoseconds per operation: lower is better.
    NsPerOp,
    /// Operations per second: higher is better.
    PerSecond,
}

impl Unit {
    /// How many times better `figure` is than `reference` (> 1: `figure` is ahead).
    fn advantage(self, figure: f64, reference: f64) -> f64 {
        match self {
            Unit::NsPerOp => reference / figure,
            Unit::PerSecond => figure / reference,
        }
    }

    fn format(self, figure: f64) -> String {
        match self {
            Unit::NsPerOp if figure >= 1e3 => format!("{:.2} µs", figure / 1e3),
            Unit::NsPerOp => format!("{figure:.1} ns"),
            Unit::PerSecond if figure >= 1e6 => format!("{:.2} M/s", figure / 1e6),
            Unit::PerSecond => format!("{:.0} k/s", figure / 1e3),
        }
    }
}

/// One round of one implementation: returns its figure in the workload's unit.
pub type Round<'a> = Box<dyn FnMut() -> anyhow::Result<f64> + 'a>;

/// One implementation of a workload.
pub struct Contender<'a> {
    /// Who and which API, e.g. `entrenar HashChainCollector::record`.
    pub name: String,
    /// Runs one round.
    pub round: Round<'a>,
}

impl<'a> Contender<'a> {
    /// A contender named `name` whose rounds `round` runs.
    pub fn new(name: impl Into<String>, round: impl FnMut() -> anyhow::Result<f64> + 'a) -> Self {
        Contender {
            name: name.into(),
            round: Box::new(round),
        }
    }
}

/// The figures of one contender over every round.
#[derive(Debug)]
pub struct Summary {
    /// The contender's name.
    pub name: String,
    /// Median over the rounds.
    pub median: f64,
    /// Smallest figure.
    pub min: f64,
    /// Largest figure.
    pub max: f64,
}

/// The result of one workload: the first summary is the reference (whyline).
#[derive(Debug)]
pub struct Outcome {
    /// The workload's name.
    pub workload: &'static str,
    /// Its unit.
    pub unit: Unit,
    /// One summary per contender, in the order given.
    pub summaries: Vec<Summary>,
    /// What the figures mean (shapes, bytes per record, caveats).
    pub notes: Vec<String>,
}

/// Runs one untimed warm-up round of every contender, then `rounds` rounds in which each
/// contender runs once; round `r` starts with contender `r mod n`, so no implementation always
/// runs first (after an idle period) or last.
pub fn run(
    workload: &'static str,
    unit: Unit,
    contenders: &mut [Contender<'_>],
    rounds: usize,
) -> anyhow::Result<Outcome> {
    let n = contenders.len();
    let mut figures: Vec<Vec<f64>> = vec![Vec::with_capacity(rounds); n];
    for contender in contenders.iter_mut() {
        (contender.round)()?;
    }
    for r in 0..rounds {
        for k in 0..n {
            let i = (r + k) % n;
            let figure = (contenders[i].round)()?;
            figures[i].push(figure);
        }
    }
    let summaries = contenders
        .iter()
        .zip(figures)
        .map(|(contender, mut f)| {
            f.sort_by(f64::total_cmp);
            Summary {
                name: contender.name.clone(),
                median: median(&f),
                min: f.first().copied().unwrap_or(f64::NAN),
                max: f.last().copied().unwrap_or(f64::NAN),
            }
        })
        .collect();
    Ok(Outcome {
        workload,
        unit,
        summaries,
        notes: Vec::new(),
    })
}

fn median(sorted: &[f64]) -> f64 {
    match sorted.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => sorted[n / 2],
        n => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
    }
}

/// The table of every outcome as Markdown: one row per contender; the last column says how
/// many times better the workload's first contender (whyline) is than that row's.
pub fn table(outcomes: &[Outcome], rounds: usize) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "| workload | implementation | median of {rounds} rounds | spread (min–max) | whyline's advantage |"
    );
    let _ = writeln!(out, "|---|---|---|---|---|");
    for outcome in outcomes {
        let Some(reference) = outcome.summaries.first() else {
            continue;
        };
        for (i, s) in outcome.summaries.iter().enumerate() {
            let advantage = if i == 0 {
                "(reference)".to_string()
            } else {
                format!("{:.2}×", outcome.unit.advantage(reference.median, s.median))
            };
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} – {} | {} |",
                if i == 0 { outcome.workload } else { "" },
                s.name,
                outcome.unit.format(s.median),
                outcome.unit.format(s.min),
                outcome.unit.format(s.max),
                advantage
            );
        }
    }
    out
}

/// The notes of every outcome, one bullet each.
pub fn notes(outcomes: &[Outcome]) -> String {
    let mut out = String::new();
    for outcome in outcomes {
        for note in &outcome.notes {
            let _ = writeln!(out, "- {}: {note}", outcome.workload);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(median(&[1.0, 2.0, 9.0]), 2.0);
        assert_eq!(median(&[1.0, 2.0, 4.0, 9.0]), 3.0);
        assert!(median(&[]).is_nan());
    }

    #[test]
    fn advantage_follows_the_unit() {
        // 50 ns against a peer's 100 ns: twice as fast.
        assert_eq!(Unit::NsPerOp.advantage(50.0, 100.0), 2.0);
        // 1 M/s against a peer's 2 M/s: half the rate.
        assert_eq!(Unit::PerSecond.advantage(1e6, 2e6), 0.5);
    }

    #[test]
    fn rounds_rotate_the_first_contender() {
        let order = std::cell::RefCell::new(Vec::new());
        let mut contenders = vec![
            Contender::new("a", || {
                order.borrow_mut().push('a');
                Ok(1.0)
            }),
            Contender::new("b", || {
                order.borrow_mut().push('b');
                Ok(2.0)
            }),
        ];
        let outcome = run("w", Unit::NsPerOp, &mut contenders, 2).map_err(|e| e.to_string());
        drop(contenders);
        // Warm-up a, b; round 0: a, b; round 1: b, a.
        assert_eq!(order.into_inner(), vec!['a', 'b', 'a', 'b', 'b', 'a']);
        let outcome = outcome.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(outcome.summaries[1].median, 2.0);
    }
}
