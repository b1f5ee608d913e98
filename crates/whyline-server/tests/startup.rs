//! Starting a server over a ledger that exists: a damaged ledger is refused, naming the first
//! bad entry; damage that appears once the writer has opened the log is found by the
//! verification at start, which the health JSON and the metrics report; a bound server says
//! what it serves and where its ledger is.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use serde_json::Value;
use sha2::Digest;
use whyline::ledger::{SegmentFile, SyncHandle};
use whyline_server::{ModelSource, Server, ServerConfig};

use crate::common::{fixture, get_json, infer, infer_body, start};

/// The byte offset of each frame of an entry log (`docs/ledger-format.md`: a 16-byte file
/// header, then frames of 52 + n bytes whose first four bytes are n, little-endian).
fn frame_offsets(log: &[u8]) -> Vec<usize> {
    let mut offsets = Vec::new();
    let mut at = 16;
    while at + 4 <= log.len() {
        offsets.push(at);
        let n = u32::from_le_bytes(log[at..at + 4].try_into().unwrap()) as usize;
        at += 52 + n;
    }
    assert_eq!(at, log.len(), "whole frames");
    offsets
}

/// A ledger of two model records and three decisions (entries 0–4), closed with a final
/// signed checkpoint of all five. Returns the server (which keeps the directory) and the
/// offset of each entry's frame.
async fn ledger_of_five() -> (crate::common::Running, Vec<usize>) {
    let server = start(|_, _| {});
    let (status, answer) = infer(
        &server,
        "iris",
        &infer_body(&[
            vec![5.1, 3.5, 1.4, 0.2],
            vec![5.0, 3.4, 1.5, 0.2],
            vec![4.9, 3.0, 1.4, 0.2],
        ]),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    let report = server.stop();
    assert_eq!(report.entries, 5);
    assert!(report.checkpoint.is_some());
    let log = std::fs::read(server.ledger().join("entries.wls")).unwrap();
    let offsets = frame_offsets(&log);
    assert_eq!(offsets.len(), 5);
    (server, offsets)
}

/// Flips one bit of the payload (its tenth byte) of the entry whose frame is at `frame` in
/// the entry log of `ledger`.
fn damage_entry(ledger: &Path, frame: usize) {
    let path = ledger.join("entries.wls");
    let mut log = std::fs::read(&path).unwrap();
    log[frame + 16 + 10] ^= 0x01;
    std::fs::write(&path, log).unwrap();
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_file() {
            std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_damaged_ledger_is_refused_at_start_naming_the_first_bad_entry() {
    let (first, frames) = ledger_of_five().await;
    let frame = frames[2];
    damage_entry(&first.ledger(), frame);
    let mut config = ServerConfig::new(first.ledger()).unwrap();
    config.listen("127.0.0.1:0".parse().unwrap());
    config
        .model(
            ModelSource::parse(&format!(
                "iris={}",
                fixture("sk_logreg_iris.whyline.json").display()
            ))
            .unwrap(),
        )
        .unwrap();
    let error = Server::bind(&config).await.expect_err("a damaged ledger");
    let message = error.to_string();
    let expected = format!(
        "{}: entry 2 at byte {frame}: content changed",
        first.ledger().join("entries.wls").display()
    );
    assert!(
        message.contains(&expected),
        "{message}\nexpected {expected}"
    );
}

/// Damage to do once, shared by the segment files of one ledger.
type Damage = Arc<Mutex<Option<Box<dyn FnOnce() + Send>>>>;

/// A segment file that runs `damage` once, just before its first append: damage done to the
/// files after the writer opened (and recovered) the log, as another process could.
struct DamagedAfterOpening {
    file: std::fs::File,
    damage: Damage,
}

impl SegmentFile for DamagedAfterOpening {
    fn append_all(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        if let Some(damage) = self.damage.lock().unwrap().take() {
            damage();
        }
        std::io::Write::write_all(&mut self.file, bytes)
    }

    fn sync_data(&mut self) -> std::io::Result<()> {
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
        Ok(Arc::new(Syncing(self.file.try_clone()?)))
    }
}

struct Syncing(std::fs::File);

impl SyncHandle for Syncing {
    fn sync_data(&self) -> std::io::Result<()> {
        self.0.sync_data()
    }
}

/// Serves a copy of `ledger` with every append synced (SIL3), running `damage` on the copy's
/// directory once the writer has opened it, just before its first append (the model record
/// appended at start); returns the server once the verification at start finished, and its
/// health JSON.
async fn serve_damaged_after_opening(
    ledger: &Path,
    damage: impl FnOnce(&Path) + Send + 'static,
) -> (crate::common::Running, Value) {
    let from = ledger.to_owned();
    let server = start(move |config, dir| {
        let copy = dir.join("ledger");
        copy_dir(&from, &copy);
        config
            .profile_text(
                "[inference_monitor]\nintegrity_level = \"SIL3\"\ncollector = \"ledger\"\n",
                Path::new("sil3.toml"),
            )
            .unwrap();
        let damage: Box<dyn FnOnce() + Send> = Box::new(move || damage(&copy));
        let damage: Damage = Arc::new(Mutex::new(Some(damage)));
        config.segment_opener(Arc::new(move |path: &Path| {
            let file = std::fs::OpenOptions::new()
                .create(true)
                .read(true)
                .append(true)
                .open(path)?;
            Ok(Box::new(DamagedAfterOpening {
                file,
                damage: Arc::clone(&damage),
            }) as Box<dyn SegmentFile>)
        }));
    });
    for _ in 0..500 {
        let (status, health) = get_json(&server, "/v1/health").await;
        assert_eq!(status, 200, "{health}");
        if !health["verification"]["result"].is_null() {
            return (server, health);
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!("the verification at start did not finish within 10 s");
}

async fn verify_status_metric(server: &crate::common::Running) -> String {
    let metrics = reqwest::get(server.url("/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    metrics
        .lines()
        .find(|l| l.starts_with("whyline_verify_status "))
        .unwrap_or_else(|| panic!("no whyline_verify_status in {metrics}"))
        .to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn damage_made_after_the_writer_opened_the_log_is_found_by_the_verification_at_start() {
    // The last decision damaged (entries 2 and 3 are decisions that still read).
    let (first, frames) = ledger_of_five().await;
    let frame = frames[4];
    let (server, health) =
        serve_damaged_after_opening(&first.ledger(), move |ledger| damage_entry(ledger, frame))
            .await;
    let expected = format!(
        "broken: {}: entry 4 at byte {frame}: content changed",
        server.ledger().join("entries.wls").display()
    );
    assert_eq!(health["verification"]["status"], "broken", "{health}");
    assert_eq!(
        health["verification"]["result"],
        expected.as_str(),
        "{health}"
    );
    assert_eq!(
        verify_status_metric(&server).await,
        "whyline_verify_status 0"
    );
    // Reading the damaged entry fails naming it; the incident report says the chain is
    // broken.
    let (status, error) = get_json(&server, "/v1/decisions/4").await;
    assert_eq!(status, 500, "{error}");
    assert!(
        error["error"]
            .as_str()
            .unwrap()
            .contains(&format!("entry 4 at byte {frame}: content changed")),
        "{error}"
    );
    let tile = reqwest::get(server.url("/tile/entries/000.p/5"))
        .await
        .unwrap();
    let tile_status = tile.status().as_u16();
    let tile_text = tile.text().await.unwrap();
    assert_eq!(tile_status, 500, "{tile_text}");
    assert!(tile_text.contains("content changed"), "{tile_text}");
    let time = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let page = reqwest::get(server.url(&format!("/incident?at={time}&before=1h")))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("✗ Chain integrity BROKEN: "), "{page}");
    // The server still serves: decisions are appended after the damage.
    let (status, answer) = infer(&server, "iris", &infer_body(&[vec![5.1, 3.5, 1.4, 0.2]])).await;
    assert_eq!(status, 200, "{answer}");
    server.stop();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_log_that_cannot_be_opened_for_reading_is_reported_as_not_verified() {
    let (first, _) = ledger_of_five().await;
    // The entry log unlinked under the writer, which keeps appending to its open file: a
    // read-only view finds no ledger in the directory any more.
    let (server, health) = serve_damaged_after_opening(&first.ledger(), |ledger| {
        std::fs::remove_file(ledger.join("entries.wls")).unwrap();
    })
    .await;
    let result = health["verification"]["result"].as_str().unwrap();
    assert!(result.starts_with("could not verify: "), "{health}");
    assert!(
        result.contains(&server.ledger().display().to_string()),
        "names the directory: {result}"
    );
    assert_eq!(health["verification"]["status"], "broken", "{health}");
    assert_eq!(
        verify_status_metric(&server).await,
        "whyline_verify_status 0"
    );
    server.stop();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bound_server_says_what_it_serves_and_where_its_ledger_is() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = dir.path().join("ledger");
    let mut config = ServerConfig::new(&ledger).unwrap();
    config.listen("127.0.0.1:0".parse().unwrap());
    let files: Vec<(&str, PathBuf)> = vec![
        ("iris", fixture("sk_logreg_iris.whyline.json")),
        ("diabetes", fixture("sk_rf_reg_diabetes.whyline.json")),
    ];
    for (name, file) in &files {
        config
            .model(ModelSource {
                name: (*name).to_owned(),
                file: file.clone(),
            })
            .unwrap();
    }
    let server = Server::bind(&config).await.unwrap();
    assert_eq!(server.ledger_dir(), ledger.as_path());
    assert_eq!(server.log_location().as_dir(), Some(ledger.as_path()));
    assert!(!server.requires_tokens());
    assert!(!server.uses_tls());
    let address = server.local_addr();
    assert!(address.ip().is_loopback() && address.port() != 0);
    let debug = format!("{server:?}");
    assert!(debug.contains(&address.to_string()), "{debug}");
    let models = server.models();
    assert_eq!(models.len(), 2);
    for ((info, (name, file)), (model_type, index)) in models
        .iter()
        .zip(&files)
        .zip([("logistic_regression", 0), ("random_forest", 1)])
    {
        assert_eq!(info.name, *name);
        assert_eq!(&info.file, file);
        assert_eq!(info.model_type, model_type, "{info:?}");
        let sha256 = hex::encode(sha2::Sha256::digest(std::fs::read(file).unwrap()));
        assert_eq!(info.sha256, sha256, "the file's SHA-256");
        assert_eq!(info.record_index, Some(index), "its model record's index");
    }
    // Served until a shutdown that is already due: the two model records, checkpointed.
    let report = server.serve(async {}).await.unwrap();
    assert_eq!(report.entries, 2);
    assert!(report.checkpoint.unwrap().contains("\n2\n"));
}

#[tokio::test(flavor = "multi_thread")]
async fn crash_residue_past_the_last_frame_is_cut_at_start_and_the_log_goes_on() {
    let (first, _) = ledger_of_five().await;
    let log = first.ledger().join("entries.wls");
    let intact = std::fs::read(&log).unwrap();
    // The start of a sixth frame: a length and part of an index, as a crash mid-append
    // leaves it.
    let mut torn = intact.clone();
    torn.extend_from_slice(&[40, 0, 0, 0, 5, 0, 0]);
    std::fs::write(&log, &torn).unwrap();
    let from = first.ledger();
    let server = start(move |_, dir| copy_dir(&from, &dir.join("ledger")));
    let (status, answer) = infer(&server, "iris", &infer_body(&[vec![5.1, 3.5, 1.4, 0.2]])).await;
    assert_eq!(status, 200, "{answer}");
    let report = server.stop();
    // The five entries, two model records and the decision: the residue is gone.
    assert_eq!(report.entries, 8);
    let after = std::fs::read(server.ledger().join("entries.wls")).unwrap();
    assert_eq!(&after[..intact.len()], intact.as_slice());
    assert_eq!(frame_offsets(&after).len(), 8, "whole frames only");
    let store = whyline::SegmentStore::open_existing(server.ledger()).unwrap();
    let outcome = whyline::verify_store(&store, None).unwrap();
    assert!(
        matches!(outcome, whyline::VerifyOutcome::Intact(_)),
        "{outcome:?}"
    );
}
