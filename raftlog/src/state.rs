//! The engine's mutable state and the one place records are staged.
//!
//! Every mutation of the log (append, truncate, purge, a marker, removing a group) goes through
//! [`State::stage`]: it encodes the record into the **pending batch** (the next group-commit
//! write), and the caller then applies the same change to the in-memory index. Staging is
//! synchronous and never waits, so the index always reflects everything staged; durability is
//! tracked separately by batch sequence numbers (see [`crate::flush`]).
//!
//! Positions are assigned at staging time: the pending batch knows the segment and offset it will
//! be written at, because only one batch is pending and only one is in flight, and the in-flight
//! one's extent is fixed when the flusher takes it. So an entry's disk location is known the
//! moment it is appended, and the index never needs fixing up after the write.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::rc::Rc;
use std::task::Waker;

use ahash::HashMap;
use bytes::Bytes;
use glommio::io::DmaFile;

use crate::cache::CacheBudget;
use crate::engine::{GroupId, Groups};
use crate::error::EngineError;
use crate::format::{
    self, RecordKind, BATCH_HEADER_LEN, MAX_BATCH_BODY, MAX_PAYLOAD, SEGMENT_HEADER_LEN,
};
use crate::group::{MarkerKind, PURGE_MARKER};
use crate::options::{EngineOptions, EngineStats};

/// One segment file as the engine tracks it.
#[derive(Debug)]
pub(crate) struct Segment {
    pub path: PathBuf,
    /// Open file, or `None` while the flusher has not created it yet (its records are then all
    /// pending and cached).
    pub file: Option<Rc<DmaFile>>,
    /// For every group with entries here, the highest index that may still be live. The segment
    /// can be deleted once every such group has purged up to it.
    pub live: HashMap<GroupId, u64>,
    /// Size of the file on disk (0 until it is created).
    pub size: u64,
}

impl Segment {
    pub fn new(path: PathBuf, file: Option<Rc<DmaFile>>, size: u64) -> Self {
        Self {
            path,
            file,
            live: HashMap::default(),
            size,
        }
    }
}

/// Records waiting for the next write.
#[derive(Debug)]
pub(crate) struct PendingBatch {
    pub seq: u64,
    pub seg: u64,
    /// Offset of the batch header in the segment.
    pub start: u64,
    pub body: Vec<u8>,
    pub count: u32,
    pub entries: u64,
    pub appends: u64,
}

/// Where a staged record landed.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Staged {
    pub seg: u64,
    pub offset: u64,
    pub len: u32,
    pub batch: u64,
}

type Callback = Box<dyn FnOnce(Result<(), EngineError>)>;

/// A planned deletion of old segments, waiting for the re-logged markers to become durable.
#[derive(Debug)]
pub(crate) struct ReclaimPlan {
    pub segments: Vec<u64>,
    pub after_batch: u64,
}

pub(crate) struct State {
    pub groups: Groups,
    pub cache: CacheBudget,
    pub segments: BTreeMap<u64, Segment>,
    pub pending: Option<PendingBatch>,
    /// Segment and offset where the next batch starts (after everything taken by the flusher).
    pub next_pos: (u64, u64),
    pub next_batch: u64,
    /// Last batch written (tickets up to it resolve).
    pub durable_batch: u64,
    /// Last batch known to be on stable storage (equals `durable_batch` with
    /// `sync_each_batch`).
    pub synced_batch: u64,
    /// Highest batch an [`crate::Engine::fsync`] caller waits to see on stable storage.
    pub sync_target: u64,
    pub sync_waiters: Vec<(u64, Waker)>,
    pub failure: Option<String>,
    pub closing: bool,
    pub waiters: Vec<(u64, Waker)>,
    pub callbacks: Vec<(u64, Callback)>,
    pub flusher_waker: Option<Waker>,
    pub reclaim_requested: bool,
    pub reclaim_plan: Option<ReclaimPlan>,
    pub stats: EngineStats,
    pub dir: PathBuf,
    pub segment_size: u64,
    /// This segment was not prefilled and a prefilled spare is ready: the next batch that would
    /// go into it starts a new segment instead. (A segment number, not a flag: it may be set again
    /// by a flush that completes after a batch already moved on, and must not rotate twice.)
    pub rotate_early: Option<u64>,
    /// `(segment, offset)` an fdatasync made stable, to be logged as a [`RecordKind::SyncMark`] at
    /// the start of the next batch if that batch is in the same segment. Not a batch of its own: an
    /// idle log stays idle.
    pub sync_mark: Option<(u64, u64)>,
}

