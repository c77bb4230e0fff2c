//! Group commit: when acknowledged writes are on disk.
//!
//! Every write is appended to its core's RocksDB WAL at once (visible to readers, in the page cache) and
//! gets a sequence number. With `fsync = always` its reply waits until a WAL fsync that began after the
//! write completes. One fsync runs at a time per core, on glommio's blocking-thread pool so the core keeps
//! serving while the disk works; every write that arrives meanwhile rides the next fsync. Under load each
//! fsync therefore covers many writes from many connections — the batch size is reported in INFO.
//!
//! `everysec` runs the same fsync from a once-a-second timer, `no` never does.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use crate::config::Fsync;

/// The per-core commit tracker.
pub struct Durability {
    policy: Cell<Fsync>,
    /// Sequence of the last write appended to the WAL.
    written: Cell<u64>,
    /// Every write up to this sequence is on disk.
    synced: Cell<u64>,
    syncing: Cell<bool>,
    waiters: RefCell<Vec<(u64, Waker)>>,
    wake_syncer: RefCell<Option<Waker>>,
    /// fsyncs done and writes they covered (for INFO).
    pub fsyncs: Cell<u64>,
    pub synced_writes: Cell<u64>,
    pub last_fsync_error: RefCell<Option<String>>,
}

impl Durability {
    pub fn new(policy: Fsync) -> Durability {
        Durability {
            policy: Cell::new(policy),
            written: Cell::new(0),
            synced: Cell::new(0),
            syncing: Cell::new(false),
            waiters: RefCell::new(Vec::new()),
            wake_syncer: RefCell::new(None),
            fsyncs: Cell::new(0),
            synced_writes: Cell::new(0),
            last_fsync_error: RefCell::new(None),
        }
    }

    pub fn policy(&self) -> Fsync {
        self.policy.get()
    }

    pub fn set_policy(&self, policy: Fsync) {
        self.policy.set(policy);
    }

    /// Records a write appended to the WAL; returns the sequence a reply must wait for, or 0 when the
    /// policy does not wait.
    #[inline]
    pub fn record_write(&self) -> u64 {
        let seq = self.written.get() + 1;
        self.written.set(seq);
        if self.policy.get() == Fsync::Always {
            if let Some(w) = self.wake_syncer.borrow_mut().take() {
                w.wake();
            }
            seq
        } else {
            0
        }
    }

    /// Resolves when write `seq` is on disk.
    pub fn wait(&self, seq: u64) -> SyncWait<'_> {
        SyncWait { d: self, seq }
    }

    fn pending(&self) -> bool {
        self.written.get() > self.synced.get()
    }

    fn finish(&self, upto: u64, result: Result<(), String>) {
        if let Err(e) = result {
            log::error!("WAL fsync failed: {e}");
            *self.last_fsync_error.borrow_mut() = Some(e);
            // Replies keep waiting: an unsynced write is never acknowledged as durable.
            return;
        }
        self.fsyncs.set(self.fsyncs.get() + 1);
        self.synced_writes
            .set(self.synced_writes.get() + (upto - self.synced.get()));
        self.synced.set(upto);
        let mut waiters = self.waiters.borrow_mut();
        waiters.retain(|(seq, w)| {
            if *seq <= upto {
                w.wake_by_ref();
                false
            } else {
                true
            }
        });
    }

    /// Average writes per fsync so far.
    pub fn average_batch(&self) -> f64 {
        let n = self.fsyncs.get();
        if n == 0 {
            0.0
        } else {
            self.synced_writes.get() as f64 / n as f64
        }
    }

    /// One fsync of everything written so far, off the executor thread.
    pub async fn sync_now(&self, db: &Arc<rocksdb::DB>) {
        if self.syncing.get() || !self.pending() {
            return;
        }
        self.syncing.set(true);
        let upto = self.written.get();
        let db = db.clone();
        let result = glommio::executor()
            .spawn_blocking(move || db.flush_wal(true).map_err(|e| e.to_string()))
            .await;
        self.syncing.set(false);
        self.finish(upto, result);
    }
}

/// The group-commit loop of one core (`fsync = always`, and the timer for `everysec`).
pub async fn run_syncer(d: Rc<Durability>, db: Arc<rocksdb::DB>, stop: Rc<Cell<bool>>) {
    let mut last_everysec = std::time::Instant::now();
    while !stop.get() {
        match d.policy() {
            Fsync::Always => {
                if d.pending() {
                    d.sync_now(&db).await;
                } else {
                    IdleUntilWrite { d: &d, stop: &stop }.await;
                }
            }
            Fsync::Everysec => {
                glommio::timer::sleep(std::time::Duration::from_millis(100)).await;
                if last_everysec.elapsed() >= std::time::Duration::from_secs(1) {
                    last_everysec = std::time::Instant::now();
                    d.sync_now(&db).await;
                }
            }
            Fsync::No => glommio::timer::sleep(std::time::Duration::from_millis(100)).await,
        }
    }
    d.sync_now(&db).await;
}

struct IdleUntilWrite<'a> {
    d: &'a Durability,
    stop: &'a Cell<bool>,
}

impl Future for IdleUntilWrite<'_> {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.d.pending() || self.stop.get() || self.d.policy() != Fsync::Always {
            Poll::Ready(())
        } else {
            *self.d.wake_syncer.borrow_mut() = Some(cx.waker().clone());
            Poll::Pending
        }
    }
}

impl Durability {
    /// Wakes the syncer (shutdown, policy change).
    pub fn nudge(&self) {
        if let Some(w) = self.wake_syncer.borrow_mut().take() {
            w.wake();
        }
    }
}

/// Future of [`Durability::wait`].
pub struct SyncWait<'a> {
    d: &'a Durability,
    seq: u64,
}

impl Future for SyncWait<'_> {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.d.synced.get() >= self.seq {
            Poll::Ready(())
        } else {
            self.d
                .waiters
                .borrow_mut()
                .push((self.seq, cx.waker().clone()));
            Poll::Pending
        }
    }
}
