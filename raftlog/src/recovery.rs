//! Recovery: scan the segments in order, rebuild every group's index, and decide what a damaged
//! tail means.
//!
//! The rules, and why:
//! - Batches are replayed in log order; each record is applied exactly as the live engine applied
//!   it when it was staged (same [`GroupLog`] operations), so the rebuilt index equals the one the
//!   engine had. Records that contradict the index (an entry that does not follow its group's
//!   log, a truncation of purged entries) mean the log is damaged and recovery stops with
//!   [`EngineError::Corrupt`].
//! - Scanning a segment stops at the first batch that is not valid (or at zeros). If nothing
//!   after that point is a valid batch and the segment is the **last** one, the bad bytes are
//!   what was being written when the process died (the one write in flight, never acknowledged):
//!   the file is truncated there and zero-filled again. Anything else is corruption of
//!   acknowledged data and is reported, never skipped: a valid batch after the bad point, or any
//!   non-zero byte after the end of a segment that is not the last (segments are sealed before
//!   the next one is created).
//! - The last segment may also be blank (created, header never synced): it held no data and is
//!   removed.
//! - A spare segment file (`spare.tmp`, zero-filled ahead of need) is never part of the log,
//!   whatever a crash left in it: it is deleted. A spare only becomes a segment by a rename after
//!   its zeros and header were synced, so a segment made from one is an ordinary empty segment.
//!   Its zeros are written blocks rather than unwritten extents; both read as zeros, so the scan
//!   sees exactly what it sees in a pre-allocated segment.
//! - With `tolerate_unsynced_tail` (for logs written without an fsync per batch), the first
//!   invalid batch of the *last* segment that is not such a torn tail ends the log instead of
//!   failing the open: the rest of the segment is cut off like a torn tail, and the report counts
//!   what went (`dropped_*`). Without per-batch fsyncs a power loss can keep a later write and
//!   lose an earlier one, so a hole followed by valid batches is an expected outcome there; and a
//!   log may not skip a hole, so everything after it has to go. Unless a sync mark in a valid
//!   batch after the hole says an fdatasync covered it: then it is corruption of stable data and
//!   is reported. Damage in a sealed segment is
//!   still corruption (sealed segments are synced before the next one is created, so no lost
//!   write explains it), as are damaged segment headers (synced at creation) and contradicting
//!   records (replay never reaches a record after a hole).
//!
//! A limit of this (shared with every WAL that tolerates torn tails): if corruption destroys the
//! very last acknowledged batch and nothing follows it, it is indistinguishable from a torn write
//! and is truncated.

use std::collections::BTreeMap;
use std::path::Path;
use std::rc::Rc;

use glommio::io::DmaFile;

use crate::engine::{GroupId, Groups};
use crate::error::EngineError;
use crate::format::{
    self, decode_batch_header, parse_batch, BatchParse, RecordKind, RecordView, BATCH_ALIGN,
    BATCH_HEADER_LEN, BATCH_MAGIC, SEGMENT_HEADER_LEN,
};
use crate::group::{AppendConflict, Purged, Slot, PURGE_MARKER};
use crate::options::EngineOptions;
use crate::segment;
use crate::spare;
use crate::state::Segment;

const CHUNK: u64 = 1 << 20;

/// What recovery found and did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecoveryReport {
    /// Segments replayed.
    pub segments: usize,
    /// Valid batches replayed.
    pub batches: u64,
    /// Records replayed.
    pub records: u64,
    /// Groups with state after replay.
    pub groups: usize,
    /// Bytes of a torn last batch that were cut off the last segment (0 if the tail was clean).
    pub torn_bytes: u64,
    /// Offset in the last segment where a torn tail was cut, if one was.
    pub torn_at: Option<u64>,
    /// A blank last segment (crash while creating it) was removed.
    pub removed_blank_segment: bool,
    /// A spare segment file left by the previous run (see [`crate::EngineOptions::prefill`])
    /// was removed. It never holds log data, so this is informational.
    pub removed_spare: bool,
    /// With `tolerate_unsynced_tail`: where the log was cut (segment, offset) because a damaged
    /// batch was followed by valid data; `None` if it was not.
    pub dropped_at: Option<(u64, u64)>,
    /// Valid batches found after that cut, and dropped with it.
    pub dropped_batches: u64,
    /// Bytes dropped by the cut: from it to the last non-zero byte of its segment.
    pub dropped_bytes: u64,
}

