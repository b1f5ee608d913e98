//! A game NPC whose every decision is explained and kept in a fixed ring, drawn as the seed
//! specification's debug overlay (§7, "Debug Overlay Example (jugar-ai)").
//!
//! Each frame the NPC senses the world (is the player visible, how far, its own health and
//! ammunition), a small decision tree trained with scikit-learn (`python/make_game_model.py`)
//! picks `CHASE_PLAYER`, `TAKE_COVER` or `RELOAD`, and an [`InferenceMonitor`] records the
//! decision with its path into a [`RingCollector`] of [`RING`] slots. The ring's slots are
//! built up front from a template as deep as the tree, so a frame allocates nothing: not the
//! path, not the record (a test counts allocations). The overlay reads the newest trace: the
//! decision, its confidence (the leaf's class distribution), the splits taken with their
//! thresholds, and the alternatives.
//!
//! The world is simulated from a seed and the frame clock is simulated too (60 frames per
//! second from a fixed epoch), so a seed gives the same decisions, the same traces and the
//! same overlay on every run.
//!
//! ```
//! use whyline_example_game_ai::{Game, npc_model};
//!
//! let mut game = Game::new(&npc_model()?, 7)?;
//! for _ in 0..60 {
//!     game.step()?;
//! }
//! let mut overlay = String::new();
//! game.overlay(300_000, &mut overlay)?;
//! assert!(overlay.contains("AI Decision: "));
//! assert!(overlay.contains("Frame Time: 0.300ms"));
//! # Ok::<(), whyline_example_game_ai::GameError>(())
//! ```

use std::fmt::Write as _;

use whyline::core::{DecisionTrace, Explainable, LeafInfo, TreePath, TreeSplit};
use whyline::ledger::collector::RingCollector;
use whyline::models::{DecisionTree, ModelKind};
use whyline::monitor::Andon;
use whyline::{InferenceMonitor, Model};

/// Slots in the ring: the last second of decisions at 60 frames per second, as the seed
/// specification's game profile (`ring_size = 64`).
pub const RING: usize = 64;

/// Nanoseconds per simulated frame (60 frames per second).
pub const FRAME_NS: u64 = 16_666_667;

/// The simulated clock's start: 2026-01-01T00:00:00Z.
pub const EPOCH_NS: u64 = 1_767_225_600_000_000_000;

/// The NPC's model as shipped with the example (scikit-learn `DecisionTreeClassifier`,
/// depth 4, exported by whyline's exporter).
pub const NPC_MODEL_JSON: &[u8] = include_bytes!("../npc_tree.whyline.json");

/// Inner width of the overlay box, in characters.
const BOX_WIDTH: usize = 41;

/// What can go wrong running the game.
#[derive(Debug, thiserror::Error)]
pub enum GameError {
    /// The model file could not be loaded.
    #[error(transparent)]
    Model(#[from] whyline::models::ModelError),
    /// The monitor refused a decision.
    #[error(transparent)]
    Monitor(#[from] whyline::MonitorError),
    /// The ring could not be read.
    #[error(transparent)]
    Ledger(#[from] whyline::ledger::LedgerError),
    /// The model is not what the NPC needs.
    #[error("the NPC model must be {expected}; this one is not: {found}")]
    WrongModel {
        /// What the NPC needs.
        expected: &'static str,
        /// What the file holds.
        found: String,
    },
    /// The overlay was asked for before the first decision.
    #[error("no decision yet: step the game first")]
    NoDecision,
}

/// What the NPC can do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Action {
    /// Run at the player, firing.
    ChasePlayer,
    /// Hide and recover health.
    TakeCover,
    /// Refill the magazine.
    Reload,
}

impl Action {
    /// The class name the model gives this action.
    pub const fn class_name(self) -> &'static str {
        match self {
            Action::ChasePlayer => "CHASE_PLAYER",
            Action::TakeCover => "TAKE_COVER",
            Action::Reload => "RELOAD",
        }
    }

    const ALL: [Action; 3] = [Action::ChasePlayer, Action::TakeCover, Action::Reload];
}

/// The example's own model ([`NPC_MODEL_JSON`]).
pub fn npc_model() -> Result<Model, GameError> {
    Ok(Model::from_bytes(NPC_MODEL_JSON, "npc_tree.whyline.json")?)
}

/// The state of the simulated world the NPC senses.
#[derive(Clone, Debug, PartialEq)]
pub struct World {
    /// Whether the NPC sees the player.
    pub player_visible: bool,
    /// Distance to the player, metres (0 to 250, 0.1 m steps).
    pub player_distance: f32,
    /// The NPC's health, 0 to 1 (0.01 steps).
    pub health: f32,
    /// Rounds in the NPC's magazine, 0 to 30.
    pub ammo: u32,
    /// The distance the player is heading for.
    player_target: f32,
    rng: fastrand::Rng,
}

impl World {
    /// A world drawn from `seed`.
    pub fn new(seed: u64) -> World {
        let mut rng = fastrand::Rng::with_seed(seed);
        let player_distance = quantise(rng.f32() * 250.0, 10.0);
        let player_target = quantise(rng.f32() * 200.0 + 10.0, 10.0);
        World {
            player_visible: rng.bool(),
            player_distance,
            player_target,
            health: 1.0,
            ammo: 30,
            rng,
        }
    }

