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
use whyline_core::{Backpressure, DigestAlgorithm, Durability, StreamFormat};

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
    pub backpressure: Backpressure,
    /// Directory (ledger) or file (stream) the traces go to; relative paths are taken from
    /// the directory the recorder is built in (`whyline::Recorder::from_settings`), and `None`
    /// means its default place there. A ring keeps traces in memory and takes none.
    pub storage_path: Option<PathBuf>,
    /// Durability of appends. In a file: `durability = "none" | "interval" | "sync"`, and for
    /// `interval` the group commit `group_commit_ms` (the longest wait of a pending entry)
    /// and `group_commit_entries` (entries per commit).
    pub durability: Durability,
    /// Checkpoint signing.
    pub signing: SigningChoice,
    /// Key file for signing (Ed25519 secret key or HMAC key), when signing; made (mode 0600,
    /// with the public key beside it) when it does not exist yet.
    pub key_file: Option<PathBuf>,
    /// A signed checkpoint every this many entries (a ledger that signs).
    pub checkpoint_every: u64,
    /// Key file for keyed input digests (HMAC-SHA256); `None` digests with
    /// [`input_digest`](Self::input_digest).
    pub digest_key_file: Option<PathBuf>,
    /// The unkeyed input digest when there is no key file: `input_digest = "xxh3-64"` (the
    /// default) or `"fnv1a-64"` (the seed spec's). The model record names the one used.
    pub input_digest: DigestAlgorithm,
    /// Whether each decision's input row (and the context the caller gives) is recorded,
    /// sealed under a subject key from the key store (`record_inputs = true`; needs
    /// `collector = "ledger"`).
    pub record_inputs: bool,
    /// The subject key store, when inputs are recorded; `None` means `keys/subjects.wks` in
    /// the ledger's directory.
    pub key_store: Option<PathBuf>,
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

/// The group commit of the levels that use one: 256 entries or 5 ms, whichever comes first.
const DEFAULT_GROUP_COMMIT: Durability = Durability::Interval {
    entries: 256,
    max_delay: DEFAULT_GROUP_COMMIT_DELAY,
};
const DEFAULT_GROUP_COMMIT_DELAY: std::time::Duration = std::time::Duration::from_millis(5);

