//! [`CoreLog`]: the Raft logs of one core's slots, written through one [`raftlog::Engine`].
//!
//! The core's RocksDB instance runs with its WAL off for applied entries, so the log is the only
//! durable record of a write until RocksDB flushes the memtables holding it. Three rules keep the
//! two consistent:
//!
//! * **Applied log id in the batch.** Each entry's RocksDB write batch also stores the slot's last
//!   applied log id (`slot · FF · FE`), and the memtables of all column families are flushed
//!   atomically, so whatever RocksDB recovers is a prefix of every slot's log that names its own
//!   end.
//! * **Replay from there.** At start, [`CoreLog::replay`] re-applies each slot's entries after its
//!   applied index. Entries are deterministic (clock, versions and random choices are inside), so
//!   the replayed state is the state the acknowledged writes produced.
//! * **Purge only what is flushed.** [`CoreLog::purge_marks`] notes every slot's last index; once a
//!   flush that started afterwards has finished, [`CoreLog::purge`] drops those entries (and the
//!   engine deletes whole segments no slot needs any more). The log therefore holds at most what
//!   was written since the last flush, plus what the current one is writing.
//!
//! A crash can leave RocksDB *ahead* of the log: a memtable flushed while the log write carrying
//! its last entries was still in flight (or, without `fsync = always`, not yet on stable storage).
//! Those entries were never acknowledged. Replay keeps the state (it is a prefix of the proposed
//! history) and moves the slot's purge point up to its applied index, so its next entry gets the
//! next index and is never mistaken for an applied one.

use std::cell::{Cell, RefCell};
use std::ops::Range;
use std::path::Path;

use bytes::Bytes;
use openraft::type_config::alias::{LeaderIdOf, LogIdOf};
use openraft::vote::RaftLeaderIdExt;
use openraft::EntryPayload;
use raftlog::{Engine, EngineError, EngineOptions, Entry, ReadManyError};
use serde::Serialize;

use super::{SlotRaft, SOLO_NODE_ID, SOLO_TERM};
use crate::slot::SlotId;
use crate::statemachine::{self, LogEntry, SlotWriter, WireEntry};
use crate::storage::{StorageError, Store};

/// The log id type of slot groups.
pub type LogId = LogIdOf<SlotRaft>;
/// A decoded log entry.
type RaftEntry = openraft::Entry<
    openraft::type_config::alias::CommittedLeaderIdOf<SlotRaft>,
    EntryPayload<WireEntry, u64, openraft::BasicNode>,
>;

/// Why the log could not be opened, written or replayed.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error("raft log of slot {slot}: entry {index} cannot be decoded: {reason}")]
    Decode {
        slot: u16,
        index: u64,
        reason: String,
    },
    #[error("raft log of slot {slot}: entry {index} cannot be encoded: {reason}")]
    Encode {
        slot: u16,
        index: u64,
        reason: String,
    },
    #[error("raft log of slot {slot}: entry {index} names slot {named}")]
    WrongSlot { slot: u16, index: u64, named: u16 },
    #[error("raft log of slot {slot}: the log jumps from index {expected} to {found}")]
    Gap {
        slot: u16,
        expected: u64,
        found: u64,
    },
}

/// What [`CoreLog::replay`] did.
#[derive(Debug, Default, Clone, Copy)]
pub struct ReplayReport {
    /// Entries re-applied.
    pub entries: u64,
    /// Slots that had entries to re-apply.
    pub slots: u64,
    /// Slots whose RocksDB state was ahead of the log (an unacknowledged tail lost in a crash).
    pub ahead: u64,
}

/// The logs of one core's slots.
pub struct CoreLog {
    engine: Engine,
    slots: Range<u16>,
    /// Per slot (from `slots.start`): index of its last entry, or of its applied / purge point when
    /// it holds none. The next entry gets `last + 1`.
    last: Vec<Cell<u64>>,
    /// Per slot: the index its log is purged up to.
    purged: Vec<Cell<u64>>,
    /// Payload bytes appended since the last purge (what a restart would replay).
    since_purge: Cell<u64>,
    /// Payload bytes of the last append (what a withdrawal takes back from `since_purge`).
    last_len: Cell<u64>,
    /// Where entries are encoded before the engine copies them into its batch (reused: no allocation
    /// per write).
    scratch: RefCell<Vec<u8>>,
}

