//! `whyline demo`: the seed specification's autonomous-vehicle "cat scenario" end to end.
//!
//! A bundled random forest (trained by `python/make_demo_model.py`) drives 31 seconds of a
//! synthetic sensor sequence through an `InferenceMonitor` that records every decision in a
//! signed, durable ledger built by `whyline::Recorder` from the SIL3 profile (every append
//! synced, Ed25519 checkpoints every 256 entries) while Andon alerts print as they fire. Then the
//! ledger is verified and the incident report for the impact time is printed and written as
//! HTML.
//!
//! Every decision's sensor inputs and context (the detected object, its distance and closing
//! speed, the vehicle's speed) are sealed into the ledger under the subject `AV-2847-XK`, and
//! the model is written to `DIR/model.json`, so `whyline replay DIR/ledger --model
//! DIR/model.json` can make every decision again.

mod pipeline;
mod scenario;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use anyhow::{Context, bail};
use clap::Args;
use whyline::forensics::provenance::{AnomalyThresholds, ProvenanceGraph, render_html_section};
use whyline::forensics::{Investigation, render_html, render_text};
use whyline::monitor::{CallbackSink, InputRecording};
use whyline::{
    Alert, Explainable, IncidentQuery, LoadOptions, Model, RecorderBuilder, SafetyIntegrityLevel,
    SegmentStore, TraceCollector, training_statistics, verify_store,
};
use whyline_core::now_ns;

use crate::Outcome;
use scenario::{BEFORE_S, Drive, HZ};

/// The demo model, embedded so the demo runs from one command with nothing else installed.
const DEMO_MODEL: &[u8] = include_bytes!("../../../assets/demo_model.json");
const ORIGIN: &str = "whyline.demo/av-2847";
/// The vehicle: the subject whose key seals the decisions' inputs.
const VEHICLE: &str = "AV-2847-XK";

/// Arguments of `whyline demo`.
#[derive(Debug, Args)]
pub(crate) struct DemoArgs {
    /// Directory for the demo's ledger, keys and HTML report (a previous demo ledger there is
    /// replaced; its keys are reused).
    #[arg(long, default_value = "whyline-demo")]
    dir: PathBuf,

    /// Another model to drive the scenario (whyline JSON, XGBoost, LightGBM or aprender
    /// `.apr`): it must read the scenario's six features (distance, closing speed, object
    /// size, detection confidence, lateral offset, ego speed) and predict its four actions.
    #[arg(long, value_name = "FILE")]
    model: Option<PathBuf>,

    /// The Ed25519 public key (32 raw bytes or 64 hex digits) a signed `.apr` `--model` must
    /// verify with.
    #[arg(long, value_name = "FILE", requires = "model")]
    apr_public_key: Option<PathBuf>,
}

/// Loads a model file, a signed `.apr` one verified with the key in `apr_public_key` when
/// given (else with the key it carries).
pub(crate) fn load_model(path: &Path, apr_public_key: Option<&Path>) -> anyhow::Result<Model> {
    let mut options = LoadOptions::default();
    if let Some(key) = apr_public_key {
        options = options.with_apr_public_key(LoadOptions::read_apr_public_key(key)?);
    }
    Ok(Model::load_with(path, &options)?)
}

/// The embedded model, or `--model FILE` checked against the scenario: six features, and the
/// embedded model's feature and action names when the file has none.
fn scenario_model(args: &DemoArgs) -> anyhow::Result<Model> {
    let embedded = Model::from_bytes(DEMO_MODEL, "demo_model.json")
        .context("loading the embedded demo model")?;
    let Some(path) = &args.model else {
        return Ok(embedded);
    };
    let mut model = load_model(path, args.apr_public_key.as_deref())
        .with_context(|| format!("loading --model {}", path.display()))?;
    let expected = embedded.n_features();
    if model.n_features() != expected {
        bail!(
            "--model {}: the model reads {} features, the cat scenario has {expected} ({})",
            path.display(),
            model.n_features(),
            embedded.info().names.features.join(", ")
        );
    }
    if model.info().names.features.is_empty() {
        model.set_names(embedded.info().names.clone());
    }
    Ok(model)
}