impl State {
    pub fn new(
        dir: PathBuf,
        opts: &EngineOptions,
        groups: Groups,
        segments: BTreeMap<u64, Segment>,
        next_pos: (u64, u64),
    ) -> Self {
        Self {
            groups,
            cache: CacheBudget::new(opts.cache_bytes),
            segments,
            pending: None,
            next_pos,
            next_batch: 1,
            durable_batch: 0,
            synced_batch: 0,
            sync_target: 0,
            sync_waiters: Vec::new(),
            failure: None,
            closing: false,
            waiters: Vec::new(),
            callbacks: Vec::new(),
            flusher_waker: None,
            reclaim_requested: true,
            reclaim_plan: None,
            stats: EngineStats::default(),
            dir,
            segment_size: opts.segment_size,
            rotate_early: None,
            sync_mark: None,
        }
    }

    /// Refuses new work once the engine failed or is closing.
    pub fn check_open(&self) -> Result<(), EngineError> {
        if let Some(f) = &self.failure {
            return Err(EngineError::Failed(f.clone()));
        }
        if self.closing {
            return Err(EngineError::Closed);
        }
        Ok(())
    }

    /// The batch that makes everything staged so far durable.
    pub fn barrier(&self) -> u64 {
        match &self.pending {
            Some(p) => p.seq,
            None => self.next_batch - 1,
        }
    }

    pub fn wake_flusher(&mut self) {
        if let Some(w) = self.flusher_waker.take() {
            w.wake();
        }
    }

    /// Encodes one record into the pending batch (creating it, and picking its segment, if
    /// needed).
    pub fn stage(
        &mut self,
        kind: RecordKind,
        group: GroupId,
        term: u64,
        index: u64,
        payload: &[u8],
    ) -> Result<Staged, EngineError> {
        if payload.len() > MAX_PAYLOAD {
            return Err(EngineError::TooLarge {
                len: payload.len(),
                max: MAX_PAYLOAD,
            });
        }
        if self.pending.is_none() {
            let early = self.rotate_early.take() == Some(self.next_pos.0)
                && self.next_pos.1 > SEGMENT_HEADER_LEN;
            let (seg, start) = if self.next_pos.1 >= self.segment_size || early {
                (self.next_pos.0 + 1, SEGMENT_HEADER_LEN)
            } else {
                self.next_pos
            };
            if !self.segments.contains_key(&seg) {
                let path = self.dir.join(crate::segment::file_name(seg));
                self.segments.insert(seg, Segment::new(path, None, 0));
            }
            let mut batch = PendingBatch {
                seq: self.next_batch,
                seg,
                start,
                body: Vec::with_capacity(4096),
                count: 0,
                entries: 0,
                appends: 0,
            };
            if let Some((mark_seg, synced)) = self.sync_mark.take() {
                if mark_seg == seg {
                    format::encode_record(
                        &mut batch.body,
                        RecordKind::SyncMark,
                        0,
                        mark_seg,
                        synced,
                        &[],
                    );
                    batch.count += 1;
                }
            }
            self.pending = Some(batch);
            self.next_batch += 1;
        }
        let p = self
            .pending
            .as_mut()
            .expect("pending batch was just created");
        let len = format::record_len(payload.len());
        if p.body.len() + len > MAX_BATCH_BODY {
            return Err(EngineError::Backlog {
                pending: p.body.len(),
            });
        }
        let offset = p.start + BATCH_HEADER_LEN as u64 + p.body.len() as u64;
        format::encode_record(&mut p.body, kind, group, term, index, payload);
        p.count += 1;
        if kind == RecordKind::Entry {
            p.entries += 1;
        }
        Ok(Staged {
            seg: p.seg,
            offset,
            len: len as u32,
            batch: p.seq,
        })
    }

