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

#[tokio::test(flavor = "multi_thread")]
async fn a_full_disk_makes_the_server_unready_and_refuse_writes_but_reads_go_on() {
    let full = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&full);
    let server = start(move |config, _| {
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
    });
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