/// The segment the engine continues to write.
pub(crate) struct Tail {
    pub seq: u64,
    pub file: Rc<DmaFile>,
    /// Exact end of the last valid batch.
    pub end: u64,
    /// Bytes `[align_down(end), end)`: rewritten with the next batch (O_DIRECT writes whole
    /// blocks).
    pub block: Vec<u8>,
}

pub(crate) struct Recovered {
    pub groups: Groups,
    pub segments: BTreeMap<u64, Segment>,
    pub tail: Option<Tail>,
    pub report: RecoveryReport,
}

/// Sequential reader over one segment that keeps a window of the file in memory.
struct Window<'a> {
    file: &'a DmaFile,
    path: &'a Path,
    /// Sequence number of the segment (batch checksums cover it).
    seq: u64,
    size: u64,
    base: u64,
    buf: Vec<u8>,
}

impl Window<'_> {
    /// Makes `[pos, pos + len)` (clipped at the end of the file) available and returns it.
    async fn get(&mut self, pos: u64, len: u64) -> Result<&[u8], EngineError> {
        let align = segment::alignment(self.file);
        if pos < self.base {
            self.buf.clear();
            self.base = pos / align * align;
        }
        let keep_from = (pos - self.base) / align * align;
        if keep_from > 0 {
            let k = (keep_from as usize).min(self.buf.len());
            self.buf.drain(..k);
            self.base += k as u64;
        }
        let want_end = pos.saturating_add(len).min(self.size);
        while self.base + (self.buf.len() as u64) < want_end {
            let at = self.base + self.buf.len() as u64;
            let n = CHUNK.max((want_end - at).div_ceil(align) * align);
            let r = self
                .file
                .read_at_aligned(at, n as usize)
                .await
                .map_err(|e| EngineError::io("read", self.path, e))?;
            if r.is_empty() {
                self.size = at;
                break;
            }
            self.buf.extend_from_slice(&r);
        }
        let avail_end = (self.base + self.buf.len() as u64).min(want_end);
        let from = (pos - self.base) as usize;
        let to = avail_end.saturating_sub(self.base) as usize;
        Ok(if to > from { &self.buf[from..to] } else { &[] })
    }
}

/// Whether a segment file holds nothing but zeros (created, header never written).
async fn is_blank(path: &Path) -> Result<bool, EngineError> {
    // An empty file must not be opened with O_DIRECT (see `segment::create`).
    let len = std::fs::metadata(path)
        .map_err(|e| EngineError::io("stat", path, e))?
        .len();
    if len == 0 {
        return Ok(true);
    }
    let file = segment::open(path).await?;
    let size = file
        .file_size()
        .await
        .map_err(|e| EngineError::io("stat", path, e))?;
    let mut win = Window {
        file: &file,
        path,
        seq: 0,
        size,
        base: 0,
        buf: Vec::new(),
    };
    Ok(first_nonzero(&mut win, 0).await?.is_none())
}

