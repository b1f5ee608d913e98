//! Safety profiles and configuration files: defaults per level, overrides, and errors that
//! name the file, line and key.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};

use whyline_monitor::{
    AlertLevelSetting, CollectorChoice, Durability, MonitorError, MonitorSettings,
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
    assert_eq!(car.durability, Durability::Sync);
    assert_eq!(car.signing, SigningChoice::Ed25519);
    assert_eq!(car.andon.red_latency_ms, Some(33.0));
    assert_eq!(
        car.alert_endpoint.as_deref(),
        Some("http://127.0.0.1:8080/alert")
    );
    assert_eq!(car.drift.len(), 1, "ADWIN on the confidence");
    car.build_andon().unwrap();

    let clinic = MonitorSettings::from_file(example("medical.toml")).unwrap();
    assert_eq!(clinic.integrity_level, SafetyIntegrityLevel::SIL2);
    assert_eq!(
        clinic.durability,
        Durability::Interval {
            entries: 256,
            max_delay: std::time::Duration::from_millis(5)
        }
    );
    assert_eq!(clinic.andon.ood_range, Some(AlertLevelSetting::Red));
}

#[test]
fn a_level_sets_defaults_and_the_file_overrides_them() {
    let text =
        "[inference_monitor]\nintegrity_level = \"SIL4\"\n\n[andon]\nyellow_confidence = 0.9\n";
    let settings = MonitorSettings::from_toml(text, Path::new("sil4.toml")).unwrap();
    assert_eq!(settings.collector, CollectorChoice::Ledger);
    assert_eq!(settings.durability, Durability::Sync);
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
            column,
            message,
        } => {
            assert_eq!(path, Path::new("av.toml"));
            // The key opens its line: line 3, column 1 (both counted from 1).
            assert_eq!((*line, *column), (3, 1));
            // Named once: the parser's message names it already, so no `key` prefix.
            assert_eq!(message.matches("hsm_device").count(), 1, "{message}");
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

/// A table header with something after it on its line (a newline forgotten) is not a key:
/// the message names no key `[andon] enabled`.
#[test]
fn a_header_line_with_more_after_it_names_no_key() {
    let text = "[andon] enabled = true\n";
    let error = MonitorSettings::from_toml(text, Path::new("x.toml")).unwrap_err();
    let message = error.to_string();
    assert!(message.starts_with("x.toml:1:"), "{message}");
    assert!(!message.contains("key `["), "{message}");
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
        matches!(&error, MonitorError::InvalidSetting { file: Some(file), setting, .. }
            if file.as_path() == Path::new("x.toml") && setting == "inference_monitor.durability"),
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

#[test]
fn drift_rules_are_read_built_and_raise_named_alerts() {
    use whyline_monitor::drift::{DriftDetectorConfig, PageHinkleyConfig};
    use whyline_monitor::{AlertKind, AlertLevel, DecisionFacts, DriftRule, DriftSignal};
    let text = r#"
[andon]
enabled = true

[[andon.drift]]
signal = "output"
detector = { kind = "page_hinkley", threshold = 5.0 }

[[andon.drift]]
signal = { feature = 1 }
detector = { kind = "adwin" }
"#;
    let settings = MonitorSettings::from_toml(text, Path::new("drift.toml")).unwrap();
    assert_eq!(
        settings.drift[0],
        DriftRule {
            signal: DriftSignal::Output,
            detector: DriftDetectorConfig::PageHinkley(PageHinkleyConfig {
                threshold: 5.0,
                ..PageHinkleyConfig::default()
            }),
        }
    );
    assert_eq!(settings.drift[1].signal, DriftSignal::Feature(1));

    let mut andon = settings.build_andon().unwrap();
    let row = [0.0f32, 1.0];
    let mut drift_at = None;
    for sequence in 0..400u64 {
        let output = if sequence < 200 { 0.0 } else { 1.0 };
        let alert = andon.check(&DecisionFacts {
            sequence,
            timestamp_ns: sequence,
            row: &row,
            output,
            confidence: 0.9,
            latency_ns: 1_000,
        });
        if let Some(alert) = alert
            && let AlertKind::Drift { signal, .. } = &alert.kind
        {
            assert_eq!(alert.level, AlertLevel::Red);
            assert_eq!(signal, "output");
            drift_at.get_or_insert(sequence);
        }
    }
    let drift_at = drift_at.expect("Page-Hinkley on the output sees the step at 200");
    assert!((200..260).contains(&drift_at), "{drift_at}");
}

#[test]
fn a_bad_drift_rule_names_its_place() {
    let unknown = "[[andon.drift]]\nsignal = \"confidence\"\ndetector = { kind = \"kswin\" }\n";
    let error = MonitorSettings::from_toml(unknown, Path::new("drift.toml")).unwrap_err();
    let message = error.to_string();
    assert!(message.contains("drift.toml"), "{message}");
    assert!(message.contains("kswin"), "{message}");

    let out_of_range =
        "[[andon.drift]]\nsignal = \"confidence\"\ndetector = { kind = \"adwin\", delta = 2.0 }\n";
    let error = MonitorSettings::from_toml(out_of_range, Path::new("drift.toml")).unwrap_err();
    let message = error.to_string();
    assert!(message.contains("andon.drift[0].detector"), "{message}");
    assert!(message.contains("delta"), "{message}");
}

#[test]
fn group_commit_numbers_build_the_interval_policy() {
    let text = "[inference_monitor]\nintegrity_level = \"SIL1\"\ngroup_commit_ms = 20\ngroup_commit_entries = 64\n";
    let settings = MonitorSettings::from_toml(text, Path::new("g.toml")).unwrap();
    assert_eq!(
        settings.durability,
        Durability::Interval {
            entries: 64,
            max_delay: std::time::Duration::from_millis(20)
        }
    );
}

#[test]
fn a_key_the_settings_would_not_use_is_refused() {
    for (text, key) in [
        (
            "[inference_monitor]\nintegrity_level = \"SIL3\"\ngroup_commit_ms = 5\n",
            "inference_monitor.group_commit_ms",
        ),
        (
            "[inference_monitor]\nintegrity_level = \"SIL2\"\nring_size = 8\n",
            "inference_monitor.ring_size",
        ),
        (
            "[inference_monitor]\ncollector = \"ring\"\nstream_format = \"json\"\n",
            "inference_monitor.stream_format",
        ),
        (
            "[inference_monitor]\ncollector = \"stream\"\nkey_file = \"k\"\n",
            "inference_monitor.key_file",
        ),
        (
            "[inference_monitor]\ncollector = \"ring\"\nrecord_inputs = true\n",
            "inference_monitor.record_inputs",
        ),
        (
            "[inference_monitor]\ncollector = \"ledger\"\nkey_store = \"k.wks\"\n",
            "inference_monitor.key_store",
        ),
    ] {
        let error = MonitorSettings::from_toml(text, Path::new("u.toml")).unwrap_err();
        assert!(
            matches!(&error, MonitorError::InvalidSetting { file: Some(_), setting, .. } if setting == key),
            "{text}: {error:?}"
        );
    }
}

#[test]
fn a_drift_parameter_out_of_range_names_its_rule_and_field() {
    let text =
        "[[andon.drift]]\nsignal = \"confidence\"\ndetector = { kind = \"adwin\", delta = 2.0 }\n";
    let error = MonitorSettings::from_toml(text, Path::new("d.toml")).unwrap_err();
    match &error {
        MonitorError::InvalidSetting { setting, value, .. } => {
            assert_eq!(setting, "andon.drift[0].detector.delta");
            assert_eq!(value, "2");
        }
        other => panic!("expected InvalidSetting, got {other:?}"),
    }
    assert!(
        error.to_string().starts_with("d.toml: invalid setting"),
        "{error}"
    );
}

#[test]
fn the_input_digest_is_xxh3_unless_the_file_chooses_the_spec_fnv1a() {
    use whyline_core::DigestAlgorithm;
    let default = MonitorSettings::from_toml("", Path::new("d.toml")).unwrap();
    assert_eq!(default.input_digest, DigestAlgorithm::Xxh3_64);
    let text = "[inference_monitor]\ninput_digest = \"fnv1a-64\"\n";
    let spec = MonitorSettings::from_toml(text, Path::new("d.toml")).unwrap();
    assert_eq!(spec.input_digest, DigestAlgorithm::Fnv1a64);
    // A keyed digest without a key is refused, naming the setting.
    let text = "[inference_monitor]\ninput_digest = \"hmac-sha256-64\"\n";
    let error = MonitorSettings::from_toml(text, Path::new("d.toml")).unwrap_err();
    assert!(
        error.to_string().contains("inference_monitor.input_digest"),
        "{error}"
    );
    let text = "[inference_monitor]\ninput_digest = \"md5\"\n";
    assert!(MonitorSettings::from_toml(text, Path::new("d.toml")).is_err());
}

#[test]
fn record_inputs_and_the_key_store_are_read_from_the_file() {
    let text = "[inference_monitor]\ncollector = \"ledger\"\nrecord_inputs = true\nkey_store = \"vault/keys.wks\"\n";
    let settings = MonitorSettings::from_toml(text, Path::new("r.toml")).unwrap();
    assert!(settings.record_inputs);
    assert_eq!(
        settings.key_store.as_deref(),
        Some(Path::new("vault/keys.wks"))
    );
    assert!(
        !MonitorSettings::from_toml("", Path::new("e.toml"))
            .unwrap()
            .record_inputs
    );
}

#[test]
fn every_inconsistent_or_out_of_range_value_names_its_key() {
    for (text, key, value) in [
        (
            "[inference_monitor]\ncollector = \"ledger\"\ndurability = \"interval\"\ngroup_commit_entries = 0\n",
            "inference_monitor.group_commit_entries",
            "0",
        ),
        (
            "[inference_monitor]\ncollector = \"ledger\"\ndurability = \"interval\"\ngroup_commit_entries = 4294967296\n",
            "inference_monitor.group_commit_entries",
            "4294967296",
        ),
        (
            "[inference_monitor]\ncollector = \"ring\"\nbackpressure = \"drop\"\n",
            "inference_monitor.backpressure",
            "Drop",
        ),
        (
            "[inference_monitor]\ncollector = \"ring\"\nstorage_path = \"/tmp/x\"\n",
            "inference_monitor.storage_path",
            "/tmp/x",
        ),
        (
            "[inference_monitor]\ncollector = \"ledger\"\ncheckpoint_every = 10\n",
            "inference_monitor.checkpoint_every",
            "10",
        ),
        (
            "[inference_monitor]\ncollector = \"ring\"\nring_size = 0\n",
            "inference_monitor.ring_size",
            "0",
        ),
        (
            "[inference_monitor]\ncollector = \"stream\"\ndurability = \"sync\"\n",
            "inference_monitor.durability",
            "sync",
        ),
        (
            "[inference_monitor]\ncollector = \"stream\"\nsigning = \"ed25519\"\n",
            "inference_monitor.signing",
            "Ed25519",
        ),
        (
            "[andon]\nalert_endpoint = \"ftp://alerts.example\"\n",
            "andon.alert_endpoint",
            "ftp://alerts.example",
        ),
    ] {
        let error = MonitorSettings::from_toml(text, Path::new("v.toml")).unwrap_err();
        assert!(
            matches!(&error, MonitorError::InvalidSetting { file: Some(file), setting, value: shown, .. }
                if file.as_path() == Path::new("v.toml") && setting == key && shown == value),
            "{text}: {error:?}"
        );
        assert!(
            error
                .to_string()
                .contains(&format!("invalid setting {key} = {value}: expected ")),
            "{error}"
        );
    }
}
