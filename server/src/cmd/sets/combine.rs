//! SINTER key [key ...], SUNION key [key ...], SDIFF key [key ...], and the STORE forms
//! SINTERSTORE / SUNIONSTORE / SDIFFSTORE destination key [key ...].
//!
//! A missing key is an empty set; any key holding another type is WRONGTYPE (even after a missing one).
//! Results come back in member byte order (Redis leaves the order unspecified), as a RESP3 set.
//!
//! The STORE forms replace the destination whatever it held (type, members, deadline), and delete it when
//! the result is empty; the reply is the result's size. Atomicity:
//!
//! * every key in one slot: one [`SetOp::Combine`] mutation that computes and writes — atomic;
//! * several slots on one core: computed here, then one [`SetOp::Store`] on the destination's slot, with
//!   nothing in between on this core — atomic;
//! * keys on several cores (`spread`): each core's share is read in turn (see `gather`), then the
//!   destination is written on its core. **Not atomic across cores**: a write landing between those steps
//!   may or may not be reflected in the result.

use std::borrow::Cow;

use bytes::Bytes;
use resp::Reply;

use super::algebra::{self, Algebra};
use super::{gather, SetOp};
use crate::cmd::keys::remote;
use crate::cmd::{CmdError, Ctx, ReplyFuture, Spread};
use crate::slot::SlotId;
use crate::statemachine::{LogEntry, Mutation, SlotWriter};
use crate::storage::collection::{CollectionMeta, Family};
use crate::storage::record::ValueType;

/// The reply of SINTER, SUNION and SDIFF.
fn set_reply(members: Vec<Bytes>) -> Reply {
    Reply::Set(members.into_iter().map(Reply::Bulk).collect())
}

fn read(ctx: &mut Ctx<'_>, args: &[Bytes], algebra: Algebra) -> Result<Reply, CmdError> {
    let store = &ctx.shard.store;
    let members = algebra::compute(store, ctx.db, ctx.now_ms, algebra, &args[1..], 0)?;
    Ok(set_reply(members))
}

fn store(ctx: &mut Ctx<'_>, args: &[Bytes], algebra: Algebra) -> Result<Reply, CmdError> {
    let (dst, keys) = (&args[1], &args[2..]);
    let slot = SlotId::of_key(dst);
    let op = if keys.iter().all(|k| SlotId::of_key(k) == slot) {
        SetOp::Combine {
            dst: dst.clone(),
            algebra,
            keys: keys.to_vec(),
        }
    } else {
        let store = &ctx.shard.store;
        let members = algebra::compute(store, ctx.db, ctx.now_ms, algebra, keys, 0)?;
        SetOp::Store {
            dst: dst.clone(),
            members,
        }
    };
    ctx.propose(slot, Mutation::Set(op))
}

pub fn sinter(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CmdError> {
    read(ctx, args, Algebra::Inter)
}

pub fn sunion(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CmdError> {
    read(ctx, args, Algebra::Union)
}

pub fn sdiff(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CmdError> {
    read(ctx, args, Algebra::Diff)
}

pub fn sinterstore(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CmdError> {
    store(ctx, args, Algebra::Inter)
}

pub fn sunionstore(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CmdError> {
    store(ctx, args, Algebra::Union)
}

pub fn sdiffstore(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CmdError> {
    store(ctx, args, Algebra::Diff)
}

/// Keys on several cores: gather, compute, and for the STORE forms write the destination on its core.
pub fn spread(s: Spread) -> ReplyFuture {
    Box::pin(async move {
        let Some((algebra, to_store)) = Algebra::of_command(&s.args[0]) else {
            return CmdError::Syntax.to_reply();
        };
        let result = async {
            if !to_store {
                let members = gather::compute(&s, algebra, &s.args[1..], 0).await?;
                return Ok(set_reply(members));
            }
            let dst = s.args[1].clone();
            let members = gather::compute(&s, algebra, &s.args[2..], 0).await?;
            let entry = LogEntry {
                slot: SlotId::of_key(&dst),
                db: s.db,
                now_ms: s.now_ms,
                mutation: Mutation::Set(SetOp::Store { dst, members }),
            };
            remote::propose_durable(&s.shard, entry).await
        };
        result.await.unwrap_or_else(|e: CmdError| e.to_reply())
    })
}

/// Makes `dst` a set of exactly `members` (sorted, distinct), whatever it held; deletes it when empty.
pub fn apply_store(
    dst: &Bytes,
    members: &[Bytes],
    w: &mut SlotWriter<'_>,
) -> Result<Reply, CmdError> {
    // Proposers send sorted, distinct members; keep the count exact whatever arrives.
    let members: Cow<'_, [Bytes]> = if members.windows(2).all(|p| p[0] < p[1]) {
        Cow::Borrowed(members)
    } else {
        let mut v = members.to_vec();
        algebra::merge_distinct(&mut v);
        Cow::Owned(v)
    };
    if members.is_empty() {
        w.delete(dst)?;
        return Ok(Reply::Integer(0));
    }
    // A fresh version: whatever `dst` held before (its members included) is orphaned, not rewritten.
    let mut rec = w.new_collection(ValueType::Set)?;
    for m in members.iter() {
        w.put_member(Family::Sub, dst, rec.version, m, &[]);
    }
    let mut meta = CollectionMeta::empty(ValueType::Set);
    meta.count = members.len() as u64;
    rec.payload = meta.encode(ValueType::Set);
    w.put(dst, rec)?;
    Ok(Reply::Integer(members.len() as i64))
}
