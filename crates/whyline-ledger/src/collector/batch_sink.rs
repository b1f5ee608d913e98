//! [`BatchSink`]: the stream collector's seam for destinations that take whole batches (a
//! message broker), beside the byte sinks (`Write`) it writes record by record.

use std::io::{self, BufWriter, Write};

/// A destination that takes the stream collector's batches whole: a message broker, where
/// one batch becomes one message. Built with
/// [`StreamCollectorBuilder::build_batches`](super::StreamCollectorBuilder::build_batches).
///
/// The writer thread calls [`write_batch`](Self::write_batch) once per batch, in the order
/// the batches were queued (the order of [`Backpressure`](super::Backpressure) and
/// `record`), so a sink can number them. A sink that can wait out an outage (a broker being
/// restarted) retries inside `write_batch`: the writer thread waits with it, the queue
/// fills, and the collector's backpressure policy decides for the callers (drop and count,
/// block, or write to the fallback sink). An `Err` stops the writer for good, as a failed
/// `write` does for a byte sink: the batch and every later record are counted lost and the
/// error is returned by the next `record` or `flush`.
pub trait BatchSink: Send + 'static {
    /// Delivers one batch: `records` canonical APRT records back to back in `bytes`
    /// (never empty). Returns once the destination holds the batch.
    fn write_batch(&mut self, bytes: &[u8], records: usize) -> io::Result<()>;

    /// Returns once every batch delivered so far is held by the destination; called by the
    /// collector's `flush` and on close. A sink whose `write_batch` already waits for that
    /// has nothing more to do here, and says so in its docs.
    fn flush(&mut self) -> io::Result<()>;
}

/// Where the writer thread sends records: a byte sink written record by record, or a batch
/// sink given each batch whole.
pub(super) enum Sink {
    /// A `Write`, through the writer's buffer.
    Bytes(BufWriter<Box<dyn Write + Send>>),
    /// A [`BatchSink`] (APRT only).
    Batches(Box<dyn BatchSink>),
}

impl Sink {
    /// Lets the unwritten buffer of a failed byte sink go, instead of letting `BufWriter`'s
    /// drop retry it.
    pub(super) fn discard(self) {
        if let Sink::Bytes(out) = self {
            let (_sink, _unwritten) = out.into_parts();
        }
    }
}

impl Write for Sink {
    /// Byte sinks only: the writer hands a batch sink whole batches (`write_batch`) and never
    /// writes bytes to it.
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        match self {
            Sink::Bytes(out) => out.write(bytes),
            Sink::Batches(_) => Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "a batch sink takes whole batches, not bytes",
            )),
        }
    }

    fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        match self {
            Sink::Bytes(out) => out.write_all(bytes),
            Sink::Batches(_) => self.write(bytes).map(drop),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Sink::Bytes(out) => out.flush(),
            Sink::Batches(sink) => sink.flush(),
        }
    }
}
