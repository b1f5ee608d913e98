//! `whyline sequence --nats URL --stream NAME (--dir DIR | --store postgres://...)`: the one
//! process that orders a log fed by producers through NATS JetStream (docs/distributed.md),
//! into segment files or a PostgreSQL log (docs/postgres-store.md), and the hidden helpers of
//! the end-to-end test: `whyline produce` (a synthetic producer) and `whyline
//! audit-sequenced` (every producer's decisions exactly once, in order).

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, ValueEnum};
use whyline::Durability;
use whyline::ledger::{LedgerCollector, LedgerOptions, SegmentStore, Store};
use whyline_ledger::collector::Backpressure;
use whyline_nats::{
    DirectoryLock, ProducerId, Sequencer, SequencerOptions, Topology, audit_log, produce,
};
use whyline_store_postgres::{PostgresStore, is_postgres_url};

use crate::Outcome;
use crate::output::note;

/// Arguments of `whyline sequence`.
#[derive(Debug, Args)]
pub(crate) struct SequenceArgs {
    /// The NATS server (`nats://127.0.0.1:4222`).
    #[arg(long, value_name = "URL")]
    nats: String,
    /// The JetStream stream of the log (batches arrive on `whyline.NAME.batches`).
    #[arg(long, value_name = "NAME")]
    stream: String,
    /// The ledger directory (created if missing; one sequencer per directory).
    #[arg(
        long,
        value_name = "DIR",
        required_unless_present = "store",
        conflicts_with = "store"
    )]
    dir: Option<PathBuf>,
    /// A PostgreSQL log instead of a directory (`postgres://user@host:port/db?log=NAME`,
    /// created if missing; its writer lock makes it one sequencer per log).
    #[arg(long, value_name = "URL")]
    store: Option<String>,
    /// Signing key file (`ledger.key` from `whyline keygen`): checkpoints every 100,000
    /// entries and at exit are signed with it.
    #[arg(long, value_name = "FILE")]
    signing_key: Option<PathBuf>,
    /// Most messages appended per round (one durable append and one sync).
    #[arg(long, default_value_t = 256, value_name = "N")]
    group: usize,
}

/// Logs to stderr, filtered by `WHYLINE_LOG` (default: warnings).
fn install_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("WHYLINE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

pub(crate) fn run(args: &SequenceArgs) -> anyhow::Result<Outcome> {
    install_logging();
    let topology = Topology::new(&args.stream)?;
    // Files: the directory lock; PostgreSQL: the store's own writer lock (taken on open).
    let (store, _lock, shown): (Box<dyn Store>, _, String) = match (&args.dir, &args.store) {
        (Some(dir), _) => {
            let lock = DirectoryLock::acquire(dir)?;
            let store = SegmentStore::open(dir)?;
            (Box::new(store), Some(lock), dir.display().to_string())
        }
        (None, Some(url)) => {
            if !is_postgres_url(url) {
                anyhow::bail!(
                    "--store {url}: expected a postgres:// URL (use --dir for a directory)"
                );
            }
            let store = PostgresStore::open(url)?;
            let shown = store.location().display().to_string();
            (Box::new(store), None, shown)
        }
        (None, None) => anyhow::bail!("give --dir DIR or --store postgres://..."),
    };
    let options = match &args.signing_key {
        Some(path) => {
            let signer = whyline_ledger::keys::read_signing_key(path)?;
            let origin = signer.name().to_owned();
            LedgerOptions::signed(&origin, signer).checkpoint_every(100_000)
        }
        None => LedgerOptions::without_checkpoints("whyline/ledger"),
    }
    .durability(Durability::Sync);
    let (collector, report) = LedgerCollector::open(store, options)?;
    if report.torn_bytes > 0 {
        note(&format!(
            "{shown}: recovered: cut a torn tail of {} bytes ({} partial entry)",
            report.torn_bytes, report.torn_entries
        ));
    }
    let sequencer_options = SequencerOptions {
        group_messages: args.group.max(1),
        ..SequencerOptions::default()
    };
    let mut sequencer = Sequencer::new(collector, topology, sequencer_options)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the runtime")?;
    let stats = runtime.block_on(sequencer.run(&args.nats, shutdown_signal()))?;
    let collector = sequencer.into_collector();
    collector.with_ledger(|ledger| ledger.checkpoint())??;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    writeln!(
        out,
        "sequenced {} decisions in {} batches ({} rounds); {} duplicates skipped, {} early \
         batches deferred, {} malformed messages refused",
        stats.decisions, stats.batches, stats.rounds, stats.duplicates, stats.gaps, stats.rejected
    )?;
    Ok(Outcome::Clean)
}

/// Completes on Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(terminate) => terminate,
                Err(_) => {
                    let _ = interrupt.await;
                    return;
                }
            };
        tokio::select! {
            _ = interrupt => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = interrupt.await;
    }
}

