//! When an acknowledged write is durable: the reply waits for the Raft log's group commit.
//!
//! Every write's entry is staged in the core's Raft log ([`crate::replication::CoreLog`]) and gets
//! the number of the log batch that will carry it. The log's flusher writes one batch at a time
//! with one O_DIRECT write: everything staged while a batch is in flight (any slot, any
//! connection) goes in the next one, so the batch size follows the load with no timer. A reply
//! waits for its batch ([`Durability::wait`]); under pipelining the connection keeps dispatching
//! and only holds the replies back.
//!
//! What "its batch is done" means is the `fsync` setting:
//!
//! * **always** — the batch write is followed by an fdatasync, and the reply goes out after it.
//!   A power loss loses no acknowledged write.
//! * **everysec** — the batch is written through the page cache (one buffered write per batch)
//!   and the reply goes out; a timer fdatasyncs the log once a second. A crash of the process
//!   (kill -9) loses nothing acknowledged; a power loss may lose up to a second of writes. (An
//!   O_DIRECT write per batch instead cost a device round trip per reply: 45–47K vs 58–63K SET/s
//!   at `-c 50` on one core.)
//! * **no** — as everysec without the timer: the device's own cache policy decides.
//!
//! A failed log write or fsync is fatal, as in Redis with `appendfsync always`: the node cannot
//! tell which writes reached the disk, so acknowledging anything more would be a lie. The process
//! aborts; recovery reads what the disk actually holds.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::Duration;

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use raftlog::{Durable, Engine, EngineStats};

use crate::config::Fsync;

/// The per-core commit tracker.
pub struct Durability {
    policy: Cell<Fsync>,
    log: Engine,
    /// Counters at the last CONFIG RESETSTAT.
    base: Cell<EngineStats>,
    pub last_fsync_error: RefCell<Option<String>>,
    /// Why RocksDB refused the last write it was given, until it takes one again (INFO persistence).
    pub last_store_error: RefCell<Option<String>>,
}

impl Durability {
    pub fn new(policy: Fsync, log: Engine) -> Durability {
        log.set_sync_each_batch(policy == Fsync::Always);
        Durability {
            policy: Cell::new(policy),
            log,
            base: Cell::new(EngineStats::default()),
            last_fsync_error: RefCell::new(None),
            last_store_error: RefCell::new(None),
        }
    }

    pub fn policy(&self) -> Fsync {
        self.policy.get()
    }

    /// Changes the policy (CONFIG SET appendfsync); batches written from now on follow it.
    pub fn set_policy(&self, policy: Fsync) {
        self.policy.set(policy);
        self.log.set_sync_each_batch(policy == Fsync::Always);
    }

    /// Resolves when log batch `seq` is done (see the module docs); aborts the process if the log
    /// failed.
    pub fn wait(&self, seq: u64) -> SyncWait {
        SyncWait(self.log.wait_batch(seq))
    }

    /// Log counters since start (or the last CONFIG RESETSTAT).
    pub fn stats(&self) -> EngineStats {
        self.log.stats().since(&self.base.get())
    }

    /// Restarts the counters (CONFIG RESETSTAT).
    pub fn reset_stats(&self) {
        self.base.set(self.log.stats());
    }

    /// Average entries per log batch write (the group-commit batch size).
    pub fn average_batch(&self) -> f64 {
        let s = self.stats();
        if s.batches == 0 {
            0.0
        } else {
            s.entries as f64 / s.batches as f64
        }
    }

    /// fdatasyncs the log now (everysec's timer, shutdown).
    pub async fn sync_now(&self) {
        if let Err(e) = self.log.fsync().await {
            *self.last_fsync_error.borrow_mut() = Some(e.to_string());
            fatal(&e.to_string());
        }
    }
}

/// Future of [`Durability::wait`].
pub struct SyncWait(Durable);

impl Future for SyncWait {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        match Pin::new(&mut self.0).poll(cx) {
            Poll::Ready(Ok(())) => Poll::Ready(()),
            Poll::Ready(Err(e)) => fatal(&e.to_string()),
            Poll::Pending => Poll::Pending,
        }
    }
}

fn fatal(error: &str) -> ! {
    log::error!(
        "the Raft log cannot be written or synced ({error}); exiting: writes it did not make \
         durable must never be acknowledged"
    );
    std::process::abort();
}

/// `everysec`: one fdatasync of the log per second (nothing to do under `always` and `no`).
pub async fn run_syncer(d: Rc<Durability>, stop: Rc<Cell<bool>>) {
    let mut last = std::time::Instant::now();
    while !stop.get() {
        glommio::timer::sleep(Duration::from_millis(100)).await;
        if d.policy() == Fsync::Everysec && last.elapsed() >= Duration::from_secs(1) {
            last = std::time::Instant::now();
            d.sync_now().await;
        }
    }
}
