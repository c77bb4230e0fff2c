//! Reading entries: from memory when cached, otherwise from the segments, always verified.
//!
//! Two readers share one pipeline:
//! - [`read`]: one group's range (openraft's log reader).
//! - [`read_in_log_order`]: many groups' ranges at once, handed to a callback in the order their
//!   records appear in the log. This exists for start-up replay. A core's log interleaves the
//!   records of ~1000 groups, so reading it group by group fetches 256 KiB windows that are
//!   mostly other groups' records, and the log ends up read about once per group. In log order,
//!   every wanted record is fetched once, with a few large sequential reads.
//!
//! **Snapshot.** A read is planned synchronously against the index: which entries, the cached
//! payloads, disk locations and the open files holding them. Then the disk reads run. Segments
//! are append-only and a deleted file stays readable while a handle is open, so the plan stays
//! valid whatever happens to the log meanwhile. The result is the log as it was when the read
//! started, as openraft requires.
//!
//! **Order.** Each group's present entries already lie in log order: appends go to the end of the
//! log, and a truncated suffix that is appended again lands after everything before it. A k-way
//! merge of the groups' snapshots on (segment, offset) therefore yields log order. It needs only
//! a copy of the wanted part of the index (32 bytes per entry, like the index itself), never the
//! payloads of the whole log.
//!
//! **I/O.** Misses, walked in log order, form *runs*: consecutive misses in one segment whose
//! gaps are at most `gap` bytes and whose total span is at most `span` bytes (a single record is
//! always a run). Each run is one read, and runs do not overlap, so no byte is requested twice
//! (the device alignment may round a run's ends out to the next block). A single-group read
//! uses `read_coalesce_bytes` for both limits, a log-order read uses `scan_read_bytes` and
//! `read_coalesce_bytes`. Work proceeds in *chunks*: one run plus the cached entries around it,
//! at most [`CHUNK_ENTRIES`] entries. Up to [`READS_AHEAD`] runs are queued before the current
//! chunk is delivered, so the next read is usually in flight while the callback handles this one
//! (glommio submits queued I/O when the task waits, so it is not when the awaited read had already
//! completed). Memory stays at a few chunks and their buffers, however long the log.
//!
//! **Verification.** Every record read from disk is checked against its checksum and against the
//! index (kind, group, index, term). A damaged or misplaced record is an error, never data.

use std::cmp::Reverse;
use std::collections::binary_heap::PeekMut;
use std::collections::{BTreeMap, BinaryHeap, VecDeque};
use std::convert::Infallible;
use std::future::Future;
use std::ops::Range;
use std::pin::Pin;
use std::rc::Rc;

use bytes::Bytes;
use futures_util::future::{maybe_done, MaybeDone};
use glommio::io::{DmaFile, ReadResult};

use crate::engine::{Entry, GroupId, Shared};
use crate::error::{EngineError, ReadManyError};
use crate::format::{decode_record, RecordKind};
use crate::group::RangeSnapshot;
use crate::segment;
use crate::state::State;

/// Runs queued ahead of the chunk being delivered.
const READS_AHEAD: usize = 2;
/// Chunks planned ahead (bounds memory when many chunks are all cached entries).
const CHUNKS_AHEAD: usize = 4;
/// Entries per chunk.
const CHUNK_ENTRIES: usize = 16 << 10;

/// How far misses may be merged into one read.
#[derive(Debug, Clone, Copy)]
struct Coalesce {
    /// Largest span of one read (unless a single record is larger).
    span: u64,
    /// Largest gap between two records of one read.
    gap: u64,
}

/// One group's snapshot being walked.
struct Cursor {
    group: GroupId,
    snap: RangeSnapshot,
    pos: usize,
}

impl Cursor {
    fn cached(&self) -> Option<&Bytes> {
        let uncached = self.snap.slots.len() - self.snap.cached.len();
        self.pos
            .checked_sub(uncached)
            .and_then(|c| self.snap.cached.get(c))
    }
}