pub(crate) fn run(args: &DemoArgs) -> anyhow::Result<Outcome> {
    let stdout = std::io::stdout();
    let dir = &args.dir;
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let ledger_dir = dir.join("ledger");
    fresh_ledger_dir(&ledger_dir)?;

    let model = scenario_model(args)?;
    let names = model.info().names.clone();
    let identity = model
        .identity()
        .cloned()
        .context("the embedded model has no identity")?;
    // SIL3: a ledger with every append durable, Ed25519 checkpoints every 256 entries,
    // yellow/red confidence, OOD checks. The ledger and its key live under `dir`.
    let mut settings = SafetyIntegrityLevel::SIL3.defaults();
    settings.storage_path = Some(PathBuf::from("ledger"));
    settings.key_file = Some(PathBuf::from("keys/ledger.key"));
    // Inputs and context sealed into the ledger, keys in ledger/keys/subjects.wks.
    settings.record_inputs = true;
    // The model file beside the ledger is the one recorded (its SHA-256 is the model
    // record's), so that replay and `incident --model` can use it.
    let (model_path, model_bytes) = match &args.model {
        Some(path) => {
            let extension = path.extension().and_then(|e| e.to_str()).unwrap_or("model");
            let bytes = std::fs::read(path)
                .with_context(|| format!("reading --model {}", path.display()))?;
            (dir.join(format!("model.{extension}")), bytes)
        }
        None => (dir.join("model.json"), DEMO_MODEL.to_vec()),
    };
    std::fs::write(&model_path, &model_bytes)
        .with_context(|| format!("writing {}", model_path.display()))?;
    let mut recorder = RecorderBuilder::new(&settings)
        .origin(ORIGIN)
        .build(dir)
        .context("building the SIL3 recorder")?;
    let verifier = recorder
        .verifier()?
        .context("the SIL3 profile signs its checkpoints")?;
    let public_key = recorder
        .signing_key_files()
        .map(|(_, public)| public.to_owned())
        .context("the SIL3 profile has a key file")?;
    if let Some(statistics) = training_statistics(model.info())? {
        recorder.andon_mut().set_training_statistics(statistics);
    }
    let impact_ns = now_ns();
    let start_ns = impact_ns - BEFORE_S * 1_000_000_000;
    let alerts: Arc<Mutex<Vec<Alert>>> = Arc::default();
    let seen = Arc::clone(&alerts);
    recorder
        .andon_mut()
        .add_sink(CallbackSink::new(move |alert: &Alert| {
            if let Ok(mut seen) = seen.lock() {
                seen.push(alert.clone());
            }
        }));
    // Entry 0 of the log says which model decided, with its feature and class names.
    let mut monitor = recorder
        .monitor(model)
        .context("recording the model in the ledger")?;

    {
        let mut out = stdout.lock();
        writeln!(out, "whyline demo: vehicle AV-2847, planner {identity}")?;
        writeln!(
            out,
            "recording {} decisions ({} s at {HZ} Hz) into a signed, durable ledger at {}\n",
            Drive::steps(),
            Drive::steps() / HZ,
            ledger_dir.display()
        )?;
    }
    let mut drive = Drive::new();
    let info = monitor.model().info().clone();
    // The ledger index of the decision at the impact, when its pipeline was recorded.
    let mut impact_decision: Option<u64> = None;
    let mut last_class: Option<usize> = None;
    let mut printed_alerts = 0;
    let mut streak = AlertStreak::default();
    while let Some(frame) = drive.next() {
        let at = (start_ns as i128
            + i128::from(frame.relative_ms + BEFORE_S as i64 * 1000) * 1_000_000)
            as u64;
        let [
            distance_m,
            closing_mps,
            size_m,
            detection,
            lateral_m,
            ego_kmh,
        ] = frame.features;
        let context = whyline_core::Context::new()
            .with("object", frame.object)
            .with("distance_m", distance_m)
            .with("closing_speed_mps", closing_mps)
            .with("object_size_m", size_m)
            .with("detection_confidence", detection)
            .with("lateral_offset_m", lateral_m)
            .with("ego_speed_kmh", ego_kmh);
        let recording = InputRecording {
            subject: Some(VEHICLE),
            context: context.fields(),
        };
        let in_pipeline = frame.relative_ms >= pipeline::PIPELINE_FROM_MS && frame.relative_ms <= 0;
        let fused = if in_pipeline {
            Some(
                pipeline::sense(monitor.collector(), &frame, at)
                    .context("recording the pipeline's provenance")?,
            )
        } else {
            None
        };
        let decision = monitor.predict_one_recorded_at(&frame.features, &recording, at)?;
        if let Some(fused) = fused {
            let row: Vec<f64> = frame.features.iter().map(|&v| f64::from(v)).collect();
            let prediction = monitor.model().predict(&row)?;
            let step = pipeline::Step {
                at_ns: at,
                fused,
                decision: &decision,
                probabilities: prediction.probabilities.as_deref().unwrap_or(&[]),
            };
            let recorded = pipeline::decide(monitor.collector(), &identity, &info, &step)
                .context("recording the pipeline's provenance")?;
            if frame.relative_ms == 0 {
                impact_decision = recorded;
            }
        }
        let class = decision.output as usize;
        let mut out = stdout.lock();
        if last_class != Some(class) {
            streak.close(&mut out)?;
            writeln!(
                out,
                "{:>9} {:<16} confidence {:>3.0}%   speed {:>4.1} km/h",
                relative(frame.relative_ms),
                names.classes.get(class).map_or("?", String::as_str),
                decision.confidence.unwrap_or(1.0) * 100.0,
                drive.speed_kmh()
            )?;
            last_class = Some(class);
        }
        let fired = alerts.lock().map(|a| a.len()).unwrap_or(0);
        if let Ok(all) = alerts.lock() {
            for alert in all.get(printed_alerts..).unwrap_or(&[]) {
                streak.show(&mut out, frame.relative_ms, alert, &names)?;
            }
        }
        printed_alerts = fired;
        drive.react(class);
        if frame.relative_ms == 0 {
            writeln!(
                out,
                "{:>9} ■ IMPACT at {:.1} km/h (from 35.0 km/h)",
                relative(0),
                drive.speed_kmh()
            )?;
        }
    }
    streak.close(&mut stdout.lock())?;
    let collector = monitor.collector();
    collector
        .checkpoint()
        .context("signing the final checkpoint")?;
    TraceCollector::<whyline::AnyPath>::flush(collector)?;
    let stats = monitor.andon().stats();

    let mut out = stdout.lock();
    writeln!(
        out,
        "\nAndon: {} decisions checked, {} yellow and {} red alerts",
        stats.checked, stats.yellow, stats.red
    )?;
    let store = SegmentStore::open(&ledger_dir)?;
    let verified = verify_store(&store, Some(&verifier))
        .and_then(|outcome| outcome.into_result())
        .context("verifying the demo ledger")?;
    writeln!(
        out,
        "ledger verified: {} entries re-hashed, {} signed checkpoints checked against {}\n",
        verified.entries,
        verified.checkpoints,
        public_key.display()
    )?;
    drop(out);

    let query = IncidentQuery {
        time_ns: impact_ns,
        lookback_ns: 30 * 1_000_000_000,
        lookahead_ns: 1_000_000_000,
    };
    // The report opens the sealed inputs with the key store and explains each decision
    // exactly with the model file: what the car saw, and why each decision was taken.
    let report = Investigation::new(&ledger_dir, query)
        .verifier(&verifier)
        .names(&names)
        .model_file(&model_path)
        .run()?;
    let html_path = dir.join("incident.html");
    let mut html = render_html(&report);
    if let Some(index) = impact_decision {
        // The impact decision's chain, from the sensors to the planner, under the report.
        let graph = ProvenanceGraph::read_dir(&ledger_dir)?;
        let node = graph.resolve(None, Some(index))?;
        let path = graph.reconstruct_attack_path(node, 32, &AnomalyThresholds::default())?;
        if let Some(end) = html.rfind("</body>") {
            html.insert_str(end, &render_html_section(&path));
        }
    }
    std::fs::write(&html_path, html).with_context(|| format!("writing {}", html_path.display()))?;
    let mut out = stdout.lock();
    out.write_all(render_text(&report).as_bytes())?;
    writeln!(out, "\nHTML report: {}", html_path.display())?;
    writeln!(
        out,
        "Inputs and context sealed under subject {VEHICLE} (keys in {}); model written to {}",
        whyline::ledger::KeyStore::default_path(&ledger_dir).display(),
        model_path.display()
    )?;
    writeln!(
        out,
        "Replay every decision:  whyline replay {} --model {}",
        ledger_dir.display(),
        model_path.display()
    )?;
    if let Some(index) = impact_decision {
        writeln!(
            out,
            "Provenance of the impact decision (sensors -> perception -> fusion -> planner):  whyline provenance {} --decision {index}",
            ledger_dir.display()
        )?;
    }
    writeln!(
        out,
        "Investigate again:  whyline incident {} --at {} --before 30s --after 1s --public-key {}",
        ledger_dir.display(),
        whyline::forensics::format_time_ns(impact_ns),
        public_key.display()
    )?;
    Ok(Outcome::Clean)
}

