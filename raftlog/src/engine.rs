//! The public face of the log engine: [`Engine`] and its options, entries, group state and
//! counters.
//!
//! An `Engine` is a cheap, cloneable handle (`Rc`) to one log directory, used from the single
//! glommio executor that opened it; every Raft group of that core shares it. Calls that change the
//! log are *staged* synchronously (the change is visible to reads at once) and made durable by the
//! flusher task's next group commit; each returns a [`Durable`] ticket, or is an `async fn` that
//! awaits it when the contract demands durability on return (append, votes and markers).
//!
//! The engine knows nothing about openraft: group ids are `u32`, entries are
//! `(index, term, payload bytes)`, and votes, committed/applied markers and purge markers are
//! opaque bytes. The openraft adapter ([`crate::LogStore`]) encodes its types into those.

use std::cell::RefCell;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use ahash::HashMap;
use bytes::Bytes;
use glommio::io::Directory;

use crate::error::{EngineError, ReadManyError};
use crate::flush::{self, Durable, Writer};
use crate::format::{RecordKind, SEGMENT_HEADER_LEN};
use crate::group::{AppendConflict, Cached, GroupLog, MarkerKind, Purged, Slot, PURGE_MARKER};
use crate::options::{EngineOptions, EngineStats};
use crate::recovery::{self, RecoveryReport};
use crate::segment;
use crate::spare::Spares;
use crate::state::State;

/// Identifies one Raft group (a slotkv slot) inside an engine.
pub type GroupId = u32;

pub(crate) type Groups = HashMap<GroupId, GroupLog>;

/// One log entry as the engine stores it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Log index (consecutive within a group).
    pub index: u64,
    /// Term of the entry.
    pub term: u64,
    /// The caller's encoding of the entry.
    pub payload: Bytes,
}

/// What the engine holds for one group: its entry range and durable markers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GroupState {
    /// Index of the first entry present.
    pub first_index: Option<u64>,
    /// Index and term of the last entry present.
    pub last: Option<(u64, u64)>,
    /// The purge point.
    pub purged: Option<Purged>,
    /// The last saved vote.
    pub vote: Option<Bytes>,
    /// The last saved committed marker.
    pub committed: Option<Bytes>,
    /// The last saved applied marker.
    pub applied: Option<Bytes>,
}

pub(crate) struct Shared {
    pub dir: PathBuf,
    pub opts: EngineOptions,
    /// [`EngineOptions::sync_each_batch`], changeable while running ([`Engine::set_sync_each_batch`]).
    pub sync_each_batch: std::cell::Cell<bool>,
    pub state: RefCell<State>,
    pub directory: Directory,
    pub report: RecoveryReport,
    pub flusher: RefCell<Option<glommio::task::JoinHandle<()>>>,
    /// The next segment file, zero-filled ahead of need (driven by the flusher).
    pub spares: Spares,
    _lock: std::fs::File,
}

/// Closes the engine when the last user handle goes away (the flusher drains first).
struct Lifetime(Rc<Shared>);

impl Drop for Lifetime {
    fn drop(&mut self) {
        let mut st = self.0.state.borrow_mut();
        st.closing = true;
        st.wake_flusher();
    }
}

/// A handle to one core's Raft log (see the crate docs). Clone it freely; all clones share the
/// log. The engine shuts down (after writing what is pending) when the last clone is dropped.
#[derive(Clone)]
pub struct Engine {
    shared: Rc<Shared>,
    _life: Rc<Lifetime>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("dir", &self.shared.dir)
            .finish()
    }
}

