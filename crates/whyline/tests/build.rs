//! Each profile builds exactly the collector, durability, signing and checkpoint interval it
//! states, read back from the built objects. The expectations are written here from the
//! levels' documentation and the files' text, not computed by the code under test.

use std::path::{Path, PathBuf};
use std::time::Duration;

use whyline::ledger::collector::Backpressure;
use whyline::{
    CollectorChoice, Durability, MonitorSettings, NoteVerifier, Recorder, SigningChoice,
    StreamFormat,
};

use crate::support::{files_under, level};

/// What a profile states about its collector.
#[derive(Debug, PartialEq)]
enum Kind {
    Ring {
        size: usize,
    },
    Stream {
        format: StreamFormat,
        backpressure: Backpressure,
    },
    Ledger,
}

#[derive(Debug)]
struct Expected {
    kind: Kind,
    durability: Durability,
    signing: SigningChoice,
    checkpoint_every: Option<u64>,
    /// Files the recorder leaves in its directory, relative.
    files: &'static [&'static str],
}

const GROUP_COMMIT_256_5MS: Durability = Durability::Interval {
    entries: 256,
    max_delay: Duration::from_millis(5),
};

fn check(settings: &MonitorSettings, dir: &Path, expected: &Expected) {
    let recorder: Recorder = Recorder::from_settings(settings, dir).unwrap();
    let collector = recorder.collector();
    let kind = match collector.kind() {
        CollectorChoice::Ring => Kind::Ring {
            size: collector.as_ring().unwrap().capacity(),
        },
        CollectorChoice::Stream => {
            let stream = collector.as_stream().unwrap();
            Kind::Stream {
                format: stream.format(),
                backpressure: stream.backpressure(),
            }
        }
        CollectorChoice::Ledger => {
            assert!(collector.as_ledger().is_some());
            Kind::Ledger
        }
    };
    assert_eq!(kind, expected.kind);
    assert_eq!(collector.durability().unwrap(), expected.durability);
    assert_eq!(
        collector.checkpoint_every().unwrap(),
        expected.checkpoint_every
    );
    let signing = match collector.verifier().unwrap() {
        None => SigningChoice::None,
        Some(NoteVerifier::Ed25519 { .. }) => SigningChoice::Ed25519,
        Some(NoteVerifier::Hmac { .. }) => SigningChoice::Hmac,
    };
    assert_eq!(signing, expected.signing);
    drop(recorder);
    let files: Vec<PathBuf> = files_under(dir);
    for file in expected.files {
        assert!(
            files.iter().any(|f| f == Path::new(file)),
            "{file} missing from {files:?}"
        );
    }
    if expected.files.is_empty() {
        assert!(files.is_empty(), "wrote {files:?}");
    }
}

#[test]
fn each_integrity_level_builds_what_it_names() {
    let ledger_files: &[&str] = &["entries.wls", "ledger.key", "ledger.pub"];
    for (name, expected) in [
        (
            "QM",
            Expected {
                kind: Kind::Ring { size: 1024 },
                durability: Durability::None,
                signing: SigningChoice::None,
                checkpoint_every: None,
                files: &[],
            },
        ),
        (
            "SIL1",
            Expected {
                kind: Kind::Stream {
                    format: StreamFormat::Aprt,
                    backpressure: Backpressure::Block,
                },
                durability: GROUP_COMMIT_256_5MS,
                signing: SigningChoice::None,
                checkpoint_every: None,
                files: &["decisions.aprt"],
            },
        ),
        (
            "SIL2",
            Expected {
                kind: Kind::Ledger,
                durability: GROUP_COMMIT_256_5MS,
                signing: SigningChoice::Hmac,
                checkpoint_every: Some(1024),
                files: ledger_files,
            },
        ),
        (
            "SIL3",
            Expected {
                kind: Kind::Ledger,
                durability: Durability::Sync,
                signing: SigningChoice::Ed25519,
                checkpoint_every: Some(256),
                files: ledger_files,
            },
        ),
        (
            "SIL4",
            Expected {
                kind: Kind::Ledger,
                durability: Durability::Sync,
                signing: SigningChoice::Ed25519,
                checkpoint_every: Some(64),
                files: ledger_files,
            },
        ),
    ] {
        let dir = tempfile::tempdir().unwrap();
        check(&level(name), dir.path(), &expected);
    }
}

fn example(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples/config")
        .join(name)
}

/// The file's settings with its absolute paths moved under `dir` (`/var/log/x` → `dir/var/log/x`).
fn relocated(name: &str, dir: &Path) -> MonitorSettings {
    let mut settings = MonitorSettings::from_file(example(name)).unwrap();
    let under = |path: &mut Option<PathBuf>| {
        if let Some(p) = path {
            *p = dir.join(p.strip_prefix("/").unwrap_or(p));
        }
    };
    under(&mut settings.storage_path);
    under(&mut settings.key_file);
    under(&mut settings.digest_key_file);
    settings
}