impl SafetyIntegrityLevel {
    /// The defaults this level calls for.
    pub fn defaults(self) -> MonitorSettings {
        let mut settings = MonitorSettings {
            integrity_level: self,
            collector: CollectorChoice::Ring,
            ring_size: 1024,
            stream_format: StreamFormat::Aprt,
            backpressure: Backpressure::Block,
            storage_path: None,
            durability: Durability::None,
            signing: SigningChoice::None,
            key_file: None,
            checkpoint_every: 1024,
            digest_key_file: None,
            input_digest: DigestAlgorithm::Xxh3_64,
            record_inputs: false,
            key_store: None,
            andon: AndonRules::default(),
            alert_endpoint: None,
            drift: Vec::new(),
        };
        match self {
            SafetyIntegrityLevel::QM => {
                settings.backpressure = Backpressure::Drop;
                settings.andon.enabled = false;
            }
            SafetyIntegrityLevel::SIL1 => {
                settings.collector = CollectorChoice::Stream;
                settings.durability = DEFAULT_GROUP_COMMIT;
                settings.andon.yellow_confidence = Some(0.5);
            }
            SafetyIntegrityLevel::SIL2 => {
                settings.collector = CollectorChoice::Ledger;
                settings.durability = DEFAULT_GROUP_COMMIT;
                settings.signing = SigningChoice::Hmac;
                settings.andon.yellow_confidence = Some(0.7);
                settings.andon.red_confidence = Some(0.5);
            }
            SafetyIntegrityLevel::SIL3 | SafetyIntegrityLevel::SIL4 => {
                settings.collector = CollectorChoice::Ledger;
                settings.durability = Durability::Sync;
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
    backpressure: Option<Backpressure>,
    storage_path: Option<PathBuf>,
    durability: Option<DurabilityName>,
    group_commit_ms: Option<u64>,
    group_commit_entries: Option<u64>,
    signing: Option<SigningChoice>,
    key_file: Option<PathBuf>,
    checkpoint_every: Option<u64>,
    digest_key_file: Option<PathBuf>,
    input_digest: Option<DigestAlgorithm>,
    record_inputs: Option<bool>,
    key_store: Option<PathBuf>,
}

/// The durability policy's name in a file; the group commit numbers are keys of their own.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
enum DurabilityName {
    None,
    Interval,
    Sync,
}

impl MonitorTable {
    /// The durability the file asks for, on top of the profile's `default`.
    fn durability(&self, default: Durability) -> Result<Durability> {
        let name = self.durability.unwrap_or(match default {
            Durability::None => DurabilityName::None,
            Durability::Interval { .. } => DurabilityName::Interval,
            Durability::Sync => DurabilityName::Sync,
        });
        let group_commit = [
            ("group_commit_ms", self.group_commit_ms),
            ("group_commit_entries", self.group_commit_entries),
        ];
        if name != DurabilityName::Interval
            && let Some((key, Some(value))) = group_commit.iter().find(|(_, v)| v.is_some())
        {
            return Err(MonitorError::invalid_setting(
                format!("inference_monitor.{key}"),
                value,
                "no group commit setting unless durability = \"interval\"",
            ));
        }
        if let Some((key, Some(value))) = group_commit.iter().find(|(_, v)| *v == Some(0)) {
            return Err(MonitorError::invalid_setting(
                format!("inference_monitor.{key}"),
                value,
                "at least 1",
            ));
        }
        Ok(match name {
            DurabilityName::None => Durability::None,
            DurabilityName::Sync => Durability::Sync,
            DurabilityName::Interval => {
                let (entries, max_delay) = match default {
                    Durability::Interval { entries, max_delay } => (entries, max_delay),
                    Durability::None | Durability::Sync => (256, DEFAULT_GROUP_COMMIT_DELAY),
                };
                let entries = match self.group_commit_entries {
                    Some(value) => u32::try_from(value).map_err(|_| {
                        MonitorError::invalid_setting(
                            "inference_monitor.group_commit_entries",
                            value,
                            format!("at most {}", u32::MAX),
                        )
                    })?,
                    None => entries,
                };
                let max_delay = self
                    .group_commit_ms
                    .map_or(max_delay, std::time::Duration::from_millis);
                Durability::Interval { entries, max_delay }
            }
        })
    }

    /// Refuses keys the resolved settings would not use: a setting either acts or is
    /// refused.
    fn check_keys_apply(&self, settings: &MonitorSettings) -> Result<()> {
        let unused = |key: &str, value: &dyn std::fmt::Display, expected: &str| {
            Err(MonitorError::invalid_setting(
                format!("inference_monitor.{key}"),
                value,
                expected,
            ))
        };
        let collector = settings.collector;
        if let Some(size) = self
            .ring_size
            .filter(|_| collector != CollectorChoice::Ring)
        {
            return unused(
                "ring_size",
                &size,
                "no ring_size unless collector = \"ring\"",
            );
        }
        if let Some(format) = self
            .stream_format
            .filter(|_| collector != CollectorChoice::Stream)
        {
            return unused(
                "stream_format",
                &format,
                "no stream_format unless collector = \"stream\"",
            );
        }
        if let Some(policy) = self
            .backpressure
            .filter(|_| collector != CollectorChoice::Stream)
        {
            return unused(
                "backpressure",
                &format_args!("{policy:?}"),
                "no backpressure unless collector = \"stream\"",
            );
        }
        if let Some(path) = self
            .storage_path
            .as_ref()
            .filter(|_| collector == CollectorChoice::Ring)
        {
            return unused(
                "storage_path",
                &path.display(),
                "no storage_path for a ring, which keeps traces in memory",
            );
        }
        if let Some(entries) = self.checkpoint_every.filter(|_| {
            collector != CollectorChoice::Ledger || settings.signing == SigningChoice::None
        }) {
            return unused(
                "checkpoint_every",
                &entries,
                "no checkpoint_every unless collector = \"ledger\" signs checkpoints",
            );
        }
        if let Some(path) = self
            .key_file
            .as_ref()
            .filter(|_| settings.signing == SigningChoice::None)
        {
            return unused(
                "key_file",
                &path.display(),
                "no key_file unless signing = \"ed25519\" or \"hmac\"",
            );
        }
        Ok(())
    }
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
    /// `whyline serve`'s settings: accepted here so one file configures the monitor and the
    /// server, and read (strictly, every key checked) by `whyline-server`, the only one that
    /// acts on them.
    #[serde(default, rename = "server")]
    _server: Option<toml::Table>,
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
        s.storage_path = table.storage_path.clone().or(s.storage_path);
        s.durability = table
            .durability(s.durability)
            .map_err(|e| in_file(e, path))?;
        take!(s.signing, table.signing);
        s.key_file = table.key_file.clone().or(s.key_file);
        take!(s.checkpoint_every, table.checkpoint_every);
        s.digest_key_file = table.digest_key_file.clone().or(s.digest_key_file);
        take!(s.input_digest, table.input_digest);
        take!(s.record_inputs, table.record_inputs);
        s.key_store = table.key_store.clone().or(s.key_store);
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
        table
            .check_keys_apply(&s)
            .and_then(|()| s.validate())
            .map_err(|e| in_file(e, path))?;
        Ok(s)
    }

    /// The Andon these settings describe: the rules, and every drift detector built and
    /// watching its signal. Sinks, handlers and training statistics are the caller's to add.
    pub fn build_andon(&self) -> Result<Andon> {
        let mut andon = Andon::new(self.andon.clone())?;
        for (i, rule) in self.drift.iter().enumerate() {
            let detector = rule.detector.build().map_err(|e| in_drift_rule(e, i))?;
            andon.add_drift_detector(rule.signal, detector);
        }
        Ok(andon)
    }

    /// Checks values and combinations the types cannot
    /// ([`MonitorError::InvalidSetting`] naming the setting).
    pub fn validate(&self) -> Result<()> {
        let invalid = |setting: &str, value: &dyn std::fmt::Display, expected: &str| {
            Err(MonitorError::invalid_setting(setting, value, expected))
        };
        self.andon.validate()?;
        if self.collector == CollectorChoice::Ring && self.ring_size == 0 {
            return invalid("inference_monitor.ring_size", &0, "at least 1");
        }
        if self.checkpoint_every == 0 {
            return invalid("inference_monitor.checkpoint_every", &0, "at least 1");
        }
        if self.input_digest.is_keyed() && self.digest_key_file.is_none() {
            return invalid(
                "inference_monitor.input_digest",
                &self.input_digest,
                "\"xxh3-64\" or \"fnv1a-64\" (a keyed digest comes from digest_key_file)",
            );
        }
        if self.record_inputs && self.collector != CollectorChoice::Ledger {
            return invalid(
                "inference_monitor.record_inputs",
                &true,
                "false unless collector = \"ledger\" (inputs are sealed into the ledger)",
            );
        }
        if self.key_store.is_some() && !self.record_inputs {
            return invalid(
                "inference_monitor.key_store",
                &"a path",
                "no key_store unless record_inputs = true",
            );
        }
        if let Durability::Interval { entries, max_delay } = self.durability {
            if entries == 0 {
                return invalid("inference_monitor.group_commit_entries", &0, "at least 1");
            }
            if max_delay.is_zero() {
                return invalid("inference_monitor.group_commit_ms", &0, "at least 1");
            }
        }
        if self.collector == CollectorChoice::Ring && self.durability != Durability::None {
            return invalid(
                "inference_monitor.durability",
                &self.durability.name(),
                "\"none\" for a ring collector, which keeps traces in memory (durability needs collector = \"stream\" or \"ledger\")",
            );
        }
        if self.collector == CollectorChoice::Stream && self.durability == Durability::Sync {
            return invalid(
                "inference_monitor.durability",
                &self.durability.name(),
                "\"interval\" or \"none\" for a stream, whose writer runs in the background: \
                 no record is on disk when it is recorded (use collector = \"ledger\")",
            );
        }
        if self.signing != SigningChoice::None && self.collector != CollectorChoice::Ledger {
            return invalid(
                "inference_monitor.signing",
                &format_args!("{:?}", self.signing),
                "\"none\" unless collector = \"ledger\": only the ledger signs checkpoints",
            );
        }
        for (i, rule) in self.drift.iter().enumerate() {
            rule.detector.build().map_err(|e| in_drift_rule(e, i))?;
        }
        if let Some(url) = &self.alert_endpoint
            && !(url.starts_with("http://") || url.starts_with("https://"))
        {
            return invalid("andon.alert_endpoint", url, "an http:// or https:// URL");
        }
        Ok(())
    }
}

/// Names the file an invalid setting was read from.
fn in_file(error: MonitorError, path: &Path) -> MonitorError {
    match error {
        MonitorError::InvalidSetting {
            file: None,
            setting,
            value,
            expected,
        } => MonitorError::InvalidSetting {
            file: Some(path.to_owned()),
            setting,
            value,
            expected,
        },
        other => other,
    }
}

/// Renames a detector's `DETECTOR.field` setting to where the file sets it:
/// `andon.drift[i].detector.field`.
fn in_drift_rule(error: MonitorError, rule: usize) -> MonitorError {
    match error {
        MonitorError::InvalidSetting {
            file,
            setting,
            value,
            expected,
        } => {
            let field = setting
                .rsplit_once('.')
                .map_or(setting.as_str(), |(_, f)| f);
            MonitorError::InvalidSetting {
                file,
                setting: format!("andon.drift[{rule}].detector.{field}"),
                value,
                expected,
            }
        }
        other => other,
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
