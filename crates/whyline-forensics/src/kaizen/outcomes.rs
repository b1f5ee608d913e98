//! Outcome-based error rates: what the recorded outcomes (`whyline outcome`) say about the
//! decisions.
//!
//! A decision with an outcome is judged **wrong** when a human overrode it with another
//! action, or when the outcome's label names a class (case-insensitively) other than the
//! one decided; **right** when the label names the decided class and nobody overrode it.
//! A label that names no class (`cat`, `defaulted`) is ground truth the model's classes do
//! not speak about: the decision is counted as labelled but not judged.

use serde::Serialize;
use whyline_core::Names;

use super::decision::{KaizenDecision, class_name};

/// Counts of outcomes over a set of decisions.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct OutcomeCount {
    /// Decisions with an outcome recorded.
    pub labelled: usize,
    /// Of those, decisions the outcome judges (right or wrong).
    pub judged: usize,
    /// Judged wrong.
    pub wrong: usize,
    /// Overridden by a human.
    pub overridden: usize,
    /// Log indices of the wrong decisions (the first ten).
    pub wrong_examples: Vec<u64>,
}

/// What an outcome says about a decision.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    Right,
    Wrong,
    NotJudged,
}

pub(crate) fn verdict(decision: &KaizenDecision, names: &Names) -> Option<Verdict> {
    let outcome = decision.outcome.as_ref()?;
    let decided = decision.class.map(|c| class_name(names, c));
    if let Some(action) = &outcome.override_action
        && decided
            .as_deref()
            .is_none_or(|d| !d.eq_ignore_ascii_case(action))
    {
        return Some(Verdict::Wrong);
    }
    let names_a_class = names
        .classes
        .iter()
        .any(|c| c.eq_ignore_ascii_case(&outcome.label));
    Some(match (&decided, names_a_class) {
        (Some(d), true) if d.eq_ignore_ascii_case(&outcome.label) => Verdict::Right,
        (_, true) => Verdict::Wrong,
        (_, false) => Verdict::NotJudged,
    })
}

impl OutcomeCount {
    /// Adds one decision.
    pub(crate) fn add(&mut self, decision: &KaizenDecision, names: &Names) {
        let Some(verdict) = verdict(decision, names) else {
            return;
        };
        self.labelled += 1;
        if decision
            .outcome
            .as_ref()
            .is_some_and(|o| o.override_action.is_some())
        {
            self.overridden += 1;
        }
        match verdict {
            Verdict::Right => self.judged += 1,
            Verdict::Wrong => {
                self.judged += 1;
                self.wrong += 1;
                if self.wrong_examples.len() < 10 {
                    self.wrong_examples.push(decision.index);
                }
            }
            Verdict::NotJudged => {}
        }
    }

    /// Wrong / judged, when anything was judged.
    pub fn error_rate(&self) -> Option<f64> {
        (self.judged > 0).then(|| self.wrong as f64 / self.judged as f64)
    }
}

/// Error rates over the window: overall, for low-confidence and confident decisions.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct OutcomeRates {
    /// Every decision of the window.
    pub overall: OutcomeCount,
    /// The decisions below the confidence threshold.
    pub low_confidence: OutcomeCount,
    /// The others.
    pub confident: OutcomeCount,
    /// Labels that name no class, with how often they were recorded.
    pub unjudged_labels: Vec<(String, usize)>,
}

pub(crate) fn outcome_rates(
    decisions: &[KaizenDecision],
    names: &Names,
    low_confidence: f32,
) -> OutcomeRates {
    let mut rates = OutcomeRates::default();
    let mut unjudged: std::collections::BTreeMap<String, usize> = Default::default();
    for d in decisions {
        rates.overall.add(d, names);
        if d.confidence < low_confidence {
            rates.low_confidence.add(d, names);
        } else {
            rates.confident.add(d, names);
        }
        if verdict(d, names) == Some(Verdict::NotJudged)
            && let Some(o) = &d.outcome
        {
            *unjudged.entry(o.label.clone()).or_insert(0) += 1;
        }
    }
    rates.unjudged_labels = unjudged.into_iter().collect();
    rates
}
