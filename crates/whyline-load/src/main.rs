//! `whyline-load`: drives `whyline serve` (or a peer) with infer or ingest requests and
//! reports rates and latency percentiles. See the crate documentation.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::{Args, Parser, Subcommand, ValueEnum};
use whyline_load::{
    IngestFormat, ResponseCheck, RunOptions, RunReport, Target, TensorType, infer_requests,
    ingest_requests, read_rows, run,
};

#[derive(Parser)]
#[command(
    name = "whyline-load",
    version,
    about = "HTTP load generator for whyline serve"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// KServe V2 infer requests, one row per request.
    Infer(InferArgs),
    /// Batches of decision traces to POST /v1/decisions.
    Ingest(IngestArgs),
}

#[derive(Args)]
struct Common {
    /// The server, http://host:port.
    #[arg(long, default_value = "http://127.0.0.1:7878")]
    url: String,
    /// Concurrent keep-alive connections (one request in flight on each).
    #[arg(long, default_value_t = 64)]
    connections: usize,
    /// Measured window (e.g. 10s, 500ms, 1m).
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    duration: Duration,
    /// Requests sent before the window and not counted.
    #[arg(long, default_value = "2s", value_parser = parse_duration)]
    warmup: Duration,
    /// Pace the requests at this many per second over all connections (latency counted
    /// from each request's scheduled time, or from when the generator's millisecond timer
    /// woke if it was early); default: closed loop, as fast as answered.
    #[arg(long)]
    rate: Option<f64>,
    /// Bearer token for the Authorization header.
    #[arg(long)]
    token: Option<String>,
    /// Threads of the generator's runtime (on a small machine the generator competes with
    /// the server: keep it low and read `client_cores` in the report).
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// Print the report as one JSON object instead of text.
    #[arg(long)]
    json: bool,
    /// A label for the report (e.g. "whyline" or "peer").
    #[arg(long)]
    label: Option<String>,
}

#[derive(Args)]
struct InferArgs {
    #[command(flatten)]
    common: Common,
    /// The model's name in the route /v2/models/NAME/infer.
    #[arg(long)]
    model: String,
    /// CSV rows with a header; every column is a feature, in order.
    #[arg(long)]
    rows: PathBuf,
    /// The tensor data type the requests declare.
    #[arg(long, value_enum, default_value_t = Datatype::Fp64)]
    datatype: Datatype,
}

#[derive(Clone, Copy, ValueEnum)]
enum Datatype {
    #[value(name = "FP32", alias = "fp32")]
    Fp32,
    #[value(name = "FP64", alias = "fp64")]
    Fp64,
}

#[derive(Args)]
struct IngestArgs {
    #[command(flatten)]
    common: Common,
    /// Body encoding: JSON lines or concatenated APRT records.
    #[arg(long, value_enum, default_value_t = Format::Jsonl)]
    format: Format,
    /// Decisions per request.
    #[arg(long, default_value_t = 1000)]
    batch: usize,
    /// Distinct batches generated before the run and sent in turn.
    #[arg(long, default_value_t = 16)]
    bodies: usize,
    /// The model whose explanations make the traces.
    #[arg(long, default_value = "crates/whyline-cli/assets/demo_model.json")]
    model_file: PathBuf,
    /// Rows for that model (CSV with a header, or JSON lines).
    #[arg(
        long,
        default_value = "crates/whyline-load/tests/fixtures/demo_rows.csv"
    )]
    rows: PathBuf,
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Jsonl,
    Aprt,
}

fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let value: f64 = number
        .parse()
        .map_err(|_| format!("{text:?}: expected a number and a unit (500ms, 10s, 1m)"))?;
    let seconds = match unit {
        "ms" => value / 1_000.0,
        "s" | "" => value,
        "m" => value * 60.0,
        _ => return Err(format!("{text:?}: unknown unit {unit:?} (ms, s or m)")),
    };
    Duration::try_from_secs_f64(seconds).map_err(|e| format!("{text:?}: {e}"))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match execute(cli) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(error) => {
            let _ = writeln!(std::io::stderr(), "whyline-load: {error:#}");
            ExitCode::from(2)
        }
    }
}

