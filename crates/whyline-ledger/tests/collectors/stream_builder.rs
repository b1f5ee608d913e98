//! What the stream builder sets: the writer thread's name (seen from inside the sink) and
//! its `Debug` view.

use std::io::{self, Write};
use std::sync::{Arc, Mutex};

use whyline_core::{LinearPath, TraceCollector};
use whyline_ledger::collector::{StreamCollectorBuilder, StreamFormat};

use crate::support::linear_trace;

/// A sink that notes the name of the thread writing to it.
#[derive(Clone, Default)]
struct ThreadNames(Arc<Mutex<Vec<Option<String>>>>);

impl Write for ThreadNames {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        let name = std::thread::current().name().map(str::to_owned);
        self.0.lock().unwrap().push(name);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[test]
fn the_writer_thread_carries_the_name_the_builder_gave_it() {
    let names = ThreadNames::default();
    let mut builder = StreamCollectorBuilder::new(StreamFormat::Aprt);
    builder.thread_name("audit-writer").buffer_bytes(0);
    let debug = format!("{builder:?}");
    assert!(
        debug.contains(r#"thread_name: "audit-writer""#) && debug.contains("has_fallback: false"),
        "{debug}"
    );
    let stream = builder.build::<LinearPath>(names.clone()).unwrap();
    stream.record(&linear_trace(0)).unwrap();
    stream.flush().unwrap();
    let seen = names.0.lock().unwrap().clone();
    assert!(!seen.is_empty());
    assert!(
        seen.iter().all(|n| n.as_deref() == Some("audit-writer")),
        "{seen:?}"
    );
}