/// Largest encoding buffer kept for the next entry (bigger ones, from big values, are freed).
const SCRATCH_KEEP: usize = 64 << 10;

/// The log id of entry `index` of a single-member group.
pub fn solo_log_id(index: u64) -> LogId {
    LogId::new(
        <LeaderIdOf<SlotRaft> as RaftLeaderIdExt>::new_committed(SOLO_TERM, SOLO_NODE_ID),
        index,
    )
}

/// `openraft::Entry<SlotRaft>`'s serde shape, borrowing the entry instead of owning it (the
/// round-trip test below pins that both encode identically).
#[derive(Serialize)]
struct EntryRef<'a> {
    log_id: &'a LogId,
    payload: PayloadRef<'a>,
}

#[derive(Serialize)]
enum PayloadRef<'a> {
    #[allow(dead_code)]
    Blank,
    Normal(WireRef<'a>),
}

/// [`WireEntry`]'s shape, borrowing.
#[derive(Serialize)]
enum WireRef<'a> {
    V1(&'a LogEntry),
}

/// Encodes `entry` as entry `index` of its slot's log (openraft's `Entry` format), appended to `buf`
/// (returned).
fn encode_entry_into(entry: &LogEntry, index: u64, buf: Vec<u8>) -> Result<Vec<u8>, LogError> {
    let log_id = solo_log_id(index);
    let e = EntryRef {
        log_id: &log_id,
        payload: PayloadRef::Normal(WireRef::V1(entry)),
    };
    postcard::to_extend(&e, buf).map_err(|err| LogError::Encode {
        slot: entry.slot.0,
        index,
        reason: err.to_string(),
    })
}

fn decode_entry(slot: u16, e: &Entry) -> Result<RaftEntry, LogError> {
    postcard::from_bytes::<RaftEntry>(&e.payload).map_err(|err| LogError::Decode {
        slot,
        index: e.index,
        reason: err.to_string(),
    })
}

fn encode_log_id(id: &LogId) -> Bytes {
    Bytes::from(postcard::to_allocvec(id).expect("a log id always encodes"))
}

/// A log id as stored in the slot's applied key (postcard, on the stack: this runs for every write).
pub fn applied_value(id: &LogId) -> smallvec::SmallVec<[u8; 32]> {
    let mut buf = [0u8; 32];
    let n = postcard::to_slice(id, &mut buf)
        .expect("a log id encodes in 32 bytes")
        .len();
    smallvec::SmallVec::from_slice(&buf[..n])
}

/// The last applied log id of `slot` in `store`.
pub fn applied(store: &Store, slot: SlotId) -> Result<Option<LogId>, LogError> {
    match store.applied_raw(slot)? {
        None => Ok(None),
        Some(raw) => postcard::from_bytes(&raw)
            .map(Some)
            .map_err(|e| LogError::Decode {
                slot: slot.0,
                index: 0,
                reason: format!("applied log id: {e}"),
            }),
    }
}

/// Re-applies one logged entry of `slot` (its reply has no one to go to).
fn apply_logged(store: &Store, slot: u16, e: &Entry) -> Result<(), LogError> {
    let sid = SlotId(slot);
    let raft = decode_entry(slot, e)?;
    let applied = applied_value(&raft.log_id);
    let mut w = match &raft.payload {
        EntryPayload::Normal(WireEntry::V1(entry)) => {
            if entry.slot != sid {
                return Err(LogError::WrongSlot {
                    slot,
                    index: e.index,
                    named: entry.slot.0,
                });
            }
            let mut w = SlotWriter::new(store, sid, entry.db, entry.now_ms);
            // An entry that fails leaves nothing written, as when it was first applied.
            let _ = statemachine::apply(entry, &mut w);
            w
        }
        EntryPayload::Blank | EntryPayload::Membership(_) => SlotWriter::new(store, sid, 0, 0),
    };
    w.set_applied(&applied);
    w.commit()?;
    Ok(())
}

