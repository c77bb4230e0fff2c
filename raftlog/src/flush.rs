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
use crate::state::PendingBatch;

/// Resolves when the batch holding an operation is durable.
///
/// Returned by the staging calls ([`crate::Engine::append_staged`], [`crate::Engine::truncate`],
/// [`crate::Engine::purge`], ...). Dropping it does not cancel anything: the operation is already
/// part of the log and will be written.
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
}

enum Job {
    Flush(PendingBatch),
    Delete(Vec<u64>),
    Exit,
}

/// Decides what the flusher does next, or registers its waker.
fn next_job(shared: &Shared, cx: &mut Context<'_>) -> Poll<Job> {
    let mut st = shared.state.borrow_mut();
    if st.failure.is_some() {
        return Poll::Ready(Job::Exit);
    }
    if st
        .reclaim_plan
        .as_ref()
        .is_some_and(|p| p.after_batch <= st.durable_batch)
    {
        let plan = st.reclaim_plan.take().expect("checked above");
        return Poll::Ready(Job::Delete(plan.segments));
    }
    if st.reclaim_requested && st.reclaim_plan.is_none() && !st.closing {
        st.reclaim_requested = false;
        if let Err(e) = st.plan_reclaim() {
            log::warn!("raftlog: cannot plan segment deletion: {e}");
        }
        if st
            .reclaim_plan
            .as_ref()
            .is_some_and(|p| p.after_batch <= st.durable_batch)
        {
            let plan = st.reclaim_plan.take().expect("checked above");
            return Poll::Ready(Job::Delete(plan.segments));
        }
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
    loop {
        let job = std::future::poll_fn(|cx| next_job(&shared, cx)).await;
        match job {
            Job::Exit => break,
            Job::Flush(batch) => {
                let seq = batch.seq;
                let (records, entries, appends, bytes) = (
                    batch.count as u64,
                    batch.entries,
                    batch.appends,
                    batch.body.len() as u64,
                );
                match write_batch(&shared, &mut writer, batch).await {
                    Ok(written) => {
                        let callbacks = {
                            let mut st = shared.state.borrow_mut();
                            let s = &mut st.stats;
                            s.fsyncs += 1;
                            s.batches += 1;
                            s.records += records;
                            s.entries += entries;
                            s.appends += appends;
                            s.bytes += bytes;
                            s.bytes_written += written;
                            st.complete(seq)
                        };
                        for cb in callbacks {
                            cb(Ok(()));
                        }
                    }
                    Err(e) => {
                        let callbacks = shared.state.borrow_mut().fail(e.to_string());
                        for cb in callbacks {
                            cb(Err(EngineError::Failed(e.to_string())));
                        }
                        break;
                    }
                }
            }
            Job::Delete(segs) => delete_segments(&shared, segs).await,
        }
    }
}

/// Writes one batch at the end of the log and fdatasyncs it; returns the bytes written.
async fn write_batch(
    shared: &Shared,
    w: &mut Writer,
    batch: PendingBatch,
) -> Result<u64, EngineError> {
    if w.file.is_none() || batch.seg != w.seg {
        let prealloc = if shared.opts.preallocate {
            shared.opts.segment_size
        } else {
            0
        };
        let file = segment::create(&shared.directory, &shared.dir, batch.seg, prealloc).await?;
        {
            let mut st = shared.state.borrow_mut();
            st.stats.segments_created += 1;
            if let Some(s) = st.segments.get_mut(&batch.seg) {
                s.file = Some(file.clone());
            }
            // The previous segment is sealed: it may now be deletable.
            st.reclaim_requested = true;
        }
        w.seg = batch.seg;
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
    let n = file
        .write_at(buf, block_start)
        .await
        .map_err(|e| EngineError::io("write", path(), e))?;
    if n as u64 != len {
        return Err(EngineError::io(
            "write",
            path(),
            std::io::Error::other(format!("short write: {n} of {len} bytes")),
        ));
    }
    file.fdatasync()
        .await
        .map_err(|e| EngineError::io("fdatasync", path(), e))?;
    w.end = new_end;
    w.block = next_block;
    Ok(len)
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
