//! [`Recorder`]: everything a safety profile names, built and ready to wrap a model.

use std::path::{Path, PathBuf};

use whyline_core::{AnyPath, Explainable};
use whyline_ledger::collector::{
    Backpressure, DynamicRingCollector, RingSlot, StreamCollectorBuilder,
};
use whyline_ledger::seal::{KeyStore, Sealer};
use whyline_ledger::{LedgerCollector, LedgerOptions, NoteVerifier, SegmentStore, Store};
use whyline_models::ModelInfo;
use whyline_monitor::{
    Andon, CollectorChoice, FeatureStatistics, InferenceMonitor, MonitorSettings, SigningChoice,
    StreamFormat, TrainingStatistics, WebhookOptions, WebhookSink,
};

use crate::collector::{DurableFile, RecorderCollector};
use crate::error::{Result, WhylineError};
use crate::keys::{SigningKey, load_or_create_digest_key, load_or_create_signer};
use crate::location::LogLocation;

/// The origin line of checkpoints, and the name of a key the recorder makes, unless
/// [`RecorderBuilder::origin`] sets another.
pub const DEFAULT_ORIGIN: &str = "whyline/ledger";

/// The collector, Andon and keys a [`MonitorSettings`] names, built: wrap a model with
/// [`monitor`](Recorder::monitor) and every decision goes where the profile says.
///
/// What [`from_settings`](Recorder::from_settings) builds, field by field:
///
/// | setting | built |
/// |---|---|
/// | `collector = "ring"`, `ring_size` | a [`DynamicRingCollector`] of `ring_size` slots; no file |
/// | `collector = "stream"`, `stream_format`, `backpressure` | a [`StreamCollector`](whyline_ledger::collector::StreamCollector) writing `storage_path` (default `decisions.aprt` / `decisions.jsonl`); `fallback` overflows to the same name plus `.fallback` |
/// | `collector = "ledger"` | a [`LedgerCollector`] over a [`SegmentStore`] in `storage_path` (default: the directory itself), boxed as a `Box<dyn Store>`; or over a PostgreSQL log with [`RecorderBuilder::build_at`] |
/// | `durability`, `group_commit_ms`, `group_commit_entries` | the ledger's [`Durability`](whyline_core::Durability); for a stream, when its file is synced |
/// | `signing`, `key_file` | the checkpoint key read from `key_file` (default `ledger.key`), or made there (mode 0600) with its public key beside it (`ledger.pub`) |
/// | `checkpoint_every` | a signed checkpoint every that many entries |
/// | `digest_key_file` | inputs digested with HMAC-SHA256 under that key (hex), made if missing |
/// | `input_digest` | without a key file, inputs digested with `xxh3-64` (default) or the spec's `fnv1a-64` |
/// | `record_inputs`, `key_store` | every decision's input sealed into the ledger under a key from the subject key store (`key_store`, default `keys/subjects.wks` in the ledger directory; made if missing) |
/// | `[andon]`, `[[andon.drift]]` | the Andon rules and drift detectors ([`MonitorSettings::build_andon`]) |
/// | `alert_endpoint` | a [`WebhookSink`] posting every alert there |
///
/// Relative paths in the profile are taken from the directory given to `from_settings`;
/// absolute paths are used as written.
#[derive(Debug)]
pub struct Recorder<P = AnyPath> {
    settings: MonitorSettings,
    collector: RecorderCollector<P>,
    andon: Andon,
    digest_key: Option<Vec<u8>>,
    signing_key: Option<(PathBuf, PathBuf)>,
    created: Vec<PathBuf>,
}

/// Opens the ledger's segment files, for [`RecorderBuilder::segment_opener`]: a path in, a
/// [`SegmentFile`](whyline_ledger::SegmentFile) out.
pub type SharedSegmentOpener = std::sync::Arc<
    dyn Fn(&Path) -> std::io::Result<Box<dyn whyline_ledger::SegmentFile>> + Send + Sync,
>;

/// Options of a [`Recorder`] that a profile does not hold.
#[derive(Clone)]
pub struct RecorderBuilder {
    settings: MonitorSettings,
    origin: String,
    opener: Option<SharedSegmentOpener>,
    key_store: Option<KeyStore>,
}

