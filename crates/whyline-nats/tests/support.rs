//! A private `nats-server -js` per test: a free loopback port, a temporary store directory,
//! stopped (and restartable) by the test, killed on drop.

use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub(crate) struct NatsServer {
    child: Option<Child>,
    port: u16,
    store: tempfile::TempDir,
    jetstream: bool,
}

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

impl NatsServer {
    /// Starts a JetStream server; fails (never skips) when `nats-server` is missing.
    pub(crate) fn start() -> NatsServer {
        let mut server = NatsServer::not_started();
        server.spawn();
        server
    }

    /// Starts a plain NATS server, without JetStream.
    pub(crate) fn start_without_jetstream() -> NatsServer {
        let mut server = NatsServer::not_started();
        server.jetstream = false;
        server.spawn();
        server
    }

    /// A server with its port and store chosen but not started yet ([`NatsServer::spawn`]
    /// starts it): what a client started before its server meets.
    pub(crate) fn not_started() -> NatsServer {
        NatsServer {
            child: None,
            port: free_port(),
            store: tempfile::tempdir().unwrap(),
            jetstream: true,
        }
    }

    pub(crate) fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    fn store_dir(&self) -> PathBuf {
        self.store.path().to_path_buf()
    }

    pub(crate) fn spawn(&mut self) {
        let mut command = Command::new("nats-server");
        if self.jetstream {
            command.arg("-js");
        }
        let child = command
            .args(["-a", "127.0.0.1", "-p", &self.port.to_string(), "-sd"])
            .arg(self.store_dir())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot start nats-server ({e}): install it with `bash scripts/services.sh`")
            });
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "nats-server did not listen on {}",
                self.port
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Stops the server gracefully (SIGTERM: JetStream writes out its store) and waits.
    pub(crate) fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let status = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status()
                .unwrap();
            assert!(status.success());
            child.wait().unwrap();
        }
    }

    /// Starts it again on the same port and store.
    pub(crate) fn restart_after(&mut self, down: Duration) {
        self.stop();
        std::thread::sleep(down);
        self.spawn();
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