impl Engine {
    /// Opens (creating if needed) the log in `dir`, recovering its state from the segments.
    ///
    /// Must be called inside a glommio executor: it spawns the flusher task there.
    pub async fn open(dir: impl AsRef<Path>, opts: EngineOptions) -> Result<Engine, EngineError> {
        opts.validate()?;
        let dir = dir.as_ref().to_path_buf();
        std::fs::create_dir_all(&dir).map_err(|e| EngineError::io("create", &dir, e))?;
        let lock = segment::lock(&dir)?;
        let rec = recovery::recover(&dir, &opts).await?;
        let directory = Directory::open(&dir)
            .await
            .map_err(|e| EngineError::io("open", &dir, e))?;
        let (writer, next_pos) = match rec.tail {
            Some(t) => {
                let pos = (t.seq, crate::format::align_batch(t.end));
                let w = Writer {
                    seg: t.seq,
                    file: Some(t.file),
                    end: t.end,
                    block: t.block,
                    unsynced: false,
                    prefilled: false,
                    buffered: None,
                };
                (w, pos)
            }
            None => {
                let w = Writer {
                    seg: 0,
                    file: None,
                    end: SEGMENT_HEADER_LEN,
                    block: Vec::new(),
                    unsynced: false,
                    prefilled: false,
                    buffered: None,
                };
                (w, (0, u64::MAX))
            }
        };
        // A new log's first segment is fallocated, not zero-filled: most logs of a short-lived
        // process never need more, and a busy one moves to a prefilled segment after its first MiB.
        let spares = Spares::new(&dir, &opts);
        let state = State::new(dir.clone(), &opts, rec.groups, rec.segments, next_pos);
        let task_queue = opts.task_queue;
        let shared = Rc::new(Shared {
            dir,
            sync_each_batch: std::cell::Cell::new(opts.sync_each_batch),
            opts,
            state: RefCell::new(state),
            directory,
            report: rec.report,
            flusher: RefCell::new(None),
            spares,
            _lock: lock,
        });
        let fut = flush::run(shared.clone(), writer);
        let task = match task_queue {
            Some(tq) => glommio::spawn_local_into(fut, tq)
                .map_err(|e| EngineError::InvalidOption(format!("task queue: {e}")))?,
            None => glommio::spawn_local(fut),
        };
        *shared.flusher.borrow_mut() = Some(task.detach());
        Ok(Engine {
            _life: Rc::new(Lifetime(shared.clone())),
            shared,
        })
    }

    /// The log directory.
    pub fn dir(&self) -> &Path {
        &self.shared.dir
    }

    /// What recovery found when the engine was opened.
    pub fn recovery(&self) -> &RecoveryReport {
        &self.shared.report
    }

    /// Counters since open.
    pub fn stats(&self) -> EngineStats {
        let mut s = self.shared.state.borrow().stats;
        s.spares_prepared = self.shared.spares.prepared();
        s
    }

    /// Segment and offset where the next batch will be written: after `sync().await`, the end of
    /// the durable log. (Diagnostics and tests.)
    pub fn log_end(&self) -> (u64, u64) {
        self.shared.state.borrow().next_pos
    }

    /// Total size of the segment files on disk (pre-allocated space included; a spare being
    /// prepared is not counted).
    pub fn disk_bytes(&self) -> u64 {
        let st = self.shared.state.borrow();
        st.segments.values().map(|s| s.size).sum()
    }

    /// Payload bytes currently held in memory.
    pub fn cached_bytes(&self) -> usize {
        self.shared.state.borrow().cache.bytes()
    }

    /// Sequence numbers of the segment files currently on disk (or about to be created).
    pub fn segments(&self) -> Vec<u64> {
        self.shared
            .state
            .borrow()
            .segments
            .keys()
            .copied()
            .collect()
    }

    /// Groups whose unpurged entries keep the oldest segment on disk, sorted. Space is only
    /// reclaimed when these groups purge (snapshot); a server can use this to snapshot idle
    /// groups that would otherwise pin old segments forever.
    pub fn groups_pinning_oldest_segment(&self) -> Vec<GroupId> {
        let st = self.shared.state.borrow();
        let Some(seg) = st.segments.values().next() else {
            return Vec::new();
        };
        let mut out: Vec<GroupId> = seg
            .live
            .iter()
            .filter(|(g, &max)| {
                st.groups
                    .get(g)
                    .is_some_and(|gl| gl.purged.as_ref().is_none_or(|p| p.index < max))
            })
            .map(|(g, _)| *g)
            .collect();
        out.sort_unstable();
        out
    }

    /// Groups the engine has any state for, sorted.
    pub fn groups(&self) -> Vec<GroupId> {
        let mut g: Vec<_> = self.shared.state.borrow().groups.keys().copied().collect();
        g.sort_unstable();
        g
    }

