//! A drone flies a survey corridor past masts and a crane, deciding 20 times a second whether
//! to cruise, slow down, climb or turn away, and every decision goes into a signed, durable
//! ledger with what the drone sensed, the control in effect and its safety margins sealed
//! beside it (the seed spec's `SensorSnapshot`, `ControlOutput` and `SafetyMargins`).
//!
//! The flight is deterministic: the course, the gusts and the drone's response come from the
//! seed, the decisions are stamped with simulated time ([`START_NS`] plus 50 ms a step), the
//! monitor reads a mock clock, and the checkpoint key and the input keys are derived from the
//! seed ([`whyline::ledger::KeyStore::create_for_simulation`]). So the same seed writes a
//! byte-identical ledger on every run and every machine, and an investigator can re-run the
//! flight to check a log. Never derive the keys of a real aircraft's log from a seed.
//!
//! ```no_run
//! let log = whyline_example_drone::fly(std::path::Path::new("drone-flight"), 7, 90)?;
//! if let Some(miss) = &log.near_miss {
//!     println!("closest approach {:.1} m to {}", miss.separation_m, miss.obstacle);
//! }
//! # Ok::<(), whyline_example_drone::DroneError>(())
//! ```

mod flight;

use std::path::{Path, PathBuf};

use whyline::core::Context;
use whyline::ledger::{KeyStore, NoteSigner, keys};
use whyline::monitor::InputRecording;
use whyline::monitor::quanta;
use whyline::{Model, RecorderBuilder, SafetyIntegrityLevel};

pub use flight::{ControlOutput, Flight, Manoeuvre, Obstacle, SafetyMargins, SensorSnapshot};

/// The avoidance policy: a scikit-learn decision tree (depth 6) over the six sensed features,
/// trained by `python/make_drone_model.py`.
pub const AVOIDANCE_MODEL_JSON: &[u8] = include_bytes!("../avoidance_tree.whyline.json");

/// The aircraft: the subject whose key seals each decision's inputs.
pub const DRONE_ID: &str = "DRONE-7";

/// Decisions per simulated second.
pub const HZ: u64 = 20;

/// When the simulated flight starts: 2026-06-01T08:00:00Z, in Unix nanoseconds.
pub const START_NS: u64 = 1_780_300_800_000_000_000;

/// The origin line of the flight log's checkpoints.
pub const ORIGIN: &str = "whyline.example/drone";

/// A closest approach under this many metres is a near-miss.
pub const NEAR_MISS_M: f32 = 5.0;

