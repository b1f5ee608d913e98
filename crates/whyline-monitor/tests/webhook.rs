//! The webhook sink against a real HTTP listener on loopback: JSON body, retries after a
//! failure, give-up counted, full queue counted.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use whyline_monitor::{
    Alert, AlertKind, AlertLevel, AlertSink, Delivery, WebhookOptions, WebhookSink,
};

/// Serves `statuses` in order, one request each, recording every body; then stops.
fn serve(statuses: Vec<u16>) -> (String, Arc<Mutex<Vec<String>>>, std::thread::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/alert", listener.local_addr().unwrap());
    let bodies = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&bodies);
    let handle = std::thread::spawn(move || {
        for status in statuses {
            let (stream, _) = listener.accept().unwrap();
            let mut reader = BufReader::new(stream);
            let mut length = 0usize;
            loop {
                let mut line = String::new();
                reader.read_line(&mut line).unwrap();
                if line == "\r\n" || line.is_empty() {
                    break;
                }
                if let Some((name, value)) = line.split_once(':')
                    && name.eq_ignore_ascii_case("content-length")
                {
                    length = value.trim().parse().unwrap();
                }
            }
            let mut body = vec![0u8; length];
            reader.read_exact(&mut body).unwrap();
            seen.lock().unwrap().push(String::from_utf8(body).unwrap());
            let mut stream = reader.into_inner();
            write!(
                stream,
                "HTTP/1.1 {status} X\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
            )
            .unwrap();
        }
    });
    (url, bodies, handle)
}

fn alert(sequence: u64) -> Alert {
    Alert {
        level: AlertLevel::Red,
        kind: AlertKind::LowConfidence {
            confidence: 0.41,
            threshold: 0.6,
        },
        sequence,
        timestamp_ns: 1_700_000_000_000_000_000,
    }
}

fn quick() -> WebhookOptions {
    WebhookOptions {
        capacity: 16,
        attempts: 3,
        backoff: Duration::from_millis(10),
        timeout: Duration::from_secs(2),
        shutdown_timeout: Duration::from_secs(5),
    }
}

#[test]
fn an_alert_is_posted_as_json_and_retried_after_a_server_error() {
    let (url, bodies, server) = serve(vec![500, 200]);
    let sink = WebhookSink::new(&url, quick());
    assert_eq!(sink.deliver(&alert(7)), Delivery::Queued);
    drop_and_wait(sink, |_, stats| {
        assert_eq!(stats.delivered, 1);
        assert_eq!(stats.failed_attempts, 1);
        assert_eq!(stats.failed, 0);
    });
    server.join().unwrap();
    let bodies = bodies.lock().unwrap();
    assert_eq!(bodies.len(), 2, "the same alert was sent twice");
    let json: serde_json::Value = serde_json::from_str(&bodies[1]).unwrap();
    assert_eq!(json["level"], "red");
    assert_eq!(json["kind"], "low_confidence");
    assert_eq!(json["sequence"], 7);
    assert_eq!(json["threshold"].to_string(), "0.6");
}

/// A failed try is retried after the backoff, not at once: the server's second request
/// comes at least the backoff after the alert was queued.
#[test]
fn a_retry_waits_for_the_backoff() {
    let (url, bodies, server) = serve(vec![500, 200]);
    let backoff = Duration::from_millis(200);
    let sink = WebhookSink::new(&url, WebhookOptions { backoff, ..quick() });
    let queued = std::time::Instant::now();
    assert_eq!(sink.deliver(&alert(8)), Delivery::Queued);
    server.join().unwrap();
    assert!(queued.elapsed() >= backoff, "{:?}", queued.elapsed());
    assert_eq!(bodies.lock().unwrap().len(), 2);
    drop(sink);
}

