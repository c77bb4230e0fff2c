//! Keyspace commands: work on keys whatever their type.
//!
//! Writes are [`KeyOp`] mutations, applied through a [`SlotWriter`] against one slot of one database, so they
//! mean the same wherever and whenever they are applied. Commands whose keys can sit on two cores (RENAME,
//! RENAMENX, COPY) use the cross-core helpers of [`remote`]; node-wide commands (KEYS, SCAN, RANDOMKEY,
//! DBSIZE, FLUSHDB, FLUSHALL) answer for "this core's slots" in `local` and merge the cores in `spread`.

mod copy;
mod dbsize;
mod del;
mod exists;
mod expire;
mod flush;
mod keys_cmd;
mod object;
pub mod pattern;
mod persist;
mod randomkey;
pub mod remote;
mod rename;
pub mod scan;
mod touch;
mod ttl;
mod type_cmd;
mod unlink;

pub use expire::ExpireCond;
pub use scan::ScanCursors;

use bytes::Bytes;
use resp::Reply;

use super::{flags::*, CmdError, CommandSpec, KeySpec};
use crate::slot::SlotId;
use crate::statemachine::SlotWriter;
use crate::storage::collection::Value;

/// Deterministic writes of the keyspace family.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum KeyOp {
    /// DEL / UNLINK: reply is the number of keys that existed.
    Del { keys: Vec<Bytes> },
    /// The active expiry cycle: `(index key, deadline, key)` entries found due. A key is deleted only if its
    /// record still carries that deadline and the deadline has passed by the entry's clock.
    ExpireDue { entries: Vec<(Bytes, u64, Bytes)> },
    /// EXPIRE and friends: `when` is the absolute deadline (Unix ms, may be negative or in the past, which
    /// deletes the key); the condition is checked against the stored deadline. Reply 1 or 0.
    Expire {
        key: Bytes,
        when: i64,
        cond: ExpireCond,
    },
    /// PERSIST: reply 1 if a deadline was removed.
    Persist { key: Bytes },
    /// RENAME / RENAMENX with both keys in this slot. Reply OK (or 1/0 for NX); `ERR no such key` when the
    /// source is missing.
    Rename { src: Bytes, dst: Bytes, nx: bool },
    /// Stores a whole key, members included (the write half of COPY, and of RENAME across slots). With
    /// `replace` false an existing live key wins and the reply is 0; otherwise the reply is 1. A collection
    /// gets a fresh version in its new place.
    Restore {
        key: Bytes,
        value: Value,
        replace: bool,
    },
    /// The delete half of a cross-core RENAME: deletes `key` only if it still holds exactly `expect`,
    /// members included (a value written in between is kept). Reply 1 if deleted.
    DelIfUnchanged { key: Bytes, expect: Value },
    /// FLUSHDB (`all` false: the entry's database) and FLUSHALL (`all` true: every database) for one slot.
    Flush { all: bool },
}

impl KeyOp {
    pub fn apply(&self, w: &mut SlotWriter<'_>) -> Result<Reply, CmdError> {
        match self {
            KeyOp::Del { keys } => del::apply(keys, w),
            KeyOp::ExpireDue { entries } => {
                // Each entry's record is deleted if it still carries that deadline and the deadline has
                // passed by the entry's clock. The index is exact (puts and deletes maintain it), so an
                // entry whose record is gone, or carries another deadline, means the compaction filter
                // dropped the expired record first: settle the count and the entry.
                let mut n = 0;
                for (index_key, deadline, key) in entries {
                    match w.get_stored(key)? {
                        Some(rec) if rec.expire_at == *deadline => {
                            if rec.is_expired(w.now_ms) {
                                w.delete(key)?;
                                n += 1;
                            }
                        }
                        _ => w.settle_dropped(index_key)?,
                    }
                }
                Ok(Reply::Integer(n))
            }
            KeyOp::Expire { key, when, cond } => expire::apply(key, *when, *cond, w),
            KeyOp::Persist { key } => persist::apply(key, w),
            KeyOp::Rename { src, dst, nx } => rename::apply(src, dst, *nx, w),
            KeyOp::Restore {
                key,
                value,
                replace,
            } => {
                if !replace && w.get(key)?.is_some() {
                    return Ok(Reply::Integer(0));
                }
                if value.record.is_expired(w.now_ms) {
                    w.delete(key)?;
                } else {
                    w.put_value(key, value)?;
                }
                Ok(Reply::Integer(1))
            }
            KeyOp::DelIfUnchanged { key, expect } => {
                let same = match w.get_stored(key)? {
                    Some(rec) if rec == expect.record => {
                        w.store().members_of(w.slot, w.db, key, &rec)? == expect.members
                    }
                    _ => false,
                };
                Ok(Reply::Integer((same && w.delete(key)?) as i64))
            }
            KeyOp::Flush { all } => {
                w.delete_all(if *all { None } else { Some(w.db) });
                Ok(Reply::Ok)
            }
        }
    }
}

/// Groups keys by slot, keeping first-seen order: one mutation per slot.
pub fn group_by_slot<'a>(keys: impl Iterator<Item = &'a Bytes>) -> Vec<(SlotId, Vec<Bytes>)> {
    let mut groups: Vec<(SlotId, Vec<Bytes>)> = Vec::new();
    for k in keys {
        let slot = SlotId::of_key(k);
        match groups.iter_mut().find(|(s, _)| *s == slot) {
            Some((_, v)) => v.push(k.clone()),
            None => groups.push((slot, vec![k.clone()])),
        }
    }
    groups
}