    /// The model's input row: `player_visible`, `player_distance`, `health`, `ammo`.
    pub fn features(&self) -> [f32; 4] {
        [
            f32::from(u8::from(self.player_visible)),
            self.player_distance,
            self.health,
            self.ammo as f32,
        ]
    }

    /// Advances the world one frame after the NPC chose `action`.
    ///
    /// The player closes in on a distance of their own choosing, picked anew about every
    /// three seconds, and backs off from a chasing NPC; sight comes and goes, more often up
    /// close; chasing spends ammunition and, in sight of the player, health; cover heals.
    pub fn advance(&mut self, action: Action) {
        if self.rng.u32(0..180) == 0 {
            self.player_target = quantise(self.rng.f32() * 200.0 + 10.0, 10.0);
        }
        let pull = (self.player_target - self.player_distance) * 0.03;
        let noise = (self.rng.f32() - 0.5) * 3.0;
        let chase = if action == Action::ChasePlayer {
            -1.5
        } else {
            0.0
        };
        self.player_distance = quantise(
            (self.player_distance + pull + noise + chase).clamp(0.0, 250.0),
            10.0,
        );
        let flip = if self.player_visible { 0.02 } else { 0.05 };
        let near = if self.player_distance < 120.0 {
            1.5
        } else {
            0.5
        };
        if self.rng.f32() < flip * near {
            self.player_visible = !self.player_visible;
        }
        match action {
            Action::ChasePlayer => {
                if self.rng.u32(0..3) == 0 {
                    self.ammo = self.ammo.saturating_sub(1);
                }
                if self.player_visible && self.rng.f32() < 0.3 {
                    self.health -= 0.02;
                }
            }
            Action::TakeCover => self.health += 0.005,
            Action::Reload => self.ammo = 30,
        }
        self.health = quantise(self.health.clamp(0.0, 1.0), 100.0);
        if self.health <= 0.0 {
            // Respawn.
            self.health = 1.0;
            self.ammo = 30;
        }
    }
}

/// `value` rounded to `1 / steps`.
fn quantise(value: f32, steps: f32) -> f32 {
    (value * steps).round() / steps
}

/// One frame's decision.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FrameDecision {
    /// The frame number, from 0.
    pub frame: u64,
    /// What the NPC does.
    pub action: Action,
    /// The probability the tree's leaf gives that action.
    pub confidence: f32,
}

/// The NPC, its world and its decision ring.
pub struct Game {
    world: World,
    monitor: InferenceMonitor<DecisionTree, RingCollector<TreePath, RING>>,
    /// Action of each class index of the model.
    actions: Vec<Action>,
    /// The row of the newest decision (traces keep only its digest).
    last_row: [f32; 4],
    frame: u64,
}