impl std::fmt::Debug for RecorderBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecorderBuilder")
            .field("settings", &self.settings)
            .field("origin", &self.origin)
            .field("segment_opener", &self.opener.is_some())
            .field("key_store", &self.key_store)
            .finish()
    }
}

impl RecorderBuilder {
    /// A builder for what `settings` name, with checkpoints of origin [`DEFAULT_ORIGIN`].
    pub fn new(settings: &MonitorSettings) -> Self {
        Self {
            settings: settings.clone(),
            origin: DEFAULT_ORIGIN.to_owned(),
            opener: None,
            key_store: None,
        }
    }

    /// Seals recorded inputs with `keys` instead of the key store file the profile names
    /// (`record_inputs`): keys that come from elsewhere, or a simulation's
    /// [`KeyStore::create_for_simulation`] whose seeded secrets make a repeated run write a
    /// byte-identical ledger.
    pub fn key_store(&mut self, keys: KeyStore) -> &mut Self {
        self.key_store = Some(keys);
        self
    }

    /// Opens the ledger's segment files through `opener` instead of as plain files: to time
    /// their syncs (a server's fsync histogram) or to inject faults (tests). The opener must
    /// give files that behave as [`std::fs::File`] does (create, read, append).
    pub fn segment_opener(&mut self, opener: SharedSegmentOpener) -> &mut Self {
        self.opener = Some(opener);
        self
    }

    /// The origin line of the ledger's checkpoints (and the name of a key made for it).
    pub fn origin(&mut self, origin: &str) -> &mut Self {
        self.origin = origin.to_owned();
        self
    }

    /// Builds the recorder in `dir` (created if missing); see [`Recorder`].
    pub fn build<P: RingSlot>(&self, dir: &Path) -> Result<Recorder<P>> {
        self.build_in(Some(dir), None)
    }

    /// Builds the recorder with its ledger at `location`: a directory (as
    /// [`build`](Self::build) when `key_dir` is `None`) or a PostgreSQL log (feature
    /// `postgres`), whose writer lock the recorder then holds.
    ///
    /// Keys never live in a database: the checkpoint signing key (`key_file`, default
    /// `ledger.key`), the digest key (`digest_key_file`) and the subject key store
    /// (`key_store`; by default `keys/subjects.wks` beside a directory ledger, in `key_dir`
    /// for a database) are read, or made, in `key_dir`, where the profile's relative paths
    /// are taken from. A directory ledger keeps them beside its log
    /// when `key_dir` is `None`; a PostgreSQL log whose profile signs, seals or keys its
    /// digests without a `key_dir` is refused ([`WhylineError::NeedsKeyDir`]). The profile's
    /// collector must be the ledger ([`WhylineError::NeedsLedger`]), and `storage_path`,
    /// which names a directory, is refused for a database ([`WhylineError::NotADirectory`]).
    pub fn build_at<P: RingSlot>(
        &self,
        location: &LogLocation,
        key_dir: Option<&Path>,
    ) -> Result<Recorder<P>> {
        if self.settings.collector != CollectorChoice::Ledger {
            return Err(WhylineError::NeedsLedger {
                operation: "a ledger location",
                found: self.settings.collector,
            });
        }
        match (location.as_dir(), key_dir) {
            (Some(dir), None) => self.build(dir),
            (Some(dir), Some(_)) => {
                let dir = self
                    .settings
                    .storage_path
                    .as_deref()
                    .map_or_else(|| dir.to_owned(), |path| dir.join(path));
                self.build_in(key_dir, Some(&LogLocation::Dir(dir)))
            }
            (None, _) => {
                if self.settings.storage_path.is_some() {
                    return Err(WhylineError::NotADirectory {
                        log: location.path().to_owned(),
                        setting: "storage_path",
                    });
                }
                // Refused before connecting: a key the profile needs has no home.
                if key_dir.is_none()
                    && let Some(setting) = self.setting_needing_keys()
                {
                    return Err(WhylineError::NeedsKeyDir {
                        log: location.path().to_owned(),
                        setting,
                    });
                }
                self.build_in(key_dir, Some(location))
            }
        }
    }

