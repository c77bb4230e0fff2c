//! HINCRBYFLOAT key field increment — in Redis's `long double` arithmetic, with the same parsing, limits and
//! printing as INCRBYFLOAT ([`LongDouble`]), so the stored text and the reply are the digits Redis would
//! produce.
//!
//! Redis's order of checks: the increment must parse (`ERR value is not a valid float`) and be finite
//! (`ERR value is NaN or Infinity`) — both checked in `local`, before the key's type; then the field's
//! value must parse (`ERR hash value is not a float`), and the sum must be finite (`ERR increment would
//! produce NaN or Infinity`). The op carries the increment as sent and `apply` parses it again (a pure
//! function), so the op stays plain bytes.

use bytes::Bytes;
use resp::Reply;

use super::{stored_field, HashOp};
use crate::cmd::collection;
use crate::cmd::longdouble::LongDouble;
use crate::cmd::{CmdError, Ctx};
use crate::statemachine::{Mutation, SlotWriter};
use crate::storage::collection::Family;
use crate::storage::record::ValueType;

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct HIncrByFloatOp {
    pub key: Bytes,
    pub field: Bytes,
    /// The increment as sent (already checked by `local`).
    pub by: Bytes,
}

/// The increment, or Redis's error for it.
fn increment(raw: &[u8]) -> Result<LongDouble, CmdError> {
    let by = LongDouble::parse(raw).ok_or(CmdError::NotFloat)?;
    if by.is_nan_or_inf() {
        return Err(CmdError::msg("ERR value is NaN or Infinity"));
    }
    Ok(by)
}

pub fn local(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CmdError> {
    increment(&args[3])?;
    let op = HIncrByFloatOp {
        key: args[1].clone(),
        field: args[2].clone(),
        by: args[3].clone(),
    };
    ctx.propose(
        ctx.slot_of(&args[1]),
        Mutation::Hash(HashOp::IncrByFloat(op)),
    )
}

impl HIncrByFloatOp {
    pub fn apply(&self, w: &mut SlotWriter<'_>) -> Result<Reply, CmdError> {
        let by = increment(&self.by)?;
        let mut h = collection::load_or_create(w, &self.key, ValueType::Hash)?;
        let old = stored_field(w, &self.key, &h, &self.field)?;
        let value = match &old {
            None => LongDouble::Zero(false),
            Some(v) => LongDouble::parse(v)
                .ok_or_else(|| CmdError::msg("ERR hash value is not a float"))?,
        };
        let sum = value + by;
        if sum.is_nan_or_inf() {
            return Err(CmdError::NanOrInfinity);
        }
        let text = Bytes::from(sum.to_human_string());
        w.put_member(Family::Sub, &self.key, h.version(), &self.field, &text);
        h.meta.count += old.is_none() as u64;
        collection::store(w, &self.key, &h)?;
        Ok(Reply::Bulk(text))
    }
}
