//! `whyline top URL` against a real `whyline serve`: decisions made through the server's
//! infer route while the view runs appear on its screen (the stream of `GET /v1/stream`,
//! read with a `read`-scope token from `WHYLINE_TOKEN`), and `q` ends it with exit 0.
//!
//! tmux is a required test service: without it this test fails and names
//! `bash scripts/services.sh`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

#[path = "support/serving.rs"]
mod serving;

#[path = "support/tmux.rs"]
mod tmux;
use tmux::{Tmux, require_tmux};

fn binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_whyline"))
}

const READ_TOKEN: &str = "read-token-0123456789abcdef";
const INFER_TOKEN: &str = "infer-token-0123456789abcdef";

/// A running `whyline serve`, killed on drop.
struct Serving {
    child: Child,
    base: String,
}

impl Drop for Serving {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(dir: &Path) -> Serving {
    let tokens = dir.join("tokens");
    std::fs::write(&tokens, format!("read {READ_TOKEN}\ninfer {INFER_TOKEN}\n")).unwrap();
    let model = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../whyline-models/tests/fixtures/sk_logreg_iris.whyline.json");
    let mut command = Command::new(binary());
    command
        .args(["serve", "--listen", "127.0.0.1:0", "--dir"])
        .arg(dir.join("ledger"))
        .arg("--model")
        .arg(format!("iris={}", model.display()))
        .arg("--tokens")
        .arg(&tokens);
    let serving::Started { child, base, .. } = serving::start(command);
    Serving { child, base }
}

/// Whether a decision row for ledger index `index` is on the screen.
fn has_index(screen: &str, index: u64) -> bool {
    let index = index.to_string();
    screen.lines().any(|line| {
        line.split(|c: char| c.is_whitespace() || c == '│')
            .filter(|w| !w.is_empty())
            .take(2)
            .any(|w| w == index)
    })
}

#[test]
fn top_url_shows_decisions_a_real_server_records_while_it_runs() {
    require_tmux();
    let dir = tempfile::tempdir().unwrap();
    let server = serve(dir.path());
    let exit_file = dir.path().join("exit");
    let command = format!(
        "WHYLINE_TOKEN={READ_TOKEN} '{}' top {}; echo $? > '{}'; sleep 600",
        binary().display(),
        server.base,
        exit_file.display()
    );
    let tmux = Tmux::start("serve", &command);
    tmux.wait_for("the connection", |s| s.contains("connected"));
    let http = reqwest::blocking::Client::new();
    let mut indices = Vec::new();
    for row in 0..5u32 {
        // Slower than the stream's sampling (one decision event per 20 ms, docs/dashboard.md),
        // so every decision is sent.
        std::thread::sleep(Duration::from_millis(100));
        let x = f64::from(row);
        let body = serde_json::json!({
            "inputs": [{ "name": "x", "shape": [1, 4], "datatype": "FP64", "data": [5.0 + x, 3.0, 1.0 + x, x / 2.0] }]
        });
        let response = http
            .post(format!("{}/v2/models/iris/infer", server.base))
            .bearer_auth(INFER_TOKEN)
            .json(&body)
            .send()
            .unwrap();
        assert_eq!(response.status(), 200);
        let json: serde_json::Value = response.json().unwrap();
        indices.push(
            json["parameters"]["decisions"][0]["index"]
                .as_u64()
                .unwrap(),
        );
    }
    tmux.wait_for("the decisions made while it runs", |s| {
        indices.iter().all(|index| has_index(s, *index))
    });
    let status = tmux
        .command()
        .args(["send-keys", "-t", "top", "q"])
        .status()
        .unwrap();
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(20);
    while !std::fs::read_to_string(&exit_file).is_ok_and(|t| t.ends_with('\n')) {
        assert!(Instant::now() < deadline, "top did not exit");
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(std::fs::read_to_string(&exit_file).unwrap().trim(), "0");
}
