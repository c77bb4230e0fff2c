//! APPEND key value — creates the key if missing; the result may not exceed proto-max-bulk-len (the limit in
//! force when the command was parsed travels in the op). Keeps the key's time to live.

use bytes::{Bytes, BytesMut};
use resp::Reply;

use super::{string_record, StringOp};
use crate::cmd::{CmdError, Ctx};
use crate::slot::SlotId;
use crate::statemachine::{Mutation, SlotWriter};
use crate::storage::record::Record;

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct AppendOp {
    pub key: Bytes,
    pub value: Bytes,
    /// proto-max-bulk-len.
    pub max_len: u64,
}

pub fn local(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CmdError> {
    let op = AppendOp {
        key: args[1].clone(),
        value: args[2].clone(),
        max_len: ctx.shard.settings.borrow().proto_max_bulk_len,
    };
    ctx.propose(
        SlotId::of_key(&args[1]),
        Mutation::String(StringOp::Append(op)),
    )
}

impl AppendOp {
    pub fn apply(&self, w: &mut SlotWriter<'_>) -> Result<Reply, CmdError> {
        let (value, expire_at) = match string_record(w, &self.key)? {
            // A new key takes the argument as is, like Redis (no size check: it arrived within the limit).
            None => (self.value.clone(), 0),
            Some(r) => {
                let total = r.payload.len() as u64 + self.value.len() as u64;
                if total > self.max_len {
                    return Err(CmdError::StringTooLong);
                }
                let mut v = BytesMut::with_capacity(total as usize);
                v.extend_from_slice(&r.payload);
                v.extend_from_slice(&self.value);
                (v.freeze(), r.expire_at)
            }
        };
        let len = value.len() as i64;
        w.put(&self.key, Record::string(value, expire_at, 0))?;
        Ok(Reply::Integer(len))
    }
}
