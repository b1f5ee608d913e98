//! Safety integrity levels and the monitor configuration read from TOML.
//!
//! A [`SafetyIntegrityLevel`] is a profile: it sets the defaults for the collector, storage,
//! durability, signing and Andon rules that its level calls for. A configuration file names a
//! level and overrides what it must; every key is checked, so a misspelt key or a value of the
//! wrong type is an error naming the file, the line and the key, never a silent default.
//!
//! ```toml
//! [inference_monitor]
//! integrity_level = "SIL3"
//! collector = "ledger"
//! storage_path = "decisions"
//!
//! [andon]
//! yellow_confidence = 0.8
//! red_confidence = 0.6
//! ```

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::andon::{AlertLevelSetting, Andon, AndonRules, DriftSignal};
use crate::drift::DriftDetectorConfig;
use crate::error::{MonitorError, Result};

/// Safety integrity level, after IEC 61508's SIL 1–4 and ISO 26262's QM.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum SafetyIntegrityLevel {
    /// No safety requirement (games, entertainment): in-memory ring, best effort.
    QM,
    /// Low: persistent traces (stream to a file), group commit.
    SIL1,
    /// Medium: hash-chained ledger, group commit, HMAC-signed checkpoints.
    SIL2,
    /// High (ASIL C): ledger, every append durable, Ed25519-signed checkpoints.
    SIL3,
    /// Highest (ASIL D): as SIL3, plus red alerts stop the line and out-of-range inputs are red.
    SIL4,
}

/// Where traces go.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CollectorChoice {
    /// A fixed in-memory ring of the last `ring_size` decisions.
    Ring,
    /// A bounded queue and a background writer of JSON lines or APRT records.
    Stream,
    /// The tamper-evident ledger: hash chain, Merkle tree, checkpoints. `hash_chain` is
    /// accepted as the seed spec's name for it.
    #[serde(alias = "hash_chain")]
    Ledger,
}

/// When an append counts as durable.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DurabilityChoice {
    /// Left to the operating system's buffers.
    None,
    /// Group commit every `group_commit_ms` or `group_commit_entries`.
    Interval,
    /// Each append returns once it is on disk.
    Sync,
}

/// How checkpoints are signed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SigningChoice {
    /// Not signed.
    None,
    /// HMAC-SHA256 under a shared key.
    Hmac,
    /// Ed25519 (C2SP signed note).
    Ed25519,
}

/// Stream record format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StreamFormat {
    /// JSON lines.
    Json,
    /// APRT records.
    Aprt,
}

/// What the stream does when its queue is full.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BackpressureChoice {
    /// Drop and count.
    Drop,
    /// Wait for room.
    Block,
    /// Write synchronously to a fallback sink.
    Fallback,
}

/// The resolved settings of a monitor: a profile's defaults with the file's overrides.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MonitorSettings {
    /// The profile the defaults came from.
    pub integrity_level: SafetyIntegrityLevel,
    /// Where traces go.
    pub collector: CollectorChoice,
    /// Capacity of the ring collector.
    pub ring_size: usize,
    /// Stream record format.
    pub stream_format: StreamFormat,
    /// Stream backpressure policy.
    pub backpressure: BackpressureChoice,
    /// Directory (ledger) or file (stream) the traces go to; `None` keeps them in memory.
    pub storage_path: Option<PathBuf>,
    /// Durability of appends.
    pub durability: DurabilityChoice,
    /// Group commit period for `interval` durability, milliseconds.
    pub group_commit_ms: u64,
    /// Group commit size for `interval` durability, entries.
    pub group_commit_entries: u64,
    /// Checkpoint signing.
    pub signing: SigningChoice,
    /// Key file for signing (Ed25519 secret key or HMAC key), when signing.
    pub key_file: Option<PathBuf>,
    /// A checkpoint every this many entries.
    pub checkpoint_every: u64,
    /// Key file for keyed input digests; `None` digests with plain FNV-1a.
    pub digest_key_file: Option<PathBuf>,
    /// The Andon rules.
    pub andon: AndonRules,
    /// URL that alerts are POSTed to as JSON, when set.
    pub alert_endpoint: Option<String>,
    /// Drift detectors, each watching one signal (`[[andon.drift]]` tables).
    pub drift: Vec<DriftRule>,
}

/// One drift rule: a detector (river's defaults unless the file sets parameters) watching a
/// signal of every decision.
///
/// ```toml
/// [[andon.drift]]
/// signal = "confidence"                      # or "output", or { feature = 3 }
/// detector = { kind = "adwin", delta = 0.002 }
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DriftRule {
    /// What the detector is fed.
    pub signal: DriftSignal,
    /// Which detector, with its parameters.
    pub detector: DriftDetectorConfig,
}