    /// The state of `group` (all empty for a group the engine has never seen).
    pub fn group_state(&self, group: GroupId) -> GroupState {
        let st = self.shared.state.borrow();
        let Some(g) = st.groups.get(&group) else {
            return GroupState::default();
        };
        GroupState {
            first_index: g.range().map(|r| r.0),
            last: g.last().map(|(i, s)| (i, s.term)),
            purged: g.purged.clone(),
            vote: g.markers[MarkerKind::Vote as usize].clone(),
            committed: g.markers[MarkerKind::Committed as usize].clone(),
            applied: g.markers[MarkerKind::Applied as usize].clone(),
        }
    }

    fn ticket(&self, batch: u64) -> Durable {
        Durable {
            shared: self.shared.clone(),
            batch,
            registered: None,
        }
    }

    /// Appends entries to `group` and returns once they are durable.
    pub async fn append(
        &self,
        group: GroupId,
        entries: impl IntoIterator<Item = Entry>,
    ) -> Result<(), EngineError> {
        self.append_staged(group, entries)?.await
    }

    /// Stages entries for `group`: they are readable when this returns and durable when the
    /// returned ticket resolves.
    ///
    /// Entries must continue the group's log (the first one may start anywhere above the purge
    /// point if the log is empty). On an error, the entries before the offending one stay
    /// appended.
    pub fn append_staged(
        &self,
        group: GroupId,
        entries: impl IntoIterator<Item = Entry>,
    ) -> Result<Durable, EngineError> {
        let mut st = self.shared.state.borrow_mut();
        st.check_open()?;
        let mut appended = false;
        let mut result = Ok(());
        for e in entries {
            if let Err(err) = stage_entry(
                &mut st,
                group,
                e.index,
                e.term,
                &e.payload,
                Some(&e.payload),
            ) {
                result = Err(err);
                break;
            }
            appended = true;
        }
        if appended {
            appended_one(&mut st);
        }
        result.map(|()| self.ticket(st.barrier()))
    }

    /// [`Self::append_staged`] for one entry whose payload is borrowed: it is copied into the batch
    /// (and into the cache, when there is one), so a caller can encode entries into one reused buffer.
    pub fn append_staged_slice(
        &self,
        group: GroupId,
        index: u64,
        term: u64,
        payload: &[u8],
    ) -> Result<Durable, EngineError> {
        let mut st = self.shared.state.borrow_mut();
        st.check_open()?;
        stage_entry(&mut st, group, index, term, payload, None)?;
        appended_one(&mut st);
        Ok(self.ticket(st.barrier()))
    }

    /// Removes `group`'s entries with index >= `from` (a conflicting suffix). Visible at once;
    /// durable with the returned ticket (and with anything appended after it).
    pub fn truncate(&self, group: GroupId, from: u64) -> Result<Durable, EngineError> {
        let mut st = self.shared.state.borrow_mut();
        st.check_open()?;
        let Some(g) = st.groups.get(&group) else {
            return Ok(self.ticket(st.barrier()));
        };
        if let Some(p) = &g.purged {
            if from <= p.index {
                return Err(EngineError::TruncatePurged {
                    group,
                    from,
                    purged: p.index,
                });
            }
        }
        if g.range().is_none_or(|(_, last)| from > last) {
            return Ok(self.ticket(st.barrier()));
        }
        st.stage(RecordKind::Truncate, group, 0, from, &[])?;
        let (_, freed) = st
            .groups
            .get_mut(&group)
            .expect("checked above")
            .truncate(from);
        st.cache.release(freed);
        st.truncate_live(group, from);
        st.wake_flusher();
        Ok(self.ticket(st.barrier()))
    }

    /// Removes `group`'s entries with index <= `upto` (they are applied and in a snapshot).
    /// `marker` is the caller's encoding of the purge point, returned by [`Self::group_state`].
    /// A purge at or below the current purge point does nothing.
    ///
    /// Segment files whose entries are all purged are deleted in the background.
    pub fn purge(
        &self,
        group: GroupId,
        upto: u64,
        term: u64,
        marker: Bytes,
    ) -> Result<Durable, EngineError> {
        let mut st = self.shared.state.borrow_mut();
        st.check_open()?;
        let current = st
            .groups
            .get(&group)
            .and_then(|g| g.purged.as_ref().map(|p| p.index));
        if current.is_some_and(|p| upto <= p) {
            return Ok(self.ticket(st.barrier()));
        }
        let staged = st.stage(RecordKind::Purge, group, term, upto, &marker)?;
        let g = st.groups.entry(group).or_default();
        g.purged = Some(Purged {
            index: upto,
            term,
            marker,
        });
        g.marker_seg[PURGE_MARKER] = Some(staged.seg);
        let freed = g.purge_entries(upto);
        st.cache.release(freed);
        st.reclaim_requested = true;
        st.wake_flusher();
        Ok(self.ticket(st.barrier()))
    }

