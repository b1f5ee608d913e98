//! `whyline top URL`: the live view's events from a server's stream (`GET /v1/stream`,
//! Server-Sent Events, the `read` scope; docs/dashboard.md).
//!
//! The stream is read line by line ([`SseParser`], the WHATWG event-stream rules: `event`,
//! `data` lines joined by newlines, `id`, `retry`, comments, a blank line dispatches). When
//! the connection drops, the source reconnects after the server's `retry` delay (1 s by
//! default, doubling to 10 s while it keeps failing) with `Last-Event-ID` set to the last
//! decision it saw, so the server replays what was missed and nothing is shown twice.

use std::io::{BufRead, BufReader};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::SyncSender;
use std::time::Duration;

use anyhow::Context;
use whyline_core::{AnyPath, DecisionTrace, Names, from_json};

use super::event::Event;
use super::source::{SourceMessage, path_lines};

/// The first reconnection delay (the event-stream default is the server's `retry`).
const RETRY: Duration = Duration::from_secs(1);
/// The longest delay between reconnections.
const RETRY_MAX: Duration = Duration::from_secs(10);

/// One event read off the stream.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct SseEvent {
    /// The `event` field (`message` when absent).
    pub(crate) kind: String,
    /// The `data` lines, joined by `\n`.
    pub(crate) data: String,
    /// The `id` field, when the event had one.
    pub(crate) id: Option<String>,
}

/// Reads an event stream one line at a time.
#[derive(Debug, Default)]
pub(crate) struct SseParser {
    kind: String,
    data: String,
    has_data: bool,
    id: Option<String>,
    /// The last `retry` the server asked for.
    pub(crate) retry: Option<Duration>,
}

impl SseParser {
    /// Takes one line (without its line end); returns the event a blank line completes.
    pub(crate) fn line(&mut self, line: &str) -> Option<SseEvent> {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.is_empty() {
            let kind = std::mem::take(&mut self.kind);
            let data = std::mem::take(&mut self.data);
            let id = self.id.take();
            if !std::mem::take(&mut self.has_data) {
                return None;
            }
            return Some(SseEvent {
                kind: if kind.is_empty() {
                    "message".to_owned()
                } else {
                    kind
                },
                data,
                id,
            });
        }
        if line.starts_with(':') {
            return None;
        }
        let (field, value) = match line.split_once(':') {
            Some((field, value)) => (field, value.strip_prefix(' ').unwrap_or(value)),
            None => (line, ""),
        };
        match field {
            "event" => value.clone_into(&mut self.kind),
            "data" => {
                if self.has_data {
                    self.data.push('\n');
                }
                self.data.push_str(value);
                self.has_data = true;
            }
            "id" if !value.contains('\0') => self.id = Some(value.to_owned()),
            "retry" => {
                if let Ok(ms) = value.parse::<u64>() {
                    self.retry = Some(Duration::from_millis(ms));
                }
            }
            _ => {}
        }
        None
    }
}

/// Options of the stream source.
#[derive(Clone, Debug)]
pub(crate) struct UrlOptions {
    /// The server's base URL (`http://127.0.0.1:7878`).
    pub(crate) base: String,
    /// The bearer token, if any.
    pub(crate) token: Option<String>,
}

impl UrlOptions {
    fn client(&self, timeout: Option<Duration>) -> anyhow::Result<reqwest::blocking::Client> {
        reqwest::blocking::Client::builder()
            .timeout(timeout)
            .connect_timeout(Duration::from_secs(5))
            .build()
            .context("building the HTTP client")
    }

    fn get(
        &self,
        client: &reqwest::blocking::Client,
        path: &str,
    ) -> reqwest::blocking::RequestBuilder {
        let request = client.get(format!("{}{path}", self.base.trim_end_matches('/')));
        match &self.token {
            Some(token) => request.bearer_auth(token),
            None => request,
        }
    }
}

/// Reads the stream until `stop` is set, reconnecting as the module docs say.
pub(crate) fn follow(
    options: &UrlOptions,
    sender: &SyncSender<SourceMessage>,
    stop: &AtomicBool,
) -> anyhow::Result<()> {
    let client = options.client(None)?;
    let mut last_id: Option<String> = None;
    let mut delay = RETRY;
    let mut first = true;
    while !stop.load(Ordering::Relaxed) {
        let outcome = read_stream(options, &client, sender, stop, &mut last_id, first);
        first = false;
        let (message, server_retry) = match outcome {
            Ok(StreamEnd::Stopped) | Ok(StreamEnd::ViewGone) => return Ok(()),
            Ok(StreamEnd::Closed { retry, events }) => {
                if events > 0 {
                    delay = RETRY;
                }
                ("the server closed the stream".to_owned(), retry)
            }
            Err(error) => (format!("{error:#}"), None),
        };
        let wait = server_retry.unwrap_or(delay);
        let status = format!(
            "{}: {message}; reconnecting in {:.0} s{}",
            options.base,
            wait.as_secs_f64(),
            last_id
                .as_deref()
                .map(|id| format!(" from after decision {id}"))
                .unwrap_or_default()
        );
        if sender.send(SourceMessage::Status(status)).is_err() {
            return Ok(());
        }
        sleep_unless_stopped(wait, stop);
        delay = (delay * 2).min(RETRY_MAX);
    }
    Ok(())
}

