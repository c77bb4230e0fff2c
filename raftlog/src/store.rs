//! openraft's log storage for one Raft group over the shared [`Engine`].
//!
//! Each slot's `Raft` gets a [`LogStore`] naming its group; all of a core's stores share the
//! core's engine, so their appends, votes and markers ride the same group commits. The store is
//! also its own log reader: readers are just clones (an `Rc` and a group id), and they see every
//! append at once because the engine's index is shared.
//!
//! Encoding: entries, votes and log ids are openraft's own serde types, encoded with postcard.
//! postcard is compact (varints, no field names), fast, has a stable wire format since 1.0, and
//! handles everything openraft serializes (openraft keeps its types friendly to non
//! self-describing formats). The engine's per-record `term` is not used by this adapter (openraft
//! terms are generic and its log ids live inside the encoded entry), so it is written as 0.
//!
//! Durability mapping:
//! - `append`: staged (readable) before returning; openraft's `IOFlushed` callback runs from the
//!   flusher right after the fsync that covers the entries.
//! - `save_vote`, `save_committed`: return after their fsync.
//! - `truncate_after`, `purge`: staged; they become durable with the next write (the log is
//!   ordered, so any later durable append implies them). A lost truncation or purge after a crash
//!   leaves only entries openraft already handles (a longer log, or a not yet purged prefix).

use std::fmt::Debug;
use std::io;
use std::marker::PhantomData;
use std::ops::{Bound, Range, RangeBounds};

use bytes::Bytes;
use openraft::entry::RaftEntry;
use openraft::storage::{IOFlushed, LogState, RaftLogReader, RaftLogStorage};
use openraft::type_config::alias::{LogIdOf, VoteOf};
use openraft::{OptionalSend, RaftTypeConfig};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::engine::{Engine, Entry, GroupId};

/// Upper bound on the payload bytes one `limited_get_log_entries` call returns.
const LIMITED_READ_BYTES: usize = 4 << 20;

/// openraft `RaftLogStorage` + `RaftLogReader` for one group of an [`Engine`].
pub struct LogStore<C: RaftTypeConfig> {
    engine: Engine,
    group: GroupId,
    _types: PhantomData<C>,
}

impl<C: RaftTypeConfig> Clone for LogStore<C> {
    fn clone(&self) -> Self {
        Self {
            engine: self.engine.clone(),
            group: self.group,
            _types: PhantomData,
        }
    }
}

impl<C: RaftTypeConfig> Debug for LogStore<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogStore")
            .field("group", &self.group)
            .finish()
    }
}

impl<C: RaftTypeConfig> LogStore<C> {
    /// The log of `group` in `engine`.
    pub fn new(engine: Engine, group: GroupId) -> Self {
        Self {
            engine,
            group,
            _types: PhantomData,
        }
    }

    /// The shared engine.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The group this store serves.
    pub fn group(&self) -> GroupId {
        self.group
    }
}

fn encode<T: Serialize>(v: &T) -> io::Result<Bytes> {
    postcard::to_allocvec(v).map(Bytes::from).map_err(|e| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("raftlog: cannot encode: {e}"),
        )
    })
}

fn decode<T: DeserializeOwned>(b: &[u8]) -> io::Result<T> {
    postcard::from_bytes(b).map_err(|e| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("raftlog: cannot decode: {e}"),
        )
    })
}

fn to_range(r: &impl RangeBounds<u64>) -> Range<u64> {
    let start = match r.start_bound() {
        Bound::Included(&s) => s,
        Bound::Excluded(&s) => s.saturating_add(1),
        Bound::Unbounded => 0,
    };
    let end = match r.end_bound() {
        Bound::Included(&e) => e.saturating_add(1),
        Bound::Excluded(&e) => e,
        Bound::Unbounded => u64::MAX,
    };
    start..end
}

impl<C: RaftTypeConfig> LogStore<C> {
    fn decode_entries(entries: Vec<Entry>) -> io::Result<Vec<C::Entry>> {
        entries.iter().map(|e| decode(&e.payload)).collect()
    }
}

