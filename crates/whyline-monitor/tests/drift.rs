//! Drift detectors against river: every committed stream must give river's warning and drift
//! indices exactly; river's documented examples pass as named tests; arbitrary input never
//! panics and non-finite input is rejected without touching the detector; bad parameters are
//! named.
//!
//! Expected indices come only from `river` 0.26.1, through the fixtures written by
//! `python/make_drift_fixtures.py` (see `tests/fixtures/drift/README.md`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;

use proptest::prelude::*;
use serde::Deserialize;
use whyline_monitor::MonitorError;
use whyline_monitor::drift::{
    Adwin, AdwinConfig, Ddm, DdmConfig, DriftDetector, DriftDetectorConfig, DriftStatus, Eddm,
    EddmConfig, PageHinkley, PageHinkleyConfig, PageHinkleyMode,
};

// ---------------------------------------------------------------------------------------------
// Fixtures

#[derive(Debug, Deserialize)]
struct Fixture {
    name: String,
    detector: String,
    params: serde_json::Map<String, serde_json::Value>,
    river_version: String,
    inputs: Vec<f64>,
    warnings: Vec<usize>,
    drifts: Vec<usize>,
    /// ADWIN: `[index, width, total, variance, estimation]` after every 97th update and after
    /// each drift; EDDM: `[index, largest p2s]` after each error.
    #[serde(default)]
    states: Vec<Vec<f64>>,
}

fn fixture_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/drift")
}

fn load(name: &str) -> Fixture {
    let path = fixture_dir().join(format!("{name}.json"));
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    let fixture: Fixture =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("parsing {}: {e}", path.display()));
    assert_eq!(fixture.name, name);
    assert_eq!(
        fixture.river_version, "0.26.1",
        "{name}: regenerate with the pinned river"
    );
    fixture
}

/// Builds the detector through its configuration, with river's parameter names as written by
/// the fixture script (so the serde names are checked against river's too).
fn detector_for(fixture: &Fixture) -> Box<dyn DriftDetector + Send + Sync> {
    let kind = match fixture.detector.as_str() {
        "DDM" => "ddm",
        "EDDM" => "eddm",
        "ADWIN" => "adwin",
        "PageHinkley" => "page_hinkley",
        other => panic!("{}: unknown detector {other}", fixture.name),
    };
    let mut params = fixture.params.clone();
    params.insert("kind".into(), kind.into());
    let config: DriftDetectorConfig = serde_json::from_value(serde_json::Value::Object(params))
        .unwrap_or_else(|e| panic!("{}: params: {e}", fixture.name));
    let detector = config.build().unwrap();
    assert_eq!(detector.name(), fixture.detector);
    detector
}

/// Warning and drift indices (river's flags after each update), checking on the way that the
/// returned status agrees with the flags.
fn run(detector: &mut dyn DriftDetector, inputs: &[f64]) -> (Vec<usize>, Vec<usize>) {
    let (mut warnings, mut drifts) = (Vec::new(), Vec::new());
    for (i, &x) in inputs.iter().enumerate() {
        let status = detector.update(x).unwrap();
        assert_eq!(status, detector.status());
        let expected_status = if detector.drift_detected() {
            DriftStatus::Drift
        } else if detector.warning_detected() {
            DriftStatus::Warning
        } else {
            DriftStatus::Stable
        };
        assert_eq!(
            status, expected_status,
            "index {i}: status and flags disagree"
        );
        if detector.warning_detected() {
            warnings.push(i);
        }
        if detector.drift_detected() {
            drifts.push(i);
        }
    }
    (warnings, drifts)
}

/// Prints the first index where two index lists part, to make a mismatch readable.
fn assert_same_indices(what: &str, name: &str, expected: &[usize], found: &[usize]) {
    if expected != found {
        let first = expected.iter().zip(found).position(|(a, b)| a != b);
        panic!(
            "{name}: {what} indices differ from river (first difference at list position \
             {first:?})\n river: {expected:?}\n whyline: {found:?}"
        );
    }
}

