//! openraft's [`AsyncRuntime`] on glommio: [`GlommioRuntime`].
//!
//! # Why this exists
//!
//! slotkv runs one glommio executor per core, and every core hosts a few hundred Raft groups (2048
//! slots per node, one openraft `Raft` per slot). openraft is runtime-agnostic through
//! [`AsyncRuntime`]; its only shipped runtime is tokio, which would mean a second scheduler, a
//! second I/O driver and cross-thread wake-ups next to glommio's. This module lets openraft's tasks
//! run as ordinary glommio tasks on the executor of the core that owns the group, so a group's
//! Raft core, its replication tasks, the log engine and the RocksDB state machine all share one
//! thread and never need a lock.
//!
//! # Single-threaded
//!
//! openraft must be built with its `single-threaded` feature (the workspace pins it so): futures,
//! handles and channel ends are then not `Send`, and `Raft` itself is `!Send`. Every primitive here
//! belongs to the executor (thread) that created it: spawn, sleep and timeouts must be called from
//! inside a running glommio [`LocalExecutor`] (they panic otherwise, as `glommio::spawn_local`
//! does), and channel ends must not leave the thread. Work for another core goes through the
//! server's own cross-core channels, not through these.
//!
//! # What each primitive maps to
//!
//! | openraft needs | here |
//! |---|---|
//! | `spawn`, `JoinHandle` | [`glommio::spawn_local`], detached at once |
//! | `sleep`, `sleep_until` | [`Sleep`] over [`glommio::timer::Timer`] |
//! | `timeout`, `timeout_at` | [`Timeout`]: the future raced against a [`Sleep`] |
//! | `Instant` | [`std::time::Instant`] (the clock glommio's timers use) |
//! | `thread_rng` | [`rand::rngs::ThreadRng`] (per thread, seeded from the OS) |
//! | `Mpsc` | [`async_channel`]'s bounded channel |
//! | `Watch` | [`watch`]: an `Rc` cell and a version counter over [`event_listener::Event`] |
//! | `Oneshot` | [`futures_channel::oneshot`] |
//! | `Mutex` | [`futures_util::lock::Mutex`] (openraft locks it rarely, off the data path) |
//! | `spawn_blocking` | openraft-rt's default, a thread per call (openraft never calls it) |
//! | `select2/3/4`, `mpsc_recv_deadline` | openraft-rt's defaults (plain polling) |
//!
//! Tasks: a spawned task runs in the task queue of its spawner, so a server that starts a group's
//! `Raft` inside a dedicated queue keeps all of openraft's tasks there. Dropping a
//! [`JoinHandle`] detaches the task (openraft relies on that, as with tokio);
//! [`JoinHandle::abort`] cancels it. A panicking task is caught and reported as
//! [`JoinError::Panicked`] (openraft turns that into `Fatal::Panicked` for the group) instead of
//! unwinding through the executor and taking every group of the core down.
//!
//! Timers: a [`Sleep`] registers with the reactor only while it is pending, and a deadline
//! already past never touches the reactor. [`Timeout`] polls the future first, so a ready future
//! is never reported as timed out.
//!
//! The channels from the smol family use atomics internally although we are single-threaded; an
//! uncontended atomic is a few nanoseconds, far below what a Raft message costs, and in exchange we
//! get their well-tested cancellation behaviour. glommio's own `local_channel` was considered and
//! rejected: it has no `try_recv` and no weak senders, a sender blocked on a full channel is never
//! released when the receiver goes away, and a woken sender that is cancelled does not pass its
//! wake-up on.
//!
//! # Idle cost
//!
//! With 2048 groups per node nothing here may poll or wake by itself: every primitive waits on a
//! waker (a reactor timer, a channel event) and costs nothing until that fires. The periodic
//! wake-ups that remain are openraft's own (its tick loop, heartbeats, election timers), governed
//! by its `Config`.
//!
//! # Outside openraft
//!
//! [`AsyncRuntime::new`] and [`AsyncRuntime::block_on`] build and drive a private executor; they
//! exist for tests (openraft's runtime and storage conformance suites). The server does not use
//! them: it creates its executors itself and simply runs openraft inside them.

mod mpsc;
mod mutex;
mod oneshot;
mod task;
mod time;
pub mod watch;

use std::fmt;
use std::future::Future;
use std::time::Duration;

use glommio::{LocalExecutor, LocalExecutorBuilder};
use openraft_rt::{AsyncRuntime, OptionalSend};