    /// Stages a marker record and updates the group's marker.
    pub fn stage_marker(
        &mut self,
        group: GroupId,
        kind: MarkerKind,
        value: Bytes,
    ) -> Result<Staged, EngineError> {
        let rk = match kind {
            MarkerKind::Vote => RecordKind::Vote,
            MarkerKind::Committed => RecordKind::Committed,
            MarkerKind::Applied => RecordKind::Applied,
        };
        let staged = self.stage(rk, group, 0, 0, &value)?;
        let g = self.groups.entry(group).or_default();
        g.markers[kind as usize] = Some(value);
        g.marker_seg[kind as usize] = Some(staged.seg);
        Ok(staged)
    }

    /// Stages a purge record for the group's current purge point (used when re-logging).
    pub fn restage_purge(&mut self, group: GroupId) -> Result<(), EngineError> {
        let Some(p) = self.groups.get(&group).and_then(|g| g.purged.clone()) else {
            return Ok(());
        };
        let staged = self.stage(RecordKind::Purge, group, p.term, p.index, &p.marker)?;
        if let Some(g) = self.groups.get_mut(&group) {
            g.marker_seg[PURGE_MARKER] = Some(staged.seg);
        }
        Ok(())
    }

    /// Lowers the live bound of `group` in every segment after a truncation from `from`.
    pub fn truncate_live(&mut self, group: GroupId, from: u64) {
        truncate_live(&mut self.segments, group, from);
    }

    /// Old segments (a prefix, never the one being written) whose entries are all purged.
    pub fn deletable_segments(&self) -> Vec<u64> {
        let current = self.next_pos.0;
        let mut out = Vec::new();
        for (&seq, seg) in &self.segments {
            if seq >= current {
                break;
            }
            let all_purged = seg.live.iter().all(|(g, &max)| match self.groups.get(g) {
                None => true,
                Some(gl) => gl.purged.as_ref().is_some_and(|p| p.index >= max),
            });
            if !all_purged {
                break;
            }
            out.push(seq);
        }
        out
    }

    /// Plans the deletion of purged segments: re-logs every marker whose latest record lives in
    /// one of them, and records which batch must be durable before the files go.
    pub fn plan_reclaim(&mut self) -> Result<(), EngineError> {
        let segs = self.deletable_segments();
        let Some(&last) = segs.last() else {
            return Ok(());
        };
        let mut relog: Vec<(GroupId, usize)> = Vec::new();
        for (&gid, g) in &self.groups {
            for (k, seg) in g.marker_seg.iter().enumerate() {
                if seg.is_some_and(|s| s <= last) {
                    relog.push((gid, k));
                }
            }
        }
        for (gid, k) in relog {
            if k == PURGE_MARKER {
                self.restage_purge(gid)?;
                continue;
            }
            let kind = [MarkerKind::Vote, MarkerKind::Committed, MarkerKind::Applied][k];
            let value = self.groups.get(&gid).and_then(|g| g.markers[k].clone());
            if let Some(v) = value {
                self.stage_marker(gid, kind, v)?;
            }
        }
        self.reclaim_plan = Some(ReclaimPlan {
            segments: segs,
            after_batch: self.barrier(),
        });
        Ok(())
    }

