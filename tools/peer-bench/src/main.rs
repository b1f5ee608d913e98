//! peer-bench: the same recording workloads through whyline and its published peers
//! (entrenar 0.7.13, hoosh 1.3.0, atd-runtime 1.2.1) in one process, interleaved round by round,
//! and a Markdown table of the medians, spreads and ratios.
//!
//! `cargo run --release -- [WORKLOAD...] [--rounds N] [--scale F]`; workloads: `stream`,
//! `chain`, `verify`, `monitor`, `ring`, `aprt` (all when none is named).

mod chain;
mod monitor;
mod runner;
mod shape;
mod stream;

use anyhow::{Context, bail};

/// What the command line asked for.
pub struct Config {
    /// Measured rounds per workload (after one warm-up round).
    pub rounds: usize,
    /// Multiplies every workload's iteration count.
    pub scale: f64,
}

impl Config {
    /// `base` iterations scaled, at least 1.
    pub fn scaled(&self, base: u64) -> u64 {
        ((base as f64 * self.scale).round() as u64).max(1)
    }
}

const WORKLOADS: [&str; 6] = ["stream", "chain", "verify", "monitor", "ring", "aprt"];

const USAGE: &str = "usage: peer-bench [WORKLOAD...] [--rounds N] [--scale F]
  WORKLOAD  stream | chain | verify | monitor | ring | aprt (default: all)
  --rounds  measured rounds per workload, each implementation once per round (default 7)
  --scale   multiplies the iterations of every round (default 1; 0.1 for a quick look)";

fn parse(args: impl Iterator<Item = String>) -> anyhow::Result<(Config, Vec<String>)> {
    let mut config = Config {
        rounds: 7,
        scale: 1.0,
    };
    let mut chosen = Vec::new();
    let mut args = args.peekable();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--rounds" => {
                let value = args.next().context("--rounds needs a number")?;
                config.rounds = value
                    .parse()
                    .with_context(|| format!("--rounds {value}: not a count"))?;
                if config.rounds == 0 {
                    bail!("--rounds must be at least 1");
                }
            }
            "--scale" => {
                let value = args.next().context("--scale needs a number")?;
                config.scale = value
                    .parse()
                    .with_context(|| format!("--scale {value}: not a number"))?;
                if !(config.scale.is_finite() && config.scale > 0.0) {
                    bail!("--scale must be a positive number");
                }
            }
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            name if WORKLOADS.contains(&name) => chosen.push(arg),
            other => bail!("unknown argument {other:?}\n{USAGE}"),
        }
    }
    if chosen.is_empty() {
        chosen = WORKLOADS.iter().map(|w| w.to_string()).collect();
    }
    Ok((config, chosen))
}

fn main() -> anyhow::Result<()> {
    let (config, chosen) = parse(std::env::args().skip(1))?;
    let dir = std::env::temp_dir().join(format!("peer-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let mut outcomes = Vec::new();
    for name in &chosen {
        eprintln!("peer-bench: {name} ({} rounds)…", config.rounds);
        let outcome = match name.as_str() {
            "stream" => stream::json_lines(&config, &dir),
            "chain" => chain::append(&config),
            "verify" => chain::verify(&config),
            "monitor" => monitor::overhead(&config),
            "ring" => monitor::ring(&config),
            "aprt" => monitor::aprt(&config),
            _ => continue,
        };
        outcomes.push(outcome.with_context(|| format!("workload {name}"))?);
    }
    let _ = std::fs::remove_dir_all(&dir);
    print!("{}", runner::table(&outcomes, config.rounds));
    println!();
    print!("{}", runner::notes(&outcomes));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> impl Iterator<Item = String> {
        list.iter()
            .map(|s| s.to_string())
            .collect::<Vec<_>>()
            .into_iter()
    }

    #[test]
    fn no_workload_means_all() {
        let (config, chosen) = parse(args(&[])).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(chosen.len(), WORKLOADS.len());
        assert_eq!(config.rounds, 7);
    }

    #[test]
    fn bad_arguments_are_refused() {
        assert!(parse(args(&["--rounds", "0"])).is_err());
        assert!(parse(args(&["--scale", "-1"])).is_err());
        assert!(parse(args(&["everything"])).is_err());
        let (config, chosen) =
            parse(args(&["ring", "--scale", "0.5"])).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(chosen, vec!["ring".to_string()]);
        assert_eq!(config.scaled(10), 5);
    }
}