/// `--backpressure` of `whyline produce`.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub(crate) enum BackpressureArg {
    /// Wait for room.
    Block,
    /// Drop and count.
    Drop,
}

/// Arguments of the hidden `whyline produce` (the end-to-end test's producer).
#[derive(Debug, Args)]
pub(crate) struct ProduceArgs {
    /// The NATS server.
    #[arg(long, value_name = "URL")]
    nats: String,
    /// The JetStream stream of the log.
    #[arg(long, value_name = "NAME")]
    stream: String,
    /// This producer's id (unique per run).
    #[arg(long, value_name = "ID")]
    producer: String,
    /// Decisions to record (numbered 0..N).
    #[arg(long, value_name = "N")]
    count: u64,
    /// What to do when the queue is full.
    #[arg(long, value_enum, default_value = "block")]
    backpressure: BackpressureArg,
}

pub(crate) fn run_produce(args: &ProduceArgs) -> anyhow::Result<Outcome> {
    install_logging();
    let topology = Topology::new(&args.stream)?;
    let producer = ProducerId::new(&args.producer)?;
    let backpressure = match args.backpressure {
        BackpressureArg::Block => Backpressure::Block,
        BackpressureArg::Drop => Backpressure::Drop,
    };
    let report = produce(&args.nats, &topology, &producer, args.count, backpressure)?;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    writeln!(
        out,
        "{{\"type\":\"produced\",\"producer\":\"{producer}\",\"recorded\":{},\"dropped\":{},\"published\":{},\"batches\":{},\"retries\":{},\"duplicates\":{},\"seconds\":{:.3}}}",
        report.recorded,
        report.dropped,
        report.published,
        report.batches,
        report.retries,
        report.duplicates,
        report.elapsed.as_secs_f64()
    )?;
    Ok(Outcome::Clean)
}

/// Arguments of the hidden `whyline audit-sequenced`.
#[derive(Debug, Args)]
pub(crate) struct AuditArgs {
    /// The ledger: a directory or a `postgres://` URL.
    log: std::ffi::OsString,
    /// Decisions each producer recorded (numbered 0..N).
    #[arg(long, value_name = "N")]
    expect: u64,
    /// Producers expected.
    #[arg(long, value_name = "N")]
    producers: usize,
}

pub(crate) fn run_audit(args: &AuditArgs) -> anyhow::Result<Outcome> {
    let store = crate::location::LogLocation::parse(&args.log)?.open_read_only()?;
    let (audits, unattributed) = audit_log(&*store, args.expect)?;
    let mut totals = whyline_nats::ProducerAudit::default();
    for audit in audits.values() {
        totals.decisions += audit.decisions;
        totals.duplicates += audit.duplicates;
        totals.missing += audit.missing;
        totals.out_of_order += audit.out_of_order;
    }
    let missing_producers = args.producers.saturating_sub(audits.len()) as u64;
    totals.missing += missing_producers * args.expect;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    writeln!(
        out,
        "{{\"type\":\"audit\",\"producers\":{},\"sequenced\":{},\"duplicates\":{},\"missing\":{},\"out_of_order\":{},\"unattributed\":{unattributed}}}",
        audits.len(),
        totals.decisions,
        totals.duplicates,
        totals.missing,
        totals.out_of_order
    )?;
    let clean = audits.len() == args.producers
        && totals.duplicates == 0
        && totals.missing == 0
        && totals.out_of_order == 0
        && unattributed == 0;
    Ok(if clean {
        Outcome::Clean
    } else {
        Outcome::Problem
    })
}
