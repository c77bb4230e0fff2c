//! Group commit: the flusher task and the durability tickets it completes.
//!
//! One flusher task per engine owns the write side of the log. It loops: take the whole pending
//! batch, write it with one O_DIRECT `write` and one `fdatasync`, mark it durable, repeat. While a
//! write is in flight, everything staged (by any group, any client) accumulates in the next
//! pending batch, so one fsync covers all of it: the batch size adapts to the load by itself, with
//! no timer and no tuning knob. There is never more than one write in flight, which is also what
//! makes recovery's torn-tail rule sound (only the last batch can be torn).
//!
//! O_DIRECT needs block-aligned offsets and lengths, but batches end anywhere. The flusher keeps a
//! copy of the last, partial block of the log and writes each batch starting from that block's
//! start: the block's old bytes are rewritten unchanged, followed by the new batch and zero
//! padding. A crash during that write leaves each sector either old or new, and the old bytes are
//! identical in both, so durable data is never at risk. The cost is at most one extra block per
//! write, instead of padding every batch to a block (which would waste up to 4 KiB per fsync).
//!
//! Why `DmaFile::write_at` + `fdatasync` and not glommio's `DmaStreamWriter`: the stream writer
//! also pads and rewrites a partial last block, but it flushes a sync's data as several
//! buffer-sized writes in flight at once (write-behind). A crash can then persist a later piece
//! and lose an earlier one, leaving a hole *inside* the unacknowledged region with complete batch
//! frames after it, which recovery could not tell from corruption of acknowledged data. Writing
//! each batch as exactly one write keeps "only the last batch can be damaged" true.
//!
//! Durability is a watermark: batch sequence numbers grow by one, and `durable_batch` is the last
//! one whose fdatasync returned. A [`Durable`] ticket is "batch N"; it resolves when the watermark
//! passes N. Callbacks (openraft's `IOFlushed`) are kept in the same place and run by the flusher
//! right after the fsync, without spawning a task per append.
//!
//! **Without `sync_each_batch`** the loop is the same minus the per-batch fdatasync, and the batch
//! goes through the page cache (a buffered `pwrite` of the same bytes on the executor thread, a
//! memory copy, instead of an O_DIRECT round trip to the device): a batch is "durable" once the
//! kernel has it, so a process crash cannot lose it. The kernel keeps buffered and direct I/O of a
//! file coherent (a direct read or write first writes back and drops the cached range), so reads,
//! a live switch to per-batch syncing, and fdatasync (per inode, whichever descriptor) all see
//! these writes. A second watermark, `synced_batch`, tracks what an fdatasync has made stable. Explicit
//! syncs ([`crate::Engine::fsync`]) are jobs of this same task, run between two writes, so "one
//! write in flight, in order" still holds and no sync ever races a write. Only the segment being
//! written can hold unsynced batches: before a new segment is created the old one is synced, so
//! sealed segments are always stable. Segment deletion first syncs the batch holding the
//! re-logged markers, and a clean close syncs everything, exactly as the per-batch mode would
//! have.
//!
//! **Segment rotation** happens here too, between two writes: the sealed segment is synced, then
//! the next one is made from the spare the `spare` module zero-filled in the background (or
//! created and pre-allocated if none is ready). The flusher also starts that background
//! preparation (once the segment being written is half full, or after its first MiB if it was not
//! prefilled — then it also rotates early, as soon as the spare is ready), and stops it when it exits.
//!
//! A failed write or fsync is fatal for the engine: after a failed fsync the kernel may have
//! dropped the dirty state, so retrying could report data durable that is not. Every waiter gets
//! the error, and the engine refuses further writes until it is reopened (recovery then decides
//! from what is actually on disk).

use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use glommio::io::DmaFile;

use crate::engine::Shared;
use crate::error::EngineError;
use crate::format::{align_batch, encode_batch_header, BATCH_HEADER_LEN, SEGMENT_HEADER_LEN};
use crate::segment;
use crate::spare;
use crate::state::PendingBatch;

/// Resolves when the batch holding an operation is durable.
///
/// Returned by the staging calls ([`crate::Engine::append_staged`], [`crate::Engine::truncate`],
/// [`crate::Engine::purge`], ...). Dropping it does not cancel anything: the operation is already
/// part of the log and will be written.
///
/// "Durable" means fdatasync'd with [`crate::EngineOptions::sync_each_batch`] (the default), and
/// written to the device (safe from a process crash, not from a power loss) without it.
#[must_use = "a Durable does nothing unless awaited (dropping it is fine if durability is not needed)"]
pub struct Durable {
    pub(crate) shared: Rc<Shared>,
    pub(crate) batch: u64,
    /// The waker registered by the last pending poll (re-registered only if it changes, so
    /// repeated polls do not pile up registrations).
    pub(crate) registered: Option<Waker>,
}