pub use mpsc::{GlommioMpsc, MpscReceiver, MpscSender, MpscWeakSender};
pub use mutex::Mutex;
pub use oneshot::{GlommioOneshot, OneshotSender};
pub use task::{JoinError, JoinHandle};
pub use time::{Elapsed, Sleep, Timeout};
pub use watch::GlommioWatch;

/// I/O memory of the executors built by [`AsyncRuntime::new`]: tests need little, and glommio
/// registers (pins) it with io_uring, so the default 10 MiB per executor counts against
/// `RLIMIT_MEMLOCK` (8 MiB on the build machine).
const TEST_EXECUTOR_IO_MEMORY: usize = 1 << 20;

/// openraft's async runtime on glommio; use it as `RaftTypeConfig::AsyncRuntime`.
///
/// The value itself is only needed by [`AsyncRuntime::new`] / [`AsyncRuntime::block_on`] (tests):
/// it owns a private [`LocalExecutor`]. Inside a running glommio executor, openraft only calls the
/// associated functions (spawn, sleep, channels, ...).
pub struct GlommioRuntime {
    executor: LocalExecutor,
}

impl GlommioRuntime {
    /// A runtime that drives the given executor in [`AsyncRuntime::block_on`].
    pub fn from_executor(executor: LocalExecutor) -> Self {
        Self { executor }
    }

    /// A runtime over an executor built from `builder` (placement, I/O memory, ...).
    pub fn with_builder(builder: LocalExecutorBuilder) -> glommio::Result<Self, ()> {
        Ok(Self::from_executor(builder.make()?))
    }

    /// The executor that [`AsyncRuntime::block_on`] drives.
    pub fn executor(&self) -> &LocalExecutor {
        &self.executor
    }
}

impl fmt::Debug for GlommioRuntime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GlommioRuntime")
            .field("executor_id", &self.executor.id())
            .finish()
    }
}

impl AsyncRuntime for GlommioRuntime {
    type JoinError = JoinError;
    type JoinHandle<T: OptionalSend + 'static> = JoinHandle<T>;
    type Sleep = Sleep;
    type Instant = std::time::Instant;
    type TimeoutError = Elapsed;
    type Timeout<R, F: Future<Output = R> + OptionalSend> = Timeout<F>;
    type ThreadLocalRng = rand::rngs::ThreadRng;

    #[inline]
    fn spawn<F>(future: F) -> Self::JoinHandle<F::Output>
    where
        F: Future + OptionalSend + 'static,
        F::Output: OptionalSend + 'static,
    {
        task::spawn(future)
    }

    #[inline]
    fn sleep(duration: Duration) -> Self::Sleep {
        Sleep::after(duration)
    }

    #[inline]
    fn sleep_until(deadline: Self::Instant) -> Self::Sleep {
        Sleep::until(deadline)
    }

    #[inline]
    fn timeout<R, F: Future<Output = R> + OptionalSend>(
        duration: Duration,
        future: F,
    ) -> Self::Timeout<R, F> {
        Timeout::new(future, Sleep::after(duration))
    }

    #[inline]
    fn timeout_at<R, F: Future<Output = R> + OptionalSend>(
        deadline: Self::Instant,
        future: F,
    ) -> Self::Timeout<R, F> {
        Timeout::new(future, Sleep::until(deadline))
    }

    #[inline]
    fn is_panic(join_error: &Self::JoinError) -> bool {
        matches!(join_error, JoinError::Panicked(_))
    }

    #[inline]
    fn thread_rng() -> Self::ThreadLocalRng {
        rand::rng()
    }

    type Mpsc = GlommioMpsc;
    type Watch = GlommioWatch;
    type Oneshot = GlommioOneshot;
    type Mutex<T: OptionalSend + 'static> = Mutex<T>;

    /// A runtime with a private, unpinned executor; `threads` is ignored (one executor is one
    /// thread). Panics if glommio cannot create the executor (no io_uring, memlock limit too low):
    /// the trait leaves no room for an error, and this is only used by tests.
    fn new(_threads: usize) -> Self {
        let builder = LocalExecutorBuilder::default()
            .name("raftlog-rt")
            .io_memory(TEST_EXECUTOR_IO_MEMORY);
        match Self::with_builder(builder) {
            Ok(rt) => rt,
            Err(e) => panic!("cannot create a glommio executor for GlommioRuntime: {e}"),
        }
    }

    /// Runs `future` on this runtime's executor until it completes. Panics if called from inside a
    /// running glommio executor (glommio allows one running executor per thread).
    fn block_on<F, T>(&mut self, future: F) -> T
    where
        F: Future<Output = T>,
    {
        self.executor.run(future)
    }
}