/// One read: `start..end` of segment `seg`.
#[derive(Debug)]
struct Run {
    seg: u64,
    start: u64,
    end: u64,
}

enum Source {
    Cached(Bytes),
    Disk { offset: u64, len: u32 },
}

struct Item {
    group: GroupId,
    index: u64,
    term: u64,
    source: Source,
}

/// Entries in log order, whose misses (if any) are all in `run`.
struct Chunk {
    run: Option<Run>,
    items: Vec<Item>,
}

/// Everything a read will deliver, fixed when it starts.
struct Plan {
    cursors: Vec<Cursor>,
    /// The next record of each cursor with entries left: smallest (segment, offset) on top.
    heap: BinaryHeap<Reverse<(u64, u64, usize)>>,
    files: BTreeMap<u64, Rc<DmaFile>>,
    coalesce: Coalesce,
    entries: usize,
    /// Without a payload cache: the batch that must be written before the planned misses can be read
    /// (everything staged when the plan was taken).
    written_by: Option<u64>,
}

/// Sorts the wanted ranges by group and merges overlapping ones, so that every entry is planned
/// once.
fn normalize(wanted: &[(GroupId, Range<u64>)]) -> Vec<(GroupId, Range<u64>)> {
    let mut v: Vec<_> = wanted
        .iter()
        .filter(|(_, r)| r.start < r.end)
        .cloned()
        .collect();
    v.sort_unstable_by_key(|(g, r)| (*g, r.start));
    v.dedup_by(|next, prev| {
        let overlaps = next.0 == prev.0 && next.1.start <= prev.1.end;
        if overlaps {
            prev.1.end = prev.1.end.max(next.1.end);
        }
        overlaps
    });
    v
}

/// Takes the plan (synchronously: see the module docs). `max_bytes` limits each range as in
/// [`crate::group::GroupLog::snapshot`].
fn plan(
    shared: &Shared,
    wanted: &[(GroupId, Range<u64>)],
    max_bytes: usize,
    coalesce: Coalesce,
) -> Result<Plan, EngineError> {
    let mut guard = shared.state.borrow_mut();
    let st = &mut *guard;
    let mut cursors = Vec::new();
    let (mut hits, mut misses) = (0u64, 0u64);
    for (group, range) in normalize(wanted) {
        let Some(snap) = st
            .groups
            .get(&group)
            .and_then(|g| g.snapshot(range, max_bytes))
        else {
            continue;
        };
        hits += snap.cached.len() as u64;
        misses += (snap.slots.len() - snap.cached.len()) as u64;
        cursors.push(Cursor {
            group,
            snap,
            pos: 0,
        });
    }
    st.stats.cache_hits += hits;
    st.stats.disk_entries += misses;
    let heap = cursors
        .iter()
        .enumerate()
        .map(|(i, c)| Reverse((c.snap.slots[0].seg, c.snap.slots[0].offset, i)))
        .collect();
    // Without a cache, the misses may not be written yet (their segment not even created): their files
    // are taken once they are (see `execute`).
    let written_by = (!st.cache.enabled() && misses > 0).then(|| st.barrier());
    let mut plan = Plan {
        cursors,
        heap,
        files: BTreeMap::new(),
        coalesce,
        entries: (hits + misses) as usize,
        written_by,
    };
    if written_by.is_none() {
        plan.open_files(st)?;
    }
    Ok(plan)
}

impl Plan {
    /// Takes a handle on every segment file holding a planned miss.
    fn open_files(&mut self, st: &State) -> Result<(), EngineError> {
        for c in &self.cursors {
            let uncached = c.snap.slots.len() - c.snap.cached.len();
            let mut last_seg = None;
            for (pos, slot) in c.snap.slots[..uncached].iter().enumerate() {
                if last_seg == Some(slot.seg) || self.files.contains_key(&slot.seg) {
                    continue;
                }
                last_seg = Some(slot.seg);
                let Some(file) = st.segments.get(&slot.seg).and_then(|s| s.file.clone()) else {
                    return Err(EngineError::corrupt(
                        st.dir.join(segment::file_name(slot.seg)),
                        slot.offset,
                        format!(
                            "group {} entry {} points to a segment that is not open",
                            c.group,
                            c.snap.first + pos as u64
                        ),
                    ));
                };
                self.files.insert(slot.seg, file);
            }
        }
        Ok(())
    }

