//! RENAME key newkey, RENAMENX key newkey
//!
//! * Both keys in one slot: one [`KeyOp::Rename`] mutation, atomic.
//! * Same core, different slots: the source is read, a [`KeyOp::Restore`] writes it under the new name and
//!   a [`KeyOp::Del`] removes the source. Both are applied back to back on this core with nothing in
//!   between, so no client can observe the middle; after a crash between the two, both keys exist (the
//!   value is never lost).
//! * Different cores (`spread`): read on the source core, write the destination on its core and wait until
//!   it is durable, then delete the source — copy first, delete after, so a crash in between leaves both
//!   keys, never neither. **Not atomic across cores**: during the window another client can see both keys,
//!   and a write to the source in the window is kept (the source is deleted only if it still holds the
//!   value that was copied — [`KeyOp::DelIfUnchanged`]), in which case the rename behaves as a copy.
//!
//! The deadline travels with the record. Renaming a key to itself replies OK (0 for RENAMENX) if it exists.

use bytes::Bytes;
use resp::Reply;

use super::{remote, KeyOp};
use crate::cmd::{CmdError, Ctx, ReplyFuture, Spread};
use crate::slot::SlotId;
use crate::statemachine::{LogEntry, Mutation, SlotWriter};
use crate::storage::collection::Value;
use crate::storage::record::ValueType;

fn done(nx: bool) -> Reply {
    if nx {
        Reply::Integer(1)
    } else {
        Reply::Ok
    }
}

fn generic(ctx: &mut Ctx<'_>, args: &[Bytes], nx: bool) -> Result<Reply, CmdError> {
    let (src, dst) = (&args[1], &args[2]);
    if src == dst {
        return match ctx.get(src)? {
            None => Err(CmdError::NoSuchKey),
            Some(_) if nx => Ok(Reply::Integer(0)),
            Some(_) => Ok(Reply::Ok),
        };
    }
    let (s_slot, d_slot) = (SlotId::of_key(src), SlotId::of_key(dst));
    if s_slot == d_slot {
        let op = KeyOp::Rename {
            src: src.clone(),
            dst: dst.clone(),
            nx,
        };
        return ctx.propose(s_slot, Mutation::Key(op));
    }
    let Some(value) = ctx
        .shard
        .store
        .read_value(s_slot, ctx.db, src, ctx.now_ms)?
    else {
        return Err(CmdError::NoSuchKey);
    };
    let put = KeyOp::Restore {
        key: dst.clone(),
        value,
        replace: !nx,
    };
    if ctx.propose(d_slot, Mutation::Key(put))? == Reply::Integer(0) {
        return Ok(Reply::Integer(0));
    }
    let del = KeyOp::Del {
        keys: vec![src.clone()],
    };
    ctx.propose(s_slot, Mutation::Key(del))?;
    Ok(done(nx))
}

pub fn rename(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CmdError> {
    generic(ctx, args, false)
}

pub fn renamenx(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CmdError> {
    generic(ctx, args, true)
}

/// The keys are on different cores (so they differ).
pub fn spread(s: Spread) -> ReplyFuture {
    Box::pin(async move {
        let nx = s.args[0].eq_ignore_ascii_case(b"renamenx");
        let (src, dst) = (s.args[1].clone(), s.args[2].clone());
        let entry = |slot, op| LogEntry {
            slot,
            db: s.db,
            now_ms: s.now_ms,
            mutation: Mutation::Key(op),
        };
        let result = async {
            let Some(value) = remote::read_live(&s.shard, s.db, s.now_ms, src.clone()).await?
            else {
                return Err(CmdError::NoSuchKey);
            };
            let put = KeyOp::Restore {
                key: dst.clone(),
                value: value.clone(),
                replace: !nx,
            };
            let put = entry(SlotId::of_key(&dst), put);
            if remote::propose_durable(&s.shard, put).await? == Reply::Integer(0) {
                return Ok(Reply::Integer(0));
            }
            let del = KeyOp::DelIfUnchanged {
                key: src.clone(),
                expect: value,
            };
            remote::propose_durable(&s.shard, entry(SlotId::of_key(&src), del)).await?;
            Ok(done(nx))
        };
        result.await.unwrap_or_else(|e| e.to_reply())
    })
}

/// Both keys in this slot.
pub fn apply(
    src: &Bytes,
    dst: &Bytes,
    nx: bool,
    w: &mut SlotWriter<'_>,
) -> Result<Reply, CmdError> {
    let Some(record) = w.get(src)? else {
        return Err(CmdError::NoSuchKey);
    };
    if src == dst {
        return Ok(if nx { Reply::Integer(0) } else { Reply::Ok });
    }
    if nx && w.get(dst)?.is_some() {
        return Ok(Reply::Integer(0));
    }
    if record.vtype == ValueType::String {
        w.put(dst, record)?;
    } else {
        // A collection's members are keyed by its name, so they move: O(members), as in Kvrocks.
        let members = w.store().members_of(w.slot, w.db, src, &record)?;
        w.put_value(dst, &Value { record, members })?;
    }
    w.delete(src)?;
    Ok(done(nx))
}