fn check_fixture(name: &str) {
    let fixture = load(name);
    let mut detector = detector_for(&fixture);
    let (warnings, drifts) = run(detector.as_mut(), &fixture.inputs);
    assert_same_indices("drift", name, &fixture.drifts, &drifts);
    assert_same_indices("warning", name, &fixture.warnings, &warnings);

    // The same stream again after `reset` gives the same answer.
    detector.reset();
    let again = run(detector.as_mut(), &fixture.inputs);
    assert_eq!(
        again,
        (warnings, drifts),
        "{name}: reset did not restore a fresh detector"
    );
}

macro_rules! river_fixtures {
    ($($name:ident),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                check_fixture(stringify!($name));
            }
        )*

        const FIXTURES: &[&str] = &[$(stringify!($name)),*];
    };
}

mod river_streams {
    use super::check_fixture;

    river_fixtures!(
        adwin_doc,
        adwin_doc_range4,
        adwin_gauss_a,
        adwin_gauss_b,
        adwin_gauss_c_params,
        adwin_gauss_b_clock7,
        adwin_gauss_d_edge,
        adwin_bernoulli_a,
        adwin_bernoulli_long,
        ddm_doc,
        ddm_bernoulli_a,
        ddm_bernoulli_b,
        ddm_bernoulli_c_params,
        eddm_doc,
        eddm_bernoulli_a,
        eddm_bernoulli_b,
        eddm_bernoulli_c_params,
        eddm_warm_start_boundary,
        page_hinkley_doc,
        page_hinkley_gauss_a,
        page_hinkley_gauss_b,
        page_hinkley_gauss_c_up,
        page_hinkley_gauss_b_down,
    );

    #[test]
    fn every_fixture_file_is_checked() {
        let mut on_disk: Vec<String> = std::fs::read_dir(super::fixture_dir())
            .unwrap()
            .filter_map(|entry| {
                let path = entry.unwrap().path();
                if path.extension()? != "json" {
                    return None;
                }
                Some(path.file_stem()?.to_str()?.to_string())
            })
            .collect();
        on_disk.sort();
        let mut checked: Vec<String> = FIXTURES.iter().map(|s| (*s).to_string()).collect();
        checked.sort();
        assert_eq!(on_disk, checked);
    }
}

// ---------------------------------------------------------------------------------------------
// river's documented examples (docstrings of river 0.26.1), printed the way the docs print them

/// The docstrings print the first warning after the start or after each drift, and every drift.
fn doc_printout(detector: &mut dyn DriftDetector, inputs: &[f64]) -> Vec<String> {
    let mut lines = Vec::new();
    let mut print_warning = true;
    for (i, &x) in inputs.iter().enumerate() {
        detector.update(x).unwrap();
        if detector.warning_detected() && print_warning {
            lines.push(format!("Warning detected at index {i}"));
            print_warning = false;
        }
        if detector.drift_detected() {
            lines.push(format!("Change detected at index {i}"));
            print_warning = true;
        }
    }
    lines
}

#[test]
fn adwin_river_doc_example_detects_drift_at_1023() {
    let fixture = load("adwin_doc");
    let lines = doc_printout(&mut Adwin::default(), &fixture.inputs);
    assert_eq!(lines, ["Change detected at index 1023"]);
    assert_eq!(fixture.inputs[1023], 4.0, "river prints input value 4");
}

#[test]
fn adwin_issue_variant_of_the_doc_example_detects_drift_at_1023() {
    let fixture = load("adwin_doc_range4");
    let lines = doc_printout(&mut Adwin::default(), &fixture.inputs);
    assert_eq!(lines, ["Change detected at index 1023"]);
}

#[test]
fn ddm_river_doc_example_warns_at_1084_and_1492_and_drifts_at_1334() {
    let fixture = load("ddm_doc");
    let lines = doc_printout(&mut Ddm::default(), &fixture.inputs);
    assert_eq!(
        lines,
        [
            "Warning detected at index 1084",
            "Change detected at index 1334",
            "Warning detected at index 1492",
        ]
    );
}

#[test]
fn eddm_river_doc_example_warns_at_1059_and_drifts_at_1278() {
    let fixture = load("eddm_doc");
    let config = EddmConfig {
        alpha: 0.8,
        beta: 0.75,
        ..EddmConfig::default()
    };
    let lines = doc_printout(&mut Eddm::new(config).unwrap(), &fixture.inputs);
    assert_eq!(
        lines,
        [
            "Warning detected at index 1059",
            "Change detected at index 1278"
        ]
    );
}

