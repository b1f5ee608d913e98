//! The drone example: the policy is scikit-learn's, a seed writes the same bytes on every run,
//! and the incident report of the near-miss shows what the drone sensed and its margins.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::path::Path;

use whyline::forensics::{Investigation, render_text};
use whyline::ledger::keys;
use whyline::{IncidentQuery, Model, SegmentStore, VerifyOutcome, verify_store};
use whyline_example_drone::{DroneError, Flight, Manoeuvre, avoidance_model, fly};

/// Every file under `dir`, by relative path.
fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(at) = stack.pop() {
        for entry in std::fs::read_dir(&at).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let name = path.strip_prefix(dir).unwrap().display().to_string();
                out.insert(name, std::fs::read(&path).unwrap());
            }
        }
    }
    out
}

#[test]
fn the_policy_predicts_what_scikit_learn_predicts() {
    let expected: serde_json::Value =
        serde_json::from_str(include_str!("../avoidance_tree.expected.json")).unwrap();
    let model: Model = avoidance_model().unwrap();
    let rows = expected["rows"].as_array().unwrap();
    let probabilities = expected["predict_proba"].as_array().unwrap();
    assert_eq!(rows.len(), 64);
    for (row, want) in rows.iter().zip(probabilities) {
        let row: Vec<f64> = row
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect();
        let got = model.predict(&row).unwrap().probabilities.unwrap();
        for (g, w) in got.iter().zip(want.as_array().unwrap()) {
            assert!((g - w.as_f64().unwrap()).abs() < 1e-12, "{row:?}: {got:?}");
        }
    }
}

#[test]
fn the_same_seed_writes_a_byte_identical_ledger() {
    let first = tempfile::tempdir().unwrap();
    let second = tempfile::tempdir().unwrap();
    let other = tempfile::tempdir().unwrap();
    let a = fly(first.path(), 7, 20).unwrap();
    fly(second.path(), 7, 20).unwrap();
    fly(other.path(), 8, 20).unwrap();
    let (a_files, b_files) = (files(first.path()), files(second.path()));
    assert_eq!(
        a_files.keys().collect::<Vec<_>>(),
        b_files.keys().collect::<Vec<_>>()
    );
    assert!(a_files.len() >= 5, "{:?}", a_files.keys());
    for (name, bytes) in &a_files {
        assert!(bytes == &b_files[name], "{name} differs between two runs");
    }
    // Another seed, another flight.
    assert_ne!(
        files(other.path())["ledger/entries.wls"],
        a_files["ledger/entries.wls"]
    );
    // And the log is a sound, signed ledger.
    let verifier = keys::read_verifier(&a.public_key).unwrap();
    let store = SegmentStore::open(&a.ledger_dir).unwrap();
    match verify_store(&store, Some(&verifier)).unwrap() {
        VerifyOutcome::Intact(report) => {
            assert!(
                report.entries > a.decisions,
                "decisions, sealed inputs, the model"
            );
            assert!(report.checkpoints >= 1);
        }
        VerifyOutcome::Broken(damage) => panic!("{damage}"),
    }
}

#[test]
fn the_incident_report_of_the_near_miss_shows_the_margins() {
    let dir = tempfile::tempdir().unwrap();
    let log = fly(dir.path(), 7, 20).unwrap();
    let miss = log.near_miss.clone().expect("seed 7 has a near-miss");
    assert!(
        miss.separation_m > 0.0 && miss.separation_m < 5.0,
        "{miss:?}"
    );
    let verifier = keys::read_verifier(&log.public_key).unwrap();
    let report = Investigation::new(
        &log.ledger_dir,
        IncidentQuery {
            time_ns: miss.time_ns,
            lookback_ns: 1_000_000_000,
            lookahead_ns: 0,
        },
    )
    .verifier(&verifier)
    .run()
    .unwrap();
    let text = render_text(&report);
    assert!(text.contains("VERIFIED"), "{text}");
    // The decision at the near-miss, with the sealed context opened.
    let separation = format!("min_separation_m: {}", miss.separation_m);
    assert!(text.contains(&separation), "{separation} not in\n{text}");
    for field in [
        "time_to_collision_s",
        "altitude_margin_m",
        "corridor_margin_m",
        "control_lateral_mps",
        "obstacle_distance_m=",
    ] {
        assert!(text.contains(field), "{field} not in\n{text}");
    }
    assert!(text.contains(miss.manoeuvre.class()), "{text}");
}

#[test]
fn the_course_and_the_weather_come_from_the_seed() {
    let mut a = Flight::new(3);
    let mut b = Flight::new(3);
    assert_eq!(a.obstacles(), b.obstacles());
    assert_ne!(a.obstacles(), Flight::new(4).obstacles());
    for _ in 0..400 {
        assert_eq!(a.sense(), b.sense());
        assert_eq!(a.apply(Manoeuvre::Cruise), b.apply(Manoeuvre::Cruise));
    }
    assert!((a.x() - 240.0).abs() < 1.0, "12 m/s for 20 s: {}", a.x());
}

#[test]
fn a_flight_of_no_time_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    assert!(matches!(
        fly(dir.path(), 7, 0),
        Err(DroneError::EmptyFlight)
    ));
}