    /// Registers a callback for `batch`, or runs it now if the outcome is known.
    pub fn on_durable(
        &mut self,
        batch: u64,
        cb: Callback,
    ) -> Option<(Callback, Result<(), EngineError>)> {
        if batch <= self.durable_batch {
            return Some((cb, Ok(())));
        }
        if let Some(f) = &self.failure {
            return Some((cb, Err(EngineError::Failed(f.clone()))));
        }
        self.callbacks.push((batch, cb));
        None
    }

    /// Marks `batch` durable: wakes its waiters and returns its callbacks (to be run outside the
    /// state borrow, since they may call back into the engine).
    pub fn complete(&mut self, batch: u64) -> Vec<Callback> {
        self.durable_batch = batch;
        wake_upto(&mut self.waiters, batch);
        let (done, keep): (Vec<_>, Vec<_>) = std::mem::take(&mut self.callbacks)
            .into_iter()
            .partition(|(b, _)| *b <= batch);
        self.callbacks = keep;
        self.cache.evict(&mut self.groups, batch);
        done.into_iter().map(|(_, cb)| cb).collect()
    }

    /// Records that every batch up to `batch` is on stable storage and wakes the `fsync` callers
    /// waiting for it.
    pub fn synced(&mut self, batch: u64) {
        self.synced_batch = self.synced_batch.max(batch);
        let done = self.synced_batch;
        wake_upto(&mut self.sync_waiters, done);
    }

    /// Puts the engine into the failed state: every waiter and callback gets the error.
    pub fn fail(&mut self, msg: String) -> Vec<Callback> {
        log::error!(
            "raftlog in {}: {msg}; the engine stops accepting writes",
            self.dir.display()
        );
        self.failure = Some(msg);
        for (_, w) in self.waiters.drain(..).chain(self.sync_waiters.drain(..)) {
            w.wake();
        }
        self.pending = None;
        self.callbacks.drain(..).map(|(_, cb)| cb).collect()
    }
}

/// Wakes (and removes) the waiters whose batch is at or below `batch`.
fn wake_upto(waiters: &mut Vec<(u64, Waker)>, batch: u64) {
    let mut i = 0;
    while i < waiters.len() {
        if waiters[i].0 <= batch {
            waiters.swap_remove(i).1.wake();
        } else {
            i += 1;
        }
    }
}

/// Lowers the live bound of `group` in every segment after a truncation from `from` (entries at
/// or above it are gone wherever they were written).
pub(crate) fn truncate_live(segments: &mut BTreeMap<u64, Segment>, group: GroupId, from: u64) {
    for seg in segments.values_mut() {
        if let Some(m) = seg.live.get_mut(&group) {
            if *m >= from {
                match from.checked_sub(1) {
                    Some(v) => *m = v,
                    None => {
                        seg.live.remove(&group);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state_at(seg: u64, offset: u64) -> State {
        State::new(
            PathBuf::from("/nonexistent"),
            &EngineOptions::default(),
            Groups::default(),
            BTreeMap::new(),
            (seg, offset),
        )
    }

    fn stage_one(st: &mut State) -> u64 {
        st.stage(RecordKind::Entry, 1, 1, 1, b"x").unwrap().seg
    }

    /// The flusher asks for an early rotation after a flush of segment N; that flush can complete
    /// after a later batch already moved to N + 1. The request must then not rotate N + 1 as well
    /// (under 50 clients it once made a near-empty segment every MiB).
    #[test]
    fn early_rotation_applies_only_to_the_segment_it_names() {
        let mut st = state_at(2, 8192);
        st.rotate_early = Some(1);
        assert_eq!(
            stage_one(&mut st),
            2,
            "a stale request rotated the new segment"
        );
        assert_eq!(st.rotate_early, None);

        let mut st = state_at(2, 8192);
        st.rotate_early = Some(2);
        assert_eq!(stage_one(&mut st), 3);

        // An empty segment is never left for another one.
        let mut st = state_at(2, SEGMENT_HEADER_LEN);
        st.rotate_early = Some(2);
        assert_eq!(stage_one(&mut st), 2);
    }
}