impl SafetyIntegrityLevel {
    /// The defaults this level calls for.
    pub fn defaults(self) -> MonitorSettings {
        let mut settings = MonitorSettings {
            integrity_level: self,
            collector: CollectorChoice::Ring,
            ring_size: 1024,
            stream_format: StreamFormat::Aprt,
            backpressure: BackpressureChoice::Block,
            storage_path: None,
            durability: DurabilityChoice::None,
            group_commit_ms: 5,
            group_commit_entries: 256,
            signing: SigningChoice::None,
            key_file: None,
            checkpoint_every: 1024,
            digest_key_file: None,
            andon: AndonRules::default(),
            alert_endpoint: None,
            drift: Vec::new(),
        };
        match self {
            SafetyIntegrityLevel::QM => {
                settings.backpressure = BackpressureChoice::Drop;
                settings.andon.enabled = false;
            }
            SafetyIntegrityLevel::SIL1 => {
                settings.collector = CollectorChoice::Stream;
                settings.durability = DurabilityChoice::Interval;
                settings.andon.yellow_confidence = Some(0.5);
            }
            SafetyIntegrityLevel::SIL2 => {
                settings.collector = CollectorChoice::Ledger;
                settings.durability = DurabilityChoice::Interval;
                settings.signing = SigningChoice::Hmac;
                settings.andon.yellow_confidence = Some(0.7);
                settings.andon.red_confidence = Some(0.5);
            }
            SafetyIntegrityLevel::SIL3 | SafetyIntegrityLevel::SIL4 => {
                settings.collector = CollectorChoice::Ledger;
                settings.durability = DurabilityChoice::Sync;
                settings.signing = SigningChoice::Ed25519;
                settings.checkpoint_every = 256;
                settings.andon.yellow_confidence = Some(0.8);
                settings.andon.red_confidence = Some(0.6);
                settings.andon.ood_z_score = Some(4.0);
                settings.andon.ood_range = Some(AlertLevelSetting::Yellow);
                settings.andon.repetitive_decisions = Some(100);
                if self == SafetyIntegrityLevel::SIL4 {
                    settings.checkpoint_every = 64;
                    settings.andon.halt_on_red = true;
                    settings.andon.ood_range = Some(AlertLevelSetting::Red);
                }
            }
        }
        settings
    }
}

/// The `[inference_monitor]` table as written in a file; absent keys keep the profile's value.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct MonitorTable {
    integrity_level: Option<SafetyIntegrityLevel>,
    collector: Option<CollectorChoice>,
    ring_size: Option<usize>,
    stream_format: Option<StreamFormat>,
    backpressure: Option<BackpressureChoice>,
    storage_path: Option<PathBuf>,
    durability: Option<DurabilityChoice>,
    group_commit_ms: Option<u64>,
    group_commit_entries: Option<u64>,
    signing: Option<SigningChoice>,
    key_file: Option<PathBuf>,
    checkpoint_every: Option<u64>,
    digest_key_file: Option<PathBuf>,
}

/// The `[andon]` table as written in a file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct AndonTable {
    enabled: Option<bool>,
    yellow_confidence: Option<f32>,
    red_confidence: Option<f32>,
    max_latency_ms: Option<f64>,
    red_latency_ms: Option<f64>,
    non_finite_output: Option<AlertLevelSetting>,
    ood_z_score: Option<f32>,
    ood_range: Option<AlertLevelSetting>,
    repetitive_decisions: Option<u32>,
    halt_on_red: Option<bool>,
    alert_endpoint: Option<String>,
    #[serde(default)]
    drift: Vec<DriftRule>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    #[serde(default)]
    inference_monitor: MonitorTable,
    #[serde(default)]
    andon: AndonTable,
}

macro_rules! take {
    ($target:expr, $source:expr) => {
        if let Some(value) = $source {
            $target = value;
        }
    };
}