super::family_spec!("generic");

pub static COMMANDS: &[CommandSpec] = &[
    spec(
        "del",
        -2,
        WRITE,
        KeySpec::ALL,
        del::local,
        Some(del::spread),
        "Deletes one or more keys.",
        "1.0.0",
    ),
    spec(
        "unlink",
        -2,
        WRITE | FAST,
        KeySpec::ALL,
        unlink::local,
        Some(unlink::spread),
        "Asynchronously deletes one or more keys.",
        "4.0.0",
    ),
    spec(
        "exists",
        -2,
        READONLY | FAST,
        KeySpec::ALL,
        exists::local,
        Some(exists::spread),
        "Determines whether one or more keys exist.",
        "1.0.0",
    ),
    spec(
        "touch",
        -2,
        READONLY | FAST,
        KeySpec::ALL,
        touch::local,
        Some(touch::spread),
        "Returns the number of existing keys out of those specified after updating the time they were last accessed.",
        "3.2.1",
    ),
    spec(
        "type",
        2,
        READONLY | FAST,
        KeySpec::ONE,
        type_cmd::local,
        None,
        "Determines the type of value stored at a key.",
        "1.0.0",
    ),
    spec(
        "expire",
        -3,
        WRITE | FAST,
        KeySpec::ONE,
        expire::expire,
        None,
        "Sets the expiration time of a key in seconds.",
        "1.0.0",
    ),
    spec(
        "pexpire",
        -3,
        WRITE | FAST,
        KeySpec::ONE,
        expire::pexpire,
        None,
        "Sets the expiration time of a key in milliseconds.",
        "2.6.0",
    ),
    spec(
        "expireat",
        -3,
        WRITE | FAST,
        KeySpec::ONE,
        expire::expireat,
        None,
        "Sets the expiration time of a key to a Unix timestamp.",
        "1.2.0",
    ),
    spec(
        "pexpireat",
        -3,
        WRITE | FAST,
        KeySpec::ONE,
        expire::pexpireat,
        None,
        "Sets the expiration time of a key to a Unix milliseconds timestamp.",
        "2.6.0",
    ),
    spec(
        "ttl",
        2,
        READONLY | FAST,
        KeySpec::ONE,
        ttl::ttl,
        None,
        "Returns the expiration time in seconds of a key.",
        "1.0.0",
    ),
    spec(
        "pttl",
        2,
        READONLY | FAST,
        KeySpec::ONE,
        ttl::pttl,
        None,
        "Returns the expiration time in milliseconds of a key.",
        "2.6.0",
    ),
    spec(
        "expiretime",
        2,
        READONLY | FAST,
        KeySpec::ONE,
        ttl::expiretime,
        None,
        "Returns the expiration time of a key as a Unix timestamp.",
        "7.0.0",
    ),
    spec(
        "pexpiretime",
        2,
        READONLY | FAST,
        KeySpec::ONE,
        ttl::pexpiretime,
        None,
        "Returns the expiration time of a key as a Unix milliseconds timestamp.",
        "7.0.0",
    ),
    spec(
        "persist",
        2,
        WRITE | FAST,
        KeySpec::ONE,
        persist::local,
        None,
        "Removes the expiration time of a key.",
        "2.2.0",
    ),
    spec(
        "rename",
        3,
        WRITE,
        KeySpec::TWO,
        rename::rename,
        Some(rename::spread),
        "Renames a key and overwrites the destination.",
        "1.0.0",
    ),
    spec(
        "renamenx",
        3,
        WRITE | FAST,
        KeySpec::TWO,
        rename::renamenx,
        Some(rename::spread),
        "Renames a key only when the target key name doesn't exist.",
        "1.0.0",
    ),
    spec(
        "copy",
        -3,
        WRITE | DENYOOM,
        KeySpec::TWO,
        copy::local,
        Some(copy::spread),
        "Copies the value of a key to a new key.",
        "6.2.0",
    ),
    spec(
        "keys",
        2,
        READONLY | NODE_WIDE,
        KeySpec::NONE,
        keys_cmd::local,
        Some(keys_cmd::spread),
        "Returns all key names that match a pattern.",
        "1.0.0",
    ),
    spec(
        "scan",
        -2,
        READONLY | NODE_WIDE,
        KeySpec::NONE,
        scan::local,
        Some(scan::spread),
        "Iterates over the key names in the database.",
        "2.8.0",
    ),
    spec(
        "randomkey",
        1,
        READONLY | NODE_WIDE,
        KeySpec::NONE,
        randomkey::local,
        Some(randomkey::spread),
        "Returns a random key name from the database.",
        "1.0.0",
    ),
    CommandSpec::new(
        "server",
        "dbsize",
        1,
        READONLY | FAST | NODE_WIDE,
        KeySpec::NONE,
        dbsize::local,
        Some(dbsize::spread),
        "Returns the number of keys in the database.",
        "1.0.0",
    ),
    CommandSpec::new(
        "server",
        "flushdb",
        -1,
        WRITE | NODE_WIDE,
        KeySpec::NONE,
        flush::flushdb,
        Some(flush::spread),
        "Remove all keys from the current database.",
        "1.0.0",
    ),
    CommandSpec::new(
        "server",
        "flushall",
        -1,
        WRITE | NODE_WIDE,
        KeySpec::NONE,
        flush::flushall,
        Some(flush::spread),
        "Removes all keys from all databases.",
        "1.0.0",
    ),
    object::COMMAND,
];
