//! GETDEL key — replies with the value (nil if none) and deletes the key, in one mutation.

use bytes::Bytes;
use resp::Reply;

use super::{count_lookup, string_record, StringOp};
use crate::cmd::{CmdError, Ctx};
use crate::slot::SlotId;
use crate::statemachine::{Mutation, SlotWriter};

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct GetDelOp {
    pub key: Bytes,
}

pub fn local(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CmdError> {
    let op = GetDelOp {
        key: args[1].clone(),
    };
    let reply = ctx.propose(
        SlotId::of_key(&args[1]),
        Mutation::String(StringOp::GetDel(op)),
    );
    count_lookup(ctx, &reply);
    reply
}

impl GetDelOp {
    pub fn apply(&self, w: &mut SlotWriter<'_>) -> Result<Reply, CmdError> {
        match string_record(w, &self.key)? {
            None => Ok(Reply::Null),
            Some(r) => {
                w.delete(&self.key)?;
                Ok(Reply::Bulk(r.payload))
            }
        }
    }
}
