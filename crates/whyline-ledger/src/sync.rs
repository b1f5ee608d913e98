//! The collectors' synchronisation types, switchable to loom's for model checking.
//!
//! Normally these are plain re-exports of `std::sync`, `std::thread` and `crossbeam-channel`:
//! no wrapper, no cost. Built with `RUSTFLAGS="--cfg loom"` (`scripts/loom.sh`), the locks,
//! condition variables, atomics, `Arc` and threads are loom's, so that `tests/loom.rs` can run
//! the collectors under every interleaving loom explores, and the queue is [`channel`]'s own
//! bounded queue built on loom's `Mutex` and `Condvar` (loom cannot see inside
//! crossbeam-channel's lock-free queue).
//!
//! Only the collectors (`collector/`) take their types from here; the parallel walk and the
//! stores keep std's, which loom never runs.

#[cfg(not(loom))]
pub(crate) use std::sync::{Arc, Mutex, MutexGuard, atomic};

#[cfg(loom)]
pub(crate) use loom::sync::{Arc, atomic};
#[cfg(loom)]
pub(crate) use model::{Mutex, MutexGuard};

pub(crate) use std::sync::{PoisonError, TryLockError};

/// Threads: std's, or loom's with `is_finished`.
pub(crate) mod thread {
    #[cfg(not(loom))]
    pub(crate) use std::thread::{Builder, JoinHandle, spawn};

    #[cfg(loom)]
    pub(crate) use super::model::{Builder, JoinHandle, spawn};
}

/// A bounded multi-producer queue: crossbeam-channel's, or under loom the same API on loom's
/// `Mutex` and `Condvar`.
pub(crate) mod channel {
    pub(crate) use crossbeam_channel::{RecvTimeoutError, TrySendError};

    #[cfg(not(loom))]
    pub(crate) use crossbeam_channel::{Receiver, Sender, bounded};

    #[cfg(loom)]
    pub(crate) use super::model::channel::{Receiver, Sender, bounded};
}

/// The loom build's stand-ins where loom's API differs from std's or crossbeam's.
#[cfg(loom)]
mod model {
    use std::io;
    use std::sync::{LockResult, TryLockResult};

    use loom::sync::Arc;
    use loom::sync::atomic::{AtomicBool, Ordering};

    /// A lock with std's API on loom's. loom 0.7 mistakes a `try_lock` for a blocking
    /// `lock` when another thread takes the lock while the `try_lock` is under way
    /// (tokio-rs/loom#376) and then reports a deadlock that cannot happen: the stream writer
    /// only ever `try_lock`s the callers' lock, precisely so as never to wait behind a caller
    /// that waits for room in the writer's queue. So who holds the lock is a flag behind a
    /// gate (a loom `Mutex<bool>` held for a moment, and a `Condvar` for `lock` to wait on),
    /// which `try_lock` reads without waiting; loom's `Mutex` around the data is then taken
    /// by the holder alone. (A spin on an atomic flag would do the same, but loom explores a
    /// spinning thread until it gives up.)
    ///
    /// A panic ends a loom model, so no lock is ever poisoned here: `clear_poison` does
    /// nothing.
    #[derive(Debug, Default)]
    pub(crate) struct Mutex<T> {
        gate: Gate,
        data: loom::sync::Mutex<T>,
    }

    /// Whether the lock is held, and where `lock` waits for it.
    #[derive(Debug, Default)]
    struct Gate {
        held: loom::sync::Mutex<bool>,
        released: loom::sync::Condvar,
    }

    impl Gate {
        fn held(&self) -> loom::sync::MutexGuard<'_, bool> {
            self.held
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
        }

