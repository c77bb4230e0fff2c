//! Spare segment files: zero-filled ahead of need, so batches land in *written* extents.
//!
//! Why. A segment pre-allocated with `fallocate` consists of *unwritten* extents. On ext4 an
//! O_DIRECT write into them must convert the extent (a metadata transaction) when it completes,
//! so io_uring cannot finish it inline and punts it to an io-wq worker thread, and the next
//! fdatasync has that metadata to commit. Measured on our machine with 8 KiB O_DIRECT writes:
//! 58 µs per write and 126 µs per write + fdatasync into fallocated space, against 37 µs and
//! 78 µs into blocks that were already written. Every durable append waits for one batch, so that
//! difference sits on every write's path. Writing the blocks once (with zeros) before the log
//! needs them removes it: a batch write is then a pure overwrite with no metadata to commit.
//!
//! How.
//! - There is at most one spare, the file [`FILE_NAME`] in the log directory. It holds no data and
//!   no header, so it is not tied to a sequence number: whichever segment is created next takes it.
//! - A background task prepares it: create it (its first block through the page cache, see
//!   `segment::create` for why a file is never empty when opened with O_DIRECT), `fallocate` it
//!   (one contiguous allocation, and ENOSPC up front), zero-fill it with [`CHUNK`]-sized O_DIRECT
//!   writes of one shared zeroed buffer, one in flight, then `fdatasync`. The task runs on a
//!   low-priority task queue (`Latency::NotImportant`, few shares) and yields between chunks: it
//!   costs the core a few microseconds of CPU per MiB; the device time is the real cost, paid
//!   once per segment instead of on every batch.
//! - It is started once the segment being written is half full ([`should_start`]), so it is
//!   normally ready long before the rotation, while an engine that writes little never pays for
//!   it. A segment that was not made from a spare (a new log's first one, one created after a
//!   miss, the tail of a log reopened) gets its replacement prepared after its first MiB, and the
//!   flusher rotates to it as soon as it is ready: a short-lived process that logs little never
//!   zero-fills 64 MiB, a busy one spends at most a segment's prefill time on fallocated space.
//! - At a rotation the flusher takes the ready spare and `segment::install`s it: header block
//!   written and fdatasync'd, renamed to the segment's name (never replacing a file), directory
//!   fsync'd. If none is ready it falls back to `segment::create` (create + fallocate) and counts
//!   a miss; a preparation still running goes on and serves the next rotation.
//! - A failed preparation is logged once, its file deleted, and not retried before the next
//!   rotation (ENOSPC must not turn into a retry loop). The fallback then reports the real error
//!   to writers if there is one.
//! - On close (or failure) the flusher stops the task between two chunks, waits for it, and
//!   deletes the spare, so no task outlives the engine or writes into a directory it no longer
//!   holds the lock of.
//!
//! Crash safety. The spare's name is never a segment name (`segment::parse_name` rejects it), so
//! until the rename in `segment::install` the log does not contain it, whatever state a crash
//! leaves it in; recovery deletes it at open ([`remove_leftover`]). The rename happens only after
//! the zeros and the header are fdatasync'd, so a segment that appears by it is always a valid,
//! empty segment: exactly what `segment::create` leaves, except that its zeros are written
//! blocks instead of unwritten extents, which read the same.

use std::cell::{Cell, RefCell};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use glommio::io::DmaFile;
use glommio::{Latency, Shares, TaskQueueHandle};

use crate::error::EngineError;
use crate::options::EngineOptions;
use crate::segment;

/// Name of the spare file in the log directory.
pub(crate) const FILE_NAME: &str = "spare.tmp";

/// Size of one zero-filling write.
const CHUNK: u64 = 1 << 20;

/// Shares of the task queue the engine creates for preparation (the default queue has 1000).
const QUEUE_SHARES: usize = 100;

thread_local! {
    /// The prefill queue of the executor running on this thread, by executor id.
    static QUEUE: Cell<Option<(usize, TaskQueueHandle)>> = const { Cell::new(None) };
}