impl std::fmt::Debug for Durable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Durable")
            .field("batch", &self.batch)
            .finish()
    }
}

impl Durable {
    /// Runs `f` with the outcome once the batch is durable (or failed). Runs it immediately if
    /// the outcome is already known. `f` runs on the flusher task: keep it short.
    pub fn on_complete(self, f: impl FnOnce(Result<(), EngineError>) + 'static) {
        let now = self
            .shared
            .state
            .borrow_mut()
            .on_durable(self.batch, Box::new(f));
        if let Some((cb, res)) = now {
            cb(res);
        }
    }

    /// The batch sequence number this ticket waits for. Numbers grow by one per batch and
    /// restart at 1 each time the engine is opened; see [`crate::Engine::wait_batch`].
    pub fn batch(&self) -> u64 {
        self.batch
    }

    /// Whether the batch is already durable.
    pub fn is_durable(&self) -> bool {
        self.batch <= self.shared.state.borrow().durable_batch
    }
}

impl Future for Durable {
    type Output = Result<(), EngineError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let mut st = this.shared.state.borrow_mut();
        if this.batch <= st.durable_batch {
            return Poll::Ready(Ok(()));
        }
        if let Some(f) = &st.failure {
            return Poll::Ready(Err(EngineError::Failed(f.clone())));
        }
        // Waiters are only woken when their batch completes or the engine fails (both resolve
        // the ticket), so a registration is still in place on any other poll.
        if !this
            .registered
            .as_ref()
            .is_some_and(|w| w.will_wake(cx.waker()))
        {
            st.waiters.push((this.batch, cx.waker().clone()));
            this.registered = Some(cx.waker().clone());
        }
        Poll::Pending
    }
}

/// The write position of the log: the segment being written and its last partial block.
pub(crate) struct Writer {
    pub seg: u64,
    pub file: Option<Rc<DmaFile>>,
    /// Exact end of the written log in `file`.
    pub end: u64,
    /// Bytes `[align_down(end), end)`.
    pub block: Vec<u8>,
    /// `file` was written since its last fdatasync (only without `sync_each_batch`; older
    /// segments are always synced before the next one is created).
    pub unsynced: bool,
    /// `file` was made from a zero-filled spare (no unwritten extents to convert on each write).
    pub prefilled: bool,
    /// A page-cache handle on `file`, for batches written without `sync_each_batch`.
    pub buffered: Option<std::fs::File>,
}

enum Job {
    Flush(PendingBatch),
    /// fdatasync what was written, for [`crate::Engine::fsync`] callers.
    Sync,
    /// Delete these segments once batch `after` (the re-logged markers) is stable.
    Delete {
        segments: Vec<u64>,
        after: u64,
    },
    Exit,
}

/// Takes the reclaim plan if the batch it waits for has been written.
fn ready_delete(st: &mut crate::state::State) -> Option<Job> {
    let durable = st.durable_batch;
    let plan = st.reclaim_plan.take_if(|p| p.after_batch <= durable)?;
    Some(Job::Delete {
        segments: plan.segments,
        after: plan.after_batch,
    })
}

/// Decides what the flusher does next, or registers its waker.
fn next_job(shared: &Shared, cx: &mut Context<'_>) -> Poll<Job> {
    let mut st = shared.state.borrow_mut();
    if st.failure.is_some() {
        return Poll::Ready(Job::Exit);
    }
    if let Some(job) = ready_delete(&mut st) {
        return Poll::Ready(job);
    }
    if st.reclaim_requested && st.reclaim_plan.is_none() && !st.closing {
        st.reclaim_requested = false;
        if let Err(e) = st.plan_reclaim() {
            log::warn!("raftlog: cannot plan segment deletion: {e}");
        }
        if let Some(job) = ready_delete(&mut st) {
            return Poll::Ready(job);
        }
    }
    // A requested fsync whose batches are all written goes before the next write, so the
    // caller waits for one fdatasync, not for a write and then a sync.
    if st.sync_target > st.synced_batch && st.sync_target <= st.durable_batch {
        return Poll::Ready(Job::Sync);
    }
    if let Some(batch) = st.pending.take() {
        let span = align_batch(BATCH_HEADER_LEN as u64 + batch.body.len() as u64);
        st.next_pos = (batch.seg, batch.start + span);
        return Poll::Ready(Job::Flush(batch));
    }
    if st.closing {
        return Poll::Ready(Job::Exit);
    }
    st.flusher_waker = Some(cx.waker().clone());
    Poll::Pending
}

