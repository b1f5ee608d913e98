//! The stream's writer thread dying (a sink that panics): callers and `flush` get
//! [`LedgerError::WriterGone`] and `close` [`LedgerError::WriterPanicked`], never a hang.

use std::io::{self, Write};
use std::sync::{Arc, mpsc};
use std::thread;
use std::time::Duration;

use whyline_core::{LinearPath, TraceCollector};
use whyline_ledger::LedgerError;
use whyline_ledger::collector::{StreamCollectorBuilder, StreamFormat};

use crate::support::{collector_error, linear_trace};

struct PanickingWriter;

impl Write for PanickingWriter {
    fn write(&mut self, _: &[u8]) -> io::Result<usize> {
        panic!("sink bug")
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[test]
fn a_panicking_sink_is_an_error_not_a_hang() {
    let stream = StreamCollectorBuilder::new(StreamFormat::Aprt)
        .buffer_bytes(0)
        .build::<LinearPath>(PanickingWriter)
        .unwrap();
    let _ = stream.record(&linear_trace(0));
    let flushed = stream.flush().unwrap_err();
    assert!(
        matches!(collector_error(&flushed), LedgerError::WriterGone),
        "{flushed:?}"
    );
    let error = stream.record(&linear_trace(1)).unwrap_err();
    assert!(
        matches!(collector_error(&error), LedgerError::WriterGone),
        "{error:?}"
    );
    assert!(matches!(stream.close(), Err(LedgerError::WriterPanicked)));
}

/// A sink that says when the writer reaches it, waits to be released, then panics.
struct GatedPanickingWriter {
    entered: mpsc::Sender<()>,
    release: mpsc::Receiver<()>,
}

impl Write for GatedPanickingWriter {
    fn write(&mut self, _: &[u8]) -> io::Result<usize> {
        let _ = self.entered.send(());
        let _ = self.release.recv();
        panic!("sink bug")
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The writer dies while a `flush` request waits in the queue behind the batch it is
/// writing. The request's answer never comes (it sits in a queue nobody reads), so `flush`
/// must see that the writer thread has ended rather than wait for ever.
#[test]
fn a_flush_queued_behind_a_batch_whose_sink_panics_is_an_error_not_a_hang() {
    let (entered, writer_entered) = mpsc::channel();
    let (release, released) = mpsc::channel();
    let stream = Arc::new(
        StreamCollectorBuilder::new(StreamFormat::Aprt)
            .buffer_bytes(0)
            .build::<LinearPath>(GatedPanickingWriter {
                entered,
                release: released,
            })
            .unwrap(),
    );
    stream.record(&linear_trace(0)).unwrap();
    let (answer, flushed) = mpsc::channel();
    let flusher = {
        let stream = Arc::clone(&stream);
        thread::spawn(move || answer.send(stream.flush()))
    };
    writer_entered
        .recv_timeout(Duration::from_secs(10))
        .expect("the writer reaches the sink");
    // The flush request follows its batch into the queue at once; let it get there before
    // the writer dies. (Had it not, its send would fail: the same error, sooner.)
    thread::sleep(Duration::from_millis(100));
    release.send(()).unwrap();
    let flushed = flushed
        .recv_timeout(Duration::from_secs(10))
        .expect("flush returns once the writer is gone")
        .unwrap_err();
    assert!(
        matches!(collector_error(&flushed), LedgerError::WriterGone),
        "{flushed:?}"
    );
    flusher.join().unwrap().unwrap();
}