/// Scans every segment in `dir` and rebuilds the engine's state.
pub(crate) async fn recover(dir: &Path, opts: &EngineOptions) -> Result<Recovered, EngineError> {
    let mut list = segment::list(dir)?;
    let mut rec = Recovered {
        groups: Groups::default(),
        segments: BTreeMap::new(),
        tail: None,
        report: RecoveryReport::default(),
    };
    rec.report.removed_spare = spare::remove_leftover(dir)?;
    if let Some((_, path)) = list.last() {
        if is_blank(path).await? {
            log::warn!("raftlog: removing blank last segment {}", path.display());
            std::fs::remove_file(path).map_err(|e| EngineError::io("remove", path, e))?;
            sync_dir(dir).await?;
            rec.report.removed_blank_segment = true;
            list.pop();
        }
    }
    for (i, (seq, path)) in list.iter().enumerate() {
        let (seq, path) = (*seq, path.as_path());
        let is_last = i + 1 == list.len();
        let file = segment::open(path).await?;
        let mut size = file
            .file_size()
            .await
            .map_err(|e| EngineError::io("stat", path, e))?;
        let mut win = Window {
            file: &file,
            path,
            seq,
            size,
            base: 0,
            buf: Vec::new(),
        };
        let head = win.get(0, SEGMENT_HEADER_LEN).await?;
        match format::decode_segment_header(head) {
            Ok(s) if s == seq => {}
            Ok(s) => {
                return Err(EngineError::corrupt(
                    path,
                    0,
                    format!("header says segment {s}"),
                ))
            }
            Err(problem) => {
                return Err(EngineError::corrupt(
                    path,
                    0,
                    format!("bad segment header ({problem:?})"),
                ));
            }
        }
        rec.segments
            .insert(seq, Segment::new(path.to_path_buf(), None, 0));
        let (stop, end) = replay_segment(&mut win, seq, &mut rec).await?;
        if let Some(bad) = first_nonzero(&mut win, stop).await? {
            let valid = find_valid_batch(&mut win, stop + BATCH_ALIGN).await?;
            let garbage_end = last_nonzero(&mut win, stop).await?;
            if valid.is_some() || !is_last {
                // Sealed segments are synced before the next one is created, so damage in one
                // cannot be a lost unsynced write: it is corruption in either mode.
                if !opts.tolerate_unsynced_tail || !is_last {
                    let why = match valid {
                        Some((v, _)) => {
                            format!("invalid data at {stop} is followed by a valid batch at {v}")
                        }
                        None => format!(
                            "invalid data at {stop} (first non-zero byte at {bad}) in a sealed segment"
                        ),
                    };
                    return Err(EngineError::corrupt(path, stop, why));
                }
                let (dropped, synced) = count_batches(&mut win, stop + BATCH_ALIGN).await?;
                if let Some((mark, at)) = synced.filter(|&(mark, _)| mark > stop) {
                    // An fsync covered the damaged bytes: no lost write explains them.
                    return Err(EngineError::corrupt(
                        path,
                        stop,
                        format!(
                            "invalid data at {stop} lies in the part fsynced through {mark} \
                             (sync mark in the batch at {at})"
                        ),
                    ));
                }
                let bytes = garbage_end - stop;
                let r = &mut rec.report;
                r.dropped_at = Some((seq, stop));
                r.dropped_batches = dropped;
                r.dropped_bytes = bytes;
                let msg = format!(
                    "raftlog: cutting the log at {} offset {stop} (tolerate_unsynced_tail): \
                     dropped {dropped} valid batches after it, {bytes} bytes",
                    path.display(),
                );
                log::warn!("{msg}");
            } else {
                log::warn!(
                    "raftlog: cutting a torn tail of {} bytes off {} at offset {stop}",
                    garbage_end - stop,
                    path.display()
                );
                rec.report.torn_bytes = garbage_end - stop;
                rec.report.torn_at = Some(stop);
            }
            file.truncate(stop)
                .await
                .map_err(|e| EngineError::io("truncate", path, e))?;
            size = stop;
            if opts.preallocate {
                size = opts.segment_size.max(stop);
                file.pre_allocate(size, false)
                    .await
                    .map_err(|e| EngineError::io("fallocate", path, e))?;
            }
            file.fdatasync()
                .await
                .map_err(|e| EngineError::io("fdatasync", path, e))?;
        }
        drop(win);
        let file = Rc::new(file);
        rec.report.segments += 1;
        if let Some(s) = rec.segments.get_mut(&seq) {
            s.file = Some(file.clone());
            s.size = size;
        }
        if is_last {
            rec.tail = Some(read_tail(seq, file, end, path).await?);
            break;
        }
    }
    rec.report.groups = rec.groups.len();
    Ok(rec)
}

async fn sync_dir(dir: &Path) -> Result<(), EngineError> {
    let d = glommio::io::Directory::open(dir)
        .await
        .map_err(|e| EngineError::io("open", dir, e))?;
    d.sync().await.map_err(|e| EngineError::io("fsync", dir, e))
}

