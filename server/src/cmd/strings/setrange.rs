//! SETRANGE key offset value — overwrites from `offset`, zero-padding a shorter (or missing) value. An
//! empty value changes nothing and replies the current length (0 for a missing key, which is not created).
//! The result may not exceed proto-max-bulk-len (fixed into the op when parsed). Keeps the time to live.

use bytes::{Bytes, BytesMut};
use resp::Reply;

use super::{string_record, StringOp};
use crate::cmd::args::parse_i64;
use crate::cmd::{CmdError, Ctx};
use crate::slot::SlotId;
use crate::statemachine::{Mutation, SlotWriter};
use crate::storage::record::Record;

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SetRangeOp {
    pub key: Bytes,
    pub offset: u64,
    pub value: Bytes,
    /// proto-max-bulk-len.
    pub max_len: u64,
}

pub fn local(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CmdError> {
    let offset = parse_i64(&args[2])?;
    if offset < 0 {
        return Err(CmdError::msg("ERR offset is out of range"));
    }
    let op = SetRangeOp {
        key: args[1].clone(),
        offset: offset as u64,
        value: args[3].clone(),
        max_len: ctx.shard.settings.borrow().proto_max_bulk_len,
    };
    ctx.propose(
        SlotId::of_key(&args[1]),
        Mutation::String(StringOp::SetRange(op)),
    )
}

impl SetRangeOp {
    pub fn apply(&self, w: &mut SlotWriter<'_>) -> Result<Reply, CmdError> {
        let old = string_record(w, &self.key)?;
        if self.value.is_empty() {
            return Ok(Reply::Integer(old.map_or(0, |r| r.payload.len() as i64)));
        }
        let end = self.offset + self.value.len() as u64;
        if end > self.max_len {
            return Err(CmdError::StringTooLong);
        }
        let (cur, expire_at) = match &old {
            Some(r) => (&r.payload[..], r.expire_at),
            None => (&[][..], 0),
        };
        let (offset, end) = (self.offset as usize, end as usize);
        let mut v = BytesMut::with_capacity(end.max(cur.len()));
        v.extend_from_slice(cur);
        if v.len() < end {
            v.resize(end, 0);
        }
        v[offset..end].copy_from_slice(&self.value);
        let len = v.len() as i64;
        w.put(&self.key, Record::string(v.freeze(), expire_at, 0))?;
        Ok(Reply::Integer(len))
    }
}