        fn release(&self) {
            *self.held() = false;
            self.released.notify_one();
        }
    }

    /// The guard of [`Mutex`]: gives the lock up, then loom's lock of the data.
    pub(crate) struct MutexGuard<'a, T> {
        data: loom::sync::MutexGuard<'a, T>,
        gate: &'a Gate,
    }

    impl<T> Mutex<T> {
        pub(crate) fn new(value: T) -> Self {
            Mutex {
                gate: Gate::default(),
                data: loom::sync::Mutex::new(value),
            }
        }

        fn guard(&self) -> MutexGuard<'_, T> {
            MutexGuard {
                data: self
                    .data
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner),
                gate: &self.gate,
            }
        }

        pub(crate) fn lock(&self) -> LockResult<MutexGuard<'_, T>> {
            let mut held = self.gate.held();
            while *held {
                held = self
                    .gate
                    .released
                    .wait(held)
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
            }
            *held = true;
            drop(held);
            Ok(self.guard())
        }

        pub(crate) fn try_lock(&self) -> TryLockResult<MutexGuard<'_, T>> {
            let mut held = self.gate.held();
            if *held {
                return Err(std::sync::TryLockError::WouldBlock);
            }
            *held = true;
            drop(held);
            Ok(self.guard())
        }

        pub(crate) fn get_mut(&mut self) -> LockResult<&mut T> {
            self.data.get_mut()
        }

        pub(crate) fn clear_poison(&self) {}
    }

    impl<T> std::ops::Deref for MutexGuard<'_, T> {
        type Target = T;

        fn deref(&self) -> &T {
            &self.data
        }
    }

    impl<T> std::ops::DerefMut for MutexGuard<'_, T> {
        fn deref_mut(&mut self) -> &mut T {
            &mut self.data
        }
    }

    impl<T> Drop for MutexGuard<'_, T> {
        /// Gives the lock up; loom's guard of the data is dropped right after, so a thread
        /// that takes the lock meanwhile waits on loom's lock for that one step only.
        fn drop(&mut self) {
            self.gate.release();
        }
    }

    /// loom's `JoinHandle` with std's `is_finished`, set as the thread's closure returns.
    pub(crate) struct JoinHandle<T> {
        handle: loom::thread::JoinHandle<T>,
        finished: Arc<AtomicBool>,
    }

    impl<T> JoinHandle<T> {
        pub(crate) fn join(self) -> std::thread::Result<T> {
            self.handle.join()
        }

        pub(crate) fn is_finished(&self) -> bool {
            self.finished.load(Ordering::Acquire)
        }
    }

    /// loom's thread builder (the name is all the collectors set).
    pub(crate) struct Builder(loom::thread::Builder);

    impl Builder {
        pub(crate) fn new() -> Self {
            Builder(loom::thread::Builder::new())
        }

        pub(crate) fn name(self, name: String) -> Self {
            Builder(self.0.name(name))
        }

        pub(crate) fn spawn<F, T>(self, f: F) -> io::Result<JoinHandle<T>>
        where
            F: FnOnce() -> T + Send + 'static,
            T: Send + 'static,
        {
            let finished = Arc::new(AtomicBool::new(false));
            let flag = Arc::clone(&finished);
            let handle = self.0.spawn(move || {
                let value = f();
                flag.store(true, Ordering::Release);
                value
            })?;
            Ok(JoinHandle { handle, finished })
        }
    }

    pub(crate) fn spawn<F, T>(f: F) -> JoinHandle<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let finished = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&finished);
        let handle = loom::thread::spawn(move || {
            let value = f();
            flag.store(true, Ordering::Release);
            value
        });
        JoinHandle { handle, finished }
    }

    /// crossbeam-channel's bounded queue, the subset the collectors use, on loom's `Mutex` and
    /// `Condvar`, with crossbeam's error types.
    pub(crate) mod channel {
        use std::collections::VecDeque;
        use std::time::Duration;

        use crossbeam_channel::{
            RecvError, RecvTimeoutError, SendError, TryRecvError, TrySendError,
        };
        use loom::sync::{Arc, Condvar, Mutex, MutexGuard};

        struct State<T> {
            items: VecDeque<T>,
            capacity: usize,
            senders: usize,
            receiver: bool,
        }

        struct Channel<T> {
            state: Mutex<State<T>>,
            /// Notified on every change: an item in or out, an end dropped.
            changed: Condvar,
        }

        impl<T> Channel<T> {
            fn lock(&self) -> MutexGuard<'_, State<T>> {
                // Never poisoned: a panic ends the model.
                self.state
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
            }

            fn wait<'a>(&self, state: MutexGuard<'a, State<T>>) -> MutexGuard<'a, State<T>> {
                self.changed
                    .wait(state)
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
            }
        }

        /// The sending end; cloning adds a sender.
        pub(crate) struct Sender<T>(Arc<Channel<T>>);

        /// The receiving end (one).
        pub(crate) struct Receiver<T>(Arc<Channel<T>>);

        /// A queue of `capacity` items (crossbeam's zero-capacity rendezvous is not modelled:
        /// the collectors never ask for one).
        pub(crate) fn bounded<T>(capacity: usize) -> (Sender<T>, Receiver<T>) {
            let channel = Arc::new(Channel {
                state: Mutex::new(State {
                    items: VecDeque::with_capacity(capacity),
                    capacity: capacity.max(1),
                    senders: 1,
                    receiver: true,
                }),
                changed: Condvar::new(),
            });
            (Sender(Arc::clone(&channel)), Receiver(channel))
        }

        impl<T> Sender<T> {
            /// Waits for room; fails once the receiver is gone.
            pub(crate) fn send(&self, item: T) -> Result<(), SendError<T>> {
                let mut state = self.0.lock();
                loop {
                    if !state.receiver {
                        return Err(SendError(item));
                    }
                    if state.items.len() < state.capacity {
                        state.items.push_back(item);
                        self.0.changed.notify_all();
                        return Ok(());
                    }
                    state = self.0.wait(state);
                }
            }

            pub(crate) fn try_send(&self, item: T) -> Result<(), TrySendError<T>> {
                let mut state = self.0.lock();
                if !state.receiver {
                    return Err(TrySendError::Disconnected(item));
                }
                if state.items.len() >= state.capacity {
                    return Err(TrySendError::Full(item));
                }
                state.items.push_back(item);
                self.0.changed.notify_all();
                Ok(())
            }

            pub(crate) fn len(&self) -> usize {
                self.0.lock().items.len()
            }
        }

        impl<T> Clone for Sender<T> {
            fn clone(&self) -> Self {
                self.0.lock().senders += 1;
                Sender(Arc::clone(&self.0))
            }
        }

        impl<T> Drop for Sender<T> {
            fn drop(&mut self) {
                self.0.lock().senders -= 1;
                self.0.changed.notify_all();
            }
        }

        impl<T> Drop for Receiver<T> {
            fn drop(&mut self) {
                let mut state = self.0.lock();
                state.receiver = false;
                // Items left are dropped with the receiver, as crossbeam's are (after the
                // lock: an item may hold another channel's sender).
                let items = std::mem::take(&mut state.items);
                drop(state);
                self.0.changed.notify_all();
                drop(items);
            }
        }

        impl<T> Receiver<T> {
            /// Waits for an item; fails once the queue is empty and every sender gone.
            pub(crate) fn recv(&self) -> Result<T, RecvError> {
                let mut state = self.0.lock();
                loop {
                    if let Some(item) = state.items.pop_front() {
                        self.0.changed.notify_all();
                        return Ok(item);
                    }
                    if state.senders == 0 {
                        return Err(RecvError);
                    }
                    state = self.0.wait(state);
                }
            }

            pub(crate) fn try_recv(&self) -> Result<T, TryRecvError> {
                let mut state = self.0.lock();
                match state.items.pop_front() {
                    Some(item) => {
                        self.0.changed.notify_all();
                        Ok(item)
                    }
                    None if state.senders == 0 => Err(TryRecvError::Disconnected),
                    None => Err(TryRecvError::Empty),
                }
            }

            /// loom has no clock, so a timeout is modelled as one that may fire whenever the
            /// queue is empty: an item already there is returned, otherwise the wait times out
            /// at once (after yielding, so that a thread polling in a loop lets the others
            /// run). Since loom runs the waiting thread at every point it chooses, this covers
            /// both real outcomes: the timer firing before an item arrives (the thread runs
            /// while the queue is empty) and an item arriving first (the thread runs after the
            /// sender). What it gives up is a bound on how often a poller spins, which no model
            /// checks. A blocking wait instead would never run the stream writer's idle poll,
            /// whose race with the callers is what the stream models are for.
            pub(crate) fn recv_timeout(&self, _timeout: Duration) -> Result<T, RecvTimeoutError> {
                match self.try_recv() {
                    Ok(item) => Ok(item),
                    Err(TryRecvError::Disconnected) => Err(RecvTimeoutError::Disconnected),
                    Err(TryRecvError::Empty) => {
                        loom::thread::yield_now();
                        Err(RecvTimeoutError::Timeout)
                    }
                }
            }

            pub(crate) fn is_empty(&self) -> bool {
                self.0.lock().items.is_empty()
            }
        }
    }
}