/// The flusher task: runs until the engine is closed (and drained) or fails.
pub(crate) async fn run(shared: Rc<Shared>, mut writer: Writer) {
    let segment_size = shared.opts.segment_size;
    if writer.file.is_some() && spare::should_start(writer.end, segment_size, writer.prefilled) {
        shared.spares.start();
    }
    loop {
        let job = std::future::poll_fn(|cx| next_job(&shared, cx)).await;
        let done = match job {
            Job::Exit => {
                // A clean close leaves nothing that only the device cache holds.
                if shared.state.borrow().failure.is_none() {
                    if let Err(e) = sync_writer(&shared, &mut writer).await {
                        fail(&shared, e);
                    }
                }
                break;
            }
            Job::Flush(batch) => {
                let res = flush(&shared, &mut writer, batch).await;
                if spare::should_start(writer.end, segment_size, writer.prefilled) {
                    shared.spares.start();
                }
                if !writer.prefilled && writer.file.is_some() && shared.spares.is_ready() {
                    // Leave the fallocated segment for the prefilled one at the next batch.
                    shared.state.borrow_mut().rotate_early = Some(writer.seg);
                }
                res
            }
            Job::Sync => sync_writer(&shared, &mut writer).await,
            Job::Delete { segments, after } => {
                // The re-logged markers must be on stable storage before the only other copy
                // of them is unlinked.
                let stable = shared.state.borrow().synced_batch >= after;
                let res = if stable {
                    Ok(())
                } else {
                    sync_writer(&shared, &mut writer).await
                };
                if res.is_ok() {
                    delete_segments(&shared, segments).await;
                }
                res
            }
        };
        if let Err(e) = done {
            fail(&shared, e);
            break;
        }
    }
    shared.spares.shutdown().await;
}

/// Fails the engine: every waiter and callback gets the error.
fn fail(shared: &Shared, e: EngineError) {
    let callbacks = shared.state.borrow_mut().fail(e.to_string());
    for cb in callbacks {
        cb(Err(EngineError::Failed(e.to_string())));
    }
}

/// Writes one batch, updates the counters and resolves its tickets.
async fn flush(shared: &Shared, w: &mut Writer, batch: PendingBatch) -> Result<(), EngineError> {
    let seq = batch.seq;
    let (records, entries, appends, bytes) = (
        batch.count as u64,
        batch.entries,
        batch.appends,
        batch.body.len() as u64,
    );
    let (written, synced) = write_batch(shared, w, batch).await?;
    let callbacks = {
        let mut st = shared.state.borrow_mut();
        let s = &mut st.stats;
        s.fsyncs += synced as u64;
        s.batches += 1;
        s.records += records;
        s.entries += entries;
        s.appends += appends;
        s.bytes += bytes;
        s.bytes_written += written;
        let callbacks = st.complete(seq);
        if synced {
            st.synced(seq);
        }
        callbacks
    };
    for cb in callbacks {
        cb(Ok(()));
    }
    Ok(())
}

/// Makes everything written so far stable: fdatasyncs the segment being written if it has
/// unsynced batches (only it can: older segments are synced before rotation).
async fn sync_writer(shared: &Shared, w: &mut Writer) -> Result<(), EngineError> {
    let upto = shared.state.borrow().durable_batch;
    if w.unsynced {
        let file = w.file.as_ref().expect("unsynced batches have a file");
        file.fdatasync().await.map_err(|e| {
            EngineError::io("fdatasync", shared.dir.join(segment::file_name(w.seg)), e)
        })?;
        w.unsynced = false;
        let mut st = shared.state.borrow_mut();
        st.stats.fsyncs += 1;
        // Recorded by the next batch of this segment, so recovery knows this range is stable.
        st.sync_mark = Some((w.seg, w.end));
    }
    shared.state.borrow_mut().synced(upto);
    Ok(())
}

/// Waits until batch `target` is on stable storage (for [`crate::Engine::fsync`]).
pub(crate) async fn wait_synced(shared: &Shared, target: u64) -> Result<(), EngineError> {
    let mut registered: Option<Waker> = None;
    std::future::poll_fn(|cx| {
        let mut st = shared.state.borrow_mut();
        if target <= st.synced_batch {
            return Poll::Ready(Ok(()));
        }
        if let Some(f) = &st.failure {
            return Poll::Ready(Err(EngineError::Failed(f.clone())));
        }
        // As for `Durable`: a registration stays until the target is synced or the engine fails.
        if !registered.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
            st.sync_waiters.push((target, cx.waker().clone()));
            registered = Some(cx.waker().clone());
        }
        Poll::Pending
    })
    .await
}

