//! PERSIST key — removes the deadline: the record is re-put without one. Its expire-index entry becomes
//! stale and is dropped by the active expiry cycle when it comes due.

use bytes::Bytes;
use resp::Reply;

use super::KeyOp;
use crate::cmd::{CmdError, Ctx};
use crate::statemachine::{Mutation, SlotWriter};

pub fn local(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CmdError> {
    let key = args[1].clone();
    ctx.propose(ctx.slot_of(&key), Mutation::Key(KeyOp::Persist { key }))
}

pub fn apply(key: &Bytes, w: &mut SlotWriter<'_>) -> Result<Reply, CmdError> {
    match w.get(key)? {
        Some(mut rec) if rec.expire_at != 0 => {
            rec.expire_at = 0;
            w.put(key, rec)?;
            Ok(Reply::Integer(1))
        }
        _ => Ok(Reply::Integer(0)),
    }
}
