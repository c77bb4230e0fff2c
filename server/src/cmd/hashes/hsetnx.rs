//! HSETNX key field value — sets the field only if it does not exist yet: reply 1 if set, 0 (and nothing
//! written) if it existed.

use bytes::Bytes;
use resp::Reply;

use super::{stored_field, HashOp};
use crate::cmd::collection;
use crate::cmd::{CmdError, Ctx};
use crate::statemachine::{Mutation, SlotWriter};
use crate::storage::collection::Family;
use crate::storage::record::ValueType;

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct HSetNxOp {
    pub key: Bytes,
    pub field: Bytes,
    pub value: Bytes,
}

pub fn local(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CmdError> {
    let op = HSetNxOp {
        key: args[1].clone(),
        field: args[2].clone(),
        value: args[3].clone(),
    };
    ctx.propose(ctx.slot_of(&args[1]), Mutation::Hash(HashOp::SetNx(op)))
}

impl HSetNxOp {
    pub fn apply(&self, w: &mut SlotWriter<'_>) -> Result<Reply, CmdError> {
        let mut h = collection::load_or_create(w, &self.key, ValueType::Hash)?;
        if stored_field(w, &self.key, &h, &self.field)?.is_some() {
            return Ok(Reply::Integer(0));
        }
        w.put_member(
            Family::Sub,
            &self.key,
            h.version(),
            &self.field,
            &self.value,
        );
        h.meta.count += 1;
        collection::store(w, &self.key, &h)?;
        Ok(Reply::Integer(1))
    }
}
