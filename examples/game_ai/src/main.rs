//! `game_ai`: runs the NPC for a number of frames and draws the debug overlay.
//!
//! ```text
//! cargo run -p whyline-example-game-ai -- --seed 7 --frames 600 --every 120
//! cargo run -p whyline-example-game-ai -- --live        # redraws in place at 60 frames/s
//! ```

use std::io::Write;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use clap::Parser;
use whyline::Model;
use whyline_example_game_ai::{Action, Game, RING, npc_model};

/// A game NPC whose decisions are recorded in a 64-slot ring and drawn as a debug overlay.
#[derive(Debug, Parser)]
#[command(name = "game_ai", version)]
struct Args {
    /// Seed of the simulated world: the same seed gives the same decisions.
    #[arg(long, default_value_t = 7)]
    seed: u64,
    /// Frames to run.
    #[arg(long, default_value_t = 600)]
    frames: u64,
    /// Draw the overlay every this many frames (0: only after the last frame).
    #[arg(long, default_value_t = 120)]
    every: u64,
    /// Redraw the overlay in place every frame, at 60 frames per second.
    #[arg(long)]
    live: bool,
    /// Another NPC model (whyline JSON of a decision tree over the same four features).
    #[arg(long)]
    model: Option<PathBuf>,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let model = match &args.model {
        Some(path) => Model::load(path)?,
        None => npc_model()?,
    };
    let mut game = Game::new(&model, args.seed)?;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let mut overlay = String::with_capacity(2048);
    let mut frame_times = Vec::with_capacity(args.frames as usize);
    let mut counts = [0u64; 3];
    for frame in 0..args.frames {
        let started = Instant::now();
        let decision = game.step()?;
        let elapsed = started.elapsed();
        frame_times.push(elapsed.as_nanos() as u64);
        counts[match decision.action {
            Action::ChasePlayer => 0,
            Action::TakeCover => 1,
            Action::Reload => 2,
        }] += 1;
        let last = frame + 1 == args.frames;
        let due = args.live || last || (args.every > 0 && (frame + 1) % args.every == 0);
        if due {
            game.overlay(elapsed.as_nanos() as u64, &mut overlay)?;
            if args.live {
                write!(out, "\x1b[H\x1b[2J")?;
            }
            writeln!(out, "frame {}", frame + 1)?;
            write!(out, "{overlay}")?;
            out.flush()?;
        }
        if args.live {
            std::thread::sleep(Duration::from_nanos(whyline_example_game_ai::FRAME_NS));
        }
    }
    frame_times.sort_unstable();
    let median = frame_times.get(frame_times.len() / 2).copied().unwrap_or(0);
    writeln!(
        out,
        "{} frames: CHASE_PLAYER {}, TAKE_COVER {}, RELOAD {}; the last {} decisions are in the ring; sense + decide + record per frame: median {} ns",
        args.frames,
        counts[0],
        counts[1],
        counts[2],
        RING.min(args.frames as usize),
        median
    )?;
    Ok(())
}