impl<C: RaftTypeConfig> RaftLogReader<C> for LogStore<C> {
    async fn try_get_log_entries<RB: RangeBounds<u64> + Clone + Debug + OptionalSend>(
        &mut self,
        range: RB,
    ) -> Result<Vec<C::Entry>, io::Error> {
        let entries = self.engine.read(self.group, to_range(&range)).await?;
        Self::decode_entries(entries)
    }

    async fn read_vote(&mut self) -> Result<Option<VoteOf<C>>, io::Error> {
        self.engine
            .group_state(self.group)
            .vote
            .map(|b| decode(&b))
            .transpose()
    }

    async fn limited_get_log_entries(
        &mut self,
        start: u64,
        end: u64,
    ) -> Result<Vec<C::Entry>, io::Error> {
        let entries = self
            .engine
            .read_limited(self.group, start..end, LIMITED_READ_BYTES)
            .await?;
        Self::decode_entries(entries)
    }
}

impl<C: RaftTypeConfig> RaftLogStorage<C> for LogStore<C> {
    type LogReader = Self;

    async fn get_log_state(&mut self) -> Result<LogState<C>, io::Error> {
        let gs = self.engine.group_state(self.group);
        let last_purged_log_id: Option<LogIdOf<C>> =
            gs.purged.map(|p| decode(&p.marker)).transpose()?;
        let last_log_id = match gs.last {
            None => last_purged_log_id.clone(),
            Some((index, _)) => {
                let got = self.engine.read(self.group, index..index + 1).await?;
                let Some(e) = got.first() else {
                    return Err(io::Error::other(format!(
                        "raftlog: group {}: last entry {index} vanished while reading the log state",
                        self.group
                    )));
                };
                let entry: C::Entry = decode(&e.payload)?;
                Some(entry.log_id())
            }
        };
        Ok(LogState {
            last_purged_log_id,
            last_log_id,
        })
    }

    async fn get_log_reader(&mut self) -> Self::LogReader {
        self.clone()
    }

    async fn save_vote(&mut self, vote: &VoteOf<C>) -> Result<(), io::Error> {
        self.engine.save_vote(self.group, encode(vote)?).await?;
        Ok(())
    }

    async fn save_committed(&mut self, committed: Option<LogIdOf<C>>) -> Result<(), io::Error> {
        self.engine
            .save_committed(self.group, encode(&committed)?)
            .await?;
        Ok(())
    }

    async fn read_committed(&mut self) -> Result<Option<LogIdOf<C>>, io::Error> {
        match self.engine.group_state(self.group).committed {
            Some(b) => decode::<Option<LogIdOf<C>>>(&b),
            None => Ok(None),
        }
    }

    async fn append<I>(&mut self, entries: I, callback: IOFlushed<C>) -> Result<(), io::Error>
    where
        I: IntoIterator<Item = C::Entry> + OptionalSend,
        I::IntoIter: OptionalSend,
    {
        let encoded = entries
            .into_iter()
            .map(|e| {
                Ok(Entry {
                    index: e.index(),
                    term: 0,
                    payload: encode(&e)?,
                })
            })
            .collect::<io::Result<Vec<_>>>()?;
        let durable = self.engine.append_staged(self.group, encoded)?;
        durable.on_complete(move |res| callback.io_completed(res.map_err(io::Error::from)));
        Ok(())
    }

    async fn truncate_after(&mut self, last_log_id: Option<LogIdOf<C>>) -> Result<(), io::Error> {
        let from = last_log_id.map_or(0, |l| l.index() + 1);
        // Durable with the next write; see the module docs.
        drop(self.engine.truncate(self.group, from)?);
        Ok(())
    }

    async fn purge(&mut self, log_id: LogIdOf<C>) -> Result<(), io::Error> {
        let marker = encode(&log_id)?;
        drop(self.engine.purge(self.group, log_id.index(), 0, marker)?);
        Ok(())
    }
}