    /// Saves a marker of `group` (vote, committed or applied) and returns once it is durable.
    pub async fn save_marker(
        &self,
        group: GroupId,
        kind: MarkerKind,
        value: Bytes,
    ) -> Result<(), EngineError> {
        let ticket = {
            let mut st = self.shared.state.borrow_mut();
            st.check_open()?;
            st.stage_marker(group, kind, value)?;
            st.wake_flusher();
            self.ticket(st.barrier())
        };
        ticket.await
    }

    /// Saves `group`'s vote; returns once it is durable.
    pub async fn save_vote(&self, group: GroupId, vote: Bytes) -> Result<(), EngineError> {
        self.save_marker(group, MarkerKind::Vote, vote).await
    }

    /// Saves `group`'s committed marker; returns once it is durable.
    pub async fn save_committed(
        &self,
        group: GroupId,
        committed: Bytes,
    ) -> Result<(), EngineError> {
        self.save_marker(group, MarkerKind::Committed, committed)
            .await
    }

    /// Forgets `group` entirely (its slot moved away): entries, markers and purge point.
    pub fn remove_group(&self, group: GroupId) -> Result<Durable, EngineError> {
        let mut st = self.shared.state.borrow_mut();
        st.check_open()?;
        if !st.groups.contains_key(&group) {
            return Ok(self.ticket(st.barrier()));
        }
        st.stage(RecordKind::RemoveGroup, group, 0, 0, &[])?;
        if let Some(mut g) = st.groups.remove(&group) {
            let freed = g.clear_cache();
            st.cache.release(freed);
        }
        for seg in st.segments.values_mut() {
            seg.live.remove(&group);
        }
        st.reclaim_requested = true;
        st.wake_flusher();
        Ok(self.ticket(st.barrier()))
    }

    /// Resolves when everything staged so far is durable (written, without
    /// [`EngineOptions::sync_each_batch`]; use [`Self::fsync`] for stable storage then).
    pub fn sync(&self) -> Durable {
        let st = self.shared.state.borrow();
        self.ticket(st.barrier())
    }

    /// A ticket for batch `batch`, a number some earlier ticket carried ([`Durable::batch`]):
    /// e.g. the highest batch a reply depends on. Numbers above the highest one handed out are
    /// clamped to it (nothing staged belongs to them). Batch numbers restart at 1 when the
    /// engine is opened, so they are only meaningful for this engine instance.
    pub fn wait_batch(&self, batch: u64) -> Durable {
        let st = self.shared.state.borrow();
        self.ticket(batch.min(st.barrier()))
    }

    /// The durability watermark: every batch up to this number is durable (see [`Durable`]).
    pub fn durable_batch(&self) -> u64 {
        self.shared.state.borrow().durable_batch
    }

    /// Switches [`EngineOptions::sync_each_batch`] for the batches written from now on (a server's
    /// live `fsync` policy change). Turning it on makes the next batch's fdatasync cover what was
    /// written unsynced before it in the same segment (older segments were synced when sealed).
    pub fn set_sync_each_batch(&self, on: bool) {
        self.shared.sync_each_batch.set(on);
    }

    /// Every batch up to this number is on stable storage (fdatasync'd). Equals
    /// [`Self::durable_batch`] with [`EngineOptions::sync_each_batch`].
    pub fn synced_batch(&self) -> u64 {
        self.shared.state.borrow().synced_batch
    }

    /// Makes everything staged before the call reach stable storage: waits until it is written,
    /// then for an fdatasync covering it (one the flusher runs between two batch writes, shared
    /// by concurrent callers). Returns at once if that is already the case, which is always so
    /// shortly after a write with [`EngineOptions::sync_each_batch`]. This is the periodic call of
    /// a server's `fsync everysec`.
    pub async fn fsync(&self) -> Result<(), EngineError> {
        let target = {
            let mut st = self.shared.state.borrow_mut();
            if let Some(f) = &st.failure {
                return Err(EngineError::Failed(f.clone()));
            }
            let target = st.barrier();
            if target <= st.synced_batch {
                return Ok(());
            }
            st.sync_target = st.sync_target.max(target);
            st.wake_flusher();
            target
        };
        flush::wait_synced(&self.shared, target).await
    }

