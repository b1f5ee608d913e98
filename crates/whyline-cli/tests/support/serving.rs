//! Starting a real `whyline serve` in the CLI's tests: spawn the command, wait for the line
//! that names its address, and keep draining its stderr (so it never blocks on a full pipe)
//! into a log the test can show when something fails. Included by the test files that need
//! it with `#[path = "support/serving.rs"] mod serving;`.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};

/// A started server: the process, its base URL (`http://127.0.0.1:PORT`) and what it said on
/// stderr after that.
pub(crate) struct Started {
    pub(crate) child: Child,
    pub(crate) base: String,
    pub(crate) later: Arc<Mutex<Vec<String>>>,
}

/// Spawns `command` (a `whyline serve ... --listen 127.0.0.1:0`) with stderr piped and waits
/// for `whyline: serving on ADDRESS`; panics with everything it said if it exits first.
pub(crate) fn start(mut command: Command) -> Started {
    let mut child = command
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let mut lines = BufReader::new(stderr).lines();
    let mut said = Vec::new();
    let base = loop {
        let line = lines
            .next()
            .unwrap_or_else(|| panic!("the server exited: {said:#?}"))
            .unwrap();
        if let Some(address) = line.strip_prefix("whyline: serving on ") {
            break address.to_owned();
        }
        said.push(line);
    };
    let later = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&later);
    std::thread::spawn(move || {
        for line in lines.map_while(Result::ok) {
            sink.lock().unwrap().push(line);
        }
    });
    Started { child, base, later }
}