impl CoreLog {
    /// Opens (creating if needed) the log of the core owning `slots`.
    pub async fn open(
        dir: &Path,
        opts: EngineOptions,
        slots: Range<u16>,
    ) -> Result<CoreLog, LogError> {
        let engine = Engine::open(dir, opts).await?;
        let n = (slots.end - slots.start) as usize;
        let log = CoreLog {
            engine,
            last: (0..n).map(|_| Cell::new(0)).collect(),
            purged: (0..n).map(|_| Cell::new(0)).collect(),
            slots,
            since_purge: Cell::new(0),
            last_len: Cell::new(0),
            scratch: RefCell::new(Vec::new()),
        };
        for slot in log.slots.clone() {
            let gs = log.engine.group_state(slot as u32);
            let purged = gs.purged.as_ref().map_or(0, |p| p.index);
            let last = gs.last.map_or(purged, |(i, _)| i.max(purged));
            let i = log.at(SlotId(slot));
            log.last[i].set(last);
            log.purged[i].set(purged);
        }
        Ok(log)
    }

    #[inline]
    fn at(&self, slot: SlotId) -> usize {
        debug_assert!(self.slots.contains(&slot.0));
        (slot.0 - self.slots.start) as usize
    }

    /// The engine (statistics, durability tickets, fsync).
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Index the next entry of `slot` gets.
    #[inline]
    pub fn next_index(&self, slot: SlotId) -> u64 {
        self.last[self.at(slot)].get() + 1
    }

    /// Stages `entry` as the next entry of its slot's log: readable at once, durable when the
    /// returned batch is (see [`Engine::wait_batch`]). Returns the entry's index and batch.
    pub fn append(&self, entry: &LogEntry) -> Result<(u64, u64), LogError> {
        let slot = entry.slot;
        let index = self.next_index(slot);
        let mut buf = self.scratch.take();
        buf.clear();
        let payload = encode_entry_into(entry, index, buf)?;
        let payload_len = payload.len() as u64;
        self.since_purge.set(self.since_purge.get() + payload_len);
        let staged = self
            .engine
            .append_staged_slice(slot.0 as u32, index, SOLO_TERM, &payload);
        // A huge entry's buffer is not kept.
        if payload.capacity() <= SCRATCH_KEEP {
            self.scratch.replace(payload);
        }
        let ticket = staged?;
        self.last[self.at(slot)].set(index);
        self.last_len.set(payload_len);
        Ok((index, ticket.batch()))
    }

    /// Withdraws the last entry of `slot`, appended as `index`, whose apply failed: the log is truncated
    /// back to before it (on disk too, once the returned batch is durable), so a restart does not replay
    /// a write whose client was told it failed. The next entry of the slot reuses the index.
    pub fn withdraw(&self, slot: SlotId, index: u64) -> Result<u64, LogError> {
        debug_assert_eq!(self.next_index(slot), index + 1);
        let ticket = self.engine.truncate(slot.0 as u32, index)?;
        self.last[self.at(slot)].set(index - 1);
        self.since_purge
            .set(self.since_purge.get().saturating_sub(self.last_len.get()));
        Ok(ticket.batch())
    }

    /// Payload bytes appended since the last purge.
    pub fn unpurged_bytes(&self) -> u64 {
        self.since_purge.get()
    }

