//! `drone`: flies the simulated survey corridor and records every avoidance decision.
//!
//! ```text
//! cargo run -p whyline-example-drone -- --seed 7 --dir drone-flight
//! ```

use std::io::Write;
use std::path::PathBuf;

use clap::Parser;
use whyline_example_drone::{Manoeuvre, NEAR_MISS_M, fly};

/// A drone whose avoidance decisions go into a signed, durable ledger.
#[derive(Debug, Parser)]
#[command(name = "drone", version)]
struct Args {
    /// Seed of the course and the weather: the same seed writes a byte-identical ledger.
    #[arg(long, default_value_t = 7)]
    seed: u64,
    /// Seconds of flight (20 decisions a second).
    #[arg(long, default_value_t = 90)]
    seconds: u64,
    /// Where the flight's ledger and keys go (replaced if it holds an earlier flight).
    #[arg(long, default_value = "drone-flight")]
    dir: PathBuf,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if args.dir.join("ledger").exists() || args.dir.join("keys").exists() {
        std::fs::remove_dir_all(&args.dir)?;
    }
    let log = fly(&args.dir, args.seed, args.seconds)?;
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "drone flight, seed {}: {} decisions in {} s recorded into {}",
        args.seed,
        log.decisions,
        args.seconds,
        log.ledger_dir.display()
    )?;
    for (manoeuvre, count) in Manoeuvre::ALL.iter().zip(log.counts) {
        writeln!(out, "  {:<12} {count:>5}", manoeuvre.class())?;
    }
    match &log.near_miss {
        Some(miss) => {
            writeln!(
                out,
                "NEAR-MISS at {:.2} s: {:.1} m from the {} while {} (under {NEAR_MISS_M} m)",
                miss.seconds,
                miss.separation_m,
                miss.obstacle,
                miss.manoeuvre.class()
            )?;
            writeln!(out, "investigate it with:")?;
            writeln!(
                out,
                "  whyline incident {} --at {} --before 5s --after 1s --public-key {}",
                log.ledger_dir.display(),
                miss.time_ns,
                log.public_key.display()
            )?;
        }
        None => writeln!(out, "closest approach {:.1} m: no near-miss", log.closest_m)?,
    }
    Ok(())
}
