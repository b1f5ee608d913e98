//! Capacity of a sharded whyline deployment: N producers, S shards, one sequencer per shard.
//!
//! A discrete-event simulation of what `docs/scaling.md` argues on paper. Producers publish
//! decisions as Poisson streams; each producer belongs to one shard (by a hash of its id, as a
//! fleet shards by model or by vehicle), so shards see the uneven loads a real assignment
//! gives. Each shard's sequencer works as the ledger's two-buffer group commit does: it
//! appends entries one after another on one core (`--entry-us` of CPU each: decode, leaf and
//! chain hashes, Merkle frontier, frame), and whenever the store is idle it commits everything
//! appended so far in one durable write (`--commit-ms` each: an `fdatasync` for segment files,
//! a transaction commit for PostgreSQL), while the next entries keep being appended. An entry's
//! latency is from its publish to the end of the commit that covers it.
//!
//! For each shard count the program prints the hottest shard's load, its CPU utilisation,
//! p50/p99 latency, whether the latency objective holds, and the capacity: the largest total
//! rate at which every shard still meets `--slo-ms` at p99 (found by bisection). Then what the
//! log costs to keep: bytes a day and for the retention period (the EU AI Act asks deployers
//! to keep logs at least six months, Articles 19 and 26(6)).
//!
//! ```text
//! cargo run --release -p whyline-ledger --example shard_capacity -- --calibrate
//! cargo run --release -p whyline-ledger --example shard_capacity -- \
//!     --producers 2000 --rate 100 --shards 1,2,4,8,16 --store postgres
//! ```
//!
//! `--calibrate` measures `--entry-us` and `--commit-ms` on this machine first (segment files
//! in a temporary directory, the ingest bench's 8-feature APRT traces). `--store file|postgres`
//! picks measured defaults (docs/scaling.md gives their source). Every number can be given.

#[path = "../benches/support/ingest_shapes.rs"]
mod shapes;

use std::io::Write;
use std::time::{Duration, Instant};

use whyline_ledger::{
    Durability, IngestBatch, IngestFormat, Ledger, LedgerOptions, SegmentStore, Store,
    parse_batch_into,
};

/// What one run simulates.
#[derive(Clone, Debug)]
struct Params {
    producers: u32,
    /// Decisions per second of each producer.
    rate: f64,
    shards: Vec<u32>,
    /// Sequencer CPU per entry, microseconds.
    entry_us: f64,
    /// One durable commit, milliseconds.
    commit_ms: f64,
    /// Bytes a decision takes in the store (record + frame + index share).
    bytes_per_decision: f64,
    /// The p99 latency objective from publish to durable, milliseconds.
    slo_ms: f64,
    /// Simulated seconds per run.
    horizon_s: f64,
    retention_days: f64,
    seed: u64,
}

impl Params {
    /// Defaults measured on the 2-core development machine (docs/scaling.md).
    fn for_store(store: &str) -> Result<Params, String> {
        let (entry_us, commit_ms, bytes) = match store {
            // The file ledger: APRT decode + append (ingest example's CPU per trace) and an
            // fdatasync on the development disk.
            "file" => (2.0, 5.0, 190.0),
            // PostgreSQL: the same append plus the store's row insert, and a commit with
            // synchronous_commit=on (WAL flush) on the same disk.
            "postgres" => (8.0, 6.0, 260.0),
            other => return Err(format!("--store {other}: expected file or postgres")),
        };
        Ok(Params {
            producers: 1_000,
            rate: 200.0,
            shards: vec![1, 2, 4, 8, 16],
            entry_us,
            commit_ms,
            bytes_per_decision: bytes,
            slo_ms: 100.0,
            horizon_s: 2.0,
            retention_days: 183.0,
            seed: 7,
        })
    }
}

/// SplitMix64: a deterministic generator so that every run prints the same table. Written
/// here because the example needs nothing more than uniform draws and a fixed seed.
struct SplitMix(u64);

impl SplitMix {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in (0, 1].
    fn unit(&mut self) -> f64 {
        ((self.next_u64() >> 11) as f64 + 1.0) / (1u64 << 53) as f64
    }
}

