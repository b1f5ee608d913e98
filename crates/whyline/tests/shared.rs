//! A shared recorder's monitors each get what the profile names: the digest key, and an
//! Andon whose webhook sink posts their alerts to the profile's endpoint.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::time::Duration;

use whyline::{MonitorSettings, Recorder};

use crate::support::{iris_model, iris_rows};

/// Answers one HTTP request with 200 and hands its body back.
fn one_request_server() -> (String, std::sync::mpsc::Receiver<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/alerts", listener.local_addr().unwrap());
    let (send, receive) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut length = 0;
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            if line == "\r\n" || line.is_empty() {
                break;
            }
            if let Some(value) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                length = value.trim().parse().unwrap();
            }
        }
        let mut body = vec![0; length];
        reader.read_exact(&mut body).unwrap();
        let mut stream = stream;
        stream
            .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
            .unwrap();
        let _ = send.send(String::from_utf8(body).unwrap());
    });
    (url, receive)
}

#[test]
fn each_shared_monitor_digests_under_the_key_and_posts_its_alerts_to_the_endpoint() {
    let dir = tempfile::tempdir().unwrap();
    let key = [3u8; 32];
    std::fs::write(dir.path().join("digest.key"), hex::encode(key)).unwrap();
    let (url, bodies) = one_request_server();
    let settings = MonitorSettings::from_toml(
        &format!(
            "[inference_monitor]\ncollector = \"ledger\"\ndigest_key_file = \"digest.key\"\n\
             [andon]\nenabled = true\nyellow_confidence = 0.9999\nalert_endpoint = \"{url}\"\n"
        ),
        Path::new("shared.toml"),
    )
    .unwrap();
    let recorder: Recorder = Recorder::from_settings(&settings, dir.path()).unwrap();
    assert!(recorder.digests_with_key());
    assert_eq!(
        recorder.settings().alert_endpoint.as_deref(),
        Some(url.as_str())
    );
    let shared = recorder.into_shared();
    assert_eq!(
        shared.settings().digest_key_file.as_deref(),
        Some(Path::new("digest.key"))
    );
    assert!(shared.created_files().is_empty(), "the key file was there");
    assert_eq!(shared.signing_key_files(), None);
    let mut monitor = shared.monitor(iris_model()).unwrap();
    let row = iris_rows().next().unwrap();
    monitor.predict_one(&row).unwrap();
    assert_eq!(
        monitor.last_trace().unwrap().input_hash,
        whyline::core::digest::hmac_features(&key, &row)
    );
    // The decision is below the yellow line: its alert reaches the endpoint.
    let body = bodies.recv_timeout(Duration::from_secs(20)).unwrap();
    let alert: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(alert["level"], "yellow", "{body}");
    assert_eq!(alert["sequence"], 0, "{body}");
    assert!(body.contains("confidence"), "{body}");
}
