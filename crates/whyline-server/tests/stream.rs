//! The live stream (`GET /v1/stream`, Server-Sent Events): decisions served during the test
//! arrive as events with their ledger index, alerts arrive and can be acknowledged (admin),
//! stats come once a second, a client resumes from an index, and a stream never holds up a
//! shutdown.

use std::time::Duration;

use futures_util::StreamExt;
use serde_json::Value;
use whyline_server::Tokens;

use crate::common::{client, get_text, infer, infer_body, start};

/// One Server-Sent Event.
#[derive(Debug, Clone)]
pub(crate) struct Event {
    pub(crate) id: Option<String>,
    pub(crate) name: String,
    pub(crate) data: Value,
}

/// Reads a stream's events as they come (a task parsing the body's chunks).
pub(crate) struct Events {
    receiver: tokio::sync::mpsc::UnboundedReceiver<Event>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Events {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Events {
    pub(crate) fn of(response: reqwest::Response) -> Events {
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["content-type"], "text/event-stream");
        let (sender, receiver) = tokio::sync::mpsc::unbounded_channel();
        let task = tokio::spawn(async move {
            let mut body = response.bytes_stream();
            let mut text = String::new();
            while let Some(Ok(chunk)) = body.next().await {
                text.push_str(std::str::from_utf8(&chunk).unwrap());
                while let Some(end) = text.find("\n\n") {
                    let block: String = text.drain(..end + 2).collect();
                    let mut event = Event {
                        id: None,
                        name: "message".into(),
                        data: Value::Null,
                    };
                    let mut any = false;
                    for line in block.lines() {
                        if let Some(id) = line.strip_prefix("id: ") {
                            event.id = Some(id.to_owned());
                        } else if let Some(name) = line.strip_prefix("event: ") {
                            event.name = name.to_owned();
                        } else if let Some(data) = line.strip_prefix("data: ") {
                            event.data = serde_json::from_str(data).unwrap();
                            any = true;
                        }
                    }
                    if any && sender.send(event).is_err() {
                        return;
                    }
                }
            }
        });
        Events { receiver, task }
    }

    /// The next event named `name` (others are skipped) within `within`.
    pub(crate) async fn next_named(&mut self, name: &str, within: Duration) -> Event {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let event = tokio::time::timeout_at(deadline, self.receiver.recv())
                .await
                .unwrap_or_else(|_| panic!("no {name} event within {within:?}"))
                .expect("the stream is open");
            if event.name == name {
                return event;
            }
        }
    }

    /// The next decision event of ledger index `index`.
    pub(crate) async fn decision(&mut self, index: u64, within: Duration) -> Event {
        loop {
            let event = self.next_named("decision", within).await;
            if event.data["index"] == index {
                return event;
            }
        }
    }
}