/// One shard's simulated run.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
struct ShardRun {
    /// Offered decisions per second.
    offered: f64,
    /// Share of the sequencer's core spent appending.
    utilisation: f64,
    p50_ms: f64,
    p99_ms: f64,
    /// Mean entries per commit.
    mean_batch: f64,
}

/// Simulates one shard fed by a Poisson stream of `rate` decisions/s for `horizon_s`.
fn simulate_shard(rate: f64, entry_us: f64, commit_ms: f64, horizon_s: f64, seed: u64) -> ShardRun {
    if rate <= 0.0 {
        return ShardRun::default();
    }
    let entry = entry_us * 1e-6;
    let commit = commit_ms * 1e-3;
    let mut rng = SplitMix(seed);
    // Arrivals, then the time each entry's append finishes (one core, in order).
    let mut arrivals = Vec::new();
    let mut t = 0.0;
    loop {
        t += -rng.unit().ln() / rate;
        if t > horizon_s {
            break;
        }
        arrivals.push(t);
    }
    let mut appended = Vec::with_capacity(arrivals.len());
    let mut cpu_free = 0.0f64;
    for &arrival in &arrivals {
        cpu_free = cpu_free.max(arrival) + entry;
        appended.push(cpu_free);
    }
    // Commits: whenever the store is idle and something is appended, one commit covers all
    // of it (the two-buffer group commit).
    let mut latencies = Vec::with_capacity(arrivals.len());
    let mut store_free = 0.0f64;
    let mut next = 0;
    let mut commits = 0u64;
    while next < appended.len() {
        let start = store_free.max(appended[next]);
        let end = start + commit;
        let mut covered = next;
        while covered < appended.len() && appended[covered] <= start {
            latencies.push(end - arrivals[covered]);
            covered += 1;
        }
        next = covered;
        store_free = end;
        commits += 1;
    }
    latencies.sort_by(f64::total_cmp);
    let quantile = |q: f64| {
        let i = ((latencies.len() as f64 - 1.0) * q).round() as usize;
        latencies.get(i).copied().unwrap_or(0.0) * 1e3
    };
    let busy = arrivals.len() as f64 * entry;
    ShardRun {
        offered: rate,
        utilisation: busy / cpu_free.max(horizon_s),
        p50_ms: quantile(0.50),
        p99_ms: quantile(0.99),
        mean_batch: arrivals.len() as f64 / commits.max(1) as f64,
    }
}

/// The shard each producer belongs to: a hash of its id, as a fleet assigns by model or device.
fn producers_per_shard(producers: u32, shards: u32) -> Vec<u32> {
    let mut counts = vec![0u32; shards.max(1) as usize];
    for id in 0..producers {
        let mut hash = SplitMix(u64::from(id) ^ 0x5eed);
        let shard = (hash.next_u64() % u64::from(shards.max(1))) as usize;
        counts[shard] += 1;
    }
    counts
}

/// Whether every shard meets the objective at `rate` decisions/s per producer.
fn meets_slo(params: &Params, shards: u32, rate: f64) -> (bool, ShardRun) {
    let counts = producers_per_shard(params.producers, shards);
    let hottest = counts.iter().copied().max().unwrap_or(0);
    let run = simulate_shard(
        f64::from(hottest) * rate,
        params.entry_us,
        params.commit_ms,
        params.horizon_s,
        params.seed,
    );
    // Utilisation near 1 means the backlog grows with the horizon: not a sustainable rate.
    (run.p99_ms <= params.slo_ms && run.utilisation < 0.95, run)
}

/// The largest total decisions/s at which every shard meets the objective.
fn capacity(params: &Params, shards: u32) -> f64 {
    let per_core = 1e6 / params.entry_us;
    let (mut low, mut high) = (
        0.0f64,
        per_core * f64::from(shards) / f64::from(params.producers),
    );
    for _ in 0..30 {
        let mid = (low + high) / 2.0;
        if meets_slo(params, shards, mid).0 {
            low = mid;
        } else {
            high = mid;
        }
    }
    low * f64::from(params.producers)
}

