//! HINCRBY key field increment — the field's value must be a strict base-10 64-bit integer (a missing field
//! counts as 0). The increment is checked in `local`, before the key's type, as Redis does; the sum is
//! computed inside `apply` from the stored value, so pipelined increments of one field are exact.

use bytes::Bytes;
use resp::Reply;

use super::{stored_field, HashOp};
use crate::cmd::args::{parse_i64, parse_i64_opt};
use crate::cmd::collection;
use crate::cmd::{CmdError, Ctx};
use crate::statemachine::{Mutation, SlotWriter};
use crate::storage::collection::Family;
use crate::storage::record::ValueType;

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct HIncrByOp {
    pub key: Bytes,
    pub field: Bytes,
    pub by: i64,
}

pub fn local(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CmdError> {
    let op = HIncrByOp {
        key: args[1].clone(),
        field: args[2].clone(),
        by: parse_i64(&args[3])?,
    };
    ctx.propose(ctx.slot_of(&args[1]), Mutation::Hash(HashOp::IncrBy(op)))
}

impl HIncrByOp {
    pub fn apply(&self, w: &mut SlotWriter<'_>) -> Result<Reply, CmdError> {
        let mut h = collection::load_or_create(w, &self.key, ValueType::Hash)?;
        let old = stored_field(w, &self.key, &h, &self.field)?;
        let value = match &old {
            None => 0,
            Some(v) => {
                parse_i64_opt(v).ok_or_else(|| CmdError::msg("ERR hash value is not an integer"))?
            }
        };
        let new = value.checked_add(self.by).ok_or(CmdError::Overflow)?;
        let text = new.to_string();
        w.put_member(
            Family::Sub,
            &self.key,
            h.version(),
            &self.field,
            text.as_bytes(),
        );
        h.meta.count += old.is_none() as u64;
        collection::store(w, &self.key, &h)?;
        Ok(Reply::Integer(new))
    }
}
