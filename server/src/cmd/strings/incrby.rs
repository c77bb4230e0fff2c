//! INCRBY key increment — also the mutation behind INCR, DECR and DECRBY. The stored value must be a
//! strict base-10 64-bit integer; the result is computed inside `apply` from the stored value (so
//! pipelined increments of one key are exact) and keeps the key's time to live.

use bytes::Bytes;
use resp::Reply;

use super::{string_record, StringOp};
use crate::cmd::args::{parse_i64, parse_i64_opt};
use crate::cmd::{CmdError, Ctx};
use crate::statemachine::{Mutation, SlotWriter};
use crate::storage::record::Record;

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct IncrByOp {
    pub key: Bytes,
    pub by: i64,
}

pub fn local(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CmdError> {
    let by = parse_i64(&args[2])?;
    incr_by(ctx, &args[1], by)
}

/// Proposes `key += by`.
pub fn incr_by(ctx: &mut Ctx<'_>, key: &Bytes, by: i64) -> Result<Reply, CmdError> {
    let op = IncrByOp {
        key: key.clone(),
        by,
    };
    ctx.propose(ctx.slot_of(key), Mutation::String(StringOp::IncrBy(op)))
}

impl IncrByOp {
    pub fn apply(&self, w: &mut SlotWriter<'_>) -> Result<Reply, CmdError> {
        let old = string_record(w, &self.key)?;
        let (value, expire_at) = match &old {
            None => (0, 0),
            Some(r) => (
                parse_i64_opt(&r.payload).ok_or(CmdError::NotInteger)?,
                r.expire_at,
            ),
        };
        let new = value.checked_add(self.by).ok_or(CmdError::Overflow)?;
        let text = Bytes::from(new.to_string());
        w.put(&self.key, Record::string(text, expire_at, 0))?;
        Ok(Reply::Integer(new))
    }
}