/// Measures the sequencer's CPU per entry and one commit on this machine: segment files in a
/// temporary directory, the ingest bench's 8-feature APRT traces.
fn calibrate() -> Result<(f64, f64, f64), Box<dyn std::error::Error>> {
    let body = shapes::body(&shapes::traces(shapes::linear), IngestFormat::Aprt);
    let mut batch = IngestBatch::new();
    parse_batch_into(&body, IngestFormat::Aprt, &mut batch)?;
    let dir = tempfile::tempdir()?;

    let store = SegmentStore::open(dir.path().join("cpu"))?;
    let options =
        LedgerOptions::without_checkpoints("whyline.example/capacity").durability(Durability::None);
    let (mut ledger, _) = Ledger::open(store, options)?;
    let rounds = 100u32;
    let start = Instant::now();
    for _ in 0..rounds {
        parse_batch_into(&body, IngestFormat::Aprt, &mut batch)?;
        for payload in batch.payloads() {
            ledger.append(payload)?;
        }
    }
    let entries = f64::from(rounds) * batch.len() as f64;
    let entry_us = start.elapsed().as_secs_f64() * 1e6 / entries;
    let bytes = ledger.store().len() as f64 / entries;

    let store = SegmentStore::open(dir.path().join("commit"))?;
    let options =
        LedgerOptions::without_checkpoints("whyline.example/capacity").durability(Durability::Sync);
    let (mut ledger, _) = Ledger::open(store, options)?;
    let mut commits: Vec<Duration> = Vec::new();
    for payload in batch.payloads().take(31) {
        let start = Instant::now();
        ledger.append(payload)?;
        commits.push(start.elapsed());
    }
    commits.sort();
    let commit_ms = commits[commits.len() / 2].as_secs_f64() * 1e3;
    Ok((entry_us, commit_ms, bytes))
}