    /// Reads `group`'s entries in `range` that are present (the range is clipped to the log).
    pub async fn read(&self, group: GroupId, range: Range<u64>) -> Result<Vec<Entry>, EngineError> {
        self.read_limited(group, range, usize::MAX).await
    }

    /// Like [`Self::read`], but stops once `max_bytes` of payload are collected (always returns at
    /// least one entry if the clipped range is not empty).
    pub async fn read_limited(
        &self,
        group: GroupId,
        range: Range<u64>,
        max_bytes: usize,
    ) -> Result<Vec<Entry>, EngineError> {
        crate::read::read(&self.shared, group, range, max_bytes).await
    }

    /// Hands every present entry of the `wanted` (group, index range) pairs to `f`, in the order
    /// their records appear in the log, which is the order they were appended: each group's
    /// entries arrive in index order, and groups interleave as they were written. Meant for
    /// replaying many groups at start-up. One pass reads the wanted part of the log sequentially
    /// with large I/Os ([`EngineOptions::scan_read_bytes`]), instead of once per group.
    ///
    /// Ranges are clipped to the entries present; unknown groups, empty ranges and an empty
    /// `wanted` deliver nothing; overlapping ranges of one group deliver each entry once. Like
    /// [`Self::read`], the entries are the log as it was when the call started (cached payloads
    /// are delivered from memory, in their place in the order). Every record read from disk is
    /// verified; a damaged or misplaced one ends the read with [`ReadManyError::Engine`]. An
    /// error from `f` ends it with [`ReadManyError::Callback`]. Either way, nothing after the
    /// failing entry is delivered.
    pub async fn read_in_log_order<E>(
        &self,
        wanted: &[(GroupId, Range<u64>)],
        f: impl FnMut(GroupId, Entry) -> Result<(), E>,
    ) -> Result<(), ReadManyError<E>> {
        crate::read::read_in_log_order(&self.shared, wanted, f).await
    }

    /// Stops the engine after writing everything pending, and waits for that.
    pub async fn close(self) -> Result<(), EngineError> {
        let handle = {
            let mut st = self.shared.state.borrow_mut();
            st.closing = true;
            st.wake_flusher();
            self.shared.flusher.borrow_mut().take()
        };
        if let Some(h) = handle {
            h.await;
        }
        match &self.shared.state.borrow().failure {
            Some(f) => Err(EngineError::Failed(f.clone())),
            None => Ok(()),
        }
    }
}

/// Counts an `append` call whose entries are staged, and wakes the flusher for them.
fn appended_one(st: &mut State) {
    if let Some(p) = st.pending.as_mut() {
        p.appends += 1;
    }
    st.wake_flusher();
}

/// Stages one entry of `group` and indexes it; `owned` is the payload as `Bytes` if the caller has
/// it (the cache then shares it instead of copying).
fn stage_entry(
    st: &mut State,
    group: GroupId,
    index: u64,
    term: u64,
    payload: &[u8],
    owned: Option<&Bytes>,
) -> Result<(), EngineError> {
    let g = st.groups.entry(group).or_default();
    g.check_append(index).map_err(|c| match c {
        AppendConflict::NotNext { expected } => EngineError::NotNext {
            group,
            index,
            expected,
        },
        AppendConflict::Purged { purged } => EngineError::BelowPurged {
            group,
            index,
            purged,
        },
    })?;
    let staged = st.stage(RecordKind::Entry, group, term, index, payload)?;
    let slot = Slot {
        term,
        seg: staged.seg,
        offset: staged.offset,
        len: staged.len,
    };
    let cached = st.cache.enabled().then(|| Cached {
        payload: owned
            .cloned()
            .unwrap_or_else(|| Bytes::copy_from_slice(payload)),
        batch: staged.batch,
    });
    let cache = cached.is_some();
    st.groups
        .entry(group)
        .or_default()
        .push(index, slot, cached);
    if cache {
        st.cache.admit(group, index, staged.batch, payload.len());
    }
    let live = st
        .segments
        .get_mut(&staged.seg)
        .expect("staging registers the segment")
        .live
        .entry(group)
        .or_insert(index);
    *live = (*live).max(index);
    Ok(())
}
