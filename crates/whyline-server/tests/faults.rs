//! A storage fault (fsync failing, disk full): the server turns unready, refuses writes with
//! 503, keeps serving reads, and says why.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use whyline::ledger::{SegmentFile, SyncHandle};

use crate::common::{assert_schema, get_json, infer, infer_body, schema, start};

/// A segment file that fails every write and sync once `full` is set, as a full disk does.
struct FillingFile {
    file: std::fs::File,
    full: Arc<AtomicBool>,
}

fn no_space() -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::StorageFull,
        "No space left on device (injected)",
    )
}

impl SegmentFile for FillingFile {
    fn append_all(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        if self.full.load(Ordering::SeqCst) {
            return Err(no_space());
        }
        std::io::Write::write_all(&mut self.file, bytes)
    }

    fn sync_data(&mut self) -> std::io::Result<()> {
        if self.full.load(Ordering::SeqCst) {
            return Err(no_space());
        }
        self.file.sync_data()
    }

    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> std::io::Result<()> {
        std::os::unix::fs::FileExt::read_exact_at(&self.file, buf, offset)
    }

    fn set_len(&mut self, len: u64) -> std::io::Result<()> {
        self.file.set_len(len)
    }

    fn file_len(&self) -> std::io::Result<u64> {
        Ok(self.file.metadata()?.len())
    }

    fn sync_handle(&self) -> std::io::Result<Arc<dyn SyncHandle>> {
        Ok(Arc::new(FillingHandle {
            file: self.file.try_clone()?,
            full: Arc::clone(&self.full),
        }))
    }
}

struct FillingHandle {
    file: std::fs::File,
    full: Arc<AtomicBool>,
}

impl SyncHandle for FillingHandle {
    fn sync_data(&self) -> std::io::Result<()> {
        if self.full.load(Ordering::SeqCst) {
            return Err(no_space());
        }
        self.file.sync_data()
    }
}

/// A server (SIL3: every append synced) whose segment files fail once `full` is set.
fn start_filling(full: &Arc<AtomicBool>) -> crate::common::Running {
    let flag = Arc::clone(full);
    start(move |config, _| {
        config
            .profile_text(
                "[inference_monitor]\nintegrity_level = \"SIL3\"\ncollector = \"ledger\"\n",
                Path::new("sil3.toml"),
            )
            .unwrap();
        config.segment_opener(Arc::new(move |path: &Path| {
            let file = std::fs::OpenOptions::new()
                .create(true)
                .read(true)
                .append(true)
                .open(path)?;
            Ok(Box::new(FillingFile {
                file,
                full: Arc::clone(&flag),
            }) as Box<dyn SegmentFile>)
        }));
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn a_full_disk_makes_the_server_unready_and_refuse_writes_but_reads_go_on() {
    let full = Arc::new(AtomicBool::new(false));
    let server = start_filling(&full);
    let errors = schema("error_response.json");
    let row = infer_body(&[vec![5.1, 3.5, 1.4, 0.2]]);
    let (status, before) = infer(&server, "iris", &row).await;
    assert_eq!(status, 200, "{before}");
    assert_eq!(
        before["parameters"]["decisions"][0]["durable"], true,
        "sync: durable before the reply"
    );

    full.store(true, Ordering::SeqCst);
    let (status, error) = infer(&server, "iris", &row).await;
    assert_eq!(status, 503, "{error}");
    assert_schema(&errors, &error);
    assert_eq!(error["code"], "unavailable");
    assert!(
        error["error"]
            .as_str()
            .unwrap()
            .contains("No space left on device (injected)"),
        "the cause is named: {error}"
    );
    let (status, ready) = get_json(&server, "/v2/health/ready").await;
    assert_eq!(status, 503, "{ready}");
    assert!(
        ready["error"].as_str().unwrap().contains("No space left"),
        "{ready}"
    );
    // Still refused once the disk has room: the ledger's writer stopped at the failure, and
    // an operator restarts the server (which recovers the log) once the cause is fixed.
    full.store(false, Ordering::SeqCst);
    let (status, _) = infer(&server, "iris", &row).await;
    assert_eq!(status, 503);

    // Reads go on: the model, the decision recorded before, the metrics.
    let (status, _) = get_json(&server, "/v2/models/iris").await;
    assert_eq!(status, 200);
    let index = before["parameters"]["decisions"][0]["index"]
        .as_u64()
        .unwrap();
    let (status, entry) = get_json(&server, &format!("/v1/decisions/{index}")).await;
    assert_eq!(status, 200, "{entry}");
    assert_eq!(entry["leaf"], before["parameters"]["decisions"][0]["leaf"]);
    let metrics = reqwest::get(server.url("/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(metrics.lines().any(|l| l == "whyline_ready 0"), "{metrics}");
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("whyline_fsync_seconds_count ")
                && l != "whyline_fsync_seconds_count 0"),
        "the syncs were timed"
    );
}

/// Posts one JSON line; the status, `Retry-After` and JSON body.
async fn ingest(
    server: &crate::common::Running,
    line: &str,
) -> (u16, Option<String>, Option<serde_json::Value>) {
    let response = reqwest::Client::new()
        .post(server.url("/v1/decisions"))
        .header("content-type", "application/x-ndjson")
        .body(format!("{line}\n"))
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let retry = response
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_owned());
    (status, retry, response.json().await.ok())
}

#[tokio::test(flavor = "multi_thread")]
async fn an_ingest_that_meets_a_full_disk_is_refused_with_503_and_so_is_every_write_after() {
    let full = Arc::new(AtomicBool::new(false));
    let server = start_filling(&full);
    let line = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../whyline-core/tests/fixtures/golden/all.jsonl"),
    )
    .unwrap()
    .lines()
    .next()
    .unwrap()
    .to_owned();
    let (status, _, _) = ingest(&server, &line).await;
    assert_eq!(status, 200, "the disk has room");

    full.store(true, Ordering::SeqCst);
    let (status, retry, error) = ingest(&server, &line).await;
    let error = error.unwrap();
    assert_eq!(status, 503, "{error}");
    assert_eq!(retry.as_deref(), Some("1"));
    assert_schema(&schema("error_response.json"), &error);
    assert_eq!(error["code"], "unavailable");
    let message = error["error"].as_str().unwrap();
    assert!(
        message.contains("No space left on device (injected)"),
        "{message}"
    );
    // From then on every write is refused before it reaches the ledger, naming the cause.
    let (status, _, error) = ingest(&server, &line).await;
    let error = error.unwrap();
    assert_eq!(status, 503, "{error}");
    let message = error["error"].as_str().unwrap();
    assert!(
        message.starts_with("the ledger cannot be written: "),
        "{message}"
    );
    assert!(
        message.contains("No space left on device (injected)"),
        "{message}"
    );
    let (status, error) = infer(&server, "iris", &infer_body(&[vec![5.1, 3.5, 1.4, 0.2]])).await;
    assert_eq!(status, 503, "{error}");
    let (status, ready) = get_json(&server, "/v2/health/ready").await;
    assert_eq!(status, 503, "{ready}");
}
