//! INCRBYFLOAT key increment — in Redis's `long double` arithmetic (see [`crate::cmd::longdouble`]), so
//! the stored text and the reply are the digits Redis would produce. The sum is computed inside `apply` from
//! the stored value and keeps the key's time to live; the stored result is the reply text.

use bytes::Bytes;
use resp::Reply;

use super::{string_record, StringOp};
use crate::cmd::longdouble::LongDouble;
use crate::cmd::{CmdError, Ctx};
use crate::slot::SlotId;
use crate::statemachine::{Mutation, SlotWriter};
use crate::storage::record::Record;

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct IncrByFloatOp {
    pub key: Bytes,
    /// The increment as sent: parsed inside `apply` (a pure function), so that an invalid increment is
    /// reported after the type check, as in Redis, and the op stays plain bytes.
    pub by: Bytes,
}

pub fn local(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CmdError> {
    let op = IncrByFloatOp {
        key: args[1].clone(),
        by: args[2].clone(),
    };
    ctx.propose(
        SlotId::of_key(&args[1]),
        Mutation::String(StringOp::IncrByFloat(op)),
    )
}

impl IncrByFloatOp {
    pub fn apply(&self, w: &mut SlotWriter<'_>) -> Result<Reply, CmdError> {
        let old = string_record(w, &self.key)?;
        let (value, expire_at) = match &old {
            None => (LongDouble::Zero(false), 0),
            Some(r) => (
                LongDouble::parse(&r.payload).ok_or(CmdError::NotFloat)?,
                r.expire_at,
            ),
        };
        let by = LongDouble::parse(&self.by).ok_or(CmdError::NotFloat)?;
        let sum = value + by;
        if sum.is_nan_or_inf() {
            return Err(CmdError::NanOrInfinity);
        }
        let text = Bytes::from(sum.to_human_string());
        w.put(&self.key, Record::string(text.clone(), expire_at, 0))?;
        Ok(Reply::Bulk(text))
    }
}