    /// Re-applies, for every slot, the entries after its applied index. Runs at start-up, before
    /// the core serves anything.
    pub async fn replay(&self, store: &Store) -> Result<ReplayReport, LogError> {
        let mut report = ReplayReport::default();
        // Per slot: the next index expected (gaps are errors, never skipped).
        let mut expect = vec![0u64; self.last.len()];
        let mut wanted = Vec::new();
        for slot in self.slots.clone() {
            let sid = SlotId(slot);
            let i = self.at(sid);
            let applied = applied(store, sid)?.map_or(0, |id| id.index);
            let last = self.last[i].get();
            if applied > last {
                // RocksDB kept entries the log lost (never acknowledged): continue after them.
                report.ahead += 1;
                let marker = encode_log_id(&solo_log_id(applied));
                drop(self.engine.purge(slot as u32, applied, SOLO_TERM, marker)?);
                self.last[i].set(applied);
                self.purged[i].set(applied);
            } else if applied < last {
                report.slots += 1;
                expect[i] = applied + 1;
                wanted.push((slot as u32, applied + 1..last + 1));
            }
        }
        // One sequential pass over the log, in the order the entries were written.
        self.engine
            .read_in_log_order(&wanted, |group, e| {
                let slot = group as u16;
                let i = self.at(SlotId(slot));
                if e.index != expect[i] {
                    return Err(LogError::Gap {
                        slot,
                        expected: expect[i],
                        found: e.index,
                    });
                }
                expect[i] += 1;
                report.entries += 1;
                apply_logged(store, slot, &e)
            })
            .await
            .map_err(|e| match e {
                ReadManyError::Engine(e) => LogError::Engine(e),
                ReadManyError::Callback(e) => e,
            })?;
        for (group, range) in &wanted {
            let i = self.at(SlotId(*group as u16));
            if expect[i] != range.end {
                return Err(LogError::Gap {
                    slot: *group as u16,
                    expected: expect[i],
                    found: range.end,
                });
            }
        }
        // Replayed FLUSHes leave their memtable switch owed, as the command makes it after its last slot.
        store.switch_if_owed().map_err(LogError::from)?;
        Ok(report)
    }

    /// Every slot's last index, for a purge after the next complete memtable flush.
    pub fn purge_marks(&self) -> Vec<(SlotId, u64)> {
        self.slots
            .clone()
            .filter_map(|slot| {
                let i = (slot - self.slots.start) as usize;
                let last = self.last[i].get();
                (last > self.purged[i].get()).then_some((SlotId(slot), last))
            })
            .collect()
    }

    /// Drops the entries up to each mark: call only once RocksDB holds them on disk (a memtable
    /// flush that started after [`CoreLog::purge_marks`] finished).
    pub fn purge(&self, marks: &[(SlotId, u64)], bytes_covered: u64) -> Result<(), LogError> {
        for &(slot, upto) in marks {
            let i = self.at(slot);
            if upto <= self.purged[i].get() {
                continue;
            }
            let marker = encode_log_id(&solo_log_id(upto));
            drop(self.engine.purge(slot.0 as u32, upto, SOLO_TERM, marker)?);
            self.purged[i].set(upto);
        }
        self.since_purge
            .set(self.since_purge.get().saturating_sub(bytes_covered));
        Ok(())
    }

    /// Writes everything pending and closes the engine.
    pub async fn close(self) -> Result<(), LogError> {
        self.engine.close().await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cmd::strings::StringOp;
    use crate::statemachine::Mutation;

    #[test]
    fn borrowed_encoding_is_openraft_entry_encoding() {
        let entry = LogEntry {
            slot: SlotId(42),
            db: 3,
            now_ms: 1_700_000_000_123,
            mutation: Mutation::String(StringOp::IncrBy(crate::cmd::strings::IncrByOp {
                key: Bytes::from_static(b"counter"),
                by: -7,
            })),
        };
        let ours = encode_entry_into(&entry, 99, Vec::new()).unwrap();
        let owned = RaftEntry {
            log_id: solo_log_id(99),
            payload: EntryPayload::Normal(WireEntry::V1(entry.clone())),
        };
        assert_eq!(&ours[..], &postcard::to_allocvec(&owned).unwrap()[..]);
        let back = decode_entry(
            42,
            &Entry {
                index: 99,
                term: 1,
                payload: ours.into(),
            },
        )
        .unwrap();
        assert_eq!(back.log_id, solo_log_id(99));
        match back.payload {
            EntryPayload::Normal(WireEntry::V1(e)) => assert_eq!(e, entry),
            other => panic!("unexpected payload {other:?}"),
        }
    }
}
