//! SISMEMBER key member — one point read.

use bytes::Bytes;
use resp::Reply;

use crate::cmd::collection::{self, slot_of};
use crate::cmd::{CmdError, Ctx};
use crate::storage::collection::Family;
use crate::storage::record::ValueType;

pub fn local(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CmdError> {
    let key = &args[1];
    let Some(set) = collection::read(ctx, key, ValueType::Set)? else {
        return Ok(Reply::Integer(0));
    };
    let store = &ctx.shard.store;
    let found = store
        .get_member(
            Family::Sub,
            slot_of(key),
            ctx.db,
            key,
            set.version(),
            &args[2],
        )?
        .is_some();
    Ok(Reply::Integer(found as i64))
}
