//! The inputs of ZUNION, ZINTER, ZDIFF, ZINTERCARD and their STORE forms: sorted sets, or plain sets
//! whose members all score 1 (as in Redis).
//!
//! An input on this core is walked in full only when the algorithm needs all of it (the union; the first,
//! smallest input of an intersection or difference) and otherwise probed by point reads. An input on
//! another core is read whole there, in one mesh call per core ([`fetch`]), and probed through an index
//! built on first use.

use std::cell::OnceCell;

use ahash::AHashMap;
use bytes::Bytes;

use super::read::{Scored, ZSet};
use crate::cmd::collection::{slot_of, Loaded};
use crate::cmd::keys::remote;
use crate::cmd::{CmdError, Spread};
use crate::slot::SlotId;
use crate::storage::collection::{CollectionMeta, Family};
use crate::storage::record::{Record, ValueType};
use crate::storage::{StorageError, Store};

/// One input as read: its size, and how to walk and probe it.
pub enum Source<'a> {
    Missing,
    /// On this core's store: walked in full, probed by point reads.
    Stored {
        store: &'a Store,
        slot: SlotId,
        db: u8,
        key: &'a [u8],
        loaded: Loaded,
    },
    /// Read whole on another core; probed through an index built on first use.
    Fetched {
        members: Vec<Scored>,
        index: OnceCell<AHashMap<Bytes, f64>>,
    },
}

impl Source<'_> {
    pub fn len(&self) -> u64 {
        match self {
            Source::Missing => 0,
            Source::Stored { loaded, .. } => loaded.meta.count,
            Source::Fetched { members, .. } => members.len() as u64,
        }
    }

    /// Every member and score (1 for a plain set's members).
    pub fn all(&self) -> Result<Vec<Scored>, CmdError> {
        match self {
            Source::Missing => Ok(Vec::new()),
            Source::Stored {
                store,
                slot,
                db,
                key,
                loaded,
            } => read_all(store, *slot, *db, key, loaded),
            Source::Fetched { members, .. } => Ok(members.clone()),
        }
    }

    pub fn find(&self, member: &[u8]) -> Result<Option<f64>, CmdError> {
        match self {
            Source::Missing => Ok(None),
            Source::Stored {
                store,
                slot,
                db,
                key,
                loaded,
            } => {
                if loaded.record.vtype == ValueType::ZSet {
                    ZSet::new(store, *slot, *db, key, loaded).score_of(member)
                } else {
                    let v =
                        store.get_member(Family::Sub, *slot, *db, key, loaded.version(), member)?;
                    Ok(v.map(|_| 1.0))
                }
            }
            Source::Fetched { members, index } => Ok(index
                .get_or_init(|| members.iter().cloned().collect())
                .get(member)
                .copied()),
        }
    }
}

/// An input's record as a sorted set or plain set (WRONGTYPE for anything else).
pub fn input(rec: Option<Record>) -> Result<Option<Loaded>, CmdError> {
    match rec {
        None => Ok(None),
        Some(r) if r.vtype != ValueType::ZSet && r.vtype != ValueType::Set => {
            Err(CmdError::WrongType)
        }
        Some(record) => {
            let meta = CollectionMeta::of(&record).map_err(StorageError::from)?;
            Ok(Some(Loaded { record, meta }))
        }
    }
}

/// Every member of a stored input: a sorted set's in score order, a set's with score 1.
pub fn read_all(
    store: &Store,
    slot: SlotId,
    db: u8,
    key: &[u8],
    loaded: &Loaded,
) -> Result<Vec<Scored>, CmdError> {
    if loaded.record.vtype == ValueType::ZSet {
        return ZSet::new(store, slot, db, key, loaded).all();
    }
    let mut out = Vec::with_capacity(loaded.meta.count.min(1 << 20) as usize);
    let mut c = store.member_cursor(Family::Sub, slot, db, key, loaded.version());
    c.seek_to_first();
    while c.valid() {
        out.push((Bytes::copy_from_slice(c.member()), 1.0));
        c.next();
    }
    c.status()?;
    Ok(out)
}

/// An input read whole on its core: `None` for a missing key.
pub type Fetched = Result<Option<Vec<Scored>>, CmdError>;

/// Reads `keys` on their cores (one call per core), in key order.
pub async fn fetch(s: &Spread, keys: &[Bytes], types_only: bool) -> Vec<Fetched> {
    let layout = &s.shard.node.layout;
    let mut by_core: Vec<(usize, Vec<usize>)> = Vec::new();
    for (i, k) in keys.iter().enumerate() {
        let core = layout.core_of(slot_of(k));
        match by_core.iter_mut().find(|(c, _)| *c == core) {
            Some((_, v)) => v.push(i),
            None => by_core.push((core, vec![i])),
        }
    }
    let mut out: Vec<Option<Fetched>> = (0..keys.len()).map(|_| None).collect();
    for (core, idx) in by_core {
        let want: Vec<Bytes> = idx.iter().map(|&i| keys[i].clone()).collect();
        let (db, now) = (s.db, s.now_ms);
        let got = remote::with_core(&s.shard, core, move |shard| {
            want.iter()
                .map(|k| {
                    let slot = slot_of(k);
                    let Some(l) = input(shard.store.get_live(slot, db, k, now)?)? else {
                        return Ok(None);
                    };
                    if types_only {
                        return Ok(Some(Vec::new()));
                    }
                    read_all(&shard.store, slot, db, k, &l).map(Some)
                })
                .collect::<Vec<Fetched>>()
        })
        .await;
        for (i, f) in idx.into_iter().zip(got) {
            out[i] = Some(f);
        }
    }
    out.into_iter().map(|f| f.unwrap_or(Ok(None))).collect()
}
