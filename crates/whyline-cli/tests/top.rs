//! `whyline top DIR` driven in a real terminal: tmux (`new-session -d -x 120 -y 40`,
//! `send-keys`, `capture-pane -p`) runs the binary on a ledger this test appends to through
//! the library while it runs. The screen must show the decisions appended meanwhile, the
//! keys must pause, filter and open a decision's path, and `q` (or SIGTERM) must end it with
//! exit 0 and the terminal restored (the normal screen back, `stty` out of raw mode).
//!
//! tmux is a required test service: without it these tests fail and name
//! `bash scripts/services.sh`, which installs it. Each test runs its own tmux server on a
//! private socket (`tmux -L`), killed by a guard even when the test fails.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use whyline_core::{
    AnyPath, DecisionTrace, DigestAlgorithm, LinearPath, ModelIdentity, ModelRecord, to_aprt,
};
use whyline_ledger::{Ledger, LedgerOptions, SegmentStore};

#[path = "support/tmux.rs"]
mod tmux;
use tmux::{Tmux, require_tmux};

fn binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_whyline"))
}

const CLASSES: [&str; 3] = ["MAINTAIN_SPEED", "SLOW_DOWN", "SWERVE"];

/// The ledger the test writes, as a monitored application would.
struct Writer {
    ledger: Ledger<SegmentStore>,
    sequence: u64,
}

impl Writer {
    fn create(dir: &Path) -> Writer {
        let store = SegmentStore::open(dir).unwrap();
        let (mut ledger, _) =
            Ledger::open(store, LedgerOptions::without_checkpoints("test/top")).unwrap();
        let record = ModelRecord {
            identity: ModelIdentity::from_bytes(b"top test model", "logistic_regression", "1"),
            feature_names: vec!["distance_m".into(), "closing_speed_mps".into()],
            class_names: CLASSES.iter().map(|c| (*c).to_owned()).collect(),
            recorded_ns: 1,
            input_digest: DigestAlgorithm::default(),
        };
        ledger.append(&record.to_bytes()).unwrap();
        ledger.commit().unwrap();
        Writer {
            ledger,
            sequence: 0,
        }
    }

    /// Appends `n` decisions of class `class` and makes them visible to readers; returns the
    /// ledger index of the last.
    fn decide(&mut self, class: usize, n: usize, confidence: f32) -> u64 {
        let mut last = 0;
        for _ in 0..n {
            let trace = DecisionTrace {
                timestamp_ns: 1_765_000_000_000_000_000 + self.sequence * 1_000_000,
                sequence: self.sequence,
                input_hash: self.sequence,
                output: class as f32,
                latency_ns: 40_000,
                path: AnyPath::Linear(LinearPath {
                    contributions: vec![-0.41, 0.2],
                    intercept: 0.1,
                    prediction: class as f32,
                    probability: Some(confidence),
                    ..LinearPath::default()
                }),
            };
            self.sequence += 1;
            last = self.ledger.append(&to_aprt(&trace)).unwrap().index;
        }
        self.ledger.commit().unwrap();
        last
    }
}

/// Whether the screen has a decision row for ledger index `index` naming `decision` (a row
/// reads: marker, index, time, decision, ...).
fn has_row(screen: &str, index: u64, decision: &str) -> bool {
    let index = index.to_string();
    screen.lines().any(|line| {
        let words: Vec<&str> = line
            .split(|c: char| c.is_whitespace() || c == '│')
            .filter(|w| !w.is_empty())
            .collect();
        words
            .iter()
            .position(|w| *w == index)
            .is_some_and(|at| words.get(at + 2) == Some(&decision))
    })
}

fn stty_is_cooked(path: &Path) -> bool {
    let stty = std::fs::read_to_string(path).unwrap_or_default();
    let words: Vec<&str> = stty.split_whitespace().collect();
    words.contains(&"icanon") && words.contains(&"echo")
}