/// Writes one batch at the end of the log, and fdatasyncs it with `sync_each_batch`; returns
/// the bytes written and whether it was synced.
async fn write_batch(
    shared: &Shared,
    w: &mut Writer,
    batch: PendingBatch,
) -> Result<(u64, bool), EngineError> {
    if w.file.is_none() || batch.seg != w.seg {
        // The first segment of a new log is created on purpose without a spare (see `spare`).
        let rotating = w.file.is_some();
        // The segment being sealed must be stable before the next one exists: recovery treats
        // anything wrong in a sealed segment as corruption, not as a lost tail.
        sync_writer(shared, w).await?;
        let spare = shared.spares.take();
        let (file, size, from_spare) = match spare {
            Some(spare) => {
                let len = spare.len;
                let file =
                    segment::install(&shared.directory, &shared.dir, batch.seg, spare).await?;
                (file, len, true)
            }
            None => {
                let prealloc = if shared.opts.preallocate {
                    shared.opts.segment_size
                } else {
                    0
                };
                let file =
                    segment::create(&shared.directory, &shared.dir, batch.seg, prealloc).await?;
                (file, prealloc.max(SEGMENT_HEADER_LEN), false)
            }
        };
        {
            let mut st = shared.state.borrow_mut();
            st.stats.segments_created += 1;
            if from_spare {
                st.stats.spares_used += 1;
            } else if shared.spares.enabled() && rotating {
                st.stats.spare_misses += 1;
            }
            if let Some(s) = st.segments.get_mut(&batch.seg) {
                s.file = Some(file.clone());
                s.size = size;
            }
            // The previous segment is sealed: it may now be deletable.
            st.reclaim_requested = true;
        }
        w.seg = batch.seg;
        w.buffered = None;
        w.prefilled = from_spare;
        w.file = Some(file);
        w.end = SEGMENT_HEADER_LEN;
        w.block.clear();
    }
    let file = w.file.clone().expect("segment file is open");
    let path = || -> PathBuf { shared.dir.join(segment::file_name(w.seg)) };
    debug_assert_eq!(batch.start, align_batch(w.end));
    let align = segment::alignment(&file);
    let block_start = w.end - w.block.len() as u64;
    let new_end = batch.start + BATCH_HEADER_LEN as u64 + batch.body.len() as u64;
    let len = (new_end - block_start).div_ceil(align) * align;
    let mut buf = file.alloc_dma_buffer(len as usize);
    let b = buf.as_bytes_mut();
    let hdr_at = (batch.start - block_start) as usize;
    let body_at = hdr_at + BATCH_HEADER_LEN;
    let body_end = body_at + batch.body.len();
    b[..w.block.len()].copy_from_slice(&w.block);
    b[w.block.len()..hdr_at].fill(0);
    let header = encode_batch_header(batch.seg, batch.start, batch.body.len() as u32, batch.count);
    b[hdr_at..body_at].copy_from_slice(&header);
    b[body_at..body_end].copy_from_slice(&batch.body);
    b[body_end..].fill(0);
    let next_block_start = new_end / align * align;
    let next_block = b[(next_block_start - block_start) as usize..body_end].to_vec();
    drop(batch);
    let sync = shared.sync_each_batch.get();
    let n = if sync {
        file.write_at(buf, block_start)
            .await
            .map_err(|e| EngineError::io("write", path(), e))?
    } else {
        // Not synced per batch: the page cache is enough to survive a process crash, and a
        // buffered write costs a memory copy where an O_DIRECT one costs a device round trip.
        if w.buffered.is_none() {
            let f = std::fs::OpenOptions::new()
                .write(true)
                .open(path())
                .map_err(|e| EngineError::io("open", path(), e))?;
            w.buffered = Some(f);
        }
        let f = w.buffered.as_ref().expect("opened above");
        std::os::unix::fs::FileExt::write_all_at(f, &buf.as_bytes()[..len as usize], block_start)
            .map_err(|e| EngineError::io("write", path(), e))?;
        len as usize
    };
    EngineError::check_write(path(), n as u64, len)?;
    if let Some(s) = shared.state.borrow_mut().segments.get_mut(&w.seg) {
        s.size = s.size.max(block_start + len);
    }
    if sync {
        file.fdatasync()
            .await
            .map_err(|e| EngineError::io("fdatasync", path(), e))?;
    } else {
        w.unsynced = true;
    }
    w.end = new_end;
    w.block = next_block;
    Ok((len, sync))
}

/// Deletes segments whose entries are all purged (their markers were re-logged and are durable).
async fn delete_segments(shared: &Shared, segs: Vec<u64>) {
    for seq in segs {
        let path = match shared.state.borrow().segments.get(&seq) {
            Some(s) => s.path.clone(),
            None => continue,
        };
        match segment::remove(&shared.directory, &shared.dir, &path).await {
            Ok(()) => {
                let mut st = shared.state.borrow_mut();
                st.segments.remove(&seq);
                st.stats.segments_deleted += 1;
            }
            Err(e) => {
                log::warn!("raftlog: cannot delete purged segment: {e}");
                return;
            }
        }
    }
}