    /// The next entries in log order, up to the first miss that does not fit the current run.
    fn next_chunk(&mut self) -> Option<Chunk> {
        let mut run: Option<Run> = None;
        let mut items = Vec::new();
        while items.len() < CHUNK_ENTRIES {
            let Some(mut top) = self.heap.peek_mut() else {
                break;
            };
            let Reverse((seg, offset, ci)) = *top;
            let c = &mut self.cursors[ci];
            let slot = c.snap.slots[c.pos];
            let source = match c.cached() {
                Some(p) => Source::Cached(p.clone()),
                None => {
                    let end = offset + u64::from(slot.len);
                    match &mut run {
                        None => {
                            run = Some(Run {
                                seg,
                                start: offset,
                                end,
                            })
                        }
                        Some(r)
                            if r.seg == seg
                                && offset.saturating_sub(r.end) <= self.coalesce.gap
                                && end - r.start <= self.coalesce.span =>
                        {
                            r.end = r.end.max(end);
                        }
                        Some(_) => break,
                    }
                    Source::Disk {
                        offset,
                        len: slot.len,
                    }
                }
            };
            items.push(Item {
                group: c.group,
                index: c.snap.first + c.pos as u64,
                term: slot.term,
                source,
            });
            c.pos += 1;
            match c.snap.slots.get(c.pos) {
                Some(next) => *top = Reverse((next.seg, next.offset, ci)),
                None => {
                    PeekMut::pop(top);
                    c.snap.slots = Vec::new();
                    c.snap.cached = Vec::new();
                }
            }
        }
        (!items.is_empty()).then_some(Chunk { run, items })
    }
}

/// Queues the read of `run` (polled once, so it is submitted with the executor's next I/O poll
/// even while the caller is busy with an earlier chunk).
async fn start_read(
    shared: &Rc<Shared>,
    file: Rc<DmaFile>,
    run: &Run,
) -> Pin<Box<MaybeDone<impl Future<Output = Result<ReadResult, EngineError>>>>> {
    let len = run.end - run.start;
    {
        let mut st = shared.state.borrow_mut();
        st.stats.disk_reads += 1;
        st.stats.disk_bytes_read += len;
    }
    let (shared, seg, start) = (shared.clone(), run.seg, run.start);
    let mut read = Box::pin(maybe_done(async move {
        file.read_at(start, len as usize)
            .await
            .map_err(|e| EngineError::io("read", shared.dir.join(segment::file_name(seg)), e))
    }));
    futures_lite::future::poll_once(read.as_mut()).await;
    read
}

/// Reads the runs of `plan` and hands every entry to `f` in log order.
async fn execute<E>(
    shared: &Rc<Shared>,
    mut plan: Plan,
    f: &mut impl FnMut(GroupId, Entry) -> Result<(), E>,
) -> Result<(), ReadManyError<E>> {
    if let Some(batch) = plan.written_by.take() {
        let written = crate::flush::Durable {
            shared: shared.clone(),
            batch,
            registered: None,
        };
        written.await.map_err(ReadManyError::Engine)?;
        plan.open_files(&shared.state.borrow())
            .map_err(ReadManyError::Engine)?;
    }
    let mut ahead = VecDeque::new();
    let mut reads = 0usize;
    let mut planned = false;
    loop {
        while !planned && reads < READS_AHEAD && ahead.len() < CHUNKS_AHEAD {
            let Some(chunk) = plan.next_chunk() else {
                planned = true;
                break;
            };
            let read = match &chunk.run {
                Some(run) => {
                    reads += 1;
                    let file = plan.files[&run.seg].clone();
                    Some(start_read(shared, file, run).await)
                }
                None => None,
            };
            ahead.push_back((chunk, read));
        }
        let Some((chunk, read)) = ahead.pop_front() else {
            return Ok(());
        };
        let buf = match read {
            Some(mut read) => {
                reads -= 1;
                read.as_mut().await;
                Some(read.as_mut().take_output().expect("awaited")?)
            }
            None => None,
        };
        deliver(shared, chunk, buf.as_deref().unwrap_or_default(), f)?;
    }
}

