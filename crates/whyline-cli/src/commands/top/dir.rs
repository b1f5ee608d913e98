//! `whyline top DIR`: the live view's events made from a ledger directory another process is
//! writing, read through [`LedgerTail`] (read-only; a frame still being written is waited
//! for, not taken for damage).
//!
//! Each new entry is read by its kind: a decision's APRT record is decoded and summarised
//! as an incident report names it ([`TimelineEntry::of_trace`]: the class name, confidence,
//! alternatives, top contributions by feature name; a tree's split features in order when
//! its path carries no contributions); an alert record becomes an alert (`yellow` a warning,
//! `red` a stop); a model record brings the feature and class names of the decisions after
//! it. Anomalies marked on a decision: `low_confidence` (below the budget's minimum),
//! `latency_over_budget`, `non_finite_output`, and the rules of the alerts the log holds
//! for it.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::SyncSender;
use std::time::Duration;

use anyhow::Context;
use whyline_core::{AlertRecord, AnyPath, DecisionTrace, EntryKind, ModelRecord, Names, from_aprt};
use whyline_forensics::TimelineEntry;
use whyline_ledger::{EntryRef, LedgerReader, LedgerTail, SegmentStore};

use super::event::{
    AlertEvent, AlertLevel, Alternative, Budget, Contribution, DecisionEvent, Event,
};
use super::source::{Detail, SourceMessage};

/// How long the tail waits when nothing new was read.
const IDLE: Duration = Duration::from_millis(50);
/// Events sent to the view at once, at most.
const BATCH: usize = 4_096;
/// Top contributions kept per decision.
const TOP: usize = 5;

/// Reads entries into events: the names in force and the budget anomalies are judged by.
pub(crate) struct EntryReader {
    names: Arc<Names>,
    model: String,
    budget: Budget,
    /// The last decision's trace sequence and ledger index: the decision the alerts after
    /// it concern (a collector writes a decision and its alerts in one commit).
    last_decision: Option<(u64, u64)>,
}

impl EntryReader {
    /// A reader with no names yet.
    pub(crate) fn new(budget: Budget) -> Self {
        Self {
            names: Arc::new(Names::none()),
            model: String::new(),
            budget,
            last_decision: None,
        }
    }

    /// Takes the names of a model record.
    pub(crate) fn model_record(&mut self, record: &ModelRecord) {
        self.names = Arc::new(record.names());
        self.model = record.identity.model_type.clone();
    }

    /// The event of one entry, `None` for kinds the view does not show (sealed inputs,
    /// outcomes, erasures) and for a payload that does not decode (shown in the status line
    /// by the caller's count).
    pub(crate) fn read(&mut self, index: u64, payload: &[u8]) -> Result<Option<Event>, String> {
        match EntryKind::of(payload) {
            EntryKind::Decision => {
                let trace =
                    from_aprt::<AnyPath>(payload).map_err(|e| format!("entry {index}: {e}"))?;
                self.last_decision = Some((trace.sequence, index));
                Ok(Some(Event::Decision(self.decision(index, &trace, payload))))
            }
            EntryKind::Alert => {
                let record =
                    AlertRecord::from_bytes(payload).map_err(|e| format!("entry {index}: {e}"))?;
                Ok(Some(Event::Alert(AlertEvent {
                    id: format!("L{index}"),
                    index: self
                        .last_decision
                        .filter(|(sequence, _)| *sequence == record.sequence)
                        .map(|(_, decision)| decision),
                    time_ns: record.timestamp_ns,
                    level: AlertLevel::parse(&record.level),
                    rule: record.kind,
                    message: record.message,
                    acknowledged: false,
                })))
            }
            EntryKind::Model => {
                let record =
                    ModelRecord::from_bytes(payload).map_err(|e| format!("entry {index}: {e}"))?;
                self.model_record(&record);
                Ok(None)
            }
            // Sealed inputs, outcomes, erasures, and kinds newer than this build.
            _ => Ok(None),
        }
    }