#[test]
fn page_hinkley_river_doc_example_detects_drift_at_1006() {
    let fixture = load("page_hinkley_doc");
    let lines = doc_printout(&mut PageHinkley::default(), &fixture.inputs);
    assert_eq!(lines, ["Change detected at index 1006"]);
    assert_eq!(fixture.inputs[1006], 5.0, "river prints input value 5");
}

// ---------------------------------------------------------------------------------------------
// Defaults and configuration

#[test]
fn defaults_are_rivers() {
    // river 0.26.1 signatures: DDM(warm_start=30, warning_threshold=2.0, drift_threshold=3.0),
    // EDDM(warm_start=30, alpha=0.95, beta=0.9), ADWIN(delta=0.002, clock=32, max_buckets=5,
    // min_window_length=5, grace_period=10), PageHinkley(min_instances=30, delta=0.005,
    // threshold=50.0, alpha=1 - 0.0001, mode="both").
    assert_eq!(
        DdmConfig::default(),
        DdmConfig {
            warm_start: 30,
            warning_threshold: 2.0,
            drift_threshold: 3.0
        }
    );
    assert_eq!(
        EddmConfig::default(),
        EddmConfig {
            warm_start: 30,
            alpha: 0.95,
            beta: 0.9
        }
    );
    assert_eq!(
        AdwinConfig::default(),
        AdwinConfig {
            delta: 0.002,
            clock: 32,
            max_buckets: 5,
            min_window_length: 5,
            grace_period: 10
        }
    );
    assert_eq!(
        PageHinkleyConfig::default(),
        PageHinkleyConfig {
            min_instances: 30,
            delta: 0.005,
            threshold: 50.0,
            alpha: 1.0 - 0.0001,
            mode: PageHinkleyMode::Both
        }
    );
    let names: Vec<&str> = [
        DriftDetectorConfig::Ddm(DdmConfig::default()),
        DriftDetectorConfig::Eddm(EddmConfig::default()),
        DriftDetectorConfig::Adwin(AdwinConfig::default()),
        DriftDetectorConfig::PageHinkley(PageHinkleyConfig::default()),
    ]
    .iter()
    .map(|c| c.build().unwrap().name())
    .collect();
    assert_eq!(names, ["DDM", "EDDM", "ADWIN", "PageHinkley"]);
}

/// EDDM's drift test is strict: `level < beta`. Errors at a constant spacing keep the
/// distance statistics constant (the first error three inputs in, as the rest), so after
/// the first maximum every level is exactly 1; with `alpha = beta = 1` (the largest the
/// configuration allows) that is neither a warning nor a drift.
#[test]
fn eddm_at_a_level_equal_to_beta_does_not_drift() {
    let mut eddm = Eddm::new(EddmConfig {
        warm_start: 3,
        alpha: 1.0,
        beta: 1.0,
    })
    .unwrap();
    for i in 0..300 {
        let status = eddm.update(if i % 3 == 2 { 1.0 } else { 0.0 }).unwrap();
        assert_eq!(status, DriftStatus::Stable, "input {i}");
    }
    // Every distance was 3, with no spread: the level was 3 / 3 at each error.
    assert_eq!(eddm.p2s_max(), 3.0);
}