    /// The first profile setting that reads or makes a key file, if any.
    fn setting_needing_keys(&self) -> Option<&'static str> {
        let settings = &self.settings;
        if settings.signing != SigningChoice::None {
            Some("signing")
        } else if settings.record_inputs && self.key_store.is_none() {
            Some("record_inputs")
        } else if settings.digest_key_file.is_some() {
            Some("digest_key_file")
        } else {
            None
        }
    }

    /// Builds with keys and relative paths under `dir` (`None`: there is no local directory),
    /// and the ledger at `log` (`None`: in `dir`, as the profile's `storage_path` says).
    fn build_in<P: RingSlot>(
        &self,
        dir: Option<&Path>,
        log: Option<&LogLocation>,
    ) -> Result<Recorder<P>> {
        let settings = &self.settings;
        settings.validate()?;
        let mut created = Vec::new();
        let mut signing_key = None;
        let collector = match settings.collector {
            CollectorChoice::Ring => {
                RecorderCollector::Ring(DynamicRingCollector::with_capacity(settings.ring_size)?)
            }
            CollectorChoice::Stream => build_stream(settings, local_dir(dir, log, "collector")?)?,
            CollectorChoice::Ledger => {
                let location = match log {
                    Some(location) => location.clone(),
                    None => LogLocation::Dir(settings.storage_path.as_deref().map_or_else(
                        || local_dir(dir, log, "collector").map(Path::to_owned),
                        |path| Ok(local_dir(dir, log, "storage_path")?.join(path)),
                    )?),
                };
                let key = signer_for(settings, dir, &location, &self.origin)?;
                if let Some(key) = &key {
                    if key.created {
                        created.extend([key.secret_path.clone(), key.public_path.clone()]);
                    }
                    signing_key = Some((key.secret_path.clone(), key.public_path.clone()));
                }
                let collector =
                    build_ledger(settings, location, &self.origin, key, self.opener.as_ref())?;
                if settings.record_inputs {
                    attach_key_store(
                        settings,
                        dir,
                        &collector,
                        self.key_store.clone(),
                        &mut created,
                    )?;
                }
                collector
            }
        };
        let digest_key = match &settings.digest_key_file {
            Some(file) => {
                let path = key_dir(dir, collector.location(), "digest_key_file")?.join(file);
                let (key, made) = load_or_create_digest_key(&path)?;
                if made {
                    created.push(path);
                }
                Some(key)
            }
            None => None,
        };
        let mut andon = settings.build_andon()?;
        if let Some(url) = &settings.alert_endpoint {
            andon.add_sink(WebhookSink::new(url, WebhookOptions::default()));
        }
        Ok(Recorder {
            settings: settings.clone(),
            collector,
            andon,
            digest_key,
            signing_key,
            created,
        })
    }
}

impl<P: RingSlot> Recorder<P> {
    /// Builds what `settings` name in `dir` (created if missing), with checkpoints of origin
    /// [`DEFAULT_ORIGIN`]; [`RecorderBuilder`] sets another origin.
    pub fn from_settings(settings: &MonitorSettings, dir: &Path) -> Result<Self> {
        RecorderBuilder::new(settings).build(dir)
    }

    /// Wraps `model` in an [`InferenceMonitor`] recording into this collector, checked by this
    /// Andon, digesting inputs under the profile's key, and writes the model record first (a
    /// ledger's entry 0 then says which model decided).
    pub fn monitor<M>(self, model: M) -> Result<InferenceMonitor<M, RecorderCollector<P>>>
    where
        M: Explainable<Path = P>,
    {
        self.monitor_with(model, |monitor| monitor)
    }

    /// [`Recorder::monitor`] for a simulation: the monitor reads `clock` (a
    /// `whyline::monitor::quanta::Clock::mock()`), whose present is `start_ns`, so that the
    /// model record and every decision are stamped with simulated time and a run repeated
    /// with the same inputs and keys writes a byte-identical log
    /// ([`InferenceMonitor::with_clock`]).
    pub fn monitor_with_clock<M>(
        self,
        model: M,
        clock: whyline_monitor::quanta::Clock,
        start_ns: u64,
    ) -> Result<InferenceMonitor<M, RecorderCollector<P>>>
    where
        M: Explainable<Path = P>,
    {
        self.monitor_with(model, |monitor| monitor.with_clock(clock, start_ns))
    }

