//! What a source (a ledger directory or a server's stream) sends the view, and the full path
//! of one decision when the operator opens it.

use std::sync::Arc;

use whyline_core::{AnyPath, DecisionPath, DecisionTrace, Names, from_aprt};
use whyline_forensics::{TimelineEntry, format_time_ns};

use super::event::Event;

/// A message from a source's thread to the view.
#[derive(Debug)]
pub(crate) enum SourceMessage {
    /// Events, in order.
    Events(Vec<Event>),
    /// What was already there when the view started has been sent.
    BacklogDone,
    /// A line for the status bar (connected, reconnecting, waiting for a frame, damage).
    Status(String),
}

/// What the view keeps of a decision to show its whole path when opened.
#[derive(Debug, PartialEq)]
pub(crate) enum Detail {
    /// The decision's APRT record as the ledger holds it, and the names in force.
    Recorded {
        /// The record.
        payload: Vec<u8>,
        /// The model record's names.
        names: Arc<Names>,
    },
}

impl Detail {
    /// The lines of the decision page: the path, rendered as `whyline trace decode --format
    /// text` and `whyline explain` render it (splits with thresholds, contributions, votes,
    /// neighbours), under a summary.
    pub(crate) fn lines(&self, index: u64) -> Vec<String> {
        match self {
            Detail::Recorded { payload, names } => match from_aprt::<AnyPath>(payload) {
                Ok(trace) => path_lines(index, &trace, names),
                Err(error) => vec![format!("decision {index}: {error}")],
            },
        }
    }
}

/// The decision page of one trace.
pub(crate) fn path_lines(index: u64, trace: &DecisionTrace<AnyPath>, names: &Names) -> Vec<String> {
    let entry = TimelineEntry::of_trace(trace, trace.timestamp_ns, names);
    let mut lines = vec![
        format!(
            "decision {index}: {}  confidence {:.2}  latency {} µs  {}",
            entry.decision,
            entry.confidence,
            trace.latency_ns / 1_000,
            format_time_ns(trace.timestamp_ns),
        ),
        format!(
            "sequence {}  input digest {:#018x}  output {}  path {}",
            trace.sequence,
            trace.input_hash,
            trace.output,
            trace.path.path_type()
        ),
    ];
    if !entry.alternatives.is_empty() {
        let alternatives: Vec<String> = entry
            .alternatives
            .iter()
            .map(|(name, p)| format!("{name} {p:.2}"))
            .collect();
        lines.push(format!("alternatives: {}", alternatives.join(", ")));
    }
    if !entry.contributions.is_empty() {
        let contributions: Vec<String> = entry
            .contributions
            .iter()
            .map(|(name, v)| format!("{name} {v:+.3}"))
            .collect();
        lines.push(format!("top contributions: {}", contributions.join(", ")));
    }
    lines.push(String::new());
    lines.extend(trace.path.explain_with(names).lines().map(str::to_owned));
    lines
}

#[cfg(test)]
mod tests {
    use super::*;
    use whyline_core::{LeafInfo, SplitTest, TreePath, TreeSplit, to_aprt};

    #[test]
    fn an_opened_tree_decision_shows_its_splits_with_thresholds_by_feature_name() {
        let trace = DecisionTrace {
            timestamp_ns: 1_733_467_967_000_000_000,
            sequence: 4,
            input_hash: 0xabc,
            output: 1.0,
            latency_ns: 41_000,
            path: AnyPath::Tree(TreePath {
                splits: vec![TreeSplit {
                    feature_index: 0,
                    threshold: 12.5,
                    went_left: true,
                    test: SplitTest::LessOrEqual,
                    ..TreeSplit::default()
                }],
                leaf: LeafInfo {
                    prediction: 1.0,
                    class_distribution: Some(vec![1.0, 3.0]),
                    ..LeafInfo::default()
                },
                ..TreePath::default()
            }),
        };
        let names = Arc::new(Names {
            features: vec!["distance_m".into()],
            classes: vec!["GO".into(), "BRAKE".into()],
        });
        let detail = Detail::Recorded {
            payload: to_aprt(&trace),
            names: Arc::clone(&names),
        };
        let lines = detail.lines(17);
        assert!(
            lines[0].starts_with("decision 17: BRAKE  confidence 0.75  latency 41 µs"),
            "{lines:?}"
        );
        assert!(lines.iter().any(|l| l.contains("GO 0.25")), "{lines:?}");
        // The path as `whyline trace decode --format text` renders it, names included.
        let rendered = trace.path.explain_with(&names);
        assert!(
            rendered.contains("distance_m") && rendered.contains("12.5"),
            "{rendered}"
        );
        for line in rendered.lines() {
            assert!(
                lines.iter().any(|l| l == line),
                "missing {line:?} in {lines:?}"
            );
        }
    }
}
