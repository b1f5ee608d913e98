//! `whyline serve (--dir DIR | --store postgres://USER@HOST:PORT/DB?log=NAME [--key-dir DIR])
//! [--listen ADDR] [--config FILE] [--model NAME=FILE]... [--tokens FILE]
//! [--tls-cert FILE --tls-key FILE]`: the server of `whyline-server`, until
//! SIGTERM or SIGINT (then it finishes the requests in flight, commits, signs a final
//! checkpoint and exits 0). Start-up lines go to stderr: the address, each model and its
//! model record's index, the ledger, and whether tokens are required.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Args;
use whyline::WhylineError;
use whyline_server::{ModelSource, Server, ServerConfig, ServerError, TlsFiles, Tokens};

use crate::Outcome;
use crate::location::{LogLocation, log_parser};
use crate::output::note;

/// Arguments of `whyline serve`.
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("ledger").required(true).args(["dir", "store"])))]
pub(crate) struct ServeArgs {
    /// The ledger's directory (created, with its signing key, if missing). Give this or
    /// --store.
    #[arg(long)]
    dir: Option<PathBuf>,
    /// The ledger elsewhere: a PostgreSQL log, `postgres://USER@HOST:PORT/DB?log=NAME`
    /// (created if missing; the server holds its writer lock), or a directory. Give this or
    /// --dir.
    #[arg(long, value_name = "LOG", value_parser = log_parser())]
    store: Option<LogLocation>,
    /// Where the keys live when the ledger is in PostgreSQL (private keys never go into the
    /// database): the checkpoint signing key, the digest key and the subject key store are
    /// read or made here, and the profile's relative paths start here. Needed when the
    /// profile signs (the default profile does) or records inputs.
    #[arg(long, value_name = "DIR", conflicts_with = "dir")]
    key_dir: Option<PathBuf>,
    /// The address to listen on [default: the profile's `[server] listen`, else
    /// 127.0.0.1:7878]; a non-loopback address needs --tokens.
    #[arg(long)]
    listen: Option<SocketAddr>,
    /// The profile (TOML: `[inference_monitor]`, `[andon]`, `[server]`); the collector must
    /// be the ledger. Default: a ledger with `interval` durability and Ed25519 checkpoints.
    #[arg(long)]
    config: Option<PathBuf>,
    /// A model to serve as NAME=FILE (any format `whyline explain` reads); repeat for more.
    #[arg(long = "model", value_name = "NAME=FILE")]
    models: Vec<String>,
    /// The public key that signed `.apr` model files (as for `whyline explain`); without
    /// it, a signed file is verified with the key it carries.
    #[arg(long, value_name = "FILE")]
    apr_public_key: Option<PathBuf>,
    /// The tokens file: one `SCOPE TOKEN` per line (scopes ingest, infer, read, admin).
    #[arg(long)]
    tokens: Option<PathBuf>,
    /// The TLS certificate chain (PEM); serves HTTPS with --tls-key.
    #[arg(long, requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// The TLS private key (PEM).
    #[arg(long, requires = "tls_cert")]
    tls_key: Option<PathBuf>,
}

impl ServeArgs {
    /// The validated configuration.
    fn config(&self) -> anyhow::Result<ServerConfig> {
        let mut config = match (&self.dir, &self.store) {
            (Some(dir), _) => ServerConfig::new(dir)?,
            (None, Some(store)) => ServerConfig::at(store.clone())?,
            (None, None) => anyhow::bail!("give the ledger's --dir DIR or --store LOG"),
        };
        if let Some(dir) = &self.key_dir {
            config.key_dir(dir);
        }
        if let Some(path) = &self.config {
            config.profile_file(path)?;
        }
        if let Some(address) = self.listen {
            config.listen(address);
        }
        if let Some(key) = &self.apr_public_key {
            config.load_options(
                whyline::LoadOptions::default()
                    .with_apr_public_key(whyline::LoadOptions::read_apr_public_key(key)?),
            );
        }
        for model in &self.models {
            config.model(ModelSource::parse(model)?)?;
        }
        if let Some(path) = &self.tokens {
            config.tokens(Tokens::from_file(path)?);
        }
        if let (Some(cert), Some(key)) = (&self.tls_cert, &self.tls_key) {
            config.tls(TlsFiles {
                cert: cert.clone(),
                key: key.clone(),
            });
        }
        Ok(config)
    }
}

pub(crate) fn run(args: &ServeArgs) -> anyhow::Result<Outcome> {
    let config = args.config()?;
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("WHYLINE_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .try_init();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let shutdown = shutdown_signal()?;
        let server = Server::bind(&config).await.map_err(|error| {
            let needs_key_dir = matches!(
                &error,
                ServerError::Whyline(WhylineError::NeedsKeyDir { .. })
            );
            let error = anyhow::Error::new(error);
            if needs_key_dir {
                error.context(
                    "whyline serve --store postgres://...: give --key-dir DIR for the keys",
                )
            } else {
                error
            }
        })?;
        let scheme = if server.uses_tls() { "https" } else { "http" };
        note(&format!("serving on {scheme}://{}", server.local_addr()));
        note(&format!("ledger: {}", server.ledger_dir().display()));
        for model in server.models() {
            let record = model
                .record_index
                .map_or_else(String::new, |i| format!(", model record at index {i}"));
            note(&format!(
                "model {}: {} ({}, sha256 {}{record})",
                model.name,
                model.file.display(),
                model.model_type,
                model.sha256
            ));
        }
        if !server.requires_tokens() {
            note("no --tokens: listening on loopback only, every request is allowed");
        }
        let report = server.serve(shutdown).await?;
        note(&format!(
            "stopped: {} entries, {}",
            report.entries,
            if report.checkpoint.is_some() {
                "final checkpoint signed"
            } else {
                "no checkpoint (the ledger signs none)"
            }
        ));
        Ok(Outcome::Clean)
    })
}

/// A future that completes on SIGTERM or SIGINT; the handlers are installed now, before the
/// server says it is serving, so a signal sent as soon as it says so is not lost.
fn shutdown_signal() -> anyhow::Result<impl std::future::Future<Output = ()> + Send + 'static> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut terminate = signal(SignalKind::terminate())?;
        let mut interrupt = signal(SignalKind::interrupt())?;
        Ok(async move {
            tokio::select! {
                _ = terminate.recv() => {}
                _ = interrupt.recv() => {}
            }
        })
    }
    #[cfg(not(unix))]
    {
        Ok(async {
            let _ = tokio::signal::ctrl_c().await;
        })
    }
}