/// Valid batches at or after `from` (scanning past damage), for the report of a cut, and the
/// furthest sync mark of this segment among them with the offset of its batch.
async fn count_batches(
    win: &mut Window<'_>,
    from: u64,
) -> Result<(u64, Option<(u64, u64)>), EngineError> {
    let mut n = 0;
    let mut synced: Option<(u64, u64)> = None;
    let mut pos = from;
    while let Some((at, span)) = find_valid_batch(win, pos).await? {
        n += 1;
        let seq = win.seq;
        let whole = win.get(at, span).await?;
        if let BatchParse::Valid { records, .. } = parse_batch(whole, seq, at) {
            for (_, r) in records {
                if r.kind == RecordKind::SyncMark
                    && r.term == seq
                    && synced.is_none_or(|(m, _)| r.index > m)
                {
                    synced = Some((r.index, at));
                }
            }
        }
        pos = at + span;
    }
    Ok((n, synced))
}

/// Builds the write position of the last segment: its end and the partial block before it.
async fn read_tail(
    seq: u64,
    file: Rc<DmaFile>,
    end: u64,
    path: &Path,
) -> Result<Tail, EngineError> {
    let align = segment::alignment(&file);
    let block_start = end / align * align;
    let mut block = Vec::new();
    if end > block_start {
        let r = file
            .read_at_aligned(block_start, align as usize)
            .await
            .map_err(|e| EngineError::io("read", path, e))?;
        if (r.len() as u64) < end - block_start {
            return Err(EngineError::corrupt(
                path,
                block_start,
                "tail block shorter than the log",
            ));
        }
        block.extend_from_slice(&r[..(end - block_start) as usize]);
    }
    Ok(Tail {
        seq,
        file,
        end,
        block,
    })
}

/// Replays the valid batches of one segment; returns where scanning stopped and the exact end
/// of the last valid batch.
async fn replay_segment(
    win: &mut Window<'_>,
    seq: u64,
    rec: &mut Recovered,
) -> Result<(u64, u64), EngineError> {
    let path = win.path.to_path_buf();
    let mut pos = SEGMENT_HEADER_LEN;
    let mut end = SEGMENT_HEADER_LEN;
    let mut need = BATCH_HEADER_LEN as u64;
    loop {
        let avail = win.get(pos, need).await?;
        if avail.len() < BATCH_HEADER_LEN {
            return Ok((pos, end));
        }
        match parse_batch(avail, seq, pos) {
            BatchParse::Valid { records, len, span } => {
                for (off, r) in &records {
                    apply(rec, seq, pos + *off as u64, r, &path)?;
                }
                rec.report.batches += 1;
                rec.report.records += records.len() as u64;
                end = pos + len;
                pos += span;
                need = BATCH_HEADER_LEN as u64;
            }
            // Read the whole batch, unless the file ended before it did (a torn tail).
            BatchParse::NeedMore(n) if n > need && avail.len() as u64 == need => need = n,
            BatchParse::NeedMore(_) | BatchParse::Zero | BatchParse::Invalid(_) => {
                return Ok((pos, end))
            }
        }
    }
}