fn read_when_written(path: &Path) -> String {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Ok(text) = std::fs::read_to_string(path)
            && text.ends_with('\n')
        {
            return text;
        }
        assert!(
            Instant::now() < deadline,
            "{} never written",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn top_shows_decisions_appended_while_it_runs_and_quits_cleanly_on_q() {
    require_tmux();
    let dir = tempfile::tempdir().unwrap();
    let ledger_dir = dir.path().join("ledger");
    let mut writer = Writer::create(&ledger_dir);
    let first = writer.decide(0, 5, 0.9);
    let exit_file = dir.path().join("exit");
    let stty_file = dir.path().join("stty");
    let command = format!(
        "'{}' top '{}'; echo $? > '{}'; stty -a > '{}'; sleep 600",
        binary().display(),
        ledger_dir.display(),
        exit_file.display(),
        stty_file.display()
    );
    let tmux = Tmux::start("q", &command);
    let screen = tmux.wait_for("the decisions already in the log", |s| {
        has_row(s, first, "MAINTAIN_SPEED")
    });
    assert!(screen.contains("whyline top"), "{screen}");
    assert!(screen.contains("distance_m -0.41"), "{screen}");

    // Decisions appended while it runs appear.
    let swerve = writer.decide(2, 3, 0.95);
    let screen = tmux.wait_for("the decisions appended while it runs", |s| {
        has_row(s, swerve, "SWERVE")
    });
    assert!(has_row(&screen, swerve - 1, "SWERVE"), "{screen}");
    // A low-confidence decision is marked in words, not only colour.
    let low = writer.decide(1, 1, 0.4);
    let screen = tmux.wait_for("the low-confidence decision", |s| {
        has_row(s, low, "SLOW_DOWN")
    });
    assert!(screen.contains("⚠ low_confidence"), "{screen}");

    // Paused, the list holds still while decisions keep coming; resumed, they show.
    tmux.key("p");
    tmux.wait_for("the pause", |s| s.contains("PAUSED"));
    let held = writer.decide(0, 2, 0.9);
    tmux.wait_for("the held count", |s| s.contains("PAUSED (2 held)"));
    assert!(!has_row(&tmux.screen(), held, "MAINTAIN_SPEED"));
    tmux.key("Space");
    tmux.wait_for("the held decisions after resuming", |s| {
        s.contains("LIVE") && has_row(s, held, "MAINTAIN_SPEED")
    });

    // The decision filter shows one decision name at a time.
    tmux.key("f");
    let screen = tmux.wait_for("the filter", |s| s.contains("only MAINTAIN_SPEED"));
    assert!(!screen.contains("SWERVE"), "{screen}");
    tmux.key("f");
    tmux.key("f");
    tmux.key("f");
    tmux.wait_for("every decision again", |s| s.contains("all decisions"));

    // Select the low-confidence decision and open its path.
    for _ in 0..3 {
        tmux.key("Down");
    }
    tmux.key("Enter");
    let page = tmux.wait_for("the decision page", |s| {
        s.contains(&format!("decision {low}: SLOW_DOWN"))
    });
    assert!(page.contains("feature[0] (distance_m)"), "{page}");
    tmux.key("Escape");
    tmux.wait_for("the list after closing the page", |s| {
        s.contains("latest decisions")
    });

    tmux.key("q");
    assert_eq!(read_when_written(&exit_file).trim(), "0");
    read_when_written(&stty_file);
    assert!(
        stty_is_cooked(&stty_file),
        "the terminal was left in raw mode: {}",
        std::fs::read_to_string(&stty_file).unwrap_or_default()
    );
    let screen = tmux.screen();
    assert!(
        !screen.contains("latest decisions"),
        "the alternate screen was not left:\n{screen}"
    );
}

#[test]
fn top_restores_the_terminal_and_exits_0_on_sigterm() {
    require_tmux();
    let dir = tempfile::tempdir().unwrap();
    let ledger_dir = dir.path().join("ledger");
    let mut writer = Writer::create(&ledger_dir);
    let last = writer.decide(1, 3, 0.9);
    let exit_file = dir.path().join("exit");
    let stty_file = dir.path().join("stty");
    let command = format!(
        "'{}' top '{}'; echo $? > '{}'; stty -a > '{}'; sleep 600",
        binary().display(),
        ledger_dir.display(),
        exit_file.display(),
        stty_file.display()
    );
    let tmux = Tmux::start("term", &command);
    tmux.wait_for("the decisions", |s| has_row(s, last, "SLOW_DOWN"));
    let pid = tmux.program_pid();
    let status = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    assert_eq!(read_when_written(&exit_file).trim(), "0");
    read_when_written(&stty_file);
    assert!(stty_is_cooked(&stty_file));
    assert!(!tmux.screen().contains("latest decisions"));
}

#[test]
fn top_refuses_a_directory_that_is_not_a_ledger() {
    let dir = tempfile::tempdir().unwrap();
    let output = Command::new(binary())
        .arg("top")
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("is not a ledger directory"),
        "stderr: {stderr}"
    );
}