fn deliver<E>(
    shared: &Shared,
    chunk: Chunk,
    buf: &[u8],
    f: &mut impl FnMut(GroupId, Entry) -> Result<(), E>,
) -> Result<(), ReadManyError<E>> {
    let Chunk { run, items } = chunk;
    for item in items {
        let payload = match item.source {
            Source::Cached(p) => p,
            Source::Disk { offset, len } => {
                let run = run.as_ref().expect("a chunk with a miss has a run");
                verified_payload(shared, run, buf, offset, len, &item)?
            }
        };
        let entry = Entry {
            index: item.index,
            term: item.term,
            payload,
        };
        f(item.group, entry).map_err(ReadManyError::Callback)?;
    }
    Ok(())
}

/// The payload of the record at `offset` (inside `buf`, which holds `run`), if it is intact and
/// is the entry the index says it is.
fn verified_payload(
    shared: &Shared,
    run: &Run,
    buf: &[u8],
    offset: u64,
    len: u32,
    want: &Item,
) -> Result<Bytes, EngineError> {
    let path = || shared.dir.join(segment::file_name(run.seg));
    let from = (offset - run.start) as usize;
    let bytes = buf.get(from..from + len as usize).ok_or_else(|| {
        EngineError::corrupt(path(), offset, "record extends past the end of the file")
    })?;
    let (r, _) =
        decode_record(bytes).map_err(|p| EngineError::corrupt(path(), offset, p.to_string()))?;
    if r.kind != RecordKind::Entry
        || r.group != want.group
        || r.index != want.index
        || r.term != want.term
    {
        return Err(EngineError::corrupt(
            path(),
            offset,
            format!(
                "expected entry {} (term {}) of group {}, found {:?} {} (term {}) of group {}",
                want.index, want.term, want.group, r.kind, r.index, r.term, r.group
            ),
        ));
    }
    Ok(Bytes::copy_from_slice(r.payload))
}

/// Reads `group`'s entries in `range` (clipped to the log), stopping after `max_bytes` of
/// payload (at least one entry).
pub(crate) async fn read(
    shared: &Rc<Shared>,
    group: GroupId,
    range: Range<u64>,
    max_bytes: usize,
) -> Result<Vec<Entry>, EngineError> {
    let coalesce = shared.opts.read_coalesce_bytes as u64;
    let limits = Coalesce {
        span: coalesce,
        gap: coalesce,
    };
    let plan = plan(shared, &[(group, range)], max_bytes, limits)?;
    let mut out = Vec::with_capacity(plan.entries);
    let mut push = |_, e| {
        out.push(e);
        Ok::<(), Infallible>(())
    };
    match execute(shared, plan, &mut push).await {
        Ok(()) => Ok(out),
        Err(ReadManyError::Engine(e)) => Err(e),
        Err(ReadManyError::Callback(never)) => match never {},
    }
}

/// Hands every present entry of the `wanted` ranges to `f`, in log order (see the module docs).
pub(crate) async fn read_in_log_order<E>(
    shared: &Rc<Shared>,
    wanted: &[(GroupId, Range<u64>)],
    mut f: impl FnMut(GroupId, Entry) -> Result<(), E>,
) -> Result<(), ReadManyError<E>> {
    let limits = Coalesce {
        span: shared.opts.scan_read_bytes as u64,
        gap: shared.opts.read_coalesce_bytes as u64,
    };
    let plan = plan(shared, wanted, usize::MAX, limits)?;
    execute(shared, plan, &mut f).await
}