/// Applies one replayed record to the rebuilt state, exactly as staging applied it.
fn apply(
    rec: &mut Recovered,
    seq: u64,
    offset: u64,
    r: &RecordView<'_>,
    path: &Path,
) -> Result<(), EngineError> {
    let gid: GroupId = r.group;
    let bad = |why: String| EngineError::corrupt(path.to_path_buf(), offset, why);
    match r.kind {
        RecordKind::Entry => {
            let g = rec.groups.entry(gid).or_default();
            match g.check_append(r.index) {
                Ok(()) => {}
                Err(AppendConflict::NotNext { expected }) => {
                    return Err(bad(format!(
                        "group {gid}: entry {} where {expected} was expected",
                        r.index
                    )));
                }
                Err(AppendConflict::Purged { purged }) => {
                    return Err(bad(format!(
                        "group {gid}: entry {} at or below purged {purged}",
                        r.index
                    )));
                }
            }
            let slot = Slot {
                term: r.term,
                seg: seq,
                offset,
                len: format::record_len(r.payload.len()) as u32,
            };
            g.push(r.index, slot, None);
            let live = rec
                .segments
                .get_mut(&seq)
                .expect("segment registered before replay")
                .live
                .entry(gid)
                .or_insert(r.index);
            *live = (*live).max(r.index);
        }
        RecordKind::Truncate => {
            let g = rec.groups.entry(gid).or_default();
            if let Some(p) = &g.purged {
                if r.index <= p.index {
                    return Err(bad(format!(
                        "group {gid}: truncation from {} below purged {}",
                        r.index, p.index
                    )));
                }
            }
            g.truncate(r.index);
            crate::state::truncate_live(&mut rec.segments, gid, r.index);
        }
        RecordKind::Purge => {
            let g = rec.groups.entry(gid).or_default();
            if g.purged.as_ref().is_none_or(|p| r.index > p.index) {
                g.purged = Some(Purged {
                    index: r.index,
                    term: r.term,
                    marker: bytes::Bytes::copy_from_slice(r.payload),
                });
                g.purge_entries(r.index);
            }
            g.marker_seg[PURGE_MARKER] = Some(seq);
        }
        RecordKind::Vote | RecordKind::Committed | RecordKind::Applied => {
            let k = match r.kind {
                RecordKind::Vote => 0,
                RecordKind::Committed => 1,
                _ => 2,
            };
            let g = rec.groups.entry(gid).or_default();
            g.markers[k] = Some(bytes::Bytes::copy_from_slice(r.payload));
            g.marker_seg[k] = Some(seq);
        }
        // Only read when deciding a cut (see `count_batches`).
        RecordKind::SyncMark => {}
        RecordKind::RemoveGroup => {
            rec.groups.remove(&gid);
            for s in rec.segments.values_mut() {
                s.live.remove(&gid);
            }
        }
    }
    Ok(())
}

/// First non-zero byte at or after `from`, if any.
async fn first_nonzero(win: &mut Window<'_>, from: u64) -> Result<Option<u64>, EngineError> {
    let mut pos = from;
    while pos < win.size {
        let chunk = win.get(pos, CHUNK).await?;
        if chunk.is_empty() {
            break;
        }
        if let Some(i) = chunk.iter().position(|&b| b != 0) {
            return Ok(Some(pos + i as u64));
        }
        pos += chunk.len() as u64;
    }
    Ok(None)
}

/// One past the last non-zero byte at or after `from` (or `from` if there is none).
async fn last_nonzero(win: &mut Window<'_>, from: u64) -> Result<u64, EngineError> {
    let mut pos = from;
    let mut last = from;
    while pos < win.size {
        let chunk = win.get(pos, CHUNK).await?;
        if chunk.is_empty() {
            break;
        }
        if let Some(i) = chunk.iter().rposition(|&b| b != 0) {
            last = pos + i as u64 + 1;
        }
        pos += chunk.len() as u64;
    }
    Ok(last)
}

/// Offset and span of the first valid batch at an aligned position at or after `from`, if any.
async fn find_valid_batch(
    win: &mut Window<'_>,
    from: u64,
) -> Result<Option<(u64, u64)>, EngineError> {
    let magic = BATCH_MAGIC.to_le_bytes();
    let seq = win.seq;
    let mut pos = from.div_ceil(BATCH_ALIGN) * BATCH_ALIGN;
    while pos + BATCH_HEADER_LEN as u64 <= win.size {
        let chunk = win.get(pos, CHUNK).await?;
        if chunk.len() < BATCH_HEADER_LEN {
            break;
        }
        let mut hit = None;
        let mut i = 0usize;
        while i + BATCH_HEADER_LEN <= chunk.len() {
            if chunk[i..i + 4] == magic
                && decode_batch_header(&chunk[i..], seq, pos + i as u64).is_some()
            {
                hit = Some(i as u64);
                break;
            }
            i += BATCH_ALIGN as usize;
        }
        match hit {
            Some(i) => {
                let at = pos + i;
                let h = decode_batch_header(win.get(at, BATCH_HEADER_LEN as u64).await?, seq, at)
                    .expect("checked above");
                let whole = win
                    .get(at, BATCH_HEADER_LEN as u64 + h.body_len as u64)
                    .await?;
                if let BatchParse::Valid { span, .. } = parse_batch(whole, seq, at) {
                    return Ok(Some((at, span)));
                }
                pos = at + BATCH_ALIGN;
            }
            None => {
                pos += ((chunk.len() - BATCH_HEADER_LEN) as u64 / BATCH_ALIGN + 1) * BATCH_ALIGN
            }
        }
    }
    Ok(None)
}
