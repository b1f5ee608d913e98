//! The subcommands, one module each.

mod append;
mod checkpoint;
mod demo;
mod erase;
mod explain;
mod incident;
mod kaizen;
mod keygen;
mod outcome;
mod prove;
mod provenance;
mod recover;
mod replay;
mod sequence;
mod serve;
mod top;
mod trace;
mod verify;
mod verify_proof;

use clap::Subcommand;

use crate::Outcome;

/// The subcommands of `whyline`.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Run the autonomous-vehicle "cat scenario": record, verify and investigate an incident.
    ///
    /// A bundled classifier decides MAINTAIN_SPEED, SLOW_DOWN, EMERGENCY_BRAKE or SWERVE over
    /// 31 seconds of synthetic sensor data; every decision goes into a signed, durable ledger,
    /// Andon alerts print as they fire, and the incident report for the impact is printed and
    /// written as HTML.
    Demo(demo::DemoArgs),
    /// Explain a model's decisions on input rows (CSV with a header, or JSON lines).
    ///
    /// The model file may be whyline JSON (scikit-learn export), XGBoost JSON, LightGBM text
    /// or an aprender `.apr` file; its format is detected from its content.
    Explain(explain::ExplainArgs),
    /// Report every decision around an incident, whether the log is intact, and why each
    /// decision was taken.
    ///
    /// Exit status 1 when the chain is broken or the window holds anomalies.
    Incident(incident::IncidentArgs),
    /// Find what to improve in a model from its recorded decisions: uncertainty clusters,
    /// drift (PSI, Kolmogorov-Smirnov), decision boundaries, outcome error rates, and
    /// retraining recommendations with their evidence.
    ///
    /// Exit status 1 when the analysis recommends retraining, 0 when it recommends nothing.
    Kaizen(kaizen::KaizenArgs),
    /// Work with APRT trace files (decode them to JSON lines).
    #[command(subcommand)]
    Trace(trace::TraceCommand),
    /// Append traces (JSON lines on stdin) to a ledger; print a receipt per durable entry.
    Append(append::AppendArgs),
    /// Verify a ledger: re-hash every entry, check checkpoints; exit 1 on the first bad entry.
    Verify(verify::VerifyArgs),
    /// Cut what a crash left at the end of a ledger (an append cut short) and say what.
    Recover(recover::RecoverArgs),
    /// Print an inclusion (--index), consistency (--from) or complete-window (--window) proof
    /// against the latest checkpoint.
    Prove(prove::ProveArgs),
    /// Check a proof file offline with the log's public key; exit 1 when it does not hold.
    VerifyProof(verify_proof::VerifyProofArgs),
    /// Print the latest signed checkpoint, or sign a new one with --signing-key.
    Checkpoint(checkpoint::CheckpointArgs),
    /// Generate a checkpoint signing key (ledger.key) and its verifier key (ledger.pub).
    Keygen(keygen::KeygenArgs),
    /// Re-run every recorded decision from its sealed input; same model: byte-identical
    /// traces (exit 1 naming the first difference), another model: the decisions that change.
    Replay(replay::ReplayArgs),
    /// Record the outcome of decision N (ground truth, or a human override).
    Outcome(outcome::OutcomeArgs),
    /// Walk back from an incident node (or a decision's inference node) to its root causes
    /// in the log's provenance graph: causal order, time span, anomaly points.
    ///
    /// Exit status 1 when the path holds anomalies (low or falling confidence, alerts,
    /// inputs of out-of-distribution decisions).
    Provenance(provenance::ProvenanceArgs),
    /// Erase a subject's sealed inputs by destroying its key; the log still verifies.
    Erase(erase::EraseArgs),
    /// Serve models over the Open Inference Protocol with every decision recorded, and the
    /// ledger's decisions, incidents, proofs and metrics over HTTP (docs/server.md).
    Serve(serve::ServeArgs),
    /// Order a log fed by producers through NATS JetStream: append each batch exactly once,
    /// durably, then acknowledge it (docs/distributed.md).
    Sequence(sequence::SequenceArgs),
    /// Record synthetic decisions through NATS JetStream (the end-to-end test's producer).
    #[command(hide = true)]
    Produce(sequence::ProduceArgs),
    /// Check that every producer's decisions are in a sequenced log exactly once, in order.
    #[command(hide = true)]
    AuditSequenced(sequence::AuditArgs),
    /// Watch decisions live in the terminal: a ledger directory another process writes, or a
    /// server's stream (decisions/s, latency and confidence against budgets, the latest
    /// decisions, open alerts; keys to pause, filter and open a decision's path).
    Top(top::TopArgs),
}

/// Runs one subcommand.
pub(crate) fn run(command: Command) -> anyhow::Result<Outcome> {
    match command {
        Command::Demo(args) => demo::run(&args),
        Command::Explain(args) => explain::run(&args),
        Command::Incident(args) => incident::run(&args),
        Command::Kaizen(args) => kaizen::run(&args),
        Command::Trace(args) => trace::run(args),
        Command::Append(args) => append::run(&args),
        Command::Verify(args) => verify::run(&args),
        Command::Recover(args) => recover::run(&args),
        Command::Prove(args) => prove::run(&args),
        Command::VerifyProof(args) => verify_proof::run(&args),
        Command::Checkpoint(args) => checkpoint::run(&args),
        Command::Keygen(args) => keygen::run(&args),
        Command::Replay(args) => replay::run(&args),
        Command::Outcome(args) => outcome::run(&args),
        Command::Serve(args) => serve::run(&args),
        Command::Erase(args) => erase::run(&args),
        Command::Sequence(args) => sequence::run(&args),
        Command::Produce(args) => sequence::run_produce(&args),
        Command::AuditSequenced(args) => sequence::run_audit(&args),
        Command::Top(args) => top::run(&args),
        Command::Provenance(args) => provenance::run(&args),
    }
}
