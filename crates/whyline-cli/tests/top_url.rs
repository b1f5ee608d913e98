//! `whyline top URL` against a tiny in-test server that speaks the stream contract
//! (`GET /v1/stream`, Server-Sent Events; docs/dashboard.md), driven in tmux: the decisions,
//! the server's stats and an alert are shown; when the server drops the connection the view
//! reconnects with `Last-Event-ID` set to the last decision it saw and shows what the server
//! sends after it; the token comes from `WHYLINE_TOKEN` as a bearer token; opening a decision
//! fetches its path from `GET /v1/decisions/{index}`.
//!
//! tmux is a required test service: without it this test fails and names
//! `bash scripts/services.sh`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use whyline_core::{AnyPath, DecisionTrace, LinearPath, to_json};

#[path = "support/tmux.rs"]
mod tmux;
use tmux::{Tmux, require_tmux};

fn binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_whyline"))
}

/// One request the server saw.
#[derive(Clone, Debug, Default)]
struct Seen {
    path: String,
    authorization: Option<String>,
    last_event_id: Option<String>,
}

/// The in-test server: the first stream connection sends decisions 10 and 11, a stats event
/// and an alert, then closes; later ones send decision 12 and stay open.
struct StreamServer {
    base: String,
    seen: Arc<Mutex<Vec<Seen>>>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

fn decision(index: u64, name: &str, confidence: f64) -> String {
    format!(
        "id: {index}\nevent: decision\ndata: {{\"index\":{index},\"time_ns\":1765000000000000000,\"model\":\"demo\",\"decision\":\"{name}\",\"confidence\":{confidence},\"latency_us\":41.2,\"alternatives\":[{{\"decision\":\"MAINTAIN_SPEED\",\"p\":0.12}}],\"top\":[{{\"feature\":\"distance_m\",\"contribution\":-0.41}}],\"anomalies\":[]}}\n\n"
    )
}

fn handle(mut stream: TcpStream, seen: &Mutex<Vec<Seen>>, stop: &AtomicBool, streams: &AtomicU32) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut request = Seen::default();
    let mut line = String::new();
    reader.read_line(&mut line).unwrap();
    request.path = line
        .split_whitespace()
        .nth(1)
        .unwrap_or_default()
        .to_owned();
    loop {
        line.clear();
        if reader.read_line(&mut line).unwrap() == 0 || line.trim().is_empty() {
            break;
        }
        if let Some((name, value)) = line.trim().split_once(':') {
            match name.to_ascii_lowercase().as_str() {
                "authorization" => request.authorization = Some(value.trim().to_owned()),
                "last-event-id" => request.last_event_id = Some(value.trim().to_owned()),
                _ => {}
            }
        }
    }
    seen.lock().unwrap().push(request.clone());
    if request.path.starts_with("/v1/decisions/12") {
        let trace = DecisionTrace {
            timestamp_ns: 1_765_000_000_000_000_000,
            sequence: 12,
            input_hash: 7,
            output: 1.0,
            latency_ns: 41_000,
            path: AnyPath::Linear(LinearPath {
                contributions: vec![-0.41, 0.2],
                intercept: 0.1,
                prediction: 1.0,
                probability: Some(0.83),
                ..LinearPath::default()
            }),
        };
        let body = to_json(&trace).unwrap();
        write!(
            stream,
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        return;
    }
    if request.path != "/v1/stream" {
        write!(
            stream,
            "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        return;
    }
    write!(
        stream,
        "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\nConnection: close\r\n\r\nretry: 300\n\n"
    )
    .unwrap();
    if streams.fetch_add(1, Ordering::SeqCst) == 0 {
        write!(stream, "{}", decision(10, "SLOW_DOWN", 0.83)).unwrap();
        write!(stream, "{}", decision(11, "EMERGENCY_BRAKE", 0.91)).unwrap();
        write!(
            stream,
            "event: stats\ndata: {{\"entries\":1235,\"decisions_per_s\":98000.0,\"latency_p50_us\":12.0,\"latency_p99_us\":80.0,\"mean_confidence\":0.91,\"sampled\":25,\"seen\":98000,\"budget\":{{\"latency_p99_us\":1000.0,\"min_confidence\":0.6}},\"alerts_open\":1}}\n\n"
        )
        .unwrap();
        write!(
            stream,
            "event: alert\ndata: {{\"id\":\"a1\",\"index\":11,\"time_ns\":1765000000000000000,\"level\":\"stop\",\"rule\":\"low_confidence\",\"message\":\"confidence 0.41 under 0.6\",\"acknowledged\":false}}\n\n"
        )
        .unwrap();
        stream.flush().unwrap();
        // Then the connection drops; the client must reconnect.
        std::thread::sleep(Duration::from_millis(1500));
        return;
    }
    write!(stream, "{}", decision(12, "SWERVE", 0.77)).unwrap();
    stream.flush().unwrap();
    while !stop.load(Ordering::Relaxed) {
        std::thread::sleep(Duration::from_millis(50));
        if write!(stream, ": keep-alive\n\n").is_err() {
            return;
        }
    }
}

impl StreamServer {
    fn start() -> StreamServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (seen, stop) = (Arc::clone(&seen), Arc::clone(&stop));
            std::thread::spawn(move || {
                let streams = Arc::new(AtomicU32::new(0));
                while !stop.load(Ordering::Relaxed) {
                    match listener.accept() {
                        Ok((stream, _)) => {
                            stream.set_nonblocking(false).unwrap();
                            let (seen, stop, streams) =
                                (Arc::clone(&seen), Arc::clone(&stop), Arc::clone(&streams));
                            // Each connection on its own thread: a stream stays open.
                            std::thread::spawn(move || handle(stream, &seen, &stop, &streams));
                        }
                        Err(_) => std::thread::sleep(Duration::from_millis(20)),
                    }
                }
            })
        };
        StreamServer {
            base,
            seen,
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for StreamServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[test]
fn top_url_shows_the_stream_and_resumes_after_the_last_decision_on_reconnect() {
    require_tmux();
    let server = StreamServer::start();
    let dir = tempfile::tempdir().unwrap();
    let exit_file = dir.path().join("exit");
    let command = format!(
        "WHYLINE_TOKEN=s3cret '{}' top {}; echo $? > '{}'; sleep 600",
        binary().display(),
        server.base,
        exit_file.display()
    );
    let tmux = Tmux::start("url", &command);
    let screen = tmux.wait_for("the first connection's events", |s| {
        s.contains("EMERGENCY_BRAKE") && s.contains("■ STOP")
    });
    assert!(screen.contains("SLOW_DOWN"), "{screen}");
    assert!(screen.contains("low_confidence"), "{screen}");
    // The server's aggregates, not figures computed from the sampled decisions.
    assert!(screen.contains("sampled 25 of 98000/s"), "{screen}");
    assert!(screen.contains("ledger 1235 entries"), "{screen}");
    assert!(screen.contains("98000.0"), "{screen}");

    let screen = tmux.wait_for("the decision sent after reconnecting", |s| {
        s.contains("SWERVE")
    });
    assert!(screen.contains("resumed after decision 11"), "{screen}");
    let streams: Vec<Seen> = server
        .seen
        .lock()
        .unwrap()
        .iter()
        .filter(|s| s.path == "/v1/stream")
        .cloned()
        .collect();
    assert!(streams.len() >= 2, "{streams:?}");
    assert_eq!(streams[0].last_event_id, None);
    assert_eq!(streams[1].last_event_id.as_deref(), Some("11"));
    assert!(
        streams
            .iter()
            .all(|s| s.authorization.as_deref() == Some("Bearer s3cret")),
        "{streams:?}"
    );

    // Opening the newest decision fetches its path from the server.
    tmux.key("Enter");
    let page = tmux.wait_for("the decision page", |s| s.contains("decision 12: class 1"));
    assert!(page.contains("feature[0]"), "{page}");
    tmux.key("Escape");
    tmux.key("q");
    let deadline = Instant::now() + Duration::from_secs(20);
    while !std::fs::read_to_string(&exit_file).is_ok_and(|t| t.ends_with('\n')) {
        assert!(Instant::now() < deadline, "top did not exit");
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(std::fs::read_to_string(&exit_file).unwrap().trim(), "0");
}