    fn monitor_with<M>(
        self,
        model: M,
        configure: impl FnOnce(
            InferenceMonitor<M, RecorderCollector<P>>,
        ) -> InferenceMonitor<M, RecorderCollector<P>>,
    ) -> Result<InferenceMonitor<M, RecorderCollector<P>>>
    where
        M: Explainable<Path = P>,
    {
        let mut monitor = InferenceMonitor::new(model, self.collector, self.andon);
        monitor = match &self.digest_key {
            Some(key) => monitor.with_digest_key(key),
            None => monitor.with_digest(self.settings.input_digest),
        };
        monitor = configure(monitor.with_input_recording(self.settings.record_inputs));
        monitor.record_model()?;
        Ok(monitor)
    }
}

impl<P: RingSlot> Recorder<P> {
    /// Turns this recorder into one whose collector many monitors share (a server's models,
    /// all appending to one ledger); see [`SharedRecorder`].
    pub fn into_shared(self) -> SharedRecorder<P> {
        SharedRecorder {
            settings: self.settings,
            collector: std::sync::Arc::new(self.collector),
            digest_key: self.digest_key,
            signing_key: self.signing_key,
            created: self.created,
        }
    }
}

/// A [`Recorder`] whose collector is shared: [`monitor`](SharedRecorder::monitor) wraps any
/// number of models, each with its own Andon (rules and drift detectors built from the
/// profile, the webhook sink when it names one) and its own sequence numbers, all recording
/// into the one collector. Each monitor writes its model record when it is made, so a
/// ledger says which model decided before each model's first decision.
#[derive(Debug)]
pub struct SharedRecorder<P = AnyPath> {
    settings: MonitorSettings,
    collector: std::sync::Arc<RecorderCollector<P>>,
    digest_key: Option<Vec<u8>>,
    signing_key: Option<(PathBuf, PathBuf)>,
    created: Vec<PathBuf>,
}

impl<P: RingSlot> SharedRecorder<P> {
    /// Wraps `model` in an [`InferenceMonitor`] recording into the shared collector, with an
    /// Andon of its own built from the profile, and writes its model record.
    pub fn monitor<M>(
        &self,
        model: M,
    ) -> Result<InferenceMonitor<M, std::sync::Arc<RecorderCollector<P>>>>
    where
        M: Explainable<Path = P>,
    {
        let mut andon = self.settings.build_andon()?;
        if let Some(url) = &self.settings.alert_endpoint {
            andon.add_sink(WebhookSink::new(url, WebhookOptions::default()));
        }
        let mut monitor =
            InferenceMonitor::new(model, std::sync::Arc::clone(&self.collector), andon);
        monitor = match &self.digest_key {
            Some(key) => monitor.with_digest_key(key),
            None => monitor.with_digest(self.settings.input_digest),
        };
        monitor = monitor.with_input_recording(self.settings.record_inputs);
        monitor.record_model()?;
        Ok(monitor)
    }
}

impl<P> SharedRecorder<P> {
    /// The settings it was built from.
    pub fn settings(&self) -> &MonitorSettings {
        &self.settings
    }

    /// The shared collector.
    pub fn collector(&self) -> &std::sync::Arc<RecorderCollector<P>> {
        &self.collector
    }

    /// The signing key's file and its public key's file, when the ledger signs.
    pub fn signing_key_files(&self) -> Option<(&Path, &Path)> {
        self.signing_key
            .as_ref()
            .map(|(secret, public)| (secret.as_path(), public.as_path()))
    }

    /// The key files made because the profile asked for keys that did not exist yet.
    pub fn created_files(&self) -> &[PathBuf] {
        &self.created
    }
}

impl<P> Recorder<P> {
    /// The settings it was built from.
    pub fn settings(&self) -> &MonitorSettings {
        &self.settings
    }

    /// The collector built.
    pub fn collector(&self) -> &RecorderCollector<P> {
        &self.collector
    }

    /// The Andon built: rules, drift detectors, and the webhook sink when the profile names
    /// an endpoint.
    pub fn andon(&self) -> &Andon {
        &self.andon
    }

    /// The Andon, to add sinks, handlers or training statistics before
    /// [`monitor`](Recorder::monitor).
    pub fn andon_mut(&mut self) -> &mut Andon {
        &mut self.andon
    }