impl Game {
    /// A game whose NPC decides with `model` (a decision tree classifier over the four
    /// features of [`World::features`], classes naming every [`Action`]) in a world drawn
    /// from `seed`.
    pub fn new(model: &Model, seed: u64) -> Result<Game, GameError> {
        let ModelKind::DecisionTree(tree) = model.kind() else {
            return Err(GameError::WrongModel {
                expected: "a decision tree classifier",
                found: Explainable::identity(model)
                    .map_or_else(|| "an unknown model".to_owned(), |id| id.model_type.clone()),
            });
        };
        let names = &tree.info.names;
        let features = ["player_visible", "player_distance", "health", "ammo"];
        if names.features != features {
            return Err(GameError::WrongModel {
                expected: "a model of player_visible, player_distance, health, ammo",
                found: format!("features {:?}", names.features),
            });
        }
        let actions = names
            .classes
            .iter()
            .map(|class| {
                Action::ALL
                    .into_iter()
                    .find(|action| action.class_name() == class)
                    .ok_or_else(|| GameError::WrongModel {
                        expected: "classes CHASE_PLAYER, TAKE_COVER, RELOAD",
                        found: format!("class {class}"),
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let template = template(tree, actions.len());
        let ring = RingCollector::with_template(&template);
        let monitor = InferenceMonitor::new(tree.clone(), ring, Andon::disabled())
            .with_path_template(template.path);
        let world = World::new(seed);
        Ok(Game {
            last_row: world.features(),
            world,
            monitor,
            actions,
            frame: 0,
        })
    }

    /// The world as the NPC will sense it next.
    pub fn world(&self) -> &World {
        &self.world
    }

    /// The ring of the last [`RING`] decisions.
    pub fn ring(&self) -> &RingCollector<TreePath, RING> {
        self.monitor.collector()
    }

    /// The row of the newest decision.
    pub fn last_row(&self) -> [f32; 4] {
        self.last_row
    }

    /// One frame: sense, decide (recorded with its path into the ring), act. Allocates
    /// nothing.
    pub fn step(&mut self) -> Result<FrameDecision, GameError> {
        let row = self.world.features();
        let at = EPOCH_NS + self.frame * FRAME_NS;
        let decision = self.monitor.predict_one_at(&row, at)?;
        let class = decision.output as usize;
        let action = self
            .actions
            .get(class)
            .copied()
            .ok_or(GameError::NoDecision)?;
        self.last_row = row;
        self.world.advance(action);
        let frame = FrameDecision {
            frame: self.frame,
            action,
            confidence: decision.confidence.unwrap_or(0.0),
        };
        self.frame += 1;
        Ok(frame)
    }

    /// Draws the debug overlay of the newest decision into `out` (cleared first):
    /// decision, confidence, the path with thresholds, the alternatives with their
    /// probabilities, and `frame_time_ns` (what the caller measured for the frame).
    pub fn overlay(&self, frame_time_ns: u64, out: &mut String) -> Result<(), GameError> {
        let trace = self.monitor.last_trace().ok_or(GameError::NoDecision)?;
        out.clear();
        let names = &self.monitor.model().info.names;
        let probabilities = leaf_probabilities(&trace.path.leaf);
        let chosen = trace.output as usize;
        let action = self.actions.get(chosen).ok_or(GameError::NoDecision)?;
        let confidence = probabilities.get(chosen).copied().unwrap_or(0.0);
        border(out, '┌', '┐');
        boxed(out, format_args!(" AI Decision: {}", action.class_name()));
        border(out, '├', '┤');
        boxed(out, format_args!(" Confidence: {:.0}%", confidence * 100.0));
        boxed(out, format_args!(""));
        boxed(out, format_args!(" Decision Path:"));
        let last = trace.path.splits.len().saturating_sub(1);
        for (i, split) in trace.path.splits.iter().enumerate() {
            let branch = if i == last { "└─" } else { "├─" };
            let feature = split.feature_index as usize;
            let name = names.features.get(feature).map_or("?", String::as_str);
            let value = self.last_row.get(feature).copied().unwrap_or(f32::NAN);
            if feature == 0 {
                let seen = if value > 0.5 { "YES" } else { "NO" };
                boxed(out, format_args!("  {branch} {name}: {seen}"));
            } else {
                let op = if split.went_left { "<=" } else { ">" };
                boxed(
                    out,
                    format_args!(
                        "  {branch} {name}: {value} {op} {}",
                        Threshold(split.threshold)
                    ),
                );
            }
        }
        boxed(out, format_args!(""));
        boxed(out, format_args!(" Alternatives Considered:"));
        // Most likely first; ties in class order.
        let mut order = [0usize, 1, 2];
        order.sort_by(|&a, &b| {
            let pa = probabilities.get(a).copied().unwrap_or(0.0);
            let pb = probabilities.get(b).copied().unwrap_or(0.0);
            pb.total_cmp(&pa).then(a.cmp(&b))
        });
        for class in order.into_iter().filter(|&c| c != chosen) {
            if let (Some(alternative), Some(p)) =
                (self.actions.get(class), probabilities.get(class))
            {
                boxed(
                    out,
                    format_args!("  • {} ({:.0}%)", alternative.class_name(), p * 100.0),
                );
            }
        }
        boxed(out, format_args!(""));
        boxed(
            out,
            format_args!(" Frame Time: {:.3}ms", frame_time_ns as f64 / 1e6),
        );
        border(out, '└', '┘');
        Ok(())
    }
}

/// The leaf's class distribution as probabilities (sklearn stores fractions or counts).
fn leaf_probabilities(leaf: &LeafInfo) -> [f32; 3] {
    let mut p = [0.0f32; 3];
    if let Some(distribution) = &leaf.class_distribution {
        let total: f32 = distribution.iter().sum();
        for (slot, value) in p.iter_mut().zip(distribution) {
            *slot = if total > 0.0 { value / total } else { 0.0 };
        }
    }
    p
}

/// A trace whose path is as deep as the tree, so ring slots built from it hold every path.
fn template(tree: &DecisionTree, classes: usize) -> DecisionTrace<TreePath> {
    let depth = depth(&tree.tree.nodes);
    DecisionTrace {
        timestamp_ns: 0,
        sequence: 0,
        input_hash: 0,
        output: 0.0,
        latency_ns: 0,
        path: TreePath {
            splits: vec![TreeSplit::default(); depth],
            leaf: LeafInfo {
                class_distribution: Some(vec![0.0; classes]),
                ..LeafInfo::default()
            },
            impurity_path: vec![0.0; depth + 1],
        },
    }
}

/// The number of splits on the tree's longest root-to-leaf path (children always follow
/// their parent, so one pass in node order suffices).
fn depth(nodes: &[whyline::models::Node]) -> usize {
    let mut at = vec![0usize; nodes.len()];
    let mut deepest = 0;
    for (i, node) in nodes.iter().enumerate() {
        let here = at.get(i).copied().unwrap_or(0);
        deepest = deepest.max(here);
        if let Some(split) = &node.split {
            for child in [split.left, split.right] {
                if let Some(slot) = at.get_mut(child as usize) {
                    *slot = here + 1;
                }
            }
        }
    }
    deepest
}

/// A split threshold as people write it: two decimals at most, no trailing zeros (trees
/// store thresholds rounded down to `f32`, so `99.65` is `99.649994`).
struct Threshold(f32);

impl std::fmt::Display for Threshold {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let hundredths = (f64::from(self.0) * 100.0).round() as i64;
        let (whole, fraction) = (hundredths / 100, (hundredths % 100).abs());
        let sign = if hundredths < 0 && whole == 0 {
            "-"
        } else {
            ""
        };
        match fraction {
            0 => write!(f, "{sign}{whole}"),
            f2 if f2 % 10 == 0 => write!(f, "{sign}{whole}.{}", f2 / 10),
            f2 => write!(f, "{sign}{whole}.{f2:02}"),
        }
    }
}

fn border(out: &mut String, left: char, right: char) {
    out.push(left);
    out.extend(std::iter::repeat_n('─', BOX_WIDTH));
    out.push(right);
    out.push('\n');
}

/// One line of the box, padded to its width (or cut, for a very long feature name).
fn boxed(out: &mut String, text: std::fmt::Arguments<'_>) {
    out.push('│');
    let start = out.len();
    let _ = out.write_fmt(text);
    let written = out[start..].chars().count();
    if written > BOX_WIDTH {
        let cut = out[start..]
            .char_indices()
            .nth(BOX_WIDTH)
            .map_or(out.len(), |(i, _)| start + i);
        out.truncate(cut);
    } else {
        out.extend(std::iter::repeat_n(' ', BOX_WIDTH - written));
    }
    out.push_str("│\n");
}
