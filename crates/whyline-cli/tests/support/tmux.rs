//! A private tmux server for the `whyline top` tests (`tests/top*.rs` include it with
//! `#[path]`): one 120x40 session on its own socket (`tmux -L`), killed on drop even when the
//! test fails; tmux is a required test service, so a missing tmux fails the test.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::Command;
use std::time::{Duration, Instant};

/// Fails (never skips) when tmux is missing.
pub(crate) fn require_tmux() {
    let found = Command::new("tmux")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        found,
        "tmux is missing: these tests drive `whyline top` in tmux; install the test services with `bash scripts/services.sh`"
    );
}

/// A private tmux server with one 120x40 session; killed on drop.
pub(crate) struct Tmux {
    socket: String,
}

impl Tmux {
    pub(crate) fn start(name: &str, command: &str) -> Tmux {
        let socket = format!("whyline-top-{name}-{}", std::process::id());
        let tmux = Tmux { socket };
        let status = tmux
            .command()
            .args(["new-session", "-d", "-x", "120", "-y", "40", "-s", "top"])
            .arg(command)
            .status()
            .expect("tmux runs");
        assert!(status.success(), "tmux new-session failed");
        tmux
    }

    pub(crate) fn command(&self) -> Command {
        let mut command = Command::new("tmux");
        command.args(["-L", &self.socket]);
        command
    }

    pub(crate) fn screen(&self) -> String {
        let output = self
            .command()
            .args(["capture-pane", "-p", "-t", "top"])
            .output()
            .expect("capture-pane");
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// Sends one key (tmux key name); a pause after it so that an Escape is not read
    /// together with the next key as Alt+key.
    pub(crate) fn key(&self, key: &str) {
        let status = self
            .command()
            .args(["send-keys", "-t", "top", key])
            .status()
            .expect("send-keys");
        assert!(status.success());
        std::thread::sleep(Duration::from_millis(150));
    }

    /// The screen once `ready` holds, or a failure showing the last screen.
    pub(crate) fn wait_for(&self, what: &str, ready: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let screen = self.screen();
            if ready(&screen) {
                return screen;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}; the screen:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The process id of the program the pane's shell runs.
    pub(crate) fn program_pid(&self) -> u32 {
        let output = self
            .command()
            .args(["display-message", "-p", "-t", "top", "#{pane_pid}"])
            .output()
            .expect("display-message");
        let shell = String::from_utf8_lossy(&output.stdout).trim().to_owned();
        let children = Command::new("pgrep")
            .args(["-P", &shell])
            .output()
            .expect("pgrep");
        String::from_utf8_lossy(&children.stdout)
            .lines()
            .next()
            .and_then(|pid| pid.trim().parse().ok())
            .unwrap_or_else(|| panic!("no child of the pane's shell {shell}"))
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.command().arg("kill-server").status();
    }
}