    /// Whether inputs will be digested under a key.
    pub fn digests_with_key(&self) -> bool {
        self.digest_key.is_some()
    }

    /// The signing key's file and its public key's file, when the ledger signs.
    pub fn signing_key_files(&self) -> Option<(&Path, &Path)> {
        self.signing_key
            .as_ref()
            .map(|(secret, public)| (secret.as_path(), public.as_path()))
    }

    /// The verifier of the ledger's checkpoints, when it signs them.
    pub fn verifier(&self) -> Result<Option<NoteVerifier>> {
        self.collector.verifier()
    }

    /// The key files made because the profile asked for keys that did not exist yet (the
    /// signing key and its public key, the digest key).
    pub fn created_files(&self) -> &[PathBuf] {
        &self.created
    }
}

/// The training statistics a model file carries, for the out-of-distribution rules
/// ([`Andon::set_training_statistics`]); `None` when it carries none.
pub fn training_statistics(info: &ModelInfo) -> Result<Option<TrainingStatistics>> {
    let Some(stats) = &info.feature_stats else {
        return Ok(None);
    };
    let features = stats
        .mean
        .iter()
        .enumerate()
        .map(|(i, &mean)| FeatureStatistics {
            mean,
            std: stats.std.get(i).copied().unwrap_or(0.0),
            min: stats.min.get(i).copied().unwrap_or(f64::NEG_INFINITY),
            max: stats.max.get(i).copied().unwrap_or(f64::INFINITY),
        })
        .collect();
    Ok(Some(TrainingStatistics::new(features)?))
}

/// The directory that relative paths and keys are taken from, or
/// [`WhylineError::NeedsKeyDir`] naming `log` (a database) and the `setting` that needs one.
fn key_dir<'a>(
    dir: Option<&'a Path>,
    log: Option<&Path>,
    setting: &'static str,
) -> Result<&'a Path> {
    dir.ok_or_else(|| WhylineError::NeedsKeyDir {
        log: log.map(Path::to_owned).unwrap_or_default(),
        setting,
    })
}

/// [`key_dir`] for settings that name files beside the log (a stream's file).
fn local_dir<'a>(
    dir: Option<&'a Path>,
    log: Option<&LogLocation>,
    setting: &'static str,
) -> Result<&'a Path> {
    dir.ok_or_else(|| WhylineError::NotADirectory {
        log: log.map(|log| log.path().to_owned()).unwrap_or_default(),
        setting,
    })
}

/// The key the profile's `signing` asks for, read or made; `None` when it signs nothing.
fn signer_for(
    settings: &MonitorSettings,
    dir: Option<&Path>,
    location: &LogLocation,
    origin: &str,
) -> Result<Option<SigningKey>> {
    if settings.signing == SigningChoice::None {
        return Ok(None);
    }
    let dir = key_dir(dir, Some(location.path()), "signing")?;
    let file = settings
        .key_file
        .as_deref()
        .unwrap_or(Path::new("ledger.key"));
    Ok(Some(load_or_create_signer(
        &dir.join(file),
        settings.signing,
        origin,
    )?))
}

fn build_ledger<P>(
    settings: &MonitorSettings,
    location: LogLocation,
    origin: &str,
    key: Option<SigningKey>,
    opener: Option<&SharedSegmentOpener>,
) -> Result<RecorderCollector<P>> {
    let options = match key {
        Some(key) => {
            LedgerOptions::signed(origin, key.signer).checkpoint_every(settings.checkpoint_every)
        }
        None => LedgerOptions::without_checkpoints(origin),
    }
    .durability(settings.durability);
    let store: Box<dyn Store> = match (location.as_dir(), opener) {
        (Some(dir), Some(opener)) => {
            let opener = std::sync::Arc::clone(opener);
            Box::new(SegmentStore::open_with(
                dir,
                whyline_ledger::SegmentOptions::default(),
                Box::new(move |path: &Path| opener(path)),
            )?)
        }
        (Some(_), None) | (None, _) => location.open_writer()?,
    };
    let (collector, report) = LedgerCollector::open(store, options)?;
    if report.torn_bytes > 0 {
        tracing::warn!(
            path = %location.path().display(),
            torn_bytes = report.torn_bytes,
            "recovered the ledger: cut a torn tail"
        );
    }
    Ok(RecorderCollector::Ledger {
        collector,
        location,
    })
}