/// After its last try the sender gives up at once: no backoff is slept after it (here a
/// 30 s backoff, against a failure counted well within 10 s).
#[test]
fn the_last_failed_try_is_not_followed_by_a_backoff() {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let sink = WebhookSink::new(
        &format!("http://127.0.0.1:{port}/alert"),
        WebhookOptions {
            attempts: 1,
            backoff: Duration::from_secs(30),
            shutdown_timeout: Duration::from_secs(1),
            ..quick()
        },
    );
    sink.deliver(&alert(2));
    drop_and_wait(sink, |_, stats| {
        assert_eq!((stats.failed_attempts, stats.failed), (1, 1));
    });
}

#[test]
fn an_unreachable_endpoint_is_given_up_on_and_counted() {
    // Bind and drop a listener: nothing listens on that port any more.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let sink = WebhookSink::new(&format!("http://127.0.0.1:{port}/alert"), quick());
    sink.deliver(&alert(1));
    drop_and_wait(sink, |sink, stats| {
        assert_eq!(stats.delivered, 0);
        assert_eq!(stats.failed, 1);
        assert_eq!(stats.failed_attempts, 3);
        // What the Andon counts as not delivered: the one given up on, none dropped.
        assert_eq!(stats.dropped, 0);
        assert_eq!(AlertSink::dropped(sink), 1);
    });
}

#[test]
fn a_full_queue_drops_and_counts() {
    // A listener that never answers keeps the sender busy on the first alert.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/alert", listener.local_addr().unwrap());
    let options = WebhookOptions {
        capacity: 1,
        attempts: 1,
        timeout: Duration::from_millis(300),
        shutdown_timeout: Duration::from_secs(5),
        ..quick()
    };
    let sink = WebhookSink::new(&url, options);
    let outcomes: Vec<Delivery> = (0..5).map(|i| sink.deliver(&alert(i))).collect();
    let queued = outcomes.iter().filter(|d| **d == Delivery::Queued).count() as u64;
    let dropped = outcomes.iter().filter(|d| **d == Delivery::Dropped).count() as u64;
    assert_eq!(queued + dropped, 5);
    assert!(dropped >= 3, "capacity 1 plus one in flight: {outcomes:?}");
    assert_eq!(sink.stats().dropped, dropped);
    // What the Andon counts as not delivered: these, and the one in flight if it has failed
    // by now.
    assert!(AlertSink::dropped(&sink) >= dropped);
    drop(listener);
}

/// Drops the sink (which waits for the sender to finish) after reading its final counters.
fn drop_and_wait(
    sink: WebhookSink,
    check: impl FnOnce(&WebhookSink, whyline_monitor::WebhookStats),
) {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let stats = sink.stats();
        if stats.delivered + stats.failed >= 1 || std::time::Instant::now() > deadline {
            check(&sink, stats);
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    drop(sink);
}

#[test]
fn dropping_a_sink_stuck_on_a_silent_endpoint_returns_after_the_shutdown_timeout() {
    // A listener that accepts and never answers: the request waits for its 5 s timeout.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!(
        "http://{}/alert?token=secret-token",
        listener.local_addr().unwrap()
    );
    let options = WebhookOptions {
        attempts: 1,
        timeout: Duration::from_secs(5),
        shutdown_timeout: Duration::from_millis(200),
        ..quick()
    };
    let sink = WebhookSink::new(&url, options);
    assert_eq!(sink.deliver(&alert(1)), Delivery::Queued);
    // The Debug view shows the counters, never the URL (which may carry a token).
    let shown = format!("{sink:?}");
    assert!(shown.starts_with("WebhookSink"), "{shown}");
    assert!(!shown.contains("secret-token"), "{shown}");
    // What the Andon counts as not delivered: dropped plus given up on.
    assert_eq!(AlertSink::dropped(&sink), 0);
    std::thread::sleep(Duration::from_millis(100));
    let started = std::time::Instant::now();
    drop(sink);
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(200) && waited < Duration::from_secs(4),
        "{waited:?}"
    );
    drop(listener);
}