/// The low-priority task queue for preparing spares on the current executor, created the first
/// time one is needed. One per executor, shared by its engines: glommio cannot remove a queue from
/// inside the executor, so a queue per engine would pile up in one that opens many. (Executor ids
/// are unique in the process, so a later executor on the same thread gets its own.)
fn executor_queue() -> TaskQueueHandle {
    let ex = glommio::executor();
    let id = ex.id();
    QUEUE.with(|q| match q.get() {
        Some((qid, handle)) if qid == id => handle,
        _ => {
            let handle = ex.create_task_queue(
                Shares::Static(QUEUE_SHARES),
                Latency::NotImportant,
                "raftlog-prefill",
            );
            q.set(Some((id, handle)));
            handle
        }
    })
}

/// Whether the preparation of the next spare should start, with the segment being written
/// filled up to `end`.
pub(crate) fn should_start(end: u64, segment_size: u64, prefilled: bool) -> bool {
    if prefilled {
        end >= segment_size / 2
    } else {
        // A fallocated segment (the first of a new log, or after a miss) is slow to write into:
        // prepare its replacement as soon as the log shows real traffic, and rotate once it is ready.
        end >= (EARLY_START_BYTES).min(segment_size / 2)
    }
}

/// Bytes written into a segment that was not prefilled before its replacement is prepared.
const EARLY_START_BYTES: u64 = 1 << 20;