/// Runs the command; `Ok(false)` when the run saw failures (exit 1).
fn execute(cli: Cli) -> anyhow::Result<bool> {
    let common = match &cli.command {
        Command::Infer(args) => &args.common,
        Command::Ingest(args) => &args.common,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(common.threads.max(1))
        .enable_all()
        .build()
        .context("starting the runtime")?;
    let report = runtime.block_on(async {
        let target = Target::resolve(&common.url).await?;
        let options = RunOptions {
            connections: common.connections,
            duration: common.duration,
            warmup: common.warmup,
            token: common.token.clone(),
            rate: common.rate,
        };
        match &cli.command {
            Command::Infer(args) => {
                let rows = read_rows(&args.rows)?;
                let tensor = match args.datatype {
                    Datatype::Fp32 => TensorType::Fp32,
                    Datatype::Fp64 => TensorType::Fp64,
                };
                let requests = infer_requests(&target, &args.model, &rows, tensor)?;
                run(
                    "infer",
                    "rows",
                    target,
                    requests,
                    ResponseCheck::InferOutputs,
                    &options,
                )
                .await
            }
            Command::Ingest(args) => {
                let format = match args.format {
                    Format::Jsonl => IngestFormat::JsonLines,
                    Format::Aprt => IngestFormat::Aprt,
                };
                let requests = ingest_requests(
                    &target,
                    &args.model_file,
                    &args.rows,
                    format,
                    args.batch,
                    args.bodies,
                )?;
                run(
                    "ingest",
                    "decisions",
                    target,
                    requests,
                    ResponseCheck::Receipts,
                    &options,
                )
                .await
            }
        }
    })?;
    let mut out = std::io::stdout().lock();
    if common.json {
        let mut value = serde_json::to_value(&report)?;
        if let (Some(object), Some(label)) = (value.as_object_mut(), &common.label) {
            object.insert("label".to_owned(), label.clone().into());
        }
        writeln!(out, "{value}")?;
    } else {
        write_text(&mut out, &report, common.label.as_deref())?;
    }
    Ok(report.is_clean() && report.ok > 0)
}

fn write_text(
    out: &mut impl Write,
    report: &RunReport,
    label: Option<&str>,
) -> std::io::Result<()> {
    let latency = &report.latency;
    writeln!(
        out,
        "{}{} over {} connections, {:.1} s window{}",
        label.map(|l| format!("{l}: ")).unwrap_or_default(),
        report.mode,
        report.connections,
        report.window_s,
        report
            .rate
            .map(|rate| format!(", paced at {rate} requests/s"))
            .unwrap_or_default()
    )?;
    writeln!(
        out,
        "  {:.0} requests/s, {:.0} {}/s ({} ok of {} answers)",
        report.requests_per_s, report.items_per_s, report.item_name, report.ok, report.requests
    )?;
    writeln!(
        out,
        "  latency p50 {:.0} µs, p90 {:.0} µs, p99 {:.0} µs, p99.9 {:.0} µs, max {:.0} µs",
        latency.p50_us, latency.p90_us, latency.p99_us, latency.p999_us, latency.max_us
    )?;
    if let Some(cores) = report.client_cores {
        writeln!(out, "  generator CPU: {cores:.2} cores")?;
    }
    if !report.is_clean() {
        writeln!(
            out,
            "  errors: by status {:?}, transport {}, bad answers {}",
            report.errors_by_status, report.transport_errors, report.bad_answers
        )?;
        if let Some(first) = &report.first_error {
            writeln!(out, "  first error: {first}")?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_milliseconds_seconds_and_minutes() {
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert!(parse_duration("10 parsecs").is_err());
        assert!(parse_duration("s").is_err());
    }
}