fn parse_args() -> Result<(Params, bool), String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let store = args
        .iter()
        .position(|a| a == "--store")
        .and_then(|i| args.get(i + 1))
        .map_or("file", String::as_str);
    let mut params = Params::for_store(store)?;
    let mut calibrate = false;
    let mut i = 0;
    while i < args.len() {
        let flag = args[i].as_str();
        if flag == "--calibrate" {
            calibrate = true;
            i += 1;
            continue;
        }
        let value = args
            .get(i + 1)
            .ok_or_else(|| format!("{flag} needs a value"))?;
        let number = || {
            value
                .parse::<f64>()
                .map_err(|_| format!("{flag} {value}: not a number"))
        };
        match flag {
            "--store" => {}
            "--producers" => {
                params.producers = value
                    .parse()
                    .map_err(|_| format!("--producers {value}: not a count"))?
            }
            "--rate" => params.rate = number()?,
            "--shards" => {
                params.shards = value
                    .split(',')
                    .map(|s| s.trim().parse::<u32>())
                    .collect::<Result<_, _>>()
                    .map_err(|_| format!("--shards {value}: expected counts like 1,2,4"))?
            }
            "--entry-us" => params.entry_us = number()?,
            "--commit-ms" => params.commit_ms = number()?,
            "--bytes" => params.bytes_per_decision = number()?,
            "--slo-ms" => params.slo_ms = number()?,
            "--horizon-s" => params.horizon_s = number()?,
            "--retention-days" => params.retention_days = number()?,
            "--seed" => {
                params.seed = value
                    .parse()
                    .map_err(|_| format!("--seed {value}: not a number"))?
            }
            other => return Err(format!("unknown flag {other} (see the example's docs)")),
        }
        i += 2;
    }
    if params.shards.contains(&0) || params.producers == 0 || params.entry_us <= 0.0 {
        return Err("producers, shards and --entry-us must be positive".into());
    }
    Ok((params, calibrate))
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (mut params, calibrate_first) = parse_args()?;
    let mut out = std::io::stdout().lock();
    if calibrate_first {
        let (entry_us, commit_ms, bytes) = calibrate()?;
        writeln!(
            out,
            "calibrated on this machine: {entry_us:.2} µs per entry, {commit_ms:.2} ms per commit, {bytes:.0} B per decision"
        )?;
        params.entry_us = entry_us;
        params.commit_ms = commit_ms;
        params.bytes_per_decision = bytes;
    }
    let offered = f64::from(params.producers) * params.rate;
    writeln!(
        out,
        "{} producers x {} decisions/s = {:.0} decisions/s offered; sequencer {:.2} µs/entry, commit {:.2} ms; p99 objective {} ms",
        params.producers, params.rate, offered, params.entry_us, params.commit_ms, params.slo_ms
    )?;
    writeln!(
        out,
        "{:>6} {:>12} {:>8} {:>9} {:>9} {:>9} {:>5} {:>14}",
        "shards", "hottest/s", "cpu", "p50 ms", "p99 ms", "batch", "slo", "capacity/s"
    )?;
    for &shards in &params.shards {
        let (ok, run) = meets_slo(&params, shards, params.rate);
        writeln!(
            out,
            "{:>6} {:>12.0} {:>7.0}% {:>9.2} {:>9.2} {:>9.0} {:>5} {:>14.0}",
            shards,
            run.offered,
            run.utilisation * 100.0,
            run.p50_ms,
            run.p99_ms,
            run.mean_batch,
            if ok { "yes" } else { "NO" },
            capacity(&params, shards)
        )?;
    }
    let per_day = offered * 86_400.0 * params.bytes_per_decision;
    writeln!(
        out,
        "storage: {:.1} GB a day, {:.1} TB for {:.0} days of retention (before compression)",
        per_day / 1e9,
        per_day * params.retention_days / 1e12,
        params.retention_days
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn light_load_waits_about_one_commit() {
        // At 1% utilisation an entry waits for the commit in progress (if any) and its own.
        let run = simulate_shard(5_000.0, 2.0, 5.0, 2.0, 1);
        assert!(run.utilisation < 0.02, "{run:?}");
        assert!(run.p50_ms > 5.0 && run.p50_ms < 10.5, "{run:?}");
        assert!(run.p99_ms < 10.5, "{run:?}");
    }

    #[test]
    fn group_commit_batches_grow_with_the_rate() {
        let slow = simulate_shard(1_000.0, 2.0, 5.0, 2.0, 1);
        let fast = simulate_shard(100_000.0, 2.0, 5.0, 2.0, 1);
        // About rate x commit time entries per commit.
        assert!(slow.mean_batch < 10.0, "{slow:?}");
        assert!(
            fast.mean_batch > 400.0 && fast.mean_batch < 600.0,
            "{fast:?}"
        );
    }

    #[test]
    fn past_one_core_the_backlog_grows_without_bound() {
        // 2 µs per entry is 500k entries/s on one core; offering 600k/s cannot keep up.
        let run = simulate_shard(600_000.0, 2.0, 5.0, 1.0, 1);
        assert!(run.utilisation > 0.95, "{run:?}");
        assert!(run.p99_ms > 100.0, "{run:?}");
    }

    #[test]
    fn capacity_scales_with_shards_but_not_past_the_per_core_rate() {
        let params = Params {
            producers: 400,
            horizon_s: 0.2,
            ..Params::for_store("file").unwrap()
        };
        let one = capacity(&params, 1);
        let four = capacity(&params, 4);
        assert!(one < 1e6 / params.entry_us, "{one}");
        assert!(one > 0.8 * 1e6 / params.entry_us, "{one}");
        // Four shards give more than three times one, less than four (uneven assignment).
        assert!(
            four > 3.0 * one && four <= 4.0 * one * 1.001,
            "{one} {four}"
        );
    }

    #[test]
    fn producers_are_all_assigned() {
        let counts = producers_per_shard(1_000, 8);
        assert_eq!(counts.iter().sum::<u32>(), 1_000);
        assert!(counts.iter().all(|&c| c > 80 && c < 170), "{counts:?}");
    }
}