impl MonitorSettings {
    /// Reads and validates a configuration file.
    pub fn from_file(path: impl AsRef<Path>) -> Result<MonitorSettings> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| MonitorError::ConfigIo {
            path: path.to_owned(),
            source,
        })?;
        Self::from_toml(&text, path)
    }

    /// Parses and validates configuration text; `path` names it in errors.
    pub fn from_toml(text: &str, path: &Path) -> Result<MonitorSettings> {
        let file: ConfigFile = toml::from_str(text).map_err(|e| parse_error(text, path, &e))?;
        let table = file.inference_monitor;
        let level = table.integrity_level.unwrap_or(SafetyIntegrityLevel::QM);
        let mut s = level.defaults();
        take!(s.collector, table.collector);
        take!(s.ring_size, table.ring_size);
        take!(s.stream_format, table.stream_format);
        take!(s.backpressure, table.backpressure);
        s.storage_path = table.storage_path.or(s.storage_path);
        take!(s.durability, table.durability);
        take!(s.group_commit_ms, table.group_commit_ms);
        take!(s.group_commit_entries, table.group_commit_entries);
        take!(s.signing, table.signing);
        s.key_file = table.key_file.or(s.key_file);
        take!(s.checkpoint_every, table.checkpoint_every);
        s.digest_key_file = table.digest_key_file.or(s.digest_key_file);
        let a = file.andon;
        take!(s.andon.enabled, a.enabled);
        s.andon.yellow_confidence = a.yellow_confidence.or(s.andon.yellow_confidence);
        s.andon.red_confidence = a.red_confidence.or(s.andon.red_confidence);
        s.andon.max_latency_ms = a.max_latency_ms.or(s.andon.max_latency_ms);
        s.andon.red_latency_ms = a.red_latency_ms.or(s.andon.red_latency_ms);
        s.andon.non_finite_output = a.non_finite_output.or(s.andon.non_finite_output);
        s.andon.ood_z_score = a.ood_z_score.or(s.andon.ood_z_score);
        s.andon.ood_range = a.ood_range.or(s.andon.ood_range);
        s.andon.repetitive_decisions = a.repetitive_decisions.or(s.andon.repetitive_decisions);
        take!(s.andon.halt_on_red, a.halt_on_red);
        s.alert_endpoint = a.alert_endpoint.or(s.alert_endpoint);
        s.drift = a.drift;
        s.validate().map_err(|e| match e {
            MonitorError::InvalidConfig { field, reason } => MonitorError::InvalidConfig {
                field: format!("{}: {field}", path.display()),
                reason,
            },
            other => other,
        })?;
        Ok(s)
    }

    /// The Andon these settings describe: the rules, and every drift detector built and
    /// watching its signal. Sinks, handlers and training statistics are the caller's to add.
    pub fn build_andon(&self) -> Result<Andon> {
        let mut andon = Andon::new(self.andon.clone())?;
        for (i, rule) in self.drift.iter().enumerate() {
            let detector = rule
                .detector
                .build()
                .map_err(|error| MonitorError::InvalidConfig {
                    field: format!("andon.drift[{i}].detector"),
                    reason: error.to_string(),
                })?;
            andon.add_drift_detector(rule.signal, detector);
        }
        Ok(andon)
    }

    /// Checks values and combinations the types cannot.
    pub fn validate(&self) -> Result<()> {
        let invalid = |field: &str, reason: &str| {
            Err(MonitorError::InvalidConfig {
                field: field.to_owned(),
                reason: reason.to_owned(),
            })
        };
        self.andon.validate()?;
        if self.collector == CollectorChoice::Ring && self.ring_size == 0 {
            return invalid("inference_monitor.ring_size", "must be at least 1");
        }
        if self.checkpoint_every == 0 {
            return invalid("inference_monitor.checkpoint_every", "must be at least 1");
        }
        if self.durability == DurabilityChoice::Interval
            && (self.group_commit_ms == 0 || self.group_commit_entries == 0)
        {
            return invalid(
                "inference_monitor.group_commit_ms",
                "interval durability needs group_commit_ms and group_commit_entries of at least 1",
            );
        }
        if self.collector == CollectorChoice::Ring && self.durability != DurabilityChoice::None {
            return invalid(
                "inference_monitor.durability",
                "a ring collector keeps traces in memory; durability needs collector = \"stream\" or \"ledger\"",
            );
        }
        if self.signing != SigningChoice::None && self.collector != CollectorChoice::Ledger {
            return invalid(
                "inference_monitor.signing",
                "only the ledger signs checkpoints; set collector = \"ledger\" or signing = \"none\"",
            );
        }
        for (i, rule) in self.drift.iter().enumerate() {
            if let Err(error) = rule.detector.build() {
                return invalid(&format!("andon.drift[{i}].detector"), &error.to_string());
            }
        }
        if let Some(url) = &self.alert_endpoint
            && !(url.starts_with("http://") || url.starts_with("https://"))
        {
            return invalid("andon.alert_endpoint", "must be an http:// or https:// URL");
        }
        Ok(())
    }
}

/// Turns a TOML error into one naming the file, line, column and key.
fn parse_error(text: &str, path: &Path, error: &toml::de::Error) -> MonitorError {
    let offset = error.span().map_or(0, |span| span.start);
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    let line_text = text.lines().nth(line - 1).unwrap_or("");
    let key = line_text
        .split_once('=')
        .map(|(key, _)| key.trim())
        .filter(|key| !key.is_empty() && !key.starts_with('['));
    let message = error.message().trim().to_owned();
    let message = match key {
        Some(key) if !message.contains(key) => format!("key `{key}`: {message}"),
        _ => message,
    };
    MonitorError::ConfigParse {
        path: path.to_owned(),
        line,
        column,
        message,
    }
}