#[test]
fn config_reads_missing_fields_as_defaults_and_rejects_unknown_ones() {
    let config: DriftDetectorConfig =
        serde_json::from_str(r#"{"kind": "page_hinkley", "mode": "down"}"#).unwrap();
    assert_eq!(
        config,
        DriftDetectorConfig::PageHinkley(PageHinkleyConfig {
            mode: PageHinkleyMode::Down,
            ..PageHinkleyConfig::default()
        })
    );
    let unknown = serde_json::from_str::<DriftDetectorConfig>(r#"{"kind": "adwin", "delt": 0.1}"#);
    let message = unknown.unwrap_err().to_string();
    assert!(
        message.contains("delt"),
        "error should name the unknown key: {message}"
    );
    let bad_kind = serde_json::from_str::<DriftDetectorConfig>(r#"{"kind": "kswin"}"#);
    assert!(bad_kind.unwrap_err().to_string().contains("kswin"));
}

/// The setting an `InvalidSetting` names (`DETECTOR.field`).
fn invalid_field(result: Result<impl Sized, MonitorError>) -> String {
    match result {
        Err(MonitorError::InvalidSetting {
            file: None,
            setting,
            ..
        }) => setting,
        Err(other) => panic!("expected InvalidSetting, got {other:?}"),
        Ok(_) => panic!("expected InvalidSetting, got a detector"),
    }
}

#[test]
fn invalid_parameters_are_rejected_naming_detector_and_field() {
    let adwin = AdwinConfig::default;
    for (config, field) in [
        (
            AdwinConfig {
                delta: 0.0,
                ..adwin()
            },
            "delta",
        ),
        (
            AdwinConfig {
                delta: 1.0,
                ..adwin()
            },
            "delta",
        ),
        (
            AdwinConfig {
                delta: f64::NAN,
                ..adwin()
            },
            "delta",
        ),
        (
            AdwinConfig {
                clock: 0,
                ..adwin()
            },
            "clock",
        ),
        (
            AdwinConfig {
                max_buckets: 0,
                ..adwin()
            },
            "max_buckets",
        ),
        (
            AdwinConfig {
                max_buckets: 1025,
                ..adwin()
            },
            "max_buckets",
        ),
        (
            AdwinConfig {
                min_window_length: 0,
                ..adwin()
            },
            "min_window_length",
        ),
    ] {
        assert_eq!(invalid_field(Adwin::new(config)), format!("ADWIN.{field}"));
    }

    let ddm = DdmConfig::default;
    for (config, field) in [
        (
            DdmConfig {
                warning_threshold: 0.0,
                ..ddm()
            },
            "warning_threshold",
        ),
        (
            DdmConfig {
                warning_threshold: f64::INFINITY,
                ..ddm()
            },
            "warning_threshold",
        ),
        (
            DdmConfig {
                drift_threshold: 1.5,
                ..ddm()
            },
            "drift_threshold",
        ),
        (
            DdmConfig {
                drift_threshold: f64::NAN,
                ..ddm()
            },
            "drift_threshold",
        ),
    ] {
        assert_eq!(invalid_field(Ddm::new(config)), format!("DDM.{field}"));
    }

    let eddm = EddmConfig::default;
    for (config, field) in [
        // river itself raises ValueError("'alpha' must be greater or equal to 'beta'.")
        (
            EddmConfig {
                alpha: 0.8,
                beta: 0.9,
                ..eddm()
            },
            "beta",
        ),
        (
            EddmConfig {
                alpha: 1.5,
                ..eddm()
            },
            "alpha",
        ),
        (
            EddmConfig {
                alpha: f64::NAN,
                ..eddm()
            },
            "alpha",
        ),
        (
            EddmConfig {
                alpha: 0.0,
                beta: 0.0,
                ..eddm()
            },
            "alpha",
        ),
        (
            EddmConfig {
                beta: 0.0,
                ..eddm()
            },
            "beta",
        ),
    ] {
        assert_eq!(invalid_field(Eddm::new(config)), format!("EDDM.{field}"));
    }

    let ph = PageHinkleyConfig::default;
    for (config, field) in [
        (
            PageHinkleyConfig {
                delta: -0.1,
                ..ph()
            },
            "delta",
        ),
        (
            PageHinkleyConfig {
                threshold: 0.0,
                ..ph()
            },
            "threshold",
        ),
        (
            PageHinkleyConfig {
                threshold: f64::INFINITY,
                ..ph()
            },
            "threshold",
        ),
        (PageHinkleyConfig { alpha: 0.0, ..ph() }, "alpha"),
        (
            PageHinkleyConfig {
                alpha: 1.01,
                ..ph()
            },
            "alpha",
        ),
    ] {
        assert_eq!(
            invalid_field(PageHinkley::new(config)),
            format!("PageHinkley.{field}")
        );
    }

    let via_config = DriftDetectorConfig::Adwin(AdwinConfig {
        clock: 0,
        ..adwin()
    })
    .build();
    assert_eq!(invalid_field(via_config), "ADWIN.clock");
    let message = Adwin::new(AdwinConfig {
        delta: 2.0,
        ..adwin()
    })
    .unwrap_err()
    .to_string();
    assert_eq!(
        message,
        "invalid setting ADWIN.delta = 2: expected 0 < delta < 1"
    );
}

// ---------------------------------------------------------------------------------------------
// Arbitrary input

fn all_defaults() -> Vec<Box<dyn DriftDetector + Send + Sync>> {
    vec![
        Box::new(Ddm::default()),
        Box::new(Eddm::default()),
        Box::new(Adwin::default()),
        Box::new(PageHinkley::default()),
    ]
}

fn finite() -> impl Strategy<Value = f64> {
    prop_oneof![
        4 => prop::num::f64::NORMAL | prop::num::f64::ZERO | prop::num::f64::SUBNORMAL,
        4 => -10.0..10.0_f64,
        2 => (0u8..=1).prop_map(f64::from),
        1 => Just(f64::MAX),
        1 => Just(f64::MIN),
    ]
}

fn non_finite() -> impl Strategy<Value = f64> {
    prop_oneof![
        Just(f64::NAN),
        Just(f64::INFINITY),
        Just(f64::NEG_INFINITY),
        Just(-f64::NAN)
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Any finite stream, however extreme, gives a status and never panics; the returned status
    /// is always the one `status()` reports.
    #[test]
    fn arbitrary_finite_input_never_panics(stream in prop::collection::vec(finite(), 0..1500)) {
        for mut detector in all_defaults() {
            for &x in &stream {
                let status = detector.update(x);
                prop_assert_eq!(status.ok(), Some(detector.status()));
            }
        }
    }

    /// ADWIN with a check on every update and small buckets, on any finite stream: never panics
    /// and its window never holds more items than were fed since the last reset.
    #[test]
    fn adwin_with_extreme_parameters_never_panics(
        stream in prop::collection::vec(finite(), 0..800),
        max_buckets in 1u32..4,
        min_window_length in 1u64..4,
        grace_period in 0u64..3,
    ) {
        let config = AdwinConfig { clock: 1, max_buckets, min_window_length, grace_period, ..AdwinConfig::default() };
        let mut adwin = Adwin::new(config).unwrap();
        let mut since_reset = 0.0;
        for &x in &stream {
            if adwin.drift_detected() {
                since_reset = 0.0;
            }
            adwin.update(x).unwrap();
            since_reset += 1.0;
            prop_assert!(adwin.width() >= 1.0 && adwin.width() <= since_reset);
        }
    }

    /// NaN and infinities are rejected with `NonFiniteInput` and change nothing: a detector that
    /// saw them answers every later finite input exactly as one that never did.
    #[test]
    fn non_finite_input_is_rejected_and_leaves_the_detector_unchanged(
        stream in prop::collection::vec(
            prop_oneof![8 => (0u8..=1).prop_map(f64::from), 2 => -3.0..3.0_f64], 0..600),
        bad in prop::collection::vec((0usize..600, non_finite()), 1..20),
    ) {
        for (mut clean, mut dirty) in all_defaults().into_iter().zip(all_defaults()) {
            let name = clean.name();
            let mut bad = bad.clone();
            bad.sort_by_key(|(at, _)| *at);
            let mut bad = bad.into_iter().peekable();
            for (i, &x) in stream.iter().enumerate() {
                while let Some((_, value)) = bad.next_if(|(at, _)| *at <= i) {
                    let status_before = dirty.status();
                    match dirty.update(value) {
                        Err(MonitorError::NonFiniteObservation { detector, value: rejected }) => {
                            prop_assert_eq!(detector, name);
                            prop_assert_eq!(rejected.to_bits(), value.to_bits());
                        }
                        other => prop_assert!(false, "{} accepted {}: {:?}", name, value, other),
                    }
                    prop_assert_eq!(dirty.status(), status_before);
                }
                prop_assert_eq!(clean.update(x).ok(), dirty.update(x).ok(), "{} at {}", name, i);
                prop_assert_eq!(clean.warning_detected(), dirty.warning_detected());
            }
        }
    }
}

#[test]
fn non_finite_error_message_names_detector_and_value() {
    let err = Ddm::default().update(f64::NAN).unwrap_err();
    assert_eq!(
        err.to_string(),
        "DDM: observation NaN is not finite; rejected, detector state unchanged"
    );
    assert!(matches!(
        Adwin::default().update(f64::NEG_INFINITY),
        Err(MonitorError::NonFiniteObservation { detector: "ADWIN", value }) if value == f64::NEG_INFINITY
    ));
}

#[test]
fn update_error_matches_update_with_zero_and_one() {
    let fixture = load("ddm_doc");
    let (mut by_bool, mut by_float) = (Ddm::default(), Ddm::default());
    let (mut e_bool, mut e_float) = (Eddm::default(), Eddm::default());
    for &x in &fixture.inputs {
        assert_eq!(
            Some(by_bool.update_error(x == 1.0)),
            by_float.update(x).ok()
        );
        assert_eq!(Some(e_bool.update_error(x == 1.0)), e_float.update(x).ok());
    }
}

/// `found` equals river's `expected` up to rounding: both sum the same items, in buckets
/// merged in the same order, but not always in the same floating-point order.
fn assert_close(what: &str, found: f64, expected: f64) {
    let tolerance = 1e-9 * expected.abs().max(1.0);
    assert!(
        (found - expected).abs() <= tolerance,
        "{what}: whyline {found}, river {expected}"
    );
}

#[test]
fn adwin_window_width_total_variance_and_mean_follow_river_through_every_stream() {
    for name in [
        "adwin_doc",
        "adwin_doc_range4",
        "adwin_gauss_a",
        "adwin_gauss_b",
        "adwin_gauss_c_params",
        "adwin_gauss_b_clock7",
        "adwin_gauss_d_edge",
        "adwin_bernoulli_a",
        "adwin_bernoulli_long",
    ] {
        let fixture = load(name);
        assert!(
            fixture.states.len() > 9,
            "{name}: no window states (regenerate with python/make_drift_fixtures.py)"
        );
        let config: AdwinConfig =
            serde_json::from_value(serde_json::Value::Object(fixture.params.clone())).unwrap();
        let mut adwin = Adwin::new(config).unwrap();
        let mut states = fixture.states.iter().peekable();
        for (i, &x) in fixture.inputs.iter().enumerate() {
            DriftDetector::update(&mut adwin, x).unwrap();
            while let Some([_, width, total, variance, estimation]) = states
                .next_if(|state| state[0] as usize == i)
                .map(|state| <[f64; 5]>::try_from(state.as_slice()).unwrap())
            {
                let at = |what: &str| format!("{name}, after input {i}: {what}");
                assert_eq!(adwin.width(), width, "{}", at("width"));
                assert_close(&at("total"), adwin.total(), total);
                assert_close(&at("variance"), adwin.variance(), variance);
                assert_close(&at("estimation"), adwin.estimation(), estimation);
            }
        }
        assert!(states.next().is_none(), "{name}: states past the stream");
    }
}

/// EDDM's largest p2s (the reference of its warning and drift levels) after every error,
/// river's `_p2s_prime_max`: when it is first set (not before the warm start is over) and
/// how it grows.
#[test]
fn eddm_largest_p2s_follows_river_after_every_error() {
    for name in [
        "eddm_doc",
        "eddm_bernoulli_a",
        "eddm_bernoulli_b",
        "eddm_bernoulli_c_params",
        "eddm_warm_start_boundary",
    ] {
        let fixture = load(name);
        assert!(
            fixture.states.len() > 20,
            "{name}: no p2s states (regenerate with python/make_drift_fixtures.py)"
        );
        let config: EddmConfig =
            serde_json::from_value(serde_json::Value::Object(fixture.params.clone())).unwrap();
        let mut eddm = Eddm::new(config).unwrap();
        let mut states = fixture.states.iter().peekable();
        for (i, &x) in fixture.inputs.iter().enumerate() {
            DriftDetector::update(&mut eddm, x).unwrap();
            if let Some(state) = states.next_if(|state| state[0] as usize == i) {
                assert_close(
                    &format!("{name}, after input {i}: largest p2s"),
                    eddm.p2s_max(),
                    state[1],
                );
            }
        }
        assert!(states.next().is_none(), "{name}: states past the stream");
    }
}

#[test]
fn a_boxed_detector_answers_as_the_detector_inside() {
    let fixture = load("adwin_gauss_a");
    let mut boxed: Box<dyn DriftDetector + Send + Sync> = Box::new(Adwin::default());
    let mut plain = Adwin::default();
    let mut drifts = Vec::new();
    for (i, &x) in fixture.inputs.iter().enumerate() {
        // Through `impl DriftDetector for Box<D>`, not through the `dyn` inside.
        let status = DriftDetector::update(&mut boxed, x).unwrap();
        assert_eq!(status, DriftDetector::update(&mut plain, x).unwrap());
        assert_eq!(DriftDetector::status(&boxed), plain.status());
        assert_eq!(
            DriftDetector::warning_detected(&boxed),
            plain.warning_detected()
        );
        if DriftDetector::drift_detected(&boxed) {
            drifts.push(i);
        }
    }
    assert_same_indices("drift", "boxed adwin_gauss_a", &fixture.drifts, &drifts);
}

/// A model that is always right, or always wrong, has an error rate that does not move:
/// DDM never warns nor drifts on it (its bars are strict: `p + s > p_min + k s_min`, and
/// here `s` is 0 throughout).
#[test]
fn ddm_on_a_constant_error_rate_never_warns_or_drifts() {
    for error in [0.0, 1.0] {
        let mut ddm = Ddm::default();
        for i in 0..500 {
            assert_eq!(
                ddm.update(error).unwrap(),
                DriftStatus::Stable,
                "error {error}, input {i}"
            );
        }
    }
}

/// A boxed detector's warnings are the detector's: DDM through `Box<Ddm>` prints river's
/// documented warnings and drift.
#[test]
fn a_boxed_ddm_warns_as_the_ddm_inside() {
    let fixture = load("ddm_doc");
    let mut boxed = Box::new(Ddm::default());
    assert_eq!(
        doc_printout(&mut boxed, &fixture.inputs),
        [
            "Warning detected at index 1084",
            "Change detected at index 1334",
            "Warning detected at index 1492",
        ]
    );
}

#[test]
fn each_detector_keeps_the_configuration_it_was_built_with() {
    let ph = PageHinkleyConfig {
        threshold: 20.0,
        min_instances: 50,
        ..PageHinkleyConfig::default()
    };
    assert_eq!(PageHinkley::new(ph.clone()).unwrap().config(), &ph);
    assert_ne!(ph, PageHinkleyConfig::default());
    let adwin = AdwinConfig {
        delta: 0.01,
        ..AdwinConfig::default()
    };
    assert_eq!(Adwin::new(adwin.clone()).unwrap().config(), &adwin);
    let ddm = DdmConfig {
        warm_start: 7,
        warning_threshold: 1.5,
        drift_threshold: 2.5,
    };
    assert_eq!(Ddm::new(ddm.clone()).unwrap().config(), &ddm);
    let eddm = EddmConfig {
        warm_start: 7,
        alpha: 0.8,
        beta: 0.7,
    };
    assert_eq!(Eddm::new(eddm.clone()).unwrap().config(), &eddm);
}

/// A test statistic exactly at the threshold is not a drift, as river compares (`>`): with
/// `min_instances` 1, no delta, no forgetting and threshold 1, the stream 0, 2 puts the
/// increase at exactly 1 (river 0.26.1: no drift), and 5 then puts it at 11/3 (drift).
#[test]
fn page_hinkley_at_exactly_its_threshold_is_stable_as_in_river() {
    let mut detector = PageHinkley::new(PageHinkleyConfig {
        min_instances: 1,
        delta: 0.0,
        threshold: 1.0,
        alpha: 1.0,
        mode: PageHinkleyMode::Up,
    })
    .unwrap();
    let statuses: Vec<DriftStatus> = [0.0, 2.0, 5.0]
        .into_iter()
        .map(|x| detector.update(x).unwrap())
        .collect();
    assert_eq!(
        statuses,
        [DriftStatus::Stable, DriftStatus::Stable, DriftStatus::Drift]
    );
}
