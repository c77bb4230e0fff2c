//! Keyspace commands: work on keys whatever their type.

mod del;
mod exists;

use bytes::Bytes;
use resp::Reply;

use super::{flags::*, CmdError, CommandSpec, KeySpec};
use crate::slot::SlotId;
use crate::statemachine::SlotWriter;

/// Deterministic writes of the keyspace family.
#[derive(Debug, Clone, PartialEq)]
pub enum KeyOp {
    /// DEL / UNLINK: reply is the number of keys that existed.
    Del { keys: Vec<Bytes> },
    /// The active expiry cycle: `(index key, deadline, key)` entries found due. A key is deleted only if its
    /// record still carries that deadline and the deadline has passed by the entry's clock.
    ExpireDue { entries: Vec<(Bytes, u64, Bytes)> },
}

impl KeyOp {
    pub fn apply(&self, w: &mut SlotWriter<'_>) -> Result<Reply, CmdError> {
        match self {
            KeyOp::Del { keys } => del::apply(keys, w),
            KeyOp::ExpireDue { entries } => {
                let mut n = 0;
                for (index_key, deadline, key) in entries {
                    if let Some(rec) = w.get_stored(key)? {
                        if rec.expire_at == *deadline && rec.is_expired(w.now_ms) {
                            w.delete(key)?;
                            n += 1;
                        }
                    }
                    w.delete_expire_entry(index_key);
                }
                Ok(Reply::Integer(n))
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

const fn spec(
    name: &'static str,
    arity: i32,
    flags: u32,
    keys: KeySpec,
    local: super::LocalFn,
    spread: Option<super::SpreadFn>,
    summary: &'static str,
    since: &'static str,
) -> CommandSpec {
    CommandSpec {
        name,
        arity,
        flags,
        keys,
        local,
        spread,
        summary,
        since,
        group: "generic",
        subcommands: &[],
    }
}

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
        "exists",
        -2,
        READONLY | FAST,
        KeySpec::ALL,
        exists::local,
        Some(exists::spread),
        "Determines whether one or more keys exist.",
        "1.0.0",
    ),
];