    fn decision(
        &self,
        index: u64,
        trace: &DecisionTrace<AnyPath>,
        payload: &[u8],
    ) -> DecisionEvent {
        let entry = TimelineEntry::of_trace(trace, trace.timestamp_ns, &self.names);
        let mut top: Vec<Contribution> = entry
            .contributions
            .iter()
            .take(TOP)
            .map(|(feature, value)| Contribution {
                feature: feature.clone(),
                contribution: Some(f64::from(*value)),
            })
            .collect();
        if top.is_empty() {
            top = split_features(&trace.path, &self.names);
        }
        let latency_us = trace.latency_ns as f64 / 1_000.0;
        let confidence = f64::from(entry.confidence);
        let mut anomalies = Vec::new();
        if !trace.output.is_finite() {
            anomalies.push("non_finite_output".to_owned());
        }
        if confidence < self.budget.min_confidence {
            anomalies.push("low_confidence".to_owned());
        }
        if latency_us > self.budget.latency_p99_us {
            anomalies.push("latency_over_budget".to_owned());
        }
        DecisionEvent {
            index,
            time_ns: trace.timestamp_ns,
            model: self.model.clone(),
            decision: entry.decision,
            confidence,
            latency_us,
            alternatives: entry
                .alternatives
                .into_iter()
                .map(|(decision, p)| Alternative {
                    decision,
                    p: f64::from(p),
                })
                .collect(),
            top,
            anomalies,
            detail: Some(Arc::new(Detail::Recorded {
                payload: payload.to_vec(),
                names: Arc::clone(&self.names),
            })),
        }
    }
}

/// The features a tree's (or a forest's first tree's) splits tested, in order, without
/// repeats: what a path without contributions says about why.
fn split_features(path: &AnyPath, names: &Names) -> Vec<Contribution> {
    let splits = match path {
        AnyPath::Tree(tree) => &tree.splits,
        AnyPath::Forest(forest) => match forest.tree_paths.first() {
            Some(tree) => &tree.splits,
            None => return Vec::new(),
        },
        AnyPath::Linear(_) | AnyPath::Knn(_) | AnyPath::Neural(_) | AnyPath::Cluster(_) => {
            return Vec::new();
        }
    };
    let mut seen: Vec<Contribution> = Vec::new();
    for split in splits {
        let feature = names.feature_short(split.feature_index as usize);
        if seen.len() < TOP && !seen.iter().any(|c| c.feature == feature) {
            seen.push(Contribution {
                feature,
                contribution: None,
            });
        }
    }
    seen
}

/// Options of the directory source.
pub(crate) struct DirOptions {
    /// The ledger directory.
    pub(crate) dir: PathBuf,
    /// Read the whole log, not only its last block of entries.
    pub(crate) from_start: bool,
    /// The budget anomalies are judged by.
    pub(crate) budget: Budget,
}