enum StreamEnd {
    Stopped,
    ViewGone,
    Closed {
        retry: Option<Duration>,
        events: u64,
    },
}

fn read_stream(
    options: &UrlOptions,
    client: &reqwest::blocking::Client,
    sender: &SyncSender<SourceMessage>,
    stop: &AtomicBool,
    last_id: &mut Option<String>,
    first: bool,
) -> anyhow::Result<StreamEnd> {
    let mut request = options
        .get(client, "/v1/stream")
        .header(reqwest::header::ACCEPT, "text/event-stream");
    if let Some(id) = last_id.as_deref() {
        request = request.header("Last-Event-ID", id);
    }
    let response = request
        .send()
        .with_context(|| format!("connecting to {}", options.base))?;
    let status = response.status();
    if status == reqwest::StatusCode::UNAUTHORIZED || status == reqwest::StatusCode::FORBIDDEN {
        anyhow::bail!(
            "{status}: the stream needs a token with the read scope (--token or WHYLINE_TOKEN)"
        );
    }
    if !status.is_success() {
        anyhow::bail!("GET /v1/stream: {status}");
    }
    let connected = format!(
        "{}: connected{}",
        options.base,
        match last_id.as_deref() {
            Some(id) if !first => format!(", resumed after decision {id}"),
            _ => String::new(),
        }
    );
    if sender.send(SourceMessage::Status(connected)).is_err() {
        return Ok(StreamEnd::ViewGone);
    }
    let mut parser = SseParser::default();
    let mut reader = BufReader::new(response);
    let mut line = String::new();
    let mut events = 0u64;
    let mut batch = Vec::new();
    loop {
        if stop.load(Ordering::Relaxed) {
            return Ok(StreamEnd::Stopped);
        }
        line.clear();
        let read = reader.read_line(&mut line).context("reading the stream")?;
        if read == 0 {
            return Ok(StreamEnd::Closed {
                retry: parser.retry,
                events,
            });
        }
        let Some(event) = parser.line(line.trim_end_matches('\n')) else {
            continue;
        };
        match Event::from_sse(&event.kind, &event.data) {
            Ok(Some(parsed)) => {
                if let (Event::Decision(_), Some(id)) = (&parsed, event.id) {
                    *last_id = Some(id);
                }
                events += 1;
                batch.push(parsed);
            }
            Ok(None) => {}
            Err(error) => {
                let message = format!("a {} event did not parse: {error}", event.kind);
                if sender.send(SourceMessage::Status(message)).is_err() {
                    return Ok(StreamEnd::ViewGone);
                }
            }
        }
        // An event is shown as soon as the stream has no more buffered.
        if reader.buffer().is_empty()
            && !batch.is_empty()
            && sender
                .send(SourceMessage::Events(std::mem::take(&mut batch)))
                .is_err()
        {
            return Ok(StreamEnd::ViewGone);
        }
    }
}

fn sleep_unless_stopped(wait: Duration, stop: &AtomicBool) {
    let step = Duration::from_millis(50);
    let mut slept = Duration::ZERO;
    while slept < wait && !stop.load(Ordering::Relaxed) {
        std::thread::sleep(step);
        slept += step;
    }
}

/// The decision page of decision `index`, fetched from `GET /v1/decisions/{index}` (its
/// JSON view; the server's read API names no features, so the path shows indices).
pub(crate) fn fetch_path(options: &UrlOptions, index: u64) -> anyhow::Result<Vec<String>> {
    let client = options.client(Some(Duration::from_secs(5)))?;
    let response = options
        .get(&client, &format!("/v1/decisions/{index}"))
        .send()
        .with_context(|| format!("fetching decision {index}"))?;
    let status = response.status();
    if !status.is_success() {
        anyhow::bail!("GET /v1/decisions/{index}: {status}");
    }
    let body: serde_json::Value = response
        .json()
        .with_context(|| format!("decision {index}: not JSON"))?;
    let view = serde_json::json!({
        "version": body.get("version").cloned().unwrap_or(serde_json::json!("1.0")),
        "trace": body.get("trace").cloned().unwrap_or(serde_json::Value::Null),
    });
    let trace: DecisionTrace<AnyPath> = from_json(&view.to_string())
        .with_context(|| format!("decision {index}: not a decision's JSON view"))?;
    Ok(path_lines(index, &trace, &Names::none()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed(parser: &mut SseParser, text: &str) -> Vec<SseEvent> {
        text.split('\n').filter_map(|l| parser.line(l)).collect()
    }

    #[test]
    fn events_are_dispatched_on_blank_lines_with_their_type_id_and_joined_data() {
        let mut parser = SseParser::default();
        let events = feed(
            &mut parser,
            ": a comment\nretry: 2500\nid: 12\nevent: decision\ndata: {\"a\":\ndata:1}\n\nevent: stats\ndata: {}\r\n\r\ndata\n\nevent: nothing\n\n",
        );
        assert_eq!(
            events,
            [
                SseEvent {
                    kind: "decision".into(),
                    data: "{\"a\":\n1}".into(),
                    id: Some("12".into()),
                },
                SseEvent {
                    kind: "stats".into(),
                    data: "{}".into(),
                    id: None,
                },
                SseEvent {
                    kind: "message".into(),
                    data: String::new(),
                    id: None,
                },
            ]
        );
        assert_eq!(parser.retry, Some(Duration::from_millis(2500)));
    }
}
