//! A private, throwaway PostgreSQL cluster for tests and benches (feature `testing`).
//!
//! [`Cluster::start`] runs `initdb` in a temporary directory and `pg_ctl start` on a free
//! loopback port (never a shared system server: several test binaries run at once, and
//! fault tests stop and restart "their" server); dropping the [`Cluster`] stops it
//! (`pg_ctl stop -m immediate`) and removes the directory. PostgreSQL refuses to run as
//! root, so as root the programs run as the `postgres` user (`runuser`). A missing program
//! is an error naming `bash scripts/services.sh`, never a skipped test.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU64, Ordering};

/// Why a cluster could not be started or driven.
#[derive(Debug, thiserror::Error)]
#[error("test PostgreSQL cluster: {0}")]
pub struct ClusterError(String);

/// How [`Cluster::stop`] shuts the server down (`pg_ctl stop -m`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StopMode {
    /// `fast`: sessions are ended, a clean shutdown.
    Fast,
    /// `immediate`: the server quits at once, as in a crash; it recovers from its WAL on start.
    Immediate,
}

/// A running private cluster. See the module docs.
#[derive(Debug)]
pub struct Cluster {
    dir: tempfile::TempDir,
    bin: PathBuf,
    port: u16,
    as_postgres: bool,
    databases: AtomicU64,
}

impl Cluster {
    /// Creates and starts a cluster on a free loopback port.
    pub fn start() -> Result<Self, ClusterError> {
        let bin = find_bin()?;
        let as_postgres = is_root();
        let dir = tempfile::Builder::new()
            .prefix("whyline-pg-")
            .tempdir()
            .map_err(|e| ClusterError(format!("temporary directory: {e}")))?;
        if as_postgres {
            run(Command::new("chown")
                .arg("postgres:postgres")
                .arg(dir.path()))?;
        }
        let port = free_port()?;
        let cluster = Self {
            dir,
            bin,
            port,
            as_postgres,
            databases: AtomicU64::new(0),
        };
        let data = cluster.data_dir();
        cluster.pg(
            "initdb",
            &[
                "-D".as_ref(),
                data.as_os_str(),
                "-A".as_ref(),
                "trust".as_ref(),
                "-U".as_ref(),
                "postgres".as_ref(),
                "-E".as_ref(),
                "UTF8".as_ref(),
                "--no-sync".as_ref(),
            ],
        )?;
        cluster.start_server()?;
        Ok(cluster)
    }

    fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// The directory of the cluster's files (its data directory is `data/`, its log `server.log`).
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// The loopback port the server listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    fn pg(&self, program: &str, args: &[&std::ffi::OsStr]) -> Result<Output, ClusterError> {
        let path = self.bin.join(program);
        let mut command = if self.as_postgres {
            let mut command = Command::new("runuser");
            command.args(["-u", "postgres", "--"]).arg(&path);
            command
        } else {
            Command::new(&path)
        };
        command.args(args).current_dir(self.dir.path());
        run(&mut command)
    }

    fn start_server(&self) -> Result<(), ClusterError> {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c max_connections=50",
            self.port,
            self.dir.path().display()
        );
        let data = self.data_dir();
        let log = self.dir.path().join("server.log");
        self.pg(
            "pg_ctl",
            &[
                "-D".as_ref(),
                data.as_os_str(),
                "-l".as_ref(),
                log.as_os_str(),
                "-o".as_ref(),
                options.as_ref(),
                "-w".as_ref(),
                "start".as_ref(),
            ],
        )
        .map(drop)
    }

    /// Stops the server.
    pub fn stop(&self, mode: StopMode) -> Result<(), ClusterError> {
        let mode = match mode {
            StopMode::Fast => "fast",
            StopMode::Immediate => "immediate",
        };
        let data = self.data_dir();
        self.pg(
            "pg_ctl",
            &[
                "-D".as_ref(),
                data.as_os_str(),
                "-m".as_ref(),
                mode.as_ref(),
                "-w".as_ref(),
                "stop".as_ref(),
            ],
        )
        .map(drop)
    }

    /// Starts the server again after [`Cluster::stop`].
    pub fn start_again(&self) -> Result<(), ClusterError> {
        self.start_server()
    }

    /// A URL of database `database` and log `log`, as the superuser `postgres`.
    pub fn url(&self, database: &str, log: &str) -> String {
        format!(
            "postgres://postgres@127.0.0.1:{}/{database}?log={log}",
            self.port
        )
    }

    /// A superuser session on database `database`.
    pub fn client(&self, database: &str) -> Result<postgres::Client, ClusterError> {
        postgres::Client::connect(
            &format!("postgres://postgres@127.0.0.1:{}/{database}", self.port),
            postgres::NoTls,
        )
        .map_err(|e| ClusterError(format!("connect to {database}: {e}")))
    }

    /// Creates a new empty database and returns its name.
    pub fn create_database(&self) -> Result<String, ClusterError> {
        let n = self.databases.fetch_add(1, Ordering::Relaxed);
        let name = format!("whyline_test_{n}");
        self.client("postgres")?
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .map_err(|e| ClusterError(format!("create database {name}: {e}")))?;
        Ok(name)
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        // Best effort: the server may be stopped already (a fault test), and a failure here
        // must not hide the test's own outcome.
        let _stopped = self.stop(StopMode::Immediate);
    }
}

fn find_bin() -> Result<PathBuf, ClusterError> {
    if let Some(dir) = std::env::var_os("WHYLINE_PG_BIN") {
        return Ok(PathBuf::from(dir));
    }
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .filter_map(|entry| entry.ok())
        .map(|entry| entry.path().join("bin"))
        .filter(|bin| bin.join("initdb").exists() && bin.join("pg_ctl").exists())
        .collect();
    found.sort();
    found.pop().ok_or_else(|| {
        ClusterError(
            "no PostgreSQL server programs (initdb, pg_ctl) in /usr/lib/postgresql/*/bin: \
             install them with `bash scripts/services.sh` (or set WHYLINE_PG_BIN)"
                .into(),
        )
    })
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|out| out.stdout.trim_ascii() == b"0")
        .unwrap_or(false)
}

fn free_port() -> Result<u16, ClusterError> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")
        .map_err(|e| ClusterError(format!("pick a port: {e}")))?;
    listener
        .local_addr()
        .map(|addr| addr.port())
        .map_err(|e| ClusterError(format!("pick a port: {e}")))
}

fn run(command: &mut Command) -> Result<Output, ClusterError> {
    let output = command.output().map_err(|e| {
        ClusterError(format!(
            "{command:?}: {e} (install with `bash scripts/services.sh`)"
        ))
    })?;
    if output.status.success() {
        Ok(output)
    } else {
        Err(ClusterError(format!(
            "{command:?} exited with {}: {}{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )))
    }
}