/// Opens (or makes) the subject key store the profile names and lets the ledger seal with it.
fn attach_key_store<P>(
    settings: &MonitorSettings,
    dir: Option<&Path>,
    collector: &RecorderCollector<P>,
    given: Option<KeyStore>,
    created: &mut Vec<PathBuf>,
) -> Result<()> {
    let RecorderCollector::Ledger {
        collector,
        location,
    } = collector
    else {
        return Ok(()); // the profile's validation allows record_inputs only with a ledger
    };
    let keys = match given {
        Some(keys) => keys,
        None => {
            // By default beside a directory ledger; a database's in the key directory.
            let path = match (&settings.key_store, location.as_dir()) {
                (Some(file), _) => key_dir(dir, Some(location.path()), "record_inputs")?.join(file),
                (None, Some(ledger_dir)) => KeyStore::default_path(ledger_dir),
                (None, None) => {
                    KeyStore::default_path(key_dir(dir, Some(location.path()), "record_inputs")?)
                }
            };
            let existed = path.exists();
            let keys = KeyStore::open_or_create(&path)?;
            if !existed {
                created.push(path);
            }
            keys
        }
    };
    collector.set_sealer(Sealer::new(keys)?)?;
    Ok(())
}

fn build_stream<P: RingSlot>(
    settings: &MonitorSettings,
    dir: &Path,
) -> Result<RecorderCollector<P>> {
    let default_name = match settings.stream_format {
        StreamFormat::Aprt => "decisions.aprt",
        StreamFormat::JsonLines => "decisions.jsonl",
    };
    let file = dir.join(
        settings
            .storage_path
            .as_deref()
            .unwrap_or(Path::new(default_name)),
    );
    let mut builder = StreamCollectorBuilder::new(settings.stream_format);
    match settings.backpressure {
        policy @ (Backpressure::Drop | Backpressure::Block) => builder.backpressure(policy),
        Backpressure::Fallback => {
            let mut name = file.clone().into_os_string();
            name.push(".fallback");
            let path = PathBuf::from(name);
            builder.fallback(open_append(&path, settings)?)
        }
    };
    let sink = open_append(&file, settings)?;
    let collector = builder.build(sink)?;
    Ok(RecorderCollector::Stream {
        collector,
        file,
        durability: settings.durability,
    })
}

/// Opens `path` for appending (creating it and its directory), synced per the profile.
fn open_append(path: &Path, settings: &MonitorSettings) -> Result<DurableFile> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(WhylineError::io("creating", parent))?;
    }
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(WhylineError::io("opening", path))?;
    Ok(DurableFile::new(file, path.to_owned(), settings.durability))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn builder(profile: &str) -> RecorderBuilder {
        let settings = MonitorSettings::from_toml(
            &format!("[inference_monitor]\ncollector = \"ledger\"\n{profile}"),
            Path::new("keys.toml"),
        )
        .unwrap();
        RecorderBuilder::new(&settings)
    }

    /// What a database log without a key directory is refused for: the first setting that
    /// reads or makes a key file, in the order signing, sealed inputs, digest key; a key store
    /// handed to the builder needs no file.
    #[test]
    fn the_first_setting_that_needs_a_key_directory_is_named() {
        assert_eq!(builder("").setting_needing_keys(), None);
        assert_eq!(
            builder("signing = \"ed25519\"\nrecord_inputs = true\ndigest_key_file = \"d.key\"\n")
                .setting_needing_keys(),
            Some("signing")
        );
        assert_eq!(
            builder("record_inputs = true\ndigest_key_file = \"d.key\"\n").setting_needing_keys(),
            Some("record_inputs")
        );
        assert_eq!(
            builder("digest_key_file = \"d.key\"\n").setting_needing_keys(),
            Some("digest_key_file")
        );
        let dir = tempfile::tempdir().unwrap();
        let keys = KeyStore::create_for_simulation(&dir.path().join("k.wks"), 1).unwrap();
        let mut given = builder("record_inputs = true\n");
        given.key_store(keys);
        assert_eq!(given.setting_needing_keys(), None);
    }
}
