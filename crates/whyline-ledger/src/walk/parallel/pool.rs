//! The parallel walk's helper threads: one per core but the caller's, started with the first
//! large log and kept for the next ones.
//!
//! A verify call that spawned its own threads paid for it in every round: a new thread is
//! placed by the scheduler afresh, often on the caller's core while the other one runs
//! something else, and waited there for milliseconds of a ~20 ms walk. Threads that live on
//! keep their place, and wake where they last ran. The chunk buffers are kept too (a few).

use std::sync::{Mutex, OnceLock};

use crossbeam_channel::Sender;

/// A walk's share of work for one helper thread.
pub(super) type Job = Box<dyn FnOnce() + Send + 'static>;

struct Pool {
    jobs: Sender<Job>,
    helpers: usize,
}

static POOL: OnceLock<Pool> = OnceLock::new();

fn pool() -> &'static Pool {
    POOL.get_or_init(|| {
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        let (jobs, receiver) = crossbeam_channel::unbounded::<Job>();
        let helpers = (1..cores)
            .filter(|_| {
                let receiver = receiver.clone();
                std::thread::Builder::new()
                    .name("whyline-verify".into())
                    .spawn(move || {
                        for job in receiver {
                            job();
                        }
                    })
                    .is_ok()
            })
            .count();
        Pool { jobs, helpers }
    })
}

/// How many helper threads there are (none on one core, or when none could be started).
pub(super) fn helpers() -> usize {
    pool().helpers
}

/// Runs `job` on the first helper thread that is free. A job that waits for its walk's
/// chunks ends when the walk stops sending them; until then it holds its thread, so a
/// second walk at the same time gets its help later (and hashes alone meanwhile).
pub(super) fn run(job: Job) {
    // The receivers live as long as the helper threads, which never end.
    let _ = pool().jobs.send(job);
}

/// Chunk buffers kept from one walk for the next, at most this many ...
const SPARE_BUFFERS: usize = 8;
/// ... and none larger than this (a log of huge frames makes huge chunks).
const SPARE_BYTES: usize = 2 << 20;

/// Chunk buffers handed back by finished walks. A walk needs a few chunks' worth of bytes
/// in flight; a buffer used before costs neither page faults nor zero-filling again.
static SPARE: Mutex<Vec<Vec<u8>>> = Mutex::new(Vec::new());

/// A buffer left by an earlier walk, or a new empty one.
pub(super) fn spare_buffer() -> Vec<u8> {
    SPARE
        .lock()
        .ok()
        .and_then(|mut spare| spare.pop())
        .unwrap_or_default()
}

/// Keeps a walk's buffers for the next walk, as many as [`SPARE_BUFFERS`].
pub(super) fn keep_buffers(buffers: impl IntoIterator<Item = Vec<u8>>) {
    if let Ok(mut spare) = SPARE.lock() {
        for buffer in buffers {
            if spare.len() < SPARE_BUFFERS && buffer.capacity() <= SPARE_BYTES {
                spare.push(buffer);
            }
        }
    }
}
