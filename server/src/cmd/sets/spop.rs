//! SPOP key [count] — the members are chosen here, by the proposer ([`super::sample`]: no whole-set read
//! unless the set is small or the count a large share of it); the [`SetOp::Pop`] mutation then removes
//! exactly those members, so applying it involves no randomness. Reading and proposing happen back to
//! back on the owning core, so the chosen members are still there when the mutation applies. A count at
//! least the set's size pops the whole set ([`SetOp::PopAll`]: the key goes, members orphaned by version).
//!
//! Replies as Redis 7.0: without a count, the member or nil; with a count, a set (RESP3 `~`), empty for a
//! missing key or a count of 0.

use bytes::Bytes;
use resp::Reply;

use super::algebra::{self, open};
use super::{sample, SetOp};
use crate::cmd::args::parse_i64_opt;
use crate::cmd::collection;
use crate::cmd::{CmdError, Ctx};
use crate::statemachine::{Mutation, SlotWriter};
use crate::storage::record::ValueType;

pub fn local(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CmdError> {
    if args.len() > 3 {
        return Err(CmdError::Syntax);
    }
    let key = &args[1];
    let count = match args.get(2) {
        None => None,
        Some(a) => Some(
            parse_i64_opt(a)
                .filter(|n| *n >= 0)
                .ok_or_else(|| CmdError::msg("ERR value is out of range, must be positive"))?,
        ),
    };
    let store = &ctx.shard.store;
    let Some(set) = open(store, ctx.db, ctx.now_ms, key)? else {
        return Ok(match count {
            Some(_) => Reply::Set(Vec::new()),
            None => Reply::Null,
        });
    };
    let op = match count {
        Some(0) => return Ok(Reply::Set(Vec::new())),
        Some(n) if n as u64 >= set.count => SetOp::PopAll { key: key.clone() },
        Some(n) => SetOp::Pop {
            key: key.clone(),
            members: sample::distinct(store, ctx.db, &set, n as usize, &mut rand::thread_rng())?,
            count: true,
        },
        None => SetOp::Pop {
            key: key.clone(),
            members: sample::distinct(store, ctx.db, &set, 1, &mut rand::thread_rng())?,
            count: false,
        },
    };
    ctx.propose(ctx.slot_of(key), Mutation::Set(op))
}

/// Removes the named members that are present.
pub fn apply(
    key: &Bytes,
    members: &[Bytes],
    count: bool,
    w: &mut SlotWriter<'_>,
) -> Result<Reply, CmdError> {
    let removed = super::srem::remove(key, members, w)?;
    Ok(if count {
        Reply::Set(removed.into_iter().map(Reply::Bulk).collect())
    } else {
        removed.into_iter().next().map_or(Reply::Null, Reply::Bulk)
    })
}

/// Pops the whole set.
pub fn apply_all(key: &Bytes, w: &mut SlotWriter<'_>) -> Result<Reply, CmdError> {
    let Some(set) = collection::load(w, key, ValueType::Set)? else {
        return Ok(Reply::Set(Vec::new()));
    };
    // Nothing was written by this entry yet, so the store's cursor sees the set as it is.
    let set = algebra::SetRef {
        key: key.clone(),
        slot: w.slot,
        version: set.version(),
        count: set.meta.count,
    };
    let members = algebra::members(w.store(), w.db, &set)?;
    w.delete(key)?;
    Ok(Reply::Set(members.into_iter().map(Reply::Bulk).collect()))
}
