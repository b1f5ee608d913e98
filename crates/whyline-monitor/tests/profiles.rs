//! Safety profiles and configuration files: defaults per level, overrides, and errors that
//! name the file, line and key.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};

use whyline_monitor::{
    AlertLevelSetting, CollectorChoice, DurabilityChoice, MonitorError, MonitorSettings,
    SafetyIntegrityLevel, SigningChoice,
};

fn example(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples/config")
        .join(name)
}

#[test]
fn every_shipped_example_config_loads() {
    let game = MonitorSettings::from_file(example("video_game.toml")).unwrap();
    assert_eq!(game.integrity_level, SafetyIntegrityLevel::QM);
    assert_eq!(game.collector, CollectorChoice::Ring);
    assert_eq!(game.ring_size, 64);
    assert!(!game.andon.enabled);

    let car = MonitorSettings::from_file(example("autonomous_vehicle.toml")).unwrap();
    assert_eq!(car.integrity_level, SafetyIntegrityLevel::SIL3);
    assert_eq!(car.collector, CollectorChoice::Ledger);
    assert_eq!(car.durability, DurabilityChoice::Sync);
    assert_eq!(car.signing, SigningChoice::Ed25519);
    assert_eq!(car.andon.red_latency_ms, Some(33.0));
    assert_eq!(
        car.alert_endpoint.as_deref(),
        Some("http://127.0.0.1:8080/alert")
    );

    let clinic = MonitorSettings::from_file(example("medical.toml")).unwrap();
    assert_eq!(clinic.integrity_level, SafetyIntegrityLevel::SIL2);
    assert_eq!(clinic.durability, DurabilityChoice::Interval);
    assert_eq!(clinic.andon.ood_range, Some(AlertLevelSetting::Red));
}

#[test]
fn a_level_sets_defaults_and_the_file_overrides_them() {
    let text =
        "[inference_monitor]\nintegrity_level = \"SIL4\"\n\n[andon]\nyellow_confidence = 0.9\n";
    let settings = MonitorSettings::from_toml(text, Path::new("sil4.toml")).unwrap();
    assert_eq!(settings.collector, CollectorChoice::Ledger);
    assert_eq!(settings.durability, DurabilityChoice::Sync);
    assert!(settings.andon.halt_on_red, "SIL4 stops the line on red");
    assert_eq!(
        settings.andon.yellow_confidence,
        Some(0.9),
        "the file's value wins"
    );
    assert_eq!(
        settings.andon.red_confidence,
        Some(0.6),
        "the profile's value stays"
    );
}

#[test]
fn the_seed_specs_hash_chain_name_is_accepted() {
    let text = "[inference_monitor]\nintegrity_level = \"SIL3\"\ncollector = \"hash_chain\"\n";
    let settings = MonitorSettings::from_toml(text, Path::new("av.toml")).unwrap();
    assert_eq!(settings.collector, CollectorChoice::Ledger);
}

#[test]
fn an_unknown_key_names_file_line_and_key() {
    let text = "[inference_monitor]\ncollector = \"ring\"\nhsm_device = \"/dev/hsm0\"\n";
    let error = MonitorSettings::from_toml(text, Path::new("av.toml")).unwrap_err();
    match &error {
        MonitorError::ConfigParse {
            path,
            line,
            message,
            ..
        } => {
            assert_eq!(path, Path::new("av.toml"));
            assert_eq!(*line, 3);
            assert!(message.contains("hsm_device"), "{message}");
        }
        other => panic!("expected a parse error, got {other:?}"),
    }
    assert!(error.to_string().starts_with("av.toml:3:"), "{error}");
}

#[test]
fn a_value_of_the_wrong_type_names_the_key() {
    let text = "[andon]\nenabled = true\nred_confidence = \"low\"\n";
    let error = MonitorSettings::from_toml(text, Path::new("bad.toml")).unwrap_err();
    let message = error.to_string();
    assert!(message.starts_with("bad.toml:3:"), "{message}");
    assert!(message.contains("red_confidence"), "{message}");
}

#[test]
fn an_unknown_level_is_an_error() {
    let text = "[inference_monitor]\nintegrity_level = \"SIL5\"\n";
    let error = MonitorSettings::from_toml(text, Path::new("x.toml")).unwrap_err();
    assert!(
        matches!(&error, MonitorError::ConfigParse { line: 2, .. }),
        "{error:?}"
    );
    assert!(error.to_string().contains("SIL5"), "{error}");
}

#[test]
fn inconsistent_values_name_the_field() {
    let text = "[inference_monitor]\ncollector = \"ring\"\ndurability = \"sync\"\n";
    let error = MonitorSettings::from_toml(text, Path::new("x.toml")).unwrap_err();
    assert!(
        matches!(&error, MonitorError::InvalidConfig { field, .. } if field == "x.toml: inference_monitor.durability"),
        "{error:?}"
    );
    let text = "[andon]\nyellow_confidence = 0.5\nred_confidence = 0.9\n";
    let error = MonitorSettings::from_toml(text, Path::new("x.toml")).unwrap_err();
    assert!(
        error.to_string().contains("andon.red_confidence"),
        "{error}"
    );
}

#[test]
fn a_missing_file_is_an_io_error_naming_it() {
    let error = MonitorSettings::from_file("/nonexistent/whyline.toml").unwrap_err();
    assert!(
        matches!(&error, MonitorError::ConfigIo { path, .. } if path == Path::new("/nonexistent/whyline.toml"))
    );
}
