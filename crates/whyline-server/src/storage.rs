//! The ledger's segment files as the server opens them: plain files (or the caller's, to
//! inject faults) whose every `fdatasync` is timed into `whyline_fsync_seconds`.

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use prometheus_client::metrics::histogram::Histogram;
use whyline::SharedSegmentOpener;
use whyline::ledger::{SegmentFile, SyncHandle};

/// Opens segment files as the ledger's default does: create, read, append.
fn open_plain(path: &Path) -> std::io::Result<Box<dyn SegmentFile>> {
    let file = std::fs::OpenOptions::new()
        .create(true)
        .read(true)
        .append(true)
        .open(path)?;
    Ok(Box::new(file))
}

/// `inner` (plain files when `None`), each file's syncs timed into `histogram`.
pub(crate) fn metered(
    inner: Option<SharedSegmentOpener>,
    histogram: Histogram,
    stats: Arc<crate::metrics::FsyncStats>,
) -> SharedSegmentOpener {
    Arc::new(move |path: &Path| {
        let file = match &inner {
            Some(open) => open(path)?,
            None => open_plain(path)?,
        };
        Ok(Box::new(MeteredFile {
            inner: file,
            histogram: histogram.clone(),
            stats: Arc::clone(&stats),
        }) as Box<dyn SegmentFile>)
    })
}

struct MeteredFile {
    inner: Box<dyn SegmentFile>,
    histogram: Histogram,
    stats: Arc<crate::metrics::FsyncStats>,
}

impl SegmentFile for MeteredFile {
    fn append_all(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.inner.append_all(bytes)
    }

    fn sync_data(&mut self) -> std::io::Result<()> {
        let started = Instant::now();
        let result = self.inner.sync_data();
        let elapsed = started.elapsed();
        self.histogram.observe(elapsed.as_secs_f64());
        self.stats
            .record(u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX));
        result
    }

    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> std::io::Result<()> {
        self.inner.read_exact_at(buf, offset)
    }

    fn set_len(&mut self, len: u64) -> std::io::Result<()> {
        self.inner.set_len(len)
    }

    fn file_len(&self) -> std::io::Result<u64> {
        self.inner.file_len()
    }

    fn sync_handle(&self) -> std::io::Result<Arc<dyn SyncHandle>> {
        Ok(Arc::new(MeteredHandle {
            inner: self.inner.sync_handle()?,
            histogram: self.histogram.clone(),
            stats: Arc::clone(&self.stats),
        }))
    }
}

struct MeteredHandle {
    inner: Arc<dyn SyncHandle>,
    histogram: Histogram,
    stats: Arc<crate::metrics::FsyncStats>,
}

impl SyncHandle for MeteredHandle {
    fn sync_data(&self) -> std::io::Result<()> {
        let started = Instant::now();
        let result = self.inner.sync_data();
        let elapsed = started.elapsed();
        self.histogram.observe(elapsed.as_secs_f64());
        self.stats
            .record(u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX));
        result
    }
}