/// What went wrong in the example.
#[derive(Debug, thiserror::Error)]
pub enum DroneError {
    /// whyline refused something (the model, the ledger, the monitor).
    #[error(transparent)]
    Whyline(#[from] whyline::WhylineError),
    /// The model file.
    #[error(transparent)]
    Model(#[from] whyline::models::ModelError),
    /// The ledger or its keys.
    #[error(transparent)]
    Ledger(#[from] whyline::ledger::LedgerError),
    /// The monitor.
    #[error(transparent)]
    Monitor(#[from] whyline::monitor::MonitorError),
    /// Flushing the collector.
    #[error(transparent)]
    Collector(#[from] whyline::core::CoreError),
    /// The policy answered a class the drone has no manoeuvre for.
    #[error("the model answered class {0}, which is not one of the drone's manoeuvres")]
    UnknownManoeuvre(String),
    /// The flight's directory.
    #[error("{}: {source}", path.display())]
    Io {
        /// The directory.
        path: PathBuf,
        /// What the operating system said.
        source: std::io::Error,
    },
    /// A flight of no time at all.
    #[error("a flight needs at least one second")]
    EmptyFlight,
}

/// The closest approach of a flight.
#[derive(Clone, Debug, PartialEq)]
pub struct NearMiss {
    /// When (simulated Unix nanoseconds): the time to give `whyline incident --at`.
    pub time_ns: u64,
    /// Seconds into the flight.
    pub seconds: f64,
    /// Separation from the obstacle's surface, metres.
    pub separation_m: f32,
    /// Which obstacle.
    pub obstacle: &'static str,
    /// The decision taken at that moment.
    pub manoeuvre: Manoeuvre,
}

/// What a flight left behind.
#[derive(Clone, Debug)]
pub struct FlightLog {
    /// The ledger directory.
    pub ledger_dir: PathBuf,
    /// The checkpoint verifier key (`ledger.pub`).
    pub public_key: PathBuf,
    /// Decisions recorded.
    pub decisions: u64,
    /// Decisions per manoeuvre, in [`Manoeuvre::ALL`] order.
    pub counts: [u64; 5],
    /// The closest approach, when it was under [`NEAR_MISS_M`].
    pub near_miss: Option<NearMiss>,
    /// The closest approach of the whole flight, metres.
    pub closest_m: f32,
}

/// The embedded avoidance policy.
pub fn avoidance_model() -> Result<Model, DroneError> {
    Ok(Model::from_bytes(
        AVOIDANCE_MODEL_JSON,
        "avoidance_tree.whyline.json",
    )?)
}

/// Flies `seconds` of the course of `seed` and records every decision into a ledger under
/// `dir` (`dir/ledger`, keys under `dir/keys`; `dir` must not hold an earlier flight).
pub fn fly(dir: &Path, seed: u64, seconds: u64) -> Result<FlightLog, DroneError> {
    if seconds == 0 {
        return Err(DroneError::EmptyFlight);
    }
    std::fs::create_dir_all(dir).map_err(|source| DroneError::Io {
        path: dir.to_owned(),
        source,
    })?;
    // SIL3 (signed checkpoints every 256 entries, Andon on confidence and out-of-distribution
    // inputs), inputs sealed, group commit instead of one fsync per decision.
    let mut settings = SafetyIntegrityLevel::SIL3.defaults();
    settings.storage_path = Some(PathBuf::from("ledger"));
    settings.key_file = Some(PathBuf::from("keys/ledger.key"));
    settings.record_inputs = true;
    settings.durability = whyline::ledger::Durability::Interval {
        entries: 256,
        max_delay: std::time::Duration::from_millis(20),
    };
    let ledger_dir = dir.join("ledger");
    // The checkpoint key and the input keys come from the seed, so the log's bytes do.
    let key_paths = keys::KeyPaths::beside(&dir.join("keys/ledger.key"));
    let signer = NoteSigner::Ed25519 {
        name: ORIGIN.to_owned(),
        key: ed25519_dalek::SigningKey::from_bytes(&seeded_bytes(seed, b"checkpoint key")),
    };
    keys::write_keypair_at(&key_paths, &signer)?;
    let key_store = KeyStore::create_for_simulation(&KeyStore::default_path(&ledger_dir), seed)?;

    let model = avoidance_model()?;
    let classes = model.info().names.classes.clone();
    let mut builder = RecorderBuilder::new(&settings);
    builder.origin(ORIGIN).key_store(key_store);
    let recorder = builder.build::<whyline::AnyPath>(dir)?;
    // Simulated time: the mock clock never moves, the decisions carry their step's time.
    let (clock, _mock) = quanta::Clock::mock();
    let mut monitor = recorder.monitor_with_clock(model, clock, START_NS)?;

    let mut flight = Flight::new(seed);
    let mut counts = [0u64; 5];
    let mut closest: Option<NearMiss> = None;
    let steps = seconds * HZ;
    for step in 0..steps {
        let time_ns = START_NS + step * (1_000_000_000 / HZ);
        let sensed = flight.sense();
        let margins = flight.margins();
        let control = flight.control();
        let context = Context::new()
            .with("obstacle", sensed.obstacle)
            .with("position_x_m", round(flight.x()))
            .with("position_y_m", round(flight.y()))
            .with("control_speed_mps", control.target_speed_mps)
            .with("control_climb_mps", control.climb_rate_mps)
            .with("control_lateral_mps", control.lateral_speed_mps)
            .with("min_separation_m", margins.min_separation_m)
            .with("time_to_collision_s", margins.time_to_collision_s)
            .with("altitude_margin_m", margins.altitude_margin_m)
            .with("corridor_margin_m", margins.corridor_margin_m);
        let recording = InputRecording {
            subject: Some(DRONE_ID),
            context: context.fields(),
        };
        let decision = monitor.predict_one_recorded_at(&sensed.features(), &recording, time_ns)?;
        let class = classes
            .get(decision.output as usize)
            .map_or("?", String::as_str);
        let manoeuvre = Manoeuvre::from_class(class)
            .ok_or_else(|| DroneError::UnknownManoeuvre(class.to_owned()))?;
        counts[manoeuvre as usize] += 1;
        if closest
            .as_ref()
            .is_none_or(|c| margins.min_separation_m < c.separation_m)
        {
            closest = Some(NearMiss {
                time_ns,
                seconds: step as f64 / HZ as f64,
                separation_m: margins.min_separation_m,
                obstacle: margins.nearest,
                manoeuvre,
            });
        }
        flight.apply(manoeuvre);
    }
    let collector = monitor.collector();
    collector.checkpoint()?;
    whyline::core::TraceCollector::<whyline::AnyPath>::flush(collector)?;
    let closest_m = closest.as_ref().map_or(f32::INFINITY, |c| c.separation_m);
    Ok(FlightLog {
        ledger_dir,
        public_key: key_paths.verifier_key,
        decisions: steps,
        counts,
        near_miss: closest.filter(|c| c.separation_m < NEAR_MISS_M),
        closest_m,
    })
}

/// 32 bytes derived from the seed for one purpose.
fn seeded_bytes(seed: u64, purpose: &[u8]) -> [u8; 32] {
    use sha2::Digest;
    sha2::Sha256::new()
        .chain_update(b"whyline drone example v1")
        .chain_update(seed.to_le_bytes())
        .chain_update(purpose)
        .finalize()
        .into()
}

/// Centimetre precision for positions in the context.
fn round(metres: f32) -> f32 {
    (metres * 100.0).round() / 100.0
}