/// Every example file, with what its text states (levels' defaults where it states nothing).
fn examples() -> Vec<(&'static str, Expected)> {
    vec![
        (
            "video_game.toml",
            Expected {
                kind: Kind::Ring { size: 64 },
                durability: Durability::None,
                signing: SigningChoice::None,
                checkpoint_every: None,
                files: &[],
            },
        ),
        (
            "medical.toml",
            Expected {
                kind: Kind::Ledger,
                durability: GROUP_COMMIT_256_5MS,
                signing: SigningChoice::Hmac,
                checkpoint_every: Some(1024),
                files: &[
                    "var/lib/whyline/diagnosis/entries.wls",
                    "etc/whyline/checkpoint.hmac",
                    "etc/whyline/checkpoint.pub",
                    "etc/whyline/digest.key",
                ],
            },
        ),
        (
            "autonomous_vehicle.toml",
            Expected {
                kind: Kind::Ledger,
                durability: Durability::Sync,
                signing: SigningChoice::Ed25519,
                checkpoint_every: Some(256),
                files: &[
                    "var/log/av/decisions/entries.wls",
                    "etc/whyline/ledger.key",
                    "etc/whyline/ledger.pub",
                    "etc/whyline/digest.key",
                ],
            },
        ),
    ]
}

#[test]
fn each_example_config_builds_what_it_states() {
    for (name, expected) in examples() {
        let dir = tempfile::tempdir().unwrap();
        check(&relocated(name, dir.path()), dir.path(), &expected);
    }
}

#[test]
fn every_example_config_is_checked() {
    let mut shipped: Vec<String> = std::fs::read_dir(example(""))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".toml"))
        .collect();
    shipped.sort();
    let mut checked: Vec<String> = examples().iter().map(|(n, _)| (*n).to_owned()).collect();
    checked.sort();
    assert_eq!(shipped, checked, "add the new example to `examples()`");
}

#[test]
fn a_profiles_group_commit_numbers_reach_the_ledger() {
    let settings = MonitorSettings::from_toml(
        "[inference_monitor]\nintegrity_level = \"SIL2\"\ngroup_commit_ms = 40\ngroup_commit_entries = 32\ncheckpoint_every = 10\n",
        Path::new("g.toml"),
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let recorder: Recorder = Recorder::from_settings(&settings, dir.path()).unwrap();
    assert_eq!(
        recorder.collector().durability().unwrap(),
        Durability::Interval {
            entries: 32,
            max_delay: Duration::from_millis(40)
        }
    );
    assert_eq!(recorder.collector().checkpoint_every().unwrap(), Some(10));
}

#[test]
fn a_json_stream_with_fallback_writes_where_the_profile_says() {
    let settings = MonitorSettings::from_toml(
        "[inference_monitor]\ncollector = \"stream\"\nstream_format = \"json\"\nbackpressure = \"fallback\"\nstorage_path = \"out/traces.jsonl\"\n",
        Path::new("s.toml"),
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let recorder: Recorder = Recorder::from_settings(&settings, dir.path()).unwrap();
    let stream = recorder.collector().as_stream().unwrap();
    assert_eq!(stream.format(), StreamFormat::JsonLines);
    assert_eq!(stream.backpressure(), Backpressure::Fallback);
    assert_eq!(
        recorder.collector().location(),
        Some(dir.path().join("out/traces.jsonl").as_path())
    );
    assert_eq!(
        recorder.collector().durability().unwrap(),
        Durability::None,
        "QM's durability"
    );
    drop(recorder);
    assert_eq!(
        files_under(dir.path()),
        [
            PathBuf::from("out/traces.jsonl"),
            PathBuf::from("out/traces.jsonl.fallback")
        ]
    );
}

/// Regression (issue 12, `RecorderBuilder::build_at`): with `storage_path` the subject key
/// store is made beside the ledger it seals for, not in the profile's directory, and the
/// signing key where `key_file` says, relative to the profile's directory.
#[test]
fn the_subject_key_store_is_made_beside_a_ledger_in_storage_path() {
    let dir = tempfile::tempdir().unwrap();
    let settings = MonitorSettings::from_toml(
        "[inference_monitor]\ncollector = \"ledger\"\nstorage_path = \"log\"\nrecord_inputs = true\nsigning = \"ed25519\"\n",
        Path::new("test.toml"),
    )
    .unwrap();
    let recorder: Recorder = Recorder::from_settings(&settings, dir.path()).unwrap();
    assert_eq!(
        recorder.collector().location(),
        Some(dir.path().join("log").as_path())
    );
    drop(recorder);
    assert!(dir.path().join("log/keys/subjects.wks").is_file());
    assert!(!dir.path().join("keys/subjects.wks").exists());
    assert!(dir.path().join("ledger.key").is_file());
    // The same through build_at with the directory as the location.
    let other = tempfile::tempdir().unwrap();
    let location = whyline::LogLocation::Dir(other.path().to_owned());
    let recorder: Recorder = whyline::RecorderBuilder::new(&settings)
        .build_at(&location, None)
        .unwrap();
    assert_eq!(
        recorder.collector().location(),
        Some(other.path().join("log").as_path())
    );
    drop(recorder);
    assert!(other.path().join("log/keys/subjects.wks").is_file());
}