/// Follows the directory until `stop` is set, sending what it reads to `sender`. Returns
/// when the view has gone (the channel closed) or on an I/O error opening the log.
pub(crate) fn follow(
    options: &DirOptions,
    sender: &SyncSender<SourceMessage>,
    stop: &AtomicBool,
) -> anyhow::Result<()> {
    let mut tail = LedgerTail::open(&options.dir)?;
    let mut reader = EntryReader::new(options.budget);
    let start = if options.from_start {
        0
    } else {
        tail.skip_to_last_indexed_block()?.unwrap_or(0)
    };
    if start > 0 {
        model_before(&options.dir, start, &mut reader)?;
    }
    let _ = sender.send(SourceMessage::Status(format!(
        "following {} from entry {start}",
        options.dir.display()
    )));
    let mut backlog = true;
    let mut batch: Vec<Event> = Vec::with_capacity(BATCH);
    let mut undecodable = 0u64;
    let mut last_status = String::new();
    while !stop.load(Ordering::Relaxed) {
        let read = tail.read_new(|entry: EntryRef<'_>| {
            match reader.read(entry.index, entry.payload) {
                Ok(Some(event)) => batch.push(event),
                Ok(None) => {}
                Err(_) => undecodable += 1,
            }
            if batch.len() >= BATCH {
                let events = std::mem::replace(&mut batch, Vec::with_capacity(BATCH));
                if sender.send(SourceMessage::Events(events)).is_err() {
                    return Err(anyhow::anyhow!("the view has closed"));
                }
            }
            Ok::<(), anyhow::Error>(())
        });
        let read = match read {
            Ok(read) => read,
            Err(_) if stop.load(Ordering::Relaxed) => return Ok(()),
            Err(error) => return Err(error),
        };
        if !batch.is_empty()
            && sender
                .send(SourceMessage::Events(std::mem::take(&mut batch)))
                .is_err()
        {
            return Ok(());
        }
        if backlog {
            backlog = false;
            if sender.send(SourceMessage::BacklogDone).is_err() {
                return Ok(());
            }
        }
        let status = status_line(&options.dir, &tail, &read, undecodable);
        if status != last_status {
            if sender.send(SourceMessage::Status(status.clone())).is_err() {
                return Ok(());
            }
            last_status = status;
        }
        if read.entries == 0 {
            std::thread::sleep(IDLE);
        }
    }
    Ok(())
}

fn status_line(
    dir: &Path,
    tail: &LedgerTail,
    read: &whyline_ledger::TailRead,
    undecodable: u64,
) -> String {
    let mut line = format!("{}: {} entries", dir.display(), tail.next_index());
    if let Some(stop) = read.damaged {
        line.push_str(&format!(
            "; DAMAGED at byte {}: {} (run `whyline verify`)",
            stop.offset, stop.kind
        ));
    } else if read.pending_bytes > 0 {
        line.push_str(&format!(
            "; {} bytes after the last whole entry (being written)",
            read.pending_bytes
        ));
    }
    if let Some(length) = read.cut_to {
        line.push_str(&format!("; the log was cut to {length} bytes"));
    }
    if undecodable > 0 {
        line.push_str(&format!("; {undecodable} entries did not decode"));
    }
    line
}

