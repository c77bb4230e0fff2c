//! GETEX key [EX seconds | PX milliseconds | EXAT unix-time-seconds | PXAT unix-time-milliseconds |
//! PERSIST]
//!
//! Without options it is GET. With one, the value is read and the time to live changed in one mutation.
//! Redis checks the expiry argument only after finding the key (a missing key answers nil even with a bad
//! argument), so a bad argument travels inside the op as [`GetExAction::Invalid`] and is reported by
//! `apply` in that same order. An EXAT/PXAT deadline already past deletes the key after replying its value.

use bytes::Bytes;
use resp::Reply;

use super::set::parse_extended;
use super::{string_record, StringOp};
use crate::cmd::{CmdError, Ctx};
use crate::slot::SlotId;
use crate::statemachine::{Mutation, SlotWriter};
use crate::storage::record::{Record, ValueType};

/// What GETEX does to the key's time to live.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum GetExAction {
    /// Remove it.
    Persist,
    /// Expire at this Unix ms (deleting the key if that is already past).
    At(u64),
    /// The expiry argument was not an integer.
    NotInteger,
    /// The expiry argument was out of range.
    InvalidExpire,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct GetExOp {
    pub key: Bytes,
    pub action: GetExAction,
}

pub fn local(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CmdError> {
    let o = parse_extended(args, 2, false)?;
    let action = match o.expire {
        Some((kind, arg)) => match kind.deadline(arg, ctx.now_ms, "getex") {
            Ok(at) => GetExAction::At(at),
            Err(CmdError::NotInteger) => GetExAction::NotInteger,
            Err(_) => GetExAction::InvalidExpire,
        },
        None if o.persist => GetExAction::Persist,
        None => {
            let rec = ctx.get(&args[1])?;
            ctx.shard.stats.hit(rec.is_some());
            return match rec {
                None => Ok(Reply::Null),
                Some(r) if r.vtype != ValueType::String => Err(CmdError::WrongType),
                Some(r) => Ok(Reply::Bulk(r.payload)),
            };
        }
    };
    let op = GetExOp {
        key: args[1].clone(),
        action,
    };
    let reply = ctx.propose(
        SlotId::of_key(&args[1]),
        Mutation::String(StringOp::GetEx(op)),
    );
    if !matches!(reply, Err(CmdError::Storage(_))) {
        ctx.shard.stats.hit(!matches!(reply, Ok(Reply::Null)));
    }
    reply
}

impl GetExOp {
    pub fn apply(&self, w: &mut SlotWriter<'_>) -> Result<Reply, CmdError> {
        let Some(rec) = string_record(w, &self.key)? else {
            return Ok(Reply::Null);
        };
        let new_deadline = match self.action {
            GetExAction::NotInteger => return Err(CmdError::NotInteger),
            GetExAction::InvalidExpire => return Err(CmdError::InvalidExpire("getex")),
            GetExAction::At(at) => at,
            GetExAction::Persist => 0,
        };
        let reply = Reply::Bulk(rec.payload.clone());
        if new_deadline != 0 && new_deadline <= w.now_ms {
            w.delete(&self.key)?;
        } else if new_deadline != rec.expire_at {
            w.put(
                &self.key,
                Record {
                    expire_at: new_deadline,
                    ..rec
                },
            )?;
        }
        Ok(reply)
    }
}
