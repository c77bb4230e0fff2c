//! SMISMEMBER key member [member ...] — one point read per member; an array of 0/1 in argument order.

use bytes::Bytes;
use resp::Reply;

use crate::cmd::collection::{self, slot_of};
use crate::cmd::{CmdError, Ctx};
use crate::storage::collection::Family;
use crate::storage::record::ValueType;

pub fn local(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CmdError> {
    let key = &args[1];
    let members = &args[2..];
    let Some(set) = collection::read(ctx, key, ValueType::Set)? else {
        return Ok(Reply::Array(vec![Reply::Integer(0); members.len()]));
    };
    let store = &ctx.shard.store;
    let slot = slot_of(key);
    let mut out = Vec::with_capacity(members.len());
    for m in members {
        let found = store
            .get_member(Family::Sub, slot, ctx.db, key, set.version(), m)?
            .is_some();
        out.push(Reply::Integer(found as i64));
    }
    Ok(Reply::Array(out))
}