fn receipt(response: &Value) -> u64 {
    response["parameters"]["decisions"][0]["index"]
        .as_u64()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn decisions_served_and_alerts_raised_arrive_on_the_stream_with_stats() {
    let server = start(|_, _| {});
    let http = client();
    let mut events = Events::of(http.get(server.url("/v1/stream")).send().await.unwrap());
    // A new client gets a stats event at once, with the profile's budget (SIL2 default:
    // yellow under 0.7).
    let first = events.next_named("stats", Duration::from_secs(2)).await;
    assert_eq!(
        first.data["budget"]["min_confidence"].as_f64().unwrap() as f32,
        0.7
    );

    // A setosa, confidently (scikit-learn: 0.98).
    let (status, answer) = infer(&server, "iris", &infer_body(&[vec![5.1, 3.5, 1.4, 0.2]])).await;
    assert_eq!(status, 200);
    let index = receipt(&answer);
    let event = events.decision(index, Duration::from_secs(2)).await;
    assert_eq!(event.id.as_deref(), Some(index.to_string().as_str()));
    let data = &event.data;
    assert_eq!(data["model"], "iris");
    assert_eq!(data["decision"], "setosa");
    let probabilities = answer["outputs"][1]["data"].as_array().unwrap();
    let best = probabilities
        .iter()
        .map(|p| p.as_f64().unwrap())
        .fold(0.0, f64::max);
    assert!(
        (data["confidence"].as_f64().unwrap() - best).abs() < 1e-5,
        "{data}"
    );
    assert!(data["anomalies"].as_array().unwrap().is_empty(), "{data}");
    let top = data["top"].as_array().unwrap();
    assert!(!top.is_empty() && top.len() <= 3, "{data}");
    assert!(top[0]["feature"].is_string() && top[0]["contribution"].is_number());
    assert!(data["time_ns"].as_u64().unwrap() > 1_600_000_000_000_000_000);

    // scikit-learn gives this row 0.597: a yellow low-confidence alert, and an anomalous
    // decision, which is always sent (under the cap) even inside the sampling interval.
    let (status, answer) = infer(&server, "iris", &infer_body(&[vec![6.9, 3.1, 4.9, 1.5]])).await;
    assert_eq!(status, 200);
    let low = receipt(&answer);
    let event = events.decision(low, Duration::from_secs(2)).await;
    assert_eq!(
        event.data["anomalies"][0], "low_confidence",
        "{}",
        event.data
    );
    let alert = events.next_named("alert", Duration::from_secs(2)).await;
    assert_eq!(alert.data["level"], "warning");
    assert_eq!(alert.data["andon_level"], "yellow");
    assert_eq!(alert.data["rule"], "low_confidence");
    assert_eq!(alert.data["index"], low);
    assert_eq!(alert.data["acknowledged"], false);

    // The next stats event counts both decisions.
    let mut seen = 0;
    for _ in 0..3 {
        let stats = events
            .next_named("stats", Duration::from_millis(2500))
            .await;
        seen += stats.data["seen"].as_u64().unwrap();
        if seen >= 2 {
            assert!(stats.data["entries"].as_u64().unwrap() > low);
            assert!(stats.data["alerts_open"].as_u64().unwrap() >= 1);
            break;
        }
    }
    assert_eq!(seen, 2);

    // The board holds the alert.
    let board: Value = http
        .get(server.url("/v1/alerts"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(board["open"], 1);
    assert_eq!(board["alerts"][0]["index"], low);

    // A stream still open does not hold up a shutdown.
    let stopped = tokio::task::spawn_blocking(move || server.stop());
    let report = tokio::time::timeout(Duration::from_secs(10), stopped)
        .await
        .expect("the server stops with a client connected")
        .unwrap();
    assert!(report.entries > low);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_client_resumes_from_the_last_index_it_saw() {
    let server = start(|_, _| {});
    let http = client();
    let rows: Vec<Vec<f64>> = (0..5)
        .map(|i| vec![5.0 + f64::from(i) * 0.3, 3.0, 1.5 + f64::from(i), 0.3])
        .collect();
    let (status, answer) = infer(&server, "iris", &infer_body(&rows)).await;
    assert_eq!(status, 200);
    let indexes: Vec<u64> = answer["parameters"]["decisions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["index"].as_u64().unwrap())
        .collect();
    // Resume after the second decision: the three after it are replayed, in order, with
    // their ids, by ?from= and by Last-Event-ID.
    let resume_from = indexes[1];
    for by_header in [false, true] {
        let request = if by_header {
            http.get(server.url("/v1/stream"))
                .header("Last-Event-ID", resume_from.to_string())
        } else {
            http.get(server.url(&format!("/v1/stream?from={resume_from}")))
        };
        let mut events = Events::of(request.send().await.unwrap());
        let mut replayed = Vec::new();
        for _ in 0..3 {
            let event = events.next_named("decision", Duration::from_secs(2)).await;
            assert_eq!(event.id, Some(event.data["index"].to_string()));
            replayed.push(event.data["index"].as_u64().unwrap());
        }
        assert_eq!(replayed, indexes[2..].to_vec(), "header: {by_header}");
    }
    let response = http
        .get(server.url("/v1/stream"))
        .header("Last-Event-ID", "yesterday")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    server.stop();
}

const READ: &str = "read-token-0123456789abcdef";
const ADMIN: &str = "admin-token-0123456789abcdef";
const INFER: &str = "infer-token-0123456789abcdef";

#[tokio::test(flavor = "multi_thread")]
async fn the_stream_needs_read_and_acknowledging_an_alert_needs_admin() {
    let server = start(|config, dir| {
        let file = dir.join("tokens.txt");
        std::fs::write(
            &file,
            format!("infer {INFER}\nread {READ}\nadmin {ADMIN}\n"),
        )
        .unwrap();
        config.tokens(Tokens::from_file(&file).unwrap());
    });
    let http = client();
    let status = |r: reqwest::Response| r.status().as_u16();
    assert_eq!(
        status(http.get(server.url("/v1/stream")).send().await.unwrap()),
        401
    );
    assert_eq!(
        status(
            http.get(server.url("/v1/stream"))
                .bearer_auth(INFER)
                .send()
                .await
                .unwrap()
        ),
        403
    );
    let mut events = Events::of(
        http.get(server.url("/v1/stream"))
            .bearer_auth(READ)
            .send()
            .await
            .unwrap(),
    );
    let answer: Value = http
        .post(server.url("/v2/models/iris/infer"))
        .bearer_auth(INFER)
        .json(&infer_body(&[vec![6.9, 3.1, 4.9, 1.5]]))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let index = receipt(&answer);
    let alert = events.next_named("alert", Duration::from_secs(2)).await;
    assert_eq!(alert.data["index"], index);
    let id = alert.data["id"].as_str().unwrap().to_owned();
    let acknowledge = format!("/v1/alerts/{id}/acknowledge");
    assert_eq!(
        status(
            http.post(server.url(&acknowledge))
                .bearer_auth(READ)
                .send()
                .await
                .unwrap()
        ),
        403
    );
    assert_eq!(
        status(
            http.post(server.url("/v1/alerts/a999/acknowledge"))
                .bearer_auth(ADMIN)
                .send()
                .await
                .unwrap()
        ),
        404
    );
    let response = http
        .post(server.url(&acknowledge))
        .bearer_auth(ADMIN)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let acknowledged: Value = response.json().await.unwrap();
    assert_eq!(acknowledged["acknowledged"], true);
    // The stream says so too, and the board has no open alert left.
    let again = events.next_named("alert", Duration::from_secs(2)).await;
    assert_eq!(again.data["id"], id.as_str());
    assert_eq!(again.data["acknowledged"], true);
    let board: Value = http
        .get(server.url("/v1/alerts"))
        .bearer_auth(READ)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(board["open"], 0);
    drop(events);
    server.stop();
}

#[tokio::test(flavor = "multi_thread")]
async fn an_ingested_decision_is_sampled_and_named_after_the_model_it_fits() {
    let server = start(|_, _| {});
    let http = client();
    // A decision of iris, read back as the JSON line the ingest endpoint takes.
    let (status, answer) = infer(&server, "iris", &infer_body(&[vec![5.1, 3.5, 1.4, 0.2]])).await;
    assert_eq!(status, 200);
    let served = receipt(&answer);
    let mut line = String::new();
    for _ in 0..100 {
        let text = http
            .get(server.url("/v1/decisions?from=0&to=18446744073709551615"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        if let Some(found) = text
            .lines()
            .find(|l| serde_json::from_str::<Value>(l).unwrap()["index"] == served)
        {
            line = found.to_owned();
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(!line.is_empty(), "decision {served} read back");

    let mut events = Events::of(http.get(server.url("/v1/stream")).send().await.unwrap());
    events.next_named("stats", Duration::from_secs(2)).await;
    let response = http
        .post(server.url("/v1/decisions"))
        .header("content-type", "application/x-ndjson")
        .body(format!("{line}\n"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let receipt: Value = serde_json::from_str(response.text().await.unwrap().trim()).unwrap();
    let ingested = receipt["index"].as_u64().unwrap();
    assert!(ingested > served);
    // The batch's last entry is read back and sent: iris is the one served model with four
    // features, so the decision is shown with its class names.
    let event = events.decision(ingested, Duration::from_secs(2)).await;
    assert_eq!(event.data["model"], "iris", "{}", event.data);
    assert_eq!(event.data["decision"], "setosa", "{}", event.data);
    // The next stats event counts it as seen and measured.
    let mut seen = 0;
    for _ in 0..3 {
        let stats = events
            .next_named("stats", Duration::from_millis(2500))
            .await;
        seen += stats.data["seen"].as_u64().unwrap();
        if seen > 0 {
            assert_eq!(stats.data["measured"], 1, "{}", stats.data);
            break;
        }
    }
    assert_eq!(seen, 1);
    drop(events);
    // Resuming from past the end replays nothing: the first event is the stats event.
    let mut resumed = Events::of(
        http.get(server.url("/v1/stream?from=1000000"))
            .send()
            .await
            .unwrap(),
    );
    let first = tokio::time::timeout(Duration::from_secs(2), resumed.receiver.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(first.name, "stats", "{first:?}");
    drop(resumed);
    server.stop();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_red_alert_is_critical_and_one_that_stops_the_line_is_on_the_board_as_a_stop() {
    for halt in [false, true] {
        let server = start(move |config, _| {
            config
                .profile_text(
                    &format!(
                        "[inference_monitor]\nintegrity_level = \"SIL2\"\ncollector = \"ledger\"\n\n\
                         [andon]\nyellow_confidence = 0.999\nred_confidence = 0.995\n\
                         halt_on_red = {halt}\n"
                    ),
                    std::path::Path::new("red.toml"),
                )
                .unwrap();
        });
        // scikit-learn gives this setosa 0.98: under the red threshold.
        let (status, answer) =
            infer(&server, "iris", &infer_body(&[vec![5.1, 3.5, 1.4, 0.2]])).await;
        let board: Value = client()
            .get(server.url("/v1/alerts"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let alert = &board["alerts"][0];
        assert_eq!(board["open"], 1, "{board}");
        assert_eq!(alert["andon_level"], "red", "{board}");
        assert_eq!(alert["rule"], "low_confidence", "{board}");
        assert_eq!(alert["model"], "iris", "{board}");
        if halt {
            // The line stops: 409, and the alert that stopped it is on the board as a stop
            // (the decision and the alert are in the ledger; no receipt was sent).
            assert_eq!(status, 409, "{answer}");
            assert_eq!(answer["code"], "line_stopped");
            assert_eq!(
                answer["error"],
                "line stopped by a red alert on decision 0: low confidence 0.981 < 0.995"
            );
            assert_eq!(alert["level"], "stop", "{board}");
            assert_eq!(alert["index"], Value::Null, "{board}");
            assert_eq!(alert["sequence"], 0, "{board}");
        } else {
            assert_eq!(status, 200, "{answer}");
            assert_eq!(alert["level"], "critical", "{board}");
            assert_eq!(alert["index"], receipt(&answer), "{board}");
        }
        let metrics = get_text(server.url("/metrics")).await;
        assert!(
            metrics
                .lines()
                .any(|l| l.starts_with("whyline_alerts_total{")
                    && l.contains("level=\"red\"")
                    && l.contains("rule=\"low_confidence\"")
                    && l.ends_with(" 1")),
            "halt_on_red = {halt}: the alert is counted\n{metrics}"
        );
        // An HMAC verifier's key is its secret: the health JSON publishes none.
        let (status, health) = crate::common::get_json(&server, "/v1/health").await;
        assert_eq!(status, 200);
        assert_eq!(health["verifier_key"], Value::Null, "{health}");
        server.stop();
    }
}