/// The names of the model record in force before entry `start` (read once at start, when
/// the tail skips the older entries).
fn model_before(dir: &Path, start: u64, reader: &mut EntryReader) -> anyhow::Result<()> {
    let store = SegmentStore::open_read_only(dir)?;
    let ledger_reader = LedgerReader::new(&store)?;
    if let Some(entry) = ledger_reader
        .last_before(start, ModelRecord::is_model_record)
        .with_context(|| format!("reading the model record of {}", dir.display()))?
        && let Ok(record) = ModelRecord::from_bytes(&entry.payload)
    {
        reader.model_record(&record);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use whyline_core::{
        LeafInfo, LinearPath, ModelIdentity, SplitTest, TreePath, TreeSplit, to_aprt,
    };

    fn record() -> ModelRecord {
        ModelRecord {
            identity: ModelIdentity::from_bytes(b"m", "logistic_regression", "1"),
            feature_names: vec!["distance_m".into(), "speed".into(), "rain".into()],
            class_names: vec!["MAINTAIN_SPEED".into(), "SLOW_DOWN".into()],
            recorded_ns: 1,
            input_digest: whyline_core::DigestAlgorithm::default(),
        }
    }

    #[test]
    fn a_linear_decision_is_named_and_its_contributions_ranked_by_size() {
        let mut reader = EntryReader::new(Budget::default());
        assert_eq!(reader.read(0, &record().to_bytes()), Ok(None));
        let trace = DecisionTrace {
            timestamp_ns: 42,
            sequence: 0,
            input_hash: 1,
            output: 1.0,
            latency_ns: 2_500_000,
            path: AnyPath::Linear(LinearPath {
                contributions: vec![-0.41, 0.05, 0.2],
                intercept: 0.1,
                prediction: 1.0,
                probability: Some(0.55),
                ..LinearPath::default()
            }),
        };
        let Ok(Some(Event::Decision(d))) = reader.read(1, &to_aprt(&trace)) else {
            panic!("not a decision");
        };
        assert_eq!(d.decision, "SLOW_DOWN");
        assert_eq!(d.model, "logistic_regression");
        assert!((d.confidence - 0.55).abs() < 1e-6, "{}", d.confidence);
        assert_eq!(d.latency_us, 2_500.0);
        let features: Vec<&str> = d.top.iter().map(|c| c.feature.as_str()).collect();
        assert_eq!(features, ["distance_m", "rain", "speed"]);
        assert_eq!(d.top[0].contribution, Some(f64::from(-0.41f32)));
        assert_eq!(d.alternatives[0].decision, "MAINTAIN_SPEED");
        assert!((d.alternatives[0].p - 0.45).abs() < 1e-6);
        // 0.55 < 0.6 and 2.5 ms > 1 ms.
        assert_eq!(d.anomalies, ["low_confidence", "latency_over_budget"]);
        assert_eq!(d.time_ns, 42);
    }

    #[test]
    fn a_tree_decision_names_its_split_features_in_order() {
        let mut reader = EntryReader::new(Budget::default());
        reader.model_record(&record());
        let split = |feature_index: u32| TreeSplit {
            feature_index,
            threshold: 1.5,
            went_left: true,
            test: SplitTest::LessOrEqual,
            ..TreeSplit::default()
        };
        let trace = DecisionTrace {
            timestamp_ns: 1,
            sequence: 0,
            input_hash: 1,
            output: 0.0,
            latency_ns: 1_000,
            path: AnyPath::Tree(TreePath {
                splits: vec![split(1), split(0), split(1)],
                leaf: LeafInfo {
                    prediction: 0.0,
                    class_distribution: Some(vec![9.0, 1.0]),
                    ..LeafInfo::default()
                },
                ..TreePath::default()
            }),
        };
        let Ok(Some(Event::Decision(d))) = reader.read(3, &to_aprt(&trace)) else {
            panic!("not a decision");
        };
        assert_eq!(d.decision, "MAINTAIN_SPEED");
        let top: Vec<(&str, Option<f64>)> = d
            .top
            .iter()
            .map(|c| (c.feature.as_str(), c.contribution))
            .collect();
        assert_eq!(top, [("speed", None), ("distance_m", None)]);
        assert!(d.anomalies.is_empty(), "{:?}", d.anomalies);
    }

    #[test]
    fn an_alert_record_becomes_an_alert_on_the_decision_it_names() {
        let mut reader = EntryReader::new(Budget::default());
        let trace = DecisionTrace {
            timestamp_ns: 77,
            sequence: 9,
            input_hash: 1,
            output: 1.0,
            latency_ns: 1_000,
            path: AnyPath::Linear(LinearPath::default()),
        };
        assert!(matches!(
            reader.read(10, &to_aprt(&trace)),
            Ok(Some(Event::Decision(_)))
        ));
        let alert = AlertRecord {
            sequence: 9,
            timestamp_ns: 77,
            level: "red".into(),
            kind: "out_of_distribution".into(),
            message: "feature[2] out of range".into(),
            details: serde_json::Value::Null,
        };
        let Ok(Some(Event::Alert(a))) = reader.read(12, &alert.to_bytes()) else {
            panic!("not an alert");
        };
        assert_eq!(a.level, AlertLevel::Stop);
        assert_eq!((a.index, a.time_ns), (Some(10), 77));
        let other = AlertRecord {
            sequence: 8,
            ..alert.clone()
        };
        let Ok(Some(Event::Alert(b))) = reader.read(13, &other.to_bytes()) else {
            panic!("not an alert");
        };
        assert_eq!(b.index, None);
        assert_eq!(a.rule, "out_of_distribution");
        assert!(reader.read(14, b"APRT\x01garbage").is_err());
    }
}