/// Deletes a spare left behind by an earlier run (a crash, or a failed deletion). Returns whether
/// there was one.
pub(crate) fn remove_leftover(dir: &Path) -> Result<bool, EngineError> {
    let path = dir.join(FILE_NAME);
    match std::fs::remove_file(&path) {
        Ok(()) => {
            log::info!(
                "raftlog: removed a leftover spare segment {}",
                path.display()
            );
            Ok(true)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(EngineError::io("remove", &path, e)),
    }
}

/// A prepared spare: zero-filled and synced, `len` bytes long.
pub(crate) struct Spare {
    pub file: DmaFile,
    pub len: u64,
    pub path: PathBuf,
}

/// What the background task hands back to the flusher.
#[derive(Default)]
struct Handoff {
    stop: Cell<bool>,
    done: RefCell<Option<Result<Spare, EngineError>>>,
    prepared: Cell<u64>,
}

/// The spare of one engine: who prepares it, and the ready one. Used by the flusher only (and by
/// `Engine::open` before the flusher exists); every borrow is short and never held across an
/// `await`.
pub(crate) struct Spares {
    enabled: bool,
    path: PathBuf,
    size: u64,
    queue: Option<TaskQueueHandle>,
    handoff: Rc<Handoff>,
    task: RefCell<Option<glommio::Task<()>>>,
    ready: RefCell<Option<Spare>>,
    /// A preparation failed since the last rotation.
    failed: Cell<bool>,
}

impl Spares {
    /// Must be called on the engine's executor (it may create a task queue there).
    pub fn new(dir: &Path, opts: &EngineOptions) -> Self {
        let queue = match (opts.prefill, opts.prefill_task_queue) {
            (false, _) => None,
            (true, Some(q)) => Some(q),
            (true, None) => Some(executor_queue()),
        };
        Self {
            enabled: opts.prefill,
            path: dir.join(FILE_NAME),
            size: opts.segment_size,
            queue,
            handoff: Rc::default(),
            task: RefCell::new(None),
            ready: RefCell::new(None),
            failed: Cell::new(false),
        }
    }

    pub fn enabled(&self) -> bool {
        self.enabled
    }

    /// Spares zero-filled since open.
    pub fn prepared(&self) -> u64 {
        self.handoff.prepared.get()
    }

    /// Starts preparing a spare in the background, unless one is ready, being prepared, or
    /// failed since the last rotation.
    pub fn start(&self) {
        self.collect();
        if !self.enabled
            || self.failed.get()
            || self.ready.borrow().is_some()
            || self.task.borrow().is_some()
        {
            return;
        }
        let handoff = self.handoff.clone();
        let path = self.path.clone();
        let size = self.size;
        let fut = async move {
            let res = prepare(&path, size, &handoff.stop).await;
            let res = match res {
                Ok(Some(spare)) => {
                    handoff.prepared.set(handoff.prepared.get() + 1);
                    Ok(spare)
                }
                Ok(None) => return, // stopped; `prepare` deleted the file
                Err(e) => Err(e),
            };
            *handoff.done.borrow_mut() = Some(res);
        };
        let task = match self.queue {
            Some(q) => match glommio::spawn_local_into(fut, q) {
                Ok(t) => t,
                Err(e) => {
                    log::warn!("raftlog: cannot start preparing a spare segment: {e}");
                    self.failed.set(true);
                    return;
                }
            },
            None => glommio::spawn_local(fut),
        };
        *self.task.borrow_mut() = Some(task);
    }

    /// Picks up the outcome of a finished background preparation.
    fn collect(&self) {
        let Some(res) = self.handoff.done.borrow_mut().take() else {
            return;
        };
        self.task.borrow_mut().take();
        match res {
            Ok(spare) => *self.ready.borrow_mut() = Some(spare),
            Err(e) => {
                log::warn!(
                    "raftlog: preparing a spare segment failed (falling back to fallocate): {e}"
                );
                self.failed.set(true);
            }
        }
    }

    /// Whether a zero-filled spare is ready to become the next segment.
    pub fn is_ready(&self) -> bool {
        self.collect();
        self.ready.borrow().is_some()
    }

    /// Takes the ready spare for a new segment, if there is one. Either way this is a rotation:
    /// a failed preparation may be retried from now on.
    pub fn take(&self) -> Option<Spare> {
        self.collect();
        self.failed.set(false);
        self.ready.borrow_mut().take()
    }

    /// Stops a preparation in progress, waits for it, and deletes the spare file.
    pub async fn shutdown(&self) {
        self.handoff.stop.set(true);
        let task = self.task.borrow_mut().take();
        if let Some(t) = task {
            t.await;
        }
        self.collect();
        if let Some(spare) = self.ready.borrow_mut().take() {
            drop(spare.file);
            if let Err(e) = std::fs::remove_file(&spare.path) {
                log::warn!(
                    "raftlog: cannot remove spare segment {}: {e}",
                    spare.path.display()
                );
            }
        }
    }
}

/// Creates the spare file at `path` and zero-fills it to `size` (rounded up to the I/O
/// alignment), then syncs it. `Ok(None)` if `stop` was set (the file is deleted then, as on an
/// error).
async fn prepare(path: &Path, size: u64, stop: &Cell<bool>) -> Result<Option<Spare>, EngineError> {
    let res = fill(path, size, stop).await;
    if !matches!(res, Ok(Some(_))) {
        // Best effort: a leftover is also removed at the next open.
        let _ = std::fs::remove_file(path);
    }
    res
}

async fn fill(path: &Path, size: u64, stop: &Cell<bool>) -> Result<Option<Spare>, EngineError> {
    {
        // A stale spare (e.g. one whose deletion failed) is simply overwritten: spares hold no data.
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(path)
            .map_err(|e| EngineError::io("create", path, e))?;
        f.write_all(&[0u8; segment::FIRST_BLOCK])
            .map_err(|e| EngineError::io("write", path, e))?;
    }
    let file = segment::open(path).await?;
    let align = segment::alignment(&file);
    let len = size.div_ceil(align) * align;
    file.pre_allocate(len, false)
        .await
        .map_err(|e| EngineError::io("fallocate", path, e))?;
    let chunk = CHUNK.div_ceil(align) * align;
    let zeros = |n: u64| {
        let mut b = file.alloc_dma_buffer(n as usize);
        b.as_bytes_mut().fill(0);
        Rc::new(b)
    };
    let full = zeros(chunk.min(len));
    let mut pos = 0;
    while pos < len {
        if stop.get() {
            return Ok(None);
        }
        let n = chunk.min(len - pos);
        let buf = if n == full.len() as u64 {
            full.clone()
        } else {
            zeros(n)
        };
        let wrote = file
            .write_rc_at(buf, pos)
            .await
            .map_err(|e| EngineError::io("write", path, e))?;
        EngineError::check_write(path, wrote as u64, n)?;
        pos += n;
        glommio::yield_if_needed().await;
    }
    if stop.get() {
        return Ok(None);
    }
    file.fdatasync()
        .await
        .map_err(|e| EngineError::io("fdatasync", path, e))?;
    Ok(Some(Spare {
        file,
        len,
        path: path.to_path_buf(),
    }))
}