/// Prints an alert unless it repeats the previous one on the previous decision; a run of
/// repeats ends with one line counting them, so the screen shows what changed.
#[derive(Default)]
struct AlertStreak {
    last: Option<(
        whyline::AlertLevel,
        std::mem::Discriminant<whyline::monitor::AlertKind>,
        u64,
    )>,
    repeats: u64,
    last_ms: i64,
}

impl AlertStreak {
    fn show(
        &mut self,
        out: &mut impl Write,
        relative_ms: i64,
        alert: &Alert,
        names: &whyline::core::Names,
    ) -> std::io::Result<()> {
        let key = (alert.level, std::mem::discriminant(&alert.kind));
        if let Some((level, kind, sequence)) = self.last
            && (level, kind) == key
            && alert.sequence <= sequence + 1
        {
            self.repeats += 1;
            self.last = Some((level, kind, alert.sequence));
            self.last_ms = relative_ms;
            return Ok(());
        }
        self.close(out)?;
        writeln!(
            out,
            "{:>9}   ⚠ ANDON {}",
            relative(relative_ms),
            alert.named(names)
        )?;
        self.last = Some((key.0, key.1, alert.sequence));
        self.last_ms = relative_ms;
        Ok(())
    }

    fn close(&mut self, out: &mut impl Write) -> std::io::Result<()> {
        if self.repeats > 0 {
            writeln!(
                out,
                "{:>9}     … and {} more like it, until {}",
                "",
                self.repeats,
                relative(self.last_ms)
            )?;
        }
        self.repeats = 0;
        self.last = None;
        Ok(())
    }
}

fn relative(ms: i64) -> String {
    let sign = if ms > 0 { '+' } else { '-' };
    format!("T{sign}{:.3}s", ms.unsigned_abs() as f64 / 1000.0)
}

/// Removes a previous demo ledger; refuses to touch a directory that is not one.
fn fresh_ledger_dir(dir: &Path) -> anyhow::Result<()> {
    if !dir.exists() {
        return Ok(());
    }
    if !whyline::ledger::is_ledger_dir(dir) {
        bail!(
            "{} exists and is not a whyline ledger; choose another --dir",
            dir.display()
        );
    }
    std::fs::remove_dir_all(dir)
        .with_context(|| format!("removing the previous demo ledger {}", dir.display()))
}
